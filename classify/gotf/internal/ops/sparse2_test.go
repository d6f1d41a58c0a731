package ops

import (
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func i64m(rows int, v ...int64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{rows, len(v) / rows}, Data: v}
}

// Cases from the tf.sparse docstrings and worked by hand.
func TestSparseMore(t *testing.T) {
	f32 := graphdef.Attrs{"T": classify.Float32}
	// tf.sparse.reorder: [[1, 0], [0, 1]] -> [[0, 1], [1, 0]].
	out := mustRunAttr(t, "SparseReorder", f32, i64m(3, 1, 0, 0, 1, 0, 0), classify.FromFloat32([]float32{1, 2, 3}, 3), i64s(2, 2))
	wantInts(t, "reorder indices", out[0], 0, 0, 0, 1, 1, 0)
	if got := out[1].Float32s(); !slices.Equal(got, []float32{3, 2, 1}) {
		t.Errorf("reorder values %v", got)
	}
	// [[1, _, _], [_, _, 2]] + ones.
	sp := []*classify.Tensor{i64m(2, 0, 0, 1, 2), classify.FromFloat32([]float32{1, 2}, 2), i64s(2, 3)}
	ones := classify.FromFloat32([]float32{1, 1, 1, 1, 1, 1}, 2, 3)
	if got := mustRunAttr(t, "SparseTensorDenseAdd", f32, append(sp, ones)...)[0].Float32s(); !slices.Equal(got, []float32{2, 1, 1, 1, 1, 3}) {
		t.Errorf("SparseTensorDenseAdd = %v", got)
	}
	if ones.Float32s()[0] != 1 {
		t.Errorf("SparseTensorDenseAdd changed its dense input")
	}
	dense := classify.FromFloat32([]float32{10, 20, 30}, 3)
	for op, want := range map[string][]float32{"SparseDenseCwiseAdd": {11, 32}, "SparseDenseCwiseMul": {10, 60}, "SparseDenseCwiseDiv": {0.1, 2.0 / 30}} {
		got := mustRunAttr(t, op, f32, append(sp, dense)...)[0].Float32s()
		if len(got) != 2 || abs32(got[0]-want[0]) > 1e-7 || abs32(got[1]-want[1]) > 1e-7 {
			t.Errorf("%s = %v, want %v", op, got, want)
		}
	}
	// tf.sparse.reduce_sum of [[1, _, 1], [_, 1, _]].
	x := []*classify.Tensor{i64m(3, 0, 0, 0, 2, 1, 1), classify.FromFloat32([]float32{1, 1, 1}, 3), i64s(2, 3)}
	red := func(op string, keep bool, axes ...int32) *classify.Tensor {
		return mustRunAttr(t, op, graphdef.Attrs{"T": classify.Float32, "keep_dims": keep}, append(x, saI32(axes, len(axes)))...)[0]
	}
	for _, tc := range []struct {
		got   *classify.Tensor
		shape classify.Shape
		want  []float32
	}{
		{red("SparseReduceSum", false, 0, 1), classify.Shape{}, []float32{3}},
		{red("SparseReduceSum", false, 0), classify.Shape{3}, []float32{1, 1, 1}},
		{red("SparseReduceSum", false, 1), classify.Shape{2}, []float32{2, 1}},
		{red("SparseReduceSum", true, 1), classify.Shape{2, 1}, []float32{2, 1}},
		{red("SparseReduceSum", false, -1), classify.Shape{2}, []float32{2, 1}},
	} {
		if !tc.got.Shape.Equal(tc.shape) || !slices.Equal(tc.got.Float32s(), tc.want) {
			t.Errorf("reduce_sum = %v %v, want %v %v", tc.got.Shape, tc.got.Float32s(), tc.shape, tc.want)
		}
	}
	// tf.sparse.reduce_max of [[1, _, 2], [_, 3, _]]; a row of only -1
	// gives -1 (stored entries only), a missing row 0.
	x = []*classify.Tensor{i64m(4, 0, 0, 0, 2, 1, 1, 2, 0), classify.FromFloat32([]float32{1, 2, 3, -1}, 4), i64s(4, 3)}
	if got := red("SparseReduceMax", false, 1); !slices.Equal(got.Float32s(), []float32{2, 3, -1, 0}) {
		t.Errorf("reduce_max axis 1 = %v", got.Float32s())
	}
	if got := red("SparseReduceMax", false, 0); !slices.Equal(got.Float32s(), []float32{1, 3, 2}) {
		t.Errorf("reduce_max axis 0 = %v", got.Float32s())
	}
	s := mustRunAttr(t, "SparseReduceSumSparse", graphdef.Attrs{"T": classify.Float32}, append(x, saI32([]int32{1}, 1))...)
	wantInts(t, "sum_sparse indices", s[0], 0, 1, 2)
	wantInts(t, "sum_sparse shape", s[2], 4)
	if got := s[1].Float32s(); !slices.Equal(got, []float32{3, 3, -1}) {
		t.Errorf("sum_sparse values %v", got)
	}
	ms := mustRunAttr(t, "SparseReduceMaxSparse", graphdef.Attrs{"T": classify.Float32, "keep_dims": true}, append(x, saI32([]int32{0}, 1))...)
	wantInts(t, "max_sparse indices", ms[0], 0, 0, 0, 1, 0, 2)
	wantInts(t, "max_sparse shape", ms[2], 1, 3)
	if got := ms[1].Float32s(); !slices.Equal(got, []float32{1, 3, 2}) {
		t.Errorf("max_sparse values %v", got)
	}
	// SparseMatMul is MatMul.
	a := classify.FromFloat32([]float32{1, 0, 2, 0, 3, 0}, 2, 3)
	b := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	got := mustRunAttr(t, "SparseMatMul", graphdef.Attrs{"Ta": classify.Float32, "Tb": classify.Float32, "a_is_sparse": true}, a, b)[0].Float32s()
	if !slices.Equal(got, []float32{11, 14, 9, 12}) {
		t.Errorf("SparseMatMul = %v", got)
	}
	for _, tc := range []struct {
		op  string
		in  []*classify.Tensor
		msg string
	}{
		{"SparseReorder", []*classify.Tensor{i64m(1, 0, 3), classify.FromFloat32([]float32{1}, 1), i64s(2, 3)}, "out of bounds"},
		{"SparseReorder", []*classify.Tensor{i64m(1, 0, 0), classify.FromFloat32([]float32{1, 2}, 2), i64s(2, 3)}, "values"},
		{"SparseTensorDenseAdd", append(sp, classify.FromFloat32([]float32{1, 1}, 2)), "must match"},
		{"SparseDenseCwiseMul", append(sp, classify.FromFloat32([]float32{1, 1}, 2)), "cannot broadcast"},
		{"SparseReduceSum", append(sp, saI32([]int32{2}, 1)), "invalid reduction dimension"},
	} {
		if _, err := runAttrOp(t, tc.op, f32, tc.in...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.op, err, tc.msg)
		}
	}
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// SparseAdd, SparseSoftmax and SparseSlice on the tf.sparse docstrings'
// examples and cases worked by hand.
func TestSparseAddSoftmaxSlice(t *testing.T) {
	f32 := graphdef.Attrs{"T": classify.Float32}
	// a = [[1, _], [_, 2]], b = [[-1, 3], [_, _]]; thresh 0.5 drops 1 + -1.
	a := []*classify.Tensor{i64m(2, 0, 0, 1, 1), classify.FromFloat32([]float32{1, 2}, 2), i64s(2, 2)}
	b := []*classify.Tensor{i64m(2, 0, 0, 0, 1), classify.FromFloat32([]float32{-1, 3}, 2), i64s(2, 2)}
	in := append(append(append([]*classify.Tensor{}, a...), b...), classify.FromFloat32([]float32{0.5}))
	out := mustRunAttr(t, "SparseAdd", graphdef.Attrs{"T": classify.Float32, "Treal": classify.Float32}, in...)
	wantInts(t, "add indices", out[0], 0, 1, 1, 1)
	if got := out[1].Float32s(); !slices.Equal(got, []float32{3, 2}) {
		t.Errorf("add values %v", got)
	}
	in[6] = classify.FromFloat32([]float32{0})
	out = mustRunAttr(t, "SparseAdd", graphdef.Attrs{"T": classify.Float32, "Treal": classify.Float32}, in...)
	wantInts(t, "add indices (thresh 0)", out[0], 0, 0, 0, 1, 1, 1)
	if got := out[1].Float32s(); !slices.Equal(got, []float32{0, 3, 2}) {
		t.Errorf("add values (thresh 0) %v", got)
	}
	// Softmax per row over stored entries: row 0 has two equal entries,
	// row 1 one.
	sm := mustRunAttr(t, "SparseSoftmax", f32, i64m(3, 0, 0, 0, 2, 1, 1), classify.FromFloat32([]float32{5, 5, -3}, 3), i64s(2, 3))[0].Float32s()
	if !slices.Equal(sm, []float32{0.5, 0.5, 1}) {
		t.Errorf("SparseSoftmax = %v", sm)
	}
	// tf.sparse.slice docstring: a 2x6 tensor, start [0, 0], size [2, 4].
	sp := []*classify.Tensor{i64m(7, 0, 0, 0, 2, 0, 4, 0, 5, 1, 1, 1, 3, 1, 4), classify.FromFloat32([]float32{0, 2, 4, 5, 11, 13, 14}, 7), i64s(2, 6)}
	sl := mustRunAttr(t, "SparseSlice", f32, append(sp, i64s(0, 0), i64s(2, 4))...)
	wantInts(t, "slice indices", sl[0], 0, 0, 0, 2, 1, 1, 1, 3)
	wantInts(t, "slice shape", sl[2], 2, 4)
	if got := sl[1].Float32s(); !slices.Equal(got, []float32{0, 2, 11, 13}) {
		t.Errorf("slice values %v", got)
	}
	// start [1, 4], size [2, 3] clips to [1, 2].
	sl = mustRunAttr(t, "SparseSlice", f32, append(sp, i64s(1, 4), i64s(2, 3))...)
	wantInts(t, "slice indices (clipped)", sl[0], 0, 0)
	wantInts(t, "slice shape (clipped)", sl[2], 1, 2)
	if _, err := runAttrOp(t, "SparseAdd", f32, append(append(append([]*classify.Tensor{}, a...), sp...), classify.FromFloat32([]float32{0}))...); err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Errorf("SparseAdd of different shapes: %v", err)
	}
	if _, err := runAttrOp(t, "SparseSoftmax", f32, i64m(1, 0), classify.FromFloat32([]float32{1}, 1), i64s(3)); err == nil || !strings.Contains(err.Error(), "rank >= 2") {
		t.Errorf("SparseSoftmax of rank 1: %v", err)
	}
}

// The tf.sparse.concat docstring's example (axis 1), output in row-major
// order, and axis 0.
func TestSparseConcat(t *testing.T) {
	s := func(v ...string) *classify.Tensor { return strTensor(v...) }
	in := []*classify.Tensor{
		i64m(3, 0, 2, 1, 0, 1, 1), i64m(2, 0, 1, 0, 2),
		s("a", "b", "c"), s("d", "e"),
		i64s(2, 3), i64s(2, 4),
	}
	out := mustRunAttr(t, "SparseConcat", graphdef.Attrs{"T": classify.String, "N": 2, "concat_dim": 1}, in...)
	wantInts(t, "concat indices", out[0], 0, 2, 0, 4, 0, 5, 1, 0, 1, 1)
	if got := strsOf(out[1]); !slices.Equal(got, []string{"a", "d", "e", "b", "c"}) {
		t.Errorf("concat values %q", got)
	}
	wantInts(t, "concat shape", out[2], 2, 7)
	in[5] = i64s(2, 3)
	in[1] = i64m(2, 0, 1, 1, 2)
	out = mustRunAttr(t, "SparseConcat", graphdef.Attrs{"T": classify.String, "N": 2, "concat_dim": 0}, in...)
	wantInts(t, "concat axis 0", out[0], 0, 2, 1, 0, 1, 1, 2, 1, 3, 2)
	wantInts(t, "concat axis 0 shape", out[2], 4, 3)
	in[5] = i64s(3, 3)
	if _, err := runAttrOp(t, "SparseConcat", graphdef.Attrs{"T": classify.String, "N": 2, "concat_dim": 1}, in...); err == nil || !strings.Contains(err.Error(), "incompatible") {
		t.Errorf("mismatched shapes: %v", err)
	}
}

// The tf.sparse.split docstring's example: a [2, 7] tensor split in three
// along axis 1 gives widths 3, 2 and 2.
func TestSparseSplit(t *testing.T) {
	ind := i64m(6, 0, 2, 0, 4, 0, 5, 1, 0, 1, 1, 1, 6)
	vals := saI32([]int32{1, 2, 3, 4, 5, 6}, 6)
	out := mustRunAttr(t, "SparseSplit", graphdef.Attrs{"T": classify.Int32, "num_split": 3}, saI32([]int32{1}), ind, vals, i64s(2, 7))
	if len(out) != 9 {
		t.Fatalf("%d outputs", len(out))
	}
	wantInts(t, "piece 0 indices", out[0], 0, 2, 1, 0, 1, 1)
	wantInts(t, "piece 1 indices", out[1], 0, 1)
	wantInts(t, "piece 2 indices", out[2], 0, 0, 1, 1)
	wantInts(t, "piece 0 values", out[3], 1, 4, 5)
	wantInts(t, "piece 1 values", out[4], 2)
	wantInts(t, "piece 2 values", out[5], 3, 6)
	wantInts(t, "piece 0 shape", out[6], 2, 3)
	wantInts(t, "piece 2 shape", out[8], 2, 2)
	if _, err := runAttrOp(t, "SparseSplit", graphdef.Attrs{"T": classify.Int32, "num_split": 8}, saI32([]int32{1}), ind, vals, i64s(2, 7)); err == nil || !strings.Contains(err.Error(), "smaller than num_split") {
		t.Errorf("too many pieces: %v", err)
	}
}
