package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// refConv3DFilterGrad is the definition of Conv3D's filter gradient in
// float64, summed over every (output voxel, tap) pair.
func refConv3DFilterGrad(x, dy []float64, xs, fs, ys []int, s, d [3]int, same bool) []float64 {
	var pad [3]int
	if same {
		for i := range 3 {
			ek := (fs[i]-1)*d[i] + 1
			pad[i] = max((ys[i+1]-1)*s[i]+ek-xs[i+1], 0) / 2
		}
	}
	cin, cout := fs[3], fs[4]
	dw := make([]float64, arrProd(fs))
	for b := range ys[0] {
		for od := range ys[1] {
			for oh := range ys[2] {
				for ow := range ys[3] {
					for kd := range fs[0] {
						for kh := range fs[1] {
							for kw := range fs[2] {
								id, ih, iw := od*s[0]-pad[0]+kd*d[0], oh*s[1]-pad[1]+kh*d[1], ow*s[2]-pad[2]+kw*d[2]
								if id < 0 || ih < 0 || iw < 0 || id >= xs[1] || ih >= xs[2] || iw >= xs[3] {
									continue
								}
								for ci := range cin {
									for co := range cout {
										dw[(((kd*fs[1]+kh)*fs[2]+kw)*cin+ci)*cout+co] +=
											x[(((b*xs[1]+id)*xs[2]+ih)*xs[3]+iw)*cin+ci] * dy[(((b*ys[1]+od)*ys[2]+oh)*ys[3]+ow)*cout+co]
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return dw
}

// TestConv3DBackpropFilter checks both ops against the definition
// (float64 to 1e-12, float32 and float16 on the same data) and the adjoint
// identity with the oracle-checked Conv3D: <Conv3D(x, f), dy> = <f, dW>.
func TestConv3DBackpropFilter(t *testing.T) {
	for i, c := range []struct {
		name  string
		x, f  []int
		s, d  [3]int
		pad   string
		konst bool
		v1    bool
	}{
		{name: "same_unit", x: []int{2, 4, 5, 4, 3}, f: []int{3, 3, 3, 3, 2}, s: [3]int{1, 1, 1}, d: [3]int{1, 1, 1}, pad: "SAME"},
		{name: "same_strided", x: []int{1, 7, 6, 5, 2}, f: []int{3, 2, 3, 2, 3}, s: [3]int{2, 2, 3}, d: [3]int{1, 1, 1}, pad: "SAME", konst: true},
		{name: "valid_strided", x: []int{2, 7, 8, 6, 2}, f: []int{2, 3, 2, 2, 2}, s: [3]int{2, 1, 2}, d: [3]int{1, 1, 1}, pad: "VALID"},
		{name: "same_dilated", x: []int{1, 6, 7, 5, 2}, f: []int{2, 3, 2, 2, 3}, s: [3]int{1, 1, 1}, d: [3]int{2, 1, 2}, pad: "SAME"},
		{name: "valid_dilated", x: []int{1, 7, 7, 7, 1}, f: []int{3, 2, 2, 1, 2}, s: [3]int{1, 2, 1}, d: [3]int{2, 2, 3}, pad: "VALID", konst: true},
		{name: "window_over_input", x: []int{1, 2, 3, 2, 2}, f: []int{4, 4, 3, 2, 2}, s: [3]int{1, 1, 1}, d: [3]int{1, 1, 1}, pad: "SAME"},
		{name: "v1", x: []int{1, 5, 4, 6, 3}, f: []int{2, 2, 3, 3, 2}, s: [3]int{2, 1, 2}, d: [3]int{1, 1, 1}, pad: "SAME", v1: true},
		{name: "empty_batch", x: []int{0, 4, 4, 4, 2}, f: []int{2, 2, 2, 2, 3}, s: [3]int{1, 1, 1}, d: [3]int{1, 1, 1}, pad: "VALID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fwd := conv3dOp{padding: c.pad, stride: c.s, dil: c.d}
			ys := []int{c.x[0], 0, 0, 0, c.f[4]}
			for k := range 3 {
				ys[k+1], _ = fwd.geometry(c.x[k+1], c.f[k], c.s[k], c.d[k])
			}
			x := grRand64(uint64(1900+i), -1, 1, nil, 0, c.x...)
			dy := grRand64(uint64(1910+i), -1, 1, nil, 0, ys...)
			want := refConv3DFilterGrad(x.Data.([]float64), dy.Data.([]float64), c.x, c.f, ys, c.s, c.d, c.pad == "SAME")
			at := func(dt classify.DType) graphdef.Attrs {
				return graphdef.Attrs{"T": dt, "padding": c.pad, "strides": []int{1, c.s[0], c.s[1], c.s[2], 1}, "dilations": []int{1, c.d[0], c.d[1], c.d[2], 1}}
			}
			op, second := "Conv3DBackpropFilterV2", saFeed(grSizes(c.f...))
			if c.v1 {
				op, second = "Conv3DBackpropFilter", saFeed(grRand64(7, -1, 1, nil, 0, c.f...))
			}
			second.konst = c.konst
			got, err := saRun(t, op, at(classify.Float64), saFeed(x), second, saFeed(dy))
			if err != nil {
				t.Fatal(err)
			}
			if !got[0].Shape.Equal(classify.Shape(c.f)) {
				t.Fatalf("shape %v, want %v", got[0].Shape, c.f)
			}
			grClose(t, "float64", grFloats(got[0]), want, 1e-12, 1e-12)
			if c.v1 {
				second = saFeed(grTo32(second.t))
			}
			got32, err := saRun(t, op, at(classify.Float32), saFeed(grTo32(x)), second, saFeed(grTo32(dy)))
			if err != nil {
				t.Fatal(err)
			}
			grClose(t, "float32", grFloats(got32[0]), want, 1e-5, 1e-5)
			if !c.v1 {
				got16, err := saRun(t, op, at(classify.Float16), saFeed(grTo16(x)), second, saFeed(grTo16(dy)))
				if err != nil {
					t.Fatal(err)
				}
				grClose(t, "float16", grFloats(got16[0]), want, 5e-2, 2e-2)
			}
			if ys[0] == 0 {
				return
			}
			f := randF32(uint64(1920+i), -1, 1, c.f...)
			y := g2Fwd(t, "Conv3D", graphdef.Attrs{"T": classify.Float32, "padding": c.pad, "strides": at(classify.Float32)["strides"], "dilations": at(classify.Float32)["dilations"]}, saFeed(grTo32(x)), saFeed(f))[0]
			var lhs, rhs float64
			for k, v := range classifytest.Float64s(y) {
				lhs += v * dy.Data.([]float64)[k]
			}
			for k, v := range grFloats(got[0]) {
				rhs += v * float64(f.Float32s()[k])
			}
			if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
				t.Errorf("<Conv3D(x,f), dy> = %v but <f, dW> = %v", lhs, rhs)
			}
		})
	}
}

func TestConv3DBackpropFilterErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	at := graphdef.Attrs{"padding": "SAME", "strides": []int{1, 1, 1, 1, 1}}
	x := saFeed(randF32(1, -1, 1, 1, 4, 4, 4, 3))
	dy := saFeed(randF32(2, -1, 1, 1, 4, 4, 4, 2))
	sz := func(v ...int) saIn { return saFeed(grSizes(v...)) }
	op := "Conv3DBackpropFilterV2"
	saCheckErrors(t, []saErrCase{
		{"dy_shape", op, at, []saIn{x, sz(2, 2, 2, 3, 3), dy}, inv, "want [1,4,4,4,3]"},
		{"channels", op, at, []saIn{x, sz(2, 2, 2, 2, 2), dy}, inv, "input channels"},
		{"sizes_rank", op, at, []saIn{x, sz(2, 2, 3, 2), dy}, inv, "5 sizes"},
		{"negative_size", op, at, []saIn{x, sz(2, -2, 2, 3, 2), dy}, inv, "negative"},
		{"empty_window", op, at, []saIn{x, sz(2, 0, 2, 3, 2), dy}, inv, "empty window"},
		{"huge_size", op, at, []saIn{x, sz(1<<10, 1<<10, 1<<10, 3, 2), dy}, inv, "filter_sizes"},
		{"huge_const_size", op, at, []saIn{x, saConst(grSizes(1<<10, 1<<10, 1<<10, 3, 2)), dy}, bad, "filter_sizes"},
		{"input_rank", op, at, []saIn{saFeed(randF32(1, -1, 1, 4, 4, 4, 3)), sz(2, 2, 2, 3, 2), dy}, inv, "5-D"},
		{"mixed", op, at, []saIn{x, sz(2, 2, 2, 3, 2), saFeed(grF64(make([]float64, 128), 1, 4, 4, 4, 2))}, inv, "one dtype"},
		{"ints", op, at, []saIn{saFeed(saIota(1, 4, 4, 4, 3)), sz(2, 2, 2, 3, 2), saFeed(saIota(1, 4, 4, 4, 2))}, inv, "float32 or float64"},
		{"v1_filter_rank", "Conv3DBackpropFilter", at, []saIn{x, saFeed(randF32(3, -1, 1, 2, 2, 3, 2)), dy}, inv, "rank 5"},
		{"layout", op, graphdef.Attrs{"padding": "SAME", "strides": []int{1, 1, 1, 1, 1}, "data_format": "NCDHW"}, []saIn{x, sz(2, 2, 2, 3, 2), dy}, bad, "data_format"},
		{"padding", op, graphdef.Attrs{"padding": "EXPLICIT", "strides": []int{1, 1, 1, 1, 1}}, []saIn{x, sz(2, 2, 2, 3, 2), dy}, bad, "padding"},
		{"strides", op, graphdef.Attrs{"padding": "SAME", "strides": []int{1, 0, 1, 1, 1}}, []saIn{x, sz(2, 2, 2, 3, 2), dy}, bad, "strides"},
		{"dilations", op, graphdef.Attrs{"padding": "SAME", "strides": []int{1, 1, 1, 1, 1}, "dilations": []int{2, 1, 1, 1, 1}}, []saIn{x, sz(2, 2, 2, 3, 2), dy}, bad, "dilations"},
		{"dtype", op, graphdef.Attrs{"T": classify.Int32, "padding": "SAME", "strides": []int{1, 1, 1, 1, 1}}, []saIn{x, sz(2, 2, 2, 3, 2), dy}, bad, "int32"},
	})
}

type g2DilCase struct {
	name    string
	x, f    []int
	s, r    [2]int
	padding string
}

var g2DilCases = []g2DilCase{
	{"valid", []int{2, 6, 5, 2}, []int{3, 2, 2}, [2]int{1, 1}, [2]int{1, 1}, "VALID"},
	{"same_strided", []int{1, 7, 8, 2}, []int{3, 3, 2}, [2]int{2, 3}, [2]int{1, 1}, "SAME"},
	{"same_rates", []int{1, 6, 6, 1}, []int{2, 3, 1}, [2]int{1, 1}, [2]int{2, 2}, "SAME"},
	{"valid_both", []int{2, 9, 7, 1}, []int{2, 3, 1}, [2]int{2, 1}, [2]int{1, 2}, "VALID"},
	{"empty_batch", []int{0, 4, 4, 2}, []int{2, 2, 2}, [2]int{1, 1}, [2]int{1, 1}, "VALID"},
}

func (c g2DilCase) attrs(dt classify.DType) graphdef.Attrs {
	return graphdef.Attrs{"T": dt, "strides": []int{1, c.s[0], c.s[1], 1}, "rates": []int{1, c.r[0], c.r[1], 1}, "padding": c.padding}
}

// g2DilRef is the definition: each output's gradient to the input pixel
// and filter tap of its first strict maximum of input+filter.
func g2DilRef(c g2DilCase, x, f, dy []float64) (dx, df []float64) {
	H, W, C := c.x[1], c.x[2], c.x[3]
	fh, fw := c.f[0], c.f[1]
	dim := func(in, k, s, r int) (int, int) {
		ek := (k-1)*r + 1
		if c.padding == "SAME" {
			out := (in + s - 1) / s
			return out, max((out-1)*s+ek-in, 0) / 2
		}
		return (in-ek)/s + 1, 0
	}
	oh, pt := dim(H, fh, c.s[0], c.r[0])
	ow, pl := dim(W, fw, c.s[1], c.r[1])
	dx, df = make([]float64, len(x)), make([]float64, len(f))
	for b := range c.x[0] {
		for oy := range oh {
			for ox := range ow {
				for ch := range C {
					best, bi, bf := math.Inf(-1), -1, -1
					for i := range fh {
						for j := range fw {
							h, w := oy*c.s[0]-pt+i*c.r[0], ox*c.s[1]-pl+j*c.r[1]
							if h < 0 || h >= H || w < 0 || w >= W {
								continue
							}
							xi, fi := ((b*H+h)*W+w)*C+ch, (i*fw+j)*C+ch
							if v := x[xi] + f[fi]; v > best {
								best, bi, bf = v, xi, fi
							}
						}
					}
					g := dy[((b*oh+oy)*ow+ox)*C+ch]
					dx[bi] += g
					df[bf] += g
				}
			}
		}
	}
	return dx, df
}

// g2DistinctSmall is a float64 tensor of distinct multiples of 1/4096 in
// (-1/128, 1/128): added to distinct multiples of 1/64, no two sums tie
// and every gap is at least 1/4096.
func g2DistinctSmall(seed uint64, shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Float64, shape...)
	d := t.Data.([]float64)
	for i, p := range rand.New(rand.NewPCG(seed, 5)).Perm(len(d)) {
		d[i] = float64(p-len(d)/2) / 4096
	}
	return t
}

// TestDilation2DBackprop checks both gradients against the definition
// (float64 exactly, float32 and float16), and against one-sided
// differences of the forward Dilation2D in float64: with no ties and a
// step (1/8192) below every gap, each difference is exactly the
// derivative.
func TestDilation2DBackprop(t *testing.T) {
	for i, c := range g2DilCases {
		t.Run(c.name, func(t *testing.T) {
			x := grDistinct(uint64(1500+i), c.x...)
			f := g2DistinctSmall(uint64(1510+i), c.f...)
			y := g2Fwd(t, "Dilation2D", c.attrs(classify.Float64), saFeed(x), saFeed(f))[0]
			dy := grRand64(uint64(1520+i), -1, 1, nil, 0, y.Shape...)
			wdx, wdf := g2DilRef(c, x.Data.([]float64), f.Data.([]float64), dy.Data.([]float64))
			for _, r := range []struct {
				op   string
				want []float64
			}{{"Dilation2DBackpropInput", wdx}, {"Dilation2DBackpropFilter", wdf}} {
				got, err := saRun(t, r.op, c.attrs(classify.Float64), saFeed(x), saFeed(f), saFeed(dy))
				if err != nil {
					t.Fatal(err)
				}
				grClose(t, r.op, grFloats(got[0]), r.want, 0, 0)
				got32 := mustRun(t, r.op, c.attrs(classify.Float32), grTo32(x), grTo32(f), grTo32(dy))
				grClose(t, r.op+" float32", grFloats(got32), r.want, 1e-6, 1e-6)
				if c.x[0] > 0 {
					// float16 keeps 11 bits: the sums may tie, so only
					// the total is checked.
					got16 := mustRun(t, r.op, c.attrs(classify.Float16), grTo16(x), grTo16(f), grTo16(dy))
					s, w := 0.0, 0.0
					for k, v := range grFloats(got16) {
						s += v
						w += r.want[k]
					}
					if math.Abs(s-w) > 2e-2*float64(len(r.want)) {
						t.Errorf("%s float16 total %v, want %v", r.op, s, w)
					}
				}
			}
			const h = 1.0 / 8192
			yd, gd := y.Data.([]float64), dy.Data.([]float64)
			for _, r := range []struct {
				what string
				t    *classify.Tensor
				want []float64
			}{{"input", x, wdx}, {"filter", f, wdf}} {
				num := make([]float64, r.t.Len())
				for k := range num {
					xp, fp := x, f
					p := r.t.Clone()
					p.Data.([]float64)[k] += h
					if r.what == "input" {
						xp = p
					} else {
						fp = p
					}
					yp := g2Fwd(t, "Dilation2D", c.attrs(classify.Float64), saFeed(xp), saFeed(fp))[0].Data.([]float64)
					for j, v := range yp {
						num[k] += gd[j] * (v - yd[j]) / h
					}
				}
				grClose(t, "vs Dilation2D "+r.what, r.want, num, 1e-9, 1e-9)
			}
		})
	}
}

func TestDilation2DBackpropErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	at := graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "rates": []int{1, 1, 1, 1}, "padding": "VALID"}
	x := saFeed(randF32(1, -1, 1, 1, 4, 4, 2))
	f := saFeed(randF32(2, -1, 1, 2, 2, 2))
	dy := saFeed(randF32(3, -1, 1, 1, 3, 3, 2))
	for _, op := range []string{"Dilation2DBackpropInput", "Dilation2DBackpropFilter"} {
		saCheckErrors(t, []saErrCase{
			{"dy_shape", op, at, []saIn{x, f, saFeed(randF32(3, -1, 1, 1, 3, 4, 2))}, inv, "forward output shape"},
			{"depth", op, at, []saIn{x, saFeed(randF32(2, -1, 1, 2, 2, 3)), dy}, inv, "depth"},
			{"filter_rank", op, at, []saIn{x, saFeed(randF32(2, -1, 1, 2, 2, 2, 1)), dy}, inv, "3-D"},
			{"input_rank", op, at, []saIn{saFeed(randF32(2, -1, 1, 4, 4, 2)), f, dy}, inv, "4-D"},
			{"mixed", op, at, []saIn{x, saFeed(grF64(make([]float64, 8), 2, 2, 2)), dy}, inv, "float"},
			{"too_small", op, at, []saIn{saFeed(randF32(1, -1, 1, 1, 1, 4, 2)), saFeed(randF32(2, -1, 1, 3, 2, 2)), dy}, inv, "negative"},
			{"strides", op, graphdef.Attrs{"strides": []int{1, 0, 1, 1}, "rates": []int{1, 1, 1, 1}, "padding": "VALID"}, []saIn{x, f, dy}, bad, "strides"},
			{"padding", op, graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "rates": []int{1, 1, 1, 1}, "padding": "FULL"}, []saIn{x, f, dy}, bad, "padding"},
			{"dtype", op, graphdef.Attrs{"T": classify.Int32, "strides": []int{1, 1, 1, 1}, "rates": []int{1, 1, 1, 1}, "padding": "VALID"}, []saIn{x, f, dy}, bad, "int32"},
		})
	}
}
