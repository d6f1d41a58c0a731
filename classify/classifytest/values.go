package classifytest

import "github.com/classifyd/classifyd/classify"

// Float64s returns t's elements as float64, for comparing tensors of any
// numeric dtype with a tolerance: 16-bit floats widen exactly, bools are 0
// and 1, and uint64/int64 values above 2^53 lose bits (compare their data
// itself where that matters). It is nil for a dtype with no numeric value
// (string, variant) and empty, not nil, for an empty tensor.
func Float64s(t *classify.Tensor) []float64 {
	switch d := t.Data.(type) {
	case []float32:
		return widen(d)
	case []float64:
		return append([]float64{}, d...)
	case []int32:
		return widen(d)
	case []int64:
		return widen(d)
	case []uint8:
		return widen(d)
	case []int8:
		return widen(d)
	case []int16:
		return widen(d)
	case []uint16:
		return widen(d)
	case []uint32:
		return widen(d)
	case []uint64:
		return widen(d)
	case []classify.F16:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
		return out
	case []classify.BF16:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
		return out
	case []bool:
		out := make([]float64, len(d))
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
		return out
	}
	return nil
}

func widen[T float32 | int32 | int64 | uint8 | int8 | int16 | uint16 | uint32 | uint64](d []T) []float64 {
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}
