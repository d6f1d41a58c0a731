package ops

// The bitwise ops on every integer dtype TensorFlow's CPU kernels register
// (int8, int16, int32, int64, uint8, uint16, uint32, uint64), each in its
// own width (no promotion: Invert, the shifts and PopulationCount depend on
// it):
//
//	BitwiseAnd, BitwiseOr, BitwiseXor  broadcasting
//	LeftShift, RightShift              broadcasting; the shift amount is
//	                                   clamped to [0, bits-1] as TensorFlow
//	                                   does, so x << 100 is x << (bits-1);
//	                                   left shifts wrap, right shifts of
//	                                   signed types are arithmetic
//	Invert                             ~x
//	PopulationCount                    set bits of each element, uint8

import (
	"math/bits"

	"github.com/classifyd/classifyd/classify"
)

type bitInt interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// bitWidth is the number of bits of T.
func bitWidth[T bitInt]() uint {
	switch any(T(0)).(type) {
	case int8, uint8:
		return 8
	case int16, uint16:
		return 16
	case int32, uint32:
		return 32
	}
	return 64
}

// clampShift is TensorFlow's clamp of a shift amount to [0, bits-1].
func clampShift[T bitInt](y T) uint {
	if y < 0 {
		return 0
	}
	return min(uint(uint64(y)), bitWidth[T]()-1)
}

func leftShift[T bitInt](x, y T) T  { return x << clampShift(y) }
func rightShift[T bitInt](x, y T) T { return x >> clampShift(y) }

// bitMap builds the spec of a binary bitwise op from its generic function.
func bitMap(f8 func(x, y int8) int8, f16 func(x, y int16) int16, f32 func(x, y int32) int32, f64 func(x, y int64) int64,
	u8 func(x, y uint8) uint8, u16 func(x, y uint16) uint16, u32 func(x, y uint32) uint32, u64 func(x, y uint64) uint64) *mapSpec {
	return &mapSpec{kern: map[classify.DType]mapKernel{
		classify.Int8: mapFn(f8), classify.Int16: mapFn(f16), classify.Int32: mapFn(f32), classify.Int64: mapFn(f64),
		classify.Uint8: mapFn(u8), classify.Uint16: mapFn(u16), classify.Uint32: mapFn(u32), classify.Uint64: mapFn(u64),
	}, typeAttr: "T"}
}

func bitAnd[T bitInt](x, y T) T { return x & y }
func bitOr[T bitInt](x, y T) T  { return x | y }
func bitXor[T bitInt](x, y T) T { return x ^ y }

func invert[T bitInt](x T) T { return ^x }

// popCount counts the set bits of x in its own width (a negative int8
// has at most 8).
func popCount[T bitInt](x T) uint8 {
	v := uint64(x)
	if w := bitWidth[T](); w < 64 {
		v &= 1<<w - 1
	}
	return uint8(bits.OnesCount64(v))
}

// bitGated are the gated integer dtypes these ops declare.
var bitGated = []classify.DType{classify.Int8, classify.Int16, classify.Uint16, classify.Uint32, classify.Uint64}

func init() {
	type gen = func() *mapSpec
	for name, mk := range map[string]gen{
		"BitwiseAnd": func() *mapSpec {
			return bitMap(bitAnd[int8], bitAnd[int16], bitAnd[int32], bitAnd[int64], bitAnd[uint8], bitAnd[uint16], bitAnd[uint32], bitAnd[uint64])
		},
		"BitwiseOr": func() *mapSpec {
			return bitMap(bitOr[int8], bitOr[int16], bitOr[int32], bitOr[int64], bitOr[uint8], bitOr[uint16], bitOr[uint32], bitOr[uint64])
		},
		"BitwiseXor": func() *mapSpec {
			return bitMap(bitXor[int8], bitXor[int16], bitXor[int32], bitXor[int64], bitXor[uint8], bitXor[uint16], bitXor[uint32], bitXor[uint64])
		},
		"LeftShift": func() *mapSpec {
			return bitMap(leftShift[int8], leftShift[int16], leftShift[int32], leftShift[int64], leftShift[uint8], leftShift[uint16], leftShift[uint32], leftShift[uint64])
		},
		"RightShift": func() *mapSpec {
			return bitMap(rightShift[int8], rightShift[int16], rightShift[int32], rightShift[int64], rightShift[uint8], rightShift[uint16], rightShift[uint32], rightShift[uint64])
		},
	} {
		Register(name, newMap(mk()))
		allowDTypes(name, bitGated...)
	}
	Register("Invert", newUnMap(&unMapSpec{kern: map[classify.DType]unMapKernel{
		classify.Int8: unFn(invert[int8]), classify.Int16: unFn(invert[int16]), classify.Int32: unFn(invert[int32]), classify.Int64: unFn(invert[int64]),
		classify.Uint8: unFn(invert[uint8]), classify.Uint16: unFn(invert[uint16]), classify.Uint32: unFn(invert[uint32]), classify.Uint64: unFn(invert[uint64]),
	}, typeAttr: "T"}))
	allowDTypes("Invert", bitGated...)
	Register("PopulationCount", newUnMap(&unMapSpec{kern: map[classify.DType]unMapKernel{
		classify.Int8: unFn(popCount[int8]), classify.Int16: unFn(popCount[int16]), classify.Int32: unFn(popCount[int32]), classify.Int64: unFn(popCount[int64]),
		classify.Uint8: unFn(popCount[uint8]), classify.Uint16: unFn(popCount[uint16]), classify.Uint32: unFn(popCount[uint32]), classify.Uint64: unFn(popCount[uint64]),
	}, out: classify.Uint8, typeAttr: "T"}))
	allowDTypes("PopulationCount", bitGated...)
}
