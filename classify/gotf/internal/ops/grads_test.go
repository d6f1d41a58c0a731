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
