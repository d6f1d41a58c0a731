package ops

// CholeskyGrad(l, grad): the gradient of Cholesky with respect to its
// symmetric input, from the factor L = cholesky(A) and grad = df/dL,
// reading only the lower triangles of both (as TensorFlow's op says). It
// computes what TensorFlow's Cholesky gradient does (Murray, "Differentiation
// of the Cholesky algorithm", arXiv:1602.07527):
//
//	P = Φ(Lᵀ·tril(grad)),  M = L⁻ᵀ P L⁻¹,  dA = (M + Mᵀ)/2
//
// where Φ keeps the lower triangle and halves the diagonal; L⁻¹ is applied
// by two triangular solves in float64. A zero on L's diagonal gives
// infinities or NaN, as the division does in TensorFlow. The work, O(M³)
// per matrix, is bounded as the other linear-algebra kernels' is.

import (
	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("CholeskyGrad", buildCholeskyGrad)
	promote("CholeskyGrad", "T", nil, halfDTypes...)
}

type choleskyGradOp struct {
	la laOp // the linear-algebra kernels' input checks and work bound
}

func buildCholeskyGrad(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (l, grad), has %d", n.NumInputs)
	}
	o := &choleskyGradOp{la: laOp{n: n, dt: n.Type("T")}}
	if dt := o.la.dt; dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
	}
	return o, nil
}

// OutputInfo implements Shaper.
func (o *choleskyGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s := in[0].Shape
	if s == nil {
		s = in[1].Shape
	}
	if s != nil && len(s) < 2 {
		return nil, o.la.n.Errorf("l has shape %v, want rank >= 2", s)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: s.Clone()}}, nil
}

// Run implements Op.
func (o *choleskyGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.la.n
	for i, x := range in {
		if err := o.la.laInput(x, i); err != nil {
			return nil, err
		}
	}
	l, g := in[0], in[1]
	if l.DType != g.DType || !l.Shape.Equal(g.Shape) {
		return nil, n.InputErrorf("l %v %v and grad %v %v must have one dtype and shape", l.DType, l.Shape, g.DType, g.Shape)
	}
	bs, batch, m, err := o.la.square(l, "l")
	if err != nil {
		return nil, err
	}
	fm := float64(m)
	if err := o.la.laBudget(batch, 2*fm*fm*fm); err != nil {
		return nil, err
	}
	out := ctx.Output(0, l.DType, append(append([]int{}, bs...), m, m)...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	lv, gv := f64sOf(l), f64sOf(g)
	mm := m * m
	err = laBatch(ctx, batch, 3*fm*fm*fm, func(b int) error {
		laPut(out, b*mm, choleskyGrad(lv[b*mm:][:mm], gv[b*mm:][:mm], m))
		return nil
	})
	return []*classify.Tensor{out}, err
}

// choleskyGrad is dA for one matrix (row-major m x m).
func choleskyGrad(l, g []float64, m int) []float64 {
	// P = Φ(Lᵀ tril(G)): P[i][j] = Σ_{k >= max(i, j)} L[k][i] G[k][j], i >= j.
	p := make([]float64, m*m)
	for i := range m {
		for j := 0; j <= i; j++ {
			s := 0.0
			for k := i; k < m; k++ {
				s += l[k*m+i] * g[k*m+j]
			}
			if i == j {
				s /= 2
			}
			p[i*m+j] = s
		}
	}
	// Y = P L⁻¹: row by row, y L = p, i.e. Lᵀ yᵀ = pᵀ, back substitution
	// over the columns from the last.
	for r := range m {
		y := p[r*m:][:m]
		for j := m - 1; j >= 0; j-- {
			s := y[j]
			for k := j + 1; k < m; k++ {
				s -= y[k] * l[k*m+j]
			}
			y[j] = s / l[j*m+j]
		}
	}
	// M = L⁻ᵀ Y: Lᵀ M = Y, back substitution over the rows from the last.
	for c := range m {
		for i := m - 1; i >= 0; i-- {
			s := p[i*m+c]
			for k := i + 1; k < m; k++ {
				s -= l[k*m+i] * p[k*m+c]
			}
			p[i*m+c] = s / l[i*m+i]
		}
	}
	out := make([]float64, m*m)
	for i := range m {
		for j := range m {
			out[i*m+j] = (p[i*m+j] + p[j*m+i]) / 2
		}
	}
	return out
}
