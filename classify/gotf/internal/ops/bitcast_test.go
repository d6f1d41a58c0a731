package ops

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/rawtensor"
)

// bitcastRefBytes encodes t's elements one by one in host byte order, the
// order TensorFlow's Bitcast reinterprets on its host, with the codec of
// TensorProto contents and .npy files.
func bitcastRefBytes(t *testing.T, x *classify.Tensor) []byte {
	b, err := rawtensor.Append(nil, x, binary.NativeEndian)
	if err != nil {
		t.Fatalf("no reference encoding for %v: %v", x.DType, err)
	}
	return b
}

// bitcastRefDecode decodes bytes as elements of dt in host byte order.
func bitcastRefDecode(t *testing.T, b []byte, dt classify.DType, shape classify.Shape) *classify.Tensor {
	out, err := rawtensor.Decode(dt, shape, b[:shape.NumElements()*dt.Size()], binary.NativeEndian)
	if err != nil {
		t.Fatalf("no reference decoding for %v: %v", dt, err)
	}
	return out
}

func TestBitcast(t *testing.T) {
	f32, f64, i32, i64, u8 := classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Uint8
	nanF := classify.FromFloat32([]float32{1, -0, float32(math.NaN()), float32(math.Inf(-1)), 3.5e-39, -2.25}, 2, 3)
	bytes := &classify.Tensor{DType: u8, Shape: classify.Shape{3, 8}, Data: make([]uint8, 24)}
	for i := range bytes.Uint8s() {
		bytes.Uint8s()[i] = uint8(37*i + 11)
	}
	f64s := &classify.Tensor{DType: f64, Shape: classify.Shape{3}, Data: []float64{1, -math.MaxFloat64, math.SmallestNonzeroFloat64}}
	for _, c := range []struct {
		name  string
		x     *classify.Tensor
		to    classify.DType
		shape classify.Shape
	}{
		{"f32_to_i32", nanF, i32, classify.Shape{2, 3}},
		{"f32_to_u8", nanF, u8, classify.Shape{2, 3, 4}},
		{"i32_to_f32", saI32([]int32{0x3f800000, -1, 0x7f800000, 1}, 4), f32, classify.Shape{4}},
		{"u8_to_f32", &classify.Tensor{DType: u8, Shape: classify.Shape{6, 4}, Data: bytes.Uint8s()}, f32, classify.Shape{6}},
		{"u8_to_f64", bytes, f64, classify.Shape{3}},
		{"u8_to_i64", bytes, i64, classify.Shape{3}},
		{"i64_to_i32", saI64([]int64{1, -2, math.MaxInt64, math.MinInt64}, 2, 2), i32, classify.Shape{2, 2, 2}},
		{"i32_to_i64", saI32([]int32{1, 2, -3, -4, 5, 6}, 3, 2), i64, classify.Shape{3}},
		{"f64_to_u8", f64s, u8, classify.Shape{3, 8}},
		{"f64_to_i64", f64s, i64, classify.Shape{3}},
		{"f64_to_f32", f64s, f32, classify.Shape{3, 2}},
		{"scalar_same_size", classify.FromFloat32([]float32{-1.5}), i32, classify.Shape{}},
		{"scalar_to_narrower", saI32([]int32{-7}), u8, classify.Shape{4}},
		{"empty_wider", classify.NewTensor(f32, 0, 3), u8, classify.Shape{0, 3, 4}},
		{"empty_narrower", classify.NewTensor(u8, 0, 4), i32, classify.Shape{0}},
		{"f32_to_f16", nanF, classify.Float16, classify.Shape{2, 3, 2}},
		{"f32_to_bf16", nanF, classify.BFloat16, classify.Shape{2, 3, 2}},
		{"u8_to_i8", bytes, classify.Int8, classify.Shape{3, 8}},
		{"u8_to_i16", &classify.Tensor{DType: u8, Shape: classify.Shape{3, 4, 2}, Data: bytes.Uint8s()}, classify.Int16, classify.Shape{3, 4}},
		{"u8_to_u16", &classify.Tensor{DType: u8, Shape: classify.Shape{12, 2}, Data: bytes.Uint8s()}, classify.Uint16, classify.Shape{12}},
		{"u8_to_u32", &classify.Tensor{DType: u8, Shape: classify.Shape{6, 4}, Data: bytes.Uint8s()}, classify.Uint32, classify.Shape{6}},
		{"f16_to_u8", &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{2}, Data: []classify.F16{classify.F16FromFloat32(1), classify.F16FromFloat32(-2.5)}}, u8, classify.Shape{2, 2}},
		{"f64_to_u64", f64s, classify.Uint64, classify.Shape{3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := mustRun(t, "Bitcast", map[string]any{"T": c.x.DType, "type": c.to}, c.x)
			want := bitcastRefDecode(t, bitcastRefBytes(t, c.x), c.to, c.shape)
			if got.DType != c.to || !got.Shape.Equal(c.shape) {
				t.Fatalf("got %v %v, want %v %v", got.DType, got.Shape, c.to, c.shape)
			}
			// Compare bits: NaN payloads must survive.
			if g, w := bitcastRefBytes(t, got), bitcastRefBytes(t, want); string(g) != string(w) {
				t.Errorf("got bytes %x, want %x", g, w)
			}
			// Round trip.
			back := mustRun(t, "Bitcast", map[string]any{"T": c.to, "type": c.x.DType}, got)
			if !back.Shape.Equal(c.x.Shape) || string(bitcastRefBytes(t, back)) != string(bitcastRefBytes(t, c.x)) {
				t.Errorf("round trip gives %v %v", back.Shape, back.Data)
			}
		})
	}
}

func TestBitcastErrors(t *testing.T) {
	u8 := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{3, 3}, Data: make([]uint8, 9)}
	one := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{}, Data: make([]uint8, 1)}
	at := func(from, to classify.DType) graphdef.Attrs { return graphdef.Attrs{"T": from, "type": to} }
	saCheckErrors(t, []saErrCase{
		{"last_dim", "Bitcast", at(classify.Uint8, classify.Float32), []saIn{saFeed(u8)}, classify.ErrInvalidInput, "last dimension must be 4"},
		{"scalar_to_wider", "Bitcast", at(classify.Uint8, classify.Int32), []saIn{saFeed(one)}, classify.ErrInvalidInput, "last dimension must be 4"},
		{"to_bool", "Bitcast", at(classify.Uint8, classify.Bool), []saIn{saFeed(u8)}, classify.ErrInvalidGraph, "type bool"},
		{"from_string", "Bitcast", at(classify.String, classify.Uint8), []saIn{saFeed(strScalar([]byte("abcd")))}, classify.ErrInvalidGraph, "T string"},
		{"dtype_mismatch", "Bitcast", at(classify.Int32, classify.Uint8), []saIn{saFeed(u8)}, classify.ErrInvalidInput, "want int32"},
	})
	saCheckShapes(t, []saShapeCase{
		{name: "unknown_batch", op: "Bitcast", attrs: at(classify.Uint8, classify.Float32),
			in: []classify.TensorInfo{saInfo(classify.Uint8, -1, 4)}, want: []classify.TensorInfo{saF32Info(-1)}},
		{name: "unknown_last", op: "Bitcast", attrs: at(classify.Uint8, classify.Int64),
			in: []classify.TensorInfo{saInfo(classify.Uint8, 2, -1)}, want: []classify.TensorInfo{saInfo(classify.Int64, 2)}},
		{name: "wider", op: "Bitcast", attrs: at(classify.Float64, classify.Int32),
			in: []classify.TensorInfo{saInfo(classify.Float64, 5)}, want: []classify.TensorInfo{saInfo(classify.Int32, 5, 2)}},
		{name: "bad_last", op: "Bitcast", attrs: at(classify.Uint8, classify.Float32),
			in: []classify.TensorInfo{saInfo(classify.Uint8, 2, 3)}, err: true},
	})
}
