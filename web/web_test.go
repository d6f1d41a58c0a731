package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/web"
)

func TestClassifyMultipart(t *testing.T) {
	h := newHandler(t, web.Options{})
	img := twoColourPNG(t, 10, 6)
	tests := []struct {
		name   string
		fields map[string]string
		top    string
		x, y   float64
	}{
		{"centre by default", nil, "green", 5, 3}, // (5,3) is the first green column
		{"left point", map[string]string{"x": "1", "y": "2"}, "red", 1, 2},
		{"right point", map[string]string{"x": "8", "y": "5"}, "green", 8, 5},
		{"fraction floored", map[string]string{"x": "1.9", "y": "0.2"}, "red", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postMultipart(t, h, img, tt.fields)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := r.topLabel("rgb"); got != tt.top {
				t.Errorf("top label %q, want %q", got, tt.top)
			}
			if im := r.json["image"].(map[string]any); im["width"] != 10.0 || im["height"] != 6.0 {
				t.Errorf("image %v, want 10x6", im)
			}
			if p := r.json["point"].(map[string]any); p["x"] != tt.x || p["y"] != tt.y {
				t.Errorf("point %v, want (%v,%v)", p, tt.x, tt.y)
			}
			res := r.json["results"].(map[string]any)["rgb"].(map[string]any)
			labels := res["labels"].([]any)
			if len(labels) != 3 {
				t.Fatalf("%d labels, want top_k 3", len(labels))
			}
			prev := 2.0
			for _, l := range labels {
				p := l.(map[string]any)["probability"].(float64)
				if p > prev {
					t.Errorf("labels not sorted by probability: %v", labels)
				}
				prev = p
			}
			if _, ok := res["duration_ms"].(float64); !ok {
				t.Errorf("no per-model duration_ms in %v", res)
			}
			if _, ok := r.json["duration_ms"].(float64); !ok {
				t.Errorf("no total duration_ms")
			}
		})
	}
}

// TestInputFormsAgree sends the same image and point through every input
// form; the answers must be identical.
func TestInputFormsAgree(t *testing.T) {
	img := twoColourPNG(t, 12, 8)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "stored"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "stored", "img.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(img)
	}))
	defer origin.Close()
	h := newHandler(t, web.Options{
		Classifiers:   []*classify.Classifier{rgbClassifier("rgb", nil), rgbClassifier("rgb2", nil)},
		ImageRoot:     root,
		URLInputs:     true,
		URLAllowHosts: []string{strings.TrimPrefix(origin.URL, "http://")}, // 127.0.0.1:port
	})

	raw := func() response {
		r := httptest.NewRequest(http.MethodPost, "/v1/classify?x=4&y=3&models=rgb,rgb2&top_k=2", bytes.NewReader(img))
		r.Header.Set("Content-Type", "image/png")
		return do(t, h, r)
	}
	jsonReq := func(image map[string]string) func() response {
		return func() response {
			return postJSON(t, h, map[string]any{"image": image, "x": 4, "y": 3, "models": []string{"rgb", "rgb2"}, "top_k": 2})
		}
	}
	forms := []struct {
		name string
		send func() response
	}{
		{"multipart", func() response {
			return postMultipart(t, h, img, map[string]string{"x": "4", "y": "3", "models": "rgb,rgb2", "top_k": "2"})
		}},
		{"raw", raw},
		{"b64", jsonReq(map[string]string{"b64": base64.StdEncoding.EncodeToString(img)})},
		{"b64, models as one string", func() response {
			return postJSON(t, h, map[string]any{"image": map[string]string{"b64": base64.StdEncoding.EncodeToString(img)}, "x": 4, "y": 3, "models": "rgb, rgb2", "top_k": 2})
		}},
		{"url", jsonReq(map[string]string{"url": origin.URL + "/img.png"})},
		{"path", jsonReq(map[string]string{"path": "stored/img.png"})},
	}
	var want string
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			r := f.send()
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			// Timings differ between requests; everything else must not.
			delete(r.json, "duration_ms")
			res := r.json["results"].(map[string]any)
			for name, v := range res {
				delete(v.(map[string]any), "duration_ms")
				if n := len(v.(map[string]any)["labels"].([]any)); n != 2 {
					t.Errorf("%s: %d labels, want top_k 2", name, n)
				}
			}
			if len(res) != 2 {
				t.Errorf("results for %d models, want 2", len(res))
			}
			b, _ := json.Marshal(r.json)
			if want == "" {
				want = string(b)
			} else if string(b) != want {
				t.Errorf("answer differs from multipart:\n got %s\nwant %s", b, want)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	img := twoColourPNG(t, 8, 4)
	truncated := img[:len(img)/2]
	h := newHandler(t, web.Options{Classifiers: []*classify.Classifier{
		rgbClassifier("rgb", nil),
		{Name: "broken", Engine: "go", Err: fmt.Errorf("model broken: %w", os.ErrNotExist)},
	}})
	raw := func(ct string, body []byte, query string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/classify"+query, bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		return r
	}
	jsonBody := func(s string) *http.Request { return raw("application/json", []byte(s), "") }
	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"point outside", raw("image/png", img, "?x=8&y=0"), 422, "point_outside_image"},
		{"negative point", raw("image/png", img, "?x=-1&y=0"), 422, "point_outside_image"},
		{"only x", raw("image/png", img, "?x=1"), 400, "bad_request"},
		{"x not a number", raw("image/png", img, "?x=a&y=1"), 400, "bad_request"},
		{"x infinite", raw("image/png", img, "?x=Inf&y=1"), 400, "bad_request"},
		{"top_k too big", raw("image/png", img, "?top_k=1000"), 400, "bad_request"},
		{"top_k not int", raw("image/png", img, "?top_k=two"), 400, "bad_request"},
		{"unknown model", raw("image/png", img, "?models=rgb,nope"), 404, "model_not_found"},
		{"failed model only", raw("image/png", img, "?models=broken"), 503, "model_unavailable"},
		{"not an image", raw("image/png", []byte("hello, world"), ""), 415, "unsupported_image"},
		{"empty body", raw("image/png", nil, ""), 415, "unsupported_image"},
		{"truncated png", raw("image/png", truncated, ""), 422, "corrupt_image"},
		{"text content type", raw("text/plain", img, ""), 415, "unsupported_media_type"},
		{"no content type", raw("", img, ""), 415, "unsupported_media_type"},
		{"bad json", jsonBody(`{"image":`), 400, "bad_request"},
		{"unknown json field", jsonBody(`{"image":{"b64":"AA=="},"colour":1}`), 400, "bad_request"},
		{"two image sources", jsonBody(`{"image":{"b64":"AA==","path":"a.png"}}`), 400, "bad_request"},
		{"no image source", jsonBody(`{"image":{}}`), 400, "bad_request"},
		{"bad base64", jsonBody(`{"image":{"b64":"!!!"}}`), 400, "bad_request"},
		{"path disabled", jsonBody(`{"image":{"path":"a.png"}}`), 403, "forbidden"},
		{"url disabled", jsonBody(`{"image":{"url":"http://example.com/a.png"}}`), 403, "forbidden"},
		{"multipart without image", func() *http.Request {
			body, ct := multipartBody(t, nil, map[string]string{"x": "1"})
			r := httptest.NewRequest(http.MethodPost, "/v1/classify", body)
			r.Header.Set("Content-Type", ct)
			return r
		}(), 400, "bad_request"},
		{"multipart without boundary", raw("multipart/form-data", img, ""), 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, h, tt.req)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, r.errorCode(), tt.status, tt.code, r.body)
			}
			mustOK(t, h)
		})
	}
}

func TestSharedImages(t *testing.T) {
	dir := os.Getenv("TEST_IMAGES_DIR")
	if dir == "" {
		t.Skip("set TEST_IMAGES_DIR=/work/shared/images to run tests on the shared photos")
	}
	h := newHandler(t, web.Options{})
	tests := []struct {
		file   string
		status int
		code   string
	}{
		{"truncated.jpg", 422, "corrupt_image"},
		{"grace_hopper.jpg", 200, ""},
		{"coffee.png", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			img, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r := postMultipart(t, h, img, nil)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, r.errorCode(), tt.status, tt.code, r.body)
			}
			mustOK(t, h)
		})
	}
}

func TestPartialFailure(t *testing.T) {
	failing := rgbClassifier("failing", func(context.Context, map[string]*classify.Tensor, []string) ([]*classify.Tensor, error) {
		return nil, fmt.Errorf("kernel: %w", classify.ErrUnsupportedOp)
	})
	panicking := rgbClassifier("panicking", func(context.Context, map[string]*classify.Tensor, []string) ([]*classify.Tensor, error) {
		panic("kernel bug")
	})
	h := newHandler(t, web.Options{Classifiers: []*classify.Classifier{rgbClassifier("rgb", nil), failing, panicking}})
	img := twoColourPNG(t, 8, 4)

	r := postMultipart(t, h, img, map[string]string{"models": "rgb,failing,panicking", "x": "0", "y": "0"})
	if r.status != http.StatusOK || r.topLabel("rgb") != "red" {
		t.Fatalf("one good model: got %d %s", r.status, r.body)
	}
	res := r.json["results"].(map[string]any)
	for name, code := range map[string]string{"failing": "inference_failed", "panicking": "internal"} {
		e, _ := res[name].(map[string]any)["error"].(map[string]any)
		if e["code"] != code || e["message"] == "" {
			t.Errorf("%s: entry %v, want error code %s", name, res[name], code)
		}
	}

	r = postMultipart(t, h, img, map[string]string{"models": "failing,panicking"})
	if r.status != http.StatusInternalServerError || r.errorCode() != "inference_failed" {
		t.Fatalf("all failed: got %d %q, want 500 inference_failed: %s", r.status, r.errorCode(), r.body)
	}
	if res := r.json["results"].(map[string]any); len(res) != 2 {
		t.Errorf("all failed: per-model details missing: %s", r.body)
	}
	mustOK(t, h)
}

func TestBodyLimit(t *testing.T) {
	img := twoColourPNG(t, 64, 64) // a few hundred bytes
	h := newHandler(t, web.Options{MaxBodyBytes: int64(len(img)) + 512})
	big := append(bytes.Clone(img), make([]byte, 1024)...)
	tests := []struct {
		name    string
		chunked bool
		body    []byte
		status  int
	}{
		{"declared length", false, big, 413},
		{"chunked", true, big, 413},
		{"just fits", false, img, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := multipartBody(t, tt.body, nil)
			var rd io.Reader = body
			if tt.chunked {
				rd = io.MultiReader(body) // hides the length from NewRequest
			}
			r := httptest.NewRequest(http.MethodPost, "/v1/classify", rd)
			if tt.chunked {
				r.ContentLength = -1
			}
			r.Header.Set("Content-Type", ct)
			resp := do(t, h, r)
			if resp.status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tt.status, resp.body)
			}
			if tt.status == 413 && resp.errorCode() != "body_too_large" {
				t.Errorf("code %q", resp.errorCode())
			}
			mustOK(t, h)
		})
	}
}

func TestPixelLimit(t *testing.T) {
	h := newHandler(t, web.Options{MaxPixels: 100 * 100})
	tests := []struct {
		name   string
		img    []byte
		status int
	}{
		{"under", twoColourPNG(t, 100, 100), 200},
		{"over", twoColourPNG(t, 101, 100), 413},
		// A header claiming 100000x100000 pixels with no data: refused
		// from the header, before any decoding or allocation.
		{"bomb header", pngHeader(100000, 100000), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postMultipart(t, h, tt.img, nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 413 && r.errorCode() != "image_too_large" {
				t.Errorf("code %q", r.errorCode())
			}
			mustOK(t, h)
		})
	}
}

// pngHeader is a PNG signature and IHDR chunk for a w x h RGBA image.
func pngHeader(w, h uint32) []byte {
	ihdr := []byte{0, 0, 0, 13, 'I', 'H', 'D', 'R',
		byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w),
		byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h),
		8, 6, 0, 0, 0}
	crc := crc32.ChecksumIEEE(ihdr[4:])
	ihdr = append(ihdr, byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc))
	return append([]byte("\x89PNG\r\n\x1a\n"), ihdr...)
}

func TestTimeout(t *testing.T) {
	var stopped atomic.Bool
	slow := rgbClassifier("slow", func(ctx context.Context, _ map[string]*classify.Tensor, _ []string) ([]*classify.Tensor, error) {
		select {
		case <-ctx.Done():
			stopped.Store(true)
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return nil, errors.New("the request deadline never reached the model")
		}
	})
	h := newHandler(t, web.Options{RequestTimeout: 50 * time.Millisecond,
		Classifiers: []*classify.Classifier{rgbClassifier("rgb", nil), slow}})
	r := postMultipart(t, h, twoColourPNG(t, 8, 4), map[string]string{"models": "slow"})
	if r.status != http.StatusGatewayTimeout || r.errorCode() != "timeout" {
		t.Fatalf("got %d %q, want 504 timeout: %s", r.status, r.errorCode(), r.body)
	}
	if !stopped.Load() {
		t.Error("the model was not told to stop")
	}
	mustOK(t, h)
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := newHandler(t, web.Options{RateLimit: 1, RateBurst: 2, Now: clock})
	img := twoColourPNG(t, 8, 4)
	send := func(ip string) response {
		body, ct := multipartBody(t, img, nil)
		r := httptest.NewRequest(http.MethodPost, "/v1/classify", body)
		r.Header.Set("Content-Type", ct)
		r.RemoteAddr = ip + ":1234"
		// A spoofed header must not buy a fresh bucket.
		r.Header.Set("X-Forwarded-For", fmt.Sprintf("10.0.0.%d", now.Nanosecond()%200))
		now = now.Add(time.Nanosecond)
		return do(t, h, r)
	}
	steps := []struct {
		name    string
		ip      string
		advance time.Duration
		status  int
	}{
		{"burst 1", "192.0.2.1", 0, 200},
		{"burst 2", "192.0.2.1", 0, 200},
		{"over", "192.0.2.1", 0, 429},
		{"other client unaffected", "192.0.2.2", 0, 200},
		{"still over", "192.0.2.1", 500 * time.Millisecond, 429},
		{"refilled", "192.0.2.1", 600 * time.Millisecond, 200},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		r := send(st.ip)
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.body)
		}
		if st.status == 429 {
			if r.errorCode() != "rate_limited" || r.header.Get("Retry-After") != "1" {
				t.Fatalf("%s: code %q Retry-After %q", st.name, r.errorCode(), r.header.Get("Retry-After"))
			}
		}
	}
	// Health checks are never rate limited.
	for range 5 {
		if r := do(t, h, httptest.NewRequest(http.MethodGet, "/healthz", nil)); r.status != 200 {
			t.Fatalf("healthz: %d", r.status)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	h := newHandler(t, web.Options{APIKeys: []string{"s3cret", "other"}})
	tests := []struct {
		name   string
		path   string
		header map[string]string
		status int
	}{
		{"no key", "/v1/models", nil, 401},
		{"wrong key", "/v1/models", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"prefix of key", "/v1/models", map[string]string{"X-API-Key": "s3cre"}, 401},
		{"bearer", "/v1/models", map[string]string{"Authorization": "Bearer s3cret"}, 200},
		{"x-api-key", "/v1/models", map[string]string{"X-API-Key": "other"}, 200},
		{"classify without key", "/v1/classify", nil, 401},
		{"healthz open", "/healthz", nil, 200},
		{"readyz open", "/readyz", nil, 200},
		{"form open", "/", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if tt.path == "/v1/classify" {
				method = http.MethodPost
			}
			r := httptest.NewRequest(method, tt.path, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			resp := do(t, h, r)
			if resp.status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tt.status, resp.body)
			}
			if tt.status == 401 && (resp.errorCode() != "unauthorized" || resp.header.Get("WWW-Authenticate") == "") {
				t.Errorf("401 without error code or WWW-Authenticate: %v %s", resp.header, resp.body)
			}
		})
	}
}

func TestModelsAndHealth(t *testing.T) {
	broken := &classify.Classifier{Name: "theme", Engine: "go", Input: "input", Output: "out", TopK: 5,
		Err:        fmt.Errorf("model theme: graph models/theme/frozen_graph.pb: %w", os.ErrNotExist),
		Preprocess: classify.Preprocess{CropFraction: 0.8, Width: 128, Height: 128, Range: []float32{-1, 1}}}
	tests := []struct {
		name        string
		cs          []*classify.Classifier
		readyStatus int
		ready       string
	}{
		{"all ready", []*classify.Classifier{rgbClassifier("rgb", nil)}, 200, "ready"},
		{"degraded", []*classify.Classifier{broken, rgbClassifier("rgb", nil)}, 200, "degraded"},
		{"none", []*classify.Classifier{broken}, 503, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, web.Options{Classifiers: tt.cs})
			r := do(t, h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if r.status != tt.readyStatus || r.json["status"] != tt.ready {
				t.Fatalf("readyz: %d %s", r.status, r.body)
			}
			if len(tt.cs) > 1 || tt.cs[0] == broken {
				f, _ := r.json["failed"].(map[string]any)
				theme, _ := f["theme"].(map[string]any)
				if theme["code"] != "file_not_found" || theme["message"] == "" {
					t.Errorf("readyz does not say why theme failed: %s", r.body)
				}
				// /readyz is open to anyone: no paths.
				if strings.Contains(string(r.body), "frozen_graph.pb") || strings.Contains(string(r.body), "/") {
					t.Errorf("readyz reveals the load error: %s", r.body)
				}
			}
			if r := do(t, h, httptest.NewRequest(http.MethodGet, "/healthz", nil)); r.status != 200 || r.json["status"] != "ok" {
				t.Errorf("healthz: %d %s", r.status, r.body)
			}
			r = do(t, h, httptest.NewRequest(http.MethodGet, "/v1/models", nil))
			models := r.json["models"].([]any)
			if r.status != 200 || len(models) != len(tt.cs) {
				t.Fatalf("models: %d %s", r.status, r.body)
			}
			for i, m := range models {
				m := m.(map[string]any)
				c := tt.cs[i]
				if m["name"] != c.Name || m["top_k"] != float64(c.TopK) || m["labels"] != float64(len(c.Labels)) {
					t.Errorf("model %d: %v", i, m)
				}
				pre := m["preprocess"].(map[string]any)
				if pre["width"] != float64(c.Preprocess.Width) {
					t.Errorf("model %d preprocess %v", i, pre)
				}
				crop := m["crop"].(map[string]any)
				if c.Ready() {
					in := m["input"].(map[string]any)
					if m["status"] != "ready" || in["dtype"] != "float32" || fmt.Sprint(in["shape"]) != "[-1 3 3 3]" || crop["kind"] != "pixels" || crop["pixels"] != 3.0 {
						t.Errorf("ready model %v", m)
					}
				} else {
					e, _ := m["error"].(map[string]any)
					if m["status"] != "failed" || e["code"] != "file_not_found" || strings.Contains(fmt.Sprint(e["message"]), "frozen_graph.pb") || crop["kind"] != "fraction" || crop["fraction"] != 0.8 {
						t.Errorf("failed model %v", m)
					}
				}
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	h := newHandler(t, web.Options{})
	tests := []struct {
		method, path string
		status       int
		contentType  string
		code         string
	}{
		{"GET", "/", 200, "text/html", ""},
		{"GET", "/app.js", 200, "javascript", ""},
		{"GET", "/style.css", 200, "text/css", ""},
		{"GET", "/nope", 404, "application/json", "not_found"},
		{"GET", "/v1/classify", 405, "application/json", "method_not_allowed"},
		{"DELETE", "/v1/models", 405, "application/json", "method_not_allowed"},
		{"GET", "/metrics", 200, "text/plain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := do(t, h, httptest.NewRequest(tt.method, tt.path, nil))
			if r.status != tt.status || !strings.Contains(r.header.Get("Content-Type"), tt.contentType) || r.errorCode() != tt.code {
				t.Fatalf("got %d %q %q, want %d %q %q", r.status, r.header.Get("Content-Type"), r.errorCode(), tt.status, tt.contentType, tt.code)
			}
		})
	}
}

func TestMetricsAndLogs(t *testing.T) {
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	h := newHandler(t, web.Options{Registry: reg, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	mustOK(t, h)
	postMultipart(t, h, []byte("not an image"), nil)
	do(t, h, httptest.NewRequest("BREW", "/v1/classify", nil))

	r := do(t, h, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`classifyd_http_requests_total{code="200",method="POST",route="/v1/classify"} 1`,
		`classifyd_http_requests_total{code="415",method="POST",route="/v1/classify"} 1`,
		`classifyd_inference_duration_seconds_count{model="rgb"} 1`,
		`classifyd_image_decode_duration_seconds_count 1`,
		`classifyd_http_requests_in_flight 1`, // the /metrics request itself
		`classifyd_model_ready{model="rgb"} 1`,
		`classifyd_http_requests_total{code="405",method="other",route="unmatched"} 1`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line not JSON: %q", l)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 4 {
		t.Fatalf("%d request log lines, want 4:\n%s", len(lines), logs.String())
	}
	ok := lines[0]
	for _, k := range []string{"method", "route", "status", "bytes", "client", "duration_ms", "models", "source"} {
		if _, found := ok[k]; !found {
			t.Errorf("request log line lacks %q: %v", k, ok)
		}
	}
	if ok["route"] != "/v1/classify" || ok["status"] != 200.0 || ok["bytes"].(float64) <= 0 {
		t.Errorf("log line %v", ok)
	}
	if _, ok := ok["models"].(map[string]any)["rgb"].(float64); !ok {
		t.Errorf("log line lacks the rgb model's duration: %v", ok)
	}
	if bad := lines[1]; bad["status"] != 415.0 || !strings.Contains(fmt.Sprint(bad["error"]), "unsupported image") {
		t.Errorf("bad request log line %v", bad)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    web.Options
	}{
		{"duplicate names", web.Options{Classifiers: []*classify.Classifier{rgbClassifier("a", nil), rgbClassifier("a", nil)}}},
		{"missing image root", web.Options{ImageRoot: filepath.Join(t.TempDir(), "nope")}},
		{"bad CIDR", web.Options{URLInputs: true, URLAllowHosts: []string{"10.0.0.0/99"}}},
		{"negative rate", web.Options{RateLimit: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := web.New(tt.o); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	// Two handlers in one process must not collide on metrics.
	newHandler(t, web.Options{})
	newHandler(t, web.Options{})
}

func TestConcurrentRequests(t *testing.T) {
	srv := httptest.NewServer(newHandler(t, web.Options{}))
	defer srv.Close()
	img := twoColourPNG(t, 16, 16)
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			body, ct := multipartBody(t, img, map[string]string{"x": fmt.Sprint(i % 16), "y": "3"})
			resp, err := http.Post(srv.URL+"/v1/classify", ct, body)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var out struct {
				Results map[string]struct{ Labels []classify.Label } `json:"results"`
			}
			json.NewDecoder(resp.Body).Decode(&out)
			want := "red"
			if i%16 >= 8 {
				want = "green"
			}
			if resp.StatusCode != 200 || len(out.Results["rgb"].Labels) == 0 {
				errs <- fmt.Errorf("request %d: status %d", i, resp.StatusCode)
				return
			}
			if got := out.Results["rgb"].Labels[0].Label; got != want && i%16 != 7 && i%16 != 8 {
				errs <- fmt.Errorf("request %d: %s, want %s", i, got, want)
				return
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestMaxConcurrent(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	// The first run ignores its context and holds its slot until released,
	// as a stuck model would.
	sticky := rgbClassifier("rgb", func(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error) {
		if n := calls.Add(1); n <= 2 { // the first run of each handler below
			<-release
		}
		return meanRGB(ctx, in, out)
	})
	h := newHandler(t, web.Options{MaxConcurrent: 1, RequestTimeout: 200 * time.Millisecond,
		Classifiers: []*classify.Classifier{sticky}})
	img := twoColourPNG(t, 8, 4)
	first := make(chan response, 2)
	go func() { first <- postMultipart(t, h, img, nil) }()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	r := postMultipart(t, h, img, nil)
	if r.status != http.StatusGatewayTimeout || calls.Load() != 1 {
		t.Fatalf("second request while the only slot is taken: %d (model runs %d), want 504 without running: %s", r.status, calls.Load(), r.body)
	}
	// With a queue timeout shorter than the request's, the wait ends as
	// "overloaded, come back later" instead.
	queued := newHandler(t, web.Options{MaxConcurrent: 1, RequestTimeout: 5 * time.Second, QueueTimeout: 50 * time.Millisecond,
		Classifiers: []*classify.Classifier{sticky}})
	go func() { first <- postMultipart(t, queued, img, nil) }()
	for calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	r = postMultipart(t, queued, img, nil)
	if r.status != http.StatusServiceUnavailable || r.errorCode() != "overloaded" || r.header.Get("Retry-After") == "" {
		t.Fatalf("queued past queue_timeout: %d %q Retry-After %q: %s", r.status, r.errorCode(), r.header.Get("Retry-After"), r.body)
	}
	close(release)
	for range 2 {
		if r := <-first; r.status != http.StatusOK {
			t.Fatalf("first request of a handler: %d %s", r.status, r.body)
		}
	}
	mustOK(t, h)
	mustOK(t, queued)
}

// TestSlowBody: a client that sends half its body and stalls is cut off at
// the request timeout instead of holding a handler.
func TestSlowBody(t *testing.T) {
	srv := httptest.NewServer(newHandler(t, web.Options{RequestTimeout: 300 * time.Millisecond}))
	defer srv.Close()
	body, ct := multipartBody(t, twoColourPNG(t, 8, 4), nil)
	b, _ := io.ReadAll(body)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, len(b))
	conn.Write(b[:len(b)/2])
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the stalled request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("status %s, want 504", resp.Status)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v, the timeout is 300ms", d)
	}
	mustOK(t, srv.Config.Handler)
}
