package imageprep

import (
	"encoding/binary"
	"image"

	"github.com/disintegration/imaging"
)

// exifOrientation returns the EXIF orientation (1..8) of a JPEG file, or 1
// when there is none or anything about it is malformed: a broken EXIF block
// must never stop an otherwise good photo from being classified.
func exifOrientation(jpg []byte) int {
	o := 1
	jpegSegments(jpg, func(marker byte, seg []byte) bool {
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			o = tiffOrientation(seg[6:])
			return false
		}
		return true
	})
	return o
}

// tiffOrientation reads tag 0x0112 of IFD0 of a TIFF structure.
func tiffOrientation(t []byte) int {
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
