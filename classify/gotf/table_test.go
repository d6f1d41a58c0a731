package gotf

import (
	"context"
	"errors"
	"reflect"
	"testing"

	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/savedmodeltest"
)

func strTensor(s ...string) *classify.Tensor {
	t := classify.NewTensor(classify.String, len(s))
	for i, x := range s {
		t.Data.([][]byte)[i] = []byte(x)
	}
	return t
}

func scalarStr(s string) *classify.Tensor {
	return &classify.Tensor{DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{[]byte(s)}}
}

func scalarI64(v int64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{v}}
}

// lookupSig is the signature of the vocabulary models below: words in,
// ids out.
func lookupSig(out string) savedmodeltest.Signature {
	return savedmodeltest.Signature{
		Key:     "serving_default",
		Inputs:  []savedmodeltest.Tensor{{Key: "words", Name: "words:0", DType: classify.String, Shape: classify.Shape{-1}}},
		Outputs: []savedmodeltest.Tensor{{Key: "ids", Name: out, DType: classify.Int64, Shape: classify.Shape{-1}}},
	}
}

func runIDs(t *testing.T, dir string, words ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	m, err := OpenSavedModel(ctx, dir, SavedModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out, err := m.Run(ctx, map[string]*classify.Tensor{"words": strTensor(words...)}, []string{"ids"})
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Int64s()
}

// TF1's index_table_from_file: a HashTableV2 filled from an asset file by
// InitializeTableFromTextFileV2 (word → line number), run by
// legacy_init_op through tf.group's NoOp.
func TestSavedModelVocabFileTF1(t *testing.T) {
	b := graphdef.New()
	words := b.Placeholder("words", classify.String, classify.Shape{-1})
	b.Op("HashTableV2", "string_to_index/hash_table", nil, graphdef.Attrs{"key_dtype": classify.String, "value_dtype": classify.Int64, "shared_name": "hash_table_vocab.txt_-2_-1"})
	asset := b.Const("string_to_index/asset_path", scalarStr("vocab.txt"))
	b.Op("InitializeTableFromTextFileV2", "string_to_index/hash_table/table_init", []graphdef.Output{"string_to_index/hash_table", asset},
		graphdef.Attrs{"key_index": -2, "value_index": -1, "vocab_size": -1, "delimiter": "\t"})
	b.Op("NoOp", "init_all_tables", []graphdef.Output{"^string_to_index/hash_table/table_init"}, nil)
	b.Op("NoOp", "legacy_init_op", []graphdef.Output{"^init_all_tables"}, nil)
	b.Op("LookupTableFindV2", "ids", []graphdef.Output{"string_to_index/hash_table", words, b.Const("default", scalarI64(-1))}, graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	dir := t.TempDir()
	err := savedmodeltest.Model{
		GraphDef:    b.GraphDef(),
		Signatures:  []savedmodeltest.Signature{lookupSig("ids:0")},
		Collections: map[string][]string{"legacy_init_op": {"legacy_init_op"}},
		Assets:      map[string]savedmodeltest.Asset{"string_to_index/asset_path:0": {File: "vocab.txt", Contents: []byte("the\nquick\nbrown\nfox\n")}},
	}.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := runIDs(t, dir, "fox", "the", "dog", "brown"); !reflect.DeepEqual(got, []int64{3, 0, -1, 2}) {
		t.Errorf("ids = %v, want [3 0 -1 2]", got)
	}
}

// TF2's StaticHashTable (Keras StringLookup built with a vocabulary): the
// table op sits in the exported graph, its _initializer function imports
// the keys and values and is called from __saved_model_init_op, and the
// serving function gets the table handle as a captured resource input.
func TestSavedModelStaticTableTF2(t *testing.T) {
	b := graphdef.New()
	words := b.Placeholder("words", classify.String, classify.Shape{-1})
	b.Op("HashTableV2", "hash_table", nil, graphdef.Attrs{"key_dtype": classify.String, "value_dtype": classify.Int64, "shared_name": "hash_table_4f1c"})
	res := classify.Variant // retyped to DT_RESOURCE below

	init := graphdef.New()
	init.Op("LookupTableImportV2", "LookupTableImportV2", []graphdef.Output{"table", init.Const("keys", strTensor("a", "b", "c")), init.Const("values", &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{3}, Data: []int64{2, 3, 4}})},
		graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	init.Op("Const", "Const_1", nil, graphdef.Attrs{"dtype": classify.Int32, "value": &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{1}}})
	init.Op("Identity", "Identity", []graphdef.Output{"Const_1:output:0", "^LookupTableImportV2"}, graphdef.Attrs{"T": classify.Int32})
	b.Function("__inference__initializer_21", []graphdef.Arg{{Name: "table", DType: res}}, []graphdef.Arg{{Name: "identity", DType: classify.Int32}}, init, []string{"Identity:output:0"})
	b.Op("StatefulPartitionedCall", "StatefulPartitionedCall", []graphdef.Output{"hash_table"}, graphdef.Attrs{"f": graphdef.Func("__inference__initializer_21")})
	b.Op("NoOp", "NoOp", []graphdef.Output{"^StatefulPartitionedCall"}, nil)

	serve := graphdef.New()
	serve.Op("LookupTableFindV2", "find", []graphdef.Output{"table", "inputs", serve.Const("default", scalarI64(1))}, graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	serve.Op("Identity", "Identity", []graphdef.Output{"find:values:0"}, graphdef.Attrs{"T": classify.Int64})
	b.Function("__inference_serve_42", []graphdef.Arg{{Name: "inputs", DType: classify.String}, {Name: "table", DType: res}}, []graphdef.Arg{{Name: "identity", DType: classify.Int64}}, serve, []string{"Identity:output:0"})
	b.Op("StatefulPartitionedCall", "StatefulPartitionedCall_1", []graphdef.Output{words, "hash_table"}, graphdef.Attrs{"f": graphdef.Func("__inference_serve_42")})
	for _, f := range b.GraphDef().GetLibrary().GetFunction() {
		for _, a := range f.GetSignature().GetInputArg() {
			if a.GetName() == "table" {
				a.Type = tpb.DataType_DT_RESOURCE
			}
		}
	}
	dir := t.TempDir()
	init0 := savedmodeltest.Signature{Key: "__saved_model_init_op", Outputs: []savedmodeltest.Tensor{{Key: "__saved_model_init_op", Name: "NoOp", DType: classify.Invalid, Shape: classify.Shape{}}}}
	if err := (savedmodeltest.Model{GraphDef: b.GraphDef(), Signatures: []savedmodeltest.Signature{lookupSig("StatefulPartitionedCall_1:0"), init0}}).Write(dir); err != nil {
		t.Fatal(err)
	}
	if got := runIDs(t, dir, "c", "zz", "a"); !reflect.DeepEqual(got, []int64{4, 1, 2}) {
		t.Errorf("ids = %v, want [4 1 2]", got)
	}
}

// Keras StringLookup after adapt() keeps a MutableHashTable, saved as two
// checkpoint entries its restore function imports with
// LookupTableImportV2(table, RestoreV2:0, RestoreV2:1).
func TestSavedModelRestoredTable(t *testing.T) {
	b := graphdef.New()
	words := b.Placeholder("words", classify.String, classify.Shape{-1})
	b.Op("MutableHashTableV2", "table", nil, graphdef.Attrs{"key_dtype": classify.String, "value_dtype": classify.Int64, "shared_name": "table_9"})
	names := b.Const("saver/tensor_names", strTensor("layer/.ATTRIBUTES/table-keys", "layer/.ATTRIBUTES/table-values"))
	b.Op("RestoreV2", "saver/RestoreV2", []graphdef.Output{b.Const("saver/prefix", scalarStr("variables/variables")), names, b.Const("saver/slices", strTensor("", ""))},
		graphdef.Attrs{"dtypes": []classify.DType{classify.String, classify.Int64}})
	b.Op("Identity", "saver/Identity", []graphdef.Output{"saver/RestoreV2:1"}, graphdef.Attrs{"T": classify.Int64})
	b.Op("LookupTableImportV2", "saver/restore_table", []graphdef.Output{"table", "saver/RestoreV2", "saver/Identity", "^saver/RestoreV2"}, graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	b.Op("LookupTableFindV2", "ids", []graphdef.Output{"table", words, b.Const("default", scalarI64(0))}, graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	dir := t.TempDir()
	err := savedmodeltest.Model{
		GraphDef:   b.GraphDef(),
		Signatures: []savedmodeltest.Signature{lookupSig("ids:0")},
		Variables: map[string]*classify.Tensor{
			"layer/.ATTRIBUTES/table-keys":   strTensor("[UNK]", "good", "bad"),
			"layer/.ATTRIBUTES/table-values": {DType: classify.Int64, Shape: classify.Shape{3}, Data: []int64{1, 2, 3}},
		},
	}.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := runIDs(t, dir, "bad", "good", "ugly"); !reflect.DeepEqual(got, []int64{3, 2, 0}) {
		t.Errorf("ids = %v, want [3 2 0]", got)
	}
}

// A table no init op fills fails the request with an error that says so.
func TestSavedModelTableNotInitialized(t *testing.T) {
	b := graphdef.New()
	words := b.Placeholder("words", classify.String, classify.Shape{-1})
	b.Op("HashTableV2", "table", nil, graphdef.Attrs{"key_dtype": classify.String, "value_dtype": classify.Int64})
	b.Op("LookupTableFindV2", "ids", []graphdef.Output{"table", words, b.Const("default", scalarI64(0))}, nil)
	dir := t.TempDir()
	if err := (savedmodeltest.Model{GraphDef: b.GraphDef(), Signatures: []savedmodeltest.Signature{lookupSig("ids:0")}}).Write(dir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m, err := OpenSavedModel(ctx, dir, SavedModelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Run(ctx, map[string]*classify.Tensor{"words": strTensor("x")}, nil)
	if !errors.Is(err, classify.ErrInvalidInput) || err == nil {
		t.Errorf("lookup in an empty table: %v", err)
	}
}

// A frozen TF1 graph keeps its table initializer (init_all_tables) for the
// client to run; OpenGraph runs it at load.
func TestFrozenGraphTableInit(t *testing.T) {
	b := graphdef.New()
	words := b.Placeholder("words", classify.String, classify.Shape{-1})
	b.Op("HashTableV2", "table", nil, graphdef.Attrs{"key_dtype": classify.String, "value_dtype": classify.Int64})
	b.Op("InitializeTableV2", "table_init", []graphdef.Output{"table", b.Const("keys", strTensor("x", "y")), b.Const("vals", &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{2}, Data: []int64{10, 20}})},
		graphdef.Attrs{"Tkey": classify.String, "Tval": classify.Int64})
	b.Op("NoOp", "init_all_tables", []graphdef.Output{"^table_init"}, nil)
	b.Op("LookupTableFindV2", "ids", []graphdef.Output{"table", words, b.Const("default", scalarI64(-1))}, graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	ctx := context.Background()
	m, err := OpenGraph(ctx, b.GraphDef(), classify.OpenOptions{Outputs: []string{"ids"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(ctx, map[string]*classify.Tensor{"words": strTensor("y", "z", "x")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Int64s(); !reflect.DeepEqual(got, []int64{20, -1, 10}) {
		t.Errorf("ids = %v, want [20 -1 10]", got)
	}
}
