package ops

// The rest of the unary math, float32 and float64 as TensorFlow's CPU
// kernels: trigonometric and hyperbolic functions and their inverses, Erf,
// Erfc, Expm1, Log1p, Softplus, Softsign, Reciprocal (and its old name
// Inv); IsFinite, IsNan, IsInf → bool; the binary Atan2, DivNoNan,
// MulNoNan, Xlogy, Xdivy and Xlog1py (broadcasting); L2Loss; ClipByValue
// on every real dtype.
//
// float32 values are computed in float64 and rounded once, which is within
// an ulp of TensorFlow's float32 Eigen approximations.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

// floatMath returns the unary spec applying f to both float types.
func floatMath(f func(float64) float64, cost int) *unarySpec {
	return floatUnary(func(d, a []float32) {
		a = a[:len(d)]
		for i := range d {
			d[i] = float32(f(float64(a[i])))
		}
	}, func(d, a []float64) {
		a = a[:len(d)]
		for i := range d {
			d[i] = f(a[i])
		}
	}, cost)
}

// softplus is log(1+e^x) with TensorFlow's cut-offs, where the result is x
// (or e^x) to the type's precision: threshold = log(epsilon) + 2.
func softplus(threshold float64) func(float64) float64 {
	return func(x float64) float64 {
		switch {
		case x > -threshold:
			return x
		case x < threshold:
			return math.Exp(x)
		}
		return math.Log1p(math.Exp(x))
	}
}

var (
	softplus32 = softplus(math.Log(0x1p-23) + 2)
	softplus64 = softplus(math.Log(0x1p-52) + 2)
)

func softplusLoop32(d, a []float32) {
	a = a[:len(d)]
	for i := range d {
		d[i] = float32(softplus32(float64(a[i])))
	}
}

func softplusLoop64(d, a []float64) {
	a = a[:len(d)]
	for i := range d {
		d[i] = softplus64(a[i])
	}
}

// floatPred is a float → bool classification (IsNan, ...).
func floatPred(f func(float64) bool) *unMapSpec {
	return &unMapSpec{kern: map[classify.DType]unMapKernel{
		classify.Float32: unFn(func(x float32) bool { return f(float64(x)) }),
		classify.Float64: unFn(f),
	}, out: classify.Bool, typeAttr: "T"}
}

var atan2Spec = mapSpec{kern: map[classify.DType]mapKernel{
	classify.Float32: mapFn(func(y, x float32) float32 { return float32(math.Atan2(float64(y), float64(x))) }),
	classify.Float64: mapFn(math.Atan2),
}, typeAttr: "T"}

// The guarded binary ops, as TensorFlow's functors: DivNoNan and MulNoNan
// are 0 wherever y == 0, whatever x is (inf and NaN included); Xlogy,
// Xdivy and Xlog1py are 0 wherever x == 0, whatever y is (NaN included).
// Where x is a zero TensorFlow's vectorized path returns x itself, so a
// -0 stays -0; DivNoNan and MulNoNan give +0. float32 operates in
// float32 (the division and product exactly as TensorFlow; its logarithm
// is rounded from float64).
func divNoNan[T ewFloat](x, y T) T {
	if y == 0 {
		return 0
	}
	return x / y
}

func mulNoNan[T ewFloat](x, y T) T {
	if y == 0 {
		return 0
	}
	return x * y
}

func xdivy[T ewFloat](x, y T) T {
	if x == 0 {
		return x
	}
	return x / y
}

func xlogy[T ewFloat](x, y T) T {
	if x == 0 {
		return x
	}
	return x * T(math.Log(float64(y)))
}

func xlog1py[T ewFloat](x, y T) T {
	if x == 0 {
		return x
	}
	return x * T(math.Log1p(float64(y)))
}

// floatBinMap is the broadcasting spec of a float32/float64 binary op.
func floatBinMap(f32 func(x, y float32) float32, f64 func(x, y float64) float64) *mapSpec {
	return &mapSpec{kern: map[classify.DType]mapKernel{
		classify.Float32: mapFn(f32),
		classify.Float64: mapFn(f64),
	}, typeAttr: "T"}
}

// l2LossOp is L2Loss: sum(t²)/2 over every element, a scalar of t's dtype
// (0 for an empty t). The sum accumulates in float64 and rounds once,
// where TensorFlow sums float32 in float32 (a difference within its
// rounding error).
type l2LossOp struct{ n *Node }

func buildL2Loss(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
	}
	switch dt := n.Type("T"); dt {
	case classify.Invalid, classify.Float32, classify.Float64:
	default:
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	return &l2LossOp{n: n}, nil
}

// OutputInfo implements Shaper.
func (o *l2LossOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	switch dt := in[0].DType; dt {
	case classify.Invalid, classify.Float32, classify.Float64:
	default:
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: classify.Shape{}}}, nil
}

// Run implements Op.
func (o *l2LossOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	t := in[0]
	var s float64
	switch d := t.Data.(type) {
	case []float32:
		for _, v := range d[:t.Len()] {
			s += float64(v) * float64(v)
		}
	case []float64:
		for _, v := range d[:t.Len()] {
			s += v * v
		}
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", t.DType)
	}
	out := ctx.Output(0, t.DType)
	switch d := out.Data.(type) {
	case []float32:
		d[0] = float32(s / 2)
	case []float64:
		d[0] = s / 2
	}
	return []*classify.Tensor{out}, nil
}

// clipOp is ClipByValue: min(max(t, lo), hi) computed as TensorFlow's
// kernel, upper bound first, so lo wins when lo > hi. The bounds are
// scalars or of t's shape.
type clipOp struct{ n *Node }

func buildClip(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("want 3 inputs (t, clip_value_min, clip_value_max), have %d", n.NumInputs)
	}
	switch dt := n.Type("T"); dt {
	case classify.Invalid, classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Uint8:
	default:
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	return &clipOp{n: n}, nil
}

// OutputInfo implements Shaper.
func (o *clipOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 3 {
		return nil, o.n.Errorf("want 3 inputs, have %d", len(in))
	}
	for i := 1; i < 3; i++ {
		if in[i].DType != classify.Invalid && in[0].DType != classify.Invalid && in[i].DType != in[0].DType {
			return nil, o.n.Errorf("input %d has dtype %v, t %v", i, in[i].DType, in[0].DType)
		}
		if s := in[i].Shape; len(s) != 0 && !shapesMatch(s, in[0].Shape) {
			return nil, o.n.Errorf("clip bounds must be scalars or of t's shape %v, input %d has %v", in[0].Shape, i, s)
		}
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *clipOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 3 {
		return nil, o.n.InputErrorf("want 3 inputs, have %d", len(in))
	}
	t, lo, hi := in[0], in[1], in[2]
	for i, b := range in[1:] {
		if b.DType != t.DType {
			return nil, o.n.InputErrorf("input %d has dtype %v, t %v", i+1, b.DType, t.DType)
		}
		if len(b.Shape) != 0 && !b.Shape.Equal(t.Shape) {
			return nil, o.n.InputErrorf("clip bounds must be scalars or of t's shape %v, input %d has %v", t.Shape, i+1, b.Shape)
		}
	}
	out := ctx.Output(0, t.DType, t.Shape...)
	switch d := out.Data.(type) {
	case []float32:
		clipRun(d, t.Float32s(), lo.Float32s(), hi.Float32s())
	case []float64:
		clipRun(d, t.Data.([]float64), lo.Data.([]float64), hi.Data.([]float64))
	case []int32:
		clipRun(d, t.Int32s(), lo.Int32s(), hi.Int32s())
	case []int64:
		clipRun(d, t.Int64s(), lo.Int64s(), hi.Int64s())
	case []uint8:
		clipRun(d, t.Uint8s(), lo.Uint8s(), hi.Uint8s())
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", t.DType)
	}
	return []*classify.Tensor{out}, nil
}

func clipRun[T ewNumber | ~uint8](d, t, lo, hi []T) {
	ls, hs := 0, 0 // strides: 0 for a scalar bound
	if len(lo) > 1 || len(lo) == len(d) {
		ls = 1
	}
	if len(hi) > 1 || len(hi) == len(d) {
		hs = 1
	}
	for i := range d {
		v := t[i]
		if h := hi[i*hs]; v > h {
			v = h
		}
		if l := lo[i*ls]; v < l {
			v = l
		}
		d[i] = v
	}
}

func init() {
	for _, f := range []struct {
		name string
		f    func(float64) float64
		cost int
	}{
		{"Sin", math.Sin, 8}, {"Cos", math.Cos, 8}, {"Tan", math.Tan, 8},
		{"Asin", math.Asin, 8}, {"Acos", math.Acos, 8}, {"Atan", math.Atan, 8},
		{"Sinh", math.Sinh, 8}, {"Cosh", math.Cosh, 8},
		{"Asinh", math.Asinh, 8}, {"Acosh", math.Acosh, 8}, {"Atanh", math.Atanh, 8},
		{"Erf", math.Erf, 8}, {"Erfc", math.Erfc, 8},
		{"Expm1", math.Expm1, 8}, {"Log1p", math.Log1p, 8},
		{"Softsign", func(x float64) float64 { return x / (1 + math.Abs(x)) }, 2},
		{"Reciprocal", func(x float64) float64 { return 1 / x }, 2},
		{"Inv", func(x float64) float64 { return 1 / x }, 2},
	} {
		Register(f.name, fixedUnary(floatMath(f.f, f.cost)))
	}
	Register("Softplus", fixedUnary(floatUnary(softplusLoop32, softplusLoop64, 8)))
	Register("IsNan", newUnMap(floatPred(math.IsNaN)))
	Register("IsInf", newUnMap(floatPred(func(x float64) bool { return math.IsInf(x, 0) })))
	Register("IsFinite", newUnMap(floatPred(func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) })))
	Register("Atan2", newMap(&atan2Spec))
	Register("DivNoNan", newMap(floatBinMap(divNoNan[float32], divNoNan[float64])))
	Register("MulNoNan", newMap(floatBinMap(mulNoNan[float32], mulNoNan[float64])))
	Register("Xdivy", newMap(floatBinMap(xdivy[float32], xdivy[float64])))
	Register("Xlogy", newMap(floatBinMap(xlogy[float32], xlogy[float64])))
	Register("Xlog1py", newMap(floatBinMap(xlog1py[float32], xlog1py[float64])))
	Register("L2Loss", buildL2Loss)
	Register("ClipByValue", buildClip)
}
