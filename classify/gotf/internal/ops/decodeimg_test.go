package ops

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/classifyd/classifyd/classify"
	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func strScalar(b []byte) *classify.Tensor {
	return &classify.Tensor{DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{b}}
}

// testPicture is a smooth colour picture with some edges: JPEG-friendly and
// different in every channel.
func testPicture(w, h int, alpha bool) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			a := uint8(255)
			if alpha {
				a = uint8(40 + (x*7+y*3)%200)
			}
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) * 3 % 256), a})
		}
	}
	return m
}

// decodeOp runs one decode node fed contents and returns its output; the
// caller checks every element.
func decodeOp(t *testing.T, op string, attrs graphdef.Attrs, contents []byte) (*classify.Tensor, error) {
	t.Helper()
	g := graphdef.New()
	in := g.Placeholder("contents", classify.String, classify.Shape{})
	out := g.Op(op, "out", []graphdef.Output{in}, attrs)
	got, err := interpretChecked(t, g, map[string]*classify.Tensor{"contents": strScalar(contents)}, []graphdef.Output{out})
	if err != nil {
		return nil, err
	}
	return got[0], nil
}

// wantPixels compares a [H, W, C] uint8 tensor with img read through f.
func wantPixels(t *testing.T, got *classify.Tensor, w, h, c int, f func(x, y, ch int) uint8) {
	t.Helper()
	if got.DType != classify.Uint8 || !got.Shape.Equal(classify.Shape{h, w, c}) {
		t.Fatalf("got %v %v, want uint8 [%d %d %d]", got.DType, got.Shape, h, w, c)
	}
	d := got.Data.([]uint8)
	bad := 0
	for y := range h {
		for x := range w {
			for ch := range c {
				if g, want := d[(y*w+x)*c+ch], f(x, y, ch); g != want {
					if bad++; bad < 4 {
						t.Errorf("pixel (%d,%d) channel %d = %d, want %d", x, y, ch, g, want)
					}
				}
			}
		}
	}
}

func TestDecodeJpeg(t *testing.T) {
	var colour, gray bytes.Buffer
	pic := testPicture(37, 21, false)
	if err := jpeg.Encode(&colour, pic, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(pic.Bounds())
	for i := range g.Pix {
		g.Pix[i] = pic.Pix[4*i+1]
	}
	if err := jpeg.Encode(&gray, g, nil); err != nil {
		t.Fatal(err)
	}
	for _, ratio := range []int{1, 2, 4, 8} {
		ref, err := jpegdec.Decode(colour.Bytes(), jpegdec.Options{Scale: ratio})
		if err != nil {
			t.Fatal(err)
		}
		w, h := (37+ratio-1)/ratio, (21+ratio-1)/ratio
		for _, ch := range []int{0, 3} {
			got, err := decodeOp(t, "DecodeJpeg", graphdef.Attrs{"channels": ch, "ratio": ratio, "dct_method": "INTEGER_ACCURATE"}, colour.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			wantPixels(t, got, w, h, 3, func(x, y, c int) uint8 { return ref.Pix[y*ref.Stride+x*3+c] })
		}
		ref.Release()
	}
	// channels 1 of a colour file: close to the Y plane image/jpeg reads.
	got, err := decodeOp(t, "DecodeJpeg", graphdef.Attrs{"channels": 1}, colour.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	std, err := jpeg.Decode(bytes.NewReader(colour.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	yc := std.(*image.YCbCr)
	if !got.Shape.Equal(classify.Shape{21, 37, 1}) {
		t.Fatalf("shape %v", got.Shape)
	}
	for y := range 21 {
		for x := range 37 {
			if d := int(got.Data.([]uint8)[y*37+x]) - int(yc.Y[yc.YOffset(x, y)]); d < -3 || d > 3 {
				t.Fatalf("gray (%d,%d) = %d, Y plane %d", x, y, got.Data.([]uint8)[y*37+x], yc.Y[yc.YOffset(x, y)])
			}
		}
	}
	// A grayscale file: one channel as stored, three replicated.
	gref, err := jpegdec.Decode(gray.Bytes(), jpegdec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer gref.Release()
	for _, ch := range []int{0, 3} {
		got, err := decodeOp(t, "DecodeJpeg", graphdef.Attrs{"channels": ch}, gray.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		c := max(ch, 1)
		wantPixels(t, got, 37, 21, c, func(x, y, _ int) uint8 { return gref.Pix[y*gref.Stride+x] })
	}
	shape, err := decodeOp(t, "ExtractJpegShape", graphdef.Attrs{"output_type": classify.Int64}, colour.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if v := shape.Data.([]int64); len(v) != 3 || v[0] != 21 || v[1] != 37 || v[2] != 3 {
		t.Errorf("ExtractJpegShape = %v, want [21 37 3]", v)
	}
	shape, err = decodeOp(t, "ExtractJpegShape", nil, gray.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if v := shape.Int32s(); len(v) != 3 || v[0] != 21 || v[1] != 37 || v[2] != 1 {
		t.Errorf("ExtractJpegShape of gray = %v, want [21 37 1]", v)
	}
}

func TestDecodePngBmp(t *testing.T) {
	pic := testPicture(13, 9, true)
	opaque := testPicture(13, 9, false)
	gray := image.NewGray(pic.Bounds())
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 5)
	}
	pal := image.NewPaletted(pic.Bounds(), palette.Plan9)
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i * 3)
	}
	enc := func(m image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, m); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	nrgba := func(m image.Image) func(x, y, c int) uint8 {
		return func(x, y, c int) uint8 {
			p := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
			return []uint8{p.R, p.G, p.B, p.A}[c]
		}
	}
	for _, c := range []struct {
		name    string
		data    []byte
		ch, out int
		want    func(x, y, c int) uint8
	}{
		{"rgba", enc(pic), 0, 4, nrgba(pic)},
		{"rgba as rgb", enc(pic), 3, 3, nrgba(pic)},
		{"rgb", enc(opaque), 0, 3, nrgba(opaque)},
		{"rgb as rgba", enc(opaque), 4, 4, nrgba(opaque)},
		{"gray", enc(gray), 0, 1, func(x, y, _ int) uint8 { return gray.GrayAt(x, y).Y }},
		{"gray as rgb", enc(gray), 3, 3, func(x, y, _ int) uint8 { return gray.GrayAt(x, y).Y }},
		{"palette", enc(pal), 0, 3, nrgba(pal)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeOp(t, "DecodePng", graphdef.Attrs{"channels": c.ch, "dtype": classify.Uint8}, c.data)
			if err != nil {
				t.Fatal(err)
			}
			wantPixels(t, got, 13, 9, c.out, c.want)
		})
	}
	var b bytes.Buffer
	if err := bmp.Encode(&b, opaque); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []int{0, 3} {
		got, err := decodeOp(t, "DecodeBmp", graphdef.Attrs{"channels": ch}, b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		wantPixels(t, got, 13, 9, 3, nrgba(opaque))
	}
}

// twoFrameGIF: frame 0 fills the 6x4 screen with palette colour 1 (red);
// frame 1 covers (2,1)-(5,3) with colour 2 (blue) except a transparent
// pixel (3,2), which keeps red.
func twoFrameGIF(t *testing.T) []byte {
	pal := color.Palette{color.RGBA{0, 0, 0, 0}, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	f0 := image.NewPaletted(image.Rect(0, 0, 6, 4), pal)
	for i := range f0.Pix {
		f0.Pix[i] = 1
	}
	f1 := image.NewPaletted(image.Rect(2, 1, 5, 3), pal)
	for i := range f1.Pix {
		f1.Pix[i] = 2
	}
	f1.SetColorIndex(3, 2, 0)
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{f0, f1}, Delay: []int{0, 0}, Disposal: []byte{0, 0}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeGifAndImage(t *testing.T) {
	data := twoFrameGIF(t)
	frame := func(f, x, y int) [3]uint8 {
		if f == 1 && x >= 2 && x < 5 && y >= 1 && y < 3 && !(x == 3 && y == 2) {
			return [3]uint8{0, 0, 255}
		}
		return [3]uint8{255, 0, 0}
	}
	check := func(got *classify.Tensor, frames int) {
		t.Helper()
		d := got.Data.([]uint8)
		for f := range frames {
			for y := range 4 {
				for x := range 6 {
					o := ((f*4+y)*6 + x) * 3
					if p := [3]uint8{d[o], d[o+1], d[o+2]}; p != frame(f, x, y) {
						t.Fatalf("frame %d (%d,%d) = %v, want %v", f, x, y, p, frame(f, x, y))
					}
				}
			}
		}
	}
	got, err := decodeOp(t, "DecodeGif", nil, data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Shape.Equal(classify.Shape{2, 4, 6, 3}) {
		t.Fatalf("DecodeGif shape %v", got.Shape)
	}
	check(got, 2)
	got, err = decodeOp(t, "DecodeImage", graphdef.Attrs{"expand_animations": true}, data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Shape.Equal(classify.Shape{2, 4, 6, 3}) {
		t.Fatalf("DecodeImage of a GIF: shape %v", got.Shape)
	}
	check(got, 2)
	got, err = decodeOp(t, "DecodeImage", graphdef.Attrs{"expand_animations": false, "channels": 3}, data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Shape.Equal(classify.Shape{4, 6, 3}) {
		t.Fatalf("DecodeImage expand_animations=false: shape %v", got.Shape)
	}
	check(got, 1)

	// Dispatch to PNG, JPEG and BMP; float32 is uint8/255.
	pic := testPicture(5, 3, false)
	var p, j, b bytes.Buffer
	if err := png.Encode(&p, pic); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, pic, nil); err != nil {
		t.Fatal(err)
	}
	if err := bmp.Encode(&b, pic); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		op   string
	}{{"png", p.Bytes(), "DecodePng"}, {"jpeg", j.Bytes(), "DecodeJpeg"}, {"bmp", b.Bytes(), "DecodeBmp"}} {
		want, err := decodeOp(t, c.op, nil, c.data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeOp(t, "DecodeImage", graphdef.Attrs{"dtype": classify.Float32}, c.data)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != classify.Float32 || !got.Shape.Equal(want.Shape) {
			t.Fatalf("%s: DecodeImage gives %v %v, %s %v", c.name, got.DType, got.Shape, c.op, want.Shape)
		}
		for i, v := range want.Data.([]uint8) {
			if g := got.Float32s()[i]; g != float32(v)/255 {
				t.Fatalf("%s: element %d = %v, want %v/255", c.name, i, g, v)
			}
		}
	}
	if _, err := decodeOp(t, "DecodeImage", nil, []byte("RIFF....WEBP")); err == nil || !strings.Contains(err.Error(), "unknown image format") {
		t.Errorf("WebP bytes: err %v", err)
	}
}

func TestBase64(t *testing.T) {
	in := &classify.Tensor{DType: classify.String, Shape: classify.Shape{2}, Data: [][]byte{[]byte("hello?>"), {0xfb, 0xff}}}
	for _, c := range []struct {
		pad  bool
		want []string
	}{{false, []string{"aGVsbG8_Pg", "-_8"}}, {true, []string{"aGVsbG8_Pg==", "-_8="}}} {
		g := graphdef.New()
		x := g.Placeholder("x", classify.String, classify.Shape{2})
		e := g.Op("EncodeBase64", "enc", []graphdef.Output{x}, graphdef.Attrs{"pad": c.pad})
		d := g.Op("DecodeBase64", "dec", []graphdef.Output{e}, nil)
		got, err := interpretChecked(t, g, map[string]*classify.Tensor{"x": in}, []graphdef.Output{e, d})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range c.want {
			if s := string(got[0].Data.([][]byte)[i]); s != w {
				t.Errorf("pad=%v: EncodeBase64 %q = %q, want %q", c.pad, in.Data.([][]byte)[i], s, w)
			}
			if s := got[1].Data.([][]byte)[i]; !bytes.Equal(s, in.Data.([][]byte)[i]) {
				t.Errorf("DecodeBase64 round trip gives %q", s)
			}
		}
	}
	g := graphdef.New()
	x := g.Placeholder("x", classify.String, classify.Shape{1})
	d := g.Op("DecodeBase64", "dec", []graphdef.Output{x}, nil)
	_, err := interpretRec(g, map[string]*classify.Tensor{"x": {DType: classify.String, Shape: classify.Shape{1}, Data: [][]byte{[]byte("aGVs+G8/")}}}, []graphdef.Output{d}, nil)
	if err == nil || !strings.Contains(err.Error(), `"dec"`) {
		t.Errorf("standard alphabet: err %v, want a web-safe error naming the node", err)
	}
}

// bigPNG is a valid all-black grayscale PNG of w x h pixels whose IDAT is
// big enough for the image, so only a pixel limit refuses it.
func bigPNG(t *testing.T, w, h int) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	row := make([]byte, w+1)
	for range h {
		if _, err := zw.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(data)))
		copy(hdr[4:], typ)
		b.Write(hdr[:])
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write(hdr[4:])
		crc.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8] = 8 // bit depth; colour type 0 (gray)
	chunk("IHDR", ihdr)
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

func TestDecodeLimits(t *testing.T) {
	var j bytes.Buffer
	if err := jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	big := append([]byte(nil), j.Bytes()...)
	sof := bytes.Index(big, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(big[sof+5:], 30000) // height
	binary.BigEndian.PutUint16(big[sof+7:], 30000) // width
	huge, small := bigPNG(t, 10241, 10241), bigPNG(t, 300, 200)
	for _, c := range []struct {
		op   string
		data []byte
		want string
	}{
		{"DecodeJpeg", big, "pixel limit"},
		{"DecodeImage", big, "pixel limit"},
		{"DecodePng", huge, "pixel limit"},
		{"DecodeImage", huge, "pixel limit"},
		{"DecodePng", small, ""}, // the same construction, under the limit: no error
		{"DecodeJpeg", []byte("not a jpeg"), "jpeg"},
		{"DecodePng", j.Bytes(), "png"},
		{"DecodeGif", []byte("GIF89a"), "gif"},
		{"DecodeBmp", []byte("BM"), "bmp"},
	} {
		out, err := decodeOp(t, c.op, nil, c.data)
		if c.want == "" {
			if err != nil || !out.Shape.Equal(classify.Shape{200, 300, 1}) {
				t.Errorf("%s under the limit: %v", c.op, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"out"`) {
			t.Errorf("%s: err %v, want one naming the node and %q", c.op, err, c.want)
		}
	}
	// A GIF whose frames add up past the limit is refused before decoding.
	pal := color.Palette{color.Black, color.White}
	var frames []*image.Paletted
	for range 2 {
		frames = append(frames, image.NewPaletted(image.Rect(0, 0, 8, 8), pal))
	}
	var g bytes.Buffer
	if err := gif.EncodeAll(&g, &gif.GIF{Image: frames, Delay: []int{0, 0}}); err != nil {
		t.Fatal(err)
	}
	if n, px := gifFrames(g.Bytes()); n != 2 || px != 128 {
		t.Errorf("gifFrames = %d frames, %d pixels; want 2, 128", n, px)
	}
}

func FuzzDecodeImage(f *testing.F) {
	var p, j bytes.Buffer
	_ = png.Encode(&p, testPicture(4, 3, true))
	_ = jpeg.Encode(&j, testPicture(4, 3, false), nil)
	f.Add(p.Bytes())
	f.Add(j.Bytes())
	f.Add([]byte("GIF89a\x04\x00\x03\x00\x00\x00\x00,\x00\x00\x00\x00\x04\x00\x03\x00\x00\x02\x02D\x01\x00;"))
	f.Add([]byte("BM"))
	o, err := buildDecodeImage(&Node{Name: "fuzz", Op: "DecodeImage", Attr: nil, NumInputs: 1}, []*classify.Tensor{nil})
	if err != nil {
		f.Fatal(err)
	}
	var p16 bytes.Buffer
	g16 := image.NewGray16(image.Rect(0, 0, 3, 2))
	g16.Pix[1] = 7
	_ = png.Encode(&p16, g16)
	f.Add(p16.Bytes())
	o16, err := buildDecodeImage(&Node{Name: "fuzz16", Op: "DecodeImage", Attr: attrs(graphdef.Attrs{"dtype": classify.Uint16}), NumInputs: 1}, []*classify.Tensor{nil})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := o.Run(nil, []*classify.Tensor{strScalar(data)})
		if err == nil && (len(out) != 1 || out[0].DType != classify.Uint8) {
			t.Fatalf("bad output %v", out)
		}
		out16, err16 := o16.Run(nil, []*classify.Tensor{strScalar(data)})
		if err16 == nil && (len(out16) != 1 || out16[0].DType != classify.Uint16 || out16[0].Validate() != nil) {
			t.Fatalf("bad uint16 output %v", out16)
		}
		if (err == nil) != (err16 == nil) || err == nil && !out16[0].Shape.Equal(out[0].Shape) {
			t.Fatalf("uint8 %v / %v, uint16 %v / %v", out, err, out16, err16)
		}
	})
}

// 16-bit PNGs (written by image/png in the test): uint16 gives the file's
// samples, uint8 their high byte (png_set_strip_16); 8-bit files and
// other formats decoded as uint16 are scaled by 257.
func TestDecodePng16(t *testing.T) {
	const w, h = 7, 5
	rgba := image.NewNRGBA64(image.Rect(0, 0, w, h))
	opaque := image.NewNRGBA64(rgba.Bounds())
	gray := image.NewGray16(rgba.Bounds())
	for y := range h {
		for x := range w {
			i := uint16(y*w + x)
			rgba.SetNRGBA64(x, y, color.NRGBA64{R: i*1801 + 3, G: 65535 - i*977, B: i * 257, A: 1000 + i*1500})
			opaque.SetNRGBA64(x, y, color.NRGBA64{R: i*1801 + 1, G: i * 13, B: 65535 - i, A: 65535})
			gray.SetGray16(x, y, color.Gray16{Y: i*1871 + 5})
		}
	}
	enc := func(m image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, m); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	samples := func(m image.Image, c int) []uint16 {
		var out []uint16
		for y := range h {
			for x := range w {
				if g, ok := m.(*image.Gray16); ok {
					v := g.Gray16At(x, y).Y
					out = append(out, []uint16{v, v, v, 65535}[:c]...)
					continue
				}
				p := color.NRGBA64Model.Convert(m.At(x, y)).(color.NRGBA64)
				out = append(out, []uint16{p.R, p.G, p.B, p.A}[:c]...)
			}
		}
		if _, ok := m.(*image.Gray16); ok && c == 1 {
			out = out[:0]
			for y := range h {
				for x := range w {
					out = append(out, m.(*image.Gray16).Gray16At(x, y).Y)
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		op      string
		data    []byte
		ch, out int
		want    []uint16
	}{
		{"rgba16", "DecodePng", enc(rgba), 0, 4, samples(rgba, 4)},
		{"rgba16 as rgb", "DecodePng", enc(rgba), 3, 3, samples(rgba, 3)},
		{"rgb16", "DecodePng", enc(opaque), 0, 3, samples(opaque, 3)},
		{"rgb16 as rgba", "DecodePng", enc(opaque), 4, 4, samples(opaque, 4)},
		{"gray16", "DecodePng", enc(gray), 0, 1, samples(gray, 1)},
		{"gray16 as rgb", "DecodeImage", enc(gray), 3, 3, samples(gray, 3)},
		{"rgba16 image", "DecodeImage", enc(rgba), 0, 4, samples(rgba, 4)},
	} {
		got, err := decodeOp(t, tc.op, graphdef.Attrs{"channels": tc.ch, "dtype": classify.Uint16}, tc.data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.DType != classify.Uint16 || !got.Shape.Equal(classify.Shape{h, w, tc.out}) {
			t.Fatalf("%s: %v %v", tc.name, got.DType, got.Shape)
		}
		if d := got.Data.([]uint16); !slicesEqual16(d, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, d[:8], tc.want[:8])
		}
		// As uint8: the high byte of every sample.
		got8, err := decodeOp(t, tc.op, graphdef.Attrs{"channels": tc.ch, "dtype": classify.Uint8}, tc.data)
		if err != nil {
			t.Fatalf("%s uint8: %v", tc.name, err)
		}
		for i, v := range got8.Data.([]uint8) {
			if v != uint8(tc.want[i]>>8) {
				t.Fatalf("%s uint8 sample %d = %d, want %d", tc.name, i, v, tc.want[i]>>8)
			}
		}
	}
	// RGB to gray of 16-bit samples: libpng's weights, exact on gray.
	if g := pngGray16(1000, 1000, 1000); g != 1000 {
		t.Errorf("gray pixel %d", g)
	}
	if g := pngGray16(65535, 0, 0); g != uint16((6968*65535+16384)>>15) {
		t.Errorf("red %d", g)
	}
	// 8-bit PNG and JPEG decoded as uint16: 257 times the uint8 samples.
	var j bytes.Buffer
	if err := jpeg.Encode(&j, testPicture(6, 4, false), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op   string
		data []byte
	}{
		{"DecodePng", enc(testPicture(6, 4, true))},
		{"DecodeImage", enc(testPicture(6, 4, false))},
		{"DecodeImage", j.Bytes()},
	} {
		g8, err := decodeOp(t, tc.op, graphdef.Attrs{"dtype": classify.Uint8}, tc.data)
		if err != nil {
			t.Fatal(err)
		}
		g16, err := decodeOp(t, tc.op, graphdef.Attrs{"dtype": classify.Uint16}, tc.data)
		if err != nil {
			t.Fatal(err)
		}
		if g16.DType != classify.Uint16 || !g16.Shape.Equal(g8.Shape) {
			t.Fatalf("%s: %v %v", tc.op, g16.DType, g16.Shape)
		}
		for i, v := range g8.Data.([]uint8) {
			if g16.Data.([]uint16)[i] != uint16(v)*257 {
				t.Fatalf("%s sample %d: %d, want %d", tc.op, i, g16.Data.([]uint16)[i], uint16(v)*257)
			}
		}
	}
	// A 16-bit PNG whose header asks for 2^40 pixels is refused from the
	// header, before image/png allocates.
	huge := enc(image.NewGray16(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(huge[16:], 1<<20)
	binary.BigEndian.PutUint32(huge[20:], 1<<20)
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	if _, err := decodeOp(t, "DecodePng", graphdef.Attrs{"dtype": classify.Uint16}, huge); err == nil || !strings.Contains(err.Error(), "1048576x1048576") {
		t.Errorf("huge 16-bit PNG: %v", err)
	}
	if _, err := decodeOp(t, "DecodePng", graphdef.Attrs{"dtype": classify.Uint16}, enc(gray)[:60]); err == nil {
		t.Error("truncated 16-bit PNG: no error")
	}
	if _, err := decodeOp(t, "DecodePng", graphdef.Attrs{"dtype": classify.Int32}, enc(gray)); err == nil {
		t.Error("dtype int32: no error")
	}
}

func slicesEqual16(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A gray+alpha 16-bit PNG (colour type 4, which image/png cannot write)
// from ImageMagick, checked against ImageMagick's own sample dump.
func TestDecodePng16GrayAlphaImageMagick(t *testing.T) {
	if _, err := exec.LookPath("convert"); err != nil {
		t.Skip("ImageMagick convert not installed")
	}
	f := filepath.Join(t.TempDir(), "ga16.png")
	if out, err := exec.Command("convert", "-size", "5x3", "gradient:black-white", "-alpha", "set", "-channel", "A", "-evaluate", "set", "40%", "+channel",
		"-depth", "16", "-define", "png:color-type=4", "-define", "png:bit-depth=16", f).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v %s", err, out)
	}
	dump, err := exec.Command("convert", f, "-depth", "16", "txt:-").Output()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if data[24] != 16 || data[25] != 4 {
		t.Fatalf("convert wrote bit depth %d colour type %d", data[24], data[25])
	}
	got, err := decodeOp(t, "DecodePng", graphdef.Attrs{"dtype": classify.Uint16}, data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Shape.Equal(classify.Shape{3, 5, 2}) {
		t.Fatalf("shape %v", got.Shape)
	}
	d := got.Data.([]uint16)
	n := 0
	for _, line := range strings.Split(string(dump), "\n") {
		var x, y, g, g2, g3, a int
		if _, err := fmt.Sscanf(line, "%d,%d: (%d,%d,%d,%d)", &x, &y, &g, &g2, &g3, &a); err != nil {
			continue
		}
		o := (y*5 + x) * 2
		if int(d[o]) != g || int(d[o+1]) != a {
			t.Errorf("(%d,%d) = %d,%d, ImageMagick %d,%d", x, y, d[o], d[o+1], g, a)
		}
		n++
	}
	if n != 15 {
		t.Fatalf("parsed %d pixels of ImageMagick's dump", n)
	}
}
