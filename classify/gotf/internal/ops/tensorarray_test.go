package ops

import (
	"slices"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// taRun builds and runs one TensorArray op with dtype float32 and the
// given extra attributes, recording the check for the coverage table.
func taRun(t *testing.T, op string, attrs map[string]any, in ...*classify.Tensor) ([]*classify.Tensor, error) {
	t.Helper()
	at := map[string]*apb.AttrValue{"dtype": graphdef.Attr(classify.Float32)}
	for k, v := range attrs {
		at[k] = graphdef.Attr(v)
	}
	k, err := buildOp(t, op, len(in), at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.Run(&Ctx{Threads: 1}, in)
	if err != nil {
		return nil, err
	}
	recordCoverage(t, "reference", []ranNode{{op: op, in: in, out: out}})
	return out, nil
}

func mustTA(t *testing.T, op string, attrs map[string]any, in ...*classify.Tensor) []*classify.Tensor {
	t.Helper()
	out, err := taRun(t, op, attrs, in...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

func wantF32(t *testing.T, what string, got *classify.Tensor, shape classify.Shape, want ...float32) {
	t.Helper()
	if got.DType != classify.Float32 || !got.Shape.Equal(shape) || !slices.Equal(got.Float32s(), want) {
		t.Errorf("%s = %v %v %v, want %v %v", what, got.DType, got.Shape, got.Data, shape, want)
	}
}

func TestTensorArray(t *testing.T) {
	esh := map[string]any{"element_shape": classify.Shape{2}}
	hf := mustTA(t, "TensorArrayV3", esh, i32s(classify.Shape{}, 3))
	h, flow := hf[0], hf[1]
	if h.DType != classify.Variant || h.Validate() != nil {
		t.Fatalf("handle %v %v: %v", h.DType, h.Shape, h.Validate())
	}
	if n := mustTA(t, "TensorArraySizeV3", nil, h, flow)[0].Int32s(); !slices.Equal(n, []int32{3}) {
		t.Errorf("size %v, want [3]", n)
	}
	f1 := mustTA(t, "TensorArrayWriteV3", nil, h, i32s(classify.Shape{}, 2), classify.FromFloat32([]float32{5, 6}, 2), flow)[0]
	f2 := mustTA(t, "TensorArrayWriteV3", nil, h, i32s(classify.Shape{}, 0), classify.FromFloat32([]float32{1, 2}, 2), f1)[0]
	wantF32(t, "read 2", mustTA(t, "TensorArrayReadV3", nil, h, i32s(classify.Shape{}, 2), f2)[0], classify.Shape{2}, 5, 6)
	// Unwritten items read as zeros; an older flow is the older state.
	wantF32(t, "read 1", mustTA(t, "TensorArrayReadV3", nil, h, i32s(classify.Shape{}, 1), f2)[0], classify.Shape{2}, 0, 0)
	wantF32(t, "old read 0", mustTA(t, "TensorArrayReadV3", nil, h, i32s(classify.Shape{}, 0), f1)[0], classify.Shape{2}, 0, 0)
	wantF32(t, "gather", mustTA(t, "TensorArrayGatherV3", esh, h, i32s(classify.Shape{3}, 2, 0, 2), f2)[0], classify.Shape{3, 2}, 5, 6, 1, 2, 5, 6)

	x := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	f3 := mustTA(t, "TensorArrayScatterV3", nil, h, i32s(classify.Shape{3}, 1, 2, 0), x, flow)[0]
	wantF32(t, "scatter/gather", mustTA(t, "TensorArrayGatherV3", nil, h, i32s(classify.Shape{3}, 0, 1, 2), f3)[0], classify.Shape{3, 2}, 5, 6, 1, 2, 3, 4)

	// Split into rows of 1, 0 and 2 and concat back.
	hf = mustTA(t, "TensorArrayV3", nil, i32s(classify.Shape{}, 3))
	lengths := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{3}, Data: []int64{1, 0, 2}}
	fs := mustTA(t, "TensorArraySplitV3", nil, hf[0], x, lengths, hf[1])[0]
	wantF32(t, "split item 2", mustTA(t, "TensorArrayReadV3", nil, hf[0], i32s(classify.Shape{}, 2), fs)[0], classify.Shape{2, 2}, 3, 4, 5, 6)
	cat := mustTA(t, "TensorArrayConcatV3", nil, hf[0], fs)
	wantF32(t, "concat", cat[0], classify.Shape{3, 2}, 1, 2, 3, 4, 5, 6)
	if l := cat[1]; l.DType != classify.Int64 || !slices.Equal(l.Data.([]int64), []int64{1, 0, 2}) {
		t.Errorf("concat lengths %v %v, want int64 [1 0 2]", l.DType, l.Data)
	}
	if out := mustTA(t, "TensorArrayCloseV3", nil, h); len(out) != 0 {
		t.Errorf("close returned %d outputs", len(out))
	}

	// A dynamic array grows on writes past its end; a fixed one refuses.
	hd := mustTA(t, "TensorArrayV3", map[string]any{"dynamic_size": true}, i32s(classify.Shape{}, 0))
	fd := mustTA(t, "TensorArrayWriteV3", nil, hd[0], i32s(classify.Shape{}, 1), tf32(7), hd[1])[0]
	if n := mustTA(t, "TensorArraySizeV3", nil, hd[0], fd)[0].Int32s(); !slices.Equal(n, []int32{2}) {
		t.Errorf("dynamic size %v, want [2]", n)
	}
	wantF32(t, "dynamic gather", mustTA(t, "TensorArrayGatherV3", nil, hd[0], i32s(classify.Shape{2}, 0, 1), fd)[0], classify.Shape{2}, 0, 7)

	for _, c := range []struct {
		op   string
		in   []*classify.Tensor
		want string
	}{
		{"TensorArrayWriteV3", []*classify.Tensor{h, i32s(classify.Shape{}, 3), classify.FromFloat32([]float32{1, 2}, 2), flow}, "out of range"},
		{"TensorArrayWriteV3", []*classify.Tensor{h, i32s(classify.Shape{}, 0), classify.FromFloat32([]float32{1, 2, 3}, 3), flow}, "disagree"},
		{"TensorArrayReadV3", []*classify.Tensor{h, i32s(classify.Shape{}, -1), flow}, "out of range"},
		{"TensorArrayReadV3", []*classify.Tensor{x, i32s(classify.Shape{}, 0), flow}, "want a TensorArray"},
		{"TensorArrayGatherV3", []*classify.Tensor{h, i32s(classify.Shape{1}, 9), flow}, "out of range"},
		{"TensorArrayScatterV3", []*classify.Tensor{h, i32s(classify.Shape{2}, 0, 1), x, flow}, "for 2 indices"},
		{"TensorArraySplitV3", []*classify.Tensor{hf[0], x, &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{1}, Data: []int64{2}}, hf[1]}, "sum to 2"},
		{"TensorArrayConcatV3", []*classify.Tensor{h, flow}, "never written"},
		{"TensorArrayV3", []*classify.Tensor{i32s(classify.Shape{}, -1)}, "size -1"},
	} {
		_, err := taRun(t, c.op, nil, c.in...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.op, err, c.want)
		}
	}
}

func tf32(v float32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{v}}
}
