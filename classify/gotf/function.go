package gotf

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	spb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// defaultMaxIterations stops a While loop that would run forever: no
// inference graph needs a million steps, and a graph that never stops
// must not hold a request until its deadline.
const defaultMaxIterations = 1_000_000

// function is a library function compiled once at load into a Model of its
// own: its args are the feeds "arg/i", its results the outputs of "ret".
type function struct {
	name   string
	m      *Model
	nin    int
	nout   int
	inputs []string // feed name of arg i, "" when the body never reads it
	// err is why a branch of If or Case could not be compiled (an op the
	// engine lacks): reported when the branch is taken, so a graph whose
	// training-only branch uses such ops still serves inference.
	err error
}

// call runs the function on args and returns its results.
func (f *function) call(ctx context.Context, args []*classify.Tensor) ([]*classify.Tensor, error) {
	if f.err != nil {
		return nil, f.err
	}
	if len(args) != f.nin {
		return nil, fmt.Errorf("%w: function %s called with %d args, it takes %d", classify.ErrInvalidGraph, f.name, len(args), f.nin)
	}
	feeds := make(map[string]*classify.Tensor, len(args))
	for i, a := range args {
		if f.inputs[i] != "" {
			feeds[f.inputs[i]] = a
		}
	}
	out, err := f.m.Run(ctx, feeds, nil)
	if err != nil {
		return nil, fmt.Errorf("in function %s: %w", f.name, err)
	}
	return out, nil
}

// library compiles the functions of a GraphDef's library on first use, so
// each body is optimised once however many nodes call it.
type library struct {
	ctx      context.Context
	defs     map[string]*fpb.FunctionDef
	kernels  map[string]ops.Builder // the parent's, control-flow ops added
	threads  int
	maxIter  int
	compiled map[string]*function
	busy     map[string]bool // being compiled: a call back into it is recursion
}

// newLibrary returns nil when gd has no functions. kernels are the parent
// graph's extra kernels; the result's kernels add the control-flow ops.
func newLibrary(ctx context.Context, gd *gpb.GraphDef, kernels map[string]ops.Builder, threads, maxIter int) *library {
	fns := gd.GetLibrary().GetFunction()
	if len(fns) == 0 {
		return nil
	}
	if maxIter <= 0 {
		maxIter = defaultMaxIterations
	}
	l := &library{ctx: ctx, defs: map[string]*fpb.FunctionDef{}, kernels: map[string]ops.Builder{}, threads: threads, maxIter: maxIter,
		compiled: map[string]*function{}, busy: map[string]bool{}}
	for _, fn := range fns {
		l.defs[fn.GetSignature().GetName()] = fn
	}
	for k, b := range kernels {
		l.kernels[k] = b
	}
	for _, op := range []string{"While", "StatelessWhile"} {
		l.kernels[op] = l.buildWhile
	}
	for _, op := range []string{"If", "StatelessIf"} {
		l.kernels[op] = l.buildIf
	}
	for _, op := range []string{"Case", "StatelessCase"} {
		l.kernels[op] = l.buildCase
	}
	return l
}

// function compiles (or returns the compiled) fname for node n.
func (l *library) function(n *ops.Node, fname string) (*function, error) {
	if f, ok := l.compiled[fname]; ok {
		return f, nil
	}
	fd, ok := l.defs[fname]
	if !ok {
		return nil, n.Errorf("function %q is not in the graph's library", fname)
	}
	if l.busy[fname] {
		return nil, n.Errorf("function %q calls itself", fname)
	}
	l.busy[fname] = true
	defer delete(l.busy, fname)
	sig := fd.GetSignature()
	if len(sig.GetOutputArg()) == 0 {
		return nil, n.Errorf("function %q returns nothing", fname)
	}
	// The body becomes a graph of its own: one Placeholder per arg of
	// unknown shape (loop variables may change shape between iterations)
	// and a call node "ret" that flatten inlines, nested calls and all.
	call := &npb.NodeDef{Name: "ret", Op: "PartitionedCall", Attr: map[string]*apb.AttrValue{
		"f": {Value: &apb.AttrValue_Func{Func: &apb.NameAttrList{Name: fname}}},
	}}
	gd := &gpb.GraphDef{Library: &fpb.FunctionDefLibrary{Function: []*fpb.FunctionDef{}}}
	for _, d := range l.defs {
		gd.Library.Function = append(gd.Library.Function, d)
	}
	f := &function{name: fname, nin: len(sig.GetInputArg()), nout: len(sig.GetOutputArg())}
	for i, a := range sig.GetInputArg() {
		name := "arg/" + strconv.Itoa(i)
		attr := map[string]*apb.AttrValue{"shape": {Value: &apb.AttrValue_Shape{Shape: &spb.TensorShapeProto{UnknownRank: true}}}}
		if dt := graphdef.DTypeFromProto(a.GetType()); dt != classify.Invalid {
			attr["dtype"] = graphdef.Attr(dt)
		}
		gd.Node = append(gd.Node, &npb.NodeDef{Name: name, Op: "Placeholder", Attr: attr})
		call.Input = append(call.Input, name)
		f.inputs = append(f.inputs, name)
	}
	gd.Node = append(gd.Node, call)
	var outputs []string
	for i := range f.nout {
		outputs = append(outputs, "ret:"+strconv.Itoa(i))
	}
	flat, err := flatten(gd, nil)
	if err != nil {
		return nil, fmt.Errorf("node %q (%s): function %s: %w", n.Name, n.Op, fname, err)
	}
	m, err := l.load(flat, outputs)
	if err != nil {
		return nil, fmt.Errorf("node %q (%s): function %s: %w", n.Name, n.Op, fname, err)
	}
	for i, name := range f.inputs {
		if _, ok := m.feedIdx[name]; !ok {
			f.inputs[i] = ""
		}
	}
	f.m = m
	l.compiled[fname] = f
	return f, nil
}

// load compiles a flattened function body with the library's kernels, so
// control flow nested in it finds the same library.
func (l *library) load(gd *gpb.GraphDef, outputs []string) (*Model, error) {
	return compileGraph(l.ctx, gd, classify.OpenOptions{Outputs: outputs, Threads: l.threads}, loadConfig{fuse: true, maxIter: l.maxIter}, l.kernels)
}

// funcAttr reads a function-valued attribute.
func funcAttr(n *ops.Node, name string) (string, error) {
	a, ok := n.Attr[name]
	if !ok || a.GetFunc().GetName() == "" {
		return "", n.Errorf("attribute %s names no function", name)
	}
	return a.GetFunc().GetName(), nil
}

func (l *library) buildWhile(n *ops.Node, _ []*classify.Tensor) (ops.Op, error) {
	cn, err := funcAttr(n, "cond")
	if err != nil {
		return nil, err
	}
	bn, err := funcAttr(n, "body")
	if err != nil {
		return nil, err
	}
	cond, err := l.function(n, cn)
	if err != nil {
		return nil, err
	}
	body, err := l.function(n, bn)
	if err != nil {
		return nil, err
	}
	switch {
	case cond.nin != n.NumInputs:
		return nil, n.Errorf("cond %s takes %d args, the loop has %d variables", cn, cond.nin, n.NumInputs)
	case body.nin != n.NumInputs || body.nout != n.NumInputs:
		return nil, n.Errorf("body %s maps %d args to %d results, the loop has %d variables", bn, body.nin, body.nout, n.NumInputs)
	case cond.nout != 1:
		return nil, n.Errorf("cond %s returns %d results, want 1", cn, cond.nout)
	}
	return &whileOp{n: n, cond: cond, body: body, max: l.maxIter}, nil
}

// whileOp runs body while cond holds, the loop variables passed from each
// iteration to the next.
type whileOp struct {
	n          *ops.Node
	cond, body *function
	max        int
}

func (o *whileOp) Run(ctx *ops.Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	vars := append([]*classify.Tensor(nil), in...)
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := o.cond.call(ctx, vars)
		if err != nil {
			return nil, err
		}
		ok, err := truth(o.n, c[0])
		if err != nil {
			return nil, err
		}
		if !ok {
			return vars, nil
		}
		if i >= o.max {
			return nil, o.n.InputErrorf("loop still running after %d iterations", o.max)
		}
		next, err := o.body.call(ctx, vars)
		if err != nil {
			return nil, err
		}
		for k, t := range next {
			if t.DType != vars[k].DType {
				return nil, o.n.Errorf("body turned loop variable %d from %v into %v", k, vars[k].DType, t.DType)
			}
		}
		vars = next
	}
}

// truth reads a predicate as TensorFlow does: a scalar is true when
// nonzero (a string when non-empty), a tensor of any other shape when it
// has elements.
func truth(n *ops.Node, t *classify.Tensor) (bool, error) {
	if len(t.Shape) != 0 {
		return t.Shape.NumElements() > 0, nil
	}
	switch d := t.Data.(type) {
	case []bool:
		return d[0], nil
	case []float32:
		return d[0] != 0, nil
	case []float64:
		return d[0] != 0, nil
	case []int32:
		return d[0] != 0, nil
	case []int64:
		return d[0] != 0, nil
	case []uint8:
		return d[0] != 0, nil
	case [][]byte:
		return len(d[0]) > 0, nil
	}
	return false, n.InputErrorf("predicate of dtype %v", t.DType)
}

func (l *library) branches(n *ops.Node, names []string, nin int) ([]*function, error) {
	var fs []*function
	want := len(n.Attr["Tout"].GetList().GetType())
	for _, name := range names {
		f, err := l.function(n, name)
		if errors.Is(err, classify.ErrUnsupportedOp) && len(names) > 1 {
			fs = append(fs, &function{name: name, nin: nin, err: err})
			continue
		}
		if err != nil {
			return nil, err
		}
		if f.nin != nin {
			return nil, n.Errorf("branch %s takes %d args, the node passes %d", name, f.nin, nin)
		}
		if n.Has("Tout") && f.nout != want {
			return nil, n.Errorf("branch %s returns %d results, Tout has %d", name, f.nout, want)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func (l *library) buildIf(n *ops.Node, _ []*classify.Tensor) (ops.Op, error) {
	tn, err := funcAttr(n, "then_branch")
	if err != nil {
		return nil, err
	}
	en, err := funcAttr(n, "else_branch")
	if err != nil {
		return nil, err
	}
	if n.NumInputs < 1 {
		return nil, n.Errorf("has no cond input")
	}
	fs, err := l.branches(n, []string{tn, en}, n.NumInputs-1)
	if err != nil {
		return nil, err
	}
	return &branchOp{n: n, fs: fs, pick: func(t *classify.Tensor) (int, error) {
		ok, err := truth(n, t)
		if ok {
			return 0, err
		}
		return 1, err
	}}, nil
}

func (l *library) buildCase(n *ops.Node, _ []*classify.Tensor) (ops.Op, error) {
	var names []string
	for _, f := range n.Attr["branches"].GetList().GetFunc() {
		names = append(names, f.GetName())
	}
	if len(names) == 0 {
		return nil, n.Errorf("has no branches")
	}
	if n.NumInputs < 1 {
		return nil, n.Errorf("has no branch_index input")
	}
	fs, err := l.branches(n, names, n.NumInputs-1)
	if err != nil {
		return nil, err
	}
	return &branchOp{n: n, fs: fs, pick: func(t *classify.Tensor) (int, error) {
		d, ok := t.Data.([]int32)
		if !ok || len(t.Shape) != 0 {
			return 0, n.InputErrorf("branch_index is %v %v, want an int32 scalar", t.DType, t.Shape)
		}
		// TensorFlow runs the last branch for an index out of range.
		if d[0] < 0 || int(d[0]) >= len(fs) {
			return len(fs) - 1, nil
		}
		return int(d[0]), nil
	}}, nil
}

// branchOp runs one of its functions, chosen by input 0, on the other
// inputs (If and Case).
type branchOp struct {
	n    *ops.Node
	fs   []*function
	pick func(*classify.Tensor) (int, error)
}

func (o *branchOp) Run(ctx *ops.Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	i, err := o.pick(in[0])
	if err != nil {
		return nil, err
	}
	return o.fs[i].call(ctx, in[1:])
}
