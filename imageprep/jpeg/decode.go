package jpeg

import (
	"fmt"
	"image"
	"image/color"
)

// decodeImage runs after readHeaders: it allocates for every option,
// decodes every scan once and converts each output's reconstructed planes
// to its pixels. On error the outputs allocated are released.
func (d *decoder) decodeImage(opts []Options) ([]*Image, error) {
	imgs, err := d.decodeTargets(opts)
	if err != nil {
		for j := range d.targets {
			d.targets[j].img.Release()
		}
		return nil, err
	}
	return imgs, nil
}

func (d *decoder) decodeTargets(opts []Options) ([]*Image, error) {
	d.targets = make([]target, len(opts))
	gs := make([]geometry, len(opts))
	for i, opt := range opts {
		g, err := newGeometry(&d.hdr, opt.Scale, opt.Region)
		if err != nil {
			return nil, fmt.Errorf("%w: scale %d, region %v of %dx%d", ErrRegion, opt.Scale, opt.Region, d.hdr.Width, d.hdr.Height)
		}
		gs[i], d.targets[i].g = g, g
	}
	total := regionsCost(gs)
	for _, opt := range opts {
		if opt.MaxBytes > 0 && total > opt.MaxBytes {
			return nil, fmt.Errorf("%w: %d bytes needed, limit %d", ErrTooLarge, total, opt.MaxBytes)
		}
	}
	streaming := !d.hdr.buffered
	for i := 0; i < d.nc; i++ {
		c := &d.comps[i]
		c.rows = c.bh
		if streaming {
			c.rows = c.v
		}
		cp := getCoef(c.bw * c.rows * 64)
		d.coefBufs = append(d.coefBufs, cp)
		c.coef = *cp
		c.dcOnly = true
		for j := range d.targets {
			t := &d.targets[j]
			g := &t.g
			base := 8 / g.scale
			v := &t.views[i]
			v.ss = g.ss[i]
			v.pstr = (g.mx1 - g.mx0) * c.h * v.ss
			v.prows = g.ringRows() * c.v * v.ss
			pp := getBytes(v.pstr * v.prows)
			d.byteBufs = append(d.byteBufs, pp)
			v.plane = *pp
			v.px0 = g.mx0 * c.h * v.ss
			v.py0 = g.my0 * c.v * v.ss
			v.fx = d.maxH * base / (c.h * v.ss)
			v.fy = d.maxV * base / (c.v * v.ss)
			v.cw = ceilDiv(d.hdr.Width*c.h*v.ss, d.maxH*8)
			v.ch = ceilDiv(d.hdr.Height*c.v*v.ss, d.maxV*8)
			rp := getBytes(g.out.Dx())
			d.byteBufs = append(d.byteBufs, rp)
			t.rowBuf[i] = *rp
			c.dcOnly = c.dcOnly && v.ss == 1
		}
	}
	for j := range d.targets {
		t := &d.targets[j]
		g := &t.g
		t.colsum = make([]int32, g.out.Dx()/2+4)
		ow, oh := g.out.Dx(), g.out.Dy()
		pp := getBytes(ow * oh * g.channels)
		t.img = &Image{Pix: *pp, Stride: ow * g.channels, Channels: g.channels, Rect: g.out, Header: d.hdr, pooled: pp}
		t.img.Header.Components = append([]Component(nil), d.hdr.Components...)
	}

	scans := 0
	for {
		if scans > 0 && streaming {
			return nil, corrupt("a second scan after a complete sequential scan")
		}
		// Progressive files have a handful of scans; a flood of them is an
		// attack on CPU time, not a photo.
		if scans++; scans > 1000 {
			return nil, corrupt("more than 1000 scans")
		}
		if err := d.decodeScan(streaming); err != nil {
			return nil, err
		}
		for {
			m, err := d.nextMarker()
			if err != nil {
				return nil, err
			}
			if m == mEOI {
				return d.finish(streaming)
			}
			sos, err := d.handleMarker(m)
			if err != nil {
				return nil, err
			}
			if sos {
				break
			}
		}
	}
}

// use makes target t the output that reconstructRow, upsampleRow and
// convertRow work on.
func (d *decoder) use(t *target) {
	d.g = t.g
	for i := 0; i < d.nc; i++ {
		d.comps[i].view = t.views[i]
	}
	d.rowBuf = t.rowBuf
	d.colsum = t.colsum
}

// reconstructTargets reconstructs MCU row my for every output that needs
// it and converts the output rows it completes (streaming).
func (d *decoder) reconstructTargets(my int) {
	for j := range d.targets {
		t := &d.targets[j]
		if my >= t.g.my0 && my < t.g.my1 {
			d.use(t)
			d.reconstructRow(my)
			d.convertRows(t, my)
		}
	}
}

// storeRange sets d.full for MCU row my: the hull of the MCU columns in
// which some output reconstructs each component with AC terms. Elsewhere
// (other outputs at 1/8, or none at all) only DC is kept.
func (d *decoder) storeRange(my int, streaming bool) {
	for i := 0; i < d.nc; i++ {
		if d.comps[i].dcOnly {
			d.full[i] = [2]int{}
			continue
		}
		if !streaming {
			d.full[i] = [2]int{0, int(^uint(0) >> 1)}
			continue
		}
		lo, hi := int(^uint(0)>>1), 0
		for j := range d.targets {
			g := &d.targets[j].g
			if my >= g.my0 && my < g.my1 && g.ss[i] > 1 {
				lo, hi = min(lo, g.mx0), max(hi, g.mx1)
			}
		}
		d.full[i] = [2]int{lo, hi}
	}
}

// finish hands out the outputs; a buffered decode reconstructs and
// converts them now, MCU row by MCU row through the same planes.
func (d *decoder) finish(streaming bool) ([]*Image, error) {
	if !streaming {
		for i := 0; i < d.nc; i++ {
			if !d.comps[i].seen {
				return nil, corrupt("component %d never appears in a scan", d.comps[i].id)
			}
		}
	}
	imgs := make([]*Image, len(d.targets))
	for j := range d.targets {
		t := &d.targets[j]
		if !streaming {
			d.use(t)
			for my := t.g.my0; my < t.g.my1; my++ {
				d.reconstructRow(my)
				d.convertRows(t, my)
			}
		}
		if t.next != t.g.out.Dy() {
			panic(fmt.Sprintf("jpeg: %d of %d output rows converted", t.next, t.g.out.Dy()))
		}
		imgs[j] = t.img
	}
	return imgs, nil
}

// convertRows upsamples and converts the output rows of target t (the one
// in use) whose component rows MCU row my, just reconstructed, completes.
// The planes hold ringMCURows MCU rows, so each row is converted while its
// samples are still in cache.
func (d *decoder) convertRows(t *target, my int) {
	g := &d.g
	img := t.img
	for ; t.next < g.out.Dy(); t.next++ {
		y := g.out.Min.Y + t.next
		if !d.rowReady(y, my) {
			break
		}
		var rows [4][]uint8
		for i := 0; i < d.nc; i++ {
			c := &d.comps[i]
			if c.fx == 1 && c.fy == 1 {
				// Nothing to upsample: convert from the plane itself.
				x := g.out.Min.X - c.px0
				rows[i] = c.prow(y)[x : x+g.out.Dx()]
				continue
			}
			d.upsampleRow(c, y, d.rowBuf[i])
			rows[i] = d.rowBuf[i]
		}
		d.convertRow(img.Pix[t.next*img.Stride:(t.next+1)*img.Stride], &rows)
	}
}

// rowReady reports whether output row y can be converted once MCU rows up
// to my are reconstructed: every component row upsampleRow reads for it
// (its own, and fancy upsampling's neighbour, clamped to the valid rows as
// prow clamps them) is in the plane. A row the ring no longer holds, or one
// still missing after the last MCU row, is a bug in the geometry, not bad
// input: it panics rather than produce wrong pixels.
func (d *decoder) rowReady(y, my int) bool {
	g := &d.g
	for i := 0; i < d.nc; i++ {
		c := &d.comps[i]
		rpm := c.v * c.ss
		lo, hi := y/c.fy, y/c.fy
		if g.scale < 8 && c.fy == 2 && (c.fx == 1 || c.fx == 2 && c.cw > 2) {
			// Fancy vertical upsampling: the row above for even y,
			// below for odd.
			lo, hi = (y-1)>>1, (y+1)>>1
		}
		lo, hi = min(max(lo, 0), c.ch-1), min(max(hi, 0), c.ch-1)
		if hi >= (my+1)*rpm {
			if my == g.my1-1 {
				panic(fmt.Sprintf("jpeg: output row %d needs component row %d past MCU row %d", y, hi, my))
			}
			return false
		}
		if lo < max(g.my0, my-ringMCURows+1)*rpm {
			panic(fmt.Sprintf("jpeg: output row %d needs component row %d, out of the ring at MCU row %d", y, lo, my))
		}
	}
	return true
}

// reconstructRow runs the IDCT of MCU row my over the reconstructed MCU
// columns into the component planes' ring.
func (d *decoder) reconstructRow(my int) {
	g := &d.g
	if my < g.my0 || my >= g.my1 {
		return
	}
	for i := 0; i < d.nc; i++ {
		c := &d.comps[i]
		ss := c.ss
		for yb := 0; yb < c.v; yb++ {
			by := my*c.v + yb
			row := c.plane[(((my-g.my0)*c.v+yb)*ss%c.prows)*c.pstr:]
			for bx := g.mx0 * c.h; bx < g.mx1*c.h; bx++ {
				blk := c.block(bx, by)
				dst := row[(bx-g.mx0*c.h)*ss:]
				switch ss {
				case 8:
					idct8(blk, &c.q, dst, c.pstr)
				case 1:
					dst[0] = idct1(blk, &c.q)
				default:
					idctReduced(ss, blk, &c.q, dst, c.pstr)
				}
			}
		}
	}
}

// prow is the plane row holding component row cy, clamped to the valid
// rows as libjpeg replicates the last one.
func (c *component) prow(cy int) []uint8 {
	cy = max(0, min(cy, c.ch-1))
	r := (cy - c.py0) % c.prows
	return c.plane[r*c.pstr : (r+1)*c.pstr]
}

// upsampleRow fills dst with component c at output row y, columns
// d.g.out.Min.X onwards: libjpeg's triangular ("fancy") filter for 2x1, 2x2
// and 1x2 sampling, replication otherwise and at 1/8 scale.
func (d *decoder) upsampleRow(c *component, y int, dst []uint8) {
	if d.upsampleFast(c, y, dst) {
		return
	}
	x0 := d.g.out.Min.X
	fancy := d.g.scale < 8
	last := c.cw - 1
	clampX := func(x int) int { return max(0, min(x, last)) - c.px0 }
	switch {
	case c.fx == 1 && c.fy == 1:
		copy(dst, c.prow(y)[x0-c.px0:])
	case c.fx == 2 && c.fy == 1 && fancy && c.cw > 2:
		r := c.prow(y)
		for k := range dst {
			x := x0 + k
			i := x >> 1
			cur := 3 * int32(r[i-c.px0])
			if x&1 == 0 {
				dst[k] = uint8((cur + int32(r[clampX(i-1)]) + 1) >> 2)
			} else {
				dst[k] = uint8((cur + int32(r[clampX(i+1)]) + 2) >> 2)
			}
		}
	case c.fx == 2 && c.fy == 2 && fancy && c.cw > 2:
		cy := y >> 1
		ny := cy + 1
		if y&1 == 0 {
			ny = cy - 1
		}
		r0, r1 := c.prow(cy), c.prow(ny)
		// Column sums once per chroma sample (neighbours clamped), then
		// two outputs per sample without bounds arithmetic.
		ilo := x0>>1 - 1
		ihi := (x0+len(dst)-1)>>1 + 1
		cs := d.colsum[:ihi-ilo+1]
		for j := range cs {
			i := max(0, min(ilo+j, last)) - c.px0
			cs[j] = 3*int32(r0[i]) + int32(r1[i])
		}
		k := 0
		if x0&1 == 1 {
			j := x0>>1 - ilo
			dst[0] = uint8((3*cs[j] + cs[j+1] + 7) >> 4)
			k = 1
		}
		for ; k+1 < len(dst); k += 2 {
			j := (x0+k)>>1 - ilo
			cur := 3 * cs[j]
			dst[k] = uint8((cur + cs[j-1] + 8) >> 4)
			dst[k+1] = uint8((cur + cs[j+1] + 7) >> 4)
		}
		if k < len(dst) {
			j := (x0+k)>>1 - ilo
			dst[k] = uint8((3*cs[j] + cs[j-1] + 8) >> 4)
		}
	case c.fx == 1 && c.fy == 2 && fancy:
		cy := y >> 1
		ny, bias := cy+1, int32(2)
		if y&1 == 0 {
			ny, bias = cy-1, 1
		}
		r0, r1 := c.prow(cy), c.prow(ny)
		for k := range dst {
			i := x0 + k - c.px0
			dst[k] = uint8((3*int32(r0[i]) + int32(r1[i]) + bias) >> 2)
		}
	default:
		replicate(dst, c.prow(y / c.fy)[x0/c.fx-c.px0:], c.fx, x0%c.fx)
	}
}

// replicate fills dst with each sample of r fx times, the first one fx-skip
// times (output column x0 is copy skip of sample x0/fx).
func replicate(dst, r []uint8, fx, skip int) {
	switch fx {
	case 1:
		copy(dst, r)
		return
	case 2:
		k := 0
		if skip == 1 && len(dst) > 0 {
			dst[0] = r[0]
			r = r[1:]
			k = 1
		}
		for ; k+1 < len(dst); k += 2 {
			v := r[0]
			r = r[1:]
			dst[k], dst[k+1] = v, v
		}
		if k < len(dst) {
			dst[k] = r[0]
		}
		return
	}
	for k := 0; k < len(dst); {
		n := min(fx-skip, len(dst)-k)
		v := r[0]
		r = r[1:]
		e := dst[k : k+n]
		for j := range e {
			e[j] = v
		}
		k += n
		skip = 0
	}
}

// YCbCr to RGB in 16-bit fixed point with libjpeg's constants and rounding
// (jdcolor.c), so conversion is bit-exact with djpeg.
const (
	fixR  = 91881  // 1.40200
	fixB  = 116130 // 1.77200
	fixGb = 22554  // 0.34414
	fixGr = 46802  // 0.71414
	half  = 1 << 15
)

// convertRow converts one output row from its components' samples rows[i]
// (upsampled to the output grid) into out.
func (d *decoder) convertRow(out []uint8, rows *[4][]uint8) {
	r0, r1, r2 := rows[0], rows[1], rows[2]
	switch d.hdr.Color {
	case ColorGray:
		copy(out, r0)
	case ColorRGB:
		for i := range r0 {
			out[3*i], out[3*i+1], out[3*i+2] = r0[i], r1[i], r2[i]
		}
	case ColorYCbCr:
		yccToRGB(out, r0, r1, r2)
	case ColorCMYK:
		cmykToRGB(out, r0, r1, r2, rows[3])
	case ColorYCCK:
		// YCC to RGB as for a YCbCr file, inverted into CMY in place.
		yccToRGB(out, r0, r1, r2)
		cmykToRGBInverted(out, rows[3])
	}
}

// cmykToRGB converts Adobe CMYK, stored inverted (255 = no ink): the
// product with K, as djpeg's PPM writer computes it.
func cmykToRGB(out, c, m, ye, k []uint8) {
	n := len(c)
	out, m, ye, k = out[:3*n], m[:n], ye[:n], k[:n]
	for i := 0; i < n; i++ {
		kk := 2 * int32(k[i])
		o := out[3*i : 3*i+3 : 3*i+3]
		o[0] = uint8((int32(c[i])*kk + 255) / 510)
		o[1] = uint8((int32(m[i])*kk + 255) / 510)
		o[2] = uint8((int32(ye[i])*kk + 255) / 510)
	}
}

// cmykToRGBInverted is cmykToRGB for a YCCK row already converted to RGB
// in out: C, M and Y are 255 minus its channels.
func cmykToRGBInverted(out, k []uint8) {
	n := len(k)
	out = out[:3*n]
	for i := 0; i < n; i++ {
		kk := 2 * int32(k[i])
		o := out[3*i : 3*i+3 : 3*i+3]
		o[0] = uint8(((255-int32(o[0]))*kk + 255) / 510)
		o[1] = uint8(((255-int32(o[1]))*kk + 255) / 510)
		o[2] = uint8(((255-int32(o[2]))*kk + 255) / 510)
	}
}

// Per-chroma-value terms of the conversion, as libjpeg's tables, and a
// clamp table: the kernel does three lookups and three adds per channel.
var (
	tabCrR, tabCbB, tabG [256]int32
	tabCbG               [256]int32
	clampTab             [1024]uint8 // clampTab[v+384] = clamp(v)
)

func init() {
	for i := range 256 {
		x := int32(i) - 128
		tabCrR[i] = (fixR*x + half) >> 16
		tabCbB[i] = (fixB*x + half) >> 16
		tabG[i] = -fixGr*x + half
		tabCbG[i] = -fixGb * x
	}
	for i := range clampTab {
		clampTab[i] = clamp8(int32(i) - 384)
	}
}

// yccToRGBGo is the portable colour-conversion kernel; its arithmetic is
// exactly that of the formulas above.
func yccToRGBGo(out, y, cb, cr []uint8) {
	n := len(y)
	out = out[:3*n]
	cb, cr = cb[:n], cr[:n]
	for i := 0; i < n; i++ {
		yy := int32(y[i]) + 384
		b, r := cb[i], cr[i]
		o := out[3*i : 3*i+3 : 3*i+3]
		o[0] = clampTab[(yy+tabCrR[r])&1023]
		o[1] = clampTab[(yy+(tabCbG[b]+tabG[r])>>16)&1023]
		o[2] = clampTab[(yy+tabCbB[b])&1023]
	}
}

var _ image.Image = (*Image)(nil)

// ColorModel is color.GrayModel for one channel, color.RGBAModel otherwise.
func (m *Image) ColorModel() color.Model {
	if m.Channels == 1 {
		return color.GrayModel
	}
	return color.RGBAModel
}

// Bounds is m.Rect.
func (m *Image) Bounds() image.Rectangle { return m.Rect }

// At returns the pixel at (x, y) in scaled coordinates.
func (m *Image) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(m.Rect)) {
		if m.Channels == 1 {
			return color.Gray{}
		}
		return color.RGBA{}
	}
	i := (y-m.Rect.Min.Y)*m.Stride + (x-m.Rect.Min.X)*m.Channels
	if m.Channels == 1 {
		return color.Gray{Y: m.Pix[i]}
	}
	return color.RGBA{m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255}
}

// ToNRGBA copies m into a new *image.NRGBA with the same bounds, for code
// that wants the standard library's layout; it stays valid after Release.
func (m *Image) ToNRGBA() *image.NRGBA {
	out := image.NewNRGBA(m.Rect)
	w := m.Rect.Dx()
	for y := 0; y < m.Rect.Dy(); y++ {
		src := m.Pix[y*m.Stride:]
		dst := out.Pix[y*out.Stride:]
		for x := 0; x < w; x++ {
			if m.Channels == 1 {
				v := src[x]
				dst[4*x], dst[4*x+1], dst[4*x+2] = v, v, v
			} else {
				dst[4*x], dst[4*x+1], dst[4*x+2] = src[3*x], src[3*x+1], src[3*x+2]
			}
			dst[4*x+3] = 255
		}
	}
	return out
}
