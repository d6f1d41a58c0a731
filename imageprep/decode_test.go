package imageprep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/image/bmp"
)

// pattern is a small image whose pixels differ everywhere, so a decoder that
// shifts, flips or drops rows is caught.
func pattern(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(40 * x), uint8(50 * y), uint8(255 - 20*x - 10*y), 255})
		}
	}
	return img
}

func encode(t testing.TB, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t testing.TB, img image.Image) []byte {
	return encode(t, func(b *bytes.Buffer) error { return png.Encode(b, img) })
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	return encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, img, &jpeg.Options{Quality: 100}) })
}

// pngHeader is a PNG signature and an IHDR chunk (8-bit RGB) with a correct
// CRC and nothing else: enough for DecodeConfig, never decodable.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 17)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 2
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, ihdr...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr))
}

// jpegHeader is SOI, a JFIF APP0 (without which Go's decoder reads on for
// an Adobe segment) and a baseline SOF0 declaring w x h, 3 components.
func jpegHeader(w, h uint16) []byte {
	out := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	out = append(out, 0xff, 0xc0, 0, 17, 8)
	out = binary.BigEndian.AppendUint16(out, h)
	out = binary.BigEndian.AppendUint16(out, w)
	return append(out, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
}

func TestDecodeFormats(t *testing.T) {
	src := pattern(7, 5)
	pal := image.NewPaletted(src.Bounds(), nil)
	for y := range 5 {
		for x := range 7 {
			pal.Palette = append(pal.Palette, src.At(x, y))
			pal.SetColorIndex(x, y, uint8(len(pal.Palette)-1))
		}
	}
	tests := []struct {
		name   string
		data   []byte
		format string
		tol    int // per-channel tolerance against src; -1 = size check only
	}{
		{"png", pngBytes(t, src), "png", 0},
		{"png gray16", pngBytes(t, image.NewGray16(image.Rect(0, 0, 7, 5))), "png", -1},
		{"gif", encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }), "gif", 0},
		{"bmp", encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, src) }), "bmp", 0},
		{"jpeg", jpegBytes(t, pattern(7, 5)), "jpeg", 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, format, err := Decode(tt.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format || img.Bounds().Size() != image.Pt(7, 5) {
				t.Fatalf("got %s %v, want %s 7x5", format, img.Bounds(), tt.format)
			}
			if tt.tol < 0 {
				return
			}
			for y := range 5 {
				for x := range 7 {
					got := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					want := src.NRGBAAt(x, y)
					if d := maxDiff(got, want); d > tt.tol {
						t.Fatalf("pixel (%d,%d) = %v, want %v (±%d)", x, y, got, want, tt.tol)
					}
				}
			}
		})
	}
}

func maxDiff(a, b color.NRGBA) int {
	d := 0
	for _, p := range [][2]uint8{{a.R, b.R}, {a.G, b.G}, {a.B, b.B}, {a.A, b.A}} {
		d = max(d, abs(int(p[0])-int(p[1])))
	}
	return d
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestDecodeWebP(t *testing.T) {
	tests := []struct {
		file string
		size image.Point
	}{
		{"gopher-doc.1bpp.lossless.webp", image.Pt(75, 100)},
		{"video-001.lossy.webp", image.Pt(150, 103)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := Decode(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if format != "webp" || img.Bounds().Size() != tt.size {
				t.Fatalf("got %s %v, want webp %v", format, img.Bounds().Size(), tt.size)
			}
			if _, _, err := Decode(data[:len(data)/2], Limits{}); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("half a webp: err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := pngBytes(t, pattern(10, 10))
	goodJPEG := jpegBytes(t, pattern(64, 64))
	tests := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrFormat},
		{"text", []byte("hello, world"), Limits{}, ErrFormat},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), Limits{}, ErrFormat},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), Limits{}, ErrFormat},
		{"png truncated", good[:len(good)/2], Limits{}, ErrCorrupt},
		{"png header only", pngHeader(10, 10), Limits{}, ErrCorrupt},
		{"png signature only", good[:8], Limits{}, ErrCorrupt},
		{"png zero width", pngHeader(0, 10), Limits{}, ErrCorrupt},
		{"jpeg truncated", goodJPEG[:len(goodJPEG)*2/3], Limits{}, ErrCorrupt},
		{"jpeg header only", jpegHeader(64, 64), Limits{}, ErrCorrupt},
		{"gif truncated", []byte("GIF89a\x10\x00"), Limits{}, ErrCorrupt},
		{"bmp truncated", []byte("BM\x00\x00"), Limits{}, ErrCorrupt},
		{"png bomb 100000x100000", pngHeader(100000, 100000), Limits{}, ErrTooLarge},
		{"jpeg bomb 65500x65500", jpegHeader(65500, 65500), Limits{}, ErrTooLarge},
		{"over custom limit", good, Limits{MaxPixels: 99}, ErrTooLarge},
		{"at custom limit", good, Limits{MaxPixels: 100}, nil},
		{"default limit", pngHeader(8000, 5001), Limits{}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _, err := Decode(tt.data, tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil && img != nil {
				t.Fatal("an image was returned with the error")
			}
		})
	}
}

// TestDecodeBombCostsNothing checks that a header claiming 10^10 pixels is
// refused before the decoder allocates anything in proportion to it.
func TestDecodeBombCostsNothing(t *testing.T) {
	for _, data := range [][]byte{pngHeader(100000, 100000), jpegHeader(65535, 65535)} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := Decode(data, Limits{})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Fatalf("refusing the bomb allocated %d bytes", n)
		}
	}
}

// TestDecodeSharedImages decodes the real photos the service is tested with.
func TestDecodeSharedImages(t *testing.T) {
	dir := os.Getenv("TEST_IMAGES_DIR")
	if dir == "" {
		t.Skip("set TEST_IMAGES_DIR=/work/shared/images (the shared photos) to run")
	}
	tests := []struct {
		file   string
		format string
		size   image.Point
		err    error
	}{
		{"grace_hopper.jpg", "jpeg", image.Pt(517, 606), nil},
		{"classify1.jpg", "jpeg", image.Pt(270, 480), nil},
		{"hubble_deep_field.jpg", "jpeg", image.Pt(1000, 872), nil},
		{"rocket.jpg", "jpeg", image.Pt(640, 427), nil},
		{"astronaut.png", "png", image.Pt(512, 512), nil},
		{"coffee.png", "png", image.Pt(600, 400), nil},
		{"horse.png", "png", image.Pt(400, 328), nil},
		{"brick.png", "png", image.Pt(512, 512), nil},
		{"foo3x5x4indexed.png", "png", image.Pt(5, 3), nil},
		{"truncated.jpg", "jpeg", image.Point{}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			img, format, err := Decode(f, Limits{})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if format != tt.format || img.Bounds().Size() != tt.size {
				t.Fatalf("got %s %v, want %s %v", format, img.Bounds().Size(), tt.format, tt.size)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(pngBytes(f, pattern(3, 2)))
	f.Add(jpegBytes(f, pattern(3, 2)))
	f.Add(withExif(jpegBytes(f, pattern(3, 2)), "MM", 6))
	f.Add(encode(f, func(b *bytes.Buffer) error { return bmp.Encode(b, pattern(3, 2)) }))
	f.Add(encode(f, func(b *bytes.Buffer) error { return gif.Encode(b, pattern(3, 2), nil) }))
	if data, err := os.ReadFile(filepath.Join("testdata", "gopher-doc.1bpp.lossless.webp")); err == nil {
		f.Add(data)
	}
	f.Add(pngHeader(100000, 100000))
	const limit = 1 << 16 // keeps each fuzz input cheap
	f.Fuzz(func(t *testing.T, data []byte) {
		img, format, err := Decode(data, Limits{MaxPixels: limit})
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		b := img.Bounds()
		if format == "" || b.Empty() || b.Dx()*b.Dy() > limit {
			t.Fatalf("format %q bounds %v", format, b)
		}
	})
}
