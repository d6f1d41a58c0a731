package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// g2LRNGradRef is TensorFlow's lrn_op.cc loop in float64: for every
// channel j with a non-zero gradient, every k of its window receives
// g_j·(x_k·(-2·alpha·beta)·y_j/N_j + [k == j]·N_j^-beta).
func g2LRNGradRef(g, x, y []float64, c, r int, bias, alpha, beta float64) []float64 {
	out := make([]float64, len(g))
	for p := 0; p < len(g)/c; p++ {
		for j := range c {
			gs := g[p*c+j]
			if gs == 0 {
				continue
			}
			lo, hi := max(0, j-r), min(c, j+r+1)
			norm := 0.0
			for k := lo; k < hi; k++ {
				norm += x[p*c+k] * x[p*c+k]
			}
			norm = alpha*norm + bias
			for k := lo; k < hi; k++ {
				d := x[p*c+k] * (-2 * alpha * beta) * y[p*c+j] / norm
				if k == j {
					d += math.Pow(norm, -beta)
				}
				out[p*c+k] += d * gs
			}
		}
	}
	return out
}

// TestLRNGrad checks LRNGrad against TensorFlow's loop (float64, on the
// float32 inputs: 1e-6 relative), against central differences of the
// forward LRN kernel (h = 1e-2, the error of float32 LRN and of the
// difference: 2e-3), and float16 within 2e-2. The radii cover the direct
// window, the sliding window (2r+1 > 64) and windows wider than the depth.
func TestLRNGrad(t *testing.T) {
	for i, c := range []struct {
		name              string
		shape             []int
		r                 int
		bias, alpha, beta float32
	}{
		{"defaults", []int{2, 2, 3, 7}, 5, 1, 1, 0.5},
		{"r2_beta075", []int{1, 3, 2, 9}, 2, 2, 0.1, 0.75},
		{"r0", []int{1, 2, 2, 5}, 0, 1, 0.5, 1},
		{"wide", []int{1, 1, 2, 4}, 100, 1.5, 0.2, 0.6},
		{"sliding", []int{1, 1, 2, 150}, 40, 1, 0.01, 0.75},
		{"empty", []int{0, 2, 2, 3}, 2, 1, 1, 0.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			at := graphdef.Attrs{"depth_radius": c.r, "bias": c.bias, "alpha": c.alpha, "beta": c.beta}
			x := randF32(uint64(700+i), -1.5, 1.5, c.shape...)
			g := randF32(uint64(710+i), -1, 1, c.shape...)
			y := g2Fwd(t, "LRN", at, saFeed(x))[0]
			want := g2LRNGradRef(grFloats(g), grFloats(x), grFloats(y), c.shape[3], c.r, float64(c.bias), float64(c.alpha), float64(c.beta))
			got := mustRun(t, "LRNGrad", at, g, x, y)
			if !got.Shape.Equal(classify.Shape(c.shape)) {
				t.Fatalf("shape %v", got.Shape)
			}
			grClose(t, "vs TensorFlow's loop", grFloats(got), want, 1e-6, 1e-5)
			const h = 1e-2
			num := make([]float64, x.Len())
			for k := range num {
				xp, xm := x.Clone(), x.Clone()
				xp.Float32s()[k] += h
				xm.Float32s()[k] -= h
				yp := g2Fwd(t, "LRN", at, saFeed(xp))[0].Float32s()
				ym := g2Fwd(t, "LRN", at, saFeed(xm))[0].Float32s()
				for j := range yp {
					num[k] += float64(g.Float32s()[j]) * (float64(yp[j]) - float64(ym[j])) / (2 * h)
				}
			}
			grClose(t, "vs LRN", grFloats(got), num, 2e-3, 2e-3)
			at16 := graphdef.Attrs{"depth_radius": c.r, "bias": c.bias, "alpha": c.alpha, "beta": c.beta, "T": classify.Float16}
			got16 := mustRun(t, "LRNGrad", at16, grTo16(grF64(grFloats(g), c.shape...)), grTo16(grF64(grFloats(x), c.shape...)), grTo16(grF64(grFloats(y), c.shape...)))
			grClose(t, "float16", grFloats(got16), want, 2e-2, 2e-2)
		})
	}
	// A zero gradient contributes nothing, even with an infinite output.
	at := graphdef.Attrs{"depth_radius": 1, "bias": float32(1), "alpha": float32(1), "beta": float32(0.5)}
	inf := float32(math.Inf(1))
	got := mustRun(t, "LRNGrad", at, classify.FromFloat32([]float32{0, 1, 0}, 1, 1, 1, 3),
		classify.FromFloat32([]float32{1, 0, 1}, 1, 1, 1, 3), classify.FromFloat32([]float32{inf, 0, inf}, 1, 1, 1, 3)).Float32s()
	// dx_1 = g_1·N_1^-0.5 with N_1 = 1 + 1 + 0 + 1 = 3; x_0 = x_2 = 1
	// receive -2·0.5·1·y_1/N_1 = 0.
	if w := float32(1 / math.Sqrt(3)); got[0] != 0 || got[2] != 0 || math.Abs(float64(got[1]-w)) > 1e-7 {
		t.Errorf("zero gradients: %v, want [0 %v 0]", got, w)
	}
}

func TestLRNGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	x := saFeed(randF32(1, -1, 1, 1, 2, 2, 3))
	saCheckErrors(t, []saErrCase{
		{"shapes", "LRNGrad", nil, []saIn{x, x, saFeed(randF32(1, -1, 1, 1, 2, 3, 3))}, inv, "one shape"},
		{"rank", "LRNGrad", nil, []saIn{saFeed(randF32(1, -1, 1, 2, 2, 3)), x, x}, inv, "rank 4"},
		{"dtype", "LRNGrad", nil, []saIn{x, saFeed(grF64(make([]float64, 12), 1, 2, 2, 3)), x}, inv, "float32"},
		{"radius", "LRNGrad", graphdef.Attrs{"depth_radius": -1}, []saIn{x, x, x}, bad, "depth_radius"},
		{"attr_dtype", "LRNGrad", graphdef.Attrs{"T": classify.Float64}, []saIn{x, x, x}, bad, "float64"},
	})
}
