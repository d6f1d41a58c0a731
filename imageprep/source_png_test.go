package imageprep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// A PNG that turns out corrupt while the models already read its first
// rows (a bad byte late in the data, a wrong Adler-32 after every row)
// gives every planned model ErrCorrupt, not an input from half an image.
func TestSourcePNGCorruptLate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 0xff
		}
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	good := b.Bytes()
	// The last IDAT: its payload ends with the stream's Adler-32.
	last := 0
	for off := 8; off < len(good); off += 12 + int(binary.BigEndian.Uint32(good[off:])) {
		if string(good[off+4:off+8]) == "IDAT" {
			last = off
		}
	}
	l := int(binary.BigEndian.Uint32(good[last:]))
	corrupt := func(at int) []byte {
		bad := bytes.Clone(good)
		bad[at] ^= 0x5a
		binary.BigEndian.PutUint32(bad[last+8+l:], crc32.ChecksumIEEE(bad[last+4:last+8+l]))
		return bad
	}
	preps := []classify.Preprocess{
		{CropFraction: 0.8, Width: 128, Height: 128, Range: []float32{-1, 1}},
		{CropPixels: 9, Width: 9, Height: 9, Range: []float32{0, 1}},
	}
	for _, c := range []struct {
		name string
		data []byte
		pt   image.Point
	}{
		{"good", good, image.Pt(200, 299)},
		{"adler32", corrupt(last + 8 + l - 1), image.Pt(200, 299)},
		{"late byte", corrupt(last + 8 + l - 200), image.Pt(200, 299)},
	} {
		s, err := NewSource(c.data, Limits{})
		if err != nil {
			t.Fatal(c.name, err)
		}
		s.Plan(preps, c.pt)
		var wg sync.WaitGroup
		errs := make([]error, len(preps))
		for i, p := range preps {
			wg.Go(func() { _, errs[i] = s.Prepare(p, c.pt) })
		}
		wg.Wait()
		for i, err := range errs {
			if c.name == "good" {
				if err != nil {
					t.Errorf("%s: model %d: %v", c.name, i, err)
				}
			} else if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: model %d: %v, want ErrCorrupt", c.name, i, err)
			}
		}
	}
}
