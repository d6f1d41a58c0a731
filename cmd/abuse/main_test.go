package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"image/color"
	"image/png"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/web"
)

// The payloads are what they claim to be, or the replay proves nothing.
func TestPayloads(t *testing.T) {
	data, err := rgb16Bomb(300, 200)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 300 || cfg.Height != 200 || cfg.ColorModel != color.RGBA64Model {
		t.Fatalf("16-bit PNG: %+v %v", cfg, err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Fatalf("16-bit PNG does not decode: %v", err)
	}
	gz, err := gzipZeros(3<<20 + 5)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, zr); err != nil || n != 3<<20+5 || len(gz) > 64<<10 {
		t.Fatalf("gzip bomb: %d bytes from %d, %v", n, len(gz), err)
	}
	if b := bmpHeader(6000, 6000); len(b) != 54 || string(b[:2]) != "BM" {
		t.Fatalf("bmp header %q", b)
	}
}

// The whole replay, scaled down, against the real handler on a real
// listener with a small budget: every attack is handled.
func TestReplayAgainstHandler(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 80 MiB of payloads")
	}
	m := &fixedModel{}
	cl := &classify.Classifier{Name: "m", Model: m, Info: m.Info(), Input: "in", Output: "out",
		Labels: []string{"a", "b"}, Preprocess: classify.Preprocess{Width: 4, Height: 4, Range: []float32{0, 1}}}
	h, err := web.New(web.Options{Classifiers: []*classify.Classifier{cl}, MemoryBudget: 64 << 20,
		MaxBodyBytes: 20 << 20 / 8, URLInputs: true, ImageRoot: t.TempDir(), QueueTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var out strings.Builder
	if err := run(srv.URL, 30*time.Second, 8, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
}

// fixedModel answers [0.9, 0.1] for any 4x4 input.
type fixedModel struct{}

func (fixedModel) Info() classify.ModelInfo {
	return classify.ModelInfo{Engine: "fake",
		Inputs:  []classify.TensorInfo{{Name: "in", DType: classify.Float32, Shape: classify.Shape{1, 4, 4, 3}}},
		Outputs: []classify.TensorInfo{{Name: "out", DType: classify.Float32, Shape: classify.Shape{1, 2}}}}
}
func (fixedModel) Close() error { return nil }
func (fixedModel) Run(context.Context, map[string]*classify.Tensor, []string) ([]*classify.Tensor, error) {
	return []*classify.Tensor{classify.FromFloat32([]float32{0.9, 0.1}, 1, 2)}, nil
}
