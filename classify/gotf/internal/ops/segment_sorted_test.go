package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
)

// TestSortedSegment checks the sorted segment reductions against a
// reference that collects each segment's rows, with empty segments (ids
// skip 1 and 3) and a repeated first id.
func TestSortedSegment(t *testing.T) {
	ids := []int32{0, 0, 2, 2, 2, 4, 5}
	x := randF32(2501, -2, 2, 7, 3)
	xs := classifytest.Float64s(x)
	for _, op := range []string{"SegmentProd", "SegmentMax", "SegmentMin", "SegmentMean"} {
		got := mustRun(t, op, nil, x, saI32(ids, 7))
		want := make([]float64, 6*3)
		for s := range 6 {
			for j := range 3 {
				var vals []float64
				for i, id := range ids {
					if int(id) == s {
						vals = append(vals, xs[i*3+j])
					}
				}
				w := 0.0
				switch {
				case len(vals) == 0 && op == "SegmentProd":
					w = 1
				case len(vals) == 0:
				case op == "SegmentProd":
					w = 1
					for _, v := range vals {
						w *= v
					}
				case op == "SegmentMax":
					w = math.Inf(-1)
					for _, v := range vals {
						w = math.Max(w, v)
					}
				case op == "SegmentMin":
					w = math.Inf(1)
					for _, v := range vals {
						w = math.Min(w, v)
					}
				default:
					for _, v := range vals {
						w += v
					}
					w /= float64(len(vals))
				}
				want[s*3+j] = w
			}
		}
		checkClose(t, got, want, classify.Shape{6, 3}, 1e-6)
	}
	// Integer means truncate; a uint8 segment of 300 rows does not wrap
	// its count; no ids give no rows.
	got := mustRun(t, "SegmentMean", nil, saI32([]int32{1, 2, -7, 4}, 4), saI64([]int64{0, 0, 1, 1}, 4))
	if d := got.Int32s(); d[0] != 1 || d[1] != -1 {
		t.Errorf("int32 mean: %v", d)
	}
	u := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{300}, Data: make([]uint8, 300)}
	got = mustRun(t, "SegmentMean", nil, u, classify.NewTensor(classify.Int32, 300))
	if d := got.Uint8s(); len(d) != 1 || d[0] != 0 {
		t.Errorf("uint8 mean of 300 zeros: %v", d)
	}
	got = mustRun(t, "SegmentMax", nil, classify.NewTensor(classify.Float32, 0, 2), classify.NewTensor(classify.Int32, 0))
	if !got.Shape.Equal(classify.Shape{0, 2}) {
		t.Errorf("empty: %v", got.Shape)
	}
	saCheckErrors(t, []saErrCase{
		{"unsorted", "SegmentMax", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 1, 0, 2, 2, 3, 3}, 7))}, classify.ErrInvalidInput, "not sorted"},
		{"negative", "SegmentMin", nil, []saIn{saFeed(x), saFeed(saI32([]int32{-1, 0, 0, 0, 0, 0, 0}, 7))}, classify.ErrInvalidInput, "negative"},
		{"length", "SegmentProd", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 1}, 2))}, classify.ErrInvalidInput, "as long as"},
		{"huge", "SegmentMean", nil, []saIn{saFeed(randF32(1, 0, 1, 1, 1<<10)), saFeed(saI32([]int32{1 << 30}, 1))}, classify.ErrInvalidInput, "elements"},
		{"dtype", "SegmentMean", nil, []saIn{saFeed(saBools(2)), saFeed(saI32([]int32{0, 0}, 2))}, classify.ErrInvalidInput, "bool"},
	})
}
