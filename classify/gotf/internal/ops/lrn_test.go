package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestLRNGolden(t *testing.T) {
	at := func(r int, bias, alpha, beta float32) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Float32, "depth_radius": r, "bias": bias, "alpha": alpha, "beta": beta}
	}
	cases := []goldenCase{
		saCase("lrn_alexnet", "LRN", at(2, 2, 1e-4, 0.75), 1, saFeed(randF32(1701, -3, 3, 2, 3, 4, 16))),
		saCase("lrn_defaults", "LRN", at(5, 1, 1, 0.5), 1, saFeed(randF32(1702, -1, 1, 1, 2, 3, 7))),
		saCase("lrn_radius0", "LRN", at(0, 1, 0.5, 1), 1, saFeed(randF32(1703, -1, 1, 1, 2, 2, 5))),
		saCase("lrn_wide_radius", "LRN", at(9, 0.5, 0.3, 0.6), 1, saFeed(randF32(1704, -2, 2, 1, 3, 3, 6))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func TestLRNErrors(t *testing.T) {
	saCheckErrors(t, []saErrCase{
		{"rank3", "LRN", nil, []saIn{saFeed(randF32(1, 0, 1, 2, 3, 4))}, classify.ErrInvalidInput, "rank 4"},
		{"int", "LRN", nil, []saIn{saFeed(saIota(1, 2, 2, 3))}, classify.ErrInvalidInput, "float32"},
		{"radius", "LRN", graphdef.Attrs{"depth_radius": -1}, []saIn{saFeed(randF32(1, 0, 1, 1, 1, 1, 3))}, classify.ErrInvalidGraph, "depth_radius"},
	})
}
