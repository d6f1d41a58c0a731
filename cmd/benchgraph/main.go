// Command benchgraph writes the benchmark graphs the engine's speed is
// measured on, deterministically (fixed seeds), with their inputs:
//
//	go run ./cmd/benchgraph -out DIR
//
// writes DIR/convstack.pb, a stack of eight 3x3 convolutions 56x56x64→64
// (SAME, bias, ReLU; Conv2D+BiasAdd+Relu as TensorFlow would freeze them),
// input "input" [1,56,56,64], output node "output", and
// DIR/convstack_input.npy; and for each real-size network (ResNet-50 v1,
// Inception v3, MobileNet v2 1.0; see nets.go) and batch B of -batches,
// DIR/NET_bB.pb (input "input" [B,S,S,3], outputs "logits" and "output",
// the softmax) with DIR/NET_bB_input.npy. -nets picks a subset; -seed N
// gives the networks other random weights (same layers). Compare an
// engine with ONNX Runtime on them:
//
//	../shared/oracle/ort DIR/convstack.pb --input input=DIR/convstack_input.npy --output output --runs 20 --threads 1
//
// With -compare GOT.npy,WANT.npy it instead prints how far two results
// differ (max |got-want| / max |want|) and fails above -tol.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/npy"
)

func main() {
	out := flag.String("out", ".", "directory to write the graphs and their inputs into")
	nets := flag.String("nets", "convstack,resnet50,inception_v3,mobilenet_v2", "comma-separated graphs to write")
	batches := flag.String("batches", "1,8", "comma-separated batch sizes of the real-size networks")
	compare := flag.String("compare", "", "GOT.npy,WANT.npy: report their relative difference instead of writing graphs")
	tol := flag.Float64("tol", 1e-5, "with -compare: the largest max|got-want|/max|want| that passes")
	flag.Uint64Var(&WeightSeed, "seed", 0, "vary the real-size networks' random weights (0: the weights of record)")
	flag.Parse()
	if *compare != "" {
		if err := compareFiles(*compare, *tol); err != nil {
			fmt.Fprintln(os.Stderr, "benchgraph:", err)
			os.Exit(1)
		}
		return
	}
	var bs []int
	for _, f := range strings.Split(*batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b < 1 {
			fmt.Fprintf(os.Stderr, "benchgraph: bad batch %q\n", f)
			os.Exit(2)
		}
		bs = append(bs, b)
	}
	if err := write(*out, strings.Split(*nets, ","), bs); err != nil {
		fmt.Fprintln(os.Stderr, "benchgraph:", err)
		os.Exit(1)
	}
}

// Convstack geometry.
const (
	stackLayers = 8
	stackSize   = 56
	stackChan   = 64
)

// ConvStack builds the eight-convolution graph.
func ConvStack() *graphdef.Builder {
	r := rand.New(rand.NewPCG(2026, 64))
	b := graphdef.New()
	x := b.Placeholder("input", classify.Float32, classify.Shape{1, stackSize, stackSize, stackChan})
	// He-uniform weights keep the ReLU activations at a stable scale
	// through the stack, so every layer computes non-trivial values.
	limit := float32(math.Sqrt(6.0 / float64(9*stackChan)))
	for l := 0; l < stackLayers; l++ {
		w := uniform(r, -limit, limit, 3, 3, stackChan, stackChan)
		bias := uniform(r, -0.1, 0.1, stackChan)
		conv := b.Op("Conv2D", fmt.Sprintf("conv%d/Conv2D", l), []graphdef.Output{x, b.Const(fmt.Sprintf("conv%d/weights", l), w)},
			graphdef.Attrs{"T": classify.Float32, "strides": []int{1, 1, 1, 1}, "padding": "SAME", "data_format": "NHWC", "dilations": []int{1, 1, 1, 1}})
		add := b.Op("BiasAdd", fmt.Sprintf("conv%d/BiasAdd", l), []graphdef.Output{conv, b.Const(fmt.Sprintf("conv%d/biases", l), bias)},
			graphdef.Attrs{"T": classify.Float32, "data_format": "NHWC"})
		name := fmt.Sprintf("conv%d/Relu", l)
		if l == stackLayers-1 {
			name = "output"
		}
		x = b.Op("Relu", name, []graphdef.Output{add}, graphdef.Attrs{"T": classify.Float32})
	}
	return b
}

// ConvStackInput is the deterministic input of ConvStack, uniform in [0, 1).
func ConvStackInput() *classify.Tensor {
	return uniform(rand.New(rand.NewPCG(7, 7)), 0, 1, 1, stackSize, stackSize, stackChan)
}

func uniform(r *rand.Rand, lo, hi float32, shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Float32, shape...)
	for i, d := 0, t.Float32s(); i < len(d); i++ {
		d[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}

// write writes the named graphs (convstack and/or Nets) into dir, each
// network at every batch.
func write(dir string, names []string, batches []int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "convstack" {
			if err := ConvStack().WriteFile(filepath.Join(dir, "convstack.pb")); err != nil {
				return fmt.Errorf("write convstack.pb: %w", err)
			}
			if err := npy.WriteFile(filepath.Join(dir, "convstack_input.npy"), ConvStackInput()); err != nil {
				return fmt.Errorf("write convstack_input.npy: %w", err)
			}
			continue
		}
		i := slices.IndexFunc(Nets, func(n Net) bool { return n.Name == name })
		if i < 0 {
			return fmt.Errorf("unknown graph %q (have convstack%s)", name, netNames())
		}
		for _, b := range batches {
			stem := fmt.Sprintf("%s_b%d", name, b)
			if err := Nets[i].Build(b).WriteFile(filepath.Join(dir, stem+".pb")); err != nil {
				return fmt.Errorf("write %s.pb: %w", stem, err)
			}
			if err := npy.WriteFile(filepath.Join(dir, stem+"_input.npy"), NetInput(Nets[i], b)); err != nil {
				return fmt.Errorf("write %s_input.npy: %w", stem, err)
			}
		}
	}
	return nil
}

func netNames() string {
	var s string
	for _, n := range Nets {
		s += ", " + n.Name
	}
	return s
}

// compareFiles prints max|got-want|/max|want| of two float32 .npy files
// of one shape and fails when it exceeds tol.
func compareFiles(pair string, tol float64) error {
	files := strings.Split(pair, ",")
	if len(files) != 2 {
		return fmt.Errorf("-compare wants GOT.npy,WANT.npy, got %q", pair)
	}
	got, err := npy.ReadFile(files[0])
	if err != nil {
		return err
	}
	want, err := npy.ReadFile(files[1])
	if err != nil {
		return err
	}
	rel, err := relDiff(got, want)
	if err != nil {
		return err
	}
	lo, hi := slices.Min(want.Float32s()), slices.Max(want.Float32s())
	fmt.Printf("relative difference %.3g (max |got-want| / max |want|, tolerance %.3g) over %d values in [%.3g, %.3g]\n", rel, tol, want.Len(), lo, hi)
	if !(rel <= tol) {
		return fmt.Errorf("%s differs from %s by %.3g relative, above %.3g", files[0], files[1], rel, tol)
	}
	return nil
}

// relDiff is max|got-want| / max|want| over two float32 tensors of the same
// number of elements (ORT drops no dimension but may write 2-D as 2-D).
func relDiff(got, want *classify.Tensor) (float64, error) {
	g, w := got.Float32s(), want.Float32s()
	if g == nil || w == nil || len(g) != len(w) {
		return 0, fmt.Errorf("cannot compare %v %v with %v %v", got.DType, got.Shape, want.DType, want.Shape)
	}
	var diff, scale float64
	for i := range w {
		diff = max(diff, math.Abs(float64(g[i])-float64(w[i])))
		scale = max(scale, math.Abs(float64(w[i])))
	}
	if scale == 0 {
		return diff, nil
	}
	return diff / scale, nil
}
