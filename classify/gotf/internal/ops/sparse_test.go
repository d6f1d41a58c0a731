package ops

import (
	"reflect"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

func i64Matrix(rows, cols int, v ...int64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{rows, cols}, Data: v}
}

// The example of SparseReshape's op documentation: [2,3,6] to [9,-1].
func TestSparseReshape(t *testing.T) {
	idx := i64Matrix(5, 3, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 2, 3)
	out := mustRunAttr(t, "SparseReshape", nil, idx, i64Tensor(2, 3, 6), i64Tensor(9, -1))
	if got := out[0].Int64s(); !reflect.DeepEqual(got, []int64{0, 0, 0, 1, 1, 2, 4, 2, 8, 1}) {
		t.Errorf("indices = %v", got)
	}
	if got := out[1].Int64s(); !reflect.DeepEqual(got, []int64{9, 4}) {
		t.Errorf("shape = %v", got)
	}
	if _, err := runAttrOp(t, "SparseReshape", nil, idx, i64Tensor(2, 3, 6), i64Tensor(5, -1)); err == nil {
		t.Error("36 elements into [5, -1]: no error")
	}
	if _, err := runAttrOp(t, "SparseReshape", nil, i64Matrix(1, 3, 2, 0, 0), i64Tensor(2, 3, 6), i64Tensor(36)); err == nil {
		t.Error("index outside the shape: no error")
	}
}

// The example of SparseFillEmptyRows's op documentation: rows 1 and 4 of
// a [5, 6] tensor are empty.
func TestSparseFillEmptyRows(t *testing.T) {
	idx := i64Matrix(4, 2, 0, 1, 0, 3, 2, 0, 3, 1)
	vals := strTensor("a", "b", "c", "d")
	out := mustRunAttr(t, "SparseFillEmptyRows", nil, idx, vals, i64Tensor(5, 6), scalarOf(strTensor("x")))
	if got := out[0].Int64s(); !reflect.DeepEqual(got, []int64{0, 1, 0, 3, 1, 0, 2, 0, 3, 1, 4, 0}) {
		t.Errorf("indices = %v", got)
	}
	if got := strsOf(out[1]); !reflect.DeepEqual(got, []string{"a", "b", "x", "c", "d", "x"}) {
		t.Errorf("values = %q", got)
	}
	if got := out[2].Bools(); !reflect.DeepEqual(got, []bool{false, true, false, false, true}) {
		t.Errorf("empty rows = %v", got)
	}
	if got := out[3].Int64s(); !reflect.DeepEqual(got, []int64{0, 1, 3, 4}) {
		t.Errorf("reverse index map = %v", got)
	}
	if _, err := runAttrOp(t, "SparseFillEmptyRows", nil, i64Matrix(1, 2, 7, 0), strTensor("a"), i64Tensor(5, 6), scalarOf(strTensor("x"))); err == nil {
		t.Error("row outside dense_shape: no error")
	}
}

// tf.sparse.segment_sum's documented examples, and mean and sqrt_n of the
// same segments.
func TestSparseSegment(t *testing.T) {
	c := classify.FromFloat32([]float32{1, 2, 3, 4, -1, -2, -3, -4, 5, 6, 7, 8}, 3, 4)
	i32 := func(v ...int32) *classify.Tensor {
		return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{len(v)}, Data: v}
	}
	for _, tc := range []struct {
		op       string
		ids, seg *classify.Tensor
		want     []float32
	}{
		{"SparseSegmentSum", i32(0, 1), i32(0, 0), []float32{0, 0, 0, 0}},
		{"SparseSegmentSum", i32(0, 1), i32(0, 1), []float32{1, 2, 3, 4, -1, -2, -3, -4}},
		{"SparseSegmentSum", i32(0, 2), i32(0, 0), []float32{6, 8, 10, 12}},
		{"SparseSegmentMean", i32(0, 2), i32(0, 0), []float32{3, 4, 5, 6}},
		{"SparseSegmentSqrtN", i32(0, 2, 2, 2), i32(0, 0, 1, 1), []float32{6 / 1.4142135, 8 / 1.4142135, 10 / 1.4142135, 12 / 1.4142135, 10 / 1.4142135, 12 / 1.4142135, 14 / 1.4142135, 16 / 1.4142135}},
	} {
		got := mustRunAttr(t, tc.op, nil, c, tc.ids, tc.seg)[0].Float32s()
		if len(got) != len(tc.want) {
			t.Errorf("%s %v %v = %v, want %v", tc.op, tc.ids.Data, tc.seg.Data, got, tc.want)
			continue
		}
		for i := range got {
			if d := got[i] - tc.want[i]; d > 1e-5 || d < -1e-5 {
				t.Errorf("%s %v %v = %v, want %v", tc.op, tc.ids.Data, tc.seg.Data, got, tc.want)
				break
			}
		}
	}
	// With num_segments, trailing segments are zeros.
	got := mustRunAttr(t, "SparseSegmentMeanWithNumSegments", nil, c, i32(1), i32(0), &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{2}})[0]
	if !got.Shape.Equal(classify.Shape{2, 4}) || !reflect.DeepEqual(got.Float32s(), []float32{-1, -2, -3, -4, 0, 0, 0, 0}) {
		t.Errorf("with num_segments = %v %v", got.Shape, got.Float32s())
	}
	if _, err := runAttrOp(t, "SparseSegmentSum", nil, c, i32(0, 1), i32(1, 0)); err == nil {
		t.Error("unsorted segment ids: no error")
	}
	if _, err := runAttrOp(t, "SparseSegmentSum", nil, c, i32(3), i32(0)); err == nil {
		t.Error("index past data: no error")
	}
}
