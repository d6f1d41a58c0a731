package png

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	stdpng "image/png"
	"math/rand/v2"
	"testing"
	"time"
)

// benchImages are made at bench time: photo-like gradients with noise, so
// the encoder picks a mix of filters as it would for a photo.
// Each is made only when a benchmark that needs it runs.
func benchImages(b *testing.B) []struct {
	name string
	data func() []byte
} {
	r := rand.New(rand.NewPCG(1, 2))
	noise := func() int { return r.IntN(9) - 4 }
	clamp := func(v int) uint8 { return uint8(max(0, min(255, v))) }
	enc := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := stdpng.Encode(&buf, img); err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	rect := image.Rect(0, 0, 600, 400)
	rgb := func() []byte {
		img := image.NewRGBA(rect)
		for y := 0; y < 400; y++ {
			for x := 0; x < 600; x++ {
				img.SetRGBA(x, y, color.RGBA{clamp(x/3 + noise()), clamp(y/2 + noise()), clamp((x+y)/5 + noise()), 255})
			}
		}
		return enc(img)
	}
	rgba := func() []byte {
		img := image.NewNRGBA(rect)
		for y := 0; y < 400; y++ {
			for x := 0; x < 600; x++ {
				img.SetNRGBA(x, y, color.NRGBA{clamp(x/3 + noise()), clamp(y/2 + noise()), clamp((x+y)/5 + noise()), clamp(x*y/1000 + noise())})
			}
		}
		return enc(img)
	}
	paletted := func() []byte {
		pal := make(color.Palette, 256)
		for i := range pal {
			pal[i] = color.RGBA{uint8(i), uint8(255 - i), uint8(i * 7), 255}
		}
		p := image.NewPaletted(rect, pal)
		for i := range p.Pix {
			x, y := i%600, i/600
			p.Pix[i] = uint8((x/4 + y/3 + r.IntN(3)) & 0xff)
		}
		return enc(p)
	}
	// The 16-bit 6000x6000 file of issue 7: a smooth gradient, so it is a
	// few hundred KB on disk and 216 MB raw.
	big := func() []byte {
		img := image.NewRGBA64(image.Rect(0, 0, 6000, 6000))
		for y := 0; y < 6000; y++ {
			for x := 0; x < 6000; x++ {
				i := img.PixOffset(x, y)
				v := uint16(x * 10)
				img.Pix[i+0], img.Pix[i+1] = uint8(v>>8), uint8(v)
				img.Pix[i+2], img.Pix[i+3] = uint8(y/24), 0
				img.Pix[i+6], img.Pix[i+7] = 0xff, 0xff
			}
		}
		return enc(img)
	}
	return []struct {
		name string
		data func() []byte
	}{
		{"rgb8-600x400", rgb},
		{"rgba8-600x400", rgba},
		{"paletted8-600x400", paletted},
		{"rgb16-6000x6000", big},
	}
}

// BenchmarkDecode runs this decoder and image/png side by side on the same
// files: "image-png+nrgba" adds the conversion to 8-bit NRGBA that our
// output already is, "ours-rows64" decodes only the first 64 rows, as for
// a crop near the top. SetBytes is the decoded 8-bit RGBA size, so MB/s
// compare directly. Run with
//
//	go test ./imageprep/png -run XXX -bench Decode -count 6 -cpu 1
func BenchmarkDecode(b *testing.B) {
	for _, f := range benchImages(b) {
		b.Run(f.name, func(b *testing.B) { benchFile(b, f.data()) })
	}
}

func benchFile(b *testing.B, data []byte) {
	h, err := DecodeConfig(data)
	if err != nil {
		b.Fatal(err)
	}
	px := int64(h.Width) * int64(h.Height) * 4
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(px)
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			if _, err := Decode(data, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image-png", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(px)
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			if _, err := stdpng.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What the service's pipeline did with image/png's output before
	// resizing: convert it to 8-bit NRGBA.
	b.Run("image-png+nrgba", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(px)
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			img, err := stdpng.Decode(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			dst := image.NewNRGBA(img.Bounds())
			draw.Draw(dst, dst.Bounds(), img, img.Bounds().Min, draw.Src)
		}
	})
	b.Run("ours-rows64", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(px)
		defer reportCPU(b, cpuTime())
		for b.Loop() {
			if _, err := Decode(data, Options{MaxRows: 64}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportCPU adds the CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
