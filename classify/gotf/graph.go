package gotf

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	spb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
)

// ref names one output of a node.
type ref struct {
	n   *node
	idx int
}

func (r ref) String() string {
	if r.idx == 0 {
		return r.n.name
	}
	return r.n.name + ":" + strconv.Itoa(r.idx)
}

// node is the loader's mutable view of a NodeDef while the graph is
// optimised; the executor never sees it.
type node struct {
	name string
	op   string
	attr map[string]*apb.AttrValue
	in   []ref
	ctrl []*node
	// value holds the outputs of a node known at load time: a Const or a
	// folded subgraph. Non-nil means constant.
	value []*classify.Tensor
	// feed marks a node whose output 0 the caller provides in Run.
	feed bool
	// withDefault marks a fed PlaceholderWithDefault: when no tensor is
	// fed, its data input is used.
	withDefault bool
}

func (n *node) isConst() bool { return n.value != nil }

// graph is a parsed GraphDef: nodes in file order, then (after order) in a
// topological order of the part the outputs need.
type graph struct {
	nodes  []*node
	byName map[string]*node
	// kernels, when set, are consulted before the global kernel table: a
	// SavedModel's variable ops are bound to that model's own storage.
	kernels map[string]ops.Builder
}

// lookup finds the builder of an op type.
func (g *graph) lookup(op string) (ops.Builder, bool) {
	if b, ok := g.kernels[op]; ok {
		return b, true
	}
	return ops.Lookup(op)
}

// writesState reports whether running n (or anything it waits for) changes
// a variable. order follows control edges into such nodes, so a signature
// whose update is reached only through control dependencies (a TF2
// function's control_ret) still performs it. Frozen graphs contain no
// writer ops, so for them control inputs stay optional.
func (g *graph) writesState(n *node, memo map[*node]int8) bool {
	switch memo[n] {
	case 1:
		return true
	case -1, 2: // known not to, or on the DFS stack (a cycle order reports)
		return false
	}
	memo[n] = 2
	w := ops.WritesState(n.op)
	for _, r := range n.in {
		w = w || g.writesState(r.n, memo)
	}
	for _, c := range n.ctrl {
		w = w || g.writesState(c, memo)
	}
	memo[n] = -1
	if w {
		memo[n] = 1
	}
	return w
}

// parseGraph converts a GraphDef, resolving every input. It fills TensorFlow's
// default attributes and rejects duplicate names, malformed input strings and
// inputs naming no node.
func parseGraph(gd *gpb.GraphDef) (*graph, error) {
	g := &graph{byName: make(map[string]*node, len(gd.GetNode()))}
	for i, nd := range gd.GetNode() {
		name := nd.GetName()
		if name == "" {
			return nil, fmt.Errorf("%w: node #%d (%s) has no name", classify.ErrInvalidGraph, i, nd.GetOp())
		}
		if nd.GetOp() == "" {
			return nil, fmt.Errorf("%w: node %q has no op", classify.ErrInvalidGraph, name)
		}
		if _, dup := g.byName[name]; dup {
			return nil, fmt.Errorf("%w: duplicate node name %q", classify.ErrInvalidGraph, name)
		}
		n := &node{name: name, op: nd.GetOp(), attr: withDefaults(nd.GetOp(), nd.GetAttr())}
		if n.op == "Placeholder" && legacyScalarShape(gd, n.attr["shape"]) {
			n.attr["shape"] = &apb.AttrValue{Value: &apb.AttrValue_Shape{Shape: &spb.TensorShapeProto{UnknownRank: true}}}
		}
		g.nodes = append(g.nodes, n)
		g.byName[name] = n
	}
	for i, nd := range gd.GetNode() {
		n := g.nodes[i]
		for _, s := range nd.GetInput() {
			if c, ok := strings.CutPrefix(s, "^"); ok {
				src, found := g.byName[c]
				if !found {
					return nil, fmt.Errorf("%w: node %q (%s): control input %q names no node", classify.ErrInvalidGraph, n.name, n.op, s)
				}
				n.ctrl = append(n.ctrl, src)
				continue
			}
			name, idx, err := splitOutput(s)
			if err != nil {
				return nil, fmt.Errorf("%w: node %q (%s): input %q: %v", classify.ErrInvalidGraph, n.name, n.op, s, err)
			}
			src, found := g.byName[name]
			if !found {
				return nil, fmt.Errorf("%w: node %q (%s): input %q names no node", classify.ErrInvalidGraph, n.name, n.op, s)
			}
			if len(n.ctrl) > 0 {
				return nil, fmt.Errorf("%w: node %q (%s): data input %q after a control input", classify.ErrInvalidGraph, n.name, n.op, s)
			}
			n.in = append(n.in, ref{src, idx})
		}
	}
	return g, nil
}

// splitOutput parses "name" or "name:N".
func splitOutput(s string) (string, int, error) {
	name, idx := s, 0
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		v, err := strconv.Atoi(s[i+1:])
		if err != nil || v < 0 || v > 1<<20 {
			return "", 0, fmt.Errorf("bad output index in %q", s)
		}
		name, idx = s[:i], v
	}
	if name == "" {
		return "", 0, fmt.Errorf("empty node name in %q", s)
	}
	return name, idx, nil
}

// resolve finds the node output a user-given name ("name" or "name:N") means.
func (g *graph) resolve(s string) (ref, error) {
	name, idx, err := splitOutput(s)
	if err != nil {
		return ref{}, fmt.Errorf("%w: %v", classify.ErrInvalidInput, err)
	}
	n, ok := g.byName[name]
	if !ok {
		return ref{}, fmt.Errorf("%w: no node named %q in the graph", classify.ErrInvalidInput, name)
	}
	return ref{n, idx}, nil
}

// notOutputs are op types never reported as likely outputs: they produce
// nothing useful to fetch on their own.
var notOutputs = map[string]bool{
	"Const": true, "NoOp": true, "Placeholder": true, "PlaceholderWithDefault": true,
	"Assert": true, "VariableV2": true, "Variable": true, "VarHandleOp": true,
	"SaveV2": true, "RestoreV2": true, "Save": true, "Restore": true, "TensorArrayCloseV3": true,
}

// selectFeeds marks the fed nodes: every Placeholder, plus either every
// PlaceholderWithDefault (by default) or exactly the nodes named in inputs.
func (g *graph) selectFeeds(inputs []string) error {
	for _, n := range g.nodes {
		switch n.op {
		case "Placeholder":
			n.feed = true
		case "PlaceholderWithDefault":
			n.feed = len(inputs) == 0
		}
	}
	for _, s := range inputs {
		r, err := g.resolve(s)
		if err != nil {
			return fmt.Errorf("input %q: %w", s, err)
		}
		if r.idx != 0 {
			return fmt.Errorf("%w: input %q: only output 0 of a node can be fed", classify.ErrInvalidInput, s)
		}
		r.n.feed = true
	}
	for _, n := range g.nodes {
		if n.feed && n.op == "PlaceholderWithDefault" {
			if len(n.in) != 1 {
				return fmt.Errorf("%w: node %q (%s) has %d inputs, want 1", classify.ErrInvalidGraph, n.name, n.op, len(n.in))
			}
			n.withDefault = true
		}
	}
	return nil
}

// likelyOutputs returns the nodes no other node consumes, in file order.
func (g *graph) likelyOutputs() []ref {
	used := map[*node]bool{}
	for _, n := range g.nodes {
		for _, r := range n.in {
			used[r.n] = true
		}
		for _, c := range n.ctrl {
			used[c] = true
		}
	}
	var out []ref
	for _, n := range g.nodes {
		if !used[n] && !notOutputs[n.op] {
			out = append(out, ref{n, 0})
		}
	}
	return out
}

// deps returns the nodes whose outputs n needs at run time: none for a
// constant or a plain feed, the default for a fed PlaceholderWithDefault.
func deps(n *node) []ref {
	if n.isConst() || (n.feed && !n.withDefault) {
		return nil
	}
	return n.in
}

// order keeps only the nodes the outputs need and sorts them topologically
// (Kahn's algorithm), data and control edges alike. Control inputs do not
// make a node needed: a frozen graph's asserts and savers stay out. A cycle
// is an error naming the nodes on it.
func (g *graph) order(outputs []ref) error {
	need := map[*node]bool{}
	stack := make([]*node, 0, len(outputs))
	for _, r := range outputs {
		if !need[r.n] {
			need[r.n] = true
			stack = append(stack, r.n)
		}
	}
	memo := map[*node]int8{}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, r := range deps(n) {
			if !need[r.n] {
				need[r.n] = true
				stack = append(stack, r.n)
			}
		}
		if n.isConst() || (n.feed && !n.withDefault) {
			continue
		}
		for _, c := range n.ctrl {
			if !need[c] && g.writesState(c, memo) {
				need[c] = true
				stack = append(stack, c)
			}
		}
	}
	pos := make(map[*node]int, len(need))
	kept := make([]*node, 0, len(need))
	for _, n := range g.nodes {
		if need[n] {
			pos[n] = len(kept)
			kept = append(kept, n)
		}
	}
	indeg := make([]int, len(kept))
	succ := make([][]int, len(kept))
	edge := func(from *node, to int) {
		if i, ok := pos[from]; ok {
			indeg[to]++
			succ[i] = append(succ[i], to)
		}
	}
	for i, n := range kept {
		for _, r := range deps(n) {
			edge(r.n, i)
		}
		if !n.isConst() && !(n.feed && !n.withDefault) {
			for _, c := range n.ctrl {
				edge(c, i)
			}
		}
	}
	queue := make([]int, 0, len(kept))
	for i := range kept {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	sorted := make([]*node, 0, len(kept))
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		sorted = append(sorted, kept[i])
		for _, j := range succ[i] {
			if indeg[j]--; indeg[j] == 0 {
				queue = append(queue, j)
			}
		}
	}
	if len(sorted) < len(kept) {
		var cyc []string
		for i, n := range kept {
			if indeg[i] > 0 {
				cyc = append(cyc, fmt.Sprintf("%q (%s)", n.name, n.op))
			}
		}
		sort.Strings(cyc)
		if len(cyc) > 10 {
			cyc = append(cyc[:10], fmt.Sprintf("and %d more", len(cyc)-10))
		}
		return fmt.Errorf("%w: cycle through nodes %s (control-flow loops are not supported)", classify.ErrInvalidGraph, strings.Join(cyc, ", "))
	}
	g.nodes = sorted
	return nil
}

// passThrough ops forward their single input unchanged.
var passThrough = map[string]bool{
	"Identity": true, "StopGradient": true, "PreventGradient": true, "Snapshot": true,
	"PlaceholderWithDefault": true,
}

// bypass points the consumers of pass-through nodes at what those forward,
// so inference runs no copy steps for dropout leftovers and `read` nodes.
// Requested outputs and nodes carrying control inputs stay.
func (g *graph) bypass(outputs []ref) {
	keep := map[*node]bool{}
	for _, r := range outputs {
		keep[r.n] = true
	}
	skip := func(r ref) ref {
		for r.idx == 0 && passThrough[r.n.op] && !keep[r.n] && !r.n.feed && !r.n.isConst() && len(r.n.in) == 1 && len(r.n.ctrl) == 0 {
			r = r.n.in[0]
		}
		return r
	}
	for _, n := range g.nodes {
		for i, r := range n.in {
			n.in[i] = skip(r)
		}
	}
}

// legacyScalarShape reports whether a Placeholder's shape attribute is one
// TensorFlow reads as unknown: graphs of GraphDef producer version 21 or
// older could not tell `shape {}` (a scalar) from no shape at all, so for
// them a shape of rank 0 means unknown (TensorFlow's Placeholder shape
// function, graph_def_version <= 21).
func legacyScalarShape(gd *gpb.GraphDef, a *apb.AttrValue) bool {
	if gd.GetVersions().GetProducer() > 21 || a == nil {
		return false
	}
	s := a.GetShape()
	return s != nil && !s.GetUnknownRank() && len(s.GetDim()) == 0
}
