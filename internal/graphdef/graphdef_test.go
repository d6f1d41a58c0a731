package graphdef

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_go_proto"
	typb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
)

func TestTensorRoundTrip(t *testing.T) {
	for _, want := range []*classify.Tensor{
		classify.FromFloat32([]float32{1, 2, 3, -4}, 2, 2),
		{DType: classify.Int32, Shape: classify.Shape{3}, Data: []int32{1, -2, 3}},
		{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{5}},
		{DType: classify.Bool, Shape: classify.Shape{2}, Data: []bool{true, false}},
		{DType: classify.Uint8, Shape: classify.Shape{2}, Data: []uint8{7, 255}},
		{DType: classify.Float16, Shape: classify.Shape{2}, Data: []classify.F16{0x3c00, 0x8001}},
		{DType: classify.BFloat16, Shape: classify.Shape{2}, Data: []classify.BF16{0x3f80, 0xff80}},
		{DType: classify.Int8, Shape: classify.Shape{2}, Data: []int8{-128, 5}},
		{DType: classify.Int16, Shape: classify.Shape{2}, Data: []int16{-32768, 5}},
		{DType: classify.Uint16, Shape: classify.Shape{1}, Data: []uint16{65535}},
		{DType: classify.Uint32, Shape: classify.Shape{1}, Data: []uint32{1<<32 - 1}},
		{DType: classify.Uint64, Shape: classify.Shape{1}, Data: []uint64{1<<64 - 1}},
		{DType: classify.Complex64, Shape: classify.Shape{2}, Data: []complex64{complex(1, -2), complex(-0.5, 3e30)}},
		{DType: classify.Complex128, Shape: classify.Shape{1, 1}, Data: []complex128{complex(1e-300, -7)}},
	} {
		got, err := TensorFromProto(TensorProto(want))
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != want.DType || !got.Shape.Equal(want.Shape) || !bytes.Equal(TensorProto(got).TensorContent, TensorProto(want).TensorContent) {
			t.Errorf("round trip of %v changed it to %v", want, got)
		}
	}
}

func TestTensorFromProtoRepeatedFields(t *testing.T) {
	p := &tpb.TensorProto{Dtype: typb.DataType_DT_FLOAT, TensorShape: ShapeProto(classify.Shape{2, 2}), FloatVal: []float32{1, 2}}
	got, err := TensorFromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Float32s(); d[0] != 1 || d[1] != 2 || d[2] != 2 || d[3] != 2 {
		t.Errorf("last value not repeated: %v", d)
	}
	p.FloatVal = []float32{1, 2, 3, 4, 5}
	if _, err := TensorFromProto(p); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("too many values: got %v", err)
	}
	p = &tpb.TensorProto{Dtype: typb.DataType_DT_FLOAT, TensorShape: ShapeProto(classify.Shape{4}), TensorContent: []byte{1, 2, 3}}
	if _, err := TensorFromProto(p); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("short content: got %v", err)
	}
}

// TestTensorFromProtoNewDTypes decodes the typed fields tensor.proto puts
// each dtype in: half and bfloat16 bit patterns in half_val (as int32),
// int8/int16/uint16 values in int_val, uint32 and uint64 in their own
// fields; and tensor_content as little-endian bytes.
func TestTensorFromProtoNewDTypes(t *testing.T) {
	for _, c := range []struct {
		p    *tpb.TensorProto
		want any
	}{
		{&tpb.TensorProto{Dtype: typb.DataType_DT_HALF, HalfVal: []int32{0x3c00, 0xc000}}, []classify.F16{0x3c00, 0xc000, 0xc000}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_BFLOAT16, HalfVal: []int32{0x3f80}}, []classify.BF16{0x3f80, 0x3f80, 0x3f80}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_INT8, IntVal: []int32{-128, 127, -1}}, []int8{-128, 127, -1}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_INT16, IntVal: []int32{-32768, 7}}, []int16{-32768, 7, 7}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_UINT16, IntVal: []int32{65535}}, []uint16{65535, 65535, 65535}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_UINT32, Uint32Val: []uint32{1<<32 - 1, 0}}, []uint32{1<<32 - 1, 0, 0}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_UINT64, Uint64Val: []uint64{1<<64 - 1}}, []uint64{1<<64 - 1, 1<<64 - 1, 1<<64 - 1}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_HALF, TensorContent: []byte{0, 0x3c, 1, 0, 0, 0x80}}, []classify.F16{0x3c00, 1, 0x8000}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_INT16, TensorContent: []byte{0xff, 0xff, 0, 0x80, 1, 0}}, []int16{-1, -32768, 1}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_UINT32}, []uint32{0, 0, 0}},
		// scomplex_val and dcomplex_val interleave real and imaginary
		// parts; the last pair repeats; tensor_content is (re, im) pairs
		// of little-endian floats.
		{&tpb.TensorProto{Dtype: typb.DataType_DT_COMPLEX64, ScomplexVal: []float32{1, 2, 3, -4}}, []complex64{complex(1, 2), complex(3, -4), complex(3, -4)}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_COMPLEX128, DcomplexVal: []float64{0.5, -1}}, []complex128{complex(0.5, -1), complex(0.5, -1), complex(0.5, -1)}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_COMPLEX64, TensorContent: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f}}, []complex64{complex(1, -2), 0, complex(0, 1)}},
		{&tpb.TensorProto{Dtype: typb.DataType_DT_COMPLEX128}, []complex128{0, 0, 0}},
	} {
		c.p.TensorShape = ShapeProto(classify.Shape{3})
		got, err := TensorFromProto(c.p)
		if err != nil {
			t.Fatalf("%v: %v", c.p.Dtype, err)
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("%v: %v", c.p.Dtype, err)
		}
		if DTypeProto(got.DType) != c.p.Dtype || fmt.Sprint(got.Data) != fmt.Sprint(c.want) {
			t.Errorf("%v: got %v %v, want %v", c.p.Dtype, got.DType, got.Data, c.want)
		}
	}
	bad := &tpb.TensorProto{Dtype: typb.DataType_DT_HALF, TensorShape: ShapeProto(classify.Shape{2}), TensorContent: []byte{1, 2, 3}}
	if _, err := TensorFromProto(bad); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("odd half content: got %v", err)
	}
	bad = &tpb.TensorProto{Dtype: typb.DataType_DT_INT8, TensorShape: ShapeProto(classify.Shape{1}), IntVal: []int32{1, 2}}
	if _, err := TensorFromProto(bad); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("too many int8 values: got %v", err)
	}
	bad = &tpb.TensorProto{Dtype: typb.DataType_DT_COMPLEX64, TensorShape: ShapeProto(classify.Shape{2}), ScomplexVal: []float32{1, 2, 3}}
	if _, err := TensorFromProto(bad); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("odd scomplex_val count: got %v", err)
	}
	bad = &tpb.TensorProto{Dtype: typb.DataType_DT_COMPLEX128, TensorShape: ShapeProto(classify.Shape{1}), DcomplexVal: []float64{1, 2, 3, 4}}
	if _, err := TensorFromProto(bad); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("too many dcomplex_val pairs: got %v", err)
	}
	bad = &tpb.TensorProto{Dtype: typb.DataType_DT_COMPLEX128, TensorShape: ShapeProto(classify.Shape{1}), TensorContent: make([]byte, 8)}
	if _, err := TensorFromProto(bad); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("short complex128 content: got %v", err)
	}
}

// FuzzTensorFromProto feeds arbitrary TensorProto bytes: decoding must
// return a valid tensor of the shape's size or an error, never panic, and
// a decoded tensor must survive a round trip unchanged.
func FuzzTensorFromProto(f *testing.F) {
	for _, t := range []*classify.Tensor{
		classify.FromFloat32([]float32{1, 2}, 2),
		{DType: classify.Float16, Shape: classify.Shape{2}, Data: []classify.F16{1, 2}},
		{DType: classify.Uint64, Shape: classify.Shape{1, 1}, Data: []uint64{9}},
		{DType: classify.Int8, Shape: classify.Shape{3}, Data: []int8{1, -2, 3}},
	} {
		b, _ := proto.Marshal(TensorProto(t))
		f.Add(b)
	}
	for _, p := range []*tpb.TensorProto{
		{Dtype: typb.DataType_DT_HALF, TensorShape: ShapeProto(classify.Shape{4}), HalfVal: []int32{0x3c00}},
		{Dtype: typb.DataType_DT_UINT16, TensorShape: ShapeProto(classify.Shape{2}), IntVal: []int32{-1}},
		{Dtype: typb.DataType_DT_UINT32, TensorShape: ShapeProto(classify.Shape{2}), Uint32Val: []uint32{3}},
		{Dtype: typb.DataType_DT_COMPLEX64, TensorShape: ShapeProto(classify.Shape{2}), ScomplexVal: []float32{1, 2}},
		{Dtype: typb.DataType_DT_COMPLEX128, TensorShape: ShapeProto(classify.Shape{3}), DcomplexVal: []float64{1, 2, 3, 4}},
	} {
		b, _ := proto.Marshal(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := &tpb.TensorProto{}
		if proto.Unmarshal(data, p) != nil {
			return
		}
		// Shapes over a million elements are legal but slow to fuzz.
		n := int64(1)
		for _, d := range p.GetTensorShape().GetDim() {
			if d.GetSize() > 0 {
				n *= min(d.GetSize(), 1<<20)
			}
			if n > 1<<20 {
				return
			}
		}
		x, err := TensorFromProto(p)
		if err != nil {
			return
		}
		if err := x.Validate(); err != nil {
			t.Fatalf("invalid tensor: %v", err)
		}
		y, err := TensorFromProto(TensorProto(x))
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if a, b := TensorProto(x), TensorProto(y); !bytes.Equal(a.TensorContent, b.TensorContent) || y.DType != x.DType || !y.Shape.Equal(x.Shape) {
			t.Fatalf("round trip changed %v to %v", x, y)
		}
	})
}

func TestMarshalDeterministic(t *testing.T) {
	build := func() []byte {
		b := New()
		x := b.Placeholder("x", classify.Float32, classify.Shape{-1, 3})
		w := b.ConstF32("w", []float32{1, 2, 3, 4, 5, 6}, 3, 2)
		b.Op("MatMul", "y", []Output{x, w}, Attrs{"T": classify.Float32, "transpose_a": false, "transpose_b": false})
		data, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if a, b := build(), build(); !bytes.Equal(a, b) {
		t.Error("two builds of one graph differ")
	}
}
