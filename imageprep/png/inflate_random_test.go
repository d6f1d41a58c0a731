package png

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// Random short streams of every compression level (fixed and dynamic
// Huffman blocks, stored ones, degenerate codes), split into chunks at
// random, inflate to what was compressed.
func TestInflateRandomStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for it := 0; it < 3000; it++ {
		n := rng.IntN(300)
		data := make([]byte, n)
		alpha := rng.IntN(256) + 1
		for i := range data {
			if rng.IntN(3) == 0 {
				data[i] = byte(rng.IntN(alpha))
			} else if i > 0 {
				data[i] = data[i-1]
			}
		}
		level := []int{0, -2, 1, 6, 9}[rng.IntN(5)]
		s := zlibStream(t, data, level)
		got, err := inflateAll(idatRun(s, rng.IntN(len(s)+1)), 0)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("it %d level %d n %d: %v, equal %v", it, level, n, err, bytes.Equal(got, data))
		}
	}
}
