package ops

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// ListDiff and UniqueV2 against the TensorFlow.js oracle.
func TestSetOpsGolden(t *testing.T) {
	i32, f32 := classify.Int32, classify.Float32
	for _, c := range []goldenCase{
		saCase("listdiff_int32", "ListDiff", graphdef.Attrs{"T": i32, "out_idx": i32}, 2,
			saFeed(saI32([]int32{1, 2, 3, 4, 5, 6, 2, 9}, 8)), saFeed(saI32([]int32{1, 3, 5, 7}, 4))),
		saCase("listdiff_float", "ListDiff", graphdef.Attrs{"T": f32, "out_idx": i32}, 2,
			saFeed(tiedF32(1701, 12)), saFeed(tiedF32(1702, 5))),
		saCase("uniquev2_axis0", "UniqueV2", graphdef.Attrs{"T": i32, "out_idx": i32, "Taxis": i32}, 2,
			saFeed(saI32([]int32{1, 2, 3, 1, 2, 3, 4, 5, 6, 1, 2, 3}, 4, 3)), saConst(saI32([]int32{0}, 1))),
		saCase("uniquev2_axis1", "UniqueV2", graphdef.Attrs{"T": i32, "out_idx": i32, "Taxis": i32}, 2,
			saFeed(saI32([]int32{1, 2, 1, 3, 4, 5, 4, 6}, 2, 4)), saConst(saI32([]int32{1}, 1))),
	} {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func i64s(v ...int64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{len(v)}, Data: v}
}

// Values worked by hand from TensorFlow's op documentation.
func TestSetOpsReference(t *testing.T) {
	i32 := graphdef.Attrs{"T": classify.Int32, "out_idx": classify.Int32}
	// tf.unique_with_counts([1, 1, 2, 4, 4, 4, 7, 8, 8]) (its docstring).
	out := mustRunAttr(t, "UniqueWithCounts", i32, saI32([]int32{1, 1, 2, 4, 4, 4, 7, 8, 8}, 9))
	wantInts(t, "y", out[0], 1, 2, 4, 7, 8)
	wantInts(t, "idx", out[1], 0, 0, 1, 2, 2, 2, 3, 4, 4)
	wantInts(t, "count", out[2], 2, 1, 3, 1, 2)
	// UniqueWithCountsV2 along axis 0 of [[1,0,0],[1,0,0],[2,0,0]] (its docstring).
	out = mustRunAttr(t, "UniqueWithCountsV2", graphdef.Attrs{"T": classify.Int32, "out_idx": classify.Int64, "Taxis": classify.Int32},
		saI32([]int32{1, 0, 0, 1, 0, 0, 2, 0, 0}, 3, 3), saI32([]int32{0}, 1))
	wantInts(t, "y", out[0], 1, 0, 0, 2, 0, 0)
	wantInts(t, "idx", out[1], 0, 0, 1)
	wantInts(t, "count", out[2], 2, 1)
	// Empty axis: the 1-D case; NaN is never equal to itself; 0 == -0.
	nan := float32(math.NaN())
	f := classify.FromFloat32([]float32{nan, 0, float32(math.Copysign(0, -1)), nan, 1}, 5)
	out = mustRunAttr(t, "UniqueV2", graphdef.Attrs{"T": classify.Float32, "out_idx": classify.Int32, "Taxis": classify.Int64}, f, i64s())
	wantInts(t, "idx", out[1], 0, 1, 1, 2, 3)
	if !out[0].Shape.Equal(classify.Shape{4}) {
		t.Errorf("unique of NaN, 0, -0, NaN, 1: shape %v", out[0].Shape)
	}
	s := &classify.Tensor{DType: classify.String, Shape: classify.Shape{4}, Data: [][]byte{[]byte("a"), []byte("b"), []byte("a"), nil}}
	out = mustRunAttr(t, "ListDiff", graphdef.Attrs{"T": classify.String, "out_idx": classify.Int64}, s,
		&classify.Tensor{DType: classify.String, Shape: classify.Shape{1}, Data: [][]byte{[]byte("a")}})
	wantInts(t, "listdiff idx", out[1], 1, 3)
	if got := strsOf(out[0]); !slices.Equal(got, []string{"b", ""}) {
		t.Errorf("listdiff out = %q", got)
	}

	// NthElement: the n-th smallest per row, or n-th largest (reverse).
	x := saI32([]int32{5, 1, 4, 2, 9, 9, 0, 3}, 2, 4)
	wantInts(t, "nth", mustRunAttr(t, "NthElement", graphdef.Attrs{"T": classify.Int32}, x, saI32([]int32{1}))[0], 2, 3)
	wantInts(t, "nth reverse", mustRunAttr(t, "NthElement", graphdef.Attrs{"T": classify.Int32, "reverse": true}, x, saI32([]int32{0}))[0], 5, 9)

	// tf.histogram_fixed_width([-1.0, 0.0, 1.5, 2.0, 5.0, 15], [0.0, 5.0], nbins=5) = [2, 1, 1, 0, 2].
	h := mustRunAttr(t, "HistogramFixedWidth", graphdef.Attrs{"T": classify.Float32, "dtype": classify.Int32},
		classify.FromFloat32([]float32{-1, 0, 1.5, 2, 5, 15}, 6), classify.FromFloat32([]float32{0, 5}, 2), saI32([]int32{5}))[0]
	wantInts(t, "histogram", h, 2, 1, 1, 0, 2)

	// tf.math.invert_permutation([3, 4, 0, 2, 1]) = [2, 4, 3, 0, 1].
	wantInts(t, "invert", mustRunAttr(t, "InvertPermutation", graphdef.Attrs{"T": classify.Int32}, saI32([]int32{3, 4, 0, 2, 1}, 5))[0], 2, 4, 3, 0, 1)

	// tf.unravel_index([2, 5, 7], [3, 3]) = [[0, 1, 2], [2, 2, 1]].
	u := mustRunAttr(t, "UnravelIndex", graphdef.Attrs{"Tidx": classify.Int32}, saI32([]int32{2, 5, 7}, 3), saI32([]int32{3, 3}, 2))[0]
	wantInts(t, "unravel", u, 0, 1, 2, 2, 2, 1)
	if !u.Shape.Equal(classify.Shape{2, 3}) {
		t.Errorf("unravel shape %v", u.Shape)
	}
	u = mustRunAttr(t, "UnravelIndex", graphdef.Attrs{"Tidx": classify.Int64}, &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{1621}}, i64s(6, 7, 8, 9))[0]
	wantInts(t, "unravel scalar", u, 3, 1, 4, 1)

	// BroadcastGradientArgs: identical shapes reduce nothing; else each
	// input reduces where its 1-extended dimension is 1.
	for _, tc := range []struct {
		s0, s1 []int32
		r0, r1 []int
	}{
		{[]int32{2, 1}, []int32{2, 1}, nil, nil},
		{[]int32{2, 3, 5}, []int32{1}, nil, []int{0, 1, 2}},
		{[]int32{1, 3, 1}, []int32{4, 1, 1}, []int{0, 2}, []int{1, 2}},
		{[]int32{}, []int32{2, 2}, []int{0, 1}, nil},
		{[]int32{0, 1}, []int32{1}, []int{1}, []int{0, 1}},
	} {
		out := mustRunAttr(t, "BroadcastGradientArgs", graphdef.Attrs{"T": classify.Int32}, saI32(tc.s0, len(tc.s0)), saI32(tc.s1, len(tc.s1)))
		wantInts(t, "r0", out[0], tc.r0...)
		wantInts(t, "r1", out[1], tc.r1...)
	}

	// ConcatOffset(1, [2,2,7], [2,3,7], [2,5,7]) = [0,0,0], [0,2,0], [0,5,0].
	co := mustRunAttr(t, "ConcatOffset", graphdef.Attrs{"N": int64(3)}, saI32([]int32{1}), saI32([]int32{2, 2, 7}, 3), saI32([]int32{2, 3, 7}, 3), saI32([]int32{2, 5, 7}, 3))
	wantInts(t, "offset 0", co[0], 0, 0, 0)
	wantInts(t, "offset 1", co[1], 0, 2, 0)
	wantInts(t, "offset 2", co[2], 0, 5, 0)

	e := mustRunAttr(t, "Empty", graphdef.Attrs{"dtype": classify.Float32}, saI32([]int32{2, 0, 3}, 3))[0]
	if !e.Shape.Equal(classify.Shape{2, 0, 3}) {
		t.Errorf("empty shape %v", e.Shape)
	}
}

func wantInts(t *testing.T, what string, got *classify.Tensor, want ...int) {
	t.Helper()
	v, err := arrInts(got)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if len(v) != len(want) || (len(v) > 0 && !slices.Equal(v, want)) {
		t.Errorf("%s = %v, want %v", what, v, want)
	}
}

// The errors TensorFlow's kernels raise, never a panic.
func TestSetOpsErrors(t *testing.T) {
	i32 := graphdef.Attrs{"T": classify.Int32}
	for _, tc := range []struct {
		op  string
		a   graphdef.Attrs
		in  []*classify.Tensor
		msg string
	}{
		{"ListDiff", i32, []*classify.Tensor{saI32([]int32{1, 2}, 1, 2), saI32([]int32{1}, 1)}, "vectors"},
		{"UniqueV2", i32, []*classify.Tensor{saI32([]int32{1, 2}, 1, 2), saI32([]int32{2}, 1)}, "out of range"},
		{"UniqueV2", i32, []*classify.Tensor{saI32([]int32{1, 2}, 1, 2), saI32(nil, 0)}, "1-D"},
		{"UniqueWithCountsV2", i32, []*classify.Tensor{saI32([]int32{1, 2}, 2), saI32([]int32{0, 0}, 2)}, "at most one"},
		{"NthElement", i32, []*classify.Tensor{saI32([]int32{1, 2}, 2), saI32([]int32{2})}, "n+1 columns"},
		{"NthElement", i32, []*classify.Tensor{saI32([]int32{1, 2}, 2), saI32([]int32{-1})}, "n >= 0"},
		{"NthElement", i32, []*classify.Tensor{saI32([]int32{1}), saI32([]int32{0})}, "rank 1"},
		{"HistogramFixedWidth", i32, []*classify.Tensor{saI32([]int32{1}, 1), saI32([]int32{5, 5}, 2), saI32([]int32{3})}, "value_range[0] < value_range[1]"},
		{"HistogramFixedWidth", i32, []*classify.Tensor{saI32([]int32{1}, 1), saI32([]int32{0, 5}, 2), saI32([]int32{0})}, "positive"},
		{"HistogramFixedWidth", i32, []*classify.Tensor{saI32([]int32{1}, 1), saI32([]int32{0, 5}, 2), saI32([]int32{1 << 30})}, "positive"},
		{"InvertPermutation", i32, []*classify.Tensor{saI32([]int32{0, 0}, 2)}, "duplicated"},
		{"InvertPermutation", i32, []*classify.Tensor{saI32([]int32{0, 2}, 2)}, "not between"},
		{"UnravelIndex", i32, []*classify.Tensor{saI32([]int32{9}, 1), saI32([]int32{3, 3}, 2)}, "out of bounds"},
		{"UnravelIndex", i32, []*classify.Tensor{saI32([]int32{0}, 1), saI32([]int32{3, 0}, 2)}, "> 0"},
		{"UnravelIndex", i32, []*classify.Tensor{saI32([]int32{0}, 1), saI32([]int32{1 << 20, 1 << 20}, 2)}, "2^31"},
		{"BroadcastGradientArgs", i32, []*classify.Tensor{saI32([]int32{2, 3}, 2), saI32([]int32{4}, 1)}, "incompatible"},
		{"ConcatOffset", i32, []*classify.Tensor{saI32([]int32{3}), saI32([]int32{2, 2}, 2), saI32([]int32{2, 3}, 2)}, "out of range"},
		{"ConcatOffset", i32, []*classify.Tensor{saI32([]int32{0}), saI32([]int32{2, 2}, 2), saI32([]int32{2, 3}, 2)}, "must match"},
		{"ConcatOffset", i32, []*classify.Tensor{saI32([]int32{0}), saI32([]int32{2, 2}, 2), saI32([]int32{2}, 1)}, "elements"},
		{"Empty", graphdef.Attrs{"dtype": classify.Float32}, []*classify.Tensor{saI32([]int32{1 << 15, 1 << 15}, 2)}, "elements"},
	} {
		_, err := runAttrOp(t, tc.op, tc.a, tc.in...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.op, err, tc.msg)
		}
	}
}
