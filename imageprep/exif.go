package imageprep

import (
	"image"

	"github.com/disintegration/imaging"

	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
)

// exifOrientation returns the EXIF orientation (1..8) of a JPEG file, or 1
// when there is none or anything about it is malformed: a broken EXIF block
// must never stop an otherwise good photo from being classified.
func exifOrientation(jpg []byte) int {
	o := 1
	jpegSegments(jpg, func(marker byte, seg []byte) bool {
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			o = jpegdec.TIFFOrientation(seg[6:])
			return false
		}
		return true
	})
	return o
}

// orient transforms a stored image so it displays upright, per the EXIF
// orientation values (1 = as stored; 6 = rotate 90° clockwise; ...).
// imaging's Rotate90 turns counter-clockwise, hence 6 → Rotate270.
func orient(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}
