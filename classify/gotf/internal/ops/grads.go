package ops

// Gradient and loss kernels of frozen training graphs, after TensorFlow's
// CPU kernels:
//
//   - element-wise activation gradients. The relu family (relu_op.h) takes
//     (gradients, features) — or the forward outputs for Elu and Selu — of
//     one shape: ReluGrad = g*(f>0), Relu6Grad = g*(0<f<6), LeakyReluGrad =
//     f>0 ? g : g*alpha, EluGrad = y<0 ? g*(y+1) : g, SeluGrad = y<0 ?
//     g*(y+scale*alpha) : g*scale, SoftplusGrad = g/(exp(-f)+1),
//     SoftsignGrad = g/(|f|+1)². The cwise gradients (cwise_ops_gradients.h)
//     take (y, dy), the forward output first, with the same number of
//     elements and y's shape: SigmoidGrad = dy*y*(1-y), TanhGrad =
//     dy*(1-y²), RsqrtGrad = -0.5*dy*y³, SqrtGrad = 0.5*dy/y,
//     ReciprocalGrad = InvGrad = -dy*y².
//   - BiasAddGrad: out_backprop summed over everything but the channel
//     (last for NHWC, dimension 1 for NCHW).
//   - SoftmaxCrossEntropyWithLogits and SparseSoftmaxCrossEntropyWithLogits:
//     per row, loss = log(Σexp(x-max)) - Σ labels*(x-max) and backprop =
//     softmax(x) - labels.

import (
	"fmt"
	"math"
	"strings"

	"github.com/classifyd/classifyd/classify"
)

// gradFn is one element-wise gradient: d[i] from a[i], b[i] (the op's two
// inputs, in order).
type gradFn struct {
	f32 func(d, a, b []float32)
	f64 func(d, a, b []float64)
	// sameShape: the relu family's "g and a must be the same size"; else
	// the cwise rule, same number of elements.
	sameShape bool
	cost      int
}

func gradLoop[T float32 | float64](f func(a, b T) T) func(d, a, b []T) {
	return func(d, a, b []T) {
		a, b = a[:len(d)], b[:len(d)]
		for i := range d {
			d[i] = f(a[i], b[i])
		}
	}
}

func gradPair(sameShape bool, cost int, f32 func(a, b float32) float32, f64 func(a, b float64) float64) gradFn {
	return gradFn{f32: gradLoop(f32), f64: gradLoop(f64), sameShape: sameShape, cost: cost}
}

func reluGrad[T float32 | float64](g, f T) T {
	if f > 0 {
		return g
	}
	return g * 0
}

func relu6Grad[T float32 | float64](g, f T) T {
	if f > 0 && f < 6 {
		return g
	}
	return g * 0
}

func eluGrad[T float32 | float64](g, y T) T {
	if y < 0 {
		return (y + 1) * g
	}
	return g
}

// seluScaleAlpha is scale*alpha as TensorFlow's SeluGrad spells it.
const seluScaleAlpha = 1.7580993408473768599402175208123

func seluGrad[T float32 | float64](g, y T) T {
	if y < 0 {
		return g * (y + T(seluScaleAlpha))
	}
	return g * T(seluScale)
}

func softplusGrad[T float32 | float64](g, f T) T {
	return g / (T(math.Exp(-float64(f))) + 1)
}

func softsignGrad[T float32 | float64](g, f T) T {
	a := T(math.Abs(float64(f))) + 1
	return g / (a * a)
}

func sigmoidGrad[T float32 | float64](y, dy T) T { return dy * y * (1 - y) }
func tanhGrad[T float32 | float64](y, dy T) T    { return dy * (1 - y*y) }
func rsqrtGrad[T float32 | float64](y, dy T) T   { return -0.5 * (dy * y) * (y * y) }
func sqrtGrad[T float32 | float64](y, dy T) T    { return 0.5 * dy / y }
func recipGrad[T float32 | float64](y, dy T) T   { return -dy * y * y }

func leakyGrad[T float32 | float64](alpha T) func(g, f T) T {
	return func(g, f T) T {
		if f > 0 {
			return g
		}
		return g * alpha
	}
}

type gradOp struct {
	n  *Node
	fn gradFn
}

func buildGrad(mk func(n *Node) (gradFn, error)) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("want 2 inputs, have %d", n.NumInputs)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
		fn, err := mk(n)
		if err != nil {
			return nil, err
		}
		return &gradOp{n: n, fn: fn}, nil
	}
}

func (o *gradOp) check(a, b classify.TensorInfo) error {
	if a.DType != b.DType && a.DType != classify.Invalid && b.DType != classify.Invalid {
		return fmt.Errorf("inputs are %v and %v, want one dtype", a.DType, b.DType)
	}
	for _, dt := range []classify.DType{a.DType, b.DType} {
		if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return fmt.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
	}
	if !arrKnown(a.Shape) || !arrKnown(b.Shape) {
		return nil
	}
	if o.fn.sameShape && !a.Shape.Equal(b.Shape) {
		return fmt.Errorf("inputs %v and %v must be the same size", a.Shape, b.Shape)
	}
	if a.Shape.NumElements() != b.Shape.NumElements() {
		return fmt.Errorf("the two arguments must have the same number of elements, got %v and %v", a.Shape, b.Shape)
	}
	return nil
}

// OutputInfo implements Shaper: the first input's shape.
func (o *gradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, o.n.Errorf("want 2 inputs, have %d", len(in))
	}
	if err := o.check(in[0], in[1]); err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = in[1].DType
	}
	return []classify.TensorInfo{{DType: dt, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *gradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 {
		return nil, o.n.InputErrorf("want 2 inputs, have %d", len(in))
	}
	a, b := in[0], in[1]
	if a.DType == classify.Invalid || b.DType == classify.Invalid {
		return nil, o.n.InputErrorf("inputs are %v and %v", a.DType, b.DType)
	}
	if err := o.check(classify.TensorInfo{DType: a.DType, Shape: a.Shape}, classify.TensorInfo{DType: b.DType, Shape: b.Shape}); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if a.Len() != a.Shape.NumElements() || b.Len() != a.Len() {
		return nil, o.n.InputErrorf("inputs hold %d and %d elements for shape %v", a.Len(), b.Len(), a.Shape)
	}
	out := ctx.Output(0, a.DType, a.Shape...)
	n := out.Len()
	switch a.DType {
	case classify.Float32:
		d, x, y := out.Float32s(), a.Float32s(), b.Float32s()
		ewParallel(ctx, n, o.fn.cost, func(lo, hi int) { o.fn.f32(d[lo:hi], x[lo:hi], y[lo:hi]) })
	case classify.Float64:
		d, x, y := out.Data.([]float64), a.Data.([]float64), b.Data.([]float64)
		ewParallel(ctx, n, o.fn.cost, func(lo, hi int) { o.fn.f64(d[lo:hi], x[lo:hi], y[lo:hi]) })
	}
	return []*classify.Tensor{out}, nil
}

// FLOPs implements Flopper: a few operations per element.
func (o *gradOp) FLOPs(in []classify.Shape) int64 {
	if len(in) != 2 {
		return 0
	}
	return int64(o.fn.cost) * ewCount(in[0])
}

func fixedGrad(fn gradFn) Builder {
	return buildGrad(func(*Node) (gradFn, error) { return fn, nil })
}

func init() {
	Register("ReluGrad", fixedGrad(gradPair(true, 1, reluGrad[float32], reluGrad[float64])))
	Register("Relu6Grad", fixedGrad(gradPair(true, 1, relu6Grad[float32], relu6Grad[float64])))
	Register("EluGrad", fixedGrad(gradPair(true, 2, eluGrad[float32], eluGrad[float64])))
	Register("SeluGrad", fixedGrad(gradPair(true, 2, seluGrad[float32], seluGrad[float64])))
	Register("SoftplusGrad", fixedGrad(gradPair(true, 8, softplusGrad[float32], softplusGrad[float64])))
	Register("SoftsignGrad", fixedGrad(gradPair(true, 3, softsignGrad[float32], softsignGrad[float64])))
	Register("SigmoidGrad", fixedGrad(gradPair(false, 3, sigmoidGrad[float32], sigmoidGrad[float64])))
	Register("TanhGrad", fixedGrad(gradPair(false, 3, tanhGrad[float32], tanhGrad[float64])))
	Register("RsqrtGrad", fixedGrad(gradPair(false, 4, rsqrtGrad[float32], rsqrtGrad[float64])))
	Register("SqrtGrad", fixedGrad(gradPair(false, 2, sqrtGrad[float32], sqrtGrad[float64])))
	Register("ReciprocalGrad", fixedGrad(gradPair(false, 3, recipGrad[float32], recipGrad[float64])))
	Register("InvGrad", fixedGrad(gradPair(false, 3, recipGrad[float32], recipGrad[float64])))
	Register("LeakyReluGrad", buildGrad(func(n *Node) (gradFn, error) {
		alpha := n.Float("alpha", 0.2)
		if math.IsNaN(float64(alpha)) {
			return gradFn{}, n.Errorf("alpha is NaN")
		}
		return gradPair(true, 1, leakyGrad(alpha), leakyGrad(float64(alpha))), nil
	}))
	Register("BiasAddGrad", buildBiasAddGrad)
	Register("SoftmaxCrossEntropyWithLogits", buildXent(false))
	Register("SparseSoftmaxCrossEntropyWithLogits", buildXent(true))

	// float16 and bfloat16 compute in float32 as the forward activations
	// do (promote.go); the cross entropies' loss and backprop are both T,
	// the sparse labels are not.
	for _, op := range strings.Fields("ReluGrad Relu6Grad EluGrad SeluGrad SoftplusGrad SoftsignGrad SigmoidGrad " +
		"TanhGrad RsqrtGrad SqrtGrad ReciprocalGrad InvGrad LeakyReluGrad BiasAddGrad " +
		"SoftmaxCrossEntropyWithLogits SparseSoftmaxCrossEntropyWithLogits") {
		promote(op, "T", nil, halfDTypes...)
	}
}

// biasAddGradOp is BiasAddGrad.
type biasAddGradOp struct {
	n    *Node
	nchw bool
}

func buildBiasAddGrad(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
	}
	o := &biasAddGradOp{n: n}
	switch f := n.String("data_format", "NHWC"); f {
	case "NHWC":
	case "NCHW":
		o.nchw = true
	default:
		return nil, n.Errorf("data_format %q: want NHWC or NCHW", f)
	}
	if dt := n.Type("T"); !biasGradDType(dt) && dt != classify.Invalid {
		return nil, n.Errorf("unsupported dtype %v (float32, float64, int32, int64)", dt)
	}
	return o, nil
}

func biasGradDType(dt classify.DType) bool {
	switch dt {
	case classify.Float32, classify.Float64, classify.Int32, classify.Int64:
		return true
	}
	return false
}

// split returns the sizes outer × c × inner of a shape around the channel.
func (o *biasAddGradOp) split(s classify.Shape) (outer, c, inner int, err error) {
	if len(s) < 2 {
		return 0, 0, 0, fmt.Errorf("inputs should be a matrix or higher, got shape %v", s)
	}
	ax := len(s) - 1
	if o.nchw {
		ax = 1
	}
	return arrProd(s[:ax]), s[ax], arrProd(s[ax+1:]), nil
}

// OutputInfo implements Shaper.
func (o *biasAddGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	x := in[0]
	if x.DType != classify.Invalid && !biasGradDType(x.DType) {
		return nil, o.n.Errorf("unsupported dtype %v", x.DType)
	}
	if x.Shape == nil {
		return []classify.TensorInfo{{DType: x.DType, Shape: arrUnknown(1)}}, nil
	}
	if len(x.Shape) < 2 {
		return nil, o.n.Errorf("inputs should be a matrix or higher, got shape %v", x.Shape)
	}
	c := x.Shape[len(x.Shape)-1]
	if o.nchw {
		c = x.Shape[1]
	}
	return []classify.TensorInfo{{DType: x.DType, Shape: classify.Shape{c}}}, nil
}

// Run implements Op.
func (o *biasAddGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if !biasGradDType(x.DType) {
		return nil, o.n.InputErrorf("unsupported dtype %v (float32, float64, int32, int64)", x.DType)
	}
	outer, c, inner, err := o.split(x.Shape)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if x.Len() != x.Shape.NumElements() {
		return nil, o.n.InputErrorf("out_backprop holds %d elements for shape %v", x.Len(), x.Shape)
	}
	out := ctx.Output(0, x.DType, c)
	switch x.DType {
	case classify.Float32:
		biasGradF(out.Float32s(), x.Float32s(), outer, c, inner)
	case classify.Float64:
		biasGradF(out.Data.([]float64), x.Data.([]float64), outer, c, inner)
	case classify.Int32:
		biasGradI(out.Int32s(), x.Int32s(), outer, c, inner)
	case classify.Int64:
		biasGradI(out.Int64s(), x.Int64s(), outer, c, inner)
	}
	return []*classify.Tensor{out}, nil
}

// biasGradF sums in float64 and rounds once.
func biasGradF[T float32 | float64](dst, src []T, outer, c, inner int) {
	acc := make([]float64, c)
	for o := range outer {
		for ch := range c {
			row := src[(o*c+ch)*inner:][:inner]
			s := 0.0
			for _, v := range row {
				s += float64(v)
			}
			acc[ch] += s
		}
	}
	for i, v := range acc {
		dst[i] = T(v)
	}
}

// biasGradI sums in T, wrapping as TensorFlow's integer sums do.
func biasGradI[T int32 | int64](dst, src []T, outer, c, inner int) {
	clear(dst)
	for o := range outer {
		for ch := range c {
			for _, v := range src[(o*c+ch)*inner:][:inner] {
				dst[ch] += v
			}
		}
	}
}

// xentOp is SoftmaxCrossEntropyWithLogits (dense labels, broadcast against
// the logits as TensorFlow 2 does) or SparseSoftmaxCrossEntropyWithLogits.
type xentOp struct {
	n      *Node
	sparse bool
}

func buildXent(sparse bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("want 2 inputs (features, labels), have %d", n.NumInputs)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
		if sparse {
			if dt := n.Type("Tlabels"); dt != classify.Invalid && dt != classify.Int32 && dt != classify.Int64 {
				return nil, n.Errorf("Tlabels %v: want int32 or int64", dt)
			}
		}
		return &xentOp{n: n, sparse: sparse}, nil
	}
}

// shape returns the [batch, classes] of the computation and, for dense
// labels, the strides (0 on a broadcast dimension) of logits and labels.
func (o *xentOp) shape(x, l classify.Shape) (b, c int, xs, ls [2]int, err error) {
	if o.sparse {
		if len(x) != 2 {
			return 0, 0, xs, ls, fmt.Errorf("logits must be 2-D, but got shape %v", x)
		}
		if len(l) != 1 {
			return 0, 0, xs, ls, fmt.Errorf("labels must be 1-D, but got shape %v", l)
		}
		if x[0] >= 0 && l[0] >= 0 && x[0] != l[0] {
			return 0, 0, xs, ls, fmt.Errorf("logits and labels must have the same first dimension, got logits shape %v and labels shape %v", x, l)
		}
		return x[0], x[1], [2]int{x[1], 1}, ls, nil
	}
	s, ok := bcastShapes(x, l)
	if !ok {
		return 0, 0, xs, ls, fmt.Errorf("logits and labels must be broadcastable: logits_size=%v labels_size=%v", x, l)
	}
	if len(s) != 2 {
		return 0, 0, xs, ls, fmt.Errorf("logits and labels must be either 2-dimensional, or broadcasted to be 2-dimensional (logits %v, labels %v)", x, l)
	}
	strides := func(t classify.Shape) (st [2]int) {
		p := append(make([]int, 2-len(t)), t...)
		if len(t) < 2 {
			p[0] = 1
		}
		if len(t) < 1 {
			p[1] = 1
		}
		if p[1] != 1 {
			st[1] = 1
		}
		if p[0] != 1 {
			st[0] = p[1]
		}
		return st
	}
	return s[0], s[1], strides(x), strides(l), nil
}

// OutputInfo implements Shaper: loss [batch] and backprop [batch, classes].
func (o *xentOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = o.n.Type("T")
	}
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	if in[0].Shape == nil || in[1].Shape == nil {
		return []classify.TensorInfo{{DType: dt, Shape: arrUnknown(1)}, {DType: dt, Shape: arrUnknown(2)}}, nil
	}
	b, c, _, _, err := o.shape(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: dt, Shape: classify.Shape{b}}, {DType: dt, Shape: classify.Shape{b, c}}}, nil
}

// Run implements Op.
func (o *xentOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, l := in[0], in[1]
	if x.DType != classify.Float32 && x.DType != classify.Float64 {
		return nil, o.n.InputErrorf("unsupported dtype %v (float32, float64)", x.DType)
	}
	if o.sparse {
		if l.DType != classify.Int32 && l.DType != classify.Int64 {
			return nil, o.n.InputErrorf("labels are %v, want int32 or int64", l.DType)
		}
	} else if l.DType != x.DType {
		return nil, o.n.InputErrorf("labels are %v, logits %v: want one dtype", l.DType, x.DType)
	}
	b, c, xs, ls, err := o.shape(x.Shape, l.Shape)
	if err == nil {
		err = arrCheckDims([]int{b, c})
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if x.Len() != x.Shape.NumElements() || l.Len() != l.Shape.NumElements() {
		return nil, o.n.InputErrorf("logits or labels hold fewer elements than their shapes %v %v", x.Shape, l.Shape)
	}
	var labels []int64
	if o.sparse {
		if c == 0 && b > 0 {
			return nil, o.n.InputErrorf("must have at least one class, but got logits shape %v", x.Shape)
		}
		labels = make([]int64, b)
		switch d := l.Data.(type) {
		case []int32:
			for i, v := range d[:b] {
				labels[i] = int64(v)
			}
		case []int64:
			copy(labels, d[:b])
		}
		for _, v := range labels {
			if v < 0 || v >= int64(c) {
				return nil, o.n.InputErrorf("Received a label value of %d which is outside the valid range of [0, %d).  Label values: %v", v, c, labels)
			}
		}
	}
	loss := ctx.Output(0, x.DType, b)
	back := ctx.Output(1, x.DType, b, c)
	switch x.DType {
	case classify.Float32:
		var lab []float32
		if !o.sparse {
			lab = l.Float32s()
		}
		xentRows(loss.Float32s(), back.Float32s(), x.Float32s(), lab, labels, b, c, xs, ls)
	case classify.Float64:
		var lab []float64
		if !o.sparse {
			lab = l.Data.([]float64)
		}
		xentRows(loss.Data.([]float64), back.Data.([]float64), x.Data.([]float64), lab, labels, b, c, xs, ls)
	}
	return []*classify.Tensor{loss, back}, nil
}

// xentRows computes each row in float64: the shifted logits x-max, their
// log-sum-exp, then loss and backprop. Dense labels lab are read through
// strides ls, sparse ones are the class indices sp.
func xentRows[T float32 | float64](loss, back, x, lab []T, sp []int64, b, c int, xs, ls [2]int) {
	sh := make([]float64, c)
	for r := range b {
		m := math.Inf(-1)
		for j := range c {
			sh[j] = float64(x[r*xs[0]+j*xs[1]])
			m = max(m, sh[j])
		}
		sum := 0.0
		for j := range sh {
			sh[j] -= m
			sum += math.Exp(sh[j])
		}
		lse := math.Log(sum)
		out := back[r*c:][:c]
		l := 0.0
		for j := range sh {
			y := 0.0
			if sp != nil {
				if int64(j) == sp[r] {
					y = 1
				}
			} else {
				y = float64(lab[r*ls[0]+j*ls[1]])
			}
			if y != 0 || sp == nil {
				l += y * (lse - sh[j])
			}
			out[j] = T(math.Exp(sh[j])/sum - y)
		}
		loss[r] = T(l)
	}
}
