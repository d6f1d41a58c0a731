package ops

// The dtype gate. float16, bfloat16, int8, int16, uint16, uint32,
// uint64, complex64 and complex128 came after most kernels were written, and a kernel's type switch
// that does not know them might skip the work instead of failing. So a
// node whose type attributes (T, dtype, SrcT, Tidx, list(type) ...) name
// one of them builds only if its op declares that dtype with allowDTypes;
// otherwise it fails at load time naming the op, the attribute and the
// dtype. The older dtypes are not gated: their kernels check for
// themselves.

import (
	"fmt"
	"sort"
	"strings"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
)

// gatedDTypes are the dtypes an op must declare.
var gatedDTypes = map[classify.DType]bool{
	classify.Float16: true, classify.BFloat16: true, classify.Int8: true, classify.Int16: true,
	classify.Uint16: true, classify.Uint32: true, classify.Uint64: true,
	classify.Complex64: true, classify.Complex128: true,
}

// Groups of the gated dtypes for allowDTypes.
var (
	halfDTypes    = []classify.DType{classify.Float16, classify.BFloat16}
	newIntDTypes  = []classify.DType{classify.Int8, classify.Int16, classify.Uint16, classify.Uint32, classify.Uint64}
	allNewDTypes  = append(append([]classify.DType{}, halfDTypes...), newIntDTypes...)
	complexDTypes = []classify.DType{classify.Complex64, classify.Complex128}
	allowedDTypes = map[string]map[classify.DType]bool{}
)

// allowDTypes declares that op's kernel handles the gated dtypes given
// (called from init functions only).
func allowDTypes(op string, dts ...classify.DType) {
	m := allowedDTypes[op]
	if m == nil {
		m = map[classify.DType]bool{}
		allowedDTypes[op] = m
	}
	for _, dt := range dts {
		m[dt] = true
	}
}

// checkDTypes is the gate for node n.
func checkDTypes(n *Node) error {
	for _, k := range sortedAttrNames(n.Attr) {
		for _, dt := range attrTypes(n.Attr[k]) {
			if gatedDTypes[dt] && !allowedDTypes[n.Op][dt] {
				return fmt.Errorf("node %q (%s): %w: dtype %v (attribute %s) is not supported by %s",
					n.Name, n.Op, classify.ErrUnsupportedOp, dt, k, n.Op)
			}
		}
	}
	return nil
}

func sortedAttrNames(m map[string]*apb.AttrValue) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// attrTypes are the dtypes a type or list(type) attribute names.
func attrTypes(a *apb.AttrValue) []classify.DType {
	switch v := a.GetValue().(type) {
	case *apb.AttrValue_Type:
		return []classify.DType{DTypeFromProto(v.Type)}
	case *apb.AttrValue_List:
		var out []classify.DType
		for _, t := range v.List.GetType() {
			out = append(out, DTypeFromProto(t))
		}
		return out
	}
	return nil
}

// gate wraps a builder with the dtype gate: a node of a gated dtype its op
// promotes (promote.go) is built on the wider kernel, and a node of complex
// T whose op has a separate complex kernel (complex.go) on that kernel.
func gate(b Builder) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if cb := complexBuilder(n); cb != nil {
			if err := checkDTypes(n); err != nil {
				return nil, err
			}
			return cb(n, consts)
		}
		if dt := promotedDType(n); dt != classify.Invalid {
			return buildPromoted(b, n, consts, dt)
		}
		if err := checkDTypes(n); err != nil {
			return nil, err
		}
		return b(n, consts)
	}
}

func init() {
	// Ops that only forward or describe their inputs.
	for _, op := range strings.Fields("Identity StopGradient PreventGradient Snapshot PlaceholderWithDefault IdentityN NoOp " +
		"Reshape Squeeze ExpandDims Shape ShapeN Size Rank EnsureShape Cast") {
		allowDTypes(op, allNewDTypes...)
	}
	// Ops that move elements without looking at them, through the
	// type-generic copies of array.go and their own per-type switches.
	for _, op := range strings.Fields("Pack Unpack ConcatV2 Concat Split SplitV Slice StridedSlice Tile Transpose " +
		"ReverseV2 BroadcastTo GatherV2 Gather GatherNd Pad PadV2 MirrorPad Fill ZerosLike OnesLike Select SelectV2 " +
		"DepthToSpace SpaceToDepth SpaceToBatchND BatchToSpaceND SparseToDense") {
		allowDTypes(op, allNewDTypes...)
	}
}
