package ops

// Non-maximum suppression, NonMaxSuppressionV2 to V5, as TensorFlow's
// non_max_suppression_op.cc: boxes (corner coordinates in either order)
// are taken by descending score, ties to the lower index; a candidate is
// dropped when its IoU with an already selected box exceeds
// iou_threshold, and only scores above score_threshold are candidates. V5
// with soft_nms_sigma > 0 is soft-NMS: instead of dropping, a candidate's
// score decays by exp(-iou²/(2σ)) for each selected box it overlaps, and
// goes back in the queue while above score_threshold. V4 and V5 may pad
// the selection with zeros to max_output_size and report how many are
// valid. NonMaxSuppressionWithOverlaps is V3 over a given [n, n]
// similarity matrix instead of boxes: overlaps[i][j] is candidate i's
// overlap with selected box j, suppressing above overlap_threshold (any
// value: the matrix need not hold IoUs).

import (
	"container/heap"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for _, op := range []string{"NonMaxSuppressionV2", "NonMaxSuppressionV3", "NonMaxSuppressionV4", "NonMaxSuppressionV5", "NonMaxSuppressionWithOverlaps"} {
		Register(op, buildNMS)
	}
}

type nmsOp struct {
	n      *Node
	nin    int
	pad    bool
	scores bool // V5: a selected_scores output
	valid  bool // V4, V5: a valid_outputs output
	max    int  // constant max_output_size, or -1
	// overlaps: input 0 is the similarity matrix, not boxes
	// (NonMaxSuppressionWithOverlaps).
	overlaps bool
}

func buildNMS(n *Node, consts []*classify.Tensor) (Op, error) {
	o := &nmsOp{n: n, max: -1}
	switch n.Op {
	case "NonMaxSuppressionV2":
		o.nin = 4
	case "NonMaxSuppressionV3":
		o.nin = 5
	case "NonMaxSuppressionWithOverlaps":
		o.nin, o.overlaps = 5, true
	case "NonMaxSuppressionV4":
		o.nin, o.valid, o.pad = 5, true, n.Bool("pad_to_max_output_size", false)
	case "NonMaxSuppressionV5":
		o.nin, o.valid, o.scores, o.pad = 6, true, true, n.Bool("pad_to_max_output_size", false)
	}
	if n.NumInputs != o.nin {
		return nil, n.Errorf("needs %d inputs, has %d", o.nin, n.NumInputs)
	}
	if c := consts[2]; c != nil {
		m, err := arrScalarInt(c)
		if err != nil {
			return nil, n.Errorf("max_output_size: %v", err)
		}
		if m < 0 {
			return nil, n.Errorf("max_output_size %d must be non-negative", m)
		}
		o.max = m
	}
	return o, nil
}

func (o *nmsOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if b := in[0].Shape; o.overlaps {
		if b != nil && (len(b) != 2 || b[0] >= 0 && b[1] >= 0 && b[0] != b[1]) {
			return nil, o.n.Errorf("overlaps shape %v, want [num_boxes, num_boxes]", b)
		}
	} else if b != nil && (len(b) != 2 || b[1] >= 0 && b[1] != 4) {
		return nil, o.n.Errorf("boxes shape %v, want [num_boxes, 4]", b)
	}
	n := -1
	if o.pad && o.max >= 0 {
		n = o.max
	}
	out := []classify.TensorInfo{{DType: classify.Int32, Shape: classify.Shape{n}}}
	if o.scores {
		out = append(out, classify.TensorInfo{DType: classify.Float32, Shape: classify.Shape{n}})
	}
	if o.valid {
		out = append(out, classify.TensorInfo{DType: classify.Int32, Shape: classify.Shape{}})
	}
	return out, nil
}

// nmsScalar reads a float32 scalar input.
func (o *nmsOp) nmsScalar(t *classify.Tensor, what string) (float32, error) {
	if t.DType != classify.Float32 || t.Len() != 1 || len(t.Shape) > 1 {
		return 0, o.n.InputErrorf("%s must be a float32 scalar, got %v %v", what, t.DType, t.Shape)
	}
	return t.Float32s()[0], nil
}

func (o *nmsOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	boxes, scores := in[0], in[1]
	var sim func(i, j int) float32
	nb := 0
	if o.overlaps {
		if boxes.DType != classify.Float32 || len(boxes.Shape) != 2 || boxes.Shape[0] != boxes.Shape[1] {
			return nil, o.n.InputErrorf("overlaps must be float32 [num_boxes, num_boxes], got %v %v", boxes.DType, boxes.Shape)
		}
		nb = boxes.Shape[0]
		m := boxes.Float32s()
		sim = func(i, j int) float32 { return m[i*nb+j] }
	} else {
		if boxes.DType != classify.Float32 || len(boxes.Shape) != 2 || boxes.Shape[1] != 4 {
			return nil, o.n.InputErrorf("boxes must be float32 [num_boxes, 4], got %v %v", boxes.DType, boxes.Shape)
		}
		nb = boxes.Shape[0]
		sim = iouSim(boxes.Float32s())
	}
	if scores.DType != classify.Float32 || len(scores.Shape) != 1 || scores.Shape[0] != nb {
		return nil, o.n.InputErrorf("scores must be float32 [%d], got %v %v", nb, scores.DType, scores.Shape)
	}
	max := o.max
	if max < 0 {
		var err error
		if max, err = arrScalarInt(in[2]); err != nil {
			return nil, o.n.InputErrorf("max_output_size: %v", err)
		}
		if max < 0 {
			return nil, o.n.InputErrorf("max_output_size %d must be non-negative", max)
		}
		if o.pad {
			if err := arrCheckDims([]int{max}); err != nil {
				return nil, o.n.InputErrorf("max_output_size: %v", err)
			}
		}
	}
	thrName := "iou_threshold"
	if o.overlaps {
		thrName = "overlap_threshold"
	}
	iouT, err := o.nmsScalar(in[3], thrName)
	if err != nil {
		return nil, err
	}
	if !o.overlaps && !(iouT >= 0 && iouT <= 1) {
		return nil, o.n.InputErrorf("iou_threshold %v must be in [0, 1]", iouT)
	}
	scoreT := float32(-math.MaxFloat32)
	if o.nin >= 5 {
		if scoreT, err = o.nmsScalar(in[4], "score_threshold"); err != nil {
			return nil, err
		}
	}
	var sigma float32
	if o.nin == 6 {
		if sigma, err = o.nmsScalar(in[5], "soft_nms_sigma"); err != nil {
			return nil, err
		}
		if sigma < 0 {
			return nil, o.n.InputErrorf("soft_nms_sigma %v must be non-negative", sigma)
		}
	}
	sel, selScores := nms(sim, scores.Float32s(), min(max, nb), iouT, scoreT, sigma)
	n := len(sel)
	if o.pad {
		n = max
	}
	idx := ctx.Output(0, classify.Int32, n)
	id := idx.Int32s()
	clear(id)
	copy(id, sel)
	out := []*classify.Tensor{idx}
	if o.scores {
		st := ctx.Output(1, classify.Float32, n)
		sd := st.Float32s()
		clear(sd)
		copy(sd, selScores)
		out = append(out, st)
	}
	if o.valid {
		v := ctx.Output(len(out), classify.Int32)
		v.Int32s()[0] = int32(len(sel))
		out = append(out, v)
	}
	return out, nil
}

// nmsCand is a box in the queue: its current score, and how many of the
// selected boxes it has already been compared with.
type nmsCand struct {
	i     int
	score float32
	begin int
}

type nmsQueue []nmsCand

func (q nmsQueue) Len() int { return len(q) }
func (q nmsQueue) Less(a, b int) bool {
	if q[a].score != q[b].score {
		return q[a].score > q[b].score
	}
	return q[a].i < q[b].i
}
func (q nmsQueue) Swap(a, b int) { q[a], q[b] = q[b], q[a] }
func (q *nmsQueue) Push(x any)   { *q = append(*q, x.(nmsCand)) }
func (q *nmsQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// iouSim is the similarity of boxes b, corner coordinates 4 per box.
func iouSim(b []float32) func(i, j int) float32 {
	return func(i, j int) float32 { return nmsIoU(b, i, j) }
}

// nmsIoU is TensorFlow's IOU for corner boxes given in either order;
// empty boxes overlap nothing.
func nmsIoU(b []float32, i, j int) float32 {
	bi, bj := b[4*i:4*i+4], b[4*j:4*j+4]
	ymi, xmi := min(bi[0], bi[2]), min(bi[1], bi[3])
	yMi, xMi := max(bi[0], bi[2]), max(bi[1], bi[3])
	ymj, xmj := min(bj[0], bj[2]), min(bj[1], bj[3])
	yMj, xMj := max(bj[0], bj[2]), max(bj[1], bj[3])
	ai := (yMi - ymi) * (xMi - xmi)
	aj := (yMj - ymj) * (xMj - xmj)
	if ai <= 0 || aj <= 0 {
		return 0
	}
	iy := max(min(yMi, yMj)-max(ymi, ymj), 0)
	ix := max(min(xMi, xMj)-max(xmi, xmj), 0)
	inter := iy * ix
	return inter / (ai + aj - inter)
}

// nms selects up to limit boxes; it returns their indices and (possibly
// decayed) scores. sim(i, j) is candidate i's overlap with selected box j.
func nms(sim func(i, j int) float32, scores []float32, limit int, iouT, scoreT, sigma float32) ([]int32, []float32) {
	var q nmsQueue
	for i, s := range scores {
		if s > scoreT {
			q = append(q, nmsCand{i: i, score: s})
		}
	}
	heap.Init(&q)
	var scale float32
	if sigma > 0 {
		scale = -0.5 / sigma
	}
	var sel []int32
	var selScores []float32
	for len(sel) < limit && q.Len() > 0 {
		c := heap.Pop(&q).(nmsCand)
		orig := c.score
		hard := false
		for j := len(sel) - 1; j >= c.begin; j-- {
			iou := sim(c.i, int(sel[j]))
			if iou > iouT {
				c.score = 0
			} else if sigma > 0 {
				c.score *= float32(math.Exp(float64(scale * iou * iou)))
			}
			if sigma == 0 && iou > iouT {
				hard = true
				break
			}
			if c.score <= scoreT {
				break
			}
		}
		c.begin = len(sel)
		if hard {
			continue
		}
		if c.score == orig {
			sel, selScores = append(sel, int32(c.i)), append(selScores, c.score)
		} else if c.score > scoreT {
			heap.Push(&q, c)
		}
	}
	return sel, selScores
}
