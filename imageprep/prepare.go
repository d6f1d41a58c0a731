package imageprep

import (
	"fmt"
	"image"
	"math"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/classifyd/classifyd/classify"
)

// CropRect returns the crop box Prepare uses for an image of the given size
// and the point pt, both relative to the image's top-left corner:
//
//   - the side is p.CropPixels, or else p.CropFraction of the shorter side
//     (rounded, at least 1 pixel); with neither, the whole image;
//   - the box is centred on pt (for an odd side, pt is its centre pixel) and
//     shifted to stay inside the image;
//   - a side larger than the image is clamped to it, so near-edge and tiny
//     images give a smaller, possibly non-square box rather than padding.
//
// CropRect does not check that pt lies inside the image; Prepare does.
func CropRect(size image.Point, p classify.Preprocess, pt image.Point) image.Rectangle {
	if size.X <= 0 || size.Y <= 0 {
		return image.Rectangle{}
	}
	var side int
	switch {
	case p.CropPixels > 0:
		side = p.CropPixels
	case p.CropFraction > 0:
		side = max(1, int(math.Round(p.CropFraction*float64(min(size.X, size.Y)))))
	default:
		return image.Rectangle{Max: size}
	}
	w, h := min(side, size.X), min(side, size.Y)
	x0 := clamp(pt.X-w/2, 0, size.X-w)
	y0 := clamp(pt.Y-h/2, 0, size.Y-h)
	return image.Rect(x0, y0, x0+w, y0+h)
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// tfBilinear names TensorFlow's own tf.image.resize bilinear (half-pixel
// centres, no antialiasing), which is not one of imaging's filters: see
// scaler.tfResize.
const tfBilinear = "tf_bilinear"

// filters are the resize choices imaging's filters implement.
var filters = map[string]imaging.ResampleFilter{
	"":           imaging.Linear,
	"bilinear":   imaging.Linear,
	"nearest":    imaging.NearestNeighbor,
	"box":        imaging.Box,
	"catmullrom": imaging.CatmullRom,
	"lanczos":    imaging.Lanczos,
}

// Prepare makes one model's input from a decoded image: it crops the box
// CropRect gives around pt (relative to the image's top-left corner),
// resizes it to p.Width x p.Height with p.Resize, orders the channels and
// scales the values, returning a [1,Height,Width,3] float32 tensor.
//
// Transparent pixels are composited over white, the background a browser
// shows them on (and the usual one of product cut-outs); grayscale and
// paletted images become RGB. Only the crop is converted to 8-bit RGBA, so
// a small crop of a large photo costs little.
//
// A point outside the image wraps ErrPoint; an unusable Preprocess wraps
// classify.ErrInvalidInput. Prepare is safe for concurrent use, also on one
// image.
func Prepare(img image.Image, p classify.Preprocess, pt image.Point) (*classify.Tensor, error) {
	pr, err := newPrep(p)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	size := b.Size()
	if pt.X < 0 || pt.Y < 0 || pt.X >= size.X || pt.Y >= size.Y {
		return nil, fmt.Errorf("%w: (%d,%d) not in %dx%d", ErrPoint, pt.X, pt.Y, size.X, size.Y)
	}
	r := CropRect(size, p, pt).Add(b.Min)
	v, ok := viewOf(img, r)
	if !ok {
		// A type the resampler does not read in place (YCbCr from WebP,
		// 16-bit, ...): only the crop is converted.
		crop := imaging.Crop(img, r)
		v, _ = viewOf(crop, crop.Rect)
	}
	return pr.run(&v), nil
}

// prep is a checked Preprocess, ready to make tensors.
type prep struct {
	sc     *scaler
	w, h   int
	tf     bool // tf_bilinear
	filter imaging.ResampleFilter
}

// newPrep checks p: an unusable Preprocess wraps classify.ErrInvalidInput.
func newPrep(p classify.Preprocess) (*prep, error) {
	sc, err := newScaler(p)
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(p.Resize)
	filter, ok := filters[name]
	if !ok && name != tfBilinear {
		return nil, fmt.Errorf("%w: preprocess: unknown resize filter %q", classify.ErrInvalidInput, p.Resize)
	}
	if p.Width <= 0 || p.Height <= 0 || p.Width > 1<<14 || p.Height > 1<<14 {
		return nil, fmt.Errorf("%w: preprocess: input size %dx%d", classify.ErrInvalidInput, p.Width, p.Height)
	}
	if p.CropPixels < 0 || p.CropFraction < 0 || math.IsNaN(p.CropFraction) {
		return nil, fmt.Errorf("%w: preprocess: negative crop", classify.ErrInvalidInput)
	}
	return &prep{sc: sc, w: p.Width, h: p.Height, tf: name == tfBilinear, filter: filter}, nil
}

// run makes the [1,h,w,3] tensor from the whole of view v.
func (pr *prep) run(v *view) *classify.Tensor {
	t := classify.NewTensor(classify.Float32, 1, pr.h, pr.w, 3)
	if pr.tf {
		pr.sc.tfResize(t.Float32s(), v, pr.w, pr.h)
	} else {
		pr.sc.resample(t.Float32s(), v, pr.w, pr.h, pr.filter)
	}
	return t
}

// cost bounds the bytes run allocates for a cw x ch view, the tensor
// included.
func (pr *prep) cost(cw, ch int) int64 {
	c := 12 * int64(pr.w) * int64(pr.h)
	if pr.tf {
		return c + tfResizeCost(cw, pr.w, pr.h)
	}
	return c + resampleCost(cw, ch, pr.w, pr.h, pr.filter.Support)
}

// PrepareCost bounds the bytes Prepare allocates for an image of the given
// size: the crop converted to 8-bit RGBA, the resize's filter weights,
// intermediate and result, and the float32 tensor. The server reserves it
// before preparing.
func PrepareCost(size image.Point, p classify.Preprocess, pt image.Point) int64 {
	r := CropRect(size, p, pt)
	cw, ch := int64(r.Dx()), int64(r.Dy())
	w, h := int64(max(p.Width, 0)), int64(max(p.Height, 0))
	// Each output row or column has up to 2*support*scale taps (support
	// 3 for Lanczos) of an index and a weight.
	weights := 16 * 6 * (cw + ch + w + h)
	return 4*cw*ch + weights + 4*w*ch + 4*w*h + 12*w*h + slack
}

// scaler maps 8-bit channel values to model values through a 256-entry
// table per channel, so the per-pixel work is three lookups.
// For values between the levels (tf_bilinear), value gives the same map.
type scaler struct {
	bgr                bool
	lut                [3][256]float32
	mul, sub, div, add [3]float64
}

// value maps a channel value x of output channel c as the table does
// the levels: (x*mul - sub)/div + add.
func (s *scaler) value(c int, x float64) float32 {
	return float32((x*s.mul[c]-s.sub[c])/s.div[c] + s.add[c])
}

func newScaler(p classify.Preprocess) (*scaler, error) {
	s := &scaler{}
	switch strings.ToUpper(p.Channels) {
	case "", "RGB":
	case "BGR":
		s.bgr = true
	default:
		return nil, fmt.Errorf("%w: preprocess: channels %q, want RGB or BGR", classify.ErrInvalidInput, p.Channels)
	}
	var mean, std [3]float64
	switch {
	case len(p.Range) == 2:
		lo, hi := float64(p.Range[0]), float64(p.Range[1])
		if lo == hi || math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
			return nil, fmt.Errorf("%w: preprocess: range %v", classify.ErrInvalidInput, p.Range)
		}
		// v*(hi-lo)/255 + lo computed in float64 hits both ends exactly and
		// equals TensorFlow's own x/127.5 - 1 for [-1, 1].
		for c := range 3 {
			s.mul[c], s.div[c], s.add[c] = hi-lo, 255, lo // sub 0
			for v := range 256 {
				s.lut[c][v] = float32(float64(v)*(hi-lo)/255 + lo)
			}
		}
		return s, nil
	case len(p.Range) != 0:
		return nil, fmt.Errorf("%w: preprocess: range needs 2 values, has %d", classify.ErrInvalidInput, len(p.Range))
	}
	var err error
	if mean, err = perChannel("mean", p.Mean, 0); err != nil {
		return nil, err
	}
	if std, err = perChannel("std", p.Std, 1); err != nil {
		return nil, err
	}
	for c := range 3 {
		if std[c] == 0 || math.IsNaN(std[c]) {
			return nil, fmt.Errorf("%w: preprocess: std %v has a zero", classify.ErrInvalidInput, p.Std)
		}
		s.mul[c], s.sub[c], s.div[c] = 1, mean[c], std[c] // add 0
		for v := range 256 {
			s.lut[c][v] = float32((float64(v) - mean[c]) / std[c])
		}
	}
	return s, nil
}

// perChannel expands a mean or std given as nothing, one value or three
// values (in the order of the output channels).
func perChannel(name string, v []float32, def float64) ([3]float64, error) {
	switch len(v) {
	case 0:
		return [3]float64{def, def, def}, nil
	case 1:
		return [3]float64{float64(v[0]), float64(v[0]), float64(v[0])}, nil
	case 3:
		return [3]float64{float64(v[0]), float64(v[1]), float64(v[2])}, nil
	}
	return [3]float64{}, fmt.Errorf("%w: preprocess: %s needs 1 or 3 values, has %d", classify.ErrInvalidInput, name, len(v))
}

// overWhite composites a non-premultiplied channel value c with alpha a
// over white, rounding to nearest.
func overWhite(c, a uint8) uint8 {
	return uint8((uint32(c)*uint32(a) + 255*(255-uint32(a)) + 127) / 255)
}
