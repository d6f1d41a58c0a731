package ops

// CropAndResize: boxes (normalised y1, x1, y2, x2) cut from a batch of
// NHWC images, each resampled to crop_size by bilinear or nearest
// sampling, as TensorFlow's crop_and_resize_op.cc: sample y of a box sits
// at y1*(H-1) + y*(y2-y1)*(H-1)/(crop_h-1) (the box centre when crop_h is
// 1), and samples outside the image take extrapolation_value. Boxes may
// be flipped (y1 > y2). Output is float32 for every image dtype.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("CropAndResize", buildCropAndResize)
}

type cropOp struct {
	n       *Node
	nearest bool
	extra   float32
	h, w    int // constant crop_size, or 0
}

func buildCropAndResize(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 4 {
		return nil, n.Errorf("needs 4 inputs (image, boxes, box_ind, crop_size), has %d", n.NumInputs)
	}
	o := &cropOp{n: n, extra: n.Float("extrapolation_value", 0)}
	switch m := n.String("method", "bilinear"); m {
	case "bilinear":
	case "nearest":
		o.nearest = true
	default:
		return nil, n.Errorf("method %q: want bilinear or nearest", m)
	}
	if c := consts[3]; c != nil {
		h, w, err := resizeSize(c)
		if err != nil {
			return nil, n.Errorf("crop_size: %v", err)
		}
		o.h, o.w = h, w
	}
	return o, nil
}

func (o *cropOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s := classify.Shape{-1, -1, -1, -1}
	if x := in[0].Shape; x != nil {
		if len(x) != 4 {
			return nil, o.n.Errorf("image must be 4-D NHWC, got %v", x)
		}
		s[3] = x[3]
	}
	if b := in[1].Shape; len(b) == 2 {
		s[0] = b[0]
	}
	if o.h > 0 {
		s[1], s[2] = o.h, o.w
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: s}}, nil
}

func (o *cropOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, boxes, ind := in[0], in[1], in[2]
	if len(x.Shape) != 4 {
		return nil, o.n.InputErrorf("image must be 4-D NHWC, got %v", x.Shape)
	}
	b, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if h == 0 || w == 0 {
		return nil, o.n.InputErrorf("image %v: height and width must be non-zero", x.Shape)
	}
	ch, cw := o.h, o.w
	if ch == 0 {
		var err error
		if ch, cw, err = resizeSize(in[3]); err != nil {
			return nil, o.n.InputErrorf("crop_size: %v", err)
		}
	}
	if boxes.DType != classify.Float32 || len(boxes.Shape) != 2 || boxes.Shape[1] != 4 {
		return nil, o.n.InputErrorf("boxes must be float32 [num_boxes, 4], got %v %v", boxes.DType, boxes.Shape)
	}
	nb := boxes.Shape[0]
	if len(ind.Shape) != 1 || ind.Shape[0] != nb {
		return nil, o.n.InputErrorf("box_ind %v, want [%d]", ind.Shape, nb)
	}
	bi, err := arrInts(ind)
	if err != nil {
		return nil, o.n.InputErrorf("box_ind: %v", err)
	}
	for i, v := range bi {
		if v < 0 || v >= b {
			return nil, o.n.InputErrorf("box_ind[%d] = %d is not in [0, %d)", i, v, b)
		}
	}
	if err := arrCheckDims([]int{nb, ch, cw, c}); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	src, err := resizeFloats(x)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, classify.Float32, nb, ch, cw, c)
	dst := out.Float32s()
	bx := boxes.Float32s()
	ewParallel(ctx, nb*ch, cw*c*8, func(lo, hi int) {
		xs := make([]float32, cw)
		for r := lo; r < hi; r++ {
			k, y := r/ch, r%ch
			y1, x1, y2, x2 := bx[4*k], bx[4*k+1], bx[4*k+2], bx[4*k+3]
			drow := dst[r*cw*c : (r+1)*cw*c]
			inY := cropCoord(y, ch, y1, y2, h)
			if !(inY >= 0 && inY <= float32(h-1)) { // NaN boxes too
				for i := range drow {
					drow[i] = o.extra
				}
				continue
			}
			for xx := range xs {
				xs[xx] = cropCoord(xx, cw, x1, x2, w)
			}
			img := src[bi[k]*h*w*c:]
			if o.nearest {
				cropNearest(drow, img, xs, inY, w, c, o.extra)
			} else {
				cropBilinear(drow, img, xs, inY, w, c, o.extra)
			}
		}
	})
	return []*classify.Tensor{out}, nil
}

// cropCoord is the source coordinate of sample i of n along a box edge
// from a to b of an image dimension of size.
func cropCoord(i, n int, a, b float32, size int) float32 {
	if n > 1 {
		scale := (b - a) * float32(size-1) / float32(n-1)
		return a*float32(size-1) + float32(i)*scale
	}
	return 0.5 * (a + b) * float32(size-1)
}

func cropBilinear(drow, img, xs []float32, inY float32, w, c int, extra float32) {
	ty := float32(math.Floor(float64(inY)))
	by := int(math.Ceil(float64(inY)))
	fy := inY - ty
	top, bot := img[int(ty)*w*c:], img[by*w*c:]
	for xx, inX := range xs {
		d := drow[xx*c : (xx+1)*c]
		if !(inX >= 0 && inX <= float32(w-1)) {
			for i := range d {
				d[i] = extra
			}
			continue
		}
		lx := float32(math.Floor(float64(inX)))
		l, r := int(lx)*c, int(math.Ceil(float64(inX)))*c
		fx := inX - lx
		for k := range d {
			tl, tr := top[l+k], top[r+k]
			bl, br := bot[l+k], bot[r+k]
			t := tl + (tr-tl)*fx
			b := bl + (br-bl)*fx
			d[k] = t + (b-t)*fy
		}
	}
}

func cropNearest(drow, img, xs []float32, inY float32, w, c int, extra float32) {
	row := img[int(math.Round(float64(inY)))*w*c:]
	for xx, inX := range xs {
		d := drow[xx*c : (xx+1)*c]
		if !(inX >= 0 && inX <= float32(w-1)) {
			for i := range d {
				d[i] = extra
			}
			continue
		}
		p := int(math.Round(float64(inX))) * c
		copy(d, row[p:p+c])
	}
}
