package classifytest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/npy"
)

// inputCase is one model input stored under testdata/models/mobilenet/input:
// a photo from TEST_IMAGES_DIR prepared as MobileNet expects, or random
// numbers in [-1, 1] (which exercise the graph away from natural images).
type inputCase struct {
	name   string
	photo  string // file in TEST_IMAGES_DIR; empty for random input
	seed   uint64 // random input: PCG seed
	normal bool   // random input: N(0, 0.5) clipped to [-1, 1] instead of uniform
}

var inputCases = []inputCase{
	{name: "grace_hopper", photo: "grace_hopper.jpg"},
	{name: "classify1", photo: "classify1.jpg"},
	{name: "chelsea", photo: "chelsea.png"},
	{name: "coffee", photo: "coffee.png"},
	{name: "rocket", photo: "rocket.jpg"},
	{name: "astronaut", photo: "astronaut.png"},
	{name: "hubble_deep_field", photo: "hubble_deep_field.jpg"},
	{name: "random_uniform_1", seed: 1},
	{name: "random_uniform_2", seed: 2},
	{name: "random_normal_3", seed: 3, normal: true},
}

// goldenGraph is a real graph whose output the oracle computed for every
// input case.
type goldenGraph struct {
	name    string // subtest name
	path    string // relative to TEST_MODELS_DIR
	input   string
	output  string
	dir     string // goldens: testdata/models/<dir>/<case>.npy
	classes int
	// dequantize: the oracle runs a copy of the graph with its quint8
	// weights dequantized (it cannot run quint8 itself).
	dequantize bool
}

var goldenGraphs = []goldenGraph{
	{
		name:    "MobileNet",
		path:    "mobilenet_v1_0.25_128/frozen_graph.pb",
		input:   "input",
		output:  "MobilenetV1/Predictions/Reshape_1",
		dir:     "mobilenet/frozen_graph",
		classes: 1001,
	},
	{
		// retrain.py's graph also holds a PlaceholderWithDefault for the
		// bottleneck; feeding "input" must run the whole network.
		name:    "Retrained",
		path:    "retrained_mobilenet_v1_0.25/retrained_graph.pb",
		input:   "input",
		output:  "final_result",
		dir:     "retrained/final_result",
		classes: 6,
	},
	{
		name:       "QuantizedGolden",
		path:       "mobilenet_v1_0.25_128/quantized_graph.pb",
		input:      "input",
		output:     "MobilenetV1/Predictions/Reshape_1",
		dir:        "mobilenet/quantized_graph",
		classes:    1001,
		dequantize: true,
	},
}

const (
	mobileNetGraph     = "mobilenet_v1_0.25_128/frozen_graph.pb"
	mobileNetQuantized = "mobilenet_v1_0.25_128/quantized_graph.pb"
	mobileNetInput     = "input"
	mobileNetOutput    = "MobilenetV1/Predictions/Reshape_1"
	mobileNetSize      = 128
	// mobileNetFLOPs is 2 x the 14 M multiply-adds of the TF-slim table.
	mobileNetFLOPs = 28e6
)

func inputPath(c inputCase) string {
	return filepath.Join(TestdataDir(), "mobilenet", "input", c.name+".npy")
}

func goldenPath(g goldenGraph, c inputCase) string {
	return filepath.Join(TestdataDir(), filepath.FromSlash(g.dir), c.name+".npy")
}

func testGolden(t *testing.T, e classify.Engine, g goldenGraph) {
	path := filepath.Join(ModelsDir(t), filepath.FromSlash(g.path))
	ctx := context.Background()
	m, err := safeOpen(ctx, e, path, classify.OpenOptions{Outputs: []string{g.output}})
	if err != nil {
		t.Fatalf("open %s: %v", g.path, err)
	}
	defer m.Close()
	for _, c := range inputCases {
		t.Run(c.name, func(t *testing.T) {
			x, err := npy.ReadFile(inputPath(c))
			if err != nil {
				t.Fatalf("%v (regenerate with -update, see the package doc)", err)
			}
			want, err := npy.ReadFile(goldenPath(g, c))
			if err != nil {
				t.Fatalf("%v (regenerate with -update, see the package doc)", err)
			}
			out, err := safeRun(ctx, m, map[string]*classify.Tensor{g.input: x}, []string{g.output})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if err := CheckProbs(out[0], want, ProbTolerance); err != nil {
				t.Errorf("%s on %s: %v", g.output, c.name, err)
			}
		})
	}
}

func testMobileNetInfo(t *testing.T, e classify.Engine) {
	path := filepath.Join(ModelsDir(t), filepath.FromSlash(mobileNetGraph))
	m, err := safeOpen(context.Background(), e, path, classify.OpenOptions{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer m.Close()
	info := m.Info()
	if info.Engine != e.Name() {
		t.Errorf("Info().Engine = %q, want the engine's name %q", info.Engine, e.Name())
	}
	in, ok := findInfo(info.Inputs, mobileNetInput)
	switch {
	case !ok:
		t.Errorf("Info().Inputs = %v: no %q", info.Inputs, mobileNetInput)
	case in.DType != classify.Float32 || !in.Shape.Compatible(classify.Shape{1, 128, 128, 3}) || len(in.Shape) != 4:
		t.Errorf("input %s: %v %v, want float32 [1,128,128,3] (or [?,128,128,3])", in.Name, in.DType, in.Shape)
	}
	if len(info.Inputs) != 1 {
		t.Errorf("Info().Inputs = %v, want just %q", info.Inputs, mobileNetInput)
	}
	out, ok := findInfo(info.Outputs, mobileNetOutput)
	switch {
	case !ok:
		t.Errorf("Info().Outputs = %v: no %q (the graph's only unconsumed node)", info.Outputs, mobileNetOutput)
	case out.DType != classify.Float32 || (out.Shape != nil && !out.Shape.Compatible(classify.Shape{1, 1001})):
		t.Errorf("output %s: %v %v, want float32 [1,1001]", out.Name, out.DType, out.Shape)
	}
	// Engines may fuse and rename ops, but a MobileNet with no convolution
	// of any kind left means Ops does not describe what runs.
	if len(info.Ops) > 0 && !anyOp(info.Ops, "conv") {
		t.Errorf("Info().Ops = %v: no convolution", info.Ops)
	}
	// FLOPs may be 0 ("unknown"); when reported it must be the right size.
	if f := float64(info.FLOPs); f != 0 && (f < mobileNetFLOPs/2 || f > mobileNetFLOPs*2) {
		t.Errorf("Info().FLOPs = %d, want about %.0f (2 x 14 M multiply-adds)", info.FLOPs, mobileNetFLOPs)
	}
}

func findInfo(ts []classify.TensorInfo, name string) (classify.TensorInfo, bool) {
	for _, ti := range ts {
		if ti.Name == name || ti.Name == name+":0" {
			return ti, true
		}
	}
	return classify.TensorInfo{}, false
}

func anyOp(ops map[string]int, sub string) bool {
	for op, n := range ops {
		if n > 0 && strings.Contains(strings.ToLower(op), sub) {
			return true
		}
	}
	return false
}

// CheckProbs compares a probability tensor with the oracle's: same dtype
// and shape, every element within atol, and the same top-5 order except
// where the oracle's two probabilities are within TieTolerance of each
// other. It returns nil when they agree, else what differs. The suite uses
// it with ProbTolerance; it is exported so that tools built on the engines
// (the classify command's tests) check their outputs the same way.
func CheckProbs(got, want *classify.Tensor, atol float64) error {
	if got == nil {
		return fmt.Errorf("nil output")
	}
	if got.DType != classify.Float32 || want.DType != classify.Float32 {
		return fmt.Errorf("dtype %v, want %v", got.DType, want.DType)
	}
	if !got.Shape.Equal(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	g, w := got.Float32s(), want.Float32s()
	if len(g) != len(w) {
		return fmt.Errorf("%d elements, want %d", len(g), len(w))
	}
	bad, worst, at := 0, 0.0, -1
	for i := range w {
		d := math.Abs(float64(g[i]) - float64(w[i]))
		if d > atol || math.IsNaN(d) {
			bad++
			if at < 0 || d > worst || math.IsNaN(d) {
				worst, at = d, i
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d probabilities differ by more than %g; worst at %d: got %g, want %g", bad, len(w), atol, at, g[at], w[at])
	}
	gt, wt := topK(g, 5), topK(w, 5)
	for i := range wt {
		if gt[i] != wt[i] && math.Abs(float64(w[gt[i]])-float64(w[wt[i]])) > TieTolerance {
			return fmt.Errorf("top-5 order %v, want %v (oracle probabilities %v)", gt, wt, pick(w, wt))
		}
	}
	return nil
}

// topK returns the indices of the k largest values, largest first, ties by
// lower index.
func topK(p []float32, k int) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	return idx[:min(k, len(idx))]
}

func pick(p []float32, idx []int) []float32 {
	out := make([]float32, len(idx))
	for i, j := range idx {
		out[i] = p[j]
	}
	return out
}

// safeOpen and safeRun turn an engine's panic into an error: the suite must
// report a crash as a failed case, and no panic may cross the Engine API.
func safeOpen(ctx context.Context, e classify.Engine, path string, opts classify.OpenOptions) (m classify.Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("engine panicked in Open: %v", r)
		}
	}()
	m, err = e.Open(ctx, path, opts)
	if err == nil && m == nil {
		err = errors.New("engine Open returned a nil Model and no error")
	}
	return m, err
}

func safeRun(ctx context.Context, m classify.Model, in map[string]*classify.Tensor, outputs []string) (out []*classify.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("engine panicked in Run: %v", r)
		}
	}()
	out, err = m.Run(ctx, in, outputs)
	if err == nil && len(out) != len(outputs) {
		err = fmt.Errorf("Run returned %d tensors for %d outputs", len(out), len(outputs))
	}
	return out, err
}
