package ops

import (
	"reflect"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestRaggedRange checks values written from ragged_range_op.cc's
// definition (and tf.ragged.range's documented example): one range per
// row, scalars broadcast, rows pointing away from their limit empty.
func TestRaggedRange(t *testing.T) {
	i32 := func(shape classify.Shape, v ...int32) saIn {
		return saFeed(&classify.Tensor{DType: classify.Int32, Shape: shape, Data: v})
	}
	vec := classify.Shape{3}
	cases := []struct {
		name       string
		attrs      graphdef.Attrs
		in         []saIn
		splits     any
		values     any
		valueShape classify.Shape
	}{
		// tf.ragged.range([3, 5, 2]) == [[0, 1, 2], [0, 1, 2, 3, 4], [0, 1]]
		{"doc_limits_only", graphdef.Attrs{"Tsplits": classify.Int64},
			[]saIn{i32(nil, 0), i32(vec, 3, 5, 2), i32(nil, 1)},
			[]int64{0, 3, 8, 10}, []int32{0, 1, 2, 0, 1, 2, 3, 4, 0, 1}, classify.Shape{10}},
		// tf.ragged.range([0, 5, 8], [3, 3, 12]) == [[0, 1, 2], [], [8, 9, 10, 11]]
		{"doc_wrong_direction_empty", graphdef.Attrs{"Tsplits": classify.Int32},
			[]saIn{i32(vec, 0, 5, 8), i32(vec, 3, 3, 12), i32(nil, 1)},
			[]int32{0, 3, 3, 7}, []int32{0, 1, 2, 8, 9, 10, 11}, classify.Shape{7}},
		// tf.ragged.range([0, 5, 8], [3, 3, 12], 2) == [[0, 2], [], [8, 10]]
		{"doc_delta_2", nil,
			[]saIn{i32(vec, 0, 5, 8), i32(vec, 3, 3, 12), i32(nil, 2)},
			[]int64{0, 2, 2, 4}, []int32{0, 2, 8, 10}, classify.Shape{4}},
		{"negative_deltas", graphdef.Attrs{"Tsplits": classify.Int32},
			[]saIn{i32(vec, 5, 0, 3), i32(nil, 0), i32(vec, -2, -1, 1)},
			[]int32{0, 3, 3, 3}, []int32{5, 3, 1}, classify.Shape{3}},
		{"all_scalars", graphdef.Attrs{"Tsplits": classify.Int32},
			[]saIn{i32(nil, 1), i32(nil, 4), i32(nil, 1)}, []int32{0, 3}, []int32{1, 2, 3}, classify.Shape{3}},
		{"no_rows", graphdef.Attrs{"Tsplits": classify.Int32},
			[]saIn{i32(classify.Shape{0}), i32(nil, 4), i32(nil, 1)}, []int32{0}, []int32{}, classify.Shape{0}},
		{"f32_running_sum", graphdef.Attrs{"Tsplits": classify.Int32},
			[]saIn{saFeed(classify.FromFloat32([]float32{0, 1}, 2)), saFeed(classify.FromFloat32([]float32{1, 2}, 2)), saFeed(&classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{0.25}})},
			[]int32{0, 4, 8}, []float32{0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75}, classify.Shape{8}},
		{"f64", graphdef.Attrs{"Tsplits": classify.Int64},
			[]saIn{saFeed(&classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{0}}),
				saFeed(&classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{0.35}}),
				saFeed(&classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{0.1}})},
			[]int64{0, 4}, []float64{0, 0.1, 0.2, 0.30000000000000004}, classify.Shape{4}},
		{"int64_values", graphdef.Attrs{"Tsplits": classify.Int32},
			[]saIn{saFeed(&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{1 << 40}}),
				saFeed(&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{1<<40 + 3}}),
				saFeed(&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{2}})},
			[]int32{0, 2}, []int64{1 << 40, 1<<40 + 2}, classify.Shape{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := saRun(t, "RaggedRange", c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 2 || !reflect.DeepEqual(out[0].Data, c.splits) || !reflect.DeepEqual(out[1].Data, c.values) || !reflect.DeepEqual(out[1].Shape, c.valueShape) {
				t.Fatalf("got splits %v, values %v %v; want %v, %v %v", out[0].Data, out[1].Shape, out[1].Data, c.splits, c.valueShape, c.values)
			}
		})
	}
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	saCheckErrors(t, []saErrCase{
		{"zero_delta", "RaggedRange", nil, []saIn{i32(vec, 0, 1, 2), i32(nil, 5), i32(vec, 1, 0, 1)}, inv, "row 1: delta must not be 0"},
		{"lengths_differ", "RaggedRange", nil, []saIn{i32(vec, 0, 1, 2), i32(classify.Shape{2}, 5, 5), i32(nil, 1)}, inv, "same shape"},
		{"matrix", "RaggedRange", nil, []saIn{i32(classify.Shape{1, 1}, 0), i32(nil, 5), i32(nil, 1)}, inv, "scalar or vector"},
		{"dtype_mismatch", "RaggedRange", nil, []saIn{i32(nil, 0), saFeed(&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{5}}), i32(nil, 1)}, inv, "dtypes"},
		{"huge", "RaggedRange", nil, []saIn{saFeed(&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{2}, Data: []int64{0, 0}}),
			saFeed(&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{1<<27 + 1}}),
			saFeed(&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{1}})}, inv, "elements this engine allows"},
		{"splits_dtype", "RaggedRange", graphdef.Attrs{"Tsplits": classify.Float32}, []saIn{i32(nil, 0), i32(nil, 5), i32(nil, 1)}, bad, "Tsplits"},
	})
}
