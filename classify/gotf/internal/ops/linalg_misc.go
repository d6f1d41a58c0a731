package ops

// Cross, Diag, DiagPart and BatchMatMulV3: the linear-algebra ops that
// only move or multiply elements.
//
//   - Cross: a × b along the last axis (of size 3), a and b of one shape;
//     the integers wrap as TensorFlow's; float16/bfloat16 compute in
//     float32 and round once per component.
//   - Diag: a tensor of shape D (rank >= 1) becomes D+D with the input on
//     the diagonal; DiagPart is the inverse (rank 2k, both halves equal).
//     The output of Diag is bounded by maxLinalgElements.
//   - BatchMatMulV3 runs BatchMatMulV2's kernel. Ta = Tb = Tout uses it as
//     is; the mixed kernels TensorFlow's CPU registers (int8/uint8 ×
//     int8/uint8 → int32, bfloat16 × int8/uint8 → bfloat16, either side)
//     widen the narrow operand to Tout first, which is exact.

import (
	"fmt"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func init() {
	Register("Cross", buildCross)
	allowDTypes("Cross", newIntDTypes...)
	promote("Cross", "T", nil, halfDTypes...)
	Register("Diag", buildDiag)
	Register("DiagPart", buildDiag)
	allowDTypes("Diag", halfDTypes...)
	allowDTypes("DiagPart", halfDTypes...)
	Register("BatchMatMulV3", buildBatchMatMulV3)
	allowDTypes("BatchMatMulV3", allNewDTypes...)
}

type crossOp struct{ n *Node }

func buildCross(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	return crossOp{n: n}, nil
}

func (o crossOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, o.n.InputErrorf("want 2 inputs")
	}
	a, b := in[0], in[1]
	if a.DType != b.DType {
		return nil, o.n.InputErrorf("inputs are %v and %v", a.DType, b.DType)
	}
	if !a.Shape.Equal(b.Shape) {
		return nil, o.n.InputErrorf("both inputs must be of same shape: %v vs %v", a.Shape, b.Shape)
	}
	if len(a.Shape) < 1 || a.Shape[len(a.Shape)-1] != 3 {
		return nil, o.n.InputErrorf("the last dimension of the inputs must be 3, got shape %v", a.Shape)
	}
	if a.Len() != a.Shape.NumElements() || b.Len() != b.Shape.NumElements() {
		return nil, o.n.InputErrorf("element count does not match shape %v", a.Shape)
	}
	out := ctx.Output(0, a.DType, a.Shape...)
	var ok bool
	switch d := out.Data.(type) {
	case []float32:
		ok = crossT(d, a.Data, b.Data)
	case []float64:
		ok = crossT(d, a.Data, b.Data)
	case []int32:
		ok = crossT(d, a.Data, b.Data)
	case []int64:
		ok = crossT(d, a.Data, b.Data)
	case []uint8:
		ok = crossT(d, a.Data, b.Data)
	case []int8:
		ok = crossT(d, a.Data, b.Data)
	case []int16:
		ok = crossT(d, a.Data, b.Data)
	case []uint16:
		ok = crossT(d, a.Data, b.Data)
	case []uint32:
		ok = crossT(d, a.Data, b.Data)
	case []uint64:
		ok = crossT(d, a.Data, b.Data)
	}
	if !ok {
		return nil, o.n.InputErrorf("unsupported dtype %v", a.DType)
	}
	return []*classify.Tensor{out}, nil
}

type crossNum interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func crossT[T crossNum](d []T, av, bv any) bool {
	a, ok1 := av.([]T)
	b, ok2 := bv.([]T)
	if !ok1 || !ok2 {
		return false
	}
	for i := 0; i+3 <= len(d); i += 3 {
		a0, a1, a2 := a[i], a[i+1], a[i+2]
		b0, b1, b2 := b[i], b[i+1], b[i+2]
		d[i] = a1*b2 - a2*b1
		d[i+1] = a2*b0 - a0*b2
		d[i+2] = a0*b1 - a1*b0
	}
	return true
}

type diagOpLA struct {
	n    *Node
	part bool
}

func buildDiag(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	if dt := n.Type("T"); dt != classify.Invalid && !diagDType(dt) {
		return nil, fmt.Errorf("node %q (%s): %w: dtype %v", n.Name, n.Op, classify.ErrUnsupportedOp, dt)
	}
	return &diagOpLA{n: n, part: n.Op == "DiagPart"}, nil
}

// diagDType: the dtypes of TensorFlow's Diag/DiagPart CPU kernels (less
// complex).
func diagDType(dt classify.DType) bool {
	switch dt {
	case classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Float16, classify.BFloat16:
		return true
	}
	return false
}

func (o *diagOpLA) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	x := in[0]
	if x.Shape == nil {
		return []classify.TensorInfo{{DType: x.DType}}, nil
	}
	if o.part {
		r := len(x.Shape)
		if r == 0 || r%2 != 0 {
			return nil, o.n.Errorf("input rank must be even and positive, got shape %v", x.Shape)
		}
		return []classify.TensorInfo{{DType: x.DType, Shape: x.Shape[:r/2].Clone()}}, nil
	}
	if len(x.Shape) == 0 {
		return nil, o.n.Errorf("input must be at least rank 1")
	}
	return []classify.TensorInfo{{DType: x.DType, Shape: append(x.Shape.Clone(), x.Shape...)}}, nil
}

func (o *diagOpLA) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 || in[0] == nil {
		return nil, o.n.InputErrorf("want 1 input")
	}
	x := in[0]
	if !diagDType(x.DType) {
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	if x.Len() != x.Shape.NumElements() {
		return nil, o.n.InputErrorf("%d elements for shape %v", x.Len(), x.Shape)
	}
	var out *classify.Tensor
	var n int
	if o.part {
		r := len(x.Shape)
		if r == 0 || r%2 != 0 {
			return nil, o.n.InputErrorf("input rank must be even and positive, got shape %v", x.Shape)
		}
		if !x.Shape[:r/2].Equal(x.Shape[r/2:]) {
			return nil, o.n.InputErrorf("invalid shape %v: the first half of the dimensions must equal the second half", x.Shape)
		}
		n = arrProd(x.Shape[:r/2])
		out = ctx.Output(0, x.DType, x.Shape[:r/2]...)
	} else {
		if len(x.Shape) == 0 {
			return nil, o.n.InputErrorf("input must be at least rank 1, got a scalar")
		}
		n = x.Len()
		if float64(n)*float64(n) > maxLinalgElements {
			return nil, o.n.InputErrorf("output of %d×%d elements is more than %d", n, n, maxLinalgElements)
		}
		out = ctx.Output(0, x.DType, append(x.Shape.Clone(), x.Shape...)...)
	}
	var ok bool
	switch x.Data.(type) {
	case []float32:
		ok = diagMove[float32](out.Data, x.Data, n, o.part)
	case []float64:
		ok = diagMove[float64](out.Data, x.Data, n, o.part)
	case []int32:
		ok = diagMove[int32](out.Data, x.Data, n, o.part)
	case []int64:
		ok = diagMove[int64](out.Data, x.Data, n, o.part)
	case []classify.F16:
		ok = diagMove[classify.F16](out.Data, x.Data, n, o.part)
	case []classify.BF16:
		ok = diagMove[classify.BF16](out.Data, x.Data, n, o.part)
	}
	if !ok {
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

func diagMove[T any](dst, src any, n int, part bool) bool {
	d, ok1 := dst.([]T)
	s, ok2 := src.([]T)
	if !ok1 || !ok2 {
		return false
	}
	if part {
		for i := range n {
			d[i] = s[i*n+i]
		}
		return true
	}
	clear(d)
	for i := range n {
		d[i*n+i] = s[i]
	}
	return true
}

// bmmV3 runs BatchMatMulV2's kernel on inputs widened to Tout.
type bmmV3 struct {
	n      *Node
	op     Op
	ta, tb classify.DType
	tout   classify.DType
}

// bmmV3Widen reports whether TensorFlow's CPU has a BatchMatMulV3 kernel
// for operands of dtype t and output tout with t != tout, which then widens
// exactly.
func bmmV3Widen(t, tout classify.DType) bool {
	switch tout {
	case classify.Int32:
		return t == classify.Int8 || t == classify.Uint8
	case classify.BFloat16:
		return t == classify.Int8 || t == classify.Uint8
	}
	return false
}

func buildBatchMatMulV3(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	ta, tb, tout := n.Type("Ta"), n.Type("Tb"), n.Type("Tout")
	if ta == classify.Invalid || tb == classify.Invalid || tout == classify.Invalid {
		return nil, n.Errorf("needs the attributes Ta, Tb and Tout")
	}
	for _, t := range []classify.DType{ta, tb} {
		if t != tout && !bmmV3Widen(t, tout) {
			return nil, fmt.Errorf("node %q (%s): %w: Ta %v, Tb %v, Tout %v (TensorFlow has no such kernel)", n.Name, n.Op, classify.ErrUnsupportedOp, ta, tb, tout)
		}
	}
	if ta != tout && tb != tout && tout == classify.BFloat16 {
		return nil, fmt.Errorf("node %q (%s): %w: Ta %v, Tb %v, Tout %v (TensorFlow has no such kernel)", n.Name, n.Op, classify.ErrUnsupportedOp, ta, tb, tout)
	}
	inner := &Node{Name: n.Name, Op: "BatchMatMulV2", NumInputs: 2, Attr: map[string]*apb.AttrValue{
		"T": graphdef.Attr(tout), "adj_x": graphdef.Attr(n.Bool("adj_x", false)), "adj_y": graphdef.Attr(n.Bool("adj_y", false))}}
	b, ok := Lookup("BatchMatMulV2")
	if !ok {
		return nil, n.Errorf("BatchMatMulV2 is not registered")
	}
	wc := make([]*classify.Tensor, 2)
	for i, c := range consts {
		if c != nil && c.DType != tout {
			c = bmmV3Cast(c, tout)
		}
		wc[i] = c
	}
	op, err := b(inner, wc)
	if err != nil {
		return nil, fmt.Errorf("node %q (%s): %w", n.Name, n.Op, err)
	}
	return &bmmV3{n: n, op: op, ta: ta, tb: tb, tout: tout}, nil
}

func bmmV3Cast(x *classify.Tensor, dt classify.DType) *classify.Tensor {
	out := classify.NewTensor(dt, x.Shape...)
	castInto(&Ctx{Threads: 1}, out, x)
	return out
}

func (o *bmmV3) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 || in[0] == nil || in[1] == nil {
		return nil, o.n.InputErrorf("want 2 inputs")
	}
	w := make([]*classify.Tensor, 2)
	for i, want := range []classify.DType{o.ta, o.tb} {
		x := in[i]
		if x.DType != want {
			return nil, o.n.InputErrorf("input %d is %v, want %v", i, x.DType, want)
		}
		if x.Len() != x.Shape.NumElements() {
			return nil, o.n.InputErrorf("input %d: %d elements for shape %v", i, x.Len(), x.Shape)
		}
		if want != o.tout {
			x = bmmV3Cast(x, o.tout)
		}
		w[i] = x
	}
	out, err := o.op.Run(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("node %q (%s): %w", o.n.Name, o.n.Op, err)
	}
	return out, nil
}

// OutputInfo implements Shaper through BatchMatMulV2's, with the operands
// seen as Tout.
func (o *bmmV3) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s, ok := o.op.(Shaper)
	if !ok {
		return []classify.TensorInfo{{DType: o.tout}}, nil
	}
	w := make([]classify.TensorInfo, len(in))
	for i, t := range in {
		w[i] = t
		w[i].DType = o.tout
	}
	out, err := s.OutputInfo(w)
	if err != nil {
		return nil, fmt.Errorf("node %q (%s): %w", o.n.Name, o.n.Op, err)
	}
	return out, nil
}

// FLOPs implements Flopper through BatchMatMulV2's.
func (o *bmmV3) FLOPs(in []classify.Shape) int64 {
	if f, ok := o.op.(Flopper); ok {
		return f.FLOPs(in)
	}
	return 0
}
