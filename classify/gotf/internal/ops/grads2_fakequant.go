package ops

// Gradients of the fake-quantization ops (fakequant.go) that
// quantization-aware training graphs carry, as TensorFlow's
// fake_quant_ops_functor.h: with the range nudged exactly as the forward
// op nudges it,
//
//   - FakeQuantWithMinMaxArgsGradient(gradients, inputs): gradients where
//     nudged_min <= input <= nudged_max, 0 elsewhere (the straight-through
//     estimator).
//   - FakeQuantWithMinMaxVarsGradient(gradients, inputs, min, max) and the
//     PerChannel form (min and max vectors over the last dimension): the
//     same input gradient, plus the sums of the gradients of the inputs
//     below nudged_min (backprop_wrt_min) and above nudged_max
//     (backprop_wrt_max), scalars or one per channel. NaN inputs lie in
//     no range and send nothing.

import (
	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("FakeQuantWithMinMaxArgsGradient", buildFakeQuantGrad(0))
	Register("FakeQuantWithMinMaxVarsGradient", buildFakeQuantGrad(1))
	Register("FakeQuantWithMinMaxVarsPerChannelGradient", buildFakeQuantGrad(2))
}

type fakeQuantGradOp struct {
	fq fakeQuantOp // bits, narrow range and the Args form's nudged range
}

func buildFakeQuantGrad(form int) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		want := 4
		if form == 0 {
			want = 2
		}
		if n.NumInputs != want {
			return nil, n.Errorf("want %d inputs, have %d", want, n.NumInputs)
		}
		// The forward op's attributes, parsed by its own builder.
		fn := *n
		fn.NumInputs = want - 1
		f, err := buildFakeQuant(form)(&fn, nil)
		if err != nil {
			return nil, err
		}
		return &fakeQuantGradOp{fq: *f.(*fakeQuantOp)}, nil
	}
}

// OutputInfo implements Shaper.
func (o *fakeQuantGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	for _, t := range in[:2] {
		if t.DType != classify.Invalid && t.DType != classify.Float32 {
			return nil, o.fq.n.Errorf("inputs of %v, want float32", t.DType)
		}
	}
	s := in[1].Shape
	if s == nil {
		s = in[0].Shape
	}
	dx := classify.TensorInfo{DType: classify.Float32, Shape: s.Clone()}
	switch o.fq.form {
	case 0:
		return []classify.TensorInfo{dx}, nil
	case 1:
		return []classify.TensorInfo{dx, {DType: classify.Float32, Shape: classify.Shape{}}, {DType: classify.Float32, Shape: classify.Shape{}}}, nil
	}
	c := classify.Shape{-1}
	if len(s) > 0 {
		c[0] = s[len(s)-1]
	}
	return []classify.TensorInfo{dx, {DType: classify.Float32, Shape: c}, {DType: classify.Float32, Shape: c.Clone()}}, nil
}

// Run implements Op.
func (o *fakeQuantGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.fq.n
	g, x := in[0], in[1]
	if g.DType != classify.Float32 || x.DType != classify.Float32 || !g.Shape.Equal(x.Shape) || g.Len() != x.Len() || x.Len() != x.Shape.NumElements() {
		return nil, n.InputErrorf("gradients %v %v and inputs %v %v must be float32 of one shape", g.DType, g.Shape, x.DType, x.Shape)
	}
	gd, xd := g.Float32s(), x.Float32s()
	dx := ctx.Output(0, classify.Float32, x.Shape...)
	dd := dx.Float32s()
	var rs []fakeQuantRange
	switch o.fq.form {
	case 0:
		rs = []fakeQuantRange{o.fq.nudged}
	case 1:
		lo, hi, err := o.fq.scalars(in[2], in[3])
		if err != nil {
			return nil, err
		}
		r, err := o.fq.nudge(lo, hi)
		if err != nil {
			return nil, n.InputErrorf("%v", err)
		}
		rs = []fakeQuantRange{r}
	case 2:
		if len(x.Shape) < 1 {
			return nil, n.InputErrorf("inputs must have a channel dimension, is a scalar")
		}
		d := x.Shape[len(x.Shape)-1]
		mn, mx := in[2], in[3]
		if mn.DType != classify.Float32 || mx.DType != classify.Float32 || !mn.Shape.Equal(classify.Shape{d}) || !mx.Shape.Equal(classify.Shape{d}) || mn.Len() != d || mx.Len() != d {
			return nil, n.InputErrorf("min %v %v and max %v %v must be float32 vectors of the %d channels", mn.DType, mn.Shape, mx.DType, mx.Shape, d)
		}
		rs = make([]fakeQuantRange, d)
		for c := range rs {
			r, err := o.fq.nudge(mn.Float32s()[c], mx.Float32s()[c])
			if err != nil {
				return nil, n.InputErrorf("channel %d: %v", c, err)
			}
			rs[c] = r
		}
	}
	// Sums in float64, rounded once.
	below, above := make([]float64, len(rs)), make([]float64, len(rs))
	for i, v := range xd {
		c := i % len(rs)
		r := rs[c]
		switch {
		case v >= r.lo && v <= r.hi:
			dd[i] = gd[i]
		case v < r.lo:
			dd[i] = 0
			below[c] += float64(gd[i])
		case v > r.hi:
			dd[i] = 0
			above[c] += float64(gd[i])
		default: // NaN
			dd[i] = 0
		}
	}
	if o.fq.form == 0 {
		return []*classify.Tensor{dx}, nil
	}
	var shape []int
	if o.fq.form == 2 {
		shape = []int{len(rs)}
	}
	bmin, bmax := ctx.Output(1, classify.Float32, shape...), ctx.Output(2, classify.Float32, shape...)
	for c := range rs {
		bmin.Float32s()[c], bmax.Float32s()[c] = float32(below[c]), float32(above[c])
	}
	return []*classify.Tensor{dx, bmin, bmax}, nil
}
