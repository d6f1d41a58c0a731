package ops

// Colour adjustments of float images whose innermost dimension is the
// channel: AdjustContrastv2 (per image and channel, x -> mean + f*(x-mean)
// with the mean over height and width), AdjustSaturation and AdjustHue
// (per RGB pixel through HSV), RGBToHSV and HSVToRGB. The float32 arithmetic
// follows TensorFlow's CPU kernels step by step, so that results agree to
// the last bits where it matters (a hue of exactly 1 after wrapping, the
// v-range form AdjustHue works in that keeps each pixel's max and min).

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

type imgAdjustOp struct {
	n    *Node
	kind string
}

func buildImgAdjust(kind string) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		want := 2
		if kind == "RGBToHSV" || kind == "HSVToRGB" {
			want = 1
		}
		if n.NumInputs != want {
			return nil, n.Errorf("want %d inputs, have %d", want, n.NumInputs)
		}
		if dt := n.Type("T"); dt != classify.Invalid && !(&imgAdjustOp{kind: kind}).supports(dt) {
			return nil, n.Errorf("T %v not supported (%s)", dt, (&imgAdjustOp{kind: kind}).dtypes())
		}
		return &imgAdjustOp{n: n, kind: kind}, nil
	}
}

// supports reports the dtypes TensorFlow's CPU kernels take: float32 for
// the adjustments, float32 and float64 for the colour-space conversions.
func (o *imgAdjustOp) supports(dt classify.DType) bool {
	return dt == classify.Float32 || dt == classify.Float64 && (o.kind == "RGBToHSV" || o.kind == "HSVToRGB")
}

func (o *imgAdjustOp) dtypes() string {
	if o.kind == "RGBToHSV" || o.kind == "HSVToRGB" {
		return "float32, float64"
	}
	return "float32"
}

// checkShape validates an image shape (dims may be -1), calling fail.
func (o *imgAdjustOp) checkShape(s classify.Shape, fail func(string, ...any) error) error {
	switch o.kind {
	case "AdjustContrastv2":
		if len(s) < 3 {
			return fail("images must be at least 3-D [..., height, width, channels], have %v", s)
		}
	case "AdjustHue", "AdjustSaturation":
		if len(s) < 3 {
			return fail("images must be at least 3-D [..., height, width, 3], have %v", s)
		}
		fallthrough
	default:
		if len(s) < 1 || s[len(s)-1] >= 0 && s[len(s)-1] != 3 {
			return fail("images must have 3 channels in the last dimension, have %v", s)
		}
	}
	return nil
}

// OutputInfo implements Shaper.
func (o *imgAdjustOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = o.n.Type("T")
	}
	if dt != classify.Invalid && !o.supports(dt) {
		return nil, o.n.Errorf("images of %v not supported (%s)", dt, o.dtypes())
	}
	if s := in[0].Shape; s != nil {
		if err := o.checkShape(s, o.n.Errorf); err != nil {
			return nil, err
		}
	}
	if len(in) > 1 && in[1].Shape != nil && len(in[1].Shape) != 0 {
		return nil, o.n.Errorf("the factor must be a scalar, has shape %v", in[1].Shape)
	}
	return []classify.TensorInfo{{DType: dt, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *imgAdjustOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if !o.supports(x.DType) {
		return nil, o.n.InputErrorf("images of %v not supported (%s)", x.DType, o.dtypes())
	}
	if err := o.checkShape(x.Shape, o.n.InputErrorf); err != nil {
		return nil, err
	}
	var factor float32
	if len(in) > 1 {
		f := in[1]
		if f.DType != classify.Float32 || len(f.Shape) != 0 {
			return nil, o.n.InputErrorf("the factor must be a float32 scalar, is %v %v", f.DType, f.Shape)
		}
		factor = f.Float32s()[0]
	}
	y := ctx.Output(0, x.DType, x.Shape...)
	if y.Len() == 0 {
		return []*classify.Tensor{y}, nil
	}
	if x.DType == classify.Float64 {
		src, dst := x.Data.([]float64), y.Data.([]float64)
		pixels := len(src) / 3
		ewParallel(ctx, pixels, 16, func(lo, hi int) {
			if o.kind == "RGBToHSV" {
				rgbToHSV(dst[3*lo:3*hi], src[3*lo:3*hi])
			} else {
				hsvToRGB(dst[3*lo:3*hi], src[3*lo:3*hi])
			}
		})
		return []*classify.Tensor{y}, nil
	}
	src, dst := x.Float32s(), y.Float32s()
	switch o.kind {
	case "AdjustContrastv2":
		adjustContrast(dst, src, x.Shape, factor)
		return []*classify.Tensor{y}, nil
	case "AdjustHue":
		if math.IsNaN(float64(factor)) || math.IsInf(float64(factor), 0) {
			return nil, o.n.InputErrorf("delta %v is not finite", factor)
		}
	}
	pixels := len(src) / 3
	ewParallel(ctx, pixels, 16, func(lo, hi int) {
		s, d := src[3*lo:3*hi], dst[3*lo:3*hi]
		switch o.kind {
		case "AdjustHue":
			adjustHue(d, s, factor)
		case "AdjustSaturation":
			adjustSaturation(d, s, factor)
		case "RGBToHSV":
			rgbToHSV(d, s)
		case "HSVToRGB":
			hsvToRGB(d, s)
		}
	})
	return []*classify.Tensor{y}, nil
}

// adjustContrast computes each image's channel means by folding its
// [pixels, channels] plane in half until one row is left (in dst, as
// scratch), which keeps the float32 sums balanced as TensorFlow's do, then
// writes mean + f*(x-mean).
func adjustContrast(dst, src []float32, shape classify.Shape, f float32) {
	r := len(shape)
	pix, c := shape[r-3]*shape[r-2], shape[r-1]
	plane := pix * c
	mean := make([]float32, c)
	for b := 0; b < len(src)/plane; b++ {
		x, y := src[b*plane:][:plane], dst[b*plane:][:plane]
		rows := pix
		for first := true; first || rows > 1; first = false {
			right := rows / 2
			left := rows - right
			if first {
				for i := range right * c {
					y[i] = x[i] + x[left*c+i]
				}
				if left > right {
					copy(y[right*c:left*c], x[right*c:left*c])
				}
			} else {
				for i := range right * c {
					y[i] += y[left*c+i]
				}
			}
			rows = left
		}
		scale := 1 / float32(pix)
		for k := range mean {
			mean[k] = y[k] * scale
		}
		for p := range pix {
			for k, m := range mean {
				i := p*c + k
				y[i] = m + f*(x[i]-m)
			}
		}
	}
}

// adjustHue rotates the hue of each pixel by delta turns in the v-range
// form: hue in [0, 6), and the pixel's max and min kept as they are.
func adjustHue(dst, src []float32, delta float32) {
	d := delta * 6
	for i := 0; i+2 < len(src); i += 3 {
		h, lo, hi := rgbToHueRange(src[i], src[i+1], src[i+2])
		h += d
		if h < 0 || h >= 6 {
			// A delta of a few turns wraps in a step or two; larger
			// ones (outside the documented [-1, 1]) by a floor.
			for k := 0; k < 4 && h < 0; k++ {
				h += 6
			}
			for k := 0; k < 4 && h >= 6; k++ {
				h -= 6
			}
			if h < 0 || h >= 6 {
				h -= 6 * float32(math.Floor(float64(h)/6))
				if !(h >= 0 && h < 6) {
					h = 0
				}
			}
		}
		dst[i], dst[i+1], dst[i+2] = hueRangeToRGB(h, lo, hi)
	}
}

// rgbToHueRange returns the hue in [0, 6] and the smallest and largest
// component. Ties between components may fall on either side.
func rgbToHueRange(r, g, b float32) (h, lo, hi float32) {
	var mid float32
	var sector int
	switch {
	case r < g && b < r:
		hi, mid, lo, sector = g, r, b, 1
	case r < g && b > g:
		hi, mid, lo, sector = b, g, r, 3
	case r < g:
		hi, mid, lo, sector = g, b, r, 2
	case b < g:
		hi, mid, lo, sector = r, g, b, 0
	case b > r:
		hi, mid, lo, sector = b, r, g, 4
	default:
		hi, mid, lo, sector = r, b, g, 5
	}
	if hi == lo {
		return 0, lo, hi
	}
	t := (mid - lo) / (hi - lo)
	if sector&1 != 0 {
		t = 1 - t
	}
	return float32(sector) + t, lo, hi
}

func hueRangeToRGB(h, lo, hi float32) (r, g, b float32) {
	sector := int(h)
	t := h - float32(sector)
	if sector&1 != 0 {
		t = 1 - t
	}
	mid := lo + t*(hi-lo)
	switch sector {
	case 0:
		return hi, mid, lo
	case 1:
		return mid, hi, lo
	case 2:
		return lo, hi, mid
	case 3:
		return lo, mid, hi
	case 4:
		return mid, lo, hi
	}
	return hi, lo, mid
}

// adjustSaturation scales each pixel's HSV saturation, clamped to [0, 1].
func adjustSaturation(dst, src []float32, scale float32) {
	for i := 0; i+2 < len(src); i += 3 {
		r, g, b := src[i], src[i+1], src[i+2]
		v := max(r, g, b)
		rng := v - min(r, g, b)
		var s float32
		if v > 0 {
			s = rng / v
		}
		norm := 1 / (6 * rng)
		var h float32
		switch {
		case r == v:
			h = norm * (g - b)
		case g == v:
			h = float32(float64(norm*(b-r)) + 2.0/6.0)
		default:
			h = float32(float64(norm*(r-g)) + 4.0/6.0)
		}
		if rng <= 0 {
			h = 0
		}
		if h < 0 {
			h++
		}
		s = min(1, max(0, s*scale))
		// Back from HSV by chroma; a hue that rounded up to 1 falls in
		// no sector and leaves only the grey part, as in TensorFlow.
		c := s * v
		m := v - c
		dh := h * 6
		sector := int(dh)
		if math.IsNaN(float64(dh)) {
			sector = -1
		}
		fm := float32(math.Mod(float64(dh), 2))
		if fm <= 0 {
			fm += 2
		}
		if fm >= 2 {
			fm -= 2
		}
		xx := c * (1 - float32(math.Abs(float64(fm-1))))
		var rr, gg, bb float32
		switch sector {
		case 0:
			rr, gg = c, xx
		case 1:
			rr, gg = xx, c
		case 2:
			gg, bb = c, xx
		case 3:
			gg, bb = xx, c
		case 4:
			rr, bb = xx, c
		case 5:
			rr, bb = c, xx
		}
		dst[i], dst[i+1], dst[i+2] = rr+m, gg+m, bb+m
	}
}

// rgbToHSV converts pixels to hue in [0, 1), saturation and value.
func rgbToHSV[T float32 | float64](dst, src []T) {
	for i := 0; i+2 < len(src); i += 3 {
		r, g, b := src[i], src[i+1], src[i+2]
		v := max(r, g, b)
		rng := v - min(r, g, b)
		var s, h T
		if v > 0 {
			s = rng / v
		}
		if rng > 0 {
			norm := 1 / (6 * rng)
			switch {
			case r == v:
				h = norm * (g - b)
			case g == v:
				h = norm*(b-r) + T(2)/6
			default:
				h = norm*(r-g) + T(4)/6
			}
		}
		if h < 0 {
			h++
		}
		dst[i], dst[i+1], dst[i+2] = h, s, v
	}
}

// hsvToRGB converts hue (in turns), saturation and value to RGB by the
// piecewise-linear channel ramps of the hue.
func hsvToRGB[T float32 | float64](dst, src []T) {
	abs := func(x T) T {
		if x < 0 {
			return -x
		}
		return x
	}
	clamp := func(x T) T { return min(max(x, 0), 1) }
	for i := 0; i+2 < len(src); i += 3 {
		h, s, v := src[i], src[i+1], src[i+2]
		dh := h * 6
		dr := clamp(abs(dh-3) - 1)
		dg := clamp(2 - abs(dh-2))
		db := clamp(2 - abs(dh-4))
		grey := 1 - s
		dst[i], dst[i+1], dst[i+2] = (grey+s*dr)*v, (grey+s*dg)*v, (grey+s*db)*v
	}
}

func init() {
	for _, k := range []string{"AdjustContrastv2", "AdjustHue", "AdjustSaturation", "RGBToHSV", "HSVToRGB"} {
		Register(k, buildImgAdjust(k))
	}
}
