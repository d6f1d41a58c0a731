package gotf

import (
	"fmt"
	"strconv"
	"strings"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
)

// maxInlineDepth bounds nested function calls; TensorFlow forbids
// recursion, so only a malformed library goes deeper.
const maxInlineDepth = 64

// flattener inlines the function calls of a TF2 graph into one flat
// GraphDef the frozen-graph loader understands.
type flattener struct {
	opDefs map[string]*opb.OpDef
	lib    map[string]*fpb.FunctionDef
	out    []*npb.NodeDef
}

// callee returns the library function a node calls: through
// (Stateful)PartitionedCall, or directly by using the function's name as its
// op.
func (f *flattener) callee(n *npb.NodeDef) (string, bool) {
	switch n.GetOp() {
	case "StatefulPartitionedCall", "PartitionedCall":
		return n.GetAttr()["f"].GetFunc().GetName(), true
	}
	if _, ok := f.lib[n.GetOp()]; ok {
		return n.GetOp(), true
	}
	return "", false
}

// flatten returns gd with every function call replaced by the function's
// body. A call node becomes an IdentityN of the function's results (with
// control inputs on its control outputs), so "call:i" still names result i;
// body nodes are renamed "call/node". Function-body references
// "node:out_arg:i" are turned into "node:k" with the OpDefs of
// stripped_op_list, which TF2 fills with every op the graph and its
// functions use.
func flatten(gd *gpb.GraphDef, opList *opb.OpList) (*gpb.GraphDef, error) {
	f := &flattener{opDefs: map[string]*opb.OpDef{}, lib: map[string]*fpb.FunctionDef{}}
	for _, od := range opList.GetOp() {
		f.opDefs[od.GetName()] = od
	}
	for _, fn := range gd.GetLibrary().GetFunction() {
		f.lib[fn.GetSignature().GetName()] = fn
	}
	for _, n := range gd.GetNode() {
		if fname, ok := f.callee(n); ok {
			var data, ctrl []string
			for _, in := range n.GetInput() {
				if strings.HasPrefix(in, "^") {
					ctrl = append(ctrl, in)
				} else {
					data = append(data, in)
				}
			}
			if err := f.inline(n.GetName(), fname, data, ctrl, 0); err != nil {
				return nil, err
			}
			continue
		}
		f.out = append(f.out, n)
	}
	// The library stays: While, If and Case nodes run its functions.
	return &gpb.GraphDef{Node: f.out, Versions: gd.GetVersions(), Library: gd.GetLibrary()}, nil
}

// inline emits the body of function fname called as node name with the
// given (already flat) data and control inputs.
func (f *flattener) inline(name, fname string, data, ctrl []string, depth int) error {
	fn, ok := f.lib[fname]
	if !ok {
		return fmt.Errorf("%w: node %q calls function %q, which the library lacks", classify.ErrInvalidGraph, name, fname)
	}
	if depth > maxInlineDepth {
		return fmt.Errorf("%w: node %q: functions nested deeper than %d (recursive library?)", classify.ErrInvalidGraph, name, maxInlineDepth)
	}
	sig := fn.GetSignature()
	if len(data) != len(sig.GetInputArg()) {
		return fmt.Errorf("%w: node %q calls %s with %d inputs, it takes %d", classify.ErrInvalidGraph, name, fname, len(data), len(sig.GetInputArg()))
	}
	args := map[string]string{}
	for i, a := range sig.GetInputArg() {
		args[a.GetName()] = data[i]
	}
	body := map[string]*npb.NodeDef{}
	for _, nd := range fn.GetNodeDef() {
		body[nd.GetName()] = nd
	}
	prefix := name + "/"
	tr := func(in string) (string, error) {
		if c, ok := strings.CutPrefix(in, "^"); ok {
			if a, ok := args[c]; ok {
				n, _, _ := strings.Cut(strings.TrimPrefix(a, "^"), ":")
				return "^" + n, nil
			}
			return "^" + prefix + c, nil
		}
		parts := strings.Split(in, ":")
		if a, ok := args[parts[0]]; ok && (len(parts) == 1 || (len(parts) == 2 && parts[1] == "0")) {
			return a, nil
		}
		switch len(parts) {
		case 1:
			return prefix + in, nil
		case 2:
			return prefix + in, nil
		case 3:
			bn, ok := body[parts[0]]
			if !ok {
				return "", fmt.Errorf("%w: function %s: input %q names no node", classify.ErrInvalidGraph, fname, in)
			}
			i, err := strconv.Atoi(parts[2])
			if err != nil || i < 0 {
				return "", fmt.Errorf("%w: function %s: bad input %q", classify.ErrInvalidGraph, fname, in)
			}
			k, err := f.outputIndex(bn, parts[1], i)
			if err != nil {
				return "", fmt.Errorf("function %s: input %q: %w", fname, in, err)
			}
			if k == 0 {
				return prefix + parts[0], nil
			}
			return prefix + parts[0] + ":" + strconv.Itoa(k), nil
		}
		return "", fmt.Errorf("%w: function %s: bad input %q", classify.ErrInvalidGraph, fname, in)
	}
	for _, bn := range fn.GetNodeDef() {
		var bdata, bctrl []string
		for _, in := range bn.GetInput() {
			t, err := tr(in)
			if err != nil {
				return err
			}
			if strings.HasPrefix(t, "^") {
				bctrl = append(bctrl, t)
			} else {
				bdata = append(bdata, t)
			}
		}
		// The call's control inputs must precede the whole body; making
		// every source node wait for them is enough.
		if len(bdata) == 0 {
			bctrl = append(bctrl, ctrl...)
		}
		if callee, ok := f.callee(bn); ok {
			if err := f.inline(prefix+bn.GetName(), callee, bdata, bctrl, depth+1); err != nil {
				return err
			}
			continue
		}
		nd := proto.Clone(bn).(*npb.NodeDef)
		nd.Name = prefix + bn.GetName()
		nd.Input = append(bdata, bctrl...)
		f.out = append(f.out, nd)
	}
	call := &npb.NodeDef{Name: name, Attr: map[string]*apb.AttrValue{}}
	var types []*apb.AttrValue
	for _, oa := range sig.GetOutputArg() {
		ret, ok := fn.GetRet()[oa.GetName()]
		if !ok {
			return fmt.Errorf("%w: function %s: output %q has no ret", classify.ErrInvalidGraph, fname, oa.GetName())
		}
		t, err := tr(ret)
		if err != nil {
			return err
		}
		call.Input = append(call.Input, t)
		types = append(types, &apb.AttrValue{Value: &apb.AttrValue_Type{Type: oa.GetType()}})
	}
	for _, c := range sig.GetControlOutput() {
		t, err := tr("^" + fn.GetControlRet()[c])
		if err != nil {
			return err
		}
		call.Input = append(call.Input, t)
	}
	if len(types) == 0 {
		call.Op = "NoOp"
	} else {
		call.Op = "IdentityN"
		list := &apb.AttrValue_ListValue{}
		for _, t := range types {
			list.Type = append(list.Type, t.GetType())
		}
		call.Attr["T"] = &apb.AttrValue{Value: &apb.AttrValue_List{List: list}}
	}
	f.out = append(f.out, call)
	return nil
}

// outputIndex maps output i of output arg out of node n to its flat index,
// counting the lengths of the list arguments before it.
func (f *flattener) outputIndex(n *npb.NodeDef, out string, i int) (int, error) {
	var args []*opb.OpDef_ArgDef
	if fname, ok := f.callee(n); ok && n.GetOp() == fname {
		args = f.lib[fname].GetSignature().GetOutputArg()
	} else {
		od, ok := f.opDefs[n.GetOp()]
		if !ok && len(f.opDefs) == 0 {
			// A GraphDef carries no OpDefs. The ops a function body uses
			// have one output argument (a list counts as one), except
			// the few of outputArgs.
			if od, ok = outputArgs[n.GetOp()]; !ok {
				return i, nil
			}
		}
		if !ok {
			return 0, fmt.Errorf("%w: op %s of node %q has no OpDef in the SavedModel's stripped_op_list, so its output %q cannot be resolved", classify.ErrInvalidGraph, n.GetOp(), n.GetName(), out)
		}
		args = od.GetOutputArg()
	}
	k := 0
	for _, a := range args {
		cnt := 1
		switch {
		case a.GetNumberAttr() != "":
			cnt = int(n.GetAttr()[a.GetNumberAttr()].GetI())
		case a.GetTypeListAttr() != "":
			cnt = len(n.GetAttr()[a.GetTypeListAttr()].GetList().GetType())
		}
		if a.GetName() == out {
			if i >= cnt {
				return 0, fmt.Errorf("%w: node %q: output %s:%d, the list has %d", classify.ErrInvalidGraph, n.GetName(), out, i, cnt)
			}
			return k + i, nil
		}
		k += cnt
	}
	return 0, fmt.Errorf("%w: node %q (%s) has no output %q", classify.ErrInvalidGraph, n.GetName(), n.GetOp(), out)
}

// outputArgs are the output arguments of the ops with more than one, for
// function bodies in a GraphDef, which carries no OpDefs.
var outputArgs = map[string]*opb.OpDef{}

func init() {
	for op, names := range map[string][]string{
		"FusedBatchNorm":        {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"},
		"FusedBatchNormV2":      {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"},
		"FusedBatchNormV3":      {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3"},
		"Unique":                {"y", "idx"},
		"UniqueV2":              {"y", "idx"},
		"UniqueWithCounts":      {"y", "idx", "count"},
		"UniqueWithCountsV2":    {"y", "idx", "count"},
		"ListDiff":              {"out", "idx"},
		"BroadcastGradientArgs": {"r0", "r1"},
		"TopKV2":                {"values", "indices"},
		"TensorListPopBack":     {"output_handle", "tensor"},
		"Switch":                {"output_false", "output_true"},
		"Merge":                 {"output", "value_index"},

		"TopK":                      {"values", "indices"},
		"NonMaxSuppressionV4":       {"selected_indices", "valid_outputs"},
		"NonMaxSuppressionV5":       {"selected_indices", "selected_scores", "valid_outputs"},
		"MaxPoolWithArgmax":         {"output", "argmax"},
		"CombinedNonMaxSuppression": {"nmsed_boxes", "nmsed_scores", "nmsed_classes", "valid_detections"},

		"LogMatrixDeterminant": {"sign", "log_abs_determinant"},
		"Qr":                   {"q", "r"},
		"Svd":                  {"s", "u", "v"},
		"SelfAdjointEigV2":     {"e", "v"},
		"Lu":                   {"lu", "p"},

		"SparseReorder":         {"output_indices", "output_values"},
		"SparseReduceSumSparse": {"output_indices", "output_values", "output_shape"},
		"SparseReduceMaxSparse": {"output_indices", "output_values", "output_shape"},
		"SparseAdd":             {"sum_indices", "sum_values", "sum_shape"},
		"SparseSlice":           {"output_indices", "output_values", "output_shape"},
		"SparseConcat":          {"output_indices", "output_values", "output_shape"},
		"SparseCross":           {"output_indices", "output_values", "output_shape"},
		"SparseCrossV2":         {"output_indices", "output_values", "output_shape"},
		"SparseCrossHashed":     {"output_indices", "output_values", "output_shape"},

		"SampleDistortedBoundingBox":          {"begin", "size", "bboxes"},
		"SampleDistortedBoundingBoxV2":        {"begin", "size", "bboxes"},
		"StatelessSampleDistortedBoundingBox": {"begin", "size", "bboxes"},

		"DenseToDenseSetOperation":   {"result_indices", "result_values", "result_shape"},
		"DenseToSparseSetOperation":  {"result_indices", "result_values", "result_shape"},
		"SparseToSparseSetOperation": {"result_indices", "result_values", "result_shape"},

		"SoftmaxCrossEntropyWithLogits":       {"loss", "backprop"},
		"SparseSoftmaxCrossEntropyWithLogits": {"loss", "backprop"},
		"FusedBatchNormGrad":                  {"x_backprop", "scale_backprop", "offset_backprop", "reserve_space_3", "reserve_space_4"},
		"FusedBatchNormGradV2":                {"x_backprop", "scale_backprop", "offset_backprop", "reserve_space_3", "reserve_space_4"},
		"FusedBatchNormGradV3":                {"x_backprop", "scale_backprop", "offset_backprop", "reserve_space_4", "reserve_space_5"},

		"StringSplit":              {"indices", "values", "shape"},
		"UnicodeDecode":            {"row_splits", "char_values"},
		"UnicodeDecodeWithOffsets": {"row_splits", "char_values", "char_to_byte_starts"},

		"FakeQuantWithMinMaxVarsGradient":           {"backprops_wrt_input", "backprop_wrt_min", "backprop_wrt_max"},
		"FakeQuantWithMinMaxVarsPerChannelGradient": {"backprops_wrt_input", "backprop_wrt_min", "backprop_wrt_max"},
	} {
		od := &opb.OpDef{Name: op}
		for _, a := range names {
			od.OutputArg = append(od.OutputArg, &opb.OpDef_ArgDef{Name: a})
		}
		outputArgs[op] = od
	}
	// List outputs, numbered by an attribute.
	split := &opb.OpDef{Name: "SparseSplit"}
	for _, a := range []string{"output_indices", "output_values", "output_shape"} {
		split.OutputArg = append(split.OutputArg, &opb.OpDef_ArgDef{Name: a, NumberAttr: "num_split"})
	}
	outputArgs["SparseSplit"] = split
}
