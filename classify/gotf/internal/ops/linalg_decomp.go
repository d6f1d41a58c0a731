package ops

// The decompositions: Qr, Svd, SelfAdjointEigV2 and Lu, written after the
// Eigen solvers TensorFlow's CPU kernels call, step by step, so that the
// signs a decomposition leaves free come out as TensorFlow's:
//
//   - Qr is Eigen's HouseholderQR: the reflector of x has beta =
//     -sign(x0)·|x| (sign(0) = +), and no reflection at all when the tail
//     of x is zero (then R's diagonal keeps x0's sign), so R's diagonal can
//     be negative. Q is the product of the reflectors (thin: its first
//     min(M, N) columns).
//   - Svd is Eigen's JacobiSVD (TensorFlow calls BDCSVD, which hands
//     matrices of fewer than 16 columns to JacobiSVD): a column-pivoting
//     Householder QR first when M != N, then two-sided 2×2 Jacobi sweeps,
//     singular values made positive by flipping U's column, then sorted
//     descending. For 16 or more columns BDCSVD's divide and conquer is
//     not reproduced: s agrees to rounding, U and V up to the sign of each
//     pair of singular vectors (and any basis of a repeated value).
//   - SelfAdjointEigV2 is Eigen's SelfAdjointEigenSolver: scale by the
//     largest |a_ij| of the lower triangle (the only part read), Householder
//     tridiagonalization, implicit symmetric QR steps with Wilkinson's
//     shift, eigenvalues sorted ascending by selection; no convergence after
//     30·N steps is TensorFlow's error.
//   - Lu is PartialPivLU: lu packs unit-lower L and U, p lists for each row
//     of P·A the row of A it came from; a zero pivot is TensorFlow's "Input
//     is not invertible." error.
//
// Eigen's thresholds (epsilon, the smallest normal number) are those of
// float64, the type the kernels compute in, except where they decide a
// sign (Householder's "tail is zero" test), which uses T's.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for op, k := range map[string]laKind{
		"Qr":               laQr,
		"Svd":              laSvd,
		"SelfAdjointEigV2": laEig,
		"Lu":               laLu,
	} {
		Register(op, buildLinalg(k))
	}
	promote("Qr", "T", nil, classify.Float16)
}

// laTiny is the smallest positive normal number of dt.
func laTiny(dt classify.DType) float64 {
	if dt == classify.Float32 {
		return 0x1p-126 // FLT_MIN
	}
	return 0x1p-1022
}

// laHouse is Eigen's makeHouseholderInPlace on x (stride st, length len):
// it returns tau and beta and leaves the essential part in x[1:].
func laHouse(x []float64, st, n int, tiny float64) (tau, beta float64) {
	c0 := x[0]
	tail := 0.0
	for i := 1; i < n; i++ {
		tail += x[i*st] * x[i*st]
	}
	if tail <= tiny {
		for i := 1; i < n; i++ {
			x[i*st] = 0
		}
		return 0, c0
	}
	beta = math.Sqrt(c0*c0 + tail)
	if c0 >= 0 {
		beta = -beta
	}
	d := c0 - beta
	for i := 1; i < n; i++ {
		x[i*st] /= d
	}
	return (beta - c0) / beta, beta
}

// laApplyHouse applies I - tau·v·vᵀ (v = [1, ess...], ess at stride est)
// from the left to the rows r0..r0+n-1, columns c0..c1-1 of the row-major
// matrix a with c columns.
func laApplyHouse(a []float64, c int, r0, n, c0, c1 int, ess []float64, est int, tau float64) {
	if tau == 0 {
		return
	}
	for j := c0; j < c1; j++ {
		w := a[r0*c+j]
		for i := 1; i < n; i++ {
			w += ess[(i-1)*est] * a[(r0+i)*c+j]
		}
		w *= tau
		a[r0*c+j] -= w
		for i := 1; i < n; i++ {
			a[(r0+i)*c+j] -= ess[(i-1)*est] * w
		}
	}
}

// laHouseQR factors the m×n a in place as HouseholderQR (or, with pivot,
// ColPivHouseholderQR, returning the column permutation perm: column j of
// the factored matrix is column perm[j] of a). R is on and above the
// diagonal, the essential parts of the reflectors below it.
func laHouseQR(a []float64, m, n int, tiny float64, pivot bool) (tau []float64, perm []int) {
	r := min(m, n)
	tau = make([]float64, r)
	var upd, direct []float64
	if pivot {
		perm = make([]int, n)
		upd, direct = make([]float64, n), make([]float64, n)
		for j := range n {
			perm[j] = j
			s := 0.0
			for i := range m {
				s += a[i*n+j] * a[i*n+j]
			}
			upd[j] = math.Sqrt(s)
			direct[j] = upd[j]
		}
	}
	thresh := math.Sqrt(0x1p-52)
	for k := range r {
		if pivot {
			big := k
			for j := k + 1; j < n; j++ {
				if upd[j] > upd[big] {
					big = j
				}
			}
			if big != k {
				for i := range m {
					a[i*n+k], a[i*n+big] = a[i*n+big], a[i*n+k]
				}
				upd[k], upd[big] = upd[big], upd[k]
				direct[k], direct[big] = direct[big], direct[k]
				perm[k], perm[big] = perm[big], perm[k]
			}
		}
		t, beta := laHouse(a[k*n+k:], n, m-k, tiny)
		tau[k] = t
		a[k*n+k] = beta
		if k+1 < m {
			laApplyHouse(a, n, k, m-k, k+1, n, a[(k+1)*n+k:], n, t)
		}
		if !pivot {
			continue
		}
		// LAPACK's stable norm downdate (xGEQPF), as Eigen.
		for j := k + 1; j < n; j++ {
			if upd[j] == 0 {
				continue
			}
			t := math.Abs(a[k*n+j]) / upd[j]
			t = (1 + t) * (1 - t)
			if t < 0 {
				t = 0
			}
			q := upd[j] / direct[j]
			if t*q*q <= thresh {
				s := 0.0
				for i := k + 1; i < m; i++ {
					s += a[i*n+j] * a[i*n+j]
				}
				direct[j] = math.Sqrt(s)
				upd[j] = direct[j]
			} else {
				upd[j] *= math.Sqrt(t)
			}
		}
	}
	return tau, perm
}

// laHouseQ returns the first cols columns (cols <= m) of Q = H_0·H_1·…,
// the reflectors stored by laHouseQR in the m×n a.
func laHouseQ(a []float64, m, n int, tau []float64, cols int) []float64 {
	q := make([]float64, m*cols)
	for i := range min(m, cols) {
		q[i*cols+i] = 1
	}
	for k := len(tau) - 1; k >= 0; k-- {
		if k+1 < m || tau[k] != 0 {
			laApplyHouse(q, cols, k, m-k, k, cols, a[min((k+1)*n+k, len(a)-1):], n, tau[k])
		}
	}
	return q
}

// runQr is Qr: q [..., M, M or K], r [..., M or K, N], K = min(M, N).
func (o *laOp) runQr(ctx *Ctx, x *classify.Tensor) ([]*classify.Tensor, error) {
	rk := len(x.Shape)
	bs := x.Shape[:rk-2]
	m, n := x.Shape[rk-2], x.Shape[rk-1]
	k := min(m, n)
	qc, rr := k, k
	if o.full {
		qc, rr = m, m
	}
	batch := arrProd(bs)
	qs, rs := append(bs.Clone(), m, qc), append(bs.Clone(), rr, n)
	fm, fn, fk, fq := float64(m), float64(n), float64(k), float64(qc)
	cost := 2*fm*fn*fk + 2*fm*fq*fk
	if err := o.laBudget(batch, cost, qs, rs); err != nil {
		return nil, err
	}
	q := ctx.Output(0, x.DType, qs...)
	r := ctx.Output(1, x.DType, rs...)
	if batch == 0 || m == 0 {
		return []*classify.Tensor{q, r}, nil
	}
	src := f64sOf(x)
	tiny := laTiny(x.DType)
	err := laBatch(ctx, batch, cost, func(b int) error {
		a := append([]float64(nil), src[b*m*n:(b+1)*m*n]...)
		tau, _ := laHouseQR(a, m, n, tiny, false)
		laPut(q, b*m*qc, laHouseQ(a, m, n, tau, qc))
		rv := make([]float64, rr*n)
		for i := range min(rr, m) {
			for j := i; j < n; j++ {
				rv[i*n+j] = a[i*n+j]
			}
		}
		laPut(r, b*rr*n, rv)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{q, r}, nil
}

// laRot is a Jacobi rotation (c, s) with Eigen's conventions.
type laRot struct{ c, s float64 }

func (j laRot) transpose() laRot { return laRot{j.c, -j.s} }

func (j laRot) mul(o laRot) laRot {
	return laRot{j.c*o.c - j.s*o.s, j.c*o.s + j.s*o.c}
}

// left applies j to rows p and q of the r×c a (Eigen's applyOnTheLeft).
func (j laRot) left(a []float64, c, p, q int) {
	if j.c == 1 && j.s == 0 {
		return
	}
	for k := range c {
		x, y := a[p*c+k], a[q*c+k]
		a[p*c+k] = j.c*x + j.s*y
		a[q*c+k] = -j.s*x + j.c*y
	}
}

// right applies j to columns p and q of the r×c a (Eigen's
// applyOnTheRight, which rotates by jᵀ).
func (j laRot) right(a []float64, r, c, p, q int) {
	t := j.transpose()
	if t.c == 1 && t.s == 0 {
		return
	}
	for k := range r {
		x, y := a[k*c+p], a[k*c+q]
		a[k*c+p] = t.c*x + t.s*y
		a[k*c+q] = -t.s*x + t.c*y
	}
}

// laMakeJacobi is Eigen's JacobiRotation::makeJacobi(x, y, z).
func laMakeJacobi(x, y, z float64) laRot {
	deno := 2 * math.Abs(y)
	if deno < 0x1p-1022 {
		return laRot{1, 0}
	}
	tau := (x - z) / deno
	w := math.Sqrt(tau*tau + 1)
	var t float64
	if tau > 0 {
		t = 1 / (tau + w)
	} else {
		t = 1 / (tau - w)
	}
	st := -1.0
	if t > 0 {
		st = 1
	}
	n := 1 / math.Sqrt(t*t+1)
	return laRot{n, -st * math.Copysign(1, y) * math.Abs(t) * n}
}

// laJacobi2x2 is Eigen's real_2x2_jacobi_svd of the block (p, q) of w.
func laJacobi2x2(w []float64, d, p, q int) (jl, jr laRot) {
	m00, m01, m10, m11 := w[p*d+p], w[p*d+q], w[q*d+p], w[q*d+q]
	rot := laRot{1, 0}
	t, dd := m00+m11, m10-m01
	if math.Abs(dd) >= 0x1p-1022 {
		u := t / dd
		tmp := math.Sqrt(1 + u*u)
		rot = laRot{u / tmp, 1 / tmp}
	}
	// m = rot applied on the left.
	n00, n01 := rot.c*m00+rot.s*m10, rot.c*m01+rot.s*m11
	n11 := -rot.s*m01 + rot.c*m11
	jr = laMakeJacobi(n00, n01, n11)
	return rot.mul(jr.transpose()), jr
}

// laSVD is Eigen's JacobiSVD of the m×n a (scaled copy made here). With
// uv it returns U (m×uc) and V (n×vc), uc and vc being m and n (full) or
// min(m, n). ok is false for a matrix with Inf or NaN (Eigen's
// InvalidInput).
func laSVD(src []float64, m, n int, uv, full bool, tiny float64) (s, u, v []float64, uc, vc int, ok bool) {
	d := min(m, n)
	uc, vc = d, d
	if full {
		uc, vc = m, n
	}
	scale := 0.0
	for _, x := range src {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil, nil, uc, vc, false
		}
		scale = max(scale, math.Abs(x))
	}
	if scale == 0 {
		scale = 1
	}
	a := make([]float64, m*n)
	for i, x := range src {
		a[i] = x / scale
	}
	w := make([]float64, d*d)
	switch {
	case m > n:
		tau, perm := laHouseQR(a, m, n, tiny, true)
		for i := range n {
			for j := i; j < n; j++ {
				w[i*d+j] = a[i*n+j]
			}
		}
		if uv {
			u = laHouseQ(a, m, n, tau, uc)
			v = make([]float64, n*vc)
			for j, p := range perm {
				v[p*vc+j] = 1
			}
		}
	case m < n:
		at := laLoad(a, m, n, true) // n×m
		tau, perm := laHouseQR(at, n, m, tiny, true)
		for i := range m {
			for j := i; j < m; j++ {
				w[j*d+i] = at[i*m+j]
			}
		}
		if uv {
			v = laHouseQ(at, n, m, tau, vc)
			u = make([]float64, m*uc)
			for j, p := range perm {
				u[p*uc+j] = 1
			}
		}
	default:
		copy(w, a)
		if uv {
			u, v = laEyeRect(m, uc), laEyeRect(n, vc)
		}
	}
	const precision = 2 * 0x1p-52
	maxDiag := 0.0
	for i := range d {
		maxDiag = max(maxDiag, math.Abs(w[i*d+i]))
	}
	for sweep, done := 0, false; !done && sweep < 100; sweep++ {
		done = true
		for p := 1; p < d; p++ {
			for q := range p {
				th := max(0x1p-1022, precision*maxDiag)
				if !(math.Abs(w[p*d+q]) > th || math.Abs(w[q*d+p]) > th) {
					continue
				}
				done = false
				jl, jr := laJacobi2x2(w, d, p, q)
				jl.left(w, d, p, q)
				if uv {
					jl.transpose().right(u, m, uc, p, q)
				}
				jr.right(w, d, d, p, q)
				if uv {
					jr.right(v, n, vc, p, q)
				}
				maxDiag = max(maxDiag, math.Abs(w[p*d+p]), math.Abs(w[q*d+q]))
			}
		}
	}
	s = make([]float64, d)
	for i := range d {
		x := w[i*d+i]
		s[i] = math.Abs(x)
		if uv && x < 0 {
			for r := range m {
				u[r*uc+i] = -u[r*uc+i]
			}
		}
	}
	for i := range s {
		s[i] *= scale
	}
	for i := range d {
		pos := i
		for j := i + 1; j < d; j++ {
			if s[j] > s[pos] {
				pos = j
			}
		}
		if s[pos] == 0 {
			break
		}
		if pos != i {
			s[i], s[pos] = s[pos], s[i]
			if uv {
				laSwapCols(u, m, uc, i, pos)
				laSwapCols(v, n, vc, i, pos)
			}
		}
	}
	return s, u, v, uc, vc, true
}

// laEyeRect is the r×c identity (ones on the leading diagonal).
func laEyeRect(r, c int) []float64 {
	e := make([]float64, r*c)
	for i := range min(r, c) {
		e[i*c+i] = 1
	}
	return e
}

func laSwapCols(a []float64, r, c, i, j int) {
	for k := range r {
		a[k*c+i], a[k*c+j] = a[k*c+j], a[k*c+i]
	}
}

// runSvd is Svd: s [..., K]; with compute_uv u [..., M, M or K] and
// v [..., N, N or K]. A matrix with Inf or NaN gives NaN outputs (TF
// fills them when Eigen reports failure).
func (o *laOp) runSvd(ctx *Ctx, x *classify.Tensor) ([]*classify.Tensor, error) {
	rk := len(x.Shape)
	bs := x.Shape[:rk-2]
	m, n := x.Shape[rk-2], x.Shape[rk-1]
	k := min(m, n)
	uc, vc := k, k
	if o.full {
		uc, vc = m, n
	}
	batch := arrProd(bs)
	ss, us, vs := append(bs.Clone(), k), append(bs.Clone(), m, uc), append(bs.Clone(), n, vc)
	fm, fn, fk := float64(m), float64(n), float64(k)
	// Jacobi sweeps (about ten) dominate: k²/2 rotations each touching
	// rows and columns of the k×k work matrix, U and V.
	cost := 5*fk*fk*(4*fk+2*fm+2*fn) + 2*max(fm, fn)*fk*fk
	if err := o.laBudget(batch, cost, ss, us, vs); err != nil {
		return nil, err
	}
	s := ctx.Output(0, x.DType, ss...)
	var u, v *classify.Tensor
	outs := []*classify.Tensor{s}
	if o.uv {
		u, v = ctx.Output(1, x.DType, us...), ctx.Output(2, x.DType, vs...)
		outs = append(outs, u, v)
	}
	if batch == 0 {
		return outs, nil
	}
	src := f64sOf(x)
	err := laBatch(ctx, batch, cost, func(b int) error {
		if k == 0 {
			// TF: U or V of the nonzero dimension is the identity.
			if o.uv {
				laPut(u, b*m*uc, laEyeRect(m, uc))
				laPut(v, b*n*vc, laEyeRect(n, vc))
			}
			return nil
		}
		sv, uv, vv, _, _, ok := laSVD(src[b*m*n:(b+1)*m*n], m, n, o.uv, o.full, laTiny(x.DType))
		if !ok {
			nan := math.NaN()
			sv = laFill(k, nan)
			uv, vv = laFill(m*uc, nan), laFill(n*vc, nan)
		}
		laPut(s, b*k, sv)
		if o.uv {
			laPut(u, b*m*uc, uv)
			laPut(v, b*n*vc, vv)
		}
		return nil
	})
	return outs, err
}

func laFill(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// laEigen is Eigen's SelfAdjointEigenSolver on the lower triangle of the
// n×n src. It returns ascending eigenvalues, the eigenvectors as columns
// of the n×n vecs (when wantV), and false when the QR iteration did not
// converge.
func laEigen(src []float64, n int, wantV bool, tiny float64) (vals, vecs []float64, ok bool) {
	if n == 1 {
		return []float64{src[0]}, []float64{1}, true
	}
	a := make([]float64, n*n)
	scale := 0.0
	for i := range n {
		for j := 0; j <= i; j++ {
			a[i*n+j] = src[i*n+j]
			scale = max(scale, math.Abs(src[i*n+j]))
		}
	}
	if scale == 0 {
		scale = 1
	}
	for i := range a {
		a[i] /= scale
	}
	// Householder tridiagonalization of the lower triangle (Eigen's
	// tridiagonalization_inplace).
	diag, sub := make([]float64, n), make([]float64, n-1)
	hc := make([]float64, n-1)
	p := make([]float64, n)
	for i := 0; i < n-1; i++ {
		rs := n - i - 1
		h, beta := laHouse(a[(i+1)*n+i:], n, rs, tiny)
		a[(i+1)*n+i] = 1
		vv := func(t int) float64 { return a[(i+1+t)*n+i] }
		// p = h · A22 v (A22 symmetric from its lower triangle).
		for r := range rs {
			s := 0.0
			for c := range rs {
				var x float64
				if c <= r {
					x = a[(i+1+r)*n+i+1+c]
				} else {
					x = a[(i+1+c)*n+i+1+r]
				}
				s += x * vv(c)
			}
			p[r] = h * s
		}
		dot := 0.0
		for r := range rs {
			dot += p[r] * vv(r)
		}
		f := h * -0.5 * dot
		for r := range rs {
			p[r] += f * vv(r)
		}
		for r := range rs {
			for c := 0; c <= r; c++ {
				a[(i+1+r)*n+i+1+c] -= vv(r)*p[c] + p[r]*vv(c)
			}
		}
		a[(i+1)*n+i] = beta
		hc[i] = h
	}
	for i := range n {
		diag[i] = a[i*n+i]
	}
	for i := range n - 1 {
		sub[i] = a[(i+1)*n+i]
	}
	var q []float64
	if wantV {
		// Q = H_0 ⋯ H_{n-2}, H_i acting on rows and columns i+1..n-1.
		q = laEyeRect(n, n)
		for k := n - 2; k >= 0; k-- {
			rs := n - k - 1
			if hc[k] == 0 {
				continue
			}
			laApplyHouse(q, n, k+1, rs, k+1, n, a[min((k+2)*n+k, len(a)-1):], n, hc[k])
		}
	}
	// Implicit symmetric QR (Eigen's computeFromTridiagonal_impl).
	const maxIter = 30
	end, start, iter := n-1, 0, 0
	for end > 0 {
		for i := start; i < end; i++ {
			if math.Abs(sub[i]) < 0x1p-1022 {
				sub[i] = 0
			} else if s := sub[i] * 0x1p52; s*s <= math.Abs(diag[i])+math.Abs(diag[i+1]) {
				sub[i] = 0
			}
		}
		for end > 0 && sub[end-1] == 0 {
			end--
		}
		if end <= 0 {
			break
		}
		iter++
		if iter > maxIter*n {
			break
		}
		start = end - 1
		for start > 0 && sub[start-1] != 0 {
			start--
		}
		laQRStep(diag, sub, start, end, q, n)
	}
	if iter > maxIter*n {
		return nil, nil, false
	}
	for i := 0; i < n-1; i++ {
		k := i
		for j := i + 1; j < n; j++ {
			if diag[j] < diag[k] {
				k = j
			}
		}
		if k != i {
			diag[i], diag[k] = diag[k], diag[i]
			if wantV {
				laSwapCols(q, n, n, i, k)
			}
		}
	}
	for i := range diag {
		diag[i] *= scale
	}
	return diag, q, true
}

// laGivens is Eigen's JacobiRotation::makeGivens(p, q).
func laGivens(p, q float64) laRot {
	switch {
	case q == 0:
		if p < 0 {
			return laRot{-1, 0}
		}
		return laRot{1, 0}
	case p == 0:
		if q < 0 {
			return laRot{0, 1}
		}
		return laRot{0, -1}
	case math.Abs(p) > math.Abs(q):
		t := q / p
		u := math.Sqrt(1 + t*t)
		if p < 0 {
			u = -u
		}
		c := 1 / u
		return laRot{c, -t * c}
	default:
		t := p / q
		u := math.Sqrt(1 + t*t)
		if q < 0 {
			u = -u
		}
		s := -1 / u
		return laRot{-t * s, s}
	}
}

// laQRStep is Eigen's tridiagonal_qr_step with Wilkinson's shift, the
// rotations accumulated into the columns of q (n×n) when not nil.
func laQRStep(diag, sub []float64, start, end int, q []float64, n int) {
	td := (diag[end-1] - diag[end]) * 0.5
	e := sub[end-1]
	mu := diag[end]
	if td == 0 {
		mu -= math.Abs(e)
	} else if e != 0 {
		e2 := e * e
		h := math.Hypot(td, e)
		hs := h
		if !(td > 0) {
			hs = -h
		}
		if e2 == 0 {
			mu -= e / ((td + hs) / e)
		} else {
			mu -= e2 / (td + hs)
		}
	}
	x, z := diag[start]-mu, sub[start]
	for k := start; k < end && z != 0; k++ {
		r := laGivens(x, z)
		sdk := r.s*diag[k] + r.c*sub[k]
		dkp1 := r.s*sub[k] + r.c*diag[k+1]
		diag[k] = r.c*(r.c*diag[k]-r.s*sub[k]) - r.s*(r.c*sub[k]-r.s*diag[k+1])
		diag[k+1] = r.s*sdk + r.c*dkp1
		sub[k] = r.c*sdk - r.s*dkp1
		if k > start {
			sub[k-1] = r.c*sub[k-1] - r.s*z
		}
		x = sub[k]
		if k < end-1 {
			z = -r.s * sub[k+1]
			sub[k+1] = r.c * sub[k+1]
		}
		if q != nil {
			r.right(q, n, n, k, k+1)
		}
	}
}

// runEig is SelfAdjointEigV2: e [..., N] ascending; with compute_v,
// v [..., N, N] holding the eigenvectors as columns.
func (o *laOp) runEig(ctx *Ctx, x *classify.Tensor) ([]*classify.Tensor, error) {
	bs, batch, n, err := o.square(x, "input")
	if err != nil {
		return nil, err
	}
	fn := float64(n)
	// Tridiagonalization, then a few QR steps per eigenvalue, each
	// rotating columns of the n×n vector matrix.
	cost := 20 * fn * fn * fn
	if err := o.laBudget(batch, cost); err != nil {
		return nil, err
	}
	e := ctx.Output(0, x.DType, append(bs.Clone(), n)...)
	outs := []*classify.Tensor{e}
	var v *classify.Tensor
	if o.uv {
		v = ctx.Output(1, x.DType, x.Shape...)
		outs = append(outs, v)
	}
	if batch == 0 || n == 0 {
		return outs, nil
	}
	src := f64sOf(x)
	err = laBatch(ctx, batch, cost, func(b int) error {
		vals, vecs, ok := laEigen(src[b*n*n:(b+1)*n*n], n, o.uv, laTiny(x.DType))
		if !ok {
			return o.n.InputErrorf("Self-adjoint eigen decomposition was not successful. The input might not be valid.")
		}
		laPut(e, b*n, vals)
		if o.uv {
			laPut(v, b*n*n, vecs)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outs, nil
}

// runLu is Lu: lu [..., N, N] and p [..., N] of output_idx_type.
func (o *laOp) runLu(ctx *Ctx, x *classify.Tensor) ([]*classify.Tensor, error) {
	bs, batch, n, err := o.square(x, "input")
	if err != nil {
		return nil, err
	}
	fn := float64(n)
	if err := o.laBudget(batch, fn*fn*fn*2/3); err != nil {
		return nil, err
	}
	lu := ctx.Output(0, x.DType, x.Shape...)
	p := ctx.Output(1, o.idx, append(bs.Clone(), n)...)
	if batch == 0 || n == 0 {
		return []*classify.Tensor{lu, p}, nil
	}
	src := f64sOf(x)
	err = laBatch(ctx, batch, fn*fn*fn*2/3, func(b int) error {
		a := append([]float64(nil), src[b*n*n:(b+1)*n*n]...)
		piv := make([]int, n)
		laLU(a, n, n, piv)
		rows := make([]int, n)
		for i := range rows {
			rows[i] = i
		}
		for k, q := range piv {
			rows[k], rows[q] = rows[q], rows[k]
		}
		laPut(lu, b*n*n, a)
		for i, r := range rows {
			if d, ok := p.Data.([]int32); ok {
				d[b*n+i] = int32(r)
			} else {
				p.Data.([]int64)[b*n+i] = int64(r)
			}
		}
		if !laPivotsNonzero(a, n) {
			return o.n.InputErrorf("Input is not invertible.")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{lu, p}, nil
}
