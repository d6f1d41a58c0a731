package imageprep

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"

	pngdec "github.com/classifyd/classifyd/imageprep/png"
)

// Header is what an image's header says, read without decoding a pixel.
type Header struct {
	Format        string // "jpeg", "png", "gif", "webp" or "bmp"
	Width, Height int    // as stored, before EXIF orientation
	Orientation   int    // EXIF orientation 1..8 (1 for every format but JPEG)
	// Cost bounds the bytes Decode allocates for this image: the decoded
	// pixels with the decoder's intermediates (progressive JPEG
	// coefficients, 16-bit PNG samples, interlace passes) and the upright
	// copy EXIF orientation makes. The server reserves it before decoding.
	Cost int64
}

// Size is the upright size: what Decode returns and points refer to.
func (h Header) Size() image.Point {
	if h.Orientation >= 5 {
		return image.Pt(h.Height, h.Width)
	}
	return image.Pt(h.Width, h.Height)
}

// Inspect identifies the format, reads the header, checks the pixel count
// against lim and checks that the file is long enough to hold the pixels it
// declares (a header claiming 6000x6000 followed by a few bytes is refused
// as corrupt before anything is allocated). Errors wrap ErrFormat,
// ErrCorrupt or ErrTooLarge.
func Inspect(data []byte, lim Limits) (Header, error) {
	if len(data) == 0 {
		return Header{}, fmt.Errorf("%w: empty input", ErrFormat)
	}
	var c *codec
	for i := range codecs {
		if codecs[i].match(data) {
			c = &codecs[i]
			break
		}
	}
	if c == nil {
		// The bytes themselves are not quoted: they may be anything the
		// client could make the server read (a stored file, a URL).
		return Header{}, fmt.Errorf("%w: not JPEG, PNG, GIF, WebP or BMP", ErrFormat)
	}
	cfg, err := safeConfig(c, data)
	if err != nil {
		return Header{Format: c.name}, fmt.Errorf("%w: %s header: %v", ErrCorrupt, c.name, err)
	}
	h := Header{Format: c.name, Width: cfg.Width, Height: cfg.Height, Orientation: 1}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return h, fmt.Errorf("%w: %s of %dx%d pixels", ErrCorrupt, c.name, cfg.Width, cfg.Height)
	}
	// In int64 so a 2^31-ish side cannot overflow on 32-bit platforms.
	px := int64(cfg.Width) * int64(cfg.Height)
	if maxPx := lim.maxPixels(); px > int64(maxPx) {
		return h, fmt.Errorf("%w: %s of %dx%d pixels, limit %d", ErrTooLarge, c.name, cfg.Width, cfg.Height, maxPx)
	}
	if h.Cost, err = c.cost(data, px); err != nil {
		return h, err
	}
	if c.name == "jpeg" {
		h.Orientation = exifOrientation(data)
		if h.Orientation != 1 {
			h.Cost += 4 * px // the upright NRGBA copy
		}
	}
	return h, nil
}

func (l Limits) maxPixels() int {
	if l.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return l.MaxPixels
}

// slack covers a decoder's fixed-size state (Huffman and LZW tables,
// inflate windows, row buffers of small images).
const slack = 128 << 10

// jpegCost: the YCbCr, gray or CMYK planes (at most 4 bytes a pixel with
// the blocks' padding) and, for progressive files, one int32 coefficient
// block per 8x8 block of every component. The file must hold at least one
// bit per luma block (the shortest DC code), so a file shorter than that is
// truncated.
func jpegCost(data []byte, px int64) (int64, error) {
	sof, ok := jpegFrame(data)
	if !ok {
		return 0, fmt.Errorf("%w: jpeg without a frame header", ErrCorrupt)
	}
	if px > 1024*int64(len(data)) {
		return 0, fmt.Errorf("%w: jpeg of %dx%d pixels in %d bytes is truncated", ErrCorrupt, sof.w, sof.h, len(data))
	}
	// Pad to whole MCUs of up to 32x32 pixels.
	padded := int64((sof.w+31)&^31) * int64((sof.h+31)&^31)
	cost := padded * int64(min(sof.comps, 4))
	if sof.progressive {
		cost += padded * 4 * int64(sof.comps)
	}
	return cost + slack, nil
}

type jpegSOF struct {
	w, h, comps int
	progressive bool
}

// jpegFrame reads the first SOFn segment.
func jpegFrame(data []byte) (jpegSOF, bool) {
	var sof jpegSOF
	found := false
	jpegSegments(data, func(marker byte, seg []byte) bool {
		switch marker {
		case 0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf:
			if len(seg) < 6 {
				return false
			}
			sof = jpegSOF{
				h:           int(binary.BigEndian.Uint16(seg[1:])),
				w:           int(binary.BigEndian.Uint16(seg[3:])),
				comps:       int(seg[5]),
				progressive: marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce,
			}
			found = true
			return false
		}
		return true
	})
	return sof, found
}

// jpegSegments calls fn with every marker segment before the first scan
// (its marker and payload after the length field) until fn returns false.
// It stops quietly at anything malformed: callers treat "not found" as
// their own default.
func jpegSegments(data []byte, fn func(marker byte, seg []byte) bool) {
	if len(data) < 4 || data[0] != 0xff || data[1] != 0xd8 {
		return
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xff {
			return
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte before a marker
			i++
			continue
		case marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7):
			i += 2 // markers without a length field
			continue
		case marker == 0xda || marker == 0xd9:
			return // image data starts
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return
		}
		if !fn(marker, data[i+4:i+2+n]) {
			return
		}
		i += 2 + n
	}
}

// pngCost is what imageprep/png says its decode costs; its header check
// has already refused a file whose compressed data cannot inflate to the
// rows it declares.
func pngCost(data []byte, _ int64) (int64, error) {
	h, err := pngdec.DecodeConfig(data)
	if err != nil {
		return 0, fmt.Errorf("%w: png: %v", ErrCorrupt, err)
	}
	return h.Cost(), nil
}

// bmpCost: x/image/bmp decodes to RGBA (or one byte a pixel for palettes)
// and reads uncompressed rows only, so the file must hold all of them.
func bmpCost(data []byte, px int64) (int64, error) {
	if len(data) < 34 {
		return 0, fmt.Errorf("%w: bmp header", ErrCorrupt)
	}
	offset := int64(binary.LittleEndian.Uint32(data[10:]))
	w := int64(int32(binary.LittleEndian.Uint32(data[18:])))
	h := int64(int32(binary.LittleEndian.Uint32(data[22:])))
	bpp := int64(binary.LittleEndian.Uint16(data[28:]))
	h = max(h, -h)
	stride := (w*bpp + 31) / 32 * 4
	if need := offset + stride*h; need > int64(len(data)) {
		return 0, fmt.Errorf("%w: bmp of %dx%d pixels needs %d bytes, has %d", ErrCorrupt, w, h, need, len(data))
	}
	return 4*px + slack, nil
}

// gifCost: the first frame as a paletted image plus its LZW output.
func gifCost(_ []byte, px int64) (int64, error) { return 2*px + slack, nil }

// webpCost: lossy frames are YCbCr 4:2:0 with an optional alpha plane;
// lossless ones go through 32-bit ARGB pixels and transform buffers before
// NRGBA.
func webpCost(data []byte, px int64) (int64, error) {
	if bytes.Contains(data[12:min(len(data), 64)], []byte("VP8L")) {
		return 12*px + slack, nil
	}
	return 3*px + slack, nil
}
