package classify

import "math"

// F16 is an IEEE 754 binary16 value (Float16 tensors, TensorFlow's
// DT_HALF) held as its bit pattern: 1 sign bit, 5 exponent bits, 10
// mantissa bits. Arithmetic on it is done in float32 and rounded back,
// which is what TensorFlow's Eigen::half does after every operation.
type F16 uint16

// BF16 is a bfloat16 value (BFloat16 tensors, DT_BFLOAT16) held as its bit
// pattern: the upper 16 bits of a float32.
type BF16 uint16

// Float32 converts h exactly (every binary16 value is a float32 value).
func (h F16) Float32() float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		// Zero or subnormal: mant * 2^-24, exact in float32.
		f := float32(mant) * 0x1p-24
		return math.Float32frombits(math.Float32bits(f) | sign)
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// F16FromFloat32 rounds f to the nearest binary16 value, ties to even, as
// Eigen's float_to_half_rtne: magnitudes from 65520 up become infinity,
// NaN becomes the quiet NaN 0x7e00 (sign kept, payload dropped).
func F16FromFloat32(f float32) F16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	b &^= 0x80000000
	switch {
	case b > 0x7f800000: // NaN
		return F16(sign | 0x7e00)
	case b >= 0x47800000: // >= 2^16, infinity included
		return F16(sign | 0x7c00)
	case b < 0x38800000: // below 2^-14: subnormal or zero
		// Adding 0.5 puts the value's 2^-24 units in the low mantissa
		// bits, and float32 addition does the rounding to nearest even.
		const magic = 0.5
		r := math.Float32frombits(b) + magic
		return F16(sign | uint16(math.Float32bits(r)-math.Float32bits(magic)))
	}
	// Normal: rebias the exponent and round the 13 dropped mantissa bits
	// to nearest even; a carry out of the mantissa bumps the exponent,
	// up to infinity for 65520 and above.
	odd := (b >> 13) & 1
	b = b - (127-15)<<23 + 0xfff + odd
	return F16(sign | uint16(b>>13))
}

// F16FromFloat64 converts through float32, as Eigen::half(double) does (so
// a value may be rounded twice, exactly as TensorFlow rounds it).
func F16FromFloat64(f float64) F16 { return F16FromFloat32(float32(f)) }

// Float32 converts b exactly.
func (b BF16) Float32() float32 { return math.Float32frombits(uint32(b) << 16) }

// BF16FromFloat32 rounds f to the nearest bfloat16, ties to even, as
// Eigen's float_to_bfloat16_rtne; NaN becomes the quiet NaN 0x7fc0 (sign
// kept).
func BF16FromFloat32(f float32) BF16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return BF16(uint16(b>>16)&0x8000 | 0x7fc0)
	}
	b += 0x7fff + (b>>16)&1
	return BF16(b >> 16)
}

// BF16FromFloat64 converts through float32, as Eigen::bfloat16(double).
func BF16FromFloat64(f float64) BF16 { return BF16FromFloat32(float32(f)) }
