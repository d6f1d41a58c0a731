package gotf

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestMathOpsInEngine runs a post-processing chain of the comparison,
// selection and integer-division ops through the engine (static shapes,
// constant folding, execution): a peak mask as detection heads compute it
// (Equal of x and its maximum), scores where the mask holds, and the
// row/column of each flat index by FloorDiv/FloorMod.
func TestMathOpsInEngine(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	O := func(s ...string) []graphdef.Output {
		var o []graphdef.Output
		for _, x := range s {
			o = append(o, graphdef.Output(x))
		}
		return o
	}
	b := graphdef.New()
	b.Placeholder("x", f32, classify.Shape{-1, 4})
	b.ConstI32("axis", []int32{1})
	b.Op("Max", "rowmax", O("x", "axis"), graphdef.Attrs{"T": f32, "keep_dims": true})
	b.Op("Equal", "peak", O("x", "rowmax"), graphdef.Attrs{"T": f32})
	b.ConstF32("zero", []float32{0})
	b.Op("SelectV2", "scores", O("peak", "x", "zero"), graphdef.Attrs{"T": f32})
	b.Op("Where", "where", O("peak"), graphdef.Attrs{"T": classify.Bool})
	b.ConstI32("flat", []int32{0, 5, 11, 14}, 4)
	b.ConstI32("width", []int32{4})
	b.Op("FloorDiv", "row", O("flat", "width"), graphdef.Attrs{"T": i32})
	b.Op("FloorMod", "col", O("flat", "width"), graphdef.Attrs{"T": i32})
	m := openBuilder(t, b, classify.OpenOptions{Outputs: []string{"scores", "where", "row", "col", "peak"}})
	defer m.Close()
	info := m.Info()
	for i, want := range []classify.TensorInfo{
		{DType: f32, Shape: classify.Shape{-1, 4}}, {DType: classify.Int64, Shape: classify.Shape{-1, 2}},
		{DType: i32, Shape: classify.Shape{4}}, {DType: i32, Shape: classify.Shape{4}}, {DType: classify.Bool, Shape: classify.Shape{-1, 4}},
	} {
		if got := info.Outputs[i]; got.DType != want.DType || !got.Shape.Equal(want.Shape) {
			t.Errorf("output %s: %v%v, want %v%v", got.Name, got.DType, got.Shape, want.DType, want.Shape)
		}
	}
	x := classify.FromFloat32([]float32{1, 3, 2, 0, 5, 5, -1, 4}, 2, 4)
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": x}, []string{"scores", "where", "row", "col"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{0, 3, 0, 0, 5, 5, 0, 0}, {0, 1, 1, 0, 1, 1}, {0, 1, 2, 3}, {0, 1, 3, 2}}
	for i, w := range want {
		var got []float64
		switch d := res[i].Data.(type) {
		case []float32:
			for _, v := range d {
				got = append(got, float64(v))
			}
		case []int64:
			for _, v := range d {
				got = append(got, float64(v))
			}
		case []int32:
			for _, v := range d {
				got = append(got, float64(v))
			}
		}
		if len(got) != len(w) {
			t.Fatalf("output %d = %v, want %v", i, got, w)
		}
		for j := range w {
			if got[j] != w[j] {
				t.Fatalf("output %d = %v, want %v", i, got, w)
			}
		}
	}
}

// TestUnsupportedDTypeAtLoad: an op given a dtype its TensorFlow CPU kernel
// lacks fails at load, naming the node and the op.
func TestUnsupportedDTypeAtLoad(t *testing.T) {
	for _, c := range []struct {
		op string
		dt classify.DType
	}{{"Floor", classify.Int32}, {"TruncateDiv", classify.Float32}, {"Sin", classify.Int64}, {"Greater", classify.Bool}, {"MatMul", classify.Uint8}} {
		b := graphdef.New()
		x := b.Placeholder("x", c.dt, classify.Shape{2})
		in := []graphdef.Output{x}
		if c.op == "TruncateDiv" || c.op == "Greater" || c.op == "MatMul" {
			in = append(in, x)
		}
		b.Op(c.op, "bad/node", in, graphdef.Attrs{"T": c.dt})
		_, err := OpenGraph(context.Background(), b.GraphDef(), classify.OpenOptions{})
		if err == nil || !errors.Is(err, classify.ErrInvalidGraph) || !strings.Contains(err.Error(), `"bad/node" (`+c.op+`)`) || !strings.Contains(err.Error(), "unsupported dtype") {
			t.Errorf("%s of %v: error %v", c.op, c.dt, err)
		}
	}
}
