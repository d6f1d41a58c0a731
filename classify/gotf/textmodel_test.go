package gotf

import (
	"context"
	"math"
	"regexp"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/savedmodeltest"
)

// The recurrent text classifier below is shaped as tf.saved_model.save
// writes a Keras Sequential([TextVectorization, Embedding, LSTM, Dense]):
// the serving signature is a StatefulPartitionedCall into a function that
// gets the vocabulary table and every variable as resource inputs; the
// table is a HashTableV2 filled from an asset file by an _initializer
// function that __saved_model_init_op calls; the LSTM is a StatelessWhile
// over TensorLists whose body reads its kernels through resource handles
// passed as loop variables; the variables come from variables/ through the
// restore ops. What Keras adds and this model leaves out: the mask of
// mask_zero (Select in the loop), the cond's Less/LogicalAnd (the engine
// reads a nonzero int32 as true instead), and the Keras layer-call nesting.

const (
	textVocab = "the\ncat\nsat\non\nmat\ndog\n"
	textLen   = 5 // output_sequence_length
	embDim    = 4
	units     = 3
)

// textWeights are deterministic small weights of every variable, by
// checkpoint key.
func textWeights() map[string]*classify.Tensor {
	w := func(seed int, shape ...int) *classify.Tensor {
		t := classify.NewTensor(classify.Float32, shape...)
		d := t.Float32s()
		for i := range d {
			d[i] = float32(math.Sin(float64(seed*131+i*7))) * 1.5
		}
		return t
	}
	return map[string]*classify.Tensor{
		"layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE":            w(1, 8, embDim),
		"layer_with_weights-1/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE":           w(2, embDim, 4*units),
		"layer_with_weights-1/cell/recurrent_kernel/.ATTRIBUTES/VARIABLE_VALUE": w(3, units, 4*units),
		"layer_with_weights-1/cell/bias/.ATTRIBUTES/VARIABLE_VALUE":             w(4, 4*units),
		"layer_with_weights-2/kernel/.ATTRIBUTES/VARIABLE_VALUE":                w(5, units, 1),
		"layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE":                  w(6, 1),
	}
}

// textVars are the VarHandleOps of the model with their checkpoint keys
// and shapes, in the serving function's argument order.
var textVars = []struct {
	node, key string
	shape     classify.Shape
}{
	{"embedding/embeddings", "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE", classify.Shape{8, embDim}},
	{"lstm/lstm_cell/kernel", "layer_with_weights-1/cell/kernel/.ATTRIBUTES/VARIABLE_VALUE", classify.Shape{embDim, 4 * units}},
	{"lstm/lstm_cell/recurrent_kernel", "layer_with_weights-1/cell/recurrent_kernel/.ATTRIBUTES/VARIABLE_VALUE", classify.Shape{units, 4 * units}},
	{"lstm/lstm_cell/bias", "layer_with_weights-1/cell/bias/.ATTRIBUTES/VARIABLE_VALUE", classify.Shape{4 * units}},
	{"dense/kernel", "layer_with_weights-2/kernel/.ATTRIBUTES/VARIABLE_VALUE", classify.Shape{units, 1}},
	{"dense/bias", "layer_with_weights-2/bias/.ATTRIBUTES/VARIABLE_VALUE", classify.Shape{1}},
}

// punctPattern is TextVectorization's default standardization pattern.
const punctPattern = `[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_` + "`" + `{|}~']`

func typeList(ts ...tpb.DataType) *apb.AttrValue {
	return &apb.AttrValue{Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{Type: ts}}}
}

func strListAttr(s ...string) *apb.AttrValue {
	l := &apb.AttrValue_ListValue{}
	for _, x := range s {
		l.S = append(l.S, []byte(x))
	}
	return &apb.AttrValue{Value: &apb.AttrValue_List{List: l}}
}

func i64s(v ...int64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{len(v)}, Data: v}
}

// writeTextModel writes the SavedModel to dir.
func writeTextModel(t *testing.T, dir string) {
	t.Helper()
	const (
		dtF = tpb.DataType_DT_FLOAT
		dtI = tpb.DataType_DT_INT32
		dtV = tpb.DataType_DT_VARIANT
		dtR = tpb.DataType_DT_RESOURCE
	)
	b := graphdef.New()
	text := b.Placeholder("serving_default_text", classify.String, classify.Shape{-1})
	b.Op("HashTableV2", "hash_table", nil, graphdef.Attrs{"key_dtype": classify.String, "value_dtype": classify.Int64, "shared_name": "hash_table_vocab.txt_-2_-1_2"})
	for _, v := range textVars {
		b.Op("VarHandleOp", v.node, nil, graphdef.Attrs{"dtype": f32, "shape": v.shape, "shared_name": v.node})
	}

	// Restore: AssignVariableOp(handle, Identity(RestoreV2:i)).
	var keys []string
	for _, v := range textVars {
		keys = append(keys, v.key)
	}
	b.Op("RestoreV2", "RestoreV2", []O{b.Const("saver_filename", scalarStr("variables/variables")), b.Const("RestoreV2/tensor_names", strTensor(keys...)),
		b.Const("RestoreV2/shape_and_slices", strTensor(make([]string, len(keys))...))}, graphdef.Attrs{"dtypes": typeList(dtF, dtF, dtF, dtF, dtF, dtF)})
	for i, v := range textVars {
		id := b.Op("Identity", "Identity_"+string(rune('a'+i)), []O{O("RestoreV2:" + string(rune('0'+i)))}, graphdef.Attrs{"T": f32})
		b.Op("AssignVariableOp", "AssignVariableOp_"+string(rune('a'+i)), []O{O(v.node), id}, graphdef.Attrs{"dtype": f32})
	}

	// Init: the table's _initializer reads the asset file.
	init := graphdef.New()
	init.Op("InitializeTableFromTextFileV2", "text_file_init", []O{"table", "filename"},
		graphdef.Attrs{"key_index": -2, "value_index": -1, "vocab_size": -1, "delimiter": "\t", "offset": 2})
	init.Op("Identity", "Identity", []O{init.ConstI32("Const", []int32{1}), "^text_file_init"}, graphdef.Attrs{"T": i32})
	b.Function("__inference__initializer_8", []graphdef.Arg{arg("table", vnt), arg("filename", classify.String)}, []graphdef.Arg{arg("identity", i32)}, init, []string{"Identity:output:0"})
	asset := b.Const("asset_path_initializer", scalarStr("vocab.txt"))
	b.Op("StatefulPartitionedCall", "StatefulPartitionedCall", []O{"hash_table", asset}, graphdef.Attrs{"f": graphdef.Func("__inference__initializer_8")})
	b.Op("NoOp", "NoOp", []O{"^StatefulPartitionedCall"}, nil)

	// The LSTM loop: cond and body.
	loopArgs := []graphdef.Arg{arg("loop_counter", i32), arg("max_iterations", i32), arg("time", i32), arg("ta_out", vnt), arg("h", f32), arg("c", f32),
		arg("ta_in", vnt), arg("kernel", vnt), arg("recurrent_kernel", vnt), arg("bias", vnt)}
	cond := graphdef.New()
	cond.Op("Sub", "left", []O{"max_iterations", "loop_counter"}, graphdef.Attrs{"T": i32})
	b.Function("while_cond_100", loopArgs, []graphdef.Arg{arg("left", i32)}, cond, []string{"left:z:0"})
	body := graphdef.New()
	body.Op("TensorListGetItem", "x_t", []O{"ta_in", "time", body.ConstI32("elem_shape", []int32{-1, embDim}, 2)}, graphdef.Attrs{"element_dtype": f32})
	for _, v := range []string{"kernel", "recurrent_kernel", "bias"} {
		body.Op("ReadVariableOp", v+"/read", []O{O(v)}, graphdef.Attrs{"dtype": f32})
	}
	body.Op("MatMul", "xk", []O{"x_t:item:0", "kernel/read:value:0"}, graphdef.Attrs{"T": f32})
	body.Op("MatMul", "hk", []O{"h", "recurrent_kernel/read:value:0"}, graphdef.Attrs{"T": f32})
	body.Op("AddV2", "z0", []O{"xk:product:0", "hk:product:0"}, graphdef.Attrs{"T": f32})
	body.Op("BiasAdd", "z", []O{"z0:z:0", "bias/read:value:0"}, graphdef.Attrs{"T": f32})
	body.Op("Split", "gates", []O{body.ConstI32("split_dim", []int32{1}), "z:output:0"}, graphdef.Attrs{"T": f32, "num_split": 4})
	body.Op("Sigmoid", "i", []O{"gates:output:0"}, graphdef.Attrs{"T": f32})
	body.Op("Sigmoid", "f", []O{"gates:output:1"}, graphdef.Attrs{"T": f32})
	body.Op("Tanh", "g", []O{"gates:output:2"}, graphdef.Attrs{"T": f32})
	body.Op("Sigmoid", "o", []O{"gates:output:3"}, graphdef.Attrs{"T": f32})
	body.Op("Mul", "fc", []O{"f:y:0", "c"}, graphdef.Attrs{"T": f32})
	body.Op("Mul", "ig", []O{"i:y:0", "g:y:0"}, graphdef.Attrs{"T": f32})
	body.Op("AddV2", "c_next", []O{"fc:z:0", "ig:z:0"}, graphdef.Attrs{"T": f32})
	body.Op("Tanh", "tc", []O{"c_next:z:0"}, graphdef.Attrs{"T": f32})
	body.Op("Mul", "h_next", []O{"o:y:0", "tc:y:0"}, graphdef.Attrs{"T": f32})
	body.Op("TensorListSetItem", "ta_next", []O{"ta_out", "time", "h_next:z:0"}, graphdef.Attrs{"element_dtype": f32})
	one := body.ConstI32("one", []int32{1})
	body.Op("AddV2", "counter_next", []O{"loop_counter", one}, graphdef.Attrs{"T": i32})
	body.Op("AddV2", "time_next", []O{"time", one}, graphdef.Attrs{"T": i32})
	var outArgs []graphdef.Arg
	for _, a := range loopArgs {
		outArgs = append(outArgs, arg(a.Name+"_out", a.DType))
	}
	b.Function("while_body_101", loopArgs, outArgs, body, []string{"counter_next:z:0", "max_iterations", "time_next:z:0", "ta_next:output_handle:0",
		"h_next:z:0", "c_next:z:0", "ta_in", "kernel", "recurrent_kernel", "bias"})

	// The serving function.
	serveArgs := []graphdef.Arg{arg("text", classify.String), arg("table", vnt)}
	for _, v := range textVars {
		serveArgs = append(serveArgs, arg(strings.ReplaceAll(v.node, "/", "_"), vnt))
	}
	s := graphdef.New()
	s.Op("StringLower", "lower", []O{"text"}, graphdef.Attrs{"encoding": ""})
	s.Op("StaticRegexReplace", "clean", []O{"lower:output:0"}, graphdef.Attrs{"pattern": punctPattern, "rewrite": "", "replace_global": true})
	s.Op("StringSplitV2", "split", []O{"clean:output:0", s.Const("sep", scalarStr(""))}, graphdef.Attrs{"maxsplit": -1})
	s.Op("StridedSlice", "rowids", []O{"split:indices:0", s.ConstI32("rb", []int32{0, 0}, 2), s.ConstI32("re", []int32{0, 1}, 2), s.ConstI32("rs", []int32{1, 1}, 2)},
		graphdef.Attrs{"T": classify.Int64, "Index": i32, "begin_mask": 1, "end_mask": 1, "shrink_axis_mask": 2})
	s.Op("StridedSlice", "nrows", []O{"split:shape:0", s.ConstI32("nb", []int32{0}, 1), s.ConstI32("ne", []int32{1}, 1), s.ConstI32("ns", []int32{1}, 1)},
		graphdef.Attrs{"T": classify.Int64, "Index": i32, "shrink_axis_mask": 1})
	s.Op("LookupTableFindV2", "ids", []O{"table", "split:values:0", s.Const("oov", scalarI64(1))}, graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	s.Op("RaggedTensorToTensor", "dense_ids", []O{s.Const("out_shape", i64s(-1, textLen)), "ids:values:0", s.Const("pad", scalarI64(0)), "nrows:output:0", "rowids:output:0"},
		graphdef.Attrs{"T": classify.Int64, "Tindex": classify.Int64, "Tshape": classify.Int64, "num_row_partition_tensors": 2,
			"row_partition_types": strListAttr("FIRST_DIM_SIZE", "VALUE_ROWIDS")})
	s.Op("ResourceGather", "embedded", []O{"embedding_embeddings", "dense_ids:result:0"}, graphdef.Attrs{"dtype": f32, "Tindices": classify.Int64})
	s.Op("Transpose", "time_major", []O{"embedded:output:0", s.ConstI32("perm", []int32{1, 0, 2}, 3)}, graphdef.Attrs{"T": f32, "Tperm": i32})
	s.Op("TensorListFromTensor", "ta_in", []O{"time_major:y:0", s.ConstI32("in_shape", []int32{-1, embDim}, 2)}, graphdef.Attrs{"element_dtype": f32, "shape_type": i32})
	s.Op("TensorListReserve", "ta_out", []O{s.ConstI32("out_elem", []int32{-1, units}, 2), s.ConstI32("steps", []int32{textLen})}, graphdef.Attrs{"element_dtype": f32, "shape_type": i32})
	s.Op("Shape", "batch_shape", []O{"text"}, graphdef.Attrs{"T": classify.String, "out_type": i32})
	s.Op("StridedSlice", "batch", []O{"batch_shape:output:0", s.ConstI32("bb", []int32{0}, 1), s.ConstI32("be", []int32{1}, 1), s.ConstI32("bs", []int32{1}, 1)},
		graphdef.Attrs{"T": i32, "Index": i32, "shrink_axis_mask": 1})
	s.Op("Pack", "state_shape", []O{"batch:output:0", s.ConstI32("units", []int32{units})}, graphdef.Attrs{"T": i32, "N": 2, "axis": 0})
	s.Op("Fill", "zeros", []O{"state_shape:output:0", s.ConstF32("zero", []float32{0})}, graphdef.Attrs{"T": f32, "index_type": i32})
	zero := s.ConstI32("start", []int32{0})
	s.Op("StatelessWhile", "lstm/while", []O{zero, s.ConstI32("max_iter", []int32{textLen}), zero, "ta_out:handle:0", "zeros:output:0", "zeros:output:0", "ta_in:output_handle:0",
		"lstm_lstm_cell_kernel", "lstm_lstm_cell_recurrent_kernel", "lstm_lstm_cell_bias"},
		graphdef.Attrs{"cond": graphdef.Func("while_cond_100"), "body": graphdef.Func("while_body_101"), "T": typeList(dtI, dtI, dtI, dtV, dtF, dtF, dtV, dtR, dtR, dtR), "parallel_iterations": 32})
	s.Op("ReadVariableOp", "dense/kernel/read", []O{"dense_kernel"}, graphdef.Attrs{"dtype": f32})
	s.Op("ReadVariableOp", "dense/bias/read", []O{"dense_bias"}, graphdef.Attrs{"dtype": f32})
	s.Op("MatMul", "logits0", []O{"lstm/while:output:4", "dense/kernel/read:value:0"}, graphdef.Attrs{"T": f32})
	s.Op("BiasAdd", "logits", []O{"logits0:product:0", "dense/bias/read:value:0"}, graphdef.Attrs{"T": f32})
	s.Op("Sigmoid", "prob", []O{"logits:output:0"}, graphdef.Attrs{"T": f32})
	s.Op("Identity", "Identity", []O{"prob:y:0"}, graphdef.Attrs{"T": f32})
	b.Function("__inference_serve_200", serveArgs, []graphdef.Arg{arg("identity", f32)}, s, []string{"Identity:output:0"})
	callIn := []O{text, "hash_table"}
	for _, v := range textVars {
		callIn = append(callIn, O(v.node))
	}
	b.Op("StatefulPartitionedCall", "StatefulPartitionedCall_1", callIn, graphdef.Attrs{"f": graphdef.Func("__inference_serve_200")})

	// Handles are DT_RESOURCE in TensorFlow's function signatures.
	for _, f := range b.GraphDef().GetLibrary().GetFunction() {
		for _, a := range append(f.GetSignature().GetInputArg(), f.GetSignature().GetOutputArg()...) {
			if a.GetType() == dtV && !strings.HasPrefix(a.GetName(), "ta_") {
				a.Type = dtR
			}
		}
	}
	err := savedmodeltest.Model{
		GraphDef: b.GraphDef(),
		Signatures: []savedmodeltest.Signature{{
			Key:     "serving_default",
			Inputs:  []savedmodeltest.Tensor{{Key: "text", Name: "serving_default_text:0", DType: classify.String, Shape: classify.Shape{-1}}},
			Outputs: []savedmodeltest.Tensor{{Key: "output_0", Name: "StatefulPartitionedCall_1:0", DType: f32, Shape: classify.Shape{-1, 1}}},
		}, {
			Key:     "__saved_model_init_op",
			Outputs: []savedmodeltest.Tensor{{Key: "__saved_model_init_op", Name: "NoOp", Shape: classify.Shape{}}},
		}},
		Assets:    map[string]savedmodeltest.Asset{"asset_path_initializer:0": {File: "vocab.txt", Contents: []byte(textVocab)}},
		Variables: textWeights(),
	}.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
}

// textReference computes the model in plain Go: TextVectorization
// (lowercase, strip punctuation, split on whitespace, vocabulary ids with
// 0 padding and 1 for unknown words, padded or cut to textLen), the
// embedding, the Keras LSTM cell (gates i, f, c, o from x·K + h·R + b;
// c' = σ(f)c + σ(i)tanh(g); h' = σ(o)tanh(c')) and the sigmoid dense layer.
func textReference(texts []string) []float64 {
	w := textWeights()
	vocab := map[string]int{}
	for i, tok := range strings.Split(strings.TrimSuffix(textVocab, "\n"), "\n") {
		vocab[tok] = i + 2
	}
	punct := regexp.MustCompile(punctPattern)
	at := func(t *classify.Tensor, i, j int) float64 { return float64(t.Float32s()[i*t.Shape[1]+j]) }
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	emb, k := w[textVars[0].key], w[textVars[1].key]
	r, bias := w[textVars[2].key], w[textVars[3].key]
	dk, db := w[textVars[4].key], w[textVars[5].key]
	var out []float64
	for _, s := range texts {
		toks := strings.Fields(punct.ReplaceAllString(strings.ToLower(s), ""))
		ids := make([]int, textLen)
		for i := range min(len(toks), textLen) {
			if id, ok := vocab[toks[i]]; ok {
				ids[i] = id
			} else {
				ids[i] = 1
			}
		}
		h, c := make([]float64, units), make([]float64, units)
		for _, id := range ids {
			z := make([]float64, 4*units)
			for j := range z {
				z[j] = float64(bias.Float32s()[j])
				for e := range embDim {
					z[j] += at(emb, id, e) * at(k, e, j)
				}
				for u := range units {
					z[j] += h[u] * at(r, u, j)
				}
			}
			for u := range units {
				c[u] = sig(z[units+u])*c[u] + sig(z[u])*math.Tanh(z[2*units+u])
				h[u] = sig(z[3*units+u]) * math.Tanh(c[u])
			}
		}
		logit := float64(db.Float32s()[0])
		for u := range units {
			logit += h[u] * at(dk, u, 0)
		}
		out = append(out, sig(logit))
	}
	return out
}

var textInputs = []string{"The cat sat on the mat.", "A DOG!", "", "the dog, the cat, the mat, the end and more words"}

func TestRecurrentTextModel(t *testing.T) {
	dir := t.TempDir()
	writeTextModel(t, dir)
	ctx := context.Background()
	m, err := OpenSavedModel(ctx, dir, SavedModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Run(ctx, map[string]*classify.Tensor{"text": strTensor(textInputs...)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := textReference(textInputs)
	got := out[0].Float32s()
	if !out[0].Shape.Equal(classify.Shape{len(textInputs), 1}) {
		t.Fatalf("output shape %v", out[0].Shape)
	}
	t.Logf("got %v, reference %v", got, want)
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-5 {
			t.Errorf("%q: %v, Go reference %v", textInputs[i], got[i], want[i])
		}
	}
	// The frozen form of the signature (tables imported from constants at
	// load, handles into the loop turned into constants) computes the
	// same, after a binary round trip.
	gd, err := FreezeSavedModel(ctx, dir, nil, "serving_default")
	if err != nil {
		t.Fatal(err)
	}
	opsIn := map[string]int{}
	for _, n := range gd.GetNode() {
		opsIn[n.GetOp()]++
		if strings.Contains(n.GetOp(), "Variable") || n.GetOp() == "RestoreV2" {
			t.Errorf("node %q (%s) left in the frozen graph", n.GetName(), n.GetOp())
		}
	}
	if opsIn["StatelessWhile"] != 1 || opsIn["LookupTableImportV2"] != 1 || opsIn["HashTableV2"] != 1 {
		t.Errorf("frozen graph ops %v: want the loop, the table and its import", opsIn)
	}
	if fs := gd.GetLibrary().GetFunction(); len(fs) != 2 {
		t.Errorf("frozen graph has %d functions, want the loop's cond and body", len(fs))
	}
	data, err := proto.Marshal(gd)
	if err != nil {
		t.Fatal(err)
	}
	gd2, err := ParseGraphDef(data, false)
	if err != nil {
		t.Fatal(err)
	}
	fm, err := OpenGraph(ctx, gd2, classify.OpenOptions{Inputs: []string{"serving_default_text:0"}, Outputs: []string{"StatefulPartitionedCall_1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	fout, err := fm.Run(ctx, map[string]*classify.Tensor{"serving_default_text:0": strTensor(textInputs...)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range fout[0].Float32s() {
		if math.Abs(float64(v-got[i])) > 1e-6 {
			t.Errorf("%q: frozen graph %v, SavedModel %v", textInputs[i], v, got[i])
		}
	}
	// Different texts must give different answers, or the test proves
	// little.
	if math.Abs(want[0]-want[1]) < 1e-3 {
		t.Errorf("reference gives %v and %v: the weights do not separate the inputs", want[0], want[1])
	}
}
