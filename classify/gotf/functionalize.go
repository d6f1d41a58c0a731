package gotf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TF1 control flow. tf.while_loop and tf.cond in TensorFlow 1 build loops
// and conditionals out of dataflow primitives: a loop is a frame entered
// through Enter nodes, each loop variable going Enter → Merge (with the
// NextIteration of the previous iteration) → Switch on the LoopCond →
// body (Switch:1) → NextIteration, and leaving through Exit (Switch:0); a
// conditional switches every value it reads on the predicate and merges
// the branch results. The executor runs functional control flow only, so
// functionalize rewrites these structures at load, as TensorFlow's
// functionalize_control_flow pass does for XLA: each loop frame becomes a
// While node and each Switch/Merge conditional an If node, their bodies
// new functions of the graph's library. Loops are rewritten innermost
// first, the conditionals inside a frame before its loop; a structure the
// pass does not understand is a load error naming the frame and node.

// tf1FlowOps are the dataflow control-flow primitives.
var tf1FlowOps = map[string]bool{
	"Enter": true, "Exit": true, "Switch": true, "Merge": true, "NextIteration": true, "LoopCond": true,
	"RefEnter": true, "RefExit": true, "RefSwitch": true, "RefMerge": true, "RefNextIteration": true,
}

// hasTF1ControlFlow reports whether gd uses the dataflow primitives.
func hasTF1ControlFlow(gd *gpb.GraphDef) bool {
	for _, n := range gd.GetNode() {
		if tf1FlowOps[n.GetOp()] {
			return true
		}
	}
	return false
}

// frame is a loop frame: Enter's frame_name within its parent frame. The
// root frame (nil parent) holds everything outside loops.
type frame struct {
	name   string
	parent *frame
	depth  int
}

func (f *frame) String() string {
	if f.parent == nil {
		return "(top level)"
	}
	return strconv.Quote(f.name)
}

// condKey is one branch of a conditional: a Switch's output idx on pred.
type condKey struct {
	pred   string
	branch int
}

// fgraph is the graph being functionalized.
type fgraph struct {
	nodes map[string]*npb.NodeDef
	order []string // file order, for deterministic results
	lib   *fpb.FunctionDefLibrary
	names map[string]bool // node and function names in use
	seq   int
	// computed by frames:
	frameOf map[string]*frame
	// computed by condStates:
	state map[string][]condKey
}

// functionalize returns a copy of gd whose TF1 loops and conditionals are
// While and If nodes.
func functionalize(gd *gpb.GraphDef) (*gpb.GraphDef, error) {
	gd = proto.Clone(gd).(*gpb.GraphDef)
	g := &fgraph{nodes: map[string]*npb.NodeDef{}, names: map[string]bool{}, lib: gd.GetLibrary()}
	if g.lib == nil {
		g.lib = &fpb.FunctionDefLibrary{}
	}
	for _, f := range g.lib.GetFunction() {
		g.names[f.GetSignature().GetName()] = true
	}
	for i, n := range gd.GetNode() {
		if n.GetName() == "" {
			return nil, fmt.Errorf("%w: node #%d (%s) has no name", classify.ErrInvalidGraph, i, n.GetOp())
		}
		if _, dup := g.nodes[n.GetName()]; dup {
			return nil, fmt.Errorf("%w: duplicate node name %q", classify.ErrInvalidGraph, n.GetName())
		}
		if strings.HasPrefix(n.GetOp(), "Ref") && tf1FlowOps[n.GetOp()] {
			n.Op = strings.TrimPrefix(n.GetOp(), "Ref")
		}
		g.nodes[n.GetName()] = n
		g.names[n.GetName()] = true
		g.order = append(g.order, n.GetName())
	}
	for {
		if err := g.frames(); err != nil {
			return nil, err
		}
		var inner *frame
		for _, name := range g.order {
			if f := g.frameOf[name]; f != nil && f.parent != nil && (inner == nil || f.depth > inner.depth) {
				inner = f
			}
		}
		if inner == nil {
			break
		}
		if err := g.conds(inner); err != nil {
			return nil, err
		}
		if err := g.loop(inner); err != nil {
			return nil, err
		}
	}
	if err := g.conds(nil); err != nil {
		return nil, err
	}
	g.sweep()
	out := &gpb.GraphDef{Versions: gd.GetVersions(), Library: g.lib}
	for _, name := range g.order {
		if n, ok := g.nodes[name]; ok {
			out.Node = append(out.Node, n)
		}
	}
	return out, nil
}

// parseInput splits "^n", "n" or "n:k".
func parseInput(s string) (name string, idx int, ctrl bool) {
	if c, ok := strings.CutPrefix(s, "^"); ok {
		return c, -1, true
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if v, err := strconv.Atoi(s[i+1:]); err == nil && v >= 0 {
			return s[:i], v, false
		}
	}
	return s, 0, false
}

// canon is the canonical spelling of output idx of node name.
func canon(name string, idx int) string {
	if idx == 0 {
		return name
	}
	return name + ":" + strconv.Itoa(idx)
}

func (g *fgraph) errorf(f *frame, n *npb.NodeDef, format string, args ...any) error {
	where := "frame " + f.String()
	if f == nil || f.parent == nil {
		where = "top level"
	}
	return fmt.Errorf("%w: TF1 control flow (%s), node %q (%s): %s", classify.ErrInvalidGraph, where, n.GetName(), n.GetOp(), fmt.Sprintf(format, args...))
}

func (g *fgraph) input(n *npb.NodeDef, s string) (*npb.NodeDef, error) {
	name, _, _ := parseInput(s)
	src, ok := g.nodes[name]
	if !ok {
		return nil, fmt.Errorf("%w: node %q (%s): input %q names no node", classify.ErrInvalidGraph, n.GetName(), n.GetOp(), s)
	}
	return src, nil
}

// backEdge reports whether input s of Merge n is a loop's back edge.
func (g *fgraph) backEdge(n *npb.NodeDef, s string) bool {
	if n.GetOp() != "Merge" {
		return false
	}
	name, _, ctrl := parseInput(s)
	src, ok := g.nodes[name]
	return !ctrl && ok && src.GetOp() == "NextIteration"
}

// frames computes the frame of every node.
func (g *fgraph) frames() error {
	root := &frame{}
	children := map[*frame]map[string]*frame{}
	g.frameOf = map[string]*frame{}
	visiting := map[string]bool{}
	var visit func(n *npb.NodeDef) (*frame, error)
	visit = func(n *npb.NodeDef) (*frame, error) {
		if f, ok := g.frameOf[n.GetName()]; ok {
			return f, nil
		}
		if visiting[n.GetName()] {
			return nil, fmt.Errorf("%w: node %q (%s) is on a cycle that is not a loop's NextIteration", classify.ErrInvalidGraph, n.GetName(), n.GetOp())
		}
		visiting[n.GetName()] = true
		defer delete(visiting, n.GetName())
		var f *frame
		var from *npb.NodeDef
		for _, s := range n.GetInput() {
			if g.backEdge(n, s) {
				continue
			}
			src, err := g.input(n, s)
			if err != nil {
				return nil, err
			}
			sf, err := visit(src)
			if err != nil {
				return nil, err
			}
			switch {
			case f == nil || f == sf:
				f, from = sf, src
			case src.GetOp() == "Const" && isAncestor(sf, f):
				// A constant of an outer frame read directly: the
				// function bodies copy it.
			case from.GetOp() == "Const" && isAncestor(f, sf):
				f, from = sf, src
			default:
				deeper := f
				if sf.depth > f.depth {
					deeper = sf
				}
				return nil, g.errorf(deeper, n, "reads %q of frame %v and %q of frame %v (a loop reads outer values through Enter)", src.GetName(), sf, from.GetName(), f)
			}
		}
		if f == nil {
			f = root
		}
		switch n.GetOp() {
		case "Enter":
			if len(n.GetInput()) == 0 {
				return nil, g.errorf(f, n, "has no input")
			}
			fname := n.GetAttr()["frame_name"].GetS()
			if len(fname) == 0 {
				return nil, g.errorf(f, n, "has no frame_name")
			}
			if children[f] == nil {
				children[f] = map[string]*frame{}
			}
			c := children[f][string(fname)]
			if c == nil {
				c = &frame{name: string(fname), parent: f, depth: f.depth + 1}
				children[f][string(fname)] = c
			}
			f = c
		case "Exit":
			if f.parent == nil {
				return nil, g.errorf(f, n, "leaves no loop: its input is outside every frame")
			}
			f = f.parent
		}
		g.frameOf[n.GetName()] = f
		return f, nil
	}
	for _, name := range g.order {
		if n, ok := g.nodes[name]; ok {
			if _, err := visit(n); err != nil {
				return err
			}
		}
	}
	return nil
}

func isAncestor(a, b *frame) bool {
	for ; b != nil; b = b.parent {
		if a == b {
			return true
		}
	}
	return false
}

// consumers maps each node name to the inputs naming it: consumer node
// and input string.
type use struct {
	n   *npb.NodeDef
	in  string
	idx int // output index read, -1 for a control input
}

func (g *fgraph) consumers() map[string][]use {
	c := map[string][]use{}
	for _, name := range g.order {
		n, ok := g.nodes[name]
		if !ok {
			continue
		}
		for _, s := range n.GetInput() {
			src, idx, _ := parseInput(s)
			c[src] = append(c[src], use{n, s, idx})
		}
	}
	return c
}

func (g *fgraph) unique(base string) string {
	for {
		g.seq++
		name := base + "_" + strconv.Itoa(g.seq)
		if !g.names[name] {
			g.names[name] = true
			return name
		}
	}
}

// body collects the nodes a function needs. args maps a value (canonical
// ref) to its arg index; inside says which nodes may be copied in.
type body struct {
	g      *fgraph
	f      *frame
	args   map[string]int
	drop   map[string]bool // control inputs that are satisfied at entry
	inside func(*npb.NodeDef) bool
	// argFor, when set, makes a new arg for a value read from outside.
	argFor func(ref string) (int, bool)
	nodes  []*npb.NodeDef
	done   map[string]bool
}

func argName(i int) string { return "_a" + strconv.Itoa(i) }

// ref translates a value read in the body, copying the nodes it needs.
func (b *body) ref(user *npb.NodeDef, s string) (string, error) {
	name, idx, ctrl := parseInput(s)
	if ctrl {
		if b.drop[name] {
			return "", nil
		}
		if _, ok := b.args[canon(name, 0)]; ok {
			return "", nil
		}
	} else if i, ok := b.args[canon(name, idx)]; ok {
		return argName(i), nil
	}
	src, err := b.g.input(user, s)
	if err != nil {
		return "", err
	}
	switch {
	case b.inside(src):
	case src.GetOp() == "Const":
		// An outer constant: copied into the body.
	case b.argFor != nil && !ctrl:
		if i, ok := b.argFor(canon(name, idx)); ok {
			return argName(i), nil
		}
		fallthrough
	default:
		if ctrl {
			// A control dependency on a value of an outer scope is met
			// before the function starts.
			return "", nil
		}
		return "", b.g.errorf(b.f, user, "reads %q (%s), which is neither a value of the loop nor one brought in by Enter", s, src.GetOp())
	}
	if err := b.add(src); err != nil {
		return "", err
	}
	if ctrl {
		return "^" + name, nil
	}
	return canon(name, idx), nil
}

// add copies n and what it reads into the body.
func (b *body) add(n *npb.NodeDef) error {
	if b.done[n.GetName()] {
		return nil
	}
	b.done[n.GetName()] = true
	if tf1FlowOps[n.GetOp()] {
		return b.g.errorf(b.f, n, "is read inside a loop or branch body, where the pass expects no %s", n.GetOp())
	}
	c := proto.Clone(n).(*npb.NodeDef)
	c.Input = nil
	constant := n.GetOp() == "Const" && !b.inside(n)
	for _, s := range n.GetInput() {
		if constant && strings.HasPrefix(s, "^") {
			continue
		}
		t, err := b.ref(n, s)
		if err != nil {
			return err
		}
		if t != "" {
			c.Input = append(c.Input, t)
		}
	}
	// Data inputs first, as GraphDefs require.
	slices.SortStableFunc(c.Input, func(x, y string) int {
		return boolInt(strings.HasPrefix(x, "^")) - boolInt(strings.HasPrefix(y, "^"))
	})
	b.nodes = append(b.nodes, c)
	return nil
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// function adds a function of nargs args returning results to the library.
func (b *body) function(name string, nargs int, results []string) (*fpb.FunctionDef, error) {
	sig := &opb.OpDef{Name: name}
	fd := &fpb.FunctionDef{Signature: sig, Ret: map[string]string{}}
	for i := range nargs {
		sig.InputArg = append(sig.InputArg, &opb.OpDef_ArgDef{Name: argName(i)})
	}
	for i, r := range results {
		out := "_r" + strconv.Itoa(i)
		sig.OutputArg = append(sig.OutputArg, &opb.OpDef_ArgDef{Name: out})
		fd.Ret[out] = r
	}
	fd.NodeDef = b.nodes
	return fd, nil
}

// loopVar is one variable of a loop frame.
type loopVar struct {
	enter  *npb.NodeDef
	merge  *npb.NodeDef // nil for an invariant (Enter with is_constant)
	sw     *npb.NodeDef
	next   *npb.NodeDef // NextIteration
	exits  []*npb.NodeDef
	result string // the value NextIteration passes back
}

// loop rewrites frame f, which holds no other frame, into a While node.
func (g *fgraph) loop(f *frame) error {
	cons := g.consumers()
	var members []*npb.NodeDef
	for _, name := range g.order {
		if n, ok := g.nodes[name]; ok && g.frameOf[name] == f {
			members = append(members, n)
		}
	}
	var lc *npb.NodeDef
	for _, n := range members {
		if n.GetOp() == "LoopCond" {
			if lc != nil {
				return g.errorf(f, n, "is a second LoopCond of the frame (the first is %q)", lc.GetName())
			}
			lc = n
		}
	}
	if lc == nil {
		return g.errorf(f, members[0], "the frame has no LoopCond")
	}
	if len(lc.GetInput()) == 0 || strings.HasPrefix(lc.GetInput()[0], "^") {
		return g.errorf(f, lc, "has no input")
	}
	var vars, invariants []*loopVar
	covered := map[string]bool{lc.GetName(): true}
	for _, n := range members {
		if n.GetOp() != "Enter" {
			continue
		}
		covered[n.GetName()] = true
		v := &loopVar{enter: n}
		if n.GetAttr()["is_constant"].GetB() {
			invariants = append(invariants, v)
			continue
		}
		for _, u := range cons[n.GetName()] {
			if u.idx < 0 {
				continue
			}
			if u.n.GetOp() != "Merge" || v.merge != nil {
				return g.errorf(f, n, "feeds %q (%s); a loop variable's Enter must feed one Merge", u.n.GetName(), u.n.GetOp())
			}
			v.merge = u.n
		}
		if v.merge == nil {
			return g.errorf(f, n, "feeds no Merge")
		}
		m := v.merge
		covered[m.GetName()] = true
		var data []string
		for _, s := range m.GetInput() {
			if !strings.HasPrefix(s, "^") {
				data = append(data, s)
			}
		}
		for _, s := range data {
			if src, err := g.input(m, s); err == nil && src.GetOp() == "NextIteration" {
				v.next = src
			}
		}
		if len(data) != 2 || v.next == nil {
			return g.errorf(f, m, "merges %d values and no NextIteration; a loop variable's Merge takes its Enter and a NextIteration", len(data))
		}
		if len(v.next.GetInput()) == 0 {
			return g.errorf(f, v.next, "has no input")
		}
		covered[v.next.GetName()] = true
		v.result = v.next.GetInput()[0]
		for _, u := range cons[m.GetName()] {
			if u.n.GetOp() != "Switch" || u.idx != 0 || len(u.n.GetInput()) < 2 {
				continue
			}
			if p, _, _ := parseInput(u.n.GetInput()[1]); p == lc.GetName() {
				if v.sw != nil {
					return g.errorf(f, u.n, "is a second Switch of loop variable %q", n.GetName())
				}
				v.sw = u.n
			}
		}
		if v.sw == nil {
			return g.errorf(f, m, "is not switched on the frame's LoopCond %q", lc.GetName())
		}
		covered[v.sw.GetName()] = true
		for _, u := range cons[v.sw.GetName()] {
			if u.idx == 0 {
				if u.n.GetOp() != "Exit" {
					return g.errorf(f, u.n, "reads the exit branch of loop switch %q but is no Exit", v.sw.GetName())
				}
				v.exits = append(v.exits, u.n)
			}
		}
		vars = append(vars, v)
	}
	for _, n := range members {
		// Switches left of conditionals (now If nodes) go with the frame.
		loopish := n.GetOp() == "NextIteration" || n.GetOp() == "LoopCond" || n.GetOp() == "Merge" ||
			(n.GetOp() == "Switch" && g.isLoopSwitch(n))
		if loopish {
			if !covered[n.GetName()] {
				return g.errorf(f, n, "is not part of a loop variable's Enter → Merge → Switch → NextIteration chain")
			}
		}
	}
	// Exits in the parent frame must leave through a loop switch.
	switches := map[string]bool{}
	for _, v := range vars {
		switches[v.sw.GetName()] = true
	}
	for _, name := range g.order {
		n, ok := g.nodes[name]
		if !ok || n.GetOp() != "Exit" || g.frameOf[name] != f.parent || len(n.GetInput()) == 0 {
			continue
		}
		src, idx, _ := parseInput(n.GetInput()[0])
		if g.frameOf[src] == f && (!switches[src] || idx != 0) {
			return g.errorf(f, n, "leaves the loop from %q, not from a loop variable's Switch", src)
		}
	}

	all := append(append([]*loopVar(nil), vars...), invariants...)
	args := map[string]int{}
	drop := map[string]bool{lc.GetName(): true}
	for i, v := range all {
		if v.merge != nil {
			args[canon(v.merge.GetName(), 0)] = i
			args[canon(v.sw.GetName(), 1)] = i
			drop[v.merge.GetName()] = true
			drop[v.sw.GetName()] = true
		} else {
			args[canon(v.enter.GetName(), 0)] = i
		}
	}
	inside := func(n *npb.NodeDef) bool { return g.frameOf[n.GetName()] == f }
	newBody := func() *body {
		return &body{g: g, f: f, args: args, drop: drop, inside: inside, done: map[string]bool{}}
	}
	base := g.unique("tf1_while")
	cb := newBody()
	cres, err := cb.ref(lc, lc.GetInput()[0])
	if err != nil {
		return err
	}
	cond, err := cb.function(base+"_cond", len(all), []string{cres})
	if err != nil {
		return err
	}
	bb := newBody()
	var bres []string
	for i, v := range all {
		if v.merge == nil {
			bres = append(bres, argName(i))
			continue
		}
		r, err := bb.ref(v.next, v.result)
		if err != nil {
			return err
		}
		bres = append(bres, r)
	}
	bodyFn, err := bb.function(base+"_body", len(all), bres)
	if err != nil {
		return err
	}
	g.lib.Function = append(g.lib.Function, cond, bodyFn)

	w := &npb.NodeDef{Name: g.unique(lc.GetName() + "/While"), Op: "While", Attr: map[string]*apb.AttrValue{
		"cond": graphdef.Func(cond.GetSignature().GetName()),
		"body": graphdef.Func(bodyFn.GetSignature().GetName()),
	}}
	var ctrl []string
	for _, v := range all {
		var data string
		for _, s := range v.enter.GetInput() {
			if strings.HasPrefix(s, "^") {
				if !slices.Contains(ctrl, s) {
					ctrl = append(ctrl, s)
				}
			} else if data == "" {
				data = s
			}
		}
		if data == "" {
			return g.errorf(f, v.enter, "has no data input")
		}
		w.Input = append(w.Input, data)
	}
	w.Input = append(w.Input, ctrl...)
	for _, n := range members {
		delete(g.nodes, n.GetName())
	}
	g.nodes[w.GetName()] = w
	g.order = append(g.order, w.GetName())
	for i, v := range vars {
		for _, x := range v.exits {
			attr := map[string]*apb.AttrValue{}
			if t, ok := x.GetAttr()["T"]; ok {
				attr["T"] = t
			}
			g.nodes[x.GetName()] = &npb.NodeDef{Name: x.GetName(), Op: "Identity", Input: []string{canon(w.GetName(), i)}, Attr: attr}
		}
	}
	return nil
}

// isLoopSwitch reports whether Switch n is a loop's (its predicate is a
// LoopCond).
func (g *fgraph) isLoopSwitch(n *npb.NodeDef) bool {
	if len(n.GetInput()) < 2 {
		return false
	}
	p, _, _ := parseInput(n.GetInput()[1])
	src, ok := g.nodes[p]
	return ok && src.GetOp() == "LoopCond"
}

func (g *fgraph) isLoopMerge(n *npb.NodeDef) bool {
	for _, s := range n.GetInput() {
		if g.backEdge(n, s) {
			return true
		}
	}
	return false
}

func condPrefix(a, b []condKey) bool {
	return len(a) <= len(b) && slices.Equal(a, b[:len(a)])
}

// condStates computes, for every value read in frame f, the stack of
// conditional branches it lies in.
func (g *fgraph) condStates(f *frame) error {
	g.state = map[string][]condKey{}
	done := map[string]bool{}
	var nodeState func(n *npb.NodeDef) ([]condKey, error)
	valueState := func(user *npb.NodeDef, s string) ([]condKey, error) {
		name, idx, _ := parseInput(s)
		src, ok := g.nodes[name]
		if !ok || g.frameOf[name] != f {
			return nil, nil
		}
		st, err := nodeState(src)
		if err != nil {
			return nil, err
		}
		if src.GetOp() == "Switch" && !g.isLoopSwitch(src) && idx >= 0 {
			if idx > 1 {
				return nil, g.errorf(f, user, "reads output %d of Switch %q", idx, name)
			}
			return append(slices.Clip(st), condKey{pred: g.predOf(src), branch: idx}), nil
		}
		return st, nil
	}
	nodeState = func(n *npb.NodeDef) ([]condKey, error) {
		if done[n.GetName()] {
			return g.state[n.GetName()], nil
		}
		done[n.GetName()] = true
		var st []condKey
		switch {
		case n.GetOp() == "Enter" || (n.GetOp() == "Merge" && g.isLoopMerge(n)) || (n.GetOp() == "Switch" && g.isLoopSwitch(n)):
			// Loop boundaries: the frame's values start here.
		case n.GetOp() == "Merge":
			var longest []condKey
			var states [][]condKey
			for _, s := range n.GetInput() {
				if strings.HasPrefix(s, "^") {
					continue
				}
				vs, err := valueState(n, s)
				if err != nil {
					return nil, err
				}
				states = append(states, vs)
				if len(vs) > len(longest) {
					longest = vs
				}
			}
			if len(states) != 2 || len(longest) == 0 {
				return nil, g.errorf(f, n, "merges %d values, neither the two branches of a conditional nor a loop variable's Enter and NextIteration", len(states))
			}
			st = longest[:len(longest)-1]
			var branches [2]bool
			for _, vs := range states {
				switch {
				case len(vs) == len(longest) && slices.Equal(vs[:len(st)], st) && vs[len(st)].pred == longest[len(st)].pred:
					branches[vs[len(st)].branch] = true
				case condPrefix(vs, st):
					// A value from outside the conditional.
				default:
					return nil, g.errorf(f, n, "merges values of different conditionals")
				}
			}
			if !(branches[0] && branches[1]) && len(states[0]) == len(states[1]) {
				return nil, g.errorf(f, n, "merges two values of the same branch")
			}
		default:
			for _, s := range n.GetInput() {
				vs, err := valueState(n, s)
				if err != nil {
					return nil, err
				}
				switch {
				case condPrefix(st, vs):
					st = vs
				case condPrefix(vs, st):
				default:
					return nil, g.errorf(f, n, "reads values of different conditional branches")
				}
			}
		}
		g.state[n.GetName()] = st
		return st, nil
	}
	for _, name := range g.order {
		if n, ok := g.nodes[name]; ok && g.frameOf[name] == f {
			if _, err := nodeState(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// predOf is the canonical predicate of Switch n.
func (g *fgraph) predOf(n *npb.NodeDef) string {
	if len(n.GetInput()) < 2 {
		return ""
	}
	name, idx, _ := parseInput(n.GetInput()[1])
	return canon(name, idx)
}

// conds rewrites the conditionals of frame f (nil: the top level) into If
// nodes, innermost first.
func (g *fgraph) conds(f *frame) error {
	if f == nil {
		for _, name := range g.order {
			if fr, ok := g.frameOf[name]; ok {
				f = fr
				for f.parent != nil {
					f = f.parent
				}
				break
			}
		}
		if f == nil {
			return nil
		}
	}
	for {
		if err := g.condStates(f); err != nil {
			return err
		}
		var m *npb.NodeDef
		for _, name := range g.order {
			n, ok := g.nodes[name]
			if !ok || g.frameOf[name] != f || n.GetOp() != "Merge" || g.isLoopMerge(n) {
				continue
			}
			if m == nil || len(g.state[name]) > len(g.state[m.GetName()]) {
				m = n
			}
		}
		if m == nil {
			return nil
		}
		if err := g.cond(f, m); err != nil {
			return err
		}
	}
}

// mergeBranches finds the predicate of conditional Merge m, whose outer
// state has depth d, and its input from each branch (0 false, 1 true).
func (g *fgraph) mergeBranches(f *frame, m *npb.NodeDef, d int) (string, [2]string, error) {
	var pred string
	var inputs [2]string
	for _, s := range m.GetInput() {
		if strings.HasPrefix(s, "^") {
			continue
		}
		name, idx, _ := parseInput(s)
		vs := g.state[name]
		if src := g.nodes[name]; src.GetOp() == "Switch" && !g.isLoopSwitch(src) {
			vs = append(slices.Clip(vs), condKey{pred: g.predOf(src), branch: idx})
		}
		if len(vs) > d {
			pred = vs[d].pred
			inputs[vs[d].branch] = s
		}
	}
	for b := range inputs {
		if inputs[b] == "" {
			for _, s := range m.GetInput() {
				if !strings.HasPrefix(s, "^") && s != inputs[1-b] {
					inputs[b] = s
				}
			}
		}
	}
	if pred == "" || inputs[0] == "" || inputs[1] == "" {
		return "", inputs, g.errorf(f, m, "cannot tell the conditional's predicate")
	}
	return pred, inputs, nil
}

// cond rewrites the conditional of Merge m, and the other Merges of the
// same conditional (same predicate and enclosing branches, as tf.cond
// with several results makes), into one If node. Each Merge becomes an
// IdentityN of its value and the index of the branch taken, so its outputs
// keep their names. A Merge whose branches read another of the group's
// results goes to an If of its own.
func (g *fgraph) cond(f *frame, m *npb.NodeDef) error {
	outer := g.state[m.GetName()]
	d := len(outer)
	pred, _, err := g.mergeBranches(f, m, d)
	if err != nil {
		return err
	}
	group := []*npb.NodeDef{m}
	for _, name := range g.order {
		n, ok := g.nodes[name]
		if !ok || n == m || g.frameOf[name] != f || n.GetOp() != "Merge" || g.isLoopMerge(n) || !slices.Equal(g.state[name], outer) {
			continue
		}
		if p, _, err := g.mergeBranches(f, n, d); err == nil && p == pred {
			group = append(group, n)
		}
	}
	// A Merge reading another of the group (a second tf.cond on the same
	// predicate using the first's result) waits for a later If.
	var indep []*npb.NodeDef
	for i, n := range group {
		others := slices.Delete(slices.Clone(group), i, i+1)
		if !g.readsAny(n.GetInput(), others) {
			indep = append(indep, n)
		}
	}
	if len(indep) == 0 {
		return g.errorf(f, m, "the conditional's Merges read each other")
	}
	return g.condGroup(f, indep, pred, d)
}

// condGroup builds the If for group.
func (g *fgraph) condGroup(f *frame, group []*npb.NodeDef, pred string, d int) error {
	// Values from outside the conditional, shared by both branches.
	args := map[string]int{}
	var argVals []string
	argFor := func(ref string) (int, bool) {
		if i, ok := args[ref]; ok {
			return i, true
		}
		args[ref] = len(argVals)
		argVals = append(argVals, ref)
		return args[ref], true
	}
	var fns [2]*fpb.FunctionDef
	base := g.unique("tf1_cond")
	for b := range 2 {
		bd := &body{g: g, f: f, args: map[string]int{}, drop: map[string]bool{}, done: map[string]bool{}}
		bd.inside = func(n *npb.NodeDef) bool {
			if g.frameOf[n.GetName()] != f || len(g.state[n.GetName()]) <= d {
				return false
			}
			// A switch of this conditional is where its values come in.
			return !(n.GetOp() == "Switch" && len(g.state[n.GetName()]) == d)
		}
		bd.argFor = func(ref string) (int, bool) {
			name, idx, _ := parseInput(ref)
			n := g.nodes[name]
			if n.GetOp() == "Switch" && !g.isLoopSwitch(n) && len(g.state[name]) == d && g.predOf(n) == pred {
				if idx != b {
					return 0, false
				}
				in := n.GetInput()[0]
				iname, iidx, _ := parseInput(in)
				return argFor(canon(iname, iidx))
			}
			if n.GetOp() == "Switch" && !g.isLoopSwitch(n) && len(g.state[name]) >= d {
				return 0, false
			}
			return argFor(ref)
		}
		var results []string
		for _, m := range group {
			_, inputs, err := g.mergeBranches(f, m, d)
			if err != nil {
				return err
			}
			r, err := bd.ref(m, inputs[b])
			if err != nil {
				return err
			}
			results = append(results, r)
		}
		idx := &npb.NodeDef{Name: "_branch_index", Op: "Const", Attr: map[string]*apb.AttrValue{
			"dtype": graphdef.Attr(classify.Int32),
			"value": graphdef.Attr(&classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{int32(b)}}),
		}}
		bd.nodes = append(bd.nodes, idx)
		// The args are added to the signatures once both branches are
		// built: each may bring in values the other does not read.
		fd, err := bd.function(base+[]string{"_else", "_then"}[b], 0, append(results, "_branch_index"))
		if err != nil {
			return err
		}
		fns[b] = fd
	}
	for _, fd := range fns {
		for i := range argVals {
			fd.Signature.InputArg = append(fd.Signature.InputArg, &opb.OpDef_ArgDef{Name: argName(i)})
		}
	}
	g.lib.Function = append(g.lib.Function, fns[0], fns[1])
	attr := map[string]*apb.AttrValue{
		"then_branch": graphdef.Func(fns[1].GetSignature().GetName()),
		"else_branch": graphdef.Func(fns[0].GetSignature().GetName()),
	}
	in := append([]string{pred}, argVals...)
	if len(group) == 1 {
		m := group[0]
		g.nodes[m.GetName()] = &npb.NodeDef{Name: m.GetName(), Op: "If", Input: in, Attr: attr}
		return nil
	}
	ifName := g.unique(group[0].GetName() + "/If")
	g.nodes[ifName] = &npb.NodeDef{Name: ifName, Op: "If", Input: in, Attr: attr}
	g.order = append(g.order, ifName)
	g.frameOf[ifName] = f
	for j, m := range group {
		g.nodes[m.GetName()] = &npb.NodeDef{Name: m.GetName(), Op: "IdentityN", Input: []string{canon(ifName, j), canon(ifName, len(group))}}
	}
	return nil
}

// readsAny reports whether any of vals depends on a node of group.
func (g *fgraph) readsAny(vals []string, group []*npb.NodeDef) bool {
	target := map[string]bool{}
	for _, m := range group {
		target[m.GetName()] = true
	}
	seen := map[string]bool{}
	stack := []string{}
	for _, v := range vals {
		name, _, _ := parseInput(v)
		stack = append(stack, name)
	}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[name] {
			continue
		}
		seen[name] = true
		if target[name] {
			return true
		}
		n := g.nodes[name]
		for _, s := range n.GetInput() {
			if g.backEdge(n, s) {
				continue
			}
			src, _, _ := parseInput(s)
			stack = append(stack, src)
		}
	}
	return false
}

// sweep removes what is left of the dataflow control flow (switches whose
// conditionals are now If nodes, and branch nodes nothing reads) and every
// node that depends on it.
func (g *fgraph) sweep() {
	dead := map[string]bool{}
	var visit func(name string) bool
	seen := map[string]bool{}
	visit = func(name string) bool {
		if seen[name] {
			return dead[name]
		}
		seen[name] = true
		n, ok := g.nodes[name]
		if !ok {
			return false
		}
		if tf1FlowOps[n.GetOp()] {
			dead[name] = true
			return true
		}
		for _, s := range n.GetInput() {
			src, _, _ := parseInput(s)
			if visit(src) {
				dead[name] = true
				return true
			}
		}
		return false
	}
	for _, name := range g.order {
		visit(name)
	}
	for name := range dead {
		delete(g.nodes, name)
	}
}
