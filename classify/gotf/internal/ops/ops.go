// Package ops is the kernel table of the pure-Go engine: one Builder per
// TensorFlow op type, registered from one file per op family (conv.go,
// elementwise.go, shape.go, ...). Adding an op touches one file and its test.
//
// A Builder runs once per node at load time: it reads and validates the
// node's attributes, may look at inputs that are constants (to pack weights),
// and returns an Op. Op.Run is then called for every execution and must be
// safe for concurrent use: it keeps no per-run state of its own; per-run
// buffers come from the Ctx.
package ops

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"github.com/classifyd/classifyd/classify"
)

// Builder compiles one node. consts[i] is the value of input i when that
// input is a constant known at load time, nil otherwise; len(consts) is the
// number of data inputs.
type Builder func(n *Node, consts []*classify.Tensor) (Op, error)

// Op is a compiled node.
type Op interface {
	// Run computes the node's outputs from its inputs. It must not modify
	// the inputs. It may return an input (or a tensor sharing its data) as an
	// output, for views such as Identity and Reshape. Buffers for new outputs
	// should come from ctx.Output so they are reused across runs.
	Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error)
}

// Shaper is implemented by Ops that can infer their static output shapes
// and dtypes at load time. A nil Shape in inputs means unknown; -1 an unknown
// dimension. Ops without it produce outputs of unknown shape.
type Shaper interface {
	OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error)
}

// Flopper is implemented by Ops that can count the floating point
// operations of one run given static input shapes (a multiply-add is 2).
type Flopper interface {
	FLOPs(in []classify.Shape) int64
}

// OpFunc adapts a function to Op.
type OpFunc func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error)

// Run calls f.
func (f OpFunc) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) { return f(ctx, in) }

var (
	regMu    sync.RWMutex
	builders = map[string]Builder{}
)

// Register adds the builder for an op type. It is called from init functions
// only and panics on a duplicate.
func Register(op string, b Builder) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := builders[op]; dup {
		panic("ops: registered twice: " + op)
	}
	builders[op] = b
}

// Lookup returns the builder for an op type.
func Lookup(op string) (Builder, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	b, ok := builders[op]
	if !ok {
		return nil, false
	}
	return gate(b), true
}

// Registered lists the supported op types, sorted.
func Registered() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	var s []string
	for k := range builders {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Ctx is what an Op sees of one execution. The executor owns it; an Op may
// use it only during its Run call.
type Ctx struct {
	context.Context
	// Threads is how many goroutines a kernel may use (>= 1).
	Threads int
	// Slots holds this node's output tensors of earlier runs; the executor
	// points it at the node's own slots before Run. Output indices at or
	// past len(Slots) get fresh memory.
	Slots []*classify.Tensor
	// Arena, when set, lends the memory behind Slots: buffers are shared
	// with other nodes whose values are no longer needed. Without it each
	// slot keeps its own buffer from run to run.
	Arena *Arena
	// off is the arena index of Slots[0] (see Sub).
	off int
}

// Sub is a Ctx for a kernel an Op runs inside its own Run: its outputs
// 0..n-1 are the caller's outputs i..i+n-1 (their slots and buffers).
func (c *Ctx) Sub(i, n int) Ctx {
	s := *c
	i = min(i, len(c.Slots))
	s.Slots = c.Slots[i:min(i+n, len(c.Slots))]
	s.off = c.off + i
	return s
}

// Output returns a tensor for output i of the running node with the given
// dtype and shape. Its buffer is reused from an earlier node or run, so its
// contents are garbage: the Op must overwrite every element.
func (c *Ctx) Output(i int, dt classify.DType, shape ...int) *classify.Tensor {
	n := classify.Shape(shape).NumElements()
	if c == nil || i >= len(c.Slots) {
		return newOutput(dt, shape)
	}
	if c.Arena != nil {
		if b := c.Arena.take(c.off+i, dt, n); b != nil {
			t := c.Slots[i]
			if t == nil || t.DType != dt {
				t = &classify.Tensor{DType: dt}
				c.Slots[i] = t
			}
			t.Shape = append(t.Shape[:0], shape...)
			// Re-slicing boxes a new slice header into Data: skip it in
			// the steady state, where a node gets the same buffer at the
			// same size each run.
			if p, ok := dataPtr(t); !ok || p != b.base || t.Len() != n || n == 0 {
				t.Data = resliceData(b.data, n)
			}
			return t
		}
	}
	if t := c.Slots[i]; t != nil && t.DType == dt && capOf(t.Data) >= n {
		t.Shape = append(t.Shape[:0], shape...)
		if t.Len() != n {
			t.Data = resliceData(t.Data, n)
		}
		return t
	}
	t := newOutput(dt, shape)
	c.Slots[i] = t
	return t
}

// newOutput is a new output tensor, poisoned in tests (see poisonArenas).
func newOutput(dt classify.DType, shape []int) *classify.Tensor {
	t := classify.NewTensor(dt, shape...)
	if poisonArenas {
		poison(t.Data)
	}
	return t
}

// Workers returns ctx.Threads, at least 1; for a nil Ctx, GOMAXPROCS.
func (c *Ctx) Workers() int {
	if c == nil || c.Threads < 1 {
		if c == nil {
			return runtime.GOMAXPROCS(0)
		}
		return 1
	}
	return c.Threads
}

func capOf(d any) int {
	switch d := d.(type) {
	case []float32:
		return cap(d)
	case []int32:
		return cap(d)
	case []int64:
		return cap(d)
	case []bool:
		return cap(d)
	case []uint8:
		return cap(d)
	case [][]byte:
		return cap(d)
	case []float64:
		return cap(d)
	case []any:
		return cap(d)
	case []classify.F16:
		return cap(d)
	case []classify.BF16:
		return cap(d)
	case []int8:
		return cap(d)
	case []int16:
		return cap(d)
	case []uint16:
		return cap(d)
	case []uint32:
		return cap(d)
	case []uint64:
		return cap(d)
	case []complex64:
		return cap(d)
	case []complex128:
		return cap(d)
	}
	return 0
}

func resliceData(d any, n int) any {
	switch d := d.(type) {
	case []float32:
		return d[:n]
	case []int32:
		return d[:n]
	case []int64:
		return d[:n]
	case []bool:
		return d[:n]
	case []uint8:
		return d[:n]
	case [][]byte:
		return d[:n]
	case []float64:
		return d[:n]
	case []any:
		return d[:n]
	case []classify.F16:
		return d[:n]
	case []classify.BF16:
		return d[:n]
	case []int8:
		return d[:n]
	case []int16:
		return d[:n]
	case []uint16:
		return d[:n]
	case []uint32:
		return d[:n]
	case []uint64:
		return d[:n]
	case []complex64:
		return d[:n]
	case []complex128:
		return d[:n]
	}
	return d
}

// Errorf returns an error naming the node, wrapping classify.ErrInvalidGraph.
func (n *Node) Errorf(format string, args ...any) error {
	return fmt.Errorf("node %q (%s): %w: %s", n.Name, n.Op, classify.ErrInvalidGraph, fmt.Sprintf(format, args...))
}

// InputErrorf returns an error naming the node for a bad run-time input,
// wrapping classify.ErrInvalidInput.
func (n *Node) InputErrorf(format string, args ...any) error {
	return fmt.Errorf("node %q (%s): %w: %s", n.Name, n.Op, classify.ErrInvalidInput, fmt.Sprintf(format, args...))
}
