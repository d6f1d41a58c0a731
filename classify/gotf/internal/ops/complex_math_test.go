package ops

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/cmplx"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// Tolerances of the complex math tests, relative to |want|: complex128
// against a reference accurate to a few ulps (series, hand-worked values),
// complex128 against a reference that is itself a different formula on
// complex128 (exp-based definitions, math/cmplx), and complex64 (one
// rounding of the result, the reference computed in complex128 on the same
// complex64 input).
const (
	tolExact128 = 4e-15
	tolRef128   = 1e-13
	tol64       = 2.5e-7
)

// series is the power series sum c[k] z^(k+1), for small z.
func series(z complex128, c ...float64) complex128 {
	var s complex128
	p := z
	for _, k := range c {
		s += complex(k, 0) * p
		p *= z
	}
	return s
}

// ex is exp(z) written from its definition on parts, independent of the
// kernels' use of math/cmplx.
func ex(z complex128) complex128 {
	r := math.Exp(real(z))
	return complex(r*math.Cos(imag(z)), r*math.Sin(imag(z)))
}

// complexMathRefs are the references of the unary ops for moderate inputs,
// each a formula other than the kernel's, and the power series (first
// coefficients) used for |z| < 1e-3.
var complexMathRefs = map[string]struct {
	ref    func(z complex128) complex128
	series []float64
}{
	"Sin":     {func(z complex128) complex128 { return (ex(1i*z) - ex(-1i*z)) / 2i }, []float64{1, 0, -1.0 / 6, 0, 1.0 / 120}},
	"Cos":     {func(z complex128) complex128 { return (ex(1i*z) + ex(-1i*z)) / 2 }, nil},
	"Tan":     {func(z complex128) complex128 { e := ex(2i * z); return (e - 1) / (1i * (e + 1)) }, []float64{1, 0, 1.0 / 3, 0, 2.0 / 15}},
	"Sinh":    {func(z complex128) complex128 { return (ex(z) - ex(-z)) / 2 }, []float64{1, 0, 1.0 / 6, 0, 1.0 / 120}},
	"Cosh":    {func(z complex128) complex128 { return (ex(z) + ex(-z)) / 2 }, nil},
	"Tanh":    {func(z complex128) complex128 { e := ex(2 * z); return (e - 1) / (e + 1) }, []float64{1, 0, -1.0 / 3, 0, 2.0 / 15}},
	"Asin":    {cmplx.Asin, []float64{1, 0, 1.0 / 6, 0, 3.0 / 40}},
	"Atan":    {cmplx.Atan, []float64{1, 0, -1.0 / 3, 0, 1.0 / 5}},
	"Asinh":   {cmplx.Asinh, []float64{1, 0, -1.0 / 6, 0, 3.0 / 40}},
	"Acosh":   {cmplx.Acosh, nil},
	"Atanh":   {cmplx.Atanh, []float64{1, 0, 1.0 / 3, 0, 1.0 / 5}},
	"Sigmoid": {func(z complex128) complex128 { return 1 / (1 + ex(-z)) }, nil},
	"Rsqrt":   {func(z complex128) complex128 { return ex(-cmplx.Log(z) / 2) }, nil},
	"Expm1":   {func(z complex128) complex128 { return ex(z) - 1 }, []float64{1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720}},
	"Log1p":   {func(z complex128) complex128 { return cmplx.Log(1 + z) }, []float64{1, -1.0 / 2, 1.0 / 3, -1.0 / 4, 1.0 / 5, -1.0 / 6}},
	"Sign":    {func(z complex128) complex128 { return z / complex(math.Hypot(real(z), imag(z)), 0) }, nil},
}

// complexMathInputs are the moderate inputs: both signs of both parts, and
// parts of different sizes.
var complexMathInputs = []complex128{0.5 - 0.25i, -1.5 + 2i, 3 - 0.7i, -0.3 - 2.5i, 0.05 + 0.9i, -2.2 - 0.1i, 1.25 + 1.25i, -0.8 + 0.6i}

// complexMathSmall are inputs where series are exact to the last bit.
var complexMathSmall = []complex128{1e-9 + 2e-9i, -3e-10 + 1e-12i, 2e-8i, -5e-9, 1e-300 - 1e-300i}

// complexMathHand are values worked by hand from the definitions (C99's
// for the branch cuts: the sign of a zero part picks the side), including
// large magnitudes where e^x overflows.
var complexMathHand = []struct {
	op    string
	in    complex128
	want  complex128
	large bool // not representable in complex64
}{
	{"Sin", 0, 0, false}, {"Cos", 0, 1, false}, {"Tanh", 0, 0, false}, {"Sign", 0, 0, false},
	{"Tanh", 400 + 1i, 1, false}, {"Tanh", -400 - 1i, -1, false}, {"Tanh", complex(0, math.Pi/4), 1i, false},
	{"Tan", 1 + 400i, 1i, false}, {"Tan", complex(math.Pi/4, 0), 1, false},
	{"Sigmoid", 800 + 1i, 1, false}, {"Sigmoid", -800 + 1i, 0, false}, {"Sigmoid", 0, 0.5, false},
	{"Expm1", -800 + 1i, -1, false}, {"Expm1", complex(0, math.Pi), -2, false},
	{"Log1p", -2, complex(0, math.Pi), false}, {"Log1p", 1e300 + 1e300i, complex(math.Log(math.Sqrt2*1e300), math.Pi/4), true},
	{"Rsqrt", -4, -0.5i, false}, {"Rsqrt", 4i, complex(math.Sqrt2/4, -math.Sqrt2/4), false},
	{"Sign", 3 - 4i, 0.6 - 0.8i, false}, {"Sign", -1e-300i, -1i, true},
	// The cuts of Asin and Atanh on the real axis beyond ±1, of Asinh and
	// Atan on the imaginary axis beyond ±i, of Acosh on the real axis
	// below 1; ln(2+√3) = 1.3169578969248166, atanh(1/2) = 0.5493061443340549.
	{"Asin", 2, complex(math.Pi/2, 1.3169578969248166), false},
	{"Asin", complex(2, math.Copysign(0, -1)), complex(math.Pi/2, -1.3169578969248166), false},
	{"Asin", -2, complex(-math.Pi/2, 1.3169578969248166), false},
	{"Asinh", 2i, complex(1.3169578969248166, math.Pi/2), false},
	{"Asinh", complex(math.Copysign(0, -1), 2), complex(-1.3169578969248166, math.Pi/2), false},
	{"Asinh", 1e200, complex(math.Log(2e200), 0), true},
	{"Asinh", -1e8 + 1i, complex(-math.Log(2e8), 1e-8), false},
	{"Acosh", -2, complex(1.3169578969248166, math.Pi), false},
	{"Acosh", complex(-2, math.Copysign(0, -1)), complex(1.3169578969248166, -math.Pi), false},
	{"Acosh", 1, 0, false}, {"Acosh", 0, complex(0, math.Pi/2), false},
	{"Acosh", 1e200i, complex(math.Log(2e200), math.Pi/2), true},
	{"Atanh", 2, complex(0.5493061443340549, math.Pi/2), false},
	{"Atanh", complex(2, math.Copysign(0, -1)), complex(0.5493061443340549, -math.Pi/2), false},
	{"Atanh", 0.5, 0.5493061443340549, false},
	{"Atan", 2i, complex(math.Pi/2, 0.5493061443340549), false},
	{"Atan", complex(math.Copysign(0, -1), 2), complex(-math.Pi/2, 0.5493061443340549), false},
	{"Atan", 1, math.Pi / 4, false},
}

// inverseOf is the forward function of each inverse op, for round trips.
var inverseOf = map[string]func(complex128) complex128{
	"Asin": cmplx.Sin, "Atan": cmplx.Tan, "Asinh": cmplx.Sinh, "Acosh": cmplx.Cosh, "Atanh": cmplx.Tanh,
}

// checkComplexOp runs op on the values (both dtypes, as a [len] vector),
// compares element i with want(i) within tol (tol64 for complex64) and
// records the op as checked only if every element matched.
func checkComplexOp(t *testing.T, op string, dt classify.DType, in []*classify.Tensor, want []complex128, tol float64) *classify.Tensor {
	t.Helper()
	out, ran, err := runOpUnrecorded(op, map[string]any{"T": dt}, in...)
	if err != nil {
		t.Fatalf("%s %v: %v", op, dt, err)
	}
	got := out[0]
	if got.DType != dt || got.Len() != len(want) {
		t.Fatalf("%s %v: got %v%v, want %d elements", op, dt, got.DType, got.Shape, len(want))
	}
	if dt == classify.Complex64 {
		tol = tol64
	}
	ok := true
	for i, w := range want {
		g := complexAt(got, i)
		if dt == classify.Complex64 && cmplx.Abs(w) < 1e-37 {
			w = complex128(complex64(w)) // below float32's normal range
		}
		if e := cmplx.Abs(g - w); !(e <= tol*cmplx.Abs(w)) && !(cmplx.IsNaN(g) && cmplx.IsNaN(w)) {
			t.Errorf("%s %v element %d (input %v): got %v, want %v (error %.3g relative)", op, dt, i, inputAt(in, i), g, w, e/cmplx.Abs(w))
			ok = false
		}
	}
	if ok {
		recordCoverage(t, "reference", ran)
	}
	return got
}

// inputAt describes element i of the inputs, for messages.
func inputAt(in []*classify.Tensor, i int) string {
	var s []string
	for _, x := range in {
		if x.Len() > i {
			s = append(s, fmt.Sprint(complexAt(x, i)))
		}
	}
	return strings.Join(s, ", ")
}

// TestComplexMathUnary checks every unary complex math kernel in both
// widths against its reference on moderate inputs, against power series on
// small ones, on hand-worked values at the branch cuts and large
// magnitudes, and the inverse functions also by round trip.
func TestComplexMathUnary(t *testing.T) {
	for op, r := range complexMathRefs {
		for _, dt := range complexDTypes {
			t.Run(op+"_"+dt.String(), func(t *testing.T) {
				x := asTensor(dt, complexMathInputs, len(complexMathInputs))
				in := values(x) // rounded to dt
				want := make([]complex128, len(in))
				for i, z := range in {
					want[i] = r.ref(z)
				}
				got := checkComplexOp(t, op, dt, []*classify.Tensor{x}, want, tolRef128)
				if f := inverseOf[op]; f != nil {
					for i, z := range in {
						if back := f(complexAt(got, i)); cmplx.Abs(back-z) > 100*tol64*max(1, cmplx.Abs(z)) {
							t.Errorf("%s %v: %v round trip gives %v", op, dt, z, back)
						}
					}
				}
				if r.series != nil {
					x := asTensor(dt, complexMathSmall, len(complexMathSmall))
					want := make([]complex128, x.Len())
					for i, z := range values(x) {
						want[i] = series(z, r.series...)
					}
					checkComplexOp(t, op, dt, []*classify.Tensor{x}, want, tolExact128)
				}
				var hin, hwant []complex128
				for _, h := range complexMathHand {
					if h.op == op && !(h.large && dt == classify.Complex64) {
						hin, hwant = append(hin, h.in), append(hwant, h.want)
					}
				}
				if len(hin) > 0 {
					checkComplexOp(t, op, dt, []*classify.Tensor{asTensor(dt, hin, len(hin))}, hwant, tolExact128)
				}
				// An empty input gives an empty output of its shape.
				e := mustRun(t, op, map[string]any{"T": dt}, classify.NewTensor(dt, 0, 3))
				if e.DType != dt || !e.Shape.Equal(classify.Shape{0, 3}) {
					t.Errorf("%s %v of [0,3]: %v%v", op, dt, e.DType, e.Shape)
				}
			})
		}
	}
}

// TestComplexMathSignedZeros: the kernels keep the side of a cut that a
// zero part's sign gives, in both widths (asTensor keeps -0).
func TestComplexMathSignedZeros(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, dt := range complexDTypes {
		got := mustRun(t, "Asin", map[string]any{"T": dt}, asTensor(dt, []complex128{complex(3, 0), complex(3, negZero)}, 2))
		if a, b := complexAt(got, 0), complexAt(got, 1); imag(a) <= 0 || imag(b) >= 0 {
			t.Errorf("Asin %v of 3±0i: %v, %v, want imaginary parts of opposite signs", dt, a, b)
		}
	}
}

// TestComplexMathBinary checks the binary complex kernels against
// references written differently, with broadcasting ([2,1] against [3])
// and the zero cases each op defines.
func TestComplexMathBinary(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	refs := map[string]func(x, y complex128) complex128{
		// Polar form (math/cmplx's Pow) rather than exp(y log x).
		"Pow": cmplx.Pow,
		"SquaredDifference": func(x, y complex128) complex128 {
			d := math.Hypot(real(x-y), imag(x-y))
			return complex(d*d, 0)
		},
		"Xdivy": func(x, y complex128) complex128 {
			if x == 0 {
				return 0
			}
			return x * cmplx.Conj(y) / complex(real(y)*real(y)+imag(y)*imag(y), 0)
		},
		"Xlogy": func(x, y complex128) complex128 {
			if x == 0 {
				return 0
			}
			return x * complex(math.Log(math.Hypot(real(y), imag(y))), math.Atan2(imag(y), real(y)))
		},
		"Xlog1py": func(x, y complex128) complex128 {
			if x == 0 {
				return 0
			}
			return x * cmplx.Log(1+y)
		},
		"DivNoNan": func(x, y complex128) complex128 {
			if y == 0 || x == 0 {
				return 0
			}
			return x * cmplx.Conj(y) / complex(real(y)*real(y)+imag(y)*imag(y), 0)
		},
		"MulNoNan": func(x, y complex128) complex128 {
			if y == 0 {
				return 0
			}
			return complex(real(x)*real(y)-imag(x)*imag(y), real(x)*imag(y)+imag(x)*real(y))
		},
	}
	xs := []complex128{1.5 - 0.5i, -0.75 + 2i}
	ys := []complex128{0.5 + 0.25i, -2 - 1i, 3i}
	for op, ref := range refs {
		for _, dt := range complexDTypes {
			t.Run(op+"_"+dt.String(), func(t *testing.T) {
				x, y := asTensor(dt, xs, 2, 1), asTensor(dt, ys, 3)
				var want []complex128
				for _, a := range values(x) {
					for _, b := range values(y) {
						want = append(want, ref(a, b))
					}
				}
				got := checkComplexOp(t, op, dt, []*classify.Tensor{x, y}, want, tolRef128)
				if !got.Shape.Equal(classify.Shape{2, 3}) {
					t.Errorf("%s %v: shape %v, want [2,3]", op, dt, got.Shape)
				}
				e := mustRun(t, op, map[string]any{"T": dt}, classify.NewTensor(dt, 0, 3), y)
				if !e.Shape.Equal(classify.Shape{0, 3}) {
					t.Errorf("%s %v empty: shape %v", op, dt, e.Shape)
				}
			})
		}
	}
	// The zero cases, element by element.
	for _, c := range []struct {
		op         string
		x, y, want complex128
	}{
		{"Xdivy", 0, 0, 0}, {"Xlogy", 0, 0, 0}, {"Xlog1py", 0, -1, 0},
		{"DivNoNan", 1 + 1i, 0, 0}, {"DivNoNan", 0, 1e-300, 0}, {"DivNoNan", complex(inf, 0), 0, 0},
		{"MulNoNan", complex(inf, nan), 0, 0}, {"MulNoNan", 2i, 2i, -4},
		{"Pow", 0, 2, 0}, {"Pow", 2i, 2, -4}, {"Pow", -8, complex(1.0/3, 0), complex(1, math.Sqrt(3))},
		{"SquaredDifference", 1 + 1i, -2 + 5i, 25},
		{"Xlogy", 2, -1, complex(0, 2*math.Pi)},
	} {
		for _, dt := range complexDTypes {
			x, y := asTensor(dt, []complex128{c.x}), asTensor(dt, []complex128{c.y})
			x.Shape, y.Shape = classify.Shape{1}, classify.Shape{1}
			got := checkComplexOp(t, c.op, dt, []*classify.Tensor{x, y}, []complex128{c.want}, tolRef128)
			if c.op == "SquaredDifference" && imag(complexAt(got, 0)) != 0 {
				t.Errorf("SquaredDifference %v: imaginary part %v, want 0", dt, imag(complexAt(got, 0)))
			}
		}
	}
}

// TestComplexScans checks Cumsum and Cumprod of complex tensors on every
// axis of a [2,3,4] input (negative too, int32 and int64 axes) with all
// four exclusive/reverse combinations against a naive loop, and on an
// empty input.
func TestComplexScans(t *testing.T) {
	shape := []int{2, 3, 4}
	vals := make([]complex128, 24)
	for i := range vals {
		vals[i] = complex(0.5+0.125*float64(i%5), 0.25*float64(i%3)-0.25)
	}
	naive := func(prod, exclusive, reverse bool, axis int) []complex128 {
		out := make([]complex128, 24)
		strides := []int{12, 4, 1}
		n := shape[axis]
		for i := range vals {
			if (i/strides[axis])%n != 0 {
				continue // one start per line along axis
			}
			acc := complex128(0)
			if prod {
				acc = 1
			}
			for k := 0; k < n; k++ {
				j := k
				if reverse {
					j = n - 1 - k
				}
				at := i + j*strides[axis]
				if exclusive {
					out[at] = acc
				}
				if prod {
					acc *= vals[at]
				} else {
					acc += vals[at]
				}
				if !exclusive {
					out[at] = acc
				}
			}
		}
		return out
	}
	for _, dt := range complexDTypes {
		x := asTensor(dt, vals, shape...)
		for _, op := range []string{"Cumsum", "Cumprod"} {
			for _, axis := range []int{0, 1, 2, -1, -3} {
				for _, exclusive := range []bool{false, true} {
					for _, reverse := range []bool{false, true} {
						ax := i32([]int32{int32(axis)})
						if axis == -1 {
							ax = &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{-1}}
						}
						ax.Shape = classify.Shape{}
						attrs := map[string]any{"T": dt, "Tidx": ax.DType, "exclusive": exclusive, "reverse": reverse}
						out, ran, err := runOpUnrecorded(op, attrs, x, ax)
						if err != nil {
							t.Fatalf("%s %v axis %d: %v", op, dt, axis, err)
						}
						want := naive(op == "Cumprod", exclusive, reverse, (axis+3)%3)
						tol := 1e-14
						if dt == classify.Complex64 {
							tol = 1e-6 // accumulated in complex64, as Eigen's scan
						}
						if got := out[0]; got.DType != dt || !got.Shape.Equal(classify.Shape(shape)) || maxErr(values(got), want) > tol {
							t.Fatalf("%s %v axis %d exclusive=%v reverse=%v: %v%v, error %.3g", op, dt, axis, exclusive, reverse, got.DType, got.Shape, maxErr(values(got), want))
						}
						recordCoverage(t, "reference", ran)
					}
				}
			}
			e := mustRun(t, op, map[string]any{"T": dt}, classify.NewTensor(dt, 0, 3), &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{1}})
			if e.DType != dt || !e.Shape.Equal(classify.Shape{0, 3}) {
				t.Errorf("%s %v of [0,3]: %v%v", op, dt, e.DType, e.Shape)
			}
		}
	}
}

// TestComplexMathRefused: ops TensorFlow's CPU kernels have no complex
// kernel for (Acos: cwise_op_acos.cc registers half, bfloat16, float and
// double; Erf: real types only) refuse complex at load, naming the op.
func TestComplexMathRefused(t *testing.T) {
	for _, op := range []string{"Acos", "Erf", "CumulativeLogsumexp"} {
		for _, dt := range complexDTypes {
			in := []*classify.Tensor{asTensor(dt, []complex128{0.5}, 1)}
			if op == "CumulativeLogsumexp" {
				in = append(in, &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{0}})
			}
			_, err := runOp(t, op, map[string]any{"T": dt}, in...)
			if !errors.Is(err, classify.ErrUnsupportedOp) || !strings.Contains(err.Error(), op) || !strings.Contains(err.Error(), dt.String()) {
				t.Errorf("%s on %v: got %v, want ErrUnsupportedOp naming %s and %v", op, dt, err, op, dt)
			}
		}
	}
}

// TestComplexLogNearUnitCircle checks the real part of complex Log where
// |z| is 1 to many digits, which log(hypot) would round to 0 or get wrong
// in most digits: against log1p(d)/2 with d = a²+b²-1 computed exactly
// (math/big) and rounded once. Also the imaginary part (atan2) and the
// special values kept from math/cmplx.
func TestComplexLogNearUnitCircle(t *testing.T) {
	exactD := func(a, b float64) float64 {
		x, y := new(big.Float).SetPrec(300).SetFloat64(a), new(big.Float).SetPrec(300).SetFloat64(b)
		x.Mul(x, x)
		y.Mul(y, y)
		x.Add(x, y)
		x.Sub(x, big.NewFloat(1))
		d, _ := x.Float64()
		return d
	}
	var in []complex128
	for _, th := range []float64{0, 0.3, 0.9272952180016122, math.Pi / 4, 2, 3.1} {
		for _, eps := range []float64{0, 1e-16, -3e-16, 1e-12, -1e-9, 1e-6, 1e-3, -0.2, 0.3} {
			in = append(in, complex((1+eps)*math.Cos(th), (1+eps)*math.Sin(th)))
		}
	}
	in = append(in, 1+1e-10i, complex(0.6, 0.8), complex(-0.8, -0.6), complex(1, -1e-200))
	for _, dt := range complexDTypes {
		x := asTensor(dt, in, len(in))
		out, ran, err := runOpUnrecorded("Log", map[string]any{"T": dt}, x)
		if err != nil {
			t.Fatal(err)
		}
		ok := true
		for i := range in {
			z := complexAt(x, i) // the input as dt holds it
			a, b := real(z), imag(z)
			want := complex(0.5*math.Log1p(exactD(a, b)), math.Atan2(b, a))
			g := complexAt(out[0], i)
			tol := 4e-15
			if dt == classify.Complex64 {
				want = complex128(complex64(want))
				tol = tol64
			}
			if re := math.Abs(real(g) - real(want)); !(re <= tol*math.Abs(real(want))) && !(real(want) == 0 && real(g) == 0) {
				t.Errorf("Log %v of %v: real part %v, want %v", dt, z, real(g), real(want))
				ok = false
			}
			if im := math.Abs(imag(g) - imag(want)); !(im <= tol*math.Abs(imag(want))) && imag(want) != imag(g) {
				t.Errorf("Log %v of %v: imaginary part %v, want %v", dt, z, imag(g), imag(want))
				ok = false
			}
		}
		if ok {
			recordCoverage(t, "reference", ran)
		}
	}
	special := []complex128{0, complex(math.Copysign(0, -1), 0), complex(math.Inf(1), math.NaN()), complex(math.NaN(), 1), complex(math.Inf(-1), 1)}
	out, _, err := runOpUnrecorded("Log", map[string]any{"T": classify.Complex128}, asTensor(classify.Complex128, special, len(special)))
	if err != nil {
		t.Fatal(err)
	}
	for i, z := range special {
		g, w := complexAt(out[0], i), cmplx.Log(z)
		same := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
		if !same(real(g), real(w)) || !same(imag(g), imag(w)) {
			t.Errorf("Log of %v = %v, want %v (C99, as math/cmplx)", z, g, w)
		}
	}
}
