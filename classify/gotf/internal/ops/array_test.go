package ops

import (
	"errors"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestArrayGolden(t *testing.T) {
	f32, i32, i64, bl := classify.Float32, classify.Int32, classify.Int64, classify.Bool
	cases := []goldenCase{
		saCase("pack_axis0", "Pack", graphdef.Attrs{"T": f32, "N": 3, "axis": 0}, 1,
			saFeed(randF32(201, -1, 1, 2, 3)), saFeed(randF32(202, -1, 1, 2, 3)), saFeed(randF32(203, -1, 1, 2, 3))),
		saCase("pack_negative_axis", "Pack", graphdef.Attrs{"T": f32, "N": 2, "axis": -1}, 1,
			saFeed(randF32(204, -1, 1, 3, 5)), saFeed(randF32(205, -1, 1, 3, 5))),
		saCase("pack_int32_scalars", "Pack", graphdef.Attrs{"T": i32, "N": 3, "axis": 0}, 1,
			saFeed(saI32([]int32{7})), saConst(saI32([]int32{-1})), saFeed(saI32([]int32{3}))),
		saCase("pack_bool_middle", "Pack", graphdef.Attrs{"T": bl, "N": 2, "axis": 1}, 1,
			saFeed(saBools(2, 3)), saFeed(saBool([]bool{true, true, false, false, true, false}, 2, 3))),
		saCase("unpack_axis1", "Unpack", graphdef.Attrs{"T": f32, "num": 3, "axis": 1}, 3,
			saFeed(randF32(206, -1, 1, 2, 3, 4))),
		saCase("unpack_negative_axis_int32", "Unpack", graphdef.Attrs{"T": i32, "num": 4, "axis": -1}, 4,
			saFeed(saIota(2, 3, 4))),
		saCase("unpack_axis0_1x1", "Unpack", graphdef.Attrs{"T": f32, "num": 1, "axis": 0}, 1,
			saFeed(randF32(207, -1, 1, 1, 1))),
		saCase("concat_negative_axis", "ConcatV2", graphdef.Attrs{"T": f32, "N": 3, "Tidx": i32}, 1,
			saFeed(randF32(208, -1, 1, 2, 3, 4)), saFeed(randF32(209, -1, 1, 2, 1, 4)), saFeed(randF32(210, -1, 1, 2, 5, 4)),
			saConst(saI32([]int32{-2}))),
		saCase("concat_channels_nhwc", "ConcatV2", graphdef.Attrs{"T": f32, "N": 2, "Tidx": i32}, 1,
			saFeed(randF32(211, -1, 1, 1, 3, 5, 2)), saFeed(randF32(212, -1, 1, 1, 3, 5, 3)), saConst(saI32([]int32{3}))),
		saCase("concat_axis0_int64_axis", "ConcatV2", graphdef.Attrs{"T": i32, "N": 2, "Tidx": i64}, 1,
			saFeed(saIota(2, 3)), saConst(saI32([]int32{9, 8, 7}, 1, 3)), saConst(saI64([]int64{0}))),
		saCase("concat_empty_input", "ConcatV2", graphdef.Attrs{"T": f32, "N": 3, "Tidx": i32}, 1,
			saConst(randF32(213, -1, 1, 2, 0, 3)), saFeed(randF32(214, -1, 1, 2, 2, 3)), saFeed(randF32(215, -1, 1, 2, 1, 3)),
			saConst(saI32([]int32{1}))),
		saCase("concat_bool", "ConcatV2", graphdef.Attrs{"T": bl, "N": 2, "Tidx": i32}, 1,
			saFeed(saBools(3, 2)), saFeed(saBools(3, 5)), saConst(saI32([]int32{-1}))),
		saCase("concat_v1_axis_first", "Concat", graphdef.Attrs{"T": f32, "N": 2}, 1,
			saConst(saI32([]int32{1})), saFeed(randF32(216, -1, 1, 3, 2)), saFeed(randF32(217, -1, 1, 3, 3))),
		saCase("split_axis1", "Split", graphdef.Attrs{"T": f32, "num_split": 3}, 3,
			saConst(saI32([]int32{1})), saFeed(randF32(218, -1, 1, 2, 6, 3))),
		saCase("split_negative_axis_int32", "Split", graphdef.Attrs{"T": i32, "num_split": 2}, 2,
			saConst(saI32([]int32{-1})), saFeed(saIota(3, 5, 4))),
		saCase("split_axis0_views", "Split", graphdef.Attrs{"T": f32, "num_split": 2}, 2,
			saConst(saI32([]int32{0})), saFeed(randF32(219, -1, 1, 4, 3))),
		saCase("splitv_neg1_size", "SplitV", graphdef.Attrs{"T": f32, "num_split": 3, "Tlen": i32}, 3,
			saFeed(randF32(220, -1, 1, 2, 3, 6)), saConst(saI32([]int32{1, -1, 2}, 3)), saConst(saI32([]int32{-1}))),
		saCase("splitv_int64_sizes_zero_piece", "SplitV", graphdef.Attrs{"T": i32, "num_split": 3, "Tlen": i64}, 3,
			saFeed(saIota(5, 3)), saConst(saI64([]int64{2, 0, 3}, 3)), saConst(saI32([]int32{0}))),
		saCase("transpose_3d", "Transpose", graphdef.Attrs{"T": f32, "Tperm": i32}, 1,
			saFeed(randF32(221, -1, 1, 2, 3, 4)), saConst(saI32([]int32{2, 0, 1}, 3))),
		saCase("transpose_nhwc_to_nchw", "Transpose", graphdef.Attrs{"T": f32, "Tperm": i32}, 1,
			saFeed(randF32(222, -1, 1, 1, 3, 5, 2)), saConst(saI32([]int32{0, 3, 1, 2}, 4))),
		saCase("transpose_int64_perm", "Transpose", graphdef.Attrs{"T": i32, "Tperm": i64}, 1,
			saFeed(saIota(3, 5)), saConst(saI64([]int64{1, 0}, 2))),
		saCase("transpose_bool_fed_perm", "Transpose", graphdef.Attrs{"T": bl, "Tperm": i32}, 1,
			saFeed(saBools(2, 1, 3)), saFeed(saI32([]int32{1, 2, 0}, 3))),
		saCase("reversev2_two_axes", "ReverseV2", graphdef.Attrs{"T": f32, "Tidx": i32}, 1,
			saFeed(randF32(228, -1, 1, 2, 3, 4)), saConst(saI32([]int32{0, -1}, 2))),
		saCase("reversev2_int32_1x1_and_3x5", "ReverseV2", graphdef.Attrs{"T": i32, "Tidx": i64}, 1,
			saFeed(saIota(1, 1, 3, 5)), saConst(saI64([]int64{1, 2}, 2))),
		saCase("reversev2_bool_none", "ReverseV2", graphdef.Attrs{"T": bl, "Tidx": i32}, 1,
			saFeed(saBools(2, 3)), saConst(saI32([]int32{}, 0))),
		saCase("broadcastto_row_to_3x5", "BroadcastTo", graphdef.Attrs{"T": f32, "Tidx": i32}, 1,
			saFeed(randF32(229, -1, 1, 5)), saConst(saI32([]int32{3, 5}, 2))),
		saCase("broadcastto_middle_int64_shape", "BroadcastTo", graphdef.Attrs{"T": i32, "Tidx": i64}, 1,
			saFeed(saIota(2, 1, 3)), saConst(saI64([]int64{4, 2, 5, 3}, 4))),
		saCase("broadcastto_scalar_bool", "BroadcastTo", graphdef.Attrs{"T": bl, "Tidx": i32}, 1,
			saFeed(saBool([]bool{true})), saConst(saI32([]int32{2, 3}, 2))),
		saCase("broadcastto_same_1x1", "BroadcastTo", graphdef.Attrs{"T": f32, "Tidx": i32}, 1,
			saFeed(randF32(230, -1, 1, 1, 1)), saFeed(saI32([]int32{1, 1}, 2))),
		saCase("tile_2x3", "Tile", graphdef.Attrs{"T": f32, "Tmultiples": i32}, 1,
			saFeed(randF32(223, -1, 1, 2, 3)), saConst(saI32([]int32{2, 3}, 2))),
		saCase("tile_1x1", "Tile", graphdef.Attrs{"T": f32, "Tmultiples": i32}, 1,
			saFeed(randF32(224, -1, 1, 1, 1)), saConst(saI32([]int32{3, 5}, 2))),
		saCase("tile_int32_3d_int64_multiples", "Tile", graphdef.Attrs{"T": i32, "Tmultiples": i64}, 1,
			saFeed(saIota(2, 1, 3)), saConst(saI64([]int64{1, 4, 2}, 3))),
		saCase("tile_bool", "Tile", graphdef.Attrs{"T": bl, "Tmultiples": i32}, 1,
			saFeed(saBools(3)), saConst(saI32([]int32{3}, 1))),
		saCase("fill_f32", "Fill", graphdef.Attrs{"T": f32, "index_type": i32}, 1,
			saConst(saI32([]int32{3, 5}, 2)), saFeed(classify.FromFloat32([]float32{1.5}))),
		saCase("fill_int32_fed_dims", "Fill", graphdef.Attrs{"T": i32, "index_type": i32}, 1,
			saFeed(saI32([]int32{2, 1, 3}, 3)), saConst(saI32([]int32{-7}))),
		saCase("range_int32", "Range", graphdef.Attrs{"Tidx": i32}, 1,
			saConst(saI32([]int32{0})), saFeed(saI32([]int32{10})), saConst(saI32([]int32{3}))),
		saCase("range_int32_negative_delta", "Range", graphdef.Attrs{"Tidx": i32}, 1,
			saFeed(saI32([]int32{10})), saConst(saI32([]int32{1})), saConst(saI32([]int32{-3}))),
		saCase("range_f32_negative_delta", "Range", graphdef.Attrs{"Tidx": f32}, 1,
			saConst(classify.FromFloat32([]float32{1})), saConst(classify.FromFloat32([]float32{-2.25})), saFeed(classify.FromFloat32([]float32{-0.5}))),
		saCase("range_f32_fraction", "Range", graphdef.Attrs{"Tidx": f32}, 1,
			saFeed(classify.FromFloat32([]float32{0.25})), saConst(classify.FromFloat32([]float32{3})), saConst(classify.FromFloat32([]float32{0.75}))),
		saCase("range_empty", "Range", graphdef.Attrs{"Tidx": i32}, 1,
			saFeed(saI32([]int32{4})), saConst(saI32([]int32{4})), saConst(saI32([]int32{1}))),
		saCase("zeroslike_f32", "ZerosLike", graphdef.Attrs{"T": f32}, 1, saFeed(randF32(225, -1, 1, 3, 5))),
		saCase("zeroslike_bool", "ZerosLike", graphdef.Attrs{"T": bl}, 1, saFeed(saBools(2, 3))),
		saCase("oneslike_int32", "OnesLike", graphdef.Attrs{"T": i32}, 1, saFeed(saIota(1, 1))),
		saCase("oneslike_f32", "OnesLike", graphdef.Attrs{"T": f32}, 1, saFeed(randF32(226, -1, 1, 2, 3))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// saConvert returns the int32 tensor t converted to dt (bools are v%2 == 1).
func saConvert(t *classify.Tensor, dt classify.DType) *classify.Tensor {
	src := t.Int32s()
	out := classify.NewTensor(dt, t.Shape...)
	for i, v := range src {
		switch d := out.Data.(type) {
		case []float32:
			d[i] = float32(v)
		case []float64:
			d[i] = float64(v)
		case []int32:
			d[i] = v
		case []int64:
			d[i] = int64(v)
		case []uint8:
			d[i] = uint8(v)
		case []bool:
			d[i] = v%2 == 1
		}
	}
	return out
}

// saMoveCases are data-movement ops on int32 data (input 0, and every
// input of Pack and ConcatV2 but the axis), used to check that the kernels
// do the same for every dtype, never modify their inputs, and overwrite
// every element of a reused output buffer.
func saMoveCases() []struct {
	name  string
	op    string
	attrs graphdef.Attrs
	in    []saIn
	data  []int // indices of the data inputs
} {
	x := saIota(3, 4, 5)
	c := func(v ...int32) saIn { return saConst(saI32(v, len(v))) }
	return []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []saIn
		data  []int
	}{
		{"transpose", "Transpose", nil, []saIn{saFeed(x), c(2, 0, 1)}, []int{0}},
		{"concat", "ConcatV2", graphdef.Attrs{"N": 2}, []saIn{saFeed(x), saFeed(saIota(3, 2, 5)), saConst(saI32([]int32{-2}))}, []int{0, 1}},
		{"pack", "Pack", graphdef.Attrs{"N": 2, "axis": 2}, []saIn{saFeed(x), saFeed(x)}, []int{0, 1}},
		{"unpack", "Unpack", graphdef.Attrs{"num": 5, "axis": -1}, []saIn{saFeed(x)}, []int{0}},
		{"split", "Split", graphdef.Attrs{"num_split": 2}, []saIn{saConst(saI32([]int32{1})), saFeed(x)}, []int{1}},
		{"splitv", "SplitV", graphdef.Attrs{"num_split": 2}, []saIn{saFeed(x), c(2, -1), saConst(saI32([]int32{2}))}, []int{0}},
		{"slice", "Slice", nil, []saIn{saFeed(x), c(1, 1, 1), c(2, -1, 3)}, []int{0}},
		{"stridedslice", "StridedSlice", graphdef.Attrs{"shrink_axis_mask": 1, "end_mask": 2}, []saIn{saFeed(x), c(-1, 3, 4), c(0, 0, 0), c(1, -2, -2)}, []int{0}},
		{"pad", "Pad", nil, []saIn{saFeed(x), saConst(saI32([]int32{1, 0, 0, 2, 1, 1}, 3, 2))}, []int{0}},
		{"mirrorpad", "MirrorPad", graphdef.Attrs{"mode": "SYMMETRIC"}, []saIn{saFeed(x), saConst(saI32([]int32{1, 3, 4, 0, 2, 5}, 3, 2))}, []int{0}},
		{"tile", "Tile", nil, []saIn{saFeed(x), c(2, 1, 3)}, []int{0}},
		{"broadcastto", "BroadcastTo", nil, []saIn{saFeed(saIota(4, 1)), c(2, 4, 3)}, []int{0}},
		{"reverse", "ReverseV2", nil, []saIn{saFeed(x), c(0, 2)}, []int{0}},
		{"gather", "GatherV2", nil, []saIn{saFeed(x), saFeed(saI32([]int32{4, 0, 4}, 3)), saConst(saI32([]int32{-1}))}, []int{0}},
		{"fill", "Fill", nil, []saIn{c(2, 3), saFeed(saI32([]int32{3}))}, []int{1}},
		{"reshape", "Reshape", nil, []saIn{saFeed(x), c(-1, 3)}, []int{0}},
	}
}

func TestArrayOpsAllDTypes(t *testing.T) {
	for _, c := range saMoveCases() {
		t.Run(c.name, func(t *testing.T) {
			want, err := saRun(t, c.op, c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			for _, dt := range []classify.DType{classify.Float32, classify.Int64, classify.Uint8, classify.Bool, classify.Float64} {
				in := append([]saIn(nil), c.in...)
				for _, i := range c.data {
					in[i].t = saConvert(in[i].t, dt)
				}
				got, err := saRun(t, c.op, c.attrs, in...)
				if err != nil {
					t.Fatalf("%v: %v", dt, err)
				}
				for k := range want {
					if msg := compare(got[k], saConvert(want[k], dt), 0, 0); msg != "" || got[k].DType != dt {
						t.Errorf("%v output %d (%v): %s", dt, k, got[k].DType, msg)
					}
				}
			}
		})
	}
}

func TestArrayOpsKeepInputsAndOverwriteBuffers(t *testing.T) {
	for _, c := range saMoveCases() {
		t.Run(c.name, func(t *testing.T) {
			before := make([]*classify.Tensor, len(c.in))
			for i, x := range c.in {
				before[i] = x.t.Clone()
			}
			want, err := saRun(t, c.op, c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range c.in {
				if msg := compare(x.t, before[i], 0, 0); msg != "" {
					t.Errorf("input %d was modified: %s", i, msg)
				}
			}
			// Run again with every output slot holding a large buffer of
			// garbage, as the executor's reused buffers may.
			o, in, err := saBuild(c.op, c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := &Ctx{Threads: 1, Slots: make([]*classify.Tensor, len(want))}
			for i := range ctx.Slots {
				g := classify.NewTensor(classify.Int32, 1000)
				for j := range g.Int32s() {
					g.Int32s()[j] = -12345
				}
				ctx.Slots[i] = g
			}
			got, err := o.Run(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for k := range want {
				if msg := compare(got[k], want[k], 0, 0); msg != "" {
					t.Errorf("output %d with a reused buffer: %s", k, msg)
				}
			}
		})
	}
}

// TestArrayOpsParallel checks the multi-goroutine path of large copies
// against the single-goroutine one, which the goldens check.
func TestArrayOpsParallel(t *testing.T) {
	x := saIota(16, 40, 24, 8)  // 122880 elements, above arrParallelMin
	xl := saIota(32, 64, 64, 8) // 1<<20 elements
	c := func(v ...int32) saIn { return saConst(saI32(v, len(v))) }
	cases := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []saIn
	}{
		{"transpose", "Transpose", nil, []saIn{saFeed(x), c(0, 3, 1, 2)}},
		{"concat", "ConcatV2", graphdef.Attrs{"N": 2}, []saIn{saFeed(x), saFeed(x), saConst(saI32([]int32{3}))}},
		{"concat-rows", "ConcatV2", graphdef.Attrs{"N": 2}, []saIn{saFeed(xl), saFeed(xl), saConst(saI32([]int32{3}))}},
		{"pad", "Pad", nil, []saIn{saFeed(x), saConst(saI32([]int32{0, 0, 1, 1, 2, 2, 0, 0}, 4, 2))}},
		{"mirrorpad", "MirrorPad", graphdef.Attrs{"mode": "REFLECT"}, []saIn{saFeed(x), saConst(saI32([]int32{1, 2, 3, 1, 2, 2, 0, 0}, 4, 2))}},
		{"stridedslice", "StridedSlice", nil, []saIn{saFeed(x), c(0, 39, 1, 7), c(16, 0, 24, 0), c(1, -1, 2, -1)}},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			var outs [2][]*classify.Tensor
			for i, threads := range []int{1, 2} {
				o, in, err := saBuild(cs.op, cs.attrs, cs.in...)
				if err != nil {
					t.Fatal(err)
				}
				if outs[i], err = o.Run(&Ctx{Threads: threads}, in); err != nil {
					t.Fatal(err)
				}
			}
			if msg := compare(outs[1][0], outs[0][0], 0, 0); msg != "" {
				t.Errorf("2 goroutines differ from 1: %s", msg)
			}
		})
	}
}

// TestRangeFloat32Rounding checks that a float32 Range is a running sum
// in float32 with its length computed in float32, as TensorFlow's CPU
// kernel does: 0.1f added ten times is 1.0000001f, not 10*0.1f = 1, and
// (1.0f - 0)/0.1f rounds to exactly 10, so the range has 10 elements.
func TestRangeFloat32Rounding(t *testing.T) {
	f := func(v float32) saIn { return saFeed(classify.FromFloat32([]float32{v})) }
	out, err := saRun(t, "Range", nil, f(0), f(1), f(0.1))
	if err != nil {
		t.Fatal(err)
	}
	var want []float32
	for v := float32(0); len(want) < 10; v += 0.1 {
		want = append(want, v)
	}
	got := out[0].Float32s()
	if len(got) != 10 {
		t.Fatalf("got %d elements %v, want 10", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("element %d: got %v, want %v (running float32 sum)", i, got[i], want[i])
		}
	}
}

// TestRangeFloat64 checks that a float64 Range (TensorFlow registers its
// CPU kernel for float, double, int32 and int64) keeps float64 and is a
// running sum in float64: 0.1 added eight times is 0.7999999999999999,
// where start + 8*delta would be 0.8, and (1 - 0)/0.1 is exactly 10.
func TestRangeFloat64(t *testing.T) {
	f := func(v float64) saIn {
		return saFeed(&classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{v}})
	}
	out, err := saRun(t, "Range", graphdef.Attrs{"Tidx": classify.Float64}, f(0), f(1), f(0.1))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := out[0].Data.([]float64)
	if out[0].DType != classify.Float64 || !ok || len(got) != 10 {
		t.Fatalf("got %v %v, want 10 float64 values", out[0].DType, out[0].Data)
	}
	v := 0.0
	for i := range got {
		if got[i] != v {
			t.Fatalf("element %d: got %v, want %v (running float64 sum)", i, got[i], v)
		}
		v += 0.1
	}
	if got[8] != 0.7999999999999999 {
		t.Fatalf("element 8 is %v, want 0.7999999999999999", got[8])
	}
}

// TestRangeEmptyNegativeDelta: start == limit is an empty range whatever
// delta's sign (TensorFlow: (|limit-start| + |delta| - 1) / |delta| = 0);
// the length once came out as 2 for a negative integer delta.
func TestRangeEmptyNegativeDelta(t *testing.T) {
	for _, d := range []int32{-1, -3, 2} {
		out, err := saRun(t, "Range", nil, saFeed(saI32([]int32{4})), saFeed(saI32([]int32{4})), saFeed(saI32([]int32{d})))
		if err != nil {
			t.Fatal(err)
		}
		if len(out[0].Int32s()) != 0 {
			t.Errorf("Range(4, 4, %d) = %v, want empty", d, out[0].Int32s())
		}
	}
}

// TestRangeInt64 is hand-checked: the oracle turns int64 into int32, so it
// cannot show that the output keeps int64.
func TestRangeInt64(t *testing.T) {
	out, err := saRun(t, "Range", graphdef.Attrs{"Tidx": classify.Int64},
		saFeed(saI64([]int64{1 << 40})), saFeed(saI64([]int64{1<<40 - 7})), saFeed(saI64([]int64{-2})))
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{1 << 40, 1<<40 - 2, 1<<40 - 4, 1<<40 - 6}
	got := out[0].Int64s()
	if out[0].DType != classify.Int64 || len(got) != len(want) {
		t.Fatalf("got %v %v, want int64 %v", out[0].DType, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestArrayErrors(t *testing.T) {
	x := randF32(227, -1, 1, 3, 5)
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	saCheckErrors(t, []saErrCase{
		{"concat_mismatched_shapes", "ConcatV2", graphdef.Attrs{"N": 2}, []saIn{saFeed(x), saFeed(randF32(1, 0, 1, 4, 4)), saConst(saI32([]int32{0}))}, inv, "differ outside axis"},
		{"concat_mismatched_rank", "ConcatV2", graphdef.Attrs{"N": 2}, []saIn{saFeed(x), saFeed(randF32(1, 0, 1, 15)), saConst(saI32([]int32{0}))}, inv, "value 1"},
		{"concat_mismatched_dtype", "ConcatV2", graphdef.Attrs{"N": 2}, []saIn{saFeed(x), saFeed(saIota(3, 5)), saConst(saI32([]int32{0}))}, inv, "int32"},
		{"concat_axis_out_of_range", "ConcatV2", graphdef.Attrs{"N": 2}, []saIn{saFeed(x), saFeed(x), saFeed(saI32([]int32{2}))}, inv, "out of range"},
		{"concat_negative_axis_out_of_range", "Concat", graphdef.Attrs{"N": 2}, []saIn{saFeed(saI32([]int32{-3})), saFeed(x), saFeed(x)}, inv, "out of range"},
		{"concat_wrong_N", "ConcatV2", graphdef.Attrs{"N": 3}, []saIn{saFeed(x), saFeed(x), saConst(saI32([]int32{0}))}, bad, "N=3"},
		{"pack_mismatched_shapes", "Pack", graphdef.Attrs{"N": 2}, []saIn{saFeed(x), saFeed(randF32(1, 0, 1, 5, 3))}, inv, "input 1"},
		{"pack_axis_out_of_range", "Pack", graphdef.Attrs{"N": 1, "axis": 3}, []saIn{saFeed(x)}, inv, "out of range"},
		{"unpack_wrong_num", "Unpack", graphdef.Attrs{"num": 4, "axis": 1}, []saIn{saFeed(x)}, inv, "num=4"},
		{"unpack_axis_out_of_range", "Unpack", graphdef.Attrs{"num": 3, "axis": -3}, []saIn{saFeed(x)}, inv, "out of range"},
		{"split_uneven", "Split", graphdef.Attrs{"num_split": 2}, []saIn{saConst(saI32([]int32{1})), saFeed(x)}, inv, "evenly"},
		{"split_axis_out_of_range", "Split", graphdef.Attrs{"num_split": 1}, []saIn{saFeed(saI32([]int32{2})), saFeed(x)}, inv, "out of range"},
		{"splitv_sum_mismatch", "SplitV", graphdef.Attrs{"num_split": 2}, []saIn{saFeed(x), saFeed(saI32([]int32{2, 2}, 2)), saConst(saI32([]int32{1}))}, inv, "do not add up"},
		{"splitv_neg1_too_big", "SplitV", graphdef.Attrs{"num_split": 2}, []saIn{saFeed(x), saFeed(saI32([]int32{6, -1}, 2)), saConst(saI32([]int32{1}))}, inv, "do not add up"},
		{"splitv_two_neg1", "SplitV", graphdef.Attrs{"num_split": 2}, []saIn{saFeed(x), saConst(saI32([]int32{-1, -1}, 2)), saConst(saI32([]int32{1}))}, bad, "only one -1"},
		{"transpose_not_permutation", "Transpose", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 0}, 2))}, inv, "not a permutation"},
		{"transpose_wrong_length", "Transpose", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 1, 2}, 3))}, inv, "rank 2"},
		{"reverse_repeated_axis", "ReverseV2", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1, -1}, 2))}, inv, "twice"},
		{"reverse_axis_out_of_range", "ReverseV2", nil, []saIn{saFeed(x), saFeed(saI32([]int32{2}, 1))}, inv, "out of range"},
		{"broadcastto_incompatible", "BroadcastTo", nil, []saIn{saFeed(x), saFeed(saI32([]int32{3, 4}, 2))}, inv, "cannot broadcast"},
		{"broadcastto_lower_rank", "BroadcastTo", nil, []saIn{saFeed(x), saFeed(saI32([]int32{5}, 1))}, inv, "lower rank"},
		{"tile_negative", "Tile", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1, -1}, 2))}, inv, "negative"},
		{"tile_wrong_length", "Tile", nil, []saIn{saFeed(x), saFeed(saI32([]int32{2}, 1))}, inv, "multiples"},
		{"fill_negative_dims", "Fill", nil, []saIn{saFeed(saI32([]int32{2, -1}, 2)), saFeed(saI32([]int32{1}))}, inv, "negative"},
		{"fill_vector_value", "Fill", nil, []saIn{saFeed(saI32([]int32{2}, 1)), saFeed(saI32([]int32{1, 2}, 2))}, inv, "scalar"},
		{"range_zero_delta", "Range", nil, []saIn{saFeed(saI32([]int32{0})), saFeed(saI32([]int32{5})), saFeed(saI32([]int32{0}))}, inv, "delta"},
		{"range_wrong_direction", "Range", nil, []saIn{saFeed(saI32([]int32{0})), saFeed(saI32([]int32{5})), saFeed(saI32([]int32{-1}))}, inv, "negative delta"},
		{"fill_huge", "Fill", nil, []saIn{saConst(saI64([]int64{1 << 20, 1 << 20, 1 << 20}, 3)), saFeed(saI32([]int32{1}))}, bad, "elements this engine allows"},
		{"tile_huge", "Tile", nil, []saIn{saFeed(x), saFeed(saI64([]int64{1 << 40, 1 << 40}, 2))}, inv, "too large"},
		{"range_huge", "Range", nil, []saIn{saFeed(saI64([]int64{0})), saFeed(saI64([]int64{1 << 50})), saFeed(saI64([]int64{1}))}, inv, "elements this engine allows"},
		{"pad_huge", "Pad", nil, []saIn{saFeed(x), saFeed(saI64([]int64{0, 1 << 40, 0, 1 << 40}, 2, 2))}, inv, "too large"},
		{"range_const_wrong_direction", "Range", nil, []saIn{saConst(saI32([]int32{5})), saConst(saI32([]int32{0})), saConst(saI32([]int32{1}))}, bad, "positive delta"},
	})
}

func TestArrayInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	in := func(s ...int) classify.TensorInfo { return saInfo(f32, s...) }
	ax := saInfo(i32)
	saCheckShapes(t, []saShapeCase{
		{name: "pack", op: "Pack", attrs: graphdef.Attrs{"axis": -1}, in: []classify.TensorInfo{in(-1, 3), in(2, -1)}, want: []classify.TensorInfo{in(2, 3, 2)}},
		{name: "pack_scalars", op: "Pack", in: []classify.TensorInfo{saInfo(i32), saInfo(i32)}, want: []classify.TensorInfo{saInfo(i32, 2)}},
		{name: "pack_mismatch", op: "Pack", in: []classify.TensorInfo{in(2, 3), in(3, 2)}, err: true},
		{name: "unpack", op: "Unpack", attrs: graphdef.Attrs{"num": 2, "axis": 1}, in: []classify.TensorInfo{in(-1, 2, 5)},
			want: []classify.TensorInfo{in(-1, 5), in(-1, 5)}},
		{name: "concat", op: "ConcatV2", in: []classify.TensorInfo{in(-1, 7, 7, 32), in(-1, 7, 7, 64), ax},
			consts: map[int]*classify.Tensor{2: saI32([]int32{-1})}, want: []classify.TensorInfo{in(-1, 7, 7, 96)}},
		{name: "concat_unknown_part", op: "ConcatV2", in: []classify.TensorInfo{in(1, 7, -1), in(-1, 7, 4), ax},
			consts: map[int]*classify.Tensor{2: saI32([]int32{2})}, want: []classify.TensorInfo{in(1, 7, -1)}},
		{name: "concat_fed_axis", op: "ConcatV2", in: []classify.TensorInfo{in(1, 2), in(1, 3), ax}, want: []classify.TensorInfo{in(-1, -1)}},
		{name: "concat_mismatch", op: "ConcatV2", in: []classify.TensorInfo{in(1, 2), in(2, 3), ax},
			consts: map[int]*classify.Tensor{2: saI32([]int32{1})}, err: true},
		{name: "split", op: "Split", attrs: graphdef.Attrs{"num_split": 2}, in: []classify.TensorInfo{ax, in(-1, 8)},
			consts: map[int]*classify.Tensor{0: saI32([]int32{-1})}, want: []classify.TensorInfo{in(-1, 4), in(-1, 4)}},
		{name: "split_uneven", op: "Split", attrs: graphdef.Attrs{"num_split": 3}, in: []classify.TensorInfo{ax, in(-1, 8)},
			consts: map[int]*classify.Tensor{0: saI32([]int32{1})}, err: true},
		{name: "splitv", op: "SplitV", attrs: graphdef.Attrs{"num_split": 2}, in: []classify.TensorInfo{in(6, 2), saInfo(i32, 2), ax},
			consts: map[int]*classify.Tensor{1: saI32([]int32{-1, 4}, 2), 2: saI32([]int32{0})}, want: []classify.TensorInfo{in(2, 2), in(4, 2)}},
		{name: "transpose", op: "Transpose", in: []classify.TensorInfo{in(-1, 3, 5, 2), saInfo(i32, 4)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{0, 3, 1, 2}, 4)}, want: []classify.TensorInfo{in(-1, 2, 3, 5)}},
		{name: "tile", op: "Tile", in: []classify.TensorInfo{in(-1, 3), saInfo(i32, 2)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{2, 2}, 2)}, want: []classify.TensorInfo{in(-1, 6)}},
		{name: "fill", op: "Fill", in: []classify.TensorInfo{saInfo(i32, 2), saInfo(classify.Bool)},
			consts: map[int]*classify.Tensor{0: saI32([]int32{2, 3}, 2)}, want: []classify.TensorInfo{saInfo(classify.Bool, 2, 3)}},
		{name: "fill_fed_dims", op: "Fill", in: []classify.TensorInfo{saInfo(i32, 3), saInfo(f32)}, want: []classify.TensorInfo{in(-1, -1, -1)}},
		{name: "range", op: "Range", attrs: graphdef.Attrs{"Tidx": i32}, in: []classify.TensorInfo{ax, ax, ax},
			consts: map[int]*classify.Tensor{0: saI32([]int32{0}), 1: saI32([]int32{10}), 2: saI32([]int32{3})}, want: []classify.TensorInfo{saInfo(i32, 4)}},
		{name: "range_fed", op: "Range", attrs: graphdef.Attrs{"Tidx": f32}, in: []classify.TensorInfo{in(), in(), in()}, want: []classify.TensorInfo{in(-1)}},
		{name: "broadcastto", op: "BroadcastTo", in: []classify.TensorInfo{in(-1, 1), saInfo(i32, 3)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{2, 4, 6}, 3)}, want: []classify.TensorInfo{in(2, 4, 6)}},
		{name: "broadcastto_bad", op: "BroadcastTo", in: []classify.TensorInfo{in(3, 2), saInfo(i32, 2)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{3, 3}, 2)}, err: true},
		{name: "zeroslike", op: "ZerosLike", in: []classify.TensorInfo{in(-1, 4)}, want: []classify.TensorInfo{in(-1, 4)}},
	})
}

// BenchmarkArrayOps measures the data-movement kernels at sizes found in
// CNN graphs. Bytes are the output's (float32); the size-1 swap is a view
// (no copy), so its rate only shows the fixed cost.
func BenchmarkArrayOps(b *testing.B) {
	c := func(v ...int32) saIn { return saConst(saI32(v, len(v))) }
	pads := func(v ...int32) saIn { return saConst(saI32(v, len(v)/2, 2)) }
	x := randF32(1, -1, 1, 1, 56, 56, 64)
	benches := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []saIn
	}{
		{"transpose_nhwc_nchw_56x56x64", "Transpose", nil, []saIn{saFeed(x), c(0, 3, 1, 2)}},
		{"transpose_size1_swap_is_view", "Transpose", nil, []saIn{saFeed(x), c(1, 0, 2, 3)}},
		{"concat_inception_35x35", "ConcatV2", graphdef.Attrs{"N": 4}, []saIn{
			saFeed(randF32(2, -1, 1, 1, 35, 35, 64)), saFeed(randF32(3, -1, 1, 1, 35, 35, 64)),
			saFeed(randF32(4, -1, 1, 1, 35, 35, 96)), saFeed(randF32(5, -1, 1, 1, 35, 35, 32)), saConst(saI32([]int32{3}))}},
		{"pad_56x56x64", "Pad", nil, []saIn{saFeed(x), pads(0, 0, 1, 1, 1, 1, 0, 0)}},
		{"mirrorpad_reflect_56x56x64", "MirrorPad", graphdef.Attrs{"mode": "REFLECT"}, []saIn{saFeed(x), pads(0, 0, 3, 3, 3, 3, 0, 0)}},
		{"stridedslice_stride2_56x56x64", "StridedSlice", nil, []saIn{saFeed(x), c(0, 0, 0, 0), c(1, 56, 56, 64), c(1, 2, 2, 1)}},
		{"tile_1x1x64_to_56x56", "Tile", nil, []saIn{saFeed(randF32(6, -1, 1, 1, 1, 1, 64)), c(1, 56, 56, 1)}},
		{"gather_rows_1000x64", "GatherV2", nil, []saIn{saFeed(randF32(7, -1, 1, 1000, 64)), saFeed(saIota(256)), saConst(saI32([]int32{0}))}},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			o, in, err := saBuild(bc.op, bc.attrs, bc.in...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := &Ctx{Threads: 1, Slots: make([]*classify.Tensor, 4)}
			out, err := o.Run(ctx, in)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(4 * out[0].Len()))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := o.Run(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTransposeTiled checks the tiled transpose path (planes of at least
// arrBlock on both sides, which the small goldens never reach) against a
// transpose computed index by index.
func TestTransposeTiled(t *testing.T) {
	cases := []struct {
		shape []int
		perm  []int32
	}{
		{[]int{37, 21}, []int32{1, 0}},
		{[]int{16, 16}, []int32{1, 0}},
		{[]int{1, 17, 19, 33}, []int32{0, 3, 1, 2}},
		{[]int{2, 33, 17, 18}, []int32{0, 2, 3, 1}},
		{[]int{20, 3, 18}, []int32{2, 1, 0}},
		{[]int{5, 40, 7, 31}, []int32{3, 1, 2, 0}},
	}
	for _, c := range cases {
		t.Run(classify.Shape(c.shape).String(), func(t *testing.T) {
			x := saIota(c.shape...)
			for _, threads := range []int{1, 2} {
				o, in, err := saBuild("Transpose", nil, saFeed(x), saConst(saI32(c.perm, len(c.perm))))
				if err != nil {
					t.Fatal(err)
				}
				out, err := o.Run(&Ctx{Threads: threads}, in)
				if err != nil {
					t.Fatal(err)
				}
				got := out[0]
				xs := arrStrides(c.shape)
				idx := make([]int, len(c.shape))
				for i, v := range got.Int32s() {
					// Source offset of output element i.
					rem, src := i, 0
					for d := len(idx) - 1; d >= 0; d-- {
						idx[d] = rem % got.Shape[d]
						rem /= got.Shape[d]
						src += idx[d] * xs[c.perm[d]]
					}
					if int(v) != src {
						t.Fatalf("threads %d: output %d (index %v) = %d, want %d", threads, i, idx, v, src)
					}
				}
			}
		})
	}
}

// saOps are the op types of the shape and array families.
var saOps = []string{
	"Reshape", "Squeeze", "ExpandDims", "Shape", "ShapeN", "Size", "Rank",
	"Pack", "Unpack", "ConcatV2", "Concat", "Split", "SplitV",
	"Slice", "StridedSlice", "Pad", "PadV2", "MirrorPad",
	"Transpose", "ReverseV2", "Tile", "BroadcastTo", "GatherV2", "Gather",
	"Fill", "Range", "ZerosLike", "OnesLike", "SpaceToBatchND", "BatchToSpaceND",
}

// TestArrayOpsImplementShaper makes sure the engine can infer static
// shapes through every op of these families.
func TestArrayOpsImplementShaper(t *testing.T) {
	attrs := graphdef.Attrs{"num": 1, "num_split": 1, "mode": "REFLECT", "N": 1}
	nin := map[string]int{"Reshape": 2, "ExpandDims": 2, "Concat": 2, "ConcatV2": 2, "Split": 2, "SplitV": 3,
		"Slice": 3, "StridedSlice": 4, "Pad": 2, "PadV2": 3, "MirrorPad": 2, "Transpose": 2, "ReverseV2": 2,
		"Tile": 2, "BroadcastTo": 2, "SpaceToBatchND": 3, "BatchToSpaceND": 3, "GatherV2": 3, "Gather": 2, "Fill": 2, "Range": 3}
	for _, op := range saOps {
		t.Run(op, func(t *testing.T) {
			n := max(nin[op], 1)
			build, ok := Lookup(op)
			if !ok {
				t.Fatalf("%s is not registered", op)
			}
			o, err := build(saNode(op, n, attrs), make([]*classify.Tensor, n))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := o.(Shaper); !ok {
				t.Errorf("%s does not implement Shaper", op)
			}
		})
	}
}

// TestArrayOpsConcurrentRuns runs each compiled op from several goroutines
// at once (under -race this proves the ops keep no per-run state).
func TestArrayOpsConcurrentRuns(t *testing.T) {
	for _, c := range saMoveCases() {
		t.Run(c.name, func(t *testing.T) {
			o, in, err := saBuild(c.op, c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			want, err := o.Run(&Ctx{Threads: 1}, in)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan string, 4)
			for range 4 {
				go func() {
					ctx := &Ctx{Threads: 2, Slots: make([]*classify.Tensor, len(want))}
					msg := ""
					for range 3 {
						got, err := o.Run(ctx, in)
						if err != nil {
							msg = err.Error()
							break
						}
						for k := range want {
							if m := compare(got[k], want[k], 0, 0); m != "" {
								msg = m
							}
						}
					}
					errs <- msg
				}()
			}
			for range 4 {
				if msg := <-errs; msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

// FuzzArrayOps feeds the shape and array ops random small tensors and
// random integer arguments: each must either refuse them with an error
// wrapping a classify sentinel or return well-formed tensors, never panic.
func FuzzArrayOps(f *testing.F) {
	f.Add(uint8(0), []byte{2, 3, 5, 2, 1, 0xff})
	f.Add(uint8(9), []byte{3, 2, 0, 4, 4, 1, 2, 3, 0})
	f.Add(uint8(13), []byte{1, 3, 2, 1, 2, 1})
	ops := []string{"Reshape", "Squeeze", "ExpandDims", "Pack", "Unpack", "ConcatV2", "Split", "SplitV",
		"Slice", "Pad", "MirrorPad", "Transpose", "ReverseV2", "Tile", "GatherV2", "Fill", "Range", "PadV2"}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			v := int(int8(data[0]))
			data = data[1:]
			return v
		}
		op := ops[int(which)%len(ops)]
		shape := make([]int, saAbs(next())%4)
		for i := range shape {
			shape[i] = saAbs(next()) % 4
		}
		x := saIota(shape...)
		args := make([]int32, saAbs(next())%5)
		for i := range args {
			args[i] = int32(next() % 6)
		}
		argShape := []int{len(args)}
		if op == "Pad" || op == "MirrorPad" || op == "PadV2" {
			argShape = []int{len(args) / 2, 2}
			args = args[:len(args)/2*2]
		}
		arg := saI32(args, argShape...)
		scalar := saI32([]int32{int32(next() % 4)})
		attrs := graphdef.Attrs{"num": saAbs(next()) % 4, "num_split": 1 + saAbs(next())%3, "axis": next() % 4,
			"squeeze_dims": []int{next() % 4}, "mode": "REFLECT", "batch_dims": next() % 3}
		var in []saIn
		switch op {
		case "Squeeze", "Unpack":
			in = []saIn{saFeed(x)}
		case "Pack":
			in = []saIn{saFeed(x), saFeed(x)}
			attrs["N"] = 2
		case "ConcatV2":
			in = []saIn{saFeed(x), saFeed(saIota(saClampDims(args)...)), saFeed(scalar)}
			attrs["N"] = 2
		case "Split":
			in = []saIn{saFeed(scalar), saFeed(x)}
		case "SplitV":
			in = []saIn{saFeed(x), saFeed(arg), saFeed(scalar)}
			attrs["num_split"] = len(args)
		case "Slice":
			in = []saIn{saFeed(x), saFeed(arg), saFeed(saI32(append([]int32{}, args...), len(args)))}
		case "GatherV2":
			in = []saIn{saFeed(x), saFeed(arg), saFeed(scalar)}
		case "Fill":
			in = []saIn{saFeed(arg), saFeed(scalar)}
		case "Range":
			in = []saIn{saFeed(scalar), saFeed(saI32([]int32{int32(next())})), saFeed(saI32([]int32{int32(next() % 3)}))}
		case "PadV2":
			in = []saIn{saFeed(x), saFeed(arg), saFeed(scalar)}
		default:
			in = []saIn{saFeed(x), saFeed(arg)}
		}
		o, ins, err := saBuild(op, attrs, in...)
		var out []*classify.Tensor
		if err == nil {
			out, err = o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 4)}, ins)
		}
		if err != nil {
			if !errors.Is(err, classify.ErrInvalidInput) && !errors.Is(err, classify.ErrInvalidGraph) && !errors.Is(err, classify.ErrUnsupportedOp) {
				t.Fatalf("%s: error %q wraps no classify sentinel", op, err)
			}
			return
		}
		for i, o := range out {
			if err := o.Validate(); err != nil {
				t.Fatalf("%s on %v, %v: output %d: %v", op, shape, args, i, err)
			}
		}
	})
}

// saClampDims turns fuzzed values into small non-negative dimensions.
func saClampDims(v []int32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = saAbs(int(x)) % 4
	}
	return out
}
