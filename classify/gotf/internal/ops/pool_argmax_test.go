package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestMaxPoolWithArgmaxGolden(t *testing.T) {
	at := func(k, s []int, pad string, batch bool) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Float32, "Targmax": classify.Int64, "ksize": k, "strides": s, "padding": pad, "include_batch_in_index": batch}
	}
	cases := []goldenCase{
		saCase("maxpoolargmax_valid", "MaxPoolWithArgmax", at([]int{1, 2, 2, 1}, []int{1, 2, 2, 1}, "VALID", false), 2,
			saFeed(randF32(901, -1, 1, 2, 6, 5, 3))),
		saCase("maxpoolargmax_same_batch", "MaxPoolWithArgmax", at([]int{1, 3, 2, 1}, []int{1, 2, 1, 1}, "SAME", true), 2,
			saFeed(randF32(902, -1, 1, 2, 5, 4, 2))),
		saCase("maxpoolargmax_same", "MaxPoolWithArgmax", at([]int{1, 3, 3, 1}, []int{1, 2, 2, 1}, "SAME", false), 2,
			saFeed(randF32(903, -1, 1, 3, 7, 6, 2))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestMaxPoolWithArgmaxReference checks the conventions of TF's CPU kernel
// against a direct loop: the first of tied maxima wins, int32 Targmax, the
// batch in the index, NaN.
func TestMaxPoolWithArgmaxReference(t *testing.T) {
	// Values in {0, 1, 2}: many ties.
	x := classify.NewTensor(classify.Float32, 2, 5, 5, 2)
	for i, d := 0, x.Float32s(); i < len(d); i++ {
		d[i] = float32((i * 7) % 3)
	}
	for _, batch := range []bool{false, true} {
		at := graphdef.Attrs{"T": classify.Float32, "Targmax": classify.Int32, "ksize": []int{1, 3, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "SAME", "include_batch_in_index": batch}
		got, err := saRun(t, "MaxPoolWithArgmax", at, saFeed(x))
		if err != nil {
			t.Fatal(err)
		}
		// SAME: rows out 3, pad (2*2+3-5)/2 = 1; cols out 3, pad (2*2+2-5)/2 = 0.
		if want := (classify.Shape{2, 3, 3, 2}); !got[0].Shape.Equal(want) || !got[1].Shape.Equal(want) || got[1].DType != classify.Int32 {
			t.Fatalf("shapes %v %v %v", got[0].Shape, got[1].Shape, got[1].DType)
		}
		xd, yd, ad := x.Float32s(), got[0].Float32s(), got[1].Int32s()
		k := 0
		for b := 0; b < 2; b++ {
			for oy := 0; oy < 3; oy++ {
				for ox := 0; ox < 3; ox++ {
					for c := 0; c < 2; c++ {
						best, bi := float32(-1), -1
						for h := oy*2 - 1; h < oy*2+2; h++ {
							for w := ox * 2; w < ox*2+2; w++ {
								if h < 0 || h >= 5 || w >= 5 {
									continue
								}
								if v := xd[((b*5+h)*5+w)*2+c]; v > best {
									best, bi = v, (h*5+w)*2+c
									if batch {
										bi += b * 50
									}
								}
							}
						}
						if yd[k] != best || int(ad[k]) != bi {
							t.Errorf("batch %v (%d,%d,%d,%d): %v at %d, want %v at %d", batch, b, oy, ox, c, yd[k], ad[k], best, bi)
						}
						k++
					}
				}
			}
		}
	}
	// A leading NaN stays the maximum; a later one never wins.
	xn := classify.FromFloat32([]float32{float32(math.NaN()), 5, 1, 2, 1, float32(math.NaN()), 0, 3}, 1, 2, 4, 1)
	got, err := saRun(t, "MaxPoolWithArgmax", graphdef.Attrs{"ksize": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "VALID"}, saFeed(xn))
	if err != nil {
		t.Fatal(err)
	}
	if v, a := got[0].Float32s(), got[1].Data.([]int64); !math.IsNaN(float64(v[0])) || a[0] != 0 || v[1] != 3 || a[1] != 7 {
		t.Errorf("NaN: got %v %v, want [NaN 3] [0 7]", v, a)
	}
	x4 := randF32(904, -1, 1, 1, 3, 3, 1)
	k2 := []int{1, 2, 2, 1}
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	saCheckErrors(t, []saErrCase{
		{"targmax", "MaxPoolWithArgmax", graphdef.Attrs{"Targmax": classify.Float32, "ksize": k2, "strides": k2, "padding": "VALID"}, []saIn{saFeed(x4)}, bad, "Targmax"},
		{"ksize", "MaxPoolWithArgmax", graphdef.Attrs{"ksize": []int{2, 2, 2, 1}, "strides": k2, "padding": "VALID"}, []saIn{saFeed(x4)}, bad, "ksize"},
		{"negative", "MaxPoolWithArgmax", graphdef.Attrs{"ksize": []int{1, 7, 1, 1}, "strides": []int{1, 1, 1, 1}, "padding": "VALID"}, []saIn{saFeed(x4)}, inv, "negative"},
		{"rank", "MaxPoolWithArgmax", graphdef.Attrs{"ksize": k2, "strides": k2, "padding": "VALID"}, []saIn{saFeed(randF32(1, 0, 1, 3, 3))}, inv, "4-D"},
		{"dtype", "MaxPoolWithArgmax", graphdef.Attrs{"ksize": k2, "strides": k2, "padding": "VALID"}, []saIn{saFeed(saIota(1, 2, 2, 1))}, inv, "int32"},
	})
}
