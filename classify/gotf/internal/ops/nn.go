package ops

// FusedBatchNorm, FusedBatchNormV2 and FusedBatchNormV3 on float32 4-D or
// 5-D tensors, channels last (NHWC, NDHWC) or first after the batch (NCHW,
// NCDHW).
//
// Outputs follow TensorFlow's CPU kernel:
//
//	is_training=false: y = (x-mean)*rsqrt(variance+epsilon)*scale + offset;
//	  batch_mean, batch_variance = the given mean and variance.
//	is_training=true: mean and variance of x over every axis but channels
//	  (population variance) normalise x; batch_mean is that mean and
//	  batch_variance the variance with Bessel's correction n/(n-1), both
//	  blended into the given running values when exponential_avg_factor != 1.
//	reserve_space_1, reserve_space_2: the batch mean and population variance
//	  when training; TensorFlow leaves them unset at inference, here they
//	  repeat the given mean and variance.
//	reserve_space_3 (V3 only): a scalar 0, as TensorFlow's CPU kernel.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

// fbnOp is a compiled FusedBatchNorm node.
type fbnOp struct {
	n         *Node
	eps       float32
	training  bool
	factor    float32
	chanFirst bool
	outputs   int
	// scale and shift per channel, precomputed at load when scale, offset,
	// mean and variance are constants (inference only).
	pre *fbnAffine
}

// fbnAffine is y = (x - mean) * mul + offset per channel.
type fbnAffine struct {
	mean, mul, offset []float32
}

func buildFusedBatchNorm(outputs int) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if n.NumInputs != 5 {
			return nil, n.Errorf("want 5 inputs (x, scale, offset, mean, variance), have %d", n.NumInputs)
		}
		for _, a := range []string{"T", "U"} {
			if dt := n.Type(a); dt != classify.Invalid && dt != classify.Float32 {
				return nil, n.Errorf("unsupported %s %v (float32 only)", a, dt)
			}
		}
		o := &fbnOp{
			n:        n,
			eps:      n.Float("epsilon", 0.0001),
			training: n.Bool("is_training", true),
			factor:   n.Float("exponential_avg_factor", 1),
			outputs:  outputs,
		}
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
		if !o.training && len(consts) == 5 && consts[1] != nil && consts[2] != nil && consts[3] != nil && consts[4] != nil {
			aff, err := fbnPrepare(consts[1], consts[2], consts[3], consts[4], o.eps)
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			o.pre = aff
		}
		return o, nil
	}
}

// fbnPrepare checks the per-channel vectors and computes the multiplier
// rsqrt(variance+eps)*scale in float32, the order TensorFlow's kernel uses.
func fbnPrepare(scale, offset, mean, variance *classify.Tensor, eps float32) (*fbnAffine, error) {
	for i, t := range []*classify.Tensor{scale, offset, mean, variance} {
		if t.DType != classify.Float32 || len(t.Shape) != 1 {
			return nil, fmt.Errorf("input %d must be a float32 vector, is %v%v", i+1, t.DType, t.Shape)
		}
	}
	c := scale.Len()
	for i, t := range []*classify.Tensor{offset, mean, variance} {
		if t.Len() != c {
			return nil, fmt.Errorf("input %d has %d elements, scale %d", i+2, t.Len(), c)
		}
	}
	a := &fbnAffine{mean: mean.Float32s(), offset: offset.Float32s(), mul: make([]float32, c)}
	for i, v := range variance.Float32s() {
		a.mul[i] = float32(1/math.Sqrt(float64(v+eps))) * scale.Float32s()[i]
	}
	return a, nil
}

// OutputInfo implements Shaper.
func (o *fbnOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 5 {
		return nil, o.n.Errorf("want 5 inputs, have %d", len(in))
	}
	for i, t := range in {
		if t.DType != classify.Invalid && t.DType != classify.Float32 {
			return nil, o.n.Errorf("input %d has dtype %v, want float32", i, t.DType)
		}
	}
	c := -1
	if len(in[1].Shape) == 1 {
		c = in[1].Shape[0]
	}
	if s := in[0].Shape; s != nil {
		if len(s) != 4 && len(s) != 5 {
			return nil, o.n.Errorf("x must be 4-D or 5-D, has shape %v", s)
		}
		xc := s[len(s)-1]
		if o.chanFirst {
			xc = s[1]
		}
		if xc >= 0 && c >= 0 && xc != c {
			return nil, o.n.Errorf("scale has %d elements for %d channels", c, xc)
		}
		if c < 0 {
			c = xc
		}
	}
	out := []classify.TensorInfo{{DType: classify.Float32, Shape: in[0].Shape.Clone()}}
	for i := 1; i < 5; i++ {
		out = append(out, classify.TensorInfo{DType: classify.Float32, Shape: classify.Shape{c}})
	}
	if o.outputs == 6 {
		out = append(out, classify.TensorInfo{DType: classify.Float32, Shape: classify.Shape{}})
	}
	return out, nil
}

// FLOPs implements Flopper: subtract, multiply, add per element (training
// adds two passes for the statistics).
func (o *fbnOp) FLOPs(in []classify.Shape) int64 {
	if len(in) < 1 {
		return 0
	}
	if o.training {
		return 6 * ewCount(in[0])
	}
	return 3 * ewCount(in[0])
}

// Run implements Op.
func (o *fbnOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 5 {
		return nil, o.n.InputErrorf("want 5 inputs, have %d", len(in))
	}
	x := in[0]
	if x.DType != classify.Float32 {
		return nil, o.n.InputErrorf("x has dtype %v, want float32", x.DType)
	}
	if len(x.Shape) != 4 && len(x.Shape) != 5 {
		return nil, o.n.InputErrorf("x must be 4-D or 5-D, has shape %v", x.Shape)
	}
	// x as [outer, c, inner]: inner is 1 for channels last.
	c := x.Shape[len(x.Shape)-1]
	outer, inner := x.Len()/max(c, 1), 1
	if o.chanFirst {
		c = x.Shape[1]
		outer = x.Shape[0]
		inner = x.Len() / max(outer*c, 1)
	}
	for i, t := range in[1:] {
		if t.DType != classify.Float32 || len(t.Shape) != 1 {
			return nil, o.n.InputErrorf("input %d must be a float32 vector, is %v%v", i+1, t.DType, t.Shape)
		}
	}
	if in[1].Len() != c || in[2].Len() != c {
		return nil, o.n.InputErrorf("scale has %d and offset %d elements for %d channels", in[1].Len(), in[2].Len(), c)
	}
	needStats := !o.training || o.factor != 1
	if needStats && (in[3].Len() != c || in[4].Len() != c) {
		return nil, o.n.InputErrorf("mean has %d and variance %d elements for %d channels", in[3].Len(), in[4].Len(), c)
	}
	y := ctx.Output(0, classify.Float32, x.Shape...)
	outs := []*classify.Tensor{y}
	for i := 1; i < 5; i++ {
		outs = append(outs, ctx.Output(i, classify.Float32, c))
	}
	if o.outputs == 6 {
		r := ctx.Output(5, classify.Float32)
		r.Float32s()[0] = 0
		outs = append(outs, r)
	}
	if !o.training {
		aff := o.pre
		if aff == nil {
			var err error
			if aff, err = fbnPrepare(in[1], in[2], in[3], in[4], o.eps); err != nil {
				return nil, o.n.InputErrorf("%v", err)
			}
		}
		fbnApply(ctx, aff, y.Float32s(), x.Float32s(), outer, c, inner)
		copy(outs[1].Float32s(), in[3].Float32s())
		copy(outs[2].Float32s(), in[4].Float32s())
		copy(outs[3].Float32s(), in[3].Float32s())
		copy(outs[4].Float32s(), in[4].Float32s())
		return outs, nil
	}
	if x.Len() == 0 {
		// TensorFlow's answer for an empty batch: NaN statistics.
		nan := float32(math.NaN())
		for i := 1; i < 5; i++ {
			for j := range outs[i].Float32s() {
				outs[i].Float32s()[j] = nan
			}
		}
		return outs, nil
	}
	mean, variance := fbnMoments(x.Float32s(), outer, c, inner)
	aff := &fbnAffine{mean: mean, offset: in[2].Float32s(), mul: make([]float32, c)}
	for i := range aff.mul {
		aff.mul[i] = float32(1/math.Sqrt(float64(variance[i]+o.eps))) * in[1].Float32s()[i]
	}
	fbnApply(ctx, aff, y.Float32s(), x.Float32s(), outer, c, inner)
	n := outer * inner
	adjust := float32(n) / float32(max(n-1, 1))
	bm, bv := outs[1].Float32s(), outs[2].Float32s()
	for i := 0; i < c; i++ {
		if o.factor == 1 {
			bm[i], bv[i] = mean[i], variance[i]*adjust
		} else {
			f := o.factor
			bm[i] = (1-f)*in[3].Float32s()[i] + f*mean[i]
			bv[i] = (1-f)*in[4].Float32s()[i] + f*adjust*variance[i]
		}
	}
	copy(outs[3].Float32s(), mean)
	copy(outs[4].Float32s(), variance)
	return outs, nil
}

// fbnMoments returns the per-channel mean and population variance of x as
// [outer, c, inner], accumulated in float64 (two passes, so the variance
// does not suffer from cancellation).
func fbnMoments(x []float32, outer, c, inner int) (mean, variance []float32) {
	sum := make([]float64, c)
	for o := 0; o < outer; o++ {
		for ch := 0; ch < c; ch++ {
			base := (o*c + ch) * inner
			for _, v := range x[base : base+inner] {
				sum[ch] += float64(v)
			}
		}
	}
	n := float64(outer * inner)
	mean, variance = make([]float32, c), make([]float32, c)
	for ch := range sum {
		sum[ch] /= n
		mean[ch] = float32(sum[ch])
	}
	sq := make([]float64, c)
	for o := 0; o < outer; o++ {
		for ch := 0; ch < c; ch++ {
			base := (o*c + ch) * inner
			m := sum[ch]
			for _, v := range x[base : base+inner] {
				d := float64(v) - m
				sq[ch] += d * d
			}
		}
	}
	for ch := range sq {
		variance[ch] = float32(sq[ch] / n)
	}
	return mean, variance
}

// fbnApply writes y = (x - mean) * mul + offset per channel.
func fbnApply(ctx *Ctx, a *fbnAffine, y, x []float32, outer, c, inner int) {
	if len(y) == 0 {
		return
	}
	f := func(lo, hi int) { fbnRows(a, y, x, lo, hi, c, inner) }
	if ewSerial(ctx, len(y), 3) || outer < 2 {
		f(0, outer)
		return
	}
	ewParallel(ctx, outer, 3*c*inner, f)
}

func fbnRows(a *fbnAffine, y, x []float32, lo, hi, c, inner int) {
	mean, mul, off := a.mean[:c], a.mul[:c], a.offset[:c]
	for o := lo; o < hi; o++ {
		if inner == 1 {
			xs, ys := x[o*c:(o+1)*c], y[o*c:(o+1)*c]
			for i := range ys {
				ys[i] = (xs[i]-mean[i])*mul[i] + off[i]
			}
			continue
		}
		for ch := 0; ch < c; ch++ {
			base := (o*c + ch) * inner
			xs, ys := x[base:base+inner], y[base:base+inner]
			m, k, b := mean[ch], mul[ch], off[ch]
			for i := range ys {
				ys[i] = (xs[i]-m)*k + b
			}
		}
	}
}

func init() {
	Register("FusedBatchNorm", buildFusedBatchNorm(5))
	Register("FusedBatchNormV2", buildFusedBatchNorm(5))
	Register("FusedBatchNormV3", buildFusedBatchNorm(6))
}
