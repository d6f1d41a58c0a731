package png

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"runtime"
	"sync"
)

// Options control Decode.
type Options struct {
	// MaxRows decodes only rows [0, MaxRows) and returns an image that
	// many rows high; the compressed data after that row is not read. For
	// an interlaced image every pass but the last must still be inflated.
	// 0 (or negative, or more than the height) decodes every row.
	MaxRows int
	// MaxBytes refuses (ErrTooLarge) an image whose Header.CostRows
	// exceeds it, before allocating anything; 0 means no limit.
	MaxBytes int64
	// RGB returns an 8-bit RGB image without tRNS that is not interlaced
	// as *RGBImage: its rows as inflated, 3 bytes a pixel, with no conversion
	// to NRGBA. Other images are decoded as without it.
	RGB bool
	// Rows, if not nil, is called as rows become final, from the
	// goroutine that called Decode, with increasing n: rows [0, n) of
	// img, the image Decode is making, hold their pixels and will not
	// change. A flat decode (8-bit RGB with RGB, 8-bit RGBA, opaque
	// gray; not interlaced) calls it every few rows, so a caller on
	// another goroutine can start on the first rows; any other decode
	// calls it once, when every row is done. After the last call Decode
	// may still fail (a checksum, chunks after the data): only its
	// return says whether img is good.
	Rows func(img image.Image, n int)
}

// errPanic marks a recovered panic: a bug in this package, reported as an
// error so that no request can take the process down, and distinct so
// that the fuzz test can fail on it.
var errPanic = errors.New("png: internal error")

// Decode decodes a PNG held in data to 8 bits per channel: *image.Gray for
// opaque grayscale, *image.NRGBA otherwise (see the package comment).
// It checks the header as DecodeConfig does and refuses with ErrTooLarge
// before allocating when opt.MaxBytes is exceeded. CRCs of the critical
// chunks and tRNS are verified; ancillary chunks are skipped unread. When
// every row is decoded, the zlib checksum and the chunks up to IEND are
// checked too; with MaxRows the rest of the file is not looked at.
// Errors wrap ErrCorrupt, ErrUnsupported or ErrTooLarge.
func Decode(data []byte, opt Options) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%w: %w: %v", ErrCorrupt, errPanic, p)
		}
	}()
	h, err := DecodeConfig(data)
	if err != nil {
		return nil, err
	}
	rows := h.Height
	if opt.MaxRows > 0 && opt.MaxRows < rows {
		rows = opt.MaxRows
	}
	cost := h.CostRows(rows)
	if opt.MaxBytes > 0 && cost > opt.MaxBytes {
		return nil, fmt.Errorf("%w: %dx%d (%d rows) needs %d bytes, limit %d", ErrTooLarge, h.Width, h.Height, rows, cost, opt.MaxBytes)
	}
	if cost > math.MaxInt || int64(h.Width)*4 > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %dx%d needs %d bytes", ErrTooLarge, h.Width, h.Height, cost)
	}
	d := decoder{h: h, rows: rows}
	off, err := d.readPreamble(data)
	if err != nil {
		return nil, err
	}
	for i, c := range d.palette {
		d.pal32[i] = binary.LittleEndian.Uint32(c[:])
	}
	d.idat = idatReader{data: data, next: off}
	if err := d.idat.enter(); err != nil {
		return nil, err
	}
	d.onRows = opt.Rows
	if d.flat(opt.RGB) {
		return d.decodeFlat()
	}
	zr := newInflater(&d.idat, h.rawSize()+winBuf)
	if rows < h.Height {
		zr.noChecksum()
	}
	d.zr = zr
	if h.outGray() {
		d.gray = image.NewGray(image.Rect(0, 0, h.Width, rows))
		d.pix, d.stride, d.outBpp = d.gray.Pix, d.gray.Stride, 1
	} else {
		d.nrgba = image.NewNRGBA(image.Rect(0, 0, h.Width, rows))
		d.pix, d.stride, d.outBpp = d.nrgba.Pix, d.nrgba.Stride, 4
	}
	if h.Interlaced {
		err = d.interlaced()
	} else {
		err = d.sequential()
	}
	if err != nil {
		return nil, err
	}
	img = d.nrgba
	if d.gray != nil {
		img = d.gray
	}
	if d.onRows != nil {
		d.onRows(img, rows)
	}
	if rows == h.Height {
		if err := d.finish(); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// decoder is the state of one Decode.
type decoder struct {
	h    Header
	rows int // rows to output

	palette [256][4]byte // NRGBA, opaque black beyond PLTE as image/png does
	pal32   [256]uint32  // palette as little-endian words, stored whole per pixel
	hasPLTE bool
	trns    [6]byte // gray or RGB tRNS sample values, big-endian 16-bit
	useTRNS bool

	idat idatReader
	zr   io.ReadCloser

	gray   *image.Gray
	nrgba  *image.NRGBA
	onRows func(image.Image, int) // Options.Rows
	img    image.Image            // a flat decode's output, made first
	pix    []byte
	stride int
	outBpp int
}

// flat reports whether every raw row, once unfiltered, is byte for byte
// an output row: 8-bit RGBA as NRGBA, 8-bit opaque gray as Gray, and with
// rgb 8-bit RGB without tRNS as RGB, not interlaced. Such an image is
// inflated straight into one buffer of all its raw rows and unfiltered in
// place there, which then is the image's Pix, each row's filter byte
// before it.
func (d *decoder) flat(rgb bool) bool {
	h := d.h
	return !h.Interlaced && h.BitDepth == 8 &&
		(h.ColorType == RGBA || h.outGray() || (rgb && h.ColorType == RGB && !h.HasTRNS))
}

// decodeFlat decodes an image for which flat is true.
func (d *decoder) decodeFlat() (image.Image, error) {
	w := d.h.Width
	n := int(d.h.rowBytes(w))
	rs := n + 1
	size := d.rows * rs
	buf := make([]byte, size+winSlack)
	pix, r := buf[1:size:size], image.Rect(0, 0, w, d.rows)
	switch d.h.ColorType {
	case RGB:
		d.img = &RGBImage{Pix: pix, Stride: rs, Rect: r}
	case RGBA:
		d.img = &image.NRGBA{Pix: pix, Stride: rs, Rect: r}
	default:
		d.img = &image.Gray{Pix: pix, Stride: rs, Rect: r}
	}
	f := newFlatInflater(&d.idat, buf)
	whole := d.rows == d.h.Height
	if !whole {
		f.noChecksum()
	}
	var err error
	if size >= pipelineMin && runtime.GOMAXPROCS(0) > 1 {
		err = d.unfilterBehind(f, size, rs, whole)
	} else {
		err = d.unfilterAfter(f, size, rs, whole)
	}
	if err != nil {
		return nil, err
	}
	if whole {
		if err := f.end(size); err != nil {
			return nil, d.zlibErr(err)
		}
		if err := d.trailingChunks(); err != nil {
			return nil, err
		}
	}
	return d.img, nil
}

// unfilterAfter inflates all rows, then unfilters them.
func (d *decoder) unfilterAfter(f *inflater, size, rs int, whole bool) error {
	if err := f.fillTo(size); err != nil {
		return d.zlibErr(err)
	}
	if whole {
		f.sumTo(size) // before unfiltering changes the bytes
	}
	return d.unfilterRows(f.win, 0, d.rows, rs, nil)
}

// unfilterRows unfilters rows [y0, y1) of the flat buffer buf in place,
// given the unfiltered row above y0 (nil: zeros).
func (d *decoder) unfilterRows(buf []byte, y0, y1, rs int, prev []byte) error {
	if prev == nil {
		prev = make([]byte, rs-1)
	}
	bpp := d.bytesPerPixel()
	for y := y0; y < y1; y++ {
		cur := buf[y*rs+1 : (y+1)*rs]
		if err := unfilter(buf[y*rs], cur, prev, bpp); err != nil {
			return err
		}
		prev = cur
		if d.onRows != nil && (y+1)%rowsStep == 0 {
			d.onRows(d.img, y+1)
		}
	}
	if d.onRows != nil && y1%rowsStep != 0 {
		d.onRows(d.img, y1)
	}
	return nil
}

// rowsStep is how many rows a flat decode unfilters between calls of
// Options.Rows.
const rowsStep = 16

// pipelineMin is the raw size from which a flat decode inflates on a
// goroutine of its own while the caller's unfilters the rows behind it:
// below it, handing over costs more than the overlap saves.
const pipelineMin = 256 << 10

// pipeStep is how far the inflater goes between reports of its progress.
const pipeStep = 32 << 10

// unfilterBehind inflates on another goroutine and unfilters the rows as
// they arrive, at least a window (32 KiB) behind the inflater, since its
// matches copy from the raw bytes up to that far back.
func (d *decoder) unfilterBehind(f *inflater, size, rs int, whole bool) error {
	var (
		mu   sync.Mutex
		cond = sync.NewCond(&mu)
		done int   // bytes inflated (and summed when whole), under mu
		ierr error // the inflater's error, under mu
		stop bool  // the caller gave up, under mu
		exit = make(chan struct{})
	)
	go func() {
		defer close(exit)
		defer func() {
			if p := recover(); p != nil {
				mu.Lock()
				ierr = fmt.Errorf("%w: %w: %v", ErrCorrupt, errPanic, p)
				mu.Unlock()
				cond.Signal()
			}
		}()
		for at := 0; at < size; {
			at = min(size, at+pipeStep)
			err := f.fillTo(at)
			if err == nil && whole {
				f.sumTo(at) // before the caller changes the bytes
			}
			mu.Lock()
			done, ierr = at, err
			quit := stop
			mu.Unlock()
			cond.Signal()
			if err != nil || quit {
				return
			}
		}
	}()
	wait := func() {
		mu.Lock()
		stop = true
		mu.Unlock()
		<-exit
	}
	var prev []byte
	for y := 0; y < d.rows; {
		mu.Lock()
		for ierr == nil && done < size && done-windowSize < (y+1)*rs {
			cond.Wait()
		}
		avail, err := done, ierr
		mu.Unlock()
		if err != nil {
			<-exit
			if errors.Is(err, errPanic) {
				return err
			}
			return d.zlibErr(err)
		}
		if avail < size {
			avail -= windowSize
		}
		y1 := min(d.rows, avail/rs)
		if err := d.unfilterRows(f.win, y, y1, rs, prev); err != nil {
			wait()
			return err
		}
		prev, y = f.win[(y1-1)*rs+1:y1*rs], y1
	}
	<-exit
	return nil
}

// zlibErr turns an error from reading the inflated data into ours.
func (d *decoder) zlibErr(err error) error {
	if d.idat.err != nil {
		return d.idat.err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: image data ends early", ErrCorrupt)
	}
	return fmt.Errorf("%w: image data: %v", ErrCorrupt, err)
}

// readPreamble parses the chunks between IHDR and the first IDAT and
// returns the offset of that IDAT.
func (d *decoder) readPreamble(data []byte) (int, error) {
	_, off, err := nextChunk(data, 8) // IHDR, checked by DecodeConfig
	if err != nil {
		return 0, err
	}
	seenTRNS := false
	for {
		c, next, err := nextChunk(data, off)
		if err != nil {
			return 0, err
		}
		switch c.typ {
		case "IDAT":
			if d.h.ColorType == Paletted && !d.hasPLTE {
				return 0, fmt.Errorf("%w: paletted image without PLTE", ErrCorrupt)
			}
			return off, nil
		case "PLTE":
			if d.hasPLTE || seenTRNS {
				return 0, fmt.Errorf("%w: PLTE out of order", ErrCorrupt)
			}
			if err := d.parsePLTE(c); err != nil {
				return 0, err
			}
		case "tRNS":
			if seenTRNS || (d.h.ColorType == Paletted && !d.hasPLTE) {
				return 0, fmt.Errorf("%w: tRNS out of order", ErrCorrupt)
			}
			seenTRNS = true
			if err := d.parseTRNS(c); err != nil {
				return 0, err
			}
		case "IHDR", "IEND":
			return 0, fmt.Errorf("%w: %s before IDAT", ErrCorrupt, c.typ)
		default:
			if critical(c.typ) {
				return 0, fmt.Errorf("%w: critical chunk %q", ErrUnsupported, c.typ)
			}
		}
		off = next
	}
}

func (d *decoder) parsePLTE(c chunk) error {
	if !c.crcOK() {
		return fmt.Errorf("%w: PLTE CRC mismatch", ErrCorrupt)
	}
	d.hasPLTE = true
	switch d.h.ColorType {
	case Paletted:
	case RGB, RGBA:
		return nil // a suggested palette for truecolor: not needed
	default:
		return fmt.Errorf("%w: PLTE in a grayscale image", ErrCorrupt)
	}
	n := len(c.data) / 3
	if len(c.data)%3 != 0 || n == 0 || n > 1<<d.h.BitDepth {
		return fmt.Errorf("%w: PLTE of %d bytes for bit depth %d", ErrCorrupt, len(c.data), d.h.BitDepth)
	}
	for i := range d.palette {
		d.palette[i] = [4]byte{0, 0, 0, 0xff}
	}
	for i := 0; i < n; i++ {
		copy(d.palette[i][:3], c.data[3*i:])
	}
	return nil
}

func (d *decoder) parseTRNS(c chunk) error {
	if !c.crcOK() {
		return fmt.Errorf("%w: tRNS CRC mismatch", ErrCorrupt)
	}
	switch d.h.ColorType {
	case Gray:
		if len(c.data) != 2 {
			return fmt.Errorf("%w: gray tRNS of %d bytes", ErrCorrupt, len(c.data))
		}
	case RGB:
		if len(c.data) != 6 {
			return fmt.Errorf("%w: RGB tRNS of %d bytes", ErrCorrupt, len(c.data))
		}
	case Paletted:
		if len(c.data) > 256 {
			return fmt.Errorf("%w: palette tRNS of %d bytes", ErrCorrupt, len(c.data))
		}
		for i, a := range c.data {
			d.palette[i][3] = a
		}
		return nil
	default:
		return fmt.Errorf("%w: tRNS with color type %d", ErrCorrupt, d.h.ColorType)
	}
	copy(d.trns[:], c.data)
	d.useTRNS = true
	return nil
}

// finish checks, after the last row, that the zlib stream ends there (which
// verifies its Adler-32) and that the chunks up to IEND are well formed.
func (d *decoder) finish() error {
	var b [1]byte
	n, err := io.ReadFull(d.zr, b[:])
	if n > 0 {
		return fmt.Errorf("%w: more image data than the header declares", ErrCorrupt)
	}
	if err != io.EOF {
		return d.zlibErr(err)
	}
	return d.trailingChunks()
}

// trailingChunks checks, after the zlib stream, the chunks up to IEND.
func (d *decoder) trailingChunks() error {
	if d.idat.err != nil {
		return d.idat.err
	}
	// Any IDAT left in this run is data past the zlib stream's end.
	for off := d.idat.next; ; {
		c, next, err := nextChunk(d.idat.data, off)
		if err != nil {
			return err
		}
		switch {
		case c.typ == "IEND":
			return nil
		case c.typ == "IDAT", c.typ == "IHDR", c.typ == "PLTE":
			return fmt.Errorf("%w: %s after the image data", ErrCorrupt, c.typ)
		case critical(c.typ):
			return fmt.Errorf("%w: critical chunk %q", ErrUnsupported, c.typ)
		}
		off = next
	}
}

// idatReader streams the payloads of a run of consecutive IDAT chunks to
// zlib straight from the input, checking each chunk's CRC as it is
// entered. It is an io.ByteReader so that flate reads it directly rather
// than through a bufio.Reader of its own; flate calls ReadByte for nearly
// every input byte, so the current payload is data[pos:end] rather than a
// slice, whose update would cost three stores a byte.
type idatReader struct {
	data     []byte
	pos, end int   // unread part of the current IDAT payload
	start    int   // where the current payload starts
	next     int   // offset of the chunk after the current one
	done     bool  // the IDAT run has ended
	err      error // a corrupt chunk; reported instead of the zlib error it causes
}

// enter moves to the chunk at r.next if it is an IDAT.
func (r *idatReader) enter() error {
	c, next, err := nextChunk(r.data, r.next)
	if err != nil {
		r.err = err
		return err
	}
	if c.typ != "IDAT" {
		r.done = true
		return nil
	}
	if !c.crcOK() {
		r.err = fmt.Errorf("%w: IDAT CRC mismatch", ErrCorrupt)
		return r.err
	}
	r.pos, r.end, r.next = r.next+8, r.next+8+len(c.data), next
	r.start = r.pos
	return nil
}

// fill makes the current payload non-empty, or returns io.EOF at the end
// of the run.
func (r *idatReader) fill() error {
	for r.pos >= r.end {
		if r.err != nil {
			return r.err
		}
		if r.done {
			return io.EOF
		}
		if err := r.enter(); err != nil {
			return err
		}
	}
	return nil
}

// Read implements io.Reader.
func (r *idatReader) Read(p []byte) (int, error) {
	if r.pos >= r.end {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.data[r.pos:r.end])
	r.pos += n
	return n, nil
}

// ReadByte implements io.ByteReader.
func (r *idatReader) ReadByte() (byte, error) {
	if r.pos >= r.end {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	b := r.data[r.pos]
	r.pos++
	return b, nil
}
