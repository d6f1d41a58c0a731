package gotf

import (
	"context"
	"fmt"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	spb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// FreezeSavedModel returns a frozen GraphDef of one signature of a
// SavedModel: function calls inlined, variables replaced by Const nodes
// holding their checkpoint values (after the init ops ran), asset tensors by
// their paths, and only the nodes the signature's outputs need. Its inputs
// and outputs keep the signature's tensor names. A signature that writes
// variables cannot be frozen and is refused.
func FreezeSavedModel(ctx context.Context, dir string, tags []string, signature string) (*gpb.GraphDef, error) {
	gd, err := freeze(ctx, dir, tags, signature)
	if err != nil {
		return nil, fmt.Errorf("freeze %s: %w", dir, err)
	}
	return gd, nil
}

func freeze(ctx context.Context, dir string, tags []string, signature string) (gd *gpb.GraphDef, err error) {
	defer func() {
		if r := recover(); r != nil {
			gd, err = nil, fmt.Errorf("%w: freezing panicked: %v", classify.ErrInvalidGraph, r)
		}
	}()
	p, err := prepare(ctx, dir, tags, 0)
	if err != nil {
		return nil, err
	}
	if signature == "" {
		signature = DefaultSignature
	}
	s, err := p.sm.Signature(signature)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", classify.ErrInvalidInput, err)
	}
	var outputs []string
	for _, o := range s.Outputs {
		outputs = append(outputs, o.Name)
	}
	if w := writtenVariables(p.gd, outputs); len(w) > 0 {
		return nil, fmt.Errorf("%w: signature %q writes variables (%d), so it has no frozen form", classify.ErrInvalidInput, signature, len(w))
	}
	constify(p.gd, p.vars, nil)
	// Keep what the outputs need through data and control inputs; the
	// signature's inputs cut the walk, as feeds do.
	fed := map[string]bool{}
	placeholders := map[string]*npb.NodeDef{}
	for _, in := range s.Inputs {
		name := nodeName(in.Name)
		fed[name] = true
		shape := &apb.AttrValue{Value: &apb.AttrValue_Shape{Shape: &spb.TensorShapeProto{UnknownRank: true}}}
		if !in.UnknownRank {
			shape = graphdef.Attr(in.Shape)
		}
		placeholders[name] = &npb.NodeDef{Name: name, Op: "Placeholder", Attr: map[string]*apb.AttrValue{
			"dtype": {Value: &apb.AttrValue_Type{Type: in.DType}},
			"shape": shape,
		}}
	}
	byName := nodeIndex(p.gd)
	keep := map[string]bool{}
	stack := append([]string(nil), outputs...)
	for len(stack) > 0 {
		name := nodeName(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		n, ok := byName[name]
		if !ok || keep[name] {
			continue
		}
		keep[name] = true
		if fed[name] {
			continue
		}
		stack = append(stack, n.GetInput()...)
	}
	out := &gpb.GraphDef{Versions: p.gd.GetVersions()}
	for _, n := range p.gd.GetNode() {
		if !keep[n.GetName()] {
			continue
		}
		if n.GetOp() == ops.ReadVariable {
			return nil, fmt.Errorf("%w: variable %q of node %q has no value (not in the checkpoint, not set by an init op)", classify.ErrInvalidGraph, string(n.GetAttr()["var"].GetS()), n.GetName())
		}
		if fed[n.GetName()] && n.GetOp() != "Placeholder" {
			// A fed inner tensor (TF1 feeds Identity nodes) becomes a
			// Placeholder, so the frozen graph needs nothing upstream.
			n = placeholders[n.GetName()]
		}
		out.Node = append(out.Node, n)
	}
	out.Library = usedLibrary(out, p.gd.GetLibrary())
	if err := freezeHandles(out, p.vars); err != nil {
		return nil, err
	}
	freezeTables(out, p.tables)
	return out, nil
}
