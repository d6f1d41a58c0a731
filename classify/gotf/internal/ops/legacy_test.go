package ops

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Values worked by hand from TensorFlow's op documentation.
func TestLegacyUtilities(t *testing.T) {
	// tf.raw_ops.DataFormatDimMap: NHWC dims in NCHW: [0, 1, 2, 3, -1] -> [0, 2, 3, 1, 1].
	wantInts(t, "dim map", mustRunAttr(t, "DataFormatDimMap", graphdef.Attrs{"T": classify.Int32}, saI32([]int32{0, 1, 2, 3, -1}, 5))[0], 0, 2, 3, 1, 1)
	wantInts(t, "dim map NCHW->NHWC", mustRunAttr(t, "DataFormatDimMap", graphdef.Attrs{"T": classify.Int32, "src_format": "NCHW", "dst_format": "NHWC"}, saI32([]int32{1}, 1))[0], 3)
	// DataFormatVecPermute docstring: NHWC [1, 2, 3, 4] -> NCHW [1, 4, 2, 3].
	wantInts(t, "vec permute", mustRunAttr(t, "DataFormatVecPermute", graphdef.Attrs{"T": classify.Int32}, saI32([]int32{1, 2, 3, 4}, 4))[0], 1, 4, 2, 3)
	wantInts(t, "vec permute [4,2]", mustRunAttr(t, "DataFormatVecPermute", graphdef.Attrs{"T": classify.Int32}, saI32([]int32{1, 2, 3, 4, 5, 6, 7, 8}, 4, 2))[0], 1, 2, 7, 8, 3, 4, 5, 6)
	// Spatial only: HW stays HW between NHWC and NCHW.
	wantInts(t, "vec permute spatial", mustRunAttr(t, "DataFormatVecPermute", graphdef.Attrs{"T": classify.Int32}, saI32([]int32{5, 6}, 2))[0], 5, 6)

	// tf.dynamic_partition docstring: data [10, 20, 30, 40, 50], partitions [0, 0, 1, 1, 0], 2 -> [10, 20, 50], [30, 40].
	out := mustRunAttr(t, "DynamicPartition", graphdef.Attrs{"T": classify.Int32, "num_partitions": 2}, saI32([]int32{10, 20, 30, 40, 50}, 5), saI32([]int32{0, 0, 1, 1, 0}, 5))
	wantInts(t, "partition 0", out[0], 10, 20, 50)
	wantInts(t, "partition 1", out[1], 30, 40)
	// Rows: partitions [1, 0] of a [2, 2] matrix; partition 2 empty.
	out = mustRunAttr(t, "DynamicPartition", graphdef.Attrs{"T": classify.Float32, "num_partitions": 3}, classify.FromFloat32([]float32{1, 2, 3, 4}, 2, 2), saI32([]int32{1, 0}, 2))
	if got := out[0].Float32s(); !slices.Equal(got, []float32{3, 4}) || !out[2].Shape.Equal(classify.Shape{0, 2}) {
		t.Errorf("row partitions: %v, empty %v", got, out[2].Shape)
	}

	for _, tc := range []struct {
		in   *classify.Tensor
		want bool
	}{
		{classify.FromFloat32([]float32{0}), false}, {classify.FromFloat32([]float32{-2}), true},
		{saI32([]int32{0}), false}, {sstr(""), false}, {sstr("a"), true},
		{classify.FromFloat32([]float32{0, 0}, 2), true}, {classify.FromFloat32(nil, 0), false},
	} {
		if got := mustRunAttr(t, "ToBool", nil, tc.in)[0].Data.([]bool)[0]; got != tc.want {
			t.Errorf("ToBool(%v %v) = %v", tc.in.Shape, tc.in.Data, got)
		}
	}
	nx := mustRunAttr(t, "NextAfter", graphdef.Attrs{"T": classify.Float32}, classify.FromFloat32([]float32{1, 1}, 2), classify.FromFloat32([]float32{2, 0}, 2))[0].Float32s()
	if nx[0] != math.Nextafter32(1, 2) || nx[1] != math.Nextafter32(1, 0) || nx[0] <= 1 || nx[1] >= 1 {
		t.Errorf("NextAfter = %v", nx)
	}
	if out := mustRunAttr(t, "ControlTrigger", nil); len(out) != 0 {
		t.Errorf("ControlTrigger gave %d outputs", len(out))
	}
	x := classify.FromFloat32([]float32{1, 2}, 2)
	for _, op := range []string{"GuaranteeConst", "Copy", "CopyHost", "CheckNumericsV2"} {
		if got := mustRunAttr(t, op, graphdef.Attrs{"T": classify.Float32}, x)[0]; !slices.Equal(got.Float32s(), x.Float32s()) {
			t.Errorf("%s = %v", op, got.Data)
		}
	}
	if _, err := runAttrOp(t, "CheckNumericsV2", graphdef.Attrs{"T": classify.Float32}, classify.FromFloat32([]float32{float32(math.Inf(-1))})); err == nil {
		t.Errorf("CheckNumericsV2 let -inf through")
	}
	for _, tc := range []struct {
		op  string
		a   graphdef.Attrs
		in  []*classify.Tensor
		msg string
	}{
		{"DataFormatDimMap", graphdef.Attrs{"T": classify.Int32}, []*classify.Tensor{saI32([]int32{4}, 1)}, "out of range"},
		{"DataFormatDimMap", graphdef.Attrs{"T": classify.Int32, "dst_format": "NCHWX"}, []*classify.Tensor{saI32([]int32{1}, 1)}, "equal length"},
		{"DataFormatVecPermute", graphdef.Attrs{"T": classify.Int32}, []*classify.Tensor{saI32([]int32{1, 2, 3}, 3)}, "must be 4 or 2"},
		{"DynamicPartition", graphdef.Attrs{"T": classify.Int32, "num_partitions": 2}, []*classify.Tensor{saI32([]int32{1, 2}, 2), saI32([]int32{0, 2}, 2)}, "not in [0, 2)"},
		{"DynamicPartition", graphdef.Attrs{"T": classify.Int32, "num_partitions": 2}, []*classify.Tensor{saI32([]int32{1, 2}, 2), saI32([]int32{0}, 1)}, "must start with"},
		{"DynamicPartition", graphdef.Attrs{"T": classify.Int32, "num_partitions": 0}, []*classify.Tensor{saI32([]int32{1}, 1), saI32([]int32{0}, 1)}, "num_partitions"},
	} {
		if _, err := runAttrOp(t, tc.op, tc.a, tc.in...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", tc.op, err, tc.msg)
		}
	}
}
