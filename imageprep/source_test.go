package imageprep

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/classifyd/classifyd/classify"
	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
)

// storedRect must pick, in the stored image, exactly the pixels that the
// upright rectangle shows after each EXIF orientation.
func TestStoredRect(t *testing.T) {
	src := pattern(7, 5)
	for o := 1; o <= 8; o++ {
		up := imaging.Clone(orient(src, o))
		for _, r := range []image.Rectangle{image.Rect(0, 0, 2, 3), image.Rect(1, 2, 4, 4), up.Bounds()} {
			if !r.In(up.Bounds()) {
				continue
			}
			want := imaging.Crop(up, r)
			got := imaging.Clone(orient(imaging.Crop(src, storedRect(r, o, 7, 5)), o))
			if !bytes.Equal(want.Pix, got.Pix) || want.Rect.Size() != got.Rect.Size() {
				t.Errorf("orientation %d, rect %v: stored %v gives other pixels", o, r, storedRect(r, o, 7, 5))
			}
		}
	}
}

// A model's input from a Source agrees with cropping the whole decoded
// image: exactly when the plan decodes at full size (so regions and
// orientation are right), and closely when it scales (the DCT averages
// where the resize filter would).
func TestSourceMatchesFullDecode(t *testing.T) {
	// A photo-like (smooth) image: the scaled paths differ from cropping
	// the full decode by how they average, which noise would exaggerate.
	img := image.NewNRGBA(image.Rect(0, 0, 256, 192))
	for y := range 192 {
		for x := range 256 {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(128 + (x-y)/4), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	if dir := os.Getenv("TEST_IMAGES_DIR"); dir != "" {
		var err error
		if data, err = os.ReadFile(filepath.Join(dir, "grace_hopper.jpg")); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewSource(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// The reference is the same decoder on the whole image (image/jpeg
	// upsamples chroma differently, by up to ~10 levels at colour edges).
	m, err := jpegdec.Decode(data, jpegdec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	full := orient(m.ToNRGBA(), s.Header().Orientation)
	size := s.Header().Size()
	pt := image.Pt(size.X/2, size.Y/3)
	tests := []struct {
		p      classify.Preprocess
		scale  int
		maxAbs float64 // in model units over a [0,1] range
	}{
		{classify.Preprocess{CropPixels: 9, Width: 9, Height: 9, Range: []float32{0, 1}}, 1, 0},
		{classify.Preprocess{CropFraction: 0.8, Width: 16, Height: 16, Range: []float32{0, 1}}, 2, 0.12},
	}
	for _, tt := range tests {
		if r := s.regionOf(tt.p, pt); r.scale < tt.scale && size.X >= 200 {
			t.Errorf("%+v: scale %d, want at least %d", tt.p, r.scale, tt.scale)
		}
		got, err := s.Prepare(tt.p, pt)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Prepare(full, tt.p, pt)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Shape.Equal(want.Shape) {
			t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
		}
		var worst, sum float64
		g, w := got.Float32s(), want.Float32s()
		for i := range g {
			d := math.Abs(float64(g[i] - w[i]))
			worst = max(worst, d)
			sum += d
		}
		t.Logf("%+v: scale %d, max diff %.4f, mean %.5f", tt.p, s.regionOf(tt.p, pt).scale, worst, sum/float64(len(g)))
		if worst > tt.maxAbs {
			t.Errorf("%+v: max diff %.4f over %.4f", tt.p, worst, tt.maxAbs)
		}
	}
	if c := s.Cost([]classify.Preprocess{tests[0].p, tests[1].p}, pt); c <= 0 {
		t.Errorf("cost %d", c)
	}
}

// Under every EXIF orientation, a full-size region is exactly the crop of
// the upright image.
func TestSourceOrientations(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 96, 64))
	for y := range 64 {
		for x := range 96 {
			src.SetNRGBA(x, y, color.NRGBA{uint8(2 * x), uint8(3 * y), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	p := classify.Preprocess{CropPixels: 9, Width: 9, Height: 9, Range: []float32{0, 1}}
	for o := 1; o <= 8; o++ {
		data := withExif(b.Bytes(), "II", uint16(o))
		s, err := NewSource(data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		m, err := jpegdec.Decode(data, jpegdec.Options{})
		if err != nil {
			t.Fatal(err)
		}
		full := orient(m.ToNRGBA(), o)
		for _, pt := range []image.Point{{5, 5}, {30, 20}, {s.Header().Size().X - 1, 0}} {
			got, err := s.Prepare(p, pt)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Prepare(full, p, pt)
			if err != nil {
				t.Fatal(err)
			}
			g, w := got.Float32s(), want.Float32s()
			for i := range g {
				if g[i] != w[i] {
					t.Fatalf("orientation %d, point %v: value %d is %v, want %v", o, pt, i, g[i], w[i])
				}
			}
		}
	}
}

// sourceCases are files of every path Source takes: JPEG (EXIF-rotated
// too), PNG with and without alpha, and a format decoded in full.
func sourceCases(t *testing.T) map[string][]byte {
	t.Helper()
	src := smooth(300, 200, rand.New(rand.NewPCG(7, 8)), opaqueA)
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"jpeg":       jb.Bytes(),
		"jpeg-exif6": withExif(jb.Bytes(), "MM", 6),
		"png":        encode(t, func(b *bytes.Buffer) error { return png.Encode(b, src) }),
		"png-alpha": encode(t, func(b *bytes.Buffer) error {
			return png.Encode(b, smooth(200, 300, rand.New(rand.NewPCG(9, 10)), func(x, y int) uint8 { return uint8(x + y) }))
		}),
		"gif": encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, src, nil) }),
	}
	if dir := os.Getenv("TEST_IMAGES_DIR"); dir != "" {
		for _, f := range []string{"grace_hopper.jpg", "coffee.png"} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			cases[f] = data
		}
	}
	return cases
}

var sourcePreps = []classify.Preprocess{
	{CropFraction: 0.8, Width: 128, Height: 128, Range: []float32{-1, 1}},
	{CropPixels: 9, Width: 9, Height: 9, Range: []float32{0, 1}},
	{CropPixels: 9, Width: 9, Height: 9, Range: []float32{0, 1}, Channels: "BGR"}, // the same region as the one before
	{CropFraction: 0.5, Width: 16, Height: 16, Resize: "tf_bilinear"},
}

// With a plan, models prepared concurrently share one decode (one
// decodeRegions call for a JPEG, covering each distinct region once), get
// exactly what a Source without a plan gives them, and the decoded regions
// go back to the pool once every planned model has its input.
func TestSourcePlanDecodesOnce(t *testing.T) {
	var calls, regions atomic.Int32
	orig := decodeRegions
	decodeRegions = func(data []byte, opts []jpegdec.Options) ([]*jpegdec.Image, error) {
		calls.Add(1)
		regions.Add(int32(len(opts)))
		return orig(data, opts)
	}
	defer func() { decodeRegions = orig }()
	for name, data := range sourceCases(t) {
		for _, pt := range []image.Point{{40, 150}, {0, 0}} {
			calls.Store(0)
			regions.Store(0)
			s, err := NewSource(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			ref, err := NewSource(data, Limits{}) // no plan: every model decodes alone
			if err != nil {
				t.Fatal(err)
			}
			s.Plan(sourcePreps, pt)
			got := make([]*classify.Tensor, len(sourcePreps))
			errs := make([]error, len(sourcePreps))
			var wg sync.WaitGroup
			for i, p := range sourcePreps {
				wg.Go(func() { got[i], errs[i] = s.Prepare(p, pt) })
			}
			wg.Wait()
			for i, p := range sourcePreps {
				if errs[i] != nil {
					t.Fatalf("%s %v %+v: %v", name, pt, p, errs[i])
				}
				want, err := ref.Prepare(p, pt)
				if err != nil {
					t.Fatal(err)
				}
				if w, n := levelDiff(got[i], want); w != 0 {
					t.Errorf("%s %v %+v: %d values differ from the unplanned Prepare", name, pt, p, n)
				}
			}
			if s.jpeg == nil {
				if calls.Load() != 0 {
					t.Errorf("%s: decodeRegions called for a %s", name, s.hdr.Format)
				}
				continue
			}
			if c, r := calls.Load(), regions.Load(); c != 1 || r != 3 {
				t.Errorf("%s %v: %d decodeRegions calls for %d regions, want 1 for 3", name, pt, c, r)
			}
			for i, m := range s.plan.imgs {
				if m != nil {
					t.Errorf("%s: region %d not released", name, i)
				}
			}
			// A model not in the plan still gets its input, decoding alone.
			if _, err := s.Prepare(sourcePreps[0], pt); err != nil {
				t.Errorf("%s: unplanned Prepare: %v", name, err)
			}
		}
	}
}

// A PNG is decoded only down to the lowest planned crop's last row, and
// the input is still the one the whole decode gives.
func TestSourcePNGRows(t *testing.T) {
	data := sourceCases(t)["png"]
	s, err := NewSource(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p := classify.Preprocess{CropPixels: 9, Width: 9, Height: 9}
	s.Plan([]classify.Preprocess{p}, image.Pt(100, 50))
	got, err := s.Prepare(p, image.Pt(100, 50))
	if err != nil {
		t.Fatal(err)
	}
	if h := s.plan.pngImg.Bounds().Dy(); h != 55 {
		t.Errorf("decoded %d rows, want 55", h)
	}
	full, _, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if w, n := levelDiff(got, prepareImaging(full, p, image.Pt(100, 50))); w != 0 {
		t.Errorf("%d values differ from the full decode's", n)
	}
}

// Cost bounds what Plan and the Prepares of every planned model allocate,
// for every path.
func TestSourceCostBoundsPrepare(t *testing.T) {
	for name, data := range sourceCases(t) {
		s, err := NewSource(data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		size := s.Header().Size()
		pt := image.Pt(size.X/2, size.Y/2)
		runtime.GC() // twice: the decoders' pools are emptied
		n := allocated(func() {
			s.Plan(sourcePreps, pt)
			for _, p := range sourcePreps {
				if _, err = s.Prepare(p, pt); err != nil {
					return
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		c := s.Cost(sourcePreps, pt)
		if int64(n) > c {
			t.Errorf("%s: allocated %d bytes, Cost %d", name, n, c)
		}
		t.Logf("%s: allocated %d of Cost %d", name, n, c)
	}
}

// FuzzSource: any upload, planned and prepared for several models at any
// point, yields inputs of the right shape or an error wrapping a sentinel,
// never a panic.
func FuzzSource(f *testing.F) {
	f.Add(pngBytes(f, pattern(30, 20)), uint16(3), uint16(4))
	f.Add(jpegBytes(f, pattern(30, 20)), uint16(29), uint16(0))
	f.Add(withExif(jpegBytes(f, pattern(17, 9)), "MM", 6), uint16(1), uint16(15))
	f.Add(encode(f, func(b *bytes.Buffer) error { return gif.Encode(b, pattern(9, 12), nil) }), uint16(2), uint16(2))
	f.Fuzz(func(t *testing.T, data []byte, x, y uint16) {
		s, err := NewSource(data, Limits{MaxPixels: 1 << 16})
		if err != nil {
			return
		}
		size := s.Header().Size()
		pt := image.Pt(int(x)%size.X, int(y)%size.Y)
		s.Plan(sourcePreps, pt)
		for _, p := range sourcePreps {
			x, err := s.Prepare(p, pt)
			if err != nil {
				if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrPoint) {
					t.Fatalf("error wraps no sentinel: %v", err)
				}
				continue
			}
			if !x.Shape.Equal(classify.Shape{1, p.Height, p.Width, 3}) {
				t.Fatalf("shape %v for %+v", x.Shape, p)
			}
		}
	})
}
