package ops

import (
	"slices"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestMatrixSetDiag checks the diagonal k of every matrix against
// out[b, i, j] = diag[b, e] where j - i = k (e counted from the top row
// or the left column), input elsewhere.
func TestMatrixSetDiag(t *testing.T) {
	x := saIota(2, 3, 4)
	for _, c := range []struct {
		op string
		k  int
	}{{"MatrixSetDiag", 0}, {"MatrixSetDiagV2", 1}, {"MatrixSetDiagV3", -2}, {"MatrixSetDiagV3", 3}, {"MatrixSetDiagV3", 0}} {
		l := min(3+min(c.k, 0), 4-max(c.k, 0))
		diag := make([]int32, 2*l)
		for i := range diag {
			diag[i] = int32(-100 - i)
		}
		ins := []*classify.Tensor{x, saI32(diag, 2, l)}
		if c.op != "MatrixSetDiag" {
			ins = append(ins, saI32([]int32{int32(c.k)}))
		}
		got := mustRun(t, c.op, map[string]any{"align": "LEFT_RIGHT"}, ins...)
		want := slices.Clone(x.Int32s())
		for b := range 2 {
			for i := range 3 {
				for j := range 4 {
					if j-i == c.k {
						e := min(i, j)
						want[(b*3+i)*4+j] = diag[b*l+e]
					}
				}
			}
		}
		if !slices.Equal(got.Int32s(), want) {
			t.Errorf("%s k=%d: got %v, want %v", c.op, c.k, got.Int32s(), want)
		}
	}
	f := mustRun(t, "MatrixSetDiagV3", nil, randF32(1, 0, 1, 2, 2), classify.FromFloat32([]float32{7, 8}, 2), saI32([]int32{0, 0}, 2))
	if d := f.Float32s(); d[0] != 7 || d[3] != 8 {
		t.Errorf("float32, k as [0 0]: %v", d)
	}
	saCheckErrors(t, []saErrCase{
		{"diag_shape", "MatrixSetDiagV3", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2}, 2)), saFeed(saI32([]int32{0}))}, classify.ErrInvalidInput, "want [2,3]"},
		{"outside", "MatrixSetDiagV3", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2}, 2, 1)), saFeed(saI32([]int32{4}))}, classify.ErrInvalidInput, "outside"},
		{"range", "MatrixSetDiagV3", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2}, 2, 1)), saFeed(saI32([]int32{0, 1}, 2))}, classify.ErrUnsupportedOp, "range of diagonals"},
		{"rank", "MatrixSetDiag", nil, []saIn{saFeed(saIota(3)), saFeed(saIota(3))}, classify.ErrInvalidInput, "rank at least 2"},
		{"dtype", "MatrixSetDiag", nil, []saIn{saFeed(x), saFeed(randF32(1, 0, 1, 2, 3))}, classify.ErrInvalidInput, "diagonal float32"},
		{"align", "MatrixSetDiagV3", graphdef.Attrs{"align": "UP"}, []saIn{saFeed(x), saFeed(saIota(2, 3)), saFeed(saI32([]int32{0}))}, classify.ErrInvalidGraph, "align"},
	})
}
