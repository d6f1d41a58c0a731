package ops

import (
	"math"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestMatMulIntGolden(t *testing.T) {
	a := mathI32([]int32{1, -2, 3, 4, 0, -6, 7, 8, -9, 10, 11, 12}, 3, 4)
	b := mathI32([]int32{2, -1, 0, 3, 5, 1, -4, 2}, 4, 2)
	bt := mathI32([]int32{2, 0, 5, -4, -1, 3, 1, 2}, 2, 4)
	mm := func(name string, x, y *classify.Tensor, ta, tb bool) goldenCase {
		return mathOpCase(name, "MatMul", graphdef.Attrs{"T": classify.Int32, "transpose_a": ta, "transpose_b": tb}, []mathIn{{"a", x, false}, {"b", y, false}})
	}
	at := mathI32([]int32{1, 4, 7, 10, -2, 0, 8, 11, 3, -6, -9, 12}, 4, 3)
	cases := []goldenCase{
		mm("matmul_int32", a, b, false, false),
		mm("matmul_int32_tb", a, bt, false, true),
		mm("matmul_int32_ta", at, b, true, false),
		mathOpCase("batchmatmul_int32", "BatchMatMulV2", graphdef.Attrs{"T": classify.Int32}, []mathIn{
			{"a", mathI32([]int32{1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6}, 2, 2, 3), false}, {"b", mathI32([]int32{1, 0, -1, 2, 3, 1}, 3, 2), false}}),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func toF64(t *classify.Tensor) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float64, Shape: t.Shape.Clone(), Data: classifytest.Float64s(t)}
}

// TestMatMulFloat64 checks the float64 kernels against the float32 GEMM
// (an independent implementation) on the same values, and int64 against
// int32.
func TestMatMulFloat64(t *testing.T) {
	for _, c := range []struct {
		op     string
		ta, tb bool
		a, b   classify.Shape
	}{
		{"MatMul", false, false, classify.Shape{5, 7}, classify.Shape{7, 3}},
		{"MatMul", true, false, classify.Shape{7, 5}, classify.Shape{7, 3}},
		{"MatMul", false, true, classify.Shape{5, 7}, classify.Shape{3, 7}},
		{"MatMul", true, true, classify.Shape{7, 5}, classify.Shape{3, 7}},
		{"MatMul", false, false, classify.Shape{0, 7}, classify.Shape{7, 3}},
		{"BatchMatMulV2", false, false, classify.Shape{2, 1, 4, 6}, classify.Shape{3, 6, 2}},
		{"BatchMatMulV2", true, true, classify.Shape{2, 6, 4}, classify.Shape{2, 2, 6}},
	} {
		a, b := randF32(200, -1, 1, c.a...), randF32(201, -1, 1, c.b...)
		attrs := func(dt classify.DType) map[string]any {
			if c.op == "MatMul" {
				return map[string]any{"T": dt, "transpose_a": c.ta, "transpose_b": c.tb}
			}
			return map[string]any{"T": dt, "adj_x": c.ta, "adj_y": c.tb}
		}
		want := mustRun(t, c.op, attrs(classify.Float32), a, b)
		got := mustRun(t, c.op, attrs(classify.Float64), toF64(a), toF64(b))
		if got.DType != classify.Float64 {
			t.Fatalf("%s: dtype %v", c.op, got.DType)
		}
		if msg := compare(got, toF64(want), 1e-5, 1e-5); msg != "" {
			t.Errorf("%s %v×%v ta=%v tb=%v: %s", c.op, c.a, c.b, c.ta, c.tb, msg)
		}
		// Integers: round the inputs to small ints, compare int64 with the
		// float32 product (exact below 2^24).
		ai, bi := mathI64(make([]int64, a.Len()), c.a...), mathI64(make([]int64, b.Len()), c.b...)
		af, bf := classify.NewTensor(classify.Float32, c.a...), classify.NewTensor(classify.Float32, c.b...)
		for i, v := range a.Float32s() {
			ai.Int64s()[i] = int64(math.Round(float64(v * 9)))
			af.Float32s()[i] = float32(ai.Int64s()[i])
		}
		for i, v := range b.Float32s() {
			bi.Int64s()[i] = int64(math.Round(float64(v * 9)))
			bf.Float32s()[i] = float32(bi.Int64s()[i])
		}
		wi := mustRun(t, c.op, attrs(classify.Float32), af, bf)
		gi := mustRun(t, c.op, attrs(classify.Int64), ai, bi)
		if msg := compare(gi, wi, 0, 0); msg != "" || gi.DType != classify.Int64 {
			t.Errorf("%s int64: %s", c.op, msg)
		}
	}
	info, err := staticInfo("MatMul", map[string]any{"T": classify.Float64}, []classify.TensorInfo{{DType: classify.Float64, Shape: classify.Shape{-1, 4}}, {DType: classify.Float64, Shape: classify.Shape{4, 6}}})
	if err != nil || info.DType != classify.Float64 || !info.Shape.Equal(classify.Shape{-1, 6}) {
		t.Errorf("float64 MatMul static info %v%v, %v", info.DType, info.Shape, err)
	}
	for _, dt := range []classify.DType{classify.Uint8, classify.Bool} {
		n := &Node{Name: "out", Op: "MatMul", NumInputs: 2, Attr: map[string]*apb.AttrValue{"T": graphdef.Attr(dt)}}
		if _, err := buildMatMul(n, make([]*classify.Tensor, 2), false); err == nil || !strings.Contains(err.Error(), "unsupported dtype") {
			t.Errorf("MatMul of %v: error %v", dt, err)
		}
	}
	if _, err := runOp(t, "MatMul", map[string]any{"T": classify.Int32}, mathI32([]int32{1, 2}, 1, 2), mathI32([]int32{1, 2, 3}, 3, 1)); err == nil || !strings.Contains(err.Error(), "do not multiply") {
		t.Errorf("int32 MatMul of mismatched shapes: %v", err)
	}
}

// TestSoftmaxFloat64 checks the float64 Softmax / LogSoftmax against the
// float32 kernels on the same values.
func TestSoftmaxFloat64(t *testing.T) {
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		for _, x := range []*classify.Tensor{randF32(210, -5, 5, 4, 10), randF32(211, 500, 900, 3, 6), randF32(212, -1, 1, 2, 0)} {
			want := mustRun(t, op, map[string]any{"T": classify.Float32}, x)
			got := mustRun(t, op, map[string]any{"T": classify.Float64}, toF64(x))
			if got.DType != classify.Float64 {
				t.Fatalf("%s: dtype %v", op, got.DType)
			}
			if msg := compare(got, toF64(want), 1e-5, 1e-5); msg != "" {
				t.Errorf("%s %v: %s", op, x.Shape, msg)
			}
		}
	}
}
