package gotf

import (
	"context"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestPatchOpsThroughEngine loads MaxPoolWithArgmax (two outputs, an int64
// one, attrs left to their defaults), ExtractImagePatches and the legacy
// SpaceToBatch/BatchToSpace through the whole loader.
func TestPatchOpsThroughEngine(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{1, 4, 4, 1})
	k := []int{1, 2, 2, 1}
	b.Op("MaxPoolWithArgmax", "mp", []graphdef.Output{x}, graphdef.Attrs{"T": classify.Float32, "ksize": k, "strides": k, "padding": "VALID"})
	b.Op("ExtractImagePatches", "patches", []graphdef.Output{x}, graphdef.Attrs{"T": classify.Float32, "ksizes": k, "strides": k, "rates": []int{1, 1, 1, 1}, "padding": "VALID"})
	pads := b.ConstI32("pads", []int32{0, 0, 0, 0}, 2, 2)
	s2b := b.Op("SpaceToBatch", "s2b", []graphdef.Output{x, pads}, graphdef.Attrs{"T": classify.Float32, "block_size": 2, "Tpaddings": classify.Int32})
	b.Op("BatchToSpace", "b2s", []graphdef.Output{s2b, pads}, graphdef.Attrs{"T": classify.Float32, "block_size": 2, "Tidx": classify.Int32})
	m := openBuilder(t, b, classify.OpenOptions{})
	defer m.Close()

	xin := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{1, 4, 4, 1}, Data: []float32{
		1, 9, 2, 3,
		4, 5, 8, 6,
		7, 0, 1, 1,
		2, 3, 1, 4,
	}}
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": xin}, []string{"mp:0", "mp:1", "patches", "s2b", "b2s"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Float32s(); len(got) != 4 || got[0] != 9 || got[1] != 8 || got[2] != 7 || got[3] != 4 {
		t.Errorf("max pool %v, want [9 8 7 4]", got)
	}
	am, ok := res[1].Data.([]int64)
	if res[1].DType != classify.Int64 || !ok || len(am) != 4 || am[0] != 1 || am[1] != 6 || am[2] != 8 || am[3] != 15 {
		t.Errorf("argmax %v %v, want int64 [1 6 8 15]", res[1].DType, res[1].Data)
	}
	if p := res[2]; !p.Shape.Equal(classify.Shape{1, 2, 2, 4}) || p.Float32s()[4] != 2 || p.Float32s()[7] != 6 {
		t.Errorf("patches %v %v", p.Shape, p.Data)
	}
	// SpaceToBatch block 2: batch 0 holds the even rows and columns.
	if s := res[3]; !s.Shape.Equal(classify.Shape{4, 2, 2, 1}) || s.Float32s()[0] != 1 || s.Float32s()[1] != 2 || s.Float32s()[2] != 7 || s.Float32s()[3] != 1 {
		t.Errorf("s2b %v %v", s.Shape, s.Data)
	}
	for i, v := range res[4].Float32s() {
		if v != xin.Float32s()[i] {
			t.Fatalf("b2s does not undo s2b: %v", res[4].Data)
		}
	}
}
