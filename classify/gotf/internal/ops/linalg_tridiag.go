package ops

// TridiagonalSolve and TridiagonalMatMul, as TensorFlow's CPU kernels.
//
// TridiagonalSolve takes the diagonals [..., 3, M] (superdiagonal, whose
// last entry is ignored; diagonal; subdiagonal, whose first entry is
// ignored) and rhs [..., M, K] with the same batch dimensions:
//
//   - partial_pivoting (default): Gaussian elimination with row
//     interchanges, LAPACK's xGTSV order; an exact zero pivot fills that
//     system's solution with NaN (TF logs a warning, no error).
//   - partial_pivoting=false: the Thomas algorithm, NaN on a zero pivot.
//   - perturb_singular (needs partial_pivoting): LAPACK's xLAGTF/xLAGTS
//     way, tiny pivots of U nudged by ε·max|U| (ε and the smallest normal
//     number of T) so that singular systems give large finite solutions.
//
// TridiagonalMatMul takes superdiag, maindiag, subdiag [..., 1, M] and
// rhs [..., M, N]: y_i = super_i·x_{i+1} + main_i·x_i + sub_i·x_{i-1}.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("TridiagonalSolve", buildLinalg(laTriDiagSolve))
	Register("TridiagonalMatMul", buildLinalg(laTriDiagMatMul))
	Register("BandedTriangularSolve", buildLinalg(laBandSolve))
}

func (o *laOp) runTriDiagSolve(ctx *Ctx, d, rhs *classify.Tensor) ([]*classify.Tensor, error) {
	r := len(d.Shape)
	bs := d.Shape[:r-2]
	if d.Shape[r-2] != 3 {
		return nil, o.n.InputErrorf("Expected diagonals to be provided as a matrix with 3 rows, got %d rows.", d.Shape[r-2])
	}
	m := d.Shape[r-1]
	if len(rhs.Shape) != r || !rhs.Shape[:r-2].Equal(bs) {
		return nil, o.n.InputErrorf("diagonals %v and right-hand sides %v must have the same batch dimensions", d.Shape, rhs.Shape)
	}
	if rhs.Shape[r-2] != m {
		return nil, o.n.InputErrorf("Expected the same number of left-hand sides and right-hand sides, got %d and %d.", m, rhs.Shape[r-2])
	}
	k := rhs.Shape[r-1]
	batch := arrProd(bs)
	cost := float64(m) * float64(k+3) * 4
	if err := o.laBudget(batch, cost); err != nil {
		return nil, err
	}
	out := ctx.Output(0, d.DType, rhs.Shape...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	ds, bsrc := f64sOf(d), f64sOf(rhs)
	eps, tiny := 0x1p-52, 0x1p-1022
	if d.DType == classify.Float32 {
		eps, tiny = 0x1p-23, 0x1p-126
	}
	err := laBatch(ctx, batch, cost, func(b int) error {
		dg := ds[b*3*m : (b+1)*3*m]
		sup, dia, sub := dg[:m], dg[m:2*m], dg[2*m:]
		x := make([]float64, m*k)
		rb := bsrc[b*m*k : (b+1)*m*k]
		switch {
		case o.perturb:
			laTriPerturb(sup, dia, sub, rb, x, m, k, eps, tiny)
		case m == 1:
			if dia[0] == 0 {
				fillNaN(x)
			} else {
				for c := range k {
					x[c] = rb[c] / dia[0]
				}
			}
		case o.pivot:
			laTriPivot(sup, dia, sub, rb, x, m, k)
		default:
			laTriThomas(sup, dia, sub, rb, x, m, k)
		}
		laPut(out, b*m*k, x)
		return nil
	})
	return []*classify.Tensor{out}, err
}

func fillNaN(x []float64) {
	for i := range x {
		x[i] = math.NaN()
	}
}

// laTriPivot is Gaussian elimination with partial pivoting (m >= 2).
func laTriPivot(sup, dia, sub, rhs, x []float64, m, k int) {
	u := make([][3]float64, m)
	row := func(i int) []float64 { return x[i*k : (i+1)*k] }
	rrow := func(i int) []float64 { return rhs[i*k : (i+1)*k] }
	u[0][0], u[0][1] = dia[0], sup[0]
	copy(row(0), rrow(0))
	for i := 0; i < m-1; i++ {
		if math.Abs(u[i][0]) >= math.Abs(sub[i+1]) {
			if u[i][0] == 0 {
				fillNaN(x)
				return
			}
			f := sub[i+1] / u[i][0]
			u[i+1][0] = dia[i+1] - f*u[i][1]
			xi, xn, rn := row(i), row(i+1), rrow(i+1)
			for c := range k {
				xn[c] = rn[c] - f*xi[c]
			}
			if i != m-2 {
				u[i+1][1] = sup[i+1]
				u[i][2] = 0
			}
		} else {
			f := u[i][0] / sub[i+1]
			u[i][0] = sub[i+1]
			u[i+1][0] = u[i][1] - f*dia[i+1]
			u[i][1] = dia[i+1]
			xi, xn, rn := row(i), row(i+1), rrow(i+1)
			for c := range k {
				xn[c] = xi[c] - f*rn[c]
				xi[c] = rn[c]
			}
			if i != m-2 {
				u[i][2] = sup[i+1]
				u[i+1][1] = -f * sup[i+1]
			}
		}
	}
	if u[m-1][0] == 0 {
		fillNaN(x)
		return
	}
	for c := range k {
		x[(m-1)*k+c] /= u[m-1][0]
		x[(m-2)*k+c] = (x[(m-2)*k+c] - u[m-2][1]*x[(m-1)*k+c]) / u[m-2][0]
	}
	for i := m - 3; i >= 0; i-- {
		for c := range k {
			x[i*k+c] = (x[i*k+c] - u[i][1]*x[(i+1)*k+c] - u[i][2]*x[(i+2)*k+c]) / u[i][0]
		}
	}
}

// laTriThomas is the Thomas algorithm (no pivoting).
func laTriThomas(sup, dia, sub, rhs, x []float64, m, k int) {
	if dia[0] == 0 {
		fillNaN(x)
		return
	}
	u := make([]float64, m)
	u[0] = sup[0] / dia[0]
	for c := range k {
		x[c] = rhs[c] / dia[0]
	}
	for i := 1; i < m; i++ {
		den := dia[i] - sub[i]*u[i-1]
		if den == 0 {
			fillNaN(x)
			return
		}
		u[i] = sup[i] / den
		for c := range k {
			x[i*k+c] = (rhs[i*k+c] - sub[i]*x[(i-1)*k+c]) / den
		}
	}
	for i := m - 2; i >= 0; i-- {
		for c := range k {
			x[i*k+c] -= u[i] * x[(i+1)*k+c]
		}
	}
}

// laPerturbPivot is TF's MaybePerturbPivot (from LAPACK's xLAGTS): it
// nudges or rescales a small pivot so that row/pivot cannot overflow.
func laPerturbPivot(perturb float64, pivot *float64, row []float64, tiny float64) {
	safemin := tiny
	bignum := 1 / safemin
	ap := math.Abs(*pivot)
	if ap >= 1 {
		return
	}
	perturb = math.Copysign(max(math.Abs(perturb), safemin), *pivot)
	maxf := 0.0
	for _, v := range row {
		maxf = max(maxf, math.Abs(v))
	}
	for stop := false; ap < 1 && !stop; ap = math.Abs(*pivot) {
		switch {
		case ap < safemin:
			if ap == 0 || maxf*safemin > ap {
				*pivot += perturb
				perturb *= 2
			} else {
				*pivot *= bignum
				for i := range row {
					row[i] *= bignum
				}
				stop = true
			}
		case maxf > ap*bignum:
			*pivot += perturb
			perturb *= 2
		default:
			stop = true
		}
	}
}

// laTriPerturb is TF's pivoting elimination with perturbed singular pivots.
func laTriPerturb(sup, dia, sub, rhs, x []float64, m, k int, eps, tiny float64) {
	row := make([]float64, k)
	if m == 1 {
		den := dia[0]
		copy(row, rhs[:k])
		laPerturbPivot(eps*math.Abs(den), &den, row, tiny)
		for c := range k {
			x[c] = row[c] * (1 / den)
		}
		return
	}
	u := make([][3]float64, m)
	u[0][0], u[0][1] = dia[0], sup[0]
	maxU := max(math.Abs(u[0][0]), math.Abs(u[0][1]))
	scale1 := math.Abs(u[0][0]) + math.Abs(u[0][1])
	copy(x[:k], rhs[:k])
	for j := 0; j < m-1; j++ {
		u[j+1][0] = dia[j+1]
		scale2 := math.Abs(sub[j+1]) + math.Abs(u[j+1][0])
		if j < m-2 {
			scale2 += math.Abs(sup[j+1])
		}
		xj, xn, rn := x[j*k:(j+1)*k], x[(j+1)*k:(j+2)*k], rhs[(j+1)*k:(j+2)*k]
		if sub[j+1] == 0 {
			scale1 = scale2
			u[j+1][1] = sup[j+1]
			u[j][2] = 0
			copy(xn, rn)
		} else {
			piv1 := 0.0
			if u[j][0] != 0 {
				piv1 = math.Abs(u[j][0]) / scale1
			}
			piv2 := math.Abs(sub[j+1]) / scale2
			if piv2 <= piv1 {
				scale1 = scale2
				f := sub[j+1] / u[j][0]
				u[j+1][0] = dia[j+1] - f*u[j][1]
				u[j+1][1] = sup[j+1]
				u[j][2] = 0
				for c := range k {
					xn[c] = rn[c] - f*xj[c]
				}
			} else {
				f := u[j][0] / sub[j+1]
				u[j][0] = sub[j+1]
				u[j+1][0] = u[j][1] - f*dia[j+1]
				u[j][1] = dia[j+1]
				if j < m-2 {
					u[j][2] = sup[j+1]
					u[j+1][1] = -f * sup[j+1]
				}
				for c := range k {
					xn[c] = xj[c] - f*rn[c]
					xj[c] = rn[c]
				}
			}
		}
		if j < m-2 {
			for i := range 3 {
				maxU = max(maxU, math.Abs(u[j][i]))
			}
		}
	}
	maxU = max(maxU, math.Abs(u[m-1][0]))
	tol := eps * maxU
	solve := func(i int, den float64) {
		laPerturbPivot(math.Copysign(tol, den), &den, row, tiny)
		for c := range k {
			x[i*k+c] = row[c] * (1 / den)
		}
	}
	copy(row, x[(m-1)*k:m*k])
	den := u[m-1][0]
	laPerturbPivot(tol, &den, row, tiny)
	for c := range k {
		x[(m-1)*k+c] = row[c] * (1 / den)
	}
	for c := range k {
		row[c] = x[(m-2)*k+c] - u[m-2][1]*x[(m-1)*k+c]
	}
	solve(m-2, u[m-2][0])
	for i := m - 3; i >= 0; i-- {
		for c := range k {
			row[c] = x[i*k+c] - u[i][1]*x[(i+1)*k+c] - u[i][2]*x[(i+2)*k+c]
		}
		solve(i, u[i][0])
	}
}

func (o *laOp) runTriDiagMatMul(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[3]
	r := len(x.Shape)
	bs := x.Shape[:r-2]
	m, k := x.Shape[r-2], x.Shape[r-1]
	for i, d := range in[:3] {
		if len(d.Shape) != r || !d.Shape[:r-2].Equal(bs) || d.Shape[r-2] != 1 || d.Shape[r-1] != m {
			return nil, o.n.InputErrorf("diagonal %d has shape %v, want %v", i, d.Shape, append(bs.Clone(), 1, m))
		}
	}
	batch := arrProd(bs)
	cost := 3 * float64(m) * float64(k)
	if err := o.laBudget(batch, cost); err != nil {
		return nil, err
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	sup, dia, sub, xs := f64sOf(in[0]), f64sOf(in[1]), f64sOf(in[2]), f64sOf(x)
	err := laBatch(ctx, batch, cost, func(b int) error {
		y := make([]float64, m*k)
		xb := xs[b*m*k : (b+1)*m*k]
		for i := range m {
			for c := range k {
				v := dia[b*m+i] * xb[i*k+c]
				if i+1 < m {
					v += sup[b*m+i] * xb[(i+1)*k+c]
				}
				if i > 0 {
					v += sub[b*m+i] * xb[(i-1)*k+c]
				}
				y[i*k+c] = v
			}
		}
		laPut(out, b*m*k, y)
		return nil
	})
	return []*classify.Tensor{out}, err
}

// runBandSolve is BandedTriangularSolve: bands [..., B, M] ("LEFT_RIGHT"
// storage: lower, row d holds the d-th subdiagonal, A[i][i-d] at column i;
// upper, row B-1-t the t-th superdiagonal, A[i][i+t] at column i), rhs
// [..., M, K], batch dimensions broadcast. As TF's kernel, empty inputs are
// errors and only the first matrix's diagonal is checked for zeros (the
// others divide by them).
func (o *laOp) runBandSolve(ctx *Ctx, a, rhs *classify.Tensor) ([]*classify.Tensor, error) {
	if a.Len() == 0 || rhs.Len() == 0 {
		return nil, o.n.InputErrorf("inputs must not be empty tensors: %v and %v", a.Shape, rhs.Shape)
	}
	ra, rr := len(a.Shape), len(rhs.Shape)
	nb, m := a.Shape[ra-2], a.Shape[ra-1]
	ab, rb := a.Shape[:ra-2], rhs.Shape[:rr-2]
	bs, ok := broadcastBatch(ab, rb)
	if !ok {
		return nil, o.n.InputErrorf("batch dimensions of %v and %v do not broadcast", a.Shape, rhs.Shape)
	}
	if rhs.Shape[rr-2] != m {
		return nil, o.n.InputErrorf("bands %v and right-hand side %v: %d vs %d rows", a.Shape, rhs.Shape, m, rhs.Shape[rr-2])
	}
	k := rhs.Shape[rr-1]
	shape := append(bs.Clone(), m, k)
	batch := arrProd(bs)
	cost := float64(nb) * float64(m) * float64(k)
	if err := o.laBudget(batch, cost, shape); err != nil {
		return nil, err
	}
	as, bsrc := f64sOf(a), f64sOf(rhs)
	diag := 0
	if !o.lower {
		diag = nb - 1
	}
	if !laPivotsRow(as[diag*m : (diag+1)*m]) {
		return nil, o.n.InputErrorf("Input matrix is not invertible.")
	}
	out := ctx.Output(0, a.DType, shape...)
	err := laBatch(ctx, batch, cost, func(b int) error {
		ai, ri := batchOffset(b, bs, ab), batchOffset(b, bs, rb)
		band := as[ai*nb*m : (ai+1)*nb*m]
		bv := bsrc[ri*m*k : (ri+1)*m*k]
		x := make([]float64, m*k)
		// at(i, j) is A[i][j] inside the band.
		at := func(i, j int) float64 {
			if o.lower {
				return band[(i-j)*m+i]
			}
			return band[(nb-1-(j-i))*m+i]
		}
		solveRow := func(i, lo, hi int, coef func(j int) float64, d float64) {
			xi := x[i*k : (i+1)*k]
			copy(xi, bv[i*k:(i+1)*k])
			for j := lo; j < hi; j++ {
				c := coef(j)
				xj := x[j*k : (j+1)*k]
				for q := range xi {
					xi[q] -= c * xj[q]
				}
			}
			for q := range xi {
				xi[q] /= d
			}
		}
		switch {
		case o.lower && !o.adjoint: // forward, A lower
			for i := range m {
				solveRow(i, max(0, i-nb+1), i, func(j int) float64 { return at(i, j) }, at(i, i))
			}
		case o.lower && o.adjoint: // backward, Aᵀ upper
			for i := m - 1; i >= 0; i-- {
				solveRow(i, i+1, min(m, i+nb), func(j int) float64 { return at(j, i) }, at(i, i))
			}
		case !o.lower && !o.adjoint: // backward, A upper
			for i := m - 1; i >= 0; i-- {
				solveRow(i, i+1, min(m, i+nb), func(j int) float64 { return at(i, j) }, at(i, i))
			}
		default: // forward, Aᵀ lower
			for i := range m {
				solveRow(i, max(0, i-nb+1), i, func(j int) float64 { return at(j, i) }, at(i, i))
			}
		}
		laPut(out, b*m*k, x)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

// laPivotsRow: the smallest |d_i| (Eigen's minCoeff) is positive.
func laPivotsRow(d []float64) bool {
	if len(d) == 0 {
		return true
	}
	m := math.Abs(d[0])
	for _, v := range d[1:] {
		if a := math.Abs(v); a < m {
			m = a
		}
	}
	return m > 0
}
