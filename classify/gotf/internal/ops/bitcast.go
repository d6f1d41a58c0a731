package ops

// Bitcast reinterprets a tensor's bytes as another numeric dtype, as
// TensorFlow's Bitcast does (in host byte order, as TensorFlow's CPU kernel
// shares the buffer): equal sizes keep the shape; a wider input gains an
// innermost dimension of size in/out; a narrower input must end in a
// dimension of size out/in, which goes. The kernel knows no dtype by name:
// any dtype with a fixed element size (DType.Size) whose data is a slice of
// elements of that size can take part, bool excepted as in TensorFlow.

import (
	"reflect"
	"unsafe"

	"github.com/classifyd/classifyd/classify"
)

type bitcastOp struct {
	n        *Node
	from, to classify.DType
}

// bitcastable reports whether Bitcast accepts dt.
func bitcastable(dt classify.DType) bool {
	return dt != classify.Bool && dt.Size() > 0
}

func buildBitcast(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
	}
	o := &bitcastOp{n: n, from: n.Type("T"), to: n.Type("type")}
	if !bitcastable(o.to) {
		return nil, n.Errorf("type %v not supported (a numeric dtype of fixed size)", o.to)
	}
	if o.from != classify.Invalid && !bitcastable(o.from) {
		return nil, n.Errorf("T %v not supported (a numeric dtype of fixed size)", o.from)
	}
	return o, nil
}

// outShape is the bitcast shape of s (whose dims may be -1) from a dtype of
// size fs bytes.
func (o *bitcastOp) outShape(s classify.Shape, fs int, fail func(string, ...any) error) (classify.Shape, error) {
	ts := o.to.Size()
	switch {
	case fs == ts:
		return s.Clone(), nil
	case fs > ts:
		if fs%ts != 0 {
			return nil, fail("cannot bitcast %v to %v: sizes %d and %d", o.from, o.to, fs, ts)
		}
		return append(s.Clone(), fs/ts), nil
	}
	if ts%fs != 0 {
		return nil, fail("cannot bitcast %v to %v: sizes %d and %d", o.from, o.to, fs, ts)
	}
	if len(s) == 0 || s[len(s)-1] >= 0 && s[len(s)-1] != ts/fs {
		return nil, fail("cannot bitcast %v %v to %v: the last dimension must be %d", o.from, s, o.to, ts/fs)
	}
	return s[:len(s)-1].Clone(), nil
}

// OutputInfo implements Shaper.
func (o *bitcastOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	from := in[0].DType
	if from == classify.Invalid {
		from = o.from
	}
	if from == classify.Invalid || in[0].Shape == nil {
		return []classify.TensorInfo{{DType: o.to}}, nil
	}
	if !bitcastable(from) {
		return nil, o.n.Errorf("input dtype %v not supported (a numeric dtype of fixed size)", from)
	}
	s, err := o.outShape(in[0].Shape, from.Size(), o.n.Errorf)
	if err != nil {
		return nil, err
	}
	return []classify.TensorInfo{{DType: o.to, Shape: s}}, nil
}

// Run implements Op.
func (o *bitcastOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if !bitcastable(x.DType) || o.from != classify.Invalid && x.DType != o.from {
		return nil, o.n.InputErrorf("input dtype %v, want %v", x.DType, o.from)
	}
	s, err := o.outShape(x.Shape, x.DType.Size(), o.n.InputErrorf)
	if err != nil {
		return nil, err
	}
	src, ok := tensorBytes(x)
	if !ok {
		return nil, o.n.InputErrorf("input %v data of %T does not hold %d-byte elements", x.DType, x.Data, x.DType.Size())
	}
	y := ctx.Output(0, o.to, s...)
	dst, ok := tensorBytes(y)
	if !ok || len(dst) != len(src) {
		return nil, o.n.InputErrorf("output %v data of %T does not hold %d-byte elements", o.to, y.Data, o.to.Size())
	}
	copy(dst, src)
	return []*classify.Tensor{y}, nil
}

// tensorBytes is the memory of t's elements, when its data is a slice of
// elements of t.DType.Size() bytes each.
func tensorBytes(t *classify.Tensor) ([]byte, bool) {
	v := reflect.ValueOf(t.Data)
	if v.Kind() != reflect.Slice || int(v.Type().Elem().Size()) != t.DType.Size() {
		return nil, false
	}
	switch v.Type().Elem().Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
	default:
		// Pointers must never be forged from bytes.
		return nil, false
	}
	if v.Len() == 0 {
		return []byte{}, true
	}
	return unsafe.Slice((*byte)(v.UnsafePointer()), v.Len()*t.DType.Size()), true
}

func init() {
	Register("Bitcast", buildBitcast)
	// Bitcast knows a dtype only by its size, so the gated dtypes need
	// no code of their own here.
	allowDTypes("Bitcast", allNewDTypes...)
}
