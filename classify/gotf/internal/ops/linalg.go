package ops

// Linear algebra on batches of matrices ([..., M, N], batch dimensions
// leading), after TensorFlow's CPU kernels (Eigen): MatrixDeterminant,
// LogMatrixDeterminant, MatrixInverse, MatrixSolve, MatrixTriangularSolve,
// Cholesky (this file), Qr, Svd, SelfAdjointEigV2, Lu (linalg_decomp.go)
// MatrixSolveLs (linalg_lstsq.go), MatrixSquareRoot (linalg_sqrtm.go),
// TridiagonalSolve, TridiagonalMatMul and BandedTriangularSolve
// (linalg_tridiag.go) and the
// element movers Cross, Diag,
// DiagPart and BatchMatMulV3 (linalg_misc.go).
//
// float32 and float64 (TensorFlow's complex kernels have no dtype here);
// float16 for MatrixInverse and Qr, promoted to float32 (TF's float16
// MatrixInverse does the same; its float16 Qr runs Eigen in half, which is
// less accurate). Every matrix is computed in float64 and a float32 result rounds
// once at the end, which is at least as accurate as TensorFlow's float32
// Eigen kernels; results may differ from them in the last bits.
//
// The factorizations follow Eigen's algorithms step by step where their
// choices show in the result: PartialPivLU's pivot (the first largest
// magnitude in the column; a zero column is skipped, not an error), LLT's
// failure test, HouseholderQR's reflector sign. Singular inputs give TF's
// errors ("Input is not invertible." for MatrixInverse, "Input matrix is
// not invertible." for MatrixSolve: an exact zero pivot). Cholesky of a
// matrix that is not positive definite fills the lower triangle with NaN
// as TensorFlow >= 2.13 does (older releases failed the run).
//
// Work is O(n³) per matrix, so a run whose matrices together need more
// than maxLinalgWork multiply-adds is refused before anything is
// allocated, as is an output of more than maxLinalgElements elements.

import (
	"fmt"
	"math"
	"sync"

	"github.com/classifyd/classifyd/classify"
)

// maxLinalgWork bounds the multiply-adds of one run of a linear-algebra
// op (batch × the op's per-matrix cost): 2^33, about ten seconds; a single
// 2048×2048 inverse is at the limit.
const maxLinalgWork = 1 << 33

// maxLinalgElements bounds the elements of one output (Diag squares its
// input's size; full Q of a tall matrix is M×M).
const maxLinalgElements = 1 << 28

func init() {
	for op, k := range map[string]laKind{
		"MatrixDeterminant":     laDet,
		"LogMatrixDeterminant":  laLogDet,
		"MatrixInverse":         laInverse,
		"MatrixSolve":           laSolve,
		"MatrixTriangularSolve": laTriSolve,
		"Cholesky":              laCholesky,
	} {
		Register(op, buildLinalg(k))
	}
	// TensorFlow's float16 MatrixInverse computes in float32 and rounds,
	// which is what promotion does.
	promote("MatrixInverse", "T", nil, classify.Float16)
}

type laKind int

const (
	laDet laKind = iota
	laLogDet
	laInverse
	laSolve
	laTriSolve
	laCholesky
	laQr
	laSvd
	laEig
	laLu
	laSolveLs
	laSqrtm
	laTriDiagSolve
	laTriDiagMatMul
	laBandSolve
)

// laOp is one linear-algebra node.
type laOp struct {
	n    *Node
	kind laKind
	dt   classify.DType // T, or Invalid when the attribute is absent
	// attributes
	adjoint, lower bool // MatrixInverse, MatrixSolve, MatrixTriangularSolve
	full, uv       bool // Qr, Svd full_matrices; Svd compute_uv, SelfAdjointEigV2 compute_v
	fast           bool // MatrixSolveLs
	pivot, perturb bool // TridiagonalSolve
	idx            classify.DType
}

func buildLinalg(k laKind) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		want := 1
		if k == laSolve || k == laTriSolve {
			want = 2
		}
		switch k {
		case laSolveLs:
			want = 3
		case laTriDiagSolve, laBandSolve:
			want = 2
		case laTriDiagMatMul:
			want = 4
		}
		if n.NumInputs != want {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, want)
		}
		o := &laOp{n: n, kind: k, dt: n.Type("T")}
		if o.dt != classify.Invalid && o.dt != classify.Float32 && o.dt != classify.Float64 {
			return nil, fmt.Errorf("node %q (%s): %w: dtype %v (only float32 and float64)", n.Name, n.Op, classify.ErrUnsupportedOp, o.dt)
		}
		switch k {
		case laInverse, laSolve:
			o.adjoint = n.Bool("adjoint", false)
		case laTriSolve, laBandSolve:
			o.adjoint, o.lower = n.Bool("adjoint", false), n.Bool("lower", true)
		case laQr:
			o.full = n.Bool("full_matrices", false)
		case laSvd:
			o.uv, o.full = n.Bool("compute_uv", true), n.Bool("full_matrices", false)
		case laEig:
			o.uv = n.Bool("compute_v", true)
		case laSolveLs:
			o.fast = n.Bool("fast", true)
		case laTriDiagSolve:
			o.pivot, o.perturb = n.Bool("partial_pivoting", true), n.Bool("perturb_singular", false)
			if o.perturb && !o.pivot {
				return nil, n.Errorf("Setting perturb_singular requires also setting partial_pivoting.")
			}
		case laLu:
			o.idx = classify.Int32
			if n.Has("output_idx_type") {
				o.idx = n.Type("output_idx_type")
			}
			if o.idx != classify.Int32 && o.idx != classify.Int64 {
				return nil, n.Errorf("output_idx_type %v: want int32 or int64", o.idx)
			}
		}
		return o, nil
	}
}

// laInput checks input i: float32 or float64 of T, rank >= 2.
func (o *laOp) laInput(x *classify.Tensor, i int) error {
	if x == nil {
		return o.n.InputErrorf("input %d is missing", i)
	}
	if x.DType != classify.Float32 && x.DType != classify.Float64 {
		return o.n.InputErrorf("input %d is %v, want float32 or float64", i, x.DType)
	}
	if o.dt != classify.Invalid && x.DType != o.dt {
		return o.n.InputErrorf("input %d is %v, T is %v", i, x.DType, o.dt)
	}
	if len(x.Shape) < 2 {
		return o.n.InputErrorf("input %d must have rank >= 2, got shape %v", i, x.Shape)
	}
	if x.Len() != x.Shape.NumElements() {
		return o.n.InputErrorf("input %d: %d elements for shape %v", i, x.Len(), x.Shape)
	}
	return nil
}

// laBudget refuses a run of batch matrices costing per multiply-adds each,
// and outputs of more than maxLinalgElements.
func (o *laOp) laBudget(batch int, per float64, outs ...[]int) error {
	if w := float64(batch) * per; w > maxLinalgWork {
		return o.n.InputErrorf("%d matrices need about %.3g multiply-adds, more than the %d one run may use", batch, w, int64(maxLinalgWork))
	}
	for _, s := range outs {
		e := 1.0
		for _, d := range s {
			e *= float64(d)
		}
		if e > maxLinalgElements {
			return o.n.InputErrorf("output shape %v has more than %d elements", s, maxLinalgElements)
		}
	}
	return nil
}

// laPut stores v at offset off of t (float32 or float64).
func laPut(t *classify.Tensor, off int, v []float64) {
	switch d := t.Data.(type) {
	case []float64:
		copy(d[off:off+len(v)], v)
	case []float32:
		d = d[off : off+len(v)]
		for i, x := range v {
			d[i] = float32(x)
		}
	}
}

// laSet stores one value.
func laSet(t *classify.Tensor, i int, v float64) {
	switch d := t.Data.(type) {
	case []float64:
		d[i] = v
	case []float32:
		d[i] = float32(v)
	}
}

// laBatch runs fn for every matrix b in [0, batch), in parallel, and
// returns the error of the lowest failing b. cost is the per-matrix work.
func laBatch(ctx *Ctx, batch int, cost float64, fn func(b int) error) error {
	var mu sync.Mutex
	first, firstB := error(nil), batch
	c := int(min(cost, 1<<30))
	ewParallel(ctx, batch, c, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			if err := fn(b); err != nil {
				mu.Lock()
				if b < firstB {
					first, firstB = err, b
				}
				mu.Unlock()
				return
			}
		}
	})
	return first
}

// Run implements Op.
func (o *laOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != o.n.NumInputs {
		return nil, o.n.InputErrorf("%d inputs, want %d", len(in), o.n.NumInputs)
	}
	check := in[:min(len(in), 2)]
	if o.kind == laTriDiagMatMul {
		check = in
	}
	for i, x := range check {
		if err := o.laInput(x, i); err != nil {
			return nil, err
		}
	}
	for _, x := range check[1:] {
		if x.DType != in[0].DType {
			return nil, o.n.InputErrorf("inputs are %v and %v", in[0].DType, x.DType)
		}
	}
	if len(in) >= 2 && in[0].DType != in[1].DType {
		return nil, o.n.InputErrorf("inputs are %v and %v", in[0].DType, in[1].DType)
	}
	switch o.kind {
	case laDet, laLogDet, laInverse, laCholesky:
		return o.runSquare(ctx, in[0])
	case laSqrtm:
		return o.runSqrtm(ctx, in[0])
	case laTriDiagSolve:
		return o.runTriDiagSolve(ctx, in[0], in[1])
	case laTriDiagMatMul:
		return o.runTriDiagMatMul(ctx, in)
	case laBandSolve:
		return o.runBandSolve(ctx, in[0], in[1])
	case laSolve:
		return o.runSolve(ctx, in[0], in[1])
	case laTriSolve:
		return o.runTriSolve(ctx, in[0], in[1])
	case laQr:
		return o.runQr(ctx, in[0])
	case laSvd:
		return o.runSvd(ctx, in[0])
	case laEig:
		return o.runEig(ctx, in[0])
	case laLu:
		return o.runLu(ctx, in[0])
	case laSolveLs:
		return o.runSolveLs(ctx, in[0], in[1], in[2])
	}
	return nil, o.n.Errorf("unknown linear-algebra op")
}

// square returns the batch shape, batch size and order of x's square
// matrices.
func (o *laOp) square(x *classify.Tensor, what string) (classify.Shape, int, int, error) {
	r := len(x.Shape)
	if x.Shape[r-1] != x.Shape[r-2] {
		return nil, 0, 0, o.n.InputErrorf("%s must be square matrices, got shape %v", what, x.Shape)
	}
	bs := x.Shape[:r-2]
	return bs, arrProd(bs), x.Shape[r-1], nil
}

func (o *laOp) runSquare(ctx *Ctx, x *classify.Tensor) ([]*classify.Tensor, error) {
	bs, batch, n, err := o.square(x, "input")
	if err != nil {
		return nil, err
	}
	fn := float64(n)
	if err := o.laBudget(batch, fn*fn*fn); err != nil {
		return nil, err
	}
	src := f64sOf(x)
	nn := n * n
	switch o.kind {
	case laDet, laLogDet:
		var sign, lad *classify.Tensor
		if o.kind == laDet {
			sign = ctx.Output(0, x.DType, bs...)
		} else {
			sign = ctx.Output(0, x.DType, bs...)
			lad = ctx.Output(1, x.DType, bs...)
		}
		err = laBatch(ctx, batch, fn*fn*fn, func(b int) error {
			a := append([]float64(nil), src[b*nn:(b+1)*nn]...)
			s, l := laSlogdet(a, n)
			if lad != nil {
				laSet(sign, b, s)
				laSet(lad, b, l)
			} else {
				laSet(sign, b, s*math.Exp(l))
			}
			return nil
		})
		if lad != nil {
			return []*classify.Tensor{sign, lad}, err
		}
		return []*classify.Tensor{sign}, err
	case laInverse:
		out := ctx.Output(0, x.DType, x.Shape...)
		err = laBatch(ctx, batch, fn*fn*fn, func(b int) error {
			a := laLoad(src[b*nn:(b+1)*nn], n, n, o.adjoint)
			piv := make([]int, n)
			laLU(a, n, n, piv)
			if !laPivotsNonzero(a, n) {
				return o.n.InputErrorf("Input is not invertible.")
			}
			inv := make([]float64, nn)
			for i := range n {
				inv[i*n+i] = 1
			}
			laLUSolve(a, n, piv, inv, n)
			laPut(out, b*nn, inv)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return []*classify.Tensor{out}, nil
	case laCholesky:
		out := ctx.Output(0, x.DType, x.Shape...)
		err = laBatch(ctx, batch, fn*fn*fn/3, func(b int) error {
			a := append([]float64(nil), src[b*nn:(b+1)*nn]...)
			laCholeskyInPlace(a, n)
			laPut(out, b*nn, a)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return []*classify.Tensor{out}, nil
	}
	return nil, o.n.Errorf("unknown linear-algebra op")
}

// laLoad copies an r×c row-major matrix, transposed when t (giving c×r).
func laLoad(src []float64, r, c int, t bool) []float64 {
	a := make([]float64, r*c)
	if !t {
		copy(a, src[:r*c])
		return a
	}
	for i := range r {
		for j := range c {
			a[j*r+i] = src[i*c+j]
		}
	}
	return a
}

// laLU factors the r×c row-major matrix a in place as Eigen's
// PartialPivLU does (unblocked): at step k the row of the first largest
// |a[i][k]|, i >= k, is swapped into row k (piv[k] records it); a zero
// column is left as is. L (unit diagonal) is stored below the diagonal, U
// on and above. It returns the number of row swaps.
func laLU(a []float64, r, c int, piv []int) int {
	swaps := 0
	for k := 0; k < min(r, c); k++ {
		p, big := k, math.Abs(a[k*c+k])
		for i := k + 1; i < r; i++ {
			if v := math.Abs(a[i*c+k]); v > big {
				p, big = i, v
			}
		}
		piv[k] = p
		if big != 0 {
			if p != k {
				rk, rp := a[k*c:(k+1)*c], a[p*c:(p+1)*c]
				for j := range rk {
					rk[j], rp[j] = rp[j], rk[j]
				}
				swaps++
			}
			d := a[k*c+k]
			for i := k + 1; i < r; i++ {
				a[i*c+k] /= d
			}
		}
		rk := a[k*c+k+1 : (k+1)*c]
		for i := k + 1; i < r; i++ {
			l := a[i*c+k]
			ri := a[i*c+k+1 : (i+1)*c]
			for j, u := range rk {
				ri[j] -= l * u
			}
		}
	}
	return swaps
}

// laPivotsNonzero is TensorFlow's invertibility test: the smallest |U_ii|
// (Eigen's minCoeff: a NaN first entry wins, later ones are skipped) must
// be positive.
func laPivotsNonzero(a []float64, n int) bool {
	if n == 0 {
		return true
	}
	m := math.Abs(a[0])
	for i := 1; i < n; i++ {
		if v := math.Abs(a[i*n+i]); v < m {
			m = v
		}
	}
	return m > 0
}

// laLUSolve overwrites the n×k row-major b with the solution of A x = b,
// a and piv from laLU.
func laLUSolve(a []float64, n int, piv []int, b []float64, k int) {
	for i := range n {
		if p := piv[i]; p != i {
			ri, rp := b[i*k:(i+1)*k], b[p*k:(p+1)*k]
			for j := range ri {
				ri[j], rp[j] = rp[j], ri[j]
			}
		}
	}
	for i := range n {
		bi := b[i*k : (i+1)*k]
		for j := range i {
			if l := a[i*n+j]; l != 0 {
				bj := b[j*k : (j+1)*k]
				for c := range bi {
					bi[c] -= l * bj[c]
				}
			}
		}
	}
	laUpperSolve(a, n, b, k)
}

// laUpperSolve overwrites b (n×k) with U⁻¹b, U the upper triangle of a,
// multiplying by the reciprocal of each diagonal entry as Eigen's
// triangular matrix solver does (a zero diagonal gives ±Inf or NaN).
func laUpperSolve(a []float64, n int, b []float64, k int) {
	for i := n - 1; i >= 0; i-- {
		bi := b[i*k : (i+1)*k]
		for j := i + 1; j < n; j++ {
			if u := a[i*n+j]; u != 0 {
				bj := b[j*k : (j+1)*k]
				for c := range bi {
					bi[c] -= u * bj[c]
				}
			}
		}
		r := 1 / a[i*n+i]
		for c := range bi {
			bi[c] *= r
		}
	}
}

// laSlogdet is TensorFlow's SLogDet on a (destroyed): sign and log|det|
// from the pivoted LU; 0×0 gives (1, 0). A singular, infinite or NaN
// result gives sign 0 and log|det| -Inf (+Inf when it overflowed).
func laSlogdet(a []float64, n int) (sign, logAbs float64) {
	sign = 1
	if n == 0 {
		return 1, 0
	}
	piv := make([]int, n)
	if laLU(a, n, n, piv)%2 == 1 {
		sign = -1
	}
	for i := range n {
		d := a[i*n+i]
		ad := math.Abs(d)
		logAbs += math.Log(ad)
		sign *= d / ad
	}
	if math.IsNaN(logAbs) || math.IsInf(logAbs, 0) {
		sign = 0
		if logAbs > 0 {
			logAbs = math.Inf(1)
		} else {
			logAbs = math.Inf(-1)
		}
	}
	return sign, logAbs
}

// laCholeskyInPlace replaces a with the lower factor L of Eigen's LLT,
// which reads only the lower triangle, zeros above the diagonal. When a
// pivot x <= 0 appears the lower triangle is all NaN (TensorFlow >= 2.13;
// a NaN pivot is not a failure and propagates). It reports success.
func laCholeskyInPlace(a []float64, n int) bool {
	for k := range n {
		x := a[k*n+k]
		for j := range k {
			x -= a[k*n+j] * a[k*n+j]
		}
		if x <= 0 {
			for i := range n {
				for j := range n {
					if j <= i {
						a[i*n+j] = math.NaN()
					} else {
						a[i*n+j] = 0
					}
				}
			}
			return false
		}
		x = math.Sqrt(x)
		a[k*n+k] = x
		for i := k + 1; i < n; i++ {
			s := a[i*n+k]
			for j := range k {
				s -= a[i*n+j] * a[k*n+j]
			}
			a[i*n+k] = s / x
		}
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			a[i*n+j] = 0
		}
	}
	return true
}

// runSolve is MatrixSolve: matrix [..., N, N], rhs [..., N, K] with the
// same batch dimensions (no broadcasting, as TensorFlow's kernel).
func (o *laOp) runSolve(ctx *Ctx, m, rhs *classify.Tensor) ([]*classify.Tensor, error) {
	bs, batch, n, err := o.square(m, "matrix")
	if err != nil {
		return nil, err
	}
	r := len(rhs.Shape)
	if r != len(m.Shape) || !classify.Shape(rhs.Shape[:r-2]).Equal(bs) {
		return nil, o.n.InputErrorf("matrix %v and right-hand side %v must have the same batch dimensions", m.Shape, rhs.Shape)
	}
	if rhs.Shape[r-2] != n {
		return nil, o.n.InputErrorf("matrix %v and right-hand side %v must have the same number of rows", m.Shape, rhs.Shape)
	}
	k := rhs.Shape[r-1]
	fn, fk := float64(n), float64(k)
	if err := o.laBudget(batch, fn*fn*(fn+fk)); err != nil {
		return nil, err
	}
	out := ctx.Output(0, m.DType, rhs.Shape...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	ms, bsrc := f64sOf(m), f64sOf(rhs)
	err = laBatch(ctx, batch, fn*fn*(fn+fk), func(b int) error {
		a := laLoad(ms[b*n*n:(b+1)*n*n], n, n, o.adjoint)
		piv := make([]int, n)
		laLU(a, n, n, piv)
		if !laPivotsNonzero(a, n) {
			return o.n.InputErrorf("Input matrix is not invertible.")
		}
		x := append([]float64(nil), bsrc[b*n*k:(b+1)*n*k]...)
		laLUSolve(a, n, piv, x, k)
		laPut(out, b*n*k, x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

// runTriSolve is MatrixTriangularSolve: only the lower (or upper) triangle
// of matrix is read; batch dimensions broadcast as in BatchMatMulV2
// (TensorFlow >= 2.2). A zero on the diagonal gives Inf/NaN, no error.
func (o *laOp) runTriSolve(ctx *Ctx, m, rhs *classify.Tensor) ([]*classify.Tensor, error) {
	rm, rr := len(m.Shape), len(rhs.Shape)
	n := m.Shape[rm-1]
	if m.Shape[rm-2] != n {
		return nil, o.n.InputErrorf("matrix must be square matrices, got shape %v", m.Shape)
	}
	mb, rb := m.Shape[:rm-2], rhs.Shape[:rr-2]
	bs, ok := broadcastBatch(mb, rb)
	if !ok {
		return nil, o.n.InputErrorf("batch dimensions of %v and %v do not broadcast", m.Shape, rhs.Shape)
	}
	if rhs.Shape[rr-2] != n {
		return nil, o.n.InputErrorf("matrix %v and right-hand side %v: %d vs %d rows", m.Shape, rhs.Shape, n, rhs.Shape[rr-2])
	}
	k := rhs.Shape[rr-1]
	shape := append(bs.Clone(), n, k)
	batch := arrProd(bs)
	fn, fk := float64(n), float64(k)
	if err := o.laBudget(batch, fn*fn*fk/2+fn*fk, shape); err != nil {
		return nil, err
	}
	out := ctx.Output(0, m.DType, shape...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	ms, bsrc := f64sOf(m), f64sOf(rhs)
	err := laBatch(ctx, batch, fn*fn*fk/2+fn*fk, func(b int) error {
		mi, ri := batchOffset(b, bs, mb), batchOffset(b, bs, rb)
		a := ms[mi*n*n : (mi+1)*n*n]
		x := append([]float64(nil), bsrc[ri*n*k:(ri+1)*n*k]...)
		laTriangular(a, n, x, k, o.lower, o.adjoint)
		laPut(out, b*n*k, x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

// laTriangular overwrites x (n×k) with op(T)⁻¹x, T the lower or upper
// triangle of a and op the transpose when adjoint.
func laTriangular(a []float64, n int, x []float64, k int, lower, adjoint bool) {
	// t(i, j) is op(T)[i][j]; op(T) is lower triangular when lower != adjoint.
	t := func(i, j int) float64 {
		if adjoint {
			return a[j*n+i]
		}
		return a[i*n+j]
	}
	forward := lower != adjoint
	for s := range n {
		i := s
		if !forward {
			i = n - 1 - s
		}
		xi := x[i*k : (i+1)*k]
		lo, hi := 0, i
		if !forward {
			lo, hi = i+1, n
		}
		for j := lo; j < hi; j++ {
			if v := t(i, j); v != 0 {
				xj := x[j*k : (j+1)*k]
				for c := range xi {
					xi[c] -= v * xj[c]
				}
			}
		}
		r := 1 / t(i, i)
		for c := range xi {
			xi[c] *= r
		}
	}
}

// OutputInfo implements Shaper: the output shapes of every linear-algebra
// op from the static input shapes (-1 where a dimension is unknown).
func (o *laOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := o.dt
	if dt == classify.Invalid && len(in) > 0 {
		dt = in[0].DType
	}
	nout := 1
	switch o.kind {
	case laLogDet, laQr, laLu:
		nout = 2
	case laSvd:
		if o.uv {
			nout = 3
		}
	case laEig:
		if o.uv {
			nout = 2
		}
	}
	infos := make([]classify.TensorInfo, nout)
	for i := range infos {
		infos[i].DType = dt
	}
	if o.kind == laLu {
		infos[1].DType = o.idx
	}
	if len(in) == 0 || in[0].Shape == nil {
		return infos, nil
	}
	x := in[0].Shape
	r := len(x)
	if r < 2 {
		return nil, o.n.Errorf("input 0 must have rank >= 2, got shape %v", x)
	}
	bs, m, n := x[:r-2], x[r-2], x[r-1]
	with := func(dims ...int) classify.Shape { return append(bs.Clone(), dims...) }
	kmin := -1
	if m >= 0 && n >= 0 {
		kmin = min(m, n)
	}
	switch o.kind {
	case laDet, laLogDet, laInverse, laCholesky, laEig, laLu, laSqrtm, laSolve, laTriSolve:
		if m >= 0 && n >= 0 && m != n {
			return nil, o.n.Errorf("input 0 must be square matrices, got shape %v", x)
		}
	}
	switch o.kind {
	case laDet:
		infos[0].Shape = bs.Clone()
	case laLogDet:
		infos[0].Shape, infos[1].Shape = bs.Clone(), bs.Clone()
	case laInverse, laCholesky, laSqrtm:
		infos[0].Shape = x.Clone()
	case laEig:
		infos[0].Shape = with(n)
		if o.uv {
			infos[1].Shape = x.Clone()
		}
	case laLu:
		infos[0].Shape, infos[1].Shape = x.Clone(), with(n)
	case laQr:
		if o.full {
			infos[0].Shape, infos[1].Shape = with(m, m), with(m, n)
		} else {
			infos[0].Shape, infos[1].Shape = with(m, kmin), with(kmin, n)
		}
	case laSvd:
		infos[0].Shape = with(kmin)
		if o.uv {
			if o.full {
				infos[1].Shape, infos[2].Shape = with(m, m), with(n, n)
			} else {
				infos[1].Shape, infos[2].Shape = with(m, kmin), with(n, kmin)
			}
		}
	case laTriDiagSolve:
		if len(in) == 2 && in[1].Shape != nil {
			infos[0].Shape = in[1].Shape.Clone()
		}
	case laTriDiagMatMul:
		if len(in) == 4 && in[3].Shape != nil {
			infos[0].Shape = in[3].Shape.Clone()
		}
	case laSolve, laTriSolve, laSolveLs, laBandSolve:
		if len(in) < 2 || in[1].Shape == nil {
			return infos, nil
		}
		y := in[1].Shape
		if len(y) < 2 {
			return nil, o.n.Errorf("input 1 must have rank >= 2, got shape %v", y)
		}
		k := y[len(y)-1]
		switch o.kind {
		case laSolve:
			infos[0].Shape = y.Clone()
		case laSolveLs:
			infos[0].Shape = with(n, k)
		case laTriSolve, laBandSolve:
			b, ok := broadcastBatch(bs, y[:len(y)-2])
			if !ok {
				return nil, o.n.Errorf("batch dimensions of %v and %v do not broadcast", x, y)
			}
			infos[0].Shape = append(b, n, k)
		}
	}
	return infos, nil
}
