package ops

import (
	"github.com/classifyd/classifyd/classify"
)

// CompareAndBitpack (compare_and_bitpack_op.cc) packs input > threshold
// into uint8, eight elements of the innermost dimension per byte, the
// first in the most significant bit. For bool input the threshold is
// ignored and each element is its own bit. TensorFlow registers it for
// every real number type and bool: the comparison is the Greater kernel's
// (cmpVS), float16/bfloat16 and the narrow integers promote to float32 and
// int64 as Greater does (exact for an order), and uint64, which int64 bit
// patterns do not order, compares in its own type.

func init() {
	Register("CompareAndBitpack", buildCompareAndBitpack)
	promote("CompareAndBitpack", "T", []int{}, classify.Float16, classify.BFloat16,
		classify.Int8, classify.Int16, classify.Uint16, classify.Uint32)
	allowDTypes("CompareAndBitpack", classify.Uint64)
}

func buildCompareAndBitpack(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (input, threshold), has %d", n.NumInputs)
	}
	return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
		x, th := in[0], in[1]
		switch {
		case x.DType != th.DType:
			return nil, n.InputErrorf("input is %v but threshold is %v", x.DType, th.DType)
		case len(th.Shape) != 0:
			return nil, n.InputErrorf("threshold must be a scalar, got shape %v", th.Shape)
		case len(x.Shape) == 0:
			return nil, n.InputErrorf("input must be at least a vector, got a scalar")
		case x.Shape[len(x.Shape)-1]%8 != 0:
			return nil, n.InputErrorf("inner dimension of input must be divisible by 8, got shape %v", x.Shape)
		}
		shape := x.Shape.Clone()
		shape[len(shape)-1] /= 8
		out := ctx.Output(0, classify.Uint8, shape...)
		o := out.Data.([]uint8)
		switch d := x.Data.(type) {
		case []bool:
			for i := range o {
				o[i] = packBits(d[8*i : 8*i+8])
			}
		case []float32:
			bitpackGreater(o, d, th.Data)
		case []float64:
			bitpackGreater(o, d, th.Data)
		case []int32:
			bitpackGreater(o, d, th.Data)
		case []int64:
			bitpackGreater(o, d, th.Data)
		case []uint8:
			bitpackGreater(o, d, th.Data)
		case []uint64:
			bitpackGreater(o, d, th.Data)
		default:
			return nil, n.InputErrorf("unsupported dtype %v", x.DType)
		}
		return []*classify.Tensor{out}, nil
	}), nil
}

// bitpackGreater packs d > threshold (thr is the threshold tensor's data,
// of d's type), eight elements per byte.
func bitpackGreater[T cmpElem](o []uint8, d []T, thr any) {
	t := thr.([]T)[0]
	var b [8]bool
	for i := range o {
		cmpVS(cmpGt, b[:], d[8*i:8*i+8], t)
		o[i] = packBits(b[:])
	}
}

// packBits is eight bools as one byte, b[0] in the most significant bit.
func packBits(b []bool) uint8 {
	var v uint8
	for _, x := range b[:8] {
		v <<= 1
		if x {
			v |= 1
		}
	}
	return v
}
