package ops

// QuantizeAndDequantizeV2, V3 and V4: the quantize-dequantize pairs that
// quantization-aware training and TF-TRT exports leave in a graph. Each
// value is scaled so that the range [min, max] (given, or the input's own
// extremes) fits the integer grid of num_bits while 0 stays on the grid,
// rounded (half to even, or half up), and scaled back, per tensor or per
// slice of axis. The arithmetic is TensorFlow's ComputeQuantizationRange
// and ClampScaleAndRound (quantize_and_dequantize_op.h), in the input's
// own float type.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("QuantizeAndDequantizeV2", buildQDQ)
	Register("QuantizeAndDequantizeV3", buildQDQ)
	Register("QuantizeAndDequantizeV4", buildQDQ)
}

type qdqOp struct {
	n                                  *Node
	v3                                 bool
	signed, rangeGiven, narrow, halfUp bool
	bits                               int // V2/V4; V3 reads an input
	axis                               int
}

func buildQDQ(n *Node, _ []*classify.Tensor) (Op, error) {
	o := &qdqOp{n: n, v3: n.Op == "QuantizeAndDequantizeV3",
		signed: n.Bool("signed_input", true), rangeGiven: n.Bool("range_given", false),
		narrow: n.Bool("narrow_range", false), axis: int(n.Int("axis", -1))}
	want := 3
	if o.v3 {
		want = 4
	} else {
		o.bits = int(n.Int("num_bits", 8))
		if err := o.checkBits(o.bits); err != nil {
			return nil, err
		}
		switch m := n.String("round_mode", "HALF_TO_EVEN"); m {
		case "HALF_TO_EVEN":
		case "HALF_UP":
			o.halfUp = true
		default:
			return nil, n.Errorf("round_mode %q: want HALF_TO_EVEN or HALF_UP", m)
		}
	}
	if n.NumInputs != want {
		return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
	}
	if o.axis < -1 {
		return nil, n.Errorf("axis %d: want -1 or a dimension", o.axis)
	}
	return o, nil
}

func (o *qdqOp) checkBits(b int) error {
	limit := 63
	if o.signed {
		limit = 62
	}
	if b <= 0 || b >= limit {
		return o.n.Errorf("num_bits is out of range: %d with signed_input %v", b, o.signed)
	}
	return nil
}

func (o *qdqOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{in[0]}, nil
}

func (o *qdqOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, lo, hi := in[0], in[1], in[2]
	bits := o.bits
	if o.v3 {
		b, err := arrScalarInt(in[3])
		if err != nil {
			return nil, o.n.InputErrorf("num_bits: %v", err)
		}
		if err := o.checkBits(b); err != nil {
			return nil, err
		}
		bits = b
	}
	if lo.DType != x.DType || hi.DType != x.DType {
		return nil, o.n.InputErrorf("input_min %v and input_max %v must be %v", lo.DType, hi.DType, x.DType)
	}
	outer, ch, inner := 1, 1, x.Len()
	if o.axis >= 0 {
		if o.axis >= len(x.Shape) {
			return nil, o.n.InputErrorf("axis %d requested is larger than input dimensions %d", o.axis, len(x.Shape))
		}
		outer, ch, inner = arrProd(x.Shape[:o.axis]), x.Shape[o.axis], arrProd(x.Shape[o.axis+1:])
	}
	if o.rangeGiven {
		if o.axis < 0 && (lo.Len() != 1 || hi.Len() != 1) {
			return nil, o.n.InputErrorf("input_min %v and input_max %v must be scalars", lo.Shape, hi.Shape)
		}
		if o.axis >= 0 && (lo.Len() != ch || hi.Len() != ch) {
			return nil, o.n.InputErrorf("input_min %v and input_max %v must have %d values, one per slice of axis %d", lo.Shape, hi.Shape, ch, o.axis)
		}
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	var err error
	switch d := out.Data.(type) {
	case []float32:
		err = qdqRun(o, d, x.Float32s(), lo.Float32s(), hi.Float32s(), bits, outer, ch, inner)
	case []float64:
		err = qdqRun(o, d, x.Data.([]float64), lo.Data.([]float64), hi.Data.([]float64), bits, outer, ch, inner)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

func qdqRun[T float32 | float64](o *qdqOp, dst, x, lo, hi []T, bits, outer, ch, inner int) error {
	var qmin, qmax int64
	switch {
	case o.signed && o.narrow:
		qmin, qmax = -(1<<(bits-1))+1, 1<<(bits-1)-1
	case o.signed:
		qmin, qmax = -(1 << (bits - 1)), 1<<(bits-1)-1
	default:
		qmin, qmax = 0, 1<<bits-1
	}
	maxT := T(math.MaxFloat32)
	if _, ok := any(maxT).(float64); ok {
		big := math.MaxFloat64
		maxT = T(big)
	}
	round := func(v T) T { return T(math.RoundToEven(float64(v))) }
	if o.halfUp {
		round = func(v T) T { return T(math.Floor(float64(v) + 0.5)) }
	}
	for c := range ch {
		var mn, mx T
		if o.rangeGiven {
			mn, mx = lo[c], hi[c]
			if !(mn <= mx) {
				return o.n.InputErrorf("invalid range: input_min %v > input_max %v", mn, mx)
			}
		} else {
			first := true
			for a := range outer {
				for _, v := range x[(a*ch+c)*inner : (a*ch+c+1)*inner] {
					if first || v < mn {
						mn = v
					}
					if first || v > mx {
						mx = v
					}
					first = false
				}
			}
		}
		// ComputeQuantizationRange.
		fromMin, fromMax := maxT, maxT
		if T(qmin)*mn > 0 {
			fromMin = T(qmin) / mn
		}
		if T(qmax)*mx > 0 {
			fromMax = T(qmax) / mx
		}
		var scale, inv T
		if fromMin < fromMax {
			scale, inv = fromMin, mn/T(qmin)
			mx = T(qmax) * inv
		} else {
			scale, inv = fromMax, mx/T(qmax)
			mn = T(qmin) * inv
		}
		for a := range outer {
			off := (a*ch + c) * inner
			for i, v := range x[off : off+inner] {
				if o.rangeGiven {
					v = max(min(v, mx), mn)
				}
				dst[off+i] = round(v*scale) * inv
			}
		}
	}
	return nil
}
