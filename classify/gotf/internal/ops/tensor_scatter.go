package ops

// TensorScatterUpdate, TensorScatterAdd, TensorScatterSub,
// TensorScatterMax, TensorScatterMin and ScatterNdNonAliasingAdd: a copy
// of tensor with the slices that index tuples address replaced by, or
// combined with, the rows of updates (updates is indices.shape[:-1] +
// tensor.shape[m:] for tuples of m). Tuples apply in order, so a repeated
// tuple in TensorScatterUpdate keeps its last row (TensorFlow leaves the
// choice open); a tuple outside tensor is an error, or skipped under
// bad_indices_policy IGNORE.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for op, kind := range map[string]byte{
		"TensorScatterUpdate": '=', "TensorScatterAdd": '+', "TensorScatterSub": '-',
		"TensorScatterMax": 'M', "TensorScatterMin": 'm', "ScatterNdNonAliasingAdd": '+',
	} {
		Register(op, buildTensorScatter(kind))
	}
}

type tensorScatterOp struct {
	n      *Node
	kind   byte
	ignore bool
}

func buildTensorScatter(kind byte) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 3 {
			return nil, n.Errorf("needs 3 inputs (tensor, indices, updates), has %d", n.NumInputs)
		}
		ignore, err := ndPolicy(n)
		if err != nil {
			return nil, err
		}
		return &tensorScatterOp{n: n, kind: kind, ignore: ignore}, nil
	}
}

// OutputInfo implements Shaper.
func (o *tensorScatterOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if in[0].DType != classify.Invalid && in[2].DType != classify.Invalid && in[0].DType != in[2].DType {
		return nil, o.n.Errorf("tensor is %v, updates %v", in[0].DType, in[2].DType)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *tensorScatterOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, indices, updates := in[0], in[1], in[2]
	if x.DType != updates.DType {
		return nil, o.n.InputErrorf("tensor is %v, updates %v", x.DType, updates.DType)
	}
	m, err := ndCheckUpdates(indices.Shape, updates.Shape, x.Shape)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	idx, err := arrInts(indices)
	if err != nil {
		return nil, o.n.InputErrorf("indices: %v", err)
	}
	offs, err := ndOffsets(idx, m, x.Shape, o.ignore)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if m == 0 {
		// Tuples of no ints each address the whole tensor.
		offs = make([]int, arrProd(indices.Shape[:len(indices.Shape)-1]))
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	slice := arrProd(x.Shape[m:])
	switch d := out.Data.(type) {
	case []float32:
		err = tensorScatterAs(d, x.Data, updates.Data, offs, slice, o.kind)
	case []float64:
		err = tensorScatterAs(d, x.Data, updates.Data, offs, slice, o.kind)
	case []int32:
		err = tensorScatterAs(d, x.Data, updates.Data, offs, slice, o.kind)
	case []int64:
		err = tensorScatterAs(d, x.Data, updates.Data, offs, slice, o.kind)
	case []uint8:
		err = tensorScatterAs(d, x.Data, updates.Data, offs, slice, o.kind)
	case []bool:
		if o.kind != '=' {
			return nil, o.n.InputErrorf("bool tensors only take TensorScatterUpdate")
		}
		err = tensorScatterUpdate(d, x.Data, updates.Data, offs, slice)
	default:
		err = fmt.Errorf("unsupported dtype %v", x.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func tensorScatterUpdate[T any](dst []T, xData, uData any, offs []int, slice int) error {
	x, ok1 := xData.([]T)
	u, ok2 := uData.([]T)
	if !ok1 || !ok2 {
		return fmt.Errorf("dtype mismatch: %T and %T into %T", xData, uData, dst)
	}
	copy(dst, x)
	for i, off := range offs {
		if off >= 0 {
			copy(dst[off*slice:(off+1)*slice], u[i*slice:(i+1)*slice])
		}
	}
	return nil
}

func tensorScatterAs[T float32 | float64 | int32 | int64 | uint8](dst []T, xData, uData any, offs []int, slice int, kind byte) error {
	if kind == '=' {
		return tensorScatterUpdate(dst, xData, uData, offs, slice)
	}
	x, ok1 := xData.([]T)
	u, ok2 := uData.([]T)
	if !ok1 || !ok2 {
		return fmt.Errorf("dtype mismatch: %T and %T into %T", xData, uData, dst)
	}
	copy(dst, x)
	for i, off := range offs {
		if off < 0 {
			continue
		}
		combineRow(dst[off*slice:(off+1)*slice], u[i*slice:(i+1)*slice], kind)
	}
	return nil
}
