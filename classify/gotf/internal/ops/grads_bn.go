package ops

// FusedBatchNormGrad, FusedBatchNormGradV2 and FusedBatchNormGradV3, after
// TensorFlow's CPU kernel (fused_batch_norm_op.cc). Inputs y_backprop and x
// (T, 4-D or 5-D, of one shape), scale, reserve_space_1 and reserve_space_2
// (float32 vectors of the channel count: the batch mean and population
// variance of the forward pass when training, the population statistics
// otherwise); V3's reserve_space_3 is not read. Per channel, with
// r = 1/sqrt(variance + epsilon) and n elements:
//
//	is_training: x_backprop = scale*r*((dy - Σdy/n) - (x-mean)*r²*Σ(dy*(x-mean))/n)
//	otherwise:   x_backprop = dy*scale*r
//	scale_backprop = Σ dy*(x-mean)*r, offset_backprop = Σ dy
//
// The last two outputs are empty float32 vectors, as TensorFlow's. As
// there, is_training=false takes channels-last layouts only. Sums are in
// float64.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for _, op := range []string{"FusedBatchNormGrad", "FusedBatchNormGradV2", "FusedBatchNormGradV3"} {
		Register(op, buildFBNGrad)
		promote(op, "T", []int{0}, halfDTypes...)
	}
}

type fbnGradOp struct {
	n         *Node
	eps       float64
	training  bool
	chanFirst bool
}

func buildFBNGrad(n *Node, _ []*classify.Tensor) (Op, error) {
	want := 5
	if n.Op == "FusedBatchNormGradV3" {
		want = 6
	}
	if n.NumInputs != want {
		return nil, n.Errorf("want %d inputs, have %d", want, n.NumInputs)
	}
	if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, n.Errorf("unsupported T %v (float32, float64)", dt)
	}
	if dt := n.Type("U"); dt != classify.Invalid && dt != classify.Float32 {
		return nil, n.Errorf("unsupported U %v (float32)", dt)
	}
	o := &fbnGradOp{n: n, eps: float64(n.Float("epsilon", 0.0001)), training: n.Bool("is_training", true)}
	switch f := n.String("data_format", "NHWC"); f {
	case "NHWC", "NDHWC":
	case "NCHW", "NCDHW":
		o.chanFirst = true
	default:
		return nil, n.Errorf("data_format %q not supported", f)
	}
	if !(o.eps >= 0) {
		return nil, n.Errorf("epsilon %v must be >= 0", o.eps)
	}
	if !o.training && o.chanFirst {
		return nil, n.Errorf("is_training=false supports only NHWC (as TensorFlow's CPU kernel), not %s", n.String("data_format", ""))
	}
	return o, nil
}

// OutputInfo implements Shaper.
func (o *fbnGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[1].DType
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	x := in[1].Shape
	if x != nil && len(x) != 4 && len(x) != 5 {
		return nil, o.n.Errorf("x must be 4 or 5-dimensional, got %v", x)
	}
	c := in[2].Shape.Clone()
	if c == nil {
		c = arrUnknown(1)
	}
	f32 := classify.Float32
	return []classify.TensorInfo{{DType: dt, Shape: x.Clone()}, {DType: f32, Shape: c}, {DType: f32, Shape: c.Clone()},
		{DType: f32, Shape: classify.Shape{0}}, {DType: f32, Shape: classify.Shape{0}}}, nil
}

// Run implements Op.
func (o *fbnGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	dy, x := in[0], in[1]
	if x.DType != classify.Float32 && x.DType != classify.Float64 {
		return nil, n.InputErrorf("x is %v, want float32 or float64", x.DType)
	}
	if dy.DType != x.DType {
		return nil, n.InputErrorf("y_backprop is %v and x %v: want one dtype", dy.DType, x.DType)
	}
	if len(x.Shape) != 4 && len(x.Shape) != 5 {
		return nil, n.InputErrorf("input must be 4 or 5-dimensional, got %v", x.Shape)
	}
	if !x.Shape.Equal(dy.Shape) || x.Len() != x.Shape.NumElements() || dy.Len() != x.Len() {
		return nil, n.InputErrorf("x and y_backprop must have same shape, but x has shape %v and y_backprop has shape %v", x.Shape, dy.Shape)
	}
	ax := len(x.Shape) - 1
	if o.chanFirst {
		ax = 1
	}
	c := x.Shape[ax]
	outer, inner := arrProd(x.Shape[:ax]), arrProd(x.Shape[ax+1:])
	var vecs [3][]float32
	for i, name := range []string{"scale", "reserve_space_1", "reserve_space_2"} {
		t := in[2+i]
		if t.DType != classify.Float32 || len(t.Shape) != 1 || t.Shape[0] != c || len(t.Float32s()) != c {
			return nil, n.InputErrorf("%s is %v %v, want a float32 vector of the %d channels of x", name, t.DType, t.Shape, c)
		}
		vecs[i] = t.Float32s()
	}
	dx := ctx.Output(0, x.DType, x.Shape...)
	sb := ctx.Output(1, classify.Float32, c)
	ob := ctx.Output(2, classify.Float32, c)
	r3 := ctx.Output(3, classify.Float32, 0)
	r4 := ctx.Output(4, classify.Float32, 0)
	a := fbnGradArgs{outer: outer, c: c, inner: inner, scale: vecs[0], mean: vecs[1], variance: vecs[2],
		eps: o.eps, training: o.training, sb: sb.Float32s(), ob: ob.Float32s()}
	switch x.DType {
	case classify.Float32:
		fbnGrad(ctx, &a, dx.Float32s(), dy.Float32s(), x.Float32s())
	case classify.Float64:
		fbnGrad(ctx, &a, dx.Data.([]float64), dy.Data.([]float64), x.Data.([]float64))
	}
	return []*classify.Tensor{dx, sb, ob, r3, r4}, nil
}

type fbnGradArgs struct {
	outer, c, inner       int
	scale, mean, variance []float32
	eps                   float64
	training              bool
	sb, ob                []float32
}

// fbnGrad computes the per-channel sums, then x_backprop, one channel per
// goroutine task.
func fbnGrad[T float32 | float64](ctx *Ctx, a *fbnGradArgs, dx, dy, x []T) {
	cnt := float64(a.outer * a.inner)
	ewParallel(ctx, a.c, gradCost(4, a.outer, a.inner), func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			m := float64(a.mean[ch])
			r := 1 / math.Sqrt(float64(a.variance[ch])+a.eps)
			sdy, sdyx := 0.0, 0.0
			for o := 0; o < a.outer; o++ {
				base := (o*a.c + ch) * a.inner
				for i := base; i < base+a.inner; i++ {
					d := float64(dy[i])
					sdy += d
					sdyx += d * (float64(x[i]) - m)
				}
			}
			a.ob[ch] = float32(sdy)
			a.sb[ch] = float32(sdyx * r)
			k := float64(a.scale[ch]) * r
			dmean, cm := 0.0, 0.0
			if a.training && cnt > 0 {
				dmean, cm = sdy/cnt, r*r*sdyx/cnt
			}
			for o := 0; o < a.outer; o++ {
				base := (o*a.c + ch) * a.inner
				for i := base; i < base+a.inner; i++ {
					if !a.training {
						dx[i] = T(float64(dy[i]) * k)
						continue
					}
					dx[i] = T(k * ((float64(dy[i]) - dmean) - (float64(x[i])-m)*cm))
				}
			}
		}
	})
}
