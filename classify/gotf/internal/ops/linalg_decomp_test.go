package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// laOrtho fails unless the r×c q has orthonormal columns.
func laOrtho(t *testing.T, what string, q []float64, r, c int, tol float64) {
	t.Helper()
	laClose(t, what+": QᵀQ = I", laMul(laTr(q, r, c), c, r, q, c), laEye(c), tol)
}

func TestLinalgQr(t *testing.T) {
	for _, dt := range laDTypes {
		tol := laTol(dt)
		thin := map[string]any{"T": dt, "full_matrices": false}
		full := map[string]any{"T": dt, "full_matrices": true}
		// The textbook matrix (Householder QR): Eigen's reflectors give
		// R a negative diagonal here, Q = -Q of Gram-Schmidt.
		a := laT(dt, []float64{12, -51, 4, 6, 167, -68, -4, 24, -41}, 3, 3)
		o := laMust(t, "Qr", thin, 2, a)
		laClose(t, "Q", vals(o[0]), []float64{-6. / 7, 69. / 175, 58. / 175, -3. / 7, -158. / 175, -6. / 175, 2. / 7, -6. / 35, 33. / 35}, tol)
		laClose(t, "R", vals(o[1]), []float64{-14, -21, 14, 0, -175, 70, 0, 0, -35}, tol)
		// A zero tail is no reflection: R keeps the sign of x0, Q = I.
		o = laMust(t, "Qr", thin, 2, laT(dt, []float64{-2, 1, 0, 3}, 2, 2))
		laClose(t, "no reflection Q", vals(o[0]), []float64{1, 0, 0, 1}, 0)
		laClose(t, "no reflection R", vals(o[1]), []float64{-2, 1, 0, 3}, 0)
		// [3 4]ᵀ: beta = -5, H = [[-0.6 -0.8] [-0.8 0.6]].
		o = laMust(t, "Qr", full, 2, laT(dt, []float64{3, 4}, 2, 1))
		laClose(t, "full Q", vals(o[0]), []float64{-0.6, -0.8, -0.8, 0.6}, tol)
		laClose(t, "full R", vals(o[1]), []float64{-5, 0}, tol)
		o = laMust(t, "Qr", thin, 2, laT(dt, []float64{3, 4}, 2, 1))
		laClose(t, "thin Q", vals(o[0]), []float64{-0.6, -0.8}, tol)
		laClose(t, "thin R", vals(o[1]), []float64{-5}, tol)
		// Random shapes: Q·R = A, Q orthonormal, R upper triangular.
		for _, sh := range [][2]int{{1, 1}, {4, 4}, {6, 3}, {3, 6}, {7, 1}, {1, 5}, {20, 17}} {
			m, n := sh[0], sh[1]
			x := laT(dt, laRand(uint64(m*31+n), 2*m*n), 2, m, n)
			av := vals(x)
			for _, f := range []bool{false, true} {
				o := laMust(t, "Qr", map[string]any{"T": dt, "full_matrices": f}, 2, x)
				k := min(m, n)
				qc, rr := k, k
				if f {
					qc, rr = m, m
				}
				if !o[0].Shape.Equal(classify.Shape{2, m, qc}) || !o[1].Shape.Equal(classify.Shape{2, rr, n}) {
					t.Fatalf("%dx%d full=%v: shapes %v %v", m, n, f, o[0].Shape, o[1].Shape)
				}
				q, r := vals(o[0]), vals(o[1])
				for b := range 2 {
					qb, rb := q[b*m*qc:(b+1)*m*qc], r[b*rr*n:(b+1)*rr*n]
					what := fmt.Sprintf("%v %dx%d full=%v", dt, m, n, f)
					laClose(t, what+": QR = A", laMul(qb, m, qc, rb, n), av[b*m*n:(b+1)*m*n], tol*float64(m+n))
					laOrtho(t, what, qb, m, qc, tol*float64(m))
					for i := range rr {
						for j := range min(i, n) {
							if rb[i*n+j] != 0 {
								t.Fatalf("%s: R[%d][%d] = %v below the diagonal", what, i, j, rb[i*n+j])
							}
						}
					}
				}
			}
		}
		// Empty: Q of a M×0 matrix is the identity when full.
		o = laMust(t, "Qr", full, 2, laT(dt, nil, 3, 0))
		if !o[0].Shape.Equal(classify.Shape{3, 3}) || !o[1].Shape.Equal(classify.Shape{3, 0}) {
			t.Fatalf("3x0: shapes %v %v", o[0].Shape, o[1].Shape)
		}
		laClose(t, "3x0 Q", vals(o[0]), laEye(3), 0)
		o = laMust(t, "Qr", thin, 2, laT(dt, nil, 0, 2, 2))
		if !o[0].Shape.Equal(classify.Shape{0, 2, 2}) || !o[1].Shape.Equal(classify.Shape{0, 2, 2}) {
			t.Fatalf("empty batch: shapes %v %v", o[0].Shape, o[1].Shape)
		}
	}
	// float16 runs on the float32 kernel: [3 4]ᵀ is exact in half.
	h := &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{2, 1}, Data: []classify.F16{classify.F16FromFloat32(3), classify.F16FromFloat32(4)}}
	o := laMust(t, "Qr", map[string]any{"T": classify.Float16, "full_matrices": false}, 2, h)
	if o[0].DType != classify.Float16 || o[1].DType != classify.Float16 {
		t.Fatalf("float16 Qr gave %v %v", o[0].DType, o[1].DType)
	}
	laClose(t, "float16 Q", vals(o[0]), []float64{-0.6, -0.8}, 1e-3)
	laClose(t, "float16 R", vals(o[1]), []float64{-5}, 0)
	laErr(t, "Qr", map[string]any{"T": classify.Float32}, 2, "rank >= 2", laT(classify.Float32, []float64{1, 2}, 2))
	laErr(t, "Svd", map[string]any{"T": classify.BFloat16}, 1, "bfloat16", &classify.Tensor{DType: classify.BFloat16, Shape: classify.Shape{1, 1}, Data: []classify.BF16{0}})
	laErr(t, "Qr", map[string]any{"T": classify.Float32, "full_matrices": true}, 2, "elements", classify.NewTensor(classify.Float32, 1<<14+1, 1))
}

func TestLinalgSvd(t *testing.T) {
	for _, dt := range laDTypes {
		tol := laTol(dt)
		at := func(uv, full bool) map[string]any {
			return map[string]any{"T": dt, "compute_uv": uv, "full_matrices": full}
		}
		// Diagonal inputs need no rotation: a negative entry flips U's
		// column, and sorting swaps columns of U and V.
		o := laMust(t, "Svd", at(true, false), 3, laT(dt, []float64{3, 0, 0, -2}, 2, 2))
		laClose(t, "s", vals(o[0]), []float64{3, 2}, 0)
		laClose(t, "u", vals(o[1]), []float64{1, 0, 0, -1}, 0)
		laClose(t, "v", vals(o[2]), []float64{1, 0, 0, 1}, 0)
		o = laMust(t, "Svd", at(true, false), 3, laT(dt, []float64{2, 0, 0, 3}, 2, 2))
		laClose(t, "sorted s", vals(o[0]), []float64{3, 2}, 0)
		laClose(t, "sorted u", vals(o[1]), []float64{0, 1, 1, 0}, 0)
		laClose(t, "sorted v", vals(o[2]), []float64{0, 1, 1, 0}, 0)
		// [[3 0] [4 5]]: s = 3√5, √5.
		o = laMust(t, "Svd", at(false, false), 1, laT(dt, []float64{3, 0, 4, 5}, 2, 2))
		laClose(t, "s of [[3 0] [4 5]]", vals(o[0]), []float64{3 * math.Sqrt(5), math.Sqrt(5)}, tol)
		for _, sh := range [][2]int{{1, 1}, {3, 3}, {5, 2}, {2, 5}, {6, 1}, {1, 4}, {7, 7}, {20, 18}, {18, 20}} {
			m, n := sh[0], sh[1]
			k := min(m, n)
			x := laT(dt, laRand(uint64(m*37+n), 2*m*n), 2, m, n)
			av := vals(x)
			sOnly := vals(laMust(t, "Svd", at(false, false), 1, x)[0])
			for _, f := range []bool{false, true} {
				o := laMust(t, "Svd", at(true, f), 3, x)
				uc, vc := k, k
				if f {
					uc, vc = m, n
				}
				if !o[0].Shape.Equal(classify.Shape{2, k}) || !o[1].Shape.Equal(classify.Shape{2, m, uc}) || !o[2].Shape.Equal(classify.Shape{2, n, vc}) {
					t.Fatalf("%dx%d: shapes %v %v %v", m, n, o[0].Shape, o[1].Shape, o[2].Shape)
				}
				s, u, v := vals(o[0]), vals(o[1]), vals(o[2])
				laClose(t, "s without uv", sOnly, s, 0)
				for b := range 2 {
					what := fmt.Sprintf("%v %dx%d full=%v", dt, m, n, f)
					sb, ub, vb, ab := s[b*k:(b+1)*k], u[b*m*uc:(b+1)*m*uc], v[b*n*vc:(b+1)*n*vc], av[b*m*n:(b+1)*m*n]
					fro, ss := 0.0, 0.0
					for i, x := range sb {
						if x < 0 || i > 0 && x > sb[i-1] {
							t.Fatalf("%s: s %v not descending and non-negative", what, sb)
						}
						ss += x * x
					}
					for _, x := range ab {
						fro += x * x
					}
					laClose(t, what+": Σs² = ‖A‖²", []float64{ss}, []float64{fro}, tol*10)
					laOrtho(t, what+" U", ub, m, uc, tol*float64(m+n))
					laOrtho(t, what+" V", vb, n, vc, tol*float64(m+n))
					// U[:, :k] diag(s) V[:, :k]ᵀ = A.
					us := make([]float64, m*k)
					for i := range m {
						for j := range k {
							us[i*k+j] = ub[i*uc+j] * sb[j]
						}
					}
					vk := make([]float64, n*k)
					for i := range n {
						copy(vk[i*k:(i+1)*k], vb[i*vc:i*vc+k])
					}
					laClose(t, what+": U·diag(s)·Vᵀ = A", laMul(us, m, k, laTr(vk, n, k), n), ab, tol*float64(m+n))
					if m == n {
						p := 1.0
						for _, x := range sb {
							p *= x
						}
						if m <= 7 {
							laClose(t, what+": Πs = |det|", []float64{p}, []float64{math.Abs(laCofactor(ab, n))}, tol*10)
						}
					}
				}
			}
		}
		// Inf/NaN: NaN outputs, as TF when Eigen fails.
		o = laMust(t, "Svd", at(true, false), 3, laT(dt, []float64{1, math.Inf(1), 0, 1}, 2, 2))
		for i, x := range o {
			for _, v := range vals(x) {
				if !math.IsNaN(v) {
					t.Fatalf("output %d of an Inf input: %v", i, vals(x))
				}
			}
		}
		// Empty: full U (V) of a M×0 (0×N) matrix is the identity.
		o = laMust(t, "Svd", at(true, true), 3, laT(dt, nil, 2, 0))
		if !o[0].Shape.Equal(classify.Shape{0}) || !o[1].Shape.Equal(classify.Shape{2, 2}) || !o[2].Shape.Equal(classify.Shape{0, 0}) {
			t.Fatalf("2x0: shapes %v %v %v", o[0].Shape, o[1].Shape, o[2].Shape)
		}
		laClose(t, "2x0 U", vals(o[1]), laEye(2), 0)
		o = laMust(t, "Svd", at(true, false), 3, laT(dt, nil, 0, 3, 2))
		if !o[0].Shape.Equal(classify.Shape{0, 2}) || !o[1].Shape.Equal(classify.Shape{0, 3, 2}) {
			t.Fatalf("empty batch: shapes %v %v", o[0].Shape, o[1].Shape)
		}
	}
	laErr(t, "Svd", map[string]any{"T": classify.Int32}, 1, "dtype", saI32([]int32{1}, 1, 1))
}

func TestLinalgSelfAdjointEig(t *testing.T) {
	for _, dt := range laDTypes {
		tol := laTol(dt)
		at := map[string]any{"T": dt, "compute_v": true}
		// [[2 1] [1 2]]: λ = 1, 3; worked through Eigen's tridiagonal QR step
		// (numpy's eigh prints the same vectors).
		r := math.Sqrt(0.5)
		o := laMust(t, "SelfAdjointEigV2", at, 2, laT(dt, []float64{2, 1, 1, 2}, 2, 2))
		laClose(t, "λ", vals(o[0]), []float64{1, 3}, tol)
		laClose(t, "v", vals(o[1]), []float64{-r, r, r, r}, tol)
		// Diagonal: nothing to do but sort.
		o = laMust(t, "SelfAdjointEigV2", at, 2, laT(dt, []float64{3, 0, 0, -1}, 2, 2))
		laClose(t, "diagonal λ", vals(o[0]), []float64{-1, 3}, 0)
		laClose(t, "diagonal v", vals(o[1]), []float64{0, 1, 1, 0}, 0)
		o = laMust(t, "SelfAdjointEigV2", at, 2, laT(dt, []float64{-4}, 1, 1))
		laClose(t, "1x1", append(vals(o[0]), vals(o[1])...), []float64{-4, 1}, 0)
		for n := 2; n <= 9; n++ {
			// The upper triangle holds junk the kernel must not read.
			av := laRand(uint64(70+n), 2*n*n)
			sym := make([]float64, len(av))
			for b := range 2 {
				for i := range n {
					for j := range n {
						lo := av[b*n*n+max(i, j)*n+min(i, j)]
						sym[b*n*n+i*n+j] = lo
						if j > i {
							av[b*n*n+i*n+j] = 50
						}
					}
				}
			}
			x := laT(dt, av, 2, n, n)
			sym = vals(laT(dt, sym, 2, n, n))
			o := laMust(t, "SelfAdjointEigV2", at, 2, x)
			e, v := vals(o[0]), vals(o[1])
			eOnly := vals(laMust(t, "SelfAdjointEigV2", map[string]any{"T": dt, "compute_v": false}, 1, x)[0])
			laClose(t, "eigenvalues without v", eOnly, e, 0)
			for b := range 2 {
				what := fmt.Sprintf("%v n=%d", dt, n)
				eb, vb, ab := e[b*n:(b+1)*n], v[b*n*n:(b+1)*n*n], sym[b*n*n:(b+1)*n*n]
				tr := 0.0
				for i := range n {
					tr += ab[i*n+i]
					if i > 0 && eb[i] < eb[i-1] {
						t.Fatalf("%s: eigenvalues %v not ascending", what, eb)
					}
				}
				sum := 0.0
				for _, x := range eb {
					sum += x
				}
				laClose(t, what+": Σλ = trace", []float64{sum}, []float64{tr}, tol*10)
				laOrtho(t, what, vb, n, n, tol*float64(n))
				av := laMul(ab, n, n, vb, n)
				lv := make([]float64, n*n)
				for i := range n {
					for j := range n {
						lv[i*n+j] = vb[i*n+j] * eb[j]
					}
				}
				laClose(t, what+": A·v = λv", av, lv, tol*float64(n))
			}
		}
		o = laMust(t, "SelfAdjointEigV2", at, 2, laT(dt, nil, 3, 0, 0))
		if !o[0].Shape.Equal(classify.Shape{3, 0}) || !o[1].Shape.Equal(classify.Shape{3, 0, 0}) {
			t.Fatalf("0x0: shapes %v %v", o[0].Shape, o[1].Shape)
		}
		laErr(t, "SelfAdjointEigV2", at, 2, "not successful", laT(dt, []float64{1, 0, math.NaN(), 1}, 2, 2))
		laErr(t, "SelfAdjointEigV2", at, 2, "square", laT(dt, make([]float64, 6), 2, 3))
	}
}

func TestLinalgLu(t *testing.T) {
	for _, dt := range laDTypes {
		for _, idx := range []classify.DType{classify.Int32, classify.Int64} {
			at := map[string]any{"T": dt, "output_idx_type": idx}
			// [[1 2] [3 4]]: rows swapped, L = [[1 0] [1/3 1]], U = [[3 4] [0 2/3]].
			o := laMust(t, "Lu", at, 2, laT(dt, []float64{1, 2, 3, 4}, 2, 2))
			laClose(t, "lu", vals(o[0]), []float64{3, 4, 1. / 3, 2. / 3}, laTol(dt))
			if o[1].DType != idx || fmt.Sprint(vals(o[1])) != "[1 0]" {
				t.Fatalf("p %v %v, want %v [1 0]", o[1].DType, vals(o[1]), idx)
			}
		}
		at := map[string]any{"T": dt}
		for n := 1; n <= 6; n++ {
			x := laT(dt, laRand(uint64(90+n), 3*n*n), 3, n, n)
			o := laMust(t, "Lu", at, 2, x)
			av, lu, p := vals(x), vals(o[0]), vals(o[1])
			for b := range 3 {
				l, u := make([]float64, n*n), make([]float64, n*n)
				pa := make([]float64, n*n)
				seen := map[int]bool{}
				for i := range n {
					pi := int(p[b*n+i])
					if pi < 0 || pi >= n || seen[pi] {
						t.Fatalf("p %v is not a permutation", p[b*n:(b+1)*n])
					}
					seen[pi] = true
					copy(pa[i*n:(i+1)*n], av[b*n*n+pi*n:b*n*n+(pi+1)*n])
					for j := range n {
						v := lu[b*n*n+i*n+j]
						switch {
						case j < i:
							l[i*n+j] = v
							if math.Abs(v) > 1 {
								t.Fatalf("|L[%d][%d]| = %v > 1: not partial pivoting", i, j, v)
							}
						case j == i:
							l[i*n+j], u[i*n+j] = 1, v
						default:
							u[i*n+j] = v
						}
					}
				}
				laClose(t, fmt.Sprintf("P·A = L·U n=%d", n), laMul(l, n, n, u, n), pa, laTol(dt)*float64(n))
			}
		}
		laErr(t, "Lu", at, 2, "Input is not invertible.", laT(dt, []float64{1, 2, 2, 4}, 2, 2))
		laErr(t, "Lu", at, 2, "square", laT(dt, make([]float64, 6), 2, 3))
		o := laMust(t, "Lu", at, 2, laT(dt, nil, 2, 0, 0))
		if !o[0].Shape.Equal(classify.Shape{2, 0, 0}) || !o[1].Shape.Equal(classify.Shape{2, 0}) {
			t.Fatalf("0x0: shapes %v %v", o[0].Shape, o[1].Shape)
		}
	}
	laErr(t, "Lu", map[string]any{"T": classify.Float32, "output_idx_type": classify.Float32}, 2, "output_idx_type", laT(classify.Float32, []float64{1}, 1, 1))
}
