package ops

// SparseSegmentSumGrad, SparseSegmentMeanGrad and SparseSegmentSqrtNGrad
// (grad, indices, segment_ids, output_dim0): the gradients of the sparse
// segment reductions (sparse.go), as TensorFlow's SparseSegmentGradOpBase:
// a tensor of grad's shape with output_dim0 rows, zero except
// out[indices[i]] += grad[segment_ids[i]] · w, with w = 1 (Sum),
// 1/count (Mean) or 1/√count (SqrtN) for the count of segment_ids[i]'s
// occurrences. Segment ids must index grad's rows and indices the output's
// (TensorFlow's two range errors); output_dim0 is client-controlled and
// bounded with grad's row size before anything is allocated.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for i, op := range []string{"SparseSegmentSumGrad", "SparseSegmentMeanGrad", "SparseSegmentSqrtNGrad"} {
		Register(op, buildSparseSegmentGrad(i))
		promote(op, "T", nil, halfDTypes...)
	}
}

const (
	ssgSum = iota
	ssgMean
	ssgSqrtN
)

type sparseSegmentGradOp struct {
	n    *Node
	kind int
}

func buildSparseSegmentGrad(kind int) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 4 {
			return nil, n.Errorf("needs 4 inputs (grad, indices, segment_ids, output_dim0), has %d", n.NumInputs)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
		return &sparseSegmentGradOp{n: n, kind: kind}, nil
	}
}

// OutputInfo implements Shaper.
func (o *sparseSegmentGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	g := in[0]
	if g.DType != classify.Invalid && g.DType != classify.Float32 && g.DType != classify.Float64 {
		return nil, o.n.Errorf("unsupported dtype %v (float32, float64)", g.DType)
	}
	if g.Shape == nil {
		return []classify.TensorInfo{{DType: g.DType}}, nil
	}
	if len(g.Shape) < 1 {
		return nil, o.n.Errorf("grad must have rank >= 1, has shape %v", g.Shape)
	}
	s := g.Shape.Clone()
	s[0] = -1
	return []classify.TensorInfo{{DType: g.DType, Shape: s}}, nil
}

// Run implements Op.
func (o *sparseSegmentGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	g, idxT, segT, dimT := in[0], in[1], in[2], in[3]
	if g.DType != classify.Float32 && g.DType != classify.Float64 || len(g.Shape) < 1 || g.Len() != g.Shape.NumElements() {
		return nil, n.InputErrorf("grad must be float32 or float64 of rank >= 1, got %v %v", g.DType, g.Shape)
	}
	if len(idxT.Shape) != 1 || len(segT.Shape) != 1 || idxT.Shape[0] != segT.Shape[0] {
		return nil, n.InputErrorf("indices %v and segment_ids %v must be vectors of one length", idxT.Shape, segT.Shape)
	}
	idx, err := arrInts(idxT)
	if err != nil {
		return nil, n.InputErrorf("indices: %v", err)
	}
	seg, err := arrInts(segT)
	if err != nil {
		return nil, n.InputErrorf("segment_ids: %v", err)
	}
	dims, err := arrInts(dimT)
	if err != nil || len(dims) != 1 || len(dimT.Shape) != 0 {
		return nil, n.InputErrorf("output_dim0 must be an int32 or int64 scalar, got %v %v", dimT.DType, dimT.Shape)
	}
	shape := append([]int{dims[0]}, g.Shape[1:]...)
	if err := arrCheckDims(shape); err != nil {
		return nil, n.InputErrorf("output shape: %v", err)
	}
	rows := g.Shape[0]
	var w []float64
	if o.kind != ssgSum {
		w = make([]float64, rows)
	}
	for i, s := range seg {
		if s < 0 || s >= rows {
			return nil, n.InputErrorf("segment_ids[%d] = %d is out of range [0, %d)", i, s, rows)
		}
		if v := idx[i]; v < 0 || v >= dims[0] {
			return nil, n.InputErrorf("indices[%d] = %d is out of range [0, %d)", i, v, dims[0])
		}
		if w != nil {
			w[s]++
		}
	}
	for i, c := range w {
		c = max(c, 1)
		if o.kind == ssgMean {
			w[i] = 1 / c
		} else {
			w[i] = 1 / math.Sqrt(c)
		}
	}
	out := ctx.Output(0, g.DType, shape...)
	inner := arrProd(g.Shape[1:])
	switch g.DType {
	case classify.Float32:
		ssgRun(out.Float32s(), g.Float32s(), idx, seg, w, inner)
	case classify.Float64:
		ssgRun(out.Data.([]float64), g.Data.([]float64), idx, seg, w, inner)
	}
	return []*classify.Tensor{out}, nil
}

func ssgRun[T float32 | float64](dst, g []T, idx, seg []int, w []float64, inner int) {
	clear(dst)
	for i, s := range seg {
		d, src := dst[idx[i]*inner:][:inner], g[s*inner:][:inner]
		if w == nil {
			for k, v := range src {
				d[k] += v
			}
			continue
		}
		f := T(w[s])
		for k, v := range src {
			d[k] += v * f
		}
	}
}
