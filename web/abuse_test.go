package web_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/web"
)

// The attacks of issue 7, each against small limits so they run fast. Every
// one checks the answer's size and status, the log line's length, and that
// a good request still works afterwards.

const (
	maxErrorBody = 4 << 10
	maxLogLine   = 4 << 10
)

// loggedHandler is newHandler with the log kept for inspection.
func loggedHandler(t *testing.T, o web.Options) (http.Handler, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	return newHandler(t, o), logs
}

// checkSmall fails when an error body or a log line is over its cap.
func checkSmall(t *testing.T, r response, logs *syncBuffer) {
	t.Helper()
	if r.status >= 400 && len(r.body) > maxErrorBody {
		t.Errorf("error body of %d bytes: %.200s…", len(r.body), r.body)
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if len(l) > maxLogLine {
			t.Errorf("log line of %d bytes: %.200s…", len(l), l)
		}
	}
}

func TestLongClientInputIsNotEchoed(t *testing.T) {
	root := t.TempDir()
	h, logs := loggedHandler(t, web.Options{MaxBodyBytes: 8 << 20, ImageRoot: root, URLInputs: true})
	img := base64.StdEncoding.EncodeToString(twoColourPNG(t, 8, 4))
	long := strings.Repeat("<", 1<<20)
	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"model name", map[string]any{"image": map[string]any{"b64": img}, "models": []string{long}}, 404, "model_not_found"},
		{"url", map[string]any{"image": map[string]any{"url": "http://" + long + "/x.png"}}, 502, "fetch_failed"},
		{"path", map[string]any{"image": map[string]any{"path": long}}, 403, "forbidden"},
		{"unknown field", map[string]any{"image": map[string]any{"b64": img}, long: 1}, 400, "bad_request"},
		{"coordinate", map[string]any{"image": map[string]any{"b64": img}, "x": long}, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postJSON(t, h, tt.body)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Fatalf("got %d %q, want %d %q: %.300s", r.status, r.errorCode(), tt.status, tt.code, r.body)
			}
			checkSmall(t, r, logs)
			mustOK(t, h)
		})
	}
	// The message names the input's length, so the client knows what
	// was wrong with it.
	r := postJSON(t, h, tests[0].body)
	if !strings.Contains(r.errorMessage(), "(1048576 bytes)") {
		t.Errorf("message does not give the name's length: %s", r.body)
	}
	// Long multipart fields and raw-body query parameters.
	r = postMultipart(t, h, twoColourPNG(t, 8, 4), map[string]string{"models": strings.Repeat("m", 4000)})
	if r.status != 404 || len(r.body) > maxErrorBody {
		t.Errorf("multipart model: %d, %d bytes", r.status, len(r.body))
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/classify?x="+strings.Repeat("9a", 20000), bytes.NewReader(twoColourPNG(t, 8, 4)))
	req.Header.Set("Content-Type", "image/png")
	r = do(t, h, req)
	if r.status != 400 || len(r.body) > maxErrorBody {
		t.Errorf("raw query: %d, %d bytes", r.status, len(r.body))
	}
	req = httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(twoColourPNG(t, 8, 4)))
	req.Header.Set("Content-Type", "text/"+strings.Repeat("x", 60000))
	r = do(t, h, req)
	if r.status != 415 || len(r.body) > maxErrorBody {
		t.Errorf("content type: %d, %d bytes", r.status, len(r.body))
	}
	r = do(t, h, httptest.NewRequest(http.MethodGet, "/"+strings.Repeat("p", 60000), nil))
	if r.status != 404 || len(r.body) > maxErrorBody {
		t.Errorf("long path: %d, %d bytes", r.status, len(r.body))
	}
	checkSmall(t, r, logs)
}

// A stored file that is not an image (here a copy of a password file) is
// refused without a byte of it in the answer.
func TestFileContentIsNotEchoed(t *testing.T) {
	root := t.TempDir()
	secret := "root:x:0:0:root:/root:/bin/bash\n"
	if err := os.WriteFile(filepath.Join(root, "passwd"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, secret) }))
	defer origin.Close()
	h, logs := loggedHandler(t, web.Options{ImageRoot: root, URLInputs: true, URLAllowHosts: []string{strings.TrimPrefix(origin.URL, "http://")}})
	for _, im := range []map[string]string{{"path": "passwd"}, {"url": origin.URL + "/passwd"}} {
		r := postJSON(t, h, map[string]any{"image": im})
		if r.status != 415 || r.errorCode() != "unsupported_image" {
			t.Fatalf("%v: %d %s", im, r.status, r.body)
		}
		if strings.Contains(string(r.body), "root") || strings.Contains(logs.String(), "root:x") {
			t.Errorf("%v: file content echoed: %s", im, r.body)
		}
	}
	mustOK(t, h)
}

// bmpHeader is a 54-byte 24-bit BMP header claiming w x h pixels.
func bmpHeader(w, h int32) []byte {
	b := make([]byte, 54)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[10:], 54)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], 24)
	return b
}

// rgb16PNG is a w x h 16-bit RGB PNG: tiny on disk, w*h*4 bytes decoded
// (8-bit NRGBA; image/png would make it 8).
func rgb16PNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA64(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 8 {
		img.Pix[i+6], img.Pix[i+7] = 0xff, 0xff
	}
	img.SetNRGBA64(1, 1, color.NRGBA64{R: 1234, A: 0xffff})
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeBombsAreCheap(t *testing.T) {
	h, logs := loggedHandler(t, web.Options{MemoryBudget: 16 << 20})
	tests := []struct {
		name   string
		data   []byte
		status int
		code   string
	}{
		// 6000x6000 declared, 54 bytes sent: a truncated file, refused
		// before anything is allocated.
		{"bmp header", bmpHeader(6000, 6000), 422, "corrupt_image"},
		// 2100x4200 16-bit: a few KB on disk, and 17.6 MB to decode even
		// only down to the centre point's rows: more than the whole
		// budget.
		{"16-bit png over the budget", rgb16PNG(t, 2100, 4200), 413, "input_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			req := httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(tt.data))
			req.Header.Set("Content-Type", "application/octet-stream")
			r := do(t, h, req)
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, r.errorCode(), tt.status, tt.code, r.body)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusing took %v", d)
			}
			checkSmall(t, r, logs)
			mustOK(t, h)
		})
	}
}

// stallingBody sends head, then blocks until release is closed, then EOF
// (declaring the full length, so the server reserves it all up front).
type stallingBody struct {
	head    []byte
	release chan struct{}
	sent    bool
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, b.head), nil
	}
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// While one slow upload holds most of the budget, a second request that
// needs more than is left waits queue_timeout and gets 503 with
// Retry-After; one that needs more than the whole budget gets 413 at once;
// a small one still goes through.
func TestMemoryBudgetBoundsBodies(t *testing.T) {
	h := newHandler(t, web.Options{MemoryBudget: 2 << 20, MaxBodyBytes: 4 << 20, QueueTimeout: 100 * time.Millisecond})
	release := make(chan struct{})
	holder := make(chan response, 1)
	go func() {
		req := httptest.NewRequest(http.MethodPost, "/v1/classify", &stallingBody{head: []byte("\x89PNG"), release: release})
		req.ContentLength = 1536 << 10
		req.Header.Set("Content-Type", "image/png")
		holder <- do(t, h, req)
	}()
	time.Sleep(50 * time.Millisecond) // the holder reserves its 1.5 MiB

	big := make([]byte, 600<<10)
	req := httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(big))
	req.Header.Set("Content-Type", "image/png")
	r := do(t, h, req)
	if r.status != 503 || r.errorCode() != "overloaded" || r.header.Get("Retry-After") == "" {
		t.Fatalf("second body while the budget is held: %d %q Retry-After %q: %s", r.status, r.errorCode(), r.header.Get("Retry-After"), r.body)
	}
	huge := make([]byte, 3<<20)
	req = httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(huge))
	req.Header.Set("Content-Type", "image/png")
	if r := do(t, h, req); r.status != 413 {
		t.Fatalf("a body over the whole budget: %d %s", r.status, r.body)
	}
	mustOK(t, h) // a few hundred bytes still fit
	close(release)
	if r := <-holder; r.status != 400 {
		t.Fatalf("the cut-off upload: %d %s", r.status, r.body)
	}
	// Everything is given back: the big body fits now (and is no image).
	req = httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(big))
	req.Header.Set("Content-Type", "image/png")
	if r := do(t, h, req); r.status != 415 {
		t.Fatalf("after the release: %d %s", r.status, r.body)
	}
}

// Many concurrent requests of every kind against a small budget: each is
// answered (200, 413, 415, 422 or 503), none hangs, and the service still
// answers afterwards. Under -race this also checks the accounting's
// locking.
func TestMemoryBudgetUnderConcurrency(t *testing.T) {
	h := newHandler(t, web.Options{MemoryBudget: 2 << 20, MaxBodyBytes: 1 << 20, QueueTimeout: 200 * time.Millisecond, RequestTimeout: 5 * time.Second})
	good := twoColourPNG(t, 64, 32)
	bodies := [][]byte{good, make([]byte, 900<<10), bmpHeader(6000, 6000), rgb16PNG(t, 500, 500), good}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Content-Type", "image/png")
			r := do(t, h, req)
			switch r.status {
			case 200, 413, 415, 422, 503:
			default:
				t.Errorf("request %d: %d %s", i, r.status, r.body)
			}
		})
	}
	wg.Wait()
	mustOK(t, h)
}

func TestCompressedBodies(t *testing.T) {
	img := twoColourPNG(t, 8, 4)
	compress := func(enc string, data []byte) []byte {
		var b bytes.Buffer
		var w io.WriteCloser
		switch enc {
		case "gzip":
			w = gzip.NewWriter(&b)
		case "deflate":
			w = zlib.NewWriter(&b)
		case "raw-deflate":
			w, _ = flate.NewWriter(&b, flate.BestCompression)
		}
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	h, logs := loggedHandler(t, web.Options{MaxBodyBytes: 1 << 20})
	post := func(enc string, body []byte, ct string) response {
		req := httptest.NewRequest(http.MethodPost, "/v1/classify?x=1&y=1", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if enc == "raw-deflate" {
			enc = "deflate"
		}
		req.Header.Set("Content-Encoding", enc)
		return do(t, h, req)
	}
	for _, enc := range []string{"gzip", "deflate", "raw-deflate"} {
		if r := post(enc, compress(enc, img), "image/png"); r.status != 200 || r.topLabel("rgb") != "red" {
			t.Errorf("%s image: %d %s", enc, r.status, r.body)
		}
	}
	js, _ := json.Marshal(map[string]any{"image": map[string]string{"b64": base64.StdEncoding.EncodeToString(img)}, "x": 1, "y": 1})
	if r := post("gzip", compress("gzip", js), "application/json"); r.status != 200 || r.topLabel("rgb") != "red" {
		t.Errorf("gzip JSON: %d %s", r.status, r.body)
	}
	// A bomb: 64 MiB of zeros in about 64 KiB; the cap is on what it
	// inflates to.
	bomb := compress("gzip", make([]byte, 64<<20))
	if r := post("gzip", bomb, "image/png"); r.status != 413 || r.errorCode() != "body_too_large" {
		t.Errorf("gzip bomb: %d %s", r.status, r.body)
	}
	if r := post("br", img, "image/png"); r.status != 415 {
		t.Errorf("brotli: %d %s", r.status, r.body)
	}
	if r := post("gzip, gzip", img, "image/png"); r.status != 415 {
		t.Errorf("stacked encodings: %d %s", r.status, r.body)
	}
	if r := post("gzip", []byte("not gzip at all"), "image/png"); r.status != 400 {
		t.Errorf("corrupt gzip: %d %s", r.status, r.body)
	}
	if r := post("gzip", compress("gzip", img)[:20], "image/png"); r.status != 400 {
		t.Errorf("truncated gzip: %d %s", r.status, r.body)
	}
	checkSmall(t, response{}, logs)
	mustOK(t, h)
}

func TestHeadOnGetRoutes(t *testing.T) {
	h := newHandler(t, web.Options{})
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/v1/models", "/", "/app.js"} {
		r := do(t, h, httptest.NewRequest(http.MethodHead, path, nil))
		if r.status != 200 {
			t.Errorf("HEAD %s: %d", path, r.status)
		}
	}
	if r := do(t, h, httptest.NewRequest(http.MethodHead, "/v1/classify", nil)); r.status != 405 {
		t.Errorf("HEAD /v1/classify: %d", r.status)
	}
}

// A client that hangs up while the models run is a 499 in the log and the
// metrics, not an ERROR and not a 5xx.
func TestClientGoneIs499(t *testing.T) {
	started := make(chan struct{})
	slow := rgbClassifier("rgb", func(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	h, logs := loggedHandler(t, web.Options{Classifiers: []*classify.Classifier{slow}})
	ctx, cancel := context.WithCancel(context.Background())
	body, ct := multipartBody(t, twoColourPNG(t, 8, 4), nil)
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/classify", body)
	req.Header.Set("Content-Type", ct)
	done := make(chan response, 1)
	go func() { done <- do(t, h, req) }()
	<-started
	cancel()
	r := <-done
	if r.status != 499 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) || strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("a client hanging up is logged as a failure: %s", logs)
	}
	if !strings.Contains(logs.String(), `"status":499`) {
		t.Errorf("log does not say 499: %s", logs)
	}
	m := do(t, h, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `classifyd_http_requests_total{code="499",method="POST",route="/v1/classify"} 1`; !strings.Contains(string(m.body), want) {
		t.Errorf("metrics lack %s", want)
	}
}

// FuzzClassifyJSON sends arbitrary JSON bodies: every answer is a small
// JSON body with a status the API defines, never a 500 or a panic.
//
//	go test -fuzz FuzzClassifyJSON ./web
func FuzzClassifyJSON(f *testing.F) {
	img := base64.StdEncoding.EncodeToString(twoColourPNG(f, 8, 4))
	for _, seed := range []string{
		`{"image":{"b64":"` + img + `"},"x":1,"y":1}`,
		`{"image":{"b64":"` + img + `"},"models":"rgb","top_k":2}`,
		`{"image":{"b64":"data:image/png;base64,` + img + `"},"models":["rgb"]}`,
		`{"image":{"b64":"a\/b"}}`,
		`{"image":{"path":"x"}}`, `{"image":{"url":"http://[::1]/"}}`, `{"image":{}}`, `{"image":null}`,
		`{"x":1e400}`, `[]`, `"x"`, `{"image":{"b64":1}}`, `{"models":[1]}`,
	} {
		f.Add([]byte(seed))
	}
	h := newHandler(f, web.Options{MaxBodyBytes: 1 << 20, ImageRoot: f.TempDir(), URLInputs: true, URLTimeout: 50 * time.Millisecond})
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r := do(t, h, req)
		switch r.status {
		case 200, 400, 403, 404, 413, 415, 422, 502, 504:
		default:
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		}
		if r.status != 200 && (len(r.body) > maxErrorBody || r.errorCode() == "") {
			t.Fatalf("error body %q for %q", r.body, body)
		}
	})
}

// A JPEG whose header is fine but whose scan is cut short fails while the
// models decode their parts: still the client's 422, not a 500.
func TestTruncatedScanIs422(t *testing.T) {
	var b bytes.Buffer
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	if err := jpegEncode(&b, img); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()[:b.Len()*3/4]
	h := newHandler(t, web.Options{})
	req := httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(data))
	req.Header.Set("Content-Type", "image/jpeg")
	if r := do(t, h, req); r.status != 422 || r.errorCode() != "corrupt_image" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	mustOK(t, h)
}
