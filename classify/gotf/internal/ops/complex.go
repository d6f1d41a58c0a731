package ops

// Complex numbers: the ops that build and take apart complex tensors
// (Complex, Real, Imag, ComplexAbs, Angle, Conj), the complex64 and
// complex128 kernels of the element-wise arithmetic ops and of
// ConjugateTranspose, and the complex declarations of the dtype-generic
// ops (array ops, Cast, matmul_generic.go's loops) and of those with a
// complex case of their own (Sum, Mean, Prod, AddN, Equal, NotEqual; the
// segment sums, products and means in segment.go and segment_sorted.go).
// complex_bias.go is BiasAdd on complex.
// complex_math.go adds the math ops TensorFlow's CPU kernels register for
// complex: Sin, Cos, Tan, Sinh, Cosh, Tanh, Asin, Atan, Asinh, Acosh,
// Atanh, Sigmoid, Rsqrt, Expm1, Log1p, Sign, Pow, SquaredDifference,
// Xdivy, Xlogy, Xlog1py, DivNoNan, MulNoNan, and the scans Cumsum and
// Cumprod (misc.go's loops). Acos has no complex kernel in TensorFlow
// (cwise_op_acos.cc) and refuses it, as do Erf and the other real-only
// math ops.
//
// The arithmetic ops keep their float32 kernels untouched: a node whose T
// is complex is built at load time by the kernel of complexOverrides
// instead (see gate in dtypes.go), on the broadcasting machinery of
// bmap.go, so the float paths pay nothing, not even a type test. A node
// with no T attribute that is fed a complex tensor at run time gets the
// real kernel's "unsupported dtype" error.
//
// Semantics follow std::complex as TensorFlow's Eigen kernels use it:
// Div and RealDiv are complex division, Sqrt and Exp the principal
// branches (math/cmplx), Log too with glibc's accuracy near |z| = 1
// (complex_math.go), Angle is atan2(imag, real), ComplexAbs is
// hypot(real, imag) (no overflow for large parts). complex64 values are
// computed in complex128 and rounded once, which is at least as accurate
// as Eigen's float arithmetic and may differ from it in the last bit.
// Abs is not defined on complex in TensorFlow (ComplexAbs is), so Abs
// refuses complex through the dtype gate.

import (
	"math"
	"math/cmplx"

	"github.com/classifyd/classifyd/classify"
)

// complexOverrides are the builders of ops for complex T.
var complexOverrides = map[string]Builder{}

// complexBuilder is the builder for n when its T is complex and its op has
// a complex kernel, else nil.
func complexBuilder(n *Node) Builder {
	b := complexOverrides[n.Op]
	if b == nil {
		return nil
	}
	if dt := n.Type("T"); dt == classify.Complex64 || dt == classify.Complex128 {
		return b
	}
	return nil
}

// complexOp bounds the broadcast output of a binary mapOp before the run
// allocates it.
type complexOp struct{ *mapOp }

func (o complexOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) == 2 {
		if s, ok := bcastShapes(in[0].Shape, in[1].Shape); ok {
			if err := arrCheckDims(s); err != nil {
				return nil, o.n.InputErrorf("%v", err)
			}
		}
	}
	return o.mapOp.Run(ctx, in)
}

// newComplexBinary builds a broadcasting binary op on complex operands
// from one function on complex128.
func newComplexBinary(f func(x, y complex128) complex128) Builder {
	spec := &mapSpec{typeAttr: "T", kern: map[classify.DType]mapKernel{
		classify.Complex64:  mapFn(func(x, y complex64) complex64 { return complex64(f(complex128(x), complex128(y))) }),
		classify.Complex128: mapFn(f),
	}}
	b := newMap(spec)
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		op, err := b(n, consts)
		if err != nil {
			return nil, err
		}
		return complexOp{op.(*mapOp)}, nil
	}
}

// newComplexUnary builds an element-wise op on complex operands from one
// function on complex128.
func newComplexUnary(f func(x complex128) complex128) Builder {
	return newUnMap(&unMapSpec{typeAttr: "T", kern: map[classify.DType]unMapKernel{
		classify.Complex64:  unFn(func(x complex64) complex64 { return complex64(f(complex128(x))) }),
		classify.Complex128: unFn(f),
	}})
}

// partsSpec is an op from complex T to real Tout (Real, Imag, ComplexAbs,
// Angle): complex64 gives float32, complex128 float64.
func partsSpec(f func(complex128) float64) *unMapSpec {
	return &unMapSpec{typeAttr: "T", kern: map[classify.DType]unMapKernel{
		classify.Complex64:  unFn(func(x complex64) float32 { return float32(f(complex128(x))) }),
		classify.Complex128: unFn(f),
	}}
}

// partsOp is a compiled Real, Imag, ComplexAbs or Angle node.
type partsOp struct {
	n    *Node
	spec *unMapSpec
}

func buildParts(f func(complex128) float64) Builder {
	spec := partsSpec(f)
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
		}
		t, tout := n.Type("T"), n.Type("Tout")
		if t == classify.Invalid {
			t = classify.Complex64
		}
		if spec.kern[t] == nil {
			return nil, n.Errorf("unsupported dtype %v (complex64, complex128)", t)
		}
		if want := complexPart(t); tout != classify.Invalid && tout != want {
			return nil, n.Errorf("Tout %v for T %v, want %v", tout, t, want)
		}
		return &partsOp{n: n, spec: spec}, nil
	}
}

// complexPart is the real dtype of a complex dtype's parts.
func complexPart(dt classify.DType) classify.DType {
	if dt == classify.Complex128 {
		return classify.Float64
	}
	return classify.Float32
}

// complexOf is the complex dtype whose parts are of dtype dt.
func complexOf(dt classify.DType) classify.DType {
	if dt == classify.Float64 {
		return classify.Complex128
	}
	return classify.Complex64
}

func (o *partsOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	dt := in[0].DType
	if dt == classify.Invalid {
		return []classify.TensorInfo{{Shape: in[0].Shape.Clone()}}, nil
	}
	if o.spec.kern[dt] == nil {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	return []classify.TensorInfo{{DType: complexPart(dt), Shape: in[0].Shape.Clone()}}, nil
}

func (o *partsOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	k := o.spec.kern[in[0].DType]
	if k == nil {
		return nil, o.n.InputErrorf("unsupported dtype %v (complex64, complex128)", in[0].DType)
	}
	out := ctx.Output(0, complexPart(in[0].DType), in[0].Shape...)
	k(out, in[0])
	return []*classify.Tensor{out}, nil
}

// complexMakeOp is a compiled Complex node: real and imag parts, of the
// same real dtype T, broadcast into a complex tensor.
type complexMakeOp struct {
	n    *Node
	spec *mapSpec
}

var complexMakeSpec = &mapSpec{kern: map[classify.DType]mapKernel{
	classify.Float32: mapFn(func(x, y float32) complex64 { return complex(x, y) }),
	classify.Float64: mapFn(func(x, y float64) complex128 { return complex(x, y) }),
}}

func buildComplex(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("want 2 inputs, have %d", n.NumInputs)
	}
	t, tout := n.Type("T"), n.Type("Tout")
	if t == classify.Invalid {
		t = classify.Float32
	}
	if complexMakeSpec.kern[t] == nil {
		return nil, n.Errorf("unsupported dtype %v (float32, float64)", t)
	}
	if want := complexOf(t); tout != classify.Invalid && tout != want {
		return nil, n.Errorf("Tout %v for T %v, want %v", tout, t, want)
	}
	return &complexMakeOp{n: n, spec: complexMakeSpec}, nil
}

func (o *complexMakeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, o.n.Errorf("want 2 inputs, have %d", len(in))
	}
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = in[1].DType
	}
	if in[1].DType != classify.Invalid && in[1].DType != dt {
		return nil, o.n.Errorf("dtype mismatch: %v and %v", dt, in[1].DType)
	}
	if dt != classify.Invalid && o.spec.kern[dt] == nil {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	odt := classify.Invalid
	if dt != classify.Invalid {
		odt = complexOf(dt)
	}
	if in[0].Shape == nil || in[1].Shape == nil {
		return []classify.TensorInfo{{DType: odt}}, nil
	}
	s, ok := bcastShapes(in[0].Shape, in[1].Shape)
	if !ok {
		return nil, o.n.Errorf("incompatible shapes %v and %v for broadcasting", in[0].Shape, in[1].Shape)
	}
	return []classify.TensorInfo{{DType: odt, Shape: s.Clone()}}, nil
}

func (o *complexMakeOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 {
		return nil, o.n.InputErrorf("want 2 inputs, have %d", len(in))
	}
	a, b := in[0], in[1]
	if a.DType != b.DType {
		return nil, o.n.InputErrorf("dtype mismatch: %v and %v", a.DType, b.DType)
	}
	k := o.spec.kern[a.DType]
	if k == nil {
		return nil, o.n.InputErrorf("unsupported dtype %v (float32, float64)", a.DType)
	}
	shape, ok := bcastShapes(a.Shape, b.Shape)
	if !ok {
		return nil, o.n.InputErrorf("incompatible shapes %v and %v for broadcasting", a.Shape, b.Shape)
	}
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	p, ok := planBroadcast(a.Shape, b.Shape, shape)
	if !ok {
		return nil, o.n.InputErrorf("broadcast of %v and %v has too many dimensions", a.Shape, b.Shape)
	}
	out := ctx.Output(0, complexOf(a.DType), shape...)
	k(&p, out, a, b)
	return []*classify.Tensor{out}, nil
}

// conjTransposeOp is ConjugateTranspose on complex input: a conjugated
// copy, transposed by Transpose's kernel (which may return its input
// unchanged for the identity permutation, so the copy is fresh each run).
type conjTransposeOp struct{ t Op }

func buildConjTranspose(n *Node, consts []*classify.Tensor) (Op, error) {
	b, _ := Lookup("Transpose")
	tn := *n
	tn.Op = "Transpose" // not ConjugateTranspose again through the gate
	t, err := b(&tn, consts)
	if err != nil {
		return nil, err
	}
	return conjTransposeOp{t}, nil
}

func (o conjTransposeOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) == 2 {
		in = []*classify.Tensor{conjTensor(in[0]), in[1]}
	}
	return o.t.Run(ctx, in)
}

// cdiv is complex division. Go's built-in division follows C99 Annex G
// for infinities and NaNs and scales to avoid overflow, as std::complex's
// does.
func cdiv(x, y complex128) complex128 { return x / y }

func init() {
	Register("Complex", buildComplex)
	Register("Real", buildParts(func(x complex128) float64 { return real(x) }))
	Register("Imag", buildParts(func(x complex128) float64 { return imag(x) }))
	Register("ComplexAbs", buildParts(func(x complex128) float64 { return math.Hypot(real(x), imag(x)) }))
	Register("Angle", buildParts(func(x complex128) float64 { return math.Atan2(imag(x), real(x)) }))
	Register("Conj", newComplexUnary(cmplx.Conj))
	for _, op := range []string{"Complex", "Real", "Imag", "ComplexAbs", "Angle", "Conj"} {
		allowDTypes(op, complexDTypes...)
	}

	add := newComplexBinary(func(x, y complex128) complex128 { return x + y })
	for op, b := range map[string]Builder{
		"Add": add, "AddV2": add,
		"Sub":        newComplexBinary(func(x, y complex128) complex128 { return x - y }),
		"Mul":        newComplexBinary(func(x, y complex128) complex128 { return x * y }),
		"Div":        newComplexBinary(cdiv),
		"RealDiv":    newComplexBinary(cdiv),
		"Neg":        newComplexUnary(func(x complex128) complex128 { return -x }),
		"Square":     newComplexUnary(func(x complex128) complex128 { return x * x }),
		"Exp":        newComplexUnary(cmplx.Exp),
		"Sqrt":       newComplexUnary(cmplx.Sqrt),
		"Reciprocal": newComplexUnary(func(x complex128) complex128 { return 1 / x }),
		"Inv":        newComplexUnary(func(x complex128) complex128 { return 1 / x }),
		// legacy.go's ConjugateTranspose is Transpose for real T.
		"ConjugateTranspose": buildConjTranspose,
	} {
		complexOverrides[op] = b
		allowDTypes(op, complexDTypes...)
	}

	// Ops that forward, describe or move elements without looking at
	// them: their kernels are generic over dtypes (array.go) or switch on
	// the complex types too.
	for _, op := range []string{"Identity", "StopGradient", "PreventGradient", "Snapshot", "PlaceholderWithDefault", "IdentityN",
		"Reshape", "Squeeze", "ExpandDims", "Shape", "ShapeN", "Size", "Rank", "EnsureShape", "Cast",
		"Pack", "Unpack", "ConcatV2", "Concat", "Split", "SplitV", "Slice", "StridedSlice", "Tile", "Transpose",
		"ReverseV2", "BroadcastTo", "GatherV2", "Gather", "GatherNd", "Pad", "PadV2", "MirrorPad", "Fill",
		"ZerosLike", "OnesLike", "Select", "SelectV2", "DepthToSpace", "SpaceToDepth", "SpaceToBatchND",
		"BatchToSpaceND", "SparseToDense"} {
		allowDTypes(op, complexDTypes...)
	}
	// The plain loops of matmul_generic.go, the complex reductions of
	// reduce.go (Sum, Mean, Prod; Max and Min are not defined on complex),
	// AddN's complex sum and Equal/NotEqual's complex kernels.
	for _, op := range []string{"MatMul", "BatchMatMul", "BatchMatMulV2", "Sum", "Mean", "Prod", "AddN", "AccumulateNV2", "Equal", "NotEqual"} {
		allowDTypes(op, complexDTypes...)
	}
}
