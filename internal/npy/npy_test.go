package npy

import (
	"bytes"
	"errors"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

func TestRoundTrip(t *testing.T) {
	cases := []*classify.Tensor{
		classify.FromFloat32([]float32{1, -2.5, 3, 4, 5, 6}, 2, 3),
		{DType: classify.Int32, Shape: classify.Shape{3}, Data: []int32{1, -2, 3}},
		{DType: classify.Int64, Shape: classify.Shape{}, Data: []int64{-7}},
		{DType: classify.Bool, Shape: classify.Shape{2}, Data: []bool{true, false}},
		{DType: classify.Uint8, Shape: classify.Shape{1, 2}, Data: []uint8{0, 255}},
		classify.FromFloat32([]float32{}, 0, 4),
		{DType: classify.Float16, Shape: classify.Shape{3}, Data: []classify.F16{0x3c00, 0xfbff, 0x7e00}},
		{DType: classify.Int8, Shape: classify.Shape{2}, Data: []int8{-128, 127}},
		{DType: classify.Int16, Shape: classify.Shape{2}, Data: []int16{-32768, 32767}},
		{DType: classify.Uint16, Shape: classify.Shape{2}, Data: []uint16{0, 65535}},
		{DType: classify.Uint32, Shape: classify.Shape{1}, Data: []uint32{1<<32 - 1}},
		{DType: classify.Uint64, Shape: classify.Shape{2}, Data: []uint64{1<<64 - 1, 1 << 63}},
		{DType: classify.Complex64, Shape: classify.Shape{2}, Data: []complex64{complex(1, -2), complex(0, 3.5)}},
		{DType: classify.Complex128, Shape: classify.Shape{1}, Data: []complex128{complex(-1e300, 1e-300)}},
	}
	for _, want := range cases {
		var buf bytes.Buffer
		if err := Write(&buf, want); err != nil {
			t.Fatal(err)
		}
		if buf.Len()%64 != (want.Len()*want.DType.Size())%64 {
			t.Errorf("%v: header not padded to 64 bytes", want.Shape)
		}
		got, err := Read(&buf)
		if err != nil {
			t.Fatalf("%v: %v", want.Shape, err)
		}
		if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
			t.Fatalf("got %v%v want %v%v", got.DType, got.Shape, want.DType, want.Shape)
		}
		if a, b := got.Clone(), want.Clone(); !equalData(a, b) {
			t.Errorf("%v: data differs: %v vs %v", want.Shape, a.Data, b.Data)
		}
	}
}

func equalData(a, b *classify.Tensor) bool {
	var ba, bb bytes.Buffer
	Write(&ba, a)
	Write(&bb, b)
	return bytes.Equal(ba.Bytes(), bb.Bytes())
}

func TestBadFiles(t *testing.T) {
	good := func() []byte {
		var b bytes.Buffer
		Write(&b, classify.FromFloat32([]float32{1, 2}, 2))
		return b.Bytes()
	}
	g := good()
	cases := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XNUMPY"), g[6:]...),
		"truncated": g[:len(g)-3],
		"fortran":   bytes.Replace(g, []byte("False"), []byte("True "), 1),
		"dtype":     bytes.Replace(g, []byte("<f4"), []byte("<c8"), 1),
		"huge":      bytes.Replace(g, []byte("(2,)"), []byte("(9999999999,)"), 1),
	}
	for name, b := range cases {
		if _, err := Read(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
}

// TestNewDTypeBytes checks the descr and data bytes NumPy writes for the
// dtypes beyond float32 (as np.save writes them), and that bfloat16, which
// NumPy lacks, is written as the float32 values it holds.
func TestNewDTypeBytes(t *testing.T) {
	for _, c := range []struct {
		in    *classify.Tensor
		descr string
		data  []byte
	}{
		{&classify.Tensor{DType: classify.Float16, Shape: classify.Shape{2}, Data: []classify.F16{0x3c00, 0xc000}}, "<f2", []byte{0, 0x3c, 0, 0xc0}},
		{&classify.Tensor{DType: classify.Int8, Shape: classify.Shape{2}, Data: []int8{-1, 2}}, "|i1", []byte{0xff, 2}},
		{&classify.Tensor{DType: classify.Int16, Shape: classify.Shape{1}, Data: []int16{-2}}, "<i2", []byte{0xfe, 0xff}},
		{&classify.Tensor{DType: classify.Uint16, Shape: classify.Shape{1}, Data: []uint16{0x1234}}, "<u2", []byte{0x34, 0x12}},
		{&classify.Tensor{DType: classify.Uint32, Shape: classify.Shape{1}, Data: []uint32{0x12345678}}, "<u4", []byte{0x78, 0x56, 0x34, 0x12}},
		{&classify.Tensor{DType: classify.Uint64, Shape: classify.Shape{1}, Data: []uint64{1<<64 - 2}}, "<u8", []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{&classify.Tensor{DType: classify.BFloat16, Shape: classify.Shape{1}, Data: []classify.BF16{0x3fc0}}, "<f4", []byte{0, 0, 0xc0, 0x3f}},
		// NumPy's complex64 is (real, imag) float32 pairs.
		{&classify.Tensor{DType: classify.Complex64, Shape: classify.Shape{1}, Data: []complex64{complex(1, -2)}}, "<c8", []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}},
		{&classify.Tensor{DType: classify.Complex128, Shape: classify.Shape{1}, Data: []complex128{complex(0, 1)}}, "<c16", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
	} {
		var b bytes.Buffer
		if err := Write(&b, c.in); err != nil {
			t.Fatalf("%v: %v", c.in.DType, err)
		}
		if !bytes.Contains(b.Bytes(), []byte("'descr': '"+c.descr+"'")) {
			t.Errorf("%v: header %q lacks descr %s", c.in.DType, b.Bytes()[:64], c.descr)
		}
		if got := b.Bytes()[b.Len()-len(c.data):]; !bytes.Equal(got, c.data) {
			t.Errorf("%v: data % x, want % x", c.in.DType, got, c.data)
		}
		back, err := Read(&b)
		if err != nil {
			t.Fatal(err)
		}
		if c.in.DType == classify.BFloat16 {
			if back.DType != classify.Float32 || back.Float32s()[0] != 1.5 {
				t.Errorf("bfloat16 read back as %v %v, want float32 1.5", back.DType, back.Data)
			}
		} else if back.DType != c.in.DType {
			t.Errorf("%v read back as %v", c.in.DType, back.DType)
		}
	}
	// A big-endian float16 as NumPy writes it with dtype '>f2'.
	var b bytes.Buffer
	Write(&b, &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{1}, Data: []classify.F16{0}})
	raw := bytes.Replace(b.Bytes(), []byte("<f2"), []byte(">f2"), 1)
	raw = append(raw[:len(raw)-2], 0x3c, 0x00)
	got, err := Read(bytes.NewReader(raw))
	if err != nil || got.Data.([]classify.F16)[0] != 0x3c00 {
		t.Errorf("'>f2' 1.0 read as %v, %v", got, err)
	}
}

func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	Write(&b, classify.FromFloat32([]float32{1, 2, 3}, 3))
	f.Add(b.Bytes())
	for _, t := range []*classify.Tensor{
		{DType: classify.Float16, Shape: classify.Shape{2}, Data: []classify.F16{1, 2}},
		{DType: classify.Int8, Shape: classify.Shape{1, 1}, Data: []int8{-3}},
		{DType: classify.Uint64, Shape: classify.Shape{1}, Data: []uint64{7}},
	} {
		b.Reset()
		Write(&b, t)
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tt, err := Read(bytes.NewReader(data))
		if err == nil {
			if err := tt.Validate(); err != nil {
				t.Fatalf("Read returned an invalid tensor: %v", err)
			}
		}
	})
}
