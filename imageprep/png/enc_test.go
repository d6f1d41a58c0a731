package png

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	stdpng "image/png"
	"math/rand/v2"
)

// spec describes a PNG the test encoder writes: image/png's encoder cannot
// write low bit depths of gray, gray+alpha, gray/RGB tRNS or Adam7, so the
// tests write those themselves, chunk by chunk.
type spec struct {
	w, h      int
	depth     int
	ct        ColorType
	interlace bool
	plte      int    // palette entries
	trns      []byte // tRNS payload, nil for none
	idatSize  int    // split the zlib stream into IDAT chunks this long (0: one)
	seed      uint64
}

func (s spec) String() string {
	return fmt.Sprintf("%dx%d-ct%d-d%d-i%v-plte%d-trns%x", s.w, s.h, s.ct, s.depth, s.interlace, s.plte, s.trns)
}

// samples makes the pixel samples: random, but half of them drawn from a
// few values so tRNS matches and filters see runs.
func (s spec) samples() [][]uint16 {
	r := rand.New(rand.NewPCG(s.seed, 7))
	ch := s.ct.channels()
	max := 1<<s.depth - 1
	if s.ct == Paletted {
		// Indices up to the full range, so some may lie beyond the
		// palette: image/png maps those to opaque black, as we do.
		max = min(max, s.plte)
	}
	few := []int{0, max, max / 3}
	px := make([][]uint16, s.h)
	for y := range px {
		px[y] = make([]uint16, s.w*ch)
		for i := range px[y] {
			if r.IntN(2) == 0 {
				px[y][i] = uint16(few[r.IntN(len(few))])
			} else {
				px[y][i] = uint16(r.IntN(max + 1))
			}
		}
	}
	return px
}

// pack writes the samples of pixels xs of row into raw bytes at depth.
func pack(row []uint16, xs []int, ch, depth int) []byte {
	var out []byte
	var acc, nbits int
	for _, x := range xs {
		for c := 0; c < ch; c++ {
			v := int(row[x*ch+c])
			switch depth {
			case 16:
				out = append(out, byte(v>>8), byte(v))
			case 8:
				out = append(out, byte(v))
			default:
				acc = acc<<depth | v
				nbits += depth
				if nbits == 8 {
					out = append(out, byte(acc))
					acc, nbits = 0, 0
				}
			}
		}
	}
	if nbits > 0 {
		out = append(out, byte(acc<<(8-nbits)))
	}
	return out
}

// filterRow applies filter ft forward to raw given the previous raw row.
func filterRow(ft byte, raw, prev []byte, bpp int) []byte {
	out := make([]byte, 1+len(raw))
	out[0] = ft
	at := func(b []byte, i int) int {
		if i < 0 || b == nil {
			return 0
		}
		return int(b[i])
	}
	for i := range raw {
		a, b, c := at(raw, i-bpp), at(prev, i), at(prev, i-bpp)
		var p int
		switch ft {
		case 1:
			p = a
		case 2:
			p = b
		case 3:
			p = (a + b) / 2
		case 4:
			pp := a + b - c
			pa, pb, pc := abs(pp-a), abs(pp-b), abs(pp-c)
			switch {
			case pa <= pb && pa <= pc:
				p = a
			case pb <= pc:
				p = b
			default:
				p = c
			}
		}
		out[1+i] = raw[i] - byte(p)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func writeChunk(buf *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	buf.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	buf.WriteString(typ)
	buf.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	buf.Write(n[:])
}

// encode writes the PNG s describes, cycling through all five filters row
// by row, with an ancillary chunk before and after the image data.
func (s spec) encode() []byte {
	px := s.samples()
	ch := s.ct.channels()
	bpp := max(1, ch*s.depth/8)
	var raw bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&raw, zlib.BestCompression)
	ft := byte(0)
	emit := func(ys, xs []int) {
		var prev []byte
		for _, y := range ys {
			r := pack(px[y], xs, ch, s.depth)
			zw.Write(filterRow(ft, r, prev, bpp))
			ft = (ft + 1) % 5
			prev = r
		}
	}
	seq := func(from, step, n int) []int {
		var v []int
		for i := from; i < n; i += step {
			v = append(v, i)
		}
		return v
	}
	if !s.interlace {
		emit(seq(0, 1, s.h), seq(0, 1, s.w))
	} else {
		for _, a := range adam7 {
			xs, ys := seq(a[0], a[2], s.w), seq(a[1], a[3], s.h)
			if len(xs) > 0 && len(ys) > 0 {
				emit(ys, xs)
			}
		}
	}
	zw.Close()

	var buf bytes.Buffer
	buf.Write(pngSignature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(s.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(s.h))
	ihdr[8], ihdr[9] = byte(s.depth), byte(s.ct)
	if s.interlace {
		ihdr[12] = 1
	}
	writeChunk(&buf, "IHDR", ihdr)
	writeChunk(&buf, "tEXt", []byte("Comment\x00made by the test encoder"))
	if s.plte > 0 {
		r := rand.New(rand.NewPCG(s.seed, 9))
		p := make([]byte, 3*s.plte)
		for i := range p {
			p[i] = byte(r.IntN(256))
		}
		writeChunk(&buf, "PLTE", p)
	}
	if s.trns != nil {
		writeChunk(&buf, "tRNS", s.trns)
	}
	z := raw.Bytes()
	step := s.idatSize
	if step <= 0 {
		step = len(z)
	}
	for len(z) > 0 {
		n := min(step, len(z))
		writeChunk(&buf, "IDAT", z[:n])
		z = z[n:]
	}
	writeChunk(&buf, "tIME", []byte{7, 234, 12, 1, 22, 0, 0})
	writeChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

// handSpecs covers every color type and legal bit depth, tRNS for gray, RGB
// and palette, and Adam7, at sizes that exercise partial bytes and empty
// interlace passes.
func handSpecs() []spec {
	var out []spec
	seed := uint64(1)
	add := func(s spec) {
		s.seed = seed
		seed++
		out = append(out, s)
	}
	for _, il := range []bool{false, true} {
		for _, sz := range [][2]int{{13, 11}, {1, 1}, {3, 9}, {33, 2}} {
			w, h := sz[0], sz[1]
			for _, d := range []int{1, 2, 4, 8, 16} {
				third := (1<<d - 1) / 3 // one of the values samples favours
				t := []byte{byte(third >> 8), byte(third)}
				add(spec{w: w, h: h, depth: d, ct: Gray, interlace: il, idatSize: 17})
				add(spec{w: w, h: h, depth: d, ct: Gray, interlace: il, trns: t})
				if d <= 8 { // out of range, a high byte image/png ignores
					add(spec{w: w, h: h, depth: d, ct: Gray, interlace: il, trns: []byte{1, t[1]}})
				}
				if d <= 8 {
					add(spec{w: w, h: h, depth: d, ct: Paletted, interlace: il, plte: 1 << d})
					add(spec{w: w, h: h, depth: d, ct: Paletted, interlace: il, plte: max(1, 1<<d-1), trns: []byte{0, 128}})
				}
				if d >= 8 {
					add(spec{w: w, h: h, depth: d, ct: RGB, interlace: il, idatSize: 50})
					add(spec{w: w, h: h, depth: d, ct: RGB, interlace: il, plte: 3})
					add(spec{w: w, h: h, depth: d, ct: RGB, interlace: il, trns: []byte{t[0], t[1], t[0], t[1], t[0], t[1]}})
					add(spec{w: w, h: h, depth: d, ct: GrayAlpha, interlace: il})
					add(spec{w: w, h: h, depth: d, ct: RGBA, interlace: il, idatSize: 1})
				}
			}
		}
	}
	return out
}

// stdImages are files written by image/png's own encoder, one per kind of
// image it can write.
func stdImages() map[string][]byte {
	r := rand.New(rand.NewPCG(42, 42))
	const w, h = 37, 23
	b := image.Rect(0, 0, w, h)
	out := map[string][]byte{}
	put := func(name string, img image.Image) {
		var buf bytes.Buffer
		if err := stdpng.Encode(&buf, img); err != nil {
			panic(err)
		}
		out[name] = buf.Bytes()
	}
	g8, g16 := image.NewGray(b), image.NewGray16(b)
	rgb8, rgb16 := image.NewRGBA(b), image.NewRGBA64(b)
	n8, n16 := image.NewNRGBA(b), image.NewNRGBA64(b)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint16(r.Uint32())
			g8.SetGray(x, y, color.Gray{uint8(v)})
			g16.SetGray16(x, y, color.Gray16{v})
			rgb8.SetRGBA(x, y, color.RGBA{uint8(x * 7), uint8(y * 11), uint8(v), 255})
			rgb16.SetRGBA64(x, y, color.RGBA64{uint16(x * 1700), uint16(y * 2900), v, 0xffff})
			n8.SetNRGBA(x, y, color.NRGBA{uint8(v), uint8(x), uint8(y), uint8(v >> 8)})
			n16.SetNRGBA64(x, y, color.NRGBA64{v, uint16(x * 999), uint16(y * 777), uint16(r.Uint32())})
		}
	}
	put("gray8", g8)
	put("gray16", g16)
	put("rgb8", rgb8)
	put("rgb16", rgb16)
	put("rgba8", n8)
	put("rgba16", n16)
	for _, n := range []int{2, 4, 16, 200} {
		pal := make(color.Palette, n)
		for i := range pal {
			pal[i] = color.NRGBA{uint8(r.Uint32()), uint8(r.Uint32()), uint8(r.Uint32()), uint8(255 - i%3*100)}
		}
		p := image.NewPaletted(b, pal)
		for i := range p.Pix {
			p.Pix[i] = uint8(r.IntN(n))
		}
		put(fmt.Sprintf("paletted%d", n), p)
	}
	return out
}
