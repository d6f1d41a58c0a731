package ops

// Ops that are other ops with an input in another form: MaxPoolV2 is
// MaxPool with ksize and strides as (constant) inputs, Reverse is
// ReverseV2 with a bool per dimension instead of a list of axes, and
// EuclideanNorm is the square root of Sum over the squares. Each builds
// the op it stands for and hands it the converted inputs.

import (
	"math"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func init() {
	Register("MaxPoolV2", buildMaxPoolV2)
	Register("Reverse", buildReverseV1)
	Register("EuclideanNorm", buildEuclideanNorm)
}

// withAttrs returns a copy of n for the op it stands for.
func withAttrs(n *Node, nin int, set map[string]any) *Node {
	m := &Node{Name: n.Name, Op: n.Op, NumInputs: nin, Attr: map[string]*apb.AttrValue{}}
	for k, v := range n.Attr {
		m.Attr[k] = v
	}
	for k, v := range set {
		m.Attr[k] = graphdef.Attr(v)
	}
	return m
}

// ---- MaxPoolV2 ----

type maxPoolV2 struct{ inner Op }

func buildMaxPoolV2(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("want 3 inputs (input, ksize, strides), have %d", n.NumInputs)
	}
	var lists [2][]int64
	for i, what := range []string{"ksize", "strides"} {
		c := consts[i+1]
		if c == nil {
			return nil, n.Errorf("%s must be a constant", what)
		}
		v, err := arrInts(c)
		if err != nil || len(c.Shape) != 1 {
			return nil, n.Errorf("%s must be an int32 vector, is %v %v", what, c.DType, c.Shape)
		}
		for _, x := range v {
			lists[i] = append(lists[i], int64(x))
		}
	}
	inner, err := buildPool(true)(withAttrs(n, 1, map[string]any{"ksize": lists[0], "strides": lists[1]}), consts[:1])
	if err != nil {
		return nil, err
	}
	return &maxPoolV2{inner}, nil
}

func (o *maxPoolV2) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	return o.inner.Run(ctx, in[:1])
}

func (o *maxPoolV2) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return o.inner.(Shaper).OutputInfo(in[:1])
}

func (o *maxPoolV2) FLOPs(in []classify.Shape) int64 {
	if f, ok := o.inner.(Flopper); ok && len(in) > 0 {
		return f.FLOPs(in[:1])
	}
	return 0
}

// ---- Reverse ----

type reverseV1 struct {
	n     *Node
	inner Op
}

func buildReverseV1(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("want 2 inputs (tensor, dims), have %d", n.NumInputs)
	}
	b, ok := Lookup("ReverseV2")
	if !ok {
		return nil, n.Errorf("ReverseV2 is not registered")
	}
	inner, err := b(withAttrs(n, 2, map[string]any{"Tidx": classify.Int32}), make([]*classify.Tensor, 2))
	if err != nil {
		return nil, err
	}
	return &reverseV1{n: n, inner: inner}, nil
}

func (o *reverseV1) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

func (o *reverseV1) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, dims := in[0], in[1]
	if dims.DType != classify.Bool || len(dims.Shape) != 1 || dims.Shape[0] != len(x.Shape) {
		return nil, o.n.InputErrorf("dims must be a bool vector of the tensor's rank %d, is %v %v", len(x.Shape), dims.DType, dims.Shape)
	}
	var axes []int32
	for i, b := range dims.Bools() {
		if b {
			axes = append(axes, int32(i))
		}
	}
	return o.inner.Run(ctx, []*classify.Tensor{x, {DType: classify.Int32, Shape: classify.Shape{len(axes)}, Data: axes}})
}

// ---- EuclideanNorm ----

type euclideanNorm struct {
	n   *Node
	sum Op
}

func buildEuclideanNorm(n *Node, consts []*classify.Tensor) (Op, error) {
	switch dt := n.Type("T"); dt {
	case classify.Invalid, classify.Float32, classify.Float64:
	default:
		return nil, n.Errorf("T %v not supported (float32, float64)", dt)
	}
	b, ok := Lookup("Sum")
	if !ok {
		return nil, n.Errorf("Sum is not registered")
	}
	sum, err := b(n, consts)
	if err != nil {
		return nil, err
	}
	return &euclideanNorm{n: n, sum: sum}, nil
}

func (o *euclideanNorm) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if s, ok := o.sum.(Shaper); ok {
		return s.OutputInfo(in)
	}
	return []classify.TensorInfo{{DType: in[0].DType}}, nil
}

func (o *euclideanNorm) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	sq := &classify.Tensor{DType: x.DType, Shape: x.Shape}
	switch d := x.Data.(type) {
	case []float32:
		s := make([]float32, len(d))
		for i, v := range d {
			s[i] = v * v
		}
		sq.Data = s
	case []float64:
		s := make([]float64, len(d))
		for i, v := range d {
			s[i] = v * v
		}
		sq.Data = s
	default:
		return nil, o.n.InputErrorf("input of %v not supported (float32, float64)", x.DType)
	}
	out, err := o.sum.Run(ctx, []*classify.Tensor{sq, in[1]})
	if err != nil {
		return nil, err
	}
	// The sum is this node's own output buffer: take the root in place.
	switch d := out[0].Data.(type) {
	case []float32:
		for i, v := range d {
			d[i] = float32(math.Sqrt(float64(v)))
		}
	case []float64:
		for i, v := range d {
			d[i] = math.Sqrt(v)
		}
	}
	return out, nil
}
