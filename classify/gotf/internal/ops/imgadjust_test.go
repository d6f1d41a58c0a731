package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// The references below are written in float64 from the textbook HSV model
// (hue in turns; each RGB channel a clamped linear ramp of the hue between
// the pixel's min and max), not from the kernels' sector code.

// refRamp is the weight of channel k (0 r, 1 g, 2 b) at hue h turns.
func refRamp(h float64, k int) float64 {
	d := h * 6
	var v float64
	switch k {
	case 0:
		v = math.Abs(d-3) - 1
	case 1:
		v = 2 - math.Abs(d-2)
	default:
		v = 2 - math.Abs(d-4)
	}
	return math.Min(math.Max(v, 0), 1)
}

// refHSV returns hue in turns [0, 1), saturation and value.
func refHSV(r, g, b float64) (h, s, v float64) {
	hi, lo := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	c := hi - lo
	if hi > 0 {
		s = c / hi
	}
	if c > 0 {
		switch hi {
		case r:
			h = math.Mod((g-b)/c, 6)
		case g:
			h = (b-r)/c + 2
		default:
			h = (r-g)/c + 4
		}
		h /= 6
		if h < 0 {
			h++
		}
	}
	return h, s, hi
}

func f64T(shape []int, v []float64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float64, Shape: shape, Data: v}
}

func checkClose(t *testing.T, got *classify.Tensor, want []float64, shape classify.Shape, tol float64) {
	t.Helper()
	if !got.Shape.Equal(shape) {
		t.Fatalf("shape %v, want %v", got.Shape, shape)
	}
	g := classifytest.Float64s(got)
	for i, w := range want {
		if d := math.Abs(g[i] - w); d > tol*(1+math.Abs(w)) || math.IsNaN(g[i]) {
			t.Fatalf("element %d: got %v, want %v (diff %g)", i, g[i], w, d)
		}
	}
}

func scalarF32(v float32) *classify.Tensor { return classify.FromFloat32([]float32{v}) }

func TestAdjustContrastv2(t *testing.T) {
	for _, c := range []struct {
		shape []int
		f     float32
	}{
		{[]int{2, 5, 7, 3}, 0.5},
		{[]int{2, 5, 7, 3}, 2.5},
		{[]int{4, 9, 1}, -1},
		{[]int{1, 1, 1, 2}, 3},
		{[]int{2, 3, 17, 16, 4}, 0},
		{[]int{1, 32, 32, 3}, 1.7},
	} {
		x := randF32(uint64(len(c.shape)*100+c.shape[1]), -2, 3, c.shape...)
		got := mustRun(t, "AdjustContrastv2", map[string]any{"T": classify.Float32}, x, scalarF32(c.f))
		r := len(c.shape)
		pix, ch := c.shape[r-3]*c.shape[r-2], c.shape[r-1]
		xs := classifytest.Float64s(x)
		want := make([]float64, len(xs))
		for b := 0; b < len(xs)/(pix*ch); b++ {
			for k := range ch {
				m := 0.0
				for p := range pix {
					m += xs[(b*pix+p)*ch+k]
				}
				m /= float64(pix)
				for p := range pix {
					i := (b*pix+p)*ch + k
					want[i] = m + float64(c.f)*(xs[i]-m)
				}
			}
		}
		checkClose(t, got, want, c.shape, 2e-6)
	}
}

func TestAdjustHue(t *testing.T) {
	// tf.image.adjust_hue's documented example, computed by TensorFlow.
	x := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 3)
	got := mustRun(t, "AdjustHue", map[string]any{"T": classify.Float32}, x, scalarF32(0.2))
	checkClose(t, got, []float64{2.3999996, 1, 3, 5.3999996, 4, 6, 8.4, 7, 9, 11.4, 10, 12}, x.Shape, 1e-7)

	// Large enough to run on several goroutines.
	img := randF32(1701, -0.5, 1.5, 2, 48, 48, 3)
	// Greys, two equal components and pure primaries.
	copy(img.Float32s(), []float32{0.3, 0.3, 0.3, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5, 0.5, 0.2, 0.2, 0.5, 0.5, 0, 0, 0})
	for _, delta := range []float32{0, 0.2, -0.7, 0.999, 1, -1, 3.25, -2.5} {
		got := mustRun(t, "AdjustHue", map[string]any{"T": classify.Float32}, img, scalarF32(delta))
		xs := classifytest.Float64s(img)
		want := make([]float64, len(xs))
		for i := 0; i < len(xs); i += 3 {
			hi := math.Max(xs[i], math.Max(xs[i+1], xs[i+2]))
			lo := math.Min(xs[i], math.Min(xs[i+1], xs[i+2]))
			var h float64
			if c := hi - lo; c > 0 {
				// The hue of the shifted min: refHSV on (x - lo) keeps
				// the hue and works for negative components too.
				h, _, _ = refHSV(xs[i]-lo, xs[i+1]-lo, xs[i+2]-lo)
			}
			h = math.Mod(h+float64(delta), 1)
			if h < 0 {
				h++
			}
			for k := range 3 {
				want[i+k] = lo + (hi-lo)*refRamp(h, k)
			}
		}
		checkClose(t, got, want, img.Shape, 1e-5)
	}
}

func TestAdjustSaturation(t *testing.T) {
	// tf.image.adjust_saturation's documented example.
	x := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 3)
	got := mustRun(t, "AdjustSaturation", map[string]any{"T": classify.Float32}, x, scalarF32(0.5))
	checkClose(t, got, []float64{2, 2.5, 3, 5, 5.5, 6, 8, 8.5, 9, 11, 11.5, 12}, x.Shape, 1e-6)

	img := randF32(1702, 0, 1, 2, 48, 48, 3)
	copy(img.Float32s(), []float32{0.3, 0.3, 0.3, 1, 0, 0, 0, 0, 0, 0.5, 0.5, 0.2, 0.9, 0.1, 0.1})
	for _, f := range []float32{0, 0.5, 1, 2, 10} {
		got := mustRun(t, "AdjustSaturation", map[string]any{"T": classify.Float32}, img, scalarF32(f))
		xs := classifytest.Float64s(img)
		want := make([]float64, len(xs))
		for i := 0; i < len(xs); i += 3 {
			h, s, v := refHSV(xs[i], xs[i+1], xs[i+2])
			s = math.Min(1, math.Max(0, s*float64(f)))
			for k := range 3 {
				want[i+k] = v * (1 - s + s*refRamp(h, k))
			}
		}
		checkClose(t, got, want, img.Shape, 1e-5)
	}
}

func TestRGBHSV(t *testing.T) {
	for _, dt := range []classify.DType{classify.Float32, classify.Float64} {
		rgb := randF32(1703, 0, 1, 4, 7, 3)
		copy(rgb.Float32s(), []float32{0.3, 0.3, 0.3, 1, 0, 0, 0, 0, 0, 0.5, 0.5, 0.2, 0.2, 0.5, 0.5, 0, 0, 1, 1, 0, 1})
		xs := classifytest.Float64s(rgb)
		in := rgb
		if dt == classify.Float64 {
			in = f64T(rgb.Shape, xs)
		}
		hsv := mustRun(t, "RGBToHSV", map[string]any{"T": dt}, in)
		want := make([]float64, len(xs))
		for i := 0; i < len(xs); i += 3 {
			want[i], want[i+1], want[i+2] = refHSV(xs[i], xs[i+1], xs[i+2])
		}
		if hsv.DType != dt {
			t.Fatalf("RGBToHSV gives %v for %v", hsv.DType, dt)
		}
		checkClose(t, hsv, want, rgb.Shape, 1e-6)
		// Back from the reference HSV values to the original RGB.
		hin := f64T(rgb.Shape, want)
		if dt == classify.Float32 {
			hin = classify.NewTensor(classify.Float32, rgb.Shape...)
			for i, v := range want {
				hin.Float32s()[i] = float32(v)
			}
		}
		back := mustRun(t, "HSVToRGB", map[string]any{"T": dt}, hin)
		checkClose(t, back, xs, rgb.Shape, 1e-6)
	}
	// HSV of any hue with no saturation is grey; zero value is black.
	got := mustRun(t, "HSVToRGB", map[string]any{"T": classify.Float32}, classify.FromFloat32([]float32{0.7, 0, 0.4, 0.3, 1, 0}, 2, 3))
	checkClose(t, got, []float64{0.4, 0.4, 0.4, 0, 0, 0}, classify.Shape{2, 3}, 1e-7)
}

func TestImgAdjustEdges(t *testing.T) {
	f32 := graphdef.Attrs{"T": classify.Float32}
	for _, op := range []string{"AdjustContrastv2", "AdjustHue", "AdjustSaturation"} {
		got := mustRun(t, op, f32, classify.NewTensor(classify.Float32, 0, 4, 4, 3), scalarF32(0.5))
		if !got.Shape.Equal(classify.Shape{0, 4, 4, 3}) {
			t.Errorf("%s of an empty batch: shape %v", op, got.Shape)
		}
	}
	got := mustRun(t, "RGBToHSV", f32, classify.NewTensor(classify.Float32, 0, 3))
	if !got.Shape.Equal(classify.Shape{0, 3}) {
		t.Errorf("RGBToHSV of no pixels: shape %v", got.Shape)
	}
	img := saFeed(randF32(1, 0, 1, 2, 2, 3))
	saCheckErrors(t, []saErrCase{
		{"hue_channels", "AdjustHue", f32, []saIn{saFeed(randF32(1, 0, 1, 2, 2, 4)), saFeed(scalarF32(0.1))}, classify.ErrInvalidInput, "3 channels"},
		{"saturation_rank", "AdjustSaturation", f32, []saIn{saFeed(randF32(1, 0, 1, 2, 3)), saFeed(scalarF32(0.1))}, classify.ErrInvalidInput, "at least 3-D"},
		{"contrast_rank", "AdjustContrastv2", f32, []saIn{saFeed(randF32(1, 0, 1, 4, 3)), saFeed(scalarF32(0.1))}, classify.ErrInvalidInput, "at least 3-D"},
		{"contrast_factor_shape", "AdjustContrastv2", f32, []saIn{img, saFeed(randF32(1, 0, 1, 2))}, classify.ErrInvalidInput, "scalar"},
		{"hue_nan", "AdjustHue", f32, []saIn{img, saFeed(scalarF32(float32(math.NaN())))}, classify.ErrInvalidInput, "not finite"},
		{"hue_float64", "AdjustHue", graphdef.Attrs{"T": classify.Float64}, []saIn{saFeed(f64T([]int{1, 1, 3}, []float64{1, 2, 3})), saFeed(scalarF32(0.1))}, classify.ErrInvalidGraph, "float64"},
		{"hsv_channels", "HSVToRGB", f32, []saIn{saFeed(randF32(1, 0, 1, 2, 2))}, classify.ErrInvalidInput, "3 channels"},
		{"hsv_int", "RGBToHSV", nil, []saIn{saFeed(saIota(2, 3))}, classify.ErrInvalidInput, "int32"},
	})
	saCheckShapes(t, []saShapeCase{
		{name: "hue", op: "AdjustHue", attrs: f32, in: []classify.TensorInfo{saF32Info(-1, 5, 5, 3), saF32Info()}, want: []classify.TensorInfo{saF32Info(-1, 5, 5, 3)}},
		{name: "hue_channels", op: "AdjustHue", attrs: f32, in: []classify.TensorInfo{saF32Info(-1, 5, 5, 2), saF32Info()}, err: true},
		{name: "hsv64", op: "RGBToHSV", attrs: graphdef.Attrs{"T": classify.Float64}, in: []classify.TensorInfo{saInfo(classify.Float64, 7, -1)}, want: []classify.TensorInfo{saInfo(classify.Float64, 7, -1)}},
	})
}
