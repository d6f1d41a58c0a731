package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// laTriDense is the m×m matrix of the compact diagonals [3, m].
func laTriDense(d []float64, m int) []float64 {
	a := make([]float64, m*m)
	for i := range m {
		a[i*m+i] = d[m+i]
		if i+1 < m {
			a[i*m+i+1] = d[i]
			a[(i+1)*m+i] = d[2*m+i+1]
		}
	}
	return a
}

func TestLinalgTridiagonal(t *testing.T) {
	for _, dt := range laDTypes {
		tol := laTol(dt)
		// [[2 1 0] [1 2 1] [0 1 2]]·[1 2 3] = [4 8 8].
		d := laT(dt, []float64{1, 1, 99, 2, 2, 2, 99, 1, 1}, 3, 3)
		x := laT(dt, []float64{1, 2, 3}, 3, 1)
		y := laMust(t, "TridiagonalMatMul", map[string]any{"T": dt}, 1,
			laT(dt, []float64{1, 1, 99}, 1, 3), laT(dt, []float64{2, 2, 2}, 1, 3), laT(dt, []float64{99, 1, 1}, 1, 3), x)[0]
		laClose(t, "tridiagonal matmul", vals(y), []float64{4, 8, 8}, 0)
		for _, mode := range []map[string]any{
			{"T": dt, "partial_pivoting": true},
			{"T": dt, "partial_pivoting": false},
			{"T": dt, "partial_pivoting": true, "perturb_singular": true},
		} {
			got := laMust(t, "TridiagonalSolve", mode, 1, d, laT(dt, []float64{4, 8, 8}, 3, 1))[0]
			laClose(t, fmt.Sprintf("solve %v", mode), vals(got), []float64{1, 2, 3}, tol)
			// Random diagonally dominant batches: T·x = b.
			for _, m := range []int{1, 2, 3, 7} {
				const k = 2
				dv := laRand(uint64(300+m), 2*3*m)
				for b := range 2 {
					for i := range m {
						dv[b*3*m+m+i] += 3 * math.Copysign(1, dv[b*3*m+m+i])
					}
				}
				dd := laT(dt, dv, 2, 3, m)
				rhs := laT(dt, laRand(uint64(400+m), 2*m*k), 2, m, k)
				got := vals(laMust(t, "TridiagonalSolve", mode, 1, dd, rhs)[0])
				dq, rq := vals(dd), vals(rhs)
				for b := range 2 {
					a := laTriDense(dq[b*3*m:(b+1)*3*m], m)
					laClose(t, fmt.Sprintf("T·x = b m=%d %v", m, mode), laMul(a, m, m, got[b*m*k:(b+1)*m*k], k), rq[b*m*k:(b+1)*m*k], tol*10)
				}
				// The product op agrees with the dense matrix.
				xs := laT(dt, laRand(uint64(500+m), 2*m*k), 2, m, k)
				sup, dia, sub := make([]float64, 2*m), make([]float64, 2*m), make([]float64, 2*m)
				for b := range 2 {
					copy(sup[b*m:], dq[b*3*m:b*3*m+m])
					copy(dia[b*m:], dq[b*3*m+m:b*3*m+2*m])
					copy(sub[b*m:], dq[b*3*m+2*m:(b+1)*3*m])
				}
				prod := vals(laMust(t, "TridiagonalMatMul", map[string]any{"T": dt}, 1, laT(dt, sup, 2, 1, m), laT(dt, dia, 2, 1, m), laT(dt, sub, 2, 1, m), xs)[0])
				xv := vals(xs)
				for b := range 2 {
					laClose(t, "tridiagonal matmul = dense", prod[b*m*k:(b+1)*m*k], laMul(laTriDense(dq[b*3*m:(b+1)*3*m], m), m, m, xv[b*m*k:(b+1)*m*k], k), tol)
				}
			}
		}
		// [[0 1] [1 0]] needs a row interchange; Thomas divides by zero: NaN.
		swap := laT(dt, []float64{1, 0, 0, 0, 0, 1}, 3, 2)
		b2 := laT(dt, []float64{5, 7}, 2, 1)
		laClose(t, "pivoting", vals(laMust(t, "TridiagonalSolve", map[string]any{"T": dt}, 1, swap, b2)[0]), []float64{7, 5}, 0)
		nan := math.NaN()
		laClose(t, "Thomas on a zero pivot", vals(laMust(t, "TridiagonalSolve", map[string]any{"T": dt, "partial_pivoting": false}, 1, swap, b2)[0]), []float64{nan, nan}, 0)
		// Singular: NaN, or large finite values with perturb_singular.
		sing := laT(dt, []float64{1, 0, 1, 1, 0, 1}, 3, 2)
		laClose(t, "singular", vals(laMust(t, "TridiagonalSolve", map[string]any{"T": dt}, 1, sing, b2)[0]), []float64{nan, nan}, 0)
		laClose(t, "1x1 zero", vals(laMust(t, "TridiagonalSolve", map[string]any{"T": dt}, 1, laT(dt, []float64{0, 0, 0}, 3, 1), laT(dt, []float64{1}, 1, 1))[0]), []float64{nan}, 0)
		p := vals(laMust(t, "TridiagonalSolve", map[string]any{"T": dt, "perturb_singular": true}, 1, sing, b2)[0])
		for _, v := range p {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) < 1e3 {
				t.Errorf("perturbed singular solve %v: want large finite values", p)
			}
		}
		if e := laMust(t, "TridiagonalSolve", map[string]any{"T": dt}, 1, laT(dt, nil, 3, 0), laT(dt, nil, 0, 2))[0]; !e.Shape.Equal(classify.Shape{0, 2}) {
			t.Errorf("empty: shape %v", e.Shape)
		}
		laErr(t, "TridiagonalSolve", map[string]any{"T": dt}, 1, "3 rows", laT(dt, make([]float64, 4), 2, 2), laT(dt, make([]float64, 2), 2, 1))
		laErr(t, "TridiagonalSolve", map[string]any{"T": dt}, 1, "same number", laT(dt, make([]float64, 6), 3, 2), laT(dt, make([]float64, 3), 3, 1))
		laErr(t, "TridiagonalSolve", map[string]any{"T": dt, "partial_pivoting": false, "perturb_singular": true}, 1, "perturb_singular", d, x)
		laErr(t, "TridiagonalMatMul", map[string]any{"T": dt}, 1, "diagonal 0", laT(dt, make([]float64, 2), 1, 2), laT(dt, make([]float64, 3), 1, 3), laT(dt, make([]float64, 3), 1, 3), x)
	}
}

// laBandDense expands [nb, m] band storage to the m×m matrix.
func laBandDense(band []float64, nb, m int, lower bool) []float64 {
	a := make([]float64, m*m)
	for i := range m {
		for t := range nb {
			if lower && i-t >= 0 {
				a[i*m+i-t] = band[t*m+i]
			}
			if !lower && i+t < m {
				a[i*m+i+t] = band[(nb-1-t)*m+i]
			}
		}
	}
	return a
}

func TestLinalgBandedTriangularSolve(t *testing.T) {
	for _, dt := range laDTypes {
		tol := laTol(dt)
		// Padding entries (9) are never read.
		lo := laMust(t, "BandedTriangularSolve", map[string]any{"T": dt, "lower": true, "adjoint": false}, 1,
			laT(dt, []float64{2, 3, 4, 9, 1, 1}, 2, 3), laT(dt, []float64{2, 4, 9}, 3, 1))[0]
		laClose(t, "lower band", vals(lo), []float64{1, 1, 2}, tol)
		up := laMust(t, "BandedTriangularSolve", map[string]any{"T": dt, "lower": false, "adjoint": false}, 1,
			laT(dt, []float64{1, 1, 9, 2, 3, 4}, 2, 3), laT(dt, []float64{3, 4, 8}, 3, 1))[0]
		laClose(t, "upper band", vals(up), []float64{7. / 6, 2. / 3, 2}, tol)
		for _, lower := range []bool{true, false} {
			for _, adjoint := range []bool{false, true} {
				const nb, m, k = 3, 6, 2
				bv := laRand(600, 2*nb*m)
				for b := range 2 {
					d := 0
					if !lower {
						d = nb - 1
					}
					for i := range m {
						bv[b*nb*m+d*m+i] += 3 * math.Copysign(1, bv[b*nb*m+d*m+i])
					}
				}
				band := laT(dt, bv, 2, 1, nb, m)
				rhs := laT(dt, laRand(601, 3*m*k), 3, m, k)
				got := laMust(t, "BandedTriangularSolve", map[string]any{"T": dt, "lower": lower, "adjoint": adjoint}, 1, band, rhs)[0]
				if !got.Shape.Equal(classify.Shape{2, 3, m, k}) {
					t.Fatalf("shape %v", got.Shape)
				}
				bq, rq, g := vals(band), vals(rhs), vals(got)
				for i := range 2 {
					a := laBandDense(bq[i*nb*m:(i+1)*nb*m], nb, m, lower)
					if adjoint {
						a = laTr(a, m, m)
					}
					for j := range 3 {
						o := (i*3 + j) * m * k
						laClose(t, fmt.Sprintf("band lower=%v adjoint=%v", lower, adjoint), laMul(a, m, m, g[o:o+m*k], k), rq[j*m*k:(j+1)*m*k], tol*10)
					}
				}
			}
		}
		at := map[string]any{"T": dt, "lower": true, "adjoint": false}
		laErr(t, "BandedTriangularSolve", at, 1, "not invertible", laT(dt, []float64{1, 0, 0, 1}, 2, 2), laT(dt, []float64{1, 1}, 2, 1))
		laErr(t, "BandedTriangularSolve", at, 1, "empty", laT(dt, nil, 0, 2), laT(dt, nil, 2, 0))
		laErr(t, "BandedTriangularSolve", at, 1, "rows", laT(dt, []float64{1, 1}, 1, 2), laT(dt, []float64{1, 1, 1}, 3, 1))
	}
}
