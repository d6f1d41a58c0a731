package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestDilation2DGolden(t *testing.T) {
	at := func(s, r []int, pad string) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Float32, "strides": s, "rates": r, "padding": pad}
	}
	one := []int{1, 1, 1, 1}
	cases := []goldenCase{
		saCase("dilation2d_valid", "Dilation2D", at(one, one, "VALID"), 1,
			saFeed(randF32(801, -1, 1, 2, 6, 5, 3)), saConst(randF32(802, -1, 1, 3, 2, 3))),
		saCase("dilation2d_same_strided", "Dilation2D", at([]int{1, 2, 3, 1}, one, "SAME"), 1,
			saFeed(randF32(803, -1, 1, 1, 7, 8, 2)), saConst(randF32(804, -1, 1, 3, 3, 2))),
		saCase("dilation2d_same_rates", "Dilation2D", at(one, []int{1, 2, 2, 1}, "SAME"), 1,
			saFeed(randF32(805, -1, 1, 1, 6, 6, 2)), saFeed(randF32(806, -1, 1, 2, 3, 2))),
		saCase("dilation2d_valid_both", "Dilation2D", at([]int{1, 2, 1, 1}, []int{1, 1, 2, 1}, "VALID"), 1,
			saFeed(randF32(807, -1, 1, 1, 9, 7, 1)), saConst(randF32(808, -1, 1, 2, 3, 1))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestDilation2DReference checks float64 against a direct loop, and the
// edge conventions TF's kernel has: padding never wins, NaN never wins.
func TestDilation2DReference(t *testing.T) {
	x32 := randF32(811, -2, 2, 1, 5, 4, 2)
	f32 := randF32(812, -1, 1, 2, 2, 2)
	x, f := classify.NewTensor(classify.Float64, 1, 5, 4, 2), classify.NewTensor(classify.Float64, 2, 2, 2)
	for i, v := range x32.Float32s() {
		x.Data.([]float64)[i] = float64(v)
	}
	for i, v := range f32.Float32s() {
		f.Data.([]float64)[i] = float64(v)
	}
	at := graphdef.Attrs{"T": classify.Float64, "strides": []int{1, 2, 1, 1}, "rates": []int{1, 1, 2, 1}, "padding": "SAME"}
	got, err := saRun(t, "Dilation2D", at, saFeed(x), saFeed(f))
	if err != nil {
		t.Fatal(err)
	}
	// SAME: rows out 3, pad (2*2+2-5)/2 = 0; cols effective 3, out 4, pad (3+3-4)/2 = 1.
	if want := (classify.Shape{1, 3, 4, 2}); !got[0].Shape.Equal(want) {
		t.Fatalf("shape %v, want %v", got[0].Shape, want)
	}
	xd, fd, gd := x.Data.([]float64), f.Data.([]float64), got[0].Data.([]float64)
	for oy := 0; oy < 3; oy++ {
		for ox := 0; ox < 4; ox++ {
			for c := 0; c < 2; c++ {
				best := math.Inf(-1)
				for i := 0; i < 2; i++ {
					for j := 0; j < 2; j++ {
						h, w := oy*2+i, ox+2*j-1
						if h < 5 && w >= 0 && w < 4 {
							best = math.Max(best, xd[(h*4+w)*2+c]+fd[(i*2+j)*2+c])
						}
					}
				}
				if g := gd[(oy*4+ox)*2+c]; g != best {
					t.Errorf("(%d,%d,%d): %v, want %v", oy, ox, c, g, best)
				}
			}
		}
	}
	// NaN in the input: never greater, so the others win.
	xn := classify.FromFloat32([]float32{float32(math.NaN()), 1, 2, 3}, 1, 2, 2, 1)
	fz := classify.FromFloat32([]float32{0, 0, 0, 0}, 2, 2, 1)
	got, err = saRun(t, "Dilation2D", graphdef.Attrs{"T": classify.Float32, "strides": []int{1, 1, 1, 1}, "rates": []int{1, 1, 1, 1}, "padding": "VALID"}, saFeed(xn), saFeed(fz))
	if err != nil {
		t.Fatal(err)
	}
	if v := got[0].Float32s(); len(v) != 1 || v[0] != 3 {
		t.Errorf("NaN input: got %v, want [3]", v)
	}
	good := graphdef.Attrs{"T": classify.Float32, "strides": []int{1, 1, 1, 1}, "rates": []int{1, 1, 1, 1}, "padding": "VALID"}
	x4 := randF32(813, -1, 1, 1, 3, 3, 2)
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	saCheckErrors(t, []saErrCase{
		{"depth", "Dilation2D", good, []saIn{saFeed(x4), saFeed(randF32(1, 0, 1, 2, 2, 3))}, inv, "depth"},
		{"negative", "Dilation2D", good, []saIn{saFeed(x4), saFeed(randF32(1, 0, 1, 6, 1, 2))}, inv, "negative"},
		{"filter_rank", "Dilation2D", good, []saIn{saFeed(x4), saFeed(randF32(1, 0, 1, 2, 2))}, inv, "3-D"},
		{"strides", "Dilation2D", graphdef.Attrs{"strides": []int{2, 1, 1, 1}, "rates": []int{1, 1, 1, 1}, "padding": "VALID"}, []saIn{saFeed(x4), saFeed(randF32(1, 0, 1, 2, 2, 2))}, bad, "strides"},
		{"dtype", "Dilation2D", good, []saIn{saFeed(saIota(1, 3, 3, 1)), saFeed(saIota(1, 1, 1))}, inv, "int32"},
	})
}
