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

// axis is the channel axis of a value of rank r.
func (o *complexBiasAdd) axis(r int) int {
	if o.nchw {
		return 1
	}
	return r - 1
}

// check validates value and bias shapes (-1 dims and nil shapes pass).
func (o *complexBiasAdd) check(a, b classify.Shape) error {
	if a != nil && len(a) < 2 {
		return o.n.Errorf("value must be at least 2-D, has shape %v", a)
	}
	if b != nil && len(b) != 1 {
		return o.n.Errorf("bias must be a vector, has shape %v", b)
	}
	if a != nil && b != nil {
		if c := a[o.axis(len(a))]; c >= 0 && b[0] >= 0 && c != b[0] {
			return o.n.Errorf("bias of %d elements for %d channels (value %v)", b[0], c, a)
		}
	}
	return nil
}

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
	ax := o.axis(len(x.Shape))
	c, inner := x.Shape[ax], arrProd(x.Shape[ax+1:])
	out := ctx.Output(0, x.DType, x.Shape...)
	switch xd := x.Data.(type) {
	case []complex64:
		complexBiasRows(out.Data.([]complex64), xd, b.Data.([]complex64), c, inner)
	case []complex128:
		complexBiasRows(out.Data.([]complex128), xd, b.Data.([]complex128), c, inner)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

// complexBiasRows adds bias[r%c] to every element of run r (inner
// elements long) of x into y.
func complexBiasRows[T complex64 | complex128](y, x, bias []T, c, inner int) {
	if c == 0 || inner == 0 {
		return
	}
	for r := 0; r*inner < len(x); r++ {
		v := bias[r%c]
		xs, ys := x[r*inner:(r+1)*inner], y[r*inner:(r+1)*inner]
		for i, e := range xs {
			ys[i] = e + v
		}
	}
}

func init() {
	for _, op := range []string{"BiasAdd", "BiasAddV1"} {
		complexOverrides[op] = buildComplexBiasAdd
		allowDTypes(op, complexDTypes...)
	}
}
