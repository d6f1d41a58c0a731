package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveConv is the definition of an NHWC convolution with zero padding.
func naiveConv(x []float32, g *ConvGeom, f []float32, n int, bias []float32) []float32 {
	y := make([]float32, g.N*g.OH*g.OW*n)
	for b := 0; b < g.N; b++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				for o := 0; o < n; o++ {
					s := float64(bias[o])
					for ky := 0; ky < g.KH; ky++ {
						for kx := 0; kx < g.KW; kx++ {
							iy, ix := oy*g.SH-g.PT+ky*g.DH, ox*g.SW-g.PL+kx*g.DW
							if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
								continue
							}
							for c := 0; c < g.C; c++ {
								s += float64(x[((b*g.H+iy)*g.W+ix)*g.C+c]) * float64(f[((ky*g.KW+kx)*g.C+c)*n+o])
							}
						}
					}
					y[((b*g.OH+oy)*g.OW+ox)*n+o] = float32(s)
				}
			}
		}
	}
	return y
}

func TestConvAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	geoms := []struct {
		n, h, w, c, kh, kw, s, d, pt, pl, pb, pr, out int
	}{
		{1, 7, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 8},     // SAME 3x3
		{1, 16, 30, 5, 3, 3, 1, 1, 1, 1, 1, 1, 33},  // wide rows, several panels
		{2, 9, 9, 3, 3, 3, 2, 1, 0, 0, 1, 1, 16},    // stride 2, pad after only
		{1, 10, 11, 4, 3, 3, 1, 2, 2, 2, 2, 2, 5},   // dilation 2
		{1, 8, 9, 3, 3, 5, 1, 1, 1, 2, 1, 2, 17},    // 3x5
		{1, 7, 7, 8, 1, 1, 2, 1, 0, 0, 0, 0, 16},    // 1x1 stride 2
		{1, 6, 6, 16, 1, 1, 1, 1, 0, 0, 0, 0, 40},   // 1x1: plain GEMM
		{1, 5, 5, 2, 5, 5, 1, 1, 0, 0, 0, 0, 3},     // window = input
		{1, 3, 3, 2, 3, 3, 1, 1, 3, 3, 3, 3, 4},     // padding wider than the input
		{1, 20, 26, 32, 3, 3, 1, 1, 1, 1, 1, 1, 64}, // convstack-like
		{1, 33, 33, 3, 3, 3, 2, 1, 0, 0, 1, 1, 8},   // MobileNet's first layer, smaller
		{2, 17, 17, 24, 1, 7, 1, 1, 0, 3, 0, 3, 40}, // Inception's 1x7, batch 2, two workers: flatRows split by rows
		{2, 17, 17, 24, 7, 1, 1, 1, 3, 0, 3, 0, 40}, // 7x1: padded rows only, written in place
		{3, 7, 7, 40, 3, 3, 1, 1, 1, 1, 1, 1, 72},   // ResNet's last stage in miniature, batch 3
		{2, 15, 15, 24, 3, 3, 2, 1, 1, 1, 1, 1, 48}, // stride 2 SAME, padded both sides
		{2, 15, 15, 24, 3, 3, 2, 1, 0, 0, 0, 0, 48}, // stride 2 VALID (Inception's reductions)
		{2, 15, 14, 32, 1, 1, 2, 1, 0, 0, 0, 0, 64}, // 1x1 stride 2, odd height, batch 2
		{1, 12, 12, 16, 3, 3, 1, 1, 0, 0, 0, 0, 20}, // VALID stride 1: no copy of the input
		{1, 7, 7, 128, 3, 3, 1, 1, 1, 1, 1, 1, 256}, // 7x7 with two workers: B outweighs A, split by column panels
		{1, 5, 5, 256, 1, 1, 1, 1, 0, 0, 0, 0, 96},  // 1x1 whose B outweighs A: plain GEMM split by columns
		{1, 8, 8, 48, 1, 3, 1, 1, 0, 1, 0, 1, 160},  // Inception's 8x8 1x3 in miniature: flatRows split by columns
		{1, 12, 40, 8, 3, 3, 1, 1, 1, 1, 1, 1, 24},  // SAME 3x3 on wide rows: flat's virtual pixels (2 of 42)
	}
	for _, kern := range Kernels() {
		for gi, q := range geoms {
			t.Run(fmt.Sprintf("%s/%d", kern.Name, gi), func(t *testing.T) {
				ek, ew := (q.kh-1)*q.d+1, (q.kw-1)*q.d+1
				g := &ConvGeom{N: q.n, H: q.h, W: q.w, C: q.c, KH: q.kh, KW: q.kw, SH: q.s, SW: q.s, DH: q.d, DW: q.d, PT: q.pt, PL: q.pl,
					OH: (q.h+q.pt+q.pb-ek)/q.s + 1, OW: (q.w+q.pl+q.pr-ew)/q.s + 1}
				x := randSlice(r, q.n*q.h*q.w*q.c)
				k := q.kh * q.kw * q.c
				f := randSlice(r, k*q.out)
				bias := randSlice(r, q.out)
				want := naiveConv(x, g, f, q.out, bias)
				pb := PackBWith(kern, f, k, q.out, q.out, false)
				ep := NewEpilogue(bias, q.out, ActNone, 0)
				for _, threads := range []int{1, 2} {
					y := randSlice(r, len(want))
					if err := Conv(threads, x, g, pb, y, ep); err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if d := math.Abs(float64(y[i] - want[i])); d > 1e-4+1e-5*math.Abs(float64(want[i])) {
							t.Fatalf("threads %d: y[%d] = %v, want %v", threads, i, y[i], want[i])
						}
					}
				}
			})
		}
	}
}

func BenchmarkConv(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		g    ConvGeom
		out  int
	}{
		{"convstack_56x56x64", ConvGeom{N: 1, H: 56, W: 56, C: 64, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1, OH: 56, OW: 56}, 64},
		{"mbnet_conv0_128x128x3", ConvGeom{N: 1, H: 128, W: 128, C: 3, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, OH: 64, OW: 64}, 8},
	}
	for _, kern := range Kernels()[:1] {
		for _, c := range cases {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/t%d", kern.Name, c.name, threads), func(b *testing.B) {
					g := c.g
					k := g.KH * g.KW * g.C
					x := randSlice(r, g.N*g.H*g.W*g.C)
					pb := PackB(randSlice(r, k*c.out), k, c.out, c.out, false)
					y := make([]float32, g.N*g.OH*g.OW*c.out)
					ep := NewEpilogue(randSlice(r, c.out), c.out, ActRelu, 0)
					b.ReportAllocs()
					cpu0 := cpuTime()
					for b.Loop() {
						if err := Conv(threads, x, &g, pb, y, ep); err != nil {
							b.Fatal(err)
						}
					}
					flop := 2 * float64(g.N*g.OH*g.OW*k*c.out) * float64(b.N)
					b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
						b.ReportMetric(flop/cpu/1e9, "GFLOP/s-cpu")
					}
				})
			}
		}
	}
}
