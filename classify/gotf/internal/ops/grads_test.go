package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Tests of grads.go. TensorFlow.js has none of these kernels, so each is
// checked against numerical derivatives of the engine's own forward
// kernels (central differences in float64), against loops written from
// TensorFlow's definitions, and on hand-worked cases.

// grRun2 is runOp for an op with two outputs.
func grRun2(t *testing.T, op string, attrs graphdef.Attrs, in ...*classify.Tensor) ([]*classify.Tensor, error) {
	t.Helper()
	g := graphdef.New()
	var ins []graphdef.Output
	feeds := map[string]*classify.Tensor{}
	for i, x := range in {
		name := string(rune('a' + i))
		ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
		feeds[name] = x
	}
	g.Op(op, "out", ins, attrs)
	return interpretChecked(t, g, feeds, []graphdef.Output{"out:0", "out:1"})
}

// grFwd runs a forward kernel whose values only feed a derivative check:
// it is not recorded as checked.
func grFwd(t *testing.T, op string, attrs graphdef.Attrs, nout int, in ...*classify.Tensor) []*classify.Tensor {
	t.Helper()
	g := graphdef.New()
	var ins []graphdef.Output
	feeds := map[string]*classify.Tensor{}
	for i, x := range in {
		name := string(rune('a' + i))
		ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
		feeds[name] = x
	}
	g.Op(op, "out", ins, attrs)
	fetch := []graphdef.Output{"out"}
	if nout > 1 {
		fetch = nil
		for i := range nout {
			fetch = append(fetch, graphdef.Output("out:"+string(rune('0'+i))))
		}
	}
	out, err := interpretRec(g, feeds, fetch, func(ranNode) {})
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

func grF64(data []float64, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float64, Shape: classify.Shape(shape).Clone(), Data: data}
}

// grRand64 is a float64 tensor uniform in [lo, hi), keeping |x - k| >= gap
// for each kink k.
func grRand64(seed uint64, lo, hi float64, kinks []float64, gap float64, shape ...int) *classify.Tensor {
	r := rand.New(rand.NewPCG(seed, 77))
	t := classify.NewTensor(classify.Float64, shape...)
	d := t.Data.([]float64)
	for i := range d {
	again:
		v := lo + (hi-lo)*r.Float64()
		for _, k := range kinks {
			if math.Abs(v-k) < gap {
				goto again
			}
		}
		d[i] = v
	}
	return t
}

func grTo32(x *classify.Tensor) *classify.Tensor {
	t := classify.NewTensor(classify.Float32, x.Shape...)
	for i, v := range x.Data.([]float64) {
		t.Float32s()[i] = float32(v)
	}
	return t
}

func grTo16(x *classify.Tensor) *classify.Tensor {
	t := classify.NewTensor(classify.Float16, x.Shape...)
	d := t.Data.([]classify.F16)
	for i, v := range x.Data.([]float64) {
		d[i] = classify.F16FromFloat64(v)
	}
	return t
}

// grFloats reads any float tensor as float64.
func grFloats(t *classify.Tensor) []float64 {
	switch d := t.Data.(type) {
	case []float64:
		return d
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out
	case []classify.F16:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
		return out
	}
	panic("grFloats: " + t.DType.String())
}

func grClose(t *testing.T, what string, got, want []float64, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(got[i] - want[i]); !(d <= atol+rtol*math.Abs(want[i])) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}

// grEWCase is one element-wise gradient: fwd is the forward op, its
// derivative at x is checked numerically. yFirst: the inputs are (y, dy),
// else (gradients, features). fromOutput: the grad takes fwd(x), not x.
type grEWCase struct {
	grad, fwd  string
	attrs      graphdef.Attrs
	yFirst     bool
	fromOutput bool
	lo, hi     float64
	kinks      []float64
}

var grEWCases = []grEWCase{
	{grad: "ReluGrad", fwd: "Relu", lo: -3, hi: 3, kinks: []float64{0}},
	{grad: "Relu6Grad", fwd: "Relu6", lo: -3, hi: 9, kinks: []float64{0, 6}},
	{grad: "LeakyReluGrad", fwd: "LeakyRelu", attrs: graphdef.Attrs{"alpha": float32(0.3)}, lo: -3, hi: 3, kinks: []float64{0}},
	{grad: "EluGrad", fwd: "Elu", fromOutput: true, lo: -3, hi: 3, kinks: []float64{0}},
	{grad: "SeluGrad", fwd: "Selu", fromOutput: true, lo: -3, hi: 3, kinks: []float64{0}},
	{grad: "SoftplusGrad", fwd: "Softplus", lo: -5, hi: 5},
	{grad: "SoftsignGrad", fwd: "Softsign", lo: -4, hi: 4, kinks: []float64{0}},
	{grad: "SigmoidGrad", fwd: "Sigmoid", yFirst: true, fromOutput: true, lo: -5, hi: 5},
	{grad: "TanhGrad", fwd: "Tanh", yFirst: true, fromOutput: true, lo: -3, hi: 3},
	{grad: "RsqrtGrad", fwd: "Rsqrt", yFirst: true, fromOutput: true, lo: 0.3, hi: 4},
	{grad: "SqrtGrad", fwd: "Sqrt", yFirst: true, fromOutput: true, lo: 0.3, hi: 4},
	{grad: "ReciprocalGrad", fwd: "Reciprocal", yFirst: true, fromOutput: true, lo: 0.3, hi: 4},
	{grad: "InvGrad", fwd: "Inv", yFirst: true, fromOutput: true, lo: -4, hi: 4, kinks: []float64{0}},
}

func (c grEWCase) at(dt classify.DType) graphdef.Attrs {
	a := graphdef.Attrs{"T": dt}
	for k, v := range c.attrs {
		a[k] = v
	}
	return a
}

func (c grEWCase) inputs(g, x, y *classify.Tensor) []*classify.Tensor {
	f := x
	if c.fromOutput {
		f = y
	}
	if c.yFirst {
		return []*classify.Tensor{f, g}
	}
	return []*classify.Tensor{g, f}
}

// TestGradElementwiseNumeric checks each element-wise gradient in float64
// against central differences of its forward kernel (h = 1e-6, tolerance
// 1e-7 + 1e-7 relative), then float32 against float64 (1e-6 relative) and
// float16 against float32 (2e-2 relative, a few ulps of half).
func TestGradElementwiseNumeric(t *testing.T) {
	const h = 1e-6
	for i, c := range grEWCases {
		t.Run(c.grad, func(t *testing.T) {
			x := grRand64(uint64(10+i), c.lo, c.hi, c.kinks, 0.05, 3, 7)
			g := grRand64(uint64(50+i), -2, 2, nil, 0, 3, 7)
			xp, xm := x.Clone(), x.Clone()
			for j := range xp.Data.([]float64) {
				xp.Data.([]float64)[j] += h
				xm.Data.([]float64)[j] -= h
			}
			fa := c.at(classify.Float64)
			y := grFwd(t, c.fwd, fa, 1, x)[0]
			yp, ym := grFwd(t, c.fwd, fa, 1, xp)[0], grFwd(t, c.fwd, fa, 1, xm)[0]
			want := make([]float64, x.Len())
			for j := range want {
				want[j] = g.Data.([]float64)[j] * (yp.Data.([]float64)[j] - ym.Data.([]float64)[j]) / (2 * h)
			}
			got := mustRun(t, c.grad, c.at(classify.Float64), c.inputs(g, x, y)...)
			if !got.Shape.Equal(x.Shape) || got.DType != classify.Float64 {
				t.Fatalf("got %v %v", got.DType, got.Shape)
			}
			grClose(t, "float64", got.Data.([]float64), want, 1e-7, 1e-7)
			g64 := got.Data.([]float64)

			in32 := c.inputs(grTo32(g), grTo32(x), grTo32(y))
			got32 := mustRun(t, c.grad, c.at(classify.Float32), in32...)
			grClose(t, "float32", grFloats(got32), g64, 1e-6, 1e-5)

			in16 := c.inputs(grTo16(g), grTo16(x), grTo16(y))
			got16 := mustRun(t, c.grad, c.at(classify.Float16), in16...)
			if got16.DType != classify.Float16 {
				t.Fatalf("float16 in, %v out", got16.DType)
			}
			// Reference: the float32 kernel on the same (rounded) inputs.
			w16 := make([]*classify.Tensor, 2)
			for k, v := range in16 {
				w16[k] = classify.NewTensor(classify.Float32, v.Shape...)
				for j, e := range v.Data.([]classify.F16) {
					w16[k].Float32s()[j] = e.Float32()
				}
			}
			grClose(t, "float16", grFloats(got16), grFloats(mustRun(t, c.grad, c.at(classify.Float32), w16...)), 1e-3, 2e-3)

			// Empty.
			e := grF64([]float64{}, 0, 3)
			if got := mustRun(t, c.grad, c.at(classify.Float64), e, e); !got.Shape.Equal(classify.Shape{0, 3}) {
				t.Errorf("empty: shape %v", got.Shape)
			}
		})
	}
}

// TestGradElementwiseHand checks the edges TensorFlow's formulas give: the
// relu family's gradient is 0 at the kink (features > 0 is false at 0, and
// Relu6's at 6), a NaN gradient stays NaN through the multiplication, and
// each formula on round numbers.
func TestGradElementwiseHand(t *testing.T) {
	nan := math.NaN()
	f64 := classify.Float64
	for _, c := range []struct {
		op    string
		attrs graphdef.Attrs
		a, b  []float64
		want  []float64
	}{
		{"ReluGrad", nil, []float64{2, 3, 4, nan}, []float64{0, 1, -1, -1}, []float64{0, 3, 0, nan}},
		{"Relu6Grad", nil, []float64{2, 3, 4, 5}, []float64{0, 6, 5.5, 7}, []float64{0, 0, 4, 0}},
		{"LeakyReluGrad", graphdef.Attrs{"alpha": float32(0.5)}, []float64{2, 3, 4}, []float64{0, 1, -1}, []float64{1, 3, 2}},
		{"EluGrad", nil, []float64{2, 3}, []float64{-0.5, 0}, []float64{1, 3}},
		{"SeluGrad", nil, []float64{1, 2}, []float64{-1, 1}, []float64{seluScale*seluAlpha - 1, 2 * seluScale}},
		{"SoftplusGrad", nil, []float64{2, 4}, []float64{0, math.Log(3)}, []float64{1, 3}},
		{"SoftsignGrad", nil, []float64{4, 9}, []float64{1, -2}, []float64{1, 1}},
		{"SigmoidGrad", nil, []float64{0.5, 0.25}, []float64{4, 16}, []float64{1, 3}},
		{"TanhGrad", nil, []float64{0.5, 0}, []float64{4, 3}, []float64{3, 3}},
		{"RsqrtGrad", nil, []float64{2, 0.5}, []float64{1, 8}, []float64{-4, -0.5}},
		{"SqrtGrad", nil, []float64{2, 0.5}, []float64{4, 1}, []float64{1, 1}},
		{"ReciprocalGrad", nil, []float64{2, -1}, []float64{1, 3}, []float64{-4, -3}},
		{"InvGrad", nil, []float64{0.5}, []float64{8}, []float64{-2}},
	} {
		at := graphdef.Attrs{"T": f64}
		for k, v := range c.attrs {
			at[k] = v
		}
		got := mustRun(t, c.op, at, grF64(c.a, len(c.a)), grF64(c.b, len(c.b)))
		grClose(t, c.op, got.Data.([]float64), c.want, 1e-12, 1e-12)
	}
	// The cwise gradients need only the same number of elements and take
	// y's shape.
	got := mustRun(t, "SigmoidGrad", graphdef.Attrs{"T": f64}, grF64([]float64{0.5, 0.5, 0.5, 0.5}, 2, 2), grF64([]float64{4, 8, 12, 16}, 4))
	if !got.Shape.Equal(classify.Shape{2, 2}) {
		t.Errorf("SigmoidGrad shape %v, want [2 2]", got.Shape)
	}
	grClose(t, "SigmoidGrad reshaped", got.Data.([]float64), []float64{1, 2, 3, 4}, 0, 0)
}

func TestGradElementwiseErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	a23, a32 := randF32(1, -1, 1, 2, 3), randF32(2, -1, 1, 3, 2)
	a5 := randF32(3, -1, 1, 5)
	saCheckErrors(t, []saErrCase{
		{"relu_shape", "ReluGrad", nil, []saIn{saFeed(a23), saFeed(a32)}, inv, "same size"},
		{"sigmoid_count", "SigmoidGrad", nil, []saIn{saFeed(a23), saFeed(a5)}, inv, "number of elements"},
		{"dtype_attr", "TanhGrad", graphdef.Attrs{"T": classify.Int32}, []saIn{saFeed(saIota(3)), saFeed(saIota(3))}, bad, "dtype"},
		{"dtype_run", "TanhGrad", nil, []saIn{saFeed(saIota(3)), saFeed(saIota(3))}, inv, "int32"},
		{"mixed", "EluGrad", nil, []saIn{saFeed(a23), saFeed(grF64(make([]float64, 6), 2, 3))}, inv, "one dtype"},
		{"alpha_nan", "LeakyReluGrad", graphdef.Attrs{"alpha": float32(math.NaN())}, []saIn{saFeed(a23), saFeed(a23)}, bad, "alpha"},
	})
	if _, err := saRun(t, "ReluGrad", nil, saFeed(a23)); err == nil {
		t.Error("ReluGrad with 1 input: no error")
	}
}

// TestBiasAddGrad checks against a direct loop over every layout: the sum
// of out_backprop over all dimensions but the channel.
func TestBiasAddGrad(t *testing.T) {
	for _, c := range []struct {
		shape  []int
		format string
	}{{[]int{2, 3, 4, 5}, "NHWC"}, {[]int{2, 3, 4, 5}, "NCHW"}, {[]int{7, 3}, "NHWC"}, {[]int{7, 3}, "NCHW"}, {[]int{2, 4, 3, 2, 3}, "NCHW"}, {[]int{0, 4}, "NHWC"}} {
		x := grRand64(5, -1, 1, nil, 0, c.shape...)
		ax := len(c.shape) - 1
		if c.format == "NCHW" {
			ax = 1
		}
		want := make([]float64, c.shape[ax])
		inner := arrProd(c.shape[ax+1:])
		for i, v := range x.Data.([]float64) {
			want[(i/inner)%c.shape[ax]] += v
		}
		at := graphdef.Attrs{"T": classify.Float64, "data_format": c.format}
		got := mustRun(t, "BiasAddGrad", at, x)
		grClose(t, "float64", got.Data.([]float64), want, 1e-12, 1e-12)
		at["T"] = classify.Float32
		grClose(t, "float32", grFloats(mustRun(t, "BiasAddGrad", at, grTo32(x))), want, 1e-5, 1e-5)
		at["T"] = classify.Float16
		grClose(t, "float16", grFloats(mustRun(t, "BiasAddGrad", at, grTo16(x))), want, 2e-2, 1e-2)
	}
	// Integers sum in T.
	got := mustRun(t, "BiasAddGrad", graphdef.Attrs{"T": classify.Int32}, saIota(2, 3))
	if d := got.Int32s(); len(d) != 3 || d[0] != 3 || d[1] != 5 || d[2] != 7 {
		t.Errorf("int32: got %v, want [3 5 7]", d)
	}
	got = mustRun(t, "BiasAddGrad", graphdef.Attrs{"T": classify.Int64, "data_format": "NCHW"}, saI64([]int64{1, 2, 3, 4, 5, 6}, 1, 2, 3))
	if d := got.Int64s(); len(d) != 2 || d[0] != 6 || d[1] != 15 {
		t.Errorf("int64 NCHW: got %v, want [6 15]", d)
	}
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	saCheckErrors(t, []saErrCase{
		{"rank", "BiasAddGrad", nil, []saIn{saFeed(randF32(1, 0, 1, 4))}, inv, "matrix"},
		{"format", "BiasAddGrad", graphdef.Attrs{"data_format": "NCDHW"}, []saIn{saFeed(randF32(1, 0, 1, 4, 2))}, bad, "data_format"},
		{"dtype", "BiasAddGrad", nil, []saIn{saFeed(saBools(2, 2))}, inv, "bool"},
	})
}

// grXentRef is the definition in float64: per row the log-sum-exp of the
// logits, loss = Σ labels*(lse - x), backprop = softmax - labels.
func grXentRef(x, l []float64, b, c int) (loss, back []float64) {
	loss, back = make([]float64, b), make([]float64, b*c)
	for r := range b {
		m := math.Inf(-1)
		for j := range c {
			m = max(m, x[r*c+j])
		}
		s := 0.0
		for j := range c {
			s += math.Exp(x[r*c+j] - m)
		}
		lse := m + math.Log(s)
		for j := range c {
			loss[r] += l[r*c+j] * (lse - x[r*c+j])
			back[r*c+j] = math.Exp(x[r*c+j]-lse) - l[r*c+j]
		}
	}
	return loss, back
}

// TestSoftmaxXent checks against the definition, against the forward
// LogSoftmax and Softmax kernels (loss = -Σ labels*LogSoftmax(x), backprop
// = Softmax(x) - labels), against central differences of the loss (the
// backprop is its derivative: h = 1e-6, tolerance 1e-6), and TF 2's
// broadcasting of labels.
func TestSoftmaxXent(t *testing.T) {
	const b, c = 4, 5
	x := grRand64(21, -4, 4, nil, 0, b, c)
	// Labels: distributions per row.
	l := grRand64(22, 0, 1, nil, 0, b, c)
	ld := l.Data.([]float64)
	for r := range b {
		s := 0.0
		for j := range c {
			s += ld[r*c+j]
		}
		for j := range c {
			ld[r*c+j] /= s
		}
	}
	at := graphdef.Attrs{"T": classify.Float64}
	out, err := grRun2(t, "SoftmaxCrossEntropyWithLogits", at, x, l)
	if err != nil {
		t.Fatal(err)
	}
	if !out[0].Shape.Equal(classify.Shape{b}) || !out[1].Shape.Equal(classify.Shape{b, c}) {
		t.Fatalf("shapes %v %v", out[0].Shape, out[1].Shape)
	}
	wl, wb := grXentRef(x.Data.([]float64), ld, b, c)
	grClose(t, "loss", grFloats(out[0]), wl, 1e-12, 1e-12)
	grClose(t, "backprop", grFloats(out[1]), wb, 1e-12, 1e-12)
	// Forward kernels.
	ls := grFwd(t, "LogSoftmax", at, 1, x)[0].Data.([]float64)
	sm := grFwd(t, "Softmax", at, 1, x)[0].Data.([]float64)
	fl, fb := make([]float64, b), make([]float64, b*c)
	for i := range ls {
		fl[i/c] -= ld[i] * ls[i]
		fb[i] = sm[i] - ld[i]
	}
	grClose(t, "loss vs LogSoftmax", grFloats(out[0]), fl, 1e-12, 1e-12)
	grClose(t, "backprop vs Softmax", grFloats(out[1]), fb, 1e-12, 1e-12)
	// Numerical derivative of the loss.
	const h = 1e-6
	num := make([]float64, b*c)
	for i := range num {
		xp, xm := x.Clone(), x.Clone()
		xp.Data.([]float64)[i] += h
		xm.Data.([]float64)[i] -= h
		op := grFwd(t, "SoftmaxCrossEntropyWithLogits", at, 2, xp, l)
		om := grFwd(t, "SoftmaxCrossEntropyWithLogits", at, 2, xm, l)
		num[i] = (op[0].Data.([]float64)[i/c] - om[0].Data.([]float64)[i/c]) / (2 * h)
	}
	grClose(t, "backprop vs d loss", grFloats(out[1]), num, 1e-6, 1e-6)
	// float32 and float16.
	at32 := graphdef.Attrs{"T": classify.Float32}
	o32, err := grRun2(t, "SoftmaxCrossEntropyWithLogits", at32, grTo32(x), grTo32(l))
	if err != nil {
		t.Fatal(err)
	}
	grClose(t, "loss32", grFloats(o32[0]), wl, 1e-5, 1e-5)
	grClose(t, "backprop32", grFloats(o32[1]), wb, 1e-6, 1e-5)
	o16, err := grRun2(t, "SoftmaxCrossEntropyWithLogits", graphdef.Attrs{"T": classify.Float16}, grTo16(x), grTo16(l))
	if err != nil {
		t.Fatal(err)
	}
	if o16[0].DType != classify.Float16 || o16[1].DType != classify.Float16 {
		t.Fatalf("float16: outputs %v %v", o16[0].DType, o16[1].DType)
	}
	grClose(t, "loss16", grFloats(o16[0]), wl, 2e-2, 1e-2)
	grClose(t, "backprop16", grFloats(o16[1]), wb, 2e-2, 1e-2)

	// Broadcast labels: one row for every example, a column, a vector.
	for _, lshape := range [][]int{{1, c}, {c}, {b, 1}} {
		lb := grRand64(23, 0, 1, nil, 0, lshape...)
		full := make([]float64, b*c)
		for r := range b {
			for j := range c {
				rr, jj := r, j
				if len(lshape) == 1 || lshape[0] == 1 {
					rr = 0
				}
				if lshape[len(lshape)-1] == 1 {
					jj = 0
				}
				if len(lshape) == 1 {
					full[r*c+j] = lb.Data.([]float64)[jj]
				} else {
					full[r*c+j] = lb.Data.([]float64)[rr*lshape[1]+jj]
				}
			}
		}
		out, err := grRun2(t, "SoftmaxCrossEntropyWithLogits", at, x, lb)
		if err != nil {
			t.Fatalf("labels %v: %v", lshape, err)
		}
		wl, wb := grXentRef(x.Data.([]float64), full, b, c)
		grClose(t, "bcast loss", grFloats(out[0]), wl, 1e-12, 1e-12)
		grClose(t, "bcast backprop", grFloats(out[1]), wb, 1e-12, 1e-12)
	}
	// Logits broadcast too: [1, c] against labels [b, c].
	x1 := grRand64(24, -2, 2, nil, 0, 1, c)
	out, err = grRun2(t, "SoftmaxCrossEntropyWithLogits", at, x1, l)
	if err != nil {
		t.Fatal(err)
	}
	xf := make([]float64, b*c)
	for i := range xf {
		xf[i] = x1.Data.([]float64)[i%c]
	}
	wl, wb = grXentRef(xf, ld, b, c)
	grClose(t, "bcast logits loss", grFloats(out[0]), wl, 1e-12, 1e-12)
	grClose(t, "bcast logits backprop", grFloats(out[1]), wb, 1e-12, 1e-12)
	// Empty batch.
	e := grF64([]float64{}, 0, c)
	if out, err := grRun2(t, "SoftmaxCrossEntropyWithLogits", at, e, e); err != nil || !out[0].Shape.Equal(classify.Shape{0}) || !out[1].Shape.Equal(classify.Shape{0, c}) {
		t.Errorf("empty: %v %v", out, err)
	}

	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	f23 := randF32(1, 0, 1, 2, 3)
	saCheckErrors(t, []saErrCase{
		{"rank3", "SoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(randF32(1, 0, 1, 2, 3, 4)), saFeed(randF32(1, 0, 1, 2, 3, 4))}, inv, "2-dimensional"},
		{"bcast", "SoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(f23), saFeed(randF32(1, 0, 1, 2, 4))}, inv, "broadcastable"},
		{"dtype", "SoftmaxCrossEntropyWithLogits", graphdef.Attrs{"T": classify.Int32}, []saIn{saFeed(saIota(2, 2)), saFeed(saIota(2, 2))}, bad, "dtype"},
		{"mixed", "SoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(f23), saFeed(grF64(make([]float64, 6), 2, 3))}, inv, "one dtype"},
	})
}

// TestSparseSoftmaxXent checks against the dense op on one-hot labels and
// the definition, with int32 and int64 labels, and TF's errors.
func TestSparseSoftmaxXent(t *testing.T) {
	const b, c = 5, 4
	x := grRand64(31, -4, 4, nil, 0, b, c)
	lab := []int64{3, 0, 2, 2, 1}
	onehot := make([]float64, b*c)
	for r, v := range lab {
		onehot[r*c+int(v)] = 1
	}
	wl, wb := grXentRef(x.Data.([]float64), onehot, b, c)
	dense, err := grRun2(t, "SoftmaxCrossEntropyWithLogits", graphdef.Attrs{"T": classify.Float64}, x, grF64(onehot, b, c))
	if err != nil {
		t.Fatal(err)
	}
	l32 := make([]int32, b)
	for i, v := range lab {
		l32[i] = int32(v)
	}
	for _, l := range []*classify.Tensor{saI64(lab, b), saI32(l32, b)} {
		at := graphdef.Attrs{"T": classify.Float64, "Tlabels": l.DType}
		out, err := grRun2(t, "SparseSoftmaxCrossEntropyWithLogits", at, x, l)
		if err != nil {
			t.Fatal(err)
		}
		grClose(t, "loss", grFloats(out[0]), wl, 1e-12, 1e-12)
		grClose(t, "backprop", grFloats(out[1]), wb, 1e-12, 1e-12)
		grClose(t, "loss vs dense", grFloats(out[0]), grFloats(dense[0]), 1e-12, 1e-12)
		at["T"] = classify.Float32
		o32, err := grRun2(t, "SparseSoftmaxCrossEntropyWithLogits", at, grTo32(x), l)
		if err != nil {
			t.Fatal(err)
		}
		grClose(t, "loss32", grFloats(o32[0]), wl, 1e-5, 1e-5)
		grClose(t, "backprop32", grFloats(o32[1]), wb, 1e-6, 1e-5)
		at["T"] = classify.Float16
		o16, err := grRun2(t, "SparseSoftmaxCrossEntropyWithLogits", at, grTo16(x), l)
		if err != nil {
			t.Fatal(err)
		}
		grClose(t, "loss16", grFloats(o16[0]), wl, 2e-2, 1e-2)
	}
	// Empty batch, and an empty batch with no classes.
	for _, cc := range []int{c, 0} {
		out, err := grRun2(t, "SparseSoftmaxCrossEntropyWithLogits", graphdef.Attrs{"T": classify.Float32}, randF32(1, 0, 1, 0, cc), saI32([]int32{}, 0))
		if err != nil || !out[1].Shape.Equal(classify.Shape{0, cc}) {
			t.Errorf("empty (%d classes): %v %v", cc, out, err)
		}
	}
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	f23 := randF32(1, 0, 1, 2, 3)
	saCheckErrors(t, []saErrCase{
		{"range", "SparseSoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(f23), saFeed(saI32([]int32{1, 3}, 2))}, inv, "Received a label value of 3 which is outside the valid range of [0, 3)"},
		{"negative", "SparseSoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(f23), saFeed(saI64([]int64{-1, 0}, 2))}, inv, "Received a label value of -1"},
		{"batch", "SparseSoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(f23), saFeed(saI32([]int32{1, 0, 0}, 3))}, inv, "first dimension"},
		{"logits_rank", "SparseSoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(randF32(1, 0, 1, 6)), saFeed(saI32([]int32{1}, 1))}, inv, "2-D"},
		{"labels_rank", "SparseSoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(f23), saFeed(saI32([]int32{1, 0}, 2, 1))}, inv, "1-D"},
		{"no_class", "SparseSoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(randF32(1, 0, 1, 2, 0)), saFeed(saI32([]int32{0, 0}, 2))}, inv, "at least one class"},
		{"label_dtype", "SparseSoftmaxCrossEntropyWithLogits", nil, []saIn{saFeed(f23), saFeed(grF64([]float64{0, 1}, 2))}, inv, "int32 or int64"},
		{"tlabels", "SparseSoftmaxCrossEntropyWithLogits", graphdef.Attrs{"Tlabels": classify.Float32}, []saIn{saFeed(f23), saFeed(saI32([]int32{1, 0}, 2))}, bad, "Tlabels"},
	})
}

// TestGradOpsNoPanic runs every kernel of the grads*.go files on random
// small inputs — ranks 0 to 5 with dimensions 0 to 4, mixed dtypes, size
// vectors with negative, zero and mismatched entries — under random
// attributes: each must return outputs or an error, never panic. Values
// are not checked (nothing is recorded as coverage).
func TestGradOpsNoPanic(t *testing.T) {
	r := rand.New(rand.NewPCG(99, 1))
	tensor := func() *classify.Tensor {
		rank := r.IntN(6)
		if r.IntN(2) == 0 {
			rank = 4 // the layout most of these kernels want
		}
		shape := make([]int, rank)
		for i := range shape {
			shape[i] = r.IntN(5)
		}
		switch r.IntN(6) {
		case 0:
			return classify.NewTensor(classify.Float64, shape...)
		case 1:
			return saIota(shape...)
		case 2:
			n := r.IntN(6)
			if r.IntN(2) == 0 {
				n = 4
			}
			v := make([]int32, n)
			for i := range v {
				v[i] = int32(r.IntN(9) - 2)
			}
			return saI32(v, len(v))
		case 3:
			return saI64([]int64{int64(r.IntN(5) - 1), int64(r.IntN(5))}, 2)
		}
		return randF32(r.Uint64(), -2, 2, shape...)
	}
	pick := func(v ...any) any { return v[r.IntN(len(v))] }
	attrs := func() graphdef.Attrs {
		s := pick(1, 2, 3).(int)
		return graphdef.Attrs{
			"strides":            pick([]int{1, s, s, 1}, []int{1, 1, 2, 1}, []int{1, 1, 1, 1}).([]int),
			"ksize":              pick([]int{1, 2, 2, 1}, []int{1, 3, 1, 1}, []int{1, 5, 5, 1}).([]int),
			"padding":            pick("SAME", "VALID", "EXPLICIT").(string),
			"explicit_paddings":  pick([]int{0, 0, 1, 0, 0, 2, 0, 0}, []int{0, 0, 0, 0, 0, 0, 0, 0}).([]int),
			"dilations":          pick([]int{1, 1, 1, 1}, []int{1, 2, 1, 1}).([]int),
			"data_format":        pick("NHWC", "NCHW").(string),
			"align_corners":      pick(false, true).(bool),
			"half_pixel_centers": pick(false, true).(bool),
			"is_training":        pick(false, true).(bool),
		}
	}
	ops := map[string]int{
		"ReluGrad": 2, "Relu6Grad": 2, "EluGrad": 2, "SeluGrad": 2, "LeakyReluGrad": 2, "SoftplusGrad": 2, "SoftsignGrad": 2,
		"SigmoidGrad": 2, "TanhGrad": 2, "RsqrtGrad": 2, "SqrtGrad": 2, "ReciprocalGrad": 2, "InvGrad": 2,
		"BiasAddGrad": 1, "SoftmaxCrossEntropyWithLogits": 2, "SparseSoftmaxCrossEntropyWithLogits": 2,
		"Conv2DBackpropFilter": 3, "DepthwiseConv2dNativeBackpropInput": 3, "DepthwiseConv2dNativeBackpropFilter": 3,
		"MaxPoolGrad": 3, "MaxPoolGradV2": 5, "MaxPoolGradGrad": 3, "MaxPoolGradGradV2": 5, "AvgPoolGrad": 2,
		"ResizeBilinearGrad": 2, "ResizeNearestNeighborGrad": 2,
		"FusedBatchNormGrad": 5, "FusedBatchNormGradV2": 5, "FusedBatchNormGradV3": 6,
	}
	for op, nin := range ops {
		for range 2000 {
			in := make([]saIn, nin)
			for i := range in {
				if r.IntN(3) == 0 {
					in[i] = saConst(tensor())
				} else {
					in[i] = saFeed(tensor())
				}
			}
			at := attrs()
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s %v on %v: panic %v", op, at, in, p)
					}
				}()
				o, ts, err := saBuild(op, at, in...)
				if err != nil {
					return
				}
				_, _ = o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 6)}, ts)
			}()
		}
	}
}

// TestGradOpsNoPanicShaped is TestGradOpsNoPanic on inputs of consistent
// geometry (dimensions 0 to 6, random strides, padding and dilations), one
// in three with one input's dimension knocked off by one, so that the
// kernels' loops run on every edge: empty batches and channels, windows
// larger than the image, VALID outputs of size 0.
func TestGradOpsNoPanicShaped(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	f32 := func(shape ...int) *classify.Tensor { return randF32(r.Uint64(), -2, 2, shape...) }
	knock := func(in []*classify.Tensor) {
		if r.IntN(3) != 0 {
			return
		}
		i := r.IntN(len(in))
		s := in[i].Shape.Clone()
		if len(s) == 0 {
			return
		}
		j := r.IntN(len(s))
		s[j] = max(s[j]+r.IntN(3)-1, 0)
		if in[i].DType == classify.Int32 {
			v := append([]int32{}, in[i].Int32s()...)
			if len(v) > 0 {
				v[r.IntN(len(v))] += int32(r.IntN(3) - 1)
			}
			in[i] = saI32(v, len(v))
			return
		}
		in[i] = f32(s...)
	}
	ok := map[string]int{}
	run := func(op string, at graphdef.Attrs, in []*classify.Tensor) {
		knock(in)
		ins := make([]saIn, len(in))
		for i, x := range in {
			ins[i] = saFeed(x)
			if x.DType == classify.Int32 && r.IntN(2) == 0 {
				ins[i] = saConst(x)
			}
		}
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("%s %v on %v: panic %v", op, at, in, p)
			}
		}()
		o, ts, err := saBuild(op, at, ins...)
		if err != nil {
			return
		}
		if _, err := o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 6)}, ts); err == nil {
			ok[op]++
		}
	}
	for range 3000 {
		c := grConvCase{x: []int{r.IntN(3), r.IntN(7), r.IntN(7), r.IntN(4)}, kh: 1 + r.IntN(4), kw: 1 + r.IntN(4), m: r.IntN(4),
			sh: 1 + r.IntN(3), dh: 1 + r.IntN(2), dw: 1 + r.IntN(2), padding: []string{"SAME", "VALID", "EXPLICIT"}[r.IntN(3)]}
		c.sw = c.sh
		if c.padding == "EXPLICIT" {
			c.explicit = []int{0, 0, r.IntN(3), r.IntN(3), r.IntN(3), r.IntN(3), 0, 0}
		}
		oh, ow, _, _ := c.geometry()
		n, ch := c.x[0], c.x[3]
		fs := []int{c.kh, c.kw, ch, c.m}
		run("Conv2DBackpropFilter", c.attrs(classify.Float32), []*classify.Tensor{f32(c.x...), grSizes(fs...), f32(n, oh, ow, c.m)})
		c.dh, c.dw = 1, 1
		oh, ow, _, _ = c.geometry()
		run("DepthwiseConv2dNativeBackpropInput", c.attrs(classify.Float32), []*classify.Tensor{grSizes(c.x...), f32(fs...), f32(n, oh, ow, ch*c.m)})
		run("DepthwiseConv2dNativeBackpropFilter", c.attrs(classify.Float32), []*classify.Tensor{f32(c.x...), grSizes(fs...), f32(n, oh, ow, ch*c.m)})

		p := grPoolCase{x: c.x, k: [2]int{1 + r.IntN(4), 1 + r.IntN(4)}, s: [2]int{1 + r.IntN(3), 1 + r.IntN(3)}, padding: []string{"SAME", "VALID"}[r.IntN(2)]}
		ph, pw, _, _ := p.geometry()
		ph, pw = max(ph, 0), max(pw, 0)
		ys := []int{n, ph, pw, ch}
		pa := p.attrs(classify.Float32)
		pa2 := graphdef.Attrs{"padding": p.padding}
		ks, ss := grSizes(1, p.k[0], p.k[1], 1), grSizes(1, p.s[0], p.s[1], 1)
		run("MaxPoolGrad", pa, []*classify.Tensor{f32(c.x...), f32(ys...), f32(ys...)})
		run("MaxPoolGradV2", pa2, []*classify.Tensor{f32(c.x...), f32(ys...), f32(ys...), ks, ss})
		run("MaxPoolGradGrad", pa, []*classify.Tensor{f32(c.x...), f32(ys...), f32(c.x...)})
		run("MaxPoolGradGradV2", pa2, []*classify.Tensor{f32(c.x...), f32(ys...), f32(c.x...), ks, ss})
		run("AvgPoolGrad", pa, []*classify.Tensor{grSizes(c.x...), f32(ys...)})

		align, half := r.IntN(2) == 0, r.IntN(2) == 0
		ra := graphdef.Attrs{"align_corners": align && !half, "half_pixel_centers": half}
		rs := []int{n, r.IntN(7), r.IntN(7), ch}
		run("ResizeBilinearGrad", ra, []*classify.Tensor{f32(rs...), f32(c.x...)})
		run("ResizeNearestNeighborGrad", ra, []*classify.Tensor{f32(rs...), grSizes(c.x[1], c.x[2])})

		bn := graphdef.Attrs{"is_training": r.IntN(2) == 0, "data_format": "NHWC"}
		v := f32(ch)
		run("FusedBatchNormGradV3", bn, []*classify.Tensor{f32(c.x...), f32(c.x...), v, v, v, f32()})
		run("BiasAddGrad", graphdef.Attrs{"data_format": []string{"NHWC", "NCHW"}[r.IntN(2)]}, []*classify.Tensor{f32(c.x...)})
		run("SparseSoftmaxCrossEntropyWithLogits", nil, []*classify.Tensor{f32(n, ch), saI32(make([]int32, n), n)})
		run("SoftmaxCrossEntropyWithLogits", nil, []*classify.Tensor{f32(n, ch), f32(n, ch)})
	}
	for _, op := range []string{"Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter",
		"MaxPoolGrad", "MaxPoolGradV2", "MaxPoolGradGrad", "MaxPoolGradGradV2", "AvgPoolGrad", "ResizeBilinearGrad",
		"ResizeNearestNeighborGrad", "FusedBatchNormGradV3", "BiasAddGrad", "SparseSoftmaxCrossEntropyWithLogits", "SoftmaxCrossEntropyWithLogits"} {
		if k := ok[op]; k < 100 {
			t.Errorf("%s ran only %d of 3000 shaped cases", op, k)
		}
	}
}
