package web_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/classifyd/classifyd/web"
)

// BenchmarkRealRequest is one /v1/classify request with the default
// models, through the whole handler (multipart body, decode, both models,
// JSON), for profiling the request path without a server:
//
//	go test -bench RealRequest -cpuprofile cpu.out ./web
func BenchmarkRealRequest(b *testing.B) {
	for _, name := range []string{"coffee.png", "grace_hopper.jpg"} {
		b.Run(name, func(b *testing.B) {
			cs := realClassifiers(b)
			h := newHandler(b, web.Options{Classifiers: cs})
			img, err := os.ReadFile(filepath.Join(os.Getenv("TEST_IMAGES_DIR"), name))
			if err != nil {
				b.Fatal(err)
			}
			body, ct := multipartBody(b, img, nil)
			raw, _ := io.ReadAll(body)
			b.SetBytes(int64(len(img)))
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(raw))
				r.Header.Set("Content-Type", ct)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
