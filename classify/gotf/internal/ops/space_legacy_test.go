package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TensorFlow.js has only the ND forms, so the legacy SpaceToBatch and
// BatchToSpace are checked against index loops written from TensorFlow's
// op docs: output batch (a*bs + c)*B + b holds padded[b, i*bs+a, j*bs+c].

func refSpaceToBatch(x []int32, shape []int, bs int, pad []int) ([]int32, []int) {
	B, H, W, C := shape[0], shape[1], shape[2], shape[3]
	PH, PW := H+pad[0]+pad[1], W+pad[2]+pad[3]
	oh, ow := PH/bs, PW/bs
	out := make([]int32, bs*bs*B*oh*ow*C)
	k := 0
	for a := 0; a < bs; a++ {
		for c := 0; c < bs; c++ {
			for b := 0; b < B; b++ {
				for i := 0; i < oh; i++ {
					for j := 0; j < ow; j++ {
						for ch := 0; ch < C; ch++ {
							h, w := i*bs+a-pad[0], j*bs+c-pad[2]
							if h >= 0 && h < H && w >= 0 && w < W {
								out[k] = x[((b*H+h)*W+w)*C+ch]
							}
							k++
						}
					}
				}
			}
		}
	}
	return out, []int{bs * bs * B, oh, ow, C}
}

func refBatchToSpace(x []int32, shape []int, bs int, crop []int) ([]int32, []int) {
	IB, H, W, C := shape[0], shape[1], shape[2], shape[3]
	B := IB / (bs * bs)
	oh, ow := H*bs-crop[0]-crop[1], W*bs-crop[2]-crop[3]
	out := make([]int32, B*oh*ow*C)
	k := 0
	for b := 0; b < B; b++ {
		for h := 0; h < oh; h++ {
			for w := 0; w < ow; w++ {
				for ch := 0; ch < C; ch++ {
					uh, uw := h+crop[0], w+crop[2]
					ib := ((uh%bs)*bs+uw%bs)*B + b
					out[k] = x[((ib*H+uh/bs)*W+uw/bs)*C+ch]
					k++
				}
			}
		}
	}
	return out, []int{B, oh, ow, C}
}

func TestSpaceBatchLegacy(t *testing.T) {
	at := func(bs int) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Int32, "block_size": bs, "Tpaddings": classify.Int32, "Tidx": classify.Int32}
	}
	for _, c := range []struct {
		shape []int
		bs    int
		edges []int32
	}{
		{[]int{1, 4, 6, 3}, 2, []int32{0, 0, 0, 0}},
		{[]int{2, 5, 4, 2}, 3, []int32{1, 0, 2, 0}},
		{[]int{1, 3, 3, 1}, 2, []int32{1, 0, 0, 1}},
	} {
		x := saIota(c.shape...)
		for _, konst := range []bool{true, false} {
			pads := saI32(c.edges, 2, 2)
			in := saFeed(pads)
			if konst {
				in = saConst(pads)
			}
			got, err := saRun(t, "SpaceToBatch", at(c.bs), saFeed(x), in)
			if err != nil {
				t.Fatal(err)
			}
			e := []int{int(c.edges[0]), int(c.edges[1]), int(c.edges[2]), int(c.edges[3])}
			wd, ws := refSpaceToBatch(x.Int32s(), c.shape, c.bs, e)
			if msg := compare(got[0], saI32(wd, ws...), 0, 0); msg != "" {
				t.Errorf("SpaceToBatch %v bs %d %v: %s", c.shape, c.bs, c.edges, msg)
			}
			// BatchToSpace of that result with crops = paddings.
			back, err := saRun(t, "BatchToSpace", at(c.bs), saFeed(got[0]), in)
			if err != nil {
				t.Fatal(err)
			}
			bd, bsh := refBatchToSpace(got[0].Int32s(), got[0].Shape, c.bs, e)
			if msg := compare(back[0], saI32(bd, bsh...), 0, 0); msg != "" {
				t.Errorf("BatchToSpace: %s", msg)
			}
			if msg := compare(back[0], x, 0, 0); msg != "" {
				t.Errorf("BatchToSpace does not undo SpaceToBatch: %s", msg)
			}
		}
	}
	// A crop that is not a padding: checked against the loop alone.
	x := saIota(8, 2, 3, 1)
	got, err := saRun(t, "BatchToSpace", at(2), saFeed(x), saConst(saI32([]int32{0, 1, 2, 1}, 2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	wd, ws := refBatchToSpace(x.Int32s(), x.Shape, 2, []int{0, 1, 2, 1})
	if msg := compare(got[0], saI32(wd, ws...), 0, 0); msg != "" {
		t.Error(msg)
	}
	x4 := randF32(606, -1, 1, 1, 4, 4, 1)
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	saCheckErrors(t, []saErrCase{
		{"block_1", "SpaceToBatch", at(1), []saIn{saFeed(x4), saConst(saI32([]int32{0, 0, 0, 0}, 2, 2))}, bad, "should be > 1"},
		{"no_block", "BatchToSpace", graphdef.Attrs{"T": classify.Float32}, []saIn{saFeed(x4), saConst(saI32([]int32{0, 0, 0, 0}, 2, 2))}, bad, "should be > 1"},
		{"rank3", "SpaceToBatch", at(2), []saIn{saFeed(randF32(1, 0, 1, 4, 4, 1)), saFeed(saI32([]int32{0, 0, 0, 0}, 2, 2))}, inv, "rank should be 4"},
		{"not_divisible", "SpaceToBatch", at(3), []saIn{saFeed(x4), saFeed(saI32([]int32{0, 0, 0, 0}, 2, 2))}, inv, "not a multiple"},
		{"pads_shape", "SpaceToBatch", at(2), []saIn{saFeed(x4), saConst(saI32([]int32{0, 0}, 2))}, bad, "block_shape"},
		{"batch", "BatchToSpace", at(2), []saIn{saFeed(x4), saFeed(saI32([]int32{0, 0, 0, 0}, 2, 2))}, inv, "batch 1"},
	})
	saCheckShapes(t, []saShapeCase{
		{name: "s2b", op: "SpaceToBatch", attrs: at(2), in: []classify.TensorInfo{saF32Info(-1, 14, 14, 8), saInfo(classify.Int32, 2, 2)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{2, 2, 2, 2}, 2, 2)}, want: []classify.TensorInfo{saF32Info(-1, 9, 9, 8)}},
		{name: "b2s", op: "BatchToSpace", attrs: at(2), in: []classify.TensorInfo{saF32Info(8, 9, 9, 8), saInfo(classify.Int32, 2, 2)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{2, 2, 2, 2}, 2, 2)}, want: []classify.TensorInfo{saF32Info(2, 14, 14, 8)}},
	})
}
