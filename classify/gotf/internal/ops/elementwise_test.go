package ops

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// mathOracleConst adds an unused constant: the oracle's graph converter writes
// a null weights list for a graph without constants, which TensorFlow.js
// then fails to load.
func mathOracleConst(g *graphdef.Builder) { g.ConstF32("oracle_unused", []float32{0}) }

// mathBinCase is a golden case of one binary op on two fed tensors.
func mathBinCase(name, op string, a, b *classify.Tensor) goldenCase {
	return goldenCase{
		name: name,
		build: func(g *graphdef.Builder) []graphdef.Output {
			mathOracleConst(g)
			x := g.Placeholder("a", a.DType, a.Shape)
			y := g.Placeholder("b", b.DType, b.Shape)
			return []graphdef.Output{g.Op(op, "out", []graphdef.Output{x, y}, graphdef.Attrs{"T": a.DType})}
		},
		feeds: map[string]*classify.Tensor{"a": a, "b": b},
	}
}

// mathUnCase is a golden case of one unary op on a fed tensor.
func mathUnCase(name, op string, a *classify.Tensor, attrs graphdef.Attrs) goldenCase {
	return goldenCase{
		name: name,
		build: func(g *graphdef.Builder) []graphdef.Output {
			mathOracleConst(g)
			x := g.Placeholder("a", a.DType, a.Shape)
			at := graphdef.Attrs{"T": a.DType}
			for k, v := range attrs {
				at[k] = v
			}
			return []graphdef.Output{g.Op(op, "out", []graphdef.Output{x}, at)}
		},
		feeds: map[string]*classify.Tensor{"a": a},
	}
}

// mathIn is one input of a golden node: fed through a Placeholder, or a
// Const when konst is set.
type mathIn struct {
	name  string
	t     *classify.Tensor
	konst bool
}

// mathOpCase is a golden case of node "out" of type op on the inputs,
// fetching the given outputs of it ("out", "out:1", ...; default "out").
func mathOpCase(name, op string, attrs graphdef.Attrs, in []mathIn, fetch ...string) goldenCase {
	feeds := map[string]*classify.Tensor{}
	for _, x := range in {
		if !x.konst {
			feeds[x.name] = x.t
		}
	}
	if len(fetch) == 0 {
		fetch = []string{"out"}
	}
	return goldenCase{
		name: name,
		build: func(g *graphdef.Builder) []graphdef.Output {
			mathOracleConst(g)
			var ins []graphdef.Output
			for _, x := range in {
				if x.konst {
					ins = append(ins, g.Const(x.name, x.t))
				} else {
					ins = append(ins, g.Placeholder(x.name, x.t.DType, x.t.Shape))
				}
			}
			g.Op(op, "out", ins, attrs)
			var outs []graphdef.Output
			for _, f := range fetch {
				outs = append(outs, graphdef.Output(f))
			}
			return outs
		},
		feeds: feeds,
	}
}

func mathI64(data []int64, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape(shape).Clone(), Data: data}
}

func mathI32(data []int32, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape(shape).Clone(), Data: data}
}

func TestBinaryGolden(t *testing.T) {
	cases := []goldenCase{
		mathBinCase("add_same", "Add", randF32(1, -2, 2, 2, 3, 4), randF32(2, -2, 2, 2, 3, 4)),
		mathBinCase("add_lastaxis", "AddV2", randF32(3, -2, 2, 2, 3, 4), randF32(4, -2, 2, 4)),
		mathBinCase("add_cross", "AddV2", randF32(5, -2, 2, 2, 1, 4), randF32(6, -2, 2, 3, 1)),
		mathBinCase("add_scalar", "Add", randF32(7, -2, 2, 3, 5), randF32(8, -2, 2)),
		mathBinCase("add_scalar_left", "Add", randF32(9, -2, 2), randF32(10, -2, 2, 3, 5)),
		mathBinCase("add_rankmismatch", "AddV2", randF32(11, -2, 2, 4, 1), randF32(12, -2, 2, 2, 3, 1, 5)),
		mathBinCase("add_int32", "AddV2", mathI32([]int32{1, -2, 3, 4, 5, 6}, 2, 3), mathI32([]int32{10, 20, -30}, 3)),
		mathBinCase("sub_cross", "Sub", randF32(13, -2, 2, 3, 1, 5), randF32(14, -2, 2, 1, 4, 1)),
		mathBinCase("sub_scalar_left", "Sub", randF32(15, -2, 2), randF32(16, -2, 2, 7)),
		mathBinCase("sub_int32", "Sub", mathI32([]int32{1, -2, 3, 4}, 2, 2), mathI32([]int32{7}, 1)),
		mathBinCase("mul_channel", "Mul", randF32(17, -2, 2, 1, 5, 5, 8), randF32(18, -2, 2, 8)),
		mathBinCase("mul_middle", "Mul", randF32(19, -2, 2, 2, 3, 4), randF32(20, -2, 2, 3, 1)),
		mathBinCase("mul_int32", "Mul", mathI32([]int32{1, -2, 3, 4, 5, 6}, 3, 2), mathI32([]int32{3, -1}, 2)),
		mathBinCase("realdiv_cross", "RealDiv", randF32(21, -2, 2, 2, 1, 4), randF32(22, 0.5, 3, 3, 1)),
		mathBinCase("realdiv_scalar", "RealDiv", randF32(23, -2, 2, 6), randF32(24, 0.5, 3)),
		mathBinCase("realdiv_scalar_left", "RealDiv", randF32(25, -2, 2), randF32(26, 0.5, 3, 6)),
		mathBinCase("div_cross", "Div", randF32(37, -2, 2, 2, 1, 4), randF32(38, 0.5, 3, 3, 1)),
		mathBinCase("maximum_cross", "Maximum", randF32(27, -2, 2, 2, 1, 4), randF32(28, -2, 2, 3, 1)),
		mathBinCase("maximum_int32", "Maximum", mathI32([]int32{1, -2, 3, 4}, 4), mathI32([]int32{2}, 1)),
		mathBinCase("minimum_channel", "Minimum", randF32(29, -2, 2, 3, 4), randF32(30, -2, 2, 4)),
		mathBinCase("squareddifference_cross", "SquaredDifference", randF32(31, -2, 2, 2, 1, 4), randF32(32, -2, 2, 3, 1)),
		mathBinCase("pow_same", "Pow", randF32(33, 0.1, 3, 2, 5), randF32(34, -2, 2, 2, 5)),
		mathBinCase("pow_square", "Pow", randF32(35, -3, 3, 2, 5), classify.FromFloat32([]float32{2})),
		mathBinCase("pow_scalar_base", "Pow", classify.FromFloat32([]float32{1.5}), randF32(36, -2, 2, 7)),
		mathBinCase("pow_int32", "Pow", mathI32([]int32{2, -3, 4, 0, 1, 7}, 6), mathI32([]int32{3, 3, 0, 5, 9, 2}, 6)),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func TestBiasAddAddNGolden(t *testing.T) {
	cases := []goldenCase{
		{
			name: "biasadd_nhwc",
			build: func(g *graphdef.Builder) []graphdef.Output {
				mathOracleConst(g)
				x := g.Placeholder("x", classify.Float32, classify.Shape{1, 3, 5, 4})
				b := g.Placeholder("b", classify.Float32, classify.Shape{4})
				return []graphdef.Output{g.Op("BiasAdd", "out", []graphdef.Output{x, b}, graphdef.Attrs{"T": classify.Float32, "data_format": "NHWC"})}
			},
			feeds: map[string]*classify.Tensor{"x": randF32(40, -2, 2, 1, 3, 5, 4), "b": randF32(41, -1, 1, 4)},
		},
		{
			name: "addn_three",
			build: func(g *graphdef.Builder) []graphdef.Output {
				mathOracleConst(g)
				var in []graphdef.Output
				for _, n := range []string{"a", "b", "c"} {
					in = append(in, g.Placeholder(n, classify.Float32, classify.Shape{2, 3, 4}))
				}
				return []graphdef.Output{g.Op("AddN", "out", in, graphdef.Attrs{"T": classify.Float32, "N": 3})}
			},
			feeds: map[string]*classify.Tensor{"a": randF32(42, -2, 2, 2, 3, 4), "b": randF32(43, -2, 2, 2, 3, 4), "c": randF32(44, -2, 2, 2, 3, 4)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func TestUnaryGolden(t *testing.T) {
	cases := []goldenCase{
		mathUnCase("rsqrt_basic", "Rsqrt", randF32(50, 0.01, 10, 3, 7), nil),
		mathUnCase("sqrt_basic", "Sqrt", randF32(51, 0, 10, 3, 7), nil),
		mathUnCase("exp_basic", "Exp", randF32(52, -10, 10, 3, 7), nil),
		mathUnCase("log_basic", "Log", randF32(53, 0.01, 100, 3, 7), nil),
		mathUnCase("square_basic", "Square", randF32(54, -10, 10, 3, 7), nil),
		mathUnCase("neg_basic", "Neg", randF32(55, -10, 10, 3, 7), nil),
		mathUnCase("abs_basic", "Abs", randF32(56, -10, 10, 3, 7), nil),
		mathUnCase("abs_int32", "Abs", mathI32([]int32{-3, 0, 5, -123456}, 4), nil),
		mathUnCase("relu_basic", "Relu", randF32(57, -5, 5, 2, 3, 7), nil),
		mathUnCase("relu6_basic", "Relu6", randF32(58, -10, 10, 2, 3, 7), nil),
		mathUnCase("elu_basic", "Elu", randF32(59, -5, 5, 2, 3, 7), nil),
		mathUnCase("selu_basic", "Selu", randF32(60, -5, 5, 2, 3, 7), nil),
		mathUnCase("leakyrelu_default", "LeakyRelu", randF32(61, -5, 5, 2, 3, 7), nil),
		mathUnCase("leakyrelu_alpha", "LeakyRelu", randF32(62, -5, 5, 2, 3, 7), graphdef.Attrs{"alpha": float32(0.05)}),
		mathUnCase("sigmoid_basic", "Sigmoid", randF32(63, -20, 20, 2, 3, 7), nil),
		mathUnCase("tanh_basic", "Tanh", randF32(64, -5, 5, 2, 3, 7), nil),
		mathUnCase("softmax_basic", "Softmax", randF32(65, -5, 5, 4, 10), nil),
		mathUnCase("softmax_rank3", "Softmax", randF32(66, -5, 5, 2, 3, 5), nil),
		mathUnCase("softmax_big", "Softmax", randF32(67, 1000, 3000, 3, 6), nil),
		mathUnCase("softmax_bigneg", "Softmax", randF32(68, -3000, -1000, 3, 6), nil),
		mathUnCase("logsoftmax_basic", "LogSoftmax", randF32(69, -5, 5, 4, 10), nil),
		mathUnCase("logsoftmax_big", "LogSoftmax", randF32(70, 100, 300, 3, 6), nil),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestBinaryReference checks the broadcasting planner against a naive
// index-by-index evaluation on many shape pairs, including ones too big
// to keep as goldens (which exercise the multi-goroutine split).
func TestBinaryReference(t *testing.T) {
	pairs := [][2]classify.Shape{
		{{2, 3, 4}, {4}},
		{{2, 1, 4}, {3, 1}},
		{{}, {5}},
		{{5}, {}},
		{{1}, {1}},
		{{3, 1, 5, 1}, {1, 4, 1, 6}},
		{{4, 1}, {2, 3, 1, 5}},
		{{1, 7, 1}, {7, 1}},
		{{64, 64, 32}, {32}},
		{{64, 64, 32}, {64, 1, 32}},
		{{300, 300}, {300, 300}},
		{{1, 300}, {300, 1}},
		{{1, 128, 128, 3}, {3}},
		{{3}, {1, 128, 128, 3}},
		{{1, 200, 200, 3}, {1, 1, 1, 3}},
		{{2, 7, 5}, {5}},
		{{4, 300, 128}, {128}},
		{{4, 300, 129}, {129}},
		{{0, 3}, {3}},
		{{2, 0, 3}, {1, 1}},
	}
	for _, p := range pairs {
		t.Run(fmt.Sprintf("%v+%v", p[0], p[1]), func(t *testing.T) {
			a, b := randF32(80, -2, 2, p[0]...), randF32(81, -2, 2, p[1]...)
			op, err := newBinary(&subSpec)(&Node{Name: "s", Op: "Sub", NumInputs: 2}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := &Ctx{Threads: 2, Slots: make([]*classify.Tensor, 1)}
			out, err := op.Run(ctx, []*classify.Tensor{a, b})
			if err != nil {
				t.Fatal(err)
			}
			want := naiveBroadcast(t, a, b, func(x, y float32) float32 { return x - y })
			if msg := compare(out[0], want, 1e-7, 1e-7); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// naiveBroadcast evaluates f over the broadcast of a and b by computing
// every output element's source indices from scratch.
func naiveBroadcast(t *testing.T, a, b *classify.Tensor, f func(x, y float32) float32) *classify.Tensor {
	t.Helper()
	shape, ok := bcastShapes(a.Shape, b.Shape)
	if !ok {
		t.Fatalf("shapes %v %v do not broadcast", a.Shape, b.Shape)
	}
	out := classify.NewTensor(classify.Float32, shape...)
	idx := func(s classify.Shape, o []int) int {
		off := 0
		for i, d := range s {
			j := o[len(o)-len(s)+i]
			if d == 1 {
				j = 0
			}
			off = off*d + j
		}
		return off
	}
	o := make([]int, len(shape))
	for k := range out.Float32s() {
		r := k
		for i := len(shape) - 1; i >= 0; i-- {
			o[i] = r % shape[i]
			r /= shape[i]
		}
		out.Float32s()[k] = f(a.Float32s()[idx(a.Shape, o)], b.Float32s()[idx(b.Shape, o)])
	}
	return out
}

// TestIntDiv pins TensorFlow's integer Div: C++ truncation toward zero
// (the oracle floors instead, as Python's // does, so it cannot judge).
func TestIntDiv(t *testing.T) {
	out, err := mathRun("Div", nil, nil, mathI32([]int32{7, -7, 7, -7, 0}, 5), mathI32([]int32{2, 2, -2, -2, 3}, 5))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(out[0], mathI32([]int32{3, -3, -3, 3, 0}, 5), 0, 0); msg != "" {
		t.Error(msg)
	}
	out, err = mathRun("Div", nil, nil, mathI64([]int64{-9}), mathI64([]int64{2, 4}, 2))
	if err != nil {
		t.Fatal(err)
	}
	if msg := compare(out[0], mathI64([]int64{-4, -2}, 2), 0, 0); msg != "" {
		t.Error(msg)
	}
}

func TestElementwiseErrors(t *testing.T) {
	cases := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []*classify.Tensor
		nin   int // inputs of a node that must fail at build (in is nil)
		want  error
		text  string
	}{
		{name: "incompatible", op: "AddV2", in: []*classify.Tensor{randF32(1, 0, 1, 2, 3), randF32(1, 0, 1, 4)}, want: classify.ErrInvalidInput, text: "incompatible shapes"},
		{name: "dtype_mismatch", op: "Mul", in: []*classify.Tensor{randF32(1, 0, 1, 2), mathI32([]int32{1, 2}, 2)}, want: classify.ErrInvalidInput, text: "dtype mismatch"},
		{name: "realdiv_int", op: "RealDiv", attrs: graphdef.Attrs{"T": classify.Int32}, nin: 2, want: classify.ErrInvalidGraph, text: "unsupported dtype"},
		{name: "div_int_zero", op: "Div", in: []*classify.Tensor{mathI32([]int32{1, 2}, 2), mathI32([]int32{1, 0}, 2)}, want: classify.ErrInvalidInput, text: "division by zero"},
		{name: "pow_negative_int", op: "Pow", in: []*classify.Tensor{mathI32([]int32{2}, 1), mathI32([]int32{-1}, 1)}, want: classify.ErrInvalidInput, text: "negative integer powers"},
		{name: "biasadd_format", op: "BiasAdd", attrs: graphdef.Attrs{"data_format": "NCDHW"}, nin: 2, want: classify.ErrInvalidGraph, text: "NCDHW"},
		{name: "biasadd_channels", op: "BiasAdd", in: []*classify.Tensor{randF32(1, 0, 1, 2, 3), randF32(1, 0, 1, 4)}, want: classify.ErrInvalidInput, text: "channels"},
		{name: "addn_shapes", op: "AddN", in: []*classify.Tensor{randF32(1, 0, 1, 2, 3), randF32(1, 0, 1, 3, 2)}, want: classify.ErrInvalidInput, text: "input 1"},
		{name: "sqrt_int", op: "Sqrt", in: []*classify.Tensor{mathI32([]int32{4}, 1)}, want: classify.ErrInvalidInput, text: "unsupported dtype"},
		{name: "softmax_scalar", op: "Softmax", in: []*classify.Tensor{classify.FromFloat32([]float32{1})}, want: classify.ErrInvalidInput, text: "rank"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mathRunErr(c.op, c.attrs, c.in, c.nin)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), `"n"`) {
				t.Errorf("error %q, want %v containing %q and naming node \"n\"", err, c.want, c.text)
			}
		})
	}
}

// mathRun builds node "n" of type op with attrs and runs it on in.
func mathRun(op string, attrs graphdef.Attrs, consts []*classify.Tensor, in ...*classify.Tensor) ([]*classify.Tensor, error) {
	n := &Node{Name: "n", Op: op, NumInputs: len(in), Attr: map[string]*apb.AttrValue{}}
	for k, v := range attrs {
		n.Attr[k] = graphdef.Attr(v)
	}
	build, ok := Lookup(op)
	if !ok {
		return nil, fmt.Errorf("%s not registered", op)
	}
	if consts == nil {
		consts = make([]*classify.Tensor, len(in))
	}
	o, err := build(n, consts)
	if err != nil {
		return nil, err
	}
	return o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 6)}, in)
}

// mathRunErr is mathRun for error cases; with no inputs it only builds a node
// of numInputs inputs (errors at build time).
func mathRunErr(op string, attrs graphdef.Attrs, in []*classify.Tensor, numInputs int) error {
	if len(in) == 0 {
		n := &Node{Name: "n", Op: op, NumInputs: numInputs, Attr: map[string]*apb.AttrValue{}}
		for k, v := range attrs {
			n.Attr[k] = graphdef.Attr(v)
		}
		build, _ := Lookup(op)
		_, err := build(n, make([]*classify.Tensor, n.NumInputs))
		return err
	}
	_, err := mathRun(op, attrs, nil, in...)
	return err
}

func TestBinaryShaper(t *testing.T) {
	cases := []struct {
		a, b, want classify.Shape
	}{
		{classify.Shape{2, 3, 4}, classify.Shape{4}, classify.Shape{2, 3, 4}},
		{classify.Shape{2, 1, 4}, classify.Shape{3, 1}, classify.Shape{2, 3, 4}},
		{classify.Shape{-1, 1, 4}, classify.Shape{3, 1}, classify.Shape{-1, 3, 4}},
		{classify.Shape{-1, 5}, classify.Shape{-1, 1}, classify.Shape{-1, 5}},
		{classify.Shape{}, classify.Shape{7}, classify.Shape{7}},
		{nil, classify.Shape{7}, nil},
	}
	op, err := newBinary(&addSpec)(&Node{Name: "n", Op: "AddV2", NumInputs: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v+%v", c.a, c.b), func(t *testing.T) {
			got, err := op.(Shaper).OutputInfo([]classify.TensorInfo{{DType: classify.Float32, Shape: c.a}, {DType: classify.Float32, Shape: c.b}})
			if err != nil {
				t.Fatal(err)
			}
			if got[0].DType != classify.Float32 || (c.want == nil) != (got[0].Shape == nil) || !got[0].Shape.Equal(c.want) {
				t.Errorf("got %v %v, want float32 %v", got[0].DType, got[0].Shape, c.want)
			}
		})
	}
	if _, err := op.(Shaper).OutputInfo([]classify.TensorInfo{{DType: classify.Float32, Shape: classify.Shape{2, 3}}, {DType: classify.Float32, Shape: classify.Shape{4}}}); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("incompatible static shapes: err %v, want ErrInvalidGraph", err)
	}
	if f := op.(Flopper).FLOPs([]classify.Shape{{2, 1, 4}, {3, 1}}); f != 24 {
		t.Errorf("FLOPs = %d, want 24", f)
	}
}

func BenchmarkAdd(b *testing.B) {
	for _, c := range []struct {
		name string
		a, b classify.Shape
	}{
		{"same_64k", classify.Shape{1, 32, 32, 64}, classify.Shape{1, 32, 32, 64}},
		{"same_1M", classify.Shape{1, 128, 128, 64}, classify.Shape{1, 128, 128, 64}},
		{"channel_64k", classify.Shape{1, 32, 32, 64}, classify.Shape{64}},
		{"rgb_48k", classify.Shape{1, 128, 128, 3}, classify.Shape{3}},
		{"scalar_64k", classify.Shape{1, 32, 32, 64}, classify.Shape{}},
		{"cross_64k", classify.Shape{256, 1}, classify.Shape{1, 256}},
	} {
		b.Run(c.name, func(b *testing.B) {
			mathBench(b, "AddV2", nil, nil, randF32(1, -1, 1, c.a...), randF32(2, -1, 1, c.b...))
		})
	}
}

func BenchmarkMul(b *testing.B) {
	for _, n := range []int{4096, 1 << 16, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { mathBench(b, "Mul", nil, nil, randF32(1, -1, 1, n), randF32(2, -1, 1, n)) })
	}
}

// FuzzBroadcast feeds pairs of small shapes (compatible or not) to a
// binary op: compatible ones must match the naive evaluation, the others
// must fail with ErrInvalidInput, and nothing may panic.
func FuzzBroadcast(f *testing.F) {
	f.Add([]byte{2, 3, 4}, []byte{4}, uint8(2))
	f.Add([]byte{2, 1, 4}, []byte{3, 1}, uint8(1))
	f.Add([]byte{}, []byte{5, 1}, uint8(1))
	f.Add([]byte{3, 1, 5, 1}, []byte{1, 4, 1, 6}, uint8(2))
	f.Add([]byte{2, 3}, []byte{4}, uint8(1))
	f.Fuzz(func(t *testing.T, as, bs []byte, threads uint8) {
		if len(as) > 5 || len(bs) > 5 {
			return
		}
		shape := func(s []byte) classify.Shape {
			out := classify.Shape{}
			for _, d := range s {
				out = append(out, int(d%6))
			}
			return out
		}
		sa, sb := shape(as), shape(bs)
		a, b := randF32(1, -2, 2, sa...), randF32(2, -2, 2, sb...)
		op, err := newBinary(&subSpec)(&Node{Name: "n", Op: "Sub", NumInputs: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := op.Run(&Ctx{Threads: int(threads%3) + 1, Slots: make([]*classify.Tensor, 1)}, []*classify.Tensor{a, b})
		if _, ok := bcastShapes(sa, sb); !ok {
			if !errors.Is(err, classify.ErrInvalidInput) {
				t.Fatalf("%v - %v: err %v, want ErrInvalidInput", sa, sb, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%v - %v: %v", sa, sb, err)
		}
		want := naiveBroadcast(t, a, b, func(x, y float32) float32 { return x - y })
		if msg := compare(out[0], want, 0, 1e-7); msg != "" {
			t.Fatalf("%v - %v: %s", sa, sb, msg)
		}
	})
}
