package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestMatrixGolden: LinSpace against TensorFlow.js. (Its MatrixBandPart
// reads num_lower for num_upper, a bug of its op list, so MatrixBandPart is
// checked by TestMatrixBandPart.)
func TestMatrixGolden(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	cases := []goldenCase{
		saCase("linspace", "LinSpace", graphdef.Attrs{"T": f32, "Tidx": i32}, 1, saConst(saF32s(-1.5)), saConst(saF32s(2)), saConst(saI32([]int32{7}))),
		saCase("linspace_one", "LinSpace", graphdef.Attrs{"T": f32, "Tidx": i32}, 1, saConst(saF32s(3)), saConst(saF32s(5)), saConst(saI32([]int32{1}))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestMatrixBandPart checks TensorFlow's definition: element (m, n) of
// each innermost matrix is kept when (num_lower < 0 || m-n <= num_lower)
// && (num_upper < 0 || n-m <= num_upper), else zeroed.
func TestMatrixBandPart(t *testing.T) {
	for _, c := range []struct {
		shape  []int
		lo, hi int32
	}{{[]int{2, 4, 5}, 1, 0}, {[]int{5, 3}, 0, -1}, {[]int{3, 6, 4}, 2, 1}, {[]int{4, 4}, -1, -1}, {[]int{2, 0, 3}, 0, 0}} {
		x := saIota(c.shape...)
		out, err := saRun("MatrixBandPart", nil, saFeed(x), saFeed(saI32([]int32{c.lo})), saFeed(saI32([]int32{c.hi})))
		if err != nil {
			t.Fatal(err)
		}
		m, n := c.shape[len(c.shape)-2], c.shape[len(c.shape)-1]
		want := saIota(c.shape...)
		for k, d := 0, want.Int32s(); k < len(d); k++ {
			i, j := k%(m*n)/n, k%n
			if !((c.lo < 0 || int32(i-j) <= c.lo) && (c.hi < 0 || int32(j-i) <= c.hi)) {
				d[k] = 0
			}
		}
		if msg := compare(out[0], want, 0, 0); msg != "" {
			t.Errorf("%v lower %d upper %d: %s", c.shape, c.lo, c.hi, msg)
		}
	}
}

// TestReverseSequence checks against the documented semantics (the oracle
// has no ReverseSequence): along batch_dim b, the first seq_lengths[b]
// entries along seq_dim are reversed, the rest kept.
func TestReverseSequence(t *testing.T) {
	x := saIota(3, 5, 2) // batch 3 (dim 0), time 5 (dim 1)
	out, err := saRun("ReverseSequence", graphdef.Attrs{"seq_dim": 1, "batch_dim": 0}, saFeed(x), saFeed(saI64([]int64{0, 5, 3}, 3)))
	if err != nil {
		t.Fatal(err)
	}
	want := saI32([]int32{
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
		18, 19, 16, 17, 14, 15, 12, 13, 10, 11,
		24, 25, 22, 23, 20, 21, 26, 27, 28, 29}, 3, 5, 2)
	if msg := compare(out[0], want, 0, 0); msg != "" {
		t.Error(msg)
	}
	// Time-major: seq_dim 0, batch_dim 1, negative dims allowed.
	x2 := saIota(4, 2)
	out, err = saRun("ReverseSequence", graphdef.Attrs{"seq_dim": 0, "batch_dim": -1}, saFeed(x2), saFeed(saI32([]int32{2, 4}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(out[0], saI32([]int32{2, 7, 0, 5, 4, 3, 6, 1}, 4, 2), 0, 0); msg != "" {
		t.Error(msg)
	}
}

// TestMatrixDiag checks the documented semantics (the oracle has none of
// these ops): diagonal k holds the elements (i, i+k).
func TestMatrixDiag(t *testing.T) {
	i32 := func(v ...int32) saIn { return saConst(saI32(v)) }
	d := saI32([]int32{1, 2, 3, 4, 5, 6}, 2, 3)
	out, err := saRun("MatrixDiag", nil, saFeed(d))
	if err != nil {
		t.Fatal(err)
	}
	want := saI32([]int32{1, 0, 0, 0, 2, 0, 0, 0, 3, 4, 0, 0, 0, 5, 0, 0, 0, 6}, 2, 3, 3)
	if msg := compare(out[0], want, 0, 0); msg != "" {
		t.Errorf("MatrixDiag: %s", msg)
	}
	// Superdiagonal 1, square by default, padded with 9.
	out, err = saRun("MatrixDiagV3", nil, saFeed(d), i32(1), i32(-1), i32(-1), i32(9))
	if err != nil {
		t.Fatal(err)
	}
	want = saI32([]int32{
		9, 1, 9, 9, 9, 9, 2, 9, 9, 9, 9, 3, 9, 9, 9, 9,
		9, 4, 9, 9, 9, 9, 5, 9, 9, 9, 9, 6, 9, 9, 9, 9}, 2, 4, 4)
	if msg := compare(out[0], want, 0, 0); msg != "" {
		t.Errorf("MatrixDiagV3 k=1: %s", msg)
	}
	// Subdiagonal -1 of a 4x3 matrix (num_cols given), then read back.
	out, err = saRun("MatrixDiagV3", nil, saFeed(d), i32(-1), i32(-1), i32(3), i32(0))
	if err != nil {
		t.Fatal(err)
	}
	if want := (classify.Shape{2, 4, 3}); !out[0].Shape.Equal(want) {
		t.Fatalf("MatrixDiagV3 k=-1: shape %v, want %v", out[0].Shape, want)
	}
	back, err := saRun("MatrixDiagPartV3", nil, saFeed(out[0]), i32(-1), i32(0))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(back[0], d, 0, 0); msg != "" {
		t.Errorf("MatrixDiagPartV3 of MatrixDiagV3: %s", msg)
	}
	// A diagonal of a non-square matrix: x[i, i+2] of a 3x5.
	part, err := saRun("MatrixDiagPartV3", nil, saFeed(saIota(3, 5)), saConst(saI32([]int32{2, 2}, 2)), i32(0))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(part[0], saI32([]int32{2, 8, 14}, 3), 0, 0); msg != "" {
		t.Errorf("MatrixDiagPartV3 k=2: %s", msg)
	}
}

func TestMatrixErrors(t *testing.T) {
	inv, unsup := classify.ErrInvalidInput, classify.ErrUnsupportedOp
	i32 := func(v ...int32) saIn { return saConst(saI32(v)) }
	x := saIota(3, 4)
	saCheckErrors(t, []saErrCase{
		{"revseq_len", "ReverseSequence", graphdef.Attrs{"seq_dim": 1}, []saIn{saFeed(x), saFeed(saI32([]int32{1, 5, 0}, 3))}, inv, "seq_lengths[1] = 5 is not in [0, 4]"},
		{"revseq_count", "ReverseSequence", graphdef.Attrs{"seq_dim": 1}, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2}, 2))}, inv, "want [3]"},
		{"revseq_same_dims", "ReverseSequence", graphdef.Attrs{"seq_dim": 0}, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2, 3}, 3))}, inv, "both 0"},
		{"band_too_wide", "MatrixBandPart", nil, []saIn{saFeed(x), i32(4), i32(0)}, inv, "num_lower 4"},
		{"band_rank", "MatrixBandPart", nil, []saIn{saFeed(saIota(4)), i32(0), i32(0)}, inv, "rank at least 2"},
		{"diag_range", "MatrixDiagV3", nil, []saIn{saFeed(x), saConst(saI32([]int32{-1, 1}, 2)), i32(-1), i32(-1), i32(0)}, unsup, "range of diagonals"},
		{"diag_bad_size", "MatrixDiagV3", nil, []saIn{saFeed(x), i32(0), i32(7), i32(7), i32(0)}, inv, "do not fit"},
		{"diagpart_outside", "MatrixDiagPartV3", nil, []saIn{saFeed(x), i32(4), i32(0)}, inv, "outside"},
		{"linspace_num", "LinSpace", nil, []saIn{saFeed(saF32s(0)), saFeed(saF32s(1)), saFeed(saI32([]int32{0}))}, inv, "positive"},
		{"linspace_int", "LinSpace", nil, []saIn{saFeed(saI32([]int32{0})), saFeed(saI32([]int32{1})), saFeed(saI32([]int32{3}))}, inv, "float32 or float64"},
	})
}

func TestMatrixInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	saCheckShapes(t, []saShapeCase{
		{name: "revseq", op: "ReverseSequence", attrs: graphdef.Attrs{"seq_dim": 1}, in: []classify.TensorInfo{saInfo(f32, -1, 7, 3), saInfo(i32, -1)}, want: []classify.TensorInfo{saInfo(f32, -1, 7, 3)}},
		{name: "revseq_bad", op: "ReverseSequence", attrs: graphdef.Attrs{"seq_dim": 3}, in: []classify.TensorInfo{saInfo(f32, -1, 7, 3), saInfo(i32, -1)}, err: true},
		{name: "diag", op: "MatrixDiag", in: []classify.TensorInfo{saInfo(f32, 2, 5)}, want: []classify.TensorInfo{saInfo(f32, 2, 5, 5)}},
		{name: "diagpart", op: "MatrixDiagPartV3", in: []classify.TensorInfo{saInfo(f32, 2, 5, 4), saInfo(i32), saInfo(f32)}, want: []classify.TensorInfo{saInfo(f32, 2, -1)}},
		{name: "linspace", op: "LinSpace", in: []classify.TensorInfo{saInfo(f32), saInfo(f32), saInfo(i32)}, consts: map[int]*classify.Tensor{2: saI32([]int32{9})}, want: []classify.TensorInfo{saInfo(f32, 9)}},
	})
}
