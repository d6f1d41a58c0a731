package jpeg

import (
	"encoding/binary"
	"fmt"
)

// Marker codes (T.81 table B.1) the parser treats specially.
const (
	mSOF0 = 0xC0
	mSOF1 = 0xC1
	mSOF2 = 0xC2
	mDHT  = 0xC4
	mDAC  = 0xCC
	mRST0 = 0xD0
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDNL  = 0xDC
	mDRI  = 0xDD
	mAPP0 = 0xE0
	mAPP1 = 0xE1
	mAPPE = 0xEE
)

// component is the decoder's per-component state.
type component struct {
	id     uint8
	h, v   int
	tq     uint8
	q      [64]uint16 // quantisation table latched at the component's first scan, natural order
	td, ta uint8
	pred   int32
	seen   bool // appeared in a scan
	// Block grid: bw x bh blocks cover the MCU-padded component; nbw x nbh
	// are the blocks a non-interleaved scan codes (T.81 A.2.2).
	bw, bh   int
	nbw, nbh int
	coef     []int16 // bw*rows*64, rows = bh (buffered) or v (streaming)
	rows     int     // block rows coef holds
	// dcOnly: every output reconstructs this component from DC alone
	// (1/8 scale), so AC coefficients are decoded but never stored.
	dcOnly bool
	// The reconstruction of the output being worked on (decoder.use).
	view
}

// view is one component as one output reconstructs it.
type view struct {
	ss     int // IDCT output size: 8, 4, 2 or 1
	fx, fy int // upsampling factors to the output grid
	cw, ch int // valid samples of the component at this scale
	// The plane is a ring of ringMCURows MCU rows: component row cy is
	// plane row (cy-py0) % prows.
	plane []uint8
	pstr  int // plane stride
	prows int // plane rows
	px0   int // component x of plane column 0
	py0   int // component y of plane row 0
}

// target is one requested output of DecodeRegions.
type target struct {
	g      geometry
	views  [4]view
	rowBuf [4][]uint8
	colsum []int32
	img    *Image
	next   int // output rows converted so far
}

// scanInfo is a parsed SOS header.
type scanInfo struct {
	n              int
	comp           [4]int
	ss, se, ah, al int
}

type decoder struct {
	data []byte
	pos  int
	hdr  Header

	comps       [4]component
	nc          int
	qt          [4][64]uint16
	qtSet       [4]bool
	dcT         [4]huff
	acT         [4]acHuff
	ri          int
	sof         bool
	progressive bool
	jfif        bool
	adobe       bool
	adobeT      int
	maxH, maxV  int
	mcusX       int
	mcusY       int
	scan        scanInfo
	eobrun      int
	work        int64 // blocks visited by the scans so far
	br          bitReader
	targets     []target
	// The output being reconstructed (see use): its geometry, upsampled
	// rows for colour conversion and the 2x2 upsampler's column sums.
	g      geometry
	rowBuf [4][]uint8
	colsum []int32
	// full[i] is the MCU column range of the current MCU row in which
	// component i needs its AC coefficients stored (streaming only).
	full     [4][2]int
	coefBufs []*[]int16 // pooled buffers to return after the decode
	byteBufs []*[]uint8
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// nextMarker returns the marker at d.pos, skipping fill bytes, and moves past
// it. Stray bytes before a marker are corrupt: the scan decoder has already
// skipped to the marker that ends entropy-coded data.
func (d *decoder) nextMarker() (byte, error) {
	if d.pos >= len(d.data) || d.data[d.pos] != 0xFF {
		return 0, corrupt("expected a marker at offset %d", d.pos)
	}
	for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
		d.pos++
	}
	if d.pos >= len(d.data) {
		return 0, corrupt("truncated before a marker")
	}
	m := d.data[d.pos]
	d.pos++
	if m == 0 {
		return 0, corrupt("stuffed zero where a marker was expected")
	}
	return m, nil
}

// segment returns the payload of the length-prefixed segment at d.pos and
// moves past it.
func (d *decoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, corrupt("truncated segment length")
	}
	n := int(binary.BigEndian.Uint16(d.data[d.pos:]))
	if n < 2 || d.pos+n > len(d.data) {
		return nil, corrupt("segment length %d out of range", n)
	}
	seg := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return seg, nil
}

// readHeaders parses from SOI to the first SOS (which it also parses) and
// fills d.hdr.
func (d *decoder) readHeaders() error {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != mSOI {
		return corrupt("missing SOI marker")
	}
	d.pos = 2
	d.hdr.Orientation = 1
	for {
		m, err := d.nextMarker()
		if err != nil {
			return err
		}
		done, err := d.handleMarker(m)
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	d.hdr.Color = d.colorTransform()
	d.hdr.buffered = d.progressive || d.scan.n < d.nc
	return nil
}

// handleMarker processes one marker segment; it reports true at SOS, with
// the scan header parsed into d.scan.
func (d *decoder) handleMarker(m byte) (bool, error) {
	switch {
	case m == mSOF0 || m == mSOF1 || m == mSOF2:
		seg, err := d.segment()
		if err != nil {
			return false, err
		}
		return false, d.parseSOF(m, seg)
	case m >= 0xC3 && m <= 0xCF && m != mDHT && m != 0xC8 && m != mDAC:
		kind := "hierarchical"
		switch {
		case m == 0xC3:
			kind = "lossless"
		case m >= 0xC9:
			kind = "arithmetic-coded"
		}
		return false, unsupported("%s JPEG (SOF%d)", kind, m-0xC0)
	case m == mDHT:
		seg, err := d.segment()
		if err != nil {
			return false, err
		}
		return false, d.parseDHT(seg)
	case m == mDQT:
		seg, err := d.segment()
		if err != nil {
			return false, err
		}
		return false, d.parseDQT(seg)
	case m == mDRI:
		seg, err := d.segment()
		if err != nil {
			return false, err
		}
		if len(seg) != 2 {
			return false, corrupt("DRI length %d", len(seg))
		}
		d.ri = int(binary.BigEndian.Uint16(seg))
		return false, nil
	case m == mSOS:
		if !d.sof {
			return false, corrupt("SOS before SOF")
		}
		seg, err := d.segment()
		if err != nil {
			return false, err
		}
		return true, d.parseSOS(seg)
	case m == mDNL:
		return false, unsupported("DNL marker (height defined after the first scan)")
	case m == mSOI:
		return false, corrupt("second SOI")
	case m == mEOI:
		return false, corrupt("EOI before any scan")
	case m >= mRST0 && m <= mRST0+7, m == 0x01:
		return false, nil // parameterless; stray outside a scan, harmless
	case m == mAPP0 || m == mAPP1 || m == mAPPE:
		seg, err := d.segment()
		if err != nil {
			return false, err
		}
		d.parseAPP(m, seg)
		return false, nil
	default: // other APPn, COM, JPG, DAC: skip
		_, err := d.segment()
		return false, err
	}
}

func (d *decoder) parseSOF(m byte, seg []byte) error {
	if d.sof {
		return corrupt("second SOF")
	}
	if len(seg) < 6 {
		return corrupt("SOF too short")
	}
	if seg[0] != 8 {
		return unsupported("%d-bit samples", seg[0])
	}
	d.hdr.Height = int(binary.BigEndian.Uint16(seg[1:]))
	d.hdr.Width = int(binary.BigEndian.Uint16(seg[3:]))
	if d.hdr.Height == 0 {
		return unsupported("height 0 (defined by DNL)")
	}
	if d.hdr.Width == 0 {
		return corrupt("width 0")
	}
	nc := int(seg[5])
	if nc != 1 && nc != 3 && nc != 4 {
		return unsupported("%d components", nc)
	}
	if len(seg) != 6+3*nc {
		return corrupt("SOF length %d for %d components", len(seg), nc)
	}
	d.nc = nc
	d.maxH, d.maxV = 1, 1
	for i := 0; i < nc; i++ {
		c := &d.comps[i]
		*c = component{}
		c.id = seg[6+3*i]
		c.h = int(seg[7+3*i] >> 4)
		c.v = int(seg[7+3*i] & 15)
		c.tq = seg[8+3*i]
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return corrupt("sampling factors %dx%d", c.h, c.v)
		}
		if c.tq > 3 {
			return corrupt("quantisation table %d", c.tq)
		}
		for j := 0; j < i; j++ {
			if d.comps[j].id == c.id {
				return corrupt("duplicate component id %d", c.id)
			}
		}
		d.maxH = max(d.maxH, c.h)
		d.maxV = max(d.maxV, c.v)
	}
	if nc == 1 {
		// A lone component's MCU is one block whatever its factors say
		// (T.81 A.2.2), so it is treated as 1x1.
		d.comps[0].h, d.comps[0].v = 1, 1
		d.maxH, d.maxV = 1, 1
	}
	blocks := 0
	for i := 0; i < nc; i++ {
		c := &d.comps[i]
		if d.maxH%c.h != 0 || d.maxV%c.v != 0 {
			return unsupported("fractional sampling ratio %dx%d of %dx%d", c.h, c.v, d.maxH, d.maxV)
		}
		blocks += c.h * c.v
	}
	if blocks > 10 {
		return corrupt("%d blocks per MCU (T.81 allows 10)", blocks)
	}
	d.mcusX = ceilDiv(d.hdr.Width, 8*d.maxH)
	d.mcusY = ceilDiv(d.hdr.Height, 8*d.maxV)
	for i := 0; i < nc; i++ {
		c := &d.comps[i]
		c.bw = d.mcusX * c.h
		c.bh = d.mcusY * c.v
		c.nbw = ceilDiv(ceilDiv(d.hdr.Width*c.h, d.maxH), 8)
		c.nbh = ceilDiv(ceilDiv(d.hdr.Height*c.v, d.maxV), 8)
		d.hdr.Components = append(d.hdr.Components, Component{ID: c.id, H: c.h, V: c.v})
	}
	d.progressive = m == mSOF2
	d.hdr.Progressive = d.progressive
	d.sof = true
	return nil
}

func (d *decoder) parseDQT(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if tq > 3 || pq > 1 {
			return corrupt("DQT table %d precision %d", tq, pq)
		}
		seg = seg[1:]
		n := 64 * (1 + int(pq))
		if len(seg) < n {
			return corrupt("DQT too short")
		}
		for k := 0; k < 64; k++ {
			v := uint16(seg[k])
			if pq == 1 {
				v = binary.BigEndian.Uint16(seg[2*k:])
			}
			d.qt[tq][zigzag[k]] = v
		}
		d.qtSet[tq] = true
		seg = seg[n:]
	}
	return nil
}

func (d *decoder) parseDHT(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return corrupt("DHT too short")
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return corrupt("DHT class %d id %d", tc, th)
		}
		var counts [16]uint8
		copy(counts[:], seg[1:17])
		total := 0
		for _, c := range counts {
			total += int(c)
		}
		if total > 256 || len(seg) < 17+total {
			return corrupt("DHT with %d symbols", total)
		}
		if tc == 0 {
			if err := d.dcT[th].build(&counts, seg[17:17+total], false); err != nil {
				return err
			}
		} else {
			t := &d.acT[th]
			if err := t.build(&counts, seg[17:17+total], true); err != nil {
				return err
			}
			t.buildSkip()
		}
		seg = seg[17+total:]
	}
	return nil
}

func (d *decoder) parseSOS(seg []byte) error {
	if len(seg) < 1 {
		return corrupt("SOS too short")
	}
	n := int(seg[0])
	if n < 1 || n > d.nc || len(seg) != 4+2*n {
		return corrupt("SOS with %d components, length %d", n, len(seg))
	}
	s := &d.scan
	s.n = n
	prev := -1
	for i := 0; i < n; i++ {
		id := seg[1+2*i]
		ci := -1
		for j := 0; j < d.nc; j++ {
			if d.comps[j].id == id {
				ci = j
			}
		}
		// T.81 B.2.3: scan components are distinct and in frame order.
		if ci < 0 || ci <= prev {
			return corrupt("SOS component id %d", id)
		}
		prev = ci
		s.comp[i] = ci
		c := &d.comps[ci]
		c.td, c.ta = seg[2+2*i]>>4, seg[2+2*i]&15
		if c.td > 3 || c.ta > 3 {
			return corrupt("SOS table selector")
		}
	}
	p := seg[1+2*n:]
	s.ss, s.se, s.ah, s.al = int(p[0]), int(p[1]), int(p[2]>>4), int(p[2]&15)
	if d.progressive {
		if s.ss > s.se || s.se > 63 || (s.ss == 0) != (s.se == 0) || (s.ss > 0 && n != 1) || s.al > 13 || s.ah > 13 {
			return corrupt("progressive scan parameters Ss=%d Se=%d Ah=%d Al=%d", s.ss, s.se, s.ah, s.al)
		}
	} else if s.ss != 0 || s.se != 63 || s.ah != 0 || s.al != 0 {
		return corrupt("sequential scan parameters Ss=%d Se=%d", s.ss, s.se)
	}
	return nil
}

// parseAPP records JFIF, Adobe and EXIF information; malformed application
// segments are ignored as libjpeg does, never fatal.
func (d *decoder) parseAPP(m byte, seg []byte) {
	switch m {
	case mAPP0:
		if len(seg) >= 5 && string(seg[:5]) == "JFIF\x00" {
			d.jfif = true
		}
	case mAPP1:
		if len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" && d.hdr.Orientation == 1 {
			d.hdr.Orientation = TIFFOrientation(seg[6:])
		}
	case mAPPE:
		if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
			d.adobe = true
			d.adobeT = int(seg[11])
		}
	}
}

// colorTransform follows libjpeg's jdapimin.c default_decompress_parms.
func (d *decoder) colorTransform() ColorTransform {
	switch d.nc {
	case 1:
		return ColorGray
	case 3:
		switch {
		case d.jfif:
			return ColorYCbCr
		case d.adobe:
			if d.adobeT == 0 {
				return ColorRGB
			}
			return ColorYCbCr
		case d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B':
			return ColorRGB
		}
		return ColorYCbCr
	default:
		if d.adobe && d.adobeT == 2 {
			return ColorYCCK
		}
		return ColorCMYK
	}
}

// TIFFOrientation reads the orientation tag (0x0112) of IFD0 of the TIFF
// structure in an EXIF APP1 segment (after its "Exif\x00\x00"); anything
// malformed or absent means 1 (upright), since a broken EXIF block must
// never stop an otherwise good photo from being used.
func TIFFOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	ifd := t[off:]
	count := int(bo.Uint16(ifd))
	for k := 0; k < count; k++ {
		e := 2 + 12*k
		if e+12 > len(ifd) {
			return 1
		}
		if bo.Uint16(ifd[e:]) != 0x0112 {
			continue
		}
		var v int
		switch bo.Uint16(ifd[e+2:]) {
		case 3: // SHORT, the type the standard prescribes
			v = int(bo.Uint16(ifd[e+8:]))
		case 4: // LONG, written by some broken tools
			v = int(bo.Uint32(ifd[e+8:]))
		default:
			return 1
		}
		if v < 1 || v > 8 {
			return 1
		}
		return v
	}
	return 1
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// zigzag maps a coefficient's position in zig-zag order to its natural
// (row-major) index; entries past 63 absorb a corrupt run without a bounds
// check in the hot loop.
var zigzag = [64 + 16]uint8{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
	63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
}
