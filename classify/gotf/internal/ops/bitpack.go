package ops

import (
	"cmp"

	"github.com/classifyd/classifyd/classify"
)

// CompareAndBitpack (compare_and_bitpack_op.cc) packs input > threshold
// into uint8, eight elements of the innermost dimension per byte, the
// first in the most significant bit. For bool input the threshold is
// ignored and each element is its own bit. TensorFlow registers it for
// every real number type and bool.

func init() {
	Register("CompareAndBitpack", buildCompareAndBitpack)
	allowDTypes("CompareAndBitpack", allNewDTypes...)
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
			bitpack(o, d, func(v bool) bool { return v })
		case []float32:
			bitpackGreater(o, d, th.Data.([]float32)[0])
		case []float64:
			bitpackGreater(o, d, th.Data.([]float64)[0])
		case []int32:
			bitpackGreater(o, d, th.Data.([]int32)[0])
		case []int64:
			bitpackGreater(o, d, th.Data.([]int64)[0])
		case []uint8:
			bitpackGreater(o, d, th.Data.([]uint8)[0])
		case []int8:
			bitpackGreater(o, d, th.Data.([]int8)[0])
		case []int16:
			bitpackGreater(o, d, th.Data.([]int16)[0])
		case []uint16:
			bitpackGreater(o, d, th.Data.([]uint16)[0])
		case []uint32:
			bitpackGreater(o, d, th.Data.([]uint32)[0])
		case []uint64:
			bitpackGreater(o, d, th.Data.([]uint64)[0])
		case []classify.F16:
			t := th.Data.([]classify.F16)[0].Float32()
			bitpack(o, d, func(v classify.F16) bool { return v.Float32() > t })
		case []classify.BF16:
			t := th.Data.([]classify.BF16)[0].Float32()
			bitpack(o, d, func(v classify.BF16) bool { return v.Float32() > t })
		default:
			return nil, n.InputErrorf("unsupported dtype %v", x.DType)
		}
		return []*classify.Tensor{out}, nil
	}), nil
}

func bitpackGreater[T cmp.Ordered](o []uint8, d []T, t T) {
	bitpack(o, d, func(v T) bool { return v > t })
}

// bitpack sets o[i]'s bit 7-j to bit(d[8i+j]).
func bitpack[T any](o []uint8, d []T, bit func(T) bool) {
	for i := range o {
		var b uint8
		for _, v := range d[8*i : 8*i+8] {
			b <<= 1
			if bit(v) {
				b |= 1
			}
		}
		o[i] = b
	}
}
