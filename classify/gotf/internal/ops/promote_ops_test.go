package ops

import (
	"fmt"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func f16s(v ...float32) *classify.Tensor {
	d := make([]classify.F16, len(v))
	for i, x := range v {
		d[i] = classify.F16FromFloat32(x)
	}
	return &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{len(v)}, Data: d}
}

func shaped(t *classify.Tensor, shape ...int) *classify.Tensor {
	t.Shape = classify.Shape(shape)
	return t
}

// TestPromotedOutputs checks the ops whose outputs are not all of T:
// indices (ArgMax, TopKV2), bools (IsNan) and FusedBatchNorm's float32
// statistics stay as they are, the T outputs come back narrowed; plus
// AddN, Pow, ClipByValue and Cumsum on the gated integers.
func TestPromotedOutputs(t *testing.T) {
	i8 := func(v ...int8) *classify.Tensor {
		return &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{len(v)}, Data: v}
	}
	u16 := func(v ...uint16) *classify.Tensor {
		return &classify.Tensor{DType: classify.Uint16, Shape: classify.Shape{len(v)}, Data: v}
	}
	f32 := func(v ...float32) *classify.Tensor { return classify.FromFloat32(v, len(v)) }
	cases := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []*classify.Tensor
		want  []string // fmt of each output's dtype and data
	}{
		{"argmax_f16", "ArgMax", graphdef.Attrs{"T": classify.Float16, "Tidx": classify.Int32, "output_type": classify.Int64},
			[]*classify.Tensor{f16s(1, 7, -2, 7), i32([]int32{0})}, []string{"int64 [1]"}},
		{"argmin_i8", "ArgMin", graphdef.Attrs{"T": classify.Int8, "Tidx": classify.Int32, "output_type": classify.Int32},
			[]*classify.Tensor{i8(5, -128, 127), i32([]int32{0})}, []string{"int32 [1]"}},
		{"topk_i8", "TopKV2", graphdef.Attrs{"T": classify.Int8}, []*classify.Tensor{i8(3, -1, 100, 7), i32([]int32{2})},
			[]string{"int8 [100 7]", "int32 [2 3]"}},
		{"isnan_f16", "IsNan", graphdef.Attrs{"T": classify.Float16},
			[]*classify.Tensor{{DType: classify.Float16, Shape: classify.Shape{3}, Data: []classify.F16{0x7e00, 0x3c00, 0x7c00}}},
			[]string{"bool [true false false]"}},
		{"addn_u16", "AddN", graphdef.Attrs{"T": classify.Uint16, "N": 3}, []*classify.Tensor{u16(65535, 1), u16(1, 2), u16(1, 3)},
			[]string{"uint16 [1 6]"}},
		{"pow_i8", "Pow", graphdef.Attrs{"T": classify.Int8}, []*classify.Tensor{i8(2, -3, 3), i8(7, 3, 5)}, []string{"int8 [-128 -27 -13]"}},
		{"clip_u16", "ClipByValue", graphdef.Attrs{"T": classify.Uint16}, []*classify.Tensor{u16(1, 500, 70), shaped(u16(10)), shaped(u16(100))},
			[]string{"uint16 [10 100 70]"}},
		{"cumsum_i8", "Cumsum", graphdef.Attrs{"T": classify.Int8, "Tidx": classify.Int32}, []*classify.Tensor{i8(100, 100, -56), i32([]int32{0})},
			[]string{"int8 [100 -56 -112]"}},
		{"fbn_f16", "FusedBatchNormV3", graphdef.Attrs{"T": classify.Float16, "U": classify.Float32, "is_training": false, "epsilon": float32(0)},
			[]*classify.Tensor{shaped(f16s(1, 2, 3, 4), 1, 2, 1, 2), f32(2, 1), f32(0.5, 0), f32(1, 2), f32(1, 4)},
			[]string{"float16 [0.5 0 4.5 1]", "float32 [1 2]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runOp(t, c.op, c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.want) > 1 { // runOp fetches output 0 only
				if out, err = mathRun(c.op, c.attrs, nil, c.in...); err != nil {
					t.Fatal(err)
				}
			}
			for i, w := range c.want {
				if i >= len(out) {
					t.Fatalf("%d outputs", len(out))
				}
				if got := fmtTensor(out[i]); got != w {
					t.Errorf("output %d: %s, want %s", i, got, w)
				}
			}
		})
	}
}

func fmtTensor(t *classify.Tensor) string {
	var vals []string
	for i := 0; i < t.Len(); i++ {
		vals = append(vals, refElem(t, i).String())
	}
	return fmt.Sprintf("%v %v", t.DType, vals)
}
