package jpeg

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// goEncoded is the synthetic picture through the standard library's
// encoder (4:2:0, its own Huffman tables), a producer other than libjpeg.
func goEncoded(t testing.TB, ppm []byte) []byte {
	p := parsePNM(t, ppm)
	img := image.NewRGBA(image.Rect(0, 0, p.w, p.h))
	for i := 0; i < p.w*p.h; i++ {
		copy(img.Pix[4*i:], p.pix[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
