package png

import (
	"bytes"
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

// TestUnfilterInverts: unfilter undoes filterRow (the spec's definitions,
// written plainly) for every filter, bytes per pixel 1 to 8 and row lengths
// around the 8-byte steps, on random rows and on rows of extremes (where
// the Paeth distances tie and the byte sums wrap).
func TestUnfilterInverts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for bpp := 1; bpp <= 8; bpp++ {
		for _, px := range []int{1, 2, 3, 5, 8, 17, 64} {
			n := bpp * px
			for trial := range 20 {
				raw, prev := make([]byte, n), make([]byte, n)
				for i := range raw {
					if trial%2 == 0 {
						raw[i], prev[i] = byte(rng.Uint32()), byte(rng.Uint32())
					} else {
						raw[i], prev[i] = []byte{0, 1, 127, 128, 255}[rng.IntN(5)], []byte{0, 1, 127, 128, 255}[rng.IntN(5)]
					}
				}
				for ft := byte(0); ft < 5; ft++ {
					row := filterRow(ft, raw, prev, bpp)
					if err := unfilter(row[0], row[1:], prev, bpp); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(row[1:], raw) {
						t.Fatalf("filter %d, bpp %d, %d bytes: unfiltered\n%v\nwant\n%v", ft, bpp, n, row[1:], raw)
					}
				}
			}
		}
	}
}

// TestAdler32: adler32Update agrees with hash/adler32 across lengths
// around its 8-byte steps and 5552-byte blocks, in pieces, on random bytes
// and on all-0xff (the largest sums before each reduction).
func TestAdler32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 63, 5551, 5552, 5553, 5560, 3 * 5552, 100000} {
		for _, ff := range []bool{false, true} {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(rng.Uint32())
				if ff {
					p[i] = 0xff
				}
			}
			want := adler32.Checksum(p)
			if got := adler32Update(1, p); got != want {
				t.Errorf("%d bytes (0xff %v): %08x, want %08x", n, ff, got, want)
			}
			cut := rng.IntN(n + 1)
			if got := adler32Update(adler32Update(1, p[:cut]), p[cut:]); got != want {
				t.Errorf("%d bytes cut at %d: %08x, want %08x", n, cut, got, want)
			}
		}
	}
}
