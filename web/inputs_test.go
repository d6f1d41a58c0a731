package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/classifyd/classifyd/web"
)

func TestPathInputs(t *testing.T) {
	img := twoColourPNG(t, 8, 4)
	base := t.TempDir()
	root := filepath.Join(base, "root")
	mustWrite := func(p string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(filepath.Join(root, "a", "cat.png"), img)
	mustWrite(filepath.Join(base, "secret.png"), img) // outside the root
	mustWrite(filepath.Join(root, "big.png"), append(img, make([]byte, 4096)...))
	if err := os.Symlink(filepath.Join(base, "secret.png"), filepath.Join(root, "escape.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(root, "up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a/cat.png", filepath.Join(root, "inside.png")); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, web.Options{ImageRoot: root, MaxBodyBytes: int64(len(img)) + 1024})
	tests := []struct {
		path   string
		status int
		code   string
	}{
		{"a/cat.png", 200, ""},
		{"a/../a/cat.png", 200, ""},
		{"inside.png", 200, ""}, // a symlink that stays inside is fine
		{"../secret.png", 403, "forbidden"},
		{"a/../../secret.png", 403, "forbidden"},
		{"escape.png", 403, "forbidden"},
		{"up/secret.png", 403, "forbidden"},
		{filepath.Join(base, "secret.png"), 403, "forbidden"},
		{"/etc/passwd", 403, "forbidden"},
		{"a", 403, "forbidden"}, // a directory
		{"a/missing.png", 404, "not_found"},
		{"big.png", 413, "input_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := postJSON(t, h, map[string]any{"image": map[string]string{"path": tt.path}, "x": 1, "y": 1})
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, r.errorCode(), tt.status, tt.code, r.body)
			}
			if tt.status == 200 && r.topLabel("rgb") != "red" {
				t.Errorf("wrong answer %s", r.body)
			}
			if !strings.Contains(tt.path, base) && strings.Contains(string(r.body), base) {
				t.Errorf("the answer reveals the server's directories: %s", r.body)
			}
			mustOK(t, h)
		})
	}
}

func TestURLInputs(t *testing.T) {
	img := twoColourPNG(t, 8, 4)
	mux := http.NewServeMux()
	mux.HandleFunc("/img.png", func(w http.ResponseWriter, r *http.Request) { w.Write(img) })
	mux.HandleFunc("/big.png", func(w http.ResponseWriter, r *http.Request) {
		w.Write(append(img, make([]byte, 8192)...))
	})
	mux.HandleFunc("/chunked.png", func(w http.ResponseWriter, r *http.Request) {
		// Flushing before the end hides the length, so only the reader's
		// cap can stop it.
		w.Write(img)
		w.(http.Flusher).Flush()
		w.Write(make([]byte, 8192))
	})
	mux.HandleFunc("/slow.png", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/missing.png", http.NotFound)
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/once", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/img.png", http.StatusFound) })
	mux.HandleFunc("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/x.png", http.StatusFound)
	})
	origin := httptest.NewServer(mux)
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	port := u.Port()
	// Through the name "localhost" (allow-listed by name) a redirect to
	// 127.0.0.1 must still be checked on its own.
	mux.HandleFunc("/to-ip", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:"+port+"/img.png", http.StatusFound)
	})

	opts := func(allow ...string) web.Options {
		return web.Options{URLInputs: true, URLAllowHosts: allow, MaxURLBytes: int64(len(img)) + 1024,
			URLTimeout: time.Second, MaxRedirects: 2} // generous: fetches that must succeed run under -race on busy CI machines; /slow.png stalls 5s
	}
	allowed := newHandler(t, opts("127.0.0.1:"+port))
	byCIDR := newHandler(t, opts("127.0.0.0/8:"+port))
	byName := newHandler(t, opts("localhost:"+port))
	// Entries without a port open only the scheme's default port (80
	// here), never the test server's.
	portless := newHandler(t, opts("127.0.0.1", "127.0.0.0/8", "localhost"))
	// The other server on the same host is a closed or different port.
	other := httptest.NewServer(mux)
	otherPort := func() string { u, _ := url.Parse(other.URL); return u.Port() }()
	other.Close() // now a closed port: refused must look like any failure
	mux.HandleFunc("/to-other-port", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:"+otherPort+"/img.png", http.StatusFound)
	})
	closedAllowed := newHandler(t, opts("127.0.0.1:"+otherPort))
	notAllowed := newHandler(t, opts())
	tests := []struct {
		name   string
		h      http.Handler
		url    string
		status int
		code   string
	}{
		{"allow-listed ip", allowed, origin.URL + "/img.png", 200, ""},
		{"allow-listed cidr", byCIDR, origin.URL + "/img.png", 200, ""},
		{"allow-listed name", byName, "http://localhost:" + port + "/img.png", 200, ""},
		{"one redirect", allowed, origin.URL + "/once", 200, ""},
		{"loopback refused", notAllowed, origin.URL + "/img.png", 403, "forbidden"},
		{"localhost name refused", notAllowed, "http://localhost:" + port + "/img.png", 403, "forbidden"},
		{"redirect to unlisted ip", byName, "http://localhost:" + port + "/to-ip", 403, "forbidden"},
		{"private refused", notAllowed, "http://10.1.2.3:" + port + "/img.png", 403, "forbidden"},
		{"link-local refused", notAllowed, "http://169.254.169.254/latest/meta-data", 403, "forbidden"},
		{"unspecified refused", notAllowed, "http://0.0.0.0:" + port + "/img.png", 403, "forbidden"},
		{"ipv6 loopback refused", notAllowed, "http://[::1]:" + port + "/img.png", 403, "forbidden"},
		{"ipv4-compatible ipv6 loopback refused", notAllowed, "http://[::127.0.0.1]:" + port + "/img.png", 403, "forbidden"},
		{"ipv4-mapped ipv6 loopback refused", notAllowed, "http://[::ffff:127.0.0.1]:" + port + "/img.png", 403, "forbidden"},
		{"port-less ip entry, other port", portless, origin.URL + "/img.png", 403, "forbidden"},
		{"port-less name entry, other port", portless, "http://localhost:" + port + "/img.png", 403, "forbidden"},
		{"redirect to another port of an allowed ip", allowed, origin.URL + "/to-other-port", 403, "forbidden"},
		{"allowed but closed port", closedAllowed, "http://127.0.0.1:" + otherPort + "/img.png", 502, "fetch_failed"},
		{"file scheme", allowed, "file:///etc/passwd", 403, "forbidden"},
		{"ftp scheme", allowed, "ftp://127.0.0.1/x.png", 403, "forbidden"},
		{"redirect to ftp", allowed, origin.URL + "/to-ftp", 403, "forbidden"},
		{"too many redirects", allowed, origin.URL + "/loop", 502, "fetch_failed"},
		{"too big", allowed, origin.URL + "/big.png", 413, "input_too_large"},
		{"too big chunked", allowed, origin.URL + "/chunked.png", 413, "input_too_large"},
		{"slow", allowed, origin.URL + "/slow.png", 504, "timeout"},
		{"upstream 404", allowed, origin.URL + "/missing.png", 502, "fetch_failed"},
		{"no host", allowed, "http:///img.png", 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postJSON(t, tt.h, map[string]any{"image": map[string]string{"url": tt.url}, "x": 1, "y": 1})
			if r.status != tt.status || r.errorCode() != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, r.errorCode(), tt.status, tt.code, r.body)
			}
			if tt.status == 200 && r.topLabel("rgb") != "red" {
				t.Errorf("wrong answer %s", r.body)
			}
			// Addresses, ports and resolver or socket errors stay in
			// the log: they would map the network for an attacker.
			for _, leak := range []string{"127.0.0.1", "::1", "refused", "dial", "lookup", port} {
				if tt.status != 200 && strings.Contains(r.errorMessage(), leak) {
					t.Errorf("error message reveals %q: %s", leak, r.body)
				}
			}
			mustOK(t, tt.h)
		})
	}
}
