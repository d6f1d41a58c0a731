package ops

// MatMul and BatchMatMul(V2) for the dtypes other than float32 that
// TensorFlow's CPU kernels take (float64, int32, int64, complex64,
// complex128): a plain triple
// loop in i-p-j order, with no packing. Graphs use these for index
// arithmetic and small float64 heads, not for their bulk compute, which
// stays on the float32 GEMM of matmul.go. Integer products wrap on
// overflow, as TensorFlow's Eigen kernels do. For complex operands,
// BatchMatMul's adj_x/adj_y are adjoints (conjugate transposes), MatMul's
// transpose_a/transpose_b plain transposes, as in TensorFlow.

import (
	"github.com/classifyd/classifyd/classify"
)

// matMulT is a compiled MatMul (batch false) or BatchMatMul of dtype dt.
type matMulT struct {
	node   *Node
	dt     classify.DType
	ta, tb bool
	batch  bool
}

// genericMatMulType reports whether dt is served by matMulT.
func genericMatMulType(dt classify.DType) bool {
	switch dt {
	case classify.Float64, classify.Int32, classify.Int64, classify.Complex64, classify.Complex128:
		return true
	}
	return false
}

// matDims returns the rows and columns of the (possibly transposed) last
// two dimensions.
func matDims(s classify.Shape, t bool) (r, c int) {
	r, c = s[len(s)-2], s[len(s)-1]
	if t {
		r, c = c, r
	}
	return r, c
}

// OutputInfo implements Shaper.
func (o *matMulT) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, o.node.Errorf("want 2 inputs, have %d", len(in))
	}
	for i, t := range in {
		if t.DType != classify.Invalid && t.DType != o.dt {
			return nil, o.node.Errorf("input %d has dtype %v, T is %v", i, t.DType, o.dt)
		}
	}
	a, b := in[0].Shape, in[1].Shape
	if a == nil || b == nil {
		if !o.batch {
			return []classify.TensorInfo{{DType: o.dt, Shape: classify.Shape{-1, -1}}}, nil
		}
		return []classify.TensorInfo{{DType: o.dt}}, nil
	}
	if !o.batch && (len(a) != 2 || len(b) != 2) || len(a) < 2 || len(b) < 2 {
		return nil, o.node.Errorf("operands %v and %v are not matrices", a, b)
	}
	m, k := matDims(a, o.ta)
	kb, n := matDims(b, o.tb)
	if k >= 0 && kb >= 0 && k != kb {
		return nil, o.node.Errorf("operands %v and %v do not multiply", a, b)
	}
	batch, ok := broadcastBatch(a[:len(a)-2], b[:len(b)-2])
	if !ok {
		return nil, o.node.Errorf("batch dimensions of %v and %v do not broadcast", a, b)
	}
	return []classify.TensorInfo{{DType: o.dt, Shape: append(batch, m, n)}}, nil
}

// Run implements Op.
func (o *matMulT) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 {
		return nil, o.node.InputErrorf("want 2 inputs, have %d", len(in))
	}
	x, y := in[0], in[1]
	for i, t := range in {
		if t.DType != o.dt {
			return nil, o.node.InputErrorf("input %d has dtype %v, T is %v", i, t.DType, o.dt)
		}
	}
	if !o.batch && (len(x.Shape) != 2 || len(y.Shape) != 2) || len(x.Shape) < 2 || len(y.Shape) < 2 {
		return nil, o.node.InputErrorf("operands %v and %v are not matrices", x.Shape, y.Shape)
	}
	m, k := matDims(x.Shape, o.ta)
	kb, n := matDims(y.Shape, o.tb)
	if k != kb {
		return nil, o.node.InputErrorf("operands %v and %v do not multiply", x.Shape, y.Shape)
	}
	xb, yb := x.Shape[:len(x.Shape)-2], y.Shape[:len(y.Shape)-2]
	batch, ok := broadcastBatch(xb, yb)
	if !ok {
		return nil, o.node.InputErrorf("batch dimensions of %v and %v do not broadcast", x.Shape, y.Shape)
	}
	oshape := append(batch.Clone(), m, n)
	if err := arrCheckDims(oshape); err != nil {
		return nil, o.node.InputErrorf("%v", err)
	}
	if o.batch {
		// Adjoints of complex operands: conjugate copies, transposed below.
		if o.ta {
			x = conjTensor(x)
		}
		if o.tb {
			y = conjTensor(y)
		}
	}
	out := ctx.Output(0, o.dt, oshape...)
	g := mmGeom{m: m, k: k, n: n, ta: o.ta, tb: o.tb}
	for i := 0; i < batch.NumElements(); i++ {
		xi, yi := batchOffset(i, batch, xb), batchOffset(i, batch, yb)
		switch d := out.Data.(type) {
		case []float64:
			mmNaive(g, d[i*m*n:(i+1)*m*n], x.Data.([]float64)[xi*m*k:], y.Data.([]float64)[yi*k*n:])
		case []int32:
			mmNaive(g, d[i*m*n:(i+1)*m*n], x.Int32s()[xi*m*k:], y.Int32s()[yi*k*n:])
		case []int64:
			mmNaive(g, d[i*m*n:(i+1)*m*n], x.Int64s()[xi*m*k:], y.Int64s()[yi*k*n:])
		case []complex64:
			mmNaive(g, d[i*m*n:(i+1)*m*n], x.Data.([]complex64)[xi*m*k:], y.Data.([]complex64)[yi*k*n:])
		case []complex128:
			mmNaive(g, d[i*m*n:(i+1)*m*n], x.Data.([]complex128)[xi*m*k:], y.Data.([]complex128)[yi*k*n:])
		}
	}
	return []*classify.Tensor{out}, nil
}

type mmGeom struct {
	m, k, n int
	ta, tb  bool
}

// mmNaive computes c (m×n) = op(a) op(b), where a is stored m×k (k×m when
// transposed) and b k×n (n×k).
func mmNaive[T ~float64 | ~int32 | ~int64 | ~complex64 | ~complex128](g mmGeom, c, a, b []T) {
	for i := range c {
		c[i] = 0
	}
	for i := 0; i < g.m; i++ {
		row := c[i*g.n : (i+1)*g.n]
		for p := 0; p < g.k; p++ {
			av := a[i*g.k+p]
			if g.ta {
				av = a[p*g.m+i]
			}
			if g.tb {
				for j := range row {
					row[j] += av * b[j*g.k+p]
				}
				continue
			}
			brow := b[p*g.n : (p+1)*g.n]
			for j := range row {
				row[j] += av * brow[j]
			}
		}
	}
}

// conjTensor is x conjugated (a copy) when complex, else x itself.
func conjTensor(x *classify.Tensor) *classify.Tensor {
	switch d := x.Data.(type) {
	case []complex64:
		c := make([]complex64, len(d))
		for i, v := range d {
			c[i] = complex(real(v), -imag(v))
		}
		return &classify.Tensor{DType: x.DType, Shape: x.Shape, Data: c}
	case []complex128:
		c := make([]complex128, len(d))
		for i, v := range d {
			c[i] = complex(real(v), -imag(v))
		}
		return &classify.Tensor{DType: x.DType, Shape: x.Shape, Data: c}
	}
	return x
}
