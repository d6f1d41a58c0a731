package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestSpaceBatchGolden(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	at := func(dt classify.DType) graphdef.Attrs {
		return graphdef.Attrs{"T": dt, "Tblock_shape": i32, "Tpaddings": i32, "Tcrops": i32}
	}
	m2 := func(v ...int32) saIn { return saConst(saI32(v, len(v)/2, 2)) }
	vec := func(v ...int32) saIn { return saConst(saI32(v, len(v))) }
	cases := []goldenCase{
		saCase("spacetobatchnd_2x2", "SpaceToBatchND", at(f32), 1,
			saFeed(randF32(601, -1, 1, 1, 4, 6, 3)), vec(2, 2), m2(0, 0, 0, 0)),
		saCase("spacetobatchnd_padded_odd", "SpaceToBatchND", at(f32), 1,
			saFeed(randF32(602, -1, 1, 2, 5, 3, 2)), vec(2, 3), m2(1, 0, 2, 1)),
		saCase("spacetobatchnd_1d_int32", "SpaceToBatchND", at(i32), 1,
			saFeed(saIota(2, 5, 2)), vec(3), m2(1, 0)),
		saCase("batchtospacend_2x2", "BatchToSpaceND", at(f32), 1,
			saFeed(randF32(603, -1, 1, 4, 2, 3, 3)), vec(2, 2), m2(0, 0, 0, 0)),
		saCase("batchtospacend_cropped", "BatchToSpaceND", at(f32), 1,
			saFeed(randF32(604, -1, 1, 12, 3, 2, 2)), vec(2, 3), m2(1, 0, 2, 1)),
		saCase("batchtospacend_1d_int32", "BatchToSpaceND", at(i32), 1,
			saFeed(saIota(6, 2, 2)), vec(3), m2(1, 2)),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestSpaceBatchRoundTrip: BatchToSpaceND with crops equal to the
// paddings undoes SpaceToBatchND, the way dilated convolutions use them.
func TestSpaceBatchRoundTrip(t *testing.T) {
	x := saIota(2, 7, 5, 3)
	block := saConst(saI32([]int32{3, 2}, 2))
	edges := saConst(saI32([]int32{2, 0, 0, 1}, 2, 2))
	mid, err := saRun(t, "SpaceToBatchND", nil, saFeed(x), block, edges)
	if err != nil {
		t.Fatal(err)
	}
	if want := (classify.Shape{12, 3, 3, 3}); !mid[0].Shape.Equal(want) {
		t.Fatalf("SpaceToBatchND shape %v, want %v", mid[0].Shape, want)
	}
	back, err := saRun(t, "BatchToSpaceND", nil, saFeed(mid[0]), block, edges)
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(back[0], x, 0, 0); msg != "" {
		t.Error(msg)
	}
}

func TestSpaceBatchErrors(t *testing.T) {
	x := randF32(605, -1, 1, 1, 4, 5, 1)
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	m2 := func(v ...int32) *classify.Tensor { return saI32(v, len(v)/2, 2) }
	saCheckErrors(t, []saErrCase{
		{"not_divisible", "SpaceToBatchND", nil, []saIn{saFeed(x), saFeed(saI32([]int32{2, 2}, 2)), saFeed(m2(0, 0, 0, 0))}, inv, "not a multiple"},
		{"zero_block", "SpaceToBatchND", nil, []saIn{saFeed(x), saConst(saI32([]int32{0}, 1)), saConst(m2(0, 0))}, bad, "positive"},
		{"negative_padding", "SpaceToBatchND", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1}, 1)), saFeed(m2(-1, 0))}, inv, "non-negative"},
		{"too_many_block_dims", "SpaceToBatchND", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1, 1, 1, 1}, 4)), saFeed(m2(0, 0, 0, 0, 0, 0, 0, 0))}, inv, "fewer than"},
		{"batch_not_divisible", "BatchToSpaceND", nil, []saIn{saFeed(x), saFeed(saI32([]int32{2}, 1)), saFeed(m2(0, 0))}, inv, "batch 1"},
		{"crops_too_big", "BatchToSpaceND", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1}, 1)), saFeed(m2(3, 2))}, inv, "exceed"},
	})
}

func TestSpaceBatchInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	in := func(s ...int) classify.TensorInfo { return saInfo(f32, s...) }
	saCheckShapes(t, []saShapeCase{
		{name: "spacetobatch", op: "SpaceToBatchND", in: []classify.TensorInfo{in(-1, 14, 14, 8), saInfo(i32, 2), saInfo(i32, 2, 2)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{2, 2}, 2), 2: saI32([]int32{2, 2, 2, 2}, 2, 2)}, want: []classify.TensorInfo{in(-1, 9, 9, 8)}},
		{name: "batchtospace", op: "BatchToSpaceND", in: []classify.TensorInfo{in(8, 9, 9, 8), saInfo(i32, 2), saInfo(i32, 2, 2)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{2, 2}, 2), 2: saI32([]int32{2, 2, 2, 2}, 2, 2)}, want: []classify.TensorInfo{in(2, 14, 14, 8)}},
	})
}
