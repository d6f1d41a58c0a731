package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// refPoolF32 is the float32 MaxPool/AvgPool of an NHWC tensor in the
// order the kernels promise: each window's pixels row by row, the
// accumulator first, max keeping the accumulator only when it is greater
// (so a NaN in the input wins unless it is first), the sum divided by the
// number of pixels inside the input.
func refPoolF32(x []float32, xs []int, k, s [2]int, same, isMax bool) []float32 {
	dim := func(in, k, s int) (out, pad int) {
		if same {
			out = (in + s - 1) / s
			return out, max((out-1)*s+k-in, 0) / 2
		}
		return (in-k)/s + 1, 0
	}
	nb, h, w, c := xs[0], xs[1], xs[2], xs[3]
	oh, pt := dim(h, k[0], s[0])
	ow, pl := dim(w, k[1], s[1])
	y := make([]float32, nb*oh*ow*c)
	for b := range nb {
		for i := range oh {
			for j := range ow {
				h0, w0 := i*s[0]-pt, j*s[1]-pl
				h1, w1 := min(h0+k[0], h), min(w0+k[1], w)
				h0, w0 = max(h0, 0), max(w0, 0)
				for ch := range c {
					var acc float32
					first := true
					for hh := h0; hh < h1; hh++ {
						for ww := w0; ww < w1; ww++ {
							v := x[((b*h+hh)*w+ww)*c+ch]
							switch {
							case first:
								acc, first = v, false
							case isMax:
								if !(acc > v) {
									acc = v
								}
							default:
								acc += v
							}
						}
					}
					if !isMax {
						acc /= float32((h1 - h0) * (w1 - w0))
					}
					y[((b*oh+i)*ow+j)*c+ch] = acc
				}
			}
		}
	}
	return y
}

// TestPoolF32Windows compares the float32 pools (on amd64 the per-window
// assembly for the channels in multiples of 8, the vector loops for the
// rest and for large windows over many channels) bit for bit with refPoolF32, over channel counts on both sides of
// the 8- and 32-channel blocks, windows cut by every edge, strides larger
// than windows, and NaN and infinite inputs.
func TestPoolF32Windows(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 3))
	type geom struct {
		xs   []int
		k, s [2]int
		same bool
	}
	var cases []geom
	for _, c := range []int{1, 7, 8, 9, 24, 31, 32, 33, 40, 64, 71, 96} {
		cases = append(cases,
			geom{[]int{2, 7, 6, c}, [2]int{3, 3}, [2]int{1, 1}, true},
			geom{[]int{1, 9, 8, c}, [2]int{3, 3}, [2]int{2, 2}, false},
			geom{[]int{1, 5, 7, c}, [2]int{2, 3}, [2]int{3, 1}, true},
			geom{[]int{1, 4, 4, c}, [2]int{4, 4}, [2]int{1, 1}, false},
			geom{[]int{1, 6, 5, c}, [2]int{1, 1}, [2]int{2, 2}, true},
			geom{[]int{1, 3, 8, c}, [2]int{1, 5}, [2]int{1, 2}, true},
		)
	}
	// Windows of more than 16 pixels over 256 or more channels take the
	// whole-pixel loops instead of the assembly.
	cases = append(cases,
		geom{[]int{1, 5, 6, 264}, [2]int{5, 5}, [2]int{1, 1}, true},
		geom{[]int{1, 5, 5, 259}, [2]int{5, 5}, [2]int{2, 2}, false},
		geom{[]int{1, 5, 5, 259}, [2]int{3, 3}, [2]int{1, 1}, true},
	)
	for _, g := range cases {
		for _, isMax := range []bool{true, false} {
			op := map[bool]string{true: "MaxPool", false: "AvgPool"}[isMax]
			name := fmt.Sprintf("%s_%v_k%v_s%v_same%v", op, g.xs, g.k, g.s, g.same)
			x := classify.NewTensor(classify.Float32, g.xs...)
			d := x.Float32s()
			for i := range d {
				d[i] = 2*r.Float32() - 1
				switch r.IntN(40) {
				case 0:
					d[i] = float32(math.NaN())
				case 1:
					d[i] = float32(math.Inf(1 - 2*r.IntN(2)))
				}
			}
			pad := map[bool]string{true: "SAME", false: "VALID"}[g.same]
			attrs := graphdef.Attrs{"ksize": []int{1, g.k[0], g.k[1], 1}, "strides": []int{1, g.s[0], g.s[1], 1}, "padding": pad}
			out, err := runOp(t, op, attrs, x)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := refPoolF32(d, g.xs, g.k, g.s, g.same, isMax)
			got := out[0].Float32s()
			if len(got) != len(want) {
				t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
				}
			}
		}
	}
}

func BenchmarkMaxPool(b *testing.B) {
	// Inception v3's stem and reduction pools.
	benchPool(b, "MaxPool", []poolBenchCase{
		{"3x3s2_147x147x64", classify.Shape{1, 147, 147, 64}, 3, 2, "VALID"},
		{"3x3s2_71x71x192", classify.Shape{1, 71, 71, 192}, 3, 2, "VALID"},
		{"3x3s2_17x17x768", classify.Shape{1, 17, 17, 768}, 3, 2, "VALID"},
	})
}
