package ops

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Expectations: the examples of tf.strings.unicode_decode,
// unicode_decode_with_offsets, unicode_encode and unicode_transcode, the
// Unicode Standard's Table 3-8 (one U+FFFD per maximal subpart of
// ill-formed UTF-8), cases of TensorFlow's unicode_decode_op_test.py and
// hand-worked ones following unicode_ops.cc.

func int64sOf(t *classify.Tensor) []int64 {
	switch d := t.Data.(type) {
	case []int64:
		return d
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out
	}
	return nil
}

func TestUnicodeDecode(t *testing.T) {
	table38 := "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"
	const F = 0xFFFD
	for _, tc := range []struct {
		name   string
		in     []string
		a      graphdef.Attrs
		splits []int64
		chars  []int64
		offs   []int64
	}{
		{"docstring", []string{"G\u00f6\u00f6dnight", "\U0001f60a"}, nil,
			[]int64{0, 9, 10}, []int64{71, 246, 246, 100, 110, 105, 103, 104, 116, 128522}, []int64{0, 1, 3, 5, 6, 7, 8, 9, 10, 0}},
		{"table 3-8", []string{table38}, nil,
			[]int64{0, 10}, []int64{0x61, F, F, F, 0x62, F, 0x63, F, F, 0x64}, []int64{0, 1, 4, 6, 7, 8, 9, 10, 11, 12}},
		{"table 3-8 ignored", []string{table38}, graphdef.Attrs{"errors": "ignore"},
			[]int64{0, 4}, []int64{0x61, 0x62, 0x63, 0x64}, []int64{0, 7, 9, 12}},
		{"truncated at the end", []string{"a\xF0\x9F\x98"}, nil, []int64{0, 2}, []int64{'a', F}, []int64{0, 1}},
		{"replacement ?", []string{"\xFEED"}, graphdef.Attrs{"replacement_char": int('?')}, []int64{0, 3}, []int64{'?', 'E', 'D'}, []int64{0, 1, 2}},
		{"ignore", []string{"\xFEED"}, graphdef.Attrs{"errors": "ignore"}, []int64{0, 2}, []int64{'E', 'D'}, []int64{1, 2}},
		{"control replaced", []string{"a\x01b\x1f\x7f"}, graphdef.Attrs{"replace_control_characters": true}, []int64{0, 5}, []int64{'a', F, 'b', F, 0x7f}, []int64{0, 1, 2, 3, 4}},
		{"control ignored", []string{"a\x01b\x1f\x7f"}, graphdef.Attrs{"replace_control_characters": true, "errors": "ignore"}, []int64{0, 3}, []int64{'a', 'b', 0x7f}, []int64{0, 2, 4}},
		{"control kept by default", []string{"\x00\x1f"}, nil, []int64{0, 2}, []int64{0, 0x1f}, []int64{0, 1}},
		{"strict with control replaced", []string{"\x01"}, graphdef.Attrs{"errors": "strict", "replace_control_characters": true}, []int64{0, 1}, []int64{F}, []int64{0}},
		{"utf-16-be", []string{"\x00H\xd8\x3d\xde\x0a\xdc\x00\x00!", "\xd8\x00\x00A\x00"}, graphdef.Attrs{"input_encoding": "UTF-16-BE"},
			[]int64{0, 4, 7}, []int64{'H', 128522, F, '!', F, 'A', F}, []int64{0, 2, 6, 8, 0, 2, 4}},
		{"utf-32-be", []string{"\x00\x01\xf6\x0a\x00\x11\x00\x00\x00\x00\xd8\x00\x00\x00\x00A\x00"}, graphdef.Attrs{"input_encoding": "UTF-32BE"},
			[]int64{0, 5}, []int64{128522, F, F, 'A', F}, []int64{0, 4, 8, 12, 16}},
		{"us-ascii", []string{"A\xc3\xa9"}, graphdef.Attrs{"input_encoding": "US ASCII"}, []int64{0, 3}, []int64{'A', F, F}, []int64{0, 1, 2}},
		{"no strings", nil, nil, []int64{0}, nil, nil},
		{"empty strings", []string{"", ""}, nil, []int64{0, 0, 0}, nil, nil},
	} {
		for _, sp := range []classify.DType{classify.Int64, classify.Int32} {
			a := graphdef.Attrs{"input_encoding": "UTF-8", "Tsplits": sp}
			for k, v := range tc.a {
				a[k] = v
			}
			out := mustRunAttr(t, "UnicodeDecode", a, strTensor(tc.in...))
			wo := mustRunAttr(t, "UnicodeDecodeWithOffsets", a, strTensor(tc.in...))
			if out[0].DType != sp || wo[2].DType != sp || out[1].DType != classify.Int32 {
				t.Errorf("%s: dtypes %v %v %v", tc.name, out[0].DType, out[1].DType, wo[2].DType)
			}
			chars := int64sOf(out[1])
			if !reflect.DeepEqual(int64sOf(out[0]), tc.splits) || len(chars) != len(tc.chars) || len(chars) > 0 && !reflect.DeepEqual(chars, tc.chars) {
				t.Errorf("%s %v: %v %v, want %v %v", tc.name, sp, int64sOf(out[0]), chars, tc.splits, tc.chars)
			}
			if offs := int64sOf(wo[2]); !reflect.DeepEqual(int64sOf(wo[0]), tc.splits) || !reflect.DeepEqual(int64sOf(wo[1]), chars) || len(offs) != len(tc.offs) || len(offs) > 0 && !reflect.DeepEqual(offs, tc.offs) {
				t.Errorf("%s %v: with offsets %v %v %v, want offsets %v", tc.name, sp, int64sOf(wo[0]), int64sOf(wo[1]), offs, tc.offs)
			}
		}
	}
	// Any input shape is flattened.
	out := mustRunAttr(t, "UnicodeDecode", graphdef.Attrs{"input_encoding": "UTF-8"}, strShaped(classify.Shape{2, 1}, "ab", "c"))
	if !reflect.DeepEqual(int64sOf(out[0]), []int64{0, 2, 3}) {
		t.Errorf("matrix input: %v", int64sOf(out[0]))
	}
	for name, a := range map[string]graphdef.Attrs{
		"strict":           {"input_encoding": "UTF-8", "errors": "strict"},
		"unknown encoding": {"input_encoding": "EBCDIC"},
		"bad policy":       {"input_encoding": "UTF-8", "errors": "bogus"},
		"bad replacement":  {"input_encoding": "UTF-8", "replacement_char": 0x110000},
		"float splits":     {"input_encoding": "UTF-8", "Tsplits": classify.Float32},
	} {
		for _, op := range []string{"UnicodeDecode", "UnicodeDecodeWithOffsets"} {
			if _, err := runAttrOp(t, op, a, strTensor("a\xff")); err == nil || !strings.Contains(err.Error(), op) {
				t.Errorf("%s %s: %v", op, name, err)
			}
		}
	}
}

func TestUnicodeEncode(t *testing.T) {
	i32 := func(v ...int32) *classify.Tensor { return i32Vec(v...) }
	// tf.strings.unicode_encode's docstring.
	vals := i32(71, 246, 246, 100, 110, 105, 103, 104, 116, 128522)
	for _, sp := range []*classify.Tensor{i64Tensor(0, 9, 10), i32(0, 9, 10)} {
		out := mustRunAttr(t, "UnicodeEncode", graphdef.Attrs{"output_encoding": "UTF-8", "Tsplits": sp.DType}, vals, sp)[0]
		if got := strsOf(out); !reflect.DeepEqual(got, []string{"G\xc3\xb6\xc3\xb6dnight", "\xf0\x9f\x98\x8a"}) {
			t.Errorf("%v splits: %q", sp.DType, got)
		}
	}
	bad := i32(0x110000, 0xD800, 0xFFFE, -1, 'A')
	for _, tc := range []struct {
		enc  string
		a    graphdef.Attrs
		in   *classify.Tensor
		want string
	}{
		{"UTF-16-BE", nil, i32('H', 128522), "\x00H\xd8\x3d\xde\x0a"},
		{"UTF-32-BE", nil, i32('H', 128522), "\x00\x00\x00H\x00\x01\xf6\x0a"},
		{"UTF-8", nil, bad, strings.Repeat("\uFFFD", 4) + "A"},
		{"UTF-8", graphdef.Attrs{"replacement_char": int('?')}, bad, "????A"},
		{"UTF-16-BE", graphdef.Attrs{"replacement_char": int('?')}, bad, "\x00?\x00?\x00?\x00?\x00A"},
		// errors=ignore keeps what ICU's appendCodePoint keeps: the lone
		// surrogate (U+FFFD in UTF-8) and the noncharacter; values past
		// U+10FFFF go.
		{"UTF-8", graphdef.Attrs{"errors": "ignore"}, bad, "\xef\xbf\xbd\xef\xbf\xbeA"},
		{"UTF-16-BE", graphdef.Attrs{"errors": "ignore"}, bad, "\xd8\x00\xff\xfe\x00A"},
		{"UTF-32-BE", graphdef.Attrs{"errors": "ignore"}, bad, "\x00\x00\xd8\x00\x00\x00\xff\xfe\x00\x00\x00A"},
	} {
		a := graphdef.Attrs{"output_encoding": tc.enc, "Tsplits": classify.Int64}
		for k, v := range tc.a {
			a[k] = v
		}
		out := mustRunAttr(t, "UnicodeEncode", a, tc.in, i64Tensor(0, int64(tc.in.Len())))[0]
		if got := strsOf(out); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s %v %v: %q, want %q", tc.enc, tc.a, tc.in.Data, got, tc.want)
		}
	}
	u8 := graphdef.Attrs{"output_encoding": "UTF-8"}
	if out := mustRunAttr(t, "UnicodeEncode", u8, i32(), i64Tensor(0))[0]; !out.Shape.Equal(classify.Shape{0}) {
		t.Errorf("no rows: %v", out.Shape)
	}
	if out := mustRunAttr(t, "UnicodeEncode", u8, i32('a'), i64Tensor(0, 0, 1))[0]; !reflect.DeepEqual(strsOf(out), []string{"", "a"}) {
		t.Errorf("empty row: %q", strsOf(out))
	}
	for name, in := range map[string][]*classify.Tensor{
		"strict":           {bad, i64Tensor(0, 5)},
		"no splits":        {i32(), i64Tensor()},
		"not from 0":       {i32(1, 2), i64Tensor(1, 2)},
		"short last":       {i32(1, 2, 3), i64Tensor(0, 2)},
		"past the values":  {i32(1, 2, 3), i64Tensor(0, 5, 3)},
		"decreasing":       {i32(1, 2, 3), i64Tensor(0, 2, 1, 3)},
		"matrix values":    {strShaped(classify.Shape{1, 1}, "a"), i64Tensor(0, 1)},
		"int64 values":     {i64Tensor(1), i64Tensor(0, 1)},
		"scalar splits":    {i32(1), scalarOf(i64Tensor(0))},
		"float splits":     {i32(1), classify.FromFloat32([]float32{0, 1}, 2)},
		"2-D int32 values": {{DType: classify.Int32, Shape: classify.Shape{1, 1}, Data: []int32{1}}, i64Tensor(0, 1)},
	} {
		a := graphdef.Attrs{"output_encoding": "UTF-8"}
		if name == "strict" {
			a["errors"] = "strict"
		}
		if _, err := runAttrOp(t, "UnicodeEncode", a, in...); err == nil || !strings.Contains(err.Error(), "UnicodeEncode") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := runAttrOp(t, "UnicodeEncode", graphdef.Attrs{"output_encoding": "UTF-16"}, i32(1), i64Tensor(0, 1)); err == nil {
		t.Error("UTF-16 output: no error")
	}
}

func TestUnicodeTranscode(t *testing.T) {
	for _, tc := range []struct {
		in       []string
		from, to string
		a        graphdef.Attrs
		want     []string
	}{
		// tf.strings.unicode_transcode's docstring.
		{[]string{"Hello", "TensorFlow", "2.x"}, "UTF-8", "UTF-16-BE", nil,
			[]string{"\x00H\x00e\x00l\x00l\x00o", "\x00T\x00e\x00n\x00s\x00o\x00r\x00F\x00l\x00o\x00w", "\x002\x00.\x00x"}},
		{[]string{"A", "B", "C"}, "US ASCII", "UTF-8", nil, []string{"A", "B", "C"}},
		// By hand, as unicode_ops.cc reads.
		{[]string{"a\xffb", ""}, "UTF-8", "UTF-8", nil, []string{"a\uFFFDb", ""}},
		{[]string{"a\xffb"}, "UTF-8", "UTF-8", graphdef.Attrs{"replacement_char": int(' ')}, []string{"a b"}},
		{[]string{"a\xffb"}, "UTF-8", "UTF-8", graphdef.Attrs{"errors": "ignore"}, []string{"ab"}},
		{[]string{"a\tb"}, "UTF-8", "UTF-8", graphdef.Attrs{"replace_control_characters": true}, []string{"a\uFFFDb"}},
		{[]string{"a\tb"}, "UTF-8", "UTF-8", nil, []string{"a\tb"}},
		{[]string{"\x00H\xd8\x3d\xde\x0a"}, "UTF-16-BE", "UTF-8", nil, []string{"H\xf0\x9f\x98\x8a"}},
		{[]string{"\u00e9\U0001f60a"}, "UTF-8", "UTF-32-BE", nil, []string{"\x00\x00\x00\xe9\x00\x01\xf6\x0a"}},
		{[]string{"\xE2\x82"}, "UTF-8", "UTF-16-BE", nil, []string{"\xff\xfd"}},
		// A surrogate replacement_char stays one UTF-16 unit, and is
		// U+FFFD in UTF-8.
		{[]string{"\xff"}, "UTF-8", "UTF-16-BE", graphdef.Attrs{"replacement_char": 0xDC00}, []string{"\xdc\x00"}},
		{[]string{"\xff"}, "UTF-8", "UTF-8", graphdef.Attrs{"replacement_char": 0xDC00}, []string{"\uFFFD"}},
	} {
		a := graphdef.Attrs{"input_encoding": tc.from, "output_encoding": tc.to}
		for k, v := range tc.a {
			a[k] = v
		}
		if got := strsOf(mustRunAttr(t, "UnicodeTranscode", a, strTensor(tc.in...))[0]); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q %s→%s %v: %q, want %q", tc.in, tc.from, tc.to, tc.a, got, tc.want)
		}
	}
	out := mustRunAttr(t, "UnicodeTranscode", graphdef.Attrs{"input_encoding": "UTF-8", "output_encoding": "UTF-8"}, strShaped(classify.Shape{2, 1}, "x", "y"))[0]
	if !out.Shape.Equal(classify.Shape{2, 1}) {
		t.Errorf("shape %v", out.Shape)
	}
	for name, tc := range map[string]struct {
		a  graphdef.Attrs
		in string
	}{
		"strict":                  {graphdef.Attrs{"errors": "strict"}, "a\xff"},
		"strict control replaced": {graphdef.Attrs{"errors": "strict", "replace_control_characters": true}, "a\x01"},
		"bad output encoding":     {graphdef.Attrs{"output_encoding": "UTF-16"}, "a"},
		"bad input encoding":      {graphdef.Attrs{"input_encoding": "KOI8-R"}, "a"},
		"bad replacement":         {graphdef.Attrs{"replacement_char": -1}, "a"},
	} {
		a := graphdef.Attrs{"input_encoding": "UTF-8", "output_encoding": "UTF-8"}
		for k, v := range tc.a {
			a[k] = v
		}
		if _, err := runAttrOp(t, "UnicodeTranscode", a, strTensor(tc.in)); err == nil || !strings.Contains(err.Error(), "UnicodeTranscode") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzUnicodeOps: decoding arbitrary bytes never panics, offsets point
// into the string, and re-encoding decoded UTF-8 gives valid UTF-8.
func FuzzUnicodeOps(f *testing.F) {
	f.Add("G\u00f6\u00f6dnight", "UTF-8")
	f.Add("\xF1\x80\x80\xE1\x80\xC2", "UTF-16-BE")
	f.Add("\x00\x11\x00\x00\x00", "UTF-32-BE")
	f.Fuzz(func(t *testing.T, s, s2 string) {
		for _, e := range []string{"UTF-8", "UTF-16-BE", "UTF-32-BE"} {
			a := graphdef.Attrs{"input_encoding": e}
			out := mustRunAttr(t, "UnicodeDecodeWithOffsets", a, strTensor(s, s2))
			for _, o := range int64sOf(out[2]) {
				if o < 0 || o >= int64(max(len(s), len(s2))) {
					t.Fatalf("%s: offset %d past the strings", e, o)
				}
			}
			enc := mustRunAttr(t, "UnicodeEncode", graphdef.Attrs{"output_encoding": "UTF-8"}, out[1], out[0])[0]
			for _, got := range strsOf(enc) {
				if !utf8.ValidString(got) {
					t.Fatalf("%s: re-encoded %q is not UTF-8", e, got)
				}
			}
			mustRunAttr(t, "UnicodeTranscode", graphdef.Attrs{"input_encoding": e, "output_encoding": "UTF-32-BE", "errors": "ignore"}, strTensor(s, s2))
		}
	})
}
