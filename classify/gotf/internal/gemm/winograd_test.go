package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// naiveConv64 is naiveConv kept in float64, with the epilogue: act(conv +
// bias (+ res)) for Relu6 and Elu (act ActNone: none).
func naiveConv64(x []float32, g *ConvGeom, f []float32, n int, bias, res []float32, act Act) []float64 {
	y := make([]float64, g.N*g.OH*g.OW*n)
	for b := 0; b < g.N; b++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				for o := 0; o < n; o++ {
					s := float64(bias[o])
					for ky := 0; ky < g.KH; ky++ {
						for kx := 0; kx < g.KW; kx++ {
							iy, ix := oy-g.PT+ky, ox-g.PL+kx
							if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
								continue
							}
							for c := 0; c < g.C; c++ {
								s += float64(x[((b*g.H+iy)*g.W+ix)*g.C+c]) * float64(f[((ky*g.KW+kx)*g.C+c)*n+o])
							}
						}
					}
					i := ((b*g.OH+oy)*g.OW+ox)*n + o
					if res != nil {
						s += float64(res[i])
					}
					switch act {
					case ActRelu6:
						s = min(max(s, 0), 6)
					case ActElu:
						if s < 0 {
							s = math.Expm1(s)
						}
					}
					y[i] = s
				}
			}
		}
	}
	return y
}

// sameGeom is a 3x3 stride-1 geometry, SAME (pad 1) or VALID.
func sameGeom(n, h, w, c int, same bool) *ConvGeom {
	g := &ConvGeom{N: n, H: h, W: w, C: c, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, OH: h - 2, OW: w - 2}
	if same {
		g.PT, g.PL, g.OH, g.OW = 1, 1, h, w
	}
	return g
}

// heSlice is n normal values of He initialisation's scale for fan-in fan.
func heSlice(r *rand.Rand, n, fan int) []float32 {
	s := make([]float32, n)
	sd := math.Sqrt(2 / float64(fan))
	for i := range s {
		s[i] = float32(r.NormFloat64() * sd)
	}
	return s
}

// TestWinogradTransformsAsm checks the assembly transforms against the
// portable ones on random data, masked tails included.
func TestWinogradTransformsAsm(t *testing.T) {
	if winoAsm == nil {
		t.Skip("no assembly transforms on this CPU")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, m := range []int{2, 4} {
		a := m + 2
		asm, ref := winoAsm[m], winoGo[m]
		const c = 48
		src := randSlice(r, a*a*c)
		got, want := make([]float32, a*a*c), make([]float32, a*a*c)
		tmp := make([]float32, a*a*16)
		asm.in(&src[0], a*c*4, c*4, &got[0], c*4, c, &tmp[0])
		ref.in(&src[0], a*c*4, c*4, &want[0], c*4, c, &tmp[0])
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("F(%d,3) input transform: [%d] = %v, want %v", m, i, got[i], want[i])
			}
		}
		for _, k := range []int{16, 37} {
			kp := (k + 15) &^ 15
			mm := randSlice(r, a*a*kp)
			bias := randSlice(r, 64)
			res := randSlice(r, m*m*k)
			for _, withRes := range []bool{false, true} {
				yg, yw := make([]float32, m*m*k+5), make([]float32, m*m*k+5)
				for i := range yg {
					yg[i], yw[i] = 42, 42
				}
				fa, fr := asm.out, ref.out
				var rp *float32
				if withRes {
					fa, fr, rp = asm.outRes, ref.outRes, &res[0]
				}
				fa(&mm[0], kp*4, &yg[0], m*k*4, k*4, k, &bias[0], rp, -0.5, 2, &tmp[0])
				fr(&mm[0], kp*4, &yw[0], m*k*4, k*4, k, &bias[0], rp, -0.5, 2, &tmp[0])
				for i := range yw {
					if d := math.Abs(float64(yg[i] - yw[i])); d > 1e-5*(1+math.Abs(float64(yw[i]))) {
						t.Fatalf("F(%d,3) output transform, k %d, residual %v: [%d] = %v, want %v", m, k, withRes, i, yg[i], yw[i])
					}
				}
			}
		}
	}
}

// TestWinogradAgainstNaive checks Winograd convolutions against the
// float64 definition: every geometry, both tile sizes, both transform
// implementations, every kernel, the epilogues and the residual form.
// Inputs are ReLU-like (non-negative, about 1) and filters at He
// initialisation's scale, as in a trained network; the error bound is
// relative to sum |x·w| over each window, the magnitude rounding scales
// with.
func TestWinogradAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	geoms := []struct {
		g *ConvGeom
		k int
	}{
		{sameGeom(1, 8, 8, 16, true), 16},    // whole tiles
		{sameGeom(1, 7, 9, 3, true), 5},      // edge tiles, channels not a multiple of 16
		{sameGeom(2, 11, 10, 32, true), 33},  // batch 2, masked output channels
		{sameGeom(1, 12, 13, 16, false), 20}, // VALID
		{sameGeom(1, 3, 3, 20, true), 7},     // one tile, mostly padding
		{sameGeom(2, 14, 14, 64, true), 64},  // several blocks, two workers
		{sameGeom(1, 35, 35, 48, true), 64},  // Inception's 35x35 in miniature channels
	}
	for _, kern := range Kernels() {
		for _, m := range []int{2, 4} {
			for _, portable := range []bool{false, true} {
				for gi, q := range geoms {
					g := q.g
					name := fmt.Sprintf("%s/F%d/portable=%v/%d", kern.Name, m, portable, gi)
					t.Run(name, func(t *testing.T) {
						x := make([]float32, g.N*g.H*g.W*g.C)
						for i := range x {
							x[i] = max(0, float32(r.NormFloat64()))
						}
						f := heSlice(r, 9*g.C*q.k, 9*g.C)
						bias := randSlice(r, q.k)
						w, err := NewWinograd(kern, m, f, g.C, q.k, portable)
						if err != nil {
							t.Fatal(err)
						}
						// Per-output magnitude for the bound: sum |x||w| + |bias| + |res|.
						absx := make([]float32, len(x))
						for i, v := range x {
							absx[i] = float32(math.Abs(float64(v)))
						}
						absf := make([]float32, len(f))
						for i, v := range f {
							absf[i] = float32(math.Abs(float64(v)))
						}
						out := g.N * g.OH * g.OW * q.k
						res := randSlice(r, out)
						absres := make([]float32, out)
						for i, v := range res {
							absres[i] = float32(math.Abs(float64(v)))
						}
						zero := make([]float32, q.k)
						mag := naiveConv64(absx, g, absf, q.k, zero, absres, ActNone)
						tol := map[int]float64{2: 1e-6, 4: 1e-5}[m]
						for _, c := range []struct {
							act   Act
							resid bool
						}{{ActNone, false}, {ActRelu6, false}, {ActElu, false}, {ActNone, true}, {ActRelu6, true}} {
							var rs []float32
							ep := NewEpilogue(bias, q.k, c.act, 0)
							var post *Epilogue
							if c.resid {
								rs = res
								ep = NewEpilogue(bias, q.k, ActNone, 0)
								post = NewEpilogue(nil, 0, c.act, 0)
							}
							want := naiveConv64(x, g, f, q.k, bias, rs, c.act)
							for _, threads := range []int{1, 2} {
								y := randSlice(r, out)
								if err := w.Conv(threads, x, g, y, ep, rs, post); err != nil {
									t.Fatal(err)
								}
								for i := range want {
									if d := math.Abs(float64(y[i]) - want[i]); !(d <= tol*float64(mag[i])) {
										t.Fatalf("act %d residual %v threads %d: y[%d] = %v, want %v (error %.3g of magnitude %.3g)", c.act, c.resid, threads, i, y[i], want[i], d, mag[i])
									}
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestWinogradError measures the rounding error of both tile sizes and
// of the direct convolution against float64 on ResNet-50's and Inception
// v3's layer shapes, at realistic scales (ReLU'd unit-normal inputs, He
// filters), and bounds it: at most 2x (F(2,3)) and 32x (F(4,3)) the
// direct convolution's maximum error.
func TestWinogradError(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, q := range []struct {
		name    string
		h, c, k int
	}{
		{"resnet_56x56x64", 20, 64, 64}, // spatially cut: the error depends on C, not H
		{"resnet_14x14x256", 14, 256, 256},
		{"resnet_7x7x512", 7, 512, 512},
		{"inception_35x35x64", 12, 64, 96},
	} {
		g := sameGeom(1, q.h, q.h, q.c, true)
		x := make([]float32, g.N*g.H*g.W*g.C)
		for i := range x {
			x[i] = max(0, float32(r.NormFloat64()))
		}
		f := heSlice(r, 9*q.c*q.k, 9*q.c)
		bias := make([]float32, q.k)
		want := naiveConv64(x, g, f, q.k, bias, nil, ActNone)
		var scale float64
		for _, v := range want {
			scale = max(scale, math.Abs(v))
		}
		maxErr := func(y []float32) (abs, rel float64) {
			for i, v := range want {
				d := math.Abs(float64(y[i]) - v)
				abs = max(abs, d)
			}
			return abs, abs / scale
		}
		y := make([]float32, len(want))
		pb := PackB(f, 9*q.c, q.k, q.k, false)
		if err := Conv(1, x, g, pb, y, nil); err != nil {
			t.Fatal(err)
		}
		da, dr := maxErr(y)
		t.Logf("%s direct: max abs error %.3g, relative to max |y| %.3g", q.name, da, dr)
		for _, m := range []int{2, 4} {
			w, err := NewWinograd(nil, m, f, q.c, q.k, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Conv(1, x, g, y, nil, nil, nil); err != nil {
				t.Fatal(err)
			}
			wa, wr := maxErr(y)
			t.Logf("%s F(%d,3): max abs error %.3g, relative to max |y| %.3g (%.1fx direct)", q.name, m, wa, wr, wa/da)
			if limit := map[int]float64{2: 2, 4: 32}[m]; wa > limit*da {
				t.Errorf("%s F(%d,3): error %.3g more than %gx the direct convolution's %.3g", q.name, m, wa, limit, da)
			}
		}
	}
}

// BenchmarkWinograd times ResNet-50's and Inception v3's stride-1 3x3
// layers (batch 1) three ways: gemm.Conv (direct), F(2,3) and F(4,3).
func BenchmarkWinograd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		g    *ConvGeom
		k    int
	}{
		{"resnet_56x56x64", sameGeom(1, 56, 56, 64, true), 64},
		{"resnet_28x28x128", sameGeom(1, 28, 28, 128, true), 128},
		{"resnet_14x14x256", sameGeom(1, 14, 14, 256, true), 256},
		{"resnet_7x7x512", sameGeom(1, 7, 7, 512, true), 512},
		{"resnet_7x7x512_b8", sameGeom(8, 7, 7, 512, true), 512},
		{"incep_149x149x32_valid", sameGeom(1, 149, 149, 32, false), 32},
		{"incep_147x147x32", sameGeom(1, 147, 147, 32, true), 64},
		{"incep_73x73x80_valid", sameGeom(1, 73, 73, 80, false), 192},
		{"incep_35x35x64", sameGeom(1, 35, 35, 64, true), 96},
		{"incep_35x35x96", sameGeom(1, 35, 35, 96, true), 96},
		{"incep_8x8x448", sameGeom(1, 8, 8, 448, true), 384},
	}
	for _, c := range cases {
		g := c.g
		x := randSlice(r, g.N*g.H*g.W*g.C)
		f := randSlice(r, 9*g.C*c.k)
		y := make([]float32, g.N*g.OH*g.OW*c.k)
		ep := NewEpilogue(randSlice(r, c.k), c.k, ActRelu, 0)
		pb := PackB(f, 9*g.C, c.k, c.k, false)
		flop := 2 * float64(g.N*g.OH*g.OW*9*g.C*c.k)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/direct/t%d", c.name, threads), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					if err := Conv(threads, x, g, pb, y, ep); err != nil {
						b.Fatal(err)
					}
				}
				reportFLOPs(b, flop, cpu0)
			})
			for _, m := range []int{2, 4} {
				w, err := NewWinograd(nil, m, f, g.C, c.k, false)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(fmt.Sprintf("%s/F%d/t%d", c.name, m, threads), func(b *testing.B) {
					cpu0 := cpuTime()
					for b.Loop() {
						if err := w.Conv(threads, x, g, y, ep, nil, nil); err != nil {
							b.Fatal(err)
						}
					}
					reportFLOPs(b, flop, cpu0)
				})
			}
		}
	}
}

// reportFLOPs reports the direct convolution's flops per second of wall
// time and of CPU time (less noisy on a shared machine).
func reportFLOPs(b *testing.B, flop float64, cpu0 time.Duration) {
	total := flop * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(total/cpu/1e9, "GFLOP/s-cpu")
	}
}
