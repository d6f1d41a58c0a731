package imageprep

import (
	"image"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

var (
	themePrep = classify.Preprocess{CropFraction: 0.8, Width: 128, Height: 128, Range: []float32{-1, 1}}
	colorPrep = classify.Preprocess{CropPixels: 9, Width: 9, Height: 9, Range: []float32{0, 1}}
)

// TestPrepareRealPhoto runs both default models' preprocessing on a photo.
func TestPrepareRealPhoto(t *testing.T) {
	data := loadShared(t, "grace_hopper.jpg")
	img, _, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []classify.Preprocess{themePrep, colorPrep} {
		x, err := Prepare(img, p, image.Pt(250, 300))
		if err != nil {
			t.Fatal(err)
		}
		if !x.Shape.Equal(classify.Shape{1, p.Height, p.Width, 3}) {
			t.Fatalf("shape %v", x.Shape)
		}
		lo, hi := x.Float32s()[0], x.Float32s()[0]
		for _, v := range x.Float32s() {
			lo, hi = min(lo, v), max(hi, v)
		}
		// A real photo spans much of the range, and never leaves it.
		if lo < p.Range[0] || hi > p.Range[1] || hi-lo < 0.1*(p.Range[1]-p.Range[0]) {
			t.Fatalf("values span [%v, %v] for range %v", lo, hi, p.Range)
		}
	}
}

// BenchmarkDecodePrepare measures a request's image work on real photos:
// decoding, and preparing the theme (80% crop → 128x128) and color (9x9
// patch) inputs from the decoded image.
func BenchmarkDecodePrepare(b *testing.B) {
	for _, name := range []string{"grace_hopper.jpg", "coffee.png"} {
		data := loadShared(b, name)
		img, _, err := Decode(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		pt := image.Pt(img.Bounds().Dx()/2, img.Bounds().Dy()/2)
		b.Run(name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := Decode(data, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, c := range []struct {
			name string
			p    classify.Preprocess
		}{{"theme128", themePrep}, {"color9", colorPrep}} {
			b.Run(name+"/prepare-"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(c.p.Width * c.p.Height * 3 * 4))
				for b.Loop() {
					if _, err := Prepare(img, c.p, pt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSource is a request's whole image work as the server does it:
// NewSource (header), Plan, and both default models' inputs.
func BenchmarkSource(b *testing.B) {
	for _, name := range []string{"grace_hopper.jpg", "coffee.png"} {
		data := loadShared(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			ps := []classify.Preprocess{themePrep, colorPrep}
			for b.Loop() {
				s, err := NewSource(data, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				size := s.Header().Size()
				pt := image.Pt(size.X/2, size.Y/2)
				s.Plan(ps, pt)
				for _, p := range ps {
					if _, err := s.Prepare(p, pt); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
