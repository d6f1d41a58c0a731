package ops

import (
	"errors"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Helpers shared by the tests of the shape and array ops (shape_test.go,
// array_test.go, slice_test.go, pad_test.go, gather_test.go). They carry
// the sa prefix because other op families' tests live in the same package.

type saOut = graphdef.Output

func saI32(data []int32, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape(shape).Clone(), Data: data}
}

func saI64(data []int64, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape(shape).Clone(), Data: data}
}

func saBool(data []bool, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Bool, Shape: classify.Shape(shape).Clone(), Data: data}
}

// saIota returns an int32 tensor holding 0, 1, 2, ...: distinct values make
// every misplaced element visible.
func saIota(shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Int32, shape...)
	for i, d := 0, t.Int32s(); i < len(d); i++ {
		d[i] = int32(i)
	}
	return t
}

// saBools returns a bool tensor with an irregular true/false pattern.
func saBools(shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Bool, shape...)
	for i, d := 0, t.Bools(); i < len(d); i++ {
		d[i] = (i*7)%3 == 0
	}
	return t
}

// saCase is a golden case of one op whose inputs are fed tensors (names
// x0, x1, ...) or constants: consts[i] non-nil makes input i a Const.
func saCase(name, op string, attrs graphdef.Attrs, nout int, inputs ...saIn) goldenCase {
	feeds := map[string]*classify.Tensor{}
	for i, in := range inputs {
		if !in.konst {
			feeds[saInName(i)] = in.t
		}
	}
	return goldenCase{
		name: name,
		build: func(g *graphdef.Builder) []graphdef.Output {
			// The oracle's converter cannot load a graph without constants.
			g.ConstF32("oracle_unused", []float32{0})
			var ins []graphdef.Output
			for i, in := range inputs {
				if in.konst {
					ins = append(ins, g.Const(saInName(i), in.t))
				} else {
					ins = append(ins, g.Placeholder(saInName(i), in.t.DType, in.t.Shape))
				}
			}
			out := g.Op(op, "out", ins, attrs)
			if nout == 1 {
				return []graphdef.Output{out}
			}
			var outs []graphdef.Output
			for i := range nout {
				outs = append(outs, graphdef.Output(string(out)+":"+string(rune('0'+i))))
			}
			return outs
		},
		feeds: feeds,
	}
}

// saIn is one input of an saCase.
type saIn struct {
	t     *classify.Tensor
	konst bool
}

func saFeed(t *classify.Tensor) saIn  { return saIn{t: t} }
func saConst(t *classify.Tensor) saIn { return saIn{t: t, konst: true} }

func saInName(i int) string { return "x" + string(rune('0'+i)) }

// saRun builds and runs one node outside any graph. Inputs marked konst are
// passed to the builder as constants, as the engine does.
func saRun(op string, attrs graphdef.Attrs, inputs ...saIn) ([]*classify.Tensor, error) {
	o, in, err := saBuild(op, attrs, inputs...)
	if err != nil {
		return nil, err
	}
	return o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 4)}, in)
}

// saBuild builds one node and returns it with its run-time inputs.
func saBuild(op string, attrs graphdef.Attrs, inputs ...saIn) (Op, []*classify.Tensor, error) {
	n := saNode(op, len(inputs), attrs)
	build, ok := Lookup(op)
	if !ok {
		return nil, nil, errors.New("not registered: " + op)
	}
	consts := make([]*classify.Tensor, len(inputs))
	in := make([]*classify.Tensor, len(inputs))
	for i, x := range inputs {
		in[i] = x.t
		if x.konst {
			consts[i] = x.t
		}
	}
	o, err := build(n, consts)
	return o, in, err
}

// saNode returns the Node saRun uses, for calling a builder directly.
func saNode(op string, nin int, attrs graphdef.Attrs) *Node {
	n := &Node{Name: "node_under_test", Op: op, NumInputs: nin, Attr: map[string]*apb.AttrValue{}}
	for k, v := range attrs {
		n.Attr[k] = graphdef.Attr(v)
	}
	return n
}

// saErrCase is an input that must be refused, with the sentinel the error
// must wrap.
type saErrCase struct {
	name   string
	op     string
	attrs  graphdef.Attrs
	inputs []saIn
	want   error
	// msg is a fragment the error message must contain besides the node
	// name.
	msg string
}

func saCheckErrors(t *testing.T, cases []saErrCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := saRun(c.op, c.attrs, c.inputs...)
			if err == nil {
				t.Fatalf("no error; got %v", out)
			}
			if !errors.Is(err, c.want) {
				t.Errorf("error %q does not wrap %v", err, c.want)
			}
			if !strings.Contains(err.Error(), "node_under_test") || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q should name the node and say %q", err, c.msg)
			}
		})
	}
}

// saShapeCase is a static shape inference check: the builder sees the
// constant inputs, OutputInfo the static infos of all inputs.
type saShapeCase struct {
	name   string
	op     string
	attrs  graphdef.Attrs
	in     []classify.TensorInfo
	consts map[int]*classify.Tensor
	want   []classify.TensorInfo
	err    bool
}

func saCheckShapes(t *testing.T, cases []saShapeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := saNode(c.op, len(c.in), c.attrs)
			consts := make([]*classify.Tensor, len(c.in))
			for i, v := range c.consts {
				consts[i] = v
			}
			build, _ := Lookup(c.op)
			o, err := build(n, consts)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			s, ok := o.(Shaper)
			if !ok {
				t.Fatalf("%s does not implement Shaper", c.op)
			}
			got, err := s.OutputInfo(c.in)
			if c.err {
				if !errors.Is(err, classify.ErrInvalidGraph) {
					t.Fatalf("got %v, %v; want an error wrapping ErrInvalidGraph", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d outputs %v, want %v", len(got), got, c.want)
			}
			for i := range got {
				// nil (unknown rank) and [] (scalar) differ, so compare
				// nil-ness as well as dims.
				if got[i].DType != c.want[i].DType || (got[i].Shape == nil) != (c.want[i].Shape == nil) || !got[i].Shape.Equal(c.want[i].Shape) {
					t.Errorf("output %d: got %v %v, want %v %v", i, got[i].DType, got[i].Shape, c.want[i].DType, c.want[i].Shape)
				}
			}
		})
	}
}

func saInfo(dt classify.DType, shape ...int) classify.TensorInfo {
	return classify.TensorInfo{DType: dt, Shape: classify.Shape(append([]int{}, shape...))}
}

var saF32Info = func(shape ...int) classify.TensorInfo { return saInfo(classify.Float32, shape...) }

func TestReshapeGolden(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	cases := []goldenCase{
		saCase("reshape_3x5_neg1", "Reshape", graphdef.Attrs{"T": f32, "Tshape": i32}, 1,
			saFeed(randF32(101, -1, 1, 3, 5)), saConst(saI32([]int32{5, -1}, 2))),
		saCase("reshape_int64_shape", "Reshape", graphdef.Attrs{"T": f32, "Tshape": classify.Int64}, 1,
			saFeed(randF32(102, -1, 1, 2, 3, 4)), saConst(saI64([]int64{-1, 4}, 2))),
		saCase("reshape_fed_shape", "Reshape", graphdef.Attrs{"T": i32, "Tshape": i32}, 1,
			saFeed(saIota(2, 3, 4)), saFeed(saI32([]int32{4, 3, 2}, 3))),
		saCase("reshape_1x1_to_scalar", "Reshape", graphdef.Attrs{"T": f32, "Tshape": i32}, 1,
			saFeed(randF32(103, -1, 1, 1, 1)), saConst(saI32([]int32{}, 0))),
		saCase("reshape_bool", "Reshape", graphdef.Attrs{"T": classify.Bool, "Tshape": i32}, 1,
			saFeed(saBools(2, 3)), saConst(saI32([]int32{3, -1, 1}, 3))),
		saCase("squeeze_all", "Squeeze", graphdef.Attrs{"T": f32}, 1,
			saFeed(randF32(104, -1, 1, 1, 3, 1, 5))),
		saCase("squeeze_negative_dim", "Squeeze", graphdef.Attrs{"T": f32, "squeeze_dims": []int{-1}}, 1,
			saFeed(randF32(105, -1, 1, 1, 3, 1))),
		saCase("squeeze_1x1_scalar", "Squeeze", graphdef.Attrs{"T": i32, "squeeze_dims": []int{0, 1}}, 1,
			saFeed(saI32([]int32{42}, 1, 1))),
		saCase("expanddims_negative", "ExpandDims", graphdef.Attrs{"T": f32, "Tdim": i32}, 1,
			saFeed(randF32(106, -1, 1, 3, 5)), saConst(saI32([]int32{-1}))),
		saCase("expanddims_int64_dim", "ExpandDims", graphdef.Attrs{"T": i32, "Tdim": classify.Int64}, 1,
			saFeed(saIota(3, 5)), saConst(saI64([]int64{1}))),
		saCase("expanddims_scalar", "ExpandDims", graphdef.Attrs{"T": classify.Bool, "Tdim": i32}, 1,
			saFeed(saBool([]bool{true})), saConst(saI32([]int32{0}))),
		saCase("shape_3d", "Shape", graphdef.Attrs{"T": f32, "out_type": i32}, 1,
			saFeed(randF32(107, -1, 1, 2, 3, 4))),
		saCase("shape_int64", "Shape", graphdef.Attrs{"T": i32, "out_type": classify.Int64}, 1,
			saFeed(saIota(3, 1, 5))),
		saCase("shape_scalar", "Shape", graphdef.Attrs{"T": f32, "out_type": i32}, 1,
			saFeed(randF32(108, -1, 1))),
		saCase("shapen_two", "ShapeN", graphdef.Attrs{"T": f32, "N": 2, "out_type": i32}, 2,
			saFeed(randF32(109, -1, 1, 3, 5)), saFeed(randF32(110, -1, 1, 1, 1, 7))),
		saCase("size_3x5", "Size", graphdef.Attrs{"T": f32, "out_type": i32}, 1,
			saFeed(randF32(111, -1, 1, 3, 5))),
		saCase("rank_4d", "Rank", graphdef.Attrs{"T": classify.Bool}, 1,
			saFeed(saBools(1, 2, 1, 3))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestFlattenChainGolden runs the subgraph Keras emits for Flatten: the
// batch size is read with Shape and a shrinking StridedSlice, packed with
// -1 and used as a Reshape target.
func TestFlattenChainGolden(t *testing.T) {
	i32 := classify.Int32
	c := goldenCase{
		name: "reshape_flatten_chain",
		build: func(g *graphdef.Builder) []graphdef.Output {
			x := g.Placeholder("x", classify.Float32, classify.Shape{2, 3, 5, 2})
			s := g.Op("Shape", "shape", []saOut{x}, graphdef.Attrs{"T": classify.Float32, "out_type": i32})
			b := g.Op("StridedSlice", "batch", []saOut{s, g.ConstI32("b", []int32{0}, 1), g.ConstI32("e", []int32{1}, 1), g.ConstI32("st", []int32{1}, 1)},
				graphdef.Attrs{"T": i32, "Index": i32, "shrink_axis_mask": 1})
			p := g.Op("Pack", "pack", []saOut{b, g.ConstI32("m1", []int32{-1})}, graphdef.Attrs{"T": i32, "N": 2, "axis": 0})
			return []saOut{g.Op("Reshape", "flat", []saOut{x, p}, graphdef.Attrs{"T": classify.Float32, "Tshape": i32})}
		},
		feeds: map[string]*classify.Tensor{"x": randF32(112, -1, 1, 2, 3, 5, 2)},
	}
	runGolden(t, c)
}

func TestShapeOpsAreViews(t *testing.T) {
	x := randF32(113, -1, 1, 1, 3, 5)
	cases := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []saIn
		want  classify.Shape
	}{
		{"reshape", "Reshape", nil, []saIn{saFeed(x), saConst(saI32([]int32{5, 3}, 2))}, classify.Shape{5, 3}},
		{"reshape_fed", "Reshape", nil, []saIn{saFeed(x), saFeed(saI64([]int64{15}, 1))}, classify.Shape{15}},
		{"squeeze", "Squeeze", nil, []saIn{saFeed(x)}, classify.Shape{3, 5}},
		{"expanddims", "ExpandDims", nil, []saIn{saFeed(x), saConst(saI32([]int32{-4}))}, classify.Shape{1, 1, 3, 5}},
		{"slice_rows", "Slice", nil, []saIn{saFeed(x), saConst(saI32([]int32{0, 1, 0}, 3)), saConst(saI32([]int32{-1, 2, -1}, 3))}, classify.Shape{1, 2, 5}},
		{"concat_single", "ConcatV2", graphdef.Attrs{"N": 1}, []saIn{saFeed(x), saConst(saI32([]int32{1}))}, classify.Shape{1, 3, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := saRun(c.op, c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			got := out[0]
			if !got.Shape.Equal(c.want) {
				t.Fatalf("shape %v, want %v", got.Shape, c.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
			// A view shares the input's memory: its first element is one
			// of the input's elements.
			in, g := x.Float32s(), got.Float32s()
			shared := false
			for i := range in {
				if &in[i] == &g[0] {
					shared = true
				}
			}
			if !shared {
				t.Errorf("output does not share the input's data")
			}
			if cap(g) != len(g) {
				t.Errorf("view has capacity %d beyond its %d elements", cap(g), len(g))
			}
		})
	}
}

// TestScalarOutputsHaveEmptyShape: scalars must carry classify.Shape{},
// since a folded constant's nil shape would read as unknown rank.
func TestScalarOutputsHaveEmptyShape(t *testing.T) {
	x := randF32(115, -1, 1, 3, 5)
	for _, op := range []string{"Size", "Rank"} {
		t.Run(op, func(t *testing.T) {
			out, err := saRun(op, nil, saFeed(x))
			if err != nil {
				t.Fatal(err)
			}
			if out[0].Shape == nil || len(out[0].Shape) != 0 {
				t.Errorf("shape %#v, want an empty non-nil shape", out[0].Shape)
			}
		})
	}
}

func TestShapeErrors(t *testing.T) {
	x := randF32(114, -1, 1, 3, 5)
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	saCheckErrors(t, []saErrCase{
		{"reshape_bad_size", "Reshape", nil, []saIn{saFeed(x), saFeed(saI32([]int32{4, 4}, 2))}, inv, "15 elements"},
		{"reshape_no_fit_neg1", "Reshape", nil, []saIn{saFeed(x), saFeed(saI32([]int32{4, -1}, 2))}, inv, "cannot reshape"},
		{"reshape_two_neg1", "Reshape", nil, []saIn{saFeed(x), saConst(saI32([]int32{-1, -1}, 2))}, bad, "only one -1"},
		{"reshape_float_shape", "Reshape", nil, []saIn{saFeed(x), saConst(randF32(1, 0, 1, 2))}, bad, "int32 or int64"},
		{"squeeze_not_one", "Squeeze", graphdef.Attrs{"squeeze_dims": []int{1}}, []saIn{saFeed(x)}, inv, "not 1"},
		{"squeeze_out_of_range", "Squeeze", graphdef.Attrs{"squeeze_dims": []int{-3}}, []saIn{saFeed(x)}, inv, "out of range"},
		{"expanddims_out_of_range", "ExpandDims", nil, []saIn{saFeed(x), saFeed(saI32([]int32{3}))}, inv, "out of range"},
		{"expanddims_negative_out_of_range", "ExpandDims", nil, []saIn{saFeed(x), saFeed(saI32([]int32{-4}))}, inv, "out of range"},
		{"expanddims_vector_dim", "ExpandDims", nil, []saIn{saFeed(x), saConst(saI32([]int32{0, 1}, 2))}, bad, "scalar"},
		{"shape_float_out", "Shape", graphdef.Attrs{"out_type": classify.Float32}, []saIn{saFeed(x)}, bad, "out_type"},
	})
}

func TestShapeInference(t *testing.T) {
	f32, i32, i64 := classify.Float32, classify.Int32, classify.Int64
	unknownRank := classify.TensorInfo{DType: f32}
	saCheckShapes(t, []saShapeCase{
		{name: "reshape_const", op: "Reshape", in: []classify.TensorInfo{saF32Info(3, 5), saInfo(i32, 2)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{-1, 3}, 2)}, want: []classify.TensorInfo{saF32Info(5, 3)}},
		{name: "reshape_unknown_batch", op: "Reshape", in: []classify.TensorInfo{saF32Info(-1, 7, 7, 8), saInfo(i32, 2)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{-1, 392}, 2)}, want: []classify.TensorInfo{saF32Info(-1, 392)}},
		{name: "reshape_fed_shape", op: "Reshape", in: []classify.TensorInfo{saF32Info(3, 5), saInfo(i64, 3)},
			want: []classify.TensorInfo{saF32Info(-1, -1, -1)}},
		{name: "reshape_bad_count", op: "Reshape", in: []classify.TensorInfo{saF32Info(3, 5), saInfo(i32, 1)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{16}, 1)}, err: true},
		{name: "squeeze_all", op: "Squeeze", in: []classify.TensorInfo{saF32Info(1, 1, 1, 1001)}, want: []classify.TensorInfo{saF32Info(1001)}},
		{name: "squeeze_dims_unknown_batch", op: "Squeeze", attrs: graphdef.Attrs{"squeeze_dims": []int{1, 2}},
			in: []classify.TensorInfo{saF32Info(-1, 1, 1, 1001)}, want: []classify.TensorInfo{saF32Info(-1, 1001)}},
		{name: "squeeze_all_unknown", op: "Squeeze", in: []classify.TensorInfo{saF32Info(-1, 1, 1, 1001)}, want: []classify.TensorInfo{unknownRank}},
		{name: "squeeze_not_one", op: "Squeeze", attrs: graphdef.Attrs{"squeeze_dims": []int{0}}, in: []classify.TensorInfo{saF32Info(2, 1)}, err: true},
		{name: "expanddims", op: "ExpandDims", in: []classify.TensorInfo{saF32Info(-1, 5), saInfo(i32)},
			consts: map[int]*classify.Tensor{1: saI32([]int32{-1})}, want: []classify.TensorInfo{saF32Info(-1, 5, 1)}},
		{name: "shape", op: "Shape", in: []classify.TensorInfo{saF32Info(-1, 224, 224, 3)}, want: []classify.TensorInfo{saInfo(i32, 4)}},
		{name: "shape_int64_unknown_rank", op: "Shape", attrs: graphdef.Attrs{"out_type": i64}, in: []classify.TensorInfo{unknownRank},
			want: []classify.TensorInfo{saInfo(i64, -1)}},
		{name: "size", op: "Size", in: []classify.TensorInfo{saF32Info(2, 3)}, want: []classify.TensorInfo{saInfo(i32)}},
		{name: "rank", op: "Rank", in: []classify.TensorInfo{unknownRank}, want: []classify.TensorInfo{saInfo(i32)}},
	})
}

// TestReshapeZeroSize follows TensorFlow's reshape kernel for empty
// tensors: with a 0 in the requested shape, -1 is resolved from the
// non-zero dimensions of both shapes (issue 11: [2,0] → [2,0,-1] is
// [2,0,1], not [2,0,0]).
func TestReshapeZeroSize(t *testing.T) {
	for _, c := range []struct {
		in    classify.Shape
		shape []int32
		want  classify.Shape
		err   bool
	}{
		{classify.Shape{2, 0}, []int32{2, 0, -1}, classify.Shape{2, 0, 1}, false},
		{classify.Shape{0}, []int32{0, -1}, classify.Shape{0, 1}, false},
		{classify.Shape{3, 0, 4}, []int32{0, -1}, classify.Shape{0, 12}, false},
		{classify.Shape{0, 6}, []int32{-1, 3}, classify.Shape{0, 3}, false},
		{classify.Shape{0, 6}, []int32{-1}, classify.Shape{0}, false},
		{classify.Shape{4, 0}, []int32{0, 5}, classify.Shape{0, 5}, false},
		{classify.Shape{3}, []int32{-1, 0}, nil, true},
		{classify.Shape{2, 3}, []int32{-1, 4}, nil, true},
	} {
		x := classify.NewTensor(classify.Float32, c.in...)
		for _, konst := range []bool{false, true} {
			s := saFeed(saI32(c.shape, len(c.shape)))
			if konst {
				s = saConst(saI32(c.shape, len(c.shape)))
			}
			out, err := saRun("Reshape", nil, saFeed(x), s)
			if c.err {
				if err == nil {
					t.Errorf("%v to %v: got %v, want an error", c.in, c.shape, out[0].Shape)
				}
				continue
			}
			if err != nil {
				t.Errorf("%v to %v: %v", c.in, c.shape, err)
				continue
			}
			if !out[0].Shape.Equal(c.want) {
				t.Errorf("%v to %v: shape %v, want %v", c.in, c.shape, out[0].Shape, c.want)
			}
		}
		if !c.err {
			n := &Node{Name: "r", Op: "Reshape", NumInputs: 2}
			op, err := buildReshape(n, []*classify.Tensor{nil, saI32(c.shape, len(c.shape))})
			if err != nil {
				t.Fatal(err)
			}
			info, err := op.(Shaper).OutputInfo([]classify.TensorInfo{{DType: classify.Float32, Shape: c.in}, {DType: classify.Int32, Shape: classify.Shape{len(c.shape)}}})
			if err != nil || !info[0].Shape.Equal(c.want) {
				t.Errorf("%v to %v: static shape %v, %v; want %v", c.in, c.shape, info[0].Shape, err, c.want)
			}
		}
	}
}
