package ops

// The shared machinery of element-wise ops whose result type differs from
// their operands' (comparisons → bool) or whose operand types go beyond the
// arithmetic kernels of elementwise.go (uint8, bool, string): a broadcasting
// binary op and a unary op, each a table of per-dtype kernels built from a
// scalar function. They reuse elementwise.go's broadcast planner; the
// per-element call is indirect, which is cheap next to the graphs' convolutions
// these ops sit between (masks, index arithmetic, post-processing).

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

// mapKernel computes out = f(a, b) over the broadcast plan p; out has the
// broadcast shape and the spec's output dtype.
type mapKernel func(p *bplan, out, a, b *classify.Tensor)

// mapSpec is one broadcasting binary op.
type mapSpec struct {
	// kern holds a kernel per operand dtype TensorFlow's CPU kernel accepts.
	kern map[classify.DType]mapKernel
	// out is the output dtype; Invalid means the operands'.
	out classify.DType
	// check validates the operands before the run (integer divisors).
	check func(n *Node, a, b *classify.Tensor) error
	// sameShape refuses broadcasting (ApproximateEqual).
	sameShape bool
	// typeAttr is the attribute naming the operand dtype ("T"; "" for ops
	// such as LogicalAnd that have none).
	typeAttr string
}

func (s *mapSpec) outType(in classify.DType) classify.DType {
	if s.out != classify.Invalid {
		return s.out
	}
	return in
}

// mapFn returns the kernel applying f to operands of Go type A with
// results of Go type O.
func mapFn[A, O any](f func(x, y A) O) mapKernel {
	return func(p *bplan, out, a, b *classify.Tensor) {
		mapRows(p, out.Data.([]O), a.Data.([]A), b.Data.([]A), f)
	}
}

// mapRows walks the rows of a broadcast plan.
func mapRows[A, O any](p *bplan, d []O, a, b []A, f func(x, y A) O) {
	if len(d) == 0 {
		return
	}
	for r := 0; r < p.rows; r++ {
		ao, bo := p.offsets(r)
		dst := d[r*p.inner : (r+1)*p.inner]
		switch {
		case p.aVec && p.bVec:
			x, y := a[ao:ao+len(dst)], b[bo:bo+len(dst)]
			for i := range dst {
				dst[i] = f(x[i], y[i])
			}
		case p.aVec:
			x, s := a[ao:ao+len(dst)], b[bo]
			for i := range dst {
				dst[i] = f(x[i], s)
			}
		default:
			s, y := a[ao], b[bo:bo+len(dst)]
			for i := range dst {
				dst[i] = f(s, y[i])
			}
		}
	}
}

// mapOp is a compiled broadcasting binary node of a mapSpec.
type mapOp struct {
	n    *Node
	spec *mapSpec
	// lenient is Equal/NotEqual's incompatible_shape_error=false: operands
	// that do not broadcast give the scalar ifIncompatible.
	lenient        bool
	ifIncompatible bool
}

func newMap(spec *mapSpec) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("want 2 inputs, have %d", n.NumInputs)
		}
		if spec.typeAttr != "" {
			if dt := n.Type(spec.typeAttr); dt != classify.Invalid && spec.kern[dt] == nil {
				return nil, n.Errorf("unsupported dtype %v", dt)
			}
		}
		return &mapOp{n: n, spec: spec}, nil
	}
}

func (o *mapOp) shape(a, b classify.Shape) (classify.Shape, error) {
	if o.spec.sameShape {
		if !shapesMatch(a, b) {
			return nil, fmt.Errorf("operands must have the same shape, have %v and %v", a, b)
		}
		return a, nil
	}
	s, ok := bcastShapes(a, b)
	if !ok {
		return nil, fmt.Errorf("incompatible shapes %v and %v for broadcasting", a, b)
	}
	return s, nil
}

// OutputInfo implements Shaper.
func (o *mapOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, o.n.Errorf("want 2 inputs, have %d", len(in))
	}
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = in[1].DType
	}
	if in[1].DType != classify.Invalid && in[1].DType != dt {
		return nil, o.n.Errorf("dtype mismatch: %v and %v", dt, in[1].DType)
	}
	if dt != classify.Invalid && o.spec.kern[dt] == nil {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	odt := o.spec.outType(dt)
	if in[0].Shape == nil || in[1].Shape == nil {
		return []classify.TensorInfo{{DType: odt}}, nil
	}
	s, err := o.shape(in[0].Shape, in[1].Shape)
	if err != nil {
		if o.lenient {
			return []classify.TensorInfo{{DType: odt, Shape: classify.Shape{}}}, nil
		}
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: odt, Shape: s.Clone()}}, nil
}

// Run implements Op.
func (o *mapOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 {
		return nil, o.n.InputErrorf("want 2 inputs, have %d", len(in))
	}
	a, b := in[0], in[1]
	if a.DType != b.DType {
		return nil, o.n.InputErrorf("dtype mismatch: %v and %v", a.DType, b.DType)
	}
	k := o.spec.kern[a.DType]
	if k == nil {
		return nil, o.n.InputErrorf("unsupported dtype %v", a.DType)
	}
	shape, err := o.shape(a.Shape, b.Shape)
	if err != nil {
		if o.lenient {
			out := ctx.Output(0, classify.Bool)
			out.Bools()[0] = o.ifIncompatible
			return []*classify.Tensor{out}, nil
		}
		return nil, o.n.InputErrorf("%v", err)
	}
	p, ok := planBroadcast(a.Shape, b.Shape, shape)
	if !ok {
		return nil, o.n.InputErrorf("broadcast of %v and %v has too many dimensions", a.Shape, b.Shape)
	}
	if o.spec.check != nil {
		if err := o.spec.check(o.n, a, b); err != nil {
			return nil, err
		}
	}
	out := ctx.Output(0, o.spec.outType(a.DType), shape...)
	k(&p, out, a, b)
	return []*classify.Tensor{out}, nil
}

// unMapKernel computes out = f(a) element-wise.
type unMapKernel func(out, a *classify.Tensor)

// unMapSpec is one element-wise unary op of arbitrary operand and result
// dtypes (IsNan → bool, LogicalNot on bool, Sign on uint8-free ints, ...).
type unMapSpec struct {
	kern map[classify.DType]unMapKernel
	out  classify.DType // Invalid: the operand's dtype
	// typeAttr as for mapSpec.
	typeAttr string
}

func unFn[A, O any](f func(A) O) unMapKernel {
	return func(out, a *classify.Tensor) {
		d, x := out.Data.([]O), a.Data.([]A)
		x = x[:len(d)]
		for i := range d {
			d[i] = f(x[i])
		}
	}
}

type unMapOp struct {
	n    *Node
	spec *unMapSpec
}

func newUnMap(spec *unMapSpec) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
		}
		if spec.typeAttr != "" {
			if dt := n.Type(spec.typeAttr); dt != classify.Invalid && spec.kern[dt] == nil {
				return nil, n.Errorf("unsupported dtype %v", dt)
			}
		}
		return &unMapOp{n: n, spec: spec}, nil
	}
}

func (o *unMapOp) outType(dt classify.DType) classify.DType {
	if o.spec.out != classify.Invalid {
		return o.spec.out
	}
	return dt
}

// OutputInfo implements Shaper.
func (o *unMapOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	if dt := in[0].DType; dt != classify.Invalid && o.spec.kern[dt] == nil {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	return []classify.TensorInfo{{DType: o.outType(in[0].DType), Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *unMapOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	k := o.spec.kern[in[0].DType]
	if k == nil {
		return nil, o.n.InputErrorf("unsupported dtype %v", in[0].DType)
	}
	out := ctx.Output(0, o.outType(in[0].DType), in[0].Shape...)
	k(out, in[0])
	return []*classify.Tensor{out}, nil
}

// bcastStrides returns, for an operand of shape s broadcast to out, the
// stride of each output dimension in the operand (0 where broadcast).
func bcastStrides(s, out classify.Shape) []int {
	st := make([]int, len(out))
	acc := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(s))
		if j < 0 {
			break
		}
		if s[j] != 1 {
			st[i] = acc
		}
		acc *= s[j]
	}
	return st
}

// odometer walks the output elements of shape out in order, keeping the
// offsets of each operand under its strides; step advances it.
type odometer struct {
	dims    classify.Shape
	strides [][]int
	idx     []int
	off     []int
}

func newOdometer(out classify.Shape, strides ...[]int) *odometer {
	return &odometer{dims: out, strides: strides, idx: make([]int, len(out)), off: make([]int, len(strides))}
}

func (o *odometer) step() {
	for g := len(o.dims) - 1; g >= 0; g-- {
		o.idx[g]++
		for k, st := range o.strides {
			o.off[k] += st[g]
		}
		if o.idx[g] < o.dims[g] {
			return
		}
		for k, st := range o.strides {
			o.off[k] -= o.idx[g] * st[g]
		}
		o.idx[g] = 0
	}
}

// shapesMatch reports whether two partly known shapes can be equal: nil
// (unknown rank) matches anything, -1 any size.
func shapesMatch(a, b classify.Shape) bool {
	if a == nil || b == nil {
		return true
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] >= 0 && b[i] >= 0 && a[i] != b[i] {
			return false
		}
	}
	return true
}
