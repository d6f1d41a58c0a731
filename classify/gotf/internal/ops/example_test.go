package ops

import (
	"errors"
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
