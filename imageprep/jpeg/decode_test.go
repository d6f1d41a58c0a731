package jpeg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

var updateFixtures = flag.Bool("fixtures", false, "rewrite testdata/*.jpg (small corpus files, the fuzz seeds) with cjpeg/convert")

// TestWriteFixtures is the script behind testdata: go test -run
// TestWriteFixtures -fixtures ./imageprep/jpeg
func TestWriteFixtures(t *testing.T) {
	if !*updateFixtures {
		t.Skip("run with -fixtures to rewrite testdata")
	}
	for _, c := range corpusCases {
		jpg := c.make(t, synthPPM(48, 32, 3))
		if err := os.WriteFile(filepath.Join("testdata", c.name+".jpg"), jpg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixtures are the committed small corpus files, which need no tools.
func fixtures(t testing.TB) map[string][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.jpg"))
	if len(paths) < len(corpusCases) {
		t.Fatalf("testdata has %d fixtures, want %d: go test -run TestWriteFixtures -fixtures", len(paths), len(corpusCases))
	}
	m := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(p)] = b
	}
	return m
}

// crop returns the pixels of r (scaled coordinates) from a full decode.
func crop(full *Image, r image.Rectangle) []byte {
	var out []byte
	for y := r.Min.Y; y < r.Max.Y; y++ {
		i := (y-full.Rect.Min.Y)*full.Stride + (r.Min.X-full.Rect.Min.X)*full.Channels
		out = append(out, full.Pix[i:i+r.Dx()*full.Channels]...)
	}
	return out
}

func TestRegionMatchesFull(t *testing.T) {
	regions := []image.Rectangle{
		image.Rect(0, 0, 9, 9),
		image.Rect(20, 10, 29, 19),
		image.Rect(17, 5, 48, 32),
		image.Rect(1, 1, 47, 31),
		image.Rect(40, 24, 100, 100), // clipped to the image
	}
	for name, jpg := range fixtures(t) {
		for _, scale := range []int{1, 2, 4, 8} {
			full, err := Decode(jpg, Options{Scale: scale})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, r := range regions {
				t.Run(fmt.Sprintf("%s/1_%d/%v", name, scale, r), func(t *testing.T) {
					img, err := Decode(jpg, Options{Scale: scale, Region: r})
					if err != nil {
						t.Fatal(err)
					}
					defer img.Release()
					want := image.Rect(r.Min.X/scale, r.Min.Y/scale, (r.Max.X+scale-1)/scale, (r.Max.Y+scale-1)/scale).Intersect(full.Rect)
					if img.Rect != want {
						t.Fatalf("rect %v, want %v", img.Rect, want)
					}
					if !bytes.Equal(crop(img, img.Rect), crop(full, want)) {
						t.Errorf("region pixels differ from the full decode")
					}
				})
			}
			full.Release()
		}
	}
}

func TestRegionOutside(t *testing.T) {
	jpg := fixtures(t)["420.jpg"]
	for _, opt := range []Options{{Region: image.Rect(100, 100, 200, 200)}, {Scale: 3}} {
		if _, err := Decode(jpg, opt); !errors.Is(err, ErrRegion) {
			t.Errorf("%+v: %v, want ErrRegion", opt, err)
		}
	}
}

// markerOffsets lists where markers of kind m start in a file.
func markerOffsets(b []byte, m byte) []int {
	var out []int
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] == m {
			out = append(out, i)
		}
	}
	return out
}

func TestRestartMarkers(t *testing.T) {
	ppm := synthPPM(96, 80, 5)
	jpg := cjpegCase("r", "-sample", "2x2", "-restart", "1").make(t, ppm)
	good, err := Decode(jpg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rst := markerOffsets(jpg, mRST0+2)
	if len(rst) != 1 {
		t.Fatalf("found %d RST2 markers", len(rst))
	}
	// A lost or renumbered marker resyncs as libjpeg does: compare with
	// djpeg, which warns (exit status 2) and decodes.
	t.Run("missing marker", func(t *testing.T) {
		bad := append(append([]byte(nil), jpg[:rst[0]]...), jpg[rst[0]+2:]...)
		img, err := Decode(bad, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer img.Release()
		// Interval 3 (rows 48..63) is lost: its first MCU is decoded
		// from zero bits, as libjpeg does, and the rest left gray.
		lost := image.Rect(20, 50, 96, 62)
		for _, v := range crop(img, lost) {
			if v != 128 {
				t.Fatalf("lost interval not zero-filled: sample %d", v)
			}
		}
		r := image.Rect(0, 0, 96, 40)
		if !bytes.Equal(crop(img, r), crop(good, r)) {
			t.Errorf("rows before the loss changed")
		}
		if d := maxDiff(t, img, djpegDamaged(t, bad)); d > 2 {
			t.Errorf("max diff %d > 2 against djpeg", d)
		}
	})
	t.Run("wrong number", func(t *testing.T) {
		bad := append([]byte(nil), jpg...)
		bad[rst[0]+1] = mRST0 + 5
		img, err := Decode(bad, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer img.Release()
		if !bytes.Equal(img.Pix, good.Pix) {
			t.Errorf("a renumbered marker changed the image")
		}
	})
	t.Run("early marker", func(t *testing.T) {
		// Interval 2 cut short by its own RST2: the rest of it is lost.
		prev := markerOffsets(jpg, mRST0+1)[0]
		mid := (prev + rst[0]) / 2
		bad := append(append([]byte(nil), jpg[:mid]...), jpg[rst[0]:]...)
		img, err := Decode(bad, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer img.Release()
		if d := maxDiff(t, img, djpegDamaged(t, bad)); d > 2 {
			t.Errorf("max diff %d > 2 against djpeg", d)
		}
		r := image.Rect(0, 64, 96, 80)
		if !bytes.Equal(crop(img, r), crop(good, r)) {
			t.Errorf("rows after the damaged interval changed")
		}
	})
	t.Run("huge image, no data", func(t *testing.T) {
		// The frame claims 4000x3000 and every interval is lost: the
		// zero-filled MCUs are bounded by the input's size.
		big := append([]byte(nil), jpg...)
		sof := markerOffsets(big, mSOF0)[0]
		big[sof+5], big[sof+6], big[sof+7], big[sof+8] = 0x0B, 0xB8, 0x0F, 0xA0
		cut := append(append([]byte(nil), big[:prevSOSData(big)]...), 0xFF, mEOI)
		_, err := Decode(cut, Options{Scale: 8, Region: image.Rect(0, 0, 8, 8)})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "damage spans") {
			t.Errorf("%v, want ErrCorrupt for the damage bound", err)
		}
		// Claiming 65000x65000, the scan is refused before decoding.
		big[sof+5], big[sof+6], big[sof+7], big[sof+8] = 0xFD, 0xE8, 0xFD, 0xE8
		cut = append(append([]byte(nil), big[:prevSOSData(big)]...), 0xFF, mEOI)
		_, err = Decode(cut, Options{Scale: 8, Region: image.Rect(0, 0, 8, 8)})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "blocks, more than") {
			t.Errorf("%v, want ErrCorrupt for the work bound", err)
		}
	})
	t.Run("damaged interval", func(t *testing.T) {
		// Garble the bytes of interval 2 (MCU row 2, image rows 32..47);
		// restart resets the predictors, so rows two MCU rows away (beyond
		// the chroma upsampler's reach) must decode exactly as before.
		prev := markerOffsets(jpg, mRST0+1)[0]
		bad := append([]byte(nil), jpg...)
		for i := prev + 4; i < rst[0]-2; i += 3 {
			if bad[i] != 0xFF && bad[i-1] != 0xFF {
				bad[i] ^= 0x5A
			}
			if bad[i] == 0xFF {
				bad[i] = 0xFE
			}
		}
		img, err := Decode(bad, Options{})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%v, want ErrCorrupt or an image", err)
			}
			t.Logf("damaged interval refused: %v", err)
			return
		}
		defer img.Release()
		for _, rows := range [][2]int{{0, 16}, {64, 80}} {
			r := image.Rect(0, rows[0], 96, rows[1])
			if !bytes.Equal(crop(img, r), crop(good, r)) {
				t.Errorf("rows %v changed by damage in rows 32..47", rows)
			}
		}
		if bytes.Equal(crop(img, image.Rect(0, 32, 96, 48)), crop(good, image.Rect(0, 32, 96, 48))) {
			t.Errorf("damage left no trace: the test did not damage the interval")
		}
	})
}

// prevSOSData is the offset of the first scan's entropy-coded data.
func prevSOSData(b []byte) int {
	sos := markerOffsets(b, mSOS)[0]
	return sos + 2 + int(b[sos+2])<<8 + int(b[sos+3])
}

// djpegDamaged is djpeg on a file it decodes with warnings (exit status
// 2), as the RGB PPM the tests compare with.
func djpegDamaged(t *testing.T, jpg []byte) pnm {
	t.Helper()
	cmd := exec.Command(needTool(t, "djpeg"), "-dct", "int", "-ppm", "-rgb")
	cmd.Stdin = bytes.NewReader(jpg)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 2) {
		t.Fatalf("djpeg: %v", err)
	}
	return parsePNM(t, out.Bytes())
}

// patchSOF returns jpg with its SOF marker replaced by m and precision p.
func patchSOF(t *testing.T, jpg []byte, m, p byte) []byte {
	t.Helper()
	sof := markerOffsets(jpg, mSOF0)
	if len(sof) == 0 {
		t.Fatal("no SOF0")
	}
	b := append([]byte(nil), jpg...)
	b[sof[0]+1] = m
	b[sof[0]+4] = p
	return b
}

func TestUnsupported(t *testing.T) {
	jpg := goEncoded(t, synthPPM(32, 24, 1))
	cases := map[string][]byte{
		"12-bit SOF1":  patchSOF(t, jpg, mSOF1, 12),
		"lossless":     patchSOF(t, jpg, 0xC3, 8),
		"hierarchical": patchSOF(t, jpg, 0xC5, 8),
		"arithmetic":   patchSOF(t, jpg, 0xC9, 8),
		"arith-prog":   patchSOF(t, jpg, 0xCA, 8),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeConfig(b); !errors.Is(err, ErrUnsupported) {
				t.Errorf("DecodeConfig: %v, want ErrUnsupported", err)
			}
			if _, err := Decode(b, Options{}); !errors.Is(err, ErrUnsupported) {
				t.Errorf("Decode: %v, want ErrUnsupported", err)
			}
		})
	}
	t.Run("cjpeg -arithmetic", func(t *testing.T) {
		b := cjpegCase("a", "-arithmetic").make(t, synthPPM(32, 24, 1))
		if _, err := Decode(b, Options{}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%v, want ErrUnsupported", err)
		}
	})
}

func TestCorrupt(t *testing.T) {
	for name, jpg := range fixtures(t) {
		if _, err := Decode(jpg, Options{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Every proper prefix must fail, and fail as corrupt: never a
		// partial image, never another error class.
		for n := 0; n < len(jpg)-1; n++ {
			img, err := Decode(jpg[:n], Options{})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s cut at %d of %d: %v, %v; want ErrCorrupt", name, n, len(jpg), img, err)
			}
		}
	}
	for name, b := range map[string][]byte{
		"empty":    nil,
		"no SOI":   []byte("GIF89a"),
		"only SOI": {0xFF, 0xD8},
		"bad len":  {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x01},
	} {
		if _, err := Decode(b, Options{}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

func TestMaxBytes(t *testing.T) {
	for name, jpg := range fixtures(t) {
		h, err := DecodeConfig(jpg)
		if err != nil {
			t.Fatal(err)
		}
		prev := int64(1 << 62)
		for _, scale := range []int{1, 2, 4, 8} {
			c := h.Cost(scale)
			if c <= 0 || c > prev {
				t.Errorf("%s: Cost(%d) = %d after %d", name, scale, c, prev)
			}
			prev = c
			if _, err := Decode(jpg, Options{Scale: scale, MaxBytes: c - 1}); !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s 1/%d: limit cost-1: %v, want ErrTooLarge", name, scale, err)
			}
			img, err := Decode(jpg, Options{Scale: scale, MaxBytes: c})
			if err != nil {
				t.Errorf("%s 1/%d: limit = cost: %v", name, scale, err)
				continue
			}
			img.Release()
		}
	}
}

// TestCostBoundsAllocation checks that Cost is what a decode really
// allocates (pools emptied first), give or take the fixed-size decoder.
func TestCostBoundsAllocation(t *testing.T) {
	jpg := goEncoded(t, synthPPM(400, 300, 2))
	jpgP := cjpegCase("p", "-progressive").make(t, synthPPM(400, 300, 2))
	for name, b := range map[string][]byte{"baseline": jpg, "progressive": jpgP} {
		h, _ := DecodeConfig(b)
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		img, err := decodeFresh(b)
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Fatal(err)
		}
		got := int64(m1.TotalAlloc - m0.TotalAlloc)
		// The pooled decoder struct (mostly Huffman tables) and small
		// slices.
		fixed := int64(unsafe.Sizeof(decoder{})) + 64<<10
		if got > h.Cost(1)+fixed || got < h.Cost(1)/2 {
			t.Errorf("%s: allocated %d bytes, Cost(1) = %d", name, got, h.Cost(1))
		}
		t.Logf("%s: allocated %d, Cost %d", name, got, h.Cost(1))
		img.Release()
	}
}

// decodeFresh decodes with empty pools, so every buffer is a new allocation.
func decodeFresh(b []byte) (*Image, error) {
	for i := range bytePool {
		for bytePool[i].Get() != nil {
		}
		for coefPool[i].Get() != nil {
		}
	}
	return Decode(b, Options{})
}

// withEXIF inserts an APP1 EXIF segment with the given orientation.
func withEXIF(jpg []byte, bo binary.ByteOrder, orientation uint16) []byte {
	tiff := make([]byte, 8+2+12+4)
	if bo == binary.LittleEndian {
		copy(tiff, "II")
	} else {
		copy(tiff, "MM")
	}
	bo.PutUint16(tiff[2:], 42)
	bo.PutUint32(tiff[4:], 8)
	bo.PutUint16(tiff[8:], 1)
	bo.PutUint16(tiff[10:], 0x0112)
	bo.PutUint16(tiff[12:], 3)
	bo.PutUint32(tiff[14:], 1)
	bo.PutUint16(tiff[18:], orientation)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app := []byte{0xFF, mAPP1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out := append([]byte{0xFF, 0xD8}, app...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestOrientation(t *testing.T) {
	jpg := goEncoded(t, synthPPM(16, 16, 1))
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, o := range []uint16{1, 3, 6, 8, 9} {
			want := int(o)
			if o > 8 {
				want = 1 // out of range: treated as upright
			}
			h, err := DecodeConfig(withEXIF(jpg, bo, o))
			if err != nil {
				t.Fatal(err)
			}
			if h.Orientation != want {
				t.Errorf("%v orientation %d: got %d", bo, o, h.Orientation)
			}
		}
	}
	if h, _ := DecodeConfig(jpg); h.Orientation != 1 {
		t.Errorf("no EXIF: orientation %d", h.Orientation)
	}
}

func TestHeader(t *testing.T) {
	want := map[string]struct {
		color ColorTransform
		prog  bool
		h, v  int
	}{
		"420.jpg":             {ColorYCbCr, false, 2, 2},
		"411.jpg":             {ColorYCbCr, false, 4, 1},
		"440.jpg":             {ColorYCbCr, false, 1, 2},
		"420-progressive.jpg": {ColorYCbCr, true, 2, 2},
		"gray.jpg":            {ColorGray, false, 1, 1},
		"rgb.jpg":             {ColorRGB, false, 1, 1},
		"cmyk-magick.jpg":     {ColorYCCK, false, 1, 1},
	}
	fx := fixtures(t)
	for name, w := range want {
		h, err := DecodeConfig(fx[name])
		if err != nil {
			t.Fatal(err)
		}
		if h.Width != 48 || h.Height != 32 || h.Color != w.color || h.Progressive != w.prog || h.Components[0].H != w.h || h.Components[0].V != w.v {
			t.Errorf("%s: %+v, want %+v", name, h, w)
		}
	}
}

// TestImageInterface checks the image.Image view and ToNRGBA against Pix.
func TestImageInterface(t *testing.T) {
	for _, name := range []string{"420.jpg", "gray.jpg"} {
		img, err := Decode(fixtures(t)[name], Options{Region: image.Rect(5, 6, 30, 20)})
		if err != nil {
			t.Fatal(err)
		}
		n := img.ToNRGBA()
		for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
			for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				c := n.NRGBAAt(x, y)
				if uint8(r>>8) != c.R || uint8(g>>8) != c.G || uint8(b>>8) != c.B || c.A != 255 {
					t.Fatalf("%s (%d,%d): At %v, NRGBA %v", name, x, y, img.At(x, y), c)
				}
			}
		}
		img.Release()
		img.Release()
	}
}

// TestReplicate checks replication upsampling against its definition,
// output column x0+k being sample (x0+k)/fx, for every factor and offset.
func TestReplicate(t *testing.T) {
	r := make([]uint8, 64)
	for i := range r {
		r[i] = uint8(3*i + 1)
	}
	for _, fx := range []int{1, 2, 3, 4} {
		for x0 := 0; x0 < 2*fx; x0++ {
			for w := 0; w <= 40; w++ {
				dst := make([]uint8, w)
				replicate(dst, r[x0/fx:], fx, x0%fx)
				for k := range dst {
					if want := r[(x0+k)/fx]; dst[k] != want {
						t.Fatalf("fx %d x0 %d w %d: dst[%d] = %d, want %d", fx, x0, w, k, dst[k], want)
					}
				}
			}
		}
	}
}

// TestCMYKRow checks the CMYK and YCCK row conversions against the
// per-pixel formulas (YCC to RGB with libjpeg's constants, inverted, then
// the product with K as djpeg's PPM writer does), on every row length up
// to 70 so that the AVX2 colour kernel's tail is covered too.
func TestCMYKRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for n := 1; n <= 70; n++ {
		var rows [4][]uint8
		for i := range rows {
			rows[i] = make([]uint8, n)
			for j := range rows[i] {
				rows[i][j] = uint8(rng.Uint32())
			}
		}
		for _, ycck := range []bool{false, true} {
			out := make([]uint8, 3*n)
			if ycck {
				yccToRGB(out, rows[0], rows[1], rows[2])
				cmykToRGBInverted(out, rows[3])
			} else {
				cmykToRGB(out, rows[0], rows[1], rows[2], rows[3])
			}
			for i := 0; i < n; i++ {
				c, m, ye := int32(rows[0][i]), int32(rows[1][i]), int32(rows[2][i])
				if ycck {
					yy, cb, cr := c, m-128, ye-128
					c = 255 - int32(clamp8(yy+(fixR*cr+half)>>16))
					m = 255 - int32(clamp8(yy+(-fixGb*cb-fixGr*cr+half)>>16))
					ye = 255 - int32(clamp8(yy+(fixB*cb+half)>>16))
				}
				k := int32(rows[3][i])
				want := [3]uint8{uint8((2*c*k + 255) / 510), uint8((2*m*k + 255) / 510), uint8((2*ye*k + 255) / 510)}
				if got := [3]uint8(out[3*i : 3*i+3]); got != want {
					t.Fatalf("ycck %v n %d pixel %d: %v, want %v", ycck, n, i, got, want)
				}
			}
		}
	}
}
