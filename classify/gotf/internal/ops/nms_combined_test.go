package ops

import (
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// A case worked by hand: class 0 keeps boxes 0 and 2 (box 1 overlaps box
// 0 with IoU 0.9), class 1 keeps boxes 1 and 3 (its per-class limit of 2
// reached); ranked together by score; box 3 clipped to [0, 1].
func TestCombinedNMS(t *testing.T) {
	boxes := classify.FromFloat32([]float32{0, 0, 1, 1, 0, 0, 0.9, 1, 0.5, 0.5, 1.5, 1.5, 2, 2, 3, 3}, 1, 4, 1, 4)
	scores := classify.FromFloat32([]float32{0.9, 0.2, 0.8, 0.85, 0.3, 0.6, 0.1, 0.7}, 1, 4, 2)
	sc := func(v float32) *classify.Tensor { return classify.FromFloat32([]float32{v}) }
	run := func(a graphdef.Attrs, b *classify.Tensor, total int32) []*classify.Tensor {
		return mustRunAttr(t, "CombinedNonMaxSuppression", a, b, scores, saI32([]int32{2}), saI32([]int32{total}), sc(0.5), sc(0.15))
	}
	out := run(nil, boxes, 5)
	if !out[0].Shape.Equal(classify.Shape{1, 5, 4}) || !out[1].Shape.Equal(classify.Shape{1, 5}) {
		t.Fatalf("shapes %v %v", out[0].Shape, out[1].Shape)
	}
	wantB := []float32{0, 0, 1, 1, 0, 0, 0.9, 1, 1, 1, 1, 1, 0.5, 0.5, 1, 1, 0, 0, 0, 0}
	if got := out[0].Float32s(); !slices.Equal(got, wantB) {
		t.Errorf("boxes %v, want %v", got, wantB)
	}
	if got := out[1].Float32s(); !slices.Equal(got, []float32{0.9, 0.85, 0.7, 0.3, 0}) {
		t.Errorf("scores %v", got)
	}
	if got := out[2].Float32s(); !slices.Equal(got, []float32{0, 1, 1, 0, 0}) {
		t.Errorf("classes %v", got)
	}
	if v := out[3].Int32s(); v[0] != 4 {
		t.Errorf("valid %v", v)
	}
	// pad_per_class pads to min(5, 2*2); clip_boxes false keeps box 3.
	out = run(graphdef.Attrs{"pad_per_class": true, "clip_boxes": false}, boxes, 5)
	if !out[1].Shape.Equal(classify.Shape{1, 4}) || out[0].Float32s()[8] != 2 {
		t.Errorf("pad_per_class: %v, boxes %v", out[1].Shape, out[0].Float32s())
	}
	// max_total_size below the survivors truncates.
	if out = run(nil, boxes, 1); out[3].Int32s()[0] != 1 || out[1].Float32s()[0] != 0.9 {
		t.Errorf("total 1: %v %v", out[3].Data, out[1].Data)
	}
	// q = num_classes, each class given a copy of the shared boxes: the
	// same selection.
	perClass := make([]float32, 0, 32)
	for i := range 4 {
		b := boxes.Float32s()[4*i : 4*i+4]
		perClass = append(perClass, b...)
		perClass = append(perClass, b...)
	}
	out = run(nil, classify.FromFloat32(perClass, 1, 4, 2, 4), 5)
	if got := out[1].Float32s(); !slices.Equal(got, []float32{0.9, 0.85, 0.7, 0.3, 0}) {
		t.Errorf("q=2 scores %v", got)
	}
	for _, tc := range []struct {
		in  []*classify.Tensor
		msg string
	}{
		{[]*classify.Tensor{classify.FromFloat32(make([]float32, 12), 1, 1, 3, 4), classify.FromFloat32([]float32{1, 2}, 1, 1, 2), saI32([]int32{1}), saI32([]int32{1}), sc(0.5), sc(0)}, "1 or num_classes"},
		{[]*classify.Tensor{boxes, scores, saI32([]int32{0}), saI32([]int32{1}), sc(0.5), sc(0)}, "> 0"},
		{[]*classify.Tensor{boxes, scores, saI32([]int32{1}), saI32([]int32{1 << 30}), sc(0.5), sc(0)}, "elements"},
		{[]*classify.Tensor{boxes, scores, saI32([]int32{1}), saI32([]int32{1}), sc(1.5), sc(0)}, "[0, 1]"},
		{[]*classify.Tensor{boxes, classify.FromFloat32(make([]float32, 3), 1, 3, 1), saI32([]int32{1}), saI32([]int32{1}), sc(0.5), sc(0)}, "scores must be"},
	} {
		if _, err := runAttrOp(t, "CombinedNonMaxSuppression", nil, tc.in...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("err = %v, want %q", err, tc.msg)
		}
	}
}
