package ops

import (
	"math"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
)

// specialTol is the float64 tolerance of each op against the references:
// relative, plus absolute for the functions with zeros or cancellation
// (J/Y near their roots, Digamma near its positive root, Igammac's 1-P).
var specialTol = map[string][2]float64{
	"BesselJ0": {1e-13, 1e-16}, "BesselJ1": {1e-13, 1e-16}, "BesselY0": {1e-13, 1e-16}, "BesselY1": {1e-13, 1e-16},
	"Digamma": {1e-14, 1e-15}, "Igamma": {1e-13, 1e-16}, "Igammac": {1e-13, 1e-16},
	"Betainc": {5e-13, 1e-16}, // lgamma(a+b)-lgamma(a)-lgamma(b) cancels for large a, b (as in Eigen) "Zeta": {1e-13, 0}, "Polygamma": {1e-13, 0},
}

func specialTensor(dt classify.DType, v []float64) *classify.Tensor {
	if dt == classify.Float64 {
		return &classify.Tensor{DType: dt, Shape: classify.Shape{len(v)}, Data: append([]float64{}, v...)}
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return classify.FromFloat32(f, len(v))
}

// TestSpecialReference runs every op on its reference inputs in float64
// (within specialTol, default 2e-14 relative) and float32 (within 2 ulp of
// the rounded reference; rows whose inputs are not float32 values skip).
func TestSpecialReference(t *testing.T) {
	byOp := map[string][]specialRef{}
	var order []string
	for _, r := range specialRefs {
		if byOp[r.op] == nil {
			order = append(order, r.op)
		}
		byOp[r.op] = append(byOp[r.op], r)
	}
	for _, op := range order {
		rows := byOp[op]
		for _, dt := range []classify.DType{classify.Float64, classify.Float32} {
			var use []specialRef
			for _, r := range rows {
				ok := true
				for _, v := range r.in {
					ok = ok && (dt == classify.Float64 || float64(float32(v)) == v)
				}
				if ok {
					use = append(use, r)
				}
			}
			ins := make([]*classify.Tensor, len(use[0].in))
			for k := range ins {
				col := make([]float64, len(use))
				for i, r := range use {
					col[i] = r.in[k]
				}
				ins[k] = specialTensor(dt, col)
			}
			got := mustRun(t, op, map[string]any{"T": dt}, ins...)
			if got.DType != dt || got.Len() != len(use) {
				t.Fatalf("%s %v: %v of %d", op, dt, got.DType, got.Len())
			}
			g := classifytest.Float64s(got)
			for i, r := range use {
				w := r.want
				tol := specialTol[op]
				if tol[0] == 0 {
					tol[0] = 2e-14
				}
				if dt == classify.Float32 {
					w = float64(float32(w))
					tol = [2]float64{2.4e-7, 1e-45}
				}
				if math.IsInf(w, 0) || math.IsNaN(w) {
					if g[i] != w && !(math.IsNaN(w) && math.IsNaN(g[i])) {
						t.Errorf("%s%v %v = %v, want %v", op, r.in, dt, g[i], w)
					}
					continue
				}
				if d := math.Abs(g[i] - w); !(d <= tol[0]*math.Abs(w)+tol[1]) {
					t.Errorf("%s%v %v = %v, want %v (rel %.3g)", op, r.in, dt, g[i], w, d/math.Abs(w))
				}
			}
		}
	}
}

// TestSpecialEdges checks the values outside each function's domain and
// at its poles and infinities against Eigen's kernels (read from Eigen's
// SpecialFunctionsImpl.h and BesselFunctionsImpl.h, which TensorFlow's
// CPU kernels call), in both dtypes unless want32 says otherwise.
func TestSpecialEdges(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	negz := math.Copysign(0, -1)
	type edge struct {
		op     string
		in     []float64
		want   float64
		want32 *float64
	}
	f32 := func(v float64) *float64 { return &v }
	cases := []edge{
		{"Lgamma", []float64{0}, inf, nil}, {"Lgamma", []float64{-3}, inf, nil}, {"Lgamma", []float64{-inf}, inf, nil},
		{"Lgamma", []float64{inf}, inf, nil}, {"Lgamma", []float64{nan}, nan, nil}, {"Lgamma", []float64{1}, 0, nil}, {"Lgamma", []float64{2}, 0, nil},
		{"Digamma", []float64{0}, nan, nil}, {"Digamma", []float64{negz}, nan, nil}, {"Digamma", []float64{-2}, nan, nil},
		{"Digamma", []float64{-inf}, nan, nil}, {"Digamma", []float64{inf}, inf, nil}, {"Digamma", []float64{nan}, nan, nil},
		{"Digamma", []float64{1}, -eulerGamma, nil}, {"Digamma", []float64{-0.5}, 0.03648997397857652, nil},
		{"Ndtri", []float64{0}, -inf, nil}, {"Ndtri", []float64{-0.5}, -inf, nil}, {"Ndtri", []float64{1}, inf, nil},
		{"Ndtri", []float64{2}, inf, nil}, {"Ndtri", []float64{nan}, nan, nil}, {"Ndtri", []float64{0.5}, 0, nil},
		{"Erfinv", []float64{1}, inf, nil}, {"Erfinv", []float64{-1}, -inf, nil}, {"Erfinv", []float64{3}, inf, nil},
		{"Erfinv", []float64{-inf}, -inf, nil}, {"Erfinv", []float64{nan}, nan, nil}, {"Erfinv", []float64{0}, 0, nil},
		{"Igamma", []float64{-1, 0}, 0, nil}, {"Igamma", []float64{nan, 0}, 0, nil}, {"Igamma", []float64{0, 1}, nan, nil},
		{"Igamma", []float64{1, -1}, nan, nil}, {"Igamma", []float64{1, inf}, 1, nil}, {"Igamma", []float64{2, nan}, nan, nil},
		{"Igamma", []float64{inf, 5}, 0, nil},
		{"Igammac", []float64{-1, 0}, nan, nil}, {"Igammac", []float64{2, 0}, 1, nil}, {"Igammac", []float64{0, 1}, nan, nil},
		{"Igammac", []float64{1, inf}, 0, nil}, {"Igammac", []float64{nan, 1}, nan, nil}, {"Igammac", []float64{inf, 5}, 1, nil},
		{"Zeta", []float64{1, 2}, inf, nil}, {"Zeta", []float64{0.5, 2}, nan, nil}, {"Zeta", []float64{2, 0}, inf, nil},
		{"Zeta", []float64{2, -3}, inf, nil}, {"Zeta", []float64{3, -3}, nan, nil}, {"Zeta", []float64{2.5, -1.5}, nan, nil},
		{"Zeta", []float64{nan, 1}, nan, nil}, {"Zeta", []float64{2, nan}, nan, nil}, {"Zeta", []float64{inf, 2}, 0, nil},
		{"Zeta", []float64{2, 1}, math.Pi * math.Pi / 6, nil},
		{"Polygamma", []float64{-1, 2}, nan, nil}, {"Polygamma", []float64{1.5, 2}, nan, nil}, {"Polygamma", []float64{nan, 2}, nan, nil},
		{"Polygamma", []float64{1, 0}, inf, nil}, {"Polygamma", []float64{2, -1}, nan, nil}, {"Polygamma", []float64{0, 1}, -eulerGamma, nil},
		{"Polygamma", []float64{1, 1}, math.Pi * math.Pi / 6, nil},
		{"Betainc", []float64{0, 1, 0.5}, nan, nil}, {"Betainc", []float64{1, -1, 0.5}, nan, nil}, {"Betainc", []float64{2, 3, 0}, 0, nil},
		{"Betainc", []float64{2, 3, 1}, 1, nil}, {"Betainc", []float64{2, 3, -0.1}, nan, nil}, {"Betainc", []float64{2, 3, 1.5}, nan, nil},
		{"Betainc", []float64{2, 3, nan}, nan, nil}, {"Betainc", []float64{nan, 3, 0.5}, nan, nil}, {"Betainc", []float64{1, 1, 0.25}, 0.25, nil},
		{"Betainc", []float64{1, 50, 0.9}, 1 - 0x1p-53, f32(1)}, // Eigen's ceiling on the reflected branch
		{"BesselI0e", []float64{0}, 1, nil}, {"BesselI0e", []float64{inf}, 0, nil}, {"BesselI0e", []float64{-inf}, 0, nil}, {"BesselI0e", []float64{nan}, nan, nil},
		{"BesselI1e", []float64{0}, 0, nil}, {"BesselI1e", []float64{inf}, 0, nil}, {"BesselI1e", []float64{-inf}, negz, nil},
		{"BesselI0", []float64{0}, 1, nil}, {"BesselI0", []float64{inf}, nan, nil}, {"BesselI0", []float64{-inf}, nan, nil},
		{"BesselI0", []float64{710}, inf, nil}, {"BesselI0", []float64{89}, 1.9012419299064899e37, f32(inf)},
		{"BesselI1", []float64{inf}, nan, nil}, {"BesselI1", []float64{-89}, -1.8905304491068202e37, f32(-inf)},
		{"BesselK0", []float64{0}, inf, nil}, {"BesselK0", []float64{-1}, inf, nil}, {"BesselK0", []float64{-inf}, inf, nil},
		{"BesselK0", []float64{inf}, 0, nil}, {"BesselK0", []float64{nan}, nan, nil}, {"BesselK0", []float64{800}, 0, nil},
		{"BesselK0e", []float64{0}, inf, nil}, {"BesselK0e", []float64{-2}, inf, nil}, {"BesselK0e", []float64{inf}, 0, nil},
		{"BesselK1", []float64{0}, inf, nil}, {"BesselK1", []float64{-1}, inf, nil}, {"BesselK1", []float64{inf}, 0, nil},
		{"BesselK1e", []float64{negz}, inf, nil}, {"BesselK1e", []float64{inf}, 0, nil}, {"BesselK1e", []float64{nan}, nan, nil},
		{"BesselJ0", []float64{0}, 1, nil}, {"BesselJ0", []float64{inf}, nan, nil}, {"BesselJ0", []float64{-inf}, nan, nil}, {"BesselJ0", []float64{nan}, nan, nil},
		{"BesselJ1", []float64{0}, 0, nil}, {"BesselJ1", []float64{inf}, nan, nil}, {"BesselJ1", []float64{-inf}, nan, nil},
		{"BesselY0", []float64{0}, -inf, nil}, {"BesselY0", []float64{-1}, -inf, nil}, {"BesselY0", []float64{-inf}, -inf, nil},
		{"BesselY0", []float64{inf}, nan, nil}, {"BesselY0", []float64{nan}, nan, nil},
		{"BesselY1", []float64{0}, -inf, f32(nan)}, {"BesselY1", []float64{negz}, -inf, f32(nan)}, {"BesselY1", []float64{-2}, -inf, nil},
		{"BesselY1", []float64{inf}, nan, nil}, {"BesselY1", []float64{nan}, nan, nil},
	}
	same := func(g, w float64) bool {
		if math.IsNaN(w) {
			return math.IsNaN(g)
		}
		if w == 0 {
			return g == 0 && math.Signbit(g) == math.Signbit(w)
		}
		return math.Abs(g-w) <= 4e-15*math.Abs(w) || g == w
	}
	for _, c := range cases {
		for _, dt := range []classify.DType{classify.Float64, classify.Float32} {
			w := c.want
			if dt == classify.Float32 {
				w = float64(float32(w))
				if c.want32 != nil {
					w = *c.want32
				}
			}
			var ins []*classify.Tensor
			for _, v := range c.in {
				x := specialTensor(dt, []float64{v})
				x.Shape = classify.Shape{}
				ins = append(ins, x)
			}
			got := mustRun(t, c.op, map[string]any{"T": dt}, ins...)
			if g := classifytest.Float64s(got)[0]; !same(g, w) && !(dt == classify.Float32 && math.Abs(g-w) <= 1.2e-7*math.Abs(w)) {
				t.Errorf("%s%v %v = %v, want %v", c.op, c.in, dt, g, w)
			}
		}
	}
}

// TestSpecialShapesAndErrors: the binary ops broadcast, Betainc takes
// scalars or one shared shape (TensorFlow's rule: a [1] is not a scalar),
// empty tensors give empty results, and other dtypes and shapes are
// errors naming the node.
func TestSpecialShapesAndErrors(t *testing.T) {
	a := f64s(0.5, 2)
	a.Shape = classify.Shape{2, 1}
	x := f64s(0.1, 1, 3)
	got := mustRun(t, "Igamma", map[string]any{"T": classify.Float64}, a, x)
	if !got.Shape.Equal(classify.Shape{2, 3}) {
		t.Fatalf("Igamma [2,1] by [3]: shape %v", got.Shape)
	}
	for i, g := range got.Data.([]float64) {
		if w := igammaFn([]float64{0.5, 2}[i/3], []float64{0.1, 1, 3}[i%3]); g != w {
			t.Errorf("Igamma broadcast element %d = %v, want %v", i, g, w)
		}
	}
	scalar := func(v float64) *classify.Tensor {
		return &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{v}}
	}
	got = mustRun(t, "Betainc", map[string]any{"T": classify.Float64}, scalar(2), f64s(1, 3, 5), scalar(0.4))
	if !got.Shape.Equal(classify.Shape{3}) {
		t.Fatalf("Betainc scalar, [3], scalar: shape %v", got.Shape)
	}
	for i, b := range []float64{1, 3, 5} {
		if g, w := got.Data.([]float64)[i], betaincFn(2, b, 0.4); g != w {
			t.Errorf("Betainc(2, %v, 0.4) = %v, want %v", b, g, w)
		}
	}
	got = mustRun(t, "Betainc", map[string]any{"T": classify.Float32}, randF32(1, 0.5, 3, 2, 2), randF32(2, 0.5, 3, 2, 2), randF32(3, 0, 1, 2, 2))
	if !got.Shape.Equal(classify.Shape{2, 2}) {
		t.Errorf("Betainc [2,2]s: shape %v", got.Shape)
	}
	got = mustRun(t, "Betainc", map[string]any{"T": classify.Float32}, randF32(1, 1, 2, 0, 3), classify.FromFloat32([]float32{2}), randF32(3, 0, 1, 0, 3))
	if !got.Shape.Equal(classify.Shape{0, 3}) {
		t.Errorf("Betainc empty: shape %v", got.Shape)
	}
	got = mustRun(t, "Betainc", map[string]any{"T": classify.Float64}, scalar(1), scalar(2), scalar(0.5))
	if !got.Shape.Equal(classify.Shape{}) || got.Data.([]float64)[0] != 0.75 {
		t.Errorf("Betainc(1, 2, 0.5) = %v %v, want scalar 0.75", got.Shape, got.Data)
	}
	for _, c := range []struct {
		in   []*classify.Tensor
		want string
	}{
		{[]*classify.Tensor{f64s(1, 2, 3), f64s(1), scalar(0.5)}, "shapes of a and b are inconsistent"},
		{[]*classify.Tensor{scalar(1), f64s(1, 2), f64s(1, 2, 3)}, "shapes of b and x are inconsistent"},
		{[]*classify.Tensor{scalar(1), scalar(2), classify.FromFloat32([]float32{0.5})}, "dtype"},
	} {
		if _, err := runOp(t, "Betainc", map[string]any{"T": classify.Float64}, c.in...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Betainc %v: error %v, want %q", c.in, err, c.want)
		}
	}
	i32 := mathI32([]int32{1, 2}, 2)
	h := f16s(1, 2)
	for _, op := range []string{"Lgamma", "Digamma", "Erfinv", "Ndtri", "BesselI0e", "BesselK1", "BesselJ0", "BesselY1"} {
		if _, err := runOp(t, op, map[string]any{"T": classify.Int32}, i32); err == nil || !strings.Contains(err.Error(), "unsupported dtype int32") {
			t.Errorf("%s of int32: error %v", op, err)
		}
		if _, err := runOp(t, op, map[string]any{"T": classify.Float16}, h); (err == nil) != (op != "Erfinv" && op != "Ndtri") {
			t.Errorf("%s of float16: error %v (TensorFlow has half kernels for all but Erfinv, Ndtri)", op, err)
		}
		got := mustRun(t, op, map[string]any{"T": classify.Float32}, randF32(1, 0, 1, 0, 4))
		if !got.Shape.Equal(classify.Shape{0, 4}) {
			t.Errorf("%s of [0,4]: shape %v", op, got.Shape)
		}
	}
	for _, op := range []string{"Igamma", "Igammac", "Zeta", "Polygamma"} {
		if _, err := runOp(t, op, map[string]any{"T": classify.Int32}, i32, i32); err == nil || !strings.Contains(err.Error(), "unsupported dtype int32") {
			t.Errorf("%s of int32: error %v", op, err)
		}
		if _, err := runOp(t, op, map[string]any{"T": classify.Float64}, f64s(1, 2, 3), f64s(1, 2)); err == nil || !strings.Contains(err.Error(), "incompatible shapes") {
			t.Errorf("%s of [3] and [2]: error %v", op, err)
		}
		got := mustRun(t, op, map[string]any{"T": classify.Float64}, f64s(), f64s(2))
		if !got.Shape.Equal(classify.Shape{0}) {
			t.Errorf("%s of [0] and [1]: shape %v", op, got.Shape)
		}
	}
	if _, err := runOp(t, "Betainc", map[string]any{"T": classify.Int32}, i32, i32, i32); err == nil || !strings.Contains(err.Error(), "unsupported dtype int32") {
		t.Errorf("Betainc of int32: error %v", err)
	}
	if _, err := runOp(t, "Betainc", map[string]any{"T": classify.Float64}, scalar(1), scalar(2)); err == nil || !strings.Contains(err.Error(), "want 3 inputs") {
		t.Errorf("Betainc of 2 inputs: error %v", err)
	}
}

// TestSpecialBounded: operands that would make a naive loop run for ever
// (Zeta with a hugely negative q, Polygamma of a huge order, the
// continued fractions at huge parameters) finish.
func TestSpecialBounded(t *testing.T) {
	_ = zetaFn(2, -1e15+0.5)
	_ = polygammaFn(1e300, 2.5)
	_ = igammaFn(1e30, 1e30)
	_ = igammacFn(1e30, 1e30+1)
	_ = betaincFn(1e30, 1e30, 0.5)
	_ = digammaFn(-1e300)
	_ = ndtriFn(5e-324)
	if v := zetaFn(2, -1000.5); math.Abs(v-9.868605400173442) > 1e-12 {
		t.Errorf("Zeta(2, -1000.5) = %v", v)
	}
}

// TestSpecialHalf runs the special functions TensorFlow registers for
// half precision on every float16 and bfloat16 value, against the float64
// function rounded to the format (within an ulp: the float32 kernel rounds
// first). Ndtri, Erfinv, Igamma, Zeta, Polygamma and Betainc have no half
// kernels in TensorFlow and refuse it.
func TestSpecialHalf(t *testing.T) {
	for _, c := range []struct {
		op string
		f  func(float64) float64
	}{
		{"Lgamma", lgammaFn}, {"Digamma", digammaFn},
		// as the float kernel: exp(|x|) overflows float32 past 88.7
		{"BesselI0", func(x float64) float64 { return float64(besselI32(0)(float32(x))) }}, {"BesselI0e", func(x float64) float64 { return besselIe(0, x) }},
		{"BesselI1", func(x float64) float64 { return float64(besselI32(1)(float32(x))) }}, {"BesselI1e", func(x float64) float64 { return besselIe(1, x) }},
		{"BesselK0", func(x float64) float64 { return besselK(0, x, false) }},
		{"BesselK0e", func(x float64) float64 { return besselK(0, x, true) }},
		{"BesselK1", func(x float64) float64 { return besselK(1, x, false) }},
		{"BesselK1e", func(x float64) float64 { return besselK(1, x, true) }},
		{"BesselJ0", besselJ0}, {"BesselJ1", besselJ1}, {"BesselY0", besselY0},
		{"BesselY1", func(x float64) float64 {
			if x == 0 {
				return math.NaN() // the float kernel's 0·log 0
			}
			return besselY1(x)
		}},
	} {
		for _, dt := range halfDTypes {
			in := allHalves(dt)
			got := mustRun(t, c.op, map[string]any{"T": dt}, in)
			if got.DType != dt {
				t.Fatalf("%s %v: dtype %v", c.op, dt, got.DType)
			}
			bad := 0
			for i := 0; i < in.Len(); i++ {
				x := refElem(in, i).f
				if !withinULPs(got, i, c.f(x), 1) {
					if bad++; bad < 4 {
						t.Errorf("%s(%v) %v = %v, want %v", c.op, x, dt, refElem(got, i).f, refToFloat(c.f(x), dt))
					}
				}
			}
		}
	}
	for _, op := range []string{"Ndtri", "Erfinv"} {
		if _, err := runOp(t, op, map[string]any{"T": classify.Float16}, f16s(0.5)); err == nil {
			t.Errorf("%s of float16: no error", op)
		}
	}
	for _, op := range []string{"Igamma", "Zeta"} {
		if _, err := runOp(t, op, map[string]any{"T": classify.BFloat16}, allHalves(classify.BFloat16), allHalves(classify.BFloat16)); err == nil {
			t.Errorf("%s of bfloat16: no error", op)
		}
	}
}
