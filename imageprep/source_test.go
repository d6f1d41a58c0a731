package imageprep

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
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
		if r := s.plan(tt.p, pt); r.scale < tt.scale && size.X >= 200 {
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
		t.Logf("%+v: scale %d, max diff %.4f, mean %.5f", tt.p, s.plan(tt.p, pt).scale, worst, sum/float64(len(g)))
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
