package png

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"math/rand/v2"
	"runtime"
	"testing"
)

// rawPNG writes an 8-bit PNG of color type ct from raw (filtered) rows as
// given, filter bytes included, in IDAT chunks of idat bytes.
func rawPNG(w, h int, ct ColorType, raw []byte, idat int) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write(raw)
	zw.Close()
	var f bytes.Buffer
	f.Write(pngSignature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, byte(ct)
	writeChunk(&f, "IHDR", ihdr)
	for s := z.Bytes(); len(s) > 0; {
		n := min(idat, len(s))
		writeChunk(&f, "IDAT", s[:n])
		s = s[n:]
	}
	writeChunk(&f, "IEND", nil)
	return f.Bytes()
}

// pipelined are images large enough for a flat decode on two goroutines.
func pipelined(t *testing.T) map[string][]byte {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one CPU: flat decodes never inflate on a goroutine of their own")
	}
	m := map[string][]byte{
		"rgb":  spec{w: 320, h: 300, depth: 8, ct: RGB, idatSize: 8192, seed: 11}.encode(),
		"rgba": spec{w: 200, h: 400, depth: 8, ct: RGBA, idatSize: 100000, seed: 12}.encode(),
		"gray": spec{w: 1000, h: 300, depth: 8, ct: Gray, seed: 13}.encode(),
	}
	for name, data := range m {
		h, _ := DecodeConfig(data)
		if h.rawSize() < pipelineMin {
			t.Fatalf("%s: %d raw bytes, pipelined from %d", name, h.rawSize(), pipelineMin)
		}
	}
	return m
}

// TestPipelined: a decode that inflates on one goroutine and unfilters on
// another gives image/png's pixels, and its first rows for MaxRows.
func TestPipelined(t *testing.T) {
	for name, data := range pipelined(t) {
		sameAsStd(t, name, data)
		full, err := Decode(data, Options{RGB: true})
		if err != nil {
			t.Fatal(name, err)
		}
		hgt := full.Bounds().Dy()
		for _, rows := range []int{1, 30, hgt / 2, hgt - 1} {
			part, err := Decode(data, Options{MaxRows: rows, RGB: true})
			if err != nil {
				t.Fatal(name, rows, err)
			}
			same(t, name, part, full, rows)
		}
	}
}

// TestPipelinedErrors: corrupt data anywhere, a bad filter byte on a late
// row, a truncated stream and a stream longer than the image fail as
// ErrCorrupt (without a hang or a panic); corruption past MaxRows does not
// matter.
func TestPipelinedErrors(t *testing.T) {
	for name, data := range pipelined(t) {
		r := rand.New(rand.NewPCG(3, 3))
		for range 20 {
			bad := bytes.Clone(data)
			// Flip a byte in the image data and fix its chunk's CRC, so
			// that the inflater or the checksum must catch it.
			var idats []int
			for off := 8; off < len(bad); off += 12 + int(binary.BigEndian.Uint32(bad[off:])) {
				if string(bad[off+4:off+8]) == "IDAT" {
					idats = append(idats, off)
				}
			}
			off := idats[r.IntN(len(idats))]
			l := int(binary.BigEndian.Uint32(bad[off:]))
			bad[off+8+r.IntN(l)] ^= byte(1 + r.IntN(255))
			binary.BigEndian.PutUint32(bad[off+8+l:], crc32.ChecksumIEEE(bad[off+4:off+8+l]))
			if _, err := Decode(bad, Options{RGB: true}); !errors.Is(err, ErrCorrupt) || errors.Is(err, errPanic) {
				// A flipped bit can leave the stream valid only if the
				// Adler-32 is fooled, which a random byte does not do.
				t.Fatalf("%s: corrupt byte at %d: %v", name, off, err)
			}
		}
		// Late corruption, past the rows asked for (its chunk's CRC
		// fixed: a CRC is checked when the chunk is entered).
		bad := bytes.Clone(data)
		last := 0
		for off := 8; off < len(bad); off += 12 + int(binary.BigEndian.Uint32(bad[off:])) {
			if string(bad[off+4:off+8]) == "IDAT" {
				last = off
			}
		}
		l := int(binary.BigEndian.Uint32(bad[last:]))
		bad[last+8+l-40] ^= 0x55
		binary.BigEndian.PutUint32(bad[last+8+l:], crc32.ChecksumIEEE(bad[last+4:last+8+l]))
		if _, err := Decode(bad, Options{RGB: true}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: late corruption: %v", name, err)
		}
		if _, err := Decode(bad, Options{MaxRows: 50, RGB: true}); err != nil {
			t.Errorf("%s: corruption past MaxRows: %v", name, err)
		}
	}
	w, hgt := 300, 320
	raw := make([]byte, hgt*(3*w+1))
	r := rand.New(rand.NewPCG(4, 4))
	for y := range hgt {
		row := raw[y*(3*w+1) : (y+1)*(3*w+1)]
		row[0] = byte(y % 5)
		for i := 1; i < len(row); i++ {
			row[i] = byte(r.IntN(256))
		}
	}
	good := rawPNG(w, hgt, RGB, raw, 16384)
	if _, err := Decode(good, Options{RGB: true}); err != nil {
		t.Fatal(err)
	}
	for _, y := range []int{0, 150, hgt - 1} {
		b := bytes.Clone(raw)
		b[y*(3*w+1)] = 5
		if _, err := Decode(rawPNG(w, hgt, RGB, b, 16384), Options{RGB: true}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("filter type 5 on row %d: %v", y, err)
		}
	}
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"a row short", raw[:len(raw)-(3*w+1)]},
		{"a byte short", raw[:len(raw)-1]},
		{"a byte long", append(bytes.Clone(raw), 0)},
	} {
		if _, err := Decode(rawPNG(w, hgt, RGB, c.raw, 16384), Options{RGB: true}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestRowsCallback: Options.Rows reports rows in increasing order, each
// time with those rows already as the finished image has them, ending
// with every row; on small and pipelined images, flat or not.
func TestRowsCallback(t *testing.T) {
	files := map[string][]byte{
		"small rgb": spec{w: 30, h: 70, depth: 8, ct: RGB, seed: 21}.encode(),
		"16-bit":    spec{w: 30, h: 20, depth: 16, ct: RGBA, seed: 22}.encode(),
		"adam7":     spec{w: 30, h: 20, depth: 8, ct: RGB, interlace: true, seed: 23}.encode(),
	}
	if runtime.GOMAXPROCS(0) >= 2 {
		for n, d := range pipelined(t) {
			files[n] = d
		}
	}
	for name, data := range files {
		want, err := Decode(data, Options{RGB: true})
		if err != nil {
			t.Fatal(name, err)
		}
		for _, rows := range []int{0, 17} {
			last, calls := 0, 0
			got, err := Decode(data, Options{RGB: true, MaxRows: rows, Rows: func(img image.Image, n int) {
				calls++
				if n <= last || n > img.Bounds().Dy() {
					t.Fatalf("%s: %d rows after %d, of %d", name, n, last, img.Bounds().Dy())
				}
				same(t, name+" rows so far", cropRows(img, n), want, n)
				last = n
			}})
			if err != nil {
				t.Fatal(name, err)
			}
			if last != got.Bounds().Dy() || calls == 0 {
				t.Fatalf("%s MaxRows %d: last call at %d rows of %d", name, rows, last, got.Bounds().Dy())
			}
		}
	}
}

// cropRows is the first n rows of img.
func cropRows(img image.Image, n int) image.Image {
	b := img.Bounds()
	return rowsView{img, image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Min.Y+n)}
}

type rowsView struct {
	image.Image
	r image.Rectangle
}

func (v rowsView) Bounds() image.Rectangle { return v.r }
