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
