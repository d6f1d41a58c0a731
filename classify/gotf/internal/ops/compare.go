package ops

// Comparisons and logic: Equal, NotEqual (with incompatible_shape_error),
// Greater, GreaterEqual, Less, LessEqual, ApproximateEqual → bool with NumPy
// broadcasting; LogicalAnd, LogicalOr, LogicalNot; the bool reductions All
// and Any; Select (TF1: a vector condition picks rows), SelectV2
// (broadcasting) and Where (the coordinates of the true / non-zero
// elements).

import (
	"bytes"
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

// cmpKind is one ordering or equality comparison.
type cmpKind uint8

const (
	cmpEq cmpKind = iota
	cmpNe
	cmpGt
	cmpGe
	cmpLt
	cmpLe
)

// swapped is the comparison with its operands exchanged (a < b is b > a).
func (k cmpKind) swapped() cmpKind {
	switch k {
	case cmpGt:
		return cmpLt
	case cmpGe:
		return cmpLe
	case cmpLt:
		return cmpGt
	case cmpLe:
		return cmpGe
	}
	return k
}

type cmpElem interface {
	~float32 | ~float64 | ~int32 | ~int64 | ~uint8 | ~uint64
}

// cmpKernel returns the kernel of comparison k on elements of type T: the
// operator is chosen once per row, so each row runs a loop the compiler
// specialises for T, with no call per element.
func cmpKernel[T cmpElem](k cmpKind) mapKernel {
	return func(p *bplan, out, a, b *classify.Tensor) {
		d, x, y := out.Bools(), a.Data.([]T), b.Data.([]T)
		if len(d) == 0 {
			return
		}
		for r := 0; r < p.rows; r++ {
			ao, bo := p.offsets(r)
			dst := d[r*p.inner : (r+1)*p.inner]
			switch {
			case p.aVec && p.bVec:
				cmpVV(k, dst, x[ao:ao+len(dst)], y[bo:bo+len(dst)])
			case p.aVec:
				cmpVS(k, dst, x[ao:ao+len(dst)], y[bo])
			default:
				cmpVS(k.swapped(), dst, y[bo:bo+len(dst)], x[ao])
			}
		}
	}
}

func cmpVV[T cmpElem](k cmpKind, d []bool, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	switch k {
	case cmpEq:
		for i := range d {
			d[i] = a[i] == b[i]
		}
	case cmpNe:
		for i := range d {
			d[i] = a[i] != b[i]
		}
	case cmpGt:
		for i := range d {
			d[i] = a[i] > b[i]
		}
	case cmpGe:
		for i := range d {
			d[i] = a[i] >= b[i]
		}
	case cmpLt:
		for i := range d {
			d[i] = a[i] < b[i]
		}
	case cmpLe:
		for i := range d {
			d[i] = a[i] <= b[i]
		}
	}
}

func cmpVS[T cmpElem](k cmpKind, d []bool, a []T, s T) {
	a = a[:len(d)]
	switch k {
	case cmpEq:
		for i := range d {
			d[i] = a[i] == s
		}
	case cmpNe:
		for i := range d {
			d[i] = a[i] != s
		}
	case cmpGt:
		for i := range d {
			d[i] = a[i] > s
		}
	case cmpGe:
		for i := range d {
			d[i] = a[i] >= s
		}
	case cmpLt:
		for i := range d {
			d[i] = a[i] < s
		}
	case cmpLe:
		for i := range d {
			d[i] = a[i] <= s
		}
	}
}

// cmpKernels are the kernels of a comparison over TensorFlow's real number
// types that we hold.
func cmpKernels(k cmpKind) map[classify.DType]mapKernel {
	return map[classify.DType]mapKernel{
		classify.Float32: cmpKernel[float32](k),
		classify.Float64: cmpKernel[float64](k),
		classify.Int32:   cmpKernel[int32](k),
		classify.Int64:   cmpKernel[int64](k),
		classify.Uint8:   cmpKernel[uint8](k),
	}
}

// eqKernels: Equal and NotEqual take every dtype, strings included.
func eqKernels(equal bool) map[classify.DType]mapKernel {
	if equal {
		m := cmpKernels(cmpEq)
		m[classify.Bool] = mapFn(func(x, y bool) bool { return x == y })
		m[classify.String] = mapFn(bytes.Equal)
		m[classify.Complex64] = mapFn(func(x, y complex64) bool { return x == y })
		m[classify.Complex128] = mapFn(func(x, y complex128) bool { return x == y })
		return m
	}
	m := cmpKernels(cmpNe)
	m[classify.Bool] = mapFn(func(x, y bool) bool { return x != y })
	m[classify.String] = mapFn(func(x, y []byte) bool { return !bytes.Equal(x, y) })
	m[classify.Complex64] = mapFn(func(x, y complex64) bool { return x != y })
	m[classify.Complex128] = mapFn(func(x, y complex128) bool { return x != y })
	return m
}

var (
	equalSpec      = mapSpec{kern: eqKernels(true), out: classify.Bool, typeAttr: "T"}
	notEqualSpec   = mapSpec{kern: eqKernels(false), out: classify.Bool, typeAttr: "T"}
	greaterSpec    = mapSpec{kern: cmpKernels(cmpGt), out: classify.Bool, typeAttr: "T"}
	greaterEqSpec  = mapSpec{kern: cmpKernels(cmpGe), out: classify.Bool, typeAttr: "T"}
	lessSpec       = mapSpec{kern: cmpKernels(cmpLt), out: classify.Bool, typeAttr: "T"}
	lessEqSpec     = mapSpec{kern: cmpKernels(cmpLe), out: classify.Bool, typeAttr: "T"}
	logicalAndSpec = mapSpec{kern: map[classify.DType]mapKernel{classify.Bool: mapFn(func(x, y bool) bool { return x && y })}}
	logicalOrSpec  = mapSpec{kern: map[classify.DType]mapKernel{classify.Bool: mapFn(func(x, y bool) bool { return x || y })}}
	logicalNotSpec = unMapSpec{kern: map[classify.DType]unMapKernel{classify.Bool: unFn(func(x bool) bool { return !x })}}
)

// buildEqual builds Equal / NotEqual, whose incompatible_shape_error=false
// turns operands that do not broadcast into a scalar false (true for
// NotEqual) instead of an error, as TensorFlow's BinaryOp does.
func buildEqual(equal bool) Builder {
	spec := &equalSpec
	if !equal {
		spec = &notEqualSpec
	}
	b := newMap(spec)
	return func(n *Node, c []*classify.Tensor) (Op, error) {
		op, err := b(n, c)
		if err != nil {
			return nil, err
		}
		m := op.(*mapOp)
		m.lenient = !n.Bool("incompatible_shape_error", true)
		m.ifIncompatible = !equal
		return m, nil
	}
}

// buildApproxEqual builds ApproximateEqual: |x-y| < tolerance, on operands
// of one shape (TensorFlow's kernel does not broadcast).
func buildApproxEqual(n *Node, c []*classify.Tensor) (Op, error) {
	tol := float64(n.Float("tolerance", 1e-5))
	// The kernel computes in T: the tolerance is converted to T first.
	t32 := float32(tol)
	spec := &mapSpec{
		kern: map[classify.DType]mapKernel{
			classify.Float32: mapFn(func(x, y float32) bool { return float32(math.Abs(float64(x-y))) < t32 }),
			classify.Float64: mapFn(func(x, y float64) bool { return math.Abs(x-y) < tol }),
			classify.Int32: mapFn(func(x, y int32) bool {
				d := x - y
				if d < 0 {
					d = -d
				}
				return d < int32(tol)
			}),
			classify.Int64: mapFn(func(x, y int64) bool {
				d := x - y
				if d < 0 {
					d = -d
				}
				return d < int64(tol)
			}),
		},
		out: classify.Bool, sameShape: true, typeAttr: "T",
	}
	return newMap(spec)(n, c)
}

// selectOp is Select (v1 == false) or SelectV2.
type selectOp struct {
	n  *Node
	v2 bool
}

func buildSelect(v2 bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 3 {
			return nil, n.Errorf("want 3 inputs (condition, t, e), have %d", n.NumInputs)
		}
		if dt := n.Type("T"); dt == classify.Variant {
			return nil, n.Errorf("unsupported dtype %v", dt)
		}
		return &selectOp{n: n, v2: v2}, nil
	}
}

// shape returns the output shape of Select / SelectV2 for known or partly
// known shapes, or an error naming the mismatch.
func (o *selectOp) shape(c, t, e classify.Shape) (classify.Shape, error) {
	if o.v2 {
		s, ok := bcastShapes(t, e)
		if ok {
			s, ok = bcastShapes(c, s)
		}
		if !ok {
			return nil, fmt.Errorf("condition %v, t %v and e %v do not broadcast", c, t, e)
		}
		return s, nil
	}
	if !shapesMatch(t, e) {
		return nil, fmt.Errorf("t and e must have the same shape, have %v and %v", t, e)
	}
	switch {
	case len(c) == 0, shapesMatch(c, t):
	case len(c) == 1 && len(t) >= 1 && (c[0] < 0 || t[0] < 0 || c[0] == t[0]):
	default:
		return nil, fmt.Errorf("condition %v must be a scalar, of the shape of t %v, or a vector of its first dimension", c, t)
	}
	s := t.Clone()
	for i := range s {
		if s[i] < 0 && e[i] >= 0 {
			s[i] = e[i]
		}
	}
	return s, nil
}

// OutputInfo implements Shaper.
func (o *selectOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 3 {
		return nil, o.n.Errorf("want 3 inputs, have %d", len(in))
	}
	if dt := in[0].DType; dt != classify.Invalid && dt != classify.Bool {
		return nil, o.n.Errorf("condition has dtype %v, want bool", dt)
	}
	dt := in[1].DType
	if dt == classify.Invalid {
		dt = in[2].DType
	}
	if in[2].DType != classify.Invalid && in[2].DType != dt {
		return nil, o.n.Errorf("t and e differ in dtype: %v and %v", dt, in[2].DType)
	}
	if in[0].Shape == nil || in[1].Shape == nil || in[2].Shape == nil {
		return []classify.TensorInfo{{DType: dt}}, nil
	}
	s, err := o.shape(in[0].Shape, in[1].Shape, in[2].Shape)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: dt, Shape: s.Clone()}}, nil
}

// Run implements Op.
func (o *selectOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 3 {
		return nil, o.n.InputErrorf("want 3 inputs, have %d", len(in))
	}
	c, t, e := in[0], in[1], in[2]
	if c.DType != classify.Bool {
		return nil, o.n.InputErrorf("condition has dtype %v, want bool", c.DType)
	}
	if t.DType != e.DType {
		return nil, o.n.InputErrorf("t and e differ in dtype: %v and %v", t.DType, e.DType)
	}
	shape, err := o.shape(c.Shape, t.Shape, e.Shape)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, t.DType, shape...)
	cond := c.Bools()
	var cs, ts, es []int
	if o.v2 {
		cs, ts, es = bcastStrides(c.Shape, shape), bcastStrides(t.Shape, shape), bcastStrides(e.Shape, shape)
	} else {
		ts = bcastStrides(shape, shape)
		es = ts
		switch {
		case len(c.Shape) == 0:
			cs = make([]int, len(shape))
		case len(c.Shape) == len(shape):
			cs = ts
		default: // a vector over the first dimension
			cs = make([]int, len(shape))
			cs[0] = 1
		}
	}
	switch d := out.Data.(type) {
	case []float32:
		selectRun(d, cond, t.Float32s(), e.Float32s(), shape, cs, ts, es)
	case []float64:
		selectRun(d, cond, t.Data.([]float64), e.Data.([]float64), shape, cs, ts, es)
	case []int32:
		selectRun(d, cond, t.Int32s(), e.Int32s(), shape, cs, ts, es)
	case []int64:
		selectRun(d, cond, t.Int64s(), e.Int64s(), shape, cs, ts, es)
	case []uint8:
		selectRun(d, cond, t.Uint8s(), e.Uint8s(), shape, cs, ts, es)
	case []bool:
		selectRun(d, cond, t.Bools(), e.Bools(), shape, cs, ts, es)
	case [][]byte:
		selectRun(d, cond, t.Data.([][]byte), e.Data.([][]byte), shape, cs, ts, es)
	case []classify.F16:
		selectRun(d, cond, t.Data.([]classify.F16), e.Data.([]classify.F16), shape, cs, ts, es)
	case []classify.BF16:
		selectRun(d, cond, t.Data.([]classify.BF16), e.Data.([]classify.BF16), shape, cs, ts, es)
	case []int8:
		selectRun(d, cond, t.Data.([]int8), e.Data.([]int8), shape, cs, ts, es)
	case []int16:
		selectRun(d, cond, t.Data.([]int16), e.Data.([]int16), shape, cs, ts, es)
	case []uint16:
		selectRun(d, cond, t.Data.([]uint16), e.Data.([]uint16), shape, cs, ts, es)
	case []uint32:
		selectRun(d, cond, t.Data.([]uint32), e.Data.([]uint32), shape, cs, ts, es)
	case []uint64:
		selectRun(d, cond, t.Data.([]uint64), e.Data.([]uint64), shape, cs, ts, es)
	case []complex64:
		selectRun(d, cond, t.Data.([]complex64), e.Data.([]complex64), shape, cs, ts, es)
	case []complex128:
		selectRun(d, cond, t.Data.([]complex128), e.Data.([]complex128), shape, cs, ts, es)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", t.DType)
	}
	return []*classify.Tensor{out}, nil
}

func selectRun[T any](d []T, c []bool, t, e []T, shape classify.Shape, cs, ts, es []int) {
	if len(d) == 0 {
		return
	}
	od := newOdometer(shape, cs, ts, es)
	for i := range d {
		if c[od.off[0]] {
			d[i] = t[od.off[1]]
		} else {
			d[i] = e[od.off[2]]
		}
		od.step()
	}
}

// whereOp is Where with one input: the row-major coordinates of the true
// (non-zero) elements, int64 [n, rank].
type whereOp struct{ n *Node }

func buildWhere(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("want 1 input (the 3-input Where is Select), have %d", n.NumInputs)
	}
	switch dt := n.Type("T"); dt {
	case classify.Invalid, classify.Bool, classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Uint8:
	default:
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	return &whereOp{n: n}, nil
}

// OutputInfo implements Shaper.
func (o *whereOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	if in[0].Shape == nil {
		return []classify.TensorInfo{{DType: classify.Int64}}, nil
	}
	return []classify.TensorInfo{{DType: classify.Int64, Shape: classify.Shape{-1, len(in[0].Shape)}}}, nil
}

// Run implements Op.
func (o *whereOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	x := in[0]
	var nz []bool
	switch d := x.Data.(type) {
	case []bool:
		nz = d
	case []float32:
		nz = nonZero(d)
	case []float64:
		nz = nonZero(d)
	case []int32:
		nz = nonZero(d)
	case []int64:
		nz = nonZero(d)
	case []uint8:
		nz = nonZero(d)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	count := 0
	for _, v := range nz {
		if v {
			count++
		}
	}
	rank := len(x.Shape)
	out := ctx.Output(0, classify.Int64, count, rank)
	d := out.Int64s()
	idx := make([]int64, rank)
	k := 0
	for _, v := range nz {
		if v {
			copy(d[k:k+rank], idx)
			k += rank
		}
		for g := rank - 1; g >= 0; g-- {
			idx[g]++
			if idx[g] < int64(x.Shape[g]) {
				break
			}
			idx[g] = 0
		}
	}
	return []*classify.Tensor{out}, nil
}

func nonZero[T cmpElem](d []T) []bool {
	nz := make([]bool, len(d))
	for i, v := range d {
		nz[i] = v != 0
	}
	return nz
}

// boolReduceOp is All or Any over the axes of input 1, with keep_dims.
type boolReduceOp struct {
	n   *Node
	all bool
	red *reduceOp // its axes and shape logic
}

func buildBoolReduce(all bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("want 2 inputs (input, reduction_indices), have %d", n.NumInputs)
		}
		r := &reduceOp{n: n, keep: n.Bool("keep_dims", false)}
		if len(consts) > 1 && consts[1] != nil {
			axes, err := redInts(consts[1])
			if err != nil {
				return nil, n.Errorf("reduction_indices: %v", err)
			}
			r.axes, r.known = axes, true
		}
		return &boolReduceOp{n: n, all: all, red: r}, nil
	}
}

// OutputInfo implements Shaper.
func (o *boolReduceOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, o.n.Errorf("want 2 inputs, have %d", len(in))
	}
	if dt := in[0].DType; dt != classify.Invalid && dt != classify.Bool {
		return nil, o.n.Errorf("input has dtype %v, want bool", dt)
	}
	// The numeric reduction's shape logic, on a stand-in dtype.
	info, err := o.red.OutputInfo([]classify.TensorInfo{{DType: classify.Float32, Shape: in[0].Shape}, in[1]})
	if err != nil {
		return nil, err
	}
	info[0].DType = classify.Bool
	return info, nil
}

// Run implements Op.
func (o *boolReduceOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 {
		return nil, o.n.InputErrorf("want 2 inputs, have %d", len(in))
	}
	x := in[0]
	if x.DType != classify.Bool {
		return nil, o.n.InputErrorf("input has dtype %v, want bool", x.DType)
	}
	axes := o.red.axes
	if !o.red.known {
		var err error
		if axes, err = redInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("reduction_indices: %v", err)
		}
	}
	mask, err := redMask(axes, len(x.Shape), nil)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, classify.Bool, redShape(x.Shape, mask, o.red.keep, nil)...)
	d := out.Bools()
	// The identity of the reduction: All of nothing is true, Any false.
	for i := range d {
		d[i] = o.all
	}
	// Output strides over the input's dimensions (0 on reduced ones).
	st := make([]int, len(x.Shape))
	s := 1
	for i := len(x.Shape) - 1; i >= 0; i-- {
		if !mask[i] {
			st[i] = s
			s *= x.Shape[i]
		}
	}
	src := x.Bools()
	if len(src) == 0 {
		return []*classify.Tensor{out}, nil
	}
	od := newOdometer(x.Shape, st)
	for _, v := range src {
		if v != o.all {
			d[od.off[0]] = v
		}
		od.step()
	}
	return []*classify.Tensor{out}, nil
}

func init() {
	Register("Equal", buildEqual(true))
	Register("NotEqual", buildEqual(false))
	Register("Greater", newMap(&greaterSpec))
	Register("GreaterEqual", newMap(&greaterEqSpec))
	Register("Less", newMap(&lessSpec))
	Register("LessEqual", newMap(&lessEqSpec))
	Register("ApproximateEqual", buildApproxEqual)
	Register("LogicalAnd", newMap(&logicalAndSpec))
	Register("LogicalOr", newMap(&logicalOrSpec))
	Register("LogicalNot", newUnMap(&logicalNotSpec))
	Register("Select", buildSelect(false))
	Register("SelectV2", buildSelect(true))
	Register("Where", buildWhere)
	Register("All", buildBoolReduce(true))
	Register("Any", buildBoolReduce(false))
}
