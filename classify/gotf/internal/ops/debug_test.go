package ops

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// StringFormat against the strings tf.print prints (TensorFlow's
// documentation and PrintOneDimV2's layout).
func TestStringFormat(t *testing.T) {
	iota := func(n int, shape ...int) *classify.Tensor {
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(i)
		}
		return saI32(v, shape...)
	}
	for _, tc := range []struct {
		a    graphdef.Attrs
		in   []*classify.Tensor
		want string
	}{
		// tf.strings.format("tensor: {}, suffix", tf.range(10), placeholder="{}"), summarize 3.
		{graphdef.Attrs{"template": "tensor: {}, suffix", "placeholder": "{}", "T": []classify.DType{classify.Int32}}, []*classify.Tensor{iota(10, 10)}, "tensor: [0 1 2 ... 7 8 9], suffix"},
		{graphdef.Attrs{"T": []classify.DType{classify.Int32}, "summarize": int64(-1)}, []*classify.Tensor{iota(6, 2, 3)}, "[[0 1 2]\n [3 4 5]]"},
		{graphdef.Attrs{"T": []classify.DType{classify.Int32}, "summarize": int64(1)}, []*classify.Tensor{iota(12, 2, 2, 3)}, "[[[0 ... 2]\n  [3 ... 5]]\n\n [[6 ... 8]\n  [9 ... 11]]]"},
		{graphdef.Attrs{"template": "%s and %s", "T": []classify.DType{classify.Float32, classify.String}},
			[]*classify.Tensor{classify.FromFloat32([]float32{0.1, 1, float32(math.Inf(-1)), 1e-7}, 4), strTensor("a\"b", "c\n")}, `[0.1 1 -inf 1e-07] and ["a\"b" "c\n"]`},
		{graphdef.Attrs{"T": []classify.DType{classify.Float32}}, []*classify.Tensor{classify.FromFloat32([]float32{1.0000001})}, "1.00000012"},
		{graphdef.Attrs{"T": []classify.DType{classify.Int32}}, []*classify.Tensor{saI32(nil, 0)}, "[]"},
	} {
		got := mustRunAttr(t, "StringFormat", tc.a, tc.in...)[0]
		if s := string(got.Data.([][]byte)[0]); s != tc.want {
			t.Errorf("got %q, want %q", s, tc.want)
		}
	}
	if _, err := runAttrOp(t, "StringFormat", graphdef.Attrs{"template": "%s %s"}, saI32([]int32{1})); err == nil || !strings.Contains(err.Error(), "must match") {
		t.Errorf("placeholder count: %v", err)
	}
}

func TestPrintAndInplace(t *testing.T) {
	x := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	if got := mustRunAttr(t, "Print", graphdef.Attrs{"T": classify.Float32}, x, saI32([]int32{7}))[0]; got != x {
		t.Errorf("Print does not forward its first input")
	}
	if out := mustRunAttr(t, "PrintV2", nil, sstr("hello")); len(out) != 0 {
		t.Errorf("PrintV2 gave %d outputs", len(out))
	}
	if got := mustRunAttr(t, "DeepCopy", graphdef.Attrs{"T": classify.Float32}, x)[0]; !slices.Equal(got.Float32s(), x.Float32s()) {
		t.Errorf("DeepCopy = %v", got.Data)
	}
	v := classify.FromFloat32([]float32{10, 20, 30, 40}, 2, 2)
	for op, want := range map[string][]float32{
		"InplaceUpdate": {30, 40, 3, 4, 10, 20},
		"InplaceAdd":    {31, 42, 3, 4, 15, 26},
		"InplaceSub":    {-29, -38, 3, 4, -5, -14},
	} {
		if got := mustRunAttr(t, op, graphdef.Attrs{"T": classify.Float32}, x, saI32([]int32{2, 0}, 2), v)[0].Float32s(); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", op, got, want)
		}
	}
	for _, tc := range []struct {
		in  []*classify.Tensor
		msg string
	}{
		{[]*classify.Tensor{x, saI32([]int32{3, 0}, 2), v}, "out of range"},
		{[]*classify.Tensor{x, saI32([]int32{0}, 1), v}, "doesn't match"},
	} {
		if _, err := runAttrOp(t, "InplaceUpdate", graphdef.Attrs{"T": classify.Float32}, tc.in...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("err = %v, want %q", err, tc.msg)
		}
	}
}

// CumulativeLogsumexp is log(cumsum(exp(x))), computed stably.
func TestCumulativeLogsumexp(t *testing.T) {
	x := classify.FromFloat32([]float32{0, 1, 2, 1000, -5, 3}, 2, 3)
	for _, tc := range []struct {
		a    graphdef.Attrs
		want []float64
	}{
		{graphdef.Attrs{"T": classify.Float32}, []float64{0, math.Log(1 + math.E), math.Log(1 + math.E + math.E*math.E), 1000, 1000, 1000}},
		{graphdef.Attrs{"T": classify.Float32, "exclusive": true}, []float64{math.Inf(-1), 0, math.Log(1 + math.E), math.Inf(-1), 1000, 1000}},
		{graphdef.Attrs{"T": classify.Float32, "reverse": true}, []float64{math.Log(1 + math.E + math.E*math.E), math.Log(math.E + math.E*math.E), 2, 1000, math.Log(math.Exp(-5) + math.Exp(3)), 3}},
	} {
		got := mustRunAttr(t, "CumulativeLogsumexp", tc.a, x, saI32([]int32{1}))[0].Float32s()
		for i, w := range tc.want {
			if g := float64(got[i]); !(g == w || math.Abs(g-w) < 1e-5) {
				t.Errorf("%v: %v, want %v", tc.a, got, tc.want)
				break
			}
		}
	}
}
