package jpeg

import (
	"fmt"
	"image"
	"os"
	"testing"
)

// benchJPEG is a quality-90 4:2:0 photo-like JPEG of w x h made at bench
// time with cjpeg (large files are never committed). JPEG_BENCH_FILE names
// a file to use instead, as scripts/perf-jpeg.sh does so that tjbench and
// this benchmark decode the same bytes.
func benchJPEG(b *testing.B, w, h int) []byte {
	if p := os.Getenv("JPEG_BENCH_FILE"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	return corpusFile(b, cjpegCase("bench", "-sample", "2x2"), w, h)
}

// TestMakeBenchFile writes the 12 MP benchmark JPEG to $JPEG_BENCH_MAKE
// (for scripts/perf-jpeg.sh); without it the test has nothing to do.
func TestMakeBenchFile(t *testing.T) {
	p := os.Getenv("JPEG_BENCH_MAKE")
	if p == "" {
		t.Skip("set JPEG_BENCH_MAKE=path to write the 4032x3024 benchmark JPEG")
	}
	if err := os.WriteFile(p, corpusFile(t, cjpegCase("bench", "-sample", "2x2"), 4032, 3024), 0o644); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkDecode(b *testing.B) {
	sizes := [][2]int{{4032, 3024}, {1920, 1080}, {517, 606}}
	if os.Getenv("JPEG_BENCH_FILE") != "" {
		sizes = sizes[:1]
	}
	for _, sz := range sizes {
		jpg := benchJPEG(b, sz[0], sz[1])
		for _, scale := range []int{1, 2, 4, 8} {
			b.Run(fmt.Sprintf("%dx%d/1_%d", sz[0], sz[1], scale), func(b *testing.B) {
				h, err := DecodeConfig(jpg)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(h.Width * h.Height * 3))
				b.ReportAllocs()
				for b.Loop() {
					img, err := Decode(jpg, Options{Scale: scale})
					if err != nil {
						b.Fatal(err)
					}
					img.Release()
				}
			})
		}
		// The colour model's case: a 9x9 patch at full resolution.
		b.Run(fmt.Sprintf("%dx%d/patch9", sz[0], sz[1]), func(b *testing.B) {
			b.SetBytes(int64(sz[0] * sz[1] * 3))
			b.ReportAllocs()
			for b.Loop() {
				img, err := Decode(jpg, Options{Region: image.Rect(sz[0]/2, sz[1]/2, sz[0]/2+9, sz[1]/2+9)})
				if err != nil {
					b.Fatal(err)
				}
				img.Release()
			}
		})
	}
}

// BenchmarkDecodeRegions is a /v1/classify request's plan on a 12 MP
// photo: the theme model's 80 % crop at 1/8 and the colour model's 9x9
// patch at full resolution, decoded together (one Huffman pass) and, for
// comparison, one Decode per model as before DecodeRegions.
func BenchmarkDecodeRegions(b *testing.B) {
	jpg := benchJPEG(b, 4032, 3024)
	h, err := DecodeConfig(jpg)
	if err != nil {
		b.Fatal(err)
	}
	w, ht := h.Width, h.Height
	plan := []Options{
		{Scale: 8, Region: image.Rect(w/10, ht/10, w-w/10, ht-ht/10)},
		{Scale: 1, Region: image.Rect(w/2-4, ht/2-4, w/2+5, ht/2+5)},
	}
	name := fmt.Sprintf("%dx%d", w, ht)
	b.Run(name+"/theme+color", func(b *testing.B) {
		b.SetBytes(int64(w * ht * 3))
		b.ReportAllocs()
		for b.Loop() {
			imgs, err := DecodeRegions(jpg, plan)
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range imgs {
				m.Release()
			}
		}
	})
	b.Run(name+"/theme+color-separately", func(b *testing.B) {
		b.SetBytes(int64(w * ht * 3))
		b.ReportAllocs()
		for b.Loop() {
			for _, o := range plan {
				m, err := Decode(jpg, o)
				if err != nil {
					b.Fatal(err)
				}
				m.Release()
			}
		}
	})
}
