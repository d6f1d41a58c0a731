package ops

// MaxPool and AvgPool for the dtypes besides float32 that TensorFlow's
// CPU kernels take: float64 for both, and for MaxPool (and MaxPoolV2) also
// int32, int64, uint8, int8, int16 and uint16 (the op's T list). They are
// plain loops over the same geometry as the float32 path (pool.go), which
// hands a node of such a T to buildPoolTyped; half and bfloat16 still run
// on float32 through promotion. Padded positions never take part, as in
// pool.go: the max is over the real elements of each window, the mean
// divides by their count.

import (
	"github.com/classifyd/classifyd/classify"
)

func init() {
	small := []classify.DType{classify.Int8, classify.Int16, classify.Uint16}
	allowDTypes("MaxPool", small...)
	allowDTypes("MaxPoolV2", small...)
	// MaxPool's half and bfloat16 already promote to float32; MaxPoolV2
	// is the same kernel with ksize and strides as inputs (input 0 only).
	promote("MaxPoolV2", "T", nil, halfDTypes...)
}

// poolTypedDType reports whether a pooling node of T dt runs on the loops
// of this file.
func poolTypedDType(isMax bool, dt classify.DType) bool {
	switch dt {
	case classify.Float64:
		return true
	case classify.Int32, classify.Int64, classify.Uint8, classify.Int8, classify.Int16, classify.Uint16:
		return isMax
	}
	return false
}

// poolTyped is a pooling node of a T other than float32.
type poolTyped struct {
	*poolOp
	dt classify.DType
}

// OutputInfo implements Shaper.
func (o *poolTyped) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	if dt := in[0].DType; dt != classify.Invalid && dt != o.dt {
		return nil, o.n.Errorf("input dtype %v, T is %v", dt, o.dt)
	}
	in = []classify.TensorInfo{{DType: classify.Float32, Shape: in[0].Shape}}
	out, err := o.poolOp.OutputInfo(in)
	if err != nil {
		return nil, err
	}
	out[0].DType = o.dt
	return out, nil
}

// Run implements Op.
func (o *poolTyped) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 || in[0] == nil {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	x := in[0]
	if x.DType != o.dt {
		return nil, o.n.InputErrorf("input dtype %v, T is %v", x.DType, o.dt)
	}
	if len(x.Shape) != 4 {
		return nil, o.n.InputErrorf("input must be 4-D NHWC, has shape %v", x.Shape)
	}
	if x.Len() != x.Shape.NumElements() {
		return nil, o.n.InputErrorf("input has %d elements for shape %v", x.Len(), x.Shape)
	}
	g := poolGeom{h: x.Shape[1], w: x.Shape[2], c: x.Shape[3], kh: o.kh, kw: o.kw, sh: o.sh, sw: o.sw}
	g.oh, g.padT = o.outDim(g.h, o.kh, o.sh)
	g.ow, g.padL = o.outDim(g.w, o.kw, o.sw)
	if g.oh < 0 || g.ow < 0 {
		return nil, o.n.InputErrorf("window %dx%d larger than input %v", o.kh, o.kw, x.Shape)
	}
	// The output has at most as many elements as the input (strides are
	// at least 1 and SAME gives ceil(in/stride)), so it needs no bound of
	// its own.
	nb := x.Shape[0]
	out := ctx.Output(0, o.dt, nb, g.oh, g.ow, g.c)
	g.inImg, g.outIm = g.h*g.w*g.c, g.oh*g.ow*g.c
	rows := nb * g.oh
	if rows == 0 || g.ow == 0 || g.c == 0 {
		return []*classify.Tensor{out}, nil
	}
	if g.h == 0 || g.w == 0 {
		// As in pool.go: every window is all padding.
		return nil, o.n.InputErrorf("empty spatial input %v", x.Shape)
	}
	cost := g.ow * g.c * o.kh * o.kw
	switch src := x.Data.(type) {
	case []float64:
		dst := out.Data.([]float64)
		ewParallel(ctx, rows, cost, func(lo, hi int) { poolTypedRows(&g, o.max, dst, src, lo, hi) })
	case []int32:
		dst := out.Data.([]int32)
		ewParallel(ctx, rows, cost, func(lo, hi int) { poolTypedRows(&g, true, dst, src, lo, hi) })
	case []int64:
		dst := out.Data.([]int64)
		ewParallel(ctx, rows, cost, func(lo, hi int) { poolTypedRows(&g, true, dst, src, lo, hi) })
	case []uint8:
		dst := out.Data.([]uint8)
		ewParallel(ctx, rows, cost, func(lo, hi int) { poolTypedRows(&g, true, dst, src, lo, hi) })
	case []int8:
		dst := out.Data.([]int8)
		ewParallel(ctx, rows, cost, func(lo, hi int) { poolTypedRows(&g, true, dst, src, lo, hi) })
	case []int16:
		dst := out.Data.([]int16)
		ewParallel(ctx, rows, cost, func(lo, hi int) { poolTypedRows(&g, true, dst, src, lo, hi) })
	case []uint16:
		dst := out.Data.([]uint16)
		ewParallel(ctx, rows, cost, func(lo, hi int) { poolTypedRows(&g, true, dst, src, lo, hi) })
	default:
		return nil, o.n.InputErrorf("input dtype %v not supported", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

// poolElem are the element types of poolTypedRows. Integers only take the
// max: AvgPool's T has no integer dtype.
type poolElem interface {
	~float64 | ~int32 | ~int64 | ~uint8 | ~int8 | ~int16 | ~uint16
}

// poolTypedRows computes output rows [lo, hi) of the (n, oh) sequence.
// The max keeps the float32 path's rule for NaN (maxVV): a window element
// replaces the running value unless the running value is greater.
func poolTypedRows[T poolElem](g *poolGeom, isMax bool, dst, src []T, lo, hi int) {
	c := g.c
	for r := lo; r < hi; r++ {
		b, y := r/g.oh, r%g.oh
		img := src[b*g.inImg : (b+1)*g.inImg]
		h0 := y*g.sh - g.padT
		h1 := min(h0+g.kh, g.h)
		h0 = max(h0, 0)
		orow := dst[b*g.outIm+y*g.ow*c : b*g.outIm+(y+1)*g.ow*c]
		for x := 0; x < g.ow; x++ {
			w0 := x*g.sw - g.padL
			w1 := min(w0+g.kw, g.w)
			w0 = max(w0, 0)
			acc := orow[x*c : (x+1)*c]
			first := true
			for hh := h0; hh < h1; hh++ {
				line := img[hh*g.w*c:]
				for ww := w0; ww < w1; ww++ {
					v := line[ww*c : (ww+1)*c]
					switch {
					case first:
						copy(acc, v)
						first = false
					case isMax:
						for i, e := range v {
							if !(acc[i] > e) {
								acc[i] = e
							}
						}
					default:
						for i, e := range v {
							acc[i] += e
						}
					}
				}
			}
			if !isMax {
				n := T((h1 - h0) * (w1 - w0))
				for i := range acc {
					acc[i] /= n
				}
			}
		}
	}
}
