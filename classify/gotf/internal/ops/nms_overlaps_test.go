package ops

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// iouMatrix is the pairwise IoU of corner boxes, written from the
// definition (TensorFlow's own NonMaxSuppressionWithOverlaps tests feed
// such a matrix).
func iouMatrix(b []float32) *classify.Tensor {
	n := len(b) / 4
	t := classify.NewTensor(classify.Float32, n, n)
	m := t.Float32s()
	area := func(i int) (y0, x0, y1, x1, a float32) {
		y0, y1 = min(b[4*i], b[4*i+2]), max(b[4*i], b[4*i+2])
		x0, x1 = min(b[4*i+1], b[4*i+3]), max(b[4*i+1], b[4*i+3])
		return y0, x0, y1, x1, (y1 - y0) * (x1 - x0)
	}
	for i := range n {
		for j := range n {
			ay0, ax0, ay1, ax1, aa := area(i)
			by0, bx0, by1, bx1, ba := area(j)
			if aa <= 0 || ba <= 0 {
				continue
			}
			inter := max(min(ay1, by1)-max(ay0, by0), 0) * max(min(ax1, bx1)-max(ax0, bx0), 0)
			m[i*n+j] = inter / (aa + ba - inter)
		}
	}
	return t
}

// TestNMSWithOverlaps checks NonMaxSuppressionWithOverlaps: over the IoU
// matrix of boxes it selects what NonMaxSuppressionV3 selects from the
// boxes; an asymmetric matrix shows that overlaps[candidate][selected]
// is the entry read; thresholds above 1 are allowed (no IoU range check).
func TestNMSWithOverlaps(t *testing.T) {
	sc := func(v float32) saIn {
		return saFeed(&classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{v}})
	}
	mx := func(v int32) saIn {
		return saFeed(&classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{v}})
	}
	for seed := uint64(1); seed <= 20; seed++ {
		n := 5 + int(seed)*3
		boxes := nmsBoxes(seed, n)
		r := rand.New(rand.NewPCG(seed, 9))
		scores := classify.NewTensor(classify.Float32, n)
		for i := range scores.Float32s() {
			scores.Float32s()[i] = float32(r.IntN(8)) / 8 // ties on purpose
		}
		iouT, scoreT := 0.2+0.05*float32(seed%8), float32(seed%3)/8
		want, err := saRun(t, "NonMaxSuppressionV3", nil, saFeed(boxes), saFeed(scores), mx(int32(n/2)), sc(iouT), sc(scoreT))
		if err != nil {
			t.Fatal(err)
		}
		got, err := saRun(t, "NonMaxSuppressionWithOverlaps", nil, saFeed(iouMatrix(boxes.Float32s())), saFeed(scores), mx(int32(n/2)), sc(iouT), sc(scoreT))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[0].Int32s(), want[0].Int32s()) || len(got) != 1 {
			t.Fatalf("seed %d: got %v (%d outputs), V3 on the boxes selects %v", seed, got[0].Int32s(), len(got), want[0].Int32s())
		}
	}
	m := func(v ...float32) saIn { return saFeed(classify.FromFloat32(v, 2, 2)) }
	s := saFeed(classify.FromFloat32([]float32{0.9, 0.8}, 2))
	for _, c := range []struct {
		name     string
		overlaps saIn
		thr      float32
		want     []int32
	}{
		{"candidate_row_suppressed", m(0, 0, 0.7, 0), 0.5, []int32{0}},
		{"selected_row_ignored", m(0, 0.7, 0, 0), 0.5, []int32{0, 1}},
		{"threshold_above_one", m(0, 0, 3, 0), 2.5, []int32{0}},
	} {
		got, err := saRun(t, "NonMaxSuppressionWithOverlaps", nil, c.overlaps, s, mx(5), sc(c.thr), sc(0))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[0].Int32s(), c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got[0].Int32s(), c.want)
		}
	}
	inv := classify.ErrInvalidInput
	saCheckErrors(t, []saErrCase{
		{"not_square", "NonMaxSuppressionWithOverlaps", nil, []saIn{saFeed(classify.FromFloat32(make([]float32, 6), 2, 3)), s, mx(2), sc(0.5), sc(0)}, inv, "[num_boxes, num_boxes]"},
		{"scores_length", "NonMaxSuppressionWithOverlaps", nil, []saIn{m(0, 0, 0, 0), saFeed(classify.FromFloat32([]float32{1, 2, 3}, 3)), mx(2), sc(0.5), sc(0)}, inv, "scores"},
		{"negative_max", "NonMaxSuppressionWithOverlaps", nil, []saIn{m(0, 0, 0, 0), s, mx(-1), sc(0.5), sc(0)}, inv, "non-negative"},
		{"threshold_not_scalar", "NonMaxSuppressionWithOverlaps", nil, []saIn{m(0, 0, 0, 0), s, mx(2), saFeed(classify.FromFloat32([]float32{1, 2}, 2)), sc(0)}, inv, "overlap_threshold"},
	})
}
