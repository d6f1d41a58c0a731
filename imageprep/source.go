package imageprep

import (
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/classifyd/classifyd/classify"
	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
)

// Source is one uploaded image, ready to give each model its input. It
// decodes only what the models need: a JPEG is decoded per model at the
// smallest DCT scale (1/8, 1/4, 1/2) that still gives the model's input
// resolution over its crop, and only the blocks the crop covers, so the
// 80 % crop of a 12 MP photo for a 128x128 model is an eighth-size decode
// and a 9x9 colour patch a few full-size blocks. Other formats are decoded
// once, in full, the first time a model needs them.
//
// A Source is safe for concurrent use: models prepare their inputs in
// parallel.
type Source struct {
	data []byte
	hdr  Header
	jpeg *jpegdec.Header // nil: not a JPEG our decoder takes; full decode

	once sync.Once
	full image.Image
	err  error
}

// NewSource inspects data (see Inspect) and returns a Source for it.
func NewSource(data []byte, lim Limits) (*Source, error) {
	h, err := Inspect(data, lim)
	if err != nil {
		return nil, err
	}
	s := &Source{data: data, hdr: h}
	if h.Format == "jpeg" {
		jh, err := jpegdec.DecodeConfig(data)
		if err != nil {
			return nil, jpegErr(err)
		}
		s.jpeg = &jh
	}
	return s, nil
}

// Header is the image's header; Header().Size() is the upright size points
// refer to.
func (s *Source) Header() Header { return s.hdr }

// region is what one model needs decoded: a rectangle in the file's stored
// (not yet EXIF-rotated) coordinates and the DCT scale for it.
type region struct {
	rect  image.Rectangle
	scale int
}

// plan decides a model's region and scale.
func (s *Source) plan(p classify.Preprocess, pt image.Point) region {
	size := s.hdr.Size()
	crop := CropRect(size, p, pt)
	scale := 1
	for _, k := range []int{8, 4, 2} {
		if crop.Dx()/k >= p.Width && crop.Dy()/k >= p.Height {
			scale = k
			break
		}
	}
	return region{rect: storedRect(crop, s.hdr.Orientation, s.hdr.Width, s.hdr.Height), scale: scale}
}

// Cost bounds the bytes preparing every model of ps at pt allocates.
func (s *Source) Cost(ps []classify.Preprocess, pt image.Point) int64 {
	var total int64
	full := false
	for _, p := range ps {
		if s.jpeg == nil {
			full = true
			total += PrepareCost(s.hdr.Size(), p, pt)
			continue
		}
		r := s.plan(p, pt)
		// The decode of a region costs at most the whole image's at that
		// scale; the prepared input is made from the scaled region.
		total += s.jpeg.Cost(r.scale)
		scaled := image.Pt((r.rect.Dx()+r.scale-1)/r.scale+1, (r.rect.Dy()+r.scale-1)/r.scale+1)
		total += 8*int64(scaled.X)*int64(scaled.Y) + PrepareCost(scaled, p, image.Point{}) // RGBA copy and rotation
	}
	if full {
		total += s.hdr.Cost
	}
	return total
}

// Prepare makes one model's input, as the package-level Prepare does on
// the decoded image, from what the model needs of the file.
func (s *Source) Prepare(p classify.Preprocess, pt image.Point) (*classify.Tensor, error) {
	size := s.hdr.Size()
	if pt.X < 0 || pt.Y < 0 || pt.X >= size.X || pt.Y >= size.Y {
		return nil, fmt.Errorf("%w: (%d,%d) not in %dx%d", ErrPoint, pt.X, pt.Y, size.X, size.Y)
	}
	if s.jpeg == nil {
		img, err := s.Full()
		if err != nil {
			return nil, err
		}
		return Prepare(img, p, pt)
	}
	r := s.plan(p, pt)
	m, err := jpegdec.Decode(s.data, jpegdec.Options{Scale: r.scale, Region: r.rect, MaxBytes: s.jpeg.Cost(r.scale)})
	if err != nil {
		return nil, jpegErr(err)
	}
	img := orient(m.ToNRGBA(), s.hdr.Orientation)
	m.Release()
	// The region is the crop (to within a block at this scale): the
	// model sees all of it.
	whole := p
	whole.CropPixels, whole.CropFraction = 0, 0
	b := img.Bounds()
	return Prepare(img, whole, image.Pt(b.Dx()/2, b.Dy()/2))
}

// Full decodes the whole image once (see Decode) and returns it.
func (s *Source) Full() (image.Image, error) {
	s.once.Do(func() { s.full, s.err = decodeInspected(s.data, s.hdr) })
	return s.full, s.err
}

// jpegErr maps the decoder's errors to the package's.
func jpegErr(err error) error {
	switch {
	case errors.Is(err, jpegdec.ErrTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, jpegdec.ErrUnsupported):
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// storedRect maps a rectangle of the upright image (after EXIF orientation
// o) back to the file's stored w x h pixels.
func storedRect(r image.Rectangle, o, w, h int) image.Rectangle {
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	switch o {
	case 2: // mirrored left-right
		return image.Rect(w-x1, y0, w-x0, y1)
	case 3: // turned 180°
		return image.Rect(w-x1, h-y1, w-x0, h-y0)
	case 4: // mirrored top-bottom
		return image.Rect(x0, h-y1, x1, h-y0)
	case 5: // transposed
		return image.Rect(y0, x0, y1, x1)
	case 6: // shown turned 90° clockwise
		return image.Rect(y0, h-x1, y1, h-x0)
	case 7: // transversed
		return image.Rect(w-y1, h-x1, w-y0, h-x0)
	case 8: // shown turned 90° counter-clockwise
		return image.Rect(w-y1, x0, w-y0, x1)
	}
	return r
}
