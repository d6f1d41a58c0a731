package ops

// GatherV2 (and the old Gather, which is GatherV2 on axis 0): rows of params
// picked by indices along one axis, optionally per batch (batch_dims).

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("GatherV2", buildGather)
	Register("Gather", buildGather)
}

type gatherOp struct {
	n     *Node
	axis  int
	known bool // axis was a constant (always for Gather)
	// batch is the batch_dims attribute as given (negative counts from
	// the rank of indices).
	batch int
}

func buildGather(n *Node, consts []*classify.Tensor) (Op, error) {
	want := 3
	if n.Op == "Gather" {
		want = 2
	}
	if n.NumInputs != want {
		return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
	}
	o := &gatherOp{n: n, known: n.Op == "Gather", batch: int(n.Int("batch_dims", 0))}
	if !o.known && consts[2] != nil {
		a, err := arrScalarInt(consts[2])
		if err != nil {
			return nil, n.Errorf("axis: %v", err)
		}
		o.axis, o.known = a, true
	}
	return o, nil
}

// dims resolves axis and batch_dims for params and indices of the given
// ranks, with TensorFlow's checks: -rank(indices) <= batch_dims <=
// rank(indices), batch_dims < rank(params), batch_dims <= axis.
func (o *gatherOp) dims(axis int, known bool, prank, irank int) (int, int, error) {
	b := o.batch
	if b < -irank || b > irank {
		return 0, 0, fmt.Errorf("batch_dims %d out of range for indices of rank %d", b, irank)
	}
	if b < 0 {
		b += irank
	}
	if !known {
		axis = b
	}
	a, ok := arrAxis(axis, prank)
	if !ok {
		return 0, 0, fmt.Errorf("axis %d out of range for params of rank %d", axis, prank)
	}
	if b > 0 && (b >= prank || a < b) {
		return 0, 0, fmt.Errorf("batch_dims %d must be below the rank of params (%d) and at most axis %d", b, prank, a)
	}
	return a, b, nil
}

func (o *gatherOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	params, indices := in[0], in[1]
	a := o.axis
	if !o.known {
		var err error
		if a, err = arrScalarInt(in[2]); err != nil {
			return nil, o.n.InputErrorf("axis: %v", err)
		}
	}
	axis, batch, err := o.dims(a, true, len(params.Shape), len(indices.Shape))
	if err != nil {
		return nil, o.n.InputErrorf("params %v, indices %v: %v", params.Shape, indices.Shape, err)
	}
	for i := range batch {
		if params.Shape[i] != indices.Shape[i] {
			return nil, o.n.InputErrorf("params %v and indices %v differ in batch dimension %d", params.Shape, indices.Shape, i)
		}
	}
	idx, err := arrInts(indices)
	if err != nil {
		return nil, o.n.InputErrorf("indices: %v", err)
	}
	dim := params.Shape[axis]
	for i, v := range idx {
		if v < 0 || v >= dim {
			return nil, o.n.InputErrorf("indices[%d] = %d is not in [0, %d)", i, v, dim)
		}
	}
	shape := gatherShape(params.Shape, indices.Shape, axis, batch)
	// Many indices into wide rows multiply: the output can dwarf both
	// inputs.
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, params.DType, shape...)
	g := gatherGeom{
		batches: arrProd(params.Shape[:batch]),
		outer:   arrProd(params.Shape[batch:axis]),
		dim:     dim,
		inner:   arrProd(params.Shape[axis+1:]),
	}
	err = gatherInto(out, params, idx, g)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

// gatherInto is gatherAs on out's dtype.
func gatherInto(out, params *classify.Tensor, idx []int, g gatherGeom) error {
	switch d := out.Data.(type) {
	case []float32:
		return gatherAs(d, params.Data, idx, g)
	case []int32:
		return gatherAs(d, params.Data, idx, g)
	case []int64:
		return gatherAs(d, params.Data, idx, g)
	case []bool:
		return gatherAs(d, params.Data, idx, g)
	case []uint8:
		return gatherAs(d, params.Data, idx, g)
	case []float64:
		return gatherAs(d, params.Data, idx, g)
	case []classify.F16:
		return gatherAs(d, params.Data, idx, g)
	case []classify.BF16:
		return gatherAs(d, params.Data, idx, g)
	case []int8:
		return gatherAs(d, params.Data, idx, g)
	case []int16:
		return gatherAs(d, params.Data, idx, g)
	case []uint16:
		return gatherAs(d, params.Data, idx, g)
	case []uint32:
		return gatherAs(d, params.Data, idx, g)
	case []uint64:
		return gatherAs(d, params.Data, idx, g)
	case []complex64:
		return gatherAs(d, params.Data, idx, g)
	case []complex128:
		return gatherAs(d, params.Data, idx, g)
	case [][]byte:
		return gatherAs(d, params.Data, idx, g)
	default:
		return fmt.Errorf("unsupported dtype %v", params.DType)
	}
}

// gatherShape is params.shape[:axis] + indices.shape[batch:] +
// params.shape[axis+1:].
func gatherShape(params, indices classify.Shape, axis, batch int) classify.Shape {
	s := make(classify.Shape, 0, len(params)-1+len(indices)-batch)
	s = append(s, params[:axis]...)
	s = append(s, indices[batch:]...)
	return append(s, params[axis+1:]...)
}

// gatherGeom views params as [batches, outer, dim, inner] and indices as
// [batches, n].
type gatherGeom struct{ batches, outer, dim, inner int }

// gatherAs copies, for each batch, outer index and (checked) index, one
// contiguous row of inner elements.
func gatherAs[T any](dst []T, srcData any, idx []int, g gatherGeom) error {
	src, ok := srcData.([]T)
	if !ok {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	n := len(idx) / max(g.batches, 1)
	o, row := 0, g.dim*g.inner
	for b := range g.batches {
		bidx := idx[b*n : (b+1)*n]
		for i := range g.outer {
			r := src[(b*g.outer+i)*row : (b*g.outer+i+1)*row]
			for _, j := range bidx {
				o += copy(dst[o:o+g.inner], r[j*g.inner:(j+1)*g.inner])
			}
		}
	}
	return nil
}

func (o *gatherOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	params, indices := in[0], in[1]
	if params.Shape == nil || indices.Shape == nil {
		return []classify.TensorInfo{{DType: params.DType}}, nil
	}
	axis, batch, err := o.dims(o.axis, o.known, len(params.Shape), len(indices.Shape))
	if err != nil {
		return nil, o.n.Errorf("params %v, indices %v: %v", params.Shape, indices.Shape, err)
	}
	if !o.known {
		return []classify.TensorInfo{{DType: params.DType, Shape: arrUnknown(len(params.Shape) - 1 + len(indices.Shape) - batch)}}, nil
	}
	return []classify.TensorInfo{{DType: params.DType, Shape: gatherShape(params.Shape, indices.Shape, axis, batch)}}, nil
}
