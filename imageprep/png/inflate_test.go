package png

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// idatRun wraps a zlib stream in IDAT chunks of the given payload sizes
// (the rest in the last one), followed by IEND, and returns a reader of it.
func idatRun(stream []byte, sizes ...int) *idatReader {
	var b bytes.Buffer
	for _, n := range sizes {
		n = min(n, len(stream))
		writeChunk(&b, "IDAT", stream[:n])
		stream = stream[n:]
	}
	writeChunk(&b, "IDAT", stream)
	writeChunk(&b, "IEND", nil)
	r := &idatReader{data: b.Bytes()}
	if err := r.enter(); err != nil {
		panic(err)
	}
	return r
}

// inflateAll reads a whole stream with the package's inflater, in reads
// of n bytes (0: io.ReadAll).
func inflateAll(r *idatReader, n int) ([]byte, error) {
	f := newInflater(r, 16<<20)
	if n == 0 {
		return io.ReadAll(f)
	}
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := f.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// inflateFlat inflates a whole stream with a flat inflater that expects
// exactly n bytes, taking them in steps of step bytes (0: all at once), as
// a flat decode of rows does.
func inflateFlat(r *idatReader, n, step int) ([]byte, error) {
	buf := make([]byte, n+winSlack)
	f := newFlatInflater(r, buf)
	if step <= 0 {
		step = max(n, 1)
	}
	for k := 0; k < n; k += step {
		if err := f.fillTo(min(k+step, n)); err != nil {
			return nil, err
		}
	}
	out := bytes.Clone(buf[:n])
	f.sumTo(n)
	clear(buf[:n]) // what the caller does to the bytes must not matter
	if err := f.end(n); err != nil {
		return nil, err
	}
	return out, nil
}

func zlibStream(t testing.TB, data []byte, level int) []byte {
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// testPayloads are data compressing every way: noise (stored blocks at
// level 0, literals), runs and repeats (long matches, overlapping copies),
// and more than the window, so matches reach across its slides.
func testPayloads() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 1))
	noise := make([]byte, 200<<10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123456789 "), 5000)
	runs := make([]byte, 150<<10)
	for i := range runs {
		runs[i] = byte(i / 1000)
	}
	mixed := append(append(append([]byte{}, text[:70000]...), noise[:40000]...), text[:90000]...)
	return map[string][]byte{"empty": {}, "one": {7}, "noise": noise, "text": text, "runs": runs, "mixed": mixed}
}

// The inflater gives compress/zlib's output for streams of every block
// kind, split into chunks anyhow and read in pieces of any size.
func TestInflateMatchesZlib(t *testing.T) {
	for name, data := range testPayloads() {
		for _, level := range []int{zlib.NoCompression, zlib.HuffmanOnly, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression} {
			s := zlibStream(t, data, level)
			for _, split := range [][]int{nil, {1, 1, 1, 5}, {3, 8191, 7, 100000}} {
				for _, n := range []int{0, 1, 1000, 300000} {
					got, err := inflateAll(idatRun(s, split...), n)
					if err != nil {
						t.Fatalf("%s level %d split %v reads %d: %v", name, level, split, n, err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("%s level %d split %v reads %d: %d bytes differ from the %d written", name, level, split, n, len(got), len(data))
					}
					got, err = inflateFlat(idatRun(s, split...), len(data), n)
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("%s level %d split %v flat in steps of %d: %v, equal %v", name, level, split, n, err, bytes.Equal(got, data))
					}
				}
			}
		}
	}
}

// Broken streams fail: truncated anywhere, a flipped checksum, a bad
// header, a distance before the start. (Data after the stream is the
// decoder's to refuse: TestDecodeErrors.)
func TestInflateErrors(t *testing.T) {
	s := zlibStream(t, testPayloads()["mixed"], zlib.DefaultCompression)
	for _, n := range []int{0, 1, 2, 10, len(s) / 2, len(s) - 4, len(s) - 1} {
		if _, err := inflateAll(idatRun(s[:n]), 0); err == nil {
			t.Errorf("truncated to %d of %d bytes: no error", n, len(s))
		}
	}
	bad := bytes.Clone(s)
	bad[len(bad)-1] ^= 1
	if _, err := inflateAll(idatRun(bad), 0); err == nil {
		t.Error("wrong checksum: no error")
	}
	bad = bytes.Clone(s)
	bad[0] = 0x79
	if _, err := inflateAll(idatRun(bad), 0); err == nil {
		t.Error("bad header: no error")
	}
	// Flat: a stream longer or shorter than expected, a bad checksum.
	data := testPayloads()["mixed"]
	for _, n := range []int{0, len(data) - 1, len(data) + 1} {
		if _, err := inflateFlat(idatRun(s), n, 0); err == nil {
			t.Errorf("flat, %d bytes expected of %d: no error", n, len(data))
		}
	}
	if _, err := inflateFlat(idatRun(bad), len(data), 0); err == nil {
		t.Error("flat, bad header: no error")
	}
	bad = bytes.Clone(s)
	bad[len(bad)-1] ^= 1
	if _, err := inflateFlat(idatRun(bad), len(data), 1000); err == nil {
		t.Error("flat, wrong checksum: no error")
	}
	// A fixed-Huffman block starting with a match of distance 1.
	if _, err := inflateAll(idatRun([]byte{0x78, 0x9c, 0x03, 0x02, 0x00}), 0); !errors.Is(err, errDeflate) {
		t.Errorf("distance before the start: %v", err)
	}
}

// FuzzInflate: on any input the inflater agrees with compress/zlib, and
// never panics.
func FuzzInflate(f *testing.F) {
	for _, data := range testPayloads() {
		for _, level := range []int{0, -2, 1, 9} {
			s := zlibStream(f, data[:min(len(data), 3000)], level)
			f.Add(s, uint16(len(s)/3))
		}
	}
	f.Fuzz(func(t *testing.T, s []byte, split uint16) {
		want, werr := io.ReadAll(func() io.Reader {
			r, err := zlib.NewReader(bytes.NewReader(s))
			if err != nil {
				return errReader{err}
			}
			return r
		}())
		got, gerr := inflateAll(idatRun(s, int(split)), 0)
		if errors.Is(gerr, errTooLong) {
			return // over 16 MiB: a bomb, which the decoder bounds by the image size
		}
		if werr == nil && gerr == nil && !bytes.Equal(got, want) {
			t.Fatalf("inflated %d bytes, zlib %d, and they differ", len(got), len(want))
		}
		if werr == nil && gerr != nil && !errors.Is(gerr, errTrailing) {
			t.Fatalf("zlib inflates %d bytes, we fail: %v", len(want), gerr)
		}
		if werr != nil && gerr == nil {
			t.Fatalf("zlib fails (%v), we inflate %d bytes", werr, len(got))
		}
		if gerr != nil {
			return
		}
		// A flat inflater expecting what the stream holds gives the same;
		// expecting one byte more or less, it fails.
		flat, err := inflateFlat(idatRun(s, int(split)), len(got), int(split))
		if err != nil || !bytes.Equal(flat, got) {
			t.Fatalf("flat inflater: %v, equal %v", err, bytes.Equal(flat, got))
		}
		if _, err := inflateFlat(idatRun(s, int(split)), len(got)+1, 0); err == nil {
			t.Fatal("flat inflater expecting a byte more: no error")
		}
		if len(got) > 0 {
			if _, err := inflateFlat(idatRun(s, int(split)), len(got)-1, 0); err == nil {
				t.Fatal("flat inflater expecting a byte less: no error")
			}
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
