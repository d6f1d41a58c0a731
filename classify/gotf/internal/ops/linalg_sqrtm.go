package ops

// MatrixSquareRoot: the principal square root of each square matrix, as
// Eigen's MatrixBase::sqrt, which TensorFlow's kernel calls: a real Schur
// decomposition A = U·T·Uᵀ (T quasi-triangular: 1×1 blocks for real
// eigenvalues, 2×2 blocks for complex pairs), the square root R of T block
// by block (R_ii = √T_ii, a 2×2 block's principal root, then the
// off-diagonal blocks from the Sylvester equations R_II·X + X·R_JJ =
// T_IJ - Σ R_IK·R_KJ), and U·R·Uᵀ. The principal root is unique when no
// eigenvalue lies on (-∞, 0], so the Schur form used (here Hessenberg
// reduction and Francis double-shift QR after JAMA's hqr2, from which
// Eigen's RealSchur descends) does not change the result beyond rounding.
// A negative real eigenvalue gives NaN (√ of it), a repeated zero
// eigenvalue Inf/NaN, as Eigen; so does a Schur iteration that does not
// converge (Inf/NaN input).

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("MatrixSquareRoot", buildLinalg(laSqrtm))
}

func (o *laOp) runSqrtm(ctx *Ctx, x *classify.Tensor) ([]*classify.Tensor, error) {
	_, batch, n, err := o.square(x, "input")
	if err != nil {
		return nil, err
	}
	fn := float64(n)
	cost := 25 * fn * fn * fn
	if err := o.laBudget(batch, cost); err != nil {
		return nil, err
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	src := f64sOf(x)
	err = laBatch(ctx, batch, cost, func(b int) error {
		laPut(out, b*n*n, laSqrtmOne(src[b*n*n:(b+1)*n*n], n))
		return nil
	})
	return []*classify.Tensor{out}, err
}

// laSqrtmOne is the principal square root of the n×n a.
func laSqrtmOne(src []float64, n int) []float64 {
	h := append([]float64(nil), src...)
	u := laHessenberg(h, n)
	pair, ok := laSchur(h, u, n)
	if !ok {
		return laFill(n*n, math.NaN())
	}
	// Blocks of T: start index and size.
	var bs, bz []int
	for i := 0; i < n; i++ {
		if i+1 < n && pair[i] {
			bs, bz = append(bs, i), append(bz, 2)
			i++
		} else {
			bs, bz = append(bs, i), append(bz, 1)
		}
	}
	r := make([]float64, n*n)
	for k, i := range bs {
		if bz[k] == 1 {
			r[i*n+i] = math.Sqrt(h[i*n+i])
			continue
		}
		// Principal root of a 2×2 block with complex eigenvalues:
		// (B + √det·I) / √(tr + 2√det).
		a, b, c, d := h[i*n+i], h[i*n+i+1], h[(i+1)*n+i], h[(i+1)*n+i+1]
		s := math.Sqrt(a*d - b*c)
		t := math.Sqrt(a + d + 2*s)
		r[i*n+i], r[i*n+i+1] = (a+s)/t, b/t
		r[(i+1)*n+i], r[(i+1)*n+i+1] = c/t, (d+s)/t
	}
	for J := 1; J < len(bs); J++ {
		j0, q := bs[J], bz[J]
		for I := J - 1; I >= 0; I-- {
			i0, p := bs[I], bz[I]
			// C = T_IJ - Σ_{I<K<J} R_IK·R_KJ (rows of I, columns of J).
			var cm [4]float64
			for ii := range p {
				for jj := range q {
					v := h[(i0+ii)*n+j0+jj]
					for kk := i0 + p; kk < j0; kk++ {
						v -= r[(i0+ii)*n+kk] * r[kk*n+j0+jj]
					}
					cm[ii*q+jj] = v
				}
			}
			// (R_II ⊗ I + I ⊗ R_JJᵀ) vec(X) = vec(C), X row-major p×q.
			m := p * q
			var sys [16]float64
			for ii := range p {
				for jj := range q {
					row := ii*q + jj
					for kk := range p {
						sys[row*m+kk*q+jj] += r[(i0+ii)*n+i0+kk]
					}
					for ll := range q {
						sys[row*m+ii*q+ll] += r[(j0+ll)*n+j0+jj]
					}
				}
			}
			xv := laSmallSolve(sys[:m*m], cm[:m], m)
			for ii := range p {
				for jj := range q {
					r[(i0+ii)*n+j0+jj] = xv[ii*q+jj]
				}
			}
		}
	}
	// U·R·Uᵀ.
	return laMulF(laMulF(u, n, n, r, n), n, n, laTr2(u, n), n)
}

func laTr2(a []float64, n int) []float64 { return laLoad(a, n, n, true) }

// laSmallSolve solves the m×m system (m <= 4) by Gaussian elimination with
// partial pivoting; 1×1 is the plain division Eigen does.
func laSmallSolve(a, b []float64, m int) []float64 {
	a = append([]float64(nil), a...)
	x := append([]float64(nil), b...)
	if m == 1 {
		x[0] /= a[0]
		return x
	}
	for k := range m {
		p := k
		for i := k + 1; i < m; i++ {
			if math.Abs(a[i*m+k]) > math.Abs(a[p*m+k]) {
				p = i
			}
		}
		if p != k {
			for j := range m {
				a[k*m+j], a[p*m+j] = a[p*m+j], a[k*m+j]
			}
			x[k], x[p] = x[p], x[k]
		}
		for i := k + 1; i < m; i++ {
			f := a[i*m+k] / a[k*m+k]
			for j := k; j < m; j++ {
				a[i*m+j] -= f * a[k*m+j]
			}
			x[i] -= f * x[k]
		}
	}
	for i := m - 1; i >= 0; i-- {
		for j := i + 1; j < m; j++ {
			x[i] -= a[i*m+j] * x[j]
		}
		x[i] /= a[i*m+i]
	}
	return x
}

// laHessenberg reduces the n×n h in place to upper Hessenberg form by
// Householder similarities (JAMA's orthes) and returns the orthogonal V
// with A = V·H·Vᵀ. Entries below the subdiagonal are zeroed.
func laHessenberg(h []float64, n int) []float64 {
	ort := make([]float64, n)
	hi := n - 1
	for m := 1; m <= hi-1; m++ {
		scale := 0.0
		for i := m; i <= hi; i++ {
			scale += math.Abs(h[i*n+m-1])
		}
		if scale == 0 {
			continue
		}
		hh := 0.0
		for i := hi; i >= m; i-- {
			ort[i] = h[i*n+m-1] / scale
			hh += ort[i] * ort[i]
		}
		g := math.Sqrt(hh)
		if ort[m] > 0 {
			g = -g
		}
		hh -= ort[m] * g
		ort[m] -= g
		for j := m; j < n; j++ {
			f := 0.0
			for i := hi; i >= m; i-- {
				f += ort[i] * h[i*n+j]
			}
			f /= hh
			for i := m; i <= hi; i++ {
				h[i*n+j] -= f * ort[i]
			}
		}
		for i := 0; i <= hi; i++ {
			f := 0.0
			for j := hi; j >= m; j-- {
				f += ort[j] * h[i*n+j]
			}
			f /= hh
			for j := m; j <= hi; j++ {
				h[i*n+j] -= f * ort[j]
			}
		}
		ort[m] *= scale
		h[m*n+m-1] = scale * g
	}
	v := laEyeRect(n, n)
	for m := hi - 1; m >= 1; m-- {
		if h[m*n+m-1] == 0 {
			continue
		}
		for i := m + 1; i <= hi; i++ {
			ort[i] = h[i*n+m-1]
		}
		for j := m; j <= hi; j++ {
			g := 0.0
			for i := m; i <= hi; i++ {
				g += ort[i] * v[i*n+j]
			}
			g = (g / ort[m]) / h[m*n+m-1]
			for i := m; i <= hi; i++ {
				v[i*n+j] += g * ort[i]
			}
		}
	}
	for i := 2; i < n; i++ {
		for j := 0; j < i-1; j++ {
			h[i*n+j] = 0
		}
	}
	return v
}

// laSchur reduces the upper Hessenberg h to real Schur form in place by
// Francis double-shift QR (JAMA's hqr2 without the eigenvectors),
// accumulating into v. pair[i] marks a 2×2 block at rows i, i+1 (complex
// eigenvalues); every other subdiagonal entry is exactly zero. ok is false
// when the iteration did not converge.
func laSchur(h, v []float64, nn int) (pair []bool, ok bool) {
	pair = make([]bool, nn)
	H := func(i, j int) *float64 { return &h[i*nn+j] }
	const eps = 0x1p-52
	n, exshift := nn-1, 0.0
	var p, q, r, s, z, w, x, y float64
	norm := 0.0
	for i := range nn {
		for j := max(i-1, 0); j < nn; j++ {
			norm += math.Abs(*H(i, j))
		}
	}
	iter, total := 0, 0
	for n >= 0 {
		l := n
		for l > 0 {
			s = math.Abs(*H(l-1, l-1)) + math.Abs(*H(l, l))
			if s == 0 {
				s = norm
			}
			if math.Abs(*H(l, l-1)) < eps*s {
				break
			}
			l--
		}
		switch {
		case l == n:
			*H(n, n) += exshift
			if n > 0 {
				*H(n, n-1) = 0
			}
			n--
			iter = 0
		case l == n-1:
			w = *H(n, n-1) * *H(n-1, n)
			p = (*H(n-1, n-1) - *H(n, n)) / 2
			q = p*p + w
			z = math.Sqrt(math.Abs(q))
			*H(n, n) += exshift
			*H(n-1, n-1) += exshift
			if q >= 0 {
				if p >= 0 {
					z = p + z
				} else {
					z = p - z
				}
				x = *H(n, n-1)
				s = math.Abs(x) + math.Abs(z)
				p, q = x/s, z/s
				r = math.Sqrt(p*p + q*q)
				p, q = p/r, q/r
				for j := n - 1; j < nn; j++ {
					z = *H(n-1, j)
					*H(n-1, j) = q*z + p**H(n, j)
					*H(n, j) = q**H(n, j) - p*z
				}
				for i := 0; i <= n; i++ {
					z = *H(i, n-1)
					*H(i, n-1) = q*z + p**H(i, n)
					*H(i, n) = q**H(i, n) - p*z
				}
				for i := range nn {
					z = v[i*nn+n-1]
					v[i*nn+n-1] = q*z + p*v[i*nn+n]
					v[i*nn+n] = q*v[i*nn+n] - p*z
				}
				*H(n, n-1) = 0
			} else {
				pair[n-1] = true
			}
			if n >= 2 {
				*H(n-1, n-2) = 0
			}
			n -= 2
			iter = 0
		default:
			x = *H(n, n)
			y, w = 0, 0
			if l < n {
				y = *H(n-1, n-1)
				w = *H(n, n-1) * *H(n-1, n)
			}
			if iter == 10 {
				exshift += x
				for i := 0; i <= n; i++ {
					*H(i, i) -= x
				}
				s = math.Abs(*H(n, n-1)) + math.Abs(*H(n-1, n-2))
				x = 0.75 * s
				y = x
				w = -0.4375 * s * s
			}
			if iter == 30 {
				s = (y - x) / 2
				s = s*s + w
				if s > 0 {
					s = math.Sqrt(s)
					if y < x {
						s = -s
					}
					s = x - w/((y-x)/2+s)
					for i := 0; i <= n; i++ {
						*H(i, i) -= s
					}
					exshift += s
					x, y, w = 0.964, 0.964, 0.964
				}
			}
			iter++
			total++
			if total > 40*nn+100 {
				return pair, false
			}
			m := n - 2
			for m >= l {
				z = *H(m, m)
				r = x - z
				s = y - z
				p = (r*s-w) / *H(m+1, m) + *H(m, m+1)
				q = *H(m+1, m+1) - z - r - s
				r = *H(m+2, m+1)
				s = math.Abs(p) + math.Abs(q) + math.Abs(r)
				p, q, r = p/s, q/s, r/s
				if m == l {
					break
				}
				if math.Abs(*H(m, m-1))*(math.Abs(q)+math.Abs(r)) < eps*(math.Abs(p)*(math.Abs(*H(m-1, m-1))+math.Abs(z)+math.Abs(*H(m+1, m+1)))) {
					break
				}
				m--
			}
			for i := m + 2; i <= n; i++ {
				*H(i, i-2) = 0
				if i > m+2 {
					*H(i, i-3) = 0
				}
			}
			for k := m; k <= n-1; k++ {
				notlast := k != n-1
				if k != m {
					p = *H(k, k-1)
					q = *H(k+1, k-1)
					r = 0
					if notlast {
						r = *H(k+2, k-1)
					}
					x = math.Abs(p) + math.Abs(q) + math.Abs(r)
					if x == 0 {
						continue
					}
					p, q, r = p/x, q/x, r/x
				}
				s = math.Sqrt(p*p + q*q + r*r)
				if p < 0 {
					s = -s
				}
				if s == 0 {
					continue
				}
				if k != m {
					*H(k, k-1) = -s * x
				} else if l != m {
					*H(k, k-1) = -*H(k, k-1)
				}
				p += s
				x, y, z = p/s, q/s, r/s
				q, r = q/p, r/p
				for j := k; j < nn; j++ {
					p = *H(k, j) + q**H(k+1, j)
					if notlast {
						p += r * *H(k+2, j)
						*H(k+2, j) -= p * z
					}
					*H(k, j) -= p * x
					*H(k+1, j) -= p * y
				}
				for i := 0; i <= min(n, k+3); i++ {
					p = x**H(i, k) + y**H(i, k+1)
					if notlast {
						p += z * *H(i, k+2)
						*H(i, k+2) -= p * r
					}
					*H(i, k) -= p
					*H(i, k+1) -= p * q
				}
				for i := range nn {
					p = x*v[i*nn+k] + y*v[i*nn+k+1]
					if notlast {
						p += z * v[i*nn+k+2]
						v[i*nn+k+2] -= p * r
					}
					v[i*nn+k] -= p
					v[i*nn+k+1] -= p * q
				}
			}
		}
	}
	for i := 2; i < nn; i++ {
		for j := 0; j < i-1; j++ {
			h[i*nn+j] = 0
		}
	}
	return pair, true
}
