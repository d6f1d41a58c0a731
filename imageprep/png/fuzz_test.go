package png

import (
	"bytes"
	"errors"
	"image"
	stdpng "image/png"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must never panic (a
// recovered panic is errPanic), must fail only with the package's errors,
// must agree with image/png whenever both accept a file, and MaxRows must
// give the first rows of the full decode.
func FuzzDecode(f *testing.F) {
	for _, data := range corpus() {
		if len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Add(bigHeader())
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{MaxBytes: 8 << 20} // keep each run small and fast
		img, err := Decode(data, opt)
		if err != nil {
			if errors.Is(err, errPanic) {
				t.Fatal(err)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of no known class: %v", err)
			}
			return
		}
		b := img.Bounds()
		rgb, err := Decode(data, Options{MaxBytes: opt.MaxBytes, RGB: true})
		if err != nil {
			t.Fatalf("decode works, with Options.RGB fails: %v", err)
		}
		same(t, "Options.RGB", rgb, img, b.Dy())
		if b.Dy() > 1 {
			for _, rgb := range []bool{false, true} {
				part, err := Decode(data, Options{MaxRows: b.Dy() / 2, MaxBytes: opt.MaxBytes, RGB: rgb})
				if err != nil {
					t.Fatalf("full decode works, first rows (rgb %v) fail: %v", rgb, err)
				}
				same(t, "MaxRows", part, img, b.Dy()/2)
			}
		}
		want, err := stdpng.Decode(bytes.NewReader(data))
		if err != nil {
			return // we are stricter in places (IEND, chunk order)
		}
		if want.Bounds() != b {
			t.Fatalf("bounds %v, image/png %v", b, want.Bounds())
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if g, w := reference(img.At(x, y)), reference(want.At(x, y)); g != w {
					t.Fatalf("(%d,%d) %v, image/png %v", x, y, g, w)
				}
			}
		}
	})
}

// same fails unless the first rows of got and want have the same pixels.
func same(t *testing.T, what string, got, want image.Image, rows int) {
	t.Helper()
	b := want.Bounds()
	if got.Bounds() != image.Rect(0, 0, b.Dx(), rows) {
		t.Fatalf("%s: bounds %v, want %v", what, got.Bounds(), image.Rect(0, 0, b.Dx(), rows))
	}
	for y := 0; y < rows; y++ {
		for x := 0; x < b.Dx(); x++ {
			if g, w := reference(got.At(x, y)), reference(want.At(x, y)); g != w {
				t.Fatalf("%s (%d,%d) %v, full %v", what, x, y, g, w)
			}
		}
	}
}
