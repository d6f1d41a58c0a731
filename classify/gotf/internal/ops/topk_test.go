package ops

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// tiedF32 returns float32 values drawn from a few levels, so rows have
// many ties.
func tiedF32(seed uint64, shape ...int) *classify.Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	t := classify.NewTensor(classify.Float32, shape...)
	for i, d := 0, t.Float32s(); i < len(d); i++ {
		d[i] = float32(r.IntN(4)) * 0.5
	}
	return t
}

func TestTopKGolden(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	at := func(dt classify.DType, sorted bool) graphdef.Attrs { return graphdef.Attrs{"T": dt, "sorted": sorted} }
	k := func(v int32) saIn { return saConst(saI32([]int32{v})) }
	cases := []goldenCase{
		saCase("topk_vector", "TopKV2", at(f32, true), 2, saFeed(randF32(1101, -1, 1, 17)), k(5)),
		saCase("topk_batch_ties", "TopKV2", at(f32, true), 2, saFeed(tiedF32(1102, 3, 4, 11)), k(6)),
		saCase("topk_int32_ties", "TopKV2", at(i32, true), 2, saFeed(saI32([]int32{3, 1, 3, 2, 3, 1, 0, 2, 2, 2, 1, 1}, 2, 6)), k(4)),
		saCase("topk_k_all", "TopKV2", at(f32, true), 2, saFeed(tiedF32(1103, 2, 7)), k(7)),
		saCase("topk_k_zero", "TopKV2", at(f32, true), 2, saFeed(randF32(1104, -1, 1, 2, 5)), k(0)),
		saCase("topk_k_fed", "TopKV2", at(f32, true), 2, saFeed(randF32(1105, -1, 1, 4, 9)), saFeed(saI32([]int32{3}))),
		saCase("topk_centernet_like", "TopKV2", at(f32, true), 2, saFeed(randF32(1106, 0, 1, 1, 20000)), k(100)),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// refTopK sorts each row's indices by the documented order (value
// descending, NaN first, ties to the lower index) and keeps k.
func refTopK(x []float64, rows, cols, k int) ([]float64, []int64) {
	var vals []float64
	var idx []int64
	for r := range rows {
		row := x[r*cols : (r+1)*cols]
		ord := make([]int, cols)
		for i := range ord {
			ord[i] = i
		}
		sort.SliceStable(ord, func(a, b int) bool {
			va, vb := row[ord[a]], row[ord[b]]
			if math.IsNaN(va) || math.IsNaN(vb) {
				return math.IsNaN(va) && !math.IsNaN(vb)
			}
			return va > vb
		})
		for _, i := range ord[:k] {
			vals, idx = append(vals, row[i]), append(idx, int64(i))
		}
	}
	return vals, idx
}

// TestTopKDTypes covers what the oracle cannot feed (uint8, int64,
// float64, NaN) and int64 indices, against refTopK.
func TestTopKDTypes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const rows, cols, k = 3, 40, 9
	mk := func(dt classify.DType) *classify.Tensor {
		x := classify.NewTensor(dt, rows, cols)
		for i := range rows * cols {
			v := r.IntN(12)
			switch d := x.Data.(type) {
			case []uint8:
				d[i] = uint8(v * 20)
			case []int64:
				d[i] = int64(v) - 6
			case []float64:
				d[i] = float64(v) / 3
				if v == 11 {
					d[i] = math.NaN()
				}
			case []float32:
				d[i] = float32(v) / 3
				if v == 0 {
					d[i] = float32(math.NaN())
				}
			}
		}
		return x
	}
	for _, dt := range []classify.DType{classify.Uint8, classify.Int64, classify.Float64, classify.Float32} {
		for _, it := range []classify.DType{classify.Int32, classify.Int64} {
			x := mk(dt)
			out, err := saRun(t, "TopKV2", graphdef.Attrs{"T": dt, "index_type": it}, saFeed(x), saConst(saI32([]int32{k})))
			if err != nil {
				t.Fatal(err)
			}
			wv, wi := refTopK(classifytest.Float64s(x), rows, cols, k)
			gv, gi := classifytest.Float64s(out[0]), classifytest.Float64s(out[1])
			if out[0].DType != dt || out[1].DType != it {
				t.Fatalf("%v/%v: dtypes %v, %v", dt, it, out[0].DType, out[1].DType)
			}
			for i := range wv {
				same := gv[i] == wv[i] || math.IsNaN(gv[i]) && math.IsNaN(wv[i])
				if !same || gi[i] != float64(wi[i]) {
					t.Fatalf("%v/%v: entry %d: got %v@%v, want %v@%v", dt, it, i, gv[i], gi[i], wv[i], wi[i])
				}
			}
		}
	}
}

func TestTopKErrors(t *testing.T) {
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	x := randF32(1110, -1, 1, 2, 5)
	saCheckErrors(t, []saErrCase{
		{"k_too_big", "TopKV2", nil, []saIn{saFeed(x), saConst(saI32([]int32{6}))}, inv, "fewer than k = 6"},
		{"k_negative_const", "TopKV2", nil, []saIn{saFeed(x), saConst(saI32([]int32{-1}))}, bad, "non-negative"},
		{"k_negative_fed", "TopKV2", nil, []saIn{saFeed(x), saFeed(saI32([]int32{-1}))}, inv, "non-negative"},
		{"k_vector", "TopKV2", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2}, 2))}, inv, "scalar"},
		{"scalar_input", "TopKV2", nil, []saIn{saFeed(saF32s(1)), saFeed(saI32([]int32{1}))}, inv, "rank at least 1"},
		{"bool_input", "TopKV2", nil, []saIn{saFeed(saBools(2, 3)), saFeed(saI32([]int32{1}))}, inv, "dtype"},
		{"index_type", "TopKV2", graphdef.Attrs{"index_type": classify.Float32}, []saIn{saFeed(x), saFeed(saI32([]int32{1}))}, bad, "index_type"},
		{"v1_k_negative", "TopK", graphdef.Attrs{"k": -2}, []saIn{saFeed(x)}, bad, "non-negative"},
	})
}

func TestTopKInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	saCheckShapes(t, []saShapeCase{
		{name: "const_k", op: "TopKV2", in: []classify.TensorInfo{saInfo(f32, -1, 80), saInfo(i32)}, consts: map[int]*classify.Tensor{1: saI32([]int32{10})},
			want: []classify.TensorInfo{saInfo(f32, -1, 10), saInfo(i32, -1, 10)}},
		{name: "fed_k", op: "TopKV2", in: []classify.TensorInfo{saInfo(f32, 2, 80), saInfo(i32)},
			want: []classify.TensorInfo{saInfo(f32, 2, -1), saInfo(i32, 2, -1)}},
		{name: "v1", op: "TopK", attrs: graphdef.Attrs{"k": 3}, in: []classify.TensorInfo{saInfo(i32, 7)},
			want: []classify.TensorInfo{saInfo(i32, 3), saInfo(i32, 3)}},
		{name: "too_few", op: "TopKV2", in: []classify.TensorInfo{saInfo(f32, 2, 4), saInfo(i32)}, consts: map[int]*classify.Tensor{1: saI32([]int32{5})}, err: true},
	})
}
