// Package png decodes PNG images for the service: always to 8 bits per
// channel, optionally only the first rows of the image, and with the
// memory it will take known from the header before anything is allocated.
// An image whose raw rows are its output pixels (8-bit RGBA, opaque gray,
// and RGB as *RGBImage with Options.RGB) is inflated into its output
// buffer and unfiltered there; any other streams the inflated data row by
// row, holding no more than two raw rows besides its output.
//
// The standard image/png decodes a 16-bit image into a 64-bit-per-pixel
// image and always decodes every row; a 311 KB 16-bit 6000x6000 file then
// costs 288 MB and seconds of CPU, though the service only needs 8-bit
// pixels and, for a crop near the top, only the rows down to the crop.
//
// Output types: *RGBImage for 8-bit RGB with Options.RGB (see there),
// *image.Gray for opaque grayscale (color type 0 without
// tRNS), *image.NRGBA for everything else (alpha 255 where the image is
// opaque). 16-bit samples are reduced to their high byte (v>>8), which is
// what image/png followed by color.NRGBAModel/color.GrayModel, and the
// imaging package the service resizes with, produce for opaque images, so
// existing pipelines see the same pixels.
//
// All functions are safe for concurrent use; they share no mutable state.
package png

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// The errors every failure wraps; check them with errors.Is.
var (
	// ErrCorrupt means the data is not a well-formed PNG: malformed,
	// truncated, or failing a checksum.
	ErrCorrupt = errors.New("png: corrupt or truncated")
	// ErrUnsupported means a well-formed PNG uses something this decoder
	// does not implement, such as an unknown critical chunk.
	ErrUnsupported = errors.New("png: unsupported feature")
	// ErrTooLarge means decoding would allocate more than Options.MaxBytes
	// (or more than the platform can address).
	ErrTooLarge = errors.New("png: image too large")
)

// ColorType is the PNG color type from IHDR.
type ColorType uint8

// The PNG color types (PNG spec 11.2.2).
const (
	Gray      ColorType = 0
	RGB       ColorType = 2
	Paletted  ColorType = 3
	GrayAlpha ColorType = 4
	RGBA      ColorType = 6
)

// channels is the number of samples per pixel of the color type.
func (c ColorType) channels() int {
	switch c {
	case RGB:
		return 3
	case GrayAlpha:
		return 2
	case RGBA:
		return 4
	}
	return 1
}

// Header is what DecodeConfig learns without inflating any pixel data.
type Header struct {
	Width, Height int
	// BitDepth is the bits per sample (per palette index for Paletted).
	BitDepth   int
	ColorType  ColorType
	Interlaced bool // Adam7
	// HasTRNS reports a tRNS chunk before the image data.
	HasTRNS bool
	// IDATBytes is the sum of the IDAT chunk lengths.
	IDATBytes int64
}

// HasAlpha reports whether the image can have non-opaque pixels, which is
// also whether Decode returns *image.NRGBA rather than possibly *image.Gray.
func (h Header) HasAlpha() bool {
	return h.ColorType == GrayAlpha || h.ColorType == RGBA || h.HasTRNS
}

// outGray reports whether Decode returns *image.Gray.
func (h Header) outGray() bool { return h.ColorType == Gray && !h.HasTRNS }

// bitsPerPixel of the raw (filtered) data.
func (h Header) bitsPerPixel() int { return h.BitDepth * h.ColorType.channels() }

// rowBytes is the raw bytes of a row of w pixels, without the filter byte.
func (h Header) rowBytes(w int) int64 {
	return (int64(w)*int64(h.bitsPerPixel()) + 7) / 8
}

// adam7 are the seven interlace passes: x offset, y offset, x step, y step.
var adam7 = [7][4]int{
	{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
	{0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
}

// passSize is the width and height of Adam7 pass p.
func (h Header) passSize(p int) (w, hgt int) {
	a := adam7[p]
	return (h.Width - a[0] + a[2] - 1) / a[2], (h.Height - a[1] + a[3] - 1) / a[3]
}

// rawSize is the number of bytes the inflated data must hold.
func (h Header) rawSize() int64 {
	if !h.Interlaced {
		return int64(h.Height) * (1 + h.rowBytes(h.Width))
	}
	var n int64
	for p := range adam7 {
		pw, ph := h.passSize(p)
		if pw > 0 && ph > 0 {
			n += int64(ph) * (1 + h.rowBytes(pw))
		}
	}
	return n
}

// inflaterCost bounds what compress/zlib allocates: flate's decompressor
// (a 32 KiB window, code-length arrays, two 2 KiB chunk tables) and the
// link tables of its Huffman decoders (at most one 256-byte table per
// code longer than 9 bits, 286+30 codes). Measured about 44 KiB on
// typical files; the bound leaves room for the worst case.
const inflaterCost = 256 << 10

// Cost is an upper bound of the bytes Decode allocates for the whole image:
// the output image, the raw row buffers and the inflater. A caller reserves
// this much before calling Decode.
func (h Header) Cost() int64 { return h.CostRows(0) }

// CostRows is Cost for Decode with Options.MaxRows = rows (0 = all rows).
func (h Header) CostRows(rows int) int64 {
	if rows <= 0 || rows > h.Height {
		rows = h.Height
	}
	per := int64(4)
	if h.outGray() {
		per = 1
	}
	// Width and height are below 2^31, so a product of three could
	// overflow int64: saturate instead.
	px := int64(h.Width) * int64(rows)
	if px > math.MaxInt64/16 {
		return math.MaxInt64
	}
	out := px * per
	n := h.rowBytes(h.Width)
	rowBufs := 2*(n+1) + int64(h.Width)*per // two raw rows + an interlace scratch row
	// A flat decode (decoder.flat) holds the raw rows instead, with the
	// inflater's slack and a row of zeros; with Options.RGB an RGB image
	// is decoded so, for less than the NRGBA image costs.
	flat := int64(rows)*(n+1) + winSlack + n
	return max(out+rowBufs, flat) + inflaterCost + 1024
}

// maxDeflateRatio is the most output one byte of deflate data can yield: a
// length-258 match with 1-bit length and distance codes is 2 bits.
const maxDeflateRatio = 1032

// deflateSlack allows for the literals a stream must start with; zlib's
// header and checksum only make real streams longer.
const deflateSlack = 8192

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// chunk is one chunk located in the input: type and payload.
type chunk struct {
	typ  string
	data []byte
	raw  []byte // type + payload + CRC, what the CRC covers
}

// crcOK checks the chunk's CRC over its type and payload.
func (c chunk) crcOK() bool {
	n := len(c.raw) - 4
	return crc32.ChecksumIEEE(c.raw[:n]) == binary.BigEndian.Uint32(c.raw[n:])
}

// nextChunk reads the chunk at data[off:], returning it and the offset of
// the one after.
func nextChunk(data []byte, off int) (chunk, int, error) {
	if len(data)-off < 12 {
		return chunk{}, 0, fmt.Errorf("%w: truncated chunk header at byte %d", ErrCorrupt, off)
	}
	n := binary.BigEndian.Uint32(data[off:])
	if n > math.MaxInt32 {
		return chunk{}, 0, fmt.Errorf("%w: chunk length %d at byte %d", ErrCorrupt, n, off)
	}
	end := int64(off) + 12 + int64(n)
	if end > int64(len(data)) {
		return chunk{}, 0, fmt.Errorf("%w: chunk at byte %d runs past the end of the data", ErrCorrupt, off)
	}
	c := chunk{
		typ:  string(data[off+4 : off+8]),
		data: data[off+8 : off+8+int(n)],
		raw:  data[off+4 : int(end)],
	}
	for i := 0; i < 4; i++ {
		if b := c.typ[i] | 0x20; b < 'a' || b > 'z' {
			return chunk{}, 0, fmt.Errorf("%w: bad chunk type %q at byte %d", ErrCorrupt, c.typ, off)
		}
	}
	return c, int(end), nil
}

// critical reports a chunk type that a decoder must understand (PNG spec
// 5.4: bit 5 of the first byte clear).
func critical(typ string) bool { return typ[0]&0x20 == 0 }

// DecodeConfig parses the signature and IHDR (checking its CRC), walks the
// chunk list to its IEND, and checks that the IDAT chunks are long enough
// to hold the raw data the header declares given deflate's maximum ratio,
// so a truncated file or a tiny file claiming a huge image is refused
// (ErrCorrupt) before anything is allocated. It does not inflate.
func DecodeConfig(data []byte) (Header, error) {
	var h Header
	if len(data) < len(pngSignature) || string(data[:8]) != string(pngSignature) {
		return h, fmt.Errorf("%w: not a PNG signature", ErrCorrupt)
	}
	c, off, err := nextChunk(data, 8)
	if err != nil {
		return h, err
	}
	if c.typ != "IHDR" || len(c.data) != 13 {
		return h, fmt.Errorf("%w: first chunk is %q of %d bytes, want IHDR of 13", ErrCorrupt, c.typ, len(c.data))
	}
	if !c.crcOK() {
		return h, fmt.Errorf("%w: IHDR CRC mismatch", ErrCorrupt)
	}
	w, ht := binary.BigEndian.Uint32(c.data[0:]), binary.BigEndian.Uint32(c.data[4:])
	if w == 0 || ht == 0 || w > math.MaxInt32 || ht > math.MaxInt32 {
		return h, fmt.Errorf("%w: %dx%d pixels", ErrCorrupt, w, ht)
	}
	h.Width, h.Height = int(w), int(ht)
	h.BitDepth, h.ColorType = int(c.data[8]), ColorType(c.data[9])
	if !validDepth(h.ColorType, h.BitDepth) {
		return h, fmt.Errorf("%w: bit depth %d with color type %d", ErrCorrupt, h.BitDepth, h.ColorType)
	}
	if c.data[10] != 0 || c.data[11] != 0 {
		return h, fmt.Errorf("%w: compression method %d, filter method %d", ErrUnsupported, c.data[10], c.data[11])
	}
	switch c.data[12] {
	case 0:
	case 1:
		h.Interlaced = true
	default:
		return h, fmt.Errorf("%w: interlace method %d", ErrUnsupported, c.data[12])
	}
	seenIDAT := false
	for {
		c, off, err = nextChunk(data, off)
		if err != nil {
			return h, err
		}
		switch c.typ {
		case "IDAT":
			h.IDATBytes += int64(len(c.data))
			seenIDAT = true
		case "tRNS":
			if !seenIDAT {
				h.HasTRNS = true
			}
		}
		if c.typ == "IEND" {
			break
		}
	}
	if !seenIDAT {
		return h, fmt.Errorf("%w: no IDAT chunk", ErrCorrupt)
	}
	if raw := h.rawSize(); raw > h.IDATBytes*maxDeflateRatio+deflateSlack {
		return h, fmt.Errorf("%w: %d bytes of IDAT cannot hold the %d raw bytes of a %dx%d image", ErrCorrupt, h.IDATBytes, raw, h.Width, h.Height)
	}
	return h, nil
}

func validDepth(c ColorType, d int) bool {
	switch c {
	case Gray:
		return d == 1 || d == 2 || d == 4 || d == 8 || d == 16
	case Paletted:
		return d == 1 || d == 2 || d == 4 || d == 8
	case RGB, GrayAlpha, RGBA:
		return d == 8 || d == 16
	}
	return false
}
