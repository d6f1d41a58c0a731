package imageprep

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/classifyd/classifyd/classify"
	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
)

// prepareImaging is the pipeline Prepare replaced, kept as the reference
// the one-pass resampler must agree with: imaging.Crop to NRGBA,
// imaging.Resize, then the scaling table with compositing over white.
func prepareImaging(img image.Image, p classify.Preprocess, pt image.Point) *classify.Tensor {
	sc, err := newScaler(p)
	if err != nil {
		panic(err)
	}
	b := img.Bounds()
	crop := imaging.Crop(img, CropRect(b.Size(), p, pt).Add(b.Min))
	if crop.Rect.Dx() != p.Width || crop.Rect.Dy() != p.Height {
		crop = imaging.Resize(crop, p.Width, p.Height, filters[strings.ToLower(p.Resize)])
	}
	t := classify.NewTensor(classify.Float32, 1, p.Height, p.Width, 3)
	sc.fill(t.Float32s(), crop)
	return t
}

// fill writes the NRGBA pixels of img into dst (HWC), compositing over white.
func (s *scaler) fill(dst []float32, img *image.NRGBA) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	r, g, b := 0, 1, 2
	if s.bgr {
		r, b = 2, 0
	}
	j := 0
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			px := row[x : x+4 : x+4]
			cr, cg, cb := px[0], px[1], px[2]
			if a := px[3]; a != 0xff {
				cr, cg, cb = overWhite(cr, a), overWhite(cg, a), overWhite(cb, a)
			}
			dst[j+r] = s.lut[r][cr]
			dst[j+g] = s.lut[g][cg]
			dst[j+b] = s.lut[b][cb]
			j += 3
		}
	}
}

// levelDiff is the largest difference of two tensors made with range
// [0, 255], in levels, and how many values differ at all.
func levelDiff(a, b *classify.Tensor) (worst float64, differ int) {
	x, y := a.Float32s(), b.Float32s()
	for i := range x {
		d := math.Abs(float64(x[i] - y[i]))
		worst = max(worst, d)
		if d != 0 {
			differ++
		}
	}
	return worst, differ
}

// smooth is a photo-like test image with alpha a (255 everywhere for
// opaque), of some noise on gradients.
func smooth(w, h int, rng *rand.Rand, alpha func(x, y int) uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			n := rng.IntN(31) - 15
			c := func(v int) uint8 { return uint8(clamp(v+n, 0, 255)) }
			img.SetNRGBA(x, y, color.NRGBA{c(x * 255 / w), c(y * 255 / h), c(128 + (x-y)%97), alpha(x, y)})
		}
	}
	return img
}

func opaqueA(int, int) uint8 { return 255 }

// asTypes gives img in every pixel layout the resampler reads, and one it
// does not (YCbCr, converted crop-first).
func asTypes(img *image.NRGBA) map[string]image.Image {
	b := img.Bounds()
	rgba := image.NewRGBA(b)
	gray := image.NewGray(b)
	pal := image.NewPaletted(b, nil)
	for i := range 216 {
		pal.Palette = append(pal.Palette, color.NRGBA{uint8(i % 6 * 51), uint8(i / 6 % 6 * 51), uint8(i / 36 * 51), 255})
	}
	pal.Palette = append(pal.Palette, color.NRGBA{255, 0, 0, 128}, color.NRGBA{})
	ycc := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	jp := &jpegdec.Image{Pix: make([]uint8, 3*b.Dx()*b.Dy()), Stride: 3 * b.Dx(), Channels: 3, Rect: b}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			rgba.Set(x, y, c)
			gray.Set(x, y, c)
			pal.Set(x, y, c)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)] = yy
			ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = cb, cr
			i := (y-b.Min.Y)*jp.Stride + 3*(x-b.Min.X)
			jp.Pix[i], jp.Pix[i+1], jp.Pix[i+2] = c.R, c.G, c.B
		}
	}
	return map[string]image.Image{"nrgba": img, "rgba": rgba, "gray": gray, "paletted": pal, "ycbcr": ycc, "jpegdec": jp}
}

// The one-pass resampler gives exactly what the imaging pipeline gave (it
// does the same float64 arithmetic in the same order) for every filter,
// pixel layout, crop and output size (shrinking, enlarging, one side only,
// none), opaque and with transparency.
func TestResampleMatchesImaging(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []struct{ w, h int }{{97, 61}, {300, 200}, {8, 13}, {1, 1}}
	preps := []classify.Preprocess{
		{CropFraction: 0.8, Width: 32, Height: 32},
		{CropPixels: 9, Width: 9, Height: 9},
		{CropPixels: 9, Width: 9, Height: 4},
		{CropPixels: 20, Width: 20, Height: 33},
		{Width: 45, Height: 7},
		{Width: 200, Height: 150},
		{CropFraction: 0.5, Width: 3, Height: 3, Channels: "BGR"},
	}
	alphas := map[string]func(x, y int) uint8{
		"opaque": opaqueA,
		"alpha":  func(x, y int) uint8 { return uint8([]int{0, 255, 255, 128, 17, 255}[(x/3+y/2)%6]) },
	}
	for _, sz := range sizes {
		for an, af := range alphas {
			base := smooth(sz.w, sz.h, rng, af)
			for tn, img := range asTypes(base) {
				if an == "alpha" && (tn == "gray" || tn == "ycbcr" || tn == "jpegdec") {
					continue // no alpha in these layouts
				}
				for fn := range filters {
					if fn == "" {
						continue
					}
					for _, p := range preps {
						p.Resize = fn
						// Off the origin too: sub-images have non-zero bounds.
						for _, pt := range []image.Point{{sz.w / 2, sz.h / 2}, {0, sz.h - 1}} {
							name := fmt.Sprintf("%dx%d/%s/%s/%s/%+v/%v", sz.w, sz.h, an, tn, fn, p, pt)
							got, err := Prepare(img, p, pt)
							if err != nil {
								t.Fatalf("%s: %v", name, err)
							}
							want := prepareImaging(img, p, pt)
							worst, differ := levelDiff(got, want)
							if worst > 0 {
								t.Errorf("%s: differs by %v levels (%d of %d values)", name, worst, differ, len(got.Float32s()))
							}
						}
					}
				}
			}
		}
	}
}

// A sub-image (bounds not at the origin) is read at its own coordinates.
func TestResampleSubImage(t *testing.T) {
	base := smooth(120, 90, rand.New(rand.NewPCG(3, 4)), opaqueA)
	sub := base.SubImage(image.Rect(17, 9, 101, 80)).(*image.NRGBA)
	p := classify.Preprocess{CropFraction: 0.7, Width: 24, Height: 24}
	got, err := Prepare(sub, p, image.Pt(30, 40))
	if err != nil {
		t.Fatal(err)
	}
	if worst, n := levelDiff(got, prepareImaging(sub, p, image.Pt(30, 40))); worst > 0 {
		t.Fatalf("differs by %v levels (%d values)", worst, n)
	}
}

// Every orientation of a jpegdec image read through strides gives the
// pixels orient gives.
func TestJPEGViewOrientations(t *testing.T) {
	base := smooth(13, 7, rand.New(rand.NewPCG(5, 6)), opaqueA)
	jp := asTypes(base)["jpegdec"].(*jpegdec.Image)
	for o := 1; o <= 8; o++ {
		up := imaging.Clone(orient(base, o))
		for _, r := range []image.Rectangle{up.Bounds(), image.Rect(1, 2, 4, 6), image.Rect(0, 0, 1, 1)} {
			v := jpegView(jp, o, r)
			line := make([]uint8, 3*v.w)
			for y := range v.h {
				v.row(y, line)
				for x := range v.w {
					c := up.NRGBAAt(r.Min.X+x, r.Min.Y+y)
					if got := line[3*x : 3*x+3]; got[0] != c.R || got[1] != c.G || got[2] != c.B {
						t.Fatalf("orientation %d, %v: (%d,%d) is %v, want %v", o, r, x, y, got, c)
					}
				}
			}
		}
	}
}

// On every shared photo (decoded as Decode does) and both default models'
// preprocessing with every filter, the one pass gives imaging's values.
func TestResampleRealPhotos(t *testing.T) {
	dir := os.Getenv("TEST_IMAGES_DIR")
	if dir == "" {
		t.Skip("set TEST_IMAGES_DIR=/work/shared/images to run")
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	n := 0
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := Decode(data, Limits{})
		if err != nil {
			continue // not an image, or the truncated one
		}
		n++
		size := img.Bounds().Size()
		for fn := range filters {
			for _, p := range []classify.Preprocess{themePrep, colorPrep, {CropFraction: 0.875, Width: 224, Height: 224}} {
				p.Resize, p.Range = fn, nil
				pt := image.Pt(size.X/2, size.Y/3)
				got, err := Prepare(img, p, pt)
				if err != nil {
					t.Fatal(err)
				}
				worst, differ := levelDiff(got, prepareImaging(img, p, pt))
				if worst > 0 {
					t.Errorf("%s %q %dx%d: %d of %d values differ, by up to %v levels", filepath.Base(name), fn, p.Width, p.Height, differ, len(got.Float32s()), worst)
				}
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d photos decoded in %s", n, dir)
	}
}
