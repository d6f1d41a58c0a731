package gotf

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func randTensor(seed uint64, shape ...int) *classify.Tensor {
	r := rand.New(rand.NewPCG(seed, 42))
	t := classify.NewTensor(classify.Float32, shape...)
	for i := range t.Float32s() {
		t.Float32s()[i] = 2*r.Float32() - 1
	}
	return t
}

func openBuilder(t *testing.T, b *graphdef.Builder, opts classify.OpenOptions) *Model {
	t.Helper()
	m, err := OpenGraph(context.Background(), b.GraphDef(), opts)
	if err != nil {
		t.Fatalf("OpenGraph: %v", err)
	}
	return m
}

func run1(t *testing.T, m *Model, feeds map[string]*classify.Tensor, out string) *classify.Tensor {
	t.Helper()
	res, err := m.Run(context.Background(), feeds, []string{out})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res[0]
}

// maxDiff returns the largest absolute difference, +Inf on shape mismatch.
func maxDiff(a, b *classify.Tensor) float64 {
	if !a.Shape.Equal(b.Shape) || a.DType != b.DType {
		return math.Inf(1)
	}
	var d float64
	ad, bd := a.Float32s(), b.Float32s()
	for i := range ad {
		d = max(d, math.Abs(float64(ad[i])-float64(bd[i])))
	}
	return d
}

func TestEngineRegistered(t *testing.T) {
	e, err := classify.NewEngine("go")
	if err != nil {
		t.Fatal(err)
	}
	if e.Name() != "go" {
		t.Fatalf("Name() = %q", e.Name())
	}
}

// affineGraph: y = relu(x*scale + shift) with scale and shift computed from
// constants like TF-slim's batch norm (Rsqrt(var+eps)*gamma, beta-mean*k).
func affineGraph() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{-1, 3})
	v := b.ConstF32("var", []float32{1, 4, 0.25}, 3)
	eps := b.ConstF32("eps", []float32{0.001})
	add := b.Op("Add", "bn/add", []graphdef.Output{v, eps}, nil)
	rs := b.Op("Rsqrt", "bn/Rsqrt", []graphdef.Output{add}, nil)
	gamma := b.ConstF32("gamma", []float32{1, 2, 3}, 3)
	k := b.Op("Mul", "bn/mul", []graphdef.Output{rs, gamma}, nil)
	mean := b.ConstF32("mean", []float32{0.5, -1, 2}, 3)
	mk := b.Op("Mul", "bn/mul_2", []graphdef.Output{mean, k}, nil)
	beta := b.ConstF32("beta", []float32{0, 1, -1}, 3)
	shift := b.Op("Sub", "bn/sub", []graphdef.Output{beta, mk}, nil)
	xm := b.Op("Mul", "bn/mul_1", []graphdef.Output{x, k}, nil)
	y := b.Op("Add", "bn/add_1", []graphdef.Output{xm, shift}, nil)
	b.Op("Relu", "y", []graphdef.Output{y}, nil)
	return b
}

func TestConstantFolding(t *testing.T) {
	m := openBuilder(t, affineGraph(), classify.OpenOptions{})
	info := m.Info()
	if len(info.Outputs) != 1 || info.Outputs[0].Name != "y" {
		t.Fatalf("outputs %+v, want [y]", info.Outputs)
	}
	if len(info.Inputs) != 1 || info.Inputs[0].Name != "x" || !info.Inputs[0].Shape.Equal(classify.Shape{-1, 3}) || info.Inputs[0].DType != classify.Float32 {
		t.Fatalf("inputs %+v", info.Inputs)
	}
	// The Rsqrt/Mul/Sub chain on constants is gone: one Mul and one Add
	// remain on the data path, plus their two folded constants.
	want := map[string]int{"Placeholder": 1, "Const": 2, "Mul": 1, "Add": 1, "Relu": 1}
	if fmt.Sprint(info.Ops) != fmt.Sprint(want) {
		t.Fatalf("ops after folding %v, want %v", info.Ops, want)
	}
	x := classify.FromFloat32([]float32{1, 2, 3, -4, 0, 0.5}, 2, 3)
	got := run1(t, m, map[string]*classify.Tensor{"x": x}, "y").Float32s()
	v, gamma, mean, beta := []float64{1, 4, 0.25}, []float64{1, 2, 3}, []float64{0.5, -1, 2}, []float64{0, 1, -1}
	for i, xv := range x.Float32s() {
		c := i % 3
		k := gamma[c] / math.Sqrt(v[c]+0.001)
		want := max(0, float64(xv)*k+beta[c]-mean[c]*k)
		if math.Abs(float64(got[i])-want) > 1e-5 {
			t.Errorf("y[%d] = %v, want %v", i, got[i], want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, err := affineGraph().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cycle := graphdef.New()
	cx := cycle.Placeholder("x", classify.Float32, classify.Shape{2})
	cycle.Op("Add", "a", []graphdef.Output{cx, "b"}, nil)
	cycle.Op("Relu", "b", []graphdef.Output{"a"}, nil)
	cycle.Op("Relu", "out", []graphdef.Output{"b"}, nil)
	dangling := graphdef.New()
	dangling.Op("Relu", "r", []graphdef.Output{"nowhere:1"}, nil)
	dup := graphdef.New()
	dup.Placeholder("x", classify.Float32, nil)
	dup.GraphDef().Node = append(dup.GraphDef().Node, dup.GraphDef().Node[0])
	unsup := graphdef.New()
	ux := unsup.Placeholder("x", classify.Float32, nil)
	u1 := unsup.Op("FancyOpOne", "first/fancy", []graphdef.Output{ux}, nil)
	u2 := unsup.Op("Relu", "mid", []graphdef.Output{u1}, nil)
	unsup.Op("FancyOpTwo", "second/fancy", []graphdef.Output{u2}, nil)
	// An unsupported multi-output op (a TopKV2 stand-in) whose int32
	// output 1 feeds an int32 Sub: its dtypes must not be guessed from T,
	// or the Sub's dtype check would hide the missing op.
	unsupTopK := graphdef.New()
	tx := unsupTopK.Placeholder("x", classify.Float32, classify.Shape{5})
	tk := unsupTopK.Op("FancyTopK", "topk", []graphdef.Output{tx, unsupTopK.ConstI32("k", []int32{3})}, graphdef.Attrs{"T": classify.Float32})
	unsupTopK.Op("Sub", "sub", []graphdef.Output{tk + ":1", unsupTopK.ConstI32("one", []int32{1})}, graphdef.Attrs{"T": classify.Int32})
	badConst := graphdef.New()
	bc := badConst.ConstF32("c", []float32{1, 2}, 2)
	badConst.Node("c").Attr["value"].GetTensor().TensorContent = []byte{1, 2, 3}
	badConst.Op("Relu", "r", []graphdef.Output{bc}, nil)
	hugeConst := graphdef.New()
	hc := hugeConst.ConstF32("huge", []float32{1}, 1)
	hugeConst.Node("huge").Attr["value"] = graphdef.Attr(&classify.Tensor{DType: classify.Float32, Shape: classify.Shape{1 << 20, 1 << 10}, Data: []float32{}})
	hugeConst.Op("Relu", "r", []graphdef.Output{hc}, nil)
	graphFile := func(name string, b *graphdef.Builder) string {
		data, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return write(name, data)
	}
	for _, c := range []struct {
		name     string
		path     string
		opts     classify.OpenOptions
		sentinel error
		want     []string
	}{
		{"garbage", write("garbage.pb", []byte("\xff\xff\xff\xff not a graph")), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{"garbage.pb"}},
		{"truncated", write("truncated.pb", good[:len(good)-7]), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{"truncated.pb"}},
		{"empty", write("empty.pb", nil), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{"empty.pb", "no nodes"}},
		{"bad text", write("bad.pbtxt", []byte("node { name: ")), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{"bad.pbtxt"}},
		{"directory", dir, classify.OpenOptions{}, classify.ErrInvalidGraph, []string{"SavedModel", "frozen GraphDef"}},
		{"cycle", graphFile("cycle.pb", cycle), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{"cycle", `"a" (Add)`, `"b" (Relu)`}},
		{"dangling", graphFile("dangling.pb", dangling), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{`"r"`, "nowhere:1"}},
		{"duplicate", graphFile("dup.pb", dup), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{"duplicate", `"x"`}},
		{"unsupported", graphFile("unsup.pb", unsup), classify.OpenOptions{}, classify.ErrUnsupportedOp, []string{"first/fancy (FancyOpOne)", "second/fancy (FancyOpTwo)", "2 node(s)"}},
		{"unsupported multi-output", graphFile("unsuptopk.pb", unsupTopK), classify.OpenOptions{Outputs: []string{"sub"}}, classify.ErrUnsupportedOp, []string{"topk (FancyTopK)", "1 node(s)"}},
		{"bad constant", graphFile("badconst.pb", badConst), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{`"c"`, "content bytes"}},
		{"huge filled constant", graphFile("huge.pb", hugeConst), classify.OpenOptions{}, classify.ErrInvalidGraph, []string{`"huge"`, "1048576 1024"}},
		{"unknown output", graphFile("good.pb", affineGraph()), classify.OpenOptions{Outputs: []string{"nope"}}, classify.ErrInvalidInput, []string{"nope"}},
		{"unknown input", graphFile("good2.pb", affineGraph()), classify.OpenOptions{Inputs: []string{"nope"}}, classify.ErrInvalidInput, []string{"nope"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := New().Open(context.Background(), c.path, c.opts)
			if err == nil {
				m.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, c.sentinel) {
				t.Errorf("error %q does not wrap %v", err, c.sentinel)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTextGraphDef(t *testing.T) {
	text := `
node { name: "x" op: "Placeholder" attr { key: "dtype" value { type: DT_FLOAT } } }
node { name: "y" op: "Relu" input: "x" attr { key: "T" value { type: DT_FLOAT } } }
`
	p := filepath.Join(t.TempDir(), "g.pbtxt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := New().Open(context.Background(), p, classify.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{-1, 2}, 2)}, []string{"y"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Float32s(); got[0] != 0 || got[1] != 2 {
		t.Fatalf("relu = %v", got)
	}
}

func TestRunInputErrors(t *testing.T) {
	m := openBuilder(t, affineGraph(), classify.OpenOptions{})
	good := classify.FromFloat32(make([]float32, 6), 2, 3)
	for _, c := range []struct {
		name  string
		feeds map[string]*classify.Tensor
		outs  []string
		want  []string
	}{
		{"wrong dtype", map[string]*classify.Tensor{"x": {DType: classify.Int32, Shape: classify.Shape{2, 3}, Data: make([]int32, 6)}}, nil, []string{`"x"`, "int32"}},
		{"wrong shape", map[string]*classify.Tensor{"x": classify.FromFloat32(make([]float32, 8), 2, 4)}, nil, []string{`"x"`, "[2,4]"}},
		{"wrong rank", map[string]*classify.Tensor{"x": classify.FromFloat32(make([]float32, 3), 3)}, nil, []string{`"x"`}},
		{"data length", map[string]*classify.Tensor{"x": classify.FromFloat32(make([]float32, 5), 2, 3)}, nil, []string{`"x"`, "elements"}},
		{"nil tensor", map[string]*classify.Tensor{"x": nil}, nil, []string{`"x"`, "nil"}},
		{"unknown input", map[string]*classify.Tensor{"x": good, "z": good}, nil, []string{`"z"`}},
		{"missing input", map[string]*classify.Tensor{}, nil, []string{`"x"`, "not fed"}},
		{"unknown output", map[string]*classify.Tensor{"x": good}, []string{"y:3"}, []string{"y:3"}},
		{"pruned output", map[string]*classify.Tensor{"x": good}, []string{"bn/Rsqrt"}, []string{"bn/Rsqrt"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Run(context.Background(), c.feeds, c.outs)
			if !errors.Is(err, classify.ErrInvalidInput) {
				t.Fatalf("error %v does not wrap ErrInvalidInput", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
	if _, err := m.Run(context.Background(), map[string]*classify.Tensor{"x:0": good}, nil); err != nil {
		t.Errorf(`feeding "x:0": %v`, err)
	}
}

func TestPlaceholderWithDefault(t *testing.T) {
	b := graphdef.New()
	d := b.ConstF32("default", []float32{1, -2, 3}, 3)
	p := b.Op("PlaceholderWithDefault", "p", []graphdef.Output{d}, graphdef.Attrs{"dtype": classify.Float32, "shape": classify.Shape{3}})
	b.Op("Relu", "y", []graphdef.Output{p}, nil)
	m := openBuilder(t, b, classify.OpenOptions{})
	if in := m.Info().Inputs; len(in) != 1 || in[0].Name != "p" || !in[0].Shape.Equal(classify.Shape{3}) {
		t.Fatalf("inputs %+v", in)
	}
	for _, c := range []struct {
		name  string
		feeds map[string]*classify.Tensor
		want  []float32
	}{
		{"unfed uses default", nil, []float32{1, 0, 3}},
		{"fed", map[string]*classify.Tensor{"p": classify.FromFloat32([]float32{-1, 5, 7}, 3)}, []float32{0, 5, 7}},
		{"unfed again", nil, []float32{1, 0, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := run1(t, m, c.feeds, "y").Float32s()
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("y = %v, want %v", got, c.want)
			}
		})
	}
	// Fed by a non-empty OpenOptions.Inputs that leaves p out, p is just its
	// default: folded away entirely.
	b.Placeholder("other", classify.Float32, classify.Shape{1})
	m2 := openBuilder(t, b, classify.OpenOptions{Inputs: []string{"other"}, Outputs: []string{"y"}})
	if ops := m2.Info().Ops; ops["PlaceholderWithDefault"] != 0 || ops["Relu"] != 0 {
		t.Errorf("ops %v: p should have been folded", ops)
	}
	if got := run1(t, m2, nil, "y").Float32s(); fmt.Sprint(got) != "[1 0 3]" {
		t.Errorf("y = %v", got)
	}
}

func TestCancelledContext(t *testing.T) {
	m := openBuilder(t, affineGraph(), classify.OpenOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Run(ctx, map[string]*classify.Tensor{"x": classify.FromFloat32(make([]float32, 3), 1, 3)}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with cancelled ctx: %v", err)
	}
	if _, err := OpenGraph(ctx, affineGraph().GraphDef(), classify.OpenOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("OpenGraph with cancelled ctx: %v", err)
	}
}

func init() {
	ops.Register("GotfTestPanic", func(n *ops.Node, _ []*classify.Tensor) (ops.Op, error) {
		return ops.OpFunc(func(*ops.Ctx, []*classify.Tensor) ([]*classify.Tensor, error) {
			var s []int
			_ = s[3] // a kernel bug
			return nil, nil
		}), nil
	})
	ops.Register("GotfTestBuilderPanic", func(n *ops.Node, _ []*classify.Tensor) (ops.Op, error) {
		panic("builder bug")
	})
}

func TestPanicsBecomeErrors(t *testing.T) {
	for _, op := range []string{"GotfTestPanic", "GotfTestBuilderPanic"} {
		t.Run(op, func(t *testing.T) {
			b := graphdef.New()
			x := b.Placeholder("x", classify.Float32, nil)
			b.Op(op, "buggy", []graphdef.Output{x}, nil)
			m, err := OpenGraph(context.Background(), b.GraphDef(), classify.OpenOptions{})
			if err == nil {
				_, err = m.Run(context.Background(), map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{1}, 1)}, nil)
			}
			if err == nil || !strings.Contains(err.Error(), `"buggy"`) || !errors.Is(err, classify.ErrInvalidGraph) {
				t.Fatalf("error %v: want one naming node \"buggy\" and wrapping ErrInvalidGraph", err)
			}
		})
	}
}

func TestConcurrentRun(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{-1, 8})
	w := b.Const("w", randTensor(1, 8, 16))
	mm := b.Op("MatMul", "mm", []graphdef.Output{x, w}, nil)
	bias := b.Op("BiasAdd", "bias", []graphdef.Output{mm, b.Const("b", randTensor(2, 16))}, nil)
	r := b.Op("Relu", "relu", []graphdef.Output{bias}, nil)
	w2 := b.Const("w2", randTensor(3, 16, 4))
	b.Op("MatMul", "logits", []graphdef.Output{r, w2}, nil)
	m := openBuilder(t, b, classify.OpenOptions{Threads: 2})

	const workers, runs = 8, 20
	inputs := make([]*classify.Tensor, workers)
	want := make([]*classify.Tensor, workers)
	for i := range inputs {
		inputs[i] = randTensor(uint64(100+i), 1+i%3, 8)
		want[i] = run1(t, m, map[string]*classify.Tensor{"x": inputs[i]}, "logits")
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Workers ask for different output lists, so plans are made
			// and cached concurrently too.
			outs := [][]string{{"logits", "relu"}, {"logits"}, {"logits:0"}}[i%3]
			for range runs {
				res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": inputs[i]}, outs)
				if err != nil {
					errs <- err
					return
				}
				if d := maxDiff(res[0], want[i]); d != 0 {
					errs <- fmt.Errorf("worker %d: result differs by %g from the sequential run", i, d)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestOutputsAreCopies checks that buffers reused by later runs never leak
// into results the caller holds.
func TestOutputsAreCopies(t *testing.T) {
	m := openBuilder(t, affineGraph(), classify.OpenOptions{})
	a := run1(t, m, map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{1, 2, 3}, 1, 3)}, "y")
	keep := a.Clone()
	run1(t, m, map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{9, 9, 9}, 1, 3)}, "y")
	if maxDiff(a, keep) != 0 {
		t.Fatalf("first result changed after a second run: %v, was %v", a.Float32s(), keep.Float32s())
	}
}

func TestClose(t *testing.T) {
	m := openBuilder(t, affineGraph(), classify.OpenOptions{})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{1, 2, 3}, 1, 3)}, nil)
	if !errors.Is(err, classify.ErrModelUnavailable) {
		t.Fatalf("Run after Close: %v", err)
	}
}

func TestDefaultAttrs(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, nil)
	b.Op("FusedBatchNorm", "bn", []graphdef.Output{x, x, x, x, x}, graphdef.Attrs{"epsilon": float32(0.5)})
	b.Op("ArgMax", "am", []graphdef.Output{x, x}, nil)
	g, err := parseGraph(b.GraphDef())
	if err != nil {
		t.Fatal(err)
	}
	bn := opNode(g.byName["bn"])
	if bn.Float("epsilon", 0) != 0.5 || !bn.Bool("is_training", false) || bn.String("data_format", "") != "NHWC" {
		t.Errorf("FusedBatchNorm attrs %v", bn.Attr)
	}
	if dt := opNode(g.byName["am"]).Type("output_type"); dt != classify.Int64 {
		t.Errorf("ArgMax output_type %v, want int64", dt)
	}
	if len(b.Node("bn").Attr) != 1 {
		t.Errorf("the caller's GraphDef was modified: %v", b.Node("bn").Attr)
	}
}

func TestMultipleOutputs(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{2, 4})
	axis := b.ConstI32("axis", []int32{1})
	b.Op("Split", "split", []graphdef.Output{axis, x}, graphdef.Attrs{"num_split": 2})
	// A Split of a constant folds into a two-output constant.
	c := b.ConstF32("c", []float32{1, 2, 3, 4}, 1, 4)
	b.Op("Split", "csplit", []graphdef.Output{axis, c}, graphdef.Attrs{"num_split": 2})
	b.Op("Mul", "prod", []graphdef.Output{"split:1", "csplit:1"}, nil)
	m := openBuilder(t, b, classify.OpenOptions{Outputs: []string{"split:1", "prod", "split"}})
	if m.Info().Ops["Split"] != 1 {
		t.Errorf("ops %v: the constant Split should be folded", m.Info().Ops)
	}
	xs := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4)
	// c was folded into csplit and is gone.
	if _, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": xs}, []string{"c"}); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("fetching the folded-away c: %v, want ErrInvalidInput", err)
	}
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": xs}, []string{"split:1", "prod", "split:0", "csplit:1"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"[3 4 7 8]", "[9 16 21 32]", "[1 2 5 6]", "[3 4]"} {
		if got := fmt.Sprint(res[i].Float32s()); got != want {
			t.Errorf("output %d = %s, want %s", i, got, want)
		}
	}
	if got := m.Info().Outputs; len(got) != 3 || got[0].Name != "split:1" || !got[0].Shape.Equal(classify.Shape{2, 2}) {
		t.Errorf("Info().Outputs = %+v", got)
	}
}

// TestFeedIntermediate feeds a computed node named in OpenOptions.Inputs:
// what produced it is pruned, and the Placeholder is no longer needed.
func TestFeedIntermediate(t *testing.T) {
	m := openBuilder(t, affineGraph(), classify.OpenOptions{Inputs: []string{"bn/mul_1"}, Outputs: []string{"y"}})
	if in := m.Info().Inputs; len(in) != 1 || in[0].Name != "bn/mul_1" {
		t.Fatalf("inputs %+v, want only bn/mul_1", in)
	}
	got := run1(t, m, map[string]*classify.Tensor{"bn/mul_1": classify.FromFloat32([]float32{10, 10, 10}, 1, 3)}, "y").Float32s()
	// y = relu(fed + beta - mean*k) with k = gamma/sqrt(var+0.001).
	gamma, v, mean, beta := []float64{1, 2, 3}, []float64{1, 4, 0.25}, []float64{0.5, -1, 2}, []float64{0, 1, -1}
	for c := range 3 {
		k := gamma[c] / math.Sqrt(v[c]+0.001)
		if want := max(0, 10+beta[c]-mean[c]*k); math.Abs(float64(got[c])-want) > 1e-5 {
			t.Errorf("y[%d] = %v, want %v", c, got[c], want)
		}
	}
}

// TestFeedConstant feeds a Const named in OpenOptions.Inputs: it is no
// longer folded into its consumers.
func TestFeedConstant(t *testing.T) {
	m := openBuilder(t, affineGraph(), classify.OpenOptions{Inputs: []string{"x", "beta"}, Outputs: []string{"y"}})
	feeds := map[string]*classify.Tensor{
		"x":    classify.FromFloat32([]float32{0, 0, 0}, 1, 3),
		"beta": classify.FromFloat32([]float32{5, 6, 7}, 3),
	}
	got := run1(t, m, feeds, "y").Float32s()
	gamma, v, mean := []float64{1, 2, 3}, []float64{1, 4, 0.25}, []float64{0.5, -1, 2}
	for c := range 3 {
		k := gamma[c] / math.Sqrt(v[c]+0.001)
		if want := max(0, float64(5+c)-mean[c]*k); math.Abs(float64(got[c])-want) > 1e-5 {
			t.Errorf("y[%d] = %v, want %v", c, got[c], want)
		}
	}
	if _, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": feeds["x"]}, nil); !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), `"beta"`) {
		t.Errorf("running without the fed constant: %v, want ErrInvalidInput naming beta", err)
	}
}

// TestLegacyScalarPlaceholder: in a GraphDef of producer version <= 21 a
// Placeholder with `shape {}` has unknown shape, as TensorFlow reads it
// there; from version 22 on it is a scalar.
func TestLegacyScalarPlaceholder(t *testing.T) {
	for _, c := range []struct {
		producer int32
		unknown  bool
	}{{0, true}, {21, true}, {22, false}, {27, false}} {
		b := graphdef.New()
		b.GraphDef().Versions.Producer = c.producer
		x := b.Placeholder("x", classify.Float32, classify.Shape{})
		b.Op("Relu", "y", []graphdef.Output{x}, graphdef.Attrs{"T": classify.Float32})
		m := openBuilder(t, b, classify.OpenOptions{})
		in := m.Info().Inputs[0]
		if got := in.Shape == nil; got != c.unknown {
			t.Errorf("producer %d: input shape %v (nil: %v), want unknown=%v", c.producer, in.Shape, got, c.unknown)
		}
		_, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{-1, 2}, 2)}, []string{"y"})
		if (err == nil) != c.unknown {
			t.Errorf("producer %d: feeding a vector: %v", c.producer, err)
		}
		m.Close()
	}
}
