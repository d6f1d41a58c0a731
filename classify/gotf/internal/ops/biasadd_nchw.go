package ops

// BiasAdd with data_format NCHW, run as such. The loader's layout pass
// turns an NCHW BiasAdd whose input rank it knows into Transpose → NHWC
// BiasAdd → Transpose (so that fusion sees it); one whose rank is known
// only at run time reaches this kernel. As in TensorFlow's kernel, the
// channel dimension of NCHW is 1 for every rank from 2 up: bias[c] is added
// to every element of value[:, c, ...].

import (
	"github.com/classifyd/classifyd/classify"
)

type biasAddNCHW struct {
	n *Node
}

func buildBiasAddNCHW(n *Node) (Op, error) {
	if dt := n.Type("T"); dt != classify.Invalid && !addSpec.supports(dt) {
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	return &biasAddNCHW{n: n}, nil
}

// check validates value and bias shapes (-1 dims and nil shapes pass).
func (o *biasAddNCHW) check(a, b classify.Shape) error { return checkBiasShapes(o.n, a, b, true) }

// checkBiasShapes validates a BiasAdd's value and bias shapes (-1 dims and
// nil shapes pass): a value of rank 2 or more, a vector bias as long as
// the channel axis, 1 for NCHW and the last for NHWC.
func checkBiasShapes(n *Node, a, b classify.Shape, nchw bool) error {
	if a != nil && len(a) < 2 {
		return n.Errorf("value must be at least 2-D, has shape %v", a)
	}
	if b != nil && len(b) != 1 {
		return n.Errorf("bias must be a vector, has shape %v", b)
	}
	if a == nil || b == nil {
		return nil
	}
	ax, layout := len(a)-1, "NHWC"
	if nchw {
		ax, layout = 1, "NCHW"
	}
	if c := a[ax]; c >= 0 && b[0] >= 0 && c != b[0] {
		return n.Errorf("bias of %d elements for %d channels (%s value %v)", b[0], c, layout, a)
	}
	return nil
}

// OutputInfo implements Shaper.
func (o *biasAddNCHW) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return biasOutputInfo(o.n, in, addSpec.supports, o.check)
}

// biasOutputInfo is a BiasAdd kernel's Shaper: value and bias of one dtype
// (either may be unknown) that supports accepts, shapes that check
// accepts; the output is the value's dtype and shape.
func biasOutputInfo(n *Node, in []classify.TensorInfo, supports func(classify.DType) bool, check func(a, b classify.Shape) error) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, n.Errorf("want 2 inputs, have %d", len(in))
	}
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = in[1].DType
	}
	if in[1].DType != classify.Invalid && in[1].DType != dt {
		return nil, n.Errorf("dtype mismatch: %v and %v", dt, in[1].DType)
	}
	if dt != classify.Invalid && !supports(dt) {
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	if err := check(in[0].Shape, in[1].Shape); err != nil {
		return nil, err
	}
	return []classify.TensorInfo{{DType: dt, Shape: in[0].Shape.Clone()}}, nil
}

// FLOPs implements Flopper: one addition per element.
func (o *biasAddNCHW) FLOPs(in []classify.Shape) int64 {
	if len(in) != 2 {
		return 0
	}
	return ewCount(in[0])
}

// Run implements Op.
func (o *biasAddNCHW) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, o.n.InputErrorf("want 2 inputs")
	}
	x, b := in[0], in[1]
	if err := checkBiasRun(o.n, x, b, o.check); err != nil {
		return nil, err
	}
	c := x.Shape[1]
	rows := x.Shape[0] * c
	inner := 0
	if rows > 0 {
		inner = x.Len() / rows
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	switch xd := x.Data.(type) {
	case []float32:
		biasNCHWRows(ctx, out.Float32s(), xd, b.Float32s(), c, rows, inner)
	case []float64:
		biasNCHWRows(ctx, out.Data.([]float64), xd, b.Data.([]float64), c, rows, inner)
	case []int32:
		biasNCHWRows(ctx, out.Int32s(), xd, b.Int32s(), c, rows, inner)
	case []int64:
		biasNCHWRows(ctx, out.Int64s(), xd, b.Int64s(), c, rows, inner)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

// biasNCHWRows adds bias[r%c] to run r (inner elements) of x into y, for
// rows runs: NCHW's (batch, channel) rows, or NHWC's single elements with
// inner 1 (complex_bias.go).
func biasNCHWRows[T ewNumber | complex64 | complex128](ctx *Ctx, y, x, bias []T, c, rows, inner int) {
	if rows == 0 || inner == 0 {
		return
	}
	ewParallel(ctx, rows, inner, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			v := bias[r%c]
			xs, ys := x[r*inner:(r+1)*inner], y[r*inner:(r+1)*inner]
			for i, e := range xs {
				ys[i] = e + v
			}
		}
	})
}

// checkBiasRun validates a BiasAdd kernel's run-time value and bias: one
// dtype, shapes that check accepts, element counts matching the shapes.
func checkBiasRun(n *Node, x, b *classify.Tensor, check func(a, b classify.Shape) error) error {
	if x.DType != b.DType {
		return n.InputErrorf("dtype mismatch: %v and %v", x.DType, b.DType)
	}
	if x.Shape == nil || b.Shape == nil {
		return n.InputErrorf("value %v and bias %v need shapes", x.Shape, b.Shape)
	}
	if err := check(x.Shape, b.Shape); err != nil {
		return n.InputErrorf("%v", err)
	}
	if x.Len() != x.Shape.NumElements() || b.Len() != b.Shape.NumElements() {
		return n.InputErrorf("value %v or bias %v has the wrong number of elements", x.Shape, b.Shape)
	}
	return nil
}
