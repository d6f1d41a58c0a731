package imageprep

import (
	"errors"
	"fmt"
	"image"
	"slices"
	"sync"

	"github.com/disintegration/imaging"

	"github.com/classifyd/classifyd/classify"
	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
	pngdec "github.com/classifyd/classifyd/imageprep/png"
)

// Source is one uploaded image, ready to give each model its input. It
// decodes only what the models need, once for all of them: a JPEG is
// decoded for each model at the smallest DCT scale (1/8, 1/4, 1/2) that
// still gives the model's input resolution over its crop, and only the
// blocks the crop covers, in one pass over the file for every model Plan
// named (the 80 % crop of a 12 MP photo for a 128x128 model is an
// eighth-size decode and a 9x9 colour patch a few full-size blocks). A PNG
// is decoded once, only down to the last row a planned crop needs; other
// formats once, in full.
//
// A Source is safe for concurrent use: models prepare their inputs in
// parallel.
type Source struct {
	data []byte
	hdr  Header
	jpeg *jpegdec.Header // nil: not a JPEG our decoder takes; full decode

	mu   sync.Mutex
	plan *plan // set by Plan; nil until then

	once sync.Once
	full image.Image
	err  error
}

// plan is what one Plan call decided: the regions to decode (distinct;
// models wanting the same one share it), decoded together the first time
// a model needs one.
type plan struct {
	pt      image.Point
	regions []region
	rows    int // a PNG: the rows to decode (0: none planned)

	once sync.Once
	imgs []*jpegdec.Image // regions[i]'s decode, nil once released
	err  error            // a JPEG's after once; a PNG's under pngMu once pngDone

	// A PNG is decoded on a goroutine of its own, started by the first
	// Prepare; models read the rows as they become final.
	pngMu    sync.Mutex
	pngCond  *sync.Cond
	pngImg   image.Image // the image being decoded (rows [0, rows)), once known
	pngReady int         // rows of pngImg that are final
	pngDone  bool        // the decode has returned; err is its error

	// Guarded by Source.mu: planned uses of imgs[i] not yet begun, and
	// uses under way; the image goes back to the pool when both are 0.
	left, active []int
}

// decodeRegions decodes several regions (and scales) of one JPEG in one
// entropy-decoding pass; result i is what jpegdec.Decode(data, opts[i])
// gives. A variable, so that tests can watch the calls.
var decodeRegions = jpegdec.DecodeRegions

// NewSource inspects data (see Inspect) and returns a Source for it. The
// Source keeps data and decodes from it in place: data must not change
// while the Source is in use.
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

// regionOf decides a JPEG model's region and scale.
func (s *Source) regionOf(p classify.Preprocess, pt image.Point) region {
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

// scaledSize bounds the size of region r's decode.
func scaledSize(r region) (int, int) {
	return (r.rect.Dx()+r.scale-1)/r.scale + 1, (r.rect.Dy()+r.scale-1)/r.scale + 1
}

// Plan names the models that will be prepared at pt, so that one decode
// serves them all; call it once, before the first Prepare. A Prepare of a
// model Plan did not name (or at another point) decodes what it needs on
// its own. Models with an unusable Preprocess are left out: their Prepare
// fails before decoding.
func (s *Source) Plan(ps []classify.Preprocess, pt image.Point) {
	pl := &plan{pt: pt}
	for _, p := range ps {
		if _, err := newPrep(p); err != nil {
			continue
		}
		if s.jpeg == nil {
			pl.rows = max(pl.rows, CropRect(s.hdr.Size(), p, pt).Max.Y)
			continue
		}
		r := s.regionOf(p, pt)
		i := slices.Index(pl.regions, r)
		if i < 0 {
			i = len(pl.regions)
			pl.regions = append(pl.regions, r)
			pl.left = append(pl.left, 0)
		}
		pl.left[i]++
	}
	pl.active = make([]int, len(pl.regions))
	if s.hdr.Format != "png" {
		pl.rows = 0
	}
	s.mu.Lock()
	s.plan = pl
	s.mu.Unlock()
}

// Cost bounds the bytes preparing every model of ps at pt allocates, after
// Plan(ps, pt): the decode (for a JPEG, of every region at once) and each
// model's resize and tensor.
func (s *Source) Cost(ps []classify.Preprocess, pt image.Point) int64 {
	var total int64
	rows := 0
	var regions []region
	for _, p := range ps {
		pr, err := newPrep(p)
		if err != nil {
			continue // fails before allocating
		}
		if s.jpeg == nil {
			crop := CropRect(s.hdr.Size(), p, pt)
			rows = max(rows, crop.Max.Y)
			total += pr.cost(crop.Dx(), crop.Dy())
			if s.hdr.Format != "png" {
				// An image type the resampler does not read in place
				// (WebP's YCbCr) has its crop converted first.
				total += 4 * int64(crop.Dx()) * int64(crop.Dy())
			}
			continue
		}
		r := s.regionOf(p, pt)
		if !slices.Contains(regions, r) {
			regions = append(regions, r)
		}
		total += pr.cost(scaledSize(r))
	}
	switch {
	case s.jpeg != nil:
		if len(regions) > 0 {
			// One DecodeRegions call for all of them (the decoder's
			// own state included).
			total += s.jpeg.CostRegions(regionOpts(regions))
		}
	case s.hdr.Format == "png" && rows > 0:
		h, err := pngdec.DecodeConfig(s.data)
		if err != nil {
			return total + s.hdr.Cost
		}
		total += h.CostRows(rows)
	default:
		total += s.hdr.Cost
	}
	return total + 4<<10 // the plan and result slices
}

// Prepare makes one model's input, as the package-level Prepare does on
// the decoded image, from what the model needs of the file.
func (s *Source) Prepare(p classify.Preprocess, pt image.Point) (*classify.Tensor, error) {
	size := s.hdr.Size()
	if pt.X < 0 || pt.Y < 0 || pt.X >= size.X || pt.Y >= size.Y {
		return nil, fmt.Errorf("%w: (%d,%d) not in %dx%d", ErrPoint, pt.X, pt.Y, size.X, size.Y)
	}
	pr, err := newPrep(p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	pl := s.plan
	s.mu.Unlock()
	if pl != nil && pl.pt != pt {
		pl = nil
	}
	if s.jpeg == nil {
		return s.prepareOther(pr, pl, p, pt)
	}
	r := s.regionOf(p, pt)
	i := -1
	if pl != nil {
		i = slices.Index(pl.regions, r)
	}
	var m *jpegdec.Image
	if i >= 0 {
		pl.once.Do(func() { pl.decodeJPEG(s) })
		if pl.err != nil {
			return nil, jpegErr(pl.err)
		}
		s.mu.Lock()
		if pl.left[i] > 0 {
			pl.left[i]--
			pl.active[i]++
			m = pl.imgs[i]
		}
		s.mu.Unlock()
	}
	if m == nil {
		// Not planned, or prepared more often than planned.
		m, err = jpegdec.Decode(s.data, jpegdec.Options{Scale: r.scale, Region: r.rect, MaxBytes: s.jpeg.Cost(r.scale)})
		if err != nil {
			return nil, jpegErr(err)
		}
		defer m.Release()
	} else {
		defer func() {
			s.mu.Lock()
			pl.active[i]--
			if pl.left[i] == 0 && pl.active[i] == 0 {
				pl.imgs[i].Release()
				pl.imgs[i] = nil
			}
			s.mu.Unlock()
		}()
	}
	// The region is the crop (to within a block at this scale): the
	// model sees all of it.
	up := uprightSize(m.Rect.Dx(), m.Rect.Dy(), s.hdr.Orientation)
	v := jpegView(m, s.hdr.Orientation, image.Rectangle{Max: up})
	return pr.run(&v), nil
}

// decodeJPEG decodes every planned region in one go.
func (pl *plan) decodeJPEG(s *Source) {
	opts := regionOpts(pl.regions)
	// Every option's MaxBytes must hold the decode's total; Cost
	// reserved exactly that.
	limit := s.jpeg.CostRegions(opts)
	for i := range opts {
		opts[i].MaxBytes = limit
	}
	imgs, err := decodeRegions(s.data, opts)
	if err == nil && len(imgs) != len(opts) {
		err = fmt.Errorf("%w: %d regions decoded, %d asked for", jpegdec.ErrCorrupt, len(imgs), len(opts))
	}
	pl.imgs, pl.err = imgs, err
}

// regionOpts are the decoder options of regions.
func regionOpts(regions []region) []jpegdec.Options {
	opts := make([]jpegdec.Options, len(regions))
	for i, r := range regions {
		opts[i] = jpegdec.Options{Scale: r.scale, Region: r.rect}
	}
	return opts
}

// prepareOther prepares a model's input from a format other than JPEG:
// from the planned decode when it holds the crop's rows, else from the
// full one.
func (s *Source) prepareOther(pr *prep, pl *plan, p classify.Preprocess, pt image.Point) (*classify.Tensor, error) {
	crop := CropRect(s.hdr.Size(), p, pt)
	if pl != nil && pl.rows > 0 && crop.Max.Y <= pl.rows {
		return pl.preparePNG(s, pr, crop)
	}
	img, err := s.Full()
	if err != nil {
		return nil, err
	}
	// A GIF's first frame may be smaller than its screen: the crop is
	// the frame's, as Prepare makes it.
	size := img.Bounds().Size()
	if pt.X >= size.X || pt.Y >= size.Y {
		return nil, fmt.Errorf("%w: (%d,%d) not in the %dx%d frame", ErrPoint, pt.X, pt.Y, size.X, size.Y)
	}
	crop = CropRect(size, p, pt)
	r := crop.Add(img.Bounds().Min)
	v, ok := viewOf(img, r)
	if !ok {
		c := imaging.Crop(img, r)
		v, _ = viewOf(c, c.Rect)
	}
	return pr.run(&v), nil
}

// preparePNG prepares a model's input from the planned PNG decode,
// starting it if no model has: an opaque image is resized row by row as
// the decoder finishes them (the two overlap on two CPUs), any other once
// it is complete. The input is returned only if the whole decode succeeds.
func (pl *plan) preparePNG(s *Source, pr *prep, crop image.Rectangle) (*classify.Tensor, error) {
	pl.once.Do(func() {
		pl.pngCond = sync.NewCond(&pl.pngMu)
		go pl.decodeRows(s)
	})
	pl.pngMu.Lock()
	for pl.pngImg == nil && !pl.pngDone {
		pl.pngCond.Wait()
	}
	img := pl.pngImg
	pl.pngMu.Unlock()
	if img == nil {
		return nil, pl.wait()
	}
	v, _ := viewOf(img, crop) // a PNG: its size is the header's
	switch img.(type) {
	case *pngdec.RGBImage, *image.Gray:
		v.wait = func(y int) { pl.waitRows(crop.Min.Y + y + 1) }
	default:
		// viewOf has looked for transparency in rows not yet final:
		// look again once they are.
		if err := pl.wait(); err != nil {
			return nil, err
		}
		v, _ = viewOf(img, crop)
	}
	x := pr.run(&v)
	if err := pl.wait(); err != nil {
		return nil, err
	}
	return x, nil
}

// decodeRows decodes the PNG down to the planned row, publishing the rows
// as they are done.
func (pl *plan) decodeRows(s *Source) {
	img, err := pngdec.Decode(s.data, pngdec.Options{MaxRows: pl.rows, RGB: true, Rows: func(m image.Image, n int) {
		if b := m.Bounds(); b.Dx() != s.hdr.Width || b.Dy() != pl.rows {
			return // refused once Decode returns
		}
		pl.pngMu.Lock()
		pl.pngImg, pl.pngReady = m, n
		pl.pngMu.Unlock()
		pl.pngCond.Broadcast()
	}})
	if err != nil {
		err = fmt.Errorf("%w: png: %v", ErrCorrupt, err)
	} else if b := img.Bounds(); b.Dx() != s.hdr.Width || b.Dy() != pl.rows {
		err = fmt.Errorf("%w: png header says %dx%d, decoded %dx%d of %d rows", ErrCorrupt, s.hdr.Width, s.hdr.Height, b.Dx(), b.Dy(), pl.rows)
	}
	pl.pngMu.Lock()
	pl.err, pl.pngDone = err, true
	pl.pngMu.Unlock()
	pl.pngCond.Broadcast()
}

// waitRows waits until the PNG's first n rows are final or the decode
// has ended (then a row past those done is garbage: wait reports why).
func (pl *plan) waitRows(n int) {
	pl.pngMu.Lock()
	for pl.pngReady < n && !pl.pngDone {
		pl.pngCond.Wait()
	}
	pl.pngMu.Unlock()
}

// wait waits for the PNG decode to end and returns its error.
func (pl *plan) wait() error {
	pl.pngMu.Lock()
	defer pl.pngMu.Unlock()
	for !pl.pngDone {
		pl.pngCond.Wait()
	}
	return pl.err
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
