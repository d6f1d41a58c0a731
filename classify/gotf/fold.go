package gotf

import (
	"context"
	"fmt"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// stateful ops give a different answer per run (or touch state) and are
// never folded even when their inputs are constants.
var stateful = map[string]bool{
	"RandomUniform": true, "RandomUniformInt": true, "RandomStandardNormal": true,
	"TruncatedNormal": true, "RandomShuffle": true, "RandomGamma": true, "RandomPoisson": true,
	"RandomPoissonV2": true, "Multinomial": true, "ParameterizedTruncatedNormal": true,
	"Variable": true, "VariableV2": true, "VarHandleOp": true, "ReadVariableOp": true,
	"Assign": true, "AssignAdd": true, "AssignSub": true, "AssignVariableOp": true,
	"Print": true, "PrintV2": true, "Assert": true, "NoOp": true,
}

// opNode is the view of n a Builder gets.
func opNode(n *node) *ops.Node {
	return &ops.Node{Name: n.name, Op: n.op, NumInputs: len(n.in), Attr: n.attr}
}

// nodeErr wraps err with the node's name unless the kernel already named it.
func nodeErr(n *node, err error) error { return named(n.name, n.op, err) }

// build compiles n through the kernel table. A panicking builder becomes an
// error naming the node; it carries no stack trace, since load errors are
// shown to operators and end up in status pages.
func build(n *node, b ops.Builder, consts []*classify.Tensor) (op ops.Op, err error) {
	defer func() {
		if r := recover(); r != nil {
			op, err = nil, fmt.Errorf("node %q (%s): %w: builder panicked: %v", n.name, n.op, classify.ErrInvalidGraph, r)
		}
	}()
	op, err = b(opNode(n), consts)
	if err == nil && op == nil {
		err = fmt.Errorf("%w: builder returned no op", classify.ErrInvalidGraph)
	}
	if err != nil {
		return nil, nodeErr(n, err)
	}
	return op, nil
}

// runOp executes one op, turning a kernel panic into an error naming the
// node so that no graph can crash the process.
func runOp(name, opType string, op ops.Op, c *ops.Ctx, in []*classify.Tensor) (out []*classify.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("node %q (%s): %w: kernel panicked: %v", name, opType, classify.ErrInvalidGraph, r)
		}
	}()
	return op.Run(c, in)
}

// maxFilledConst caps the elements of a constant stored without
// tensor_content (64 MiB of float32).
const maxFilledConst = 1 << 24

// constOf returns the tensors of a Const node, decoding its value attribute.
func constOf(n *node) ([]*classify.Tensor, error) {
	a, ok := n.attr["value"]
	if !ok || a.GetTensor() == nil {
		return nil, fmt.Errorf("%w: node %q (Const) has no value attribute", classify.ErrInvalidGraph, n.name)
	}
	// A constant without tensor_content is filled from a few typed values,
	// so a tiny file could otherwise ask for gigabytes.
	if p := a.GetTensor(); len(p.GetTensorContent()) == 0 {
		elems := int64(1)
		var dims []int64
		for _, d := range p.GetTensorShape().GetDim() {
			dims = append(dims, d.GetSize())
			if elems *= max(d.GetSize(), 0); elems > maxFilledConst {
				return nil, fmt.Errorf("%w: node %q (Const): constant of shape %v without tensor_content has more than %d elements", classify.ErrInvalidGraph, n.name, dims, maxFilledConst)
			}
		}
	}
	t, err := graphdef.TensorFromProto(a.GetTensor())
	if err != nil {
		return nil, nodeErr(n, err)
	}
	return []*classify.Tensor{t}, nil
}

// fold computes at load time every node of the (ordered) graph whose inputs
// are all constants, and turns it into a constant. Nodes without a kernel
// are left alone: the build step reports them.
func (g *graph) fold(ctx context.Context, threads int) error {
	for _, n := range g.nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if n.feed {
			continue // even a Const the caller chose to feed
		}
		if n.op == "Const" && n.value == nil {
			v, err := constOf(n)
			if err != nil {
				return err
			}
			n.value = v
			continue
		}
		if n.isConst() || stateful[n.op] || ops.WritesState(n.op) || ops.ReadsState(n.op) || len(n.in) == 0 {
			continue
		}
		in := make([]*classify.Tensor, len(n.in))
		foldable := true
		for i, r := range n.in {
			if !r.n.isConst() {
				foldable = false
				break
			}
			if r.idx >= len(r.n.value) {
				return fmt.Errorf("%w: node %q (%s): input %s: %q has %d outputs", classify.ErrInvalidGraph, n.name, n.op, r, r.n.name, len(r.n.value))
			}
			in[i] = r.n.value[r.idx]
		}
		if !foldable {
			continue
		}
		b, ok := g.lookup(n.op)
		if !ok {
			continue
		}
		op, err := build(n, b, in)
		if err != nil {
			return err
		}
		c := &ops.Ctx{Context: ctx, Threads: threads}
		out, err := runOp(n.name, n.op, op, c, in)
		if err != nil {
			return nodeErr(n, fmt.Errorf("constant folding: %w", err))
		}
		if len(out) == 0 {
			continue // nothing to fold (NoOp-like)
		}
		for i, t := range out {
			if t == nil {
				return fmt.Errorf("%w: node %q (%s): constant folding gave no output %d", classify.ErrInvalidGraph, n.name, n.op, i)
			}
		}
		n.value = out
	}
	return nil
}
