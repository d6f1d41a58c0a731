package jpeg

import (
	"bytes"
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

// FuzzDecodeRegions decodes two outputs at once (one scale and region from
// the fuzzer, and a 9x9 full-resolution patch) and checks them against
// one decode per option: the same pixels, or the same kind of failure.
func FuzzDecodeRegions(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.jpg"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(8), int16(4), int16(3), int16(44), int16(29), int16(20), int16(10))
		f.Add(b, uint8(2), int16(0), int16(0), int16(0), int16(0), int16(0), int16(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, scale uint8, x0, y0, x1, y1, px, py int16) {
		opts := []Options{
			{Scale: int(scale % 9), Region: image.Rect(int(x0), int(y0), int(x1), int(y1)), MaxBytes: 64 << 20},
			{Scale: 1, Region: image.Rect(int(px), int(py), int(px)+9, int(py)+9), MaxBytes: 64 << 20},
		}
		imgs, err := decodeRegions(data, opts)
		var single [2]*Image
		var serr [2]error
		for i, o := range opts {
			single[i], serr[i] = decode(data, o)
			defer single[i].Release()
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrRegion) {
				t.Fatalf("error outside the sentinels: %v", err)
			}
			if serr[0] == nil && serr[1] == nil && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("DecodeRegions: %v; each option alone decodes", err)
			}
			return
		}
		for i, m := range imgs {
			defer m.Release()
			if serr[i] != nil {
				t.Fatalf("option %d: DecodeRegions decodes, Decode: %v", i, serr[i])
			}
			if m.Rect != single[i].Rect || !bytes.Equal(m.Pix, single[i].Pix) {
				t.Fatalf("option %d: %v differs from Decode's %v", i, m.Rect, single[i].Rect)
			}
		}
	})
}
