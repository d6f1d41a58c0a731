package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:9000\nrate_limit: 5\nrequest_timeout: 5s\napi_keys: [a, b]\nurl_allow_hosts: [10.0.0.0/8]\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("adr: x\n"), 0o644)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(c Config) bool
		wantErr string
	}{
		{name: "defaults", check: func(c Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.Models == "models/models.yaml" && c.Engine == "go" &&
				c.MaxBodyBytes == 20<<20 && c.MaxPixels == 40_000_000 && c.RequestTimeout == 30*time.Second && c.RateLimit == 0
		}},
		{name: "file", args: []string{"--config", file}, check: func(c Config) bool {
			return c.Addr == "127.0.0.1:9000" && c.RateLimit == 5 && c.RequestTimeout == 5*time.Second &&
				strings.Join(c.APIKeys, ",") == "a,b" && c.URLAllowHosts[0] == "10.0.0.0/8" && c.Models == "models/models.yaml"
		}},
		{name: "file from env", env: map[string]string{"CLASSIFYD_CONFIG": file}, check: func(c Config) bool { return c.Addr == "127.0.0.1:9000" }},
		{name: "env over file", args: []string{"--config", file}, env: map[string]string{"CLASSIFYD_ADDR": ":7000", "CLASSIFYD_API_KEYS": "k1, k2"},
			check: func(c Config) bool {
				return c.Addr == ":7000" && strings.Join(c.APIKeys, ",") == "k1,k2" && c.RateLimit == 5
			}},
		{name: "flag over env", args: []string{"--config", file, "--addr", ":6000", "--url-inputs", "--rate-limit", "0"},
			env:   map[string]string{"CLASSIFYD_ADDR": ":7000", "CLASSIFYD_URL_INPUTS": "false"},
			check: func(c Config) bool { return c.Addr == ":6000" && c.URLInputs && c.RateLimit == 0 }},
		{name: "unknown file field", args: []string{"--config", bad}, wantErr: "adr"},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope.yaml")}, wantErr: "no such file"},
		{name: "bad flag", args: []string{"--request-timeout", "soon"}, wantErr: "not a duration"},
		{name: "bad env", env: map[string]string{"CLASSIFYD_MAX_PIXELS": "many"}, wantErr: "CLASSIFYD_MAX_PIXELS"},
		{name: "negative", args: []string{"--rate-limit", "-1"}, wantErr: "rate_limit must not be negative"},
		{name: "bad level", args: []string{"--log-level", "loud"}, wantErr: "log_level"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}

// TestExampleConfig keeps classifyd.example.yaml loadable: every field it
// documents must exist.
func TestExampleConfig(t *testing.T) {
	c := DefaultConfig()
	if err := readConfigFile(filepath.Join("..", "..", "classifyd.example.yaml"), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
}

var binary string // built by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "classifyd-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "classifyd")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running classifyd process.
type server struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
	done chan error
}

// start runs the binary with args and waits for its "listening" log line.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "CLASSIFYD_CONFIG=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "listening" {
				addr <- l.Addr
			}
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		for l := range lines {
			s.logs.WriteString(l + "\n")
		}
		if t.Failed() {
			t.Logf("classifyd logs:\n%s", s.logs)
		}
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("classifyd did not start listening within 60s")
	}
	return s
}

// writeManifest makes a manifest with the committed color model and, when
// TEST_MODELS_DIR is set, the MobileNet theme stand-in.
func writeManifest(t *testing.T) (path string, withTheme bool) {
	t.Helper()
	color, err := filepath.Abs(filepath.Join("..", "..", "models", "color"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(color, "color.pb")); err != nil {
		t.Skipf("the color model is not there: %v", err)
	}
	m := fmt.Sprintf(`models:
  - name: color
    graph: %s/color.pb
    labels: %s/labels.txt
    input: patch
    output: probabilities
    preprocess: {crop_pixels: 9, width: 9, height: 9, range: [0, 1]}
`, color, color)
	if dir := os.Getenv("TEST_MODELS_DIR"); dir != "" {
		withTheme = true
		mn := filepath.Join(dir, "mobilenet_v1_0.25_128")
		m += fmt.Sprintf(`  - name: theme
    graph: %s/frozen_graph.pb
    labels: %s/labels.txt
    input: input
    output: MobilenetV1/Predictions/Reshape_1
    skip: [0]
    preprocess: {crop_fraction: 0.8, width: 128, height: 128, range: [-1, 1]}
`, mn, mn)
	}
	path = filepath.Join(t.TempDir(), "models.yaml")
	if err := os.WriteFile(path, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, withTheme
}

// testImage is coffee.png from TEST_IMAGES_DIR, or else a red square.
func testImage(t *testing.T) (img []byte, real bool) {
	if dir := os.Getenv("TEST_IMAGES_DIR"); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, "coffee.png"))
		if err != nil {
			t.Fatal(err)
		}
		return b, true
	}
	m := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+3] = 230, 255
	}
	var b bytes.Buffer
	png.Encode(&b, m)
	return b.Bytes(), false
}

func multipartImage(t *testing.T, img []byte) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, _ := w.CreateFormFile("image", "img.png")
	fw.Write(img)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

type classifyAnswer struct {
	Results map[string]struct {
		Labels []struct {
			Label       string
			Probability float64
		}
		Error *struct{ Code, Message string }
	}
}

func TestServeAndShutdown(t *testing.T) {
	manifestPath, withTheme := writeManifest(t)
	s := start(t, "--models", manifestPath, "--shutdown-timeout", "20s")
	img, realPhoto := testImage(t)

	for _, path := range []string{"/healthz", "/readyz", "/v1/models", "/"} {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
	}

	body, ct := multipartImage(t, img)
	resp, err := http.Post(s.url+"/v1/classify", ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var ans classifyAnswer
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("classify: %s %+v", resp.Status, ans)
	}
	if c := ans.Results["color"]; c.Error != nil || len(c.Labels) != 5 {
		t.Fatalf("color: %+v", c)
	}
	if !realPhoto && ans.Results["color"].Labels[0].Label != "red" {
		t.Errorf("red square: color says %+v", ans.Results["color"].Labels)
	}
	if withTheme && realPhoto {
		if th := ans.Results["theme"]; len(th.Labels) == 0 || th.Labels[0].Label != "espresso" {
			t.Errorf("coffee.png: theme says %+v, want espresso first", th)
		}
	}

	// A slow request: headers and half the body now, the rest after
	// SIGTERM. Graceful shutdown must let it finish.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", ct, len(body))
	half := len(body) / 2
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the server start reading it
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes at once: new connections are refused...
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.url, "http://"), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 5s after SIGTERM")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// ...while the process waits for the in-flight request.
	select {
	case err := <-s.done:
		t.Fatalf("classifyd exited (%v) with a request in flight", err)
	default:
	}
	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	ans = classifyAnswer{}
	json.NewDecoder(resp.Body).Decode(&ans)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(ans.Results["color"].Labels) != 5 {
		t.Fatalf("in-flight request: %s %+v", resp.Status, ans)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("exit after graceful shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("classifyd did not exit after the last request")
	}
}

func TestServeWithFailingModel(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "models.yaml")
	os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("a\nb\n"), 0o644)
	os.WriteFile(m, []byte(`models:
  - name: ghost
    graph: missing.pb
    labels: labels.txt
    input: in
    output: out
    preprocess: {width: 4, height: 4}
`), 0o644)
	s := start(t, "--models", m)
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "ghost") {
		t.Fatalf("readyz: %s %s", resp.Status, b)
	}
	resp, err = http.Get(s.url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	// A stable code; the path and the hint are in the log, not here.
	if !strings.Contains(string(b), `"status":"failed"`) || !strings.Contains(string(b), `"code":"file_not_found"`) || strings.Contains(string(b), "missing.pb") {
		t.Fatalf("/v1/models: %s", b)
	}
}

func TestBadStart(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"usage", []string{"--nope"}, 2, "flag provided but not defined"},
		{"missing manifest", []string{"--models", "/nonexistent/models.yaml"}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, tt.args...)
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != tt.code || !strings.Contains(string(out), tt.msg) {
				t.Fatalf("exit %v, want %d with %q:\n%s", err, tt.code, tt.msg, out)
			}
		})
	}
}

func TestMemoryLimit(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if v, ok := m[p]; ok {
				return []byte(v), nil
			}
			return nil, os.ErrNotExist
		}
	}
	meminfo := "MemTotal:       24000000 kB\nMemFree: 1 kB\n"
	tests := []struct {
		name   string
		files  map[string]string
		budget int64
		source string
	}{
		{"ram only", map[string]string{"/proc/meminfo": meminfo}, 24000000 << 10 / 4, "a quarter of RAM"},
		{"cgroup v2 below ram", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "2147483648\n"}, 1 << 29, "a quarter of cgroup /sys/fs/cgroup/memory.max"},
		{"cgroup v2 unlimited", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory.max": "max\n"}, 24000000 << 10 / 4, "a quarter of RAM"},
		{"cgroup v1 huge", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712"}, 24000000 << 10 / 4, "a quarter of RAM"},
		{"cgroup v1", map[string]string{"/proc/meminfo": meminfo, "/sys/fs/cgroup/memory/memory.limit_in_bytes": "4294967296"}, 1 << 30, "a quarter of cgroup /sys/fs/cgroup/memory/memory.limit_in_bytes"},
		{"nothing readable", map[string]string{}, fallbackBudget, "fallback (machine memory unknown)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, src := defaultMemoryBudget(files(tt.files))
			if b != tt.budget || src != tt.source {
				t.Fatalf("got %d %q, want %d %q", b, src, tt.budget, tt.source)
			}
		})
	}
}
