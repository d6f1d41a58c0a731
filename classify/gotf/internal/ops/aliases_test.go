package ops

import (
	"reflect"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestAliasesAgree checks the ops TensorFlow keeps as older or variant
// spellings of another op against that op, whose results are checked by
// goldens or references of their own: same inputs, same outputs, bit for
// bit (TensorFlow's kernels for each pair share one implementation).
func TestAliasesAgree(t *testing.T) {
	f32 := func(shape []int, v ...float32) *classify.Tensor { return classify.FromFloat32(v, shape...) }
	i32 := func(v ...int32) *classify.Tensor {
		return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{len(v)}, Data: v}
	}
	s32 := func(v int32) *classify.Tensor {
		return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{v}}
	}
	scalarF := func(v float32) *classify.Tensor {
		return &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{v}}
	}
	seq := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i%7) - 2.5
		}
		return v
	}
	kc := mustRunAttr(t, "StatelessRandomGetKeyCounter", nil, seed32(7, -3))
	alg := s32(1)
	for _, tc := range []struct {
		alias, canon string
		aAttr, cAttr graphdef.Attrs
		aIn, cIn     []*classify.Tensor
		// prefix: the alias's output is the canonical one padded with
		// zero rows (num_segments beyond the last id).
		prefix bool
	}{
		{alias: "BatchMatMul", canon: "BatchMatMulV2",
			aIn: []*classify.Tensor{f32([]int{2, 3, 4}, seq(24)...), f32([]int{2, 4, 5}, seq(40)...)}},
		{alias: "BiasAddV1", canon: "BiasAdd",
			aIn: []*classify.Tensor{f32([]int{2, 3}, seq(6)...), f32([]int{3}, 1, -2, 0.5)}},
		{alias: "MatrixDiagV2", canon: "MatrixDiagV3",
			aIn: []*classify.Tensor{f32([]int{2, 3}, seq(6)...), s32(0), s32(-1), s32(-1), scalarF(0)}},
		{alias: "MatrixDiagPartV2", canon: "MatrixDiagPartV3",
			aIn: []*classify.Tensor{f32([]int{2, 3, 3}, seq(18)...), s32(0), scalarF(0)}},
		{alias: "ParallelDynamicStitch", canon: "DynamicStitch", aAttr: graphdef.Attrs{"N": 2}, cAttr: graphdef.Attrs{"N": 2},
			aIn: []*classify.Tensor{i32(0, 2), i32(1, 3), f32([]int{2, 2}, 1, 2, 3, 4), f32([]int{2, 2}, 5, 6, 7, 8)}},
		{alias: "SparseSegmentSumWithNumSegments", canon: "SparseSegmentSum", prefix: true,
			aIn: []*classify.Tensor{f32([]int{3, 2}, seq(6)...), i32(0, 2, 1), i32(0, 0, 1), s32(4)},
			cIn: []*classify.Tensor{f32([]int{3, 2}, seq(6)...), i32(0, 2, 1), i32(0, 0, 1)}},
		{alias: "SparseSegmentSqrtNWithNumSegments", canon: "SparseSegmentSqrtN", prefix: true,
			aIn: []*classify.Tensor{f32([]int{3, 2}, seq(6)...), i32(0, 2, 1), i32(0, 0, 1), s32(3)},
			cIn: []*classify.Tensor{f32([]int{3, 2}, seq(6)...), i32(0, 2, 1), i32(0, 0, 1)}},
		{alias: "TopK", canon: "TopKV2", aAttr: graphdef.Attrs{"k": 3},
			aIn: []*classify.Tensor{f32([]int{2, 5}, 3, 1, 4, 1, 5, 9, 2, 6, 5, 3)},
			cIn: []*classify.Tensor{f32([]int{2, 5}, 3, 1, 4, 1, 5, 9, 2, 6, 5, 3), s32(3)}},
		{alias: "StatelessRandomGetKeyCounterAlg", canon: "StatelessRandomGetKeyCounter",
			aIn: []*classify.Tensor{seed32(7, -3)}},
		{alias: "StatelessRandomUniformIntV2", canon: "StatelessRandomUniformInt",
			aAttr: graphdef.Attrs{"dtype": classify.Int32}, cAttr: graphdef.Attrs{"dtype": classify.Int32},
			aIn: []*classify.Tensor{shape32(3, 4), kc[0], kc[1], alg, s32(-5), s32(17)},
			cIn: []*classify.Tensor{shape32(3, 4), seed32(7, -3), s32(-5), s32(17)}},
		{alias: "StatelessRandomUniformFullIntV2", canon: "StatelessRandomUniformFullInt",
			aAttr: graphdef.Attrs{"dtype": classify.Int64}, cAttr: graphdef.Attrs{"dtype": classify.Int64},
			aIn: []*classify.Tensor{shape32(5), kc[0], kc[1], alg},
			cIn: []*classify.Tensor{shape32(5), seed32(7, -3)}},
		{alias: "InTopK", canon: "InTopKV2", aAttr: graphdef.Attrs{"k": 2, "T": classify.Int32},
			aIn: []*classify.Tensor{f32([]int{2, 3}, 0.1, 0.5, 0.4, 0.9, 0.05, 0.05), i32(2, 1)},
			cIn: []*classify.Tensor{f32([]int{2, 3}, 0.1, 0.5, 0.4, 0.9, 0.05, 0.05), i32(2, 1), s32(2)}},
		{alias: "NonMaxSuppression", canon: "NonMaxSuppressionV2", aAttr: graphdef.Attrs{"iou_threshold": float32(0.4)},
			aIn: []*classify.Tensor{f32([]int{3, 4}, 0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 2, 1, 3), f32([]int{3}, 0.9, 0.8, 0.7), s32(3)},
			cIn: []*classify.Tensor{f32([]int{3, 4}, 0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 2, 1, 3), f32([]int{3}, 0.9, 0.8, 0.7), s32(3), scalarF(0.4)}},
		{alias: "MatrixDiagPart", canon: "MatrixDiagPartV3", aAttr: graphdef.Attrs{"T": classify.Float32},
			aIn: []*classify.Tensor{f32([]int{2, 3, 4}, seq(24)...)},
			cIn: []*classify.Tensor{f32([]int{2, 3, 4}, seq(24)...), s32(0), scalarF(0)}},
		{alias: "AccumulateNV2", canon: "AddN", aAttr: graphdef.Attrs{"N": 2},
			aIn: []*classify.Tensor{f32([]int{3}, 1, 2, 3), f32([]int{3}, 4, 5, 6)}},
		{alias: "ConjugateTranspose", canon: "Transpose",
			aIn: []*classify.Tensor{f32([]int{2, 3}, seq(6)...), i32(1, 0)}},
	} {
		cIn, cAttr := tc.cIn, tc.cAttr
		if cIn == nil {
			cIn = tc.aIn
		}
		if cAttr == nil {
			cAttr = tc.aAttr
		}
		a := mustRunAttr(t, tc.alias, tc.aAttr, tc.aIn...)
		c := mustRunAttr(t, tc.canon, cAttr, cIn...)
		if len(a) < len(c) {
			t.Errorf("%s: %d outputs, %s has %d", tc.alias, len(a), tc.canon, len(c))
			continue
		}
		for i := range c {
			if tc.prefix {
				got, want := a[i].Float32s(), c[i].Float32s()
				if a[i].Shape[0] < c[i].Shape[0] || !reflect.DeepEqual(got[:len(want)], want) {
					t.Errorf("%s output %d = %v %v, want %v %v then zero rows", tc.alias, i, a[i].Shape, got, c[i].Shape, want)
				}
				for _, v := range got[len(want):] {
					if v != 0 {
						t.Errorf("%s output %d: padding row holds %v", tc.alias, i, got)
						break
					}
				}
				continue
			}
			if !a[i].Shape.Equal(c[i].Shape) || a[i].DType != c[i].DType || !reflect.DeepEqual(a[i].Data, c[i].Data) {
				t.Errorf("%s output %d = %v %v, %s gives %v %v", tc.alias, i, a[i].Shape, a[i].Data, tc.canon, c[i].Shape, c[i].Data)
			}
		}
		if tc.alias == "StatelessRandomGetKeyCounterAlg" {
			if len(a) != 3 || !reflect.DeepEqual(a[2].Data, []int32{1}) {
				t.Errorf("%s: algorithm output %v, want Philox (1)", tc.alias, a)
			}
		}
	}
	// The full-range integers cover the type: with 60 draws, some have the
	// top bit set and some do not.
	full := mustRunAttr(t, "StatelessRandomUniformFullInt", graphdef.Attrs{"dtype": classify.Int64}, shape32(60), seed32(1, 2))[0].Int64s()
	neg := 0
	for _, v := range full {
		if v < 0 {
			neg++
		}
	}
	if neg == 0 || neg == len(full) {
		t.Errorf("full-range int64 draws all of one sign: %v", full)
	}
	if got := mustRunAttr(t, "StatelessRandomGetAlg", nil)[0]; !reflect.DeepEqual(got.Data, []int32{1}) || len(got.Shape) != 0 {
		t.Errorf("StatelessRandomGetAlg = %v %v, want scalar 1 (Philox, the CPU default)", got.Shape, got.Data)
	}
}
