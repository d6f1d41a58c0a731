package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestPadGolden(t *testing.T) {
	f32, i32, i64 := classify.Float32, classify.Int32, classify.Int64
	pads := func(p ...int32) saIn { return saConst(saI32(p, len(p)/2, 2)) }
	mirror := func(mode string, dt classify.DType) graphdef.Attrs {
		return graphdef.Attrs{"T": dt, "Tpaddings": i32, "mode": mode}
	}
	cases := []goldenCase{
		saCase("pad_3x5", "Pad", graphdef.Attrs{"T": f32, "Tpaddings": i32}, 1,
			saFeed(randF32(401, -1, 1, 3, 5)), pads(1, 2, 0, 3)),
		saCase("pad_zero_padding", "Pad", graphdef.Attrs{"T": f32, "Tpaddings": i32}, 1,
			saFeed(randF32(402, -1, 1, 3, 5)), pads(0, 0, 0, 0)),
		saCase("pad_nhwc_spatial", "Pad", graphdef.Attrs{"T": f32, "Tpaddings": i32}, 1,
			saFeed(randF32(403, -1, 1, 1, 3, 5, 2)), pads(0, 0, 1, 1, 2, 2, 0, 0)),
		saCase("pad_1x1_int32_int64_paddings", "Pad", graphdef.Attrs{"T": i32, "Tpaddings": i64}, 1,
			saFeed(saI32([]int32{5}, 1, 1)), saConst(saI64([]int64{2, 1, 0, 3}, 2, 2))),
		saCase("pad_fed_paddings", "Pad", graphdef.Attrs{"T": f32, "Tpaddings": i32}, 1,
			saFeed(randF32(404, -1, 1, 2, 3)), saFeed(saI32([]int32{1, 0, 2, 1}, 2, 2))),
		saCase("pad_bool", "Pad", graphdef.Attrs{"T": classify.Bool, "Tpaddings": i32}, 1,
			saFeed(saBool([]bool{true, true, true, false}, 2, 2)), pads(1, 0, 0, 1)),
		saCase("padv2_constant", "PadV2", graphdef.Attrs{"T": f32, "Tpaddings": i32}, 1,
			saFeed(randF32(405, -1, 1, 3, 5)), pads(2, 0, 1, 1), saConst(classify.FromFloat32([]float32{-1.5}))),
		saCase("padv2_int32_fed_value", "PadV2", graphdef.Attrs{"T": i32, "Tpaddings": i32}, 1,
			saFeed(saIota(2, 1, 3)), pads(0, 1, 1, 1, 0, 2), saFeed(saI32([]int32{7}))),
		saCase("mirrorpad_reflect", "MirrorPad", mirror("REFLECT", f32), 1,
			saFeed(randF32(406, -1, 1, 3, 5)), pads(1, 2, 3, 1)),
		saCase("mirrorpad_reflect_limit", "MirrorPad", mirror("REFLECT", f32), 1,
			saFeed(randF32(407, -1, 1, 3, 5)), pads(2, 2, 4, 4)),
		saCase("mirrorpad_symmetric_limit", "MirrorPad", mirror("SYMMETRIC", f32), 1,
			saFeed(randF32(408, -1, 1, 3, 5)), pads(3, 3, 5, 5)),
		saCase("mirrorpad_symmetric_1x1", "MirrorPad", mirror("SYMMETRIC", f32), 1,
			saFeed(randF32(409, -1, 1, 1, 1)), pads(1, 1, 1, 0)),
		saCase("mirrorpad_reflect_1x1_zero", "MirrorPad", mirror("REFLECT", f32), 1,
			saFeed(randF32(410, -1, 1, 1, 1)), pads(0, 0, 0, 0)),
		saCase("mirrorpad_reflect_nhwc_int32", "MirrorPad", mirror("REFLECT", i32), 1,
			saFeed(saIota(1, 4, 3, 2)), pads(0, 0, 2, 1, 1, 2, 0, 0)),
		saCase("mirrorpad_reflect_bool", "MirrorPad", mirror("REFLECT", classify.Bool), 1,
			saFeed(saBool([]bool{true, false, false}, 3)), pads(2, 1)),
		saCase("mirrorpad_symmetric_3d", "MirrorPad", mirror("SYMMETRIC", f32), 1,
			saFeed(randF32(411, -1, 1, 2, 3, 4)), pads(1, 2, 0, 3, 4, 1)),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestPadEmptyInput is checked by hand (the oracle refuses feeds with a
// zero dimension): padding an empty input gives a tensor made only of the
// constant.
func TestPadEmptyInput(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		pads  []int32
		want  classify.Shape
	}{
		{"rows_empty", []int{0, 3}, []int32{1, 1, 1, 1}, classify.Shape{2, 5}},
		{"cols_empty", []int{3, 0}, []int32{0, 1, 2, 0}, classify.Shape{4, 2}},
		{"stays_empty", []int{2, 0}, []int32{1, 1, 0, 0}, classify.Shape{4, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := saRun(t, "PadV2", nil, saFeed(classify.NewTensor(classify.Int32, c.shape...)),
				saConst(saI32(c.pads, 2, 2)), saFeed(saI32([]int32{7})))
			if err != nil {
				t.Fatal(err)
			}
			if !out[0].Shape.Equal(c.want) {
				t.Fatalf("shape %v, want %v", out[0].Shape, c.want)
			}
			for i, v := range out[0].Int32s() {
				if v != 7 {
					t.Fatalf("element %d = %d, want the constant 7", i, v)
				}
			}
		})
	}
}

func TestPadErrors(t *testing.T) {
	x := randF32(412, -1, 1, 3, 5)
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	p := func(v ...int32) *classify.Tensor { return saI32(v, len(v)/2, 2) }
	reflect := graphdef.Attrs{"mode": "REFLECT"}
	symmetric := graphdef.Attrs{"mode": "SYMMETRIC"}
	saCheckErrors(t, []saErrCase{
		{"pad_negative", "Pad", nil, []saIn{saFeed(x), saFeed(p(0, -1, 0, 0))}, inv, "negative"},
		{"pad_wrong_rank", "Pad", nil, []saIn{saFeed(x), saFeed(p(1, 1))}, inv, "[2, 2]"},
		{"pad_const_bad_shape", "Pad", nil, []saIn{saFeed(x), saConst(saI32([]int32{1, 1, 1}, 3))}, bad, "paddings of shape"},
		{"padv2_value_dtype", "PadV2", nil, []saIn{saFeed(x), saFeed(p(1, 1, 1, 1)), saFeed(saI32([]int32{0}))}, inv, "constant_values"},
		{"mirrorpad_reflect_too_big", "MirrorPad", reflect, []saIn{saFeed(x), saFeed(p(3, 0, 0, 0))}, inv, "at most 2"},
		{"mirrorpad_symmetric_too_big", "MirrorPad", symmetric, []saIn{saFeed(x), saFeed(p(0, 0, 0, 6))}, inv, "at most 5"},
		{"mirrorpad_bad_mode", "MirrorPad", graphdef.Attrs{"mode": "EDGE"}, []saIn{saFeed(x), saFeed(p(0, 0, 0, 0))}, bad, "mode"},
	})
}

func TestPadInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	in := func(s ...int) classify.TensorInfo { return saInfo(f32, s...) }
	p := func(v ...int32) *classify.Tensor { return saI32(v, len(v)/2, 2) }
	saCheckShapes(t, []saShapeCase{
		{name: "pad", op: "Pad", in: []classify.TensorInfo{in(-1, 3, 5, 2), saInfo(i32, 4, 2)},
			consts: map[int]*classify.Tensor{1: p(0, 0, 1, 1, 2, 2, 0, 0)}, want: []classify.TensorInfo{in(-1, 5, 9, 2)}},
		{name: "pad_fed", op: "Pad", in: []classify.TensorInfo{{DType: f32}, saInfo(i32, 3, 2)}, want: []classify.TensorInfo{in(-1, -1, -1)}},
		{name: "mirrorpad_too_big", op: "MirrorPad", attrs: graphdef.Attrs{"mode": "REFLECT"}, in: []classify.TensorInfo{in(2), saInfo(i32, 1, 2)},
			consts: map[int]*classify.Tensor{1: p(2, 0)}, err: true},
	})
}
