package ops

// Matrix products: MatMul, grappler's _FusedMatMul (with BiasAdd and an
// activation) and BatchMatMul/BatchMatMulV2 (batch dimensions broadcast
// NumPy-style). All run on the packed GEMM; a constant right operand is
// packed once at load.

import (
	"fmt"
	"sync"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

func init() {
	Register("MatMul", func(n *Node, c []*classify.Tensor) (Op, error) { return buildMatMul(n, c, false) })
	Register("_FusedMatMul", func(n *Node, c []*classify.Tensor) (Op, error) { return buildMatMul(n, c, true) })
	Register("BatchMatMul", buildBatchMatMul)
	Register("BatchMatMulV2", buildBatchMatMul)
}

type matMul struct {
	node   *Node
	ta, tb bool
	fused  bool
	act    gemm.Act
	alpha  float32
	packed *gemm.PackedB // constant b, or nil
	bshape classify.Shape
	ep     *gemm.Epilogue // constant bias, or nil
	runs   sync.Pool      // *mmRun
}

// mmRun is one run's scratch.
type mmRun struct {
	a  gemm.A
	tr transposed
	pb gemm.PackedB
	ep gemm.Epilogue
}

// transposed serves the rows of Aᵀ for an A stored as K×M with stride ld.
type transposed struct {
	a     []float32
	k, ld int
}

func (t *transposed) Rows(m0, m1 int, dst []float32) {
	for m := m0; m < m1; m++ {
		row := dst[(m-m0)*t.k : (m-m0+1)*t.k]
		for p := range row {
			row[p] = t.a[p*t.ld+m]
		}
	}
}

func buildMatMul(n *Node, consts []*classify.Tensor, fused bool) (Op, error) {
	want := 2
	if fused {
		want = 3
	}
	if len(consts) != want {
		return nil, n.Errorf("%d inputs, want %d", len(consts), want)
	}
	switch dt := n.Type("T"); {
	case !fused && genericMatMulType(dt):
		return &matMulT{node: n, dt: dt, ta: n.Bool("transpose_a", false), tb: n.Bool("transpose_b", false)}, nil
	case dt != classify.Invalid && dt != classify.Float32:
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	op := &matMul{node: n, ta: n.Bool("transpose_a", false), tb: n.Bool("transpose_b", false), fused: fused}
	op.runs.New = func() any { return new(mmRun) }
	var err error
	if fused {
		if op.act, op.alpha, err = fusedAttrs(n); err != nil {
			return nil, err
		}
	}
	if b := consts[1]; b != nil {
		if b.DType != classify.Float32 || len(b.Shape) != 2 {
			return nil, n.Errorf("b is %v %v, want float32 rank 2", b.DType, b.Shape)
		}
		op.bshape = b.Shape.Clone()
		k, nn := b.Shape[0], b.Shape[1]
		if op.tb {
			k, nn = nn, k
		}
		op.packed = gemm.PackBWith(gemm.Choose(gemmKernel, nn), b.Float32s(), k, nn, b.Shape[1], op.tb)
		if !fused {
			op.ep = gemm.NewEpilogue(nil, nn, gemm.ActNone, 0)
		} else if bc := consts[2]; bc != nil {
			bias, err := checkBias(n, bc, nn)
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			op.ep = gemm.NewEpilogue(bias, nn, op.act, op.alpha)
		}
	}
	return op, nil
}

func check2D(n *Node, t *classify.Tensor, what string) ([]float32, error) {
	if t == nil || t.DType != classify.Float32 || len(t.Shape) != 2 || len(t.Float32s()) != t.Shape.NumElements() {
		var s classify.Shape
		if t != nil {
			s = t.Shape
		}
		return nil, n.InputErrorf("%s has shape %v, want a float32 matrix", what, s)
	}
	return t.Float32s(), nil
}

func (op *matMul) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := op.node
	a, err := check2D(n, in[0], "a")
	if err != nil {
		return nil, err
	}
	m, k := in[0].Shape[0], in[0].Shape[1]
	if op.ta {
		m, k = k, m
	}
	r := op.runs.Get().(*mmRun)
	defer op.runs.Put(r)
	pb := op.packed
	if pb == nil {
		b, err := check2D(n, in[1], "b")
		if err != nil {
			return nil, err
		}
		bk, bn := in[1].Shape[0], in[1].Shape[1]
		if op.tb {
			bk, bn = bn, bk
		}
		if bk != k {
			return nil, n.InputErrorf("a %v and b %v do not multiply", in[0].Shape, in[1].Shape)
		}
		r.pb.Repack(gemm.Choose(gemmKernel, bn), b, bk, bn, in[1].Shape[1], op.tb)
		pb = &r.pb
	}
	if pb.K != k {
		return nil, n.InputErrorf("a %v and b %v do not multiply", in[0].Shape, op.bshape)
	}
	nn := pb.N
	ep := op.ep
	if ep == nil {
		var bias []float32
		if op.fused {
			if bias, err = checkBias(n, in[2], nn); err != nil {
				return nil, err
			}
		}
		r.ep.Reset(bias, nn, op.act, op.alpha)
		ep = &r.ep
	}
	out := ctx.Output(0, classify.Float32, m, nn)
	if err := op.mul(ctx.Workers(), r, a, m, k, pb, out.Float32s(), ep); err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

// mul computes one m×k by packed k×n product into c.
func (op *matMul) mul(threads int, r *mmRun, a []float32, m, k int, pb *gemm.PackedB, c []float32, ep *gemm.Epilogue) error {
	if m == 0 || pb.N == 0 {
		return nil
	}
	r.a = gemm.A{M: m, Data: a, Stride: k}
	if op.ta {
		r.tr = transposed{a: a, k: k, ld: m}
		r.a = gemm.A{M: m, Src: &r.tr}
	}
	err := gemm.Gemm(threads, &r.a, pb, c, pb.N, ep)
	r.a, r.tr = gemm.A{}, transposed{}
	if err != nil {
		return fmt.Errorf("node %q (%s): %w", op.node.Name, op.node.Op, err)
	}
	return nil
}

func (op *matMul) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	out := classify.Shape{-1, -1}
	a := in[0].Shape
	b := op.bshape
	if b == nil && len(in) > 1 {
		b = in[1].Shape
	}
	if a != nil && len(a) != 2 || b != nil && len(b) != 2 {
		return nil, op.node.Errorf("operands %v and %v are not matrices", a, b)
	}
	var ka, kb = -1, -1
	if a != nil {
		out[0], ka = a[0], a[1]
		if op.ta {
			out[0], ka = a[1], a[0]
		}
	}
	if b != nil {
		kb, out[1] = b[0], b[1]
		if op.tb {
			kb, out[1] = b[1], b[0]
		}
	}
	if ka >= 0 && kb >= 0 && ka != kb {
		return nil, op.node.Errorf("operands %v and %v do not multiply", a, b)
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: out}}, nil
}

func (op *matMul) FLOPs(in []classify.Shape) int64 {
	if len(in) == 0 || len(in[0]) != 2 {
		return 0
	}
	info, err := op.OutputInfo([]classify.TensorInfo{{Shape: in[0]}, {Shape: func() classify.Shape {
		if len(in) > 1 {
			return in[1]
		}
		return nil
	}()}})
	if err != nil {
		return 0
	}
	o := info[0].Shape
	k := in[0][1]
	if op.ta {
		k = in[0][0]
	}
	if o[0] < 0 || o[1] < 0 || k < 0 {
		return 0
	}
	f := 2 * int64(o[0]) * int64(o[1]) * int64(k)
	if op.fused {
		f += int64(o[0]) * int64(o[1])
	}
	return f
}

// batchMatMul is BatchMatMul/BatchMatMulV2: x [..., M, K] times
// y [..., K, N] (adj_x/adj_y transpose the last two dimensions; inputs are
// real so adjoint is transpose), batch dimensions broadcast.
type batchMatMul struct {
	node       *Node
	adjX, adjY bool
	runs       sync.Pool // *mmRun
}

func buildBatchMatMul(n *Node, consts []*classify.Tensor) (Op, error) {
	if len(consts) != 2 {
		return nil, n.Errorf("%d inputs, want 2", len(consts))
	}
	switch dt := n.Type("T"); {
	case genericMatMulType(dt):
		return &matMulT{node: n, dt: dt, ta: n.Bool("adj_x", false), tb: n.Bool("adj_y", false), batch: true}, nil
	case dt != classify.Invalid && dt != classify.Float32:
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	op := &batchMatMul{node: n, adjX: n.Bool("adj_x", false), adjY: n.Bool("adj_y", false)}
	op.runs.New = func() any { return new(mmRun) }
	return op, nil
}

// broadcastBatch returns the broadcast of two batch shapes.
func broadcastBatch(a, b classify.Shape) (classify.Shape, bool) {
	r := max(len(a), len(b))
	out := make(classify.Shape, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		case da < 0 || db < 0:
			out[i] = -1
		default:
			return nil, false
		}
	}
	return out, true
}

// batchOffset maps flat index i of the broadcast batch shape out to the
// flat batch index of an operand with batch shape s.
func batchOffset(i int, out, s classify.Shape) int {
	off, stride := 0, 1
	for d := len(out) - 1; d >= 0; d-- {
		idx := i % out[d]
		i /= out[d]
		if j := d - (len(out) - len(s)); j >= 0 {
			if s[j] != 1 {
				off += idx * stride
			}
			stride *= s[j]
		}
	}
	return off
}

func (op *batchMatMul) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := op.node
	x, y := in[0], in[1]
	for i, t := range []*classify.Tensor{x, y} {
		if t == nil || t.DType != classify.Float32 || len(t.Shape) < 2 || len(t.Float32s()) != t.Shape.NumElements() {
			return nil, n.InputErrorf("operand %d must be a float32 tensor of rank >= 2", i)
		}
	}
	xs, ys := x.Shape, y.Shape
	m, k := xs[len(xs)-2], xs[len(xs)-1]
	if op.adjX {
		m, k = k, m
	}
	ky, nn := ys[len(ys)-2], ys[len(ys)-1]
	if op.adjY {
		ky, nn = nn, ky
	}
	if k != ky {
		return nil, n.InputErrorf("operands %v and %v do not multiply", xs, ys)
	}
	xb, yb := xs[:len(xs)-2], ys[:len(ys)-2]
	batch, ok := broadcastBatch(xb, yb)
	if !ok {
		return nil, n.InputErrorf("batch dimensions of %v and %v do not broadcast", xs, ys)
	}
	shape := append(batch.Clone(), m, nn)
	out := ctx.Output(0, classify.Float32, shape...)
	c := out.Float32s()
	r := op.runs.Get().(*mmRun)
	defer op.runs.Put(r)
	r.ep.Reset(nil, nn, gemm.ActNone, 0)
	mm := matMul{node: n, ta: op.adjX}
	xd, yd := x.Float32s(), y.Float32s()
	lastY := -1
	for i := 0; i < batch.NumElements(); i++ {
		xi, yi := batchOffset(i, batch, xb), batchOffset(i, batch, yb)
		if yi != lastY {
			r.pb.Repack(gemm.Choose(gemmKernel, nn), yd[yi*k*nn:(yi+1)*k*nn], k, nn, ys[len(ys)-1], op.adjY)
			lastY = yi
		}
		if err := mm.mul(ctx.Workers(), r, xd[xi*m*k:(xi+1)*m*k], m, k, &r.pb, c[i*m*nn:(i+1)*m*nn], &r.ep); err != nil {
			return nil, err
		}
	}
	return []*classify.Tensor{out}, nil
}

func (op *batchMatMul) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	xs, ys := in[0].Shape, in[1].Shape
	if xs == nil || ys == nil {
		return []classify.TensorInfo{{DType: classify.Float32}}, nil
	}
	if len(xs) < 2 || len(ys) < 2 {
		return nil, op.node.Errorf("operands %v and %v must have rank >= 2", xs, ys)
	}
	batch, ok := broadcastBatch(xs[:len(xs)-2], ys[:len(ys)-2])
	if !ok {
		return nil, op.node.Errorf("batch dimensions of %v and %v do not broadcast", xs, ys)
	}
	m, k := xs[len(xs)-2], xs[len(xs)-1]
	if op.adjX {
		m, k = k, m
	}
	ky, nn := ys[len(ys)-2], ys[len(ys)-1]
	if op.adjY {
		ky, nn = nn, ky
	}
	if k >= 0 && ky >= 0 && k != ky {
		return nil, op.node.Errorf("operands %v and %v do not multiply", xs, ys)
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: append(batch, m, nn)}}, nil
}

func (op *batchMatMul) FLOPs(in []classify.Shape) int64 {
	if len(in) < 2 {
		return 0
	}
	info, err := op.OutputInfo([]classify.TensorInfo{{Shape: in[0]}, {Shape: in[1]}})
	if err != nil || info[0].Shape == nil {
		return 0
	}
	k := in[0][len(in[0])-1]
	if op.adjX {
		k = in[0][len(in[0])-2]
	}
	for _, d := range info[0].Shape {
		if d < 0 {
			return 0
		}
	}
	return 2 * int64(info[0].Shape.NumElements()) * int64(k)
}
