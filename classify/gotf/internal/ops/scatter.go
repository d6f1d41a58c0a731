package ops

// N-dimensional indexing: GatherNd (slices of params picked by index
// tuples), ScatterNd (updates summed into zeros at index tuples) and
// SparseToDense (values written over a default at index tuples). An index
// tuple of length M addresses the first M dimensions; the rest of the
// dimensions are the slice each tuple moves. Indices out of range are an
// error, as on TensorFlow's CPU (bad_indices_policy IGNORE instead skips
// them, leaving zeros).

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("GatherNd", buildGatherNd)
	Register("ScatterNd", buildScatterNd)
	Register("SparseToDense", buildSparseToDense)
}

// ndPolicy reads bad_indices_policy: ignore is true for IGNORE.
func ndPolicy(n *Node) (ignore bool, err error) {
	switch p := n.String("bad_indices_policy", ""); p {
	case "", "DEFAULT", "ERROR":
		return false, nil
	case "IGNORE":
		return true, nil
	default:
		return false, n.Errorf("bad_indices_policy %q", p)
	}
}

// ndOffsets turns the index tuples (rows of m ints) into offsets of the
// slices they address in a tensor of dims, in units of slices (-1 for a
// skipped bad tuple). It names the first bad tuple without echoing data.
func ndOffsets(idx []int, m int, dims []int, ignore bool) ([]int, error) {
	if m == 0 {
		return make([]int, 0), nil
	}
	offs := make([]int, len(idx)/m)
	for i := range offs {
		off := 0
	tuple:
		for j := range m {
			v := idx[i*m+j]
			if v < 0 || v >= dims[j] {
				if ignore {
					off = -1
					break tuple
				}
				return nil, fmt.Errorf("index tuple %d has %d at position %d, not in [0, %d)", i, v, j, dims[j])
			}
			off = off*dims[j] + v
		}
		offs[i] = off
	}
	return offs, nil
}

// ---- GatherNd ----

type gatherNdOp struct {
	n      *Node
	ignore bool
}

func buildGatherNd(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (params, indices), has %d", n.NumInputs)
	}
	if b := n.Int("batch_dims", 0); b != 0 {
		return nil, fmt.Errorf("node %q (%s): %w: batch_dims %d", n.Name, n.Op, classify.ErrUnsupportedOp, b)
	}
	ignore, err := ndPolicy(n)
	if err != nil {
		return nil, err
	}
	return &gatherNdOp{n: n, ignore: ignore}, nil
}

// gatherNdShape is indices.shape[:-1] + params.shape[m:].
func gatherNdShape(params, indices classify.Shape) (classify.Shape, error) {
	if len(indices) < 1 {
		return nil, fmt.Errorf("indices %v must have rank at least 1", indices)
	}
	m := indices[len(indices)-1]
	if m > len(params) {
		return nil, fmt.Errorf("index tuples of %d for params of rank %d", m, len(params))
	}
	s := append(classify.Shape{}, indices[:len(indices)-1]...)
	if m < 0 {
		return append(s, arrUnknown(len(params))...), nil
	}
	return append(s, params[m:]...), nil
}

func (o *gatherNdOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	p, i := in[0], in[1]
	if p.Shape == nil || i.Shape == nil {
		return []classify.TensorInfo{{DType: p.DType}}, nil
	}
	if m := i.Shape[len(i.Shape)-1:]; len(m) == 1 && m[0] < 0 {
		return []classify.TensorInfo{{DType: p.DType}}, nil
	}
	s, err := gatherNdShape(p.Shape, i.Shape)
	if err != nil {
		return nil, o.n.Errorf("params %v, indices %v: %v", p.Shape, i.Shape, err)
	}
	return []classify.TensorInfo{{DType: p.DType, Shape: s}}, nil
}

func (o *gatherNdOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	params, indices := in[0], in[1]
	shape, err := gatherNdShape(params.Shape, indices.Shape)
	if err != nil {
		return nil, o.n.InputErrorf("params %v, indices %v: %v", params.Shape, indices.Shape, err)
	}
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	idx, err := arrInts(indices)
	if err != nil {
		return nil, o.n.InputErrorf("indices: %v", err)
	}
	m := indices.Shape[len(indices.Shape)-1]
	var offs []int
	if m == 0 {
		// Empty tuples each pick the whole of params.
		offs = make([]int, arrProd(indices.Shape[:len(indices.Shape)-1]))
	} else if offs, err = ndOffsets(idx, m, params.Shape, o.ignore); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, params.DType, shape...)
	slice := arrProd(params.Shape[m:])
	switch d := out.Data.(type) {
	case []float32:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []float64:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []classify.F16:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []classify.BF16:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []int8:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []int16:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []uint16:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []uint32:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []uint64:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []complex64:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []complex128:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []int32:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []int64:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []uint8:
		err = gatherNdAs(d, params.Data, offs, slice)
	case []bool:
		err = gatherNdAs(d, params.Data, offs, slice)
	case [][]byte:
		err = gatherNdAs(d, params.Data, offs, slice)
	default:
		err = fmt.Errorf("unsupported dtype %v", params.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func gatherNdAs[T any](dst []T, srcData any, offs []int, slice int) error {
	src, ok := srcData.([]T)
	if !ok {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	var zero T
	for i, off := range offs {
		d := dst[i*slice : (i+1)*slice]
		if off < 0 {
			for j := range d {
				d[j] = zero
			}
			continue
		}
		copy(d, src[off*slice:(off+1)*slice])
	}
	return nil
}

// ---- ScatterNd ----

type scatterNdOp struct {
	n      *Node
	shape  []int // constant shape input, or nil
	ignore bool
}

func buildScatterNd(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs (indices, updates, shape), has %d", n.NumInputs)
	}
	ignore, err := ndPolicy(n)
	if err != nil {
		return nil, err
	}
	o := &scatterNdOp{n: n, ignore: ignore}
	if s, ok, err := arrConstInts(consts, 2); err != nil {
		return nil, n.Errorf("shape: %v", err)
	} else if ok {
		if err := arrCheckDims(s); err != nil {
			return nil, n.Errorf("shape: %v", err)
		}
		o.shape = s
	}
	return o, nil
}

func (o *scatterNdOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if o.shape == nil {
		return []classify.TensorInfo{{DType: in[1].DType}}, nil
	}
	return []classify.TensorInfo{{DType: in[1].DType, Shape: classify.Shape(o.shape).Clone()}}, nil
}

// ndCheckUpdates checks that updates is indices.shape[:-1] + shape[m:].
func ndCheckUpdates(indices, updates classify.Shape, shape []int) (int, error) {
	if len(indices) < 1 {
		return 0, fmt.Errorf("indices %v must have rank at least 1", indices)
	}
	m := indices[len(indices)-1]
	if m > len(shape) {
		return 0, fmt.Errorf("index tuples of %d for an output of rank %d", m, len(shape))
	}
	want := append(append(classify.Shape{}, indices[:len(indices)-1]...), shape[m:]...)
	if !want.Equal(updates) {
		return 0, fmt.Errorf("updates %v, want %v for indices %v and shape %v", updates, want, indices, classify.Shape(shape))
	}
	return m, nil
}

func (o *scatterNdOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	indices, updates := in[0], in[1]
	shape := o.shape
	if shape == nil {
		var err error
		if shape, err = arrInts(in[2]); err != nil {
			return nil, o.n.InputErrorf("shape: %v", err)
		}
		if err := arrCheckDims(shape); err != nil {
			return nil, o.n.InputErrorf("shape: %v", err)
		}
	}
	m, err := ndCheckUpdates(indices.Shape, updates.Shape, shape)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if m == 0 && arrProd(indices.Shape) == 0 && arrProd(indices.Shape[:len(indices.Shape)-1]) > 0 {
		return nil, o.n.InputErrorf("indices %v: index tuples must not be empty", indices.Shape)
	}
	idx, err := arrInts(indices)
	if err != nil {
		return nil, o.n.InputErrorf("indices: %v", err)
	}
	offs, err := ndOffsets(idx, m, shape, o.ignore)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, updates.DType, shape...)
	slice := arrProd(shape[m:])
	switch d := out.Data.(type) {
	case []float32:
		err = scatterNdAs(d, updates.Data, offs, slice)
	case []float64:
		err = scatterNdAs(d, updates.Data, offs, slice)
	case []int32:
		err = scatterNdAs(d, updates.Data, offs, slice)
	case []int64:
		err = scatterNdAs(d, updates.Data, offs, slice)
	case []uint8:
		err = scatterNdAs(d, updates.Data, offs, slice)
	default:
		err = fmt.Errorf("unsupported dtype %v", updates.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func scatterNdAs[T float32 | float64 | int32 | int64 | uint8](dst []T, srcData any, offs []int, slice int) error {
	src, ok := srcData.([]T)
	if !ok {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	clear(dst)
	for i, off := range offs {
		if off < 0 {
			continue
		}
		d := dst[off*slice : (off+1)*slice]
		for j, v := range src[i*slice : (i+1)*slice] {
			d[j] += v
		}
	}
	return nil
}

// ---- SparseToDense ----

type sparseToDenseOp struct {
	n        *Node
	shape    []int // constant output_shape, or nil
	validate bool
}

func buildSparseToDense(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 4 {
		return nil, n.Errorf("needs 4 inputs (sparse_indices, output_shape, sparse_values, default_value), has %d", n.NumInputs)
	}
	o := &sparseToDenseOp{n: n, validate: n.Bool("validate_indices", true)}
	if s, ok, err := arrConstInts(consts, 1); err != nil {
		return nil, n.Errorf("output_shape: %v", err)
	} else if ok {
		if err := arrCheckDims(s); err != nil {
			return nil, n.Errorf("output_shape: %v", err)
		}
		o.shape = s
	}
	return o, nil
}

func (o *sparseToDenseOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if o.shape == nil {
		return []classify.TensorInfo{{DType: in[2].DType}}, nil
	}
	return []classify.TensorInfo{{DType: in[2].DType, Shape: classify.Shape(o.shape).Clone()}}, nil
}

func (o *sparseToDenseOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	indices, values, def := in[0], in[2], in[3]
	shape := o.shape
	if shape == nil {
		if len(in[1].Shape) != 1 {
			return nil, o.n.InputErrorf("output_shape must be a vector, got shape %v", in[1].Shape)
		}
		var err error
		if shape, err = arrInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("output_shape: %v", err)
		}
		if err := arrCheckDims(shape); err != nil {
			return nil, o.n.InputErrorf("output_shape: %v", err)
		}
	}
	// sparse_indices is [n, rank], [n] (rank 1) or a scalar (one
	// element of a vector).
	var num, rank int
	switch len(indices.Shape) {
	case 0:
		num, rank = 1, 1
	case 1:
		num, rank = indices.Shape[0], 1
	case 2:
		num, rank = indices.Shape[0], indices.Shape[1]
	default:
		return nil, o.n.InputErrorf("sparse_indices %v must have rank at most 2", indices.Shape)
	}
	if rank != len(shape) {
		return nil, o.n.InputErrorf("sparse_indices %v index %d dimensions, output_shape has %d", indices.Shape, rank, len(shape))
	}
	if len(values.Shape) > 1 || len(values.Shape) == 1 && values.Shape[0] != num {
		return nil, o.n.InputErrorf("sparse_values %v, want a scalar or [%d]", values.Shape, num)
	}
	if len(def.Shape) != 0 || def.DType != values.DType {
		return nil, o.n.InputErrorf("default_value must be a %v scalar, got %v %v", values.DType, def.DType, def.Shape)
	}
	idx, err := arrInts(indices)
	if err != nil {
		return nil, o.n.InputErrorf("sparse_indices: %v", err)
	}
	offs, err := ndOffsets(idx, rank, shape, false)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if o.validate {
		// TensorFlow requires lexicographically increasing indices
		// (so no repeats); the flat offsets order the same way.
		for i := 1; i < len(offs); i++ {
			if offs[i] <= offs[i-1] {
				if offs[i] == offs[i-1] {
					return nil, o.n.InputErrorf("sparse_indices: tuple %d repeats tuple %d", i, i-1)
				}
				return nil, o.n.InputErrorf("sparse_indices: tuple %d is out of order", i)
			}
		}
	}
	out := ctx.Output(0, values.DType, shape...)
	scalar := len(values.Shape) == 0
	switch d := out.Data.(type) {
	case []float32:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []float64:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []classify.F16:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []classify.BF16:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []int8:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []int16:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []uint16:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []uint32:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []uint64:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []complex64:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []complex128:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []int32:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []int64:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []uint8:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	case []bool:
		err = sparseToDenseAs(d, values.Data, def.Data, offs, scalar)
	default:
		err = fmt.Errorf("unsupported dtype %v", values.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func sparseToDenseAs[T any](dst []T, valData, defData any, offs []int, scalar bool) error {
	vals, ok1 := valData.([]T)
	def, ok2 := defData.([]T)
	if !ok1 || !ok2 || len(def) != 1 {
		return fmt.Errorf("dtype mismatch: %T, %T into %T", valData, defData, dst)
	}
	for i := range dst {
		dst[i] = def[0]
	}
	for i, off := range offs {
		if scalar {
			dst[off] = vals[0]
		} else {
			dst[off] = vals[i]
		}
	}
	return nil
}
