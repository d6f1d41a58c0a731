package png

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	stdpng "image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// corpus is every test file: hand-written ones and image/png's own.
func corpus() map[string][]byte {
	m := stdImages()
	for _, s := range handSpecs() {
		m[s.String()] = s.encode()
	}
	return m
}

// reference is the pixel the service's pipeline sees from image/png: the
// standard color-model conversion to 8 bits, except for 16-bit
// non-premultiplied colors, whose high bytes are taken directly (as the
// imaging package does) because color.NRGBAModel goes through
// premultiplied alpha and loses precision at low alpha.
func reference(c color.Color) color.NRGBA {
	if c, ok := c.(color.NRGBA64); ok {
		return color.NRGBA{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8), uint8(c.A >> 8)}
	}
	return color.NRGBAModel.Convert(c).(color.NRGBA)
}

// sameAsStd decodes data with both decoders (ours with and without
// Options.RGB) and reports the first pixel that differs.
func sameAsStd(t *testing.T, name string, data []byte) {
	t.Helper()
	want, err := stdpng.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: image/png: %v", name, err)
	}
	for _, opt := range []Options{{}, {RGB: true}} {
		got, err := Decode(data, opt)
		if err != nil {
			t.Fatalf("%s %+v: %v", name, opt, err)
		}
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: bounds %v, image/png %v", name, got.Bounds(), want.Bounds())
		}
		h, _ := DecodeConfig(data)
		if _, isGray := got.(*image.Gray); isGray != h.outGray() {
			t.Fatalf("%s: got %T for header %+v", name, got, h)
		}
		rgb := opt.RGB && h.ColorType == RGB && h.BitDepth == 8 && !h.Interlaced && !h.HasTRNS
		if _, isRGB := got.(*RGBImage); isRGB != rgb {
			t.Fatalf("%s %+v: got %T for header %+v", name, opt, got, h)
		}
		b := want.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				w := reference(want.At(x, y))
				var g color.NRGBA
				switch got := got.(type) {
				case *image.Gray:
					v := got.GrayAt(x, y).Y
					g = color.NRGBA{v, v, v, 255}
					// Gray output must also be what color.GrayModel gives.
					if gm := color.GrayModel.Convert(want.At(x, y)).(color.Gray).Y; gm != v {
						t.Fatalf("%s: (%d,%d) gray %d, color.GrayModel %d", name, x, y, v, gm)
					}
				case *image.NRGBA:
					g = got.NRGBAAt(x, y)
				case *RGBImage:
					c := got.At(x, y).(color.RGBA)
					g = color.NRGBA(c)
				default:
					t.Fatalf("%s: unexpected %T", name, got)
				}
				if g != w {
					t.Fatalf("%s %+v: (%d,%d) = %v, image/png gives %v (%T)", name, opt, x, y, g, w, want.At(x, y))
				}
			}
		}
	}
}

// TestAgainstImagePNG checks pixel-exact agreement with image/png on every
// color type, bit depth, tRNS kind and Adam7.
func TestAgainstImagePNG(t *testing.T) {
	for name, data := range corpus() {
		sameAsStd(t, name, data)
	}
}

func sharedPNGs(t testing.TB) map[string][]byte {
	dir := os.Getenv("TEST_IMAGES_DIR")
	if dir == "" {
		t.Skip("set TEST_IMAGES_DIR=/work/shared/images (the shared photos) to run")
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no PNGs in TEST_IMAGES_DIR=%s: %v", dir, err)
	}
	m := map[string][]byte{}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(n)] = data
	}
	return m
}

// TestRealImages compares against image/png on the shared photos.
func TestRealImages(t *testing.T) {
	for name, data := range sharedPNGs(t) {
		sameAsStd(t, name, data)
	}
}

// TestTruncated cuts small files at every length: always an error wrapping
// ErrCorrupt, never a panic or a partial image.
func TestTruncated(t *testing.T) {
	files := [][]byte{
		spec{w: 9, h: 7, depth: 8, ct: RGBA, idatSize: 40, seed: 1}.encode(),
		spec{w: 9, h: 7, depth: 2, ct: Paletted, plte: 3, trns: []byte{9}, seed: 2}.encode(),
		spec{w: 9, h: 7, depth: 16, ct: RGB, interlace: true, seed: 3}.encode(),
		spec{w: 9, h: 7, depth: 8, ct: RGB, idatSize: 40, seed: 4}.encode(),
		spec{w: 9, h: 7, depth: 8, ct: Gray, idatSize: 20, seed: 5}.encode(),
	}
	for _, data := range files {
		for _, opt := range []Options{{}, {RGB: true}} {
			if _, err := Decode(data, opt); err != nil {
				t.Fatal(err)
			}
			for n := 0; n < len(data); n++ {
				img, err := Decode(data[:n], opt)
				if !errors.Is(err, ErrCorrupt) || errors.Is(err, errPanic) || img != nil {
					t.Fatalf("prefix of %d of %d bytes (%+v): %v, %v", n, len(data), opt, img, err)
				}
			}
		}
	}
}

// chunkAt finds the n-th chunk of type typ and returns its offset.
func chunkAt(t *testing.T, data []byte, typ string, n int) int {
	t.Helper()
	for off := 8; off+12 <= len(data); {
		l := int(binary.BigEndian.Uint32(data[off:]))
		if string(data[off+4:off+8]) == typ {
			if n == 0 {
				return off
			}
			n--
		}
		off += 12 + l
	}
	t.Fatalf("no %s #%d", typ, n)
	return 0
}

// TestBadCRC corrupts one byte of each checked chunk, payload or CRC.
func TestBadCRC(t *testing.T) {
	data := spec{w: 9, h: 7, depth: 4, ct: Paletted, plte: 10, trns: []byte{1, 2, 3}, idatSize: 20, seed: 4}.encode()
	for _, typ := range []string{"IHDR", "PLTE", "tRNS", "IDAT"} {
		for _, n := range []int{0, 1} { // first chunk of that type
			off := chunkAt(t, data, typ, 0)
			l := int(binary.BigEndian.Uint32(data[off:]))
			bad := bytes.Clone(data)
			if n == 0 {
				bad[off+8] ^= 1 // payload
			} else {
				bad[off+8+l+3] ^= 1 // CRC
			}
			if _, err := Decode(bad, Options{}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s corrupted (%d): %v", typ, n, err)
			}
		}
	}
	// A later IDAT chunk is checked too, when it is reached.
	off := chunkAt(t, data, "IDAT", 2)
	bad := bytes.Clone(data)
	bad[off+8] ^= 0x40
	if _, err := Decode(bad, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("third IDAT corrupted: %v", err)
	}
}

// bigHeader is a 6000x6000 16-bit RGB file whose IDAT holds just a few bytes.
func bigHeader() []byte {
	var buf bytes.Buffer
	buf.Write(pngSignature)
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 6000)
	binary.BigEndian.PutUint32(ihdr[4:], 6000)
	ihdr[8], ihdr[9] = 16, byte(RGB)
	writeChunk(&buf, "IHDR", ihdr)
	writeChunk(&buf, "IDAT", []byte{0x78, 0x9c, 0xed, 0xc1, 0x01, 0x0d, 0x00, 0x00})
	writeChunk(&buf, "IEND", nil)
	return buf.Bytes()
}

// TestIDATTooShort: a header claiming 216 MB of raw data over 8 bytes of
// IDAT is refused as truncated before anything is allocated.
func TestIDATTooShort(t *testing.T) {
	data := bigHeader()
	if _, err := DecodeConfig(data); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("DecodeConfig: %v", err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := Decode(data, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode: %v", err)
		}
	})
	runtime.ReadMemStats(&after)
	// 11 runs (AllocsPerRun warms up once); only the error message is built.
	if per := (after.TotalAlloc - before.TotalAlloc) / 11; allocs > 10 || per > 4096 {
		t.Fatalf("refusal allocated %v times, %d bytes a run", allocs, per)
	}
	// The same header with enough data is accepted by the check: the bound
	// is not so tight that a real encoder's output fails it.
	h, _ := DecodeConfig(data)
	h.IDATBytes = h.rawSize() / maxDeflateRatio
	if raw := h.rawSize(); raw > h.IDATBytes*maxDeflateRatio+deflateSlack {
		t.Fatalf("bound rejects %d bytes for %d", h.IDATBytes, raw)
	}
}

// TestHighRatioAccepted: an all-zero image compressed as hard as zlib can
// still passes the plausibility check.
func TestHighRatioAccepted(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 3000, 3000))
	var buf bytes.Buffer
	enc := stdpng.Encoder{CompressionLevel: stdpng.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	h, err := DecodeConfig(data)
	if err != nil {
		t.Fatalf("%d bytes for %d raw: %v", h.IDATBytes, h.rawSize(), err)
	}
	t.Logf("ratio %d:1", h.rawSize()/h.IDATBytes)
	if _, err := Decode(data, Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestMaxRows: the first rows are exactly those of the full decode, and
// the data past them is not read (a corrupt last IDAT does not matter).
func TestMaxRows(t *testing.T) {
	for name, data := range corpus() {
		full, err := Decode(data, Options{})
		if err != nil {
			t.Fatal(name, err)
		}
		hgt := full.Bounds().Dy()
		for _, rows := range []int{1, hgt / 2, hgt - 1, hgt, hgt + 5} {
			for _, rgb := range []bool{false, true} {
				if rows <= 0 {
					continue
				}
				part, err := Decode(data, Options{MaxRows: rows, RGB: rgb})
				if err != nil {
					t.Fatal(name, rows, err)
				}
				want := min(rows, hgt)
				if part.Bounds() != image.Rect(0, 0, full.Bounds().Dx(), want) {
					t.Fatalf("%s rows %d: bounds %v", name, rows, part.Bounds())
				}
				for y := 0; y < want; y++ {
					for x := 0; x < full.Bounds().Dx(); x++ {
						if g, w := reference(part.At(x, y)), reference(full.At(x, y)); g != w {
							t.Fatalf("%s rows %d rgb %v: (%d,%d) %v, full %v", name, rows, rgb, x, y, g, w)
						}
					}
				}
			}
		}
	}
	data := spec{w: 64, h: 64, depth: 8, ct: RGB, idatSize: 200, seed: 5}.encode()
	last := 0
	for off := 8; off < len(data); off += 12 + int(binary.BigEndian.Uint32(data[off:])) {
		if string(data[off+4:off+8]) == "IDAT" {
			last = off
		}
	}
	data[last+8] ^= 0xff
	if _, err := Decode(data, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("full decode of a corrupt last IDAT: %v", err)
	}
	for _, rgb := range []bool{false, true} {
		if _, err := Decode(data, Options{MaxRows: 4, RGB: rgb}); err != nil {
			t.Fatalf("first rows (rgb %v) read past themselves: %v", rgb, err)
		}
	}
}

// TestMaxBytes: refused exactly above the cost, and MaxRows lowers it.
func TestMaxBytes(t *testing.T) {
	data := spec{w: 50, h: 40, depth: 16, ct: RGBA, seed: 6}.encode()
	h, err := DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data, Options{MaxBytes: h.Cost() - 1}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("below cost: %v", err)
	}
	if _, err := Decode(data, Options{MaxBytes: h.Cost()}); err != nil {
		t.Fatalf("at cost: %v", err)
	}
	if c := h.CostRows(5); c >= h.Cost() {
		t.Fatalf("5 rows cost %d, all %d", c, h.Cost())
	}
	if _, err := Decode(data, Options{MaxRows: 5, MaxBytes: h.CostRows(5)}); err != nil {
		t.Fatalf("5 rows at their cost: %v", err)
	}
}

// TestCostBound measures what Decode allocates against Cost.
func TestCostBound(t *testing.T) {
	files := corpus()
	if dir := os.Getenv("TEST_IMAGES_DIR"); dir != "" {
		for n, d := range sharedPNGs(t) {
			files[n] = d
		}
	}
	for name, data := range files {
		h, err := DecodeConfig(data)
		if err != nil {
			t.Fatal(name, err)
		}
		for _, opt := range []Options{{}, {RGB: true}, {MaxRows: h.Height / 2, RGB: true}} {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, err := Decode(data, opt); err != nil {
				t.Fatal(name, err)
			}
			runtime.ReadMemStats(&after)
			if got, c := int64(after.TotalAlloc-before.TotalAlloc), h.CostRows(opt.MaxRows); got > c {
				t.Errorf("%s %+v: allocated %d bytes, CostRows %d", name, opt, got, c)
			}
		}
	}
}

// TestMalformed: each kind of bad file gets the error class it must.
func TestMalformed(t *testing.T) {
	good := spec{w: 5, h: 4, depth: 8, ct: Paletted, plte: 4, seed: 8}.encode()
	insert := func(before string, typ string, payload []byte) []byte {
		off := chunkAt(t, good, before, 0)
		var buf bytes.Buffer
		buf.Write(good[:off])
		writeChunk(&buf, typ, payload)
		buf.Write(good[off:])
		return buf.Bytes()
	}
	// Remove the PLTE chunk of the paletted file.
	noPLTE := func() []byte {
		off := chunkAt(t, good, "PLTE", 0)
		l := int(binary.BigEndian.Uint32(good[off:]))
		return append(bytes.Clone(good[:off]), good[off+12+l:]...)
	}()
	badFilter := func() []byte {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write([]byte{5, 0, 0})
		zw.Close()
		var f bytes.Buffer
		f.Write(pngSignature)
		ihdr := make([]byte, 13)
		binary.BigEndian.PutUint32(ihdr[0:], 2)
		binary.BigEndian.PutUint32(ihdr[4:], 1)
		ihdr[8] = 8
		writeChunk(&f, "IHDR", ihdr)
		writeChunk(&f, "IDAT", buf.Bytes())
		writeChunk(&f, "IEND", nil)
		return f.Bytes()
	}()
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"not png", []byte("GIF89a......"), ErrCorrupt},
		{"unknown critical chunk", insert("IDAT", "ABCD", []byte{1}), ErrUnsupported},
		{"second PLTE", insert("IDAT", "PLTE", []byte{1, 2, 3}), ErrCorrupt},
		{"PLTE too long", insert("PLTE", "PLTE", make([]byte, 3*300)), ErrCorrupt},
		{"paletted without PLTE", noPLTE, ErrCorrupt},
		{"tRNS too long", insert("IDAT", "tRNS", make([]byte, 257)), ErrCorrupt},
		{"bad filter type", badFilter, ErrCorrupt},
	} {
		for _, opt := range []Options{{}, {RGB: true}} {
			if _, err := Decode(c.data, opt); !errors.Is(err, c.want) {
				t.Errorf("%s %+v: %v, want %v", c.name, opt, err, c.want)
			}
		}
		// image/png ignores unknown chunks, so only the corrupt cases can
		// be cross-checked against it.
		if _, err := stdpng.Decode(bytes.NewReader(c.data)); err == nil && c.want == ErrCorrupt {
			t.Errorf("%s: image/png accepts it, so the case tests nothing", c.name)
		}
	}
}
