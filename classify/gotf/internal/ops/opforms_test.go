package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestOpFormsGolden checks Reverse against TensorFlow.js.
func TestOpFormsGolden(t *testing.T) {
	f32 := classify.Float32
	cases := []goldenCase{
		saCase("reverse_two_dims", "Reverse", graphdef.Attrs{"T": f32}, 1,
			saFeed(randF32(2602, -1, 1, 2, 3, 4)), saConst(saBool([]bool{true, false, true}, 3))),
		saCase("euclideannorm_axis1", "EuclideanNorm", graphdef.Attrs{"T": f32, "Tidx": classify.Int32, "keep_dims": false}, 1,
			saFeed(randF32(2603, -2, 2, 3, 5, 4)), saConst(saI32([]int32{1}, 1))),
		saCase("euclideannorm_keepdims_two_axes", "EuclideanNorm", graphdef.Attrs{"T": f32, "Tidx": classify.Int32, "keep_dims": true}, 1,
			saFeed(randF32(2604, -2, 2, 3, 5, 4)), saConst(saI32([]int32{0, -1}, 2))),
		saCase("reverse_int32_none", "Reverse", graphdef.Attrs{"T": classify.Int32}, 1,
			saFeed(saIota(3, 2)), saConst(saBool([]bool{false, false}, 2))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestMaxPoolV2 compares MaxPoolV2 with MaxPool of the same window and
// strides as attributes (oracle-checked in pool_test.go); TensorFlow.js
// has no MaxPoolV2.
func TestMaxPoolV2(t *testing.T) {
	x := randF32(2601, -1, 1, 2, 7, 6, 3)
	for _, c := range []struct {
		pad  string
		k, s []int32
	}{{"SAME", []int32{1, 3, 2, 1}, []int32{1, 2, 2, 1}}, {"VALID", []int32{1, 2, 3, 1}, []int32{1, 1, 3, 1}}} {
		got, err := saRun(t, "MaxPoolV2", graphdef.Attrs{"padding": c.pad}, saFeed(x), saConst(saI32(c.k, 4)), saConst(saI32(c.s, 4)))
		if err != nil {
			t.Fatal(err)
		}
		ints := func(v []int32) []int { return []int{int(v[0]), int(v[1]), int(v[2]), int(v[3])} }
		want, err := saRun(t, "MaxPool", graphdef.Attrs{"padding": c.pad, "ksize": ints(c.k), "strides": ints(c.s)}, saFeed(x))
		if err != nil {
			t.Fatal(err)
		}
		if msg := compare(got[0], want[0], 0, 0); msg != "" {
			t.Errorf("%s: %s", c.pad, msg)
		}
	}
}

func TestOpFormsErrors(t *testing.T) {
	x := randF32(1, -1, 1, 1, 4, 4, 2)
	k := saConst(saI32([]int32{1, 2, 2, 1}, 4))
	saCheckErrors(t, []saErrCase{
		{"fed_ksize", "MaxPoolV2", graphdef.Attrs{"padding": "SAME"}, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2, 2, 1}, 4)), k}, classify.ErrInvalidGraph, "ksize must be a constant"},
		{"bad_ksize", "MaxPoolV2", graphdef.Attrs{"padding": "SAME"}, []saIn{saFeed(x), saConst(saI32([]int32{1, 2, 2}, 3)), k}, classify.ErrInvalidGraph, "ksize"},
		{"norm_dtype", "EuclideanNorm", nil, []saIn{saFeed(saIota(2, 2)), saConst(saI32([]int32{0}, 1))}, classify.ErrInvalidInput, "int32"},
		{"reverse_dims", "Reverse", nil, []saIn{saFeed(x), saFeed(saBool([]bool{true}, 1))}, classify.ErrInvalidInput, "rank 4"},
	})
	saCheckShapes(t, []saShapeCase{
		{name: "maxpoolv2", op: "MaxPoolV2", attrs: graphdef.Attrs{"padding": "SAME"}, consts: map[int]*classify.Tensor{1: saI32([]int32{1, 2, 2, 1}, 4), 2: saI32([]int32{1, 2, 2, 1}, 4)},
			in: []classify.TensorInfo{saF32Info(-1, 8, 6, 3), saInfo(classify.Int32, 4), saInfo(classify.Int32, 4)}, want: []classify.TensorInfo{saF32Info(-1, 4, 3, 3)}},
	})
}

// TestEuclideanNormFloat64 checks float64 (which the oracle cannot feed)
// and a full reduction against the root of the float64 sum of squares.
func TestEuclideanNormFloat64(t *testing.T) {
	x := f64T([]int{2, 3}, []float64{3, -4, 12, 1e200, 0, -1e200})
	got := mustRun(t, "EuclideanNorm", map[string]any{"keep_dims": false}, x, saI32([]int32{1}, 1))
	// 1e200 squared overflows to +Inf, as in TensorFlow's plain sum of
	// squares.
	checkClose(t, got, []float64{13}, classify.Shape{2}, 1e-12)
	if v := got.Data.([]float64)[1]; !math.IsInf(v, 1) {
		t.Errorf("overflowing row: %v, want +Inf", v)
	}
	all := mustRun(t, "EuclideanNorm", map[string]any{"keep_dims": true}, x.Clone(), saI32([]int32{0, 1}, 2))
	if !all.Shape.Equal(classify.Shape{1, 1}) || !math.IsInf(all.Data.([]float64)[0], 1) {
		t.Errorf("all axes: %v %v", all.Shape, all.Data)
	}
}
