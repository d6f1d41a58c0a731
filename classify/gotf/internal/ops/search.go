package ops

// Small array ops inference graphs carry: BroadcastArgs (the broadcast of
// two shapes), Roll (a cyclic shift along axes), Bucketize (the bucket of
// each value among sorted boundaries) and LowerBound/UpperBound (a
// searchsorted per row).

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("BroadcastArgs", buildBroadcastArgs)
	Register("Roll", buildRoll)
	Register("Bucketize", buildBucketize)
	Register("LowerBound", buildBound(false))
	Register("UpperBound", buildBound(true))
}

// ---- BroadcastArgs ----

type broadcastArgsOp struct{ n *Node }

func buildBroadcastArgs(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("want 2 inputs (s0, s1), have %d", n.NumInputs)
	}
	return &broadcastArgsOp{n}, nil
}

func (o *broadcastArgsOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: in[0].DType, Shape: classify.Shape{-1}}}, nil
}

func (o *broadcastArgsOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, b := in[0], in[1]
	if a.DType != b.DType || len(a.Shape) != 1 || len(b.Shape) != 1 {
		return nil, o.n.InputErrorf("s0 %v %v and s1 %v %v must be int vectors of one dtype", a.DType, a.Shape, b.DType, b.Shape)
	}
	sa, err := arrInts(a)
	if err != nil {
		return nil, o.n.InputErrorf("s0: %v", err)
	}
	sb, err := arrInts(b)
	if err != nil {
		return nil, o.n.InputErrorf("s1: %v", err)
	}
	for _, d := range append(slices.Clip(sa), sb...) {
		if d < 0 {
			return nil, o.n.InputErrorf("shapes %v and %v have a negative dimension", sa, sb)
		}
	}
	s, ok := bcastShapes(sa, sb)
	if !ok {
		return nil, o.n.InputErrorf("shapes %v and %v do not broadcast", classify.Shape(sa), classify.Shape(sb))
	}
	out := ctx.Output(0, a.DType, len(s))
	for i, d := range s {
		switch v := out.Data.(type) {
		case []int32:
			v[i] = int32(d)
		case []int64:
			v[i] = int64(d)
		}
	}
	return []*classify.Tensor{out}, nil
}

// ---- Roll ----

type rollOp struct{ n *Node }

func buildRoll(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("want 3 inputs (input, shift, axis), have %d", n.NumInputs)
	}
	return &rollOp{n}, nil
}

func (o *rollOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

func (o *rollOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	shift, err := arrInts(in[1])
	if err != nil || len(in[1].Shape) > 1 {
		return nil, o.n.InputErrorf("shift must be an int scalar or vector, is %v %v", in[1].DType, in[1].Shape)
	}
	axes, err := arrInts(in[2])
	if err != nil || len(in[2].Shape) > 1 {
		return nil, o.n.InputErrorf("axis must be an int scalar or vector, is %v %v", in[2].DType, in[2].Shape)
	}
	if len(shift) != len(axes) {
		return nil, o.n.InputErrorf("%d shifts for %d axes", len(shift), len(axes))
	}
	r := len(x.Shape)
	net := make([]int, r)
	for i, a := range axes {
		if a < -r || a >= r {
			return nil, o.n.InputErrorf("axis %d out of range for rank %d", a, r)
		}
		if a < 0 {
			a += r
		}
		if n := x.Shape[a]; n > 0 {
			// Shifts along an axis add; reduce before adding so that
			// no sum overflows.
			net[a] = ((net[a]+shift[i]%n)%n + n) % n
		}
	}
	src := reflect.ValueOf(x.Data)
	if src.Kind() != reflect.Slice {
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	dst := reflect.ValueOf(out.Data)
	reflect.Copy(dst, src)
	var tmp reflect.Value
	for a, s := range net {
		if s == 0 {
			continue
		}
		if !tmp.IsValid() {
			tmp = reflect.MakeSlice(dst.Type(), dst.Len(), dst.Len())
		}
		reflect.Copy(tmp, dst)
		n, inner := x.Shape[a], arrProd(x.Shape[a+1:])
		block := n * inner
		for base := 0; base < dst.Len(); base += block {
			// Elements [0, n-s) move to [s, n); [n-s, n) wrap to [0, s).
			reflect.Copy(dst.Slice(base+s*inner, base+block), tmp.Slice(base, base+(n-s)*inner))
			reflect.Copy(dst.Slice(base, base+s*inner), tmp.Slice(base+(n-s)*inner, base+block))
		}
	}
	return []*classify.Tensor{out}, nil
}

// ---- Bucketize ----

type bucketizeOp struct {
	n      *Node
	bounds []float64
}

func buildBucketize(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
	}
	o := &bucketizeOp{n: n}
	for _, b := range n.Floats("boundaries") {
		o.bounds = append(o.bounds, float64(b))
	}
	if !slices.IsSorted(o.bounds) {
		return nil, n.Errorf("boundaries %v are not sorted", n.Floats("boundaries"))
	}
	return o, nil
}

func (o *bucketizeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: classify.Int32, Shape: in[0].Shape.Clone()}}, nil
}

func (o *bucketizeOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	out := ctx.Output(0, classify.Int32, x.Shape...)
	dst := out.Int32s()
	// The bucket is the number of boundaries <= x. TensorFlow keeps the
	// boundaries as float32 and compares by C++'s arithmetic conversions:
	// integers as float32, float64 inputs against widened boundaries.
	b32 := make([]float32, len(o.bounds))
	for i, b := range o.bounds {
		b32[i] = float32(b)
	}
	bucket32 := func(v float32) int32 {
		return int32(sort.Search(len(b32), func(j int) bool { return b32[j] > v }))
	}
	switch d := x.Data.(type) {
	case []float32:
		for i, v := range d {
			dst[i] = bucket32(v)
		}
	case []float64:
		for i, v := range d {
			dst[i] = int32(sort.Search(len(o.bounds), func(j int) bool { return o.bounds[j] > v }))
		}
	case []int32:
		for i, v := range d {
			dst[i] = bucket32(float32(v))
		}
	case []int64:
		for i, v := range d {
			dst[i] = bucket32(float32(v))
		}
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v (float32, float64, int32, int64)", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

// ---- LowerBound / UpperBound ----

type boundOp struct {
	n     *Node
	upper bool
	out   classify.DType
}

func buildBound(upper bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("want 2 inputs (sorted_inputs, values), have %d", n.NumInputs)
		}
		o := &boundOp{n: n, upper: upper, out: n.Type("out_type")}
		if o.out == classify.Invalid {
			o.out = classify.Int32
		}
		if o.out != classify.Int32 && o.out != classify.Int64 {
			return nil, n.Errorf("out_type %v, want int32 or int64", o.out)
		}
		return o, nil
	}
}

func (o *boundOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: o.out, Shape: in[1].Shape.Clone()}}, nil
}

func (o *boundOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, v := in[0], in[1]
	if s.DType != v.DType {
		return nil, o.n.InputErrorf("sorted_inputs is %v, values %v", s.DType, v.DType)
	}
	if len(s.Shape) != 2 || len(v.Shape) != 2 || s.Shape[0] != v.Shape[0] {
		return nil, o.n.InputErrorf("sorted_inputs %v and values %v must be matrices with the same rows", s.Shape, v.Shape)
	}
	if o.out == classify.Int32 && s.Shape[1] > 1<<31-1 {
		return nil, o.n.InputErrorf("rows of %d do not fit int32 indices", s.Shape[1])
	}
	out := ctx.Output(0, o.out, v.Shape...)
	idx := make([]int, v.Len())
	var err error
	switch d := s.Data.(type) {
	case []float32:
		boundRows(idx, d, v.Data.([]float32), s.Shape[1], v.Shape[1], o.upper)
	case []float64:
		boundRows(idx, d, v.Data.([]float64), s.Shape[1], v.Shape[1], o.upper)
	case []int32:
		boundRows(idx, d, v.Data.([]int32), s.Shape[1], v.Shape[1], o.upper)
	case []int64:
		boundRows(idx, d, v.Data.([]int64), s.Shape[1], v.Shape[1], o.upper)
	case []uint8:
		boundRows(idx, d, v.Data.([]uint8), s.Shape[1], v.Shape[1], o.upper)
	default:
		err = fmt.Errorf("unsupported dtype %v", s.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	for i, p := range idx {
		switch d := out.Data.(type) {
		case []int32:
			d[i] = int32(p)
		case []int64:
			d[i] = int64(p)
		}
	}
	return []*classify.Tensor{out}, nil
}

// boundRows writes, for each value, the first position in its row of
// sorted where sorted >= value (lower) or > value (upper).
func boundRows[T cmp.Ordered](idx []int, sorted, vals []T, n, m int, upper bool) {
	for i := range idx {
		row := sorted[i/m*n:][:n]
		v := vals[i]
		if upper {
			idx[i] = sort.Search(n, func(j int) bool { return row[j] > v })
		} else {
			idx[i] = sort.Search(n, func(j int) bool { return row[j] >= v })
		}
	}
}
