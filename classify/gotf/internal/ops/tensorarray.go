package ops

import (
	"github.com/classifyd/classifyd/classify"
)

// TensorArrayV3 ops: the arrays TF1 while loops fill and read. TensorFlow
// keeps an array in a resource named by the handle and orders its reads and
// writes by a dummy float "flow" tensor each write returns. Here the flow
// carries the array itself, an immutable tensorList as the TensorList ops
// use: a write returns a new list sharing the unchanged items, so a flow
// threaded through a loop (an ordinary loop variable once control flow is
// functionalized) holds the array's state at that point, and reading an old
// flow gives the old state, as the flow dependency orders it in TensorFlow.
// The handle holds the array as it was made; the ops take the state from
// their flow input and only check the handle is an array.
func init() {
	Register("TensorArrayV3", buildTA(1, taCreate))
	Register("TensorArrayWriteV3", buildTA(4, taWrite))
	Register("TensorArrayReadV3", buildTA(3, taRead))
	Register("TensorArrayGatherV3", buildTA(3, taGather))
	Register("TensorArrayScatterV3", buildTA(4, taScatter))
	Register("TensorArraySizeV3", buildTA(2, taSize))
	Register("TensorArrayConcatV3", buildTA(2, taConcat))
	Register("TensorArraySplitV3", buildTA(4, taSplit))
	Register("TensorArrayCloseV3", buildTA(1, taClose))
}

// tensorArray is the list a flow carries plus TensorArrayV3's attributes.
type tensorArray struct {
	tensorList
	dynamic bool // dynamic_size: writes past the end grow the array
	// gradSource is the source attribute of the TensorArrayGradV3 that
	// made a gradient array (empty for forward arrays); writes to an
	// item already written add to it (tensorarray_grad.go).
	gradSource *string
}

func (a *tensorArray) tensor() *classify.Tensor {
	return &classify.Tensor{DType: classify.Variant, Shape: classify.Shape{}, Data: []any{a}}
}

type taOp struct {
	*listOp
	run func(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error)
}

func buildTA(inputs int, run func(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error)) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != inputs {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, inputs)
		}
		return &taOp{listOp: &listOp{n: n, dtype: n.Type("dtype")}, run: run}, nil
	}
}

func (o *taOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	return o.run(o, in)
}

// array unwraps a handle or flow input.
func (o *taOp) array(t *classify.Tensor, what string) (*tensorArray, error) {
	if d, ok := t.Data.([]any); ok && len(d) == 1 {
		if a, ok := d[0].(*tensorArray); ok {
			if o.dtype != classify.Invalid && a.dtype != classify.Invalid && a.dtype != o.dtype {
				return nil, o.n.InputErrorf("array of %v, the op wants %v", a.dtype, o.dtype)
			}
			return a, nil
		}
	}
	return nil, o.n.InputErrorf("%s is %v %v, want a TensorArray made by TensorArrayV3", what, t.DType, t.Shape)
}

// state checks the handle and returns the array the flow carries.
func (o *taOp) state(handle, flow *classify.Tensor) (*tensorArray, error) {
	if _, err := o.array(handle, "handle"); err != nil {
		return nil, err
	}
	return o.array(flow, "flow_in")
}

// with returns a copy of a whose items can be changed.
func (a *tensorArray) with() *tensorArray {
	return &tensorArray{tensorList: tensorList{dtype: a.dtype, shape: a.shape, items: append([]*classify.Tensor(nil), a.items...)}, dynamic: a.dynamic, gradSource: a.gradSource}
}

// set stores item at i, growing a dynamic array.
// Split stores items of different lengths and passes merge false.
func (o *taOp) set(a *tensorArray, i int, item *classify.Tensor, merge bool) error {
	if i < 0 || i >= maxListLength {
		return o.n.InputErrorf("index %d out of range", i)
	}
	if i >= len(a.items) {
		if !a.dynamic {
			return o.n.InputErrorf("index %d out of range for an array of size %d", i, len(a.items))
		}
		a.items = append(a.items, make([]*classify.Tensor, i+1-len(a.items))...)
	}
	if a.dtype != classify.Invalid && item.DType != a.dtype {
		return o.n.InputErrorf("writing %v into an array of %v", item.DType, a.dtype)
	}
	if merge {
		shape, err := o.mergeShapes(a.shape, item.Shape)
		if err != nil {
			return err
		}
		// Later items must match the first: the array's shape becomes
		// the item's, as stacking and gathering them requires.
		a.shape = shape
	}
	if a.gradSource != nil && a.items[i] != nil {
		sum, err := o.accumulate(a.items[i], item)
		if err != nil {
			return err
		}
		a.items[i] = sum
		return nil
	}
	// The item may sit in a kernel buffer the next run overwrites.
	a.items[i] = item.Clone()
	return nil
}

// get reads item i, zeros when it was never written.
func (o *taOp) get(a *tensorArray, i int) (*classify.Tensor, error) {
	if i < 0 || i >= len(a.items) {
		return nil, o.n.InputErrorf("index %d out of range for an array of size %d", i, len(a.items))
	}
	if it := a.items[i]; it != nil {
		return it, nil
	}
	shape, err := o.mergeShapes(a.shape, o.n.Shape("element_shape"))
	if err != nil {
		return nil, err
	}
	return o.zeros(shape, a.dtype)
}

func taCreate(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n, err := arrScalarInt(in[0])
	if err != nil {
		return nil, o.n.InputErrorf("size: %v", err)
	}
	if n < 0 || n > maxListLength {
		return nil, o.n.InputErrorf("size %d, want 0..%d", n, maxListLength)
	}
	a := &tensorArray{tensorList: tensorList{dtype: o.dtype, shape: o.n.Shape("element_shape"), items: make([]*classify.Tensor, n)},
		dynamic: o.n.Bool("dynamic_size", false)}
	t := a.tensor()
	return []*classify.Tensor{t, t}, nil
}

func taWrite(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := o.state(in[0], in[3])
	if err != nil {
		return nil, err
	}
	i, err := arrScalarInt(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("index: %v", err)
	}
	na := a.with()
	if err := o.set(na, i, in[2], true); err != nil {
		return nil, err
	}
	return []*classify.Tensor{na.tensor()}, nil
}

func taRead(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := o.state(in[0], in[2])
	if err != nil {
		return nil, err
	}
	i, err := arrScalarInt(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("index: %v", err)
	}
	it, err := o.get(a, i)
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{it}, nil
}

// stack packs items (zeros for unwritten ones) along a new first axis.
func (o *taOp) stack(a *tensorArray, items []*classify.Tensor, dt classify.DType) (*classify.Tensor, error) {
	shape, err := o.mergeShapes(a.shape, o.n.Shape("element_shape"))
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if it == nil {
			continue
		}
		if shape, err = o.mergeShapes(shape, it.Shape); err != nil {
			return nil, err
		}
	}
	if shape == nil || !arrKnown(shape) {
		return nil, o.n.InputErrorf("cannot stack: element shape %v not known", shape)
	}
	if dt == classify.Invalid {
		return nil, o.n.InputErrorf("cannot stack: element dtype unknown")
	}
	if n := len(items) * shape.NumElements(); n > arrMaxElements {
		return nil, o.n.InputErrorf("stack of %d elements exceeds the limit of %d", n, arrMaxElements)
	}
	out := classify.NewTensor(dt, append([]int{len(items)}, shape...)...)
	size := shape.NumElements()
	for i, it := range items {
		if it == nil || size == 0 {
			continue
		}
		if err := arrCopy(1, []int{size}, out, arrRegion{Off: i * size, Str: []int{1}}, it, arrRegion{Str: []int{1}}); err != nil {
			return nil, o.n.InputErrorf("item %d: %v", i, err)
		}
	}
	return out, nil
}

func (a *tensorArray) dtypeOr(dt classify.DType) classify.DType {
	if a.dtype != classify.Invalid {
		return a.dtype
	}
	return dt
}

func taGather(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := o.state(in[0], in[2])
	if err != nil {
		return nil, err
	}
	idx, err := arrInts(in[1])
	if err != nil || len(in[1].Shape) != 1 {
		return nil, o.n.InputErrorf("indices must be an int vector, got %v %v", in[1].DType, in[1].Shape)
	}
	items := make([]*classify.Tensor, len(idx))
	for k, i := range idx {
		if i < 0 || i >= len(a.items) {
			return nil, o.n.InputErrorf("index %d out of range for an array of size %d", i, len(a.items))
		}
		items[k] = a.items[i]
	}
	out, err := o.stack(a, items, a.dtypeOr(o.dtype))
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

func taScatter(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := o.state(in[0], in[3])
	if err != nil {
		return nil, err
	}
	idx, err := arrInts(in[1])
	if err != nil || len(in[1].Shape) != 1 {
		return nil, o.n.InputErrorf("indices must be an int vector, got %v %v", in[1].DType, in[1].Shape)
	}
	v := in[2]
	if len(v.Shape) == 0 || v.Shape[0] != len(idx) {
		return nil, o.n.InputErrorf("value of shape %v for %d indices", v.Shape, len(idx))
	}
	na := a.with()
	elem := v.Shape[1:]
	for k, i := range idx {
		if err := o.set(na, i, arrView(v, k*elem.NumElements(), elem), true); err != nil {
			return nil, err
		}
	}
	return []*classify.Tensor{na.tensor()}, nil
}

func taSize(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := o.state(in[0], in[1])
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{int32(len(a.items))}}}, nil
}

func taConcat(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := o.state(in[0], in[1])
	if err != nil {
		return nil, err
	}
	dt := a.dtypeOr(o.dtype)
	if dt == classify.Invalid {
		return nil, o.n.InputErrorf("cannot concat: element dtype unknown")
	}
	rest := o.n.Shape("element_shape_except0")
	total := 0
	lengths := make([]int64, len(a.items))
	for i, it := range a.items {
		if it == nil {
			return nil, o.n.InputErrorf("item %d was never written", i)
		}
		if len(it.Shape) == 0 {
			return nil, o.n.InputErrorf("item %d is a scalar, concat needs vectors or more", i)
		}
		if rest, err = o.mergeShapes(rest, it.Shape[1:]); err != nil {
			return nil, err
		}
		lengths[i] = int64(it.Shape[0])
		total += it.Shape[0]
	}
	if rest == nil || !arrKnown(rest) {
		return nil, o.n.InputErrorf("cannot concat an empty array of unknown element shape")
	}
	if total*rest.NumElements() > arrMaxElements {
		return nil, o.n.InputErrorf("concat of %d elements exceeds the limit of %d", total*rest.NumElements(), arrMaxElements)
	}
	out := classify.NewTensor(dt, append([]int{total}, rest...)...)
	off := 0
	for i, it := range a.items {
		n := it.Shape.NumElements()
		if n > 0 {
			if err := arrCopy(1, []int{n}, out, arrRegion{Off: off, Str: []int{1}}, it, arrRegion{Str: []int{1}}); err != nil {
				return nil, o.n.InputErrorf("item %d: %v", i, err)
			}
		}
		off += n
	}
	return []*classify.Tensor{out, {DType: classify.Int64, Shape: classify.Shape{len(lengths)}, Data: lengths}}, nil
}

func taSplit(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := o.state(in[0], in[3])
	if err != nil {
		return nil, err
	}
	v := in[1]
	lengths, err := arrInts(in[2])
	if err != nil || len(in[2].Shape) != 1 {
		return nil, o.n.InputErrorf("lengths must be an int vector, got %v %v", in[2].DType, in[2].Shape)
	}
	if len(v.Shape) == 0 {
		return nil, o.n.InputErrorf("value is a scalar, split needs a vector or more")
	}
	sum := 0
	for _, l := range lengths {
		if l < 0 {
			return nil, o.n.InputErrorf("negative length %d", l)
		}
		sum += l
	}
	if sum != v.Shape[0] {
		return nil, o.n.InputErrorf("lengths sum to %d, value has %d rows", sum, v.Shape[0])
	}
	na := a.with()
	row := v.Shape[1:].NumElements()
	off := 0
	for i, l := range lengths {
		shape := append(classify.Shape{l}, v.Shape[1:]...)
		if err := o.set(na, i, arrView(v, off*row, shape), false); err != nil {
			return nil, err
		}
		off += l
	}
	return []*classify.Tensor{na.tensor()}, nil
}

func taClose(o *taOp, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if _, err := o.array(in[0], "handle"); err != nil {
		return nil, err
	}
	return nil, nil
}
