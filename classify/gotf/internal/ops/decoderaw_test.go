package ops

import (
	"reflect"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// strs is a string tensor of the given shape.
func strs(shape classify.Shape, s ...string) *classify.Tensor {
	b := make([][]byte, len(s))
	for i := range s {
		b[i] = []byte(s[i])
	}
	return &classify.Tensor{DType: classify.String, Shape: shape, Data: b}
}

// TestDecodeRaw checks DecodeRaw and DecodePaddedRaw against values written
// byte by byte from decode_raw_op.cc's and decode_padded_raw_op.cc's
// definitions: the output appends one dimension; little_endian picks the
// byte order, complex parts are swapped each on its own; DecodePaddedRaw
// cuts or zero-pads each string to fixed_length.
func TestDecodeRaw(t *testing.T) {
	i32 := func(v int32) *classify.Tensor { return saI32([]int32{v}) }
	scalar := func(x *classify.Tensor) *classify.Tensor { x.Shape = classify.Shape{}; return x }
	cases := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []saIn
		shape classify.Shape
		want  any
	}{
		{"f32_little", "DecodeRaw", graphdef.Attrs{"out_type": classify.Float32},
			[]saIn{saFeed(strs(classify.Shape{2}, "\x00\x00\x80\x3f\x00\x00\x00\xc0", "\x00\x00\x00\x3f\x00\x00\x40\x40"))},
			classify.Shape{2, 2}, []float32{1, -2, 0.5, 3}},
		{"f64_big", "DecodeRaw", graphdef.Attrs{"out_type": classify.Float64, "little_endian": false},
			[]saIn{saFeed(strs(classify.Shape{1, 1}, "\x3f\xf0\x00\x00\x00\x00\x00\x00"))},
			classify.Shape{1, 1, 1}, []float64{1}},
		{"int16_big", "DecodeRaw", graphdef.Attrs{"out_type": classify.Int16, "little_endian": false},
			[]saIn{saFeed(strs(classify.Shape{1}, "\x01\x02\xff\xfe"))}, classify.Shape{1, 2}, []int16{258, -2}},
		{"uint16_little", "DecodeRaw", graphdef.Attrs{"out_type": classify.Uint16},
			[]saIn{saFeed(strs(classify.Shape{1}, "\x01\x02\xff\xfe"))}, classify.Shape{1, 2}, []uint16{0x0201, 0xfeff}},
		{"int64_little", "DecodeRaw", graphdef.Attrs{"out_type": classify.Int64},
			[]saIn{saFeed(strs(classify.Shape{1}, "\xfe\xff\xff\xff\xff\xff\xff\xff"))}, classify.Shape{1, 1}, []int64{-2}},
		{"int8_uint8_order_ignored", "DecodeRaw", graphdef.Attrs{"out_type": classify.Int8, "little_endian": false},
			[]saIn{saFeed(strs(classify.Shape{1}, "\xff\x01\x80"))}, classify.Shape{1, 3}, []int8{-1, 1, -128}},
		{"uint8", "DecodeRaw", graphdef.Attrs{"out_type": classify.Uint8},
			[]saIn{saFeed(strs(classify.Shape{3}, "ab", "cd", "\x00\xff"))}, classify.Shape{3, 2}, []uint8{'a', 'b', 'c', 'd', 0, 255}},
		{"bool_any_nonzero", "DecodeRaw", graphdef.Attrs{"out_type": classify.Bool},
			[]saIn{saFeed(strs(classify.Shape{1}, "\x00\x01\x02"))}, classify.Shape{1, 3}, []bool{false, true, true}},
		{"half_little", "DecodeRaw", graphdef.Attrs{"out_type": classify.Float16},
			[]saIn{saFeed(strs(classify.Shape{1}, "\x00\x3c\x00\xc0"))}, classify.Shape{1, 2}, []classify.F16{0x3c00, 0xc000}},
		{"complex64_big_parts_swapped_apart", "DecodeRaw", graphdef.Attrs{"out_type": classify.Complex64, "little_endian": false},
			[]saIn{saFeed(strs(classify.Shape{1}, "\x3f\x80\x00\x00\xc0\x00\x00\x00"))}, classify.Shape{1, 1}, []complex64{complex(1, -2)}},
		{"complex128_little", "DecodeRaw", graphdef.Attrs{"out_type": classify.Complex128},
			[]saIn{saFeed(strs(classify.Shape{1}, "\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x40"))}, classify.Shape{1, 1}, []complex128{complex(1, 2)}},
		{"empty_strings", "DecodeRaw", graphdef.Attrs{"out_type": classify.Int32},
			[]saIn{saFeed(strs(classify.Shape{2}, "", ""))}, classify.Shape{2, 0}, []int32{}},
		{"no_strings", "DecodeRaw", graphdef.Attrs{"out_type": classify.Float32},
			[]saIn{saFeed(strs(classify.Shape{0, 3}))}, classify.Shape{0, 3, 0}, []float32{}},
		{"padded_int32_cut_and_padded", "DecodePaddedRaw", graphdef.Attrs{"out_type": classify.Int32},
			[]saIn{saFeed(strs(classify.Shape{3}, "\x01\x00\x00\x00\x02", "\x03\x00\x00\x00\x04\x00\x00\x00\x05\x00\x00\x00", "")), saConst(scalar(i32(8)))},
			classify.Shape{3, 2}, []int32{1, 2, 3, 4, 0, 0}},
		{"padded_int32_big", "DecodePaddedRaw", graphdef.Attrs{"out_type": classify.Int32, "little_endian": false},
			[]saIn{saFeed(strs(classify.Shape{1}, "\x00\x00\x01\x02\x00\x00")), saFeed(scalar(i32(8)))},
			classify.Shape{1, 2}, []int32{258, 0}},
		{"padded_bfloat16", "DecodePaddedRaw", graphdef.Attrs{"out_type": classify.BFloat16},
			[]saIn{saFeed(strs(classify.Shape{1}, "\x80\x3f")), saConst(scalar(i32(4)))},
			classify.Shape{1, 2}, []classify.BF16{0x3f80, 0}},
		{"padded_no_strings", "DecodePaddedRaw", graphdef.Attrs{"out_type": classify.Float32},
			[]saIn{saFeed(strs(classify.Shape{0})), saConst(scalar(i32(12)))}, classify.Shape{0, 3}, []float32{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := saRun(t, c.op, c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out[0].Shape, c.shape) || !reflect.DeepEqual(out[0].Data, c.want) {
				t.Fatalf("got %v %v %v, want %v %v", out[0].DType, out[0].Shape, out[0].Data, c.shape, c.want)
			}
		})
	}
}

func TestDecodeRawErrors(t *testing.T) {
	inv, bad, unsup := classify.ErrInvalidInput, classify.ErrInvalidGraph, classify.ErrUnsupportedOp
	i32 := func(v int32) saIn { x := saI32([]int32{v}); x.Shape = classify.Shape{}; return saFeed(x) }
	f32 := graphdef.Attrs{"out_type": classify.Float32}
	saCheckErrors(t, []saErrCase{
		{"unequal_lengths", "DecodeRaw", f32, []saIn{saFeed(strs(classify.Shape{2}, "abcd", "abcdefgh"))}, inv, "element 1 has size 8 != 4"},
		{"not_a_multiple", "DecodeRaw", f32, []saIn{saFeed(strs(classify.Shape{1}, "abcdef"))}, inv, "not a multiple of 4"},
		{"not_strings", "DecodeRaw", f32, []saIn{saFeed(saI32([]int32{1}))}, inv, "string tensor"},
		{"out_type_string", "DecodeRaw", graphdef.Attrs{"out_type": classify.String}, []saIn{saFeed(strs(classify.Shape{1}, "a"))}, bad, "out_type"},
		{"padded_zero_length", "DecodePaddedRaw", f32, []saIn{saFeed(strs(classify.Shape{1}, "a")), i32(0)}, inv, "positive multiple of 4"},
		{"padded_not_a_multiple", "DecodePaddedRaw", f32, []saIn{saFeed(strs(classify.Shape{1}, "a")), i32(6)}, inv, "positive multiple of 4"},
		{"padded_length_not_scalar", "DecodePaddedRaw", f32, []saIn{saFeed(strs(classify.Shape{1}, "a")), saFeed(saI32([]int32{4, 4}))}, inv, "scalar"},
		{"padded_huge", "DecodePaddedRaw", graphdef.Attrs{"out_type": classify.Uint8}, []saIn{saFeed(strs(classify.Shape{4}, "a", "b", "c", "d")), i32(1 << 30)}, inv, "elements"},
		// TensorFlow registers DecodePaddedRaw for neither bool nor complex.
		{"padded_bool", "DecodePaddedRaw", graphdef.Attrs{"out_type": classify.Bool}, []saIn{saFeed(strs(classify.Shape{1}, "a")), i32(1)}, bad, "out_type"},
		{"padded_complex", "DecodePaddedRaw", graphdef.Attrs{"out_type": classify.Complex64}, []saIn{saFeed(strs(classify.Shape{1}, "a")), i32(8)}, unsup, "complex64"},
		{"wrong_inputs", "DecodeRaw", f32, []saIn{saFeed(strs(classify.Shape{1}, "a")), i32(8)}, bad, "needs 1 inputs"},
	})
}

// TestDecodeRawInGraph runs the pipeline of a model that takes raw tensor
// bytes in web-safe base64: DecodeBase64, DecodeRaw to float32, a Sum
// over the decoded axis.
func TestDecodeRawInGraph(t *testing.T) {
	g := graphdef.New()
	x := g.Placeholder("x", classify.String, classify.Shape{2})
	b := g.Op("DecodeBase64", "b64", []graphdef.Output{x}, nil)
	r := g.Op("DecodeRaw", "raw", []graphdef.Output{b}, graphdef.Attrs{"out_type": classify.Float32})
	s := g.Op("Sum", "sum", []graphdef.Output{r, g.Const("axis", saI32([]int32{1}))}, graphdef.Attrs{"T": classify.Float32, "Tidx": classify.Int32})
	// "AACAPwAAAEA" is web-safe base64 of float32 1, 2 little-endian; the
	// second, of 0.5, 3.
	got, err := interpretChecked(t, g, map[string]*classify.Tensor{"x": strs(classify.Shape{2}, "AACAPwAAAEA", "AAAAPwAAQEA")}, []graphdef.Output{r, s})
	if err != nil {
		t.Fatal(err)
	}
	if w := []float32{1, 2, 0.5, 3}; !reflect.DeepEqual(got[0].Data, w) || !reflect.DeepEqual(got[0].Shape, classify.Shape{2, 2}) {
		t.Errorf("DecodeRaw gave %v %v, want [2 2] %v", got[0].Shape, got[0].Data, w)
	}
	if w := []float32{3, 3.5}; !reflect.DeepEqual(got[1].Data, w) {
		t.Errorf("Sum gave %v, want %v", got[1].Data, w)
	}
}
