package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// grConvCase is one convolution geometry: input x [n,h,w,c], filter
// [kh,kw,c,m] (m output channels for Conv2D, the multiplier for depthwise).
type grConvCase struct {
	name           string
	x              []int
	kh, kw, m      int
	sh, sw, dh, dw int
	padding        string
	explicit       []int // 8 values for EXPLICIT
}

func (c grConvCase) attrs(dt classify.DType) graphdef.Attrs {
	a := graphdef.Attrs{"T": dt, "strides": []int{1, c.sh, c.sw, 1}, "padding": c.padding, "dilations": []int{1, c.dh, c.dw, 1}}
	if c.explicit != nil {
		a["explicit_paddings"] = c.explicit
	}
	return a
}

// geometry from TensorFlow's definition, written independently of conv.go:
// output size and padding before, per spatial dimension.
func (c grConvCase) geometry() (oh, ow, pt, pl int) {
	dim := func(in, k, s, d, eb, ea int) (int, int) {
		ek := (k-1)*d + 1
		switch c.padding {
		case "SAME":
			out := (in + s - 1) / s
			return out, max((out-1)*s+ek-in, 0) / 2
		case "VALID":
			if in < ek {
				return 0, 0
			}
			return (in-ek)/s + 1, 0
		}
		in += eb + ea
		if in < ek {
			return 0, eb
		}
		return (in-ek)/s + 1, eb
	}
	var e [8]int
	copy(e[:], c.explicit)
	oh, pt = dim(c.x[1], c.kh, c.sh, c.dh, e[2], e[3])
	ow, pl = dim(c.x[2], c.kw, c.sw, c.dw, e[4], e[5])
	return
}

// grConvRef is the definition of the three gradients in float64, summed
// over every (output pixel, tap) pair: it returns dW of Conv2D, dW and dX
// of the depthwise convolution.
func grConvRef(c grConvCase, x, w, dy []float64, depthwise bool) (dwc, dwd, dxd []float64) {
	n, h, wd, ch := c.x[0], c.x[1], c.x[2], c.x[3]
	oh, ow, pt, pl := c.geometry()
	oc := c.m
	if depthwise {
		oc = ch * c.m
	}
	dwc = make([]float64, c.kh*c.kw*ch*c.m)
	dwd = make([]float64, c.kh*c.kw*ch*c.m)
	dxd = make([]float64, n*h*wd*ch)
	for b := range n {
		for oy := range oh {
			for ox := range ow {
				for ky := range c.kh {
					for kx := range c.kw {
						iy, ix := oy*c.sh-pt+ky*c.dh, ox*c.sw-pl+kx*c.dw
						if iy < 0 || iy >= h || ix < 0 || ix >= wd {
							continue
						}
						xi := ((b*h+iy)*wd + ix) * ch
						di := ((b*oh+oy)*ow + ox) * oc
						fi := (ky*c.kw + kx) * ch * c.m
						for ci := range ch {
							for q := range c.m {
								if depthwise {
									dwd[fi+ci*c.m+q] += x[xi+ci] * dy[di+ci*c.m+q]
									if w != nil {
										dxd[xi+ci] += w[fi+ci*c.m+q] * dy[di+ci*c.m+q]
									}
								} else {
									dwc[fi+ci*c.m+q] += x[xi+ci] * dy[di+q]
								}
							}
						}
					}
				}
			}
		}
	}
	return
}

func grSizes(s ...int) *classify.Tensor {
	v := make([]int32, len(s))
	for i, d := range s {
		v[i] = int32(d)
	}
	return saI32(v, len(s))
}

// grDot is Σ a*b over float32 data, in float64.
func grDot(a []float32, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += float64(v) * b[i]
	}
	return s
}

var grConvCases = []grConvCase{
	{name: "same_s1", x: []int{2, 7, 6, 3}, kh: 3, kw: 3, m: 2, sh: 1, sw: 1, dh: 1, dw: 1, padding: "SAME"},
	{name: "valid_s2", x: []int{1, 8, 7, 2}, kh: 3, kw: 2, m: 3, sh: 2, sw: 2, dh: 1, dw: 1, padding: "VALID"},
	{name: "same_s2", x: []int{1, 9, 8, 2}, kh: 3, kw: 3, m: 2, sh: 2, sw: 2, dh: 1, dw: 1, padding: "SAME"},
	{name: "explicit", x: []int{2, 5, 6, 2}, kh: 2, kw: 3, m: 3, sh: 1, sw: 1, dh: 1, dw: 1, padding: "EXPLICIT", explicit: []int{0, 0, 1, 2, 2, 0, 0, 0}},
	{name: "window_over_input", x: []int{1, 3, 3, 2}, kh: 5, kw: 4, m: 2, sh: 1, sw: 1, dh: 1, dw: 1, padding: "SAME"},
	{name: "empty_batch", x: []int{0, 4, 4, 2}, kh: 2, kw: 2, m: 2, sh: 1, sw: 1, dh: 1, dw: 1, padding: "VALID"},
}

// Conv2D alone: unequal strides and dilations.
var grConv2DOnlyCases = []grConvCase{
	{name: "strides_2x1", x: []int{1, 8, 7, 2}, kh: 3, kw: 2, m: 3, sh: 2, sw: 1, dh: 1, dw: 1, padding: "VALID"},
	{name: "dilated", x: []int{1, 9, 9, 2}, kh: 3, kw: 3, m: 2, sh: 2, sw: 2, dh: 2, dw: 1, padding: "SAME"},
	{name: "dilated_explicit", x: []int{1, 7, 8, 1}, kh: 2, kw: 3, m: 2, sh: 1, sw: 2, dh: 2, dw: 2, padding: "EXPLICIT", explicit: []int{0, 0, 2, 1, 0, 3, 0, 0}},
}

// TestConv2DBackpropFilter checks the filter gradient against the
// definition in float64 (1e-12), against the forward Conv2D kernel
// (Conv2D is linear in its filter, so dW[k] = Σ dy · Conv2D(x, e_k)
// exactly; float32 within 2e-5 + 2e-5 relative), and float32 and float16
// against float64 (1e-5 and 2e-2 relative).
func TestConv2DBackpropFilter(t *testing.T) {
	for i, c := range append(append([]grConvCase{}, grConvCases...), grConv2DOnlyCases...) {
		t.Run(c.name, func(t *testing.T) {
			oh, ow, _, _ := c.geometry()
			x := grRand64(uint64(100+i), -1, 1, nil, 0, c.x...)
			dy := grRand64(uint64(200+i), -1, 1, nil, 0, c.x[0], oh, ow, c.m)
			fs := []int{c.kh, c.kw, c.x[3], c.m}
			want, _, _ := grConvRef(c, x.Data.([]float64), nil, dy.Data.([]float64), false)
			for _, konst := range []bool{false, true} {
				sz := saFeed(grSizes(fs...))
				if konst {
					sz = saConst(grSizes(fs...))
				}
				got, err := saRun(t, "Conv2DBackpropFilter", c.attrs(classify.Float64), saFeed(x), sz, saFeed(dy))
				if err != nil {
					t.Fatal(err)
				}
				if !got[0].Shape.Equal(classify.Shape(fs)) {
					t.Fatalf("shape %v, want %v", got[0].Shape, fs)
				}
				grClose(t, "float64", grFloats(got[0]), want, 1e-12, 1e-12)
			}
			x32, dy32 := grTo32(x), grTo32(dy)
			g32 := mustRun(t, "Conv2DBackpropFilter", c.attrs(classify.Float32), x32, grSizes(fs...), dy32)
			grClose(t, "float32", grFloats(g32), want, 1e-5, 1e-5)
			got, err := runOp(t, "Conv2DBackpropFilter", c.attrs(classify.Float16), grTo16(x), grSizes(fs...), grTo16(dy))
			if err != nil {
				t.Fatal(err)
			}
			grClose(t, "float16", grFloats(got[0]), want, 3e-2, 2e-2)
			// The forward kernel, one filter element at a time.
			if c.x[0] == 0 {
				return
			}
			fwd := make([]float64, len(want))
			for k := range fwd {
				e := classify.NewTensor(classify.Float32, fs...)
				e.Float32s()[k] = 1
				at := c.attrs(classify.Float32)
				y := grFwd(t, "Conv2D", at, 1, x32, e)[0]
				fwd[k] = grDot(y.Float32s(), grFloats(dy32))
			}
			grClose(t, "vs Conv2D", grFloats(g32), fwd, 2e-5, 2e-5)
		})
	}
}

// TestDepthwiseBackprop checks both depthwise gradients against the
// definition in float64 (1e-12), against the forward DepthwiseConv2dNative
// kernel (linear in each argument: dX[k] = Σ dy · DW(e_k, w), dW[k] =
// Σ dy · DW(x, e_k); float32 within 2e-5 + 2e-5 relative), and float32 and
// float16 against float64.
func TestDepthwiseBackprop(t *testing.T) {
	for i, c := range grConvCases {
		t.Run(c.name, func(t *testing.T) {
			oh, ow, _, _ := c.geometry()
			ch := c.x[3]
			x := grRand64(uint64(300+i), -1, 1, nil, 0, c.x...)
			w := grRand64(uint64(400+i), -1, 1, nil, 0, c.kh, c.kw, ch, c.m)
			dy := grRand64(uint64(500+i), -1, 1, nil, 0, c.x[0], oh, ow, ch*c.m)
			fs := []int{c.kh, c.kw, ch, c.m}
			_, wantW, wantX := grConvRef(c, x.Data.([]float64), w.Data.([]float64), dy.Data.([]float64), true)
			for _, konst := range []bool{false, true} {
				in := func(s *classify.Tensor) saIn {
					if konst {
						return saConst(s)
					}
					return saFeed(s)
				}
				gx, err := saRun(t, "DepthwiseConv2dNativeBackpropInput", c.attrs(classify.Float64), in(grSizes(c.x...)), saFeed(w), saFeed(dy))
				if err != nil {
					t.Fatal(err)
				}
				gw, err := saRun(t, "DepthwiseConv2dNativeBackpropFilter", c.attrs(classify.Float64), saFeed(x), in(grSizes(fs...)), saFeed(dy))
				if err != nil {
					t.Fatal(err)
				}
				if !gx[0].Shape.Equal(classify.Shape(c.x)) || !gw[0].Shape.Equal(classify.Shape(fs)) {
					t.Fatalf("shapes %v %v", gx[0].Shape, gw[0].Shape)
				}
				grClose(t, "input float64", grFloats(gx[0]), wantX, 1e-12, 1e-12)
				grClose(t, "filter float64", grFloats(gw[0]), wantW, 1e-12, 1e-12)
			}
			x32, w32, dy32 := grTo32(x), grTo32(w), grTo32(dy)
			gx32 := mustRun(t, "DepthwiseConv2dNativeBackpropInput", c.attrs(classify.Float32), grSizes(c.x...), w32, dy32)
			gw32 := mustRun(t, "DepthwiseConv2dNativeBackpropFilter", c.attrs(classify.Float32), x32, grSizes(fs...), dy32)
			grClose(t, "input float32", grFloats(gx32), wantX, 1e-5, 1e-5)
			grClose(t, "filter float32", grFloats(gw32), wantW, 1e-5, 1e-5)
			gx16 := mustRun(t, "DepthwiseConv2dNativeBackpropInput", c.attrs(classify.Float16), grSizes(c.x...), grTo16(w), grTo16(dy))
			gw16 := mustRun(t, "DepthwiseConv2dNativeBackpropFilter", c.attrs(classify.Float16), grTo16(x), grSizes(fs...), grTo16(dy))
			grClose(t, "input float16", grFloats(gx16), wantX, 3e-2, 2e-2)
			grClose(t, "filter float16", grFloats(gw16), wantW, 3e-2, 2e-2)
			if c.x[0] == 0 {
				return
			}
			at := c.attrs(classify.Float32)
			fx := make([]float64, len(wantX))
			for k := range fx {
				e := classify.NewTensor(classify.Float32, c.x...)
				e.Float32s()[k] = 1
				fx[k] = grDot(grFwd(t, "DepthwiseConv2dNative", at, 1, e, w32)[0].Float32s(), grFloats(dy32))
			}
			grClose(t, "input vs DepthwiseConv2dNative", grFloats(gx32), fx, 2e-5, 2e-5)
			fw := make([]float64, len(wantW))
			for k := range fw {
				e := classify.NewTensor(classify.Float32, fs...)
				e.Float32s()[k] = 1
				fw[k] = grDot(grFwd(t, "DepthwiseConv2dNative", at, 1, x32, e)[0].Float32s(), grFloats(dy32))
			}
			grClose(t, "filter vs DepthwiseConv2dNative", grFloats(gw32), fw, 2e-5, 2e-5)
		})
	}
}

func TestConvBackpropErrors(t *testing.T) {
	bad, inv, unsup := classify.ErrInvalidGraph, classify.ErrInvalidInput, classify.ErrUnsupportedOp
	x := randF32(1, -1, 1, 1, 5, 5, 2)
	dy := randF32(2, -1, 1, 1, 5, 5, 3)
	s1 := graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "SAME"}
	cf, di, df := "Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"
	w := randF32(3, -1, 1, 3, 3, 2, 1)
	dyd := randF32(4, -1, 1, 1, 5, 5, 2)
	saCheckErrors(t, []saErrCase{
		{"sizes_dtype", cf, s1, []saIn{saFeed(x), saFeed(randF32(1, 0, 1, 4)), saFeed(dy)}, inv, "filter_sizes"},
		{"sizes_len", cf, s1, []saIn{saFeed(x), saFeed(grSizes(3, 3, 2)), saFeed(dy)}, inv, "filter_sizes"},
		{"sizes_negative", cf, s1, []saIn{saFeed(x), saFeed(grSizes(3, -3, 2, 3)), saFeed(dy)}, inv, "negative"},
		{"sizes_huge", cf, s1, []saIn{saFeed(x), saFeed(grSizes(1<<15, 1<<15, 2, 3)), saFeed(dy)}, inv, "filter_sizes"},
		{"sizes_huge_const", cf, s1, []saIn{saFeed(x), saConst(grSizes(1<<15, 1<<15, 2, 3)), saFeed(dy)}, bad, "filter_sizes"},
		{"depth", cf, s1, []saIn{saFeed(x), saFeed(grSizes(3, 3, 4, 3)), saFeed(dy)}, inv, "in_depth"},
		{"dy_shape", cf, s1, []saIn{saFeed(x), saFeed(grSizes(3, 3, 2, 4)), saFeed(dy)}, inv, "out_backprop"},
		{"empty_window", cf, s1, []saIn{saFeed(x), saFeed(grSizes(0, 3, 2, 3)), saFeed(dy)}, inv, "empty window"},
		{"rank", cf, s1, []saIn{saFeed(randF32(1, 0, 1, 5, 5, 2)), saFeed(grSizes(3, 3, 2, 3)), saFeed(dy)}, inv, "rank 4"},
		{"mixed", cf, s1, []saIn{saFeed(grF64(make([]float64, 50), 1, 5, 5, 2)), saFeed(grSizes(3, 3, 2, 3)), saFeed(dy)}, inv, "float32"},
		{"dtype", cf, graphdef.Attrs{"T": classify.Int32, "strides": []int{1, 1, 1, 1}, "padding": "SAME"}, []saIn{saFeed(x), saFeed(grSizes(3, 3, 2, 3)), saFeed(dy)}, bad, "dtype"},
		{"nchw", cf, graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "SAME", "data_format": "NCHW"}, []saIn{saFeed(x), saFeed(grSizes(3, 3, 2, 3)), saFeed(dy)}, unsup, "NHWC"},
		{"padding", cf, graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "FULL"}, []saIn{saFeed(x), saFeed(grSizes(3, 3, 2, 3)), saFeed(dy)}, bad, "padding"},
		{"dw_strides", di, graphdef.Attrs{"strides": []int{1, 2, 1, 1}, "padding": "SAME"}, []saIn{saFeed(grSizes(1, 5, 5, 2)), saFeed(w), saFeed(dyd)}, bad, "equal"},
		{"dw_dilations", df, graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "dilations": []int{1, 2, 2, 1}, "padding": "SAME"}, []saIn{saFeed(x), saFeed(grSizes(3, 3, 2, 1)), saFeed(dyd)}, unsup, "dilations"},
		{"dw_depth", di, s1, []saIn{saFeed(grSizes(1, 5, 5, 3)), saFeed(w), saFeed(dyd)}, inv, "in_depth"},
		{"dw_outdepth", df, s1, []saIn{saFeed(x), saFeed(grSizes(3, 3, 2, 2)), saFeed(dyd)}, inv, "out_backprop"},
		{"dw_sizes_huge", di, s1, []saIn{saFeed(grSizes(1<<14, 1<<14, 1<<14, 2)), saFeed(w), saFeed(dyd)}, inv, "input_sizes"},
		{"dw_batch", di, s1, []saIn{saFeed(grSizes(2, 5, 5, 2)), saFeed(w), saFeed(dyd)}, inv, "out_backprop"},
	})
}
