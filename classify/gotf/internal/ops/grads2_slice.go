package ops

// Gradients of the array slicing and padding ops, after TensorFlow's CPU
// kernels (strided_slice_op.cc, mirror_pad_op.cc):
//
//   - StridedSliceGrad(shape, begin, end, strides, dy) with StridedSlice's
//     five masks: a tensor of the forward input's shape (the shape input,
//     client-controlled and bounded before anything is allocated), zero
//     except the region StridedSlice read, which takes dy. The region is
//     resolved by StridedSlice's own plan (slice.go), so both ops agree on
//     every mask combination; dy must have the forward output's shape.
//   - MirrorPadGrad(input, paddings) with mode REFLECT or SYMMETRIC: the
//     gradient of MirrorPad, of the unpadded shape: each element of the
//     padded gradient adds into the element MirrorPad copied it from. As
//     TensorFlow, paddings must be non-negative and at most the output
//     dimension (SYMMETRIC) or below it (REFLECT).
//   - TileGrad(input, multiples) (below).

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("StridedSliceGrad", buildStridedSliceGrad)
	allowDTypes("StridedSliceGrad", allNewDTypes...)
	Register("MirrorPadGrad", buildMirrorPadGrad)
	promote("MirrorPadGrad", "T", nil, halfDTypes...)
	Register("TileGrad", buildTileGrad)
	promote("TileGrad", "T", nil, halfDTypes...)
}

// ---- StridedSliceGrad ----

type stridedSliceGradOp struct {
	ss    stridedSliceOp // masks and constant begin/end/strides
	shape []int          // constant shape input, or nil
}

func buildStridedSliceGrad(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 5 {
		return nil, n.Errorf("needs 5 inputs (shape, begin, end, strides, dy), has %d", n.NumInputs)
	}
	o := &stridedSliceGradOp{ss: stridedSliceOp{
		n:            n,
		beginMask:    n.Int("begin_mask", 0),
		endMask:      n.Int("end_mask", 0),
		ellipsisMask: n.Int("ellipsis_mask", 0),
		newAxisMask:  n.Int("new_axis_mask", 0),
		shrinkMask:   n.Int("shrink_axis_mask", 0),
	}}
	if o.ss.ellipsisMask&(o.ss.ellipsisMask-1) != 0 {
		return nil, n.Errorf("ellipsis_mask %#b has more than one bit set", o.ss.ellipsisMask)
	}
	var err error
	for i, dst := range []*[]int{&o.ss.begin, &o.ss.end, &o.ss.strides} {
		if *dst, _, err = arrConstInts(consts, i+1); err != nil {
			return nil, n.Errorf("%s: %v", []string{"begin", "end", "strides"}[i], err)
		}
	}
	if consts[0] != nil {
		if o.shape, err = ssgShape(consts[0]); err != nil {
			return nil, n.Errorf("shape: %v", err)
		}
	}
	return o, nil
}

// ssgShape reads the shape input: a vector of non-negative sizes within the
// engine's element limit.
func ssgShape(t *classify.Tensor) ([]int, error) {
	if len(t.Shape) != 1 {
		return nil, fmt.Errorf("want a vector, got shape %v", t.Shape)
	}
	s, err := arrInts(t)
	if err != nil {
		return nil, err
	}
	return s, arrCheckDims(s)
}

// OutputInfo implements Shaper.
func (o *stridedSliceGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[4].DType
	if o.shape != nil {
		return []classify.TensorInfo{{DType: dt, Shape: classify.Shape(o.shape).Clone()}}, nil
	}
	if s := in[0].Shape; len(s) == 1 && s[0] >= 0 {
		return []classify.TensorInfo{{DType: dt, Shape: arrUnknown(s[0])}}, nil
	}
	return []classify.TensorInfo{{DType: dt}}, nil
}

// Run implements Op.
func (o *stridedSliceGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.ss.n
	shape := o.shape
	if shape == nil {
		var err error
		if shape, err = ssgShape(in[0]); err != nil {
			return nil, n.InputErrorf("shape: %v", err)
		}
	}
	begin, end, strides, err := o.ss.args(in)
	if err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	p, err := o.ss.plan(shape, begin, end, strides)
	if err != nil {
		return nil, n.InputErrorf("shape %v: %v", shape, err)
	}
	dy := in[4]
	if !dy.Shape.Equal(classify.Shape(p.out)) || dy.Len() != dy.Shape.NumElements() {
		return nil, n.InputErrorf("dy has shape %v, want the forward output shape %v", dy.Shape, p.out)
	}
	out := ctx.Output(0, dy.DType, shape...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	if err := arrFillAll(ctx.Workers(), out, classify.NewTensor(dy.DType, 1), 0); err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	if arrProd(p.size) == 0 {
		return []*classify.Tensor{out}, nil
	}
	str := arrStrides(shape)
	d := arrRegion{Str: make([]int, len(str))}
	for i := range str {
		d.Off += p.begin[i] * str[i]
		d.Str[i] = p.step[i] * str[i]
	}
	// dy's elements are the region's in the processing shape's order.
	if err := arrCopy(ctx.Workers(), p.size, out, d, dy, arrRegion{Str: arrStrides(p.size)}); err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

// ---- MirrorPadGrad ----

type mirrorPadGradOp struct {
	n       *Node
	reflect int   // 1 for REFLECT, 0 for SYMMETRIC
	pads    []int // constant paddings, or nil
}

func buildMirrorPadGrad(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (input, paddings), has %d", n.NumInputs)
	}
	if dt := n.Type("T"); dt != classify.Invalid && !mpgDType(dt) {
		return nil, n.Errorf("unsupported dtype %v (float32, float64, int32, int64)", dt)
	}
	o := &mirrorPadGradOp{n: n}
	switch m := n.String("mode", ""); m {
	case "REFLECT":
		o.reflect = 1
	case "SYMMETRIC":
	default:
		return nil, n.Errorf("mode %q, want REFLECT or SYMMETRIC", m)
	}
	if consts[1] != nil {
		p, err := mpgPads(consts[1], -1)
		if err != nil {
			return nil, n.Errorf("paddings: %v", err)
		}
		o.pads = p
	}
	return o, nil
}

func mpgDType(dt classify.DType) bool {
	return dt == classify.Float32 || dt == classify.Float64 || dt == classify.Int32 || dt == classify.Int64
}

// mpgPads reads paddings of shape [rank, 2] (any rank when rank < 0).
func mpgPads(t *classify.Tensor, rank int) ([]int, error) {
	if s := t.Shape; len(s) != 2 || s[1] != 2 || rank >= 0 && s[0] != rank {
		return nil, fmt.Errorf("shape %v, want [%d, 2]", t.Shape, rank)
	}
	p, err := arrInts(t)
	if err != nil {
		return nil, err
	}
	if len(p) != t.Shape.NumElements() {
		return nil, fmt.Errorf("%d values for shape %v", len(p), t.Shape)
	}
	return p, nil
}

// outShape is the unpadded shape, checking the paddings as TensorFlow. A
// dimension of -1 (static inference) stays -1.
func (o *mirrorPadGradOp) outShape(shape, pads []int) ([]int, error) {
	if len(pads) != 2*len(shape) {
		return nil, fmt.Errorf("%d paddings for an input of rank %d", len(pads)/2, len(shape))
	}
	out := make([]int, len(shape))
	for i, d := range shape {
		a, b := pads[2*i], pads[2*i+1]
		if a < 0 || b < 0 || a > arrMaxElements || b > arrMaxElements {
			return nil, fmt.Errorf("paddings [%d, %d] of dimension %d are negative or too large", a, b, i)
		}
		out[i] = -1
		if d < 0 {
			continue
		}
		m := d - a - b
		if a > m-o.reflect || b > m-o.reflect {
			return nil, fmt.Errorf("paddings [%d, %d] of dimension %d (size %d) leave %d elements, too few for mode %s",
				a, b, i, d, m, o.n.String("mode", ""))
		}
		out[i] = m
	}
	return out, nil
}

// OutputInfo implements Shaper.
func (o *mirrorPadGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if t.DType != classify.Invalid && !mpgDType(t.DType) {
		return nil, o.n.Errorf("unsupported dtype %v (float32, float64, int32, int64)", t.DType)
	}
	switch {
	case o.pads == nil && t.Shape != nil:
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(t.Shape))}}, nil
	case o.pads == nil:
		return []classify.TensorInfo{{DType: t.DType}}, nil
	case t.Shape == nil:
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(o.pads) / 2)}}, nil
	}
	s, err := o.outShape(t.Shape, o.pads)
	if err != nil {
		return nil, o.n.Errorf("input %v: %v", t.Shape, err)
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: s}}, nil
}

// Run implements Op.
func (o *mirrorPadGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	if !mpgDType(t.DType) {
		return nil, o.n.InputErrorf("dtype %v not supported (float32, float64, int32, int64)", t.DType)
	}
	if t.Len() != t.Shape.NumElements() {
		return nil, o.n.InputErrorf("input has %d elements for shape %v", t.Len(), t.Shape)
	}
	pads := o.pads
	if pads == nil {
		var err error
		if pads, err = mpgPads(in[1], len(t.Shape)); err != nil {
			return nil, o.n.InputErrorf("paddings: %v", err)
		}
	}
	shape, err := o.outShape(t.Shape, pads)
	if err != nil {
		return nil, o.n.InputErrorf("input %v: %v", t.Shape, err)
	}
	out := ctx.Output(0, t.DType, shape...)
	// src[d][p] is the output offset along d of padded index p.
	ostr := arrStrides(shape)
	src := make([][]int, len(shape))
	for d, m := range shape {
		a := pads[2*d]
		src[d] = make([]int, t.Shape[d])
		for p := range src[d] {
			var i int
			switch {
			case p < a:
				i = a - 1 - p + o.reflect
			case p < a+m:
				i = p - a
			default:
				i = m - 1 - (p - a - m) - o.reflect
			}
			src[d][p] = i * ostr[d]
		}
	}
	mpgSum(out, t, src)
	return []*classify.Tensor{out}, nil
}

// mpgSum is mpgRun on t's dtype (mpgDType's four).
func mpgSum(out, t *classify.Tensor, src [][]int) {
	switch t.DType {
	case classify.Float32:
		mpgRun(out.Float32s(), t.Float32s(), t.Shape, src)
	case classify.Float64:
		mpgRun(out.Data.([]float64), t.Data.([]float64), t.Shape, src)
	case classify.Int32:
		mpgRun(out.Int32s(), t.Int32s(), t.Shape, src)
	case classify.Int64:
		mpgRun(out.Data.([]int64), t.Data.([]int64), t.Shape, src)
	}
}

// mpgRun adds every element of g (MirrorPadGrad's padded gradient,
// TileGrad's tiled one) into dst at the offset its index maps to: src[d][p]
// is the offset along dst of index p of dimension d. Its cost is one add
// per element of g, whose size the caller's input already holds.
func mpgRun[T float32 | float64 | int32 | int64](dst, g []T, shape []int, src [][]int) {
	clear(dst)
	if len(g) == 0 || len(dst) == 0 {
		return
	}
	rank := len(shape)
	if rank == 0 {
		dst[0] = g[0]
		return
	}
	idx := make([]int, rank)
	inner := src[rank-1]
	for k := 0; k < len(g); k += shape[rank-1] {
		base := 0
		for d := 0; d < rank-1; d++ {
			base += src[d][idx[d]]
		}
		for p, v := range g[k : k+shape[rank-1]] {
			dst[base+inner[p]] += v
		}
		for d := rank - 2; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// ---- TileGrad ----

// TileGrad(input, multiples), deprecated in TensorFlow (GraphDef version 3
// replaced it with a Sum) but still in its op list and CPU kernels: the
// gradient of Tile, summing the multiples[i] tiles of each dimension of
// input into one of size input_dim[i] / multiples[i]. As TensorFlow, each
// dimension must divide evenly; multiples must be positive.
type tileGradOp struct {
	n    *Node
	mult []int // constant multiples, or nil
}

func buildTileGrad(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (input, multiples), has %d", n.NumInputs)
	}
	if dt := n.Type("T"); dt != classify.Invalid && !mpgDType(dt) {
		return nil, n.Errorf("unsupported dtype %v (float32, float64, int32, int64)", dt)
	}
	o := &tileGradOp{n: n}
	if consts[1] != nil {
		m, err := tileGradMultiples(consts[1], -1)
		if err != nil {
			return nil, n.Errorf("multiples: %v", err)
		}
		o.mult = m
	}
	return o, nil
}

func tileGradMultiples(t *classify.Tensor, rank int) ([]int, error) {
	if len(t.Shape) != 1 || rank >= 0 && t.Shape[0] != rank {
		return nil, fmt.Errorf("shape %v, want a vector of %d", t.Shape, rank)
	}
	m, err := arrInts(t)
	if err != nil {
		return nil, err
	}
	for i, v := range m {
		if v < 1 {
			return nil, fmt.Errorf("multiples[%d] = %d must be positive", i, v)
		}
	}
	return m, nil
}

func (o *tileGradOp) outShape(shape, mult []int) ([]int, error) {
	if len(mult) != len(shape) {
		return nil, fmt.Errorf("%d multiples for an input of rank %d", len(mult), len(shape))
	}
	out := make([]int, len(shape))
	for i, d := range shape {
		if out[i] = -1; d < 0 {
			continue
		}
		if d%mult[i] != 0 {
			return nil, fmt.Errorf("input dimension %d (size %d) is not divisible by multiples[%d] = %d", i, d, i, mult[i])
		}
		out[i] = d / mult[i]
	}
	return out, nil
}

// OutputInfo implements Shaper.
func (o *tileGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if t.DType != classify.Invalid && !mpgDType(t.DType) {
		return nil, o.n.Errorf("unsupported dtype %v (float32, float64, int32, int64)", t.DType)
	}
	switch {
	case t.Shape == nil && o.mult != nil:
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(o.mult))}}, nil
	case t.Shape == nil:
		return []classify.TensorInfo{{DType: t.DType}}, nil
	case o.mult == nil:
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(t.Shape))}}, nil
	}
	s, err := o.outShape(t.Shape, o.mult)
	if err != nil {
		return nil, o.n.Errorf("input %v: %v", t.Shape, err)
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: s}}, nil
}

// Run implements Op.
func (o *tileGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	if !mpgDType(t.DType) {
		return nil, o.n.InputErrorf("dtype %v not supported (float32, float64, int32, int64)", t.DType)
	}
	if t.Len() != t.Shape.NumElements() {
		return nil, o.n.InputErrorf("input has %d elements for shape %v", t.Len(), t.Shape)
	}
	mult := o.mult
	if mult == nil {
		var err error
		if mult, err = tileGradMultiples(in[1], len(t.Shape)); err != nil {
			return nil, o.n.InputErrorf("multiples: %v", err)
		}
	}
	shape, err := o.outShape(t.Shape, mult)
	if err != nil {
		return nil, o.n.InputErrorf("input %v: %v", t.Shape, err)
	}
	out := ctx.Output(0, t.DType, shape...)
	ostr := arrStrides(shape)
	src := make([][]int, len(shape))
	for d, m := range shape {
		src[d] = make([]int, t.Shape[d])
		for p := range src[d] {
			src[d][p] = p % m * ostr[d]
		}
	}
	mpgSum(out, t, src)
	return []*classify.Tensor{out}, nil
}
