package gotf

import (
	"context"
	"fmt"
	"strings"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/savedmodel"
)

// bindTables finds the tables a SavedModel restores from its checkpoint
// rather than from an init op: a MutableHashTable (Keras StringLookup and
// IntegerLookup after adapt) is saved as two bundle entries, its keys and
// values, which the restore function imports with
// LookupTableImportV2(table, RestoreV2:i, RestoreV2:j). Each such import
// gets its keys and values as constants read from the bundle, loses its
// control inputs (the rest of the restore graph is not run), and is
// returned so that it runs with the init ops.
func bindTables(gd *gpb.GraphDef, bundle *savedmodel.Bundle) ([]string, error) {
	byName := nodeIndex(gd)
	trace := func(in string) (*npb.NodeDef, int) { return traceProducer(byName, in) }
	var imports []string
	var added []*npb.NodeDef
	for _, n := range gd.GetNode() {
		if n.GetOp() != "LookupTableImportV2" || len(n.GetInput()) < 3 {
			continue
		}
		var consts []string
		for k := 1; k <= 2; k++ {
			r, idx := trace(n.GetInput()[k])
			if r == nil || r.GetOp() != "RestoreV2" || len(r.GetInput()) < 2 {
				break
			}
			names, _ := trace(r.GetInput()[1])
			if names == nil || names.GetOp() != "Const" {
				return nil, fmt.Errorf("%w: restore op %q: tensor_names is not a constant", classify.ErrInvalidGraph, r.GetName())
			}
			t, err := graphdef.TensorFromProto(names.GetAttr()["value"].GetTensor())
			if err != nil || t.DType != classify.String || idx >= t.Len() {
				return nil, fmt.Errorf("%w: restore op %q: tensor_names has no entry %d", classify.ErrInvalidGraph, r.GetName(), idx)
			}
			key := string(t.Data.([][]byte)[idx])
			if bundle == nil {
				return nil, fmt.Errorf("%w: table %q is restored from %q but the SavedModel has no variables/", classify.ErrInvalidGraph, n.GetName(), key)
			}
			v, err := bundle.Tensor(key)
			if err != nil {
				return nil, fmt.Errorf("%w: table import %q: %w", classify.ErrInvalidGraph, n.GetName(), err)
			}
			c := &npb.NodeDef{Name: fmt.Sprintf("%s/_restored_%d", n.GetName(), k), Op: "Const", Attr: map[string]*apb.AttrValue{
				"dtype": graphdef.Attr(v.DType), "value": graphdef.Attr(v),
			}}
			added = append(added, c)
			consts = append(consts, c.GetName())
		}
		if len(consts) != 2 {
			continue
		}
		n.Input = []string{n.GetInput()[0], consts[0], consts[1]}
		imports = append(imports, n.GetName())
	}
	gd.Node = append(gd.Node, added...)
	return imports, nil
}

// isInitTarget reports whether runInit must run a node an init op reaches.
func isInitTarget(op string) bool { return op == ops.AssignVariable || ops.TableInitOp(op) }

// The output arguments of the text, table, random and sparse ops with
// more than one, for function bodies read without OpDefs (see outputArgs).
func init() {
	for op, names := range map[string][]string{
		"StringSplitV2":                   {"indices", "values", "shape"},
		"StringNGrams":                    {"ngrams", "ngrams_splits"},
		"LookupTableExportV2":             {"keys", "values"},
		"StatelessRandomGetKeyCounter":    {"key", "counter"},
		"StatelessRandomGetKeyCounterAlg": {"key", "counter", "alg"},
		"SparseReshape":                   {"output_indices", "output_shape"},
		"SparseFillEmptyRows":             {"output_indices", "output_values", "empty_row_indicator", "reverse_index_map"},
	} {
		od := &opb.OpDef{Name: op}
		for _, a := range names {
			od.OutputArg = append(od.OutputArg, &opb.OpDef_ArgDef{Name: a})
		}
		outputArgs[op] = od
	}
}

// graphTables prepares the tables of a plain GraphDef: a frozen graph
// keeps its table initializers (TF1's init_all_tables, or the imports
// FreezeSavedModel writes) but nobody is there to run them, so every
// table initializer of the graph runs once at load, into storage the
// returned kernels bind the model's table ops to. A graph without table
// initializers gets nil.
func graphTables(ctx context.Context, gd *gpb.GraphDef, threads int) (map[string]ops.Builder, error) {
	var inits []string
	for _, n := range gd.GetNode() {
		if ops.TableInitOp(n.GetOp()) {
			inits = append(inits, n.GetName())
		}
	}
	if len(inits) == 0 {
		return nil, nil
	}
	kernels := ops.NewTables().Builders()
	m, err := loadWith(ctx, gd, classify.OpenOptions{Outputs: inits, Threads: threads}, loadConfig{}, kernels)
	if err != nil {
		return nil, fmt.Errorf("table initializers: %w", err)
	}
	if _, err := m.Run(ctx, nil, nil); err != nil {
		return nil, fmt.Errorf("table initializers: %w", err)
	}
	return kernels, nil
}

// freezeTables makes the kept tables of a frozen signature self-contained:
// each initialized table gets a LookupTableImportV2 of its current
// contents as constants, which graphTables runs when the frozen graph is
// loaded.
func freezeTables(out *gpb.GraphDef, tables *ops.Tables) {
	var added []*npb.NodeDef
	for _, n := range out.GetNode() {
		if n.GetOp() != "HashTableV2" && n.GetOp() != "MutableHashTableV2" {
			continue
		}
		t, ok := tables.Find(n.GetName(), string(n.GetAttr()["container"].GetS()), string(n.GetAttr()["shared_name"].GetS()))
		if !ok {
			continue
		}
		keys, vals, init := t.Export()
		if !init {
			continue
		}
		kc := &npb.NodeDef{Name: n.GetName() + "/_frozen_keys", Op: "Const", Attr: map[string]*apb.AttrValue{"dtype": graphdef.Attr(keys.DType), "value": graphdef.Attr(keys)}}
		vc := &npb.NodeDef{Name: n.GetName() + "/_frozen_values", Op: "Const", Attr: map[string]*apb.AttrValue{"dtype": graphdef.Attr(vals.DType), "value": graphdef.Attr(vals)}}
		imp := &npb.NodeDef{Name: n.GetName() + "/_frozen_import", Op: "LookupTableImportV2", Input: []string{n.GetName(), kc.GetName(), vc.GetName()},
			Attr: map[string]*apb.AttrValue{"Tin": graphdef.Attr(keys.DType), "Tout": graphdef.Attr(vals.DType)}}
		added = append(added, kc, vc, imp)
	}
	out.Node = append(out.Node, added...)
}

// freezeHandles removes the variable handles a frozen signature still
// passes to functions (a Keras LSTM's While loop variables): each kept
// VarHandleOp becomes a Const of the variable's value, and in every
// library function ReadVariableOp becomes Identity and resource arguments
// take the type of what now flows in, as TensorFlow's
// convert_variables_to_constants_v2 rewrites them.
func freezeHandles(out *gpb.GraphDef, vars *ops.Variables) error {
	typeOf := map[string]tpb.DataType{}
	for i, n := range out.GetNode() {
		if n.GetOp() != "VarHandleOp" {
			continue
		}
		t, ok := vars.Get(n.GetName())
		if !ok {
			return fmt.Errorf("%w: variable %q has no value (not in the checkpoint, not set by an init op)", classify.ErrInvalidGraph, n.GetName())
		}
		out.Node[i] = &npb.NodeDef{Name: n.GetName(), Op: "Const", Attr: map[string]*apb.AttrValue{"dtype": graphdef.Attr(t.DType), "value": graphdef.Attr(t)}}
		typeOf[n.GetName()] = graphdef.DTypeProto(t.DType)
	}
	if len(typeOf) == 0 {
		return nil
	}
	// Loop and call nodes fed a former handle: retype that input in T (or
	// Tin) and in the argument lists of the functions they run.
	funcs := map[string]*fpb.FunctionDef{}
	for _, f := range out.GetLibrary().GetFunction() {
		funcs[f.GetSignature().GetName()] = f
	}
	for _, n := range out.GetNode() {
		var fnames []string
		for _, a := range n.GetAttr() {
			if f := a.GetFunc(); f != nil {
				fnames = append(fnames, f.GetName())
			}
		}
		if len(fnames) == 0 {
			continue
		}
		for i, in := range n.GetInput() {
			dt, ok := typeOf[nodeName(in)]
			if !ok || strings.HasPrefix(in, "^") {
				continue
			}
			for _, k := range []string{"T", "Tin"} {
				if l := n.GetAttr()[k].GetList(); l != nil && i < len(l.GetType()) {
					l.Type[i] = dt
				}
			}
			for _, fname := range fnames {
				sig := funcs[fname].GetSignature()
				if sig == nil {
					continue
				}
				// If/Case pass their inputs after the predicate.
				k := i
				if n.GetOp() != "While" && n.GetOp() != "StatelessWhile" {
					k = i - 1
				}
				if k >= 0 && k < len(sig.GetInputArg()) {
					sig.InputArg[k].Type = dt
				}
				if (n.GetOp() == "While" || n.GetOp() == "StatelessWhile") && k < len(sig.GetOutputArg()) {
					sig.OutputArg[k].Type = dt
				}
			}
		}
	}
	for _, f := range out.GetLibrary().GetFunction() {
		for _, nd := range f.GetNodeDef() {
			if nd.GetOp() != "ReadVariableOp" {
				continue
			}
			nd.Op = "Identity"
			nd.Attr = map[string]*apb.AttrValue{"T": nd.GetAttr()["dtype"]}
		}
	}
	return nil
}

// usedLibrary returns the functions of lib that the nodes of gd run
// (through function-valued attributes, transitively), or nil if none: a
// frozen graph carries only what its loops and branches need.
func usedLibrary(gd *gpb.GraphDef, lib *fpb.FunctionDefLibrary) *fpb.FunctionDefLibrary {
	defs := map[string]*fpb.FunctionDef{}
	for _, f := range lib.GetFunction() {
		defs[f.GetSignature().GetName()] = f
	}
	used := map[string]bool{}
	var visit func(nodes []*npb.NodeDef)
	visit = func(nodes []*npb.NodeDef) {
		for _, n := range nodes {
			var names []string
			if _, ok := defs[n.GetOp()]; ok {
				names = append(names, n.GetOp())
			}
			for _, a := range n.GetAttr() {
				if f := a.GetFunc(); f != nil {
					names = append(names, f.GetName())
				}
				for _, f := range a.GetList().GetFunc() {
					names = append(names, f.GetName())
				}
			}
			for _, name := range names {
				if f, ok := defs[name]; ok && !used[name] {
					used[name] = true
					visit(f.GetNodeDef())
				}
			}
		}
	}
	visit(gd.GetNode())
	if len(used) == 0 {
		return nil
	}
	out := &fpb.FunctionDefLibrary{}
	for _, f := range lib.GetFunction() {
		if used[f.GetSignature().GetName()] {
			out.Function = append(out.Function, f)
		}
	}
	return out
}
