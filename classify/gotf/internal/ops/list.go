package ops

import (
	"github.com/classifyd/classifyd/classify"
)

// TensorList ops: the DT_VARIANT lists TF2 while loops (Keras LSTM/GRU)
// fill one step at a time. A list is immutable once made: SetItem returns a
// new list sharing the unchanged items, since an Op must not modify its
// inputs and a list may feed several consumers.
func init() {
	Register("TensorListReserve", buildList(2, listReserve))
	Register("TensorListFromTensor", buildList(2, listFromTensor))
	Register("TensorListSetItem", buildList(3, listSetItem))
	Register("TensorListGetItem", buildList(3, listGetItem))
	Register("TensorListStack", buildList(2, listStack))
	Register("TensorListLength", buildList(1, listLength))
	Register("TensorListElementShape", buildList(1, listElementShape))
}

// maxListLength bounds TensorListReserve: its length comes from a tensor
// the caller may control.
const maxListLength = 1 << 24

// tensorList is the value inside a DT_VARIANT tensor made by these ops.
type tensorList struct {
	dtype classify.DType
	shape classify.Shape // element shape: nil unknown rank, -1 unknown dims
	items []*classify.Tensor
}

func (l *tensorList) tensor() *classify.Tensor {
	return &classify.Tensor{DType: classify.Variant, Shape: classify.Shape{}, Data: []any{l}}
}

type listOp struct {
	n     *Node
	dtype classify.DType // element_dtype
	run   func(o *listOp, in []*classify.Tensor) (*classify.Tensor, error)
}

func buildList(inputs int, run func(o *listOp, in []*classify.Tensor) (*classify.Tensor, error)) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != inputs {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, inputs)
		}
		return &listOp{n: n, dtype: n.Type("element_dtype"), run: run}, nil
	}
}

func (o *listOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t, err := o.run(o, in)
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{t}, nil
}

// list unwraps input i.
func (o *listOp) list(t *classify.Tensor) (*tensorList, error) {
	if d, ok := t.Data.([]any); ok && len(d) == 1 {
		if l, ok := d[0].(*tensorList); ok {
			if o.dtype != classify.Invalid && l.dtype != o.dtype {
				return nil, o.n.InputErrorf("list of %v, the op wants %v", l.dtype, o.dtype)
			}
			return l, nil
		}
	}
	return nil, o.n.InputErrorf("input is %v %v, want a scalar TensorList variant", t.DType, t.Shape)
}

// elemShape reads an element_shape input: a scalar -1 is an unknown rank,
// -1 in a vector an unknown dimension.
func (o *listOp) elemShape(t *classify.Tensor) (classify.Shape, error) {
	if len(t.Shape) == 0 {
		v, err := arrScalarInt(t)
		if err != nil {
			return nil, o.n.InputErrorf("element_shape: %v", err)
		}
		if v != -1 {
			return nil, o.n.InputErrorf("scalar element_shape %d, want -1 (unknown rank)", v)
		}
		return nil, nil
	}
	dims, err := arrInts(t)
	if err != nil {
		return nil, o.n.InputErrorf("element_shape: %v", err)
	}
	for _, d := range dims {
		if d < -1 {
			return nil, o.n.InputErrorf("element_shape %v", dims)
		}
	}
	return classify.Shape(dims), nil
}

// mergeShapes combines two partial shapes, failing when they disagree.
func (o *listOp) mergeShapes(a, b classify.Shape) (classify.Shape, error) {
	if a == nil {
		return b.Clone(), nil
	}
	if b == nil {
		return a.Clone(), nil
	}
	if len(a) != len(b) {
		return nil, o.n.InputErrorf("element shapes %v and %v differ in rank", a, b)
	}
	m := a.Clone()
	for i := range m {
		d, ok := arrMergeDim(a[i], b[i])
		if !ok {
			return nil, o.n.InputErrorf("element shapes %v and %v disagree", a, b)
		}
		m[i] = d
	}
	return m, nil
}

func (o *listOp) index(t *classify.Tensor, n int) (int, error) {
	i, err := arrScalarInt(t)
	if err != nil {
		return 0, o.n.InputErrorf("index: %v", err)
	}
	if i < 0 || i >= n {
		return 0, o.n.InputErrorf("index %d out of range for a list of %d", i, n)
	}
	return i, nil
}

// zeros is the value of an item never set: TensorFlow reads it as zeros of
// the element shape, which must then be fully known.
func (o *listOp) zeros(shape classify.Shape, dt classify.DType) (*classify.Tensor, error) {
	if shape == nil || !arrKnown(shape) {
		return nil, o.n.InputErrorf("item was never set and the element shape %v is not fully known", shape)
	}
	if dt == classify.Invalid {
		return nil, o.n.InputErrorf("item was never set and the element dtype is unknown")
	}
	return classify.NewTensor(dt, shape...), nil
}

func listReserve(o *listOp, in []*classify.Tensor) (*classify.Tensor, error) {
	shape, err := o.elemShape(in[0])
	if err != nil {
		return nil, err
	}
	n, err := arrScalarInt(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("num_elements: %v", err)
	}
	if n < 0 || n > maxListLength {
		return nil, o.n.InputErrorf("num_elements %d, want 0..%d", n, maxListLength)
	}
	return (&tensorList{dtype: o.dtype, shape: shape, items: make([]*classify.Tensor, n)}).tensor(), nil
}

func listFromTensor(o *listOp, in []*classify.Tensor) (*classify.Tensor, error) {
	t := in[0]
	if len(t.Shape) == 0 {
		return nil, o.n.InputErrorf("tensor must be at least a vector, got a scalar")
	}
	shape, err := o.elemShape(in[1])
	if err != nil {
		return nil, err
	}
	if shape, err = o.mergeShapes(shape, t.Shape[1:]); err != nil {
		return nil, err
	}
	l := &tensorList{dtype: t.DType, shape: shape, items: make([]*classify.Tensor, t.Shape[0])}
	for i := range l.items {
		l.items[i] = arrView(t, i*shape.NumElements(), t.Shape[1:]).Clone()
	}
	return l.tensor(), nil
}

func listSetItem(o *listOp, in []*classify.Tensor) (*classify.Tensor, error) {
	l, err := o.list(in[0])
	if err != nil {
		return nil, err
	}
	i, err := o.index(in[1], len(l.items))
	if err != nil {
		return nil, err
	}
	item := in[2]
	if l.dtype != classify.Invalid && item.DType != l.dtype {
		return nil, o.n.InputErrorf("item of %v into a list of %v", item.DType, l.dtype)
	}
	if _, err := o.mergeShapes(l.shape, item.Shape); err != nil {
		return nil, err
	}
	nl := &tensorList{dtype: item.DType, shape: l.shape, items: append([]*classify.Tensor(nil), l.items...)}
	// The item may sit in a kernel buffer the next run overwrites.
	nl.items[i] = item.Clone()
	return nl.tensor(), nil
}

func listGetItem(o *listOp, in []*classify.Tensor) (*classify.Tensor, error) {
	l, err := o.list(in[0])
	if err != nil {
		return nil, err
	}
	i, err := o.index(in[1], len(l.items))
	if err != nil {
		return nil, err
	}
	if it := l.items[i]; it != nil {
		return it, nil
	}
	shape, err := o.elemShape(in[2])
	if err != nil {
		return nil, err
	}
	if shape, err = o.mergeShapes(l.shape, shape); err != nil {
		return nil, err
	}
	return o.zeros(shape, o.dtype)
}

func listStack(o *listOp, in []*classify.Tensor) (*classify.Tensor, error) {
	l, err := o.list(in[0])
	if err != nil {
		return nil, err
	}
	shape, err := o.elemShape(in[1])
	if err != nil {
		return nil, err
	}
	if shape, err = o.mergeShapes(l.shape, shape); err != nil {
		return nil, err
	}
	if want := int(o.n.Int("num_elements", -1)); want >= 0 && want != len(l.items) {
		return nil, o.n.InputErrorf("list has %d elements, num_elements is %d", len(l.items), want)
	}
	for _, it := range l.items {
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
	dt := l.dtype
	if dt == classify.Invalid {
		dt = o.dtype
	}
	if dt == classify.Invalid {
		return nil, o.n.InputErrorf("cannot stack: element dtype unknown")
	}
	if n := len(l.items) * shape.NumElements(); n > arrMaxElements {
		return nil, o.n.InputErrorf("stack of %d elements exceeds the limit of %d", n, arrMaxElements)
	}
	out := classify.NewTensor(dt, append([]int{len(l.items)}, shape...)...)
	size := shape.NumElements()
	for i, it := range l.items {
		if it == nil {
			continue // zeros, as TensorFlow reads unset items
		}
		if err := arrCopy(1, []int{size}, out, arrRegion{Off: i * size, Str: []int{1}}, it, arrRegion{Str: []int{1}}); err != nil {
			return nil, o.n.InputErrorf("stack item %d: %v", i, err)
		}
	}
	return out, nil
}

func listLength(o *listOp, in []*classify.Tensor) (*classify.Tensor, error) {
	l, err := o.list(in[0])
	if err != nil {
		return nil, err
	}
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{int32(len(l.items))}}, nil
}

func listElementShape(o *listOp, in []*classify.Tensor) (*classify.Tensor, error) {
	l, err := o.list(in[0])
	if err != nil {
		return nil, err
	}
	dims := []int64{-1}
	shape := classify.Shape{}
	if l.shape != nil {
		dims = dims[:0]
		for _, d := range l.shape {
			dims = append(dims, int64(d))
		}
		shape = classify.Shape{len(dims)}
	}
	if o.n.Type("shape_type") == classify.Int64 {
		return &classify.Tensor{DType: classify.Int64, Shape: shape, Data: dims}, nil
	}
	d32 := make([]int32, len(dims))
	for i, d := range dims {
		d32[i] = int32(d)
	}
	return &classify.Tensor{DType: classify.Int32, Shape: shape, Data: d32}, nil
}
