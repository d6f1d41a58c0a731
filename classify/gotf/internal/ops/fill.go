package ops

// Ops that create tensors from a value or a shape: Fill, ZerosLike,
// OnesLike and Range.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("Fill", buildFill)
	Register("ZerosLike", buildFillLike)
	Register("OnesLike", buildFillLike)
	Register("Range", buildRange)
}

// ---- Fill / ZerosLike / OnesLike ----

type fillOp struct {
	n    *Node
	dims []int // nil when not constant
}

func buildFill(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	d, ok, err := arrConstInts(consts, 0)
	if err != nil {
		return nil, n.Errorf("dims: %v", err)
	}
	if ok {
		if err := arrCheckDims(d); err != nil {
			return nil, n.Errorf("dims: %v", err)
		}
	}
	return &fillOp{n: n, dims: d}, nil
}

// arrCheckDims checks the dims of a tensor about to be created: none
// negative, and at most arrMaxElements elements (checked without
// overflowing).
func arrCheckDims(dims []int) error {
	n := 1
	for _, d := range dims {
		if d < 0 {
			return fmt.Errorf("%v has a negative dimension", dims)
		}
		if d > 0 && n > arrMaxElements/d {
			n = arrMaxElements + 1
		} else {
			n *= d
		}
	}
	if n > arrMaxElements {
		return fmt.Errorf("shape %v has more than the %d elements this engine allows", dims, arrMaxElements)
	}
	return nil
}

func (o *fillOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	dims := o.dims
	if dims == nil {
		var err error
		if dims, err = arrInts(in[0]); err != nil {
			return nil, o.n.InputErrorf("dims: %v", err)
		}
		if err := arrCheckDims(dims); err != nil {
			return nil, o.n.InputErrorf("dims: %v", err)
		}
	}
	v := in[1]
	if len(v.Shape) != 0 {
		return nil, o.n.InputErrorf("value must be a scalar, has shape %v", v.Shape)
	}
	out := ctx.Output(0, v.DType, dims...)
	if err := arrFillAll(ctx.Workers(), out, v, 0); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func (o *fillOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[1].DType
	if o.dims != nil {
		return []classify.TensorInfo{{DType: dt, Shape: classify.Shape(o.dims).Clone()}}, nil
	}
	if s := in[0].Shape; len(s) == 1 {
		return []classify.TensorInfo{{DType: dt, Shape: arrUnknown(s[0])}}, nil
	}
	return []classify.TensorInfo{{DType: dt}}, nil
}

type fillLikeOp struct {
	n   *Node
	one bool
}

func buildFillLike(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("needs 1 input, has %d", n.NumInputs)
	}
	return &fillLikeOp{n: n, one: n.Op == "OnesLike"}, nil
}

func (o *fillLikeOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	v := classify.NewTensor(t.DType)
	if o.one {
		switch d := v.Data.(type) {
		case []float32:
			d[0] = 1
		case []int32:
			d[0] = 1
		case []int64:
			d[0] = 1
		case []bool:
			d[0] = true
		case []uint8:
			d[0] = 1
		case []float64:
			d[0] = 1
		case []classify.F16:
			d[0] = classify.F16FromFloat32(1)
		case []classify.BF16:
			d[0] = classify.BF16FromFloat32(1)
		case []int8:
			d[0] = 1
		case []int16:
			d[0] = 1
		case []uint16:
			d[0] = 1
		case []uint32:
			d[0] = 1
		case []uint64:
			d[0] = 1
		case []complex64:
			d[0] = 1
		case []complex128:
			d[0] = 1
		default:
			return nil, o.n.InputErrorf("no one of dtype %v", t.DType)
		}
	}
	out := ctx.Output(0, t.DType, t.Shape...)
	if err := arrFillAll(ctx.Workers(), out, v, 0); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func (o *fillLikeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

// ---- Range ----

type rangeOp struct {
	n *Node
	// size is the static output length, -1 when an input is not constant.
	size int
}

func buildRange(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs (start, limit, delta), has %d", n.NumInputs)
	}
	o := &rangeOp{n: n, size: -1}
	if consts[0] != nil && consts[1] != nil && consts[2] != nil {
		size, _, err := arrRange(nil, false, consts[0], consts[1], consts[2])
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		o.size = size
	}
	return o, nil
}

// arrRange computes the length of a Range and, when fill is set, its values
// in a buffer from ctx.
func arrRange(ctx *Ctx, fill bool, start, limit, delta *classify.Tensor) (int, *classify.Tensor, error) {
	if start.DType != limit.DType || start.DType != delta.DType {
		return 0, nil, fmt.Errorf("start, limit and delta have dtypes %v, %v, %v", start.DType, limit.DType, delta.DType)
	}
	for _, t := range []*classify.Tensor{start, limit, delta} {
		if t.Len() != 1 {
			return 0, nil, fmt.Errorf("start, limit and delta must be scalars, got shape %v", t.Shape)
		}
	}
	switch s := start.Data.(type) {
	case []int32:
		return arrRangeT(ctx, fill, start.DType, s[0], limit.Int32s()[0], delta.Int32s()[0], arrRangeIntSize)
	case []int64:
		return arrRangeT(ctx, fill, start.DType, s[0], limit.Int64s()[0], delta.Int64s()[0], arrRangeIntSize)
	case []float32:
		return arrRangeT(ctx, fill, start.DType, s[0], limit.Float32s()[0], delta.Float32s()[0], arrRangeFloatSize)
	case []float64:
		return arrRangeT(ctx, fill, start.DType, s[0], limit.Data.([]float64)[0], delta.Data.([]float64)[0], arrRangeFloatSize)
	}
	return 0, nil, fmt.Errorf("dtype %v not supported", start.DType)
}

// arrRangeIntSize is TensorFlow's ceil(|limit-start| / |delta|) in integers.
func arrRangeIntSize[T int32 | int64](start, limit, delta T) float64 {
	a, d := int64(limit)-int64(start), int64(delta)
	if a < 0 {
		a = -a
	}
	if d < 0 {
		d = -d
	}
	return float64((a + d - 1) / d)
}

// arrRangeFloatSize is TensorFlow's ceil(|(limit-start) / delta|), computed
// in the element type as TensorFlow does, so float32 rounding decides the
// length exactly as there.
func arrRangeFloatSize[T float32 | float64](start, limit, delta T) float64 {
	q := (limit - start) / delta
	return math.Ceil(math.Abs(float64(q)))
}

func arrRangeT[T int32 | int64 | float32 | float64](ctx *Ctx, fill bool, dt classify.DType, start, limit, delta T, size func(T, T, T) float64) (int, *classify.Tensor, error) {
	switch {
	case delta == 0:
		return 0, nil, fmt.Errorf("delta must not be 0")
	case delta > 0 && start > limit:
		return 0, nil, fmt.Errorf("start %v > limit %v with positive delta %v", start, limit, delta)
	case delta < 0 && start < limit:
		return 0, nil, fmt.Errorf("start %v < limit %v with negative delta %v", start, limit, delta)
	}
	n := size(start, limit, delta)
	if n > arrMaxElements {
		return 0, nil, fmt.Errorf("range of %v elements exceeds the %d elements this engine allows", n, arrMaxElements)
	}
	if !fill {
		return int(n), nil, nil
	}
	out := ctx.Output(0, dt, int(n))
	d := out.Data.([]T)
	// A running sum in the element type, like TensorFlow's CPU kernel (and
	// TensorFlow.js), rather than start + i*delta, which rounds
	// differently for floats.
	v := start
	for i := range d {
		d[i] = v
		v += delta
	}
	return int(n), out, nil
}

func (o *rangeOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	_, out, err := arrRange(ctx, true, in[0], in[1], in[2])
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func (o *rangeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[0].DType
	if t := o.n.Type("Tidx"); t != classify.Invalid {
		dt = t
	}
	return []classify.TensorInfo{{DType: dt, Shape: classify.Shape{o.size}}}, nil
}
