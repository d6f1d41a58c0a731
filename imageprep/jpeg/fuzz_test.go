package jpeg

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes, scales and regions to the decoder
// without Decode's recover, so any panic is a finding. Seeds are the
// committed corpus.
func FuzzDecode(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.jpg"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(1), int16(0), int16(0), int16(0), int16(0))
		f.Add(b, uint8(8), int16(3), int16(4), int16(20), int16(9))
	}
	f.Fuzz(func(t *testing.T, data []byte, scale uint8, x0, y0, x1, y1 int16) {
		opt := Options{Scale: int(scale % 9), Region: image.Rect(int(x0), int(y0), int(x1), int(y1)), MaxBytes: 64 << 20}
		h, herr := DecodeConfig(data)
		img, err := decode(data, opt)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrRegion) {
				t.Fatalf("error outside the sentinels: %v", err)
			}
			return
		}
		defer img.Release()
		if herr != nil || h.Width != img.Header.Width || h.Height != img.Header.Height {
			t.Fatalf("Decode succeeded, DecodeConfig %+v, %v", h, herr)
		}
		if len(img.Pix) != img.Rect.Dx()*img.Rect.Dy()*img.Channels {
			t.Fatalf("Pix %d bytes for %v x%d", len(img.Pix), img.Rect, img.Channels)
		}
	})
}
