package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

type g2Pool3DCase struct {
	name    string
	x       []int // N, D, H, W, C
	k, s    [3]int
	padding string
}

var g2Pool3DCases = []g2Pool3DCase{
	{"k2s2_valid", []int{2, 4, 5, 4, 2}, [3]int{2, 2, 2}, [3]int{2, 2, 2}, "VALID"},
	{"k3s2_same", []int{1, 5, 4, 6, 3}, [3]int{3, 3, 3}, [3]int{2, 2, 2}, "SAME"},
	{"k3x2x1_s1_same", []int{1, 4, 4, 3, 2}, [3]int{3, 2, 1}, [3]int{1, 1, 1}, "SAME"},
	{"k2x3x2_s1x2x3_valid", []int{2, 5, 6, 7, 1}, [3]int{2, 3, 2}, [3]int{1, 2, 3}, "VALID"},
	{"window_over_input", []int{1, 3, 3, 3, 2}, [3]int{4, 5, 4}, [3]int{2, 3, 2}, "SAME"},
	{"empty_batch", []int{0, 4, 4, 4, 2}, [3]int{2, 2, 2}, [3]int{2, 2, 2}, "VALID"},
}

func (c g2Pool3DCase) attrs(dt classify.DType) graphdef.Attrs {
	return graphdef.Attrs{"T": dt, "ksize": []int{1, c.k[0], c.k[1], c.k[2], 1}, "strides": []int{1, c.s[0], c.s[1], c.s[2], 1}, "padding": c.padding}
}

// geometry from TensorFlow's definition: output sizes and padding before.
func (c g2Pool3DCase) geometry() (out, pad [3]int) {
	for i := range 3 {
		in, k, s := c.x[i+1], c.k[i], c.s[i]
		if c.padding == "SAME" {
			out[i] = (in + s - 1) / s
			pad[i] = max((out[i]-1)*s+k-in, 0) / 2
		} else {
			out[i] = max((in-k)/s+1, 0)
		}
	}
	return
}

func (c g2Pool3DCase) outShape() []int {
	o, _ := c.geometry()
	return []int{c.x[0], o[0], o[1], o[2], c.x[4]}
}

// windows calls f for every output element with the input indices of its
// window (padding left out).
func (c g2Pool3DCase) windows(f func(out int, in []int)) {
	out, pad := c.geometry()
	D, H, W, C := c.x[1], c.x[2], c.x[3], c.x[4]
	for b := range c.x[0] {
		for od := range out[0] {
			for oh := range out[1] {
				for ow := range out[2] {
					for ch := range C {
						var idx []int
						for d := od*c.s[0] - pad[0]; d < od*c.s[0]-pad[0]+c.k[0]; d++ {
							for h := oh*c.s[1] - pad[1]; h < oh*c.s[1]-pad[1]+c.k[1]; h++ {
								for w := ow*c.s[2] - pad[2]; w < ow*c.s[2]-pad[2]+c.k[2]; w++ {
									if d >= 0 && d < D && h >= 0 && h < H && w >= 0 && w < W {
										idx = append(idx, (((b*D+d)*H+h)*W+w)*C+ch)
									}
								}
							}
						}
						f(((((b*out[0]+od)*out[1]+oh)*out[2])+ow)*C+ch, idx)
					}
				}
			}
		}
	}
}

// TestMaxPool3DGrad checks MaxPool3DGrad against the definition (the
// gradient of each window to its elements within 1e-5 of orig_output) in
// float64 exactly, float32 and float16, against one-sided differences of
// the forward MaxPool3D (distinct multiples of 1/64, step 1/1024: exact),
// and by hand on ties, which all receive the gradient as in TensorFlow's
// CPU kernel.
func TestMaxPool3DGrad(t *testing.T) {
	for i, c := range g2Pool3DCases {
		t.Run(c.name, func(t *testing.T) {
			ys := c.outShape()
			x := grDistinct(uint64(300+i), c.x...)
			g := grRand64(uint64(310+i), -1, 1, nil, 0, ys...)
			xd, gd := x.Data.([]float64), g.Data.([]float64)
			y := make([]float64, arrProd(ys))
			want := make([]float64, len(xd))
			c.windows(func(o int, idx []int) {
				m := math.Inf(-1)
				for _, j := range idx {
					m = max(m, xd[j])
				}
				y[o] = m
				for _, j := range idx {
					if math.Abs(xd[j]-m) < 1e-5 {
						want[j] += gd[o]
					}
				}
			})
			y64 := grF64(y, ys...)
			got, err := saRun(t, "MaxPool3DGrad", c.attrs(classify.Float64), saFeed(x), saFeed(y64), saFeed(g))
			if err != nil {
				t.Fatal(err)
			}
			grClose(t, "float64", grFloats(got[0]), want, 0, 0)
			x32 := grTo32(x)
			y32 := g2Fwd(t, "MaxPool3D", c.attrs(classify.Float32), saFeed(x32))[0]
			grClose(t, "forward", grFloats(y32), y, 0, 0)
			got32 := mustRun(t, "MaxPool3DGrad", c.attrs(classify.Float32), x32, y32, grTo32(g))
			grClose(t, "float32", grFloats(got32), want, 1e-6, 1e-6)
			at16 := c.attrs(classify.Float16)
			at16["TInput"] = classify.Float16
			got16 := mustRun(t, "MaxPool3DGrad", at16, grTo16(x), grTo16(y64), grTo16(g))
			grClose(t, "float16", grFloats(got16), want, 1e-2, 1e-2)
			if len(xd) == 0 {
				return
			}
			const h = 1.0 / 1024
			num := make([]float64, len(xd))
			for k := range num {
				xp := x32.Clone()
				xp.Float32s()[k] += h
				yp := g2Fwd(t, "MaxPool3D", c.attrs(classify.Float32), saFeed(xp))[0].Float32s()
				for j, v := range yp {
					num[k] += gd[j] * float64(v-y32.Float32s()[j]) / h
				}
			}
			grClose(t, "vs MaxPool3D", grFloats(got32), num, 1e-6, 1e-6)
		})
	}
	// Ties: a 2x2x2 window of equal values gives every element the
	// gradient; values within 1e-5 count as equal, a NaN never does.
	at := graphdef.Attrs{"T": classify.Float32, "ksize": []int{1, 2, 2, 2, 1}, "strides": []int{1, 2, 2, 2, 1}, "padding": "VALID"}
	x := classify.FromFloat32([]float32{1, 1, 1, 1, 1, 1, 1, 1}, 1, 2, 2, 2, 1)
	y := classify.FromFloat32([]float32{1}, 1, 1, 1, 1, 1)
	g := classify.FromFloat32([]float32{3}, 1, 1, 1, 1, 1)
	if got := mustRun(t, "MaxPool3DGrad", at, x, y, g).Float32s(); !grEq32(got, []float32{3, 3, 3, 3, 3, 3, 3, 3}) {
		t.Errorf("ties: %v", got)
	}
	nan := float32(math.NaN())
	x = classify.FromFloat32([]float32{nan, 2, 2 - 5e-6, 1, 0, 2 - 2e-5, 0, 0}, 1, 2, 2, 2, 1)
	y = classify.FromFloat32([]float32{2}, 1, 1, 1, 1, 1)
	if got := mustRun(t, "MaxPool3DGrad", at, x, y, g).Float32s(); !grEq32(got, []float32{0, 3, 3, 0, 0, 0, 0, 0}) {
		t.Errorf("tolerance and NaN: %v", got)
	}
}

// TestAvgPool3DGrad checks AvgPool3DGrad against the definition (each
// window's gradient over its real elements, float64 to 1e-12), and against
// the forward AvgPool3D, which is linear: dx[k] = Σ g · AvgPool3D(e_k).
func TestAvgPool3DGrad(t *testing.T) {
	for i, c := range g2Pool3DCases {
		t.Run(c.name, func(t *testing.T) {
			ys := c.outShape()
			g := grRand64(uint64(320+i), -1, 1, nil, 0, ys...)
			want := make([]float64, arrProd(c.x))
			c.windows(func(o int, idx []int) {
				for _, j := range idx {
					want[j] += g.Data.([]float64)[o] / float64(len(idx))
				}
			})
			sizes := func() *classify.Tensor { return grSizes(c.x...) }
			for _, konst := range []bool{false, true} {
				sz := saFeed(sizes())
				if konst {
					sz = saConst(sizes())
				}
				got, err := saRun(t, "AvgPool3DGrad", c.attrs(classify.Float64), sz, saFeed(g))
				if err != nil {
					t.Fatal(err)
				}
				if !got[0].Shape.Equal(classify.Shape(c.x)) {
					t.Fatalf("shape %v", got[0].Shape)
				}
				grClose(t, "float64", grFloats(got[0]), want, 1e-12, 1e-12)
			}
			g32 := grTo32(g)
			got32 := mustRun(t, "AvgPool3DGrad", c.attrs(classify.Float32), sizes(), g32)
			grClose(t, "float32", grFloats(got32), want, 1e-6, 1e-5)
			got16 := mustRun(t, "AvgPool3DGrad", c.attrs(classify.Float16), sizes(), grTo16(g))
			grClose(t, "float16", grFloats(got16), want, 1e-2, 1e-2)
			fwd := make([]float64, len(want))
			for k := range fwd {
				e := classify.NewTensor(classify.Float32, c.x...)
				e.Float32s()[k] = 1
				fwd[k] = grDot(g2Fwd(t, "AvgPool3D", c.attrs(classify.Float32), saFeed(e))[0].Float32s(), grFloats(g32))
			}
			grClose(t, "vs AvgPool3D", grFloats(got32), fwd, 1e-6, 1e-5)
		})
	}
}

func TestPool3DGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	at := graphdef.Attrs{"ksize": []int{1, 2, 2, 2, 1}, "strides": []int{1, 2, 2, 2, 1}, "padding": "VALID"}
	x := saFeed(randF32(1, -1, 1, 1, 4, 4, 4, 2))
	y := saFeed(randF32(2, -1, 1, 1, 2, 2, 2, 2))
	saCheckErrors(t, []saErrCase{
		{"grad_shape", "MaxPool3DGrad", at, []saIn{x, y, saFeed(randF32(3, -1, 1, 1, 2, 2, 3, 2))}, inv, "forward output shape"},
		{"out_shape", "MaxPool3DGrad", at, []saIn{x, x, y}, inv, "forward output shape"},
		{"rank", "MaxPool3DGrad", at, []saIn{saFeed(randF32(1, 0, 1, 4, 4, 4, 2)), y, y}, inv, "5-D"},
		{"mixed", "MaxPool3DGrad", at, []saIn{x, y, saFeed(grF64(make([]float64, 16), 1, 2, 2, 2, 2))}, inv, "one dtype"},
		{"dtype", "MaxPool3DGrad", at, []saIn{saFeed(saIota(1, 4, 4, 4, 2)), saFeed(saIota(1, 2, 2, 2, 2)), saFeed(saIota(1, 2, 2, 2, 2))}, inv, "int32"},
		{"too_small", "MaxPool3DGrad", graphdef.Attrs{"ksize": []int{1, 6, 2, 2, 1}, "strides": []int{1, 1, 1, 1, 1}, "padding": "VALID"}, []saIn{x, y, y}, inv, "negative"},
		{"ksize", "MaxPool3DGrad", graphdef.Attrs{"ksize": []int{2, 2, 2, 2, 1}, "strides": []int{1, 2, 2, 2, 1}, "padding": "VALID"}, []saIn{x, y, y}, bad, "ksize"},
		{"ksize_zero", "AvgPool3DGrad", graphdef.Attrs{"ksize": []int{1, 0, 2, 2, 1}, "strides": []int{1, 2, 2, 2, 1}, "padding": "VALID"}, []saIn{saFeed(grSizes(1, 4, 4, 4, 2)), y}, bad, "ksize"},
		{"ncdhw", "MaxPool3DGrad", graphdef.Attrs{"ksize": []int{1, 2, 2, 2, 1}, "strides": []int{1, 2, 2, 2, 1}, "padding": "VALID", "data_format": "NCDHW"}, []saIn{x, y, y}, bad, "NDHWC"},
		{"padding", "MaxPool3DGrad", graphdef.Attrs{"ksize": []int{1, 2, 2, 2, 1}, "strides": []int{1, 2, 2, 2, 1}, "padding": "EXPLICIT"}, []saIn{x, y, y}, bad, "padding"},
		{"attr_dtype", "AvgPool3DGrad", graphdef.Attrs{"T": classify.Int32, "ksize": []int{1, 2, 2, 2, 1}, "strides": []int{1, 2, 2, 2, 1}, "padding": "VALID"}, []saIn{saFeed(grSizes(1, 4, 4, 4, 2)), y}, bad, "int32"},
		{"avg_shape", "AvgPool3DGrad", at, []saIn{saFeed(grSizes(1, 4, 4, 6, 2)), y}, inv, "forward output shape"},
		{"avg_sizes", "AvgPool3DGrad", at, []saIn{saFeed(grSizes(1, 4, 4, 4)), y}, inv, "orig_input_shape"},
		{"avg_sizes_int64", "AvgPool3DGrad", at, []saIn{saFeed(saI64([]int64{1, 4, 4, 4, 2}, 5)), y}, inv, "orig_input_shape"},
		{"avg_sizes_negative", "AvgPool3DGrad", at, []saIn{saConst(grSizes(1, -4, 4, 4, 2)), y}, bad, "negative"},
		{"avg_sizes_huge", "AvgPool3DGrad", at, []saIn{saFeed(grSizes(1<<10, 1<<10, 1<<10, 1<<10, 2)), y}, inv, "orig_input_shape"},
	})
}

// TestMaxPoolGradWithArgmax checks the op against MaxPoolGrad (the
// reference-checked 2-D gradient, which routes each window's gradient to
// the same first maximum) using MaxPoolWithArgmax's indices, with and
// without the batch in the index and both Targmax, and by hand on indices
// that no forward pass would produce (it only follows argmax).
func TestMaxPoolGradWithArgmax(t *testing.T) {
	for i, c := range grPoolCases {
		for _, withBatch := range []bool{false, true} {
			for _, adt := range []classify.DType{classify.Int64, classify.Int32} {
				x := grDistinct(uint64(500+i), c.x...)
				oh, ow, _, _ := c.geometry()
				g := grRand64(uint64(510+i), -1, 1, nil, 0, c.x[0], oh, ow, c.x[3])
				at := c.attrs(classify.Float64)
				at["include_batch_in_index"] = withBatch
				at["Targmax"] = adt
				fw := grFwd(t, "MaxPoolWithArgmax", at, 2, x)
				want := mustRun(t, "MaxPoolGrad", c.attrs(classify.Float64), x, fw[0], g)
				got := mustRun(t, "MaxPoolGradWithArgmax", at, x, g, fw[1])
				grClose(t, c.name, grFloats(got), grFloats(want), 0, 0)
				at["T"] = classify.Float32
				got32 := mustRun(t, "MaxPoolGradWithArgmax", at, grTo32(x), grTo32(g), fw[1])
				grClose(t, c.name+" float32", grFloats(got32), grFloats(want), 1e-6, 1e-6)
				at["T"] = classify.Float16
				got16 := mustRun(t, "MaxPoolGradWithArgmax", at, grTo16(x), grTo16(g), fw[1])
				grClose(t, c.name+" float16", grFloats(got16), grFloats(want), 1e-2, 1e-2)
			}
		}
	}
	// By hand: two images of 2x2x1, 1x1 windows of stride 2: one output
	// per image; the indices point anywhere in their own image.
	at := graphdef.Attrs{"T": classify.Float32, "ksize": []int{1, 1, 1, 1}, "strides": []int{1, 2, 2, 1}, "padding": "VALID"}
	x := classify.NewTensor(classify.Float32, 2, 2, 2, 1)
	g := classify.FromFloat32([]float32{5, 7}, 2, 1, 1, 1)
	got := mustRun(t, "MaxPoolGradWithArgmax", at, x, g, saI64([]int64{3, 1}, 2, 1, 1, 1)).Float32s()
	if w := []float32{0, 0, 0, 5, 0, 7, 0, 0}; !grEq32(got, w) {
		t.Errorf("per image: %v, want %v", got, w)
	}
	at["include_batch_in_index"] = true
	got = mustRun(t, "MaxPoolGradWithArgmax", at, x, g, saI64([]int64{2, 4}, 2, 1, 1, 1)).Float32s()
	if w := []float32{0, 0, 5, 0, 7, 0, 0, 0}; !grEq32(got, w) {
		t.Errorf("with batch: %v, want %v", got, w)
	}
	// Empty batch.
	e := mustRun(t, "MaxPoolGradWithArgmax", at, classify.NewTensor(classify.Float32, 0, 2, 2, 1), classify.NewTensor(classify.Float32, 0, 1, 1, 1), classify.NewTensor(classify.Int64, 0, 1, 1, 1))
	if !e.Shape.Equal(classify.Shape{0, 2, 2, 1}) {
		t.Errorf("empty: %v", e.Shape)
	}
}

func TestMaxPoolGradWithArgmaxErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	at := graphdef.Attrs{"ksize": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "VALID"}
	x := saFeed(randF32(1, -1, 1, 2, 4, 4, 1))
	g := saFeed(randF32(2, -1, 1, 2, 2, 2, 1))
	am := func(v ...int64) saIn { return saFeed(saI64(v, 2, 2, 2, 1)) }
	ok := []int64{0, 2, 8, 10, 0, 2, 8, 10}
	withB := graphdef.Attrs{"ksize": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "VALID", "include_batch_in_index": true}
	saCheckErrors(t, []saErrCase{
		{"index_high", "MaxPoolGradWithArgmax", at, []saIn{x, g, am(0, 2, 8, 16, 0, 2, 8, 10)}, inv, "outside image"},
		{"index_negative", "MaxPoolGradWithArgmax", at, []saIn{x, g, am(0, 2, 8, 10, 0, -1, 8, 10)}, inv, "outside image"},
		{"index_other_image", "MaxPoolGradWithArgmax", withB, []saIn{x, g, am(ok...)}, inv, "outside image"},
		{"grad_shape", "MaxPoolGradWithArgmax", at, []saIn{x, saFeed(randF32(2, -1, 1, 2, 2, 1, 1)), am(ok...)}, inv, "forward output shape"},
		{"argmax_shape", "MaxPoolGradWithArgmax", at, []saIn{x, g, saFeed(saI64(ok, 8))}, inv, "forward output shape"},
		{"argmax_dtype", "MaxPoolGradWithArgmax", at, []saIn{x, g, saFeed(saI32([]int32{0, 2, 8, 10, 0, 2, 8, 10}, 2, 2, 2, 1))}, inv, "Targmax"},
		{"mixed", "MaxPoolGradWithArgmax", at, []saIn{x, saFeed(grF64(make([]float64, 8), 2, 2, 2, 1)), am(ok...)}, inv, "float"},
		{"rank", "MaxPoolGradWithArgmax", at, []saIn{saFeed(randF32(1, -1, 1, 4, 4, 1)), g, am(ok...)}, inv, "4-D"},
		{"ksize", "MaxPoolGradWithArgmax", graphdef.Attrs{"ksize": []int{1, 2, 2, 2}, "strides": []int{1, 2, 2, 1}, "padding": "VALID"}, []saIn{x, g, am(ok...)}, bad, "ksize"},
		{"targmax", "MaxPoolGradWithArgmax", graphdef.Attrs{"ksize": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "VALID", "Targmax": classify.Float32}, []saIn{x, g, am(ok...)}, bad, "Targmax"},
		{"padding", "MaxPoolGradWithArgmax", graphdef.Attrs{"ksize": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}}, []saIn{x, g, am(ok...)}, bad, "padding"},
	})
}

// TestMaxPool3DGradGrad checks MaxPool3DGradGrad against the definition
// (grad at the first element of each window equal to orig_output), the
// adjoint identity with MaxPool3DGrad on distinct values, and by hand on
// ties and a NaN maximum.
func TestMaxPool3DGradGrad(t *testing.T) {
	for i, c := range g2Pool3DCases {
		t.Run(c.name, func(t *testing.T) {
			ys := c.outShape()
			x := grDistinct(uint64(330+i), c.x...)
			gg := grRand64(uint64(340+i), -1, 1, nil, 0, c.x...)
			g := grRand64(uint64(350+i), -1, 1, nil, 0, ys...)
			xd := x.Data.([]float64)
			y := make([]float64, arrProd(ys))
			want := make([]float64, len(y))
			c.windows(func(o int, idx []int) {
				best := idx[0]
				for _, j := range idx[1:] {
					if xd[j] > xd[best] {
						best = j
					}
				}
				y[o], want[o] = xd[best], gg.Data.([]float64)[best]
			})
			y64 := grF64(y, ys...)
			got, err := saRun(t, "MaxPool3DGradGrad", c.attrs(classify.Float64), saFeed(x), saFeed(y64), saFeed(gg))
			if err != nil {
				t.Fatal(err)
			}
			if !got[0].Shape.Equal(classify.Shape(ys)) {
				t.Fatalf("shape %v", got[0].Shape)
			}
			grClose(t, "float64", grFloats(got[0]), want, 0, 0)
			got32 := mustRun(t, "MaxPool3DGradGrad", c.attrs(classify.Float32), grTo32(x), grTo32(y64), grTo32(gg))
			grClose(t, "float32", grFloats(got32), want, 1e-6, 1e-6)
			at16 := c.attrs(classify.Float16)
			at16["TInput"] = classify.Float16
			got16 := mustRun(t, "MaxPool3DGradGrad", at16, grTo16(x), grTo16(y64), grTo16(gg))
			grClose(t, "float16", grFloats(got16), want, 1e-2, 1e-2)
			dx := mustRun(t, "MaxPool3DGrad", c.attrs(classify.Float64), x, y64, g)
			l, r := 0.0, 0.0
			for k, v := range grFloats(dx) {
				l += v * gg.Data.([]float64)[k]
			}
			for k, v := range grFloats(got[0]) {
				r += v * g.Data.([]float64)[k]
			}
			if math.Abs(l-r) > 1e-12 {
				t.Errorf("adjoint: %v vs %v", l, r)
			}
		})
	}
	at := graphdef.Attrs{"T": classify.Float32, "ksize": []int{1, 1, 1, 2, 1}, "strides": []int{1, 1, 1, 2, 1}, "padding": "VALID"}
	nan := float32(math.NaN())
	x := classify.FromFloat32([]float32{3, 3, nan, 1}, 1, 1, 1, 4, 1)
	y := classify.FromFloat32([]float32{3, nan}, 1, 1, 1, 2, 1)
	gg := classify.FromFloat32([]float32{5, 6, 7, 8}, 1, 1, 1, 4, 1)
	if got := mustRun(t, "MaxPool3DGradGrad", at, x, y, gg).Float32s(); !grEq32(got, []float32{5, 0}) {
		t.Errorf("ties and NaN: %v", got)
	}
	saCheckErrors(t, []saErrCase{
		{"gg_shape", "MaxPool3DGradGrad", at, []saIn{saFeed(x), saFeed(y), saFeed(y)}, classify.ErrInvalidInput, "grad"},
		{"out_shape", "MaxPool3DGradGrad", at, []saIn{saFeed(x), saFeed(x), saFeed(gg)}, classify.ErrInvalidInput, "orig_output"},
	})
}
