package ops

import (
	"errors"
	"fmt"
	"math"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// mathBench runs a built op on in, reusing output buffers as the executor
// does, for each thread count.
func mathBench(b *testing.B, op string, attrs graphdef.Attrs, consts []*classify.Tensor, in ...*classify.Tensor) {
	b.Helper()
	n := &Node{Name: "n", Op: op, NumInputs: len(in), Attr: map[string]*apb.AttrValue{}}
	for k, v := range attrs {
		n.Attr[k] = graphdef.Attr(v)
	}
	if consts == nil {
		consts = make([]*classify.Tensor, len(in))
	}
	build, _ := Lookup(op)
	o, err := build(n, consts)
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			ctx := &Ctx{Threads: threads, Slots: make([]*classify.Tensor, 6)}
			out, err := o.Run(ctx, in)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(4 * out[0].Len()))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := o.Run(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRelu6(b *testing.B) {
	for _, n := range []int{4096, 1 << 16, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { mathBench(b, "Relu6", nil, nil, randF32(1, -8, 8, n)) })
	}
}

func BenchmarkSoftmax(b *testing.B) {
	for _, s := range []classify.Shape{{1, 1001}, {64, 1001}} {
		b.Run(fmt.Sprint(s), func(b *testing.B) { mathBench(b, "Softmax", nil, nil, randF32(1, -8, 8, s...)) })
	}
}

// poolBenchCase is one shape of BenchmarkAvgPool or BenchmarkMaxPool:
// a k x k window at stride s over x.
type poolBenchCase struct {
	name string
	x    classify.Shape
	k, s int
	pad  string
}

// benchPool times op on each case's random input.
func benchPool(b *testing.B, op string, cases []poolBenchCase) {
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			mathBench(b, op, graphdef.Attrs{"ksize": []int{1, c.k, c.k, 1}, "strides": []int{1, c.s, c.s, 1}, "padding": c.pad}, nil, randF32(1, -1, 1, c.x...))
		})
	}
}

func BenchmarkAvgPool(b *testing.B) {
	benchPool(b, "AvgPool", []poolBenchCase{
		{"global_7x7x1024", classify.Shape{1, 7, 7, 1024}, 7, 1, "VALID"},
		{"3x3s2_56x56x64", classify.Shape{1, 56, 56, 64}, 3, 2, "SAME"},
		// Inception v3's branch pools.
		{"3x3s1_35x35x288", classify.Shape{1, 35, 35, 288}, 3, 1, "SAME"},
		{"3x3s1_17x17x768", classify.Shape{1, 17, 17, 768}, 3, 1, "SAME"},
		{"3x3s1_8x8x2048", classify.Shape{1, 8, 8, 2048}, 3, 1, "SAME"},
	})
}

// TestMathShapers checks the static output dtype and shape of the ops
// whose Shaper the other tests do not reach, and that a wrong dtype is
// refused at load time.
func TestMathShapers(t *testing.T) {
	f32 := func(s ...int) classify.TensorInfo {
		return classify.TensorInfo{DType: classify.Float32, Shape: append(classify.Shape{}, s...)}
	}
	cases := []struct {
		op      string
		attrs   graphdef.Attrs
		in      []classify.TensorInfo
		want    []classify.TensorInfo
		wantErr bool
	}{
		{op: "Relu6", in: []classify.TensorInfo{f32(-1, 8, 8, 3)}, want: []classify.TensorInfo{f32(-1, 8, 8, 3)}},
		{op: "Relu", in: []classify.TensorInfo{{DType: classify.Bool, Shape: classify.Shape{2}}}, wantErr: true},
		{op: "Sigmoid", in: []classify.TensorInfo{{DType: classify.Int32, Shape: classify.Shape{2}}}, wantErr: true},
		{op: "Softmax", in: []classify.TensorInfo{f32(-1, 1001)}, want: []classify.TensorInfo{f32(-1, 1001)}},
		{op: "LogSoftmax", in: []classify.TensorInfo{f32()}, wantErr: true},
		{op: "AddN", in: []classify.TensorInfo{f32(-1, 3), f32(2, -1), f32(-1, -1)}, want: []classify.TensorInfo{f32(2, 3)}},
		{op: "AddN", in: []classify.TensorInfo{f32(2, 3), f32(3, 2)}, wantErr: true},
		{op: "BiasAdd", in: []classify.TensorInfo{f32(-1, 4, 4, 8), f32(8)}, want: []classify.TensorInfo{f32(-1, 4, 4, 8)}},
		{op: "BiasAdd", in: []classify.TensorInfo{f32(-1, 4, 4, 8), f32(7)}, wantErr: true},
		{op: "Dequantize", attrs: graphdef.Attrs{"mode": "MIN_FIRST"}, in: []classify.TensorInfo{{DType: classify.Uint8, Shape: classify.Shape{3, 3, 8, 16}}, f32(), f32()},
			want: []classify.TensorInfo{f32(3, 3, 8, 16)}},
		{op: "Dequantize", in: []classify.TensorInfo{f32(4), f32(), f32()}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			n := &Node{Name: "n", Op: c.op, NumInputs: len(c.in), Attr: map[string]*apb.AttrValue{}}
			for k, v := range c.attrs {
				n.Attr[k] = graphdef.Attr(v)
			}
			build, _ := Lookup(c.op)
			op, err := build(n, make([]*classify.Tensor, len(c.in)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := op.(Shaper).OutputInfo(c.in)
			if c.wantErr {
				if !errors.Is(err, classify.ErrInvalidGraph) {
					t.Fatalf("err %v, want ErrInvalidGraph", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("%d outputs, want %d", len(got), len(c.want))
			}
			for i := range got {
				if got[i].DType != c.want[i].DType || !got[i].Shape.Equal(c.want[i].Shape) {
					t.Errorf("output %d: %v%v, want %v%v", i, got[i].DType, got[i].Shape, c.want[i].DType, c.want[i].Shape)
				}
			}
		})
	}
}

// TestExpf32 compares the float32 exp with math.Exp over its whole range:
// within 3 ulps where the result is normal, exact at the edges.
func TestExpf32(t *testing.T) {
	for x := float32(-87.3); x < 88.7; x += 0.00731 {
		want := math.Exp(float64(x))
		got := float64(expf32(x))
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1)))) - float64(float32(want))
		if d := math.Abs(got - want); d > 3*ulp {
			t.Fatalf("expf32(%v) = %v, want %v (%.1f ulps off)", x, got, want, d/ulp)
		}
	}
	cases := []struct{ x, want float32 }{
		{0, 1}, {89, float32(math.Inf(1))}, {float32(math.Inf(1)), float32(math.Inf(1))},
		{-200, 0}, {float32(math.Inf(-1)), 0},
	}
	for _, c := range cases {
		if got := expf32(c.x); got != c.want {
			t.Errorf("expf32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := expf32(float32(math.NaN())); got == got {
		t.Errorf("expf32(NaN) = %v, want NaN", got)
	}
	// Subnormal results are right to within their spacing, 2**-149.
	if got, want := float64(expf32(-100)), math.Exp(-100); math.Abs(got-want) > 0x1p-149 {
		t.Errorf("expf32(-100) = %v, want %v", got, want)
	}
}

// TestParallelMatchesSerial runs ops on inputs big enough to be split
// across goroutines and requires the same bits as a single-threaded run:
// every split is over independent outputs.
func TestParallelMatchesSerial(t *testing.T) {
	x := randF32(500, -3, 3, 2, 64, 64, 32)
	vec := func(seed uint64) *classify.Tensor { return randF32(seed, 0.5, 2, 32) }
	pool := graphdef.Attrs{"ksize": []int{1, 3, 3, 1}, "strides": []int{1, 2, 2, 1}, "padding": "SAME"}
	cases := []struct {
		op    string
		attrs graphdef.Attrs
		in    []*classify.Tensor
	}{
		{"AvgPool", pool, []*classify.Tensor{x}},
		{"MaxPool", pool, []*classify.Tensor{x}},
		{"Softmax", nil, []*classify.Tensor{x}},
		{"LogSoftmax", nil, []*classify.Tensor{x}},
		{"Sigmoid", nil, []*classify.Tensor{x}},
		{"Relu6", nil, []*classify.Tensor{x}},
		{"BiasAdd", nil, []*classify.Tensor{x, vec(501)}},
		{"AddN", nil, []*classify.Tensor{x, x, x}},
		{"Mul", nil, []*classify.Tensor{x, randF32(502, -1, 1, 64, 1, 32)}},
		{"FusedBatchNormV3", graphdef.Attrs{"is_training": false}, []*classify.Tensor{x, vec(503), vec(504), vec(505), vec(506)}},
		{"FusedBatchNormV3", graphdef.Attrs{"is_training": true}, []*classify.Tensor{x, vec(503), vec(504), vec(505), vec(506)}},
		{"Mean", nil, []*classify.Tensor{x, mathI32([]int32{1, 2}, 2)}},
		{"Max", nil, []*classify.Tensor{x, mathI32([]int32{0}, 1)}},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			run := func(threads int) *classify.Tensor {
				n := &Node{Name: "n", Op: c.op, NumInputs: len(c.in), Attr: map[string]*apb.AttrValue{}}
				for k, v := range c.attrs {
					n.Attr[k] = graphdef.Attr(v)
				}
				build, _ := Lookup(c.op)
				o, err := build(n, make([]*classify.Tensor, len(c.in)))
				if err != nil {
					t.Fatal(err)
				}
				out, err := o.Run(&Ctx{Threads: threads, Slots: make([]*classify.Tensor, 6)}, c.in)
				if err != nil {
					t.Fatal(err)
				}
				return out[0]
			}
			one, two := run(1), run(2)
			if !one.Shape.Equal(two.Shape) {
				t.Fatalf("shapes %v and %v", one.Shape, two.Shape)
			}
			for i, v := range one.Float32s() {
				if w := two.Float32s()[i]; math.Float32bits(v) != math.Float32bits(w) {
					t.Fatalf("element %d: %v with 1 thread, %v with 2", i, v, w)
				}
			}
		})
	}
}

// TestEmptyTensors runs the ops on tensors with a zero dimension: each
// must give an empty (or identity-filled) result or an error, never panic.
func TestEmptyTensors(t *testing.T) {
	z := func(s ...int) *classify.Tensor { return classify.NewTensor(classify.Float32, s...) }
	pool := graphdef.Attrs{"ksize": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "SAME"}
	cases := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []*classify.Tensor
	}{
		{"relu", "Relu6", nil, []*classify.Tensor{z(0, 4)}},
		{"softmax_rows", "Softmax", nil, []*classify.Tensor{z(0, 5)}},
		{"softmax_cols", "LogSoftmax", nil, []*classify.Tensor{z(3, 0)}},
		{"avgpool_batch", "AvgPool", pool, []*classify.Tensor{z(0, 4, 4, 2)}},
		{"maxpool_depth", "MaxPool", pool, []*classify.Tensor{z(1, 4, 4, 0)}},
		{"maxpool_height", "MaxPool", pool, []*classify.Tensor{z(1, 0, 4, 2)}},
		{"mean", "Mean", nil, []*classify.Tensor{z(0, 3), mathI32([]int32{1}, 1)}},
		{"argmax_outer", "ArgMax", nil, []*classify.Tensor{z(0, 3), mathI32([]int32{1})}},
		{"argmax_axis", "ArgMax", nil, []*classify.Tensor{z(3, 0), mathI32([]int32{1})}},
		{"cast", "Cast", graphdef.Attrs{"DstT": classify.Int32}, []*classify.Tensor{z(0)}},
		{"fbn_infer", "FusedBatchNormV3", graphdef.Attrs{"is_training": false}, []*classify.Tensor{z(0, 2, 2, 3), z(3), z(3), z(3), z(3)}},
		{"fbn_train", "FusedBatchNormV3", graphdef.Attrs{"is_training": true}, []*classify.Tensor{z(0, 2, 2, 3), z(3), z(3), z(0), z(0)}},
		{"addn", "AddN", nil, []*classify.Tensor{z(2, 0), z(2, 0)}},
		{"biasadd", "BiasAdd", nil, []*classify.Tensor{z(0, 3), z(3)}},
		{"mul_scalar", "Mul", nil, []*classify.Tensor{z(0, 3), z()}},
		{"dequantize", "Dequantize", nil, []*classify.Tensor{{DType: classify.Uint8, Shape: classify.Shape{0}, Data: []uint8{}}, z(), z()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := mathRun(c.op, c.attrs, nil, c.in...)
			if err != nil {
				if !errors.Is(err, classify.ErrInvalidInput) {
					t.Fatalf("error %v, want nil or ErrInvalidInput", err)
				}
				return
			}
			if err := out[0].Validate(); err != nil {
				t.Fatalf("output: %v", err)
			}
		})
	}
}
