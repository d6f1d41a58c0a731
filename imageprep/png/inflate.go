package png

import (
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
)

// inflater decodes the zlib stream (RFC 1950/1951) carried by a run of
// IDAT chunks, reading the payloads in place. It replaces compress/zlib on
// the request path, which reads its input one byte at a time through an
// interface: here input comes 8 bytes at a time into a 64-bit bit buffer,
// and Huffman codes of up to fastBits bits are decoded with one table
// lookup (longer ones, rare, canonically bit by bit).
//
// Output goes through a window buffer: win[:wp] holds at least the last
// 32 KiB decoded (matches reach back that far), win[rp:wp] what Read has
// not yet returned.
type inflater struct {
	in *idatReader

	bits  uint64
	nbits uint
	// pad counts the zero bytes fed in past the end of the data: a stream
	// that needs them is truncated.
	pad int

	win    []byte
	rp, wp int
	// hi is the last wp at which decoding may go on: a symbol decoded
	// there may write up to winSlack bytes (len(win)-winSlack, or less
	// for a flat inflater asked for less).
	hi int

	state    int // stHeader, stBlock (between blocks), stStored, stHuff, stEnd
	final    bool
	stored   int // bytes left in a stored block
	lit      huffTable
	dist     huffTable
	adler    uint32
	total    int64
	err      error
	checkSum bool // adler is kept up to date (until the trailer)
	verify   bool // the trailer checks adler
	// limit bounds the bytes the stream may inflate to (a PNG's raw
	// image size and a little more), so that no input, however made,
	// keeps the inflater busy for longer than its image.
	limit int64
	// flat: win is the whole output (see newFlatInflater), never slid;
	// win[:summed] is in adler already.
	flat   bool
	summed int
}

const (
	stHeader = iota
	stBlock
	stStored
	stHuff
	stEnd
)

const (
	fastBits   = 10
	windowSize = 32 << 10
	winBuf     = 3 * windowSize // history + room to decode into
	maxMatch   = 258
	// winSlack is the room Huffman decoding needs past wp: a whole match,
	// and the up to 7 bytes the 8-byte match copy writes beyond its end.
	winSlack = maxMatch + 16
)

var (
	errDeflate  = errors.New("invalid deflate data")
	errTrailing = errors.New("IDAT after the end of the zlib stream")
	errTooLong  = errors.New("more image data than the header declares")
	// errFlatRange is a caller's bug: asking a flat inflater for more
	// than its buffer holds.
	errFlatRange = errors.New("inflate past the end of the output buffer")
)

// huffTable is one canonical Huffman code: fast[b] for the next fastBits
// bits is sym<<4 | length, or 0 when the code is longer (then count and
// syms decode it). For the literal/length and distance codes, ent[b] is
// the same symbol decoded further (see symEntry), with its code length in
// the low 4 bits, so that one lookup gives a literal, or a length or
// distance base with the number of its extra bits.
type huffTable struct {
	fast  [1 << fastBits]uint16
	ent   [1 << fastBits]uint32
	count [16]uint16
	syms  [288]uint16
	maxL  uint
}

// Kinds of code for huffTable.build and symEntry.
const (
	codeLengths = iota // the code-length code: no entries
	litLenCode
	distCode
)

// Fields of a symEntry: bits 0-3 the code length (0 when taken already),
// 4-7 the extra bits that follow, 8-11 the kind, 16-31 the value.
const (
	entLit = 1 << 8 // value is a literal byte
	entLen = 2 << 8 // value is a length or distance base
	entEnd = 4 << 8 // end of block
	entBad = 8 << 8 // a symbol no valid stream uses
)

// symEntry decodes symbol s of a code of kind k as a table entry without
// its code length.
func symEntry(k int, s int) uint32 {
	if k == distCode {
		if s >= 30 {
			return entBad
		}
		return uint32(dstBase[s])<<16 | entLen | uint32(dstExtra[s])<<4
	}
	switch {
	case s < 256:
		return uint32(s)<<16 | entLit
	case s == 256:
		return entEnd
	case s < 286:
		return uint32(lenBase[s-257])<<16 | entLen | uint32(lenExtra[s-257])<<4
	}
	return entBad
}

// build makes t from code lengths of a code of kind k; an over-subscribed
// code is an error, an incomplete one is allowed (its missing codes fail
// when met).
func (t *huffTable) build(lengths []uint8, k int) error {
	t.count = [16]uint16{}
	for _, l := range lengths {
		t.count[l]++
	}
	t.count[0] = 0
	left := 1
	t.maxL = 0
	for l := 1; l < 16; l++ {
		left = left<<1 - int(t.count[l])
		if left < 0 {
			return errDeflate
		}
		if t.count[l] > 0 {
			t.maxL = uint(l)
		}
	}
	// As compress/flate: an incomplete code is refused, except one code
	// of one bit, and no code at all (a block without distances).
	if left != 0 && t.maxL != 0 && (t.maxL != 1 || t.count[1] != 1) {
		return errDeflate
	}
	// Symbols in canonical order: by length, then value.
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + t.count[l]
	}
	for s, l := range lengths {
		if l != 0 {
			t.syms[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	// The first code of each length; codes are stored bit-reversed.
	var next [16]int
	for l := 2; l < 16; l++ {
		next[l] = (next[l-1] + int(t.count[l-1])) << 1
	}
	t.fast = [1 << fastBits]uint16{}
	if k != codeLengths {
		t.ent = [1 << fastBits]uint32{}
	}
	for s, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		if l > fastBits {
			continue
		}
		r := int(bits.Reverse16(uint16(c)) >> (16 - l))
		for i := r; i < 1<<fastBits; i += 1 << l {
			t.fast[i] = uint16(s)<<4 | uint16(l)
		}
		if k != codeLengths {
			e := symEntry(k, s) | uint32(l)
			for i := r; i < 1<<fastBits; i += 1 << l {
				t.ent[i] = e
			}
		}
	}
	return nil
}

// refill puts at least 56 bits in the bit buffer (zeros past the end).
func (f *inflater) refill() {
	r := f.in
	for f.nbits <= 56 {
		if r.end-r.pos >= 8 {
			v := binary.LittleEndian.Uint64(r.data[r.pos:])
			f.bits |= v << f.nbits
			n := (63 - f.nbits) >> 3
			r.pos += int(n)
			f.nbits += n << 3
			return
		}
		if r.pos >= r.end && r.fill() != nil {
			f.pad++
			f.nbits += 8
			continue
		}
		f.bits |= uint64(r.data[r.pos]) << f.nbits
		r.pos++
		f.nbits += 8
	}
}

func (f *inflater) take(n uint) uint32 {
	if f.nbits < n {
		f.refill()
	}
	v := uint32(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nbits -= n
	return v
}

// sym decodes one symbol of t.
func (f *inflater) sym(t *huffTable) (int, error) {
	if f.nbits < 16 {
		f.refill()
	}
	if e := t.fast[f.bits&(1<<fastBits-1)]; e != 0 {
		l := uint(e & 15)
		f.bits >>= l
		f.nbits -= l
		return int(e >> 4), nil
	}
	// Canonical decoding, one bit at a time.
	code, first, index := 0, 0, 0
	for l := uint(1); l <= t.maxL; l++ {
		code |= int(f.bits>>(l-1)) & 1
		c := int(t.count[l])
		if code-first < c {
			f.bits >>= l
			f.nbits -= l
			return int(t.syms[index+code-first]), nil
		}
		index += c
		first = (first + c) << 1
		code <<= 1
	}
	return 0, errDeflate
}

var (
	lenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dstBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dstExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder  = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

var fixedLit, fixedDist huffTable

func init() {
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	if fixedLit.build(l[:], litLenCode) != nil {
		panic("png: fixed literal code")
	}
	var d [32]uint8 // 30 and 31 complete the code; they are refused when met
	for i := range d {
		d[i] = 5
	}
	if fixedDist.build(d[:], distCode) != nil {
		panic("png: fixed distance code")
	}
}

// newInflater starts reading the zlib stream at r.
func newInflater(r *idatReader, limit int64) *inflater {
	return &inflater{in: r, win: make([]byte, winBuf), hi: winBuf - winSlack, adler: 1, checkSum: true, verify: true, limit: limit}
}

// newFlatInflater starts reading the zlib stream at r into buf, which
// takes the whole output in place: nothing is copied out of a window, and
// the caller reads buf[:n] once fillTo(n) has returned (and may change it
// after sumTo(n)). The stream can
// inflate to at most len(buf)-winSlack bytes (a little more is decoded
// into the slack when a match crosses that point).
func newFlatInflater(r *idatReader, buf []byte) *inflater {
	return &inflater{in: r, win: buf, hi: len(buf) - winSlack, adler: 1, checkSum: true, verify: true, flat: true}
}

// fillTo decodes into a flat inflater's buffer until it holds at least
// want bytes (at most len(buf)-winSlack); io.ErrUnexpectedEOF if the
// stream ends first.
func (f *inflater) fillTo(want int) error {
	if want > len(f.win)-winSlack {
		return errFlatRange
	}
	f.hi = want // stop soon after: a caller asking for part wants it now
	for f.wp < want {
		if f.err != nil {
			return f.err
		}
		if f.state == stEnd {
			return io.ErrUnexpectedEOF
		}
		// Each call makes progress: the buffer has room up to want.
		f.err = f.decode()
	}
	return nil
}

// noChecksum turns the Adler-32 off, for a caller that stops before the
// stream's end (where it would be checked).
func (f *inflater) noChecksum() { f.checkSum, f.verify = false, false }

// sumTo adds a flat inflater's output up to n to its checksum, which the
// caller must do before it changes those bytes if it will call end.
func (f *inflater) sumTo(n int) {
	if f.checkSum && n > f.summed {
		f.adler = adler32Update(f.adler, f.win[f.summed:n])
		f.summed = n
	}
}

// end decodes the rest of a flat inflater's stream, which must inflate to
// exactly n bytes (n = len(buf)-winSlack): this verifies its Adler-32 too.
func (f *inflater) end(n int) error {
	f.hi = len(f.win) - winSlack
	for f.err == nil && f.state != stEnd && f.wp <= n {
		f.err = f.decode()
	}
	switch {
	case f.err != nil:
		return f.err
	case f.wp > n:
		return errTooLong
	case f.wp < n:
		return io.ErrUnexpectedEOF
	}
	return nil
}

// Read implements io.Reader.
func (f *inflater) Read(p []byte) (int, error) {
	for f.wp-f.rp < len(p) && f.err == nil && f.state != stEnd {
		f.err = f.decode()
		if f.wp > f.hi && f.err == nil {
			if f.room(); f.wp > f.hi {
				break // p is longer than the window holds: return part
			}
		}
	}
	n := copy(p, f.win[f.rp:f.wp])
	f.rp += n
	if n == 0 {
		if f.err != nil {
			return 0, f.err
		}
		return 0, io.EOF
	}
	return n, nil
}

// Close implements io.Closer.
func (f *inflater) Close() error { return nil }

// room makes space to decode at least winSlack bytes into the window,
// sliding it when it is full of data Read has returned.
func (f *inflater) room() {
	if f.flat || f.wp <= f.hi {
		return
	}
	keep := max(0, f.wp-windowSize)
	keep = min(keep, f.rp)
	if f.checkSum {
		f.adler = adler32Update(f.adler, f.win[:keep])
	}
	copy(f.win, f.win[keep:f.wp])
	f.total += int64(keep)
	if f.total+int64(f.wp) > f.limit {
		f.err = errTooLong
	}
	f.wp -= keep
	f.rp -= keep
}

// decode decodes until the window is nearly full or the stream ends.
func (f *inflater) decode() error {
	switch f.state {
	case stHeader:
		cmf, flg := f.take(8), f.take(8)
		if cmf&15 != 8 || cmf>>4 > 7 || (cmf<<8|flg)%31 != 0 || flg&0x20 != 0 {
			return errors.New("zlib: invalid header")
		}
		f.state = stBlock
		return nil
	case stBlock:
		if f.final {
			return f.trailer()
		}
		f.final = f.take(1) == 1
		switch f.take(2) {
		case 0:
			f.take(f.nbits & 7)
			ln, nln := f.take(16), f.take(16)
			if ln != ^nln&0xffff {
				return errDeflate
			}
			f.stored, f.state = int(ln), stStored
		case 1:
			f.lit, f.dist = fixedLit, fixedDist
			f.state = stHuff
		case 2:
			if err := f.dynamic(); err != nil {
				return err
			}
			f.state = stHuff
		default:
			return errDeflate
		}
		return f.overrun()
	case stStored:
		for f.stored > 0 {
			if f.room(); f.err != nil {
				return f.err
			}
			if f.wp > f.hi {
				return nil // full: Read must take some first
			}
			n := min(f.stored, len(f.win)-f.wp)
			for ; n > 0 && f.nbits >= 8; n-- {
				f.win[f.wp] = byte(f.bits)
				f.bits >>= 8
				f.nbits -= 8
				f.wp++
				f.stored--
			}
			if err := f.overrun(); err != nil {
				return err
			}
			if n > 0 {
				// The bit buffer is empty, but may hold bits of the bytes
				// copied below, read ahead: drop them.
				f.bits = 0
			}
			r := f.in
			for n > 0 {
				if r.pos >= r.end {
					if err := r.fill(); err != nil {
						return io.ErrUnexpectedEOF
					}
				}
				c := copy(f.win[f.wp:f.wp+n], r.data[r.pos:r.end])
				r.pos += c
				f.wp += c
				f.stored -= c
				n -= c
			}
		}
		f.state = stBlock
		return nil
	case stHuff:
		return f.huff()
	}
	return nil
}

// overrun reports a stream that ran past the end of its data.
func (f *inflater) overrun() error {
	if f.pad*8 > int(f.nbits) {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// dynamic reads a dynamic block's code lengths and builds its tables.
func (f *inflater) dynamic() error {
	nlit := int(f.take(5)) + 257
	ndist := int(f.take(5)) + 1
	nclen := int(f.take(4)) + 4
	if nlit > 286 || ndist > 30 {
		return errDeflate
	}
	var cl [19]uint8
	for i := range nclen {
		cl[clOrder[i]] = uint8(f.take(3))
	}
	var ct huffTable
	if err := ct.build(cl[:], codeLengths); err != nil {
		return err
	}
	var lens [286 + 30]uint8
	for i := 0; i < nlit+ndist; {
		s, err := f.sym(&ct)
		if err != nil {
			return err
		}
		var rep int
		var v uint8
		switch {
		case s < 16:
			lens[i] = uint8(s)
			i++
			continue
		case s == 16:
			if i == 0 {
				return errDeflate
			}
			v, rep = lens[i-1], 3+int(f.take(2))
		case s == 17:
			rep = 3 + int(f.take(3))
		default:
			rep = 11 + int(f.take(7))
		}
		if i+rep > nlit+ndist {
			return errDeflate
		}
		for ; rep > 0; rep-- {
			lens[i] = v
			i++
		}
		if err := f.overrun(); err != nil {
			return err
		}
	}
	if lens[256] == 0 {
		return errDeflate
	}
	if err := f.lit.build(lens[:nlit], litLenCode); err != nil {
		return err
	}
	return f.dist.build(lens[nlit:nlit+ndist], distCode)
}

// huff decodes a Huffman block's symbols until its end or a full window.
func (f *inflater) huff() error {
	for {
		if f.wp > f.hi {
			if f.room(); f.err != nil {
				return f.err
			}
			if f.wp > f.hi {
				return f.overrun()
			}
		}
		if f.in.end-f.in.pos >= 8 {
			if err := f.huffFast(); err != nil {
				return err
			}
			if f.state != stHuff {
				return nil
			}
			if f.in.end-f.in.pos >= 8 && f.wp <= f.hi {
				// Stopped at a code longer than the tables hold.
				if err := f.huffOne(); err != nil || f.state != stHuff {
					return err
				}
			}
			continue
		}
		if err := f.huffOne(); err != nil || f.state != stHuff {
			return err
		}
	}
}

// huffFast decodes symbols while the window has room and at least 8 bytes
// of input are left in the chunk (so the bit buffer is refilled without
// checks), with the bit buffer in locals. It returns at the end of the
// block, or at a literal/length code longer than fastBits, for huffOne.
//
// After a refill the buffer holds at least 56 bits: a literal (at most
// fastBits), then a length code with its extra bits (fastBits+5) and a
// distance code with its extra bits (fastBits+13) need 48 of them; or
// three literals. A
// longer distance code goes through sym, which refills.
func (f *inflater) huffFast() error {
	r := f.in
	data, pos := r.data[:r.end], r.pos
	win := f.win
	wp, hi := f.wp, min(f.hi, len(win)-winSlack)
	bitbuf, nb := f.bits, f.nbits
	lit, dist := &f.lit.ent, &f.dist.ent
	const mask = 1<<fastBits - 1
	for wp <= hi && len(data)-pos >= 8 {
		bitbuf |= binary.LittleEndian.Uint64(data[pos:]) << nb
		pos += int((63 - nb) >> 3)
		nb |= 56

		e := lit[bitbuf&mask]
		if e&entLit != 0 {
			l := uint(e & 15)
			bitbuf >>= l
			nb -= l
			win[wp] = byte(e >> 16)
			wp++
			e = lit[bitbuf&mask]
			if e&entLit != 0 {
				// At least 36 bits left: room for a third literal,
				// not for a match.
				l := uint(e & 15)
				bitbuf >>= l
				nb -= l
				win[wp] = byte(e >> 16)
				wp++
				if e = lit[bitbuf&mask]; e&entLit != 0 {
					l := uint(e & 15)
					bitbuf >>= l
					nb -= l
					win[wp] = byte(e >> 16)
					wp++
				}
				continue
			}
		}
		if e&entLen == 0 {
			// End of block, a bad symbol or a long code: huffOne
			// decodes it.
			break
		}
		l := uint(e & 15)
		bitbuf >>= l
		x := uint((e >> 4) & 15)
		n := int(e>>16) + int(bitbuf&(1<<x-1))
		bitbuf >>= x
		nb -= l + x

		e = dist[bitbuf&mask]
		if e == 0 {
			r.pos, f.wp, f.bits, f.nbits = pos, wp, bitbuf, nb
			s, err := f.sym(&f.dist)
			if err != nil {
				return err
			}
			e = symEntry(distCode, s)
			if f.nbits < 13 {
				f.refill()
			}
			if err := f.overrun(); err != nil {
				return err
			}
			data, pos = r.data[:r.end], r.pos
			bitbuf, nb = f.bits, f.nbits
		}
		if e&entLen == 0 {
			r.pos, f.wp, f.bits, f.nbits = pos, wp, bitbuf, nb
			return errDeflate
		}
		l = uint(e & 15)
		bitbuf >>= l
		x = uint((e >> 4) & 15)
		d := int(e>>16) + int(bitbuf&(1<<x-1))
		bitbuf >>= x
		nb -= l + x
		if d > wp { // before the stream's start (the window keeps 32 KiB)
			r.pos, f.wp, f.bits, f.nbits = pos, wp, bitbuf, nb
			return errDeflate
		}
		copyMatch(win, wp, d, n)
		wp += n
	}
	r.pos, f.wp, f.bits, f.nbits = pos, wp, bitbuf, nb
	return nil
}

// copyMatch copies the n bytes at distance d back to win[wp:], as LZ77
// does: overlapping, so a short distance repeats. It may write up to 15
// bytes past wp+n (winSlack leaves room).
func copyMatch(win []byte, wp, d, n int) {
	src := wp - d
	switch {
	case d >= 8:
		for i := 0; i < n; i += 8 {
			binary.LittleEndian.PutUint64(win[wp+i:], binary.LittleEndian.Uint64(win[src+i:]))
		}
	case d == 1:
		v := uint64(win[src]) * 0x0101010101010101
		for i := 0; i < n; i += 8 {
			binary.LittleEndian.PutUint64(win[wp+i:], v)
		}
	default:
		for i := range n {
			win[wp+i] = win[src+i]
		}
	}
}

// huffOne decodes one symbol of a Huffman block, with a match if it is a
// length, checking the bit buffer as it goes.
func (f *inflater) huffOne() error {
	s, err := f.sym(&f.lit)
	if err != nil {
		return err
	}
	e := symEntry(litLenCode, s)
	switch {
	case e&entLit != 0:
		f.win[f.wp] = byte(s)
		f.wp++
		return nil
	case e&entEnd != 0:
		f.state = stBlock
		return f.overrun()
	case e&entBad != 0:
		return errDeflate
	}
	n := int(e>>16) + int(f.take(uint(e>>4)&15))
	ds, err := f.sym(&f.dist)
	if err != nil {
		return err
	}
	e = symEntry(distCode, ds)
	if e&entBad != 0 {
		return errDeflate
	}
	d := int(e>>16) + int(f.take(uint(e>>4)&15))
	if d > f.wp { // before the stream's start (the window keeps 32 KiB)
		return errDeflate
	}
	if err := f.overrun(); err != nil {
		return err
	}
	copyMatch(f.win, f.wp, d, n)
	f.wp += n
	return nil
}

// trailer checks the Adler-32 checksum after the final block.
func (f *inflater) trailer() error {
	f.take(f.nbits & 7)
	var want uint32
	for range 4 {
		want = want<<8 | f.take(8)
	}
	if err := f.overrun(); err != nil {
		return err
	}
	if f.checkSum {
		f.adler = adler32Update(f.adler, f.win[f.summed:f.wp])
	}
	f.checkSum = false
	if f.verify && f.adler != want {
		return errors.New("zlib: invalid checksum")
	}
	// Bytes read ahead into the bit buffer come after the stream: in
	// this chunk they are ignored, as zlib's reader does; from a later
	// IDAT they are image data past the stream's end.
	if ahead := int(f.nbits/8) - f.pad; ahead > 0 {
		if ahead > f.in.pos-f.in.start {
			return errTrailing
		}
		f.in.pos -= ahead
	}
	f.bits, f.nbits = 0, 0
	f.state = stEnd
	return nil
}

// adler32Update continues an Adler-32 checksum over p.
func adler32Update(a uint32, p []byte) uint32 {
	const mod = 65521
	s1, s2 := a&0xffff, a>>16
	for len(p) > 0 {
		n := min(len(p), 5552)
		q := p[:n]
		// Eight bytes at a time: s2 gains 8*s1 and the bytes weighted
		// 8..1, s1 their sum, the same totals as byte by byte (so no
		// more overflow within 5552 bytes), without the serial chain.
		for ; len(q) >= 8; q = q[8:] {
			b := q[:8:8]
			s2 += 8*s1 + 8*uint32(b[0]) + 7*uint32(b[1]) + 6*uint32(b[2]) + 5*uint32(b[3]) +
				4*uint32(b[4]) + 3*uint32(b[5]) + 2*uint32(b[6]) + uint32(b[7])
			s1 += uint32(b[0]) + uint32(b[1]) + uint32(b[2]) + uint32(b[3]) +
				uint32(b[4]) + uint32(b[5]) + uint32(b[6]) + uint32(b[7])
		}
		for _, b := range q {
			s1 += uint32(b)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
		p = p[n:]
	}
	return s2<<16 | s1
}
