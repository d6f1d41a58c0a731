package png

import (
	"encoding/binary"
	"fmt"
	"io"
)

// bytesPerPixel is the filter's "bpp": bytes per complete pixel, at least 1.
func (d *decoder) bytesPerPixel() int { return max(1, d.h.bitsPerPixel()/8) }

// sequential decodes a non-interlaced image that is not flat (see
// decoder.flat), stopping after d.rows rows.
func (d *decoder) sequential() error {
	w := d.h.Width
	n := int(d.h.rowBytes(w))
	bpp := d.bytesPerPixel()
	cur, prev := make([]byte, 1+n), make([]byte, 1+n)
	for y := 0; y < d.rows; y++ {
		if _, err := io.ReadFull(d.zr, cur); err != nil {
			return d.zlibErr(err)
		}
		if err := unfilter(cur[0], cur[1:], prev[1:], bpp); err != nil {
			return err
		}
		d.convert(d.pix[y*d.stride:y*d.stride+w*d.outBpp], cur[1:], w)
		cur, prev = prev, cur
	}
	return nil
}

// interlaced decodes an Adam7 image. Each pass spans the whole height, so
// only the last pass can stop at d.rows; rows of earlier passes past it
// are inflated and dropped.
func (d *decoder) interlaced() error {
	last := 0
	for p := range adam7 {
		if pw, ph := d.h.passSize(p); pw > 0 && ph > 0 {
			last = p
		}
	}
	n := int(d.h.rowBytes(d.h.Width))
	bpp := d.bytesPerPixel()
	cur, prev := make([]byte, 1+n), make([]byte, 1+n)
	line := make([]byte, d.h.Width*d.outBpp)
	for p, a := range adam7 {
		pw, ph := d.h.passSize(p)
		if pw == 0 || ph == 0 {
			continue
		}
		pn := int(d.h.rowBytes(pw))
		c, pr := cur[:1+pn], prev[:1+pn]
		clear(pr)
		for j := 0; j < ph; j++ {
			y := a[1] + j*a[3]
			if y >= d.rows && p == last {
				return nil
			}
			if _, err := io.ReadFull(d.zr, c); err != nil {
				return d.zlibErr(err)
			}
			if err := unfilter(c[0], c[1:], pr[1:], bpp); err != nil {
				return err
			}
			if y < d.rows {
				d.convert(line, c[1:], pw)
				row := d.pix[y*d.stride:]
				ob := d.outBpp
				for i, x := 0, a[0]; i < pw; i, x = i+1, x+a[2] {
					copy(row[x*ob:x*ob+ob], line[i*ob:i*ob+ob])
				}
			}
			c, pr = pr, c
		}
	}
	return nil
}

// convert writes the w pixels of the unfiltered raw row src into dst in
// the output format.
func (d *decoder) convert(dst, src []byte, w int) {
	h := d.h
	switch h.ColorType {
	case Gray:
		if h.BitDepth == 16 {
			if !d.useTRNS {
				for x := range dst[:w] {
					dst[x] = src[2*x]
				}
				return
			}
			t0, t1 := d.trns[0], d.trns[1]
			for x := 0; x < w; x++ {
				s := src[2*x : 2*x+2 : 2*x+2]
				o := dst[4*x : 4*x+4 : 4*x+4]
				o[0], o[1], o[2], o[3] = s[0], s[0], s[0], 0xff
				if s[0] == t0 && s[1] == t1 {
					o[3] = 0
				}
			}
			return
		}
		d.grayLow(dst, src, w)
	case RGB:
		if h.BitDepth == 8 {
			if !d.useTRNS {
				// A 4-byte load takes a pixel and the next one's first
				// byte, which the alpha replaces; the last pixel has no
				// next byte.
				x := 0
				for ; x+1 < w; x++ {
					v := binary.LittleEndian.Uint32(src[3*x:])
					binary.LittleEndian.PutUint32(dst[4*x:], v|0xff000000)
				}
				for ; x < w; x++ {
					s := src[3*x : 3*x+3 : 3*x+3]
					o := dst[4*x : 4*x+4 : 4*x+4]
					o[0], o[1], o[2], o[3] = s[0], s[1], s[2], 0xff
				}
				return
			}
			tr, tg, tb := d.trns[1], d.trns[3], d.trns[5]
			for x := 0; x < w; x++ {
				s := src[3*x : 3*x+3 : 3*x+3]
				o := dst[4*x : 4*x+4 : 4*x+4]
				o[0], o[1], o[2], o[3] = s[0], s[1], s[2], 0xff
				if s[0] == tr && s[1] == tg && s[2] == tb {
					o[3] = 0
				}
			}
			return
		}
		t := d.trns
		for x := 0; x < w; x++ {
			s := src[6*x : 6*x+6 : 6*x+6]
			o := dst[4*x : 4*x+4 : 4*x+4]
			o[0], o[1], o[2], o[3] = s[0], s[2], s[4], 0xff
			if d.useTRNS && [6]byte(s) == t {
				o[3] = 0
			}
		}
	case Paletted:
		d.paletted(dst, src, w)
	case GrayAlpha:
		step := h.BitDepth / 4 // 2 or 4 bytes a pixel; the high byte of each sample is first
		for x := 0; x < w; x++ {
			s := src[step*x : step*x+step : step*x+step]
			o := dst[4*x : 4*x+4 : 4*x+4]
			o[0], o[1], o[2], o[3] = s[0], s[0], s[0], s[step/2]
		}
	case RGBA:
		if h.BitDepth == 8 {
			copy(dst, src[:4*w])
			return
		}
		for x := 0; x < w; x++ {
			s := src[8*x : 8*x+8 : 8*x+8]
			o := dst[4*x : 4*x+4 : 4*x+4]
			o[0], o[1], o[2], o[3] = s[0], s[2], s[4], s[6]
		}
	}
}

// grayLow converts 1-, 2-, 4- and 8-bit gray, scaling samples to 8 bits by
// bit replication (v*255/max), with tRNS matched against the raw sample.
// Only the low byte of the tRNS value counts, as in image/png (and as
// RGB8 does), so that an out-of-range high byte gives the same pixels.
func (d *decoder) grayLow(dst, src []byte, w int) {
	depth := uint(d.h.BitDepth)
	scale := byte(255 / (1<<depth - 1))
	mask := byte(1<<depth - 1)
	perByte := 8 / int(depth)
	trns := int(d.trns[1])
	for x := 0; x < w; x++ {
		var v byte
		if depth == 8 {
			v = src[x]
		} else {
			shift := 8 - depth*uint(x%perByte+1)
			v = src[x/perByte] >> shift & mask
		}
		if !d.useTRNS {
			dst[x] = v * scale
			continue
		}
		o := dst[4*x : 4*x+4 : 4*x+4]
		g := v * scale
		o[0], o[1], o[2], o[3] = g, g, g, 0xff
		if int(v) == trns {
			o[3] = 0
		}
	}
}

// paletted looks each index up in the palette, one 32-bit store a pixel.
func (d *decoder) paletted(dst, src []byte, w int) {
	depth := uint(d.h.BitDepth)
	pal := &d.pal32
	if depth == 8 {
		for x, idx := range src[:w] {
			binary.LittleEndian.PutUint32(dst[4*x:], pal[idx])
		}
		return
	}
	mask := byte(1<<depth - 1)
	perByte := 8 / int(depth)
	for x := 0; x < w; x++ {
		shift := 8 - depth*uint(x%perByte+1)
		idx := src[x/perByte] >> shift & mask
		binary.LittleEndian.PutUint32(dst[4*x:], pal[idx])
	}
}

// unfilter reverses the row filter ft (PNG spec 9.2) in place on cur,
// given the previous unfiltered row prev (zeros for a first row) and the
// filter's bytes per pixel. The loops run per channel so the left and
// upper-left bytes stay in registers rather than being reloaded.
func unfilter(ft byte, cur, prev []byte, bpp int) error {
	n := len(cur)
	prev = prev[:n]
	switch ft {
	case 0:
	case 1: // Sub
		for i := bpp; i < n; i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // Up
		// Eight bytes at a time: add the low 7 bits of each byte, then
		// put back the top bits (their sum's top bit is a xor).
		const hi = 0x8080808080808080
		i := 0
		for ; i+8 <= n; i += 8 {
			x := binary.LittleEndian.Uint64(cur[i:])
			y := binary.LittleEndian.Uint64(prev[i:])
			binary.LittleEndian.PutUint64(cur[i:], ((x&^hi)+(y&^hi))^((x^y)&hi))
		}
		for ; i < n; i++ {
			cur[i] += prev[i]
		}
	case 3: // Average
		if bpp == 3 || bpp == 4 {
			averagePixels(cur, prev, bpp)
			return nil
		}
		for c := 0; c < bpp && c < n; c++ {
			var left int
			for i := c; i < n; i += bpp {
				v := cur[i] + byte((left+int(prev[i]))>>1)
				cur[i] = v
				left = int(v)
			}
		}
	case 4: // Paeth
		if bpp == 3 || bpp == 4 {
			paethPixels(cur, prev, bpp)
			return nil
		}
		for c := 0; c < bpp && c < n; c++ {
			var a, cc int // left and upper-left: zero left of the row
			for i := c; i < n; i += bpp {
				b := int(prev[i])
				// With p = a+b-c: |p-a| = |b-c|, |p-b| = |a-c|, |p-c| = |(b-c)+(a-c)|.
				pa, pb := b-cc, a-cc
				pc := pa + pb
				if pa < 0 {
					pa = -pa
				}
				if pb < 0 {
					pb = -pb
				}
				if pc < 0 {
					pc = -pc
				}
				pred := cc
				if pa <= pb && pa <= pc {
					pred = a
				} else if pb <= pc {
					pred = b
				}
				v := cur[i] + byte(pred)
				cur[i] = v
				a, cc = int(v), b
			}
		}
	default:
		return fmt.Errorf("%w: filter type %d", ErrCorrupt, ft)
	}
	return nil
}

// paethPixels undoes the Paeth filter for 3 or 4 bytes per pixel, all the
// channels of a pixel together, choosing the predictor without branches
// the compiler cannot turn into conditional moves.
func paethPixels(cur, prev []byte, bpp int) {
	n := len(cur)
	prev = prev[:n]
	var a0, a1, a2, a3, c0, c1, c2, c3 int // left and upper-left: zero left of the row
	if bpp == 3 {
		for i := 0; i+3 <= n; i += 3 {
			p, q := cur[i:i+3], prev[i:i+3]
			b0, b1, b2 := int(q[0]), int(q[1]), int(q[2])
			a0 = int(p[0] + byte(paeth(a0, b0, c0)))
			a1 = int(p[1] + byte(paeth(a1, b1, c1)))
			a2 = int(p[2] + byte(paeth(a2, b2, c2)))
			p[0], p[1], p[2] = byte(a0), byte(a1), byte(a2)
			c0, c1, c2 = b0, b1, b2
		}
		return
	}
	for i := 0; i+4 <= n; i += 4 {
		p, q := cur[i:i+4], prev[i:i+4]
		b0, b1, b2, b3 := int(q[0]), int(q[1]), int(q[2]), int(q[3])
		a0 = int(p[0] + byte(paeth(a0, b0, c0)))
		a1 = int(p[1] + byte(paeth(a1, b1, c1)))
		a2 = int(p[2] + byte(paeth(a2, b2, c2)))
		a3 = int(p[3] + byte(paeth(a3, b3, c3)))
		p[0], p[1], p[2], p[3] = byte(a0), byte(a1), byte(a2), byte(a3)
		c0, c1, c2, c3 = b0, b1, b2, b3
	}
}

// paeth is the PNG Paeth predictor of left a, upper b and upper-left c:
// with p = a+b-c, |p-a| = |b-c|, |p-b| = |a-c|, |p-c| = |(b-c)+(a-c)|;
// ties go to a, then b.
func paeth(a, b, c int) int {
	pa, pb := b-c, a-c
	pc := pa + pb
	pa = (pa ^ (pa >> 63)) - (pa >> 63)
	pb = (pb ^ (pb >> 63)) - (pb >> 63)
	pc = (pc ^ (pc >> 63)) - (pc >> 63)
	if pb < pa {
		a, pa = b, pb
	}
	if pc < pa {
		a = c
	}
	return a
}

// averagePixels undoes the Average filter for 3 or 4 bytes per pixel, the
// channels of a pixel together (each channel is a chain of dependent
// additions; side by side they overlap).
func averagePixels(cur, prev []byte, bpp int) {
	n := len(cur)
	prev = prev[:n]
	var a0, a1, a2, a3 uint // left: zero left of the row
	if bpp == 3 {
		for i := 0; i+3 <= n; i += 3 {
			p, q := cur[i:i+3], prev[i:i+3]
			a0 = uint(p[0] + byte((a0+uint(q[0]))>>1))
			a1 = uint(p[1] + byte((a1+uint(q[1]))>>1))
			a2 = uint(p[2] + byte((a2+uint(q[2]))>>1))
			p[0], p[1], p[2] = byte(a0), byte(a1), byte(a2)
		}
		return
	}
	for i := 0; i+4 <= n; i += 4 {
		p, q := cur[i:i+4], prev[i:i+4]
		a0 = uint(p[0] + byte((a0+uint(q[0]))>>1))
		a1 = uint(p[1] + byte((a1+uint(q[1]))>>1))
		a2 = uint(p[2] + byte((a2+uint(q[2]))>>1))
		a3 = uint(p[3] + byte((a3+uint(q[3]))>>1))
		p[0], p[1], p[2], p[3] = byte(a0), byte(a1), byte(a2), byte(a3)
	}
}
