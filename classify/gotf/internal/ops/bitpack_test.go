package ops

import (
	"math"
	"reflect"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestCompareAndBitpack checks values written from TensorFlow's definition
// (compare_and_bitpack_op.cc): bit 7 of each byte is the first of its
// eight elements, set when the element is greater than the threshold
// (NaN never is); bool input packs itself.
func TestCompareAndBitpack(t *testing.T) {
	sc := func(x *classify.Tensor) *classify.Tensor { x.Shape = classify.Shape{}; return x }
	nan := float32(math.NaN())
	cases := []struct {
		name  string
		x, th *classify.Tensor
		shape classify.Shape
		want  []uint8
	}{
		{"f32", classify.FromFloat32([]float32{1, 0, 2, -1, 0.5, 0.6, nan, 3, 0, 0, 0, 0, 0, 0, 0, 0.51}, 2, 8),
			sc(classify.FromFloat32([]float32{0.5})), classify.Shape{2, 1}, []uint8{0b10100101, 0b00000001}},
		{"int32_rank1", saI32([]int32{5, 5, 6, 4, 7, 0, 9, 5, 6, 6, 6, 6, 6, 6, 6, 6}, 16), sc(saI32([]int32{5})),
			classify.Shape{2}, []uint8{0b00101010, 0b11111111}},
		{"int64_beyond_float64", &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{8},
			Data: []int64{1<<62 + 1, 1 << 62, 0, 0, 0, 0, 0, 1<<62 + 2}},
			sc(&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{1}, Data: []int64{1 << 62}}),
			classify.Shape{1}, []uint8{0b10000001}},
		{"uint8", &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{8}, Data: []uint8{255, 0, 128, 127, 1, 2, 200, 128}},
			sc(&classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{1}, Data: []uint8{127}}),
			classify.Shape{1}, []uint8{0b10100011}},
		{"half", &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{8},
			Data: []classify.F16{0x3c00, 0x3c01, 0xbc00, 0, 0x7c00, 0x7e00, 0x3bff, 0x4000}}, // 1, 1+ulp, -1, 0, inf, NaN, 1-ulp, 2
			sc(&classify.Tensor{DType: classify.Float16, Shape: classify.Shape{1}, Data: []classify.F16{0x3c00}}),
			classify.Shape{1}, []uint8{0b01001001}},
		{"bool_threshold_ignored", &classify.Tensor{DType: classify.Bool, Shape: classify.Shape{1, 8},
			Data: []bool{true, false, false, false, false, false, true, true}},
			sc(&classify.Tensor{DType: classify.Bool, Shape: classify.Shape{1}, Data: []bool{true}}),
			classify.Shape{1, 1}, []uint8{0b10000011}},
		{"int16_promoted", &classify.Tensor{DType: classify.Int16, Shape: classify.Shape{8}, Data: []int16{-300, 300, 0, 1, -1, 32767, -32768, 2}},
			sc(&classify.Tensor{DType: classify.Int16, Shape: classify.Shape{1}, Data: []int16{1}}),
			classify.Shape{1}, []uint8{0b01000101}},
		{"uint64_own_order", &classify.Tensor{DType: classify.Uint64, Shape: classify.Shape{8}, Data: []uint64{1 << 63, 1, 1<<63 - 1, 0, 0, 0, 0, ^uint64(0)}},
			sc(&classify.Tensor{DType: classify.Uint64, Shape: classify.Shape{1}, Data: []uint64{1<<63 - 1}}),
			classify.Shape{1}, []uint8{0b10000001}},
		{"empty", classify.FromFloat32([]float32{}, 0, 8), sc(classify.FromFloat32([]float32{0})), classify.Shape{0, 1}, []uint8{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := saRun(t, "CompareAndBitpack", graphdef.Attrs{"T": c.x.DType}, saFeed(c.x), saConst(c.th))
			if err != nil {
				t.Fatal(err)
			}
			if out[0].DType != classify.Uint8 || !reflect.DeepEqual(out[0].Shape, c.shape) || !reflect.DeepEqual(out[0].Data, c.want) {
				t.Fatalf("got %v %v %08b, want uint8 %v %08b", out[0].DType, out[0].Shape, out[0].Data, c.shape, c.want)
			}
		})
	}
	inv := classify.ErrInvalidInput
	f := func(v ...float32) *classify.Tensor { return classify.FromFloat32(v, len(v)) }
	saCheckErrors(t, []saErrCase{
		{"inner_not_multiple_of_8", "CompareAndBitpack", nil, []saIn{saFeed(f(1, 2, 3)), saFeed(sc(f(0)))}, inv, "divisible by 8"},
		{"scalar_input", "CompareAndBitpack", nil, []saIn{saFeed(sc(f(1))), saFeed(sc(f(0)))}, inv, "at least a vector"},
		{"threshold_not_scalar", "CompareAndBitpack", nil, []saIn{saFeed(f(1, 2, 3, 4, 5, 6, 7, 8)), saFeed(f(0))}, inv, "scalar"},
		{"dtype_mismatch", "CompareAndBitpack", nil, []saIn{saFeed(f(1, 2, 3, 4, 5, 6, 7, 8)), saFeed(sc(saI32([]int32{0})))}, inv, "threshold is int32"},
	})
}
