package ops

import (
	"errors"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func i32s(shape classify.Shape, v ...int32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: shape, Data: v}
}

// listRun builds and runs one TensorList op with element_dtype float32.
func listRun(t *testing.T, op string, in ...*classify.Tensor) (*classify.Tensor, error) {
	t.Helper()
	k, err := buildOp(t, op, len(in), map[string]*apb.AttrValue{"element_dtype": graphdef.Attr(classify.Float32)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.Run(&Ctx{Threads: 1}, in)
	if err != nil {
		return nil, err
	}
	recordCoverage(t, "reference", []ranNode{{op: op, in: in, out: out}})
	return out[0], nil
}

func mustList(t *testing.T, op string, in ...*classify.Tensor) *classify.Tensor {
	t.Helper()
	out, err := listRun(t, op, in...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

func TestTensorList(t *testing.T) {
	unknown := i32s(classify.Shape{}, -1)
	x := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	l := mustList(t, "TensorListFromTensor", x, unknown)
	if l.DType != classify.Variant || l.Validate() != nil {
		t.Fatalf("list tensor %v %v: %v", l.DType, l.Shape, l.Validate())
	}
	if n := mustList(t, "TensorListLength", l).Int32s(); len(n) != 1 || n[0] != 3 {
		t.Errorf("length %v, want 3", n)
	}
	if s := mustList(t, "TensorListElementShape", l).Int32s(); len(s) != 1 || s[0] != 2 {
		t.Errorf("element shape %v, want [2]", s)
	}
	item := mustList(t, "TensorListGetItem", l, i32s(classify.Shape{}, 1), unknown)
	if got := item.Float32s(); !item.Shape.Equal(classify.Shape{2}) || got[0] != 3 || got[1] != 4 {
		t.Errorf("item 1 = %v %v, want [3 4]", item.Shape, got)
	}

	// SetItem leaves its input list as it was.
	l2 := mustList(t, "TensorListSetItem", l, i32s(classify.Shape{}, 0), classify.FromFloat32([]float32{9, 8}, 2))
	for _, c := range []struct {
		list *classify.Tensor
		want []float32
	}{{l, []float32{1, 2, 3, 4, 5, 6}}, {l2, []float32{9, 8, 3, 4, 5, 6}}} {
		s := mustList(t, "TensorListStack", c.list, unknown)
		if !s.Shape.Equal(classify.Shape{3, 2}) {
			t.Fatalf("stack shape %v", s.Shape)
		}
		for i, v := range c.want {
			if s.Float32s()[i] != v {
				t.Errorf("stack = %v, want %v", s.Float32s(), c.want)
				break
			}
		}
	}

	// Reserved items never set read as zeros of the known element shape.
	r := mustList(t, "TensorListReserve", i32s(classify.Shape{2}, 1, 2), i32s(classify.Shape{}, 2))
	r = mustList(t, "TensorListSetItem", r, i32s(classify.Shape{}, 1), classify.FromFloat32([]float32{7, 7}, 1, 2))
	s := mustList(t, "TensorListStack", r, unknown)
	want := []float32{0, 0, 7, 7}
	if !s.Shape.Equal(classify.Shape{2, 1, 2}) {
		t.Fatalf("stack of reserved list: shape %v, want [2 1 2]", s.Shape)
	}
	for i, v := range want {
		if s.Float32s()[i] != v {
			t.Errorf("stack of reserved list = %v, want %v", s.Float32s(), want)
			break
		}
	}
	if s := mustList(t, "TensorListElementShape", mustList(t, "TensorListReserve", unknown, i32s(classify.Shape{}, 0))); len(s.Shape) != 0 || s.Int32s()[0] != -1 {
		t.Errorf("element shape of unknown rank = %v %v, want scalar -1", s.Shape, s.Int32s())
	}
}

func TestTensorListErrors(t *testing.T) {
	unknown := i32s(classify.Shape{}, -1)
	x := classify.FromFloat32([]float32{1, 2, 3, 4}, 2, 2)
	l := mustList(t, "TensorListFromTensor", x, unknown)
	open := mustList(t, "TensorListReserve", unknown, i32s(classify.Shape{}, 2))
	for _, c := range []struct {
		name, op string
		in       []*classify.Tensor
		want     string
	}{
		{"index out of range", "TensorListGetItem", []*classify.Tensor{l, i32s(classify.Shape{}, 2), unknown}, "index 2 out of range for a list of 2"},
		{"negative index", "TensorListSetItem", []*classify.Tensor{l, i32s(classify.Shape{}, -1), x}, "index -1 out of range"},
		{"item shape", "TensorListSetItem", []*classify.Tensor{l, i32s(classify.Shape{}, 0), x}, "differ in rank"},
		{"item dtype", "TensorListSetItem", []*classify.Tensor{l, i32s(classify.Shape{}, 0), i32s(classify.Shape{2}, 1, 2)}, "item of int32 into a list of float32"},
		{"unset item of unknown shape", "TensorListGetItem", []*classify.Tensor{open, i32s(classify.Shape{}, 0), unknown}, "never set"},
		{"stack of unknown shape", "TensorListStack", []*classify.Tensor{open, unknown}, "not known"},
		{"not a list", "TensorListLength", []*classify.Tensor{x}, "want a scalar TensorList variant"},
		{"negative reserve", "TensorListReserve", []*classify.Tensor{unknown, i32s(classify.Shape{}, -3)}, "num_elements -3"},
		{"scalar from tensor", "TensorListFromTensor", []*classify.Tensor{i32s(classify.Shape{}, 1), unknown}, "at least a vector"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := listRun(t, c.op, c.in...)
			if !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrInvalidInput with %q", err, c.want)
			}
		})
	}
}
