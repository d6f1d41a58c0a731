package ops

import (
	"fmt"
	"sync"

	"github.com/classifyd/classifyd/classify"
)

// Variable ops of a loaded SavedModel. The loader rewrites TensorFlow's
// variable ops (VariableV2, VarHandleOp + ReadVariableOp, Assign*,
// Assign*VariableOp) into two ops that name their variable in the "var"
// attribute, so no resource or reference tensors flow through the graph:
//
//	ReadVariable   no data inputs; output: the variable's current value
//	AssignVariable input: the value; attr "mode" = "set", "add" or "sub";
//	               output: the variable's new value (as TF1's Assign gives)
//
// Their builders come from Variables.Builders, bound to one model's
// storage, not from the global table: two loaded models never share
// variables.
const (
	ReadVariable   = "_ReadVariable"
	AssignVariable = "_AssignVariable"
)

// WritesState reports whether an op type changes variables.
func WritesState(op string) bool { return op == AssignVariable }

// ReadsState reports whether an op type reads variables, so its value is
// not known at load time.
func ReadsState(op string) bool { return op == ReadVariable }

// Variables is the variable storage of one model. It is safe for
// concurrent use; a Run that reads and writes several variables and must
// see them consistently is serialised by the caller.
type Variables struct {
	mu   sync.RWMutex
	vals map[string]*classify.Tensor
}

// NewVariables returns empty storage.
func NewVariables() *Variables { return &Variables{vals: map[string]*classify.Tensor{}} }

// Set stores a value; the storage keeps t, which the caller must not modify
// afterwards.
func (v *Variables) Set(name string, t *classify.Tensor) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.vals[name] = t
}

// Get returns the current value; tensors in the storage are never modified
// in place, so the result stays valid after later assignments.
func (v *Variables) Get(name string) (*classify.Tensor, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	t, ok := v.vals[name]
	return t, ok
}

// Builders returns the kernels of ReadVariable and AssignVariable bound to v.
func (v *Variables) Builders() map[string]Builder {
	return map[string]Builder{
		ReadVariable: func(n *Node, _ []*classify.Tensor) (Op, error) {
			if n.NumInputs != 0 {
				return nil, n.Errorf("has %d data inputs, want 0", n.NumInputs)
			}
			name := n.String("var", "")
			dt, shape := n.Type("dtype"), n.Shape("shape")
			return readVar{v: v, node: n, name: name, info: classify.TensorInfo{DType: dt, Shape: shape}}, nil
		},
		AssignVariable: func(n *Node, _ []*classify.Tensor) (Op, error) {
			if n.NumInputs != 1 {
				return nil, n.Errorf("has %d data inputs, want 1", n.NumInputs)
			}
			mode := n.String("mode", "set")
			if mode != "set" && mode != "add" && mode != "sub" {
				return nil, n.Errorf("unknown mode %q", mode)
			}
			return assignVar{v: v, node: n, name: n.String("var", ""), mode: mode}, nil
		},
	}
}

type readVar struct {
	v    *Variables
	node *Node
	name string
	info classify.TensorInfo
}

func (r readVar) Run(_ *Ctx, _ []*classify.Tensor) ([]*classify.Tensor, error) {
	t, ok := r.v.Get(r.name)
	if !ok {
		return nil, r.node.InputErrorf("variable %q is not initialized (not in the checkpoint, and no init op set it)", r.name)
	}
	return []*classify.Tensor{t}, nil
}

func (r readVar) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: r.info.DType, Shape: r.info.Shape.Clone()}}, nil
}

type assignVar struct {
	v    *Variables
	node *Node
	name string
	mode string
}

func (a assignVar) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	val := in[0]
	if a.mode == "set" {
		// The input may be a buffer the executor reuses: keep a copy.
		t := val.Clone()
		a.v.Set(a.name, t)
		return []*classify.Tensor{t}, nil
	}
	a.v.mu.Lock()
	defer a.v.mu.Unlock()
	old, ok := a.v.vals[a.name]
	if !ok {
		return nil, a.node.InputErrorf("variable %q is not initialized", a.name)
	}
	if old.DType != val.DType || !old.Shape.Equal(val.Shape) {
		return nil, a.node.InputErrorf("cannot %s %v %v to variable %q of %v %v", a.mode, val.DType, val.Shape, a.name, old.DType, old.Shape)
	}
	sign := 1
	if a.mode == "sub" {
		sign = -1
	}
	t := old.Clone()
	if err := addInto(t, val, sign); err != nil {
		return nil, a.node.InputErrorf("%v", err)
	}
	a.v.vals[a.name] = t
	return []*classify.Tensor{t}, nil
}

func addInto(dst, src *classify.Tensor, sign int) error {
	switch d := dst.Data.(type) {
	case []float32:
		s := src.Data.([]float32)
		for i := range d {
			d[i] += float32(sign) * s[i]
		}
	case []float64:
		s := src.Data.([]float64)
		for i := range d {
			d[i] += float64(sign) * s[i]
		}
	case []int32:
		s := src.Data.([]int32)
		for i := range d {
			d[i] += int32(sign) * s[i]
		}
	case []int64:
		s := src.Data.([]int64)
		for i := range d {
			d[i] += int64(sign) * s[i]
		}
	default:
		return fmt.Errorf("variable of %v cannot be added to", dst.DType)
	}
	return nil
}
