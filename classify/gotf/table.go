package gotf

import (
	"fmt"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"

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
	trace := func(in string) (*npb.NodeDef, int) {
		for range 1000 {
			name, idx, err := splitOutput(in)
			if err != nil {
				return nil, 0
			}
			n, ok := byName[name]
			if !ok {
				return nil, 0
			}
			switch {
			case n.GetOp() == "Identity" && idx == 0 && len(n.GetInput()) > 0:
				in = n.GetInput()[0]
			case n.GetOp() == "IdentityN" && idx < len(n.GetInput()):
				in = n.GetInput()[idx]
			default:
				return n, idx
			}
		}
		return nil, 0
	}
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

// The output arguments of the text, table and random ops with more than
// one, for function bodies read without OpDefs (see outputArgs).
func init() {
	for op, names := range map[string][]string{
		"StringSplitV2":                   {"indices", "values", "shape"},
		"StringNGrams":                    {"ngrams", "ngrams_splits"},
		"LookupTableExportV2":             {"keys", "values"},
		"StatelessRandomGetKeyCounter":    {"key", "counter"},
		"StatelessRandomGetKeyCounterAlg": {"key", "counter", "alg"},
	} {
		od := &opb.OpDef{Name: op}
		for _, a := range names {
			od.OutputArg = append(od.OutputArg, &opb.OpDef_ArgDef{Name: a})
		}
		outputArgs[op] = od
	}
}
