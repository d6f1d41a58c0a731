package ops

// Promotion: the compute ops run the gated dtypes on the kernels of a wider
// one, so that no float32 loop changes and every op gets the same
// conversion rules.
//
//   - float16 and bfloat16 run on float32: inputs widen exactly, each
//     output of T rounds back to nearest even. For an element-wise op that
//     is exactly TensorFlow's Eigen::half (every operation computes in
//     float and rounds); ops that accumulate (MatMul, Conv2D, reductions,
//     Softmax) accumulate in float32 and round once at the end, which is
//     at least as accurate as TensorFlow's kernels and may differ from
//     them by an ulp of the 16-bit format.
//   - int8, int16, uint16 and uint32 run on int64: every value fits, so
//     comparisons, Maximum/Minimum, division and modulo are exact, and
//     results wrap back to T (two's complement), which is what the
//     narrower type's wrapping arithmetic gives for +, -, * and powers.
//     Mean is not promoted for them (TensorFlow sums in T, wrapping, before
//     dividing).
//     uint8 (not gated) promotes the same way for the ops that have no
//     uint8 loop of their own.
//   - uint64 runs on int64 bit patterns, for the ops where that is exact:
//     the ring operations (+, -, *, sums, products, matrix products) and
//     equality.
//
// A promoted node is the op's own kernel built with T set to the wider
// dtype; constant inputs are converted at load time (so a float16 weight is
// packed once as float32), the others on each run into fresh buffers.

import (
	"slices"
	"strings"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// promoteRule says how an op promotes: the attribute naming the element
// type, which outputs are of that type (nil: every output of the wider
// type), and for which gated dtypes.
type promoteRule struct {
	attr   string
	outT   []int
	dtypes map[classify.DType]bool
}

var promoteRules = map[string]*promoteRule{}

// promote declares that op promotes the given dtypes.
func promote(op, attr string, outT []int, dts ...classify.DType) {
	r := promoteRules[op]
	if r == nil {
		r = &promoteRule{attr: attr, outT: outT, dtypes: map[classify.DType]bool{}}
		promoteRules[op] = r
	} else if !slices.Equal(r.outT, outT) || (r.outT == nil) != (outT == nil) || r.attr != attr {
		panic("promote: " + op + " declared twice with different outputs or attribute")
	}
	for _, dt := range dts {
		r.dtypes[dt] = true
	}
}

// wider is the dtype dt computes in.
func wider(dt classify.DType) classify.DType {
	switch dt {
	case classify.Float16, classify.BFloat16:
		return classify.Float32
	}
	return classify.Int64
}

// promotedDType is the gated dtype a node of a promoting op computes in its
// wider type, or Invalid.
func promotedDType(n *Node) classify.DType {
	r := promoteRules[n.Op]
	if r == nil {
		return classify.Invalid
	}
	if dt := n.Type(r.attr); r.dtypes[dt] {
		return dt
	}
	return classify.Invalid
}

// buildPromoted builds n, whose r.attr is the gated dtype dt, on the kernel
// of the wider dtype.
func buildPromoted(b Builder, n *Node, consts []*classify.Tensor, dt classify.DType) (Op, error) {
	r := promoteRules[n.Op]
	w := wider(dt)
	inner := &Node{Name: n.Name, Op: n.Op, NumInputs: n.NumInputs, Attr: map[string]*apb.AttrValue{}}
	for k, v := range n.Attr {
		inner.Attr[k] = v
	}
	inner.Attr[r.attr] = graphdef.Attr(w)
	// Other attributes of the same dtype (Select's T for both branches is
	// one; Pow has only T) follow it; the gate still refuses any other
	// gated dtype.
	for k, v := range n.Attr {
		if ts := attrTypes(v); len(ts) == 1 && ts[0] == dt && v.GetType() != 0 {
			inner.Attr[k] = graphdef.Attr(w)
		}
	}
	if err := checkDTypes(inner); err != nil {
		return nil, err
	}
	wc := make([]*classify.Tensor, len(consts))
	for i, c := range consts {
		if c != nil && c.DType == dt {
			wc[i] = widenTensor(c, w)
		} else {
			wc[i] = c
		}
	}
	op, err := b(inner, wc)
	if err != nil {
		return nil, err
	}
	p := &promotedOp{n: n, op: op, dt: dt, w: w, outT: r.outT}
	if _, ok := op.(Shaper); ok {
		return &promotedShaper{p}, nil
	}
	return p, nil
}

// promotedOp runs op on widened inputs and narrows its outputs of T.
type promotedOp struct {
	n     *Node
	op    Op
	dt, w classify.DType
	outT  []int
}

func (o *promotedOp) isT(i int, dt classify.DType) bool {
	if dt != o.w {
		return false
	}
	if o.outT == nil {
		return true
	}
	for _, j := range o.outT {
		if j == i {
			return true
		}
	}
	return false
}

// Run implements Op.
func (o *promotedOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	win := make([]*classify.Tensor, len(in))
	for i, x := range in {
		switch {
		case x == nil || x.DType != o.dt:
			win[i] = x
		default:
			win[i] = widenTensor(x, o.w)
		}
	}
	// The inner kernel's buffers are its own (allocated per run): the
	// node's slots hold the narrowed outputs.
	ictx := &Ctx{Context: ctx.Context, Threads: ctx.Threads}
	outs, err := o.op.Run(ictx, win)
	if err != nil {
		return nil, err
	}
	res := make([]*classify.Tensor, len(outs))
	for i, y := range outs {
		if y == nil || !o.isT(i, y.DType) {
			res[i] = y
			continue
		}
		res[i] = narrowInto(ctx.Output(i, o.dt, y.Shape...), y)
	}
	return res, nil
}

// promotedShaper is a promotedOp whose kernel infers shapes.
type promotedShaper struct{ *promotedOp }

// OutputInfo implements Shaper.
func (o *promotedShaper) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s := o.op.(Shaper)
	win := make([]classify.TensorInfo, len(in))
	for i, t := range in {
		win[i] = t
		if t.DType == o.dt {
			win[i].DType = o.w
		}
	}
	outs, err := s.OutputInfo(win)
	if err != nil {
		return nil, err
	}
	for i := range outs {
		if o.isT(i, outs[i].DType) {
			outs[i].DType = o.dt
		}
	}
	return outs, nil
}

// FLOPs implements Flopper.
func (o *promotedOp) FLOPs(in []classify.Shape) int64 {
	if f, ok := o.op.(Flopper); ok {
		return f.FLOPs(in)
	}
	return 0
}

// widenTensor converts x to float32 (from float16, bfloat16) or int64
// (from the other gated integers; uint64 as its bit pattern).
func widenTensor(x *classify.Tensor, w classify.DType) *classify.Tensor {
	out := classify.NewTensor(w, x.Shape...)
	if w == classify.Float32 {
		widenHalf(out.Float32s(), x)
		return out
	}
	d := out.Int64s()
	switch s := x.Data.(type) {
	case []int8:
		widenInts(d, s)
	case []int16:
		widenInts(d, s)
	case []uint16:
		widenInts(d, s)
	case []uint32:
		widenInts(d, s)
	case []uint64:
		widenInts(d, s)
	case []uint8:
		widenInts(d, s)
	}
	return out
}

func widenInts[S int8 | int16 | uint8 | uint16 | uint32 | uint64](d []int64, s []S) {
	s = s[:len(d)]
	for i := range d {
		d[i] = int64(s[i])
	}
}

// narrowInto rounds (float32 → 16-bit float) or wraps (int64 → integer)
// y into out, of y's shape.
func narrowInto(out, y *classify.Tensor) *classify.Tensor {
	switch d := out.Data.(type) {
	case []classify.F16:
		for i, v := range y.Float32s()[:len(d)] {
			d[i] = classify.F16FromFloat32(v)
		}
	case []classify.BF16:
		for i, v := range y.Float32s()[:len(d)] {
			d[i] = classify.BF16FromFloat32(v)
		}
	case []int8:
		narrowInts(d, y.Int64s())
	case []int16:
		narrowInts(d, y.Int64s())
	case []uint16:
		narrowInts(d, y.Int64s())
	case []uint32:
		narrowInts(d, y.Int64s())
	case []uint64:
		narrowInts(d, y.Int64s())
	case []uint8:
		narrowInts(d, y.Int64s())
	}
	return out
}

func narrowInts[D int8 | int16 | uint8 | uint16 | uint32 | uint64](d []D, s []int64) {
	s = s[:len(d)]
	for i := range d {
		d[i] = D(s[i])
	}
}

func init() {
	narrowInt := []classify.DType{classify.Int8, classify.Int16, classify.Uint16, classify.Uint32}
	halfAndInts := append(append([]classify.DType{}, halfDTypes...), narrowInt...)
	all := append(append([]classify.DType{}, halfAndInts...), classify.Uint64)

	// Ring operations: exact for every gated integer, uint64 included.
	for _, op := range strings.Fields("Add AddV2 Sub Mul SquaredDifference BiasAdd BiasAddV1 AddN Square Neg " +
		"Sum Prod Cumsum Cumprod MatMul BatchMatMul BatchMatMulV2 Equal NotEqual") {
		promote(op, "T", nil, all...)
	}
	// Order, division and magnitude: exact in int64 for the integers that
	// fit it.
	for _, op := range strings.Fields("Maximum Minimum Div FloorDiv FloorMod TruncateDiv TruncateMod Mod Pow " +
		"Greater GreaterEqual Less LessEqual Abs Sign Relu Relu6 ClipByValue Max Min Round") {
		promote(op, "T", nil, halfAndInts...)
	}
	promote("ArgMax", "T", []int{}, halfAndInts...)
	promote("ArgMin", "T", []int{}, halfAndInts...)
	promote("TopKV2", "T", []int{0}, halfAndInts...)
	promote("TopK", "T", []int{0}, halfAndInts...)
	// Float-only ops.
	for _, op := range strings.Fields("RealDiv Rsqrt Sqrt Exp Log Floor Ceil Rint Elu Selu Sigmoid Tanh LeakyRelu " +
		"Softmax LogSoftmax Mean Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Erf Erfc Expm1 Log1p " +
		"Softsign Reciprocal Inv Softplus IsNan IsInf IsFinite Atan2 Conv2D DepthwiseConv2dNative MaxPool AvgPool " +
		"ApproximateEqual LRN DivNoNan MulNoNan Xlogy Xdivy Xlog1py L2Loss Lgamma Digamma " +
		"BesselI0 BesselI0e BesselI1 BesselI1e BesselK0 BesselK0e BesselK1 BesselK1e BesselJ0 BesselJ1 BesselY0 BesselY1") {
		promote(op, "T", nil, halfDTypes...)
	}
	// uint8 is not gated, but these ops have no uint8 loop of their own.
	// (TensorFlow's CPU MatMul has no uint8 kernel, so neither has this.)
	for _, op := range strings.Fields("Add AddV2 Sub Mul SquaredDifference BiasAdd BiasAddV1 AddN Square Neg Sum Prod " +
		"Maximum Minimum Div Pow Abs Sign Relu Relu6 Max Min Round") {
		promote(op, "T", nil, classify.Uint8)
	}
	// Ops TensorFlow's CPU kernels also run in the half and narrow
	// integer types. Moving, selecting and comparing elements is exact
	// through the wider type (uint64 too: only bit patterns move); sums
	// and products round once to a half type at the end, or wrap back to
	// an integer T as T's own arithmetic does.
	for _, op := range strings.Fields("Reverse ReverseSequence Roll ScatterNd TensorScatterUpdate MatrixBandPart " +
		"MatrixDiag MatrixDiagV2 MatrixDiagV3 MatrixDiagPart MatrixDiagPartV2 MatrixDiagPartV3 " +
		"MatrixSetDiag MatrixSetDiagV2 MatrixSetDiagV3 OneHot DynamicStitch InplaceUpdate ResizeNearestNeighbor") {
		promote(op, "T", nil, all...)
	}
	for _, op := range strings.Fields("SegmentMax SegmentMin SegmentSum SegmentProd UnsortedSegmentMax UnsortedSegmentMin " +
		"UnsortedSegmentSum UnsortedSegmentProd TensorScatterAdd TensorScatterSub TensorScatterMax TensorScatterMin " +
		"InplaceAdd InplaceSub NthElement") {
		promote(op, "T", nil, halfAndInts...)
	}
	// Outputs that are never T: Where's indices, Unique's idx and counts,
	// the bounds' out_type; the resizes give float32 for every T.
	promote("Where", "T", []int{}, all...)
	promote("Unique", "T", []int{0}, all...)
	promote("UniqueWithCounts", "T", []int{0}, all...)
	for _, op := range strings.Fields("LowerBound UpperBound ResizeBilinear CropAndResize ResizeBicubic ResizeArea") {
		promote(op, "T", []int{}, halfAndInts...)
	}
	// Half types only (float ops), computed in float32, each T output
	// rounded once.
	for _, op := range strings.Fields("Einsum LinSpace NonMaxSuppressionV3 Conv2DBackpropInput Conv3D AvgPool3D MaxPool3D " +
		"MaxPoolWithArgmax Dilation2D SegmentMean CumulativeLogsumexp EuclideanNorm RGBToHSV HSVToRGB CheckNumerics") {
		promote(op, "T", nil, halfDTypes...)
	}
	// The image adjustments' T is {half, float} in TensorFlow's op
	// definitions: no bfloat16.
	for _, op := range strings.Fields("AdjustContrastv2 AdjustHue AdjustSaturation") {
		promote(op, "T", nil, classify.Float16)
	}
	// FusedBatchNorm: x and y are T, the statistics U (float32).
	for _, op := range strings.Fields("FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3") {
		promote(op, "T", []int{0}, halfDTypes...)
	}
}
