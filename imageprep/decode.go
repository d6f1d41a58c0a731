// Package imageprep turns uploaded image bytes into model inputs: it decodes
// JPEG, PNG, GIF, WebP and BMP with a pixel limit checked from the header
// before any pixel is decoded, applies the EXIF orientation of JPEG photos,
// and crops a square around a point, resizes and normalises it into the
// [1,H,W,3] float32 tensor a classify.Preprocess describes.
//
// All functions are safe for concurrent use; they share no mutable state.
package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	pngdec "github.com/classifyd/classifyd/imageprep/png"
)

// The errors Decode and Prepare wrap; the web layer maps them to statuses
// (ErrFormat 415, ErrCorrupt 422, ErrTooLarge 413, ErrPoint 422).
var (
	// ErrFormat means the input is not an image in a supported format.
	ErrFormat = errors.New("unsupported image format")
	// ErrCorrupt means the input looks like a supported image but is
	// truncated or malformed; no partial image is ever returned.
	ErrCorrupt = errors.New("corrupt or truncated image")
	// ErrTooLarge means the header declares more pixels than Limits allow.
	ErrTooLarge = errors.New("image has too many pixels")
	// ErrPoint means the point to classify lies outside the image.
	ErrPoint = errors.New("point outside the image")
)

// DefaultMaxPixels is the pixel limit used when Limits.MaxPixels is not
// positive: 40 megapixels, a large phone photo, about 160 MB as RGBA.
const DefaultMaxPixels = 40_000_000

// Limits bound what Decode accepts.
type Limits struct {
	// MaxPixels caps width*height as declared by the image header;
	// 0 (or negative) means DefaultMaxPixels.
	MaxPixels int
}

// codec is one supported format: its magic-number test and decoders.
// Decode dispatches on this table itself rather than through image.Decode
// so that a format registered elsewhere in the program (say TIFF by some
// dependency) does not silently widen what the service accepts.
type codec struct {
	name   string
	match  func([]byte) bool
	config func([]byte) (image.Config, error)
	decode func([]byte) (image.Image, error)
	// cost bounds the bytes decode allocates for an image of px pixels,
	// and refuses a file too short to hold them (see Inspect).
	cost func(data []byte, px int64) (int64, error)
}

var codecs = []codec{
	{"jpeg", prefix("\xff\xd8"), std(jpeg.DecodeConfig), std(jpeg.Decode), jpegCost},
	// PNG goes through the project's own decoder: straight to 8 bits (a
	// 16-bit photo costs 4 bytes a pixel, not image/png's 8), streaming.
	// Its size comes from IHDR alone, so the pixel limit is checked before
	// pngCost walks the chunks.
	{"png", prefix("\x89PNG\r\n\x1a\n"), std(png.DecodeConfig), pngDecode, pngCost},
	{"gif", func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a"))
	}, std(gif.DecodeConfig), std(gif.Decode), gifCost},
	{"webp", func(b []byte) bool { return len(b) >= 15 && string(b[:4]) == "RIFF" && string(b[8:15]) == "WEBPVP8" }, std(webp.DecodeConfig), std(webp.Decode), webpCost},
	{"bmp", prefix("BM"), std(bmp.DecodeConfig), std(bmp.Decode), bmpCost},
}

// std adapts a standard-library style decoder to the bytes Decode holds.
func std[T any](f func(io.Reader) (T, error)) func([]byte) (T, error) {
	return func(b []byte) (T, error) { return f(bytes.NewReader(b)) }
}

func pngDecode(data []byte) (image.Image, error) { return pngdec.Decode(data, pngdec.Options{}) }

func prefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

// Decode decodes an encoded image, returning it with its format name
// ("jpeg", "png", "gif", "webp" or "bmp"; a GIF yields its first frame).
// It runs Inspect first, so the pixel limit and the file's plausibility
// are checked before any pixel is decoded and a decompression bomb costs a
// header parse. JPEG EXIF orientation is applied, so the returned image is
// upright and its coordinates are the ones a viewer shows.
//
// Decode allocates at most about Inspect's Header.Cost; the caller bounds
// len(data). Errors wrap ErrFormat, ErrCorrupt or ErrTooLarge.
func Decode(data []byte, lim Limits) (image.Image, string, error) {
	h, err := Inspect(data, lim)
	if err != nil {
		return nil, h.Format, err
	}
	img, err := decodeInspected(data, h)
	return img, h.Format, err
}

// decodeInspected decodes data whose header Inspect has read into h.
func decodeInspected(data []byte, h Header) (image.Image, error) {
	c := codecByName(h.Format)
	img, err := safeDecode(c, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, c.name, err)
	}
	// A decoder trusting a different size field than its header parser
	// (possible in container formats) must not slip past the limit.
	// (A GIF's first frame may be smaller than its screen.)
	if b := img.Bounds(); b.Dx() > h.Width || b.Dy() > h.Height {
		return nil, fmt.Errorf("%w: %s header says %dx%d, decoded %dx%d", ErrCorrupt, c.name, h.Width, h.Height, b.Dx(), b.Dy())
	}
	return orient(img, h.Orientation), nil
}

func codecByName(name string) *codec {
	for i := range codecs {
		if codecs[i].name == name {
			return &codecs[i]
		}
	}
	return nil
}

// safeConfig and safeDecode turn a decoder panic on hostile input into an
// error: the standard decoders should not panic, but a request must never
// be able to take the process down if one does.
func safeConfig(c *codec, data []byte) (cfg image.Config, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return c.config(data)
}

func safeDecode(c *codec, data []byte) (img image.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("decoder panic: %v", p)
		}
	}()
	return c.decode(data)
}
