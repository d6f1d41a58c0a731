package ops

import (
	"fmt"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestBiasAddNCHW checks BiasAdd with data_format NCHW run as such (the
// layout pass leaves it when the input's rank is unknown at load): bias[c]
// is added along dimension 1 at every rank from 2 (TensorFlow's
// BiasOp), for every dtype BiasAdd takes, half types by promotion.
func TestBiasAddNCHW(t *testing.T) {
	for _, dt := range []classify.DType{classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Float16, classify.BFloat16, classify.Int8, classify.Uint8} {
		for _, shape := range []classify.Shape{{2, 3}, {2, 3, 5}, {1, 3, 4, 2}, {2, 3, 2, 1, 3}, {0, 3, 4}, {2, 3, 0}} {
			t.Run(fmt.Sprint(dt, shape), func(t *testing.T) {
				xi := saIota(shape...)
				bi := saI32([]int32{3, 5, 7}, 3)
				x, b := saConvert(xi, dt), saConvert(bi, dt)
				if dt == classify.Float16 || dt == classify.BFloat16 || dt == classify.Int8 {
					x, b = halfOrNarrow(xi, dt), halfOrNarrow(bi, dt)
				}
				out := mustRun(t, "BiasAdd", map[string]any{"T": dt, "data_format": "NCHW"}, x, b)
				if out.DType != dt || !out.Shape.Equal(shape) {
					t.Fatalf("got %v %v, want %v %v", out.DType, out.Shape, dt, shape)
				}
				inner := 1
				for _, d := range shape[2:] {
					inner *= d
				}
				got := classifytest.Float64s(out)
				for i, v := range xi.Int32s() {
					want := float64(v + bi.Int32s()[(i/inner)%3])
					if got[i] != want {
						t.Fatalf("element %d: got %v, want %v", i, got[i], want)
					}
				}
			})
		}
	}
	x := randF32(1, -1, 1, 2, 3, 4)
	saCheckErrors(t, []saErrCase{
		{"channels", "BiasAdd", graphdef.Attrs{"data_format": "NCHW"}, []saIn{saFeed(x), saFeed(randF32(2, -1, 1, 4))}, classify.ErrInvalidInput, "channels"},
		{"rank1", "BiasAdd", graphdef.Attrs{"data_format": "NCHW"}, []saIn{saFeed(randF32(2, -1, 1, 3)), saFeed(randF32(2, -1, 1, 3))}, classify.ErrInvalidInput, "2-D"},
		{"bias_rank", "BiasAdd", graphdef.Attrs{"data_format": "NCHW"}, []saIn{saFeed(x), saFeed(randF32(2, -1, 1, 1, 3))}, classify.ErrInvalidInput, "vector"},
		{"dtype_mismatch", "BiasAdd", graphdef.Attrs{"data_format": "NCHW"}, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2, 3}, 3))}, classify.ErrInvalidInput, "dtype mismatch"},
		{"bool", "BiasAdd", graphdef.Attrs{"data_format": "NCHW", "T": classify.Bool}, []saIn{saFeed(saBools(2, 3)), saFeed(saBools(3))}, classify.ErrInvalidGraph, "unsupported dtype"},
	})
	saCheckShapes(t, []saShapeCase{
		{name: "unknown_rank", op: "BiasAdd", attrs: graphdef.Attrs{"data_format": "NCHW"}, in: []classify.TensorInfo{{DType: classify.Float32}, saF32Info(3)}, want: []classify.TensorInfo{{DType: classify.Float32}}},
		{name: "rank3", op: "BiasAdd", attrs: graphdef.Attrs{"data_format": "NCHW"}, in: []classify.TensorInfo{saF32Info(-1, 3, 7), saF32Info(3)}, want: []classify.TensorInfo{saF32Info(-1, 3, 7)}},
		{name: "channels", op: "BiasAdd", attrs: graphdef.Attrs{"data_format": "NCHW"}, in: []classify.TensorInfo{saF32Info(-1, 3, 7), saF32Info(7)}, err: true},
	})
}

// halfOrNarrow converts an int32 tensor of small values to float16,
// bfloat16 or int8 (all exact here).
func halfOrNarrow(t *classify.Tensor, dt classify.DType) *classify.Tensor {
	out := classify.NewTensor(dt, t.Shape...)
	for i, v := range t.Int32s() {
		switch d := out.Data.(type) {
		case []classify.F16:
			d[i] = classify.F16FromFloat32(float32(v))
		case []classify.BF16:
			d[i] = classify.BF16FromFloat32(float32(v))
		case []int8:
			d[i] = int8(v)
		}
	}
	return out
}
