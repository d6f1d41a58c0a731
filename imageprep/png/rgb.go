package png

import (
	"image"
	"image/color"
)

// RGBImage is an opaque image of 8-bit samples, 3 bytes a pixel in the order
// R, G, B: the rows of an 8-bit truecolor PNG as they are inflated, which
// Decode returns with Options.RGB. Pixel (x, y) starts at
// Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)*3].
type RGBImage struct {
	Pix    []uint8
	Stride int
	Rect   image.Rectangle
}

var _ image.Image = (*RGBImage)(nil)

// ColorModel implements image.Image.
func (p *RGBImage) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements image.Image.
func (p *RGBImage) Bounds() image.Rectangle { return p.Rect }

// At implements image.Image: opaque color.RGBA, zero outside Rect.
func (p *RGBImage) At(x, y int) color.Color {
	if !image.Pt(x, y).In(p.Rect) {
		return color.RGBA{}
	}
	i := p.PixOffset(x, y)
	s := p.Pix[i : i+3 : i+3]
	return color.RGBA{s[0], s[1], s[2], 0xff}
}

// PixOffset is the index in Pix of pixel (x, y)'s first byte.
func (p *RGBImage) PixOffset(x, y int) int {
	return (y-p.Rect.Min.Y)*p.Stride + (x-p.Rect.Min.X)*3
}

// Opaque reports that every pixel is opaque, as image types with an
// Opaque method do.
func (p *RGBImage) Opaque() bool { return true }
