package ops

import (
	"errors"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
)

func strAttr(s string) *apb.AttrValue { return &apb.AttrValue{Value: &apb.AttrValue_S{S: []byte(s)}} }

func TestVariables(t *testing.T) {
	v := NewVariables()
	b := v.Builders()
	read, err := b[ReadVariable](&Node{Name: "r", Op: ReadVariable, Attr: map[string]*apb.AttrValue{"var": strAttr("c")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := read.Run(nil, nil); !errors.Is(err, classify.ErrInvalidInput) {
		t.Fatalf("uninitialized read: %v", err)
	}
	assign := func(mode string, x float32) *classify.Tensor {
		t.Helper()
		op, err := b[AssignVariable](&Node{Name: mode, Op: AssignVariable, NumInputs: 1, Attr: map[string]*apb.AttrValue{"var": strAttr("c"), "mode": strAttr(mode)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := op.Run(nil, []*classify.Tensor{classify.FromFloat32([]float32{x})})
		if err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	assign("set", 5)
	first, _ := read.Run(nil, nil)
	if got := assign("add", 2).Float32s()[0]; got != 7 {
		t.Errorf("add gave %v, want 7", got)
	}
	if got := assign("sub", 3).Float32s()[0]; got != 4 {
		t.Errorf("sub gave %v, want 4", got)
	}
	now, _ := read.Run(nil, nil)
	if first[0].Float32s()[0] != 5 || now[0].Float32s()[0] != 4 {
		t.Errorf("reads %v then %v, want 5 (unchanged by later writes) then 4", first[0].Data, now[0].Data)
	}
	bad, _ := b[AssignVariable](&Node{Name: "bad", Op: AssignVariable, NumInputs: 1, Attr: map[string]*apb.AttrValue{"var": strAttr("c"), "mode": strAttr("add")}}, nil)
	if _, err := bad.Run(nil, []*classify.Tensor{classify.FromFloat32([]float32{1, 2}, 2)}); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("shape mismatch: %v", err)
	}
}
