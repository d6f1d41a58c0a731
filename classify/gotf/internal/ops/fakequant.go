package ops

// FakeQuantWithMinMaxArgs, FakeQuantWithMinMaxVars and
// FakeQuantWithMinMaxVarsPerChannel, which quantization-aware training
// leaves in exported inference graphs: each float is clamped to a range
// nudged so that 0 falls on a quantization step, snapped to the nearest of
// the 2^num_bits (one fewer with narrow_range) steps, and returned as a
// float. The float32 steps follow TensorFlow's kernels. A range whose min
// is not below its max is refused: TensorFlow only asserts it in debug
// builds and otherwise divides by a zero or negative step.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("FakeQuantWithMinMaxArgs", buildFakeQuant(0))
	Register("FakeQuantWithMinMaxVars", buildFakeQuant(1))
	Register("FakeQuantWithMinMaxVarsPerChannel", buildFakeQuant(2))
}

type fakeQuantOp struct {
	n              *Node
	form           int // 0 Args, 1 Vars, 2 VarsPerChannel
	qmin, qmax     float32
	argMin, argMax float32
	nudged         fakeQuantRange // of the Args form
}

// fakeQuantRange is a nudged range and its step.
type fakeQuantRange struct{ lo, hi, scale float32 }

func buildFakeQuant(form int) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		want := 3
		if form == 0 {
			want = 1
		}
		if n.NumInputs != want {
			return nil, n.Errorf("want %d inputs, have %d", want, n.NumInputs)
		}
		bits := n.Int("num_bits", 8)
		if bits < 2 || bits > 16 {
			return nil, n.Errorf("num_bits %d, want 2..16", bits)
		}
		o := &fakeQuantOp{n: n, form: form, qmax: float32(int(1)<<bits - 1)}
		if n.Bool("narrow_range", false) {
			o.qmin = 1
		}
		if form == 0 {
			o.argMin, o.argMax = n.Float("min", -6), n.Float("max", 6)
			r, err := o.nudge(o.argMin, o.argMax)
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			o.nudged = r
		}
		return o, nil
	}
}

// nudge moves [min, max] so that real 0 is exactly a step: the zero point
// min maps to is rounded (half away from zero) and clamped to the steps.
func (o *fakeQuantOp) nudge(lo, hi float32) (fakeQuantRange, error) {
	if !(lo < hi) {
		return fakeQuantRange{}, fmt.Errorf("min %v must be below max %v", lo, hi)
	}
	scale := (hi - lo) / (o.qmax - o.qmin)
	zpMin := o.qmin - lo/scale
	var zp float32
	switch {
	case zpMin < o.qmin:
		zp = o.qmin
	case zpMin > o.qmax:
		zp = o.qmax
	default:
		zp = float32(math.Round(float64(zpMin)))
	}
	return fakeQuantRange{lo: (o.qmin - zp) * scale, hi: (o.qmax - zp) * scale, scale: scale}, nil
}

// OutputInfo implements Shaper.
func (o *fakeQuantOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if dt := in[0].DType; dt != classify.Invalid && dt != classify.Float32 {
		return nil, o.n.Errorf("inputs of %v, want float32", dt)
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *fakeQuantOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if x.DType != classify.Float32 {
		return nil, o.n.InputErrorf("inputs of %v, want float32", x.DType)
	}
	y := ctx.Output(0, classify.Float32, x.Shape...)
	src, dst := x.Float32s(), y.Float32s()
	switch o.form {
	case 0:
		// TensorFlow multiplies by the inverse step here, divides in
		// the Vars forms.
		r := o.nudged
		inv := 1 / r.scale
		for i, v := range src {
			// The conversions keep each step rounded to float32 (no
			// fused multiply-add), as TensorFlow's Eigen code does.
			t := float32((min(max(v, r.lo), r.hi) - r.lo) * inv)
			q := float32(math.Floor(float64(t + 0.5)))
			dst[i] = float32(q*r.scale) + r.lo
		}
		return []*classify.Tensor{y}, nil
	case 1:
		lo, hi, err := o.scalars(in[1], in[2])
		if err != nil {
			return nil, err
		}
		r, err := o.nudge(lo, hi)
		if err != nil {
			return nil, o.n.InputErrorf("%v", err)
		}
		fakeQuantDiv(dst, src, r)
		return []*classify.Tensor{y}, nil
	}
	mn, mx := in[1], in[2]
	if len(x.Shape) < 1 {
		return nil, o.n.InputErrorf("inputs must have a channel dimension, is a scalar")
	}
	d := x.Shape[len(x.Shape)-1]
	if mn.DType != classify.Float32 || mx.DType != classify.Float32 || !mn.Shape.Equal(classify.Shape{d}) || !mx.Shape.Equal(classify.Shape{d}) {
		return nil, o.n.InputErrorf("min %v %v and max %v %v must be float32 vectors of the %d channels", mn.DType, mn.Shape, mx.DType, mx.Shape, d)
	}
	rs := make([]fakeQuantRange, d)
	for c := range rs {
		r, err := o.nudge(mn.Float32s()[c], mx.Float32s()[c])
		if err != nil {
			return nil, o.n.InputErrorf("channel %d: %v", c, err)
		}
		rs[c] = r
	}
	for i := 0; i < len(src); i += d {
		for c, r := range rs {
			fakeQuantDiv(dst[i+c:i+c+1], src[i+c:i+c+1], r)
		}
	}
	return []*classify.Tensor{y}, nil
}

func fakeQuantDiv(dst, src []float32, r fakeQuantRange) {
	for i, v := range src {
		t := (min(max(v, r.lo), r.hi) - r.lo) / r.scale
		q := float32(math.Floor(float64(t + 0.5)))
		dst[i] = float32(q*r.scale) + r.lo
	}
}

func (o *fakeQuantOp) scalars(mn, mx *classify.Tensor) (float32, float32, error) {
	if mn.DType != classify.Float32 || mx.DType != classify.Float32 || mn.Len() != 1 || mx.Len() != 1 || len(mn.Shape) > 1 || len(mx.Shape) > 1 {
		return 0, 0, o.n.InputErrorf("min %v %v and max %v %v must be float32 scalars", mn.DType, mn.Shape, mx.DType, mx.Shape)
	}
	return mn.Float32s()[0], mx.Float32s()[0], nil
}
