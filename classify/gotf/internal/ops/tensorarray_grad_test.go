package ops

import (
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// TestTensorArrayGrad: the gradient array has the forward array's size
// and element shape, reads zeros where nothing was written, adds a second
// write to an index to the first, and is the same array when a later grad
// op of the same source gets its flow (as tf.gradients threads it).
func TestTensorArrayGrad(t *testing.T) {
	s := func(v int32) *classify.Tensor { return i32s(classify.Shape{}, v) }
	hf := mustTA(t, "TensorArrayV3", map[string]any{"dynamic_size": true}, s(3))
	h := hf[0]
	ff := mustTA(t, "TensorArrayWriteV3", nil, h, s(0), classify.FromFloat32([]float32{1, 2}, 2), hf[1])[0]
	src := map[string]any{"source": "gradients"}
	g := mustTA(t, "TensorArrayGradV3", src, h, ff)
	gh, gf := g[0], g[1]
	if n := mustTA(t, "TensorArraySizeV3", nil, gh, gf)[0].Int32s(); len(n) != 1 || n[0] != 3 {
		t.Errorf("grad size %v, want [3]", n)
	}
	g1 := mustTA(t, "TensorArrayWriteV3", nil, gh, s(1), classify.FromFloat32([]float32{1, 2}, 2), gf)[0]
	// The flow of that write reaches the next grad op of the source.
	g2 := mustTA(t, "TensorArrayGradV3", src, h, g1)
	g3 := mustTA(t, "TensorArrayWriteV3", nil, g2[0], s(1), classify.FromFloat32([]float32{10, 20}, 2), g2[1])[0]
	g4 := mustTA(t, "TensorArrayWriteV3", nil, g2[0], s(2), classify.FromFloat32([]float32{-1, 4}, 2), g3)[0]
	wantF32(t, "grad gather", mustTA(t, "TensorArrayGatherV3", nil, gh, i32s(classify.Shape{3}, 0, 1, 2), g4)[0],
		classify.Shape{3, 2}, 0, 0, 11, 22, -1, 4)
	// The older flow still holds the older state; the forward array is
	// untouched.
	wantF32(t, "old grad read", mustTA(t, "TensorArrayReadV3", nil, gh, s(1), g1)[0], classify.Shape{2}, 1, 2)
	wantF32(t, "forward read", mustTA(t, "TensorArrayReadV3", nil, h, s(1), ff)[0], classify.Shape{2}, 0, 0)

	// Another source gets an array of its own.
	other := mustTA(t, "TensorArrayGradV3", map[string]any{"source": "other"}, h, g4)
	wantF32(t, "other source", mustTA(t, "TensorArrayReadV3", nil, other[0], s(1), other[1])[0], classify.Shape{2}, 0, 0)

	// WithShape prepends to the element shape.
	ws := mustTA(t, "TensorArrayGradWithShape", src, h, ff, i32s(classify.Shape{1}, 3))
	wantF32(t, "with shape", mustTA(t, "TensorArrayReadV3", nil, ws[0], s(2), ws[1])[0], classify.Shape{3, 2}, 0, 0, 0, 0, 0, 0)

	for _, c := range []struct {
		op   string
		at   map[string]any
		in   []*classify.Tensor
		want string
	}{
		// Gradient arrays are fixed in size even for a dynamic forward.
		{"TensorArrayWriteV3", nil, []*classify.Tensor{gh, s(3), classify.FromFloat32([]float32{1, 2}, 2), gf}, "out of range"},
		{"TensorArrayWriteV3", nil, []*classify.Tensor{gh, s(1), classify.FromFloat32([]float32{1, 2, 3}, 3), g1}, "disagree"},
		{"TensorArrayGradV3", src, []*classify.Tensor{classify.FromFloat32([]float32{1}, 1), ff}, "want a TensorArray"},
		{"TensorArrayGradWithShape", src, []*classify.Tensor{h, ff, i32s(classify.Shape{1}, -2)}, "negative"},
	} {
		_, err := taRun(t, c.op, c.at, c.in...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.op) {
			t.Errorf("%s: error %v, want %q naming the op", c.op, err, c.want)
		}
	}
}
