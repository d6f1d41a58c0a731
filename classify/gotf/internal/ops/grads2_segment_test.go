package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestSparseSegmentGrad checks the three gradients against the definition
// (float64 exactly up to rounding, float32, float16, int64 indices), the
// adjoint identity with the forward SparseSegmentSum/Mean/SqrtN, and by
// hand.
func TestSparseSegmentGrad(t *testing.T) {
	idx := []int32{3, 0, 3, 5, 1, 1, 4}
	seg := []int32{0, 0, 1, 1, 1, 3, 3} // segment 2 is empty
	const dim0, rows = 6, 4
	for k, red := range []string{"Sum", "Mean", "SqrtN"} {
		op := "SparseSegment" + red + "Grad"
		t.Run(red, func(t *testing.T) {
			g := grRand64(uint64(1400+k), -1, 1, nil, 0, rows, 2, 3)
			gd := g.Data.([]float64)
			cnt := make([]float64, rows)
			for _, s := range seg {
				cnt[s]++
			}
			want := make([]float64, dim0*6)
			for i, s := range seg {
				w := 1.0
				switch red {
				case "Mean":
					w = 1 / max(cnt[s], 1)
				case "SqrtN":
					w = 1 / math.Sqrt(max(cnt[s], 1))
				}
				for j := range 6 {
					want[int(idx[i])*6+j] += gd[int(s)*6+j] * w
				}
			}
			in := []*classify.Tensor{g, saI32(idx, len(idx)), saI32(seg, len(seg)), saI32([]int32{dim0})}
			got := mustRun(t, op, nil, in...)
			if !got.Shape.Equal(classify.Shape{dim0, 2, 3}) {
				t.Fatalf("shape %v", got.Shape)
			}
			grClose(t, "float64", grFloats(got), want, 1e-15, 1e-15)
			in[0] = grTo32(g)
			grClose(t, "float32", grFloats(mustRun(t, op, graphdef.Attrs{"T": classify.Float32}, in...)), want, 1e-6, 1e-6)
			in[0] = grTo16(g)
			grClose(t, "float16", grFloats(mustRun(t, op, graphdef.Attrs{"T": classify.Float16}, in...)), want, 4e-3, 4e-3)
			in[0], in[1], in[3] = g, g2I64(idx, len(idx)), saI64([]int64{dim0})
			grClose(t, "int64 indices", grFloats(mustRun(t, op, graphdef.Attrs{"Tidx": classify.Int64}, in...)), want, 1e-15, 1e-15)
			// Adjoint with the forward reduction.
			x := grRand64(uint64(1410+k), -1, 1, nil, 0, dim0, 2, 3)
			y := grFwd(t, "SparseSegment"+red, nil, 1, x, saI32(idx, len(idx)), saI32(seg, len(seg)))[0]
			l, r := 0.0, 0.0
			for j, v := range grFloats(y) {
				l += v * gd[j]
			}
			for j, v := range grFloats(got) {
				r += v * x.Data.([]float64)[j]
			}
			if math.Abs(l-r) > 1e-12 {
				t.Errorf("adjoint %v vs %v", l, r)
			}
		})
	}
	// By hand: Mean over segment 0 = {rows 2, 0}: each gets g[0]/2.
	got := mustRun(t, "SparseSegmentMeanGrad", nil, classify.FromFloat32([]float32{4, 6}, 2, 1), saI32([]int32{2, 0, 1}, 3), saI32([]int32{0, 0, 1}, 3), saI32([]int32{3})).Float32s()
	if !grEq32(got, []float32{2, 6, 2}) {
		t.Errorf("by hand: %v", got)
	}
	// No indices.
	e := mustRun(t, "SparseSegmentSumGrad", nil, classify.NewTensor(classify.Float32, 0, 2), saI32(nil, 0), saI32(nil, 0), saI32([]int32{3}))
	if !e.Shape.Equal(classify.Shape{3, 2}) || !grEq32(e.Float32s(), make([]float32, 6)) {
		t.Errorf("empty: %v %v", e.Shape, e.Float32s())
	}
}

func TestSparseSegmentGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	g := saFeed(randF32(1, -1, 1, 2, 3))
	v := func(x ...int32) saIn { return saFeed(saI32(x, len(x))) }
	d := func(x int32) saIn { return saFeed(saI32([]int32{x})) }
	op := "SparseSegmentMeanGrad"
	saCheckErrors(t, []saErrCase{
		{"segment_range", op, nil, []saIn{g, v(0, 1), v(0, 2), d(4)}, inv, "segment_ids[1]"},
		{"index_range", op, nil, []saIn{g, v(0, 4), v(0, 1), d(4)}, inv, "indices[1]"},
		{"index_negative", op, nil, []saIn{g, v(-1, 0), v(0, 1), d(4)}, inv, "indices[0]"},
		{"lengths", op, nil, []saIn{g, v(0, 1, 2), v(0, 1), d(4)}, inv, "one length"},
		{"dim0_negative", op, nil, []saIn{g, v(0, 1), v(0, 1), d(-4)}, inv, "output shape"},
		{"dim0_huge", op, nil, []saIn{g, v(0, 1), v(0, 1), d(1 << 30)}, inv, "output shape"},
		{"dim0_vector", op, nil, []saIn{g, v(0, 1), v(0, 1), v(4)}, inv, "scalar"},
		{"grad_scalar", op, nil, []saIn{saFeed(classify.FromFloat32([]float32{1})), v(0), v(0), d(4)}, inv, "rank >= 1"},
		{"grad_int", op, nil, []saIn{saFeed(saIota(2, 3)), v(0, 1), v(0, 1), d(4)}, inv, "int32"},
		{"attr", op, graphdef.Attrs{"T": classify.Int32}, []saIn{g, v(0, 1), v(0, 1), d(4)}, bad, "int32"},
	})
}
