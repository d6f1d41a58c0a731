package gotf

import (
	"context"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestVisionOpsThroughEngine loads a small decoder-and-detector graph
// whose nodes leave out every attribute with a default (as GraphDef
// writers may), through the whole loader: defaults, static shapes,
// multi-output fetches.
func TestVisionOpsThroughEngine(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{1, 2, 2, 4})
	// Conv2DBackpropInput with no dilations/data_format: a 1x1 stride-1
	// identity filter, so its output is x.
	f := make([]float32, 16)
	for i := range 4 {
		f[i*4+i] = 1
	}
	filt := b.ConstF32("filt", f, 1, 1, 4, 4)
	dc := b.Op("Conv2DBackpropInput", "deconv", []graphdef.Output{b.ConstI32("dsize", []int32{1, 2, 2, 4}, 4), filt, x},
		graphdef.Attrs{"T": classify.Float32, "strides": []int{1, 1, 1, 1}, "padding": "VALID"})
	d2s := b.Op("DepthToSpace", "d2s", []graphdef.Output{dc}, graphdef.Attrs{"T": classify.Float32, "block_size": 2})
	b.Op("ResizeBilinear", "up", []graphdef.Output{d2s, b.ConstI32("size", []int32{8, 8}, 2)}, graphdef.Attrs{"T": classify.Float32})
	scores := b.Placeholder("scores", classify.Float32, classify.Shape{4})
	b.Op("TopKV2", "topk", []graphdef.Output{scores, b.ConstI32("k", []int32{2}, 1)}, graphdef.Attrs{"T": classify.Float32})
	boxes := b.ConstF32("boxes", []float32{0, 0, 1, 1, 0, 0, 0.9, 1, 2, 2, 3, 3, 5, 5, 6, 6}, 4, 4)
	b.Op("NonMaxSuppressionV5", "nms", []graphdef.Output{boxes, scores, b.ConstI32("max", []int32{3}),
		b.ConstF32("iou", []float32{0.5}), b.ConstF32("st", []float32{0}), b.ConstF32("sigma", []float32{0})}, graphdef.Attrs{"T": classify.Float32})
	m := openBuilder(t, b, classify.OpenOptions{})
	defer m.Close()

	xin := randTensor(1, 1, 2, 2, 4)
	sc := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{4}, Data: []float32{0.9, 0.8, 0.3, 0.95}}
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": xin, "scores": sc}, []string{"up", "topk:1", "nms:0", "nms:2"})
	if err != nil {
		t.Fatal(err)
	}
	up, idx, sel, valid := res[0], res[1], res[2], res[3]
	// DepthToSpace of x is a 4x4 image; its legacy 2x bilinear upsampling
	// keeps every source pixel at the even positions.
	if want := (classify.Shape{1, 8, 8, 1}); !up.Shape.Equal(want) {
		t.Fatalf("up shape %v, want %v", up.Shape, want)
	}
	xs := xin.Float32s()
	for y := range 4 {
		for xx := range 4 {
			h, i, w, j := y/2, y%2, xx/2, xx%2
			want := xs[(h*2+w)*4+i*2+j]
			if got := up.Float32s()[(2*y)*8+2*xx]; got != want {
				t.Fatalf("up[%d,%d] = %v, want %v", 2*y, 2*xx, got, want)
			}
		}
	}
	if got := idx.Int32s(); len(got) != 2 || got[0] != 3 || got[1] != 0 {
		t.Errorf("topk indices %v, want [3 0]", got)
	}
	// Box 1 overlaps box 0 (IoU 0.9) and is suppressed: 3, 0, 2.
	if got := sel.Int32s(); len(got) != 3 || got[0] != 3 || got[1] != 0 || got[2] != 2 || valid.Int32s()[0] != 3 {
		t.Errorf("nms selected %v, valid %v; want [3 0 2], 3", got, valid.Int32s())
	}
}
