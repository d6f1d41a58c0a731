package ops

// An independent reference for the dtypes the oracle (TensorFlow.js)
// lacks: element values as exact numbers (math/big integers, float64 for
// every float type, which holds them all exactly), IEEE rounding to the
// narrow float formats by float64 arithmetic, and integer wraparound by
// math/big. The Cast, arithmetic and comparison tests check the kernels
// against it.

import (
	"fmt"
	"math"
	"math/big"

	"github.com/classifyd/classifyd/classify"
)

// refVal is one element's exact value.
type refVal struct {
	isBool, isFloat bool
	b               bool
	i               *big.Int // integers
	f               float64  // floats
}

var intDTypes = map[classify.DType]struct {
	bits   uint
	signed bool
}{
	classify.Int8: {8, true}, classify.Int16: {16, true}, classify.Int32: {32, true}, classify.Int64: {64, true},
	classify.Uint8: {8, false}, classify.Uint16: {16, false}, classify.Uint32: {32, false}, classify.Uint64: {64, false},
}

func isFloatDType(dt classify.DType) bool {
	switch dt {
	case classify.Float16, classify.BFloat16, classify.Float32, classify.Float64:
		return true
	}
	return false
}

// refElem reads element i of t.
func refElem(t *classify.Tensor, i int) refVal {
	switch d := t.Data.(type) {
	case []bool:
		return refVal{isBool: true, b: d[i]}
	case []classify.F16:
		return refVal{isFloat: true, f: float64(d[i].Float32())}
	case []classify.BF16:
		return refVal{isFloat: true, f: float64(d[i].Float32())}
	case []float32:
		return refVal{isFloat: true, f: float64(d[i])}
	case []float64:
		return refVal{isFloat: true, f: d[i]}
	case []int8:
		return refVal{i: big.NewInt(int64(d[i]))}
	case []int16:
		return refVal{i: big.NewInt(int64(d[i]))}
	case []int32:
		return refVal{i: big.NewInt(int64(d[i]))}
	case []int64:
		return refVal{i: big.NewInt(d[i])}
	case []uint8:
		return refVal{i: big.NewInt(int64(d[i]))}
	case []uint16:
		return refVal{i: big.NewInt(int64(d[i]))}
	case []uint32:
		return refVal{i: big.NewInt(int64(d[i]))}
	case []uint64:
		return refVal{i: new(big.Int).SetUint64(d[i])}
	}
	panic(fmt.Sprintf("elem: %T", t.Data))
}

// refWrap reduces x modulo 2^bits into the range of the integer dtype.
func refWrap(x *big.Int, dt classify.DType) *big.Int {
	k := intDTypes[dt]
	m := new(big.Int).Lsh(big.NewInt(1), k.bits)
	r := new(big.Int).Mod(x, m)
	if k.signed && r.Cmp(new(big.Int).Rsh(m, 1)) >= 0 {
		r.Sub(r, m)
	}
	return r
}

// refInRange reports whether x fits the integer dtype.
func refInRange(x *big.Int, dt classify.DType) bool { return refWrap(x, dt).Cmp(x) == 0 }

// refRoundFloat rounds x to a binary format of mant stored mantissa bits,
// smallest normal exponent emin and largest finite value maxf, to nearest
// even.
func refRoundFloat(x float64, mant, emin int, maxf float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return x
	}
	a := math.Abs(x)
	_, e := math.Frexp(a)
	e = max(e-1, emin)
	q := math.Ldexp(1, e-mant)
	r := math.RoundToEven(a/q) * q
	if r > maxf {
		r = math.Inf(1)
	}
	return math.Copysign(r, x)
}

// refToFloat is the value a float dtype holds for the real value x that
// was first rounded to float32 (for the 16-bit formats, as Eigen does) or
// float64.
func refToFloat(x float64, dt classify.DType) float64 {
	switch dt {
	case classify.Float64:
		return x
	case classify.Float32:
		return float64(float32(x))
	case classify.Float16:
		return refRoundFloat(float64(float32(x)), 10, -14, 65504)
	case classify.BFloat16:
		return refRoundFloat(float64(float32(x)), 7, -126, float64(math.Float32frombits(0x7f7f0000)))
	}
	panic(dt)
}

// refIntToFloat rounds the integer x to dt: to nearest even in one step for
// float32 and float64; for the 16-bit formats through float32.
func refIntToFloat(x *big.Int, dt classify.DType) float64 {
	f := new(big.Float).SetInt(x)
	if dt == classify.Float64 {
		v, _ := f.Float64()
		return v
	}
	v, _ := f.Float32()
	return refToFloat(float64(v), dt)
}

// refCast is TensorFlow's Cast of v to dt; ok is false where C++ leaves
// the result undefined (a float out of the range the x86 conversion
// handles), which the caller skips.
func refCast(v refVal, dt classify.DType) (r refVal, ok bool) {
	switch {
	case dt == classify.Bool:
		switch {
		case v.isBool:
			return v, true
		case v.isFloat:
			return refVal{isBool: true, b: v.f != 0}, true
		}
		return refVal{isBool: true, b: v.i.Sign() != 0}, true
	case isFloatDType(dt):
		switch {
		case v.isBool:
			return refVal{isFloat: true, f: b2f(v.b)}, true
		case v.isFloat:
			return refVal{isFloat: true, f: refToFloat(v.f, dt)}, true
		}
		return refVal{isFloat: true, f: refIntToFloat(v.i, dt)}, true
	}
	switch {
	case v.isBool:
		return refVal{i: big.NewInt(int64(b2f(v.b)))}, true
	case !v.isFloat:
		return refVal{i: refWrap(v.i, dt)}, true
	}
	if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
		return r, false
	}
	t, _ := new(big.Float).SetFloat64(math.Trunc(v.f)).Int(nil)
	// The conversion the x86 kernel goes through must hold the value.
	via := dt
	switch dt {
	case classify.Int8, classify.Int16, classify.Uint8, classify.Uint16:
		via = classify.Int32
	case classify.Uint32:
		via = classify.Int64
	}
	if !refInRange(t, via) {
		return r, false
	}
	return refVal{i: refWrap(t, dt)}, true
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// refEqual compares an element with its reference: floats by value
// (NaN equals NaN, and the sign of zero counts).
func refEqual(got, want refVal) bool {
	switch {
	case want.isBool:
		return got.isBool && got.b == want.b
	case want.isFloat:
		if math.IsNaN(want.f) {
			return math.IsNaN(got.f)
		}
		return got.isFloat && got.f == want.f && math.Signbit(got.f) == math.Signbit(want.f)
	}
	return !got.isFloat && !got.isBool && got.i.Cmp(want.i) == 0
}

func (v refVal) String() string {
	switch {
	case v.isBool:
		return fmt.Sprint(v.b)
	case v.isFloat:
		return fmt.Sprint(v.f)
	}
	return v.i.String()
}

// realDTypes are the dtypes Cast and the arithmetic tests sweep.
var realDTypes = []classify.DType{
	classify.Bool, classify.Float16, classify.BFloat16, classify.Float32, classify.Float64,
	classify.Int8, classify.Int16, classify.Int32, classify.Int64,
	classify.Uint8, classify.Uint16, classify.Uint32, classify.Uint64,
}

// refTensor builds a 1-D tensor of dt from exact values, skipping those
// the dtype cannot hold exactly (so every element is what it says).
func refTensor(dt classify.DType, vals []refVal) *classify.Tensor {
	t := classify.NewTensor(dt, 0)
	var n int
	add := func(v refVal) {
		switch d := t.Data.(type) {
		case []bool:
			t.Data = append(d, v.b)
		case []classify.F16:
			t.Data = append(d, classify.F16FromFloat64(v.f))
		case []classify.BF16:
			t.Data = append(d, classify.BF16FromFloat64(v.f))
		case []float32:
			t.Data = append(d, float32(v.f))
		case []float64:
			t.Data = append(d, v.f)
		case []int8:
			t.Data = append(d, int8(v.i.Int64()))
		case []int16:
			t.Data = append(d, int16(v.i.Int64()))
		case []int32:
			t.Data = append(d, int32(v.i.Int64()))
		case []int64:
			t.Data = append(d, v.i.Int64())
		case []uint8:
			t.Data = append(d, uint8(v.i.Uint64()))
		case []uint16:
			t.Data = append(d, uint16(v.i.Uint64()))
		case []uint32:
			t.Data = append(d, uint32(v.i.Uint64()))
		case []uint64:
			t.Data = append(d, v.i.Uint64())
		}
		n++
	}
	for _, v := range vals {
		switch {
		case dt == classify.Bool:
			if v.isBool {
				add(v)
			}
		case isFloatDType(dt):
			if v.isFloat && (math.IsNaN(v.f) || refToFloat(v.f, dt) == v.f) {
				add(v)
			}
		default:
			if !v.isFloat && !v.isBool && refInRange(v.i, dt) {
				add(v)
			}
		}
	}
	t.Shape = classify.Shape{n}
	return t
}

// refSamples are edge values of every dtype: extremes, their neighbours,
// powers of two and their neighbours, ties for rounding, the 16-bit
// floats' limits, NaN and infinities.
func refSamples() []refVal {
	var vs []refVal
	vs = append(vs, refVal{isBool: true}, refVal{isBool: true, b: true})
	ints := []*big.Int{}
	for k := uint(0); k <= 64; k++ {
		p := new(big.Int).Lsh(big.NewInt(1), k)
		for _, d := range []int64{-1, 0, 1} {
			x := new(big.Int).Add(p, big.NewInt(d))
			ints = append(ints, x, new(big.Int).Neg(x))
		}
	}
	ints = append(ints, big.NewInt(0), big.NewInt(100), big.NewInt(-100), big.NewInt(12345), big.NewInt(-54321))
	for _, x := range ints {
		vs = append(vs, refVal{i: x})
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 0.5, 1.5, 2.5, -2.5, -0.7, 0.1, 1.0 / 3, 1e-8, 6e-8, 3e-5,
		127.9, 128, 255.5, 256, 300, -129.5, 32767.9, 65504, 65519, 65520, 65535.9, 1e5, 2147483647.5, 4294967295.5,
		-2147483648.9, 9.2e18, 1.8e19, 3.4e38, 1e300, -1e300, 5e-324,
		math.NaN(), math.Inf(1), math.Inf(-1)} {
		vs = append(vs, refVal{isFloat: true, f: f}, refVal{isFloat: true, f: -f})
	}
	return vs
}

// allHalves is every bit pattern of a 16-bit float dtype.
func allHalves(dt classify.DType) *classify.Tensor {
	t := classify.NewTensor(dt, 1<<16)
	switch d := t.Data.(type) {
	case []classify.F16:
		for i := range d {
			d[i] = classify.F16(i)
		}
	case []classify.BF16:
		for i := range d {
			d[i] = classify.BF16(i)
		}
	}
	return t
}
