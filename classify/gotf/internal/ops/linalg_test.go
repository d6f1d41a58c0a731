package ops

// Tests of the linear-algebra kernels. TensorFlow.js has none of these
// ops, so every result is checked by an identity (A·A⁻¹ = I, L·Lᵀ = A,
// Q·R = A, U·diag(s)·Vᵀ = A, A·v = λv, a cofactor expansion for det) and
// against values worked by hand or printed in TensorFlow's documentation.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// laT makes a float32 or float64 tensor from float64 values.
func laT(dt classify.DType, v []float64, shape ...int) *classify.Tensor {
	t := classify.NewTensor(dt, shape...)
	laPut(t, 0, v[:t.Len()])
	return t
}

// laRand returns uniform values in [-1, 1).
func laRand(seed uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(seed, 77))
	v := make([]float64, n)
	for i := range v {
		v[i] = 2*r.Float64() - 1
	}
	return v
}

// laRun runs op on fed inputs and fetches nout outputs, recording the op
// as reference-checked when it succeeds (every caller checks the values).
func laRun(t *testing.T, op string, attrs map[string]any, nout int, in ...*classify.Tensor) ([]*classify.Tensor, error) {
	t.Helper()
	g := graphdef.New()
	var ins []graphdef.Output
	feeds := map[string]*classify.Tensor{}
	for i, x := range in {
		name := string(rune('a' + i))
		ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
		feeds[name] = x
	}
	g.Op(op, "out", ins, graphdef.Attrs(attrs))
	fetches := []graphdef.Output{"out"}
	for i := 1; i < nout; i++ {
		fetches = append(fetches, graphdef.Output(fmt.Sprintf("out:%d", i)))
	}
	return interpretChecked(t, g, feeds, fetches)
}

func laMust(t *testing.T, op string, attrs map[string]any, nout int, in ...*classify.Tensor) []*classify.Tensor {
	t.Helper()
	out, err := laRun(t, op, attrs, nout, in...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// laErr runs op expecting an error that names the op and contains want.
func laErr(t *testing.T, op string, attrs map[string]any, nout int, want string, in ...*classify.Tensor) {
	t.Helper()
	g := graphdef.New()
	var ins []graphdef.Output
	feeds := map[string]*classify.Tensor{}
	for i, x := range in {
		name := string(rune('a' + i))
		ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
		feeds[name] = x
	}
	g.Op(op, "out", ins, graphdef.Attrs(attrs))
	fetches := []graphdef.Output{"out"}
	for i := 1; i < nout; i++ {
		fetches = append(fetches, graphdef.Output(fmt.Sprintf("out:%d", i)))
	}
	_, err := interpretRec(g, feeds, fetches, nil)
	if err == nil {
		t.Fatalf("%s %v: no error, want %q", op, attrs, want)
	}
	if !strings.Contains(err.Error(), op) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %q, want one naming the op and containing %q", op, err, want)
	}
}

// laClose fails unless |got-want| <= tol*(1+|want|) elementwise.
func laClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.IsNaN(want[i]) && math.IsNaN(got[i]) || got[i] == want[i] {
			continue
		}
		if d := math.Abs(got[i] - want[i]); !(d <= tol*(1+math.Abs(want[i]))) {
			t.Fatalf("%s: element %d is %v, want %v (got %v, want %v)", what, i, got[i], want[i], got, want)
		}
	}
}

// laMul is the r×k by k×c product.
func laMul(a []float64, r, k int, b []float64, c int) []float64 {
	out := make([]float64, r*c)
	for i := range r {
		for j := range c {
			s := 0.0
			for p := range k {
				s += a[i*k+p] * b[p*c+j]
			}
			out[i*c+j] = s
		}
	}
	return out
}

// laTr transposes an r×c matrix.
func laTr(a []float64, r, c int) []float64 { return laLoad(a, r, c, true) }

func laEye(n int) []float64 {
	e := make([]float64, n*n)
	for i := range n {
		e[i*n+i] = 1
	}
	return e
}

// laCofactor is det by cofactor expansion along the first row.
func laCofactor(a []float64, n int) float64 {
	if n == 0 {
		return 1
	}
	if n == 1 {
		return a[0]
	}
	det := 0.0
	sub := make([]float64, (n-1)*(n-1))
	for c := range n {
		k := 0
		for i := 1; i < n; i++ {
			for j := range n {
				if j != c {
					sub[k] = a[i*n+j]
					k++
				}
			}
		}
		s := a[c] * laCofactor(sub, n-1)
		if c%2 == 1 {
			s = -s
		}
		det += s
	}
	return det
}

func vals(t *classify.Tensor) []float64 { return classifytest.Float64s(t) }

var laDTypes = []classify.DType{classify.Float32, classify.Float64}

// laTol is the tolerance of identity checks for dt.
func laTol(dt classify.DType) float64 {
	if dt == classify.Float32 {
		return 2e-5
	}
	return 1e-11
}

func TestLinalgDeterminant(t *testing.T) {
	for _, dt := range laDTypes {
		at := map[string]any{"T": dt}
		// Textbook values.
		d := laMust(t, "MatrixDeterminant", at, 1, laT(dt, []float64{1, 2, 3, 4}, 2, 2))[0]
		laClose(t, "det 2x2", vals(d), []float64{-2}, laTol(dt))
		d = laMust(t, "MatrixDeterminant", at, 1, laT(dt, []float64{6, 1, 1, 4, -2, 5, 2, 8, 7}, 3, 3))[0]
		laClose(t, "det 3x3", vals(d), []float64{-306}, laTol(dt))
		// Random batches against the cofactor expansion, sizes 1..5.
		for n := 1; n <= 5; n++ {
			a := laRand(uint64(n), 3*2*n*n)
			outs := laMust(t, "LogMatrixDeterminant", at, 2, laT(dt, a, 3, 2, n, n))
			det := laMust(t, "MatrixDeterminant", at, 1, laT(dt, a, 3, 2, n, n))[0]
			if !outs[0].Shape.Equal(classify.Shape{3, 2}) || !det.Shape.Equal(classify.Shape{3, 2}) {
				t.Fatalf("shapes %v %v, want [3 2]", outs[0].Shape, det.Shape)
			}
			a = vals(laT(dt, a, 3, 2, n, n)) // what the kernel saw
			var want, wsign, wlog []float64
			for b := range 6 {
				v := laCofactor(a[b*n*n:(b+1)*n*n], n)
				want = append(want, v)
				wsign = append(wsign, math.Copysign(1, v))
				wlog = append(wlog, math.Log(math.Abs(v)))
			}
			laClose(t, fmt.Sprintf("det %d×%d", n, n), vals(det), want, laTol(dt))
			laClose(t, "sign", vals(outs[0]), wsign, 0)
			laClose(t, "log|det|", vals(outs[1]), wlog, laTol(dt)*10)
		}
		// Singular: det 0, sign 0, log -Inf (TF's SLogDet).
		sing := laT(dt, []float64{1, 2, 2, 4}, 2, 2)
		laClose(t, "singular det", vals(laMust(t, "MatrixDeterminant", at, 1, sing)[0]), []float64{0}, 0)
		o := laMust(t, "LogMatrixDeterminant", at, 2, sing)
		laClose(t, "singular slogdet", append(vals(o[0]), vals(o[1])...), []float64{0, math.Inf(-1)}, 0)
		// NaN: the log is not finite, so sign 0, log -Inf, det 0.
		o = laMust(t, "LogMatrixDeterminant", at, 2, laT(dt, []float64{math.NaN(), 1, 1, 1}, 2, 2))
		laClose(t, "NaN slogdet", append(vals(o[0]), vals(o[1])...), []float64{0, math.Inf(-1)}, 0)
		// A permutation with one swap: sign -1.
		o = laMust(t, "LogMatrixDeterminant", at, 2, laT(dt, []float64{0, 2, 3, 0}, 2, 2))
		laClose(t, "swap slogdet", append(vals(o[0]), vals(o[1])...), []float64{-1, math.Log(6)}, laTol(dt))
		// 0×0 matrices: det 1, sign 1, log 0; empty batch: empty output.
		laClose(t, "0x0 det", vals(laMust(t, "MatrixDeterminant", at, 1, laT(dt, nil, 2, 0, 0))[0]), []float64{1, 1}, 0)
		o = laMust(t, "LogMatrixDeterminant", at, 2, laT(dt, nil, 0, 0))
		laClose(t, "0x0 slogdet", append(vals(o[0]), vals(o[1])...), []float64{1, 0}, 0)
		if e := laMust(t, "MatrixDeterminant", at, 1, laT(dt, nil, 0, 3, 3))[0]; !e.Shape.Equal(classify.Shape{0}) {
			t.Errorf("empty batch: shape %v", e.Shape)
		}
	}
	laErr(t, "MatrixDeterminant", map[string]any{"T": classify.Float32}, 1, "square", laT(classify.Float32, make([]float64, 6), 2, 3))
	laErr(t, "MatrixDeterminant", map[string]any{"T": classify.Float32}, 1, "rank >= 2", laT(classify.Float32, make([]float64, 3), 3))
	laErr(t, "MatrixDeterminant", map[string]any{"T": classify.Int32}, 1, "dtype", saI32([]int32{1, 0, 0, 1}, 2, 2))
	laErr(t, "LogMatrixDeterminant", map[string]any{"T": classify.Float16}, 2, "float16", &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{1, 1}, Data: []classify.F16{0}})
}

func TestLinalgInverse(t *testing.T) {
	for _, dt := range laDTypes {
		at := map[string]any{"T": dt, "adjoint": false}
		adj := map[string]any{"T": dt, "adjoint": true}
		inv := laMust(t, "MatrixInverse", at, 1, laT(dt, []float64{4, 7, 2, 6}, 2, 2))[0]
		laClose(t, "inverse 2x2", vals(inv), []float64{0.6, -0.7, -0.2, 0.4}, laTol(dt))
		for n := 1; n <= 6; n++ {
			x := laT(dt, laRand(uint64(10+n), 4*n*n), 2, 2, n, n)
			a := vals(x)
			got := vals(laMust(t, "MatrixInverse", at, 1, x)[0])
			gotA := vals(laMust(t, "MatrixInverse", adj, 1, x)[0])
			for b := range 4 {
				m := a[b*n*n : (b+1)*n*n]
				iv := got[b*n*n : (b+1)*n*n]
				cond := 1.0
				for _, v := range iv {
					cond = max(cond, math.Abs(v))
				}
				laClose(t, fmt.Sprintf("A·inv(A) %d", n), laMul(m, n, n, iv, n), laEye(n), laTol(dt)*cond*float64(n))
				laClose(t, "inv(Aᵀ) = inv(A)ᵀ", gotA[b*n*n:(b+1)*n*n], laTr(iv, n, n), laTol(dt)*cond*cond)
			}
		}
		laErr(t, "MatrixInverse", at, 1, "Input is not invertible.", laT(dt, []float64{1, 0, 0, 1, 1, 2, 2, 4}, 2, 2, 2))
		laErr(t, "MatrixInverse", at, 1, "Input is not invertible.", laT(dt, []float64{0, 0, 0, 0}, 2, 2))
		if e := laMust(t, "MatrixInverse", at, 1, laT(dt, nil, 3, 0, 0))[0]; !e.Shape.Equal(classify.Shape{3, 0, 0}) {
			t.Errorf("0x0 inverse: shape %v", e.Shape)
		}
		if e := laMust(t, "MatrixInverse", at, 1, laT(dt, nil, 0, 4, 4))[0]; !e.Shape.Equal(classify.Shape{0, 4, 4}) {
			t.Errorf("empty batch inverse: shape %v", e.Shape)
		}
	}
	// float16 inverts in float32 and rounds, as TensorFlow's half kernel.
	h := classify.NewTensor(classify.Float16, 2, 2)
	for i, v := range []float32{4, 7, 2, 6} {
		h.Data.([]classify.F16)[i] = classify.F16FromFloat32(v)
	}
	hi := laMust(t, "MatrixInverse", map[string]any{"T": classify.Float16, "adjoint": false}, 1, h)[0]
	want := make([]float64, 4)
	for i, v := range []float32{0.6, -0.7, -0.2, 0.4} {
		want[i] = float64(classify.F16FromFloat32(v).Float32())
	}
	if hi.DType != classify.Float16 {
		t.Fatalf("float16 inverse is %v", hi.DType)
	}
	laClose(t, "float16 inverse", vals(hi), want, 0)
	laErr(t, "MatrixInverse", map[string]any{"T": classify.Float32}, 1, "square", laT(classify.Float32, make([]float64, 6), 3, 2))
	// The work bound refuses before computing anything.
	laErr(t, "MatrixInverse", map[string]any{"T": classify.Float32}, 1, "multiply-adds", classify.NewTensor(classify.Float32, 2049, 2049))
}

func TestLinalgSolve(t *testing.T) {
	for _, dt := range laDTypes {
		at := map[string]any{"T": dt, "adjoint": false}
		adj := map[string]any{"T": dt, "adjoint": true}
		// 3x + 2y = 7, x + 2y = 5: x = 1, y = 2.
		x := laMust(t, "MatrixSolve", at, 1, laT(dt, []float64{3, 2, 1, 2}, 2, 2), laT(dt, []float64{7, 5}, 2, 1))[0]
		laClose(t, "solve 2x2", vals(x), []float64{1, 2}, laTol(dt))
		for n := 1; n <= 5; n++ {
			for _, k := range []int{1, 3} {
				m := laT(dt, laRand(uint64(20+n), 3*n*n), 3, n, n)
				r := laT(dt, laRand(uint64(30+n), 3*n*k), 3, n, k)
				got := laMust(t, "MatrixSolve", at, 1, m, r)[0]
				gotA := laMust(t, "MatrixSolve", adj, 1, m, r)[0]
				if !got.Shape.Equal(classify.Shape{3, n, k}) {
					t.Fatalf("shape %v", got.Shape)
				}
				a, b, g, ga := vals(m), vals(r), vals(got), vals(gotA)
				for i := range 3 {
					ai, bi := a[i*n*n:(i+1)*n*n], b[i*n*k:(i+1)*n*k]
					scale := 1.0
					for _, v := range g[i*n*k : (i+1)*n*k] {
						scale = max(scale, math.Abs(v))
					}
					for _, v := range ga[i*n*k : (i+1)*n*k] {
						scale = max(scale, math.Abs(v))
					}
					laClose(t, "A·x = b", laMul(ai, n, n, g[i*n*k:(i+1)*n*k], k), bi, laTol(dt)*scale*float64(n))
					laClose(t, "Aᵀ·x = b", laMul(laTr(ai, n, n), n, n, ga[i*n*k:(i+1)*n*k], k), bi, laTol(dt)*scale*float64(n))
				}
			}
		}
		laErr(t, "MatrixSolve", at, 1, "Input matrix is not invertible.", laT(dt, []float64{1, 2, 2, 4}, 2, 2), laT(dt, []float64{1, 1}, 2, 1))
		laErr(t, "MatrixSolve", at, 1, "batch dimensions", laT(dt, make([]float64, 8), 2, 2, 2), laT(dt, make([]float64, 6), 3, 2, 1))
		laErr(t, "MatrixSolve", at, 1, "number of rows", laT(dt, make([]float64, 4), 2, 2), laT(dt, make([]float64, 3), 3, 1))
		if e := laMust(t, "MatrixSolve", at, 1, laT(dt, nil, 0, 0), laT(dt, nil, 0, 3))[0]; !e.Shape.Equal(classify.Shape{0, 3}) {
			t.Errorf("0x0 solve: shape %v", e.Shape)
		}
		if e := laMust(t, "MatrixSolve", at, 1, laT(dt, []float64{1, 2, 2, 4}, 2, 2), laT(dt, nil, 2, 0))[0]; !e.Shape.Equal(classify.Shape{2, 0}) {
			t.Errorf("no right-hand sides: shape %v", e.Shape)
		}
	}
	laErr(t, "MatrixSolve", map[string]any{"T": classify.Float32}, 1, "float64", laT(classify.Float32, make([]float64, 4), 2, 2), laT(classify.Float64, make([]float64, 2), 2, 1))
}

func TestLinalgTriangularSolve(t *testing.T) {
	for _, dt := range laDTypes {
		// tf.linalg.triangular_solve's documented example.
		a := laT(dt, []float64{3, 0, 0, 0, 2, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1}, 4, 4)
		b := laT(dt, []float64{4, 2, 4, 2}, 4, 1)
		x := laMust(t, "MatrixTriangularSolve", map[string]any{"T": dt, "lower": true, "adjoint": false}, 1, a, b)[0]
		laClose(t, "documented example", vals(x), []float64{4. / 3, -2. / 3, 8. / 3, -4. / 3}, laTol(dt))
		// Random triangles, the other triangle filled with junk that must
		// not be read; batch dimensions broadcast: [2,1,n,n] with [1,3,n,k].
		for _, lower := range []bool{true, false} {
			for _, adjoint := range []bool{false, true} {
				const n, k = 4, 2
				av := laRand(41, 2*n*n)
				for i := range av {
					r, c := (i/n)%n, i%n
					if r == c {
						av[i] += 3 * math.Copysign(1, av[i])
					}
					if lower && c > r || !lower && c < r {
						av[i] = 99
					}
				}
				m := laT(dt, av, 2, 1, n, n)
				rhs := laT(dt, laRand(42, 3*n*k), 1, 3, n, k)
				got := laMust(t, "MatrixTriangularSolve", map[string]any{"T": dt, "lower": lower, "adjoint": adjoint}, 1, m, rhs)[0]
				if !got.Shape.Equal(classify.Shape{2, 3, n, k}) {
					t.Fatalf("shape %v", got.Shape)
				}
				mv, rv, g := vals(m), vals(rhs), vals(got)
				for i := range 2 {
					tri := append([]float64(nil), mv[i*n*n:(i+1)*n*n]...)
					for p := range tri {
						r, c := p/n, p%n
						if lower && c > r || !lower && c < r {
							tri[p] = 0
						}
					}
					if adjoint {
						tri = laTr(tri, n, n)
					}
					for j := range 3 {
						o := (i*3 + j) * n * k
						laClose(t, fmt.Sprintf("op(T)·x = b lower=%v adjoint=%v", lower, adjoint), laMul(tri, n, n, g[o:o+n*k], k), rv[j*n*k:(j+1)*n*k], laTol(dt)*10)
					}
				}
			}
		}
		at := map[string]any{"T": dt, "lower": true, "adjoint": false}
		// A zero on the diagonal is not an error: Inf/NaN as Eigen gives.
		z := vals(laMust(t, "MatrixTriangularSolve", at, 1, laT(dt, []float64{0, 0, 1, 1}, 2, 2), laT(dt, []float64{1, 1}, 2, 1))[0])
		if !math.IsInf(z[0], 1) || !math.IsNaN(z[1]) && !math.IsInf(z[1], 0) {
			t.Errorf("zero diagonal: %v, want +Inf then Inf/NaN", z)
		}
		if e := laMust(t, "MatrixTriangularSolve", at, 1, laT(dt, nil, 0, 0), laT(dt, nil, 3, 0, 2))[0]; !e.Shape.Equal(classify.Shape{3, 0, 2}) {
			t.Errorf("0x0: shape %v", e.Shape)
		}
		laErr(t, "MatrixTriangularSolve", at, 1, "square", laT(dt, make([]float64, 6), 2, 3), laT(dt, make([]float64, 2), 2, 1))
		laErr(t, "MatrixTriangularSolve", at, 1, "broadcast", laT(dt, make([]float64, 8), 2, 2, 2), laT(dt, make([]float64, 6), 3, 2, 1))
		laErr(t, "MatrixTriangularSolve", at, 1, "rows", laT(dt, make([]float64, 4), 2, 2), laT(dt, make([]float64, 3), 3, 1))
	}
}

func TestLinalgCholesky(t *testing.T) {
	for _, dt := range laDTypes {
		at := map[string]any{"T": dt}
		// The classic example; the upper triangle is never read.
		a := laT(dt, []float64{4, 1e9, math.NaN(), 12, 37, 7, -16, -43, 98}, 3, 3)
		l := laMust(t, "Cholesky", at, 1, a)[0]
		laClose(t, "cholesky 3x3", vals(l), []float64{2, 0, 0, 6, 1, 0, -8, 5, 3}, laTol(dt))
		// Random SPD batches: L·Lᵀ = A, L lower triangular, positive diagonal.
		for n := 1; n <= 6; n++ {
			var spd []float64
			for b := range 3 {
				g := laRand(uint64(50+n*3+b), n*n)
				s := laMul(g, n, n, laTr(g, n, n), n)
				for i := range n {
					s[i*n+i] += 0.5
				}
				spd = append(spd, s...)
			}
			x := laT(dt, spd, 3, n, n)
			got := vals(laMust(t, "Cholesky", at, 1, x)[0])
			av := vals(x)
			for b := range 3 {
				L := got[b*n*n : (b+1)*n*n]
				for i := range n {
					if L[i*n+i] <= 0 {
						t.Fatalf("diagonal %v not positive", L[i*n+i])
					}
					for j := i + 1; j < n; j++ {
						if L[i*n+j] != 0 {
							t.Fatalf("L[%d][%d] = %v above the diagonal", i, j, L[i*n+j])
						}
					}
				}
				laClose(t, "L·Lᵀ = A", laMul(L, n, n, laTr(L, n, n), n), av[b*n*n:(b+1)*n*n], laTol(dt)*float64(n))
			}
		}
		// Not positive definite: lower triangle NaN (TensorFlow >= 2.13).
		nan := math.NaN()
		got := vals(laMust(t, "Cholesky", at, 1, laT(dt, []float64{1, 0, 0, 1, 1, 2, 2, 1}, 2, 2, 2))[0])
		laClose(t, "not positive definite", got, []float64{1, 0, 0, 1, nan, 0, nan, nan}, 0)
		if e := laMust(t, "Cholesky", at, 1, laT(dt, nil, 2, 0, 0))[0]; !e.Shape.Equal(classify.Shape{2, 0, 0}) {
			t.Errorf("0x0: shape %v", e.Shape)
		}
		laErr(t, "Cholesky", at, 1, "square", laT(dt, make([]float64, 6), 2, 3))
	}
}

func TestLinalgCross(t *testing.T) {
	want := []float64{-3, 6, -3, 0, 0, 0}
	av, bv := []float64{1, 2, 3, 1, 1, 1}, []float64{4, 5, 6, 2, 2, 2}
	for _, dt := range laDTypes {
		laClose(t, "cross", vals(mustRun(t, "Cross", map[string]any{"T": dt}, laT(dt, av, 2, 3), laT(dt, bv, 2, 3))), want, 0)
	}
	got := mustRun(t, "Cross", map[string]any{"T": classify.Int32}, saI32([]int32{1, 2, 3, 1, 1, 1}, 2, 3), saI32([]int32{4, 5, 6, 2, 2, 2}, 2, 3))
	laClose(t, "cross int32", vals(got), want, 0)
	// uint8 wraps: (2·5 - 3·4) mod 256 = 254.
	u8 := mustRun(t, "Cross", map[string]any{"T": classify.Uint8}, &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{3}, Data: []uint8{1, 2, 3}}, &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{3}, Data: []uint8{4, 4, 5}})
	if d := u8.Data.([]uint8); d[0] != 254 || d[1] != 7 || d[2] != 252 {
		t.Errorf("uint8 cross %v, want [254 7 252]", d)
	}
	i8 := mustRun(t, "Cross", map[string]any{"T": classify.Int8}, &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{3}, Data: []int8{100, 0, 0}}, &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{3}, Data: []int8{0, 2, 0}})
	if d := i8.Data.([]int8); d[2] != -56 { // 200 wraps to -56
		t.Errorf("int8 cross %v, want [0 0 -56]", d)
	}
	h := classify.NewTensor(classify.Float16, 3)
	g := classify.NewTensor(classify.Float16, 3)
	for i, v := range []float32{1, 2, 3} {
		h.Data.([]classify.F16)[i] = classify.F16FromFloat32(v)
		g.Data.([]classify.F16)[i] = classify.F16FromFloat32(v + 3)
	}
	laClose(t, "cross float16", vals(mustRun(t, "Cross", map[string]any{"T": classify.Float16}, h, g)), want[:3], 0)
	e := mustRun(t, "Cross", map[string]any{"T": classify.Float32}, laT(classify.Float32, nil, 0, 3), laT(classify.Float32, nil, 0, 3))
	if !e.Shape.Equal(classify.Shape{0, 3}) {
		t.Errorf("empty cross: shape %v", e.Shape)
	}
	laErr(t, "Cross", map[string]any{"T": classify.Float32}, 1, "same shape", laT(classify.Float32, make([]float64, 3), 3), laT(classify.Float32, make([]float64, 6), 2, 3))
	laErr(t, "Cross", map[string]any{"T": classify.Float32}, 1, "must be 3", laT(classify.Float32, make([]float64, 4), 4), laT(classify.Float32, make([]float64, 4), 4))
	laErr(t, "Cross", map[string]any{"T": classify.Float32}, 1, "must be 3", laT(classify.Float32, []float64{1}), laT(classify.Float32, []float64{1}))
}

func TestLinalgDiag(t *testing.T) {
	for _, dt := range []classify.DType{classify.Float32, classify.Float64} {
		// tf.linalg.tensor_diag's documented example.
		d := mustRun(t, "Diag", map[string]any{"T": dt}, laT(dt, []float64{1, 2, 3, 4}, 4))
		want := []float64{1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4}
		if !d.Shape.Equal(classify.Shape{4, 4}) {
			t.Fatalf("shape %v", d.Shape)
		}
		laClose(t, "diag", vals(d), want, 0)
		p := mustRun(t, "DiagPart", map[string]any{"T": dt}, d)
		laClose(t, "diag part", vals(p), []float64{1, 2, 3, 4}, 0)
	}
	// Rank 2: output [2,3,2,3], out[i,j,i,j] = x[i,j].
	x := saIota(2, 3)
	d := mustRun(t, "Diag", map[string]any{"T": classify.Int32}, x)
	if !d.Shape.Equal(classify.Shape{2, 3, 2, 3}) {
		t.Fatalf("shape %v", d.Shape)
	}
	dv := d.Int32s()
	for i := range 6 {
		for j := range 6 {
			w := int32(0)
			if i == j {
				w = int32(i)
			}
			if dv[i*6+j] != w {
				t.Fatalf("diag rank 2: [%d][%d] = %d, want %d", i, j, dv[i*6+j], w)
			}
		}
	}
	p := mustRun(t, "DiagPart", map[string]any{"T": classify.Int32}, d)
	if !p.Shape.Equal(classify.Shape{2, 3}) || fmt.Sprint(p.Int32s()) != fmt.Sprint(x.Int32s()) {
		t.Errorf("diag part rank 4: %v %v", p.Shape, p.Int32s())
	}
	i64 := mustRun(t, "DiagPart", map[string]any{"T": classify.Int64}, saI64([]int64{7, 1, 2, 9}, 2, 2))
	if fmt.Sprint(i64.Int64s()) != "[7 9]" {
		t.Errorf("int64 diag part %v", i64.Int64s())
	}
	h := &classify.Tensor{DType: classify.BFloat16, Shape: classify.Shape{2}, Data: []classify.BF16{classify.BF16FromFloat32(1.5), classify.BF16FromFloat32(-2)}}
	laClose(t, "bfloat16 diag", vals(mustRun(t, "Diag", map[string]any{"T": classify.BFloat16}, h)), []float64{1.5, 0, 0, -2}, 0)
	if e := mustRun(t, "Diag", map[string]any{"T": classify.Float32}, laT(classify.Float32, nil, 0)); !e.Shape.Equal(classify.Shape{0, 0}) {
		t.Errorf("empty diag: shape %v", e.Shape)
	}
	if e := mustRun(t, "DiagPart", map[string]any{"T": classify.Float32}, laT(classify.Float32, nil, 0, 2, 0, 2)); !e.Shape.Equal(classify.Shape{0, 2}) {
		t.Errorf("empty diag part: shape %v", e.Shape)
	}
	laErr(t, "Diag", map[string]any{"T": classify.Float32}, 1, "rank 1", laT(classify.Float32, []float64{1}))
	laErr(t, "DiagPart", map[string]any{"T": classify.Float32}, 1, "even", laT(classify.Float32, make([]float64, 3), 3))
	laErr(t, "DiagPart", map[string]any{"T": classify.Float32}, 1, "first half", laT(classify.Float32, make([]float64, 6), 2, 3))
	laErr(t, "Diag", map[string]any{"T": classify.Float32}, 1, "more than", classify.NewTensor(classify.Float32, 1<<14+1))
	laErr(t, "Diag", map[string]any{"T": classify.Uint8}, 1, "dtype", &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{1}, Data: []uint8{1}})
}

func TestLinalgBatchMatMulV3(t *testing.T) {
	f32 := classify.Float32
	a := laT(f32, laRand(61, 2*3*4), 2, 3, 4)
	b := laT(f32, laRand(62, 4*5), 1, 4, 5)
	got := mustRun(t, "BatchMatMulV3", map[string]any{"Ta": f32, "Tb": f32, "Tout": f32, "adj_x": false, "adj_y": false}, a, b)
	if !got.Shape.Equal(classify.Shape{2, 3, 5}) {
		t.Fatalf("shape %v", got.Shape)
	}
	av, bv := vals(a), vals(b)
	want := append(laMul(av[:12], 3, 4, bv, 5), laMul(av[12:], 3, 4, bv, 5)...)
	laClose(t, "BatchMatMulV3 float32", vals(got), want, 1e-5)
	// adj_y with float64.
	at := laT(classify.Float64, laTr(bv, 4, 5), 5, 4)
	g64 := mustRun(t, "BatchMatMulV3", map[string]any{"Ta": classify.Float64, "Tb": classify.Float64, "Tout": classify.Float64, "adj_x": false, "adj_y": true}, laT(classify.Float64, av[:12], 3, 4), at)
	laClose(t, "BatchMatMulV3 adj_y float64", vals(g64), laMul(av[:12], 3, 4, bv, 5), 1e-12)
	// int8 × uint8 → int32: 127·255·2 does not fit int8 or int16.
	i8 := &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{1, 2}, Data: []int8{127, -128}}
	u8 := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{2, 1}, Data: []uint8{255, 255}}
	g := mustRun(t, "BatchMatMulV3", map[string]any{"Ta": classify.Int8, "Tb": classify.Uint8, "Tout": classify.Int32}, i8, u8)
	if g.DType != classify.Int32 || g.Int32s()[0] != 127*255-128*255 {
		t.Errorf("int8×uint8 → int32: %v %v", g.DType, g.Data)
	}
	bf := &classify.Tensor{DType: classify.BFloat16, Shape: classify.Shape{1, 2}, Data: []classify.BF16{classify.BF16FromFloat32(0.5), classify.BF16FromFloat32(2)}}
	i8c := &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{2, 1}, Data: []int8{-4, 3}}
	g = mustRun(t, "BatchMatMulV3", map[string]any{"Ta": classify.BFloat16, "Tb": classify.Int8, "Tout": classify.BFloat16}, bf, i8c)
	laClose(t, "bfloat16×int8", vals(g), []float64{4}, 0)
	// Ta = Tb = Tout int16 runs BatchMatMulV2's promoted kernel.
	s16 := &classify.Tensor{DType: classify.Int16, Shape: classify.Shape{1, 1}, Data: []int16{300}}
	g = mustRun(t, "BatchMatMulV3", map[string]any{"Ta": classify.Int16, "Tb": classify.Int16, "Tout": classify.Int16}, s16, s16)
	if g.Data.([]int16)[0] != int16(int32(90000)-65536) {
		t.Errorf("int16 wraps: %v", g.Data)
	}
	e := mustRun(t, "BatchMatMulV3", map[string]any{"Ta": f32, "Tb": f32, "Tout": f32}, laT(f32, nil, 0, 2, 3), laT(f32, make([]float64, 12), 3, 4))
	if !e.Shape.Equal(classify.Shape{0, 2, 4}) {
		t.Errorf("empty: shape %v", e.Shape)
	}
	laErr(t, "BatchMatMulV3", map[string]any{"Ta": f32, "Tb": f32, "Tout": classify.Int32}, 1, "no such kernel", a, b)
	laErr(t, "BatchMatMulV3", map[string]any{"Ta": f32, "Tb": f32, "Tout": f32}, 1, "multiply", a, a)
	laErr(t, "BatchMatMulV3", map[string]any{"Ta": f32, "Tb": f32, "Tout": f32}, 1, "want float32", a, laT(classify.Float64, make([]float64, 20), 4, 5))
	// Static shapes and FLOPs come from BatchMatMulV2's kernel.
	bld, _ := Lookup("BatchMatMulV3")
	gb := graphdef.New()
	pa, pb := gb.Placeholder("a", classify.Int8, classify.Shape{2, 3}), gb.Placeholder("b", classify.Int8, classify.Shape{3, 4})
	gb.Op("BatchMatMulV3", "out", []graphdef.Output{pa, pb}, graphdef.Attrs{"Ta": classify.Int8, "Tb": classify.Int8, "Tout": classify.Int32})
	nd := gb.GraphDef().GetNode()[2]
	op, err := bld(&Node{Name: "out", Op: "BatchMatMulV3", NumInputs: 2, Attr: nd.GetAttr()}, make([]*classify.Tensor, 2))
	if err != nil {
		t.Fatal(err)
	}
	infos, err := op.(Shaper).OutputInfo([]classify.TensorInfo{{DType: classify.Int8, Shape: classify.Shape{5, 2, 3}}, {DType: classify.Int8, Shape: classify.Shape{3, 4}}})
	if err != nil || len(infos) != 1 || infos[0].DType != classify.Int32 || !infos[0].Shape.Equal(classify.Shape{5, 2, 4}) {
		t.Errorf("BatchMatMulV3 OutputInfo %v %v, want int32 [5 2 4]", infos, err)
	}
	_, err = laRun(t, "BatchMatMulV3", map[string]any{"Ta": classify.Int8, "Tb": classify.Int8, "Tout": classify.BFloat16}, 1, i8, i8)
	if !errors.Is(err, classify.ErrUnsupportedOp) {
		t.Errorf("int8×int8 → bfloat16: %v, want unsupported", err)
	}
}

func TestLinalgOutputInfo(t *testing.T) {
	f32 := classify.Float32
	info := func(op string, attrs map[string]any, in ...classify.Shape) ([]classify.TensorInfo, error) {
		t.Helper()
		b, ok := Lookup(op)
		if !ok {
			t.Fatalf("%s not registered", op)
		}
		g := graphdef.New()
		var ins []graphdef.Output
		for i := range in {
			ins = append(ins, g.Placeholder(string(rune('a'+i)), f32, classify.Shape{1}))
		}
		g.Op(op, "out", ins, graphdef.Attrs(attrs))
		var node *Node
		for _, x := range g.GraphDef().GetNode() {
			if x.GetName() == "out" {
				node = &Node{Name: "out", Op: op, NumInputs: len(in), Attr: x.GetAttr()}
			}
		}
		o, err := b(node, make([]*classify.Tensor, len(in)))
		if err != nil {
			t.Fatal(err)
		}
		var ti []classify.TensorInfo
		for _, s := range in {
			ti = append(ti, classify.TensorInfo{DType: f32, Shape: s})
		}
		return o.(Shaper).OutputInfo(ti)
	}
	for _, c := range []struct {
		op    string
		attrs map[string]any
		in    []classify.Shape
		want  string
	}{
		{"MatrixDeterminant", nil, []classify.Shape{{2, 3, 3}}, "[[2]]"},
		{"LogMatrixDeterminant", nil, []classify.Shape{{-1, 4, 4}}, "[[?] [?]]"},
		{"MatrixInverse", nil, []classify.Shape{{5, 5}}, "[[5,5]]"},
		{"Qr", map[string]any{"full_matrices": false}, []classify.Shape{{2, 6, 3}}, "[[2,6,3] [2,3,3]]"},
		{"Qr", map[string]any{"full_matrices": true}, []classify.Shape{{6, 3}}, "[[6,6] [6,3]]"},
		{"Svd", map[string]any{"compute_uv": true, "full_matrices": false}, []classify.Shape{{4, 7}}, "[[4] [4,4] [7,4]]"},
		{"Svd", map[string]any{"compute_uv": false}, []classify.Shape{{4, -1}}, "[[?]]"},
		{"SelfAdjointEigV2", map[string]any{"compute_v": true}, []classify.Shape{{3, 3}}, "[[3] [3,3]]"},
		{"Lu", nil, []classify.Shape{{2, 3, 3}}, "[[2,3,3] [2,3]]"},
		{"MatrixSolve", nil, []classify.Shape{{2, 3, 3}, {2, 3, 5}}, "[[2,3,5]]"},
		{"MatrixTriangularSolve", nil, []classify.Shape{{2, 1, 3, 3}, {4, 3, 5}}, "[[2,4,3,5]]"},
		{"MatrixSolveLs", nil, []classify.Shape{{6, 3}, {6, 2}, {}}, "[[3,2]]"},
		{"TridiagonalSolve", nil, []classify.Shape{{2, 3, 5}, {2, 5, 4}}, "[[2,5,4]]"},
		{"TridiagonalMatMul", nil, []classify.Shape{{1, 5}, {1, 5}, {1, 5}, {5, 4}}, "[[5,4]]"},
		{"BandedTriangularSolve", nil, []classify.Shape{{2, 1, 3, 5}, {4, 5, 2}}, "[[2,4,5,2]]"},
	} {
		got, err := info(c.op, c.attrs, c.in...)
		if err != nil {
			t.Fatalf("%s %v: %v", c.op, c.in, err)
		}
		var shapes []classify.Shape
		for _, g := range got {
			shapes = append(shapes, g.Shape)
		}
		if fmt.Sprint(shapes) != c.want {
			t.Errorf("%s %v: shapes %v, want %s", c.op, c.in, shapes, c.want)
		}
	}
	if _, err := info("MatrixInverse", nil, classify.Shape{3, 4}); err == nil {
		t.Error("non-square MatrixInverse: no load-time error")
	}
	if _, err := info("Cholesky", nil, classify.Shape{3}); err == nil {
		t.Error("rank-1 Cholesky: no load-time error")
	}
}
