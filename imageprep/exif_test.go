package imageprep

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"testing"
)

// withExif inserts an APP1 Exif segment holding only an orientation tag
// right after the SOI marker of a JPEG, in the given TIFF byte order.
func withExif(jpg []byte, order string, orientation uint16) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	if order == "MM" {
		bo = binary.BigEndian
	}
	tiff := []byte(order)
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 2) // two entries: an unrelated one first
	tiff = bo.AppendUint16(tiff, 0x010f)
	tiff = bo.AppendUint16(tiff, 2)
	tiff = bo.AppendUint32(tiff, 4)
	tiff = append(tiff, "Go\x00\x00"...)
	tiff = bo.AppendUint16(tiff, 0x0112)
	tiff = bo.AppendUint16(tiff, 3)
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, orientation)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	return withAPP1(jpg, append([]byte("Exif\x00\x00"), tiff...))
}

func withAPP1(jpg, payload []byte) []byte {
	seg := []byte{0xff, 0xe1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// quadrants is a 64x32 image with four 32x16 blocks of distinct colours,
// aligned to JPEG's 16x16 blocks so compression keeps them distinct.
var quadColors = [2][2]color.NRGBA{
	{{255, 0, 0, 255}, {0, 255, 0, 255}},     // top: red, green
	{{0, 0, 255, 255}, {255, 255, 255, 255}}, // bottom: blue, white
}

func quadrants() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for y := range 32 {
		for x := range 64 {
			img.SetNRGBA(x, y, quadColors[y/16][x/32])
		}
	}
	return img
}

// displayed says where the displayed pixel (x,y) of an image stored as
// w x h with EXIF orientation o comes from, straight from the EXIF 2.3
// table (row 0 / column 0 meaning), independent of the imaging library.
func displayed(o, w, h, x, y int) (int, int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return y, h - 1 - x
	case 7:
		return w - 1 - y, h - 1 - x
	case 8:
		return w - 1 - y, x
	}
	return x, y
}

func TestExifOrientation(t *testing.T) {
	src := jpegBytes(t, quadrants())
	for _, order := range []string{"II", "MM"} {
		for o := 1; o <= 8; o++ {
			t.Run(fmt.Sprintf("%s/%d", order, o), func(t *testing.T) {
				img, _, err := Decode(withExif(src, order, uint16(o)), Limits{})
				if err != nil {
					t.Fatal(err)
				}
				want := image.Pt(64, 32)
				if o >= 5 {
					want = image.Pt(32, 64)
				}
				if got := img.Bounds().Size(); got != want {
					t.Fatalf("size %v, want %v", got, want)
				}
				// Sample the centre of each displayed quadrant.
				for _, p := range []image.Point{{want.X / 4, want.Y / 4}, {want.X * 3 / 4, want.Y / 4}, {want.X / 4, want.Y * 3 / 4}, {want.X * 3 / 4, want.Y * 3 / 4}} {
					sx, sy := displayed(o, 64, 32, p.X, p.Y)
					wantC := quadColors[sy/16][sx/32]
					got := color.NRGBAModel.Convert(img.At(p.X, p.Y)).(color.NRGBA)
					if d := maxDiff(got, wantC); d > 16 {
						t.Fatalf("pixel %v = %v, want %v (from stored %d,%d)", p, got, wantC, sx, sy)
					}
				}
			})
		}
	}
}

func TestExifOrientationGarbage(t *testing.T) {
	good := withExif([]byte{0xff, 0xd8, 0xff, 0xd9}, "II", 6)
	if got := exifOrientation(good); got != 6 {
		t.Fatalf("well-formed: %d, want 6", got)
	}
	tiffBody := good[4+2+2+6:] // after SOI, marker, length, "Exif\0\0"
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not jpeg", []byte("\x89PNG\r\n\x1a\n")},
		{"no exif", []byte{0xff, 0xd8, 0xff, 0xd9}},
		{"length past end", []byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E', 'x'}},
		{"length too small", []byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01, 0, 0}},
		{"not a marker", []byte{0xff, 0xd8, 0x00, 0xe1, 0x00, 0x04, 0, 0}},
		{"xmp not exif", withAPP1([]byte{0xff, 0xd8, 0xff, 0xd9}, []byte("http://ns.adobe.com/xap/1.0/\x00<x/>"))},
		{"bad byte order", withAPP1([]byte{0xff, 0xd8, 0xff, 0xd9}, append([]byte("Exif\x00\x00XX"), tiffBody[2:]...))},
		{"bad magic", withAPP1([]byte{0xff, 0xd8, 0xff, 0xd9}, append([]byte("Exif\x00\x00II\x2b\x00"), tiffBody[4:]...))},
		{"ifd offset past end", withAPP1([]byte{0xff, 0xd8, 0xff, 0xd9}, []byte("Exif\x00\x00II\x2a\x00\xff\xff\xff\x7f"))},
		{"entries cut short", withAPP1([]byte{0xff, 0xd8, 0xff, 0xd9}, []byte("Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\x05\x00\x12\x01"))},
		{"orientation 0", withExif([]byte{0xff, 0xd8, 0xff, 0xd9}, "II", 0)},
		{"orientation 9", withExif([]byte{0xff, 0xd8, 0xff, 0xd9}, "MM", 9)},
		{"exif after scan start", append([]byte{0xff, 0xd8, 0xff, 0xda, 0, 2}, good[2:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exifOrientation(tt.data); got != 1 {
				t.Fatalf("orientation %d, want 1", got)
			}
		})
	}
}

// TestExifOnRealPhoto rotates a real photo through an injected EXIF tag and
// checks that a pixel lands where the rotation puts it.
func TestExifOnRealPhoto(t *testing.T) {
	data := loadShared(t, "grace_hopper.jpg")
	plain, _, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	rotated, _, err := Decode(withExif(data, "MM", 6), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	w, h := plain.Bounds().Dx(), plain.Bounds().Dy()
	if got := rotated.Bounds().Size(); got != image.Pt(h, w) {
		t.Fatalf("rotated size %v, want %dx%d", got, h, w)
	}
	for _, p := range []image.Point{{0, 0}, {w - 1, 0}, {100, 520}, {450, 100}} {
		// Orientation 6 displays stored (x, y) at (h-1-y, x).
		want := color.NRGBAModel.Convert(plain.At(p.X, p.Y)).(color.NRGBA)
		got := color.NRGBAModel.Convert(rotated.At(h-1-p.Y, p.X)).(color.NRGBA)
		if got != want {
			t.Fatalf("stored %v: rotated %v, want %v", p, got, want)
		}
	}
}
