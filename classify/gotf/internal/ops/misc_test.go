package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestMiscGolden(t *testing.T) {
	f32 := func(v float32) *classify.Tensor { return classify.FromFloat32([]float32{v}) }
	oneHot := func(name string, idx *classify.Tensor, depth int32, on, off *classify.Tensor) goldenCase {
		return mathOpCase(name, "OneHot", graphdef.Attrs{"T": on.DType, "TI": idx.DType, "axis": -1}, []mathIn{
			{"indices", idx, false}, {"depth", mathI32([]int32{depth}), true}, {"on", on, true}, {"off", off, true}})
	}
	scan := func(name, op string, x *classify.Tensor, axis int32, exclusive, reverse bool) goldenCase {
		return mathOpCase(name, op, graphdef.Attrs{"T": x.DType, "Tidx": classify.Int32, "exclusive": exclusive, "reverse": reverse}, []mathIn{
			{"x", x, false}, {"axis", mathI32([]int32{axis}), true}})
	}
	cases := []goldenCase{
		oneHot("onehot_basic", mathI32([]int32{0, 2, 1, 3, -1, 4}, 2, 3), 4, f32(1), f32(0)),
		oneHot("onehot_values", mathI32([]int32{1, 0, 2}, 3), 3, f32(5), f32(-1)),
		oneHot("onehot_int32", mathI32([]int32{2, 0}, 2), 3, mathI32([]int32{7}), mathI32([]int32{-7})),
		scan("cumsum_axis0", "Cumsum", randF32(130, -2, 2, 4, 3), 0, false, false),
		scan("cumsum_axis1_excl", "Cumsum", randF32(131, -2, 2, 2, 5, 3), 1, true, false),
		scan("cumsum_rev", "Cumsum", randF32(132, -2, 2, 3, 4), 1, false, true),
		scan("cumsum_excl_rev", "Cumsum", randF32(133, -2, 2, 3, 4), 1, true, true),
		scan("cumsum_int32", "Cumsum", mathI32([]int32{1, -2, 3, 4, 5, -6}, 2, 3), 1, false, false),
		scan("cumprod_axis1", "Cumprod", randF32(134, 0.5, 1.5, 2, 6), 1, false, false),
		scan("cumprod_excl_rev", "Cumprod", randF32(135, 0.5, 1.5, 3, 4), 0, true, true),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestOneHotAxis checks OneHot with axis 0 and 1, int64 and uint8 indices
// and bool values, which the oracle does not take, against TensorFlow's
// definition: out[i..., d, j...] = on if indices[i..., j...] == d.
func TestOneHotAxis(t *testing.T) {
	idx := mathI64([]int64{0, 2, 5, 1, -3, 1}, 2, 3) // 5 and -3 are out of range
	for _, axis := range []int{0, 1, 2, -1} {
		got := mustRun(t, "OneHot", map[string]any{"T": classify.Bool, "TI": classify.Int64, "axis": axis},
			idx, mathI32([]int32{3}), boolT([]bool{true}), boolT([]bool{false}))
		pos := axis
		if axis == -1 {
			pos = 2
		}
		want := []int{2, 3}
		want = append(want[:pos:pos], append([]int{3}, want[pos:]...)...)
		if !got.Shape.Equal(classify.Shape(want)) {
			t.Fatalf("axis %d: shape %v, want %v", axis, got.Shape, want)
		}
		for i := 0; i < 2; i++ {
			for j := 0; j < 3; j++ {
				for d := 0; d < 3; d++ {
					ix := []int{i, j}
					ix = append(ix[:pos:pos], append([]int{d}, ix[pos:]...)...)
					off := (ix[0]*want[1]+ix[1])*want[2] + ix[2]
					if w := idx.Int64s()[i*3+j] == int64(d); got.Bools()[off] != w {
						t.Errorf("axis %d: out%v = %v, want %v", axis, ix, got.Bools()[off], w)
					}
				}
			}
		}
	}
	u8 := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{2}, Data: []uint8{1, 200}}
	got := mustRun(t, "OneHot", map[string]any{"T": classify.Int32, "TI": classify.Uint8, "axis": -1}, u8, mathI32([]int32{2}), mathI32([]int32{9}), mathI32([]int32{0}))
	if msg := compare(got, mathI32([]int32{0, 9, 0, 0}, 2, 2), 0, 0); msg != "" {
		t.Errorf("uint8 indices: %s", msg)
	}
}

// TestScanReference checks Cumsum / Cumprod on int64, uint8, float64 and an
// empty axis against a direct evaluation of their definitions.
func TestScanReference(t *testing.T) {
	x := mathI64([]int64{3, -1, 4, 1, -5, 9}, 6)
	for _, c := range []struct {
		op                 string
		exclusive, reverse bool
		want               []int64
	}{
		{"Cumsum", false, false, []int64{3, 2, 6, 7, 2, 11}},
		{"Cumsum", true, false, []int64{0, 3, 2, 6, 7, 2}},
		{"Cumsum", false, true, []int64{11, 8, 9, 5, 4, 9}},
		{"Cumsum", true, true, []int64{8, 9, 5, 4, 9, 0}},
		{"Cumprod", false, false, []int64{3, -3, -12, -12, 60, 540}},
		{"Cumprod", true, true, []int64{180, -180, -45, -45, 9, 1}},
	} {
		// axis -1: the oracle cannot check negative axes.
		got := mustRun(t, c.op, map[string]any{"T": classify.Int64, "Tidx": classify.Int32, "exclusive": c.exclusive, "reverse": c.reverse}, x, mathI32([]int32{-1}))
		if msg := compare(got, mathI64(c.want, 6), 0, 0); msg != "" {
			t.Errorf("%s exclusive=%v reverse=%v: %s", c.op, c.exclusive, c.reverse, msg)
		}
	}
	u8 := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{3}, Data: []uint8{200, 50, 10}}
	got := mustRun(t, "Cumsum", map[string]any{"T": classify.Uint8, "Tidx": classify.Int64}, u8, mathI64([]int64{0}))
	if msg := compare(got, &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{3}, Data: []uint8{200, 250, 4}}, 0, 0); msg != "" {
		t.Errorf("uint8 Cumsum wraps: %s", msg)
	}
	empty := classify.NewTensor(classify.Float64, 2, 0)
	got = mustRun(t, "Cumprod", map[string]any{"T": classify.Float64, "Tidx": classify.Int32}, empty, mathI32([]int32{1}))
	if !got.Shape.Equal(classify.Shape{2, 0}) || got.DType != classify.Float64 {
		t.Errorf("empty Cumprod: %v%v", got.DType, got.Shape)
	}
}

func TestCheckOps(t *testing.T) {
	// EnsureShape: a mismatch at run time names the node and both shapes.
	_, err := runOp(t, "EnsureShape", map[string]any{"T": classify.Float32, "shape": classify.Shape{-1, 4}}, randF32(1, 0, 1, 2, 3))
	if err == nil || !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), `"out"`) || !strings.Contains(err.Error(), "[2,3]") {
		t.Errorf("EnsureShape mismatch: %v", err)
	}
	info, err := staticInfo("EnsureShape", map[string]any{"T": classify.Float32, "shape": classify.Shape{-1, 4}}, []classify.TensorInfo{{DType: classify.Float32, Shape: classify.Shape{5, -1}}})
	if err != nil || !info.Shape.Equal(classify.Shape{5, 4}) {
		t.Errorf("EnsureShape static shape %v, %v; want [5 4]", info.Shape, err)
	}
	// Assert: nothing when true; when false an error with the node name
	// and a bounded summary of the data.
	msg := &classify.Tensor{DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{[]byte("x must be positive")}}
	big := randF32(2, 0, 1, 1000)
	if _, err := runOp(t, "Assert", map[string]any{"summarize": 3}, boolT([]bool{true}), msg, big); err == nil || !strings.Contains(err.Error(), "no such output") {
		// A true Assert succeeds and has no outputs: fetching one fails.
		t.Errorf("true Assert: %v, want only the fetch to fail", err)
	}
	_, err = runOp(t, "Assert", map[string]any{"summarize": 3}, boolT([]bool{false}), msg, big)
	if err == nil || !strings.Contains(err.Error(), `"out"`) || !strings.Contains(err.Error(), "x must be positive") || !strings.Contains(err.Error(), "float32[1000]") {
		t.Fatalf("false Assert: %v", err)
	}
	if len(err.Error()) > 300 {
		t.Errorf("Assert echoes its data at length (%d bytes): %v", len(err.Error()), err)
	}
	for _, c := range []struct {
		op    string
		attrs map[string]any
		in    []*classify.Tensor
		want  string
	}{
		{"OneHot", map[string]any{"T": classify.Float32, "TI": classify.Int32, "axis": 3}, []*classify.Tensor{mathI32([]int32{1}, 1), mathI32([]int32{2}), classify.FromFloat32([]float32{1}), classify.FromFloat32([]float32{0})}, "axis 3 out of range"},
		{"OneHot", map[string]any{"T": classify.Float32, "TI": classify.Int32}, []*classify.Tensor{mathI32([]int32{1}, 1), mathI32([]int32{-2}), classify.FromFloat32([]float32{1}), classify.FromFloat32([]float32{0})}, "non-negative"},
		{"Cumsum", map[string]any{"T": classify.Float32, "Tidx": classify.Int32}, []*classify.Tensor{randF32(1, 0, 1, 2, 3), mathI32([]int32{2})}, "axis 2 out of range"},
		{"Cumsum", map[string]any{"T": classify.Bool, "Tidx": classify.Int32}, []*classify.Tensor{boolT([]bool{true}, 1), mathI32([]int32{0})}, "unsupported dtype bool"},
		{"Assert", nil, []*classify.Tensor{boolT([]bool{true, false}, 2)}, "bool scalar"},
	} {
		_, err := runOp(t, c.op, c.attrs, c.in...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"out"`) {
			t.Errorf("%s: error %v, want one naming the node and %q", c.op, err, c.want)
		}
	}
}

// TestIdentityAllDTypes: the pass-through ops forward every dtype as is.
func TestIdentityAllDTypes(t *testing.T) {
	for _, x := range []*classify.Tensor{
		randF32(1, 0, 1, 2), toF64(randF32(2, 0, 1, 3)), mathI32([]int32{1, 2}, 2), mathI64([]int64{-1}, 1),
		boolT([]bool{true, false}, 2), {DType: classify.Uint8, Shape: classify.Shape{1}, Data: []uint8{7}},
		{DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{[]byte("s")}},
	} {
		for _, op := range []string{"Identity", "StopGradient", "PreventGradient", "Snapshot"} {
			got := mustRun(t, op, map[string]any{"T": x.DType}, x)
			if got.DType != x.DType || !got.Shape.Equal(x.Shape) || compare(got, x, 0, 0) != "" && x.DType != classify.String {
				t.Errorf("%s of %v: got %v%v", op, x.DType, got.DType, got.Shape)
			}
		}
	}
}
