package gotf

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestHalfGraphInEngine runs a mixed-precision head through the engine
// (static shapes, constant folding, execution): a float16 input and
// float16 weights through Conv2D, BiasAdd, Relu, Mean and a Cast back to
// float32, as a model exported with float16 weights computes, plus int8
// and uint32 constants through arithmetic and Cast. Expected values are
// computed here in float64 and must match within float16 rounding.
func TestHalfGraphInEngine(t *testing.T) {
	f16 := classify.Float16
	h := func(v ...float32) []classify.F16 {
		d := make([]classify.F16, len(v))
		for i, x := range v {
			d[i] = classify.F16FromFloat32(x)
		}
		return d
	}
	O := func(s ...string) []graphdef.Output {
		var o []graphdef.Output
		for _, x := range s {
			o = append(o, graphdef.Output(x))
		}
		return o
	}
	b := graphdef.New()
	b.Placeholder("x", f16, classify.Shape{1, 2, 2, 1})
	b.Const("w", &classify.Tensor{DType: f16, Shape: classify.Shape{1, 1, 1, 2}, Data: h(0.5, -2)})
	b.Const("bias", &classify.Tensor{DType: f16, Shape: classify.Shape{2}, Data: h(0.25, 1)})
	b.Op("Conv2D", "conv", O("x", "w"), graphdef.Attrs{"T": f16, "strides": []int{1, 1, 1, 1}, "padding": "SAME"})
	b.Op("BiasAdd", "biased", O("conv", "bias"), graphdef.Attrs{"T": f16})
	b.Op("Relu", "relu", O("biased"), graphdef.Attrs{"T": f16})
	b.ConstI32("axes", []int32{1, 2}, 2)
	b.Op("Mean", "mean", O("relu", "axes"), graphdef.Attrs{"T": f16, "Tidx": classify.Int32})
	b.Op("Cast", "out", O("mean"), graphdef.Attrs{"SrcT": f16, "DstT": classify.Float32})
	b.Const("i8", &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{3}, Data: []int8{100, -128, 7}})
	b.Op("AddV2", "i8sum", O("i8", "i8"), graphdef.Attrs{"T": classify.Int8})
	b.Const("u32", &classify.Tensor{DType: classify.Uint32, Shape: classify.Shape{2}, Data: []uint32{1<<32 - 1, 5}})
	b.Op("Cast", "u32f", O("u32"), graphdef.Attrs{"SrcT": classify.Uint32, "DstT": classify.Float64})
	m := openBuilder(t, b, classify.OpenOptions{Outputs: []string{"out", "i8sum", "u32f", "relu"}})
	defer m.Close()
	info := m.Info()
	if in := info.Inputs[0]; in.DType != f16 {
		t.Errorf("input dtype %v, want float16", in.DType)
	}
	for i, want := range []classify.TensorInfo{
		{DType: classify.Float32, Shape: classify.Shape{1, 2}}, {DType: classify.Int8, Shape: classify.Shape{3}},
		{DType: classify.Float64, Shape: classify.Shape{2}}, {DType: f16, Shape: classify.Shape{1, 2, 2, 2}},
	} {
		if got := info.Outputs[i]; got.DType != want.DType || !got.Shape.Equal(want.Shape) {
			t.Errorf("output %s: %v%v, want %v%v", got.Name, got.DType, got.Shape, want.DType, want.Shape)
		}
	}
	xs := []float32{1, -3, 0.125, 7}
	x := &classify.Tensor{DType: f16, Shape: classify.Shape{1, 2, 2, 1}, Data: h(xs...)}
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": x}, []string{"out", "i8sum", "u32f"})
	if err != nil {
		t.Fatal(err)
	}
	// Every intermediate here is exact in float16 except the means.
	w, bias := []float64{0.5, -2}, []float64{0.25, 1}
	for c := 0; c < 2; c++ {
		var s float64
		for _, v := range xs {
			s += math.Max(float64(v)*w[c]+bias[c], 0)
		}
		want := float64(classify.F16FromFloat64(s / 4).Float32())
		if got := float64(res[0].Float32s()[c]); got != want {
			t.Errorf("channel %d mean: %v, want %v", c, got, want)
		}
	}
	if got := res[1].Data.([]int8); got[0] != -56 || got[1] != 0 || got[2] != 14 {
		t.Errorf("int8 sums %v, want wrapped [-56 0 14]", got)
	}
	if got := res[2].Data.([]float64); got[0] != 4294967295 || got[1] != 5 {
		t.Errorf("uint32 → float64: %v", got)
	}
}

// TestUnsupportedDTypeNamesOp: a graph using a new dtype in an op that has
// no kernel for it fails to load naming the node, the op and the dtype.
func TestUnsupportedDTypeNamesOp(t *testing.T) {
	b := graphdef.New()
	b.Placeholder("x", classify.Uint64, classify.Shape{3})
	b.Op("Maximum", "m", []graphdef.Output{"x", "x"}, graphdef.Attrs{"T": classify.Uint64})
	_, err := OpenGraph(context.Background(), b.GraphDef(), classify.OpenOptions{Outputs: []string{"m"}})
	if !errors.Is(err, classify.ErrUnsupportedOp) {
		t.Fatalf("got %v, want ErrUnsupportedOp", err)
	}
	for _, want := range []string{`"m"`, "Maximum", "uint64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
