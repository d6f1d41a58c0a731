package ops

import (
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// The ref-variable updates as functions of the value, on the examples of
// TensorFlow's op documentation and cases worked by hand.
func TestRefUpdates(t *testing.T) {
	f32 := graphdef.Attrs{"T": classify.Float32, "Tindices": classify.Int32}
	ref := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 8)
	idx := saI32([]int32{4, 3, 1, 7}, 4, 1)
	upd := classify.FromFloat32([]float32{9, 10, 11, 12}, 4)
	for _, tc := range []struct {
		op   string
		want []float32
	}{
		// tf.compat.v1.scatter_nd_update / _add / _sub docstrings.
		{"ScatterNdUpdate", []float32{1, 11, 3, 10, 9, 6, 7, 12}},
		{"ScatterNdAdd", []float32{1, 13, 3, 14, 14, 6, 7, 20}},
		{"ScatterNdSub", []float32{1, -9, 3, -6, -4, 6, 7, -4}},
		{"ScatterNdMax", []float32{1, 11, 3, 10, 9, 6, 7, 12}},
		{"ScatterNdMin", []float32{1, 2, 3, 4, 5, 6, 7, 8}},
	} {
		got := mustRunAttr(t, tc.op, f32, ref, idx, upd)[0].Float32s()
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.op, got, tc.want)
		}
	}
	// Scatter*: rows of a [3, 2] ref; index 0 appears twice and both
	// updates apply in order.
	m := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	ri := saI32([]int32{2, 0, 0}, 3)
	ru := classify.FromFloat32([]float32{10, 20, 2, 4, 3, 5}, 3, 2)
	for _, tc := range []struct {
		op   string
		want []float32
	}{
		{"ScatterUpdate", []float32{3, 5, 3, 4, 10, 20}},
		{"ScatterAdd", []float32{6, 11, 3, 4, 15, 26}},
		{"ScatterSub", []float32{-4, -7, 3, 4, -5, -14}},
		{"ScatterMul", []float32{6, 40, 3, 4, 50, 120}},
		{"ScatterDiv", []float32{1.0 / 6, 0.1, 3, 4, 0.5, 0.3}},
		{"ScatterMax", []float32{3, 5, 3, 4, 10, 20}},
		{"ScatterMin", []float32{1, 2, 3, 4, 5, 6}},
	} {
		got := mustRunAttr(t, tc.op, f32, m, ri, ru)[0].Float32s()
		for i := range got {
			if d := got[i] - tc.want[i]; d > 1e-6 || d < -1e-6 {
				t.Errorf("%s = %v, want %v", tc.op, got, tc.want)
				break
			}
		}
	}
	// A scalar index updates one row with updates of ref.shape[1:].
	got := mustRunAttr(t, "ScatterUpdate", f32, m, saI32([]int32{1}), classify.FromFloat32([]float32{-1, -2}, 2))[0].Float32s()
	if !slices.Equal(got, []float32{1, 2, -1, -2, 5, 6}) {
		t.Errorf("scalar index: %v", got)
	}
	// Assign returns the value; AssignAdd/AssignSub the combination.
	v := classify.FromFloat32([]float32{10, 20, 30, 40, 50, 60}, 3, 2)
	a := graphdef.Attrs{"T": classify.Float32}
	for op, want := range map[string][]float32{
		"Assign":    {10, 20, 30, 40, 50, 60},
		"AssignAdd": {11, 22, 33, 44, 55, 66},
		"AssignSub": {-9, -18, -27, -36, -45, -54},
	} {
		if got := mustRunAttr(t, op, a, m, v)[0].Float32s(); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", op, got, want)
		}
	}
	small := classify.FromFloat32([]float32{7}, 1)
	if got := mustRunAttr(t, "Assign", graphdef.Attrs{"T": classify.Float32, "validate_shape": false}, m, small)[0]; !got.Shape.Equal(classify.Shape{1}) {
		t.Errorf("Assign without validate_shape: shape %v", got.Shape)
	}
	i32 := graphdef.Attrs{"T": classify.Int32, "Tindices": classify.Int32}
	for _, tc := range []struct {
		op  string
		a   graphdef.Attrs
		in  []*classify.Tensor
		msg string
	}{
		{"Assign", a, []*classify.Tensor{m, small}, "same shape"},
		{"AssignAdd", a, []*classify.Tensor{m, saI32([]int32{1, 2, 3, 4, 5, 6}, 3, 2)}, "ref is float32"},
		{"ScatterDiv", i32, []*classify.Tensor{saI32([]int32{1, 2}, 2), saI32([]int32{0}, 1), saI32([]int32{0}, 1)}, "division by zero"},
		{"ScatterUpdate", f32, []*classify.Tensor{m, ri, upd}, "updates"},
		{"ScatterUpdate", f32, []*classify.Tensor{m, saI32([]int32{3}, 1), classify.FromFloat32([]float32{1, 2}, 1, 2)}, "3"},
		{"ScatterUpdate", f32, []*classify.Tensor{classify.FromFloat32([]float32{1}), saI32([]int32{0}), classify.FromFloat32([]float32{1})}, "scalar"},
		{"ScatterNdUpdate", f32, []*classify.Tensor{ref, saI32([]int32{8}, 1, 1), classify.FromFloat32([]float32{1}, 1)}, "8"},
	} {
		if _, err := runAttrOp(t, tc.op, tc.a, tc.in...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.op, err, tc.msg)
		}
	}
}
