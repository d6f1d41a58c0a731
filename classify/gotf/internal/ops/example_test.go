package ops

import (
	"errors"
	"reflect"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	spb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/savedmodel"
)

func strTensor(s ...string) *classify.Tensor {
	t := classify.NewTensor(classify.String, len(s))
	for i, x := range s {
		t.Data.([][]byte)[i] = []byte(x)
	}
	return t
}

func TestParseExample(t *testing.T) {
	exs, err := savedmodel.ParseExamples(`[{"x":[1.0],"n":[7]},{"x":[2.5]}]`)
	if err != nil {
		t.Fatal(err)
	}
	dims := &apb.AttrValue_ListValue{Shape: []*spb.TensorShapeProto{{Dim: []*spb.TensorShapeProto_Dim{{Size: 1}}}, {Dim: []*spb.TensorShapeProto_Dim{{Size: 1}}}}}
	n := &Node{Name: "pe", Op: "ParseExample", NumInputs: 6, Attr: map[string]*apb.AttrValue{
		"Ndense":       {Value: &apb.AttrValue_I{I: 2}},
		"Nsparse":      {Value: &apb.AttrValue_I{I: 0}},
		"Tdense":       {Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{Type: []tpb.DataType{tpb.DataType_DT_FLOAT, tpb.DataType_DT_INT64}}}},
		"dense_shapes": {Value: &apb.AttrValue_List{List: dims}},
	}}
	noDefault := classify.NewTensor(classify.Float32, 0)
	nDefault := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{1}, Data: []int64{-1}}
	scalar := func(s string) *classify.Tensor {
		return &classify.Tensor{DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{[]byte(s)}}
	}
	consts := []*classify.Tensor{nil, nil, scalar("x"), scalar("n"), noDefault, nDefault}
	op, err := buildParseExample(false)(n, consts)
	if err != nil {
		t.Fatal(err)
	}
	ser := &classify.Tensor{DType: classify.String, Shape: classify.Shape{2}, Data: exs}
	in := []*classify.Tensor{ser, strTensor(), consts[2], consts[3], noDefault, nDefault}
	out, err := op.Run(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	if x := out[0].Float32s(); !out[0].Shape.Equal(classify.Shape{2, 1}) || x[0] != 1 || x[1] != 2.5 {
		t.Errorf("x = %v %v, want [2 1] [1 2.5]", out[0].Shape, x)
	}
	if v := out[1].Int64s(); v[0] != 7 || v[1] != -1 {
		t.Errorf("n = %v, want [7 -1] (the default fills the missing feature)", v)
	}
	// x has no default: an example without it is an input error.
	missing, _ := savedmodel.ParseExamples(`[{"n":[1]}]`)
	in[0] = &classify.Tensor{DType: classify.String, Shape: classify.Shape{1}, Data: missing}
	if _, err := op.Run(nil, in); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("missing required feature: %v", err)
	}
	in[0] = &classify.Tensor{DType: classify.String, Shape: classify.Shape{1}, Data: [][]byte{{0x0a, 0xff}}}
	if _, err := op.Run(nil, in); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("malformed example: %v", err)
	}
}

// sparseParser builds a ParseExampleV2 with a float sparse feature "ft", a
// string sparse feature "tags", a float dense feature "x" (default 0) and
// an int64 ragged feature "ids" with int32 row splits.
func sparseParser(t testing.TB) (Op, []*classify.Tensor) {
	types := func(ts ...tpb.DataType) *apb.AttrValue {
		return &apb.AttrValue{Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{Type: ts}}}
	}
	n := &Node{Name: "pe2", Op: "ParseExampleV2", NumInputs: 6, Attr: map[string]*apb.AttrValue{
		"num_sparse":         {Value: &apb.AttrValue_I{I: 2}},
		"sparse_types":       types(tpb.DataType_DT_FLOAT, tpb.DataType_DT_STRING),
		"Tdense":             types(tpb.DataType_DT_FLOAT),
		"dense_shapes":       {Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{Shape: []*spb.TensorShapeProto{{}}}}},
		"ragged_value_types": types(tpb.DataType_DT_INT64),
		"ragged_split_types": types(tpb.DataType_DT_INT32),
	}}
	def := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{0}}
	consts := []*classify.Tensor{nil, nil, strTensor("ft", "tags"), strTensor("x"), strTensor("ids"), def}
	op, err := buildParseExample(true)(n, consts)
	if err != nil {
		t.Fatal(err)
	}
	return op, consts
}

// The example of tf.io.parse_example's documentation: a VarLenFeature "ft"
// over three examples, the second without it, gives indices
// [[0,0],[0,1],[2,0]], values [1,2,3] and dense_shape [3,2]. A ragged
// feature gives values and row splits the same way.
func TestParseExampleSparseRagged(t *testing.T) {
	exs, err := savedmodel.ParseExamples(`[{"ft":[1.0,2.0],"tags":["a"],"ids":[4,5,6]},{"x":[9.5]},{"ft":[3.0],"tags":["b","c"],"ids":[7]}]`)
	if err != nil {
		t.Fatal(err)
	}
	op, consts := sparseParser(t)
	in := append([]*classify.Tensor{{DType: classify.String, Shape: classify.Shape{3}, Data: exs}, strTensor()}, consts[2:]...)
	out, err := op.Run(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 9 {
		t.Fatalf("%d outputs, want 2×3 sparse + 1 dense + 2 ragged", len(out))
	}
	if got := out[0].Int64s(); !out[0].Shape.Equal(classify.Shape{3, 2}) || !reflect.DeepEqual(got, []int64{0, 0, 0, 1, 2, 0}) {
		t.Errorf("ft indices = %v %v", out[0].Shape, got)
	}
	if got := out[2].Float32s(); !reflect.DeepEqual(got, []float32{1, 2, 3}) {
		t.Errorf("ft values = %v", got)
	}
	if got := out[4].Int64s(); !reflect.DeepEqual(got, []int64{3, 2}) {
		t.Errorf("ft dense_shape = %v", got)
	}
	if got := out[1].Int64s(); !reflect.DeepEqual(got, []int64{0, 0, 2, 0, 2, 1}) {
		t.Errorf("tags indices = %v", got)
	}
	if got := out[3].Data.([][]byte); len(got) != 3 || string(got[2]) != "c" {
		t.Errorf("tags values = %q", got)
	}
	if got := out[5].Int64s(); !reflect.DeepEqual(got, []int64{3, 2}) {
		t.Errorf("tags dense_shape = %v", got)
	}
	if got := out[6].Float32s(); !reflect.DeepEqual(got, []float32{0, 9.5, 0}) {
		t.Errorf("dense x = %v", got)
	}
	if got := out[7].Int64s(); !reflect.DeepEqual(got, []int64{4, 5, 6, 7}) {
		t.Errorf("ragged values = %v", got)
	}
	if got := out[8].Int32s(); !reflect.DeepEqual(got, []int32{0, 3, 3, 4}) {
		t.Errorf("ragged row splits = %v", got)
	}
	// An int64 list where a float sparse feature is declared.
	bad, _ := savedmodel.ParseExamples(`[{"ft":[1]}]`)
	in[0] = &classify.Tensor{DType: classify.String, Shape: classify.Shape{1}, Data: bad}
	if _, err := op.Run(nil, in); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("type mismatch: %v", err)
	}
	// ParseExample (v1) takes one key input per sparse feature.
	n := &Node{Name: "pe", Op: "ParseExample", NumInputs: 3, Attr: map[string]*apb.AttrValue{
		"Nsparse":      {Value: &apb.AttrValue_I{I: 1}},
		"sparse_types": {Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{Type: []tpb.DataType{tpb.DataType_DT_FLOAT}}}},
	}}
	v1, err := buildParseExample(false)(n, []*classify.Tensor{nil, nil, scalarOf(strTensor("ft"))})
	if err != nil {
		t.Fatal(err)
	}
	out, err = v1.Run(nil, []*classify.Tensor{{DType: classify.String, Shape: classify.Shape{3}, Data: exs}, strTensor(), scalarOf(strTensor("ft"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || !reflect.DeepEqual(out[0].Int64s(), []int64{0, 0, 0, 1, 2, 0}) || !reflect.DeepEqual(out[2].Int64s(), []int64{3, 2}) {
		t.Errorf("v1 sparse = %v", out)
	}
}

// FuzzParseExampleSparse feeds arbitrary bytes as serialized examples to
// the sparse/ragged/dense parser: it may refuse them, never panic, and
// what it returns is consistent.
func FuzzParseExampleSparse(f *testing.F) {
	exs, _ := savedmodel.ParseExamples(`[{"ft":[1.0,2.0],"tags":["a"],"ids":[4,5,6],"x":[1.5]}]`)
	f.Add(exs[0])
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00})
	f.Add([]byte{0x0a, 0xff})
	op, consts := sparseParser(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]*classify.Tensor{{DType: classify.String, Shape: classify.Shape{2}, Data: [][]byte{b, b}}, strTensor()}, consts[2:]...)
		out, err := op.Run(nil, in)
		if err != nil {
			if !errors.Is(err, classify.ErrInvalidInput) {
				t.Fatalf("error not an input error: %v", err)
			}
			return
		}
		for k := range 2 {
			if n := out[2+k].Len(); out[k].Len() != 2*n {
				t.Fatalf("sparse %d: %d indices for %d values", k, out[k].Len(), n)
			}
		}
		if s := out[8].Int32s(); int(s[2]) != out[7].Len() {
			t.Fatalf("row splits %v for %d values", s, out[7].Len())
		}
		// What feature columns do next with the sparse "ft": must accept
		// anything the parser gives.
		zero := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{0}}
		filled, err := runAttrOp(t, "SparseFillEmptyRows", nil, out[0], out[2], out[4], zero)
		if err != nil {
			t.Fatal(err)
		}
		if rows := filled[2].Len(); rows != 2 || filled[0].Shape[0] < rows {
			t.Fatalf("filled %v for %d rows", filled[0].Shape, rows)
		}
		if _, err := runAttrOp(t, "SparseReshape", nil, out[0], out[4], &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{1}, Data: []int64{-1}}); err != nil && out[2].Len() > 0 {
			t.Fatal(err)
		}
	})
}
