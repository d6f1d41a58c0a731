package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

func TestLinalgMatrixSquareRoot(t *testing.T) {
	for _, dt := range laDTypes {
		tol := laTol(dt)
		at := map[string]any{"T": dt}
		r := math.Sqrt(0.5)
		for _, c := range []struct {
			name    string
			a, want []float64
		}{
			{"diagonal", []float64{4, 0, 0, 9}, []float64{2, 0, 0, 3}},
			{"Jordan block", []float64{1, 1, 0, 1}, []float64{1, 0.5, 0, 1}},
			{"lower Jordan block", []float64{4, 0, 4, 4}, []float64{2, 0, 1, 2}},
			// A quarter turn's principal root is the eighth turn.
			{"rotation", []float64{0, -1, 1, 0}, []float64{r, -r, r, r}},
			// Symmetric [[5 4] [4 5]] = Q diag(1, 9) Qᵀ: root Q diag(1, 3) Qᵀ.
			{"symmetric", []float64{5, 4, 4, 5}, []float64{2, 1, 1, 2}},
		} {
			got := laMust(t, "MatrixSquareRoot", at, 1, laT(dt, c.a, 2, 2))[0]
			laClose(t, c.name, vals(got), c.want, tol*10)
		}
		// Random matrices with eigenvalues in the right half plane (n·I
		// plus entries in [-1, 1)): X·X = A. Complex pairs are common.
		for n := 1; n <= 12; n++ {
			av := laRand(uint64(200+n), 3*n*n)
			for b := range 3 {
				for i := range n {
					av[b*n*n+i*n+i] += float64(n)
				}
			}
			x := laT(dt, av, 3, n, n)
			got := vals(laMust(t, "MatrixSquareRoot", at, 1, x)[0])
			a := vals(x)
			for b := range 3 {
				g := got[b*n*n : (b+1)*n*n]
				laClose(t, fmt.Sprintf("%v n=%d: X·X = A", dt, n), laMul(g, n, n, g, n), a[b*n*n:(b+1)*n*n], tol*float64(n)*10)
			}
		}
		// A negative eigenvalue has no real principal root: NaN.
		nan := vals(laMust(t, "MatrixSquareRoot", at, 1, laT(dt, []float64{-4}, 1, 1))[0])
		if !math.IsNaN(nan[0]) {
			t.Errorf("sqrt of [[-4]] = %v, want NaN", nan)
		}
		inf := vals(laMust(t, "MatrixSquareRoot", at, 1, laT(dt, []float64{math.Inf(1), 1, 1, 1}, 2, 2))[0])
		// Inf input: the result is not finite (its pattern depends on the
		// Schur iteration, in Eigen too), and the kernel terminates.
		finite := true
		for _, v := range inf {
			finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
		}
		if finite {
			t.Errorf("sqrt with Inf: %v, want a non-finite value", inf)
		}
		if e := laMust(t, "MatrixSquareRoot", at, 1, laT(dt, nil, 2, 0, 0))[0]; !e.Shape.Equal(classify.Shape{2, 0, 0}) {
			t.Errorf("0x0: shape %v", e.Shape)
		}
		laErr(t, "MatrixSquareRoot", at, 1, "square", laT(dt, make([]float64, 6), 2, 3))
	}
}
