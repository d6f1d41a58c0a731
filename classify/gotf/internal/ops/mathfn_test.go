package ops

import (
	"math"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestMathFnGolden(t *testing.T) {
	special := classify.FromFloat32([]float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, -1.5, 3e38, float32(math.Copysign(0, -1))}, 7)
	cases := []goldenCase{
		mathUnCase("sin_basic", "Sin", randF32(100, -10, 10, 3, 7), nil),
		mathUnCase("cos_basic", "Cos", randF32(101, -10, 10, 3, 7), nil),
		mathUnCase("tan_basic", "Tan", randF32(102, -1.5, 1.5, 3, 7), nil),
		mathUnCase("asin_basic", "Asin", randF32(103, -1, 1, 3, 7), nil),
		mathUnCase("acos_basic", "Acos", randF32(104, -1, 1, 3, 7), nil),
		mathUnCase("atan_basic", "Atan", randF32(105, -20, 20, 3, 7), nil),
		mathUnCase("sinh_basic", "Sinh", randF32(106, -5, 5, 3, 7), nil),
		mathUnCase("cosh_basic", "Cosh", randF32(107, -5, 5, 3, 7), nil),
		mathUnCase("asinh_basic", "Asinh", randF32(108, -20, 20, 3, 7), nil),
		mathUnCase("acosh_basic", "Acosh", randF32(109, 1, 20, 3, 7), nil),
		mathUnCase("atanh_basic", "Atanh", randF32(110, -0.99, 0.99, 3, 7), nil),
		mathUnCase("erf_basic", "Erf", randF32(111, -3, 3, 3, 7), nil),
		mathUnCase("expm1_basic", "Expm1", randF32(112, -5, 5, 3, 7), nil),
		mathUnCase("expm1_small", "Expm1", randF32(113, -1e-4, 1e-4, 9), nil),
		mathUnCase("log1p_basic", "Log1p", randF32(114, -0.9, 10, 3, 7), nil),
		mathUnCase("softplus_basic", "Softplus", randF32(115, -30, 30, 4, 9), nil),
		mathUnCase("reciprocal_basic", "Reciprocal", randF32(116, 0.1, 10, 3, 7), nil),
		mathUnCase("isnan_special", "IsNan", special, nil),
		mathUnCase("isinf_special", "IsInf", special, nil),
		mathUnCase("isfinite_special", "IsFinite", special, nil),
		mathBinCase("atan2_cross", "Atan2", randF32(117, -2, 2, 2, 1, 4), randF32(118, -2, 2, 3, 1)),
		mathBinCase("atan2_axes", "Atan2", classify.FromFloat32([]float32{0, 1, -1, 0, 1, -1}, 6), classify.FromFloat32([]float32{1, 0, 0, -1, -1, -1}, 6)),
		mathOpCase("clip_scalar", "ClipByValue", graphdefT(classify.Float32), []mathIn{{"a", randF32(119, -3, 3, 3, 5), false}, {"lo", classify.FromFloat32([]float32{-1}), false}, {"hi", classify.FromFloat32([]float32{1.5}), false}}),
		mathOpCase("clip_int32", "ClipByValue", graphdefT(classify.Int32), []mathIn{{"a", mathI32([]int32{-9, -1, 0, 4, 12}, 5), false}, {"lo", mathI32([]int32{-2}), false}, {"hi", mathI32([]int32{5}), false}}),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestMathFnReference covers what TensorFlow.js lacks (Erfc, Softsign,
// Inv), float64, and the edges of Softplus and ClipByValue, against values
// from the functions' definitions.
func TestMathFnReference(t *testing.T) {
	x := []float64{-40, -20, -3, -0.5, 0, 0.25, 2, 15, 40}
	f32 := make([]float32, len(x))
	for i, v := range x {
		f32[i] = float32(v)
	}
	in32 := classify.FromFloat32(f32, len(x))
	in64 := &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{len(x)}, Data: x}
	for _, c := range []struct {
		op  string
		ref func(float64) float64
	}{
		{"Erfc", func(v float64) float64 { return 1 - math.Erf(v) }},
		{"Softsign", func(v float64) float64 { return v / (1 + math.Abs(v)) }},
		{"Inv", func(v float64) float64 { return 1 / v }},
		{"Softplus", func(v float64) float64 { return math.Log1p(math.Exp(v)) }},
		{"Sin", math.Sin},
		{"Atanh", math.Atanh},
	} {
		for _, in := range []*classify.Tensor{in32, in64} {
			got := mustRun(t, c.op, map[string]any{"T": in.DType}, in)
			if got.DType != in.DType {
				t.Errorf("%s: dtype %v", c.op, got.DType)
			}
			g := classifytest.Float64s(got)
			for i, v := range x {
				w := c.ref(v)
				if in.DType == classify.Float32 {
					w = c.ref(float64(f32[i]))
				}
				// Erfc(-40)-style cancellation in the reference (1-erf)
				// is exact here; relative 1e-6 covers float32 rounding.
				if d := math.Abs(g[i] - w); d > 1e-30+1e-6*math.Abs(w) && !(math.IsNaN(w) && math.IsNaN(g[i])) && !(math.IsInf(w, 0) && g[i] == w) {
					t.Errorf("%s(%v) %v = %v, want %v", c.op, v, in.DType, g[i], w)
				}
			}
		}
	}
	// Clip with lo > hi gives lo (TF clips from above first); uint8 too.
	u := func(d ...uint8) *classify.Tensor {
		return &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{len(d)}, Data: d}
	}
	got := mustRun(t, "ClipByValue", map[string]any{"T": classify.Uint8}, u(0, 100, 250), &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{}, Data: []uint8{10}}, &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{}, Data: []uint8{200}})
	if msg := compare(got, u(10, 100, 200), 0, 0); msg != "" {
		t.Errorf("ClipByValue uint8: %s", msg)
	}
	// Bounds of t's shape (TensorFlow.js reads only their first value).
	a, lo, hi := randF32(120, -3, 3, 2, 3), randF32(121, -2, 0, 2, 3), randF32(122, 0, 2, 2, 3)
	got = mustRun(t, "ClipByValue", map[string]any{"T": classify.Float32}, a, lo, hi)
	for i, v := range got.Float32s() {
		w := min(max(a.Float32s()[i], lo.Float32s()[i]), hi.Float32s()[i])
		if v != w {
			t.Errorf("ClipByValue tensor bounds: element %d = %v, want %v", i, v, w)
		}
	}
	got = mustRun(t, "ClipByValue", map[string]any{"T": classify.Float32}, classify.FromFloat32([]float32{-5, 0, 5}, 3), classify.FromFloat32([]float32{2}), classify.FromFloat32([]float32{1}))
	if msg := compare(got, classify.FromFloat32([]float32{2, 2, 2}, 3), 0, 0); msg != "" {
		t.Errorf("ClipByValue lo > hi: %s", msg)
	}
}

func TestMathFnErrors(t *testing.T) {
	for _, op := range []string{"Sin", "Erfc", "Softplus", "IsNan", "Reciprocal"} {
		_, err := runOp(t, op, map[string]any{"T": classify.Int32}, mathI32([]int32{1}, 1))
		if err == nil || !strings.Contains(err.Error(), "unsupported dtype int32") || !strings.Contains(err.Error(), `"out"`) {
			t.Errorf("%s of int32: error %v", op, err)
		}
	}
	_, err := runOp(t, "ClipByValue", map[string]any{"T": classify.Float32}, randF32(1, 0, 1, 3), randF32(2, 0, 1, 2), classify.FromFloat32([]float32{1}))
	if err == nil || !strings.Contains(err.Error(), "scalars or of t's shape") {
		t.Errorf("ClipByValue with a bound of another shape: error %v", err)
	}
}

func graphdefT(dt classify.DType) graphdef.Attrs { return graphdef.Attrs{"T": dt} }
