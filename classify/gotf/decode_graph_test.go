package gotf

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/classifyd/classifyd/classify"
	jpegdec "github.com/classifyd/classifyd/imageprep/jpeg"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestJPEGBytesGraph runs a graph exported to take encoded JPEG bytes (the
// TF Serving "image_bytes" shape): DecodeJpeg → Cast → ExpandDims →
// ResizeBilinear → scale, against the same resize graph fed the pixels the
// project's decoder gives for the same file.
func TestJPEGBytesGraph(t *testing.T) {
	pic := image.NewRGBA(image.Rect(0, 0, 45, 30))
	for y := range 30 {
		for x := range 45 {
			pic.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 8), uint8(x * y % 256), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, pic, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	tail := func(b *graphdef.Builder, x O) string {
		r := b.Op("ResizeBilinear", "resize", []O{x, b.ConstI32("size", []int32{16, 24}, 2)}, graphdef.Attrs{"half_pixel_centers": true})
		return string(b.Op("Mul", "scale", []O{r, b.ConstF32("k", []float32{1.0 / 255})}, nil))
	}
	g := graphdef.New()
	in := g.Placeholder("image_bytes", classify.String, classify.Shape{})
	d := g.Op("DecodeJpeg", "decode", []O{in}, graphdef.Attrs{"channels": 3})
	c := g.Op("Cast", "cast", []O{d}, graphdef.Attrs{"SrcT": classify.Uint8, "DstT": classify.Float32})
	e := g.Op("ExpandDims", "batch", []O{c, g.ConstI32("axis", []int32{0})}, nil)
	out := tail(g, e)
	feeds := map[string]*classify.Tensor{"image_bytes": {DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{buf.Bytes()}}}
	got := runGraph(t, g, []string{out}, feeds, loadConfig{fuse: true})

	m, err := jpegdec.Decode(buf.Bytes(), jpegdec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	px := classify.NewTensor(classify.Float32, 1, 30, 45, 3)
	for y := range 30 {
		for x := range 45 * 3 {
			px.Float32s()[y*45*3+x] = float32(m.Pix[y*m.Stride+x])
		}
	}
	r := graphdef.New()
	refOut := tail(r, r.Placeholder("x", classify.Float32, classify.Shape{1, 30, 45, 3}))
	want := runGraph(t, r, []string{refOut}, map[string]*classify.Tensor{"x": px}, loadConfig{fuse: true})
	if !got[0].Shape.Equal(classify.Shape{1, 16, 24, 3}) {
		t.Fatalf("shape %v", got[0].Shape)
	}
	if d := maxDiff(got[0], want[0]); d != 0 {
		t.Errorf("JPEG-bytes graph differs from decode-then-run by %g", d)
	}
	// Not a JPEG: an error naming the decode node.
	_, err = runGraphErr(g, out, map[string]*classify.Tensor{"image_bytes": {DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{[]byte("GIF89a")}}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"decode"`)) {
		t.Errorf("bad bytes: err %v, want one naming node decode", err)
	}
}

func runGraphErr(b *graphdef.Builder, out string, feeds map[string]*classify.Tensor) ([]*classify.Tensor, error) {
	m, err := load(context.Background(), b.GraphDef(), classify.OpenOptions{Outputs: []string{out}}, loadConfig{fuse: true})
	if err != nil {
		return nil, err
	}
	return m.Run(context.Background(), feeds, []string{out})
}
