package ops

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// The expectations follow TensorFlow's documented table semantics
// (lookup_ops.py, lookup_table_init_op.cc): a missing key yields the
// default value, a static table is filled once, TextFileInitializer's
// key_index/value_index -2 is the whole line and -1 the line number.

func i64Tensor(v ...int64) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{len(v)}, Data: v}
}

func scalarOf(t *classify.Tensor) *classify.Tensor {
	c := t.Clone()
	c.Shape = classify.Shape{}
	return c
}

func TestTableImportFind(t *testing.T) {
	b := graphdef.New()
	b.Op("HashTableV2", "table", nil, graphdef.Attrs{"key_dtype": classify.String, "value_dtype": classify.Int64, "shared_name": "t"})
	b.Op("LookupTableImportV2", "init", []graphdef.Output{"table", b.Const("k", strTensor("cat", "dog", "emu")), b.Const("v", i64Tensor(7, 8, 9))}, graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	// A second initialization of a static table changes nothing.
	b.Op("InitializeTableV2", "init2", []graphdef.Output{"table", b.Const("k2", strTensor("cat")), b.Const("v2", i64Tensor(100))}, graphdef.Attrs{"Tkey": classify.String, "Tval": classify.Int64})
	words := b.Placeholder("words", classify.String, classify.Shape{-1})
	find := b.Op("LookupTableFindV2", "find", []graphdef.Output{"table", words, b.Const("def", scalarOf(i64Tensor(-1)))}, graphdef.Attrs{"Tin": classify.String, "Tout": classify.Int64})
	size := b.Op("LookupTableSizeV2", "size", []graphdef.Output{"table"}, nil)
	exp := b.Op("LookupTableExportV2", "export", []graphdef.Output{"table"}, graphdef.Attrs{"Tkeys": classify.String, "Tvalues": classify.Int64})
	out, err := interpret(b, map[string]*classify.Tensor{"words": strTensor("dog", "yak", "cat", "")}, []graphdef.Output{find, size, exp, exp + ":1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Int64s(); !reflect.DeepEqual(got, []int64{8, -1, 7, -1}) {
		t.Errorf("find = %v, want [8 -1 7 -1]", got)
	}
	if got := out[1].Int64s(); len(got) != 1 || got[0] != 3 {
		t.Errorf("size = %v, want 3", got)
	}
	if k, v := out[2].Data.([][]byte), out[3].Int64s(); len(k) != 3 || string(k[2]) != "emu" || v[2] != 9 {
		t.Errorf("export = %q %v", k, v)
	}
}

func TestTableErrors(t *testing.T) {
	mk := func(init bool, keys *classify.Tensor, vals *classify.Tensor) error {
		b := graphdef.New()
		b.Op("HashTableV2", "table", nil, graphdef.Attrs{"key_dtype": classify.Int64, "value_dtype": classify.Float32})
		if init {
			b.Op("LookupTableImportV2", "init", []graphdef.Output{"table", b.Const("k", keys), b.Const("v", vals)}, nil)
		}
		find := b.Op("LookupTableFindV2", "find", []graphdef.Output{"table", b.Const("q", i64Tensor(1)), b.Const("def", &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{0}})}, nil)
		_, err := interpret(b, nil, []graphdef.Output{find})
		return err
	}
	f32 := func(v ...float32) *classify.Tensor { return classify.FromFloat32(v, len(v)) }
	if err := mk(false, nil, nil); err == nil || !strings.Contains(err.Error(), "not initialized") {
		t.Errorf("uninitialized table: %v", err)
	}
	if err := mk(true, i64Tensor(1, 1), f32(1, 2)); err == nil || !strings.Contains(err.Error(), "two values") {
		t.Errorf("duplicate key: %v", err)
	}
	if err := mk(true, i64Tensor(1, 2), f32(1)); err == nil {
		t.Error("keys and values of different lengths: no error")
	}
	if err := mk(true, strTensor("a"), f32(1)); err == nil || !strings.Contains(err.Error(), "given string keys") {
		t.Errorf("string keys into an int64 table: %v", err)
	}
	if err := mk(true, i64Tensor(1, 1), f32(2, 2)); err != nil {
		t.Errorf("duplicate key with one value: %v", err)
	}
}

func TestTableFromTextFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vocab.txt")
	if err := os.WriteFile(path, []byte("the\t10\nquick\t20\nbrown\t30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		kt, vt     classify.DType
		ki, vi     int
		vocab      int
		query, def *classify.Tensor
		want       any
		err        string
	}{
		{name: "word to line", kt: classify.String, vt: classify.Int64, ki: 0, vi: -1, vocab: -1,
			query: strTensor("brown", "the", "fox"), def: scalarOf(i64Tensor(-1)), want: []int64{2, 0, -1}},
		{name: "line to whole line", kt: classify.Int64, vt: classify.String, ki: -1, vi: -2, vocab: -1,
			query: i64Tensor(1, 5), def: scalarOf(strTensor("UNK")), want: [][]byte{[]byte("quick\t20"), []byte("UNK")}},
		{name: "column to column", kt: classify.String, vt: classify.Int64, ki: 0, vi: 1, vocab: 2,
			query: strTensor("quick", "brown"), def: scalarOf(i64Tensor(0)), want: []int64{20, 0}},
		{name: "vocab_size too large", kt: classify.String, vt: classify.Int64, ki: 0, vi: -1, vocab: 4,
			query: strTensor("a"), def: scalarOf(i64Tensor(0)), err: "vocab_size is 4"},
		{name: "column is not a number", kt: classify.Int64, vt: classify.Int64, ki: 0, vi: -1, vocab: -1,
			query: i64Tensor(1), def: scalarOf(i64Tensor(0)), err: "is not int64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := graphdef.New()
			b.Op("HashTableV2", "table", nil, graphdef.Attrs{"key_dtype": tc.kt, "value_dtype": tc.vt})
			b.Op("InitializeTableFromTextFileV2", "init", []graphdef.Output{"table", b.Const("file", scalarOf(strTensor(path)))},
				graphdef.Attrs{"key_index": tc.ki, "value_index": tc.vi, "vocab_size": tc.vocab, "delimiter": "\t"})
			find := b.Op("LookupTableFindV2", "find", []graphdef.Output{"table", b.Const("q", tc.query), b.Const("def", tc.def)}, nil)
			out, err := interpret(b, nil, []graphdef.Output{find})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out[0].Data, tc.want) {
				t.Errorf("find = %q, want %q", out[0].Data, tc.want)
			}
		})
	}
}

// Two builds of a resource bound to one Tables storage share the table;
// the global builders give each build a table of its own.
func TestTablesShared(t *testing.T) {
	n := &Node{Name: "t", Op: "HashTableV2", Attr: map[string]*apb.AttrValue{
		"key_dtype": graphdef.Attr(classify.String), "value_dtype": graphdef.Attr(classify.Int64), "shared_name": graphdef.Attr("vocab"),
	}}
	handle := func(b Builder) *Table {
		op, err := b(n, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := op.Run(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Data.([]any)[0].(*Table)
	}
	ts := NewTables().Builders()["HashTableV2"]
	if a, b := handle(ts), handle(ts); a != b {
		t.Error("one storage gave two tables for one shared_name")
	}
	g, _ := Lookup("HashTableV2")
	if a, b := handle(g), handle(g); a == b {
		t.Error("the global builder shared a table between builds")
	}
}
