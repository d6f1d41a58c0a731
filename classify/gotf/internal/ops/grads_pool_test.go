package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

type grPoolCase struct {
	name    string
	x       []int
	k, s    [2]int
	padding string
}

var grPoolCases = []grPoolCase{
	{"k2s2_valid", []int{2, 6, 5, 3}, [2]int{2, 2}, [2]int{2, 2}, "VALID"},
	{"k3s2_same", []int{1, 7, 6, 2}, [2]int{3, 3}, [2]int{2, 2}, "SAME"},
	{"k3x2s1_same", []int{1, 5, 4, 2}, [2]int{3, 2}, [2]int{1, 1}, "SAME"},
	{"k2x3s1x2_valid", []int{2, 5, 7, 1}, [2]int{2, 3}, [2]int{1, 2}, "VALID"},
	{"window_over_input", []int{1, 4, 4, 2}, [2]int{5, 5}, [2]int{3, 3}, "SAME"},
}

func (c grPoolCase) attrs(dt classify.DType) graphdef.Attrs {
	return graphdef.Attrs{"T": dt, "ksize": []int{1, c.k[0], c.k[1], 1}, "strides": []int{1, c.s[0], c.s[1], 1}, "padding": c.padding}
}

// geometry from TensorFlow's definition: output size and padding before.
func (c grPoolCase) geometry() (oh, ow, pt, pl int) {
	dim := func(in, k, s int) (int, int) {
		if c.padding == "SAME" {
			out := (in + s - 1) / s
			return out, max((out-1)*s+k-in, 0) / 2
		}
		return (in-k)/s + 1, 0
	}
	oh, pt = dim(c.x[1], c.k[0], c.s[0])
	ow, pl = dim(c.x[2], c.k[1], c.s[1])
	return
}

// windows calls f for every output element with the input indices of its
// window in row-major order (padding left out).
func (c grPoolCase) windows(f func(out int, in []int)) {
	n, h, w, ch := c.x[0], c.x[1], c.x[2], c.x[3]
	oh, ow, pt, pl := c.geometry()
	for b := range n {
		for oy := range oh {
			for ox := range ow {
				for k := range ch {
					var idx []int
					for y := oy*c.s[0] - pt; y < oy*c.s[0]-pt+c.k[0]; y++ {
						for x := ox*c.s[1] - pl; x < ox*c.s[1]-pl+c.k[1]; x++ {
							if y >= 0 && y < h && x >= 0 && x < w {
								idx = append(idx, ((b*h+y)*w+x)*ch+k)
							}
						}
					}
					f(((b*oh+oy)*ow+ox)*ch+k, idx)
				}
			}
		}
	}
}

// grDistinct is a float64 tensor of distinct multiples of 1/64 (exact in
// float32 and float16 for small sizes): no ties.
func grDistinct(seed uint64, shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Float64, shape...)
	d := t.Data.([]float64)
	for i, p := range rand.New(rand.NewPCG(seed, 3)).Perm(len(d)) {
		d[i] = float64(p-len(d)/2) / 64
	}
	return t
}

// grMaxRef is the definition: each window's gradient to its first maximum
// (row-major, strictly greater replaces), and MaxPoolGradGrad's gather.
func grMaxRef(c grPoolCase, x, g, gg []float64) (dx, ggOut []float64) {
	dx = make([]float64, len(x))
	oh, ow, _, _ := c.geometry()
	ggOut = make([]float64, c.x[0]*oh*ow*c.x[3])
	c.windows(func(o int, idx []int) {
		best := idx[0]
		for _, i := range idx[1:] {
			if x[i] > x[best] {
				best = i
			}
		}
		dx[best] += g[o]
		ggOut[o] = gg[best]
	})
	return
}

// TestMaxPoolGrad checks MaxPoolGrad, MaxPoolGradV2, MaxPoolGradGrad and
// MaxPoolGradGradV2 against the definition (float64 exactly; float32 and
// float16 on values they represent exactly, within 1e-6 and 1e-2), against
// one-sided differences of the forward MaxPool (inputs are distinct
// multiples of 1/64 and the step 1/1024, so the differences are exact), and
// the adjoint identity <MaxPoolGrad(g), gg> = <g, MaxPoolGradGrad(gg)>.
func TestMaxPoolGrad(t *testing.T) {
	for i, c := range grPoolCases {
		t.Run(c.name, func(t *testing.T) {
			oh, ow, _, _ := c.geometry()
			ys := []int{c.x[0], oh, ow, c.x[3]}
			x := grDistinct(uint64(600+i), c.x...)
			g := grRand64(uint64(700+i), -1, 1, nil, 0, ys...)
			gg := grRand64(uint64(800+i), -1, 1, nil, 0, c.x...)
			wantDX, wantGG := grMaxRef(c, x.Data.([]float64), g.Data.([]float64), gg.Data.([]float64))
			x32 := grTo32(x)
			y32 := grFwd(t, "MaxPool", c.attrs(classify.Float32), 1, x32)[0]
			y64 := grF64(grFloats(y32), ys...)
			ksz, str := grSizes(1, c.k[0], c.k[1], 1), grSizes(1, c.s[0], c.s[1], 1)
			at := c.attrs(classify.Float64)
			at2 := graphdef.Attrs{"T": classify.Float64, "padding": c.padding}
			for _, konst := range []bool{false, true} {
				in := saFeed
				if konst {
					in = saConst
				}
				for _, r := range []struct {
					op    string
					at    graphdef.Attrs
					extra []saIn
					third *classify.Tensor
					want  []float64
				}{
					{"MaxPoolGrad", at, nil, g, wantDX},
					{"MaxPoolGradV2", at2, []saIn{in(ksz), in(str)}, g, wantDX},
					{"MaxPoolGradGrad", at, nil, gg, wantGG},
					{"MaxPoolGradGradV2", at2, []saIn{in(ksz), in(str)}, gg, wantGG},
				} {
					got, err := saRun(t, r.op, r.at, append([]saIn{saFeed(x), saFeed(y64), saFeed(r.third)}, r.extra...)...)
					if err != nil {
						t.Fatalf("%s: %v", r.op, err)
					}
					grClose(t, r.op, grFloats(got[0]), r.want, 0, 0)
				}
			}
			dx32 := mustRun(t, "MaxPoolGrad", c.attrs(classify.Float32), x32, y32, grTo32(g))
			grClose(t, "float32", grFloats(dx32), wantDX, 1e-6, 1e-6)
			dx16 := mustRun(t, "MaxPoolGrad", c.attrs(classify.Float16), grTo16(x), grTo16(y64), grTo16(g))
			grClose(t, "float16", grFloats(dx16), wantDX, 1e-2, 1e-2)
			gg32 := mustRun(t, "MaxPoolGradGrad", c.attrs(classify.Float32), x32, y32, grTo32(gg))
			grClose(t, "gradgrad float32", grFloats(gg32), wantGG, 1e-6, 1e-6)

			// One-sided differences of the forward kernel.
			const h = 1.0 / 1024
			gd := g.Data.([]float64)
			num := make([]float64, x.Len())
			for k := range num {
				xp := x32.Clone()
				xp.Float32s()[k] += h
				yp := grFwd(t, "MaxPool", c.attrs(classify.Float32), 1, xp)[0].Float32s()
				for j, v := range yp {
					num[k] += gd[j] * float64(v-y32.Float32s()[j]) / h
				}
			}
			grClose(t, "vs MaxPool", grFloats(dx32), num, 1e-6, 1e-6)
			// MaxPoolGradGrad is the derivative of MaxPool along gg.
			xp := x32.Clone()
			for k, v := range gg.Data.([]float64) {
				xp.Float32s()[k] += float32(v * 4 * h)
			}
			yp := grFwd(t, "MaxPool", c.attrs(classify.Float32), 1, xp)[0].Float32s()
			dir := make([]float64, len(yp))
			for j, v := range yp {
				dir[j] = float64(v-y32.Float32s()[j]) / (4 * h)
			}
			grClose(t, "gradgrad vs MaxPool", grFloats(gg32), dir, 2e-4, 2e-4)
			// Adjoint.
			l, r := 0.0, 0.0
			for k, v := range grFloats(dx32) {
				l += v * gg.Data.([]float64)[k]
			}
			for j, v := range grFloats(gg32) {
				r += v * gd[j]
			}
			if math.Abs(l-r) > 1e-5 {
				t.Errorf("adjoint: <MaxPoolGrad(g), gg> = %v, <g, MaxPoolGradGrad(gg)> = %v", l, r)
			}
		})
	}
}

// TestMaxPoolGradTies checks TensorFlow's conventions by hand: ties go to
// the first maximum in row-major window order, overlapping windows add up,
// a leading NaN is the maximum, MaxPoolGrad ignores orig_output's values
// and MaxPoolGradGrad finds orig_output's value (0 when it is NaN).
func TestMaxPoolGradTies(t *testing.T) {
	at := graphdef.Attrs{"T": classify.Float32, "ksize": []int{1, 2, 2, 1}, "strides": []int{1, 1, 1, 1}, "padding": "VALID"}
	// 3x3 of ones: windows at (0,0), (0,1), (1,0), (1,1) each pick their
	// top-left element.
	x := classify.FromFloat32([]float32{1, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 3, 3, 1)
	g := classify.FromFloat32([]float32{1, 2, 3, 4}, 1, 2, 2, 1)
	junk := classify.FromFloat32([]float32{9, 9, 9, 9}, 1, 2, 2, 1)
	got := mustRun(t, "MaxPoolGrad", at, x, junk, g).Float32s()
	if want := []float32{1, 2, 0, 3, 4, 0, 0, 0, 0}; !grEq32(got, want) {
		t.Errorf("ties: got %v, want %v", got, want)
	}
	// The centre is the maximum of every window: all four add up there.
	x2 := classify.FromFloat32([]float32{0, 0, 0, 0, 5, 0, 0, 0, 0}, 1, 3, 3, 1)
	got = mustRun(t, "MaxPoolGrad", at, x2, junk, g).Float32s()
	if want := []float32{0, 0, 0, 0, 10, 0, 0, 0, 0}; !grEq32(got, want) {
		t.Errorf("shared maximum: got %v, want %v", got, want)
	}
	nan := float32(math.NaN())
	at2 := graphdef.Attrs{"T": classify.Float32, "ksize": []int{1, 1, 2, 1}, "strides": []int{1, 1, 2, 1}, "padding": "VALID"}
	xn := classify.FromFloat32([]float32{nan, 5, 1, nan}, 1, 1, 4, 1)
	gn := classify.FromFloat32([]float32{7, 8}, 1, 1, 2, 1)
	yn := classify.FromFloat32([]float32{nan, 1}, 1, 1, 2, 1)
	got = mustRun(t, "MaxPoolGrad", at2, xn, yn, gn).Float32s()
	if want := []float32{7, 0, 8, 0}; !grEq32(got, want) {
		t.Errorf("NaN: got %v, want %v", got, want)
	}
	gg := classify.FromFloat32([]float32{1, 2, 3, 4}, 1, 1, 4, 1)
	got = mustRun(t, "MaxPoolGradGrad", at2, xn, yn, gg).Float32s()
	if want := []float32{0, 3}; !grEq32(got, want) {
		t.Errorf("MaxPoolGradGrad NaN: got %v, want %v", got, want)
	}
}

func grEq32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestAvgPoolGrad checks against the definition (each window's gradient
// over its real elements, in float64 to 1e-12) and the forward AvgPool,
// which is linear: dx[k] = Σ g · AvgPool(e_k) (float32, 1e-6 + 1e-5
// relative); float16 within 1e-2.
func TestAvgPoolGrad(t *testing.T) {
	for i, c := range grPoolCases {
		t.Run(c.name, func(t *testing.T) {
			oh, ow, _, _ := c.geometry()
			g := grRand64(uint64(900+i), -1, 1, nil, 0, c.x[0], oh, ow, c.x[3])
			want := make([]float64, arrProd(c.x))
			c.windows(func(o int, idx []int) {
				for _, j := range idx {
					want[j] += g.Data.([]float64)[o] / float64(len(idx))
				}
			})
			for _, konst := range []bool{false, true} {
				sz := saFeed(grSizes(c.x...))
				if konst {
					sz = saConst(grSizes(c.x...))
				}
				got, err := saRun(t, "AvgPoolGrad", c.attrs(classify.Float64), sz, saFeed(g))
				if err != nil {
					t.Fatal(err)
				}
				if !got[0].Shape.Equal(classify.Shape(c.x)) {
					t.Fatalf("shape %v", got[0].Shape)
				}
				grClose(t, "float64", grFloats(got[0]), want, 1e-12, 1e-12)
			}
			g32 := grTo32(g)
			got32 := mustRun(t, "AvgPoolGrad", c.attrs(classify.Float32), grSizes(c.x...), g32)
			grClose(t, "float32", grFloats(got32), want, 1e-6, 1e-5)
			got16 := mustRun(t, "AvgPoolGrad", c.attrs(classify.Float16), grSizes(c.x...), grTo16(g))
			grClose(t, "float16", grFloats(got16), want, 1e-2, 1e-2)
			fwd := make([]float64, len(want))
			for k := range fwd {
				e := classify.NewTensor(classify.Float32, c.x...)
				e.Float32s()[k] = 1
				fwd[k] = grDot(grFwd(t, "AvgPool", c.attrs(classify.Float32), 1, e)[0].Float32s(), grFloats(g32))
			}
			grClose(t, "vs AvgPool", grFloats(got32), fwd, 1e-6, 1e-5)
		})
	}
	// Empty batch.
	if got := mustRun(t, "AvgPoolGrad", grPoolCases[0].attrs(classify.Float32), grSizes(0, 6, 5, 3), randF32(1, 0, 1, 0, 3, 2, 3)); !got.Shape.Equal(classify.Shape{0, 6, 5, 3}) {
		t.Errorf("empty: %v", got.Shape)
	}
}

func TestPoolGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	k2 := graphdef.Attrs{"ksize": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "VALID"}
	x := randF32(1, -1, 1, 1, 4, 4, 2)
	y := randF32(2, -1, 1, 1, 2, 2, 2)
	v2 := graphdef.Attrs{"padding": "VALID"}
	k := grSizes(1, 2, 2, 1)
	saCheckErrors(t, []saErrCase{
		{"grad_shape", "MaxPoolGrad", k2, []saIn{saFeed(x), saFeed(y), saFeed(randF32(3, 0, 1, 1, 2, 3, 2))}, inv, "forward output shape"},
		{"out_shape", "MaxPoolGrad", k2, []saIn{saFeed(x), saFeed(x), saFeed(y)}, inv, "forward output shape"},
		{"rank", "MaxPoolGrad", k2, []saIn{saFeed(randF32(1, 0, 1, 4, 4, 2)), saFeed(y), saFeed(y)}, inv, "4-D"},
		{"mixed", "MaxPoolGrad", k2, []saIn{saFeed(x), saFeed(y), saFeed(grF64(make([]float64, 8), 1, 2, 2, 2))}, inv, "one dtype"},
		{"dtype", "MaxPoolGrad", k2, []saIn{saFeed(saIota(1, 4, 4, 2)), saFeed(saIota(1, 2, 2, 2)), saFeed(saIota(1, 2, 2, 2))}, inv, "int32"},
		{"ksize", "MaxPoolGrad", graphdef.Attrs{"ksize": []int{2, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "VALID"}, []saIn{saFeed(x), saFeed(y), saFeed(y)}, bad, "ksize"},
		{"nchw", "MaxPoolGrad", graphdef.Attrs{"ksize": []int{1, 1, 2, 2}, "strides": []int{1, 1, 2, 2}, "padding": "VALID", "data_format": "NCHW"}, []saIn{saFeed(x), saFeed(y), saFeed(y)}, bad, "NHWC"},
		{"padding", "MaxPoolGrad", graphdef.Attrs{"ksize": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "padding": "EXPLICIT"}, []saIn{saFeed(x), saFeed(y), saFeed(y)}, bad, "padding"},
		{"too_small", "MaxPoolGrad", graphdef.Attrs{"ksize": []int{1, 6, 6, 1}, "strides": []int{1, 1, 1, 1}, "padding": "VALID"}, []saIn{saFeed(x), saFeed(y), saFeed(y)}, inv, "negative"},
		{"v2_ksize", "MaxPoolGradV2", v2, []saIn{saFeed(x), saFeed(y), saFeed(y), saFeed(grSizes(1, 0, 2, 1)), saFeed(k)}, inv, "ksize"},
		{"v2_ksize_const", "MaxPoolGradV2", v2, []saIn{saFeed(x), saFeed(y), saFeed(y), saConst(grSizes(1, 2, 2)), saConst(k)}, bad, "ksize"},
		{"v2_strides", "MaxPoolGradV2", v2, []saIn{saFeed(x), saFeed(y), saFeed(y), saFeed(k), saFeed(randF32(1, 0, 1, 4))}, inv, "strides"},
		{"gradgrad_shape", "MaxPoolGradGrad", k2, []saIn{saFeed(x), saFeed(y), saFeed(y)}, inv, "grad"},
		{"avg_shape", "AvgPoolGrad", k2, []saIn{saFeed(grSizes(1, 4, 4, 2)), saFeed(randF32(1, 0, 1, 1, 3, 2, 2))}, inv, "forward output shape"},
		{"avg_sizes", "AvgPoolGrad", k2, []saIn{saFeed(grSizes(1, 4, 4)), saFeed(y)}, inv, "orig_input_shape"},
		{"avg_sizes_huge", "AvgPoolGrad", graphdef.Attrs{"ksize": []int{1, 1, 1, 1}, "strides": []int{1, 1 << 15, 1 << 15, 1}, "padding": "SAME"}, []saIn{saFeed(grSizes(1, 1<<15, 1<<15, 2)), saFeed(y)}, inv, "orig_input_shape"},
		{"avg_sizes_negative", "AvgPoolGrad", k2, []saIn{saConst(grSizes(1, -4, 4, 2)), saFeed(y)}, bad, "negative"},
	})
}
