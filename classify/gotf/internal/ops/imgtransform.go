package ops

// ImageProjectiveTransformV2 and V3 (tf.raw_ops; Keras' RandomRotation,
// RandomZoom, RandomTranslation export them): each output pixel (x, y) of
// an NHWC batch samples the input at ((a0 x + a1 y + a2)/k, (b0 x + b1 y +
// b2)/k), k = c0 x + c1 y + 1, from the image's row of transforms. As
// TensorFlow's image_ops.h: the coordinate is first mapped into the image
// by fill_mode (REFLECT dcba|abcd|dcba, WRAP abcd|abcd, NEAREST clamps,
// CONSTANT leaves it), then read by NEAREST (round half away from zero) or
// BILINEAR interpolation, where pixels outside the image read fill_value
// (V3's fourth input; 0 for V2). Arithmetic is float32; integer outputs
// truncate. A non-finite coordinate reads fill_value.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

type fillMode int

const (
	fillReflect fillMode = iota
	fillWrap
	fillConstant
	fillNearest
)

// maxTransformElements bounds the output a fed output_shape may ask for.
const maxTransformElements = 1 << 28

type projectiveOp struct {
	n       *Node
	dt      classify.DType
	nearest bool
	mode    fillMode
	h, w    int // constant output_shape, or 0
}

func buildProjective(v3 bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		want := 3
		if v3 {
			want = 4
		}
		if n.NumInputs != want {
			return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
		}
		o := &projectiveOp{n: n, dt: n.Type("dtype")}
		switch o.dt {
		case classify.Float32, classify.Uint8, classify.Int32, classify.Int64, classify.Float64, classify.Invalid:
		default:
			return nil, n.Errorf("dtype %v not supported (float32, float64, uint8, int32, int64)", o.dt)
		}
		switch m := n.String("interpolation", ""); m {
		case "NEAREST":
			o.nearest = true
		case "BILINEAR":
		default:
			return nil, n.Errorf("interpolation %q: want NEAREST or BILINEAR", m)
		}
		switch m := n.String("fill_mode", "CONSTANT"); m {
		case "REFLECT":
			o.mode = fillReflect
		case "WRAP":
			o.mode = fillWrap
		case "CONSTANT":
			o.mode = fillConstant
		case "NEAREST":
			o.mode = fillNearest
		default:
			return nil, n.Errorf("fill_mode %q: want REFLECT, WRAP, CONSTANT or NEAREST", m)
		}
		if c := consts[2]; c != nil {
			h, w, err := resizeSize(c)
			if err != nil {
				return nil, n.Errorf("output_shape: %v", err)
			}
			o.h, o.w = h, w
		}
		return o, nil
	}
}

func (o *projectiveOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s := classify.Shape{-1, -1, -1, -1}
	if x := in[0].Shape; x != nil {
		if len(x) != 4 {
			return nil, o.n.Errorf("images must be 4-D NHWC, got %v", x)
		}
		s[0], s[3] = x[0], x[3]
	}
	if o.h > 0 {
		s[1], s[2] = o.h, o.w
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: s}}, nil
}

// mapCoord maps c into [0, size-1] by the fill mode (CONSTANT: unchanged),
// as TensorFlow's MapCoordinate.
func mapCoord(mode fillMode, c float32, size int) float32 {
	n := float32(size)
	switch mode {
	case fillConstant:
		return c
	case fillReflect:
		if c < 0 {
			if size <= 1 {
				c = 0
			} else {
				sz2 := 2 * n
				if c < sz2 {
					c = sz2*float32(int64(-c/sz2)) + c
				}
				if c < -n {
					c += sz2
				} else {
					c = -c - 1
				}
			}
		} else if c > n-1 {
			if size <= 1 {
				c = 0
			} else {
				sz2 := 2 * n
				c -= sz2 * float32(int64(c/sz2))
				if c >= n {
					c = sz2 - c - 1
				}
			}
		}
	case fillWrap:
		if c < 0 {
			if size <= 1 {
				c = 0
			} else {
				sz := n - 1
				c += n * float32(int64(-c/sz)+1)
			}
		} else if c > n-1 {
			if size <= 1 {
				c = 0
			} else {
				sz := n - 1
				c -= n * float32(int64(c/sz))
			}
		}
	}
	return min(max(c, 0), n-1)
}

func (o *projectiveOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, tr := in[0], in[1]
	if len(x.Shape) != 4 {
		return nil, o.n.InputErrorf("images must be 4-D NHWC, got %v", x.Shape)
	}
	if o.dt != classify.Invalid && x.DType != o.dt {
		return nil, o.n.InputErrorf("images are %v, dtype attribute says %v", x.DType, o.dt)
	}
	b, ih, iw, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if tr.DType != classify.Float32 || len(tr.Shape) != 2 || tr.Shape[1] != 8 || (tr.Shape[0] != 1 && tr.Shape[0] != b) {
		return nil, o.n.InputErrorf("transforms must be float32 [1 or %d, 8], got %v %v", b, tr.DType, tr.Shape)
	}
	oh, ow := o.h, o.w
	if oh == 0 {
		var err error
		if oh, ow, err = resizeSize(in[2]); err != nil {
			return nil, o.n.InputErrorf("output_shape: %v", err)
		}
	}
	if float64(b)*float64(oh)*float64(ow)*float64(c) > maxTransformElements {
		return nil, o.n.InputErrorf("output [%d %d %d %d] exceeds %d elements", b, oh, ow, c, maxTransformElements)
	}
	var fill float32
	if len(in) == 4 {
		f := in[3]
		if f.DType != classify.Float32 || f.Len() != 1 {
			return nil, o.n.InputErrorf("fill_value must be a float32 scalar, got %v %v", f.DType, f.Shape)
		}
		fill = f.Float32s()[0]
	}
	read, _, err := elemAccess(x)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, x.DType, b, oh, ow, c)
	_, put, _ := elemAccess(out)
	fillT := truncTo(x.DType, fill)
	// at reads pixel (yy, xx) of image bi channel ch, or the fill value.
	at := func(bi, yy, xx, ch int) float32 {
		if yy < 0 || yy >= ih || xx < 0 || xx >= iw {
			return fillT
		}
		return read(((bi*ih+yy)*iw+xx)*c + ch)
	}
	tv := tr.Float32s()
	for bi := 0; bi < b; bi++ {
		t := tv[:8]
		if tr.Shape[0] > 1 {
			t = tv[8*bi : 8*bi+8]
		}
		for oy := 0; oy < oh; oy++ {
			fy := float32(oy)
			for ox := 0; ox < ow; ox++ {
				fx := float32(ox)
				base := ((bi*oh+oy)*ow + ox) * c
				k := float32(float32(t[6]*fx)+float32(t[7]*fy)) + 1
				if k == 0 {
					for ch := 0; ch < c; ch++ {
						put(out, base+ch, fillT)
					}
					continue
				}
				sx := float32(float32(float32(t[0]*fx)+float32(t[1]*fy))+t[2]) / k
				sy := float32(float32(float32(t[3]*fx)+float32(t[4]*fy))+t[5]) / k
				sx = mapCoord(o.mode, sx, iw)
				sy = mapCoord(o.mode, sy, ih)
				if !finite32(sx) || !finite32(sy) {
					for ch := 0; ch < c; ch++ {
						put(out, base+ch, fillT)
					}
					continue
				}
				if o.nearest {
					yy, xx := coordIndex(float32(math.Round(float64(sy)))), coordIndex(float32(math.Round(float64(sx))))
					for ch := 0; ch < c; ch++ {
						put(out, base+ch, at(bi, yy, xx, ch))
					}
					continue
				}
				y0, x0 := float32(math.Floor(float64(sy))), float32(math.Floor(float64(sx)))
				y1, x1 := y0+1, x0+1
				iy0, ix0, iy1, ix1 := coordIndex(y0), coordIndex(x0), coordIndex(y1), coordIndex(x1)
				for ch := 0; ch < c; ch++ {
					top := float32((x1-sx)*at(bi, iy0, ix0, ch)) + float32((sx-x0)*at(bi, iy0, ix1, ch))
					bot := float32((x1-sx)*at(bi, iy1, ix0, ch)) + float32((sx-x0)*at(bi, iy1, ix1, ch))
					put(out, base+ch, float32((y1-sy)*top)+float32((sy-y0)*bot))
				}
			}
		}
	}
	return []*classify.Tensor{out}, nil
}

func finite32(f float32) bool { return f == f && f-f == 0 }

// coordIndex converts a whole float coordinate to an index; far-away
// values become -1 (outside every image).
func coordIndex(f float32) int {
	if !(f > -1<<30 && f < 1<<30) {
		return -1
	}
	return int(f)
}

// truncTo is v as the element type dt holds it (integers truncate, as
// TensorFlow's T(float)).
func truncTo(dt classify.DType, v float32) float32 {
	switch dt {
	case classify.Float32, classify.Float64:
		return v
	case classify.Uint8:
		return float32(uint8(int64(v)))
	case classify.Int32:
		return float32(int32(int64(v)))
	}
	return float32(math.Trunc(float64(v)))
}

// elemAccess returns float32 read and write functions over t's elements;
// write stores into the tensor passed as its first argument, truncating
// for integer types.
func elemAccess(t *classify.Tensor) (func(int) float32, func(*classify.Tensor, int, float32), error) {
	switch t.DType {
	case classify.Float32:
		d := t.Float32s()
		return func(i int) float32 { return d[i] },
			func(o *classify.Tensor, i int, v float32) { o.Float32s()[i] = v }, nil
	case classify.Float64:
		d := t.Data.([]float64)
		return func(i int) float32 { return float32(d[i]) },
			func(o *classify.Tensor, i int, v float32) { o.Data.([]float64)[i] = float64(v) }, nil
	case classify.Uint8:
		d := t.Data.([]uint8)
		return func(i int) float32 { return float32(d[i]) },
			func(o *classify.Tensor, i int, v float32) { o.Data.([]uint8)[i] = uint8(int64(v)) }, nil
	case classify.Int32:
		d := t.Int32s()
		return func(i int) float32 { return float32(d[i]) },
			func(o *classify.Tensor, i int, v float32) { o.Int32s()[i] = int32(int64(v)) }, nil
	case classify.Int64:
		d := t.Data.([]int64)
		return func(i int) float32 { return float32(d[i]) },
			func(o *classify.Tensor, i int, v float32) { o.Data.([]int64)[i] = int64(v) }, nil
	}
	return nil, nil, errDType(t.DType)
}

type errDType classify.DType

func (e errDType) Error() string {
	return "images of dtype " + classify.DType(e).String() + " not supported (float32, float64, uint8, int32, int64)"
}

func init() {
	Register("ImageProjectiveTransformV2", buildProjective(false))
	Register("ImageProjectiveTransformV3", buildProjective(true))
}
