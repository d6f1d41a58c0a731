package imageprep

import (
	"image"
	"image/color"
	"math"
	"runtime"
	"sync"

	"github.com/disintegration/imaging"

	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
	pngdec "github.com/classifyd/classifyd/imageprep/png"
)

// This file is the one pass from decoded pixels to a model's tensor: the
// crop is read in place (through strides, which also apply an EXIF
// orientation), resized by a separable filter with precomputed weights and
// written through the scaling table straight into the float32 tensor. The
// arithmetic is disintegration/imaging's (weights, float64 sums, rounding
// between the passes, alpha weighting), so inputs match what the previous
// Crop → Resize → fill pipeline gave to within a level of rounding.

// pxKind is how a view's bytes encode a pixel.
type pxKind uint8

const (
	kindRGB   pxKind = iota // 3 bytes R, G, B (jpegdec colour)
	kindGray                // 1 byte
	kindNRGBA               // 4 bytes, not premultiplied
	kindRGBA                // 4 bytes, premultiplied (image.RGBA)
	kindPal                 // 1 byte index into pal
)

// view is the upright crop of a decoded image, read without copying it:
// pixel (x, y) of the crop (0 ≤ x < w, 0 ≤ y < h) starts at
// pix[off + x*dx + y*dy].
type view struct {
	kind   pxKind
	pix    []uint8
	off    int
	dx, dy int
	w, h   int
	pal    *[256][4]uint8 // kindPal: the palette as NRGBA
	// alpha: some pixel of the crop may be transparent, so rows are
	// scanned as 4 bytes a pixel (NRGBA) and resized alpha-weighted.
	alpha bool
	// wait, if not nil, is called before row y is read, to wait until
	// the decoder has finished it; it must be safe for concurrent use.
	wait func(y int)
}

// channels is the bytes a pixel takes in scanned rows.
func (v *view) channels() int {
	if v.alpha {
		return 4
	}
	return 3
}

// row writes crop row y into dst: RGB, or NRGBA when v.alpha.
func (v *view) row(y int, dst []uint8) {
	if v.wait != nil {
		v.wait(y)
	}
	i := v.off + y*v.dy
	w := v.w
	switch v.kind {
	case kindRGB:
		if v.dx == 3 {
			copy(dst[:3*w], v.pix[i:i+3*w])
			return
		}
		for x := range w {
			s := v.pix[i : i+3 : i+3]
			d := dst[3*x : 3*x+3 : 3*x+3]
			d[0], d[1], d[2] = s[0], s[1], s[2]
			i += v.dx
		}
	case kindGray:
		for x := range w {
			g := v.pix[i]
			d := dst[3*x : 3*x+3 : 3*x+3]
			d[0], d[1], d[2] = g, g, g
			i += v.dx
		}
	case kindNRGBA, kindRGBA:
		premul := v.kind == kindRGBA
		if v.alpha && !premul && v.dx == 4 {
			copy(dst[:4*w], v.pix[i:i+4*w])
			return
		}
		nc := v.channels()
		for x := range w {
			s := v.pix[i : i+4 : i+4]
			d := dst[nc*x : nc*x+nc : nc*x+nc]
			r, g, b, a := s[0], s[1], s[2], s[3]
			if premul && a != 0xff {
				// As imaging's scanner un-premultiplies (truncating).
				if a == 0 {
					r, g, b = 0, 0, 0
				} else {
					r = uint8(uint16(r) * 0xff / uint16(a))
					g = uint8(uint16(g) * 0xff / uint16(a))
					b = uint8(uint16(b) * 0xff / uint16(a))
				}
			}
			d[0], d[1], d[2] = r, g, b
			if nc == 4 {
				d[3] = a
			}
			i += v.dx
		}
	case kindPal:
		nc := v.channels()
		for x := range w {
			c := &v.pal[v.pix[i]]
			copy(dst[nc*x:nc*x+nc], c[:nc])
			i += v.dx
		}
	}
}

// viewOf returns the view of rectangle r (in img's coordinates) of an
// upright image, or false for an image type the view does not read (the
// caller converts the crop first). r is clipped to the image.
func viewOf(img image.Image, r image.Rectangle) (view, bool) {
	r = r.Intersect(img.Bounds())
	v := view{w: r.Dx(), h: r.Dy()}
	switch m := img.(type) {
	case *jpegdec.Image:
		return jpegView(m, 1, r.Sub(m.Rect.Min)), true
	case *pngdec.RGBImage:
		v.kind, v.pix, v.dx, v.dy, v.off = kindRGB, m.Pix, 3, m.Stride, m.PixOffset(r.Min.X, r.Min.Y)
		return v, true
	case *image.NRGBA:
		v.kind, v.pix, v.dx, v.dy, v.off = kindNRGBA, m.Pix, 4, m.Stride, m.PixOffset(r.Min.X, r.Min.Y)
	case *image.RGBA:
		v.kind, v.pix, v.dx, v.dy, v.off = kindRGBA, m.Pix, 4, m.Stride, m.PixOffset(r.Min.X, r.Min.Y)
	case *image.Gray:
		v.kind, v.pix, v.dx, v.dy, v.off = kindGray, m.Pix, 1, m.Stride, m.PixOffset(r.Min.X, r.Min.Y)
		return v, true
	case *image.Paletted:
		var pal [256][4]uint8
		for i := range pal {
			c := color.NRGBA{A: 0xff} // an index past the palette: opaque black
			if i < len(m.Palette) {
				c = color.NRGBAModel.Convert(m.Palette[i]).(color.NRGBA)
			}
			pal[i] = [4]uint8{c.R, c.G, c.B, c.A}
		}
		v.kind, v.pix, v.dx, v.dy, v.off, v.pal = kindPal, m.Pix, 1, m.Stride, m.PixOffset(r.Min.X, r.Min.Y), &pal
	default:
		return view{}, false
	}
	v.alpha = !v.opaque()
	return v, true
}

// opaque reports whether every pixel of the view is opaque, so that it can
// be resized as RGB.
func (v *view) opaque() bool {
	switch v.kind {
	case kindRGB, kindGray:
		return true
	case kindPal:
		for y := range v.h {
			i := v.off + y*v.dy
			for _, p := range v.pix[i : i+v.w] {
				if v.pal[p][3] != 0xff {
					return false
				}
			}
		}
		return true
	}
	for y := range v.h {
		i := v.off + y*v.dy + 3
		for range v.w {
			if v.pix[i] != 0xff {
				return false
			}
			i += 4
		}
	}
	return true
}

// jpegView is the view of rectangle r (relative to m's top-left corner,
// in upright coordinates) of a decoded JPEG region stored before EXIF
// orientation o.
func jpegView(m *jpegdec.Image, o int, r image.Rectangle) view {
	c := m.Channels
	v := view{kind: kindRGB, pix: m.Pix, w: r.Dx(), h: r.Dy()}
	if c == 1 {
		v.kind = kindGray
	}
	sw, sh := m.Rect.Dx(), m.Rect.Dy()
	st := m.Stride
	// Stored pixel (sx, sy) of upright (u, v) = (sx0 + u*ux + v*vx,
	// sy0 + u*uy + v*vy), from storedRect's mappings.
	u0, v0 := r.Min.X, r.Min.Y
	var sx0, sy0, ux, uy, vx, vy int
	switch o {
	default:
		sx0, sy0, ux, vy = u0, v0, 1, 1
	case 2:
		sx0, sy0, ux, vy = sw-1-u0, v0, -1, 1
	case 3:
		sx0, sy0, ux, vy = sw-1-u0, sh-1-v0, -1, -1
	case 4:
		sx0, sy0, ux, vy = u0, sh-1-v0, 1, -1
	case 5:
		sx0, sy0, uy, vx = v0, u0, 1, 1
	case 6:
		sx0, sy0, uy, vx = v0, sh-1-u0, -1, 1
	case 7:
		sx0, sy0, uy, vx = sw-1-v0, sh-1-u0, -1, -1
	case 8:
		sx0, sy0, uy, vx = sw-1-v0, u0, 1, -1
	}
	v.off = sy0*st + sx0*c
	v.dx = uy*st + ux*c
	v.dy = vy*st + vx*c
	return v
}

// uprightSize is the size of a stored w x h image shown with orientation o.
func uprightSize(w, h, o int) image.Point {
	if o >= 5 {
		return image.Pt(h, w)
	}
	return image.Pt(w, h)
}

// taps are a filter's precomputed weights for resizing n source samples
// to len(first) outputs: output i is the sum over k < count[i] of
// src[first[i]+k] * w[i*stride+k].
//
// For opaque pixels, w255 and inv give imaging's alpha-weighted sums
// exactly (the weights times alpha 255, and the reciprocal of their sum),
// so that opaque images resize to the very same bytes.
type taps struct {
	first, count []int32
	stride       int
	w, w255      []float64
	inv          []float64
}

// newTaps computes the weights as imaging does: the kernel's support is
// widened by the shrink factor (antialiasing), sample centres are at
// half-pixel offsets and each output's weights are normalised to sum to 1.
func newTaps(dst, src int, f imaging.ResampleFilter) taps {
	du := float64(src) / float64(dst)
	scale := max(du, 1)
	ru := math.Ceil(scale * f.Support)
	t := taps{first: make([]int32, dst), count: make([]int32, dst), stride: 2*int(ru) + 1}
	t.w = make([]float64, dst*t.stride)
	t.w255 = make([]float64, dst*t.stride)
	t.inv = make([]float64, dst)
	for v := range dst {
		fu := (float64(v)+0.5)*du - 0.5
		begin := max(int(math.Ceil(fu-ru)), 0)
		end := min(int(math.Floor(fu+ru)), src-1)
		ws := t.w[v*t.stride : (v+1)*t.stride]
		var sum float64
		for u := begin; u <= end; u++ {
			k := f.Kernel((float64(u) - fu) / scale)
			ws[u-begin] = k
			sum += k
		}
		// Zero weights at either end are dropped (imaging drops every
		// zero weight; inside the taps they are kept, since adding 0
		// changes no sum), so the filter loops do not read those pixels.
		lead, n := 0, end-begin+1
		for n > 0 && ws[n-1] == 0 {
			n--
		}
		for lead < n && ws[lead] == 0 {
			lead++
		}
		copy(ws, ws[lead:n])
		clear(ws[n-lead:])
		begin, end = begin+lead, begin+n-1
		if sum != 0 {
			for i := range end - begin + 1 {
				ws[i] /= sum
			}
		}
		var a float64
		for i := range end - begin + 1 {
			aw := 255 * ws[i]
			t.w255[v*t.stride+i] = aw
			a += aw
		}
		if a != 0 {
			t.inv[v] = 1 / a
		}
		t.first[v], t.count[v] = int32(begin), int32(max(end-begin+1, 0))
	}
	return t
}

// tapsCost bounds the bytes newTaps allocates.
func tapsCost(dst, src int, support float64) int64 {
	ru := math.Ceil(max(float64(src)/float64(max(dst, 1)), 1) * support)
	return int64(dst) * (16 + 16*(2*int64(ru)+1))
}

// round8 is imaging's rounding of a filter sum to a byte.
func round8(x float64) uint8 {
	v := int64(x + 0.5)
	if v > 255 {
		return 255
	}
	if v > 0 {
		return uint8(v)
	}
	return 0
}

// byteFloat is float64(i) for every byte i: a load, where converting
// needs two instructions (one to break a false dependency).
var byteFloat = func() (t [256]float64) {
	for i := range t {
		t[i] = float64(i)
	}
	return t
}()

// hfilter resizes one scanned row (nc bytes a pixel) to len(t.first)
// pixels.
func hfilter(dst, src []uint8, t *taps, nc int) {
	if nc == 3 {
		hfilter3(dst, src, t)
		return
	}
	for x := range t.first {
		s := src[int(t.first[x])*nc:]
		ws := t.w[x*t.stride : x*t.stride+int(t.count[x])]
		d := dst[x*nc : x*nc+nc : x*nc+nc]
		var r, g, b, a float64
		for k, w := range ws {
			p := s[4*k : 4*k+4 : 4*k+4]
			aw := float64(p[3]) * w
			r += float64(p[0]) * aw
			g += float64(p[1]) * aw
			b += float64(p[2]) * aw
			a += aw
		}
		if a != 0 {
			inv := 1 / a
			d[0], d[1], d[2], d[3] = round8(r*inv), round8(g*inv), round8(b*inv), round8(a)
		} else {
			d[0], d[1], d[2], d[3] = 0, 0, 0, 0
		}
	}
}

// hfilter3 is hfilter for opaque pixels (3 bytes each), with the same
// sums in the same order.
func hfilter3(dst, src []uint8, t *taps) {
	dst = dst[:3*len(t.first)]
	for x := range t.first {
		f, n := int(t.first[x]), int(t.count[x])
		r, g, b := dot3(src[3*f:3*(f+n)], t.w255[x*t.stride:x*t.stride+n])
		inv := t.inv[x]
		d := dst[3*x : 3*x+3 : 3*x+3]
		d[0], d[1], d[2] = round8(r*inv), round8(g*inv), round8(b*inv)
	}
}

// dot3 sums the pixels of p (3 bytes each) weighted by ws, per channel.
// Not inlined: on its own the loop keeps everything in registers.
//
//go:noinline
func dot3(p []uint8, ws []float64) (r, g, b float64) {
	lut := &byteFloat
	for i, w := range ws {
		q := p[3*i : 3*i+3 : 3*i+3]
		r += lut[q[0]] * w
		g += lut[q[1]] * w
		b += lut[q[2]] * w
	}
	return r, g, b
}

// vfilter3 is vfilter for opaque pixels: each output byte's sum is
// taken over its column of input rows at once, in the same order as
// vfilter adds the rows, so no row of partial sums is kept.
func vfilter3(dst, tmp []uint8, rowLen, y int, t *taps) {
	first := int(t.first[y])
	ws := t.w255[y*t.stride : y*t.stride+int(t.count[y])]
	inv := t.inv[y]
	lut := &byteFloat
	src := tmp[first*rowLen : (first+len(ws))*rowLen]
	dst = dst[:rowLen]
	switch len(ws) {
	case 4, 5:
		// The common bilinear shrinks by 2-3x, unrolled: the rows as
		// slices of their own, so the loop has no bounds checks.
		r0, r1, r2, r3 := src[:rowLen], src[rowLen:2*rowLen], src[2*rowLen:3*rowLen], src[3*rowLen:4*rowLen]
		w0, w1, w2, w3 := ws[0], ws[1], ws[2], ws[3]
		if len(ws) == 4 {
			for i := range dst {
				v := lut[r0[i]]*w0 + lut[r1[i]]*w1 + lut[r2[i]]*w2 + lut[r3[i]]*w3
				dst[i] = round8(v * inv)
			}
			return
		}
		r4, w4 := src[4*rowLen:5*rowLen], ws[4]
		for i := range dst {
			v := lut[r0[i]]*w0 + lut[r1[i]]*w1 + lut[r2[i]]*w2 + lut[r3[i]]*w3 + lut[r4[i]]*w4
			dst[i] = round8(v * inv)
		}
		return
	}
	for i := range dst {
		var v float64
		for k, w := range ws {
			v += lut[src[k*rowLen+i]] * w
		}
		dst[i] = round8(v * inv)
	}
}

// vfilter makes output row y from the rows of tmp (each rowLen bytes)
// that t names for it, into dst; acc is scratch of rowLen float64s (and
// as many more for the alpha sums when nc is 4).
func vfilter(dst, tmp []uint8, rowLen, y int, t *taps, nc int, acc []float64) {
	first := int(t.first[y])
	ws := t.w[y*t.stride : y*t.stride+int(t.count[y])]
	if nc == 3 {
		vfilter3(dst, tmp, rowLen, y, t)
		return
	}
	acc = acc[:rowLen]
	clear(acc)
	// Alpha-weighted, as imaging: sum of c*a*w over the sum of a*w.
	for k, w := range ws {
		src := tmp[(first+k)*rowLen : (first+k+1)*rowLen]
		for i := 0; i < len(src); i += 4 {
			p := src[i : i+4 : i+4]
			a := acc[i : i+4 : i+4]
			aw := float64(p[3]) * w
			a[0] += float64(p[0]) * aw
			a[1] += float64(p[1]) * aw
			a[2] += float64(p[2]) * aw
			a[3] += aw
		}
	}
	for i := 0; i < len(acc); i += 4 {
		a := acc[i : i+4 : i+4]
		d := dst[i : i+4 : i+4]
		if a[3] != 0 {
			inv := 1 / a[3]
			d[0], d[1], d[2], d[3] = round8(a[0]*inv), round8(a[1]*inv), round8(a[2]*inv), round8(a[3])
		} else {
			d[0], d[1], d[2], d[3] = 0, 0, 0, 0
		}
	}
}

// parallelMin is the crop size (pixels) from which rows are resized on
// every CPU: below it, starting goroutines costs more than it saves.
const parallelMin = 512 * 512

// workers is how many goroutines resize a crop of px pixels.
func workers(px int) int {
	if px < parallelMin {
		return 1
	}
	return max(1, runtime.GOMAXPROCS(0))
}

// rows runs fn over [0, n) split into n workers' contiguous ranges.
func rows(n, procs int, fn func(lo, hi int)) {
	if procs <= 1 || n < 2 {
		fn(0, n)
		return
	}
	procs = min(procs, n)
	var wg sync.WaitGroup
	for p := range procs {
		lo, hi := n*p/procs, n*(p+1)/procs
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// resample resizes view v to the output size of o with filter f and writes
// the result through the scaler into dst (HWC float32), as imaging.Resize
// followed by scaler.fill would.
func (sc *scaler) resample(dst []float32, v *view, W, H int, f imaging.ResampleFilter) {
	nc := v.channels()
	procs := workers(v.w * v.h)
	if f.Support <= 0 {
		sc.nearest(dst, v, W, H)
		return
	}
	var ht, vt *taps
	if v.w != W {
		t := newTaps(W, v.w, f)
		ht = &t
	}
	if v.h != H {
		t := newTaps(H, v.h, f)
		vt = &t
	}
	rowLen := W * nc
	if vt == nil {
		// Each crop row becomes one output row.
		rows(H, procs, func(lo, hi int) {
			line := make([]uint8, v.w*nc)
			out := make([]uint8, rowLen)
			for y := lo; y < hi; y++ {
				v.row(y, line)
				if ht != nil {
					hfilter(out, line, ht, nc)
				} else {
					copy(out, line)
				}
				sc.put(dst[y*W*3:(y+1)*W*3], out, nc)
			}
		})
		return
	}
	// Horizontal pass over the crop's rows (only those the vertical
	// filter reads), then the vertical one.
	lo := int(vt.first[0])
	hi := int(vt.first[H-1] + vt.count[H-1])
	tmp := make([]uint8, v.h*rowLen)
	rows(hi-lo, procs, func(a, b int) {
		var line []uint8
		if ht != nil {
			line = make([]uint8, v.w*nc)
		}
		for y := lo + a; y < lo+b; y++ {
			out := tmp[y*rowLen : (y+1)*rowLen]
			if ht == nil {
				v.row(y, out)
				continue
			}
			v.row(y, line)
			hfilter(out, line, ht, nc)
		}
	})
	rows(H, procs, func(a, b int) {
		acc := make([]float64, rowLen)
		out := make([]uint8, rowLen)
		for y := a; y < b; y++ {
			vfilter(out, tmp, rowLen, y, vt, nc, acc)
			sc.put(dst[y*W*3:(y+1)*W*3], out, nc)
		}
	})
}

// resampleCost bounds the bytes resample allocates for a crop of cw x ch
// resized to w x h (the tensor not included).
func resampleCost(cw, ch, w, h int, support float64) int64 {
	procs := int64(max(1, runtime.GOMAXPROCS(0)))
	nc := int64(4)
	c := tapsCost(w, cw, support) + tapsCost(h, ch, support)
	c += int64(ch) * int64(w) * nc           // the horizontal pass's rows
	c += procs * (int64(cw) + int64(w)) * nc // each worker's scan and output line
	c += procs * int64(w) * nc * 8           // each worker's vertical sums
	c += 256 * 4                             // a palette
	return c + 4<<10                         // closures and slice headers
}

// nearest is imaging's nearest-neighbour resize: output (x, y) is source
// pixel (int((x+0.5)*cw/W), int((y+0.5)*ch/H)).
func (sc *scaler) nearest(dst []float32, v *view, W, H int) {
	nc := v.channels()
	dx := float64(v.w) / float64(W)
	dy := float64(v.h) / float64(H)
	line := make([]uint8, v.w*nc)
	out := make([]uint8, W*nc)
	last := -1
	for y := range H {
		sy := int((float64(y) + 0.5) * dy)
		if sy != last {
			v.row(sy, line)
			last = sy
		}
		for x := range W {
			sx := int((float64(x) + 0.5) * dx)
			copy(out[x*nc:x*nc+nc], line[sx*nc:sx*nc+nc])
		}
		sc.put(dst[y*W*3:(y+1)*W*3], out, nc)
	}
}

// put writes one row of resized pixels (nc bytes each) into dst through
// the scaling table, compositing transparent pixels over white.
func (sc *scaler) put(dst []float32, src []uint8, nc int) {
	r, g, b := 0, 1, 2
	if sc.bgr {
		r, b = 2, 0
	}
	j := 0
	for i := 0; i+nc <= len(src); i += nc {
		px := src[i : i+nc : i+nc]
		cr, cg, cb := px[0], px[1], px[2]
		if nc == 4 {
			if a := px[3]; a != 0xff {
				cr, cg, cb = overWhite(cr, a), overWhite(cg, a), overWhite(cb, a)
			}
		}
		d := dst[j : j+3 : j+3]
		d[r] = sc.lut[r][cr]
		d[g] = sc.lut[g][cg]
		d[b] = sc.lut[b][cb]
		j += 3
	}
}
