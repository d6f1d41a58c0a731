package savedmodeltest_test

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/savedmodeltest"
	"github.com/classifyd/classifyd/savedmodel"
)

// TestBundleRoundTrip writes a variable of every dtype a bundle can hold and
// reads it back with the server's own reader: a dtype the writer drops
// (as it once did for int8, half, complex, ...) fails the checksum or the
// size check there, or comes back with other values.
func TestBundleRoundTrip(t *testing.T) {
	vars := map[string]*classify.Tensor{
		"f32":  {DType: classify.Float32, Shape: classify.Shape{2}, Data: []float32{1.5, -2}},
		"f64":  {DType: classify.Float64, Shape: classify.Shape{2}, Data: []float64{1e300, -0.25}},
		"i32":  {DType: classify.Int32, Shape: classify.Shape{2}, Data: []int32{-7, 1 << 30}},
		"i64":  {DType: classify.Int64, Shape: classify.Shape{1}, Data: []int64{-1 << 40}},
		"u8":   {DType: classify.Uint8, Shape: classify.Shape{3}, Data: []uint8{0, 128, 255}},
		"b":    {DType: classify.Bool, Shape: classify.Shape{2}, Data: []bool{true, false}},
		"f16":  {DType: classify.Float16, Shape: classify.Shape{2}, Data: []classify.F16{0x3c00, 0x8001}},
		"bf16": {DType: classify.BFloat16, Shape: classify.Shape{1}, Data: []classify.BF16{0x3f80}},
		"i8":   {DType: classify.Int8, Shape: classify.Shape{2}, Data: []int8{-128, 127}},
		"i16":  {DType: classify.Int16, Shape: classify.Shape{2}, Data: []int16{-32768, 3}},
		"u16":  {DType: classify.Uint16, Shape: classify.Shape{1}, Data: []uint16{65535}},
		"u32":  {DType: classify.Uint32, Shape: classify.Shape{1}, Data: []uint32{1<<32 - 1}},
		"u64":  {DType: classify.Uint64, Shape: classify.Shape{1}, Data: []uint64{1<<64 - 1}},
		"c64":  {DType: classify.Complex64, Shape: classify.Shape{2}, Data: []complex64{complex(1, -2), complex(0, 3)}},
		"c128": {DType: classify.Complex128, Shape: classify.Shape{1}, Data: []complex128{complex(-1e-300, 5)}},
		"s":    {DType: classify.String, Shape: classify.Shape{3}, Data: [][]byte{[]byte("a"), nil, []byte("xyz")}},
		"e":    {DType: classify.Float32, Shape: classify.Shape{0, 4}, Data: []float32{}},
	}
	prefix := filepath.Join(t.TempDir(), "variables")
	if err := savedmodeltest.WriteBundle(prefix, vars); err != nil {
		t.Fatal(err)
	}
	b, err := savedmodel.OpenBundle(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(b.Keys()); got != len(vars) {
		t.Errorf("bundle has %d keys, want %d", got, len(vars))
	}
	for k, want := range vars {
		got, err := b.Tensor(k)
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
			t.Errorf("%s: got %v %v, want %v %v", k, got.DType, got.Shape, want.DType, want.Shape)
			continue
		}
		if k == "s" {
			for i, s := range got.Data.([][]byte) {
				if string(s) != string(want.Data.([][]byte)[i]) {
					t.Errorf("s[%d] = %q, want %q", i, s, want.Data.([][]byte)[i])
				}
			}
			continue
		}
		if !reflect.DeepEqual(got.Data, want.Data) {
			t.Errorf("%s = %v, want %v", k, got.Data, want.Data)
		}
	}
}

func TestBundleRefusesVariant(t *testing.T) {
	vars := map[string]*classify.Tensor{"v": {DType: classify.Variant, Shape: classify.Shape{1}, Data: []any{1}}}
	if err := savedmodeltest.WriteBundle(filepath.Join(t.TempDir(), "v"), vars); err == nil {
		t.Fatal("WriteBundle accepted a variant tensor")
	}
}
