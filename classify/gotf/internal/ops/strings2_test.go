package ops

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TensorFlow.js has none of these ops: expectations come from the
// examples of TensorFlow's op documentation (tf.strings.reduce_join,
// tf.strings.regex_full_match, tf.compat.v1.string_split), the values
// TensorFlow's own kernel tests state (string_to_hash_bucket_op_test.py,
// fingerprint_op_test.cc), SipHash's reference vectors and hand-worked
// cases.

func strShaped(shape classify.Shape, s ...string) *classify.Tensor {
	t := strTensor(s...)
	t.Shape = shape
	return t
}

func i32Vec(v ...int32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{len(v)}, Data: v}
}

func TestReduceJoin(t *testing.T) {
	a := strShaped(classify.Shape{2, 2}, "a", "b", "c", "d")
	for _, tc := range []struct {
		axes  []int32
		keep  bool
		sep   string
		shape classify.Shape
		want  []string
	}{
		// tf.reduce_join's documented examples.
		{[]int32{0}, false, "", classify.Shape{2}, []string{"ac", "bd"}},
		{[]int32{1}, false, "", classify.Shape{2}, []string{"ab", "cd"}},
		{[]int32{-2}, false, "", classify.Shape{2}, []string{"ac", "bd"}},
		{[]int32{-1}, false, "", classify.Shape{2}, []string{"ab", "cd"}},
		{[]int32{0}, true, "", classify.Shape{1, 2}, []string{"ac", "bd"}},
		{[]int32{1}, true, "", classify.Shape{2, 1}, []string{"ab", "cd"}},
		{[]int32{0}, false, ".", classify.Shape{2}, []string{"a.c", "b.d"}},
		{[]int32{0, 1}, false, "", classify.Shape{}, []string{"acbd"}},
		{[]int32{1, 0}, false, "", classify.Shape{}, []string{"abcd"}},
		{[]int32{}, false, "", classify.Shape{2, 2}, []string{"a", "b", "c", "d"}},
		{[]int32{1, 0}, true, " ", classify.Shape{1, 1}, []string{"a b c d"}},
	} {
		out := mustRunAttr(t, "ReduceJoin", graphdef.Attrs{"keep_dims": tc.keep, "separator": tc.sep}, a, i32Vec(tc.axes...))[0]
		if !out.Shape.Equal(tc.shape) || !reflect.DeepEqual(strsOf(out), tc.want) {
			t.Errorf("axes %v keep %v: %v %q, want %v %q", tc.axes, tc.keep, out.Shape, strsOf(out), tc.shape, tc.want)
		}
	}
	// By hand on [2,2,2] a..h: the first listed axis varies fastest.
	c := strShaped(classify.Shape{2, 2, 2}, "a", "b", "c", "d", "e", "f", "g", "h")
	if got := strsOf(mustRunAttr(t, "ReduceJoin", nil, c, i32Vec(2, 0))[0]); !reflect.DeepEqual(got, []string{"abef", "cdgh"}) {
		t.Errorf("axes [2 0] = %q", got)
	}
	if got := strsOf(mustRunAttr(t, "ReduceJoin", nil, c, i32Vec(0, 2))[0]); !reflect.DeepEqual(got, []string{"aebf", "cgdh"}) {
		t.Errorf("axes [0 2] = %q", got)
	}
	// tf.strings.reduce_join's docstring.
	abc := strShaped(classify.Shape{2, 2}, "abc", "123", "def", "456")
	if got := strsOf(mustRunAttr(t, "ReduceJoin", graphdef.Attrs{"separator": " "}, abc, i32Vec(-1))[0]); !reflect.DeepEqual(got, []string{"abc 123", "def 456"}) {
		t.Errorf("axis -1 = %q", got)
	}
	// A zero-sized reduced axis joins nothing.
	empty := strShaped(classify.Shape{2, 0})
	if out := mustRunAttr(t, "ReduceJoin", nil, empty, i32Vec(1))[0]; !out.Shape.Equal(classify.Shape{2}) || !reflect.DeepEqual(strsOf(out), []string{"", ""}) {
		t.Errorf("empty rows: %v %q", out.Shape, strsOf(out))
	}
	if out := mustRunAttr(t, "ReduceJoin", nil, empty, i32Vec(0))[0]; !out.Shape.Equal(classify.Shape{0}) {
		t.Errorf("empty columns: %v", out.Shape)
	}
	for name, axes := range map[string][]int32{"axis 2": {2}, "axis -3": {-3}, "duplicate": {0, -2}} {
		if _, err := runAttrOp(t, "ReduceJoin", nil, a, i32Vec(axes...)); err == nil || !strings.Contains(err.Error(), "ReduceJoin") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := runAttrOp(t, "ReduceJoin", nil, a, i64Tensor(0)); err == nil {
		t.Error("int64 axes: no error")
	}
	if _, err := runAttrOp(t, "ReduceJoin", nil, i32Vec(1), i32Vec(0)); err == nil {
		t.Error("int input: no error")
	}
	many := strShaped(classify.Shape{1 << 15}, make([]string, 1<<15)...)
	if _, err := runAttrOp(t, "ReduceJoin", graphdef.Attrs{"separator": strings.Repeat("-", 1<<14)}, many, i32Vec(0)); err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("huge separator join: %v", err)
	}
}

func TestRegexFullMatch(t *testing.T) {
	in := strTensor("TF lib", "lib TF")
	for _, tc := range []struct {
		pattern string
		want    []bool
	}{
		// tf.strings.regex_full_match's documented examples.
		{".*lib$", []bool{true, false}},
		{".*TF$", []bool{false, true}},
		// By hand: the whole string must match, any alternative may.
		{"lib", []bool{false, false}},
		{"TF|TF lib", []bool{true, false}},
		{"(?i)tf LIB", []bool{true, false}},
	} {
		got := mustRunAttr(t, "StaticRegexFullMatch", graphdef.Attrs{"pattern": tc.pattern}, in)[0]
		if !reflect.DeepEqual(got.Data, tc.want) {
			t.Errorf("static %q = %v, want %v", tc.pattern, got.Data, tc.want)
		}
		got = mustRunAttr(t, "RegexFullMatch", nil, in, sstr(tc.pattern))[0]
		if !reflect.DeepEqual(got.Data, tc.want) || got.DType != classify.Bool {
			t.Errorf("%q = %v, want %v", tc.pattern, got.Data, tc.want)
		}
	}
	m := strShaped(classify.Shape{2, 1}, "a", "")
	if got := mustRunAttr(t, "RegexFullMatch", nil, m, sstr("a*"))[0]; !got.Shape.Equal(classify.Shape{2, 1}) || !reflect.DeepEqual(got.Data, []bool{true, true}) {
		t.Errorf("a* = %v %v", got.Shape, got.Data)
	}
	if got := mustRunAttr(t, "RegexFullMatch", nil, strShaped(classify.Shape{0}), sstr("a"))[0]; got.Len() != 0 {
		t.Errorf("empty input: %v", got.Shape)
	}
	// A pattern that only balances once wrapped is still an error.
	for _, p := range []string{"a)(b", "("} {
		if _, err := runAttrOp(t, "StaticRegexFullMatch", graphdef.Attrs{"pattern": p}, in); err == nil {
			t.Errorf("static %q: no error", p)
		}
		if _, err := runAttrOp(t, "RegexFullMatch", nil, in, sstr(p)); err == nil || !strings.Contains(err.Error(), "RegexFullMatch") {
			t.Errorf("%q: %v", p, err)
		}
	}
	if _, err := runAttrOp(t, "RegexFullMatch", nil, in, strTensor("a")); err == nil {
		t.Error("vector pattern: no error")
	}
}

func TestStringSplit(t *testing.T) {
	for _, tc := range []struct {
		in    []string
		delim string
		skip  bool
		idx   []int64
		vals  []string
		shape []int64
	}{
		// tf.compat.v1.string_split's documented example.
		{[]string{"hello world", "a b c"}, " ", true, []int64{0, 0, 0, 1, 1, 0, 1, 1, 1, 2}, []string{"hello", "world", "a", "b", "c"}, []int64{2, 3}},
		// string_split_op_test.py: empty tokens skipped, whitespace-only rows empty.
		{[]string{"", " a", "b ", " c", " ", " d ", "  e", "f  ", "  g  ", "  ", "  "}, " ", true,
			[]int64{1, 0, 2, 0, 3, 0, 5, 0, 6, 0, 7, 0, 8, 0}, []string{"a", "b", "c", "d", "e", "f", "g"}, []int64{11, 1}},
		// ... and kept with skip_empty false.
		{[]string{"#a", "b#", "#c#"}, "#", false, []int64{0, 0, 0, 1, 1, 0, 1, 1, 2, 0, 2, 1, 2, 2}, []string{"", "a", "b", "", "", "c", ""}, []int64{3, 3}},
		// An empty delimiter splits into bytes (U+1F60E gives four).
		{[]string{"hola", "\xF0\x9F\x98\x8E"}, "", true, []int64{0, 0, 0, 1, 0, 2, 0, 3, 1, 0, 1, 1, 1, 2, 1, 3}, []string{"h", "o", "l", "a", "\xF0", "\x9F", "\x98", "\x8E"}, []int64{2, 4}},
		// Every byte of the delimiter is a delimiter; an empty string has
		// no tokens even when empty ones are kept.
		{[]string{"a,b.c", ""}, ".,", false, []int64{0, 0, 0, 1, 0, 2}, []string{"a", "b", "c"}, []int64{2, 3}},
		{[]string{"a,,b"}, ",", false, []int64{0, 0, 0, 1, 0, 2}, []string{"a", "", "b"}, []int64{1, 3}},
		{nil, " ", true, nil, nil, []int64{0, 0}},
	} {
		out := mustRunAttr(t, "StringSplit", graphdef.Attrs{"skip_empty": tc.skip}, strTensor(tc.in...), sstr(tc.delim))
		if got := out[0].Int64s(); len(got) != len(tc.idx) || len(tc.idx) > 0 && !reflect.DeepEqual(got, tc.idx) ||
			!reflect.DeepEqual(strsOf(out[1]), tc.vals) || !reflect.DeepEqual(out[2].Int64s(), tc.shape) || !out[0].Shape.Equal(classify.Shape{len(tc.vals), 2}) {
			t.Errorf("split %q by %q: %v %q %v, want %v %q %v", tc.in, tc.delim, out[0].Int64s(), strsOf(out[1]), out[2].Int64s(), tc.idx, tc.vals, tc.shape)
		}
	}
	if _, err := runAttrOp(t, "StringSplit", nil, strShaped(classify.Shape{1, 1}, "a"), sstr(" ")); err == nil || !strings.Contains(err.Error(), "StringSplit") {
		t.Errorf("matrix input: %v", err)
	}
	if _, err := runAttrOp(t, "StringSplit", nil, strTensor("a"), strTensor(" ")); err == nil {
		t.Error("vector delimiter: no error")
	}
}

func TestLegacyAndStrongHashBuckets(t *testing.T) {
	// string_to_hash_bucket_op_test.py states the 64-bit hashes.
	abc := []string{"a", "b", "c"}
	legacy := []uint64{2996632905371535868, 5795986006276551370, 14899841994519054197}
	strong := []uint64{7157389809176466784, 15805638358933211562, 18100027895074076528}
	for i, s := range abc {
		if got := legacyHash64([]byte(s)); got != legacy[i] {
			t.Errorf("Hash64(%q) = %d, want %d", s, got, legacy[i])
		}
		if got := sipHash24(98765, 132, []byte(s)); got != strong[i] {
			t.Errorf("StrongKeyedHash(%q) = %d, want %d", s, got, strong[i])
		}
	}
	out := mustRunAttr(t, "StringToHashBucket", graphdef.Attrs{"num_buckets": 10}, strTensor(abc...))[0]
	if got := out.Int64s(); !reflect.DeepEqual(got, []int64{8, 0, 7}) {
		t.Errorf("legacy buckets = %v", got)
	}
	out = mustRunAttr(t, "StringToHashBucketStrong", graphdef.Attrs{"num_buckets": 10, "key": []int{98765, 132}}, strShaped(classify.Shape{3, 1}, abc...))[0]
	if got := out.Int64s(); !reflect.DeepEqual(got, []int64{4, 2, 8}) || !out.Shape.Equal(classify.Shape{3, 1}) {
		t.Errorf("strong buckets = %v %v", out.Shape, got)
	}
	out = mustRunAttr(t, "StringToHashBucketStrong", graphdef.Attrs{"num_buckets": 1, "key": []int{123, 345}}, strTensor(abc...))[0]
	if got := out.Int64s(); !reflect.DeepEqual(got, []int64{0, 0, 0}) {
		t.Errorf("one bucket = %v", got)
	}
	// The docstrings of tf.strings.to_hash_bucket_strong and
	// tf.strings.to_hash_bucket.
	out = mustRunAttr(t, "StringToHashBucketStrong", graphdef.Attrs{"num_buckets": 3, "key": []int{1, 2}}, strTensor("Hello", "TF"))[0]
	if got := out.Int64s(); !reflect.DeepEqual(got, []int64{2, 0}) {
		t.Errorf("strong docstring buckets = %v", got)
	}
	out = mustRunAttr(t, "StringToHashBucket", graphdef.Attrs{"num_buckets": 3}, strTensor("Hello", "TensorFlow", "2.x"))[0]
	if got := out.Int64s(); !reflect.DeepEqual(got, []int64{2, 0, 1}) {
		t.Errorf("legacy docstring buckets = %v", got)
	}
	if got := mustRunAttr(t, "StringToHashBucket", graphdef.Attrs{"num_buckets": 5}, strShaped(classify.Shape{0, 3}))[0]; !got.Shape.Equal(classify.Shape{0, 3}) {
		t.Errorf("empty: %v", got.Shape)
	}
	for name, a := range map[string]graphdef.Attrs{
		"one key":   {"num_buckets": 10, "key": []int{98765}},
		"no key":    {"num_buckets": 10},
		"0 buckets": {"num_buckets": 0, "key": []int{1, 2}},
	} {
		if _, err := runAttrOp(t, "StringToHashBucketStrong", a, strTensor("a")); err == nil || !strings.Contains(err.Error(), "StringToHashBucketStrong") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := runAttrOp(t, "StringToHashBucket", graphdef.Attrs{"num_buckets": 3}, i32Vec(1)); err == nil {
		t.Error("int input: no error")
	}
}

// SipHash-2-4's reference vectors (the paper's appendix, the reference
// test.c): key 00..0f, message 00..n-1.
func TestSipHash24Vectors(t *testing.T) {
	want := []uint64{
		0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
		0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
		0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
		0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
		0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for n, w := range want {
		if got := sipHash24(0x0706050403020100, 0x0f0e0d0c0b0a0908, msg[:n]); got != w {
			t.Errorf("len %d: %#x, want %#x", n, got, w)
		}
	}
	if got := sipHash24(0x0706050403020100, 0x0f0e0d0c0b0a0908, msg[:63]); got != 0x958a324ceb064572 {
		t.Errorf("len 63: %#x", got)
	}
}

func TestFingerprint(t *testing.T) {
	method := sstr("farmhash64")
	// fingerprint_op_test.cc's GoldenValue: uint8 [1,3,4,5,6,7] counting
	// from 47.
	u := classify.NewTensor(classify.Uint8, 1, 3, 4, 5, 6, 7)
	for i, d := 0, u.Data.([]uint8); i < len(d); i++ {
		d[i] = uint8(47 + i)
	}
	out := mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.Uint8}, u, method)[0]
	if !out.Shape.Equal(classify.Shape{1, 8}) || string(out.Data.([]uint8)) != "\x2d\x90\xdf\x03\x79\x36\x3c\x43" {
		t.Errorf("uint8 golden: %v %x", out.Shape, out.Data)
	}
	// StringGoldenValue: strings of 10, 7, 0 and 19 bytes counting from
	// 0, 7, 71 and 41, as [1,2,2] and as [4].
	iota := func(n int, from byte) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = from + byte(i)
		}
		return string(b)
	}
	strs := []string{iota(10, 0), iota(7, 7), "", iota(19, 41)}
	out = mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.String}, strShaped(classify.Shape{1, 2, 2}, strs...), method)[0]
	if !out.Shape.Equal(classify.Shape{1, 8}) || string(out.Data.([]uint8)) != "\x92\x43\x28\x52\xa3\x7c\x48\x18" {
		t.Errorf("string golden: %v %x", out.Shape, out.Data)
	}
	out = mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.String}, strTensor(strs...), method)[0]
	want := "\xea\xff\xd6\xb2\xb2\x4d\x70\x9b\x6e\x9d\xed\x21\xc6\x4a\x61\x52\x4f\x40\x90\x2f\x3b\x6a\xe1\x9a\x0d\x9b\x7f\x63\x23\x14\x1c\xb8"
	if !out.Shape.Equal(classify.Shape{4, 8}) || string(out.Data.([]uint8)) != want {
		t.Errorf("string rows golden: %v %x", out.Shape, out.Data)
	}
	// CompareBytesAndString: float rows fingerprint as their bytes.
	f := randF32(7, -1, 1, 4, 64)
	fb, _ := tensorBytes(f)
	rows := make([]string, 4)
	for i := range rows {
		rows[i] = string(fb[i*256 : (i+1)*256])
	}
	a := mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.Float32}, f, method)[0]
	b := mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.String}, strTensor(rows...), method)[0]
	if !reflect.DeepEqual(a.Data, b.Data) {
		t.Errorf("float rows %x != their bytes as strings %x", a.Data, b.Data)
	}
	// By hand: int64 and bool rows are their little-endian bytes.
	i64 := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{2, 2}, Data: []int64{1, -2, 3, 4}}
	out = mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.Int64}, i64, method)[0]
	row := make([]byte, 16)
	binary.LittleEndian.PutUint64(row, 3)
	binary.LittleEndian.PutUint64(row[8:], 4)
	if got := binary.LittleEndian.Uint64(out.Data.([]uint8)[8:]); got != Fingerprint64(row) {
		t.Errorf("int64 row 1: %#x, want %#x", got, Fingerprint64(row))
	}
	bo := &classify.Tensor{DType: classify.Bool, Shape: classify.Shape{1, 3}, Data: []bool{true, false, true}}
	out = mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.Bool}, bo, method)[0]
	if got := binary.LittleEndian.Uint64(out.Data.([]uint8)); got != Fingerprint64([]byte{1, 0, 1}) {
		t.Errorf("bool row: %#x", got)
	}
	h := &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{1, 2}, Data: []classify.F16{0x3c00, 0xc000}}
	out = mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.Float16}, h, method)[0]
	if got := binary.LittleEndian.Uint64(out.Data.([]uint8)); got != Fingerprint64([]byte{0x00, 0x3c, 0x00, 0xc0}) {
		t.Errorf("half row: %#x", got)
	}
	// Empty: no rows; rows of no elements fingerprint no bytes.
	if out := mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.Uint8}, classify.NewTensor(classify.Uint8, 0), method)[0]; !out.Shape.Equal(classify.Shape{0, 8}) {
		t.Errorf("empty: %v", out.Shape)
	}
	out = mustRunAttr(t, "Fingerprint", graphdef.Attrs{"T": classify.Float32}, classify.NewTensor(classify.Float32, 2, 0), method)[0]
	if got := binary.LittleEndian.Uint64(out.Data.([]uint8)[8:]); got != Fingerprint64(nil) {
		t.Errorf("empty rows: %#x", got)
	}
	for name, in := range map[string][]*classify.Tensor{
		"unsupported method": {u, sstr("md5")},
		"vector method":      {u, strTensor("farmhash64")},
		"scalar data":        {scalarOf(i64Tensor(1)), method},
	} {
		if _, err := runAttrOp(t, "Fingerprint", nil, in...); err == nil || !strings.Contains(err.Error(), "Fingerprint") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzStrings2 runs the ops on arbitrary strings: errors allowed, never a
// panic.
func FuzzStrings2(f *testing.F) {
	f.Add("a b,c", " ,", "a.*", true)
	f.Add("", "", "(", false)
	f.Fuzz(func(t *testing.T, s, delim, pattern string, skip bool) {
		in := strTensor(s, delim)
		runAttrOp(t, "StringSplit", graphdef.Attrs{"skip_empty": skip}, in, sstr(delim))
		runAttrOp(t, "RegexFullMatch", nil, in, sstr(pattern))
		runAttrOp(t, "ReduceJoin", graphdef.Attrs{"separator": delim}, strShaped(classify.Shape{1, 2}, s, delim), i32Vec(int32(len(s)%3-1)))
		mustRunAttr(t, "StringToHashBucket", graphdef.Attrs{"num_buckets": 7}, in)
		mustRunAttr(t, "Fingerprint", nil, strShaped(classify.Shape{1, 2}, s, delim), sstr("farmhash64"))
	})
}
