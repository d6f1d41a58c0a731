package ops

// Gradients of CropAndResize (crop.go), after TensorFlow's
// crop_and_resize_op.cc:
//
//   - CropAndResizeGradImage(grads, boxes, box_ind, image_size): each
//     sample's gradient spread back over the pixels it read: the four
//     bilinear neighbours with weights (1-fy)(1-fx), (1-fy)fx, fy(1-fx),
//     fy·fx, or the nearest pixel (rounded half away from zero). Samples
//     outside the image (which took extrapolation_value) send nothing.
//     Output of dtype T (float32, float64; halves by promotion) and the
//     shape image_size names, client-controlled and bounded before it is
//     allocated.
//   - CropAndResizeGradBoxes(grads, image, boxes, box_ind), bilinear only
//     (as TensorFlow): per box the derivative of Σ grads·crop with respect
//     to y1, x1, y2, x2, through each sample's position
//     y1·(H-1) + y·(y2-y1)·(H-1)/(crop_h-1) (the box centre when crop_h is
//     1) and the image's bilinear slopes. float32 output for every image
//     dtype.
//
// Both sum in float32 in TensorFlow's order (box, row, column, channel):
// GradImage splits the images across goroutines (each image's boxes stay
// in order), GradBoxes the boxes.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("CropAndResizeGradImage", buildCropGrad(false))
	Register("CropAndResizeGradBoxes", buildCropGrad(true))
	promote("CropAndResizeGradImage", "T", nil, halfDTypes...)
	promote("CropAndResizeGradBoxes", "T", []int{}, halfDTypes...)
}

type cropGradOp struct {
	n       *Node
	boxes   bool // CropAndResizeGradBoxes
	nearest bool
	size    []int // GradImage's constant image_size, or nil
}

func buildCropGrad(boxes bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if n.NumInputs != 4 || len(consts) != 4 {
			return nil, n.Errorf("needs 4 inputs, has %d", n.NumInputs)
		}
		o := &cropGradOp{n: n, boxes: boxes}
		switch m := n.String("method", "bilinear"); {
		case m == "bilinear":
		case m == "nearest" && !boxes:
			o.nearest = true
		case boxes:
			return nil, n.Errorf("method %q not supported (bilinear only, as TensorFlow)", m)
		default:
			return nil, n.Errorf("method %q: want bilinear or nearest", m)
		}
		if !boxes {
			if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
				return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
			}
			if consts[3] != nil {
				s, err := cropGradSize(consts[3])
				if err != nil {
					return nil, n.Errorf("image_size: %v", err)
				}
				o.size = s
			}
		}
		return o, nil
	}
}

// cropGradSize reads image_size: an int32 vector [batch, height, width,
// depth] with a non-empty image, within the engine's element limit.
func cropGradSize(t *classify.Tensor) ([]int, error) {
	if t.DType != classify.Int32 || len(t.Shape) != 1 || t.Shape[0] != 4 || t.Len() != 4 {
		return nil, fmt.Errorf("want an int32 vector of 4 elements, got %v %v", t.DType, t.Shape)
	}
	s := make([]int, 4)
	for i, v := range t.Int32s() {
		s[i] = int(v)
	}
	if s[1] <= 0 || s[2] <= 0 {
		return nil, fmt.Errorf("%v: image height and width must be positive", s)
	}
	return s, arrCheckDims(s)
}

// OutputInfo implements Shaper.
func (o *cropGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if s := in[0].Shape; s != nil && len(s) != 4 {
		return nil, o.n.Errorf("grads %v, want 4-D", s)
	}
	if o.boxes {
		s := classify.Shape{-1, 4}
		if b := in[2].Shape; len(b) == 2 {
			s[0] = b[0]
		}
		return []classify.TensorInfo{{DType: classify.Float32, Shape: s}}, nil
	}
	dt := o.n.Type("T")
	if dt == classify.Invalid {
		dt = classify.Float32
	}
	if o.size != nil {
		return []classify.TensorInfo{{DType: dt, Shape: classify.Shape(o.size).Clone()}}, nil
	}
	return []classify.TensorInfo{{DType: dt, Shape: arrUnknown(4)}}, nil
}

// Run implements Op.
func (o *cropGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	grads := in[0]
	if grads.DType != classify.Float32 || len(grads.Shape) != 4 || grads.Len() != grads.Shape.NumElements() {
		return nil, n.InputErrorf("grads must be float32 4-D, got %v %v", grads.DType, grads.Shape)
	}
	nb, ch, cw, depth := grads.Shape[0], grads.Shape[1], grads.Shape[2], grads.Shape[3]
	if ch <= 0 || cw <= 0 {
		return nil, n.InputErrorf("grads %v: crop height and width must be positive", grads.Shape)
	}
	bx, ind := in[1], in[2]
	if o.boxes {
		bx, ind = in[2], in[3]
	}
	if bx.DType != classify.Float32 || len(bx.Shape) != 2 || bx.Shape[1] != 4 || bx.Len() != bx.Shape.NumElements() {
		return nil, n.InputErrorf("boxes must be float32 [num_boxes, 4], got %v %v", bx.DType, bx.Shape)
	}
	if bx.Shape[0] != nb || len(ind.Shape) != 1 || ind.Shape[0] != nb {
		return nil, n.InputErrorf("grads %v, boxes %v and box_ind %v must agree on the number of boxes", grads.Shape, bx.Shape, ind.Shape)
	}
	bi, err := arrInts(ind)
	if err != nil || len(bi) != nb {
		return nil, n.InputErrorf("box_ind must be int32 or int64 [%d]", nb)
	}
	var img []float32
	var is []int
	if o.boxes {
		x := in[1]
		if len(x.Shape) != 4 || x.Len() != x.Shape.NumElements() {
			return nil, n.InputErrorf("image must be 4-D NHWC, got %v", x.Shape)
		}
		if img, err = resizeFloats(x); err != nil {
			return nil, n.InputErrorf("image: %v", err)
		}
		is = x.Shape
		if is[1] <= 0 || is[2] <= 0 {
			return nil, n.InputErrorf("image %v: height and width must be positive", is)
		}
	} else if is = o.size; is == nil {
		if is, err = cropGradSize(in[3]); err != nil {
			return nil, n.InputErrorf("image_size: %v", err)
		}
	}
	if is[3] != depth {
		return nil, n.InputErrorf("image %v and grads %v differ in depth", is, grads.Shape)
	}
	for i, v := range bi {
		if v < 0 || v >= is[0] {
			return nil, n.InputErrorf("box_ind[%d] = %d is not in [0, %d)", i, v, is[0])
		}
	}
	g := cropGradGeom{h: is[1], w: is[2], c: depth, ch: ch, cw: cw, boxes: bx.Float32s(), ind: bi, grads: grads.Float32s()}
	if o.boxes {
		out := ctx.Output(0, classify.Float32, nb, 4)
		d := out.Float32s()
		ewParallel(ctx, nb, ch*cw*depth*16, func(lo, hi int) {
			for b := lo; b < hi; b++ {
				cropGradBox(&g, img, d[4*b:][:4], b)
			}
		})
		return []*classify.Tensor{out}, nil
	}
	dt := n.Type("T")
	if dt == classify.Invalid {
		dt = classify.Float32
	}
	out := ctx.Output(0, dt, is...)
	switch dt {
	case classify.Float32:
		cropGradImageRun(ctx, &g, is[0], out.Float32s(), o.nearest)
	case classify.Float64:
		cropGradImageRun(ctx, &g, is[0], out.Data.([]float64), o.nearest)
	default:
		return nil, n.InputErrorf("T %v not supported (float32, float64)", dt)
	}
	return []*classify.Tensor{out}, nil
}

type cropGradGeom struct {
	h, w, c, ch, cw int
	boxes, grads    []float32
	ind             []int
}

// inImage reports whether a sample coordinate lies in [0, size-1] (NaN
// does not).
func inImage(v float32, size int) bool { return v >= 0 && v <= float32(size-1) }

func cropGradImageRun[T float32 | float64](ctx *Ctx, g *cropGradGeom, batch int, dst []T, nearest bool) {
	per := g.h * g.w * g.c
	// The boxes of each image, in order.
	of := make([][]int, batch)
	for b, i := range g.ind {
		of[i] = append(of[i], b)
	}
	ewParallel(ctx, batch, max(per, 1)+len(g.ind)/max(batch, 1)*g.ch*g.cw*g.c*4, func(lo, hi int) {
		for im := lo; im < hi; im++ {
			d := dst[im*per:][:per]
			clear(d)
			for _, b := range of[im] {
				y1, x1, y2, x2 := g.boxes[4*b], g.boxes[4*b+1], g.boxes[4*b+2], g.boxes[4*b+3]
				for y := range g.ch {
					inY := cropCoord(y, g.ch, y1, y2, g.h)
					if !inImage(inY, g.h) {
						continue
					}
					ty, by := int(math.Floor(float64(inY))), int(math.Ceil(float64(inY)))
					fy := inY - float32(ty)
					ny := int(math.Round(float64(inY)))
					for x := range g.cw {
						inX := cropCoord(x, g.cw, x1, x2, g.w)
						if !inImage(inX, g.w) {
							continue
						}
						gv := g.grads[((b*g.ch+y)*g.cw+x)*g.c:][:g.c]
						if nearest {
							p := d[(ny*g.w+int(math.Round(float64(inX))))*g.c:][:g.c]
							for k, v := range gv {
								p[k] += T(v)
							}
							continue
						}
						lx, rx := int(math.Floor(float64(inX))), int(math.Ceil(float64(inX)))
						fx := inX - float32(lx)
						tl, tr := d[(ty*g.w+lx)*g.c:][:g.c], d[(ty*g.w+rx)*g.c:][:g.c]
						bl, br := d[(by*g.w+lx)*g.c:][:g.c], d[(by*g.w+rx)*g.c:][:g.c]
						for k, v := range gv {
							top := (1 - fy) * v
							tl[k] += T((1 - fx) * top)
							tr[k] += T(fx * top)
							bot := fy * v
							bl[k] += T((1 - fx) * bot)
							br[k] += T(fx * bot)
						}
					}
				}
			}
		}
	})
}

// cropGradBox accumulates box b's gradient into d (y1, x1, y2, x2).
func cropGradBox(g *cropGradGeom, img []float32, d []float32, b int) {
	clear(d)
	y1, x1, y2, x2 := g.boxes[4*b], g.boxes[4*b+1], g.boxes[4*b+2], g.boxes[4*b+3]
	var hr, wr float32 // (size-1)/(crop-1), 0 for a crop of 1
	if g.ch > 1 {
		hr = float32(g.h-1) / float32(g.ch-1)
	}
	if g.cw > 1 {
		wr = float32(g.w-1) / float32(g.cw-1)
	}
	hs, ws := (y2-y1)*hr, (x2-x1)*wr
	src := img[g.ind[b]*g.h*g.w*g.c:]
	for y := range g.ch {
		inY := 0.5 * (y1 + y2) * float32(g.h-1)
		if g.ch > 1 {
			inY = y1*float32(g.h-1) + float32(y)*hs
		}
		if !inImage(inY, g.h) {
			continue
		}
		ty, by := int(math.Floor(float64(inY))), int(math.Ceil(float64(inY)))
		fy := inY - float32(ty)
		for x := range g.cw {
			inX := 0.5 * (x1 + x2) * float32(g.w-1)
			if g.cw > 1 {
				inX = x1*float32(g.w-1) + float32(x)*ws
			}
			if !inImage(inX, g.w) {
				continue
			}
			lx, rx := int(math.Floor(float64(inX))), int(math.Ceil(float64(inX)))
			fx := inX - float32(lx)
			gv := g.grads[((b*g.ch+y)*g.cw+x)*g.c:][:g.c]
			tl, tr := src[(ty*g.w+lx)*g.c:][:g.c], src[(ty*g.w+rx)*g.c:][:g.c]
			bl, br := src[(by*g.w+lx)*g.c:][:g.c], src[(by*g.w+rx)*g.c:][:g.c]
			for k, v := range gv {
				yg := ((1-fx)*(bl[k]-tl[k]) + fx*(br[k]-tr[k])) * v
				xg := ((1-fy)*(tr[k]-tl[k]) + fy*(br[k]-bl[k])) * v
				if g.ch > 1 {
					d[0] += yg * (float32(g.h-1) - float32(y)*hr)
					d[2] += yg * (float32(y) * hr)
				} else {
					d[0] += yg * 0.5 * float32(g.h-1)
					d[2] += yg * 0.5 * float32(g.h-1)
				}
				if g.cw > 1 {
					d[1] += xg * (float32(g.w-1) - float32(x)*wr)
					d[3] += xg * (float32(x) * wr)
				} else {
					d[1] += xg * 0.5 * float32(g.w-1)
					d[3] += xg * 0.5 * float32(g.w-1)
				}
			}
		}
	}
}
