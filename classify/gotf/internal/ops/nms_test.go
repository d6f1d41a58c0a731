package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// nmsBoxes returns n random boxes in [0, 1]², corners in either order,
// clustered so that many overlap.
func nmsBoxes(seed uint64, n int) *classify.Tensor {
	r := rand.New(rand.NewPCG(seed, 3))
	t := classify.NewTensor(classify.Float32, n, 4)
	d := t.Float32s()
	for i := range n {
		cy, cx := 0.2+0.6*r.Float32(), 0.2+0.6*r.Float32()
		if i%3 == 0 && i > 0 { // near the previous box
			cy, cx = (d[4*(i-1)]+d[4*(i-1)+2])/2+0.02*r.Float32(), (d[4*(i-1)+1]+d[4*(i-1)+3])/2
		}
		h, w := 0.05+0.3*r.Float32(), 0.05+0.3*r.Float32()
		y1, x1, y2, x2 := cy-h/2, cx-w/2, cy+h/2, cx+w/2
		if i%4 == 1 {
			y1, y2 = y2, y1
		}
		copy(d[4*i:], []float32{y1, x1, y2, x2})
	}
	return t
}

// TestNMSGolden checks against TensorFlow.js, whose NonMaxSuppressionV5
// returns neither valid_outputs nor padding: those are checked by
// TestNMSPadding.
func TestNMSGolden(t *testing.T) {
	boxes := nmsBoxes(1401, 40)
	scores := randF32(1402, 0, 1, 40)
	f := saF32s
	maxOut := func(v int32) saIn { return saConst(saI32([]int32{v})) }
	v4 := graphdef.Attrs{"T": classify.Float32, "T_threshold": classify.Float32}
	cases := []goldenCase{
		saCase("nmsv2", "NonMaxSuppressionV2", graphdef.Attrs{"T": classify.Float32, "T_threshold": classify.Float32}, 1,
			saFeed(boxes), saFeed(scores), maxOut(10), saConst(f(0.5))),
		saCase("nmsv3_score_threshold", "NonMaxSuppressionV3", v4, 1,
			saFeed(boxes), saFeed(scores), maxOut(30), saConst(f(0.3)), saConst(f(0.4))),
		saCase("nmsv3_max_fed", "NonMaxSuppressionV3", v4, 1,
			saFeed(boxes), saFeed(scores), saFeed(saI32([]int32{5})), saConst(f(0.6)), saConst(f(0))),
		saCase("nmsv4_padded", "NonMaxSuppressionV4", graphdef.Attrs{"T": classify.Float32, "T_threshold": classify.Float32, "pad_to_max_output_size": true}, 2,
			saFeed(boxes), saFeed(scores), maxOut(25), saConst(f(0.3)), saConst(f(0.5))),
		saCase("nmsv5_hard", "NonMaxSuppressionV5", graphdef.Attrs{"T": classify.Float32, "pad_to_max_output_size": false}, 2,
			saFeed(boxes), saFeed(scores), maxOut(20), saConst(f(0.45)), saConst(f(0.1)), saConst(f(0))),
		saCase("nmsv5_soft", "NonMaxSuppressionV5", graphdef.Attrs{"T": classify.Float32, "pad_to_max_output_size": false}, 2,
			saFeed(boxes), saFeed(scores), maxOut(20), saConst(f(0.9)), saConst(f(0.2)), saConst(f(0.5))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestNMSTiesAndEdges checks TensorFlow's documented rules where the
// oracle is no help: equal scores go to the lower index, an IoU equal to
// the threshold does not suppress, empty boxes overlap nothing, NaN
// scores are never candidates.
func TestNMSTiesAndEdges(t *testing.T) {
	b := func(v ...float32) *classify.Tensor { return cropBoxes(v...) }
	s := func(v ...float32) *classify.Tensor {
		return &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{len(v)}, Data: v}
	}
	run := func(boxes, scores *classify.Tensor, max int32, iou float32) []int32 {
		t.Helper()
		out, err := saRun(t, "NonMaxSuppressionV3", nil, saFeed(boxes), saFeed(scores), saConst(saI32([]int32{max})), saConst(saF32s(iou)), saConst(saF32s(-1)))
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Int32s()
	}
	eq := func(name string, got []int32, want ...int32) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: got %v, want %v", name, got, want)
				return
			}
		}
	}
	same := b(0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1)
	eq("ties_lower_index", run(same, s(0.5, 0.7, 0.7), 3, 0.5), 1)
	// Box 1 overlaps box 0 with IoU exactly 1/3 (intersection 0.5, union 1.5).
	half := b(0, 0, 1, 1, 0, 0.5, 1, 1.5)
	eq("iou_at_threshold_kept", run(half, s(0.9, 0.8), 2, float32(1)/3), 0, 1)
	eq("iou_above_threshold", run(half, s(0.9, 0.8), 2, 0.3), 0)
	eq("empty_box", run(b(0, 0, 1, 1, 0.5, 0.5, 0.5, 0.9), s(0.9, 0.8), 2, 0), 0, 1)
	eq("nan_score", run(b(0, 0, 1, 1, 2, 2, 3, 3), s(float32(math.NaN()), 0.1), 2, 0.5), 1)
	eq("max_zero", run(same, s(0.5, 0.7, 0.7), 0, 0.5))
	eq("no_boxes", run(b(), s(), 5, 0.5))
}

func TestNMSErrors(t *testing.T) {
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	bx := nmsBoxes(1, 3)
	sc := randF32(2, 0, 1, 3)
	f := func(v float32) saIn { return saConst(saF32s(v)) }
	mo := saConst(saI32([]int32{2}))
	saCheckErrors(t, []saErrCase{
		{"iou_range", "NonMaxSuppressionV3", nil, []saIn{saFeed(bx), saFeed(sc), mo, f(1.5), f(0)}, inv, "[0, 1]"},
		{"scores_len", "NonMaxSuppressionV3", nil, []saIn{saFeed(bx), saFeed(randF32(2, 0, 1, 4)), mo, f(0.5), f(0)}, inv, "scores"},
		{"boxes_shape", "NonMaxSuppressionV2", nil, []saIn{saFeed(randF32(2, 0, 1, 3, 3)), saFeed(sc), mo, f(0.5)}, inv, "boxes"},
		{"max_negative_const", "NonMaxSuppressionV3", nil, []saIn{saFeed(bx), saFeed(sc), saConst(saI32([]int32{-1})), f(0.5), f(0)}, bad, "non-negative"},
		{"max_negative_fed", "NonMaxSuppressionV4", nil, []saIn{saFeed(bx), saFeed(sc), saFeed(saI32([]int32{-1})), f(0.5), f(0)}, inv, "non-negative"},
		{"max_huge_padded", "NonMaxSuppressionV4", graphdef.Attrs{"pad_to_max_output_size": true}, []saIn{saFeed(bx), saFeed(sc), saFeed(saI32([]int32{1 << 30})), f(0.5), f(0)}, inv, "elements"},
		{"sigma_negative", "NonMaxSuppressionV5", nil, []saIn{saFeed(bx), saFeed(sc), mo, f(0.5), f(0), f(-1)}, inv, "soft_nms_sigma"},
		{"inputs", "NonMaxSuppressionV5", nil, []saIn{saFeed(bx), saFeed(sc), mo, f(0.5), f(0)}, bad, "needs 6 inputs"},
	})
}

func TestNMSInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	in5 := []classify.TensorInfo{saInfo(f32, -1, 4), saInfo(f32, -1), saInfo(i32), saInfo(f32), saInfo(f32), saInfo(f32)}
	saCheckShapes(t, []saShapeCase{
		{name: "v5_padded", op: "NonMaxSuppressionV5", attrs: graphdef.Attrs{"pad_to_max_output_size": true}, in: in5,
			consts: map[int]*classify.Tensor{2: saI32([]int32{100})}, want: []classify.TensorInfo{saInfo(i32, 100), saInfo(f32, 100), saInfo(i32)}},
		{name: "v4_unpadded", op: "NonMaxSuppressionV4", in: in5[:5],
			consts: map[int]*classify.Tensor{2: saI32([]int32{100})}, want: []classify.TensorInfo{saInfo(i32, -1), saInfo(i32)}},
		{name: "v3", op: "NonMaxSuppressionV3", in: in5[:5], want: []classify.TensorInfo{saInfo(i32, -1)}},
		{name: "bad_boxes", op: "NonMaxSuppressionV3", in: append([]classify.TensorInfo{saInfo(f32, 5, 3)}, in5[1:5]...), err: true},
	})
}

// TestNMSPadding: padded V4/V5 outputs are the unpadded selection
// followed by zeros, and valid_outputs counts the selection.
func TestNMSPadding(t *testing.T) {
	boxes, scores := nmsBoxes(1403, 30), randF32(1404, 0, 1, 30)
	for _, op := range []string{"NonMaxSuppressionV4", "NonMaxSuppressionV5"} {
		for _, sigma := range []float32{0, 0.5} {
			if op == "NonMaxSuppressionV4" && sigma > 0 {
				continue
			}
			in := func() []saIn {
				s := []saIn{saFeed(boxes), saFeed(scores), saFeed(saI32([]int32{40})), saConst(saF32s(0.4)), saConst(saF32s(0.2))}
				if op == "NonMaxSuppressionV5" {
					s = append(s, saConst(saF32s(sigma)))
				}
				return s
			}
			plain, err := saRun(t, op, nil, in()...)
			if err != nil {
				t.Fatal(err)
			}
			padded, err := saRun(t, op, graphdef.Attrs{"pad_to_max_output_size": true}, in()...)
			if err != nil {
				t.Fatal(err)
			}
			n := plain[0].Len()
			valid := padded[len(padded)-1].Int32s()[0]
			if int(valid) != n || plain[len(plain)-1].Int32s()[0] != valid || n == 0 || n >= 30 {
				t.Fatalf("%s sigma %v: %d selected, valid_outputs %d", op, sigma, n, valid)
			}
			for k := range len(padded) - 1 {
				if padded[k].Len() != 40 {
					t.Fatalf("%s: output %d has %d elements, want 40", op, k, padded[k].Len())
				}
				g, w := classifytest.Float64s(padded[k]), classifytest.Float64s(plain[k])
				for i := range g {
					if i < n && g[i] != w[i] || i >= n && g[i] != 0 {
						t.Fatalf("%s sigma %v: output %d element %d = %v", op, sigma, k, i, g[i])
					}
				}
			}
		}
	}
}
