package ops

// Structural array ops: ReverseSequence (reverse a per-batch prefix along
// one axis), MatrixBandPart (keep a band of the innermost matrices),
// MatrixDiag and MatrixDiagV2/V3 (build matrices from one diagonal),
// MatrixDiagPartV2/V3 (read one diagonal), and LinSpace. The matrix ops
// take a single diagonal k; ranges of diagonals (k = [lo, hi] with
// lo < hi), which need the align attribute's packing, are refused at run
// time with ErrUnsupportedOp.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("ReverseSequence", buildReverseSequence)
	Register("MatrixBandPart", buildMatrixBandPart)
	for _, op := range []string{"MatrixDiag", "MatrixDiagV2", "MatrixDiagV3", "MatrixDiagPartV2", "MatrixDiagPartV3"} {
		Register(op, buildMatrixDiag)
	}
	Register("LinSpace", buildLinSpace)
}

// matrixKernel runs a generic kernel on the dtypes of the matrix ops.
func matrixKernel(dt classify.DType, f32 func() error, f64 func() error, i32 func() error, i64 func() error, u8 func() error, b func() error) error {
	switch dt {
	case classify.Float32:
		return f32()
	case classify.Float64:
		return f64()
	case classify.Int32:
		return i32()
	case classify.Int64:
		return i64()
	case classify.Uint8:
		return u8()
	case classify.Bool:
		return b()
	}
	return fmt.Errorf("unsupported dtype %v", dt)
}

// ---- ReverseSequence ----

type reverseSeqOp struct {
	n                 *Node
	seqDim, batchAttr int
}

func buildReverseSequence(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (input, seq_lengths), has %d", n.NumInputs)
	}
	if !n.Has("seq_dim") {
		return nil, n.Errorf("has no seq_dim")
	}
	return &reverseSeqOp{n: n, seqDim: int(n.Int("seq_dim", 0)), batchAttr: int(n.Int("batch_dim", 0))}, nil
}

func (o *reverseSeqOp) dims(rank int) (int, int, error) {
	s, ok1 := arrAxis(o.seqDim, rank)
	b, ok2 := arrAxis(o.batchAttr, rank)
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("seq_dim %d or batch_dim %d out of range for rank %d", o.seqDim, o.batchAttr, rank)
	}
	if s == b {
		return 0, 0, fmt.Errorf("seq_dim and batch_dim are both %d", s)
	}
	return s, b, nil
}

func (o *reverseSeqOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if in[0].Shape != nil {
		if _, _, err := o.dims(len(in[0].Shape)); err != nil {
			return nil, o.n.Errorf("input %v: %v", in[0].Shape, err)
		}
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

func (o *reverseSeqOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	sd, bd, err := o.dims(len(x.Shape))
	if err != nil {
		return nil, o.n.InputErrorf("input %v: %v", x.Shape, err)
	}
	lens, err := arrInts(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("seq_lengths: %v", err)
	}
	if len(in[1].Shape) != 1 || len(lens) != x.Shape[bd] {
		return nil, o.n.InputErrorf("seq_lengths %v, want [%d] (input dimension %d)", in[1].Shape, x.Shape[bd], bd)
	}
	for i, l := range lens {
		if l < 0 || l > x.Shape[sd] {
			return nil, o.n.InputErrorf("seq_lengths[%d] = %d is not in [0, %d]", i, l, x.Shape[sd])
		}
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	st := arrStrides(x.Shape)
	g := revGeom{lens: lens, ss: st[sd], sdim: x.Shape[sd], bs: st[bd], bdim: x.Shape[bd]}
	err = matrixKernel(x.DType,
		func() error { return reverseSeqAs[float32](out.Data, x.Data, g) },
		func() error { return reverseSeqAs[float64](out.Data, x.Data, g) },
		func() error { return reverseSeqAs[int32](out.Data, x.Data, g) },
		func() error { return reverseSeqAs[int64](out.Data, x.Data, g) },
		func() error { return reverseSeqAs[uint8](out.Data, x.Data, g) },
		func() error { return reverseSeqAs[bool](out.Data, x.Data, g) })
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

type revGeom struct {
	lens     []int
	ss, sdim int // stride and size of seq_dim
	bs, bdim int // of batch_dim
}

func reverseSeqAs[T any](dstData, srcData any, g revGeom) error {
	dst, ok1 := dstData.([]T)
	src, ok2 := srcData.([]T)
	if !ok1 || !ok2 {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dstData)
	}
	for i := range dst {
		s := (i / g.ss) % g.sdim
		l := g.lens[(i/g.bs)%g.bdim]
		if s < l {
			dst[i] = src[i+(l-1-2*s)*g.ss]
		} else {
			dst[i] = src[i]
		}
	}
	return nil
}

// ---- MatrixBandPart ----

type bandOp struct{ n *Node }

func buildMatrixBandPart(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs (input, num_lower, num_upper), has %d", n.NumInputs)
	}
	return &bandOp{n: n}, nil
}

func (o *bandOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if s := in[0].Shape; s != nil && len(s) < 2 {
		return nil, o.n.Errorf("input %v must have rank at least 2", s)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

func (o *bandOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if len(x.Shape) < 2 {
		return nil, o.n.InputErrorf("input %v must have rank at least 2", x.Shape)
	}
	m, n := x.Shape[len(x.Shape)-2], x.Shape[len(x.Shape)-1]
	lo, err := arrScalarInt(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("num_lower: %v", err)
	}
	hi, err := arrScalarInt(in[2])
	if err != nil {
		return nil, o.n.InputErrorf("num_upper: %v", err)
	}
	if lo > m || hi > n {
		return nil, o.n.InputErrorf("num_lower %d must be negative or at most %d rows, num_upper %d negative or at most %d columns", lo, m, hi, n)
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	keep := func(i, j int) bool { return (lo < 0 || i-j <= lo) && (hi < 0 || j-i <= hi) }
	err = matrixKernel(x.DType,
		func() error { return bandAs[float32](out.Data, x.Data, m, n, keep) },
		func() error { return bandAs[float64](out.Data, x.Data, m, n, keep) },
		func() error { return bandAs[int32](out.Data, x.Data, m, n, keep) },
		func() error { return bandAs[int64](out.Data, x.Data, m, n, keep) },
		func() error { return bandAs[uint8](out.Data, x.Data, m, n, keep) },
		func() error { return bandAs[bool](out.Data, x.Data, m, n, keep) })
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func bandAs[T any](dstData, srcData any, m, n int, keep func(i, j int) bool) error {
	dst, ok1 := dstData.([]T)
	src, ok2 := srcData.([]T)
	if !ok1 || !ok2 {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dstData)
	}
	var zero T
	for k := range dst {
		ij := k % max(m*n, 1)
		if keep(ij/n, ij%n) {
			dst[k] = src[k]
		} else {
			dst[k] = zero
		}
	}
	return nil
}

// ---- MatrixDiag, MatrixDiagV2/V3, MatrixDiagPartV2/V3 ----

type diagOp struct {
	n    *Node
	part bool // MatrixDiagPart*: read the diagonal
	v1   bool // MatrixDiag: main diagonal, square
}

func buildMatrixDiag(n *Node, _ []*classify.Tensor) (Op, error) {
	o := &diagOp{n: n, part: n.Op == "MatrixDiagPartV2" || n.Op == "MatrixDiagPartV3", v1: n.Op == "MatrixDiag"}
	want := 5
	switch {
	case o.v1:
		want = 1
	case o.part:
		want = 3
	}
	if n.NumInputs != want {
		return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
	}
	if a := n.String("align", "RIGHT_LEFT"); a != "RIGHT_LEFT" && a != "LEFT_RIGHT" && a != "LEFT_LEFT" && a != "RIGHT_RIGHT" {
		return nil, n.Errorf("align %q", a)
	}
	return o, nil
}

func (o *diagOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s := in[0].Shape
	if s == nil {
		return []classify.TensorInfo{{DType: in[0].DType}}, nil
	}
	if o.part && len(s) < 2 || len(s) < 1 {
		return nil, o.n.Errorf("input %v has too low a rank", s)
	}
	if o.v1 {
		return []classify.TensorInfo{{DType: in[0].DType, Shape: append(s.Clone(), s[len(s)-1])}}, nil
	}
	if o.part {
		return []classify.TensorInfo{{DType: in[0].DType, Shape: append(s[:len(s)-2].Clone(), -1)}}, nil
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: append(s[:len(s)-1].Clone(), -1, -1)}}, nil
}

// diagK reads k: one diagonal, as a scalar or a vector of one or two
// equal values.
func (o *diagOp) diagK(t *classify.Tensor) (int, error) {
	k, err := arrInts(t)
	if err != nil {
		return 0, o.n.InputErrorf("k: %v", err)
	}
	if len(t.Shape) > 1 || len(k) < 1 || len(k) > 2 {
		return 0, o.n.InputErrorf("k must be a scalar or a vector of 1 or 2, got shape %v", t.Shape)
	}
	if len(k) == 2 && k[0] != k[1] {
		if k[0] > k[1] {
			return 0, o.n.InputErrorf("k [%d %d]: the lower diagonal exceeds the upper", k[0], k[1])
		}
		return 0, fmt.Errorf("node %q (%s): %w: a range of diagonals k = [%d %d] (only one diagonal)", o.n.Name, o.n.Op, classify.ErrUnsupportedOp, k[0], k[1])
	}
	return k[0], nil
}

func (o *diagOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	k := 0
	if !o.v1 {
		var err error
		if k, err = o.diagK(in[1]); err != nil {
			return nil, err
		}
	}
	if o.part {
		return o.runPart(ctx, x, k, in[2])
	}
	if len(x.Shape) < 1 {
		return nil, o.n.InputErrorf("diagonal must have rank at least 1")
	}
	l := x.Shape[len(x.Shape)-1]
	minRows, minCols := l+max(-k, 0), l+max(k, 0)
	rows, cols := minRows, minCols
	var pad *classify.Tensor
	if !o.v1 {
		r, err := arrScalarInt(in[2])
		if err != nil {
			return nil, o.n.InputErrorf("num_rows: %v", err)
		}
		c, err := arrScalarInt(in[3])
		if err != nil {
			return nil, o.n.InputErrorf("num_cols: %v", err)
		}
		switch {
		case r == -1 && c == -1:
			rows = max(minRows, minCols)
			cols = rows
		case r == -1:
			cols = c
		case c == -1:
			rows = r
		default:
			rows, cols = r, c
		}
		if rows < 0 || cols < 0 || rows != minRows && cols != minCols {
			return nil, o.n.InputErrorf("num_rows %d, num_cols %d do not fit diagonal %d of length %d", r, c, k, l)
		}
		if min(rows+min(k, 0), cols-max(k, 0)) != l {
			return nil, o.n.InputErrorf("a %dx%d matrix's diagonal %d does not have %d elements", rows, cols, k, l)
		}
		pad = in[4]
		if pad.DType != x.DType || pad.Len() != 1 {
			return nil, o.n.InputErrorf("padding_value must be a %v scalar, got %v %v", x.DType, pad.DType, pad.Shape)
		}
	}
	shape := append(x.Shape[:len(x.Shape)-1].Clone(), rows, cols)
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, x.DType, shape...)
	g := diagGeom{k: k, rows: rows, cols: cols, l: l}
	err := matrixKernel(x.DType,
		func() error { return diagAs[float32](out.Data, x.Data, pad, g) },
		func() error { return diagAs[float64](out.Data, x.Data, pad, g) },
		func() error { return diagAs[int32](out.Data, x.Data, pad, g) },
		func() error { return diagAs[int64](out.Data, x.Data, pad, g) },
		func() error { return diagAs[uint8](out.Data, x.Data, pad, g) },
		func() error { return diagAs[bool](out.Data, x.Data, pad, g) })
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

type diagGeom struct{ k, rows, cols, l int }

func diagAs[T any](dstData, srcData any, pad *classify.Tensor, g diagGeom) error {
	dst, ok1 := dstData.([]T)
	src, ok2 := srcData.([]T)
	if !ok1 || !ok2 {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dstData)
	}
	var fill T
	if pad != nil {
		p, ok := pad.Data.([]T)
		if !ok {
			return fmt.Errorf("padding_value dtype mismatch")
		}
		fill = p[0]
	}
	mat := g.rows * g.cols
	for b := 0; b*mat < len(dst); b++ {
		m := dst[b*mat : (b+1)*mat]
		for i := range m {
			m[i] = fill
		}
		for e := range g.l {
			i, j := e+max(-g.k, 0), e+max(g.k, 0)
			m[i*g.cols+j] = src[b*g.l+e]
		}
	}
	return nil
}

func (o *diagOp) runPart(ctx *Ctx, x *classify.Tensor, k int, pad *classify.Tensor) ([]*classify.Tensor, error) {
	if len(x.Shape) < 2 {
		return nil, o.n.InputErrorf("input %v must have rank at least 2", x.Shape)
	}
	rows, cols := x.Shape[len(x.Shape)-2], x.Shape[len(x.Shape)-1]
	if (k <= -rows || k >= cols) && rows*cols > 0 {
		return nil, o.n.InputErrorf("diagonal %d is outside a %dx%d matrix", k, rows, cols)
	}
	if pad.DType != x.DType || pad.Len() != 1 {
		return nil, o.n.InputErrorf("padding_value must be a %v scalar, got %v %v", x.DType, pad.DType, pad.Shape)
	}
	l := max(min(rows+min(k, 0), cols-max(k, 0)), 0)
	out := ctx.Output(0, x.DType, append(x.Shape[:len(x.Shape)-2].Clone(), l)...)
	g := diagGeom{k: k, rows: rows, cols: cols, l: l}
	err := matrixKernel(x.DType,
		func() error { return diagPartAs[float32](out.Data, x.Data, g) },
		func() error { return diagPartAs[float64](out.Data, x.Data, g) },
		func() error { return diagPartAs[int32](out.Data, x.Data, g) },
		func() error { return diagPartAs[int64](out.Data, x.Data, g) },
		func() error { return diagPartAs[uint8](out.Data, x.Data, g) },
		func() error { return diagPartAs[bool](out.Data, x.Data, g) })
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func diagPartAs[T any](dstData, srcData any, g diagGeom) error {
	dst, ok1 := dstData.([]T)
	src, ok2 := srcData.([]T)
	if !ok1 || !ok2 {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dstData)
	}
	if g.l == 0 {
		return nil
	}
	mat := g.rows * g.cols
	for b := 0; b*g.l < len(dst); b++ {
		for e := range g.l {
			i, j := e+max(-g.k, 0), e+max(g.k, 0)
			dst[b*g.l+e] = src[b*mat+i*g.cols+j]
		}
	}
	return nil
}

// ---- LinSpace ----

type linSpaceOp struct {
	n   *Node
	num int // constant num, or -1
}

func buildLinSpace(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs (start, stop, num), has %d", n.NumInputs)
	}
	o := &linSpaceOp{n: n, num: -1}
	if c := consts[2]; c != nil {
		v, err := arrScalarInt(c)
		if err != nil {
			return nil, n.Errorf("num: %v", err)
		}
		if v <= 0 || arrCheckDims([]int{v}) != nil {
			return nil, n.Errorf("num %d must be positive and not huge", v)
		}
		o.num = v
	}
	return o, nil
}

func (o *linSpaceOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: in[0].DType, Shape: classify.Shape{o.num}}}, nil
}

func (o *linSpaceOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	start, stop := in[0], in[1]
	num := o.num
	if num < 0 {
		var err error
		if num, err = arrScalarInt(in[2]); err != nil {
			return nil, o.n.InputErrorf("num: %v", err)
		}
		if num <= 0 {
			return nil, o.n.InputErrorf("num %d must be positive", num)
		}
		if err := arrCheckDims([]int{num}); err != nil {
			return nil, o.n.InputErrorf("num: %v", err)
		}
	}
	if start.Len() != 1 || stop.Len() != 1 || len(start.Shape) > 0 || len(stop.Shape) > 0 || start.DType != stop.DType {
		return nil, o.n.InputErrorf("start and stop must be scalars of one dtype, got %v %v and %v %v", start.DType, start.Shape, stop.DType, stop.Shape)
	}
	out := ctx.Output(0, start.DType, num)
	switch d := out.Data.(type) {
	case []float32:
		linSpace(d, start.Float32s()[0], stop.Float32s()[0])
	case []float64:
		linSpace(d, start.Data.([]float64)[0], stop.Data.([]float64)[0])
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v (float32 or float64)", start.DType)
	}
	return []*classify.Tensor{out}, nil
}

// linSpace is TensorFlow's LinSpaceOp: start + i*step, and stop exactly
// at the end.
func linSpace[T float32 | float64](d []T, start, stop T) {
	if len(d) == 1 {
		d[0] = start
		return
	}
	step := (stop - start) / T(len(d)-1)
	for i := range d[:len(d)-1] {
		d[i] = start + step*T(i)
	}
	d[len(d)-1] = stop
}
