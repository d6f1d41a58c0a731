package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/web"
)

// fakeModel is a classify.Model whose Run each test chooses.
type fakeModel struct {
	run func(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error)
}

func (m *fakeModel) Info() classify.ModelInfo {
	return classify.ModelInfo{Engine: "fake",
		Inputs:  []classify.TensorInfo{{Name: "in", DType: classify.Float32, Shape: classify.Shape{-1, 3, 3, 3}}},
		Outputs: []classify.TensorInfo{{Name: "out", DType: classify.Float32, Shape: classify.Shape{-1, 3}}}}
}
func (m *fakeModel) Close() error { return nil }
func (m *fakeModel) Run(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error) {
	return m.run(ctx, in, out)
}

// meanRGB answers with the share of red, green and blue in its input
// patch, so the answer depends on the image and the point, as a real
// model's does.
func meanRGB(ctx context.Context, in map[string]*classify.Tensor, _ []string) ([]*classify.Tensor, error) {
	x := in["in"].Float32s()
	var sum [3]float32
	for i, v := range x {
		sum[i%3] += v
	}
	tot := sum[0] + sum[1] + sum[2] + 1e-6
	return []*classify.Tensor{classify.FromFloat32([]float32{sum[0] / tot, sum[1] / tot, sum[2] / tot}, 1, 3)}, nil
}

// rgbClassifier is a loaded classifier with the meanRGB model over a 3x3
// patch around the point.
func rgbClassifier(name string, run func(context.Context, map[string]*classify.Tensor, []string) ([]*classify.Tensor, error)) *classify.Classifier {
	if run == nil {
		run = meanRGB
	}
	m := &fakeModel{run: run}
	return &classify.Classifier{
		Name: name, Engine: "fake", Model: m, Info: m.Info(),
		Input: "in", Output: "out", Labels: []string{"red", "green", "blue"}, TopK: 3,
		Preprocess: classify.Preprocess{CropPixels: 3, Width: 3, Height: 3, Range: []float32{0, 1}},
	}
}

// twoColourPNG is a w x h PNG, red on the left half and green on the right.
func twoColourPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.NRGBA{G: 255, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// syncBuffer is a log sink safe for the handler's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHandler builds the handler with o, defaulting to one rgb classifier.
func newHandler(t testing.TB, o web.Options) http.Handler {
	t.Helper()
	if o.Classifiers == nil {
		o.Classifiers = []*classify.Classifier{rgbClassifier("rgb", nil)}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	h, err := web.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// multipartBody encodes an image and text fields as multipart/form-data.
func multipartBody(t testing.TB, img []byte, fields map[string]string) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if img != nil {
		fw, err := w.CreateFormFile("image", "img.png")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(img)
	}
	w.Close()
	return &b, w.FormDataContentType()
}

// response is a recorded answer with its decoded JSON body.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func do(t testing.TB, h http.Handler, r *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	resp := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if ct := rec.Header().Get("Content-Type"); len(resp.body) > 0 && bytes.HasPrefix([]byte(ct), []byte("application/json")) {
		if err := json.Unmarshal(resp.body, &resp.json); err != nil {
			t.Fatalf("bad JSON %q: %v", resp.body, err)
		}
	}
	return resp
}

func postMultipart(t testing.TB, h http.Handler, img []byte, fields map[string]string) response {
	t.Helper()
	body, ct := multipartBody(t, img, fields)
	r := httptest.NewRequest(http.MethodPost, "/v1/classify", body)
	r.Header.Set("Content-Type", ct)
	return do(t, h, r)
}

func postJSON(t testing.TB, h http.Handler, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	return do(t, h, r)
}

// errorCode returns the code of an {"error":{...}} body, "" if there is none.
func (r response) errorCode() string {
	e, _ := r.json["error"].(map[string]any)
	code, _ := e["code"].(string)
	if code != "" {
		if msg, _ := e["message"].(string); msg == "" {
			return code + " (no message!)"
		}
	}
	return code
}

// topLabel is the first label of a model's result.
func (r response) topLabel(model string) string {
	res, _ := r.json["results"].(map[string]any)
	m, _ := res[model].(map[string]any)
	labels, _ := m["labels"].([]any)
	if len(labels) == 0 {
		return ""
	}
	l, _ := labels[0].(map[string]any)
	s, _ := l["label"].(string)
	return s
}

// mustOK fails unless a good request still gets a good answer: bad input
// must never leave the handler unhealthy.
func mustOK(t testing.TB, h http.Handler) {
	t.Helper()
	r := postMultipart(t, h, twoColourPNG(t, 8, 4), map[string]string{"x": "1", "y": "1"})
	if r.status != http.StatusOK || r.topLabel("rgb") != "red" {
		t.Fatalf("follow-up good request: %d %s", r.status, r.body)
	}
}

func (r response) errorMessage() string {
	e, _ := r.json["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

func jpegEncode(w io.Writer, img image.Image) error {
	return jpeg.Encode(w, img, &jpeg.Options{Quality: 90})
}
