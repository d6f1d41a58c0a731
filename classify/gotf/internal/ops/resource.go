package ops

import (
	"github.com/classifyd/classifyd/classify"
)

// Resource handles of variables. The loader rewrites the variable reads it
// can trace to their VarHandleOp into ReadVariable nodes, but a handle
// passed into a function body (a Keras LSTM's While loop gets its kernels
// as loop variables and reads them in every iteration) reaches a
// ReadVariableOp through a function argument. For those, VarHandleOp
// outputs a scalar DT_VARIANT holding a handle to the model's storage and
// ReadVariableOp reads through it at run time.

// varHandle names a variable of one model's storage.
type varHandle struct {
	v    *Variables
	name string
}

// HandleBuilders returns the kernels of VarHandleOp and ReadVariableOp
// bound to v. A variable is named by its VarHandleOp node, as the loader
// keys the storage.
func (v *Variables) HandleBuilders() map[string]Builder {
	return map[string]Builder{
		"VarHandleOp": func(n *Node, _ []*classify.Tensor) (Op, error) {
			h := &classify.Tensor{DType: classify.Variant, Shape: classify.Shape{}, Data: []any{&varHandle{v: v, name: n.Name}}}
			return tableOp{h: h}, nil
		},
		"ReadVariableOp": func(n *Node, _ []*classify.Tensor) (Op, error) {
			if n.NumInputs != 1 {
				return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
			}
			return readHandle{n: n, dtype: n.Type("dtype")}, nil
		},
	}
}

type readHandle struct {
	n     *Node
	dtype classify.DType
}

func (r readHandle) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: r.dtype}}, nil
}

func (r readHandle) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	var h *varHandle
	if d, ok := in[0].Data.([]any); ok && len(d) == 1 {
		h, _ = d[0].(*varHandle)
	}
	if h == nil {
		return nil, r.n.InputErrorf("input is not a variable handle (%v %v)", in[0].DType, in[0].Shape)
	}
	t, ok := h.v.Get(h.name)
	if !ok {
		return nil, r.n.InputErrorf("variable %q is not initialized", h.name)
	}
	if r.dtype != classify.Invalid && t.DType != r.dtype {
		return nil, r.n.InputErrorf("variable %q is %v, the read wants %v", h.name, t.DType, r.dtype)
	}
	return []*classify.Tensor{t}, nil
}
