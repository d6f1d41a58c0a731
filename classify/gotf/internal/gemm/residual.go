package gemm

import (
	"fmt"
	"math"
)

// GemmResidual computes C = act(A·B + bias + R) for the M×N matrix C with
// row stride ldc, where R (same layout as C) is a residual added in the
// write-back: each block of rows gets R added and act applied while it is
// still in cache, instead of two more passes over the whole output. ep
// must carry the bias only (ActNone); act carries the activation (nil for
// none). R may not alias C.
func GemmResidual(threads int, a *A, b *PackedB, c []float32, ldc int, ep *Epilogue, r []float32, act *Epilogue) error {
	if ep != nil && ep.act != ActNone {
		return fmt.Errorf("gemm: residual GEMM wants a linear epilogue, got activation %d", ep.act)
	}
	if m := a.M; m > 0 && b.N > 0 && len(r) < (m-1)*ldc+b.N {
		return fmt.Errorf("gemm: residual is %d elements, too small for %dx%d with stride %d", len(r), m, b.N, ldc)
	}
	return gemm(threads, a, b, c, ldc, ep, &residual{r: r, act: act})
}

// residual is the tail a GemmResidual applies to each computed block.
type residual struct {
	r   []float32
	act *Epilogue // nil: none
}

// apply adds rows m0..m1, columns c0..c1 of the residual to c (whose row 0
// is row m0 of C) and applies the activation.
func (rs *residual) apply(c []float32, ldc, m0, m1, c0, c1 int) {
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if rs.act != nil {
		lo, hi = rs.act.lo, rs.act.hi
	}
	for i := m0; i < m1; i++ {
		row := c[(i-m0)*ldc+c0 : (i-m0)*ldc+c1]
		addClamp(row, rs.r[i*ldc+c0:i*ldc+c1], lo, hi)
		if rs.act != nil {
			rs.act.post(row)
		}
	}
}

// addClampGo is the portable addClamp.
func addClampGo(dst, src []float32, lo, hi float32) {
	src = src[:len(dst)]
	for j, v := range dst {
		dst[j] = min(max(v+src[j], lo), hi)
	}
}

// Activation returns the activation e applies and LeakyRelu's slope.
func (e *Epilogue) Activation() (Act, float32) { return e.act, e.alpha }
