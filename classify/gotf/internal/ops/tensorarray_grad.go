package ops

// TensorArrayGradV3 and TensorArrayGradWithShape: the gradient array
// tf.gradients pairs with a forward TensorArrayV3. TensorFlow finds it by
// (forward handle, source) in a resource and creates it on first use with
// the forward array's size, fixed, and element shape; writes to it add up
// when an index is written twice. Here arrays travel in their flow (see
// tensorarray.go): when flow_in already carries the gradient array of this
// source (the gradient graph threads the flow of one gradient op into the
// next), that array is the result; otherwise a new empty one is made from
// the forward array flow_in carries.

import (
	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("TensorArrayGradV3", buildTA(2, taGrad))
	Register("TensorArrayGradWithShape", buildTA(3, taGrad))
}

func taGrad(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	fwd, err := o.state(in[0], in[1])
	if err != nil {
		return nil, err
	}
	source := o.n.String("source", "")
	if fwd.gradSource != nil && *fwd.gradSource == source {
		t := fwd.tensor()
		return []*classify.Tensor{t, t}, nil
	}
	shape := fwd.shape
	if len(in) == 3 {
		// TensorArrayGradWithShape: shape_to_prepend goes before the
		// forward element shape.
		pre, err := arrInts(in[2])
		if err != nil || len(in[2].Shape) != 1 {
			return nil, o.n.InputErrorf("shape_to_prepend must be an int vector, got %v %v", in[2].DType, in[2].Shape)
		}
		for _, d := range pre {
			if d < 0 {
				return nil, o.n.InputErrorf("shape_to_prepend %v has a negative dimension", pre)
			}
		}
		if shape != nil {
			shape = append(classify.Shape(pre), shape...)
			if err := arrCheckDims(shape); err != nil {
				return nil, o.n.InputErrorf("element shape: %v", err)
			}
		}
	}
	g := &tensorArray{tensorList: tensorList{dtype: fwd.dtype, shape: shape.Clone(), items: make([]*classify.Tensor, len(fwd.items))}, gradSource: &source}
	t := g.tensor()
	return []*classify.Tensor{t, t}, nil
}

// accumulate returns a + b, for writes to a gradient array's item that
// was written before.
func (o *taOp) accumulate(a, b *classify.Tensor) (*classify.Tensor, error) {
	if a.DType != b.DType || !a.Shape.Equal(b.Shape) {
		return nil, o.n.InputErrorf("adding a write of %v %v to an earlier one of %v %v", b.DType, b.Shape, a.DType, a.Shape)
	}
	out := classify.NewTensor(a.DType, a.Shape...)
	switch d := out.Data.(type) {
	case []float32:
		taAdd(d, a.Float32s(), b.Float32s())
	case []float64:
		taAdd(d, a.Data.([]float64), b.Data.([]float64))
	case []int32:
		taAdd(d, a.Int32s(), b.Int32s())
	case []int64:
		taAdd(d, a.Int64s(), b.Int64s())
	default:
		return nil, o.n.InputErrorf("cannot add two writes of %v", a.DType)
	}
	return out, nil
}

func taAdd[T float32 | float64 | int32 | int64](dst, a, b []T) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}
