package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestTensorScatterGolden checks TensorScatterUpdate against TensorFlow.js
// (tf.tensorScatterUpdate): element and row tuples, float and int.
func TestTensorScatterGolden(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	at := func(dt classify.DType) graphdef.Attrs { return graphdef.Attrs{"T": dt, "Tindices": i32} }
	cases := []goldenCase{
		saCase("tensorscatterupdate_elements", "TensorScatterUpdate", at(f32), 1,
			saFeed(randF32(2201, -1, 1, 4, 5)), saConst(saI32([]int32{0, 1, 3, 4, 2, 2}, 3, 2)), saFeed(randF32(2202, -1, 1, 3))),
		saCase("tensorscatterupdate_rows", "TensorScatterUpdate", at(f32), 1,
			saFeed(randF32(2203, -1, 1, 5, 3, 2)), saFeed(saI32([]int32{4, 0}, 2, 1)), saFeed(randF32(2204, -1, 1, 2, 3, 2))),
		saCase("tensorscatterupdate_int32", "TensorScatterUpdate", at(i32), 1,
			saFeed(saIota(3, 4)), saConst(saI32([]int32{2, 1}, 1, 2)), saConst(saI32([]int32{-9}, 1))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestTensorScatter checks every variant against a reference that walks
// the tuples in order on a float64 copy, with repeated tuples.
func TestTensorScatter(t *testing.T) {
	x := randF32(2205, -1, 1, 4, 3, 2)
	idx := saI32([]int32{1, 0, 3, 2, 1, 0, 0, 1}, 4, 2) // (1,0) twice
	up := randF32(2206, -1, 1, 4, 2)
	for _, op := range []string{"TensorScatterUpdate", "TensorScatterAdd", "TensorScatterSub", "TensorScatterMax", "TensorScatterMin", "ScatterNdNonAliasingAdd"} {
		t.Run(op, func(t *testing.T) {
			want := classifytest.Float64s(x)
			u := classifytest.Float64s(up)
			iv := idx.Int32s()
			for k := range 4 {
				base := (int(iv[2*k])*3 + int(iv[2*k+1])) * 2
				for j := range 2 {
					w, v := &want[base+j], u[2*k+j]
					switch op {
					case "TensorScatterUpdate":
						*w = v
					case "TensorScatterSub":
						*w -= v
					case "TensorScatterMax":
						*w = math.Max(*w, v)
					case "TensorScatterMin":
						*w = math.Min(*w, v)
					default:
						*w += v
					}
				}
			}
			got := mustRun(t, op, map[string]any{"T": classify.Float32}, x, idx, up)
			checkClose(t, got, want, x.Shape, 1e-6)
		})
	}
	// int64, bool, whole-tensor tuples and no tuples at all.
	i64 := saI64([]int64{1, 2, 3, 4}, 2, 2)
	got := mustRun(t, "TensorScatterAdd", nil, i64, saI32([]int32{1}, 1, 1), saI64([]int64{10, 20}, 1, 2))
	if d := got.Int64s(); d[0] != 1 || d[1] != 2 || d[2] != 13 || d[3] != 24 {
		t.Errorf("int64 add: %v", d)
	}
	got = mustRun(t, "TensorScatterUpdate", nil, saBool([]bool{true, true, true}, 3), saI64([]int64{1}, 1, 1), saBool([]bool{false}, 1))
	if d := got.Bools(); !d[0] || d[1] || !d[2] {
		t.Errorf("bool update: %v", d)
	}
	got = mustRun(t, "TensorScatterSub", nil, saI32([]int32{5, 6}, 2), classify.NewTensor(classify.Int32, 1, 0), saI32([]int32{1, 2}, 1, 2))
	if d := got.Int32s(); d[0] != 4 || d[1] != 4 {
		t.Errorf("whole-tensor sub: %v", d)
	}
	got = mustRun(t, "TensorScatterUpdate", nil, saI32([]int32{5, 6}, 2), classify.NewTensor(classify.Int32, 0, 1), classify.NewTensor(classify.Int32, 0))
	if d := got.Int32s(); d[0] != 5 || d[1] != 6 {
		t.Errorf("no tuples: %v", d)
	}
	saCheckErrors(t, []saErrCase{
		{"out_of_range", "TensorScatterUpdate", nil, []saIn{saFeed(x), saFeed(saI32([]int32{4, 0}, 1, 2)), saFeed(randF32(1, 0, 1, 1, 2))}, classify.ErrInvalidInput, "not in [0, 4)"},
		{"updates_shape", "TensorScatterAdd", nil, []saIn{saFeed(x), saFeed(idx), saFeed(randF32(1, 0, 1, 4, 3))}, classify.ErrInvalidInput, "updates [4,3], want [4,2]"},
		{"dtype", "TensorScatterAdd", nil, []saIn{saFeed(x), saFeed(idx), saFeed(saIota(4, 2))}, classify.ErrInvalidInput, "updates int32"},
		{"bool_add", "TensorScatterAdd", nil, []saIn{saFeed(saBools(3)), saFeed(saI32([]int32{1}, 1, 1)), saFeed(saBools(1))}, classify.ErrInvalidInput, "bool"},
		{"tuple_too_long", "TensorScatterMax", nil, []saIn{saFeed(randF32(1, 0, 1, 3)), saFeed(saI32([]int32{1, 1}, 1, 2)), saFeed(randF32(1, 0, 1, 1))}, classify.ErrInvalidInput, "rank 1"},
	})
	// IGNORE skips a bad tuple.
	out, err := saRun(t, "TensorScatterUpdate", graphdef.Attrs{"bad_indices_policy": "IGNORE"},
		saFeed(saI32([]int32{1, 2, 3}, 3)), saFeed(saI32([]int32{7, 0}, 2, 1)), saFeed(saI32([]int32{9, 8}, 2)))
	if err != nil || out[0].Int32s()[0] != 8 || out[0].Int32s()[1] != 2 {
		t.Errorf("IGNORE: %v %v", out, err)
	}
}
