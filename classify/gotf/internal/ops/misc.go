package ops

// OneHot, the scans Cumsum and Cumprod (exclusive, reverse), and the
// checking ops EnsureShape (the input, once its shape is known to fit) and
// Assert (nothing when the condition holds, an error naming the node when
// it does not).

import (
	"fmt"
	"strings"

	"github.com/classifyd/classifyd/classify"
)

// oneHotOp is OneHot: indices [...] → [..., depth, ...] with depth inserted
// at axis, on_value where the index equals the position, off_value
// elsewhere (so out-of-range and negative indices give a row of off_value).
type oneHotOp struct {
	n     *Node
	axis  int
	depth int // -1 unless input 1 is a constant
}

func buildOneHot(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 4 {
		return nil, n.Errorf("want 4 inputs (indices, depth, on_value, off_value), have %d", n.NumInputs)
	}
	switch dt := n.Type("TI"); dt {
	case classify.Invalid, classify.Int32, classify.Int64, classify.Uint8:
	default:
		return nil, n.Errorf("unsupported index dtype %v", dt)
	}
	switch dt := n.Type("T"); dt {
	case classify.Invalid, classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Uint8, classify.Bool:
	default:
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	o := &oneHotOp{n: n, axis: int(n.Int("axis", -1)), depth: -1}
	if o.axis < -1 {
		return nil, n.Errorf("axis %d must be >= -1", o.axis)
	}
	if len(consts) > 1 && consts[1] != nil {
		d, err := oneHotDepth(consts[1])
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		o.depth = d
	}
	return o, nil
}

func oneHotDepth(t *classify.Tensor) (int, error) {
	if len(t.Shape) != 0 || t.DType != classify.Int32 {
		return 0, fmt.Errorf("depth must be an int32 scalar, is %v%v", t.DType, t.Shape)
	}
	d := int(t.Int32s()[0])
	if d < 0 {
		return 0, fmt.Errorf("depth must be non-negative, is %d", d)
	}
	return d, nil
}

// at returns the position of the depth dimension in an output of rank r+1.
func (o *oneHotOp) at(rank int) (int, error) {
	if o.axis == -1 {
		return rank, nil
	}
	if o.axis > rank {
		return 0, fmt.Errorf("axis %d out of range for indices of rank %d", o.axis, rank)
	}
	return o.axis, nil
}

// OutputInfo implements Shaper.
func (o *oneHotOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 4 {
		return nil, o.n.Errorf("want 4 inputs, have %d", len(in))
	}
	dt := in[2].DType
	if in[3].DType != classify.Invalid && dt != classify.Invalid && in[3].DType != dt {
		return nil, o.n.Errorf("on_value is %v, off_value %v", dt, in[3].DType)
	}
	if in[0].Shape == nil {
		return []classify.TensorInfo{{DType: dt}}, nil
	}
	at, err := o.at(len(in[0].Shape))
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	s := append(append(in[0].Shape[:at:at].Clone(), o.depth), in[0].Shape[at:]...)
	return []classify.TensorInfo{{DType: dt, Shape: s}}, nil
}

// Run implements Op.
func (o *oneHotOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 4 {
		return nil, o.n.InputErrorf("want 4 inputs, have %d", len(in))
	}
	idx, on, off := in[0], in[2], in[3]
	depth, err := oneHotDepth(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if on.DType != off.DType || len(on.Shape) != 0 || len(off.Shape) != 0 {
		return nil, o.n.InputErrorf("on_value %v%v and off_value %v%v must be scalars of one dtype", on.DType, on.Shape, off.DType, off.Shape)
	}
	at, err := o.at(len(idx.Shape))
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	var ix []int64
	switch d := idx.Data.(type) {
	case []int32:
		ix = widen(d)
	case []int64:
		ix = d
	case []uint8:
		ix = widen(d)
	default:
		return nil, o.n.InputErrorf("unsupported index dtype %v", idx.DType)
	}
	shape := append(append(idx.Shape[:at:at].Clone(), depth), idx.Shape[at:]...)
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	outer := classify.Shape(idx.Shape[:at]).NumElements()
	inner := classify.Shape(idx.Shape[at:]).NumElements()
	out := ctx.Output(0, on.DType, shape...)
	switch d := out.Data.(type) {
	case []float32:
		oneHotRun(d, ix, on.Float32s()[0], off.Float32s()[0], outer, depth, inner)
	case []float64:
		oneHotRun(d, ix, on.Data.([]float64)[0], off.Data.([]float64)[0], outer, depth, inner)
	case []int32:
		oneHotRun(d, ix, on.Int32s()[0], off.Int32s()[0], outer, depth, inner)
	case []int64:
		oneHotRun(d, ix, on.Int64s()[0], off.Int64s()[0], outer, depth, inner)
	case []uint8:
		oneHotRun(d, ix, on.Uint8s()[0], off.Uint8s()[0], outer, depth, inner)
	case []bool:
		oneHotRun(d, ix, on.Bools()[0], off.Bools()[0], outer, depth, inner)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", on.DType)
	}
	return []*classify.Tensor{out}, nil
}

func widen[T ~int32 | ~uint8](d []T) []int64 {
	w := make([]int64, len(d))
	for i, v := range d {
		w[i] = int64(v)
	}
	return w
}

func oneHotRun[T any](d []T, ix []int64, on, off T, outer, depth, inner int) {
	for i := range d {
		d[i] = off
	}
	for p := 0; p < outer; p++ {
		for s := 0; s < inner; s++ {
			if v := ix[p*inner+s]; v >= 0 && v < int64(depth) {
				d[(p*depth+int(v))*inner+s] = on
			}
		}
	}
}

// scanOp is Cumsum (prod false) or Cumprod along the axis of input 1.
type scanOp struct {
	n                  *Node
	prod               bool
	exclusive, reverse bool
}

func buildScan(prod bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("want 2 inputs (x, axis), have %d", n.NumInputs)
		}
		if dt := n.Type("T"); !scanDType(dt) {
			return nil, n.Errorf("unsupported dtype %v", dt)
		}
		return &scanOp{n: n, prod: prod, exclusive: n.Bool("exclusive", false), reverse: n.Bool("reverse", false)}, nil
	}
}

// OutputInfo implements Shaper.
func (o *scanOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, o.n.Errorf("want 2 inputs, have %d", len(in))
	}
	if dt := in[0].DType; !scanDType(dt) {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *scanOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 {
		return nil, o.n.InputErrorf("want 2 inputs, have %d", len(in))
	}
	x := in[0]
	if len(in[1].Shape) != 0 {
		return nil, o.n.InputErrorf("axis must be a scalar, has shape %v", in[1].Shape)
	}
	ax, err := arrInts(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("axis: %v", err)
	}
	a, r := ax[0], len(x.Shape)
	if a < -r || a >= r {
		return nil, o.n.InputErrorf("axis %d out of range for rank %d", a, r)
	}
	if a < 0 {
		a += r
	}
	outer := classify.Shape(x.Shape[:a]).NumElements()
	inner := classify.Shape(x.Shape[a+1:]).NumElements()
	n := x.Shape[a]
	out := ctx.Output(0, x.DType, x.Shape...)
	switch d := out.Data.(type) {
	case []float32:
		scanRun(d, x.Float32s(), outer, n, inner, o.prod, o.exclusive, o.reverse)
	case []float64:
		scanRun(d, x.Data.([]float64), outer, n, inner, o.prod, o.exclusive, o.reverse)
	case []int32:
		scanRun(d, x.Int32s(), outer, n, inner, o.prod, o.exclusive, o.reverse)
	case []int64:
		scanRun(d, x.Int64s(), outer, n, inner, o.prod, o.exclusive, o.reverse)
	case []uint8:
		scanRun(d, x.Uint8s(), outer, n, inner, o.prod, o.exclusive, o.reverse)
	case []complex64:
		scanRun(d, x.Data.([]complex64), outer, n, inner, o.prod, o.exclusive, o.reverse)
	case []complex128:
		scanRun(d, x.Data.([]complex128), outer, n, inner, o.prod, o.exclusive, o.reverse)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

// scanDType reports whether Cumsum and Cumprod have a loop for dt
// (Invalid: not known yet). Complex scans accumulate in their own dtype,
// as Eigen's scan over std::complex does.
func scanDType(dt classify.DType) bool {
	switch dt {
	case classify.Invalid, classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Uint8,
		classify.Complex64, classify.Complex128:
		return true
	}
	return false
}

// scanNumber are the element types of the scan loops.
type scanNumber interface {
	ewNumber | ~uint8 | ~complex64 | ~complex128
}

func scanRun[T scanNumber](d, x []T, outer, n, inner int, prod, exclusive, reverse bool) {
	var id T
	if prod {
		id = 1
	}
	for p := 0; p < outer; p++ {
		for s := 0; s < inner; s++ {
			acc := id
			for k := 0; k < n; k++ {
				j := k
				if reverse {
					j = n - 1 - k
				}
				at := (p*n+j)*inner + s
				v := x[at]
				if !exclusive {
					acc = scanStep(acc, v, prod)
				}
				d[at] = acc
				if exclusive {
					acc = scanStep(acc, v, prod)
				}
			}
		}
	}
}

func scanStep[T scanNumber](acc, v T, prod bool) T {
	if prod {
		return acc * v
	}
	return acc + v
}

// ensureShapeOp is EnsureShape: its input, after checking at run time that
// the shape fits the attribute (-1 any size; unknown rank anything).
type ensureShapeOp struct {
	n     *Node
	shape classify.Shape // nil: unknown rank
}

func buildEnsureShape(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
	}
	if !n.Has("shape") {
		return nil, n.Errorf("no shape attribute")
	}
	return &ensureShapeOp{n: n, shape: n.Shape("shape")}, nil
}

// OutputInfo implements Shaper: the two shapes merged.
func (o *ensureShapeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	s := in[0].Shape
	if !shapesMatch(s, o.shape) {
		return nil, o.n.Errorf("input shape %v does not fit %v", s, o.shape)
	}
	if s == nil {
		s = o.shape
	}
	s = s.Clone()
	for i := range s {
		if s[i] < 0 && o.shape != nil {
			s[i] = o.shape[i]
		}
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: s}}, nil
}

// Run implements Op.
func (o *ensureShapeOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	if !shapesMatch(in[0].Shape, o.shape) {
		return nil, o.n.InputErrorf("shape of tensor %v is not compatible with expected shape %v", in[0].Shape, o.shape)
	}
	return []*classify.Tensor{in[0]}, nil
}

// assertOp is Assert: no outputs; an error naming the node when the scalar
// condition is false, with a short summary of the data inputs (at most
// `summarize` values each, capped, strings truncated).
type assertOp struct {
	n         *Node
	summarize int
}

// assertMaxValues and assertMaxBytes bound what an Assert error echoes.
const (
	assertMaxValues = 10
	assertMaxBytes  = 64
)

func buildAssert(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs < 1 {
		return nil, n.Errorf("want a condition input")
	}
	return &assertOp{n: n, summarize: min(max(int(n.Int("summarize", 3)), 0), assertMaxValues)}, nil
}

// OutputInfo implements Shaper: Assert has no outputs.
func (o *assertOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) < 1 {
		return nil, o.n.Errorf("want a condition input")
	}
	if dt := in[0].DType; dt != classify.Invalid && dt != classify.Bool {
		return nil, o.n.Errorf("condition has dtype %v, want bool", dt)
	}
	return nil, nil
}

// Run implements Op.
func (o *assertOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) < 1 {
		return nil, o.n.InputErrorf("want a condition input")
	}
	c := in[0]
	if c.DType != classify.Bool || c.Len() != 1 {
		return nil, o.n.InputErrorf("condition must be a bool scalar, is %v%v", c.DType, c.Shape)
	}
	if c.Bools()[0] {
		return nil, nil
	}
	var b strings.Builder
	for i, t := range in[1:] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(o.summary(t))
	}
	return nil, o.n.InputErrorf("assertion failed: %s", b.String())
}

func (o *assertOp) summary(t *classify.Tensor) string {
	var vals []string
	n := min(t.Len(), o.summarize)
	switch d := t.Data.(type) {
	case [][]byte:
		for _, s := range d[:n] {
			if len(s) > assertMaxBytes {
				s = append(s[:assertMaxBytes:assertMaxBytes], "..."...)
			}
			vals = append(vals, fmt.Sprintf("%q", s))
		}
	case []float32:
		vals = fmtVals(d[:n])
	case []float64:
		vals = fmtVals(d[:n])
	case []int32:
		vals = fmtVals(d[:n])
	case []int64:
		vals = fmtVals(d[:n])
	case []uint8:
		vals = fmtVals(d[:n])
	case []bool:
		vals = fmtVals(d[:n])
	}
	if t.Len() > n {
		vals = append(vals, "...")
	}
	if t.DType == classify.String && len(t.Shape) == 0 {
		return strings.Join(vals, " ")
	}
	return fmt.Sprintf("%v%v [%s]", t.DType, t.Shape, strings.Join(vals, " "))
}

func fmtVals[T any](d []T) []string {
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = fmt.Sprint(v)
	}
	return s
}

func init() {
	Register("OneHot", buildOneHot)
	Register("Cumsum", buildScan(false))
	Register("Cumprod", buildScan(true))
	Register("EnsureShape", buildEnsureShape)
	Register("Assert", buildAssert)
}
