package ops

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func f16s(v ...float32) *classify.Tensor {
	d := make([]classify.F16, len(v))
	for i, x := range v {
		d[i] = classify.F16FromFloat32(x)
	}
	return &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{len(v)}, Data: d}
}

func shaped(t *classify.Tensor, shape ...int) *classify.Tensor {
	t.Shape = classify.Shape(shape)
	return t
}

// TestPromotedOutputs checks the ops whose outputs are not all of T:
// indices (ArgMax, TopKV2), bools (IsNan) and FusedBatchNorm's float32
// statistics stay as they are, the T outputs come back narrowed; plus
// AddN, Pow, ClipByValue and Cumsum on the gated integers.
func TestPromotedOutputs(t *testing.T) {
	i8 := func(v ...int8) *classify.Tensor {
		return &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{len(v)}, Data: v}
	}
	u16 := func(v ...uint16) *classify.Tensor {
		return &classify.Tensor{DType: classify.Uint16, Shape: classify.Shape{len(v)}, Data: v}
	}
	f32 := func(v ...float32) *classify.Tensor { return classify.FromFloat32(v, len(v)) }
	cases := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []*classify.Tensor
		want  []string // fmt of each output's dtype and data
	}{
		{"argmax_f16", "ArgMax", graphdef.Attrs{"T": classify.Float16, "Tidx": classify.Int32, "output_type": classify.Int64},
			[]*classify.Tensor{f16s(1, 7, -2, 7), i32([]int32{0})}, []string{"int64 [1]"}},
		{"argmin_i8", "ArgMin", graphdef.Attrs{"T": classify.Int8, "Tidx": classify.Int32, "output_type": classify.Int32},
			[]*classify.Tensor{i8(5, -128, 127), i32([]int32{0})}, []string{"int32 [1]"}},
		{"topk_i8", "TopKV2", graphdef.Attrs{"T": classify.Int8}, []*classify.Tensor{i8(3, -1, 100, 7), i32([]int32{2})},
			[]string{"int8 [100 7]", "int32 [2 3]"}},
		{"isnan_f16", "IsNan", graphdef.Attrs{"T": classify.Float16},
			[]*classify.Tensor{{DType: classify.Float16, Shape: classify.Shape{3}, Data: []classify.F16{0x7e00, 0x3c00, 0x7c00}}},
			[]string{"bool [true false false]"}},
		{"addn_u16", "AddN", graphdef.Attrs{"T": classify.Uint16, "N": 3}, []*classify.Tensor{u16(65535, 1), u16(1, 2), u16(1, 3)},
			[]string{"uint16 [1 6]"}},
		{"pow_i8", "Pow", graphdef.Attrs{"T": classify.Int8}, []*classify.Tensor{i8(2, -3, 3), i8(7, 3, 5)}, []string{"int8 [-128 -27 -13]"}},
		{"clip_u16", "ClipByValue", graphdef.Attrs{"T": classify.Uint16}, []*classify.Tensor{u16(1, 500, 70), shaped(u16(10)), shaped(u16(100))},
			[]string{"uint16 [10 100 70]"}},
		{"cumsum_i8", "Cumsum", graphdef.Attrs{"T": classify.Int8, "Tidx": classify.Int32}, []*classify.Tensor{i8(100, 100, -56), i32([]int32{0})},
			[]string{"int8 [100 -56 -112]"}},
		{"fbn_f16", "FusedBatchNormV3", graphdef.Attrs{"T": classify.Float16, "U": classify.Float32, "is_training": false, "epsilon": float32(0)},
			[]*classify.Tensor{shaped(f16s(1, 2, 3, 4), 1, 2, 1, 2), f32(2, 1), f32(0.5, 0), f32(1, 2), f32(1, 4)},
			[]string{"float16 [0.5 0 4.5 1]", "float32 [1 2]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runOp(t, c.op, c.attrs, c.in...)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.want) > 1 { // runOp fetches output 0 only
				if out, err = mathRun(c.op, c.attrs, nil, c.in...); err != nil {
					t.Fatal(err)
				}
			}
			for i, w := range c.want {
				if i >= len(out) {
					t.Fatalf("%d outputs", len(out))
				}
				if got := fmtTensor(out[i]); got != w {
					t.Errorf("output %d: %s, want %s", i, got, w)
				}
			}
		})
	}
}

func fmtTensor(t *classify.Tensor) string {
	var vals []string
	for i := 0; i < t.Len(); i++ {
		vals = append(vals, refElem(t, i).String())
	}
	return fmt.Sprintf("%v %v", t.DType, vals)
}

// TestPromotedHalfSelect covers float16 and bfloat16 on the ops that move,
// select, compare or sum elements (promote.go), with values both formats
// hold exactly and results written from TensorFlow's definitions: T
// outputs come back in T, index and float32 outputs (ResizeBilinear) as
// they are.
func TestPromotedHalfSelect(t *testing.T) {
	b := func(v ...bool) *classify.Tensor {
		return &classify.Tensor{DType: classify.Bool, Shape: classify.Shape{len(v)}, Data: v}
	}
	i32s := func(v []int32, shape ...int) *classify.Tensor { return saI32(v, shape...) }
	for _, dt := range halfDTypes {
		h := func(v ...float32) *classify.Tensor {
			x := classify.NewTensor(dt, len(v))
			castInto(nil, x, classify.FromFloat32(v, len(v)))
			return x
		}
		sh := func(x *classify.Tensor, shape ...int) *classify.Tensor { x.Shape = classify.Shape(shape); return x }
		T := dt.String()
		cases := []struct {
			op    string
			attrs graphdef.Attrs
			in    []*classify.Tensor
			want  string
		}{
			{"Reverse", nil, []*classify.Tensor{h(1, 2, 3), b(true)}, T + " [3 2 1]"},
			{"Roll", nil, []*classify.Tensor{h(1, 2, 3, 4), i32s([]int32{1}), i32s([]int32{0})}, T + " [4 1 2 3]"},
			{"ReverseSequence", graphdef.Attrs{"seq_dim": 1, "batch_dim": 0}, []*classify.Tensor{sh(h(1, 2, 3, 4, 5, 6), 2, 3), i32s([]int32{2, 3}, 2)}, T + " [2 1 3 6 5 4]"},
			{"ScatterNd", graphdef.Attrs{"Tindices": classify.Int32}, []*classify.Tensor{i32s([]int32{1, 3}, 2, 1), h(5, 6), i32s([]int32{4})}, T + " [0 5 0 6]"},
			{"TensorScatterUpdate", graphdef.Attrs{"Tindices": classify.Int32}, []*classify.Tensor{h(1, 2, 3), i32s([]int32{0}, 1, 1), h(9)}, T + " [9 2 3]"},
			{"Where", nil, []*classify.Tensor{h(0, 1.5, 0, -2)}, "int64 [1 3]"},
			{"Unique", graphdef.Attrs{"out_idx": classify.Int32}, []*classify.Tensor{h(2, 1, 2)}, T + " [2 1]"},
			{"MatrixBandPart", graphdef.Attrs{"Tindex": classify.Int32}, []*classify.Tensor{sh(h(1, 2, 3, 4), 2, 2), i32s([]int32{0}), i32s([]int32{0})}, T + " [1 0 0 4]"},
			{"MatrixDiag", nil, []*classify.Tensor{h(1, 2)}, T + " [1 0 0 2]"},
			{"OneHot", graphdef.Attrs{"TI": classify.Int32, "axis": -1}, []*classify.Tensor{i32s([]int32{0, 2}, 2), i32s([]int32{3}), sh(h(1)), sh(h(0))}, T + " [1 0 0 0 0 1]"},
			{"DynamicStitch", graphdef.Attrs{"N": 2}, []*classify.Tensor{i32s([]int32{0, 2}, 2), i32s([]int32{1}, 1), h(1, 3), h(2)}, T + " [1 2 3]"},
			{"NthElement", nil, []*classify.Tensor{h(3, 1, 2), i32s([]int32{1})}, T + " [2]"},
			{"LowerBound", graphdef.Attrs{"out_type": classify.Int32}, []*classify.Tensor{sh(h(1, 2, 3), 1, 3), sh(h(2.5, 2), 1, 2)}, "int32 [2 1]"},
			{"UpperBound", graphdef.Attrs{"out_type": classify.Int32}, []*classify.Tensor{sh(h(1, 2, 3), 1, 3), sh(h(2.5, 2), 1, 2)}, "int32 [2 2]"},
			{"ResizeNearestNeighbor", nil, []*classify.Tensor{sh(h(1, 2), 1, 1, 2, 1), i32s([]int32{1, 4}, 2)}, T + " [1 1 2 2]"},
			{"ResizeBilinear", nil, []*classify.Tensor{sh(h(1, 3), 1, 1, 2, 1), i32s([]int32{1, 4}, 2)}, "float32 [1 2 3 3]"},
			{"SegmentSum", graphdef.Attrs{"Tindices": classify.Int32}, []*classify.Tensor{h(1, 2, 3), i32s([]int32{0, 0, 1}, 3)}, T + " [3 3]"},
			{"UnsortedSegmentSum", graphdef.Attrs{"Tindices": classify.Int32, "Tnumsegments": classify.Int32}, []*classify.Tensor{h(1, 2, 3), i32s([]int32{1, 0, 1}, 3), i32s([]int32{2})}, T + " [2 4]"},
			{"Einsum", graphdef.Attrs{"equation": "ij,jk->ik", "N": 2}, []*classify.Tensor{sh(h(1, 2), 1, 2), sh(h(3, 4), 2, 1)}, T + " [11]"},
			{"LinSpace", graphdef.Attrs{"Tidx": classify.Int32}, []*classify.Tensor{sh(h(0)), sh(h(1)), i32s([]int32{5})}, T + " [0 0.25 0.5 0.75 1]"},
			{"NonMaxSuppressionV3", nil, []*classify.Tensor{sh(h(0, 0, 1, 1, 0, 0, 1, 1, 0, 2, 1, 3), 3, 4), h(0.875, 0.75, 0.625), i32s([]int32{3}), sh(h(0.5)), sh(h(0))}, "int32 [0 2]"},
		}
		for _, c := range cases {
			t.Run(c.op+"_"+T, func(t *testing.T) {
				attrs := graphdef.Attrs{"T": dt}
				for k, v := range c.attrs {
					attrs[k] = v
				}
				out, err := runOp(t, c.op, attrs, c.in...)
				if err != nil {
					t.Fatal(err)
				}
				if got := fmtTensor(out[0]); got != c.want {
					t.Errorf("got %s, want %s", got, c.want)
				}
			})
		}
	}
}

// TestPromotedHalfCompute covers float16 and bfloat16 on convolutions,
// pooling, resizing, segment and scatter reductions, matrix diagonals,
// colour functions and norms: each runs on the same values (all exact
// in both formats) as the float32 kernel the oracle checks, and must give
// its result rounded to T once (float32 where TensorFlow's output is
// float32 for every T: CropAndResize, ResizeBicubic, ResizeArea), with
// index outputs unchanged.
func TestPromotedHalfCompute(t *testing.T) {
	f := func(shape []int, v ...float32) *classify.Tensor { return classify.FromFloat32(v, shape...) }
	ramp := func(shape ...int) *classify.Tensor {
		x := classify.NewTensor(classify.Float32, shape...)
		for i := range x.Float32s() {
			x.Float32s()[i] = float32(i%7)*0.25 - 0.5
		}
		return x
	}
	unit := func(shape ...int) *classify.Tensor { // in (0, 1)
		x := classify.NewTensor(classify.Float32, shape...)
		for i := range x.Float32s() {
			x.Float32s()[i] = 0.125 + float32(i%6)*0.125
		}
		return x
	}
	i32s := saI32
	ones := func(n int) []int64 {
		s := make([]int64, n)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	T, O := promoT, promoO
	cases := []struct {
		op    string
		attrs graphdef.Attrs
		in    []promoIn
	}{
		{"Conv2DBackpropInput", graphdef.Attrs{"strides": ones(4), "padding": "VALID"}, []promoIn{O(i32s([]int32{1, 3, 3, 2}, 4)), T(ramp(2, 2, 2, 3)), T(ramp(1, 2, 2, 3))}},
		{"Conv3D", graphdef.Attrs{"strides": ones(5), "padding": "VALID"}, []promoIn{T(ramp(1, 2, 3, 3, 2)), T(ramp(1, 2, 2, 2, 3))}},
		{"AvgPool3D", graphdef.Attrs{"ksize": []int64{1, 1, 2, 2, 1}, "strides": []int64{1, 1, 2, 2, 1}, "padding": "VALID"}, []promoIn{T(ramp(1, 1, 4, 4, 2))}},
		{"MaxPool3D", graphdef.Attrs{"ksize": []int64{1, 1, 2, 2, 1}, "strides": []int64{1, 1, 2, 2, 1}, "padding": "VALID"}, []promoIn{T(ramp(1, 1, 4, 4, 2))}},
		{"MaxPoolWithArgmax", graphdef.Attrs{"ksize": []int64{1, 2, 2, 1}, "strides": []int64{1, 2, 2, 1}, "padding": "VALID", "Targmax": classify.Int64}, []promoIn{T(ramp(1, 4, 4, 2))}},
		{"Dilation2D", graphdef.Attrs{"strides": ones(4), "rates": ones(4), "padding": "VALID"}, []promoIn{T(ramp(1, 3, 3, 1)), T(ramp(2, 2, 1))}},
		{"CropAndResize", nil, []promoIn{T(ramp(1, 3, 3, 1)), O(f([]int{1, 4}, 0, 0, 1, 1)), O(i32s([]int32{0}, 1)), O(i32s([]int32{2, 2}, 2))}},
		{"ResizeBicubic", nil, []promoIn{T(ramp(1, 2, 2, 1)), O(i32s([]int32{3, 3}, 2))}},
		{"ResizeArea", nil, []promoIn{T(ramp(1, 4, 4, 1)), O(i32s([]int32{2, 2}, 2))}},
		{"SegmentMax", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{0, 0, 1, 1}, 4))}},
		{"SegmentMin", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{0, 0, 1, 1}, 4))}},
		{"SegmentMean", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{0, 0, 1, 1}, 4))}},
		{"SegmentProd", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{0, 0, 1, 1}, 4))}},
		{"UnsortedSegmentMax", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{1, 0, 1, 0}, 4)), O(i32s([]int32{2}))}},
		{"UnsortedSegmentMin", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{1, 0, 1, 0}, 4)), O(i32s([]int32{2}))}},
		{"UnsortedSegmentProd", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{1, 0, 1, 0}, 4)), O(i32s([]int32{2}))}},
		{"TensorScatterAdd", nil, []promoIn{T(ramp(4)), O(i32s([]int32{1, 3}, 2, 1)), T(ramp(2))}},
		{"TensorScatterSub", nil, []promoIn{T(ramp(4)), O(i32s([]int32{1, 3}, 2, 1)), T(ramp(2))}},
		{"TensorScatterMax", nil, []promoIn{T(ramp(4)), O(i32s([]int32{1, 3}, 2, 1)), T(ramp(2))}},
		{"TensorScatterMin", nil, []promoIn{T(ramp(4)), O(i32s([]int32{1, 3}, 2, 1)), T(ramp(2))}},
		{"InplaceAdd", nil, []promoIn{T(ramp(2, 3)), O(i32s([]int32{1}, 1)), T(ramp(1, 3))}},
		{"InplaceSub", nil, []promoIn{T(ramp(2, 3)), O(i32s([]int32{1}, 1)), T(ramp(1, 3))}},
		{"InplaceUpdate", nil, []promoIn{T(ramp(2, 3)), O(i32s([]int32{1}, 1)), T(ramp(1, 3))}},
		{"MatrixDiagV2", nil, []promoIn{T(ramp(3)), O(i32s([]int32{0})), O(i32s([]int32{-1})), O(i32s([]int32{-1})), T(f(nil, 0))}},
		{"MatrixDiagV3", nil, []promoIn{T(ramp(3)), O(i32s([]int32{1})), O(i32s([]int32{-1})), O(i32s([]int32{-1})), T(f(nil, 0.5))}},
		{"MatrixDiagPart", nil, []promoIn{T(ramp(3, 3))}},
		{"MatrixDiagPartV2", nil, []promoIn{T(ramp(3, 3)), O(i32s([]int32{0})), T(f(nil, 0))}},
		{"MatrixDiagPartV3", nil, []promoIn{T(ramp(3, 3)), O(i32s([]int32{-1})), T(f(nil, 0))}},
		{"MatrixSetDiag", nil, []promoIn{T(ramp(3, 3)), T(ramp(3))}},
		{"MatrixSetDiagV2", nil, []promoIn{T(ramp(3, 3)), T(ramp(3)), O(i32s([]int32{0}))}},
		{"MatrixSetDiagV3", nil, []promoIn{T(ramp(3, 3)), T(ramp(2)), O(i32s([]int32{1}))}},
		{"UniqueWithCounts", graphdef.Attrs{"out_idx": classify.Int32}, []promoIn{T(ramp(9))}},
		{"CumulativeLogsumexp", nil, []promoIn{T(ramp(5)), O(i32s([]int32{0}))}},
		{"EuclideanNorm", nil, []promoIn{T(ramp(3, 4)), O(i32s([]int32{1}, 1))}},
		{"RGBToHSV", nil, []promoIn{T(unit(2, 3))}},
		{"HSVToRGB", nil, []promoIn{T(unit(2, 3))}},
		{"AdjustContrastv2", nil, []promoIn{T(unit(1, 2, 2, 3)), O(f(nil, 1.5))}},
		{"AdjustHue", nil, []promoIn{T(unit(1, 2, 3)), O(f(nil, 0.25))}},
		{"AdjustSaturation", nil, []promoIn{T(unit(1, 2, 3)), O(f(nil, 0.5))}},
		{"CheckNumerics", graphdef.Attrs{"message": "m"}, []promoIn{T(ramp(3))}},
	}
	for _, dt := range halfDTypes {
		for _, c := range cases {
			t.Run(c.op+"_"+dt.String(), func(t *testing.T) {
				if dt == classify.BFloat16 && strings.HasPrefix(c.op, "Adjust") {
					// TensorFlow's T is {half, float} here.
					x := classify.NewTensor(dt, c.in[0].x.Shape...)
					if _, err := mathRun(c.op, graphdef.Attrs{"T": dt}, nil, x, c.in[1].x); !errors.Is(err, classify.ErrUnsupportedOp) {
						t.Errorf("bfloat16: err = %v, want ErrUnsupportedOp", err)
					}
					return
				}
				floatOut := c.op == "CropAndResize" || c.op == "ResizeBicubic" || c.op == "ResizeArea"
				checkPromoted(t, c.op, c.attrs, c.in, dt, classify.Float32, func(_ int, w *classify.Tensor) bool {
					return w.DType == classify.Float32 && !floatOut
				})
			})
		}
	}
}

// TestPromotedIntSelect covers int8, int16, uint16 and uint32 (and uint64
// on the ops that only move or compare bit patterns) on selection,
// scatter, segment, bound and resize ops: each must give the int64
// kernel's result on the same values, T outputs in T, index outputs
// (Where's, the bounds') and the resizes' float32 unchanged.
func TestPromotedIntSelect(t *testing.T) {
	i64 := func(shape []int, v ...int64) *classify.Tensor {
		return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape(shape), Data: v}
	}
	ramp := func(shape ...int) *classify.Tensor {
		x := classify.NewTensor(classify.Int64, shape...)
		for i := range x.Int64s() {
			x.Int64s()[i] = int64(i * 5 % 7) // 0..6, with zeros and repeats
		}
		return x
	}
	i32s := saI32
	f := func(shape []int, v ...float32) *classify.Tensor { return classify.FromFloat32(v, shape...) }
	T, O := promoT, promoO
	cases := []struct {
		op     string
		attrs  graphdef.Attrs
		in     []promoIn
		u64    bool  // uint64 promotes too
		idxOut []int // int64 outputs that are indices, not T
	}{
		{"Reverse", nil, []promoIn{T(ramp(3)), O(&classify.Tensor{DType: classify.Bool, Shape: classify.Shape{1}, Data: []bool{true}})}, true, nil},
		{"Roll", nil, []promoIn{T(ramp(4)), O(i32s([]int32{1})), O(i32s([]int32{0}))}, true, nil},
		{"ReverseSequence", graphdef.Attrs{"seq_dim": 1, "batch_dim": 0}, []promoIn{T(ramp(2, 3)), O(i32s([]int32{2, 3}, 2))}, true, nil},
		{"ScatterNd", graphdef.Attrs{"Tindices": classify.Int32}, []promoIn{O(i32s([]int32{1, 3}, 2, 1)), T(ramp(2)), O(i32s([]int32{4}))}, true, nil},
		{"TensorScatterUpdate", nil, []promoIn{T(ramp(4)), O(i32s([]int32{2}, 1, 1)), T(i64([]int{1}, 6))}, true, nil},
		{"Where", nil, []promoIn{T(ramp(6))}, true, []int{0}},
		{"Unique", graphdef.Attrs{"out_idx": classify.Int32}, []promoIn{T(ramp(9))}, true, nil},
		{"UniqueWithCounts", graphdef.Attrs{"out_idx": classify.Int32}, []promoIn{T(ramp(9))}, true, nil},
		{"MatrixBandPart", graphdef.Attrs{"Tindex": classify.Int32}, []promoIn{T(ramp(3, 3)), O(i32s([]int32{1})), O(i32s([]int32{0}))}, true, nil},
		{"MatrixDiag", nil, []promoIn{T(ramp(3))}, true, nil},
		{"MatrixDiagV3", nil, []promoIn{T(ramp(3)), O(i32s([]int32{1})), O(i32s([]int32{-1})), O(i32s([]int32{-1})), T(i64(nil, 5))}, true, nil},
		{"MatrixDiagPartV3", nil, []promoIn{T(ramp(3, 3)), O(i32s([]int32{-1})), T(i64(nil, 0))}, true, nil},
		{"MatrixSetDiagV3", nil, []promoIn{T(ramp(3, 3)), T(i64([]int{2}, 6, 5)), O(i32s([]int32{1}))}, true, nil},
		{"OneHot", graphdef.Attrs{"TI": classify.Int32, "axis": -1}, []promoIn{O(i32s([]int32{0, 2}, 2)), O(i32s([]int32{3})), T(i64(nil, 6)), T(i64(nil, 1))}, true, nil},
		{"DynamicStitch", graphdef.Attrs{"N": 2}, []promoIn{O(i32s([]int32{0, 2}, 2)), O(i32s([]int32{1}, 1)), T(i64([]int{2}, 4, 6)), T(i64([]int{1}, 5))}, true, nil},
		{"InplaceUpdate", nil, []promoIn{T(ramp(2, 3)), O(i32s([]int32{1}, 1)), T(ramp(1, 3))}, true, nil},
		{"ResizeNearestNeighbor", nil, []promoIn{T(ramp(1, 2, 2, 1)), O(i32s([]int32{3, 3}, 2))}, true, nil},
		{"SegmentSum", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{0, 0, 1, 1}, 4))}, false, nil},
		{"SegmentProd", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{0, 0, 1, 1}, 4))}, false, nil},
		{"SegmentMax", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{0, 0, 1, 1}, 4))}, false, nil},
		{"UnsortedSegmentMin", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{1, 0, 1, 0}, 4)), O(i32s([]int32{2}))}, false, nil},
		{"UnsortedSegmentSum", nil, []promoIn{T(ramp(4, 2)), O(i32s([]int32{1, 0, 1, 0}, 4)), O(i32s([]int32{2}))}, false, nil},
		{"TensorScatterAdd", nil, []promoIn{T(ramp(4)), O(i32s([]int32{1, 3}, 2, 1)), T(ramp(2))}, false, nil},
		{"TensorScatterMax", nil, []promoIn{T(ramp(4)), O(i32s([]int32{1, 3}, 2, 1)), T(ramp(2))}, false, nil},
		{"InplaceAdd", nil, []promoIn{T(ramp(2, 3)), O(i32s([]int32{1}, 1)), T(ramp(1, 3))}, false, nil},
		{"LowerBound", graphdef.Attrs{"out_type": classify.Int32}, []promoIn{T(i64([]int{1, 4}, 0, 2, 4, 6)), T(i64([]int{1, 3}, 3, 4, 7))}, false, nil},
		{"UpperBound", graphdef.Attrs{"out_type": classify.Int64}, []promoIn{T(i64([]int{1, 4}, 0, 2, 4, 6)), T(i64([]int{1, 3}, 3, 4, 7))}, false, []int{0}},
		{"NthElement", nil, []promoIn{T(ramp(2, 4)), O(i32s([]int32{1}))}, false, nil},
		{"ResizeBilinear", nil, []promoIn{T(ramp(1, 2, 2, 1)), O(i32s([]int32{3, 3}, 2))}, false, nil},
		{"CropAndResize", nil, []promoIn{T(ramp(1, 3, 3, 1)), O(f([]int{1, 4}, 0, 0, 1, 1)), O(i32s([]int32{0}, 1)), O(i32s([]int32{2, 2}, 2))}, false, nil},
	}
	for _, dt := range []classify.DType{classify.Int8, classify.Int16, classify.Uint16, classify.Uint32, classify.Uint64} {
		for _, c := range cases {
			if dt == classify.Uint64 && !c.u64 {
				continue
			}
			t.Run(c.op+"_"+dt.String(), func(t *testing.T) {
				checkPromoted(t, c.op, c.attrs, c.in, dt, classify.Int64, func(i int, w *classify.Tensor) bool {
					return w.DType == classify.Int64 && !slices.Contains(c.idxOut, i)
				})
			})
		}
	}
}

// promoIn is an input of a promotion check: t marks the inputs of type T.
type promoIn struct {
	x *classify.Tensor
	t bool
}

func promoT(x *classify.Tensor) promoIn { return promoIn{x, true} }
func promoO(x *classify.Tensor) promoIn { return promoIn{x: x} }

// checkPromoted runs op with T = dt on in (its inputs of T converted to
// dt) and with T = wide on in as given, and requires the same outputs,
// each one narrow selects converted to dt first, value for value; then it
// records the op as checked in dt.
func checkPromoted(t *testing.T, op string, attrs graphdef.Attrs, in []promoIn, dt, wide classify.DType, narrow func(i int, w *classify.Tensor) bool) {
	t.Helper()
	aw := graphdef.Attrs{"T": wide}
	an := graphdef.Attrs{"T": dt}
	for k, v := range attrs {
		aw[k], an[k] = v, v
	}
	var xw, xn []*classify.Tensor
	for _, v := range in {
		xw = append(xw, v.x)
		if !v.t {
			xn = append(xn, v.x)
			continue
		}
		n := classify.NewTensor(dt, v.x.Shape...)
		castInto(nil, n, v.x)
		xn = append(xn, n)
	}
	want, err := mathRun(op, aw, nil, xw...)
	if err != nil {
		t.Fatalf("%v: %v", wide, err)
	}
	got, err := mathRun(op, an, nil, xn...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d outputs, %v gives %d", len(got), wide, len(want))
	}
	for i, w := range want {
		if narrow(i, w) {
			n := classify.NewTensor(dt, w.Shape...)
			castInto(nil, n, w)
			w = n
		}
		g := got[i]
		if g.DType != w.DType || !g.Shape.Equal(w.Shape) {
			t.Fatalf("output %d: %v%v, want %v%v", i, g.DType, g.Shape, w.DType, w.Shape)
		}
		for j := 0; j < w.Len(); j++ {
			if gv, wv := refElem(g, j), refElem(w, j); !refEqual(gv, wv) {
				t.Fatalf("output %d element %d: %v, want %v", i, j, gv, wv)
			}
		}
	}
	recordCoverage(t, "reference", []ranNode{{op: op, in: xn, out: got}})
}
