package jpeg

import (
	"bytes"
	"encoding/binary"
)

// lutBits is the lookahead of the Huffman tables: codes up to this length
// (nearly all of them in photos) decode with one table read, and an AC
// code whose extra bits also fit decodes code, run and value together.
const lutBits = 11

// huff is one Huffman table (T.81 annex C) in decoding form.
type huff struct {
	defined bool
	// lut[peek] = length<<8 | symbol for codes of at most lutBits bits,
	// 0 when the code is longer (or invalid).
	lut [1 << lutBits]uint16
	// fast[peek] decodes a whole coefficient from one read when its code
	// and extra bits fit in lutBits: value<<16 | step<<8 | bits used, 0
	// otherwise. For DC the step is 0. For AC the step is the zero run; an
	// end of block has step eobStep and value 0, so the sequential loop
	// stores a harmless 0 and leaves, and ZRL is a 0 stored after 15 zeros.
	fast [1 << lutBits]int32
	// Canonical decoding of longer codes (T.81 F.2.2.3).
	maxcode [18]int32
	valptr  [17]int32
	vals    [256]uint8
}

// acHuff is an AC table with its skip table.
type acHuff struct {
	huff
	// skip[peek] serves blocks whose AC terms are decoded but not stored
	// (1/8 scale): the codes and extra bits of as many whole AC
	// coefficients as fit in skipBits, read at once. Bits 0-3 are the bits
	// used (0: not even one fits), bits 4-10 the coefficient positions
	// they advance, bit 11 set when they end with an end of block.
	skip [1 << skipBits]uint16
}

// skipBits is the lookahead of the skip table.
const skipBits = 12

const skipEOB = 1 << 11

// eobStep moves the coefficient index past any block end (see zz).
const eobStep = 127

// zz is zigzag extended for the sequential loop's indices: a run past the
// block end lands on coefficient 63, as libjpeg's padded natural-order
// table does, and an end of block's index (at least eobStep) also maps to
// 63, where it stores the 0 that is already there.
var zz = func() (z [256]uint8) {
	for i := range z {
		z[i] = 63
	}
	copy(z[:], zigzag[:64])
	return z
}()

func (t *huff) build(counts *[16]uint8, vals []byte, ac bool) error {
	*t = huff{}
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		t.valptr[l] = k - code
		for i := int32(0); i < n; i++ {
			if code >= 1<<l {
				return corrupt("over-subscribed Huffman table")
			}
			if l <= lutBits {
				sym := vals[k]
				shift := uint(lutBits - l)
				base := int(code) << shift
				for j := 0; j < 1<<shift; j++ {
					t.lut[base+j] = uint16(l)<<8 | uint16(sym)
					t.fast[base+j] = fastEntry(sym, l, uint32(base+j), ac)
				}
			}
			code++
			k++
		}
		t.maxcode[l] = code - 1
		if n == 0 {
			t.maxcode[l] = -1
		}
		code <<= 1
	}
	t.maxcode[17] = 1 << 30 // sentinel: stops the slow loop
	t.defined = true
	return nil
}

// buildSkip fills t.skip from t.fast by walking each window's codes.
func (t *acHuff) buildSkip() {
	const mask = 1<<skipBits - 1
	for w := range t.skip {
		used, adv := 0, 0
		var eob uint16
		for used < skipBits {
			e := t.fast[(w<<used&mask)>>(skipBits-lutBits)]
			l := int(e & 0xFF)
			if e == 0 || l > skipBits-used {
				break
			}
			step := int(e >> 8 & 0xFF)
			if step == eobStep {
				used += l
				eob = skipEOB
				break
			}
			if adv+step+1 > 63 {
				break
			}
			used += l
			adv += step + 1
		}
		if used > 0 {
			t.skip[w] = eob | uint16(adv)<<4 | uint16(used)
		}
	}
}

// fastEntry is the fast table entry for symbol sym with an l-bit code,
// peek being the lutBits bits that start with it.
func fastEntry(sym uint8, l int, peek uint32, ac bool) int32 {
	size, run := int(sym&15), int32(sym>>4)
	if !ac {
		if sym > 11 {
			return 0 // corrupt; the slow path reports it
		}
		size, run = int(sym), 0
	} else if size == 0 {
		switch run {
		case 15: // ZRL
			return 15<<8 | int32(l)
		default: // EOB (T.81 leaves other zero-size runs undefined; libjpeg ends the block)
			return eobStep<<8 | int32(l)
		}
	}
	if l+size > lutBits {
		return 0
	}
	extra := peek >> uint(lutBits-l-size) & (1<<size - 1)
	return extend(extra, uint(size))<<16 | run<<8 | int32(l+size)
}

// extend turns s received bits into a signed value (T.81 F.2.2.1).
func extend(v uint32, s uint) int32 {
	if s == 0 {
		return 0
	}
	if v < 1<<(s-1) {
		return int32(v) - (1 << s) + 1
	}
	return int32(v)
}

// bitReader reads entropy-coded data MSB first through a 64-bit buffer.
// Byte stuffing is removed a chunk at a time into buf (bytes.IndexByte
// finds the 0xFF bytes), so a refill is one unconditional 8-byte load. At
// a marker (or the end of input) buf continues with zero bytes, and a
// scan that reads into them is detected as corrupt after the MCU rather
// than inside the hot loop.
type bitReader struct {
	data   []byte
	pos    int    // next input byte to unstuff
	bits   uint64 // valid bits left-aligned; below them, the next bytes' bits
	n      uint   // valid bits
	bp, be int    // next byte of buf to load into bits, end of buf's bytes
	real   int    // with marker: buf bytes before the padding
	marker bool   // stopped at a marker or the end of data
	buf    [bufBytes + 8]byte
}

// bufBytes is the unstuffing chunk.
const bufBytes = 4096

func (b *bitReader) reset(data []byte, pos int) {
	b.data, b.pos = data, pos
	b.bits, b.n = 0, 0
	b.bp, b.be, b.real = 0, 0, 0
	b.marker = false
}

// load moves the unread bytes of buf to its front and appends more
// unstuffed input, or zero padding after a marker, so that at least 8
// bytes are readable.
func (b *bitReader) load() {
	k := copy(b.buf[:], b.buf[b.bp:b.be])
	b.real -= b.bp
	b.bp, b.be = 0, k
	if b.marker {
		// Only padding follows: top it up.
		clear(b.buf[b.be:])
		b.be = len(b.buf)
		return
	}
	for !b.marker && b.be < bufBytes {
		rest := b.data[b.pos:]
		room := bufBytes - b.be
		i := bytes.IndexByte(rest[:min(len(rest), room)], 0xFF)
		if i < 0 {
			m := copy(b.buf[b.be:bufBytes], rest)
			b.be += m
			b.pos += m
			if b.pos >= len(b.data) {
				b.marker = true
			}
			continue
		}
		m := copy(b.buf[b.be:], rest[:i])
		b.be += m
		b.pos += m
		if b.pos+1 < len(b.data) && b.data[b.pos+1] == 0 {
			b.buf[b.be] = 0xFF
			b.be++
			b.pos += 2
			continue
		}
		b.marker = true
	}
	if b.marker {
		b.real = b.be
		clear(b.buf[b.be:])
		b.be = len(b.buf)
	}
}

// fill tops the bit buffer up to at least 56 bits: bytes beyond those
// counted in n are ORed in below them, which is harmless because they
// are the same bits the next fill ORs in at the same place.
func (b *bitReader) fill() {
	b.ensure8()
	b.bits, b.n = b.refill(b.bits, b.n)
}

// refill is fill for a caller holding the bit buffer in locals; it is
// small enough to inline, leaving the load to the caller (see ensure8).
func (b *bitReader) refill(bits uint64, n uint) (uint64, uint) {
	bits |= binary.BigEndian.Uint64(b.buf[b.bp:]) >> n
	b.bp += int((63 - n) >> 3)
	return bits, n | 56
}

// ensure8 makes 8 bytes of buf readable for refill.
func (b *bitReader) ensure8() {
	if b.bp+8 > b.be {
		b.load()
	}
}

// overrun reports whether padding bits have been consumed.
func (b *bitReader) overrun() bool {
	return b.marker && 8*b.bp-int(b.n) > 8*b.real
}

func (b *bitReader) consume(l uint) {
	b.bits <<= l
	b.n -= l
}

// take returns the next s (0..16) bits.
func (b *bitReader) take(s uint) uint32 {
	if s == 0 {
		return 0
	}
	if b.n < s {
		b.fill()
	}
	v := uint32(b.bits >> (64 - s))
	b.consume(s)
	return v
}

// decode returns the next Huffman symbol, or -1 for a code the table lacks.
func (b *bitReader) decode(t *huff) int {
	if b.n < 16 {
		b.fill()
	}
	if e := t.lut[b.bits>>(64-lutBits)]; e != 0 {
		b.consume(uint(e >> 8))
		return int(e & 0xFF)
	}
	for l := lutBits + 1; l <= 16; l++ {
		code := int32(b.bits >> (64 - uint(l)))
		if code <= t.maxcode[l] {
			b.consume(uint(l))
			i := code + t.valptr[l]
			if i < 0 || i > 255 {
				return -1
			}
			return int(t.vals[i])
		}
	}
	return -1
}
