package ops

import (
	"math"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// intPairs are dividends and divisors of every sign combination, with
// exact and inexact quotients.
var (
	intDividends = []int32{7, -7, 7, -7, 6, -6, 0, 1, -1, 9, -9, 5}
	intDivisors  = []int32{2, 2, -2, -2, 3, 3, 5, -4, 4, -9, 9, 7}
)

func TestIntDivGolden(t *testing.T) {
	fa := classify.FromFloat32([]float32{7.5, -7.5, 7.5, -7.5, 6, -6, 0, 1.25, -1.25, 9, -9, 5.5}, 12)
	fb := classify.FromFloat32([]float32{2, 2, -2, -2, 3, 3, 5, -0.5, 0.5, -9, 9, 7}, 12)
	cases := []goldenCase{
		mathBinCase("floordiv_int32_signs", "FloorDiv", mathI32(intDividends, 12), mathI32(intDivisors, 12)),
		mathBinCase("floordiv_int32_bcast", "FloorDiv", mathI32([]int32{-7, -3, 0, 3, 7, 11}, 2, 3), mathI32([]int32{2, -3, 4}, 3)),
		mathBinCase("floordiv_float_signs", "FloorDiv", fa, fb),
		mathBinCase("floordiv_float_scalar", "FloorDiv", randF32(1, -10, 10, 3, 4), classify.FromFloat32([]float32{1.5})),
		mathBinCase("floormod_int32_signs", "FloorMod", mathI32(intDividends, 12), mathI32(intDivisors, 12)),
		mathBinCase("floormod_int32_scalar_left", "FloorMod", mathI32([]int32{-17}), mathI32([]int32{2, -3, 4, -5, 6}, 5)),
		mathBinCase("floormod_float_signs", "FloorMod", fa, fb),
		mathBinCase("floormod_float_cross", "FloorMod", randF32(2, -10, 10, 2, 1, 4), randF32(3, 0.5, 3, 3, 1)),
		mathUnCase("floor_basic", "Floor", randF32(4, -5, 5, 3, 7), nil),
		mathUnCase("ceil_basic", "Ceil", randF32(5, -5, 5, 3, 7), nil),
		mathUnCase("round_halves", "Round", classify.FromFloat32([]float32{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.7, 2.2, 0}, 10), nil),
		mathUnCase("round_int32", "Round", mathI32([]int32{-3, 0, 5}, 3), nil),
		mathUnCase("sign_basic", "Sign", classify.FromFloat32([]float32{-3, -0.1, 0, 0.1, 4}, 5), nil),
		mathUnCase("sign_int32", "Sign", mathI32([]int32{-9, 0, 9, -2147483648}, 4), nil),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestIntDivReference checks TruncateDiv, TruncateMod and Mod (which
// TensorFlow.js lacks or computes as a floor modulo), Rint, the int64,
// uint8 and float64 kernels, and integer edge cases, against TensorFlow's
// documented semantics: truncating ops follow C (x == trunc(x/y)*y +
// x%y), floor ops Python (x == floor(x/y)*y + mod, mod with y's sign).
func TestIntDivReference(t *testing.T) {
	i64 := func(d ...int64) *classify.Tensor { return mathI64(d, len(d)) }
	u8 := func(d ...uint8) *classify.Tensor {
		return &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{len(d)}, Data: d}
	}
	f64 := func(d ...float64) *classify.Tensor {
		return &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{len(d)}, Data: d}
	}
	a32, b32 := mathI32(intDividends, 12), mathI32(intDivisors, 12)
	for _, c := range []struct {
		op   string
		a, b *classify.Tensor
		want *classify.Tensor
	}{
		{"TruncateDiv", a32, b32, mathI32([]int32{3, -3, -3, 3, 2, -2, 0, 0, 0, -1, -1, 0}, 12)},
		{"TruncateMod", a32, b32, mathI32([]int32{1, -1, 1, -1, 0, 0, 0, 1, -1, 0, 0, 5}, 12)},
		{"Mod", a32, b32, mathI32([]int32{1, -1, 1, -1, 0, 0, 0, 1, -1, 0, 0, 5}, 12)},
		{"FloorDiv", i64(7, -7, 7, -7, math.MinInt64, math.MinInt64), i64(2, 2, -2, -2, -1, 3), i64(3, -4, -4, 3, math.MinInt64, -3074457345618258603)},
		{"FloorMod", i64(7, -7, 7, -7, math.MinInt64, math.MinInt64), i64(2, 2, -2, -2, -1, 3), i64(1, 1, -1, -1, 0, 1)},
		{"TruncateDiv", i64(-7, math.MaxInt64), i64(2, -1), i64(-3, -math.MaxInt64)},
		{"FloorDiv", u8(255, 7, 0), u8(2, 7, 9), u8(127, 1, 0)},
		{"FloorMod", u8(255, 7, 0), u8(2, 7, 9), u8(1, 0, 0)},
		{"TruncateDiv", u8(200), u8(3), u8(66)},
		{"FloorDiv", f64(7.5, -7.5, 1, -1), f64(2, 2, 0, 0), f64(3, -4, math.Inf(1), math.Inf(-1))},
		{"FloorMod", f64(7.5, -7.5, 7.5, 1), f64(2, 2, -2, 0), f64(1.5, 0.5, -0.5, math.NaN())},
		{"Mod", f64(7.5, -7.5, 7.5), f64(2, 2, -2), f64(1.5, -1.5, 1.5)},
		{"TruncateMod", classify.FromFloat32([]float32{-7.5, 7.5}, 2), classify.FromFloat32([]float32{2, -2}, 2), classify.FromFloat32([]float32{-1.5, 1.5}, 2)},
	} {
		got := mustRun(t, c.op, map[string]any{"T": c.a.DType}, c.a, c.b)
		if msg := compare(got, c.want, 0, 0); msg != "" || got.DType != c.want.DType {
			t.Errorf("%s %v: %s (got %v %v)", c.op, c.a.DType, msg, got.DType, got.Data)
		}
	}
	for _, c := range []struct {
		op      string
		in      *classify.Tensor
		want    *classify.Tensor
		attrsDT classify.DType
	}{
		{"Rint", classify.FromFloat32([]float32{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -3.7, 2.2}, 8), classify.FromFloat32([]float32{-2, -2, 0, 0, 2, 2, -4, 2}, 8), classify.Float32},
		{"Round", f64(0.5, 1.5, 2.5, -2.5), f64(0, 2, 2, -2), classify.Float64},
		{"Round", i64(-3, 4), i64(-3, 4), classify.Int64},
		{"Sign", f64(-2, 0, math.NaN(), 3), f64(-1, 0, math.NaN(), 1), classify.Float64},
		{"Sign", i64(-2, 0, 3), i64(-1, 0, 1), classify.Int64},
		{"Floor", f64(-0.5, 0.5), f64(-1, 0), classify.Float64},
		{"Ceil", f64(-0.5, 0.5), f64(0, 1), classify.Float64},
	} {
		got := mustRun(t, c.op, map[string]any{"T": c.attrsDT}, c.in)
		if msg := compare(got, c.want, 0, 0); msg != "" {
			t.Errorf("%s %v: %s", c.op, c.attrsDT, msg)
		}
	}
}

func TestIntDivErrors(t *testing.T) {
	for _, c := range []struct {
		op   string
		a, b *classify.Tensor
		want string
	}{
		{"FloorDiv", mathI32([]int32{1, 2}, 2), mathI32([]int32{1, 0}, 2), "integer division by zero"},
		{"FloorMod", mathI64([]int64{1}, 1), mathI64([]int64{0}, 1), "integer division by zero"},
		{"TruncateDiv", &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{1}, Data: []uint8{1}}, &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{}, Data: []uint8{0}}, "integer division by zero"},
		{"Mod", mathI32([]int32{1}, 1), mathI32([]int32{0}, 1), "integer division by zero"},
		{"TruncateDiv", randF32(1, 1, 2, 2), randF32(2, 1, 2, 2), "unsupported dtype float32"},
		{"Mod", boolT([]bool{true}, 1), boolT([]bool{true}, 1), "unsupported dtype bool"},
	} {
		_, err := runOp(t, c.op, map[string]any{"T": c.a.DType}, c.a, c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"out"`) {
			t.Errorf("%s: error %v, want one naming the node and %q", c.op, err, c.want)
		}
	}
	for _, op := range []string{"Floor", "Ceil", "Rint"} {
		if _, err := runOp(t, op, map[string]any{"T": classify.Int32}, mathI32([]int32{1}, 1)); err == nil || !strings.Contains(err.Error(), "unsupported dtype int32") {
			t.Errorf("%s of int32: error %v", op, err)
		}
	}
}
