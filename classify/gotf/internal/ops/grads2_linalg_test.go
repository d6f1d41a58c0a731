package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// g2Inv inverts a row-major m x m matrix by Gauss–Jordan elimination with
// partial pivoting.
func g2Inv(a []float64, m int) []float64 {
	w := make([]float64, m*2*m)
	for i := range m {
		copy(w[i*2*m:], a[i*m:(i+1)*m])
		w[i*2*m+m+i] = 1
	}
	for c := range m {
		p := c
		for r := c + 1; r < m; r++ {
			if math.Abs(w[r*2*m+c]) > math.Abs(w[p*2*m+c]) {
				p = r
			}
		}
		for k := range 2 * m {
			w[c*2*m+k], w[p*2*m+k] = w[p*2*m+k], w[c*2*m+k]
		}
		d := w[c*2*m+c]
		for k := range 2 * m {
			w[c*2*m+k] /= d
		}
		for r := range m {
			if r != c {
				f := w[r*2*m+c]
				for k := range 2 * m {
					w[r*2*m+k] -= f * w[c*2*m+k]
				}
			}
		}
	}
	out := make([]float64, m*m)
	for i := range m {
		copy(out[i*m:(i+1)*m], w[i*2*m+m:(i+1)*2*m])
	}
	return out
}

func g2MatMul(a, b []float64, m int, ta bool) []float64 {
	out := make([]float64, m*m)
	for i := range m {
		for j := range m {
			for k := range m {
				x := a[i*m+k]
				if ta {
					x = a[k*m+i]
				}
				out[i*m+j] += x * b[k*m+j]
			}
		}
	}
	return out
}

// g2CholeskyGradRef is TensorFlow's Python Cholesky gradient with explicit
// inverses: L⁻ᴴ·band(Lᴴ G with its diagonal halved)·L⁻¹, symmetrized.
func g2CholeskyGradRef(l, g []float64, m int) []float64 {
	lt, gt := make([]float64, m*m), make([]float64, m*m)
	for i := range m {
		for j := 0; j <= i; j++ {
			lt[i*m+j], gt[i*m+j] = l[i*m+j], g[i*m+j]
		}
	}
	mid := g2MatMul(lt, gt, m, true)
	for i := range m {
		mid[i*m+i] /= 2
		for j := i + 1; j < m; j++ {
			mid[i*m+j] = 0
		}
	}
	li := g2Inv(lt, m)
	ga := g2MatMul(g2MatMul(li, mid, m, true), li, m, false)
	out := make([]float64, m*m)
	for i := range m {
		for j := range m {
			out[i*m+j] = (ga[i*m+j] + ga[j*m+i]) / 2
		}
	}
	return out
}

// TestCholeskyGrad checks CholeskyGrad against TensorFlow's formula with
// explicit inverses (float64 to 1e-10, float32 and float16), against
// central differences of the package's Cholesky along symmetric
// perturbations (d/dt <G, chol(A + t(E_ij + E_ji))> = 2 dA_ij off the
// diagonal), and checks that the upper triangles of l and grad are
// ignored.
func TestCholeskyGrad(t *testing.T) {
	for _, m := range []int{1, 2, 3, 5, 8} {
		const batch = 2
		a := make([]float64, batch*m*m)
		gd := grRand64(uint64(40+m), -1, 1, nil, 0, batch, m, m).Data.([]float64)
		r := grRand64(uint64(50+m), -1, 1, nil, 0, batch, m, m).Data.([]float64)
		for b := range batch {
			// A = R Rᵀ + m I: well conditioned.
			for i := range m {
				for j := range m {
					s := 0.0
					for k := range m {
						s += r[b*m*m+i*m+k] * r[b*m*m+j*m+k]
					}
					if i == j {
						s += float64(m)
					}
					a[b*m*m+i*m+j] = s
				}
			}
		}
		at := graphdef.Attrs{"T": classify.Float64}
		l := grFwd(t, "Cholesky", at, 1, grF64(a, batch, m, m))[0]
		ld := l.Data.([]float64)
		g := grF64(gd, batch, m, m)
		got := mustRun(t, "CholeskyGrad", at, l, g)
		if !got.Shape.Equal(classify.Shape{batch, m, m}) {
			t.Fatalf("shape %v", got.Shape)
		}
		want := make([]float64, 0, len(a))
		for b := range batch {
			want = append(want, g2CholeskyGradRef(ld[b*m*m:][:m*m], gd[b*m*m:][:m*m], m)...)
		}
		grClose(t, "float64", grFloats(got), want, 1e-10, 1e-10)
		// Junk above the diagonals changes nothing.
		lj, gj := l.Clone(), g.Clone()
		for b := range batch {
			for i := range m {
				for j := i + 1; j < m; j++ {
					lj.Data.([]float64)[b*m*m+i*m+j] = 7
					gj.Data.([]float64)[b*m*m+i*m+j] = -3
				}
			}
		}
		grClose(t, "upper junk", grFloats(mustRun(t, "CholeskyGrad", at, lj, gj)), grFloats(got), 0, 0)
		grClose(t, "float32", grFloats(mustRun(t, "CholeskyGrad", graphdef.Attrs{"T": classify.Float32}, grTo32(l), grTo32(g))), want, 1e-5, 1e-5)
		grClose(t, "float16", grFloats(mustRun(t, "CholeskyGrad", graphdef.Attrs{"T": classify.Float16}, grTo16(l), grTo16(g))), want, 2e-2, 2e-2)
		// Central differences of Cholesky, lower triangle of G only.
		const h = 1e-6
		f := func(x []float64) float64 {
			y := grFwd(t, "Cholesky", at, 1, grF64(x, batch, m, m))[0].Data.([]float64)
			s := 0.0
			for b := range batch {
				for i := range m {
					for j := 0; j <= i; j++ {
						s += y[b*m*m+i*m+j] * gd[b*m*m+i*m+j]
					}
				}
			}
			return s
		}
		gv := grFloats(got)
		for b := range batch {
			for i := range m {
				for j := 0; j <= i; j++ {
					ap, am := append([]float64{}, a...), append([]float64{}, a...)
					for _, k := range []int{i*m + j, j*m + i} {
						ap[b*m*m+k] += h
						am[b*m*m+k] -= h
						if i == j {
							break
						}
					}
					num := (f(ap) - f(am)) / (2 * h)
					w := gv[b*m*m+i*m+j]
					if i != j {
						w *= 2
					}
					if math.Abs(num-w) > 1e-6*(1+math.Abs(w)) {
						t.Errorf("m=%d [%d][%d][%d]: %v, differences give %v", m, b, i, j, w, num)
					}
				}
			}
		}
	}
	// Empty batch and empty matrices.
	for _, s := range [][]int{{0, 3, 3}, {2, 0, 0}} {
		e := mustRun(t, "CholeskyGrad", nil, classify.NewTensor(classify.Float32, s...), classify.NewTensor(classify.Float32, s...))
		if !e.Shape.Equal(classify.Shape(s)) {
			t.Errorf("empty %v: %v", s, e.Shape)
		}
	}
}

func TestCholeskyGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	x := saFeed(randF32(1, -1, 1, 2, 3, 3))
	saCheckErrors(t, []saErrCase{
		{"square", "CholeskyGrad", nil, []saIn{saFeed(randF32(1, -1, 1, 3, 2)), saFeed(randF32(1, -1, 1, 3, 2))}, inv, "square"},
		{"rank", "CholeskyGrad", nil, []saIn{saFeed(randF32(1, -1, 1, 3)), saFeed(randF32(1, -1, 1, 3))}, inv, "rank"},
		{"shapes", "CholeskyGrad", nil, []saIn{x, saFeed(randF32(1, -1, 1, 1, 3, 3))}, inv, "one dtype and shape"},
		{"mixed", "CholeskyGrad", nil, []saIn{x, saFeed(grF64(make([]float64, 18), 2, 3, 3))}, inv, "one dtype and shape"},
		{"ints", "CholeskyGrad", nil, []saIn{saFeed(saIota(3, 3)), saFeed(saIota(3, 3))}, inv, "int32"},
		{"attr", "CholeskyGrad", graphdef.Attrs{"T": classify.Int32}, []saIn{x, x}, bad, "int32"},
		{"budget", "CholeskyGrad", nil, []saIn{saFeed(classify.NewTensor(classify.Float32, 2048, 2048)), saFeed(classify.NewTensor(classify.Float32, 2048, 2048))}, inv, "multiply-adds"},
	})
}
