package ops

import (
	"errors"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestNdGolden(t *testing.T) {
	f32, i32, i64, b := classify.Float32, classify.Int32, classify.Int64, classify.Bool
	gat := func(dt, it classify.DType) graphdef.Attrs { return graphdef.Attrs{"Tparams": dt, "Tindices": it} }
	sca := func(dt classify.DType) graphdef.Attrs { return graphdef.Attrs{"T": dt, "Tindices": i32} }
	std := func(dt classify.DType, validate bool) graphdef.Attrs {
		return graphdef.Attrs{"T": dt, "Tindices": i32, "validate_indices": validate}
	}
	cases := []goldenCase{
		saCase("gathernd_full_tuples", "GatherNd", gat(f32, i32), 1,
			saFeed(randF32(1001, -1, 1, 3, 4, 2)), saFeed(saI32([]int32{0, 1, 1, 2, 0, 0, 2, 3, 1, 1, 3, 0}, 2, 2, 3))),
		saCase("gathernd_rows", "GatherNd", gat(f32, i32), 1,
			saFeed(randF32(1002, -1, 1, 5, 3, 2)), saFeed(saI32([]int32{4, 0, 2, 2, 1}, 5, 1))),
		saCase("gathernd_pairs_int64", "GatherNd", gat(i32, i64), 1,
			saFeed(saIota(4, 3, 5)), saFeed(saI64([]int64{3, 2, 0, 0, 1, 1}, 3, 2))),
		saCase("gathernd_movenet_like", "GatherNd", gat(f32, i32), 1,
			saFeed(randF32(1003, -1, 1, 1, 6, 6, 17)), saConst(saI32([]int32{0, 1, 2, 0, 5, 5, 0, 3, 0}, 3, 3))),
		saCase("gathernd_bool", "GatherNd", gat(b, i32), 1,
			saFeed(saBools(3, 4)), saFeed(saI32([]int32{2, 0, 1}, 3, 1))),
		saCase("scatternd_rows_dup", "ScatterNd", sca(f32), 1,
			saFeed(saI32([]int32{0, 2, 0, 3}, 4, 1)), saFeed(randF32(1004, -1, 1, 4, 3)), saConst(saI32([]int32{5, 3}, 2))),
		saCase("scatternd_elems", "ScatterNd", sca(f32), 1,
			saFeed(saI32([]int32{1, 1, 0, 2, 3, 0}, 3, 2)), saFeed(randF32(1005, -1, 1, 3)), saConst(saI32([]int32{4, 3}, 2))),
		saCase("scatternd_int32_fed_shape", "ScatterNd", sca(i32), 1,
			saFeed(saI32([]int32{1, 0, 1}, 3, 1)), saFeed(saIota(3, 2, 2)), saFeed(saI32([]int32{3, 2, 2}, 3))),
		saCase("sparsetodense_vector", "SparseToDense", std(f32, true), 1,
			saFeed(saI32([]int32{0, 3, 4, 7}, 4)), saConst(saI32([]int32{9}, 1)), saFeed(randF32(1006, -1, 1, 4)), saConst(saF32s(-2))),
		saCase("sparsetodense_matrix_scalar_value", "SparseToDense", std(i32, true), 1,
			saFeed(saI32([]int32{0, 1, 1, 0, 2, 3}, 3, 2)), saConst(saI32([]int32{3, 4}, 2)), saConst(saI32([]int32{7})), saConst(saI32([]int32{0}))),
		saCase("sparsetodense_unordered_unvalidated", "SparseToDense", std(f32, false), 1,
			saFeed(saI32([]int32{2, 1, 0, 0}, 2, 2)), saConst(saI32([]int32{3, 2}, 2)), saFeed(randF32(1007, -1, 1, 2)), saConst(saF32s(0.5))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func TestNdErrors(t *testing.T) {
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	f32 := classify.Float32
	x := randF32(1010, -1, 1, 3, 4)
	saCheckErrors(t, []saErrCase{
		{"gathernd_out_of_range", "GatherNd", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 1, 2, 4}, 2, 2))}, inv, "index tuple 1 has 4 at position 1, not in [0, 4)"},
		{"gathernd_negative", "GatherNd", nil, []saIn{saFeed(x), saFeed(saI32([]int32{-1}, 1, 1))}, inv, "not in [0, 3)"},
		{"gathernd_tuple_too_long", "GatherNd", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0, 0, 0}, 1, 3))}, inv, "rank 2"},
		{"gathernd_scalar_indices", "GatherNd", nil, []saIn{saFeed(x), saFeed(saI32([]int32{0}))}, inv, "rank at least 1"},
		{"gathernd_float_indices", "GatherNd", nil, []saIn{saFeed(x), saFeed(randF32(1, 0, 1, 1, 1))}, inv, "int32 or int64"},
		{"gathernd_policy", "GatherNd", graphdef.Attrs{"bad_indices_policy": "CLAMP"}, []saIn{saFeed(x), saFeed(saI32([]int32{0}, 1, 1))}, bad, "CLAMP"},
		{"scatternd_out_of_range", "ScatterNd", nil, []saIn{saFeed(saI32([]int32{0, 5}, 2, 1)), saFeed(randF32(1, 0, 1, 2, 4)), saConst(saI32([]int32{3, 4}, 2))}, inv, "not in [0, 3)"},
		{"scatternd_updates_shape", "ScatterNd", nil, []saIn{saFeed(saI32([]int32{0, 1}, 2, 1)), saFeed(randF32(1, 0, 1, 2, 3)), saConst(saI32([]int32{3, 4}, 2))}, inv, "updates [2,3], want [2,4]"},
		{"scatternd_negative_shape", "ScatterNd", nil, []saIn{saFeed(saI32([]int32{0}, 1, 1)), saFeed(randF32(1, 0, 1, 1)), saConst(saI32([]int32{-3}, 1))}, bad, "negative"},
		{"scatternd_huge_shape", "ScatterNd", nil, []saIn{saFeed(saI32([]int32{0}, 1, 1)), saFeed(randF32(1, 0, 1, 1, 1<<20)), saFeed(saI32([]int32{1 << 20, 1 << 20}, 2))}, inv, "elements"},
		{"sparsetodense_out_of_range", "SparseToDense", nil, []saIn{saFeed(saI32([]int32{1, 9}, 2)), saConst(saI32([]int32{9}, 1)), saFeed(randF32(1, 0, 1, 2)), saConst(saF32s(0))}, inv, "not in [0, 9)"},
		{"sparsetodense_unordered", "SparseToDense", graphdef.Attrs{"T": f32}, []saIn{saFeed(saI32([]int32{3, 1}, 2)), saConst(saI32([]int32{9}, 1)), saFeed(randF32(1, 0, 1, 2)), saConst(saF32s(0))}, inv, "out of order"},
		{"sparsetodense_repeated", "SparseToDense", nil, []saIn{saFeed(saI32([]int32{1, 1}, 2)), saConst(saI32([]int32{9}, 1)), saFeed(randF32(1, 0, 1, 2)), saConst(saF32s(0))}, inv, "repeats"},
		{"sparsetodense_values_len", "SparseToDense", nil, []saIn{saFeed(saI32([]int32{1, 2}, 2)), saConst(saI32([]int32{9}, 1)), saFeed(randF32(1, 0, 1, 3)), saConst(saF32s(0))}, inv, "sparse_values"},
		{"sparsetodense_rank", "SparseToDense", nil, []saIn{saFeed(saI32([]int32{1, 2}, 1, 2)), saConst(saI32([]int32{9}, 1)), saFeed(randF32(1, 0, 1, 1)), saConst(saF32s(0))}, inv, "dimensions"},
		{"sparsetodense_default_dtype", "SparseToDense", nil, []saIn{saFeed(saI32([]int32{1}, 1)), saConst(saI32([]int32{9}, 1)), saFeed(randF32(1, 0, 1, 1)), saConst(saI32([]int32{0}))}, inv, "default_value"},
	})
}

// TestNdIgnorePolicy: bad_indices_policy IGNORE skips bad tuples (zeros
// in GatherNd's output, nothing added in ScatterNd's).
func TestNdIgnorePolicy(t *testing.T) {
	at := graphdef.Attrs{"bad_indices_policy": "IGNORE"}
	out, err := saRun("GatherNd", at, saFeed(saIota(3, 2)), saFeed(saI32([]int32{2, 7, 0}, 3, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(out[0], saI32([]int32{4, 5, 0, 0, 0, 1}, 3, 2), 0, 0); msg != "" {
		t.Error(msg)
	}
	out, err = saRun("ScatterNd", at, saFeed(saI32([]int32{1, -1, 1}, 3, 1)), saFeed(saI32([]int32{5, 6, 7}, 3)), saConst(saI32([]int32{3}, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(out[0], saI32([]int32{0, 12, 0}, 3), 0, 0); msg != "" {
		t.Error(msg)
	}
}

func TestNdInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	saCheckShapes(t, []saShapeCase{
		{name: "gathernd", op: "GatherNd", in: []classify.TensorInfo{saInfo(f32, 1, 6, 6, 17), saInfo(i32, 4, 3)}, want: []classify.TensorInfo{saInfo(f32, 4, 17)}},
		{name: "gathernd_unknown_m", op: "GatherNd", in: []classify.TensorInfo{saInfo(f32, 1, 6, 6, 17), saInfo(i32, 4, -1)}, want: []classify.TensorInfo{{DType: f32}}},
		{name: "gathernd_bad", op: "GatherNd", in: []classify.TensorInfo{saInfo(f32, 6, 17), saInfo(i32, 4, 3)}, err: true},
		{name: "scatternd", op: "ScatterNd", in: []classify.TensorInfo{saInfo(i32, 4, 1), saInfo(f32, 4, 3), saInfo(i32, 2)},
			consts: map[int]*classify.Tensor{2: saI32([]int32{5, 3}, 2)}, want: []classify.TensorInfo{saInfo(f32, 5, 3)}},
		{name: "sparsetodense", op: "SparseToDense", in: []classify.TensorInfo{saInfo(i32, 4), saInfo(i32, 1), saInfo(f32, 4), saInfo(f32)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{9}, 1)}, want: []classify.TensorInfo{saInfo(f32, 9)}},
	})
}

// FuzzIndexOps feeds the index-taking ops arbitrary indices and shapes:
// every outcome must be a result or an error wrapping a classify
// sentinel, never a panic.
func FuzzIndexOps(f *testing.F) {
	f.Add(uint8(0), []byte{2, 3, 4, 2, 1, 2, 0xff, 3})
	f.Add(uint8(1), []byte{2, 2, 3, 3, 1, 0, 2, 9})
	f.Add(uint8(2), []byte{1, 5, 2, 1, 3, 4, 4})
	ops := indexFuzzOps
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			v := int(int8(data[0]))
			data = data[1:]
			return v
		}
		op := ops[int(which)%len(ops)]
		shape := make([]int, saAbs(next())%4)
		for i := range shape {
			shape[i] = saAbs(next()) % 5
		}
		x := saIota(shape...)
		ishape := make([]int, saAbs(next())%3)
		for i := range ishape {
			ishape[i] = saAbs(next()) % 4
		}
		idx := make([]int32, arrProd(ishape))
		for i := range idx {
			idx[i] = int32(next() % 6)
		}
		ind := saI32(idx, ishape...)
		small := saI32([]int32{int32(next() % 6)})
		vec := saI32(idx, len(idx))
		attrs := graphdef.Attrs{"validate_indices": next()%2 == 0, "sorted": next()%2 == 0, "seq_dim": next() % 4, "batch_dim": next() % 3}
		var in []saIn
		switch op {
		case "GatherNd":
			in = []saIn{saFeed(x), saFeed(ind)}
		case "ScatterNd":
			in = []saIn{saFeed(ind), saFeed(x), saFeed(saI32(append([]int32{}, idx...), len(idx)))}
		case "SparseToDense":
			in = []saIn{saFeed(ind), saFeed(vec), saFeed(x), saFeed(small)}
		default:
			in = indexFuzzInputs(op, x, ind, vec, small)
		}
		o, ins, err := saBuild(op, attrs, in...)
		var out []*classify.Tensor
		if err == nil {
			out, err = o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 4)}, ins)
		}
		if err != nil {
			if !errors.Is(err, classify.ErrInvalidInput) && !errors.Is(err, classify.ErrInvalidGraph) && !errors.Is(err, classify.ErrUnsupportedOp) {
				t.Fatalf("%s: error %q wraps no classify sentinel", op, err)
			}
			return
		}
		for i, o := range out {
			if err := o.Validate(); err != nil {
				t.Fatalf("%s on %v, %v: output %d: %v", op, shape, idx, i, err)
			}
		}
	})
}

// indexFuzzOps are the ops FuzzIndexOps drives; indexFuzzInputs makes the
// inputs of those past the first three.
var indexFuzzOps = []string{"GatherNd", "ScatterNd", "SparseToDense", "TopKV2", "UnsortedSegmentSum", "DynamicStitch", "ReverseSequence"}

func indexFuzzInputs(op string, x, ind, vec, small *classify.Tensor) []saIn {
	switch op {
	case "TopKV2":
		return []saIn{saFeed(x), saFeed(small)}
	case "UnsortedSegmentSum":
		return []saIn{saFeed(x), saFeed(ind), saFeed(small)}
	case "DynamicStitch":
		return []saIn{saFeed(ind), saFeed(x)}
	case "ReverseSequence":
		return []saIn{saFeed(x), saFeed(vec)}
	}
	return []saIn{saFeed(x), saFeed(ind)}
}

// saF32s returns a float32 scalar.
func saF32s(v float32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{v}}
}
