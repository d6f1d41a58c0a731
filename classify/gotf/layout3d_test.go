package gotf

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestNCDHWPool3D: MaxPool3D and AvgPool3D with data_format NCDHW (ksize
// and strides in that order) equal the NDHWC graph, which the kernel tests
// check against the oracle.
func TestNCDHWPool3D(t *testing.T) {
	f32 := classify.Float32
	build := func(op string, first bool) (*graphdef.Builder, string) {
		b := graphdef.New()
		shape, k, s, format := classify.Shape{2, 5, 6, 7, 3}, []int{1, 2, 3, 2, 1}, []int{1, 2, 1, 3, 1}, "NDHWC"
		if first {
			shape, k, s, format = classify.Shape{2, 3, 5, 6, 7}, []int{1, 1, 2, 3, 2}, []int{1, 1, 2, 1, 3}, "NCDHW"
		}
		x := b.Placeholder("x", f32, shape)
		p := b.Op(op, "p", []O{x}, graphdef.Attrs{"T": f32, "padding": "SAME", "ksize": k, "strides": s, "data_format": format})
		return b, string(b.Op("Relu", "r", []O{p}, nil))
	}
	xl := randTensor(63, 2, 5, 6, 7, 3)
	for _, op := range []string{"MaxPool3D", "AvgPool3D"} {
		ref, out := build(op, false)
		want := runGraph(t, ref, []string{out}, map[string]*classify.Tensor{"x": xl}, loadConfig{fuse: true})
		g, out := build(op, true)
		got := runGraph(t, g, []string{out}, map[string]*classify.Tensor{"x": transposeT(xl, 0, 4, 1, 2, 3)}, loadConfig{fuse: true})
		if d := maxDiff(got[0], transposeT(want[0], 0, 4, 1, 2, 3)); d > 1e-6 {
			t.Errorf("NCDHW %s differs from NDHWC by %g", op, d)
		}
	}
}
