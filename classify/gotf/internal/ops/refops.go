package ops

// TF1's ref-variable updates as pure functions of the variable's value:
// Assign, AssignAdd, AssignSub, Scatter{Update,Add,Sub,Mul,Div,Max,Min}
// (rows addressed by indices) and ScatterNd{Update,Add,Sub,Max,Min} (slices
// addressed by index tuples) return the updated value. A SavedModel's
// variables are bound at load (classify/gotf's bindVariables turns a write
// into a read, this function and a store); what reaches these kernels
// directly is a frozen graph, whose variables became constants, fetching
// the update's result, which is what TensorFlow computed before freezing.

import (
	"errors"

	"github.com/classifyd/classifyd/classify"
)

var errIntDivZero = errors.New("integer division by zero")

func init() {
	for op, kind := range map[string]byte{"Assign": '=', "AssignAdd": '+', "AssignSub": '-'} {
		Register(op, buildAssignValue(kind))
	}
	for op, kind := range map[string]byte{
		"ScatterUpdate": '=', "ScatterAdd": '+', "ScatterSub": '-', "ScatterMul": '*', "ScatterDiv": 'd',
		"ScatterMax": 'M', "ScatterMin": 'm',
	} {
		Register(op, buildScatterRows(kind))
	}
	for op, kind := range map[string]byte{
		"ScatterNdUpdate": '=', "ScatterNdAdd": '+', "ScatterNdSub": '-', "ScatterNdMax": 'M', "ScatterNdMin": 'm',
	} {
		Register(op, buildTensorScatter(kind))
	}
}

type assignValueOp struct {
	n        *Node
	kind     byte
	validate bool
}

func buildAssignValue(kind byte) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("needs 2 inputs (ref, value), has %d", n.NumInputs)
		}
		return &assignValueOp{n: n, kind: kind, validate: n.Bool("validate_shape", true)}, nil
	}
}

func (o *assignValueOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if o.kind == '=' && !o.validate {
		return []classify.TensorInfo{in[1]}, nil
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

func (o *assignValueOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	ref, v := in[0], in[1]
	if ref.DType != v.DType {
		return nil, o.n.InputErrorf("ref is %v but value %v", ref.DType, v.DType)
	}
	if o.kind == '=' && !o.validate {
		return []*classify.Tensor{v}, nil
	}
	if !ref.Shape.Equal(v.Shape) {
		return nil, o.n.InputErrorf("ref %v and value %v must have the same shape", ref.Shape, v.Shape)
	}
	if o.kind == '=' {
		return []*classify.Tensor{v}, nil
	}
	out := ctx.Output(0, ref.DType, ref.Shape...)
	offs := make([]int, 1) // one update covering the whole tensor
	var err error
	switch d := out.Data.(type) {
	case []float32:
		err = tensorScatterAs(d, ref.Data, v.Data, offs, ref.Len(), o.kind)
	case []float64:
		err = tensorScatterAs(d, ref.Data, v.Data, offs, ref.Len(), o.kind)
	case []int32:
		err = tensorScatterAs(d, ref.Data, v.Data, offs, ref.Len(), o.kind)
	case []int64:
		err = tensorScatterAs(d, ref.Data, v.Data, offs, ref.Len(), o.kind)
	default:
		return nil, o.n.InputErrorf("cannot add to %v", ref.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

// scatterRowsOp is Scatter*: TensorScatter* with each index a tuple of one.
type scatterRowsOp struct {
	tensorScatterOp
}

func buildScatterRows(kind byte) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 3 {
			return nil, n.Errorf("needs 3 inputs (ref, indices, updates), has %d", n.NumInputs)
		}
		return &scatterRowsOp{tensorScatterOp{n: n, kind: kind}}, nil
	}
}

func (o *scatterRowsOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	ref, indices, updates := in[0], in[1], in[2]
	if len(ref.Shape) == 0 {
		return nil, o.n.InputErrorf("ref must be at least 1-D, got a scalar")
	}
	want := append(indices.Shape.Clone(), ref.Shape[1:]...)
	if !want.Equal(updates.Shape) {
		return nil, o.n.InputErrorf("updates %v, want indices.shape + ref.shape[1:] = %v", updates.Shape, want)
	}
	if o.kind == 'd' {
		if err := nonzeroDivisors(updates); err != nil {
			return nil, o.n.InputErrorf("%v", err)
		}
	}
	tuples := *indices
	tuples.Shape = append(indices.Shape.Clone(), 1)
	return o.tensorScatterOp.Run(ctx, []*classify.Tensor{ref, &tuples, updates})
}

// nonzeroDivisors refuses an integer division by zero (undefined in C++,
// a panic in Go).
func nonzeroDivisors(t *classify.Tensor) error {
	var zero bool
	switch d := t.Data.(type) {
	case []int32:
		for _, v := range d {
			zero = zero || v == 0
		}
	case []int64:
		for _, v := range d {
			zero = zero || v == 0
		}
	case []uint8:
		for _, v := range d {
			zero = zero || v == 0
		}
	}
	if zero {
		return errIntDivZero
	}
	return nil
}
