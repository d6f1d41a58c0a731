package ops

// MatrixSolveLs: least squares, matrix [..., M, N], rhs [..., M, K] (same
// batch dimensions), l2_regularizer a float64 scalar >= 0; output
// [..., N, K]. As TensorFlow's kernel:
//
//   - fast (default): the normal equations by Cholesky, (AᵀA + λI)X = AᵀB
//     for M >= N, X = Aᵀ(AAᵀ + λI)⁻¹B for M < N; a failed factorization is
//     TF's "rank deficient or ill-conditioned" error.
//   - fast=false: Eigen's CompleteOrthogonalDecomposition: the
//     column-pivoting QR decides the rank (|R_ii| > ε·min(M, N)·max|R_jj|,
//     ε of T), and X is the minimum-norm solution of the rank-r problem
//     (computed as the pseudo-inverse of [R11 R12] applied to (QᵀB)[:r],
//     which equals COD's Zᵀ·[T11⁻¹; 0]); l2_regularizer is ignored.
//
// An empty system (M, N or K zero) gives zeros (TF leaves the buffer as
// allocated).

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("MatrixSolveLs", buildLinalg(laSolveLs))
}

func (o *laOp) runSolveLs(ctx *Ctx, a, rhs, l2t *classify.Tensor) ([]*classify.Tensor, error) {
	if l2t == nil || l2t.DType != classify.Float64 || len(l2t.Shape) != 0 || l2t.Len() != 1 {
		return nil, o.n.InputErrorf("l2_regularizer must be a float64 scalar")
	}
	l2 := l2t.Data.([]float64)[0]
	if !(l2 >= 0) {
		return nil, o.n.InputErrorf("l2_regularizer must be >= 0.")
	}
	r := len(a.Shape)
	bs := a.Shape[:r-2]
	m, n := a.Shape[r-2], a.Shape[r-1]
	if len(rhs.Shape) != r || !rhs.Shape[:r-2].Equal(bs) {
		return nil, o.n.InputErrorf("matrix %v and right-hand side %v must have the same batch dimensions", a.Shape, rhs.Shape)
	}
	if rhs.Shape[r-2] != m {
		return nil, o.n.InputErrorf("matrix %v and right-hand side %v must have the same number of rows", a.Shape, rhs.Shape)
	}
	k := rhs.Shape[r-1]
	batch := arrProd(bs)
	fm, fn, fk := float64(m), float64(n), float64(k)
	cost := max(fm, fn)*min(fm, fn)*(min(fm, fn)+fk) + fm*fn*fk
	if !o.fast {
		cost = 4*max(fm, fn)*min(fm, fn)*min(fm, fn) + 2*(fm+fn)*min(fm, fn)*fk
	}
	shape := append(bs.Clone(), n, k)
	if err := o.laBudget(batch, cost, shape); err != nil {
		return nil, err
	}
	out := ctx.Output(0, a.DType, shape...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	if m == 0 {
		laPut(out, 0, make([]float64, out.Len()))
		return []*classify.Tensor{out}, nil
	}
	as, bsrc := f64sOf(a), f64sOf(rhs)
	eps := 0x1p-52
	if a.DType == classify.Float32 {
		eps = 0x1p-23
	}
	err := laBatch(ctx, batch, cost, func(b int) error {
		ab, bb := as[b*m*n:(b+1)*m*n], bsrc[b*m*k:(b+1)*m*k]
		var x []float64
		if o.fast {
			var ok bool
			if x, ok = laLstsqFast(ab, m, n, bb, k, l2); !ok {
				if m >= n {
					return o.n.InputErrorf("Input matrix was rank deficient or ill-conditioned. Try setting fast=False or provide a larger l2_regularizer > 0.")
				}
				return o.n.InputErrorf("Input matrix was rank deficient or ill-conditioned. Try setting fast=False or provide an l2_regularizer > 0.")
			}
		} else {
			x = laLstsqCOD(ab, m, n, bb, k, eps)
		}
		laPut(out, b*n*k, x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

// laLstsqFast solves by the normal equations; false when the Gram matrix
// is not positive definite.
func laLstsqFast(a []float64, m, n int, b []float64, k int, l2 float64) ([]float64, bool) {
	at := laLoad(a, m, n, true)
	if m >= n {
		g := laMulF(at, n, m, a, n)
		for i := range n {
			g[i*n+i] += l2
		}
		if !laCholeskyInPlace(g, n) {
			return nil, false
		}
		x := laMulF(at, n, m, b, k)
		laTriangular(g, n, x, k, true, false)
		laTriangular(g, n, x, k, true, true)
		return x, true
	}
	g := laMulF(a, m, n, at, m)
	for i := range m {
		g[i*m+i] += l2
	}
	if !laCholeskyInPlace(g, m) {
		return nil, false
	}
	z := append([]float64(nil), b...)
	laTriangular(g, m, z, k, true, false)
	laTriangular(g, m, z, k, true, true)
	return laMulF(at, n, m, z, k), true
}

// laMulF is the r×q by q×c product.
func laMulF(a []float64, r, q int, b []float64, c int) []float64 {
	out := make([]float64, r*c)
	for i := range r {
		oi := out[i*c : (i+1)*c]
		for p := range q {
			if v := a[i*q+p]; v != 0 {
				bp := b[p*c : (p+1)*c]
				for j := range oi {
					oi[j] += v * bp[j]
				}
			}
		}
	}
	return out
}

// laLstsqCOD is the minimum-norm least-squares solution through the
// column-pivoting QR, rank decided as Eigen's ColPivHouseholderQR::rank.
func laLstsqCOD(src []float64, m, n int, b []float64, k int, eps float64) []float64 {
	a := append([]float64(nil), src...)
	tau, perm := laHouseQR(a, m, n, 0x1p-1022, true)
	d := min(m, n)
	maxPiv := 0.0
	for i := range d {
		maxPiv = max(maxPiv, math.Abs(a[i*n+i]))
	}
	th := maxPiv * eps * float64(d)
	r := 0
	for i := range d {
		if math.Abs(a[i*n+i]) > th {
			r++
		}
	}
	x := make([]float64, n*k)
	if r == 0 {
		return x
	}
	// c = QᵀB: the reflectors in order.
	c := append([]float64(nil), b...)
	for i := range d {
		if tau[i] != 0 && i+1 < m {
			laApplyHouse(c, k, i, m-i, 0, k, a[(i+1)*n+i:], n, tau[i])
		}
	}
	c = c[:r*k]
	var y []float64
	if r == n {
		// Full column rank: R11 y = c.
		rt := make([]float64, n*n)
		for i := range n {
			copy(rt[i*n+i:(i+1)*n], a[i*n+i:(i+1)*n])
		}
		laUpperSolve(rt, n, c, k)
		y = c
	} else {
		// y = pinv([R11 R12]) c through the QR of its transpose (n×r):
		// [R11 R12]ᵀ = Q2·R2, so y = Q2·R2⁻ᵀ·c.
		rtt := make([]float64, n*r)
		for i := range r {
			for j := i; j < n; j++ {
				rtt[j*r+i] = a[i*n+j]
			}
		}
		tau2, _ := laHouseQR(rtt, n, r, 0x1p-1022, false)
		r2 := make([]float64, r*r)
		for i := range r {
			copy(r2[i*r+i:(i+1)*r], rtt[i*r+i:(i+1)*r])
		}
		laTriangular(r2, r, c, k, false, true)
		q2 := laHouseQ(rtt, n, r, tau2, r)
		y = laMulF(q2, n, r, c, k)
	}
	for j, p := range perm {
		copy(x[p*k:(p+1)*k], y[j*k:(j+1)*k])
	}
	return x
}
