package ops

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// randSmall returns float32 values drawn from {-2, -1, 0, 1, 2}, so that
// comparisons meet equal operands.
func randSmall(seed uint64, shape ...int) *classify.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	t := classify.NewTensor(classify.Float32, shape...)
	for i, d := 0, t.Float32s(); i < len(d); i++ {
		d[i] = float32(r.IntN(5) - 2)
	}
	return t
}

func randBool(seed uint64, shape ...int) *classify.Tensor {
	r := rand.New(rand.NewPCG(seed, 11))
	t := classify.NewTensor(classify.Bool, shape...)
	for i, d := 0, t.Bools(); i < len(d); i++ {
		d[i] = r.IntN(2) == 1
	}
	return t
}

func boolT(data []bool, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Bool, Shape: classify.Shape(shape).Clone(), Data: data}
}

// logicCase is mathOpCase for ops without a "T" attribute (LogicalAnd, ...).
func logicCase(name, op string, in ...mathIn) goldenCase {
	return mathOpCase(name, op, graphdef.Attrs{}, in)
}

func TestCompareGolden(t *testing.T) {
	f32 := graphdef.Attrs{"T": classify.Float32}
	i32 := graphdef.Attrs{"T": classify.Int32}
	cases := []goldenCase{
		mathBinCase("equal_cross", "Equal", randSmall(1, 2, 1, 4), randSmall(2, 3, 1)),
		mathBinCase("equal_int32_scalar", "Equal", mathI32([]int32{1, -2, 3, -2, 0, -2}, 2, 3), mathI32([]int32{-2})),
		mathBinCase("notequal_channel", "NotEqual", randSmall(3, 2, 3, 4), randSmall(4, 4)),
		mathBinCase("greater_cross", "Greater", randSmall(5, 3, 1, 5), randSmall(6, 1, 4, 1)),
		mathBinCase("greater_int32", "Greater", mathI32([]int32{-5, 0, 7, 2147483647, -2147483648, 3}, 6), mathI32([]int32{0}, 1)),
		mathBinCase("greaterequal_scalar_left", "GreaterEqual", classify.FromFloat32([]float32{0}), randSmall(7, 7)),
		mathBinCase("less_rankmismatch", "Less", randSmall(8, 4, 1), randSmall(9, 2, 3, 1, 5)),
		mathBinCase("less_int32", "Less", mathI32([]int32{1, -2, 3, 4}, 2, 2), mathI32([]int32{2, -3}, 2)),
		mathBinCase("lessequal_same", "LessEqual", randSmall(10, 3, 5), randSmall(11, 3, 5)),
		// The oracle cannot feed empty tensors: they are constants.
		mathOpCase("lessequal_empty", "LessEqual", f32, []mathIn{{"a", randSmall(12, 0, 3), true}, {"b", randSmall(13, 3), false}}),
		mathOpCase("equal_bool", "Equal", graphdef.Attrs{"T": classify.Bool}, []mathIn{{"a", randBool(14, 2, 5), false}, {"b", randBool(15, 5), false}}),
		mathOpCase("notequal_bool_scalar", "NotEqual", graphdef.Attrs{"T": classify.Bool}, []mathIn{{"a", randBool(16, 6), false}, {"b", boolT([]bool{true}), false}}),
		logicCase("logicaland_cross", "LogicalAnd", mathIn{"a", randBool(17, 2, 1, 4), false}, mathIn{"b", randBool(18, 3, 1), false}),
		logicCase("logicalor_scalar", "LogicalOr", mathIn{"a", randBool(19, 3, 4), false}, mathIn{"b", boolT([]bool{false}), false}),
		logicCase("logicalnot_basic", "LogicalNot", mathIn{"a", randBool(20, 2, 7), false}),
		logicCase("logicalnot_empty", "LogicalNot", mathIn{"a", randBool(21, 0, 2), true}),
		// Select's condition is the graph's own comparison, as in real graphs.
		mathOpCase("select_same", "Select", f32, []mathIn{{"c", randBool(22, 3, 4), false}, {"t", randF32(23, -1, 1, 3, 4), false}, {"e", randF32(24, -1, 1, 3, 4), false}}),
		mathOpCase("select_scalar", "Select", i32, []mathIn{{"c", boolT([]bool{false}), false}, {"t", mathI32([]int32{1, 2, 3, 4}, 4), false}, {"e", mathI32([]int32{5, 6, 7, 8}, 4), false}}),
		mathOpCase("selectv2_bcast", "SelectV2", f32, []mathIn{{"c", randBool(28, 3, 1), false}, {"t", randF32(29, -1, 1, 2, 1, 4), false}, {"e", classify.FromFloat32([]float32{-7}), false}}),
		mathOpCase("selectv2_int32", "SelectV2", i32, []mathIn{{"c", randBool(30, 4), false}, {"t", mathI32([]int32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4), false}, {"e", mathI32([]int32{-1, -2}, 2, 1), false}}),
		mathOpCase("where_bool", "Where", graphdef.Attrs{"T": classify.Bool}, []mathIn{{"a", randBool(31, 3, 2, 4), false}}),
		mathOpCase("where_float", "Where", f32, []mathIn{{"a", randSmall(32, 4, 5), false}}),
		mathOpCase("where_none", "Where", graphdef.Attrs{"T": classify.Bool}, []mathIn{{"a", boolT(make([]bool, 6), 2, 3), false}}),
		mathOpCase("all_axis1", "All", graphdef.Attrs{"Tidx": classify.Int32}, []mathIn{{"a", randBool(33, 3, 2, 4), false}, {"axis", mathI32([]int32{1}), true}}),
		mathOpCase("all_keepdims_neg", "All", graphdef.Attrs{"Tidx": classify.Int32, "keep_dims": true}, []mathIn{{"a", randBool(34, 3, 2, 4), false}, {"axis", mathI32([]int32{-1, 0}, 2), true}}),
		mathOpCase("any_axis02", "Any", graphdef.Attrs{"Tidx": classify.Int32}, []mathIn{{"a", randBool(35, 3, 2, 4), false}, {"axis", mathI32([]int32{0, 2}, 2), true}}),
		mathOpCase("any_all_axes_keep", "Any", graphdef.Attrs{"Tidx": classify.Int32, "keep_dims": true}, []mathIn{{"a", boolT(make([]bool, 6), 2, 3), false}, {"axis", mathI32([]int32{0, 1}, 2), true}}),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// runOp builds one node of the op on the given inputs (all fed) and runs it,
// recording the nodes that ran as checked when it succeeds.
func runOp(t *testing.T, op string, attrs map[string]any, in ...*classify.Tensor) ([]*classify.Tensor, error) {
	t.Helper()
	out, ran, err := runOpUnrecorded(op, attrs, in...)
	if err == nil {
		recordCoverage(t, "reference", ran)
	}
	return out, err
}

// runOpUnrecorded is runOp returning the nodes that ran instead of
// recording them, for tests that record coverage only after comparing the
// results.
func runOpUnrecorded(op string, attrs map[string]any, in ...*classify.Tensor) ([]*classify.Tensor, []ranNode, error) {
	at := map[string]any{}
	for k, v := range attrs {
		at[k] = v
	}
	g := graphdef.New()
	var ins []graphdef.Output
	feeds := map[string]*classify.Tensor{}
	for i, x := range in {
		name := string(rune('a' + i))
		ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
		feeds[name] = x
	}
	g.Op(op, "out", ins, graphdef.Attrs(at))
	var ran []ranNode
	out, err := interpretRec(g, feeds, []graphdef.Output{"out"}, func(n ranNode) { ran = append(ran, n) })
	return out, ran, err
}

func mustRun(t *testing.T, op string, attrs map[string]any, in ...*classify.Tensor) *classify.Tensor {
	t.Helper()
	out, err := runOp(t, op, attrs, in...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out[0]
}

// TestCompareDTypes covers the dtypes the oracle cannot feed (float64,
// uint8, strings), NaN operands and Equal's incompatible_shape_error,
// against values written from TensorFlow's documented semantics.
func TestCompareDTypes(t *testing.T) {
	f64 := &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{4}, Data: []float64{1, math.NaN(), -3, 2}}
	g64 := &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{1}}
	u8 := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{3}, Data: []uint8{0, 200, 255}}
	v8 := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{1}, Data: []uint8{200}}
	str := &classify.Tensor{DType: classify.String, Shape: classify.Shape{3}, Data: [][]byte{[]byte("a"), []byte("bc"), nil}}
	sv := &classify.Tensor{DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{[]byte("bc")}}
	nan := classify.FromFloat32([]float32{float32(math.NaN()), 1}, 2)
	for _, c := range []struct {
		op    string
		attrs map[string]any
		a, b  *classify.Tensor
		want  []bool
		shape classify.Shape
	}{
		{"Equal", map[string]any{"T": classify.Float64}, f64, g64, []bool{true, false, false, false}, classify.Shape{4}},
		{"NotEqual", map[string]any{"T": classify.Float64}, f64, g64, []bool{false, true, true, true}, classify.Shape{4}},
		{"GreaterEqual", map[string]any{"T": classify.Float64}, f64, g64, []bool{true, false, false, true}, classify.Shape{4}},
		{"Less", map[string]any{"T": classify.Uint8}, u8, v8, []bool{true, false, false}, classify.Shape{3}},
		{"Greater", map[string]any{"T": classify.Uint8}, u8, v8, []bool{false, false, true}, classify.Shape{3}},
		{"Equal", map[string]any{"T": classify.String}, str, sv, []bool{false, true, false}, classify.Shape{3}},
		{"NotEqual", map[string]any{"T": classify.String}, str, sv, []bool{true, false, true}, classify.Shape{3}},
		// NaN compares unequal to everything, itself included.
		{"Equal", map[string]any{"T": classify.Float32}, nan, nan, []bool{false, true}, classify.Shape{2}},
		{"LessEqual", map[string]any{"T": classify.Float32}, nan, nan, []bool{false, true}, classify.Shape{2}},
		// incompatible_shape_error=false: a scalar false (true for NotEqual).
		{"Equal", map[string]any{"T": classify.Float32, "incompatible_shape_error": false}, randF32(1, 0, 1, 3), randF32(2, 0, 1, 2), []bool{false}, classify.Shape{}},
		{"NotEqual", map[string]any{"T": classify.Float32, "incompatible_shape_error": false}, randF32(1, 0, 1, 3), randF32(2, 0, 1, 2), []bool{true}, classify.Shape{}},
		{"ApproximateEqual", map[string]any{"T": classify.Float32, "tolerance": float32(0.01)}, classify.FromFloat32([]float32{1, 2, 3}, 3), classify.FromFloat32([]float32{1.005, 2.02, 2.999}, 3), []bool{true, false, true}, classify.Shape{3}},
		{"ApproximateEqual", map[string]any{"T": classify.Float64}, f64, &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{4}, Data: []float64{1 + 1e-6, 0, -3, 2.1}}, []bool{true, false, true, false}, classify.Shape{4}},
	} {
		got := mustRun(t, c.op, c.attrs, c.a, c.b)
		if got.DType != classify.Bool || !got.Shape.Equal(c.shape) {
			t.Errorf("%s %v: got %v%v, want bool%v", c.op, c.attrs, got.DType, got.Shape, c.shape)
			continue
		}
		for i, w := range c.want {
			if got.Bools()[i] != w {
				t.Errorf("%s %v: element %d = %v, want %v (all %v)", c.op, c.attrs, i, got.Bools()[i], w, got.Bools())
				break
			}
		}
	}
}

// TestSelectRows checks TF1 Select with a vector condition, which picks
// whole rows of t or e; TensorFlow.js broadcasts it instead, so the
// reference is written here from TensorFlow's definition.
func TestSelectRows(t *testing.T) {
	c := boolT([]bool{true, false, true}, 3)
	x := randF32(26, -1, 1, 3, 2, 2)
	y := randF32(27, -1, 1, 3, 2, 2)
	got := mustRun(t, "Select", map[string]any{"T": classify.Float32}, c, x, y)
	if !got.Shape.Equal(classify.Shape{3, 2, 2}) {
		t.Fatalf("shape %v", got.Shape)
	}
	for i, v := range got.Float32s() {
		want := y.Float32s()[i]
		if c.Bools()[i/4] {
			want = x.Float32s()[i]
		}
		if v != want {
			t.Fatalf("element %d = %v, want %v", i, v, want)
		}
	}
}

// TestBoolReduceEmpty: All over no elements is true and Any false, as in
// TensorFlow (tf.reduce_all of an empty tensor); TensorFlow.js gives false
// for both, so this reference is written here.
func TestBoolReduceEmpty(t *testing.T) {
	for _, op := range []string{"All", "Any"} {
		got := mustRun(t, op, map[string]any{"Tidx": classify.Int32}, randBool(36, 2, 0), mathI32([]int32{1}))
		if !got.Shape.Equal(classify.Shape{2}) {
			t.Fatalf("%s: shape %v", op, got.Shape)
		}
		for _, v := range got.Bools() {
			if v != (op == "All") {
				t.Errorf("%s of nothing = %v", op, v)
			}
		}
	}
}

func TestCompareErrors(t *testing.T) {
	for _, c := range []struct {
		op    string
		attrs map[string]any
		in    []*classify.Tensor
		want  string
	}{
		{"Greater", map[string]any{"T": classify.Bool}, []*classify.Tensor{randBool(1, 2), randBool(2, 2)}, "unsupported dtype bool"},
		{"Equal", map[string]any{"T": classify.Float32}, []*classify.Tensor{randF32(1, 0, 1, 3), randF32(2, 0, 1, 2)}, "incompatible shapes"},
		{"ApproximateEqual", map[string]any{"T": classify.Float32}, []*classify.Tensor{randF32(1, 0, 1, 3), randF32(2, 0, 1, 1)}, "same shape"},
		{"LogicalAnd", nil, []*classify.Tensor{randF32(1, 0, 1, 3), randF32(2, 0, 1, 3)}, "unsupported dtype float32"},
		{"Select", map[string]any{"T": classify.Float32}, []*classify.Tensor{randBool(1, 2), randF32(1, 0, 1, 3, 2), randF32(2, 0, 1, 3, 2)}, "vector of its first dimension"},
		{"Select", map[string]any{"T": classify.Float32}, []*classify.Tensor{randBool(1, 3), randF32(1, 0, 1, 3), randF32(2, 0, 1, 1)}, "same shape"},
		{"SelectV2", map[string]any{"T": classify.Float32}, []*classify.Tensor{randBool(1, 2), randF32(1, 0, 1, 3), randF32(2, 0, 1, 3)}, "do not broadcast"},
		{"Select", map[string]any{"T": classify.Float32}, []*classify.Tensor{randF32(1, 0, 1, 3), randF32(1, 0, 1, 3), randF32(2, 0, 1, 3)}, "want bool"},
		{"All", map[string]any{"Tidx": classify.Int32}, []*classify.Tensor{randBool(1, 2, 3), mathI32([]int32{2})}, "invalid reduction dimension 2"},
		{"Any", map[string]any{"Tidx": classify.Int32}, []*classify.Tensor{randF32(1, 0, 1, 3), mathI32([]int32{0})}, "want bool"},
	} {
		_, err := runOp(t, c.op, c.attrs, c.in...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"out"`) {
			t.Errorf("%s: error %v, want one naming the node and %q", c.op, err, c.want)
		}
		if err != nil && !errors.Is(err, classify.ErrInvalidGraph) && !errors.Is(err, classify.ErrInvalidInput) {
			t.Errorf("%s: %v wraps neither ErrInvalidGraph nor ErrInvalidInput", c.op, err)
		}
	}
}

// TestCompareShapes checks the static shapes and dtypes.
func TestCompareShapes(t *testing.T) {
	info := func(dt classify.DType, s ...int) classify.TensorInfo {
		return classify.TensorInfo{DType: dt, Shape: classify.Shape(s)}
	}
	for _, c := range []struct {
		op    string
		attrs map[string]any
		in    []classify.TensorInfo
		want  classify.TensorInfo
	}{
		{"Equal", map[string]any{"T": classify.Int32}, []classify.TensorInfo{info(classify.Int32, -1, 3), info(classify.Int32, 3)}, info(classify.Bool, -1, 3)},
		{"Less", map[string]any{"T": classify.Float32}, []classify.TensorInfo{info(classify.Float32, 2, 1), info(classify.Float32, 4)}, info(classify.Bool, 2, 4)},
		{"Equal", map[string]any{"T": classify.Float32, "incompatible_shape_error": false}, []classify.TensorInfo{info(classify.Float32, 2), info(classify.Float32, 3)}, classify.TensorInfo{DType: classify.Bool, Shape: classify.Shape{}}},
		{"SelectV2", map[string]any{"T": classify.Float32}, []classify.TensorInfo{info(classify.Bool, 3, 1), info(classify.Float32, 4), {DType: classify.Float32, Shape: classify.Shape{}}}, info(classify.Float32, 3, 4)},
		{"Select", map[string]any{"T": classify.Int32}, []classify.TensorInfo{info(classify.Bool, 5), info(classify.Int32, 5, -1), info(classify.Int32, -1, 2)}, info(classify.Int32, 5, 2)},
		{"Where", map[string]any{"T": classify.Bool}, []classify.TensorInfo{info(classify.Bool, 2, 3, 4)}, info(classify.Int64, -1, 3)},
		{"LogicalNot", nil, []classify.TensorInfo{info(classify.Bool, 7)}, info(classify.Bool, 7)},
	} {
		got, err := staticInfo(c.op, c.attrs, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
		if got.DType != c.want.DType || !got.Shape.Equal(c.want.Shape) || (got.Shape == nil) != (c.want.Shape == nil) {
			t.Errorf("%s: %v%v, want %v%v", c.op, got.DType, got.Shape, c.want.DType, c.want.Shape)
		}
	}
}

// staticInfo builds one node "out" of the op and returns its OutputInfo
// for the given input infos.
func staticInfo(op string, attrs map[string]any, in []classify.TensorInfo) (classify.TensorInfo, error) {
	n := &Node{Name: "out", Op: op, NumInputs: len(in), Attr: map[string]*apb.AttrValue{}}
	for k, v := range attrs {
		n.Attr[k] = graphdef.Attr(v)
	}
	b, ok := Lookup(op)
	if !ok {
		return classify.TensorInfo{}, errors.New("not registered")
	}
	o, err := b(n, make([]*classify.Tensor, len(in)))
	if err != nil {
		return classify.TensorInfo{}, err
	}
	got, err := o.(Shaper).OutputInfo(in)
	if err != nil {
		return classify.TensorInfo{}, err
	}
	return got[0], nil
}

// TestWhereDType: Where's coordinates are int64 [n, rank], as TensorFlow's
// op definition says (the oracle's goldens are int32, compared by value).
func TestWhereDType(t *testing.T) {
	got := mustRun(t, "Where", map[string]any{"T": classify.Int32}, mathI32([]int32{0, 3, 0, -1, 0, 0}, 2, 3))
	if got.DType != classify.Int64 || !got.Shape.Equal(classify.Shape{2, 2}) {
		t.Fatalf("Where: %v%v, want int64[2 2]", got.DType, got.Shape)
	}
	if w := []int64{0, 1, 1, 0}; got.Int64s()[0] != w[0] || got.Int64s()[1] != w[1] || got.Int64s()[2] != w[2] || got.Int64s()[3] != w[3] {
		t.Errorf("Where = %v, want %v", got.Int64s(), w)
	}
}

// BenchmarkCompare runs Greater and, for scale, Sub on 1M float32 pairs in
// one goroutine; only their ratio in one run means anything.
func BenchmarkCompare(b *testing.B) {
	x, y := randF32(1, -1, 1, 1<<20), randF32(2, -1, 1, 1<<20)
	for _, op := range []string{"Greater", "Sub"} {
		b.Run(op, func(b *testing.B) {
			o, ins, err := saBuild(op, graphdef.Attrs{"T": classify.Float32}, saFeed(x), saFeed(y))
			if err != nil {
				b.Fatal(err)
			}
			ctx := &Ctx{Threads: 1, Slots: make([]*classify.Tensor, 4)}
			for b.Loop() {
				if _, err := o.Run(ctx, ins); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
