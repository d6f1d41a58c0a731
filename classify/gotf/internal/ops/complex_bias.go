package ops

// BiasAdd and BiasAddV1 on complex64 and complex128 (TensorFlow's CPU
// kernel is registered for every number type, complex included). The
// loader builds this kernel for a node whose T is complex (complex.go's
// overrides), so the float path is untouched. Both layouts: the channel
// axis is the last one for NHWC and axis 1 for NCHW, at every rank from 2
// up, as in TensorFlow. Complex addition adds the parts, so complex64
// results are exact roundings of the sums, as in Eigen.

import (
	"github.com/classifyd/classifyd/classify"
)

type complexBiasAdd struct {
	n    *Node
	nchw bool
}

func buildComplexBiasAdd(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("want 2 inputs, have %d", n.NumInputs)
	}
	f := n.String("data_format", "NHWC")
	if f != "NHWC" && f != "NCHW" {
		return nil, n.Errorf("data_format %q not supported (NHWC, NCHW)", f)
	}
	return &complexBiasAdd{n: n, nchw: f == "NCHW"}, nil
}

// check validates value and bias shapes (-1 dims and nil shapes pass).
func (o *complexBiasAdd) check(a, b classify.Shape) error { return checkBiasShapes(o.n, a, b, o.nchw) }

// OutputInfo implements Shaper.
func (o *complexBiasAdd) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return biasOutputInfo(o.n, in, func(dt classify.DType) bool { return dt == classify.Complex64 || dt == classify.Complex128 }, o.check)
}

// Run implements Op.
func (o *complexBiasAdd) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, o.n.InputErrorf("want 2 inputs")
	}
	x, b := in[0], in[1]
	if err := checkBiasRun(o.n, x, b, o.check); err != nil {
		return nil, err
	}
	ax := len(x.Shape) - 1
	if o.nchw {
		ax = 1
	}
	// Runs of inner elements share one bias value: the NCHW kernel's loop
	// serves both layouts (inner is 1 for NHWC).
	c, inner, rows := x.Shape[ax], arrProd(x.Shape[ax+1:]), 0
	if inner > 0 {
		rows = x.Len() / inner
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	switch xd := x.Data.(type) {
	case []complex64:
		biasNCHWRows(ctx, out.Data.([]complex64), xd, b.Data.([]complex64), c, rows, inner)
	case []complex128:
		biasNCHWRows(ctx, out.Data.([]complex128), xd, b.Data.([]complex128), c, rows, inner)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

func init() {
	for _, op := range []string{"BiasAdd", "BiasAddV1"} {
		complexOverrides[op] = buildComplexBiasAdd
		allowDTypes(op, complexDTypes...)
	}
}
