package imageprep

// tfTap is where one output coordinate samples the source under
// tf.image.resize's bilinear method: between lo and hi, lerp of the way.
type tfTap struct {
	lo, hi int
	lerp   float32
}

// tfTaps computes TensorFlow's interpolation weights for resizing n source
// samples to out (ResizeBilinear with half_pixel_centers=True and
// align_corners=False, which tf.image.resize uses): output i samples
// source coordinate (i+0.5)*n/out - 0.5, in float32 as TensorFlow
// computes it, between the neighbours clamped to the image.
func tfTaps(out, n int) []tfTap {
	scale := float32(n) / float32(out)
	t := make([]tfTap, out)
	for i := range t {
		// The conversions round each step, as C++ float arithmetic does
		// (and stop a fused multiply-add on platforms that have one).
		in := float32(float32(float32(i)+0.5)*scale) - 0.5
		f := floor32(in)
		t[i] = tfTap{lo: max(int(f), 0), hi: min(ceil32(in), n-1), lerp: in - f}
	}
	return t
}

func floor32(x float32) float32 {
	f := float32(int(x))
	if f > x {
		f--
	}
	return f
}

func ceil32(x float32) int {
	c := int(x)
	if float32(c) < x {
		c++
	}
	return c
}

// tfResize resizes view v to W x H as TensorFlow's tf.image.resize
// (bilinear, no antialiasing: a shrink samples, it does not average)
// would on the 8-bit image, and scales the float results without
// rounding them to levels first. Transparent pixels are composited over
// white before interpolating, as a decoder giving RGB would.
func (sc *scaler) tfResize(dst []float32, v *view, W, H int) {
	nc := v.channels()
	xs, ys := tfTaps(W, v.w), tfTaps(H, v.h)
	top, bottom := make([]uint8, v.w*nc), make([]uint8, v.w*nc)
	topY, bottomY := -1, -1
	load := func(y int, buf []uint8) {
		v.row(y, buf)
		if nc == 4 {
			for i := 0; i < len(buf); i += 4 {
				if a := buf[i+3]; a != 0xff {
					buf[i], buf[i+1], buf[i+2] = overWhite(buf[i], a), overWhite(buf[i+1], a), overWhite(buf[i+2], a)
				}
			}
		}
	}
	r, g, b := 0, 1, 2
	if sc.bgr {
		r, b = 2, 0
	}
	order := [3]int{r, g, b}
	for y, ty := range ys {
		if ty.lo != topY {
			if ty.lo == bottomY {
				top, bottom = bottom, top
				bottomY = -1
			} else {
				load(ty.lo, top)
			}
			topY = ty.lo
		}
		if ty.hi != bottomY {
			load(ty.hi, bottom)
			bottomY = ty.hi
		}
		lower := bottom
		row := dst[y*W*3 : (y+1)*W*3]
		for x, tx := range xs {
			for c, o := range order {
				tl := float32(top[tx.lo*nc+c])
				tr := float32(top[tx.hi*nc+c])
				bl := float32(lower[tx.lo*nc+c])
				br := float32(lower[tx.hi*nc+c])
				t := tl + float32((tr-tl)*tx.lerp)
				bo := bl + float32((br-bl)*tx.lerp)
				val := t + float32((bo-t)*ty.lerp)
				row[3*x+o] = sc.value(o, float64(val))
			}
		}
	}
}

// tfResizeCost bounds the bytes tfResize allocates for a crop cw wide.
func tfResizeCost(cw, w, h int) int64 {
	return 2*4*int64(cw) + 24*int64(w+h) + 1024
}
