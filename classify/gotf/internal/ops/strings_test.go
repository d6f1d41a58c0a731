package ops

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Unless a test says otherwise, expectations come from TensorFlow's op
// documentation (tf.strings.*, tf.RaggedTensor.to_tensor) and Python's
// str.split, which StringSplitV2 is documented to follow.

func posInf() float64 { return math.Inf(1) }

func attrs(a graphdef.Attrs) map[string]*apb.AttrValue {
	m := map[string]*apb.AttrValue{}
	for k, v := range a {
		m[k] = graphdef.Attr(v)
	}
	return m
}

// runAttrOp builds op with attrs and runs it once on in (the inputs doubling
// as load-time constants).
func runAttrOp(t *testing.T, op string, a graphdef.Attrs, in ...*classify.Tensor) ([]*classify.Tensor, error) {
	t.Helper()
	b, ok := Lookup(op)
	if !ok {
		t.Fatalf("%s is not registered", op)
	}
	n := &Node{Name: "n", Op: op, NumInputs: len(in), Attr: attrs(a)}
	k, err := b(n, in)
	if err != nil {
		return nil, err
	}
	return k.Run(&Ctx{}, in)
}

func strsOf(t *classify.Tensor) []string {
	var out []string
	for _, b := range t.Data.([][]byte) {
		out = append(out, string(b))
	}
	return out
}

func mustRunAttr(t *testing.T, op string, a graphdef.Attrs, in ...*classify.Tensor) []*classify.Tensor {
	t.Helper()
	out, err := runAttrOp(t, op, a, in...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

func sstr(s string) *classify.Tensor { return scalarOf(strTensor(s)) }

func TestStringMaps(t *testing.T) {
	in := strTensor("Hello WORLD", "  ÉtÉ\t", "")
	for _, tc := range []struct {
		op   string
		a    graphdef.Attrs
		want []string
	}{
		{"StringLower", nil, []string{"hello world", "  ÉtÉ\t", ""}},
		{"StringLower", graphdef.Attrs{"encoding": "utf-8"}, []string{"hello world", "  été\t", ""}},
		{"StringUpper", nil, []string{"HELLO WORLD", "  ÉTÉ\t", ""}},
		{"StringStrip", nil, []string{"Hello WORLD", "ÉtÉ", ""}},
	} {
		if got := strsOf(mustRunAttr(t, tc.op, tc.a, in)[0]); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v = %q, want %q", tc.op, tc.a, got, tc.want)
		}
	}
}

func TestRegexReplace(t *testing.T) {
	// Keras TextVectorization's default punctuation pattern.
	punct := `[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_` + "`" + `{|}~']`
	for _, tc := range []struct {
		pattern, rewrite string
		global           bool
		in, want         []string
	}{
		{punct, "", true, []string{"it's great!!", "a-b_c"}, []string{"its great", "abc"}},
		{`(\w+)@(\w+)`, `\2 at \1`, true, []string{"me@home you@work"}, []string{"home at me work at you"}},
		{`o`, `0`, false, []string{"foo"}, []string{"f0o"}},
		{`x*`, `-`, true, []string{"abc"}, []string{"-a-b-c-"}},
		{`a\\`, `\\\0`, true, []string{`xa\y`}, []string{`x\a\y`}},
	} {
		got := strsOf(mustRunAttr(t, "StaticRegexReplace", graphdef.Attrs{"pattern": tc.pattern, "rewrite": tc.rewrite, "replace_global": tc.global}, strTensor(tc.in...))[0])
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("StaticRegexReplace %q→%q on %q = %q, want %q", tc.pattern, tc.rewrite, tc.in, got, tc.want)
		}
		got = strsOf(mustRunAttr(t, "RegexReplace", graphdef.Attrs{"replace_global": tc.global}, strTensor(tc.in...), sstr(tc.pattern), sstr(tc.rewrite))[0])
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("RegexReplace %q→%q on %q = %q, want %q", tc.pattern, tc.rewrite, tc.in, got, tc.want)
		}
	}
	if _, err := runAttrOp(t, "StaticRegexReplace", graphdef.Attrs{"pattern": "(", "rewrite": ""}, strTensor("a")); err == nil {
		t.Error("bad pattern: no error")
	}
	if _, err := runAttrOp(t, "StaticRegexReplace", graphdef.Attrs{"pattern": "(a)", "rewrite": `\2`}, strTensor("a")); err == nil {
		t.Error("rewrite naming a missing group: no error")
	}
	if _, err := runAttrOp(t, "RegexReplace", nil, strTensor("a"), sstr("["), sstr("")); err == nil {
		t.Error("bad run-time pattern: no error")
	}
	// An empty match everywhere with a long rewrite is refused, not
	// allocated.
	big := strings.Repeat("a", 1<<16)
	if _, err := runAttrOp(t, "StaticRegexReplace", graphdef.Attrs{"pattern": "", "rewrite": strings.Repeat("z", 1<<13)}, strTensor(big)); err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("exploding rewrite: %v", err)
	}
}

func TestStringSplitV2(t *testing.T) {
	for _, tc := range []struct {
		in       []string
		sep      string
		maxsplit int
		idx      []int64
		vals     []string
		shape    []int64
	}{
		{[]string{"  hello  world ", "", "a"}, "", -1, []int64{0, 0, 0, 1, 2, 0}, []string{"hello", "world", "a"}, []int64{3, 2}},
		{[]string{"1,,2", ""}, ",", -1, []int64{0, 0, 0, 1, 0, 2, 1, 0}, []string{"1", "", "2", ""}, []int64{2, 3}},
		{[]string{"1<>2<>3"}, "<>", 1, []int64{0, 0, 0, 1}, []string{"1", "2<>3"}, []int64{1, 2}},
		{[]string{" a b  c "}, "", 1, []int64{0, 0, 0, 1}, []string{"a", "b  c "}, []int64{1, 2}},
	} {
		out := mustRunAttr(t, "StringSplitV2", graphdef.Attrs{"maxsplit": tc.maxsplit}, strTensor(tc.in...), sstr(tc.sep))
		if !reflect.DeepEqual(out[0].Int64s(), tc.idx) || !reflect.DeepEqual(strsOf(out[1]), tc.vals) || !reflect.DeepEqual(out[2].Int64s(), tc.shape) {
			t.Errorf("split %q by %q: %v %q %v, want %v %q %v", tc.in, tc.sep, out[0].Int64s(), strsOf(out[1]), out[2].Int64s(), tc.idx, tc.vals, tc.shape)
		}
	}
}

func TestStringJoinLengthSubstr(t *testing.T) {
	out := mustRunAttr(t, "StringJoin", graphdef.Attrs{"separator": "-"}, strTensor("a", "b"), sstr("x"), strTensor("1", "2"))
	if got := strsOf(out[0]); !reflect.DeepEqual(got, []string{"a-x-1", "b-x-2"}) {
		t.Errorf("join = %q", got)
	}
	if _, err := runAttrOp(t, "StringJoin", nil, strTensor("a", "b"), strTensor("c")); err == nil {
		t.Error("join of shapes [2] and [1]: no error")
	}
	in := strTensor("héllo", "")
	if got := mustRunAttr(t, "StringLength", nil, in)[0].Int32s(); !reflect.DeepEqual(got, []int32{6, 0}) {
		t.Errorf("byte length = %v", got)
	}
	if got := mustRunAttr(t, "StringLength", graphdef.Attrs{"unit": "UTF8_CHAR"}, in)[0].Int32s(); !reflect.DeepEqual(got, []int32{5, 0}) {
		t.Errorf("char length = %v", got)
	}
	i32 := func(v ...int32) *classify.Tensor {
		return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{len(v)}, Data: v}
	}
	s32 := func(v int32) *classify.Tensor {
		return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{v}}
	}
	if got := strsOf(mustRunAttr(t, "Substr", nil, strTensor("hello", "world"), i32(1, -3), s32(3))[0]); !reflect.DeepEqual(got, []string{"ell", "rld"}) {
		t.Errorf("substr = %q", got)
	}
	if got := strsOf(mustRunAttr(t, "Substr", graphdef.Attrs{"unit": "UTF8_CHAR"}, strTensor("héllo"), s32(1), s32(10))[0]); !reflect.DeepEqual(got, []string{"éllo"}) {
		t.Errorf("utf-8 substr = %q", got)
	}
	if _, err := runAttrOp(t, "Substr", nil, strTensor("abc"), s32(4), s32(1)); err == nil {
		t.Error("pos past the end: no error")
	}
}

func TestAsString(t *testing.T) {
	f := classify.FromFloat32([]float32{3.14159, -2, 1e7, float32(posInf())}, 4)
	for _, tc := range []struct {
		a    graphdef.Attrs
		want []string
	}{
		// C printf's %f, %.2e, %g and %8.1f.
		{graphdef.Attrs{"T": classify.Float32}, []string{"3.141590", "-2.000000", "10000000.000000", "inf"}},
		{graphdef.Attrs{"T": classify.Float32, "scientific": true, "precision": 2}, []string{"3.14e+00", "-2.00e+00", "1.00e+07", "inf"}},
		{graphdef.Attrs{"T": classify.Float32, "shortest": true}, []string{"3.14159", "-2", "1e+07", "inf"}},
		{graphdef.Attrs{"T": classify.Float32, "width": 8, "precision": 1}, []string{"     3.1", "    -2.0", "10000000.0", "     inf"}},
	} {
		if got := strsOf(mustRunAttr(t, "AsString", tc.a, f)[0]); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("AsString %v = %q, want %q", tc.a, got, tc.want)
		}
	}
	i := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{2}, Data: []int64{42, -7}}
	if got := strsOf(mustRunAttr(t, "AsString", graphdef.Attrs{"T": classify.Int64, "width": 4, "fill": "0"}, i)[0]); !reflect.DeepEqual(got, []string{"0042", "-007"}) {
		t.Errorf("AsString int = %q", got)
	}
	if _, err := runAttrOp(t, "AsString", graphdef.Attrs{"T": classify.Int64, "precision": 2}, i); err == nil {
		t.Error("precision on ints: no error")
	}
}

func TestStringToNumber(t *testing.T) {
	out := mustRunAttr(t, "StringToNumber", graphdef.Attrs{"out_type": classify.Float32}, strTensor(" 1.5", "-2e3", "inf"))
	if got := out[0].Float32s(); got[0] != 1.5 || got[1] != -2000 || got[2] != float32(posInf()) {
		t.Errorf("floats = %v", got)
	}
	out = mustRunAttr(t, "StringToNumber", graphdef.Attrs{"out_type": classify.Int64}, strTensor("12", "-3 "))
	if got := out[0].Int64s(); !reflect.DeepEqual(got, []int64{12, -3}) {
		t.Errorf("ints = %v", got)
	}
	for _, bad := range []string{"1.5x", "", "1_000"} {
		if _, err := runAttrOp(t, "StringToNumber", graphdef.Attrs{"out_type": classify.Int32}, strTensor(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestHashBucketFast(t *testing.T) {
	// The buckets TensorFlow.js gave (testdata/fingerprint64) for "" and
	// "hello world".
	data, err := os.ReadFile("testdata/fingerprint64/tfjs.json")
	if err != nil {
		t.Fatal(err)
	}
	var tfjs struct{ A []int64 }
	if err := json.Unmarshal(data, &tfjs); err != nil {
		t.Fatal(err)
	}
	hello := len(fingerprintStrings()) - 3
	out := mustRunAttr(t, "StringToHashBucketFast", graphdef.Attrs{"num_buckets": 2147483647}, strTensor("", "hello world"))
	if got, want := out[0].Int64s(), []int64{tfjs.A[0], tfjs.A[hello]}; !reflect.DeepEqual(got, want) {
		t.Errorf("buckets = %v, want %v", got, want)
	}
	if _, err := runAttrOp(t, "StringToHashBucketFast", graphdef.Attrs{"num_buckets": 0}, strTensor("a")); err == nil {
		t.Error("num_buckets 0: no error")
	}
}

func TestRaggedTensorToTensor(t *testing.T) {
	vals := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{5}, Data: []int64{1, 2, 3, 4, 5}}
	def := scalarOf(i64Tensor(0))
	splits := i64Tensor(0, 2, 2, 5)
	noShape := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{-1}}
	for _, tc := range []struct {
		name   string
		types  []string
		shape  *classify.Tensor
		parts  []*classify.Tensor
		dims   classify.Shape
		values []int64
	}{
		{"row splits", []string{"ROW_SPLITS"}, noShape, []*classify.Tensor{splits}, classify.Shape{3, 3}, []int64{1, 2, 0, 0, 0, 0, 3, 4, 5}},
		{"row splits, fixed width", []string{"ROW_SPLITS"}, i64Tensor(-1, 2), []*classify.Tensor{splits}, classify.Shape{3, 2}, []int64{1, 2, 0, 0, 3, 4}},
		{"row splits, wider and fewer rows", []string{"ROW_SPLITS"}, i64Tensor(2, 4), []*classify.Tensor{splits}, classify.Shape{2, 4}, []int64{1, 2, 0, 0, 0, 0, 0, 0}},
		{"value rowids", []string{"FIRST_DIM_SIZE", "VALUE_ROWIDS"}, noShape, []*classify.Tensor{scalarOf(i64Tensor(4)), i64Tensor(0, 0, 2, 2, 2)}, classify.Shape{4, 3}, []int64{1, 2, 0, 0, 0, 0, 3, 4, 5, 0, 0, 0}},
		{"two levels", []string{"ROW_SPLITS", "ROW_SPLITS"}, noShape, []*classify.Tensor{i64Tensor(0, 2, 3), i64Tensor(0, 1, 3, 5)}, classify.Shape{2, 2, 2}, []int64{1, 0, 2, 3, 4, 5, 0, 0}},
	} {
		in := append([]*classify.Tensor{tc.shape, vals, def}, tc.parts...)
		out, err := runAttrOp(t, "RaggedTensorToTensor", graphdef.Attrs{"row_partition_types": strList(tc.types), "num_row_partition_tensors": len(tc.parts)}, in...)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !out[0].Shape.Equal(tc.dims) || !reflect.DeepEqual(out[0].Int64s(), tc.values) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, out[0].Shape, out[0].Int64s(), tc.dims, tc.values)
		}
	}
	// String tokens padded with "", as TextVectorization's split output.
	out := mustRunAttr(t, "RaggedTensorToTensor", graphdef.Attrs{"row_partition_types": strList([]string{"ROW_SPLITS"})}, noShape, strTensor("a", "b", "c"), sstr(""), i64Tensor(0, 1, 3))
	if got := strsOf(out[0]); !reflect.DeepEqual(got, []string{"a", "", "b", "c"}) {
		t.Errorf("strings = %q", got)
	}
	for name, parts := range map[string]*classify.Tensor{
		"splits past the values": i64Tensor(0, 2, 6),
		"decreasing splits":      i64Tensor(0, 3, 2, 5),
		"splits not from 0":      i64Tensor(1, 5),
	} {
		if _, err := runAttrOp(t, "RaggedTensorToTensor", graphdef.Attrs{"row_partition_types": strList([]string{"ROW_SPLITS"})}, noShape, vals, def, parts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A dense output past the element bound is refused before allocation.
	if _, err := runAttrOp(t, "RaggedTensorToTensor", graphdef.Attrs{"row_partition_types": strList([]string{"ROW_SPLITS"})}, i64Tensor(1<<20, 1<<20), vals, def, splits); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("huge shape: %v", err)
	}
}

// TensorFlow.js computed testdata/ngrams/tfjs.json (node gen.js, tfjs
// 4.22) for the four attribute sets below on rows [a b c d] [] [e] [f g].
func TestStringNGramsMatchesTFJS(t *testing.T) {
	data, err := os.ReadFile("testdata/ngrams/tfjs.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []struct {
		Ngrams []string
		Splits []int64
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	cases := []graphdef.Attrs{
		{"separator": " ", "ngram_widths": []int{1, 2, 3}, "left_pad": "", "right_pad": "", "pad_width": 0, "preserve_short_sequences": false},
		{"separator": "|", "ngram_widths": []int{2, 3}, "left_pad": "<", "right_pad": ">", "pad_width": -1, "preserve_short_sequences": false},
		{"separator": "_", "ngram_widths": []int{3}, "left_pad": "L", "right_pad": "R", "pad_width": 1, "preserve_short_sequences": true},
		{"separator": "", "ngram_widths": []int{4}, "left_pad": "", "right_pad": "", "pad_width": 0, "preserve_short_sequences": true},
	}
	if len(want) != len(cases) {
		t.Fatalf("%d goldens for %d cases", len(want), len(cases))
	}
	for i, a := range cases {
		a["Tsplits"] = classify.Int64
		out := mustRunAttr(t, "StringNGrams", a, strTensor("a", "b", "c", "d", "e", "f", "g"), i64Tensor(0, 4, 4, 5, 7))
		if got := strsOf(out[0]); !reflect.DeepEqual(got, want[i].Ngrams) || !reflect.DeepEqual(out[1].Int64s(), want[i].Splits) {
			t.Errorf("case %d: %q %v, want %q %v", i, got, out[1].Int64s(), want[i].Ngrams, want[i].Splits)
		}
	}
	a := graphdef.Attrs{"separator": " ", "ngram_widths": []int{60000}, "pad_width": -1}
	if _, err := runAttrOp(t, "StringNGrams", a, strTensor(make([]string, 50000)...), i64Tensor(0, 50000)); err == nil {
		t.Error("n-gram explosion: no error")
	}
}

// FuzzStringOps runs the text ops on arbitrary request strings: they may
// refuse an input, never panic, and the ragged shapes they produce are
// consistent.
func FuzzStringOps(f *testing.F) {
	f.Add("The cat, the MAT!", " ", int64(2), int64(1))
	f.Add("", "", int64(-1), int64(0))
	f.Add("a\x00\xff  b", "\xff", int64(0), int64(-3))
	f.Fuzz(func(t *testing.T, s, sep string, maxsplit, pos int64) {
		in := strTensor(s, s+" "+s)
		if _, err := runAttrOp(t, "StaticRegexReplace", graphdef.Attrs{"pattern": punctFuzzPattern, "rewrite": "<\\0>"}, in); err != nil {
			t.Fatal(err)
		}
		out, err := runAttrOp(t, "StringSplitV2", graphdef.Attrs{"maxsplit": maxsplit % 8}, in, sstr(sep))
		if err != nil {
			t.Fatal(err)
		}
		idx, vals, shape := out[0].Int64s(), out[1], out[2].Int64s()
		if len(idx) != 2*vals.Len() || shape[0] != 2 {
			t.Fatalf("split: %d indices, %d values, shape %v", len(idx), vals.Len(), shape)
		}
		rowids := make([]int64, vals.Len())
		for i := range rowids {
			rowids[i] = idx[2*i]
			if idx[2*i+1] >= shape[1] {
				t.Fatalf("split: index %v past width %d", idx[2*i:2*i+2], shape[1])
			}
		}
		dense, err := runAttrOp(t, "RaggedTensorToTensor", graphdef.Attrs{"row_partition_types": strList([]string{"FIRST_DIM_SIZE", "VALUE_ROWIDS"})},
			i64Tensor(-1, 3), vals, sstr(""), scalarOf(i64Tensor(shape[0])), &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{len(rowids)}, Data: rowids})
		if err != nil {
			t.Fatal(err)
		}
		if !dense[0].Shape.Equal(classify.Shape{2, 3}) {
			t.Fatalf("dense shape %v", dense[0].Shape)
		}
		splits := []int64{0}
		for r := range 2 {
			n := int64(0)
			for _, id := range rowids {
				if id == int64(r) {
					n++
				}
			}
			splits = append(splits, splits[len(splits)-1]+n)
		}
		if _, err := runAttrOp(t, "StringNGrams", graphdef.Attrs{"separator": sep, "ngram_widths": []int{1, 3}, "left_pad": "<", "right_pad": ">", "pad_width": -1, "Tsplits": classify.Int64},
			vals, i64Tensor(splits...)); err != nil {
			t.Fatal(err)
		}
		p := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{pos % 64}}
		l := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{2}}
		for _, unit := range []string{"BYTE", "UTF8_CHAR"} {
			runAttrOp(t, "Substr", graphdef.Attrs{"unit": unit}, in, p, l) // errors allowed
			mustRunAttr(t, "StringLength", graphdef.Attrs{"unit": unit}, in)
		}
		runAttrOp(t, "StringToNumber", graphdef.Attrs{"out_type": classify.Float32}, in)
		mustRunAttr(t, "StringToHashBucketFast", graphdef.Attrs{"num_buckets": 7}, in)
		mustRunAttr(t, "StringLower", graphdef.Attrs{"encoding": "utf-8"}, in)
	})
}

const punctFuzzPattern = `[[:punct:]]|\s+`

// tf.math.bincount's documented example: [1,1,2,3,2,4,4,5] counts
// [0 2 2 1 2 1] in 6 bins; with weights, sums; values past size are
// ignored; binary_output marks presence per row.
func TestBincount(t *testing.T) {
	arr := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{8}, Data: []int32{1, 1, 2, 3, 2, 4, 4, 5}}
	size := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{6}}
	none := classify.NewTensor(classify.Int64, 0)
	if got := mustRunAttr(t, "Bincount", graphdef.Attrs{"T": classify.Int64}, arr, size, none)[0].Int64s(); !reflect.DeepEqual(got, []int64{0, 2, 2, 1, 2, 1}) {
		t.Errorf("counts = %v", got)
	}
	w := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 8)
	small := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{4}}
	if got := mustRunAttr(t, "Bincount", graphdef.Attrs{"T": classify.Float32}, arr, small, w)[0].Float32s(); !reflect.DeepEqual(got, []float32{0, 3, 8, 4}) {
		t.Errorf("weighted, values past size ignored = %v", got)
	}
	m := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{2, 3}, Data: []int64{0, 0, 2, 1, 1, 1}}
	s3 := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{3}}
	got := mustRunAttr(t, "DenseBincount", graphdef.Attrs{"T": classify.Int32, "Tidx": classify.Int64, "binary_output": true}, m, s3, classify.NewTensor(classify.Int32, 0))[0]
	if !got.Shape.Equal(classify.Shape{2, 3}) || !reflect.DeepEqual(got.Int32s(), []int32{1, 0, 1, 0, 1, 0}) {
		t.Errorf("binary per row = %v %v", got.Shape, got.Int32s())
	}
	huge := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{1 << 30}}
	if _, err := runAttrOp(t, "Bincount", graphdef.Attrs{"T": classify.Int64}, arr, huge, none); err == nil {
		t.Error("huge size: no error")
	}
}
