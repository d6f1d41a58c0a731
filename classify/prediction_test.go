package classify

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TopK gives what sorting every entry stably by probability would, on
// inputs with many ties, NaNs, skipped indices and every k.
func TestTopKMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	labels := []string{"a", "b", "c", "d", "e", "f", "g"}
	for it := range 2000 {
		n := r.IntN(40)
		probs := make([]float32, n)
		for i := range probs {
			switch r.IntN(6) {
			case 0:
				probs[i] = float32(math.NaN())
			case 1, 2:
				probs[i] = float32(r.IntN(3)) / 4 // ties
			default:
				probs[i] = r.Float32()
			}
		}
		var skip []int
		for range r.IntN(3) {
			skip = append(skip, r.IntN(n+1))
		}
		k, offset := r.IntN(n+3)-1, r.IntN(3)
		var idx []int
		for i := range probs {
			if !slices.Contains(skip, i) {
				idx = append(idx, i)
			}
		}
		sort.SliceStable(idx, func(a, b int) bool { return above(probs[idx[a]], probs[idx[b]]) })
		idx = idx[:max(0, min(k, len(idx)))]
		got := TopK(probs, labels, offset, k, skip...)
		if len(got) != len(idx) {
			t.Fatalf("it %d: %d labels, want %d", it, len(got), len(idx))
		}
		for j, i := range idx {
			name := ""
			if i-offset >= 0 && i-offset < len(labels) {
				name = labels[i-offset]
			}
			g := got[j]
			if g.Index != i || g.Label != name || math.Float32bits(g.Probability) != math.Float32bits(probs[i]) {
				t.Fatalf("it %d: #%d is %+v, want index %d (%q, %v)", it, j, g, i, name, probs[i])
			}
		}
	}
}

func BenchmarkTopK(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	probs := make([]float32, 1001)
	for i := range probs {
		probs[i] = r.Float32()
	}
	b.ReportAllocs()
	for b.Loop() {
		TopK(probs, nil, 0, 5, 0)
	}
}
