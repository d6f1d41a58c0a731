package ops

// CombinedNonMaxSuppression (tf.image.combined_non_max_suppression), as
// TensorFlow's CPU kernel: per image and class, greedy NMS of the class's
// scores (boxes shared by all classes when q is 1, else per class) keeps up
// to max_output_size_per_class boxes; the image's survivors of all
// classes are then ranked by score and the best max_total_size kept,
// boxes clipped to [0, 1] under clip_boxes. Outputs are padded with zeros
// to max_total_size (or, with pad_per_class, to
// min(max_total_size, max_output_size_per_class * num_classes)) and
// valid_detections counts the real ones. Equal scores rank by class, then
// by selection order (TensorFlow's sort leaves that order open).

import (
	"cmp"
	"slices"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("CombinedNonMaxSuppression", buildCombinedNMS)
}

type combinedNMSOp struct {
	n           *Node
	padPerClass bool
	clip        bool
}

func buildCombinedNMS(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 6 {
		return nil, n.Errorf("needs 6 inputs, has %d", n.NumInputs)
	}
	return &combinedNMSOp{n: n, padPerClass: n.Bool("pad_per_class", false), clip: n.Bool("clip_boxes", true)}, nil
}

func (o *combinedNMSOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	var b int = -1
	if s := in[0].Shape; len(s) == 4 {
		b = s[0]
	}
	return []classify.TensorInfo{
		{DType: classify.Float32, Shape: classify.Shape{b, -1, 4}},
		{DType: classify.Float32, Shape: classify.Shape{b, -1}},
		{DType: classify.Float32, Shape: classify.Shape{b, -1}},
		{DType: classify.Int32, Shape: classify.Shape{b}},
	}, nil
}

func (o *combinedNMSOp) scalarInt(t *classify.Tensor, what string) (int, error) {
	v, err := arrScalarInt(t)
	if err != nil || t.DType != classify.Int32 {
		return 0, o.n.InputErrorf("%s must be an int32 scalar, got %v %v", what, t.DType, t.Shape)
	}
	if v <= 0 {
		return 0, o.n.InputErrorf("%s should be > 0, got %d", what, v)
	}
	return v, nil
}

func (o *combinedNMSOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	boxes, scores := in[0], in[1]
	if boxes.DType != classify.Float32 || len(boxes.Shape) != 4 || boxes.Shape[3] != 4 {
		return nil, o.n.InputErrorf("boxes must be float32 [batch, num_boxes, q, 4], got %v %v", boxes.DType, boxes.Shape)
	}
	if scores.DType != classify.Float32 || len(scores.Shape) != 3 || scores.Shape[0] != boxes.Shape[0] || scores.Shape[1] != boxes.Shape[1] {
		return nil, o.n.InputErrorf("scores must be float32 [%d, %d, num_classes], got %v %v", boxes.Shape[0], boxes.Shape[1], scores.DType, scores.Shape)
	}
	batch, nb, q, classes := boxes.Shape[0], boxes.Shape[1], boxes.Shape[2], scores.Shape[2]
	if q != 1 && q != classes {
		return nil, o.n.InputErrorf("third dimension of boxes must be either 1 or num_classes (%d), got %d", classes, q)
	}
	perClass, err := o.scalarInt(in[2], "max_output_size_per_class")
	if err != nil {
		return nil, err
	}
	total, err := o.scalarInt(in[3], "max_total_size")
	if err != nil {
		return nil, err
	}
	nmsArgs := &nmsOp{n: o.n}
	iouT, err := nmsArgs.nmsScalar(in[4], "iou_threshold")
	if err != nil {
		return nil, err
	}
	if !(iouT >= 0 && iouT <= 1) {
		return nil, o.n.InputErrorf("iou_threshold %v must be in [0, 1]", iouT)
	}
	scoreT, err := nmsArgs.nmsScalar(in[5], "score_threshold")
	if err != nil {
		return nil, err
	}
	per := total
	if o.padPerClass && int64(perClass)*int64(classes) < int64(total) {
		per = perClass * classes
	}
	if err := arrCheckDims([]int{batch, per, 4}); err != nil {
		return nil, o.n.InputErrorf("max_total_size: %v", err)
	}
	outBoxes := ctx.Output(0, classify.Float32, batch, per, 4)
	outScores := ctx.Output(1, classify.Float32, batch, per)
	outClasses := ctx.Output(2, classify.Float32, batch, per)
	valid := ctx.Output(3, classify.Int32, batch)
	ob, os, oc, ov := outBoxes.Float32s(), outScores.Float32s(), outClasses.Float32s(), valid.Int32s()
	clear(ob)
	clear(os)
	clear(oc)
	bd, sd := boxes.Float32s(), scores.Float32s()
	type cand struct {
		box   []float32
		score float32
		class int
	}
	classBoxes := make([]float32, nb*4)
	classScores := make([]float32, nb)
	for b := range batch {
		var all []cand
		for c := range classes {
			qc := 0
			if q > 1 {
				qc = c
			}
			for i := range nb {
				copy(classBoxes[4*i:4*i+4], bd[((b*nb+i)*q+qc)*4:])
				classScores[i] = sd[(b*nb+i)*classes+c]
			}
			sel, selScores := nms(iouSim(classBoxes), classScores, min(perClass, nb), iouT, scoreT, 0)
			for k, i := range sel {
				all = append(all, cand{box: bd[((b*nb+int(i))*q+qc)*4:][:4], score: selScores[k], class: c})
			}
		}
		slices.SortStableFunc(all, func(x, y cand) int { return cmp.Compare(y.score, x.score) })
		keep := min(len(all), per)
		ov[b] = int32(keep)
		for k, c := range all[:keep] {
			dst := ob[(b*per+k)*4 : (b*per+k)*4+4]
			copy(dst, c.box)
			if o.clip {
				for j := range dst {
					dst[j] = max(min(dst[j], 1), 0)
				}
			}
			os[b*per+k] = c.score
			oc[b*per+k] = float32(c.class)
		}
	}
	return []*classify.Tensor{outBoxes, outScores, outClasses, valid}, nil
}
