package ops

// Activations: Relu, Relu6, Elu, Selu, LeakyRelu, Sigmoid, Tanh (element
// wise, on the unary machinery of elementwise.go) and Softmax, LogSoftmax
// over the last axis.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

// reluLoop and relu6Loop compute max(x, 0) (then min(., 6)) the way x86's
// MAXPS does and so TensorFlow's Eigen kernels: unless x > 0 the result is
// +0, so NaN and -0 become 0. The assembly loops behave the same.
func reluLoop[T ewNumber](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		x := a[i]
		if !(x > 0) {
			x = 0
		}
		d[i] = x
	}
}

func relu6Loop[T ewNumber](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		x := a[i]
		if !(x > 0) {
			x = 0
		}
		if !(x < 6) {
			x = 6
		}
		d[i] = x
	}
}

func eluLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		if x := a[i]; x < 0 {
			d[i] = T(math.Expm1(float64(x)))
		} else {
			d[i] = x
		}
	}
}

// The SELU constants of Klambauer et al., as TensorFlow's kernel has them.
const (
	seluScale = 1.0507009873554804934193349852946
	seluAlpha = 1.6732632423543772848170429916717
)

func seluLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		if x := a[i]; x < 0 {
			d[i] = T(seluScale * seluAlpha * math.Expm1(float64(x)))
		} else {
			d[i] = T(seluScale * float64(x))
		}
	}
}

func sigmoidLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(1 / (1 + math.Exp(-float64(a[i]))))
	}
}

func tanhLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(math.Tanh(float64(a[i])))
	}
}

func leakyLoop[T ewFloat](alpha T) func(d, a []T) {
	return func(d, a []T) {
		a = a[:len(d)]
		for i := range d {
			if x := a[i]; x > 0 {
				d[i] = x
			} else {
				d[i] = x * alpha
			}
		}
	}
}

// softmaxOp is Softmax or LogSoftmax over the last axis.
type softmaxOp struct {
	n   *Node
	log bool
}

func buildSoftmax(log bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v", dt)
		}
		return &softmaxOp{n: n, log: log}, nil
	}
}

// OutputInfo implements Shaper.
func (o *softmaxOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	dt := in[0].DType
	switch dt {
	case classify.Invalid:
		if dt = o.n.Type("T"); dt == classify.Invalid {
			dt = classify.Float32
		}
	case classify.Float32, classify.Float64:
	default:
		return nil, o.n.Errorf("unsupported dtype %v", in[0].DType)
	}
	if in[0].Shape != nil && len(in[0].Shape) < 1 {
		return nil, o.n.Errorf("logits must have rank >= 1, have a scalar")
	}
	return []classify.TensorInfo{{DType: dt, Shape: in[0].Shape.Clone()}}, nil
}

// FLOPs implements Flopper: max, subtract, exp, sum and scale per element,
// counting exp as one.
func (o *softmaxOp) FLOPs(in []classify.Shape) int64 {
	if len(in) != 1 {
		return 0
	}
	return 5 * ewCount(in[0])
}

// Run implements Op.
func (o *softmaxOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	x := in[0]
	if x.DType != classify.Float32 && x.DType != classify.Float64 {
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	if len(x.Shape) < 1 {
		return nil, o.n.InputErrorf("logits must have rank >= 1, have a scalar")
	}
	if x.DType == classify.Float64 {
		out := ctx.Output(0, classify.Float64, x.Shape...)
		if c := x.Shape[len(x.Shape)-1]; c > 0 {
			softmax64Rows(out.Data.([]float64), x.Data.([]float64), c, o.log)
		}
		return []*classify.Tensor{out}, nil
	}
	out := ctx.Output(0, classify.Float32, x.Shape...)
	c := x.Shape[len(x.Shape)-1]
	if c == 0 || out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	rows := out.Len() / c
	src, dst := x.Float32s(), out.Float32s()
	f := softmaxRows
	if o.log {
		f = logSoftmaxRows
	}
	if ewSerial(ctx, len(dst), 8) || rows < 2 {
		f(dst, src, c)
	} else {
		ewParallel(ctx, rows, 8*c, func(lo, hi int) { f(dst[lo*c:hi*c], src[lo*c:hi*c], c) })
	}
	return []*classify.Tensor{out}, nil
}

// expf32 is e**x in float32 arithmetic after the Cephes expf scheme (the
// one Eigen's vectorised exp follows): x = n*ln2 + r with |r| <= ln2/2,
// e**r from a degree-6 polynomial, then a scale by 2**n through the
// exponent bits, in two steps so that results near overflow and in the
// subnormal range come out right. It stays within a few ulps of the exact
// value, at a fraction of math.Exp's float64 cost.
func expf32(x float32) float32 {
	const (
		maxLog = 88.72283935546875 // ln(MaxFloat32), rounded down to float32
		minLog = -103.972084       // below, e**x rounds to 0
		log2e  = 1.44269504088896341
		ln2Hi  = 0.693359375 // ln2 split so that n*ln2Hi is exact
		ln2Lo  = -2.12194440e-4
	)
	switch {
	case x != x:
		return x
	case x > maxLog:
		return float32(math.Inf(1))
	case x < minLog:
		return 0
	}
	// Adding and removing 1.5*2**23 rounds to an integer in float32
	// arithmetic, without a call; |x*log2e| < 150 stays far from the limit.
	const round = 0x1.8p23
	t := x*log2e + round
	n := t - round
	r := x - n*ln2Hi - n*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	k := int32(n)
	h := k / 2
	return y * math.Float32frombits(uint32(h+127)<<23) * math.Float32frombits(uint32(k-h+127)<<23)
}

// softmaxRows subtracts each row's maximum before exponentiating, so that
// large logits neither overflow nor lose the small ones; the sum is kept in
// float64 to stay accurate over long rows.
func softmaxRows(dst, src []float32, c int) {
	for r := 0; r+c <= len(src); r += c {
		row, out := src[r:r+c], dst[r:r+c]
		m := softmaxRowMax(row)
		var sum float64
		for i, v := range row {
			e := expf32(v - m)
			out[i] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		for i := range out {
			out[i] *= inv
		}
	}
}

// logSoftmaxRows computes x - max - log(sum(exp(x - max))) per row.
func logSoftmaxRows(dst, src []float32, c int) {
	for r := 0; r+c <= len(src); r += c {
		row, out := src[r:r+c], dst[r:r+c]
		m := softmaxRowMax(row)
		var sum float64
		for _, v := range row {
			sum += float64(expf32(v - m))
		}
		ls := float32(math.Log(sum))
		for i, v := range row {
			out[i] = v - m - ls
		}
	}
}

func softmaxRowMax(row []float32) float32 {
	m := row[0]
	for _, v := range row[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

func init() {
	Register("Relu", fixedUnary(numUnary(reluF32, reluLoop[float64], reluLoop[int32], reluLoop[int64])))
	Register("Relu6", fixedUnary(numUnary(relu6F32, relu6Loop[float64], relu6Loop[int32], relu6Loop[int64])))
	Register("Elu", fixedUnary(floatUnary(eluLoop[float32], eluLoop[float64], 8)))
	Register("Selu", fixedUnary(floatUnary(seluLoop[float32], seluLoop[float64], 8)))
	Register("Sigmoid", fixedUnary(floatUnary(sigmoidLoop[float32], sigmoidLoop[float64], 8)))
	Register("Tanh", fixedUnary(floatUnary(tanhLoop[float32], tanhLoop[float64], 8)))
	Register("LeakyRelu", newUnary(func(n *Node) (*unarySpec, error) {
		alpha := n.Float("alpha", 0.2)
		if math.IsNaN(float64(alpha)) {
			return nil, n.Errorf("alpha is NaN")
		}
		return floatUnary(leakyLoop(alpha), leakyLoop(float64(alpha)), 1), nil
	}))
	Register("Softmax", buildSoftmax(false))
	Register("LogSoftmax", buildSoftmax(true))
}

// softmax64Rows is Softmax (LogSoftmax when log) of float64 rows of c
// elements, shifted by the row maximum as TensorFlow's kernel.
func softmax64Rows(dst, src []float64, c int, log bool) {
	for r := 0; r+c <= len(src); r += c {
		x, d := src[r:r+c], dst[r:r+c]
		m := math.Inf(-1)
		for _, v := range x {
			m = max(m, v)
		}
		sum := 0.0
		for i, v := range x {
			d[i] = math.Exp(v - m)
			sum += d[i]
		}
		if log {
			ls := math.Log(sum)
			for i, v := range x {
				d[i] = v - m - ls
			}
			continue
		}
		for i := range d {
			d[i] /= sum
		}
	}
}
