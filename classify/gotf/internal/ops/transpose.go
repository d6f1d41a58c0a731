package ops

// Transpose, ReverseV2, Tile and BroadcastTo: reordering and repeating
// elements.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("Transpose", buildTranspose)
	Register("Tile", buildTile)
	Register("ReverseV2", buildReverse)
	Register("BroadcastTo", buildBroadcastTo)
}

// ---- Transpose ----

type transposeOp struct {
	n    *Node
	perm []int // nil when not constant
}

func buildTranspose(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	p, ok, err := arrConstInts(consts, 1)
	if err != nil {
		return nil, n.Errorf("perm: %v", err)
	}
	if ok {
		if err := arrCheckPerm(p, len(p)); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	return &transposeOp{n: n, perm: p}, nil
}

func arrCheckPerm(perm []int, rank int) error {
	if len(perm) != rank {
		return fmt.Errorf("perm %v has %d entries for an input of rank %d", perm, len(perm), rank)
	}
	seen := make([]bool, rank)
	for _, p := range perm {
		if p < 0 || p >= rank || seen[p] {
			return fmt.Errorf("perm %v is not a permutation of 0..%d", perm, rank-1)
		}
		seen[p] = true
	}
	return nil
}

func (o *transposeOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	perm := o.perm
	if perm == nil {
		var err error
		if perm, err = arrInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("perm: %v", err)
		}
	}
	if err := arrCheckPerm(perm, len(t.Shape)); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	inStr := arrStrides(t.Shape)
	shape, str := make([]int, len(perm)), make([]int, len(perm))
	for i, p := range perm {
		shape[i], str[i] = t.Shape[p], inStr[p]
	}
	s := arrRegion{Str: str}
	if arrContiguous(shape, s) {
		// Only size-1 dimensions move: the data is already in order.
		return []*classify.Tensor{arrView(t, 0, shape)}, nil
	}
	out := ctx.Output(0, t.DType, shape...)
	if err := arrCopy(ctx.Workers(), shape, out, arrRegion{Str: arrStrides(shape)}, t, s); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func (o *transposeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	switch {
	case o.perm == nil && t.Shape == nil:
		if s := in[1].Shape; len(s) == 1 {
			return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(s[0])}}, nil
		}
		return []classify.TensorInfo{{DType: t.DType}}, nil
	case o.perm == nil:
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(t.Shape))}}, nil
	case t.Shape == nil:
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(o.perm))}}, nil
	}
	if err := arrCheckPerm(o.perm, len(t.Shape)); err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	shape := make(classify.Shape, len(o.perm))
	for i, p := range o.perm {
		shape[i] = t.Shape[p]
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: shape}}, nil
}

// ---- Tile ----

type tileOp struct {
	n     *Node
	mults []int // nil when not constant
}

func buildTile(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	m, ok, err := arrConstInts(consts, 1)
	if err != nil {
		return nil, n.Errorf("multiples: %v", err)
	}
	if ok {
		for _, v := range m {
			if v < 0 {
				return nil, n.Errorf("multiples %v has a negative entry", m)
			}
		}
	}
	return &tileOp{n: n, mults: m}, nil
}

func (o *tileOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	m := o.mults
	if m == nil {
		var err error
		if m, err = arrInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("multiples: %v", err)
		}
	}
	if len(m) != len(t.Shape) {
		return nil, o.n.InputErrorf("multiples %v for an input of shape %v", m, t.Shape)
	}
	shape := make([]int, len(m))
	for i, v := range m {
		if v < 0 {
			return nil, o.n.InputErrorf("multiples %v has a negative entry", m)
		}
		if t.Shape[i] > 0 && v > arrMaxElements/t.Shape[i] {
			return nil, o.n.InputErrorf("multiples %v of shape %v: too large", m, t.Shape)
		}
		shape[i] = t.Shape[i] * v
	}
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, t.DType, shape...)
	if arrProd(shape) == 0 {
		return []*classify.Tensor{out}, nil
	}
	var err error
	switch d := out.Data.(type) {
	case []float32:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []int32:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []int64:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []bool:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []uint8:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []float64:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []classify.F16:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []classify.BF16:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []int8:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []int16:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []uint16:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []uint32:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []uint64:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []complex64:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case []complex128:
		err = arrTileAs(d, t.Data, t.Shape, m)
	case [][]byte:
		err = arrTileAs(d, t.Data, t.Shape, m)
	default:
		err = fmt.Errorf("unsupported dtype %v", t.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func arrTileAs[T any](dst []T, srcData any, shape, mults []int) error {
	src, ok := srcData.([]T)
	if !ok {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	arrTileT(dst, src, shape, mults)
	return nil
}

// arrTileT writes src (of shape) tiled by mults into dst: each row of the
// outer dimension is tiled recursively, then the whole block is repeated
// with memmoves, so the cost is one pass over the output.
func arrTileT[T any](dst, src []T, shape, mults []int) {
	if len(shape) == 0 {
		dst[0] = src[0]
		return
	}
	var block int
	if len(shape) == 1 {
		block = copy(dst[:shape[0]], src[:shape[0]])
	} else {
		sIn, dIn := arrProd(shape[1:]), 1
		for i := 1; i < len(shape); i++ {
			dIn *= shape[i] * mults[i]
		}
		for i := range shape[0] {
			arrTileT(dst[i*dIn:(i+1)*dIn], src[i*sIn:(i+1)*sIn], shape[1:], mults[1:])
		}
		block = shape[0] * dIn
	}
	for r := 1; r < mults[0]; r++ {
		copy(dst[r*block:(r+1)*block], dst[:block])
	}
}

func (o *tileOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if o.mults == nil {
		rank := -1
		if t.Shape != nil {
			rank = len(t.Shape)
		} else if s := in[1].Shape; len(s) == 1 {
			rank = s[0]
		}
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(rank)}}, nil
	}
	if t.Shape == nil {
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(o.mults))}}, nil
	}
	if len(o.mults) != len(t.Shape) {
		return nil, o.n.Errorf("multiples %v for an input of shape %v", o.mults, t.Shape)
	}
	shape := make(classify.Shape, len(t.Shape))
	for i, d := range t.Shape {
		shape[i] = -1
		if d >= 0 {
			shape[i] = d * o.mults[i]
		}
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: shape}}, nil
}

// ---- ReverseV2 ----

type reverseOp struct {
	n    *Node
	axes []int // nil when not constant
}

func buildReverse(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	a, _, err := arrConstInts(consts, 1)
	if err != nil {
		return nil, n.Errorf("axis: %v", err)
	}
	return &reverseOp{n: n, axes: a}, nil
}

// reverseDims marks the dimensions to reverse, refusing out-of-range and
// repeated axes as TensorFlow does.
func reverseDims(axes []int, rank int) ([]bool, error) {
	rev := make([]bool, rank)
	for _, a := range axes {
		i, ok := arrAxis(a, rank)
		if !ok {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, rank)
		}
		if rev[i] {
			return nil, fmt.Errorf("axis %d given twice in %v", a, axes)
		}
		rev[i] = true
	}
	return rev, nil
}

func (o *reverseOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	axes := o.axes
	if axes == nil {
		var err error
		if axes, err = arrInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("axis: %v", err)
		}
	}
	rev, err := reverseDims(axes, len(t.Shape))
	if err != nil {
		return nil, o.n.InputErrorf("input %v: %v", t.Shape, err)
	}
	// Reading the input with negated strides from its last element along
	// each reversed axis yields the reversed tensor in order.
	s := arrRegion{Str: arrStrides(t.Shape)}
	for i, r := range rev {
		if r && t.Shape[i] > 0 {
			s.Off += (t.Shape[i] - 1) * s.Str[i]
			s.Str[i] = -s.Str[i]
		}
	}
	out, err := arrExtract(ctx, 0, t, t.Shape, s)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func (o *reverseOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if t.Shape != nil && o.axes != nil {
		if _, err := reverseDims(o.axes, len(t.Shape)); err != nil {
			return nil, o.n.Errorf("input %v: %v", t.Shape, err)
		}
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: t.Shape.Clone()}}, nil
}

// ---- BroadcastTo ----

type broadcastToOp struct {
	n     *Node
	shape []int // nil when not constant
}

func buildBroadcastTo(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	s, ok, err := arrConstInts(consts, 1)
	if err != nil {
		return nil, n.Errorf("shape: %v", err)
	}
	if ok {
		if err := arrCheckDims(s); err != nil {
			return nil, n.Errorf("shape: %v", err)
		}
	}
	return &broadcastToOp{n: n, shape: s}, nil
}

// broadcastStrides returns the strides that read an input of shape in as a
// tensor of shape out under NumPy's rules (dimensions aligned at the right;
// a size-1 or missing input dimension repeats, stride 0). As in TensorFlow
// the result must be exactly out. Static inference may pass -1 for unknown
// input dimensions, which are assumed to fit.
func broadcastStrides(in, out []int) ([]int, error) {
	if len(in) > len(out) {
		return nil, fmt.Errorf("cannot broadcast shape %v to the lower rank shape %v", classify.Shape(in), classify.Shape(out))
	}
	str := arrStrides(in)
	res := make([]int, len(out))
	lead := len(out) - len(in)
	for i := lead; i < len(out); i++ {
		d := in[i-lead]
		switch {
		case d == out[i]:
			res[i] = str[i-lead]
		case d == 1 || d < 0:
			// Stride 0 repeats the single element.
		default:
			return nil, fmt.Errorf("cannot broadcast shape %v to %v", classify.Shape(in), classify.Shape(out))
		}
	}
	return res, nil
}

func (o *broadcastToOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	shape := o.shape
	if shape == nil {
		var err error
		if shape, err = arrInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("shape: %v", err)
		}
		if err := arrCheckDims(shape); err != nil {
			return nil, o.n.InputErrorf("shape: %v", err)
		}
	}
	str, err := broadcastStrides(t.Shape, shape)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out, err := arrExtract(ctx, 0, t, shape, arrRegion{Str: str})
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func (o *broadcastToOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if o.shape == nil {
		rank := -1
		if s := in[1].Shape; len(s) == 1 {
			rank = s[0]
		}
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(rank)}}, nil
	}
	if t.Shape != nil {
		if _, err := broadcastStrides(t.Shape, o.shape); err != nil {
			return nil, o.n.Errorf("%v", err)
		}
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: classify.Shape(o.shape).Clone()}}, nil
}
