// Command abuse replays, all at once, the attacks classifyd must survive
// (issue 7): huge model names, URLs and paths echoed back, 16-bit PNG and
// BMP decompression bombs, many near-limit bodies, and gzip bombs. It
// reports, per kind, the statuses, the slowest answer and the largest
// error body, and exits non-zero when a request went unanswered, took
// longer than its timeout or got a status the kind does not allow.
//
//	abuse -url http://127.0.0.1:8080 [-timeout 30s] [-scale 1]
//
// scripts/abuse.sh starts classifyd with a small memory budget, runs this,
// and adds what only the server side shows (peak RSS, log line lengths).
// It sends traffic only to the address given; use it on loopback.
package main

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// attack is one kind of hostile request, sent count times at once.
type attack struct {
	name    string
	count   int
	allowed []int // statuses that mean "handled correctly"
	build   func() (*http.Request, error)
}

// outcome is one request's answer.
type outcome struct {
	status  int
	bytes   int
	elapsed time.Duration
	err     error
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "classifyd's base URL")
	timeout := flag.Duration("timeout", 30*time.Second, "classifyd's request_timeout: every answer must come within it (plus 2s of slack)")
	scale := flag.Int("scale", 1, "divide the sizes by this (quick runs)")
	flag.Parse()
	if *scale < 1 {
		*scale = 1
	}
	if err := run(*base, *timeout, *scale, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "abuse:", err)
		os.Exit(1)
	}
}

func run(base string, timeout time.Duration, scale int, w io.Writer) error {
	mib := (1 << 20) / scale
	fmt.Fprintf(w, "building payloads (scale 1/%d)…\n", scale)
	small := pngBytes(image.NewNRGBA(image.Rect(0, 0, 8, 8)))
	b64 := base64.StdEncoding.EncodeToString(small)
	png16, err := rgb16Bomb(6000/scale, 6000/scale)
	if err != nil {
		return err
	}
	gzBomb, err := gzipZeros(1024 * mib)
	if err != nil {
		return err
	}
	nearLimit := make([]byte, 19*mib)
	longName := strings.Repeat("<", 19*mib)
	longStr := strings.Repeat("a", mib)

	jsonReq := func(v any) func() (*http.Request, error) {
		// Unescaped, so the 19 MiB of '<' stay 19 MiB on the wire.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		err := enc.Encode(v)
		body := buf.Bytes()
		return func() (*http.Request, error) {
			if err != nil {
				return nil, err
			}
			r, err := http.NewRequest(http.MethodPost, base+"/v1/classify", bytes.NewReader(body))
			if err == nil {
				r.Header.Set("Content-Type", "application/json")
			}
			return r, err
		}
	}
	raw := func(data []byte, encoding string) func() (*http.Request, error) {
		return func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodPost, base+"/v1/classify", bytes.NewReader(data))
			if err == nil {
				r.Header.Set("Content-Type", "application/octet-stream")
				if encoding != "" {
					r.Header.Set("Content-Encoding", encoding)
				}
			}
			return r, err
		}
	}
	// 503 (overloaded, with Retry-After) is a correct answer to every
	// kind: the budget is there to say it.
	attacks := []attack{
		{"19 MiB model name", 8, []int{404, 503}, jsonReq(map[string]any{"image": map[string]string{"b64": b64}, "models": []string{longName}})},
		{"1 MiB URL", 4, []int{400, 403, 502, 503}, jsonReq(map[string]any{"image": map[string]string{"url": "http://" + longStr + ".example/x.png"}})},
		{"1 MiB path", 4, []int{403, 404, 503}, jsonReq(map[string]any{"image": map[string]string{"path": longStr}})},
		{"6000x6000 16-bit PNG", 12, []int{200, 413, 503}, raw(png16, "")},
		{"BMP header claiming 6000x6000", 32, []int{422, 503}, raw(bmpHeader(6000, 6000), "")},
		{"19 MiB body", 16, []int{415, 503}, raw(nearLimit, "")},
		{"gzip body inflating to 1 GiB", 4, []int{413}, raw(gzBomb, "gzip")},
	}

	client := &http.Client{Timeout: timeout + 10*time.Second}
	results := make([][]outcome, len(attacks))
	var wg sync.WaitGroup
	start := time.Now()
	for i, a := range attacks {
		results[i] = make([]outcome, a.count)
		for j := range a.count {
			wg.Go(func() { results[i][j] = send(client, a.build) })
		}
	}
	wg.Wait()
	fmt.Fprintf(w, "sent %d requests at once, all answered after %.1fs\n\n", total(attacks), time.Since(start).Seconds())

	failed := false
	largest := 0
	fmt.Fprintf(w, "%-32s %5s  %-28s %10s %12s\n", "attack", "sent", "statuses", "slowest", "largest body")
	for i, a := range attacks {
		counts := map[int]int{}
		var slowest time.Duration
		biggest := 0
		var problems []string
		for _, o := range results[i] {
			switch {
			case o.err != nil:
				problems = append(problems, "no answer: "+o.err.Error())
			case !allowed(a.allowed, o.status):
				problems = append(problems, fmt.Sprintf("status %d not in %v", o.status, a.allowed))
			case o.elapsed > timeout+2*time.Second:
				problems = append(problems, fmt.Sprintf("answered after %v, timeout %v", o.elapsed.Round(time.Millisecond), timeout))
			}
			counts[o.status]++
			slowest = max(slowest, o.elapsed)
			if o.status >= 400 {
				biggest = max(biggest, o.bytes)
			}
		}
		largest = max(largest, biggest)
		fmt.Fprintf(w, "%-32s %5d  %-28s %9.2fs %11dB\n", a.name, a.count, statuses(counts), slowest.Seconds(), biggest)
		for _, p := range dedupe(problems) {
			failed = true
			fmt.Fprintf(w, "  FAIL %s\n", p)
		}
	}
	fmt.Fprintf(w, "\nlargest error body: %d bytes (limit 4096)\n", largest)
	if largest > 4096 {
		failed = true
		fmt.Fprintln(w, "  FAIL an error body is over 4 KiB")
	}
	if failed {
		return fmt.Errorf("some requests were not handled as they must be")
	}
	return nil
}

func send(c *http.Client, build func() (*http.Request, error)) outcome {
	req, err := build()
	if err != nil {
		return outcome{err: err}
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return outcome{err: err, elapsed: time.Since(start)}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return outcome{status: resp.StatusCode, bytes: int(n), elapsed: time.Since(start), err: err}
}

func total(as []attack) int {
	n := 0
	for _, a := range as {
		n += a.count
	}
	return n
}

func allowed(list []int, s int) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func statuses(m map[int]int) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d×%d", m[k], k))
	}
	return strings.Join(parts, " ")
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func pngBytes(img image.Image) []byte {
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// rgb16Bomb writes a w x h 16-bit RGB PNG of a smooth gradient: a few
// hundred KB on disk, w*h*4 bytes or more once decoded. The rows
// are streamed through zlib, so the attacker never holds the image.
func rgb16Bomb(w, h int) ([]byte, error) {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 2 // 16-bit RGB
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, err := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	if err != nil {
		return nil, err
	}
	row := make([]byte, 1+6*w)
	for x := range w {
		c := color.RGBA64{uint16(x * 65535 / max(w-1, 1)), 0x8000, 0x4000, 0}
		binary.BigEndian.PutUint16(row[1+6*x:], c.R)
		binary.BigEndian.PutUint16(row[3+6*x:], c.G)
		binary.BigEndian.PutUint16(row[5+6*x:], c.B)
	}
	// Every row after the first repeats the one above: filter "Up" with
	// zero differences, which deflate squeezes to almost nothing.
	up := make([]byte, len(row))
	up[0] = 2
	for y := range h {
		r := up
		if y == 0 {
			r = row
		}
		if _, err := zw.Write(r); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes(), nil
}

// bmpHeader is a 54-byte 24-bit BMP header claiming w x h pixels and no
// pixel data.
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

// gzipZeros is n zero bytes gzipped: about n/1000 bytes.
func gzipZeros(n int) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zero := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(zero))
		if _, err := zw.Write(zero[:k]); err != nil {
			return nil, err
		}
		n -= k
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
