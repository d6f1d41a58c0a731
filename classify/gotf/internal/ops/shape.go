package ops

// Shape ops: Reshape, Squeeze and ExpandDims (views that share the input's
// data), and Shape, ShapeN, Size and Rank (which read only the input's
// shape, so the engine can fold them whenever that shape is static).

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("Reshape", buildReshape)
	Register("Squeeze", buildSqueeze)
	Register("ExpandDims", buildExpandDims)
	Register("Shape", buildShape)
	Register("ShapeN", buildShape)
	Register("Size", buildShape)
	Register("Rank", buildShape)
}

// arrInts returns the values of an int32 or int64 tensor.
func arrInts(t *classify.Tensor) ([]int, error) {
	switch d := t.Data.(type) {
	case []int32:
		out := make([]int, len(d))
		for i, v := range d {
			out[i] = int(v)
		}
		return out, nil
	case []int64:
		out := make([]int, len(d))
		for i, v := range d {
			out[i] = int(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %v, want int32 or int64", t.DType)
}

// arrScalarInt returns the value of a one-element int32 or int64 tensor
// (TensorFlow accepts a 1-element vector wherever it wants a scalar axis).
func arrScalarInt(t *classify.Tensor) (int, error) {
	v, err := arrInts(t)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("want a scalar, got shape %v", t.Shape)
	}
	return v[0], nil
}

// ---- Reshape ----

type reshapeOp struct {
	n     *Node
	shape []int // the constant shape input, nil when computed at run time
}

func buildReshape(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	s, ok, err := arrConstInts(consts, 1)
	if err != nil {
		return nil, n.Errorf("shape: %v", err)
	}
	if ok {
		if _, err := reshapeDims(s, nil); err != nil {
			return nil, n.Errorf("%v", err)
		}
		if s == nil {
			s = []int{}
		}
	}
	return &reshapeOp{n: n, shape: s}, nil
}

// reshapeDims resolves the requested shape for an input of shape in: at
// most one -1, which takes what the others leave. A nil in (static
// inference of an input of unknown size) leaves the -1 unresolved.
//
// Zero-size dimensions follow TensorFlow's reshape kernel: when the
// requested shape has a 0, the -1 is resolved from the non-zero dimensions
// alone on both sides, so an empty [2,0] reshaped to [2,0,-1] is [2,0,1].
func reshapeDims(shape []int, in classify.Shape) ([]int, error) {
	free, known, zero := -1, 1, false
	for i, d := range shape {
		switch {
		case d == -1 && free < 0:
			free = i
		case d < 0:
			return nil, fmt.Errorf("shape %v: only one -1 allowed, no other negative size", shape)
		case d == 0:
			zero = true
		default:
			known *= d
		}
	}
	if in == nil {
		return shape, nil
	}
	count := in.NumElements()
	out := append([]int{}, shape...)
	if free >= 0 {
		have, inZero := 1, false
		for _, d := range in {
			if d > 0 || !zero {
				have *= d
			} else {
				inZero = true
			}
		}
		missing := have / known
		if !inZero && missing*known != have {
			return nil, fmt.Errorf("cannot reshape a tensor of %d elements to shape %v", count, shape)
		}
		out[free] = missing
	}
	if classify.Shape(out).NumElements() != count {
		return nil, fmt.Errorf("cannot reshape a tensor of %d elements to shape %v", count, shape)
	}
	return out, nil
}

func (o *reshapeOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	s := o.shape
	if s == nil {
		if len(in[1].Shape) > 1 {
			return nil, o.n.InputErrorf("shape must be a vector, has shape %v", in[1].Shape)
		}
		var err error
		if s, err = arrInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("shape: %v", err)
		}
	}
	dims, err := reshapeDims(s, t.Shape)
	if err != nil {
		return nil, o.n.InputErrorf("input %v: %v", t.Shape, err)
	}
	return []*classify.Tensor{{DType: t.DType, Shape: dims, Data: t.Data}}, nil
}

func (o *reshapeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if o.shape == nil {
		if s := in[1].Shape; len(s) == 1 {
			return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(s[0])}}, nil
		}
		return []classify.TensorInfo{{DType: t.DType}}, nil
	}
	var known classify.Shape
	if arrKnown(t.Shape) {
		known = t.Shape
	}
	dims, err := reshapeDims(o.shape, known)
	if err != nil {
		return nil, o.n.Errorf("input %v: %v", t.Shape, err)
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: classify.Shape(dims).Clone()}}, nil
}

// ---- Squeeze ----

type squeezeOp struct {
	n    *Node
	dims []int // squeeze_dims as given (may be negative); empty means all 1s
}

func buildSqueeze(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("needs 1 input, has %d", n.NumInputs)
	}
	o := &squeezeOp{n: n}
	// Graphs written by old TensorFlow versions use the name squeeze_dims,
	// newer ones axis.
	dims := n.Ints("squeeze_dims")
	if len(dims) == 0 {
		dims = n.Ints("axis")
	}
	for _, d := range dims {
		o.dims = append(o.dims, int(d))
	}
	return o, nil
}

// squeezeShape returns the squeezed shape. Static inference passes -1 for
// unknown dimensions; a -1 named in dims is taken to be 1, and with no dims
// an unknown dimension makes the rank unknown (nil, nil).
func (o *squeezeOp) squeezeShape(shape []int) ([]int, error) {
	drop := make([]bool, len(shape))
	if len(o.dims) == 0 {
		for i, d := range shape {
			if d < 0 {
				return nil, nil
			}
			drop[i] = d == 1
		}
	}
	for _, a := range o.dims {
		i, ok := arrAxis(a, len(shape))
		if !ok {
			return nil, fmt.Errorf("squeeze dimension %d out of range for shape %v", a, classify.Shape(shape))
		}
		if shape[i] > 1 || shape[i] == 0 {
			return nil, fmt.Errorf("cannot squeeze dimension %d of shape %v: its size is not 1", a, classify.Shape(shape))
		}
		drop[i] = true
	}
	out := []int{}
	for i, d := range shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out, nil
}

func (o *squeezeOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	s, err := o.squeezeShape(t.Shape)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{{DType: t.DType, Shape: s, Data: t.Data}}, nil
}

func (o *squeezeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if t.Shape == nil {
		return []classify.TensorInfo{{DType: t.DType}}, nil
	}
	s, err := o.squeezeShape(t.Shape)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	if s == nil {
		return []classify.TensorInfo{{DType: t.DType}}, nil
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: s}}, nil
}

// ---- ExpandDims ----

type expandDimsOp struct {
	n     *Node
	axis  int
	known bool
}

func buildExpandDims(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	o := &expandDimsOp{n: n}
	if c := consts[1]; c != nil {
		a, err := arrScalarInt(c)
		if err != nil {
			return nil, n.Errorf("dim: %v", err)
		}
		o.axis, o.known = a, true
	}
	return o, nil
}

func expandShape(shape []int, axis int) ([]int, error) {
	i, ok := arrAxis(axis, len(shape)+1)
	if !ok {
		return nil, fmt.Errorf("dim %d out of range [%d, %d] for shape %v", axis, -len(shape)-1, len(shape), classify.Shape(shape))
	}
	return append(append(append([]int{}, shape[:i]...), 1), shape[i:]...), nil
}

func (o *expandDimsOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	a := o.axis
	if !o.known {
		var err error
		if a, err = arrScalarInt(in[1]); err != nil {
			return nil, o.n.InputErrorf("dim: %v", err)
		}
	}
	s, err := expandShape(t.Shape, a)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{{DType: t.DType, Shape: s, Data: t.Data}}, nil
}

func (o *expandDimsOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	switch {
	case t.Shape == nil:
		return []classify.TensorInfo{{DType: t.DType}}, nil
	case !o.known:
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(t.Shape) + 1)}}, nil
	}
	s, err := expandShape(t.Shape, o.axis)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: s}}, nil
}

// ---- Shape, ShapeN, Size, Rank ----

// shapeOp computes Shape and ShapeN (the dims of each input), Size (the
// element count) and Rank. Their outputs are int32 unless out_type says
// int64 (Rank is always int32).
type shapeOp struct {
	n  *Node
	dt classify.DType
}

func buildShape(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs < 1 || n.Op != "ShapeN" && n.NumInputs != 1 {
		return nil, n.Errorf("wrong number of inputs: %d", n.NumInputs)
	}
	o := &shapeOp{n: n, dt: classify.Int32}
	if n.Op != "Rank" {
		if t := n.Type("out_type"); t != classify.Invalid {
			o.dt = t
		}
	}
	if o.dt != classify.Int32 && o.dt != classify.Int64 {
		return nil, n.Errorf("out_type %v, want int32 or int64", o.dt)
	}
	return o, nil
}

func (o *shapeOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	outs := make([]*classify.Tensor, len(in))
	for k, t := range in {
		var vals []int
		// Scalars get an empty, not a nil, shape: nil means unknown rank
		// to shape inference when the engine folds this output.
		shape := []int{}
		switch o.n.Op {
		case "Shape", "ShapeN":
			vals, shape = t.Shape, []int{len(t.Shape)}
		case "Size":
			vals = []int{t.Shape.NumElements()}
		case "Rank":
			vals = []int{len(t.Shape)}
		}
		out := ctx.Output(k, o.dt, shape...)
		switch d := out.Data.(type) {
		case []int32:
			for i, v := range vals {
				if int(int32(v)) != v {
					return nil, o.n.InputErrorf("%d does not fit out_type int32", v)
				}
				d[i] = int32(v)
			}
		case []int64:
			for i, v := range vals {
				d[i] = int64(v)
			}
		}
		outs[k] = out
	}
	return outs, nil
}

func (o *shapeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	outs := make([]classify.TensorInfo, len(in))
	for k, t := range in {
		outs[k].DType = o.dt
		switch o.n.Op {
		case "Shape", "ShapeN":
			outs[k].Shape = classify.Shape{-1}
			if t.Shape != nil {
				outs[k].Shape[0] = len(t.Shape)
			}
		default:
			outs[k].Shape = classify.Shape{}
		}
	}
	return outs, nil
}
