package imageprep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/classifyd/classifyd/classify"
)

// bmpHeader is a 24-bit BMP file header and BITMAPINFOHEADER claiming w x h
// pixels, with no pixel data: 54 bytes.
func bmpHeader(w, h int32) []byte {
	b := make([]byte, 54)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], 54)
	binary.LittleEndian.PutUint32(b[10:], 54)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], 24)
	return b
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Headers that declare many pixels over a few bytes of data are files
// truncated on purpose: each must be refused as corrupt without the
// decoder allocating the image (the reason: a 54-byte BMP claiming
// 6000x6000 used to cost 144 MB and most of a second).
func TestInspectRefusesImplausibleFiles(t *testing.T) {
	pngShortIDAT := pngHeader(6000, 6000)
	idat := []byte("IDAT\x78\x9c\x01\x02\x03")
	pngShortIDAT = binary.BigEndian.AppendUint32(pngShortIDAT, uint32(len(idat)-4))
	pngShortIDAT = append(pngShortIDAT, idat...)
	pngShortIDAT = append(pngShortIDAT, 0, 0, 0, 0)
	tests := []struct {
		name string
		data []byte
	}{
		{"bmp 6000x6000 header only", bmpHeader(6000, 6000)},
		{"bmp 6000x-6000 top-down header only", bmpHeader(6000, -6000)},
		{"png 6000x6000 with 5 bytes of IDAT", pngShortIDAT},
		{"jpeg 6000x6000 header only", jpegHeader(6000, 6000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, _, err = Decode(tt.data, Limits{}) })
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			if n > 1<<20 {
				t.Fatalf("refusing it allocated %d bytes", n)
			}
		})
	}
}

// Header.Cost must bound what Decode really allocates, for every format
// and the layouts that cost most (16-bit, interlaced, progressive, rotated).
func TestCostBoundsDecode(t *testing.T) {
	rgba64 := image.NewNRGBA64(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			rgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(x * 200), uint16(y * 300), 1234, 0xffff})
		}
	}
	src := pattern(300, 200)
	pal := image.NewPaletted(src.Bounds(), []color.Color{color.White, color.Black, color.NRGBA{200, 10, 10, 255}})
	for y := range 200 {
		for x := range 300 {
			pal.SetColorIndex(x, y, uint8((x/7+y/5)%3))
		}
	}
	cases := map[string][]byte{
		"png 8-bit":         pngBytes(t, src),
		"png 16-bit":        pngBytes(t, rgba64),
		"jpeg":              jpegBytes(t, src),
		"jpeg exif rotated": withExif(jpegBytes(t, src), "MM", 6),
		"gif":               encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) }),
		"bmp":               encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, src) }),
	}
	if dir := os.Getenv("TEST_IMAGES_DIR"); dir != "" {
		for _, f := range []string{"grace_hopper.jpg", "coffee.png", "hubble_deep_field.jpg", "astronaut.png", "foo3x5x4indexed.png"} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			cases[f] = data
		}
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			h, err := Inspect(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			var img image.Image
			n := allocated(func() { img, _, err = Decode(data, Limits{}) })
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Size() != h.Size() {
				t.Errorf("decoded %v, header size %v", img.Bounds().Size(), h.Size())
			}
			if int64(n) > h.Cost {
				t.Errorf("decode allocated %d bytes, Cost %d", n, h.Cost)
			}
			t.Logf("allocated %d of Cost %d", n, h.Cost)
		})
	}
}

// imageprep/png tests its own costs (interlaced and 16-bit included).
func TestInspectProgressiveCostsMore(t *testing.T) {
	var a, b int64
	var err error
	base := jpegHeader(64, 64)
	prog := append([]byte(nil), base...)
	prog[bytes.Index(prog, []byte{0xff, 0xc0})+1] = 0xc2
	pad := make([]byte, 4096) // plausibility: enough bytes for 64x64
	a, err = jpegCost(append(base, pad...), 64*64)
	if err != nil {
		t.Fatal(err)
	}
	b, err = jpegCost(append(prog, pad...), 64*64)
	if err != nil {
		t.Fatal(err)
	}
	if b <= a {
		t.Errorf("progressive cost %d <= baseline %d", b, a)
	}
}

// PrepareCost must bound what Prepare allocates, for crops that need a
// resize and crops that do not.
func TestPrepareCostBoundsPrepare(t *testing.T) {
	img := pattern(640, 480)
	for _, p := range []classify.Preprocess{
		{CropFraction: 0.8, Width: 128, Height: 128, Range: []float32{-1, 1}},
		{CropPixels: 9, Width: 9, Height: 9, Range: []float32{0, 1}},
		{Width: 224, Height: 224, Resize: "lanczos", Range: []float32{0, 1}},
	} {
		pt := image.Pt(300, 200)
		var err error
		n := allocated(func() { _, err = Prepare(img, p, pt) })
		if err != nil {
			t.Fatal(err)
		}
		if c := PrepareCost(img.Bounds().Size(), p, pt); int64(n) > c {
			t.Errorf("%+v: Prepare allocated %d bytes, PrepareCost %d", p, n, c)
		}
	}
}
