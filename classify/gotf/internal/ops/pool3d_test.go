package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestPool3DGolden checks MaxPool3D and AvgPool3D (windows, strides, both
// paddings, a window straddling the padding) against TensorFlow.js
// (tf.maxPool3d, tf.avgPool3d).
func TestPool3DGolden(t *testing.T) {
	at := func(pad string, k, s []int) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Float32, "padding": pad, "ksize": k, "strides": s, "data_format": "NDHWC"}
	}
	x := randF32(1601, -1, 1, 2, 5, 6, 7, 3)
	big := randF32(1602, -1, 1, 1, 12, 13, 14, 8)
	var cases []goldenCase
	for _, op := range []string{"MaxPool3D", "AvgPool3D"} {
		p := map[string]string{"MaxPool3D": "maxpool3d", "AvgPool3D": "avgpool3d"}[op]
		cases = append(cases,
			saCase(p+"_same_222", op, at("SAME", []int{1, 2, 2, 2, 1}, []int{1, 2, 2, 2, 1}), 1, saFeed(x)),
			saCase(p+"_valid_323", op, at("VALID", []int{1, 3, 2, 3, 1}, []int{1, 1, 2, 1, 1}), 1, saFeed(x)),
			saCase(p+"_same_333_stride1", op, at("SAME", []int{1, 3, 3, 3, 1}, []int{1, 1, 1, 1, 1}), 1, saFeed(x)),
			saCase(p+"_same_odd_strides", op, at("SAME", []int{1, 2, 3, 4, 1}, []int{1, 3, 2, 3, 1}), 1, saFeed(x)),
			saCase(p+"_valid_whole", op, at("VALID", []int{1, 5, 6, 7, 1}, []int{1, 1, 1, 1, 1}), 1, saFeed(x)),
			// Large enough to run on several goroutines.
			saCase(p+"_parallel", op, at("SAME", []int{1, 3, 3, 3, 1}, []int{1, 1, 1, 1, 1}), 1, saFeed(big)),
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// refPool3D is a float64 NDHWC pooling written from TensorFlow's
// definition: windows of k at stride s, SAME padding split with the smaller
// half before, padded positions left out of both max and mean.
func refPool3D(x []float64, shape []int, k, s [3]int, same, isMax bool) ([]float64, []int) {
	var out, pad [3]int
	for i := range 3 {
		in := shape[i+1]
		if same {
			out[i] = int(math.Ceil(float64(in) / float64(s[i])))
			pad[i] = max((out[i]-1)*s[i]+k[i]-in, 0) / 2
		} else {
			out[i] = int(math.Ceil(float64(in-k[i]+1) / float64(s[i])))
		}
	}
	c := shape[4]
	oshape := []int{shape[0], out[0], out[1], out[2], c}
	y := make([]float64, 0, shape[0]*out[0]*out[1]*out[2]*c)
	for n := 0; n < shape[0]; n++ {
		for od := 0; od < out[0]; od++ {
			for oh := 0; oh < out[1]; oh++ {
				for ow := 0; ow < out[2]; ow++ {
					for ch := 0; ch < c; ch++ {
						acc, cnt := math.Inf(-1), 0
						if !isMax {
							acc = 0
						}
						for kd := 0; kd < k[0]; kd++ {
							for kh := 0; kh < k[1]; kh++ {
								for kw := 0; kw < k[2]; kw++ {
									d, h, w := od*s[0]-pad[0]+kd, oh*s[1]-pad[1]+kh, ow*s[2]-pad[2]+kw
									if d < 0 || h < 0 || w < 0 || d >= shape[1] || h >= shape[2] || w >= shape[3] {
										continue
									}
									v := x[(((n*shape[1]+d)*shape[2]+h)*shape[3]+w)*c+ch]
									if isMax {
										acc = math.Max(acc, v)
									} else {
										acc += v
									}
									cnt++
								}
							}
						}
						if !isMax {
							acc /= float64(cnt)
						}
						y = append(y, acc)
					}
				}
			}
		}
	}
	return y, oshape
}

// TestPool3DFloat64 checks float64 volumes, which the oracle cannot feed,
// against refPool3D.
func TestPool3DFloat64(t *testing.T) {
	shape := []int{2, 4, 5, 3, 2}
	x := &classify.Tensor{DType: classify.Float64, Shape: shape, Data: classifytest.Float64s(randF32(1603, -2, 2, shape...))}
	for _, c := range []struct {
		op   string
		pad  string
		k, s [3]int
	}{
		{"MaxPool3D", "SAME", [3]int{2, 3, 2}, [3]int{2, 1, 2}},
		{"AvgPool3D", "SAME", [3]int{3, 2, 2}, [3]int{1, 2, 1}},
		{"MaxPool3D", "VALID", [3]int{2, 2, 3}, [3]int{1, 2, 1}},
		{"AvgPool3D", "VALID", [3]int{4, 1, 1}, [3]int{1, 1, 1}},
	} {
		t.Run(c.op+"_"+c.pad, func(t *testing.T) {
			at := graphdef.Attrs{"T": classify.Float64, "padding": c.pad,
				"ksize": []int{1, c.k[0], c.k[1], c.k[2], 1}, "strides": []int{1, c.s[0], c.s[1], c.s[2], 1}}
			got := mustRun(t, c.op, at, x)
			want, ws := refPool3D(x.Data.([]float64), shape, c.k, c.s, c.pad == "SAME", c.op == "MaxPool3D")
			if got.DType != classify.Float64 || !got.Shape.Equal(ws) {
				t.Fatalf("got %v %v, want float64 %v", got.DType, got.Shape, ws)
			}
			for i, w := range want {
				if g := got.Data.([]float64)[i]; math.Abs(g-w) > 1e-12 {
					t.Fatalf("element %d: got %v, want %v", i, g, w)
				}
			}
		})
	}
}

func TestPool3DEdges(t *testing.T) {
	k := []int{1, 2, 2, 2, 1}
	at := graphdef.Attrs{"padding": "SAME", "ksize": k, "strides": k}
	// Empty batch, depth and channels give empty outputs of the right shape.
	for _, shape := range [][]int{{0, 4, 4, 4, 3}, {1, 4, 4, 4, 0}, {1, 0, 4, 4, 2}} {
		got := mustRun(t, "AvgPool3D", at, classify.NewTensor(classify.Float32, shape...))
		want := classify.Shape{shape[0], (shape[1] + 1) / 2, 2, 2, shape[4]}
		if !got.Shape.Equal(want) || got.Len() != 0 {
			t.Errorf("%v: got %v, want empty %v", shape, got.Shape, want)
		}
	}
	// VALID with a window larger than the input by less than the stride
	// runs to an empty output, as in TensorFlow.
	for _, op := range []string{"MaxPool3D", "AvgPool3D"} {
		got := mustRun(t, op, graphdef.Attrs{"padding": "VALID", "ksize": []int{1, 4, 1, 1, 1}, "strides": k}, randF32(1, -1, 1, 1, 3, 3, 3, 2))
		if want := (classify.Shape{1, 0, 2, 2, 2}); !got.Shape.Equal(want) || got.Len() != 0 {
			t.Errorf("%s VALID window 4 over 3, stride 2: got %v, want empty %v", op, got.Shape, want)
		}
	}
	x := randF32(1, -1, 1, 1, 3, 3, 3, 2)
	saCheckErrors(t, []saErrCase{
		{"ksize_rank", "MaxPool3D", graphdef.Attrs{"padding": "SAME", "ksize": []int{1, 2, 2, 1}, "strides": k}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "ksize"},
		{"batch_window", "MaxPool3D", graphdef.Attrs{"padding": "SAME", "ksize": []int{2, 2, 2, 2, 1}, "strides": k}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "batch or depth"},
		{"zero_stride", "AvgPool3D", graphdef.Attrs{"padding": "SAME", "ksize": k, "strides": []int{1, 0, 1, 1, 1}}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "strides"},
		{"huge_window", "AvgPool3D", graphdef.Attrs{"padding": "SAME", "ksize": []int{1, 1 << 40, 1, 1, 1}, "strides": k}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "ksize"},
		{"padding", "AvgPool3D", graphdef.Attrs{"padding": "EXPLICIT", "ksize": k, "strides": k}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "padding"},
		{"layout", "MaxPool3D", graphdef.Attrs{"padding": "SAME", "ksize": k, "strides": k, "data_format": "NCDHW"}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "data_format"},
		{"dtype", "MaxPool3D", graphdef.Attrs{"padding": "SAME", "ksize": k, "strides": k}, []saIn{saFeed(saIota(1, 2, 2, 2, 1))}, classify.ErrInvalidInput, "int32"},
		{"rank", "MaxPool3D", graphdef.Attrs{"padding": "SAME", "ksize": k, "strides": k}, []saIn{saFeed(randF32(1, -1, 1, 3, 3, 3, 2))}, classify.ErrInvalidInput, "5-D"},
		// TensorFlow's GetWindowedOutputSize: VALID output (in-k+s)/s
		// is negative only when k >= in + 2s: (3-7+2)/2 = -1.
		{"valid_negative", "MaxPool3D", graphdef.Attrs{"padding": "VALID", "ksize": []int{1, 7, 1, 1, 1}, "strides": k}, []saIn{saFeed(x)}, classify.ErrInvalidInput, "negative"},
	})
	saCheckShapes(t, []saShapeCase{
		{name: "static", op: "MaxPool3D", attrs: graphdef.Attrs{"padding": "SAME", "ksize": k, "strides": []int{1, 2, 3, 1, 1}},
			in: []classify.TensorInfo{saF32Info(-1, 5, 7, 4, 3)}, want: []classify.TensorInfo{saF32Info(-1, 3, 3, 4, 3)}},
		// A VALID window larger than the input by less than the stride
		// gives an empty output there, (2-3+2)/2 = 0, not an error.
		{name: "too_small", op: "AvgPool3D", attrs: graphdef.Attrs{"padding": "VALID", "ksize": []int{1, 3, 1, 1, 1}, "strides": k},
			in: []classify.TensorInfo{saF32Info(1, 2, 7, 4, 3)}, want: []classify.TensorInfo{saF32Info(1, 0, 4, 2, 3)}},
		{name: "negative", op: "AvgPool3D", attrs: graphdef.Attrs{"padding": "VALID", "ksize": []int{1, 6, 1, 1, 1}, "strides": k},
			in: []classify.TensorInfo{saF32Info(1, 2, 7, 4, 3)}, err: true},
	})
}
