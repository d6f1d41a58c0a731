package ops

import (
	"math"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
)

// TestGuardedBinaryGolden checks DivNoNan (the only one of these ops
// TensorFlow.js has) against the oracle, zero divisors and non-finite
// dividends included.
func TestGuardedBinaryGolden(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	cases := []goldenCase{
		mathBinCase("divnonan_cross", "DivNoNan", randF32(130, -2, 2, 2, 1, 4), classify.FromFloat32([]float32{0, 0.5, -3}, 3, 1)),
		mathBinCase("divnonan_special", "DivNoNan", classify.FromFloat32([]float32{inf, nan, -inf, 0, 1, 2}, 6), classify.FromFloat32([]float32{0, 0, 0, 0, 4, inf}, 6)),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

var guardedSpecials = []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1, -2.5, 1e-30, 3, 0.75, -1}

// guardedRef are the guarded binary ops from TensorFlow's definitions.
var guardedRef = map[string]func(x, y float64) float64{
	"DivNoNan": func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x / y
	},
	"MulNoNan": func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x * y
	},
	"Xdivy": func(x, y float64) float64 {
		if x == 0 {
			return 0
		}
		return x / y
	},
	"Xlogy": func(x, y float64) float64 {
		if x == 0 {
			return 0
		}
		return x * math.Log(y)
	},
	"Xlog1py": func(x, y float64) float64 {
		if x == 0 {
			return 0
		}
		return x * math.Log1p(y)
	},
}

// TestGuardedBinaryReference runs every pair of special values (as a
// [n,1] by [n] broadcast) through the five ops in float32, float64,
// float16 and bfloat16, against a float64 reference rounded to the type:
// float32 within 3e-7 relative (Xlogy's log and product round
// separately), the 16-bit formats within an ulp.
func TestGuardedBinaryReference(t *testing.T) {
	n := len(guardedSpecials)
	x64 := &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{n, 1}, Data: guardedSpecials}
	y64 := &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{n}, Data: guardedSpecials}
	f := make([]float32, n)
	for i, v := range guardedSpecials {
		f[i] = float32(v)
	}
	x32, y32 := classify.FromFloat32(f, n, 1), classify.FromFloat32(f, n)
	x16, y16 := shaped(f16s(f...), n, 1), f16s(f...)
	bf := make([]classify.BF16, n)
	for i, v := range f {
		bf[i] = classify.BF16FromFloat32(v)
	}
	xb := &classify.Tensor{DType: classify.BFloat16, Shape: classify.Shape{n, 1}, Data: bf}
	yb := &classify.Tensor{DType: classify.BFloat16, Shape: classify.Shape{n}, Data: bf}
	for op, ref := range guardedRef {
		for _, in := range [][2]*classify.Tensor{{x64, y64}, {x32, y32}, {x16, y16}, {xb, yb}} {
			dt := in[0].DType
			got := mustRun(t, op, map[string]any{"T": dt}, in[0], in[1])
			if got.DType != dt || !got.Shape.Equal(classify.Shape{n, n}) {
				t.Fatalf("%s %v: %v %v", op, dt, got.DType, got.Shape)
			}
			g, xs := classifytest.Float64s(got), classifytest.Float64s(in[1])
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					w := ref(xs[i], xs[j])
					if dt == classify.Float32 {
						w = float64(float32(w))
					}
					k := i*n + j
					if dt == classify.Float16 || dt == classify.BFloat16 {
						if !withinULPs(got, k, w, 1) {
							t.Errorf("%s(%v, %v) %v = %v, want %v", op, xs[i], xs[j], dt, g[k], w)
						}
						continue
					}
					if math.IsNaN(w) || math.IsInf(w, 0) {
						if !(math.IsNaN(w) && math.IsNaN(g[k])) && g[k] != w {
							t.Errorf("%s(%v, %v) %v = %v, want %v", op, xs[i], xs[j], dt, g[k], w)
						}
						continue
					}
					if d := math.Abs(g[k] - w); d > 3e-7*math.Abs(w) {
						t.Errorf("%s(%v, %v) %v = %v, want %v", op, xs[i], xs[j], dt, g[k], w)
					}
				}
			}
		}
	}
	// Hand-worked values, exact in float64.
	for _, c := range []struct {
		op      string
		x, y, w float64
	}{
		{"MulNoNan", math.Inf(1), 0, 0}, {"MulNoNan", math.NaN(), 0, 0}, {"MulNoNan", 0, math.Inf(1), math.NaN()},
		{"DivNoNan", math.NaN(), math.Copysign(0, -1), 0}, {"DivNoNan", 0, math.NaN(), math.NaN()}, {"DivNoNan", 1, -4, -0.25},
		{"Xlogy", 0, math.NaN(), 0}, {"Xlogy", 2, math.E, 2}, {"Xlogy", 1, 0, math.Inf(-1)}, {"Xlogy", -3, -1, math.NaN()},
		{"Xdivy", 0, 0, 0}, {"Xdivy", 1, 0, math.Inf(1)}, {"Xdivy", 3, 4, 0.75},
		{"Xlog1py", 0, -1, 0}, {"Xlog1py", 3, math.E - 1, 3}, {"Xlog1py", 2, -1, math.Inf(-1)},
	} {
		got := mustRun(t, c.op, map[string]any{"T": classify.Float64}, f64s(c.x), f64s(c.y))
		g := got.Data.([]float64)[0]
		if !(math.IsNaN(g) && math.IsNaN(c.w)) && math.Abs(g-c.w) > 1e-15*math.Abs(c.w) && g != c.w {
			t.Errorf("%s(%v, %v) = %v, want %v", c.op, c.x, c.y, g, c.w)
		}
	}
}

func f64s(v ...float64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{len(v)}, Data: v}
}

func TestGuardedBinaryErrorsAndEmpty(t *testing.T) {
	for op := range guardedRef {
		_, err := runOp(t, op, map[string]any{"T": classify.Int32}, mathI32([]int32{1}, 1), mathI32([]int32{1}, 1))
		if err == nil || !strings.Contains(err.Error(), "unsupported dtype int32") || !strings.Contains(err.Error(), op) && !strings.Contains(err.Error(), `"out"`) {
			t.Errorf("%s of int32: error %v", op, err)
		}
		_, err = runOp(t, op, map[string]any{"T": classify.Float32}, randF32(1, 0, 1, 2, 3), randF32(2, 0, 1, 4))
		if err == nil || !strings.Contains(err.Error(), "incompatible shapes") {
			t.Errorf("%s of [2,3] and [4]: error %v", op, err)
		}
		_, err = runOp(t, op, map[string]any{"T": classify.Float32}, randF32(1, 0, 1, 3), f64s(1, 2, 3))
		if err == nil || !strings.Contains(err.Error(), "dtype") {
			t.Errorf("%s of float32 and float64: error %v", op, err)
		}
		_, err = runOp(t, op, map[string]any{"T": classify.Int8}, &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{1}, Data: []int8{1}}, &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{1}, Data: []int8{1}})
		if err == nil || !strings.Contains(err.Error(), "int8") {
			t.Errorf("%s of int8: error %v", op, err)
		}
		got := mustRun(t, op, map[string]any{"T": classify.Float32}, randF32(1, 0, 1, 0, 3), randF32(2, 0, 1, 3))
		if !got.Shape.Equal(classify.Shape{0, 3}) || got.Len() != 0 {
			t.Errorf("%s of [0,3] and [3]: shape %v", op, got.Shape)
		}
	}
}

// TestL2Loss checks sum(t²)/2 against a float64 loop, for float32, float64,
// float16 and bfloat16, scalars and empty tensors, and its errors.
func TestL2Loss(t *testing.T) {
	x := randF32(140, -3, 3, 4, 5, 6)
	var w float64
	for _, v := range x.Float32s() {
		w += float64(v) * float64(v)
	}
	w /= 2
	got := mustRun(t, "L2Loss", map[string]any{"T": classify.Float32}, x)
	if !got.Shape.Equal(classify.Shape{}) || got.DType != classify.Float32 || math.Abs(float64(got.Float32s()[0])-w) > 1e-6*w {
		t.Errorf("L2Loss float32: %v %v %v, want %v", got.DType, got.Shape, got.Data, w)
	}
	got = mustRun(t, "L2Loss", map[string]any{"T": classify.Float64}, f64s(3, -4, 0.5))
	if v := got.Data.([]float64); len(v) != 1 || v[0] != 12.625 {
		t.Errorf("L2Loss float64 [3 -4 0.5] = %v, want 12.625", v)
	}
	got = mustRun(t, "L2Loss", map[string]any{"T": classify.Float64}, &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{-2}})
	if v := got.Data.([]float64); v[0] != 2 {
		t.Errorf("L2Loss of scalar -2 = %v, want 2", v)
	}
	got = mustRun(t, "L2Loss", map[string]any{"T": classify.Float32}, randF32(1, 0, 1, 3, 0))
	if v := got.Float32s(); len(v) != 1 || v[0] != 0 {
		t.Errorf("L2Loss of empty = %v, want [0]", v)
	}
	got = mustRun(t, "L2Loss", map[string]any{"T": classify.Float32}, classify.FromFloat32([]float32{float32(math.Inf(-1)), 1}, 2))
	if v := got.Float32s(); !math.IsInf(float64(v[0]), 1) {
		t.Errorf("L2Loss with -inf = %v, want +inf", v)
	}
	got = mustRun(t, "L2Loss", map[string]any{"T": classify.Float16}, f16s(1, 2, -3, 0.5))
	if s := fmtTensor(got); s != "float16 7.125" && s != "float16 [7.125]" {
		t.Errorf("L2Loss float16 = %s, want 7.125", s)
	}
	bf := &classify.Tensor{DType: classify.BFloat16, Shape: classify.Shape{2}, Data: []classify.BF16{classify.BF16FromFloat32(2), classify.BF16FromFloat32(4)}}
	got = mustRun(t, "L2Loss", map[string]any{"T": classify.BFloat16}, bf)
	if g := classifytest.Float64s(got); got.DType != classify.BFloat16 || len(g) != 1 || g[0] != 10 {
		t.Errorf("L2Loss bfloat16 [2 4] = %v %v, want 10", got.DType, g)
	}
	_, err := runOp(t, "L2Loss", map[string]any{"T": classify.Int32}, mathI32([]int32{1, 2}, 2))
	if err == nil || !strings.Contains(err.Error(), "unsupported dtype int32") {
		t.Errorf("L2Loss of int32: error %v", err)
	}
	_, err = runOp(t, "L2Loss", map[string]any{"T": classify.Float32}, randF32(1, 0, 1, 2), randF32(1, 0, 1, 2))
	if err == nil || !strings.Contains(err.Error(), "want 1 input") {
		t.Errorf("L2Loss of 2 inputs: error %v", err)
	}
}
