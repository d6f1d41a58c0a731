package ops

import (
	"math"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Cases worked by hand from ComputeQuantizationRange: the side of the
// range that needs the smaller scale sets it, the other end moves.
func TestQuantizeAndDequantize(t *testing.T) {
	f := func(v ...float32) *classify.Tensor { return classify.FromFloat32(v, len(v)) }
	s := func(v float32) *classify.Tensor { return classify.FromFloat32([]float32{v}) }
	for _, tc := range []struct {
		name string
		op   string
		a    graphdef.Attrs
		in   []*classify.Tensor
		want []float32
	}{
		// min -1 sets scale 128 (127/0.8 is larger): steps of 1/128.
		{"own range", "QuantizeAndDequantizeV2", graphdef.Attrs{"T": classify.Float32},
			[]*classify.Tensor{f(-1, -0.5, 0, 0.3, 0.8), s(0), s(0)}, []float32{-1, -0.5, 0, 0.296875, 0.796875}},
		// Unsigned [0, 255]: scale 1, values clamped; 2.5 rounds to even.
		{"given range", "QuantizeAndDequantizeV2", graphdef.Attrs{"T": classify.Float32, "signed_input": false, "range_given": true},
			[]*classify.Tensor{f(-3, 2.5, 3.5, 300), s(0), s(255)}, []float32{0, 2, 4, 255}},
		{"half up", "QuantizeAndDequantizeV4", graphdef.Attrs{"T": classify.Float32, "signed_input": false, "range_given": true, "round_mode": "HALF_UP"},
			[]*classify.Tensor{f(-3, 2.5, 3.5, 300), s(0), s(255)}, []float32{0, 3, 4, 255}},
		// V3 takes num_bits as an input: 4 signed bits are [-8, 7].
		{"v3 4 bits", "QuantizeAndDequantizeV3", graphdef.Attrs{"T": classify.Float32},
			[]*classify.Tensor{f(0.7, -1), s(0), s(0), saI32([]int32{4})}, []float32{0.75, -1}},
		// narrow_range: [-127, 127], so min -1 gives scale 127.
		{"narrow", "QuantizeAndDequantizeV2", graphdef.Attrs{"T": classify.Float32, "narrow_range": true},
			[]*classify.Tensor{f(-1, 0.5), s(0), s(0)}, []float32{-1, 64.0 / 127}},
		// Per channel (axis 1): channel 0 spans [-1, 0.5] (scale 128),
		// channel 1 [-2, 4] (scale 127/4; -63.5 rounds to -64).
		{"per channel", "QuantizeAndDequantizeV2", graphdef.Attrs{"T": classify.Float32, "axis": int64(1)},
			[]*classify.Tensor{classify.FromFloat32([]float32{-1, 4, 0.5, -2}, 2, 2), f(0, 0), f(0, 0)}, []float32{-1, 4, 0.5, -64 * 4.0 / 127}},
	} {
		got := mustRunAttr(t, tc.op, tc.a, tc.in...)[0].Float32s()
		for i := range tc.want {
			if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
	d := &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{2}, Data: []float64{0.3, -1}}
	z := &classify.Tensor{DType: classify.Float64, Shape: classify.Shape{}, Data: []float64{0}}
	if got := mustRunAttr(t, "QuantizeAndDequantizeV2", graphdef.Attrs{"T": classify.Float64}, d, z, z)[0].Data.([]float64); got[0] != 38.0/128 || got[1] != -1 {
		t.Errorf("float64: %v", got)
	}
	for _, tc := range []struct {
		a   graphdef.Attrs
		in  []*classify.Tensor
		msg string
	}{
		{graphdef.Attrs{"range_given": true}, []*classify.Tensor{f(1), s(2), s(1)}, "invalid range"},
		{graphdef.Attrs{"axis": int64(1)}, []*classify.Tensor{f(1), s(0), s(0)}, "larger than input"},
		{graphdef.Attrs{"range_given": true, "axis": int64(0)}, []*classify.Tensor{f(1, 2), s(0), s(1)}, "one per slice"},
		{graphdef.Attrs{"num_bits": int64(0)}, []*classify.Tensor{f(1), s(0), s(0)}, "num_bits"},
		{graphdef.Attrs{"round_mode": "UP"}, []*classify.Tensor{f(1), s(0), s(0)}, "round_mode"},
	} {
		if _, err := runAttrOp(t, "QuantizeAndDequantizeV2", tc.a, tc.in...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: err = %v, want %q", tc.a, err, tc.msg)
		}
	}
	if _, err := runAttrOp(t, "QuantizeAndDequantizeV3", nil, f(1), s(0), s(0), saI32([]int32{70})); err == nil || !strings.Contains(err.Error(), "num_bits") {
		t.Errorf("V3 with 70 bits: %v", err)
	}
}
