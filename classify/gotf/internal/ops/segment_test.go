package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestSegmentGolden: Unique against TensorFlow.js, which has none of the
// other ops of segment.go; they are checked against their definitions.
func TestSegmentGolden(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	cases := []goldenCase{
		saCase("unique_int32", "Unique", graphdef.Attrs{"T": i32, "out_idx": i32}, 2, saFeed(saI32([]int32{4, 1, 4, 4, 7, 1, 0, 7, 2}, 9))),
		saCase("unique_float", "Unique", graphdef.Attrs{"T": f32, "out_idx": i32}, 2, saFeed(tiedF32(1601, 12))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestUnsortedSegments checks every reduction against its definition:
// out[s] reduces the rows i with ids[i] == s (negative ids dropped), empty
// segments keep the identity (0, 1, or float32's lowest/highest finite).
func TestUnsortedSegments(t *testing.T) {
	x := randF32(1610, -2, 2, 7, 3)
	ids := []int32{3, 0, -1, 3, 1, 0, 3}
	const num = 5
	for _, c := range []struct {
		op   string
		init float64
		f    func(a, b float64) float64
	}{
		{"UnsortedSegmentSum", 0, func(a, b float64) float64 { return a + b }},
		{"UnsortedSegmentProd", 1, func(a, b float64) float64 { return a * b }},
		{"UnsortedSegmentMax", -math.MaxFloat32, math.Max},
		{"UnsortedSegmentMin", math.MaxFloat32, math.Min},
	} {
		out, err := saRun(c.op, nil, saFeed(x), saFeed(saI32(ids, 7)), saConst(saI32([]int32{num})))
		if err != nil {
			t.Fatal(err)
		}
		want := classify.NewTensor(classify.Float32, num, 3)
		acc := make([]float64, num*3)
		for i := range acc {
			acc[i] = c.init
		}
		for i, s := range ids {
			for j := range 3 {
				if s >= 0 {
					acc[int(s)*3+j] = c.f(acc[int(s)*3+j], float64(x.Float32s()[i*3+j]))
				}
			}
		}
		for i, v := range acc {
			want.Float32s()[i] = float32(v)
		}
		if msg := compare(out[0], want, 0, 0); msg != "" {
			t.Errorf("%s: %s", c.op, msg)
		}
	}
	// Integer data, ids of rank 2 addressing the first two dimensions.
	out, err := saRun("UnsortedSegmentSum", nil, saFeed(saIota(2, 3, 2)), saFeed(saI32([]int32{1, 0, 1, 1, 2, 0}, 2, 3)), saConst(saI32([]int32{4})))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(out[0], saI32([]int32{2 + 10, 3 + 11, 0 + 4 + 6, 1 + 5 + 7, 8, 9, 0, 0}, 4, 2), 0, 0); msg != "" {
		t.Errorf("int32 2-D ids: %s", msg)
	}
	out, err = saRun("SegmentSum", nil, saFeed(saIota(5, 2)), saFeed(saI32([]int32{0, 0, 2, 2, 3}, 5)))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(out[0], saI32([]int32{2, 4, 0, 0, 10, 12, 8, 9}, 4, 2), 0, 0); msg != "" {
		t.Errorf("SegmentSum: %s", msg)
	}
}

// TestInTopK checks TensorFlow's definition: in when fewer than k classes
// score strictly higher than the target (ties at the boundary count as
// in); false for a target out of range or a non-finite score in the row.
func TestInTopK(t *testing.T) {
	nan := float32(math.NaN())
	p := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{5, 4}, Data: []float32{
		0.1, 0.5, 0.5, 0.2, // target 2 ties with 1: in for k=1
		0.9, 0.5, 0.4, 0.3, // target 3 has 3 above: out for k=2
		0.2, 0.3, 0.4, 0.1, // target 1 has 1 above: in
		0.2, nan, 0.4, 0.1, // non-finite: false
		0.2, 0.3, 0.4, 0.1, // target 4 out of range: false
	}}
	for _, c := range []struct {
		k    int32
		want []bool
	}{{1, []bool{true, false, false, false, false}}, {2, []bool{true, false, true, false, false}}} {
		out, err := saRun("InTopKV2", nil, saFeed(p), saFeed(saI64([]int64{2, 3, 1, 2, 4}, 5)), saConst(saI32([]int32{c.k})))
		if err != nil {
			t.Fatal(err)
		}
		if msg := compare(out[0], saBool(c.want, 5), 0, 0); msg != "" {
			t.Errorf("k=%d: %s", c.k, msg)
		}
	}
}

// TestDynamicStitch is TensorFlow's documented example, with rows of 2
// and an index no input names (left zero).
func TestDynamicStitch(t *testing.T) {
	f := func(v ...float32) *classify.Tensor {
		return &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{len(v) / 2, 2}, Data: v}
	}
	out, err := saRun("DynamicStitch", graphdef.Attrs{"N": 3},
		saFeed(saI32([]int32{6}, 1)), saFeed(saI32([]int32{4, 1}, 2)), saFeed(saI32([]int32{5, 2, 0, 4}, 2, 2)),
		saFeed(f(61, 62)), saFeed(f(41, 42, 11, 12)),
		saFeed(&classify.Tensor{DType: classify.Float32, Shape: classify.Shape{2, 2, 2}, Data: []float32{51, 52, 21, 22, 1, 2, 43, 44}}))
	if err != nil {
		t.Fatal(err)
	}
	want := f(1, 2, 11, 12, 21, 22, 0, 0, 43, 44, 51, 52, 61, 62)
	if msg := compare(out[0], want, 0, 0); msg != "" {
		t.Error(msg)
	}
}

func TestSegmentErrors(t *testing.T) {
	inv := classify.ErrInvalidInput
	x := randF32(1620, -1, 1, 4, 2)
	saCheckErrors(t, []saErrCase{
		{"unsorted_id_too_big", "UnsortedSegmentSum", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 1, 5, 1}, 4)), saConst(saI32([]int32{3}))}, inv, "segment_ids[2] = 5 is not below num_segments 3"},
		{"unsorted_ids_shape", "UnsortedSegmentMax", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 1, 2}, 3)), saConst(saI32([]int32{3}))}, inv, "prefix"},
		{"sorted_decreasing", "SegmentSum", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 2, 1, 3}, 4))}, inv, "not increasing"},
		{"sorted_negative", "SegmentSum", nil, []saIn{saFeed(x), saFeed(saI32([]int32{-1, 0, 0, 0}, 4))}, inv, "negative"},
		{"stitch_negative", "DynamicStitch", nil, []saIn{saFeed(saI32([]int32{0, -2, 1, 3}, 4)), saFeed(x)}, inv, "indices 0 [1] = -2"},
		{"stitch_shape", "DynamicStitch", nil, []saIn{saFeed(saI32([]int32{0, 1}, 2)), saFeed(x)}, inv, "want float32 [2,2]"},
		{"intopk_targets", "InTopKV2", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0}, 1)), saConst(saI32([]int32{1}))}, inv, "targets"},
		{"unique_matrix", "Unique", nil, []saIn{saFeed(x)}, inv, "vector"},
	})
}
