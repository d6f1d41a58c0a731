package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// ssCase is a golden StridedSlice of a fed x with constant begin, end and
// strides (int32) and the given masks.
func ssCase(name string, x *classify.Tensor, begin, end, strides []int32, masks graphdef.Attrs) goldenCase {
	attrs := graphdef.Attrs{"T": x.DType, "Index": classify.Int32}
	for k, v := range masks {
		attrs[k] = v
	}
	n := len(begin)
	return saCase(name, "StridedSlice", attrs, 1,
		saFeed(x), saConst(saI32(begin, n)), saConst(saI32(end, n)), saConst(saI32(strides, n)))
}

func TestSliceGolden(t *testing.T) {
	f32, i32, i64 := classify.Float32, classify.Int32, classify.Int64
	x35 := func(seed uint64) *classify.Tensor { return randF32(seed, -1, 1, 3, 5) }
	cases := []goldenCase{
		saCase("slice_3x5", "Slice", graphdef.Attrs{"T": f32, "Index": i32}, 1,
			saFeed(x35(301)), saConst(saI32([]int32{1, 2}, 2)), saConst(saI32([]int32{2, -1}, 2))),
		saCase("slice_3d_int64_fed", "Slice", graphdef.Attrs{"T": i32, "Index": i64}, 1,
			saFeed(saIota(2, 3, 4)), saFeed(saI64([]int64{1, 0, 1}, 3)), saFeed(saI64([]int64{1, 2, -1}, 3))),
		saCase("slice_empty", "Slice", graphdef.Attrs{"T": f32, "Index": i32}, 1,
			saFeed(x35(302)), saConst(saI32([]int32{3, 0}, 2)), saConst(saI32([]int32{0, -1}, 2))),
		saCase("slice_bool_1x1", "Slice", graphdef.Attrs{"T": classify.Bool, "Index": i32}, 1,
			saFeed(saBools(3, 5)), saConst(saI32([]int32{2, 4}, 2)), saConst(saI32([]int32{1, 1}, 2))),

		ssCase("stridedslice_basic", x35(303), []int32{0, 1}, []int32{3, 5}, []int32{1, 2}, nil),
		ssCase("stridedslice_negative_strides", x35(304), []int32{-1, 4}, []int32{-4, 0}, []int32{-1, -2}, nil),
		ssCase("stridedslice_reverse_masked", x35(305), []int32{0, 0}, []int32{0, 0}, []int32{-1, -3},
			graphdef.Attrs{"begin_mask": 3, "end_mask": 3}),
		ssCase("stridedslice_begin_mask", x35(306), []int32{2, 3}, []int32{3, 5}, []int32{1, 1},
			graphdef.Attrs{"begin_mask": 2}),
		ssCase("stridedslice_end_mask", x35(307), []int32{1, 1}, []int32{2, 2}, []int32{1, 1},
			graphdef.Attrs{"end_mask": 1}),
		ssCase("stridedslice_clamped", x35(308), []int32{-100, 2}, []int32{100, 100}, []int32{2, 1}, nil),
		ssCase("stridedslice_shrink", x35(310), []int32{1, 0}, []int32{2, 0}, []int32{1, 1},
			graphdef.Attrs{"shrink_axis_mask": 1, "end_mask": 2}),
		ssCase("stridedslice_shrink_negative", x35(311), []int32{0, -1}, []int32{0, 0}, []int32{1, 1},
			graphdef.Attrs{"shrink_axis_mask": 2, "begin_mask": 1, "end_mask": 1}),
		ssCase("stridedslice_shrink_all_scalar", x35(312), []int32{2, 3}, []int32{3, 4}, []int32{1, 1},
			graphdef.Attrs{"shrink_axis_mask": 3}),
		ssCase("stridedslice_ellipsis", randF32(313, -1, 1, 2, 3, 4, 5), []int32{0, 1}, []int32{0, 4}, []int32{1, 2},
			graphdef.Attrs{"ellipsis_mask": 1}),
		ssCase("stridedslice_ellipsis_middle", randF32(314, -1, 1, 2, 3, 4, 5), []int32{1, 0, 3}, []int32{2, 0, 0}, []int32{1, 1, -1},
			graphdef.Attrs{"ellipsis_mask": 2, "end_mask": 4}),
		ssCase("stridedslice_new_axis", x35(315), []int32{0, 1, 0, 0}, []int32{0, 3, 0, 5}, []int32{1, 1, 1, 2},
			graphdef.Attrs{"new_axis_mask": 5}),
		ssCase("stridedslice_ellipsis_new_axis_shrink", randF32(316, -1, 1, 2, 3, 4), []int32{0, 0, 1}, []int32{0, 0, 2}, []int32{1, 1, 1},
			graphdef.Attrs{"ellipsis_mask": 1, "new_axis_mask": 2, "shrink_axis_mask": 4}),
		ssCase("stridedslice_new_axis_after_ellipsis", randF32(317, -1, 1, 2, 3), []int32{0, 0, 1}, []int32{0, 0, 3}, []int32{1, 1, 1},
			graphdef.Attrs{"ellipsis_mask": 2, "new_axis_mask": 1}),
		ssCase("stridedslice_short_spec", randF32(318, -1, 1, 4, 3, 2), []int32{1}, []int32{-1}, []int32{1}, nil),
		ssCase("stridedslice_int32_data", saIota(4, 6), []int32{3, 5}, []int32{0, 0}, []int32{-2, -3},
			graphdef.Attrs{"end_mask": 2}),
		ssCase("stridedslice_bool_data", saBools(3, 5), []int32{0, 1}, []int32{3, 4}, []int32{2, 1}, nil),
		saCase("stridedslice_int64_fed_args", "StridedSlice", graphdef.Attrs{"T": f32, "Index": i64, "begin_mask": 1}, 1,
			saFeed(randF32(319, -1, 1, 4, 5)), saFeed(saI64([]int64{0, 4}, 2)), saFeed(saI64([]int64{3, 0}, 2)), saFeed(saI64([]int64{2, -2}, 2))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestStridedSliceEmpty is checked by hand: TensorFlow gives an empty
// dimension when begin lies past end in the stride's direction, but the
// oracle (TensorFlow.js 4.22) fails on such slices ("Size(5) must match the
// product of shape 0,5").
func TestStridedSliceEmpty(t *testing.T) {
	x := randF32(309, -1, 1, 3, 5)
	cases := []struct {
		name                string
		begin, end, strides []int32
		attrs               graphdef.Attrs
		want                classify.Shape
	}{
		{"begin_past_end", []int32{2, 0}, []int32{1, 5}, []int32{1, 1}, nil, classify.Shape{0, 5}},
		{"reverse_begin_before_end", []int32{0, 1}, []int32{3, 3}, []int32{1, -1}, nil, classify.Shape{3, 0}},
		{"equal_begin_end", []int32{1, 2}, []int32{1, 2}, []int32{1, 1}, graphdef.Attrs{"end_mask": 2}, classify.Shape{0, 3}},
		{"reverse_clamped_before_start", []int32{-100}, []int32{-100}, []int32{-1}, nil, classify.Shape{0, 5}},
		{"reverse_begin_masked_end_first", []int32{0, 0}, []int32{3, 4}, []int32{1, -1}, graphdef.Attrs{"begin_mask": 2}, classify.Shape{3, 0}},
		{"empty_then_shrink", []int32{0, 4}, []int32{0, 5}, []int32{1, 1}, graphdef.Attrs{"shrink_axis_mask": 2}, classify.Shape{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(c.begin)
			out, err := saRun(t, "StridedSlice", c.attrs, saFeed(x), saConst(saI32(c.begin, n)), saConst(saI32(c.end, n)), saConst(saI32(c.strides, n)))
			if err != nil {
				t.Fatal(err)
			}
			if !out[0].Shape.Equal(c.want) || out[0].Len() != 0 {
				t.Errorf("got shape %v with %d elements, want %v and none", out[0].Shape, out[0].Len(), c.want)
			}
		})
	}
}

func TestSliceErrors(t *testing.T) {
	x := randF32(320, -1, 1, 3, 5)
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	ss := func(begin, end, strides []int32) []saIn {
		n := len(begin)
		return []saIn{saFeed(x), saFeed(saI32(begin, n)), saFeed(saI32(end, n)), saFeed(saI32(strides, n))}
	}
	saCheckErrors(t, []saErrCase{
		{"slice_past_end", "Slice", nil, []saIn{saFeed(x), saFeed(saI32([]int32{2, 0}, 2)), saFeed(saI32([]int32{2, 1}, 2))}, inv, "out of bounds"},
		{"slice_negative_begin", "Slice", nil, []saIn{saFeed(x), saFeed(saI32([]int32{-1, 0}, 2)), saFeed(saI32([]int32{1, 1}, 2))}, inv, "out of bounds"},
		{"slice_negative_size", "Slice", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 0}, 2)), saFeed(saI32([]int32{-2, 1}, 2))}, inv, "negative"},
		{"slice_wrong_rank", "Slice", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0}, 1)), saFeed(saI32([]int32{1}, 1))}, inv, "one entry per dimension"},
		{"slice_const_mismatch", "Slice", nil, []saIn{saFeed(x), saConst(saI32([]int32{0}, 1)), saConst(saI32([]int32{1, 1}, 2))}, bad, "differ in length"},
		{"stridedslice_zero_stride", "StridedSlice", nil, ss([]int32{0, 0}, []int32{1, 1}, []int32{1, 0}), inv, "non-zero"},
		{"stridedslice_shrink_out_of_bounds", "StridedSlice", graphdef.Attrs{"shrink_axis_mask": 1}, ss([]int32{3}, []int32{4}, []int32{1}), inv, "out of bounds"},
		{"stridedslice_shrink_negative_out_of_bounds", "StridedSlice", graphdef.Attrs{"shrink_axis_mask": 2}, ss([]int32{0, -6}, []int32{1, -5}, []int32{1, 1}), inv, "out of bounds"},
		{"stridedslice_shrink_negative_stride", "StridedSlice", graphdef.Attrs{"shrink_axis_mask": 1}, ss([]int32{1}, []int32{0}, []int32{-1}), inv, "positive stride"},
		{"stridedslice_too_many_dims", "StridedSlice", nil, ss([]int32{0, 0, 0}, []int32{1, 1, 1}, []int32{1, 1, 1}), inv, "more dimensions"},
		{"stridedslice_length_mismatch", "StridedSlice", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 0}, 2)), saFeed(saI32([]int32{1}, 1)), saFeed(saI32([]int32{1, 1}, 2))}, inv, "differ in length"},
		{"stridedslice_two_ellipses", "StridedSlice", graphdef.Attrs{"ellipsis_mask": 3}, ss([]int32{0, 0}, []int32{1, 1}, []int32{1, 1}), bad, "more than one bit"},
	})
}

func TestSliceInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	in := func(s ...int) classify.TensorInfo { return saInfo(f32, s...) }
	v := func(vals ...int32) *classify.Tensor { return saI32(vals, len(vals)) }
	idx := saInfo(i32, 2)
	ssConsts := func(b, e, s *classify.Tensor) map[int]*classify.Tensor {
		return map[int]*classify.Tensor{1: b, 2: e, 3: s}
	}
	saCheckShapes(t, []saShapeCase{
		{name: "slice", op: "Slice", in: []classify.TensorInfo{in(-1, 5), idx, idx},
			consts: map[int]*classify.Tensor{1: v(0, 1), 2: v(-1, 3)}, want: []classify.TensorInfo{in(-1, 3)}},
		{name: "slice_fed_begin", op: "Slice", in: []classify.TensorInfo{in(4, 5), idx, idx},
			consts: map[int]*classify.Tensor{2: v(2, 3)}, want: []classify.TensorInfo{in(2, 3)}},
		{name: "slice_out_of_bounds", op: "Slice", in: []classify.TensorInfo{in(4, 5), idx, idx},
			consts: map[int]*classify.Tensor{1: v(3, 0), 2: v(2, 1)}, err: true},
		{name: "stridedslice_shrink_batch", op: "StridedSlice", attrs: graphdef.Attrs{"shrink_axis_mask": 1},
			in:     []classify.TensorInfo{saInfo(i32, 4), saInfo(i32, 1), saInfo(i32, 1), saInfo(i32, 1)},
			consts: ssConsts(v(0), v(1), v(1)), want: []classify.TensorInfo{saInfo(i32)}},
		{name: "stridedslice_unknown_dim", op: "StridedSlice", attrs: graphdef.Attrs{"new_axis_mask": 1, "end_mask": 4},
			in:     []classify.TensorInfo{in(-1, 10), saInfo(i32, 3), saInfo(i32, 3), saInfo(i32, 3)},
			consts: ssConsts(v(0, 0, 2), v(0, 0, 0), v(1, 1, 3)), want: []classify.TensorInfo{in(1, -1, 3)}},
		{name: "stridedslice_fed_args", op: "StridedSlice", in: []classify.TensorInfo{in(3, 5), idx, idx, idx},
			want: []classify.TensorInfo{{DType: f32}}},
		{name: "stridedslice_bad_index", op: "StridedSlice", attrs: graphdef.Attrs{"shrink_axis_mask": 1},
			in:     []classify.TensorInfo{in(3), saInfo(i32, 1), saInfo(i32, 1), saInfo(i32, 1)},
			consts: ssConsts(v(5), v(6), v(1)), err: true},
	})
}

// ssReference slices an iota tensor the way Python (and NumPy) index: for
// every spec entry it enumerates the chosen indices (slice.indices rules:
// negative indices count from the end, bounds clamp, a masked begin or end
// runs to the edge in the stride's direction; a shrinking entry is one
// in-range index), and dimensions after the spec are taken whole. It only
// handles specs without ellipsis or new axes. ok is false where TensorFlow
// must refuse the spec.
func ssReference(shape, begin, end, strides []int, bm, em, sm int) (out []int, vals []int32, ok bool) {
	if len(begin) > len(shape) {
		return nil, nil, false
	}
	var lists [][]int
	for i, dim := range shape {
		if i >= len(begin) {
			var all []int
			for k := range dim {
				all = append(all, k)
			}
			lists = append(lists, all)
			out = append(out, dim)
			continue
		}
		b, e, st := begin[i], end[i], strides[i]
		if st == 0 {
			return nil, nil, false
		}
		if sm&(1<<i) != 0 {
			if st < 0 {
				return nil, nil, false
			}
			if b < 0 {
				b += dim
			}
			if b < 0 || b >= dim {
				return nil, nil, false
			}
			lists = append(lists, []int{b})
			continue
		}
		norm := func(x, lo, hi int) int {
			if x < 0 {
				x += dim
			}
			return max(lo, min(x, hi))
		}
		var start, stop int
		if st > 0 {
			start, stop = norm(b, 0, dim), norm(e, 0, dim)
			if bm&(1<<i) != 0 {
				start = 0
			}
			if em&(1<<i) != 0 {
				stop = dim
			}
		} else {
			start, stop = norm(b, -1, dim-1), norm(e, -1, dim-1)
			if bm&(1<<i) != 0 {
				start = dim - 1
			}
			if em&(1<<i) != 0 {
				stop = -1
			}
		}
		var l []int
		for k := start; (st > 0 && k < stop) || (st < 0 && k > stop); k += st {
			l = append(l, k)
		}
		lists = append(lists, l)
		out = append(out, len(l))
	}
	str := arrStrides(shape)
	var walk func(d, off int)
	walk = func(d, off int) {
		if d == len(lists) {
			vals = append(vals, int32(off))
			return
		}
		for _, k := range lists[d] {
			walk(d+1, off+k*str[d])
		}
	}
	walk(0, 0)
	if out == nil {
		out = []int{}
	}
	return out, vals, true
}

// FuzzStridedSlice compares StridedSlice on random small shapes and specs
// (every begin/end/shrink mask combination, negative and out-of-range
// indices, negative strides) with ssReference, and checks that refused
// specs give an error naming the node rather than a panic.
func FuzzStridedSlice(f *testing.F) {
	f.Add([]byte{2, 3, 5, 2, 0, 3, 0, 5, 1, 2, 0, 0, 0})
	f.Add([]byte{2, 3, 5, 2, 0xff, 0xfc, 0, 0, 0xff, 0xfe, 3, 3, 0})
	f.Add([]byte{3, 2, 3, 4, 1, 1, 2, 1, 1, 0, 0, 1})
	f.Add([]byte{1, 0, 1, 0x9c, 0x9c, 0xff, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			v := int(int8(data[0]))
			data = data[1:]
			return v
		}
		rank := 1 + saAbs(next())%3
		shape := make([]int, rank)
		for i := range shape {
			shape[i] = saAbs(next()) % 5
		}
		n := saAbs(next()) % (rank + 2)
		begin, end, strides := make([]int32, n), make([]int32, n), make([]int32, n)
		for i := range n {
			begin[i], end[i], strides[i] = int32(next()%8), int32(next()%8), int32(next()%4)
		}
		bm, em, sm := saAbs(next())%16, saAbs(next())%16, saAbs(next())%16
		x := saIota(shape...)
		out, err := saRun(t, "StridedSlice", graphdef.Attrs{"begin_mask": bm, "end_mask": em, "shrink_axis_mask": sm},
			saFeed(x), saFeed(saI32(begin, n)), saFeed(saI32(end, n)), saFeed(saI32(strides, n)))
		wantShape, want, ok := ssReference(shape, saInts(begin), saInts(end), saInts(strides), bm, em, sm)
		if !ok {
			if err == nil {
				t.Fatalf("shape %v begin %v end %v strides %v masks %d/%d/%d: no error, got %v", shape, begin, end, strides, bm, em, sm, out[0].Shape)
			}
			if !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), "node_under_test") {
				t.Fatalf("error %q should wrap ErrInvalidInput and name the node", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("shape %v begin %v end %v strides %v masks %d/%d/%d: %v", shape, begin, end, strides, bm, em, sm, err)
		}
		got := out[0]
		if !got.Shape.Equal(wantShape) || got.Len() != len(want) {
			t.Fatalf("shape %v begin %v end %v strides %v masks %d/%d/%d: got shape %v (%d elements), want %v (%d)",
				shape, begin, end, strides, bm, em, sm, got.Shape, got.Len(), wantShape, len(want))
		}
		for i, v := range got.Int32s() {
			if v != want[i] {
				t.Fatalf("shape %v begin %v end %v strides %v masks %d/%d/%d: got %v, want %v",
					shape, begin, end, strides, bm, em, sm, got.Int32s(), want)
			}
		}
	})
}

func saAbs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func saInts(v []int32) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}
