package ops

import (
	"fmt"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

func laF64Scalar(v float64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{v}}
}

func TestLinalgSolveLs(t *testing.T) {
	for _, dt := range laDTypes {
		tol := laTol(dt)
		for _, fast := range []bool{true, false} {
			at := map[string]any{"T": dt, "fast": fast}
			// min ‖Ax - b‖: AᵀA = [[2 1] [1 2]], Aᵀb = [1 1], x = [1/3 1/3].
			a := laT(dt, []float64{1, 0, 0, 1, 1, 1}, 3, 2)
			b := laT(dt, []float64{1, 1, 0}, 3, 1)
			x := laMust(t, "MatrixSolveLs", at, 1, a, b, laF64Scalar(0))[0]
			laClose(t, fmt.Sprintf("overdetermined fast=%v", fast), vals(x), []float64{1. / 3, 1. / 3}, tol)
			// Underdetermined: the minimum-norm solution of x0 + x1 = 2.
			x = laMust(t, "MatrixSolveLs", at, 1, laT(dt, []float64{1, 1}, 1, 2), laT(dt, []float64{2}, 1, 1), laF64Scalar(0))[0]
			laClose(t, fmt.Sprintf("underdetermined fast=%v", fast), vals(x), []float64{1, 1}, tol)
			// Random batches: the normal equations hold, Aᵀ(Ax - b) = 0.
			for _, sh := range [][3]int{{5, 3, 2}, {4, 4, 1}, {6, 2, 3}} {
				m, n, k := sh[0], sh[1], sh[2]
				av := laT(dt, laRand(uint64(m*10+n), 2*m*n), 2, m, n)
				bv := laT(dt, laRand(uint64(m*10+k+5), 2*m*k), 2, m, k)
				x := vals(laMust(t, "MatrixSolveLs", at, 1, av, bv, laF64Scalar(0))[0])
				A, B := vals(av), vals(bv)
				for i := range 2 {
					ai := A[i*m*n : (i+1)*m*n]
					res := laMul(ai, m, n, x[i*n*k:(i+1)*n*k], k)
					for j := range res {
						res[j] -= B[i*m*k+j]
					}
					laClose(t, fmt.Sprintf("Aᵀ(Ax-b) = 0 %dx%d fast=%v", m, n, fast), laMul(laTr(ai, m, n), n, m, res, k), make([]float64, n*k), tol*100)
				}
			}
		}
		fastAt := map[string]any{"T": dt, "fast": true}
		a := laT(dt, []float64{1, 0, 0, 1, 1, 1}, 3, 2)
		b := laT(dt, []float64{1, 1, 0}, 3, 1)
		// Ridge: (AᵀA + I)x = Aᵀb: [[3 1] [1 3]]x = [1 1].
		x := laMust(t, "MatrixSolveLs", fastAt, 1, laT(dt, []float64{1, 0, 0, 1, 1, 1}, 3, 2), laT(dt, []float64{1, 1, 0}, 3, 1), laF64Scalar(1))[0]
		laClose(t, "l2 = 1", vals(x), []float64{0.25, 0.25}, tol)
		// Rank deficient: fast fails as TF, complete orthogonal
		// decomposition gives the minimum-norm solution.
		sing := laT(dt, []float64{1, 0, 0, 0}, 2, 2)
		rhs := laT(dt, []float64{2, 3}, 2, 1)
		laErr(t, "MatrixSolveLs", fastAt, 1, "rank deficient", sing, rhs, laF64Scalar(0))
		laErr(t, "MatrixSolveLs", fastAt, 1, "provide an l2_regularizer", laT(dt, []float64{0, 0}, 1, 2), laT(dt, []float64{1}, 1, 1), laF64Scalar(0))
		x = laMust(t, "MatrixSolveLs", map[string]any{"T": dt, "fast": false}, 1, sing, rhs, laF64Scalar(0))[0]
		laClose(t, "minimum norm, rank 1", vals(x), []float64{2, 0}, tol)
		x = laMust(t, "MatrixSolveLs", map[string]any{"T": dt, "fast": false}, 1, laT(dt, []float64{1, 1, 1, 1}, 2, 2), laT(dt, []float64{2, 2}, 2, 1), laF64Scalar(0))[0]
		laClose(t, "minimum norm, [[1 1] [1 1]]", vals(x), []float64{1, 1}, tol)
		x = laMust(t, "MatrixSolveLs", map[string]any{"T": dt, "fast": false}, 1, laT(dt, []float64{0, 0, 0, 0, 0, 0}, 3, 2), laT(dt, []float64{1, 2, 3}, 3, 1), laF64Scalar(0))[0]
		laClose(t, "zero matrix", vals(x), []float64{0, 0}, 0)
		// Rank 2 of 3 (b in the range): x = pinv(A)·b, so A·x = b and x is
		// orthogonal to the null space, spanned by (1, 1, -1).
		x = laMust(t, "MatrixSolveLs", map[string]any{"T": dt, "fast": false}, 1, laT(dt, []float64{1, 0, 1, 0, 1, 1, 1, 1, 2}, 3, 3), laT(dt, []float64{1, 2, 3}, 3, 1), laF64Scalar(0))[0]
		xv := vals(x)
		laClose(t, "rank 2 of 3: A·x = b", laMul([]float64{1, 0, 1, 0, 1, 1, 1, 1, 2}, 3, 3, xv, 1), []float64{1, 2, 3}, tol*10)
		laClose(t, "rank 2 of 3: x ⊥ null space", []float64{xv[0] + xv[1] - xv[2]}, []float64{0}, tol*10)
		// Empty systems.
		e := laMust(t, "MatrixSolveLs", fastAt, 1, laT(dt, nil, 0, 2), laT(dt, nil, 0, 3), laF64Scalar(0))[0]
		if !e.Shape.Equal(classify.Shape{2, 3}) {
			t.Fatalf("0 rows: shape %v", e.Shape)
		}
		laClose(t, "0 rows", vals(e), make([]float64, 6), 0)
		laErr(t, "MatrixSolveLs", fastAt, 1, ">= 0", a, b, laF64Scalar(-1))
		laErr(t, "MatrixSolveLs", fastAt, 1, "float64 scalar", a, b, laT(classify.Float32, []float64{0}))
		laErr(t, "MatrixSolveLs", fastAt, 1, "number of rows", a, laT(dt, []float64{1, 1}, 2, 1), laF64Scalar(0))
		laErr(t, "MatrixSolveLs", fastAt, 1, "batch dimensions", laT(dt, make([]float64, 12), 2, 3, 2), laT(dt, make([]float64, 3), 3, 1), laF64Scalar(0))
	}
}
