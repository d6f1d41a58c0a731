package ops

// MatrixSetDiag, MatrixSetDiagV2 and MatrixSetDiagV3: a copy of a batch of
// matrices with diagonal k (0 the main one, positive above it) replaced.
// As for MatrixDiag, one diagonal is supported; a range k = [lo, hi] with
// lo < hi is refused as unsupported, and the alignment of a single
// diagonal changes nothing.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for _, op := range []string{"MatrixSetDiag", "MatrixSetDiagV2", "MatrixSetDiagV3"} {
		Register(op, buildMatrixSetDiag)
	}
}

type setDiagOp struct {
	diag diagOp // for reading k
	v1   bool
}

func buildMatrixSetDiag(n *Node, _ []*classify.Tensor) (Op, error) {
	o := &setDiagOp{diag: diagOp{n: n}, v1: n.Op == "MatrixSetDiag"}
	want := 3
	if o.v1 {
		want = 2
	}
	if n.NumInputs != want {
		return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
	}
	if a := n.String("align", "RIGHT_LEFT"); a != "RIGHT_LEFT" && a != "LEFT_RIGHT" && a != "LEFT_LEFT" && a != "RIGHT_RIGHT" {
		return nil, n.Errorf("align %q", a)
	}
	return o, nil
}

// OutputInfo implements Shaper.
func (o *setDiagOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if s := in[0].Shape; s != nil && len(s) < 2 {
		return nil, o.diag.n.Errorf("input %v must have rank at least 2", s)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *setDiagOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.diag.n
	x, d := in[0], in[1]
	k := 0
	if !o.v1 {
		var err error
		if k, err = o.diag.diagK(in[2]); err != nil {
			return nil, err
		}
	}
	if len(x.Shape) < 2 {
		return nil, n.InputErrorf("input %v must have rank at least 2", x.Shape)
	}
	if x.DType != d.DType {
		return nil, n.InputErrorf("input is %v, diagonal %v", x.DType, d.DType)
	}
	r := len(x.Shape)
	rows, cols := x.Shape[r-2], x.Shape[r-1]
	if (k <= -rows || k >= cols) && rows*cols > 0 {
		return nil, n.InputErrorf("diagonal %d is outside a %dx%d matrix", k, rows, cols)
	}
	l := max(min(rows+min(k, 0), cols-max(k, 0)), 0)
	want := append(x.Shape[:r-2].Clone(), l)
	if !d.Shape.Equal(want) {
		return nil, n.InputErrorf("diagonal %v, want %v for input %v and k %d", d.Shape, want, x.Shape, k)
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	g := diagGeom{k: k, rows: rows, cols: cols, l: l}
	err := matrixKernel(x.DType,
		func() error { return setDiagAs[float32](out.Data, x.Data, d.Data, g) },
		func() error { return setDiagAs[float64](out.Data, x.Data, d.Data, g) },
		func() error { return setDiagAs[int32](out.Data, x.Data, d.Data, g) },
		func() error { return setDiagAs[int64](out.Data, x.Data, d.Data, g) },
		func() error { return setDiagAs[uint8](out.Data, x.Data, d.Data, g) },
		func() error { return setDiagAs[bool](out.Data, x.Data, d.Data, g) })
	if err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func setDiagAs[T any](dstData, srcData, diagData any, g diagGeom) error {
	dst, ok1 := dstData.([]T)
	src, ok2 := srcData.([]T)
	diag, ok3 := diagData.([]T)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("dtype mismatch: %T and %T into %T", srcData, diagData, dstData)
	}
	copy(dst, src)
	if g.l == 0 {
		return nil
	}
	mat := g.rows * g.cols
	for b := 0; b*mat < len(dst); b++ {
		for e := range g.l {
			i, j := e+max(-g.k, 0), e+max(g.k, 0)
			dst[b*mat+i*g.cols+j] = diag[b*g.l+e]
		}
	}
	return nil
}
