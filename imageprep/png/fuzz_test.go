package png

import (
	"bytes"
	"errors"
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
		if b.Dy() > 1 {
			part, err := Decode(data, Options{MaxRows: b.Dy() / 2, MaxBytes: opt.MaxBytes})
			if err != nil {
				t.Fatalf("full decode works, first rows fail: %v", err)
			}
			for y := 0; y < b.Dy()/2; y++ {
				for x := 0; x < b.Dx(); x++ {
					if part.At(x, y) != img.At(x, y) {
						t.Fatalf("MaxRows (%d,%d) %v, full %v", x, y, part.At(x, y), img.At(x, y))
					}
				}
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
