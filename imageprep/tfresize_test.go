package imageprep

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// tfResizeRef is an independent reference of tf.image.resize's bilinear
// method (TensorFlow's ResizeBilinear with half_pixel_centers=True,
// align_corners=False), written from its definition in float64: output
// pixel i samples source coordinate (i+0.5)*in/out - 0.5, interpolating
// the two neighbours, clamped to the image, linearly in x then y.
func tfResizeRef(img *image.NRGBA, w, h int) [][][3]float64 {
	b := img.Bounds()
	at := func(x, y, c int) float64 {
		x = clamp(x, 0, b.Dx()-1)
		y = clamp(y, 0, b.Dy()-1)
		p := img.NRGBAAt(b.Min.X+x, b.Min.Y+y)
		return float64([]uint8{p.R, p.G, p.B}[c])
	}
	out := make([][][3]float64, h)
	for y := range h {
		out[y] = make([][3]float64, w)
		sy := (float64(y)+0.5)*float64(b.Dy())/float64(h) - 0.5
		y0 := math.Floor(sy)
		fy := sy - y0
		for x := range w {
			sx := (float64(x)+0.5)*float64(b.Dx())/float64(w) - 0.5
			x0 := math.Floor(sx)
			fx := sx - x0
			for c := range 3 {
				tl, tr := at(int(x0), int(y0), c), at(int(x0)+1, int(y0), c)
				bl, br := at(int(x0), int(y0)+1, c), at(int(x0)+1, int(y0)+1, c)
				top := tl + (tr-tl)*fx
				bot := bl + (br-bl)*fx
				out[y][x][c] = top + (bot-top)*fy
			}
		}
	}
	return out
}

// tf_bilinear agrees with the reference within float32 rounding (1e-3 of
// a level) for shrinking, enlarging and mixed sizes, and gives the values
// TensorFlow documents for a 2-pixel row doubled.
func TestTFBilinear(t *testing.T) {
	row := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	row.SetNRGBA(0, 0, color.NRGBA{0, 0, 0, 255})
	row.SetNRGBA(1, 0, color.NRGBA{255, 255, 255, 255})
	x, err := Prepare(row, classify.Preprocess{Width: 4, Height: 1, Resize: "tf_bilinear"}, image.Pt(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	// tf.image.resize([[0, 255]], [1, 4]) = [[0, 63.75, 191.25, 255]]
	for i, want := range []float32{0, 63.75, 191.25, 255} {
		if got := x.Float32s()[3*i]; got != want {
			t.Errorf("doubled row: pixel %d is %v, want %v", i, got, want)
		}
	}

	rng := rand.New(rand.NewPCG(11, 12))
	img := smooth(61, 47, rng, opaqueA)
	for _, sz := range []struct{ w, h int }{{16, 16}, {128, 100}, {61, 47}, {7, 90}, {1, 1}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			p := classify.Preprocess{Width: sz.w, Height: sz.h, Resize: "tf_bilinear", Channels: "BGR"}
			x, err := Prepare(img, p, image.Pt(30, 20))
			if err != nil {
				t.Fatal(err)
			}
			ref := tfResizeRef(img, sz.w, sz.h)
			got := x.Float32s()
			worst := 0.0
			for y := range sz.h {
				for xx := range sz.w {
					for c := range 3 {
						// BGR: output channel 2-c holds source channel c.
						d := math.Abs(float64(got[(y*sz.w+xx)*3+2-c]) - ref[y][xx][c])
						worst = max(worst, d)
					}
				}
			}
			if worst > 1e-3 {
				t.Errorf("differs from the reference by %v levels", worst)
			}
		})
	}

	// Scaling applies to the interpolated value, not to a rounded level.
	x, err = Prepare(row, classify.Preprocess{Width: 4, Height: 1, Resize: "tf_bilinear", Range: []float32{-1, 1}}, image.Pt(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := x.Float32s()[3], float32(63.75/127.5-1); math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("range [-1,1]: pixel 1 is %v, want %v", got, want)
	}
}
