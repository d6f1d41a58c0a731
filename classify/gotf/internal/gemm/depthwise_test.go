package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestDWKernelsAgainstDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, kern := range DWKernels() {
		for _, c := range []int{1, 3, 7, 8, 9, 16, 17, 31, 64, 72, 100, 128, 200, 256} {
			for _, taps := range []int{0, 1, 4, 9} {
				t.Run(fmt.Sprintf("%s/c%d/taps%d", kern.Name, c, taps), func(t *testing.T) {
					pixels, xstep := 5, 2*c
					x := randSlice(r, pixels*xstep+10*c)
					w := randSlice(r, 9*c)
					bias := randSlice(r, c)
					xoff := make([]int, max(taps, 1))
					woff := make([]int, max(taps, 1))
					for i := 0; i < taps; i++ {
						xoff[i] = r.IntN(9) * c
						woff[i] = r.IntN(9) * c
					}
					// A guard element after Y catches stores past the end.
					y := make([]float32, pixels*c+1)
					y[pixels*c] = 42
					lo, hi := float32(-0.5), float32(0.7)
					kern.Run(&DWRow{Y: &y[0], X: &x[0], W: &w[0], Bias: &bias[0], XOff: &xoff[0], WOff: &woff[0],
						Taps: taps, C: c, Pixels: pixels, XStep: xstep, Lo: lo, Hi: hi})
					for p := 0; p < pixels; p++ {
						for ch := 0; ch < c; ch++ {
							s := float64(bias[ch])
							for i := 0; i < taps; i++ {
								s += float64(x[p*xstep+xoff[i]+ch]) * float64(w[woff[i]+ch])
							}
							s = math.Min(math.Max(s, float64(lo)), float64(hi))
							if g := y[p*c+ch]; math.Abs(float64(g)-s) > 1e-5 {
								t.Fatalf("y[%d][%d] = %v, want %v", p, ch, g, s)
							}
						}
					}
					if y[pixels*c] != 42 {
						t.Fatal("kernel wrote past the output")
					}
				})
			}
		}
	}
}

func TestDWRun3x3(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kern := range DWKernels() {
		for _, c := range []int{1, 5, 8, 16, 24, 33, 64, 130} {
			for _, dil := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/c%d/d%d", kern.Name, c, dil), func(t *testing.T) {
					// A 7-wide input row band; pixels step by 2 (stride 2).
					width, pixels, xstep := 12, 4, 2*c
					rowStep, colStep := dil*width*c, dil*c
					x := randSlice(r, (2*dil+1)*width*c)
					w := randSlice(r, 9*c)
					bias := randSlice(r, c)
					y := make([]float32, pixels*c+1)
					y[pixels*c] = 42
					lo, hi := float32(-0.8), float32(0.9)
					kern.Run3x3(&DWRow{Y: &y[0], X: &x[0], W: &w[0], Bias: &bias[0], C: c, Pixels: pixels, XStep: xstep,
						Lo: lo, Hi: hi, RowStep: rowStep, ColStep: colStep})
					for p := 0; p < pixels; p++ {
						for ch := 0; ch < c; ch++ {
							s := float64(bias[ch])
							for tp := 0; tp < 9; tp++ {
								s += float64(x[p*xstep+tp/3*rowStep+tp%3*colStep+ch]) * float64(w[tp*c+ch])
							}
							s = math.Min(math.Max(s, float64(lo)), float64(hi))
							if g := y[p*c+ch]; math.Abs(float64(g)-s) > 1e-5 {
								t.Fatalf("y[%d][%d] = %v, want %v", p, ch, g, s)
							}
						}
					}
					if y[pixels*c] != 42 {
						t.Fatal("kernel wrote past the output")
					}
				})
			}
		}
	}
}

// TestDWRun3x3Stride1 covers the four-pixel loop of the AVX-512 kernel
// (pixels stepping by one tap column): every kernel against the definition,
// and the AVX-512 kernel bit for bit against its one-pixel loop.
func TestDWRun3x3Stride1(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, kern := range DWKernels() {
		for _, c := range []int{1, 5, 16, 24, 33, 96, 144} {
			for _, pixels := range []int{1, 3, 4, 5, 8, 11, 54} {
				for _, dil := range []int{1, 2} {
					t.Run(fmt.Sprintf("%s/c%d/p%d/d%d", kern.Name, c, pixels, dil), func(t *testing.T) {
						width := pixels + 2*dil
						// Stride equal to the dilation: pixel p+1's window
						// starts one tap column after pixel p's.
						xstep, rowStep, colStep := dil*c, dil*width*c, dil*c
						x := randSlice(r, (2*dil+1)*width*c)
						w := randSlice(r, 9*c)
						bias := randSlice(r, c)
						row := DWRow{X: &x[0], W: &w[0], Bias: &bias[0], C: c, Pixels: (width - 2*dil + dil - 1) / dil, XStep: xstep,
							Lo: -0.8, Hi: 0.9, RowStep: rowStep, ColStep: colStep}
						n := row.Pixels
						y := make([]float32, n*c+1)
						y[n*c] = 42
						row.Y = &y[0]
						kern.Run3x3(&row)
						for p := 0; p < n; p++ {
							for ch := 0; ch < c; ch++ {
								s := float64(bias[ch])
								for tp := 0; tp < 9; tp++ {
									s += float64(x[p*xstep+tp/3*rowStep+tp%3*colStep+ch]) * float64(w[tp*c+ch])
								}
								s = math.Min(math.Max(s, -0.8), 0.9)
								if g := y[p*c+ch]; math.Abs(float64(g)-s) > 1e-5 {
									t.Fatalf("y[%d][%d] = %v, want %v", p, ch, g, s)
								}
							}
						}
						if y[n*c] != 42 {
							t.Fatal("kernel wrote past the output")
						}
						if kern.Name != "avx512" || dwAVX512OnePixel == nil {
							return
						}
						ref := make([]float32, n*c)
						row.Y = &ref[0]
						dwAVX512OnePixel.Run3x3(&row)
						for i := range ref {
							if math.Float32bits(ref[i]) != math.Float32bits(y[i]) {
								t.Fatalf("y[%d] = %v, one-pixel loop %v", i, y[i], ref[i])
							}
						}
					})
				}
			}
		}
	}
}

// BenchmarkDWRun3x3 times the dense 3x3 loops on one 56-pixel row of
// MobileNet v2's 56x56x144 stride-1 depthwise layer.
func BenchmarkDWRun3x3(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	c, width := 144, 58
	x := randSlice(r, 3*width*c)
	w := randSlice(r, 9*c)
	bias := randSlice(r, c)
	y := make([]float32, (width-2)*c)
	kerns := DWKernels()
	if dwAVX512OnePixel != nil {
		kerns = append(kerns, dwAVX512OnePixel)
	}
	for _, kern := range kerns {
		b.Run(kern.Name, func(b *testing.B) {
			row := DWRow{Y: &y[0], X: &x[0], W: &w[0], Bias: &bias[0], C: c, Pixels: width - 2, XStep: c,
				Lo: 0, Hi: 6, RowStep: width * c, ColStep: c}
			for b.Loop() {
				kern.Run3x3(&row)
			}
			b.ReportMetric(float64(2*9*len(y))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
