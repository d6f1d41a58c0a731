package ops

// Resize gradients, the adjoints of resize.go's forward kernels on NHWC
// batches (TensorFlow's resize_bilinear_op.cc and
// resize_nearest_neighbor_op.cc):
//
//   - ResizeBilinearGrad(grads float32 [b,rh,rw,c], original_image T
//     [b,h,w,c]) -> T [b,h,w,c]: each grads pixel adds its four bilinear
//     weights' shares to the pixels the forward resize read, with the
//     forward's own weights (bilinearWeights, float32 coordinates).
//   - ResizeNearestNeighborGrad(grads T [b,rh,rw,c], size int32 [h,w]) ->
//     T [b,h,w,c]: each grads pixel adds to the one source pixel the
//     forward resize copied (nearestIndex).
//
// align_corners and half_pixel_centers as the forward ops; the scale is
// CalculateResizeScale(original, resized).

import (
	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("ResizeBilinearGrad", buildResizeGrad(true))
	Register("ResizeNearestNeighborGrad", buildResizeGrad(false))
	promote("ResizeBilinearGrad", "T", nil, halfDTypes...)
	promote("ResizeNearestNeighborGrad", "T", nil, halfDTypes...)
}

type resizeGradOp struct {
	n           *Node
	bilinear    bool
	align, half bool
	h, w        int // ResizeNearestNeighborGrad's constant size, or 0
}

func buildResizeGrad(bilinear bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if len(consts) != 2 {
			return nil, n.Errorf("%d inputs, want 2", len(consts))
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
		o := &resizeGradOp{n: n, bilinear: bilinear, align: n.Bool("align_corners", false), half: n.Bool("half_pixel_centers", false)}
		if o.align && o.half {
			return nil, n.Errorf("half_pixel_centers requires align_corners false")
		}
		if !bilinear && consts[1] != nil {
			h, w, err := resizeSize(consts[1])
			if err != nil {
				return nil, n.Errorf("size: %v", err)
			}
			o.h, o.w = h, w
		}
		return o, nil
	}
}

// OutputInfo implements Shaper.
func (o *resizeGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	g := in[0]
	for _, t := range in[:1+btoi(o.bilinear)] {
		if t.Shape != nil && len(t.Shape) != 4 {
			return nil, o.n.Errorf("input shape %v, want 4-D NHWC", t.Shape)
		}
	}
	if o.bilinear {
		return []classify.TensorInfo{{DType: in[1].DType, Shape: in[1].Shape.Clone()}}, nil
	}
	s := arrUnknown(4)
	if g.Shape != nil {
		s[0], s[3] = g.Shape[0], g.Shape[3]
	}
	if o.h > 0 {
		s[1], s[2] = o.h, o.w
	}
	return []classify.TensorInfo{{DType: g.DType, Shape: s}}, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Run implements Op.
func (o *resizeGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	g := in[0]
	if len(g.Shape) != 4 || g.Len() != g.Shape.NumElements() {
		return nil, n.InputErrorf("grads must be 4-D NHWC, got %v", g.Shape)
	}
	var xs []int
	dt := g.DType
	if o.bilinear {
		if g.DType != classify.Float32 {
			return nil, n.InputErrorf("grads are %v, want float32", g.DType)
		}
		x := in[1]
		if len(x.Shape) != 4 {
			return nil, n.InputErrorf("original_image must be 4-D NHWC, got %v", x.Shape)
		}
		dt = x.DType
		xs = x.Shape
	} else {
		h, w := o.h, o.w
		if h == 0 {
			var err error
			if h, w, err = resizeSize(in[1]); err != nil {
				return nil, n.InputErrorf("size: %v", err)
			}
		}
		xs = []int{g.Shape[0], h, w, g.Shape[3]}
	}
	if dt != classify.Float32 && dt != classify.Float64 {
		return nil, n.InputErrorf("dtype %v not supported (float32, float64)", dt)
	}
	if xs[0] != g.Shape[0] || xs[3] != g.Shape[3] {
		return nil, n.InputErrorf("grads %v and original_image %v must have the same batch and depth", g.Shape, xs)
	}
	if xs[1] < 1 || xs[2] < 1 {
		return nil, n.InputErrorf("original image %v must have positive height and width", xs)
	}
	if err := arrCheckDims(xs); err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, dt, xs...)
	geo := resizeGradGeom{b: xs[0], h: xs[1], w: xs[2], c: xs[3], rh: g.Shape[1], rw: g.Shape[2]}
	geo.sy, geo.sx = resizeScale(geo.h, geo.rh, o.align), resizeScale(geo.w, geo.rw, o.align)
	if o.bilinear {
		src := g.Float32s()
		switch dt {
		case classify.Float32:
			bilinearGrad(ctx, out.Float32s(), src, &geo, o.half)
		case classify.Float64:
			bilinearGrad(ctx, out.Data.([]float64), src, &geo, o.half)
		}
		return []*classify.Tensor{out}, nil
	}
	switch dt {
	case classify.Float32:
		nearestGrad(ctx, out.Float32s(), g.Float32s(), &geo, o.align, o.half)
	case classify.Float64:
		nearestGrad(ctx, out.Data.([]float64), g.Data.([]float64), &geo, o.align, o.half)
	}
	return []*classify.Tensor{out}, nil
}

// resizeGradGeom: the original image b×h×w×c, the resized (grads) rh×rw,
// and the forward scales.
type resizeGradGeom struct {
	b, h, w, c int
	rh, rw     int
	sy, sx     float32
}

// bilinearGrad scatters each grads pixel over the four source pixels, one
// image per goroutine (images never share a destination).
func bilinearGrad[T float32 | float64](ctx *Ctx, dst []T, src []float32, g *resizeGradGeom, half bool) {
	clear(dst)
	ys := bilinearWeights(g.rh, g.h, g.sy, half)
	xs := bilinearWeights(g.rw, g.w, g.sx, half)
	c := g.c
	ewParallel(ctx, g.b, gradCost(g.rh, g.rw, c, 8), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			img := dst[b*g.h*g.w*c:][:g.h*g.w*c]
			for y, wy := range ys {
				top, bot := img[wy.lo*g.w*c:], img[wy.hi*g.w*c:]
				fy := T(wy.f)
				row := src[((b*g.rh)+y)*g.rw*c:]
				for x, wx := range xs {
					fx := T(wx.f)
					l, r := wx.lo*c, wx.hi*c
					gv := row[x*c:][:c]
					for k, v := range gv {
						gt := T(v)
						top[l+k] += gt * (1 - fy) * (1 - fx)
						top[r+k] += gt * (1 - fy) * fx
						bot[l+k] += gt * fy * (1 - fx)
						bot[r+k] += gt * fy * fx
					}
				}
			}
		}
	})
}

// nearestGrad adds each grads pixel into the source pixel it was copied
// from, one image per goroutine.
func nearestGrad[T float32 | float64](ctx *Ctx, dst, src []T, g *resizeGradGeom, align, half bool) {
	clear(dst)
	xs := make([]int, g.rw)
	for x := range xs {
		xs[x] = nearestIndex(x, g.w, g.sx, align, half)
	}
	c := g.c
	ewParallel(ctx, g.b, gradCost(g.rh, g.rw, c), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			for y := 0; y < g.rh; y++ {
				sy := nearestIndex(y, g.h, g.sy, align, half)
				drow := dst[(b*g.h+sy)*g.w*c:][:g.w*c]
				srow := src[(b*g.rh+y)*g.rw*c:][:g.rw*c]
				for x, sx := range xs {
					d, s := drow[sx*c:][:c], srow[x*c:][:c]
					for k, v := range s {
						d[k] += v
					}
				}
			}
		}
	})
}
