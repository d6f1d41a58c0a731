package ops

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

// RaggedRange (ragged_range_op.cc) is one Range per row: starts, limits and
// deltas are scalars (broadcast) or vectors of one length; the outputs are
// the row splits (Tsplits, int32 or int64) and the concatenated values.
// Unlike Range, a row whose delta points away from its limit is empty, not
// an error; delta 0 is an error. Lengths and values are computed as Range
// computes them (a running sum in the element type).

func init() {
	Register("RaggedRange", buildRaggedRange)
}

func buildRaggedRange(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs (starts, limits, deltas), has %d", n.NumInputs)
	}
	splits := n.Type("Tsplits")
	if splits == classify.Invalid {
		splits = classify.Int64 // the op's default
	}
	if splits != classify.Int32 && splits != classify.Int64 {
		return nil, n.Errorf("Tsplits %v must be int32 or int64", splits)
	}
	return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
		rows := -1
		for i, t := range in {
			if t.DType != in[0].DType {
				return nil, n.InputErrorf("starts, limits and deltas have dtypes %v, %v, %v", in[0].DType, in[1].DType, in[2].DType)
			}
			switch {
			case len(t.Shape) > 1:
				return nil, n.InputErrorf("%s must be a scalar or vector, got shape %v", []string{"starts", "limits", "deltas"}[i], t.Shape)
			case len(t.Shape) == 1 && rows >= 0 && t.Shape[0] != rows:
				return nil, n.InputErrorf("starts, limits and deltas must have the same shape, got %v, %v, %v", in[0].Shape, in[1].Shape, in[2].Shape)
			case len(t.Shape) == 1:
				rows = t.Shape[0]
			}
		}
		if rows < 0 {
			rows = 1
		}
		var vals *classify.Tensor
		var sp []int
		var err error
		switch in[0].Data.(type) {
		case []int32:
			sp, vals, err = raggedRange(ctx, in[0].DType, rows, in[0].Int32s(), in[1].Int32s(), in[2].Int32s(), arrRangeIntSize)
		case []int64:
			sp, vals, err = raggedRange(ctx, in[0].DType, rows, in[0].Int64s(), in[1].Int64s(), in[2].Int64s(), arrRangeIntSize)
		case []float32:
			sp, vals, err = raggedRange(ctx, in[0].DType, rows, in[0].Float32s(), in[1].Float32s(), in[2].Float32s(), arrRangeFloatSize)
		case []float64:
			sp, vals, err = raggedRange(ctx, in[0].DType, rows, in[0].Data.([]float64), in[1].Data.([]float64), in[2].Data.([]float64), arrRangeFloatSize)
		default:
			return nil, n.InputErrorf("unsupported dtype %v (float32, float64, int32 or int64)", in[0].DType)
		}
		if err != nil {
			return nil, n.InputErrorf("%v", err)
		}
		st := ctx.Output(0, splits, rows+1)
		switch d := st.Data.(type) {
		case []int32:
			for i, v := range sp {
				d[i] = int32(v)
			}
		case []int64:
			for i, v := range sp {
				d[i] = int64(v)
			}
		}
		return []*classify.Tensor{st, vals}, nil
	}), nil
}

// raggedRange computes the row splits, bounded by the engine's element
// limit before the values are allocated, then the values.
func raggedRange[T int32 | int64 | float32 | float64](ctx *Ctx, dt classify.DType, rows int, starts, limits, deltas []T, size func(T, T, T) float64) ([]int, *classify.Tensor, error) {
	at := func(d []T, i int) T { // a scalar is broadcast
		if len(d) == 1 {
			return d[0]
		}
		return d[i]
	}
	sp := make([]int, rows+1)
	for r := range rows {
		start, limit, delta := at(starts, r), at(limits, r), at(deltas, r)
		if delta == 0 {
			return nil, nil, fmt.Errorf("row %d: delta must not be 0", r)
		}
		var k float64
		if !(delta > 0 && limit < start || delta < 0 && limit > start) {
			k = size(start, limit, delta)
		}
		if k > float64(arrMaxElements-sp[r]) || k != k {
			return nil, nil, fmt.Errorf("the ranges exceed the %d elements this engine allows", arrMaxElements)
		}
		sp[r+1] = sp[r] + int(k)
	}
	out := ctx.Output(1, dt, sp[rows])
	d := out.Data.([]T)
	for r := range rows {
		v, delta := at(starts, r), at(deltas, r)
		for i := sp[r]; i < sp[r+1]; i++ {
			d[i] = v
			v += delta
		}
	}
	return sp, out, nil
}
