package jpeg

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// synthPPM is a photo-like test picture: smooth gradients, a few hard
// edges and noise, so every DCT frequency and every code length occurs.
func synthPPM(w, h int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "P6\n%d %d\n255\n", w, h)
	pix := make([]byte, 3*w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r := 255 * x / w
			g := 255 * y / h
			b := 128 + int(100*float64((x*x+y*y)%(w+h))/float64(w+h)) - 50
			if (x/37+y/23)%5 == 0 {
				r, g = 255-r, 255-g
			}
			if x > w/3 && x < w/2 && y > h/4 {
				b = 20
			}
			n := rng.IntN(25) - 12
			i := 3 * (y*w + x)
			pix[i] = byte(max(0, min(255, r+n)))
			pix[i+1] = byte(max(0, min(255, g+n/2)))
			pix[i+2] = byte(max(0, min(255, b-n)))
		}
	}
	buf.Write(pix)
	return buf.Bytes()
}

// needTool finds a libjpeg-turbo or ImageMagick program; the conformance
// tests skip without it, except under CI where a missing tool is a failure.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: CI must install libjpeg-turbo-progs and imagemagick", name)
		}
		t.Skipf("%s not found: apt-get install libjpeg-turbo-progs imagemagick to run the djpeg conformance tests", name)
	}
	return p
}

func run(t testing.TB, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, stderr.Bytes())
	}
	return out.Bytes()
}

// pnm is a decoded PPM (3 channels) or PGM (1 channel).
type pnm struct {
	w, h, ch int
	pix      []byte
}

func parsePNM(t testing.TB, b []byte) pnm {
	t.Helper()
	var p pnm
	var magic string
	var maxv int
	rd := bytes.NewReader(b)
	if _, err := fmt.Fscan(rd, &magic, &p.w, &p.h, &maxv); err != nil {
		t.Fatalf("parse PNM header: %v", err)
	}
	rd.ReadByte()
	switch magic {
	case "P6":
		p.ch = 3
	case "P5":
		p.ch = 1
	default:
		t.Fatalf("PNM magic %q", magic)
	}
	p.pix = b[len(b)-rd.Len():]
	if len(p.pix) != p.w*p.h*p.ch || maxv != 255 {
		t.Fatalf("PNM %dx%dx%d maxval %d with %d bytes", p.w, p.h, p.ch, maxv, len(p.pix))
	}
	return p
}

// corpusCase is one kind of JPEG and how to make it.
type corpusCase struct {
	name string
	make func(t testing.TB, ppm []byte) []byte
}

func cjpegCase(name string, args ...string) corpusCase {
	return corpusCase{name, func(t testing.TB, ppm []byte) []byte {
		return run(t, ppm, "cjpeg", append([]string{"-quality", "90"}, args...)...)
	}}
}

var corpusCases = []corpusCase{
	cjpegCase("444", "-sample", "1x1"),
	cjpegCase("422", "-sample", "2x1"),
	cjpegCase("420", "-sample", "2x2"),
	cjpegCase("440", "-sample", "1x2"),
	cjpegCase("411", "-sample", "4x1"),
	cjpegCase("410", "-sample", "4x2"),
	cjpegCase("420-optimize", "-sample", "2x2", "-optimize"),
	cjpegCase("420-progressive", "-sample", "2x2", "-progressive"),
	cjpegCase("444-progressive", "-sample", "1x1", "-progressive"),
	cjpegCase("422-progressive-restart", "-sample", "2x1", "-progressive", "-restart", "1"),
	cjpegCase("420-restart", "-sample", "2x2", "-restart", "1"),
	cjpegCase("444-restart-blocks", "-sample", "1x1", "-restart", "5B"),
	cjpegCase("gray", "-grayscale"),
	cjpegCase("gray-progressive", "-grayscale", "-progressive"),
	cjpegCase("rgb", "-rgb"),
	cjpegCase("420-q50", "-sample", "2x2", "-quality", "50"),
	cjpegCase("420-q100", "-sample", "2x2", "-quality", "100"),
	cjpegCase("odd-factors", "-sample", "2x2,1x2,2x1"),
	{"cmyk-magick", func(t testing.TB, ppm []byte) []byte {
		return run(t, ppm, "convert", "ppm:-", "-colorspace", "CMYK", "-quality", "90", "jpeg:-")
	}},
	{"go-image-jpeg", goEncoded},
}

var corpusOnce sync.Map // name+size -> []byte

// corpusFile makes (once per test binary) the JPEG of kind c for a w x h
// synthetic picture.
func corpusFile(t testing.TB, c corpusCase, w, h int) []byte {
	key := fmt.Sprintf("%s/%dx%d", c.name, w, h)
	if b, ok := corpusOnce.Load(key); ok {
		return b.([]byte)
	}
	b := c.make(t, synthPPM(w, h, 7))
	corpusOnce.Store(key, b)
	return b
}

// djpeg decodes with libjpeg-turbo as the reference: islow IDCT, default
// (fancy) upsampling.
func djpeg(t testing.TB, jpg []byte, scale int) pnm {
	args := []string{"-dct", "int", "-scale", "1/" + strconv.Itoa(scale)}
	cfg, err := DecodeConfig(jpg)
	if err != nil {
		t.Fatalf("DecodeConfig: %v", err)
	}
	if cfg.Color == ColorGray {
		args = append(args, "-grayscale", "-pnm")
	} else {
		args = append(args, "-ppm")
		if cfg.Color != ColorCMYK && cfg.Color != ColorYCCK {
			args = append(args, "-rgb")
		}
	}
	return parsePNM(t, run(t, jpg, "djpeg", args...))
}

// maxDiff compares an Image with a reference PNM pixel by pixel.
func maxDiff(t testing.TB, img *Image, ref pnm) int {
	t.Helper()
	if img.Rect.Dx() != ref.w || img.Rect.Dy() != ref.h || img.Channels != ref.ch {
		t.Fatalf("size %v x%d, djpeg %dx%d x%d", img.Rect, img.Channels, ref.w, ref.h, ref.ch)
	}
	worst := 0
	for y := 0; y < ref.h; y++ {
		a := img.Pix[y*img.Stride : y*img.Stride+ref.w*ref.ch]
		b := ref.pix[y*ref.w*ref.ch : (y+1)*ref.w*ref.ch]
		for i := range a {
			d := int(a[i]) - int(b[i])
			worst = max(worst, d, -d)
		}
	}
	return worst
}

func TestMatchesDjpeg(t *testing.T) {
	for _, c := range corpusCases {
		for _, size := range [][2]int{{227, 131}, {64, 48}} {
			jpg := corpusFile(t, c, size[0], size[1])
			for _, scale := range []int{1, 2, 4, 8} {
				t.Run(fmt.Sprintf("%s/%dx%d/1_%d", c.name, size[0], size[1], scale), func(t *testing.T) {
					img, err := Decode(jpg, Options{Scale: scale})
					if err != nil {
						t.Fatal(err)
					}
					defer img.Release()
					d := maxDiff(t, img, djpeg(t, jpg, scale))
					t.Logf("max diff %d", d)
					if d > 2 {
						t.Errorf("max diff %d > 2 against djpeg", d)
					}
				})
			}
		}
	}
}

func TestRealPhotos(t *testing.T) {
	dir := os.Getenv("TEST_IMAGES_DIR")
	if dir == "" {
		t.Skip("TEST_IMAGES_DIR unset: set it to ../shared/images (the directory holding grace_hopper.jpg) to check real photos")
	}
	for _, name := range []string{"grace_hopper.jpg", "rocket.jpg", "hubble_deep_field.jpg", "classify1.jpg"} {
		jpg, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, scale := range []int{1, 2, 4, 8} {
			t.Run(fmt.Sprintf("%s/1_%d", name, scale), func(t *testing.T) {
				img, err := Decode(jpg, Options{Scale: scale})
				if err != nil {
					t.Fatal(err)
				}
				defer img.Release()
				d := maxDiff(t, img, djpeg(t, jpg, scale))
				t.Logf("%v max diff %d", img.Header.Color, d)
				if d > 2 {
					t.Errorf("max diff %d > 2 against djpeg", d)
				}
			})
		}
	}
	jpg, err := os.ReadFile(filepath.Join(dir, "truncated.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(jpg, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated.jpg: %v, want ErrCorrupt", err)
	}
}
