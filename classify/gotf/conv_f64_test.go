package gotf

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func randF64Tensor(seed uint64, shape ...int) *classify.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	t := classify.NewTensor(classify.Float64, shape...)
	for i, d := 0, t.Data.([]float64); i < len(d); i++ {
		d[i] = 2*r.Float64() - 1
	}
	return t
}

// TestConvF64Engine runs a float64 Conv2D → BiasAdd → Relu and a float64
// DepthwiseConv2dNative → BiasAdd → MaxPool chain through OpenGraph, in NHWC
// and in NCHW (rewritten by the layout pass), with and without fusion, and
// compares with a float64 reference loop. Fusion must leave the float64
// convolutions alone (it folds into float32 filters only).
func TestConvF64Engine(t *testing.T) {
	const n, h, w, c, oc = 2, 7, 6, 3, 4
	x := randF64Tensor(1, n, h, w, c)
	f := randF64Tensor(2, 3, 3, c, oc)
	bias := randF64Tensor(3, oc)
	df := randF64Tensor(4, 3, 3, oc, 2)
	dbias := randF64Tensor(5, 2*oc)
	xd, fd, bd, dfd, dbd := x.Data.([]float64), f.Data.([]float64), bias.Data.([]float64), df.Data.([]float64), dbias.Data.([]float64)
	// Conv2D SAME stride 1, + bias, Relu: [n, h, w, oc].
	relu := make([]float64, n*h*w*oc)
	for b := range n {
		for i := range h {
			for j := range w {
				for o := range oc {
					s := bd[o]
					for ky := range 3 {
						for kx := range 3 {
							iy, ix := i+ky-1, j+kx-1
							if iy < 0 || ix < 0 || iy >= h || ix >= w {
								continue
							}
							for ci := range c {
								s += xd[((b*h+iy)*w+ix)*c+ci] * fd[((ky*3+kx)*c+ci)*oc+o]
							}
						}
					}
					relu[((b*h+i)*w+j)*oc+o] = math.Max(s, 0)
				}
			}
		}
	}
	// Depthwise VALID stride 2 (multiplier 2) + bias, then MaxPool 2x2
	// SAME stride 1.
	const dh, dw = 3, 2
	dwo := make([]float64, n*dh*dw*2*oc)
	for b := range n {
		for i := range dh {
			for j := range dw {
				for o := range 2 * oc {
					s := dbd[o]
					for ky := range 3 {
						for kx := range 3 {
							s += relu[((b*h+2*i+ky)*w+2*j+kx)*oc+o/2] * dfd[((ky*3+kx)*oc+o/2)*2+o%2]
						}
					}
					dwo[((b*dh+i)*dw+j)*2*oc+o] = s
				}
			}
		}
	}
	pool := make([]float64, len(dwo))
	for b := range n {
		for i := range dh {
			for j := range dw {
				for o := range 2 * oc {
					m := math.Inf(-1)
					for y := i; y < min(i+2, dh); y++ {
						for z := j; z < min(j+2, dw); z++ {
							m = math.Max(m, dwo[((b*dh+y)*dw+z)*2*oc+o])
						}
					}
					pool[((b*dh+i)*dw+j)*2*oc+o] = m
				}
			}
		}
	}
	for _, nchw := range []bool{false, true} {
		g := graphdef.New()
		format, xs := "NHWC", classify.Shape{n, h, w, c}
		s1, s2, k2 := []int{1, 1, 1, 1}, []int{1, 2, 2, 1}, []int{1, 2, 2, 1}
		feed := x
		if nchw {
			format, xs = "NCHW", classify.Shape{n, c, h, w}
			s2, k2 = []int{1, 1, 2, 2}, []int{1, 1, 2, 2}
			feed = toNCHW64(x)
		}
		at := func(kv ...any) graphdef.Attrs {
			a := graphdef.Attrs{"T": classify.Float64, "data_format": format}
			for i := 0; i < len(kv); i += 2 {
				a[kv[i].(string)] = kv[i+1]
			}
			return a
		}
		in := g.Placeholder("x", classify.Float64, xs)
		conv := g.Op("Conv2D", "conv", []graphdef.Output{in, g.Const("f", f)}, at("strides", s1, "padding", "SAME"))
		ba := g.Op("BiasAdd", "bias", []graphdef.Output{conv, g.Const("b", bias)}, at())
		r := g.Op("Relu", "relu", []graphdef.Output{ba}, graphdef.Attrs{"T": classify.Float64})
		d := g.Op("DepthwiseConv2dNative", "dw", []graphdef.Output{r, g.Const("df", df)}, at("strides", s2, "padding", "VALID"))
		db := g.Op("BiasAdd", "dbias", []graphdef.Output{d, g.Const("db", dbias)}, at())
		g.Op("MaxPool", "pool", []graphdef.Output{db}, at("ksize", k2, "strides", s1, "padding", "SAME"))
		outs := []string{"relu", "pool"}
		for _, fuse := range []bool{false, true} {
			m, err := load(context.Background(), g.GraphDef(), classify.OpenOptions{Outputs: outs}, loadConfig{fuse: fuse})
			if err != nil {
				t.Fatalf("%s fuse=%v: %v", format, fuse, err)
			}
			got, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": feed}, outs)
			if err != nil {
				t.Fatalf("%s fuse=%v: %v", format, fuse, err)
			}
			if ops := m.Info().Ops; ops["_FusedConv2D"]+ops["_FusedDepthwiseConv2dNative"] != 0 {
				t.Errorf("%s fuse=%v: a float64 convolution was fused: %v", format, fuse, ops)
			}
			for i, want := range []*classify.Tensor{
				{DType: classify.Float64, Shape: classify.Shape{n, h, w, oc}, Data: relu},
				{DType: classify.Float64, Shape: classify.Shape{n, dh, dw, 2 * oc}, Data: pool},
			} {
				if nchw {
					want = toNCHW64(want)
				}
				g := got[i]
				if g.DType != classify.Float64 || !g.Shape.Equal(want.Shape) {
					t.Fatalf("%s fuse=%v %s: got %v %v, want float64 %v", format, fuse, outs[i], g.DType, g.Shape, want.Shape)
				}
				for j, v := range want.Data.([]float64) {
					if e := math.Abs(g.Data.([]float64)[j] - v); e > 1e-12 {
						t.Fatalf("%s fuse=%v %s: element %d: got %v, want %v", format, fuse, outs[i], j, g.Data.([]float64)[j], v)
					}
				}
			}
		}
	}
}

// toNCHW64 transposes a float64 NHWC tensor to NCHW.
func toNCHW64(t *classify.Tensor) *classify.Tensor {
	n, h, w, c := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	o := classify.NewTensor(classify.Float64, n, c, h, w)
	src, dst := t.Data.([]float64), o.Data.([]float64)
	for b := range n {
		for y := range h {
			for x := range w {
				for k := range c {
					dst[((b*c+k)*h+y)*w+x] = src[((b*h+y)*w+x)*c+k]
				}
			}
		}
	}
	return o
}

// TestConv3DF64NCDHW runs a float64 Conv3D → AvgPool3D chain in NCDHW
// through the layout pass and compares it with the same graph in NDHWC.
func TestConv3DF64NCDHW(t *testing.T) {
	x := randF64Tensor(11, 2, 5, 6, 4, 3) // NDHWC
	f := randF64Tensor(12, 2, 3, 2, 3, 4)
	build := func(first bool) (*graphdef.Builder, *classify.Tensor) {
		g := graphdef.New()
		format, shape, s, k, feed := "NDHWC", classify.Shape{2, 5, 6, 4, 3}, []int{1, 2, 1, 1, 1}, []int{1, 2, 2, 1, 1}, x
		if first {
			format, shape, s, k = "NCDHW", classify.Shape{2, 3, 5, 6, 4}, []int{1, 1, 2, 1, 1}, []int{1, 1, 2, 2, 1}
			feed = moveAxis64(x)
		}
		in := g.Placeholder("x", classify.Float64, shape)
		c := g.Op("Conv3D", "conv", []graphdef.Output{in, g.Const("f", f)}, graphdef.Attrs{"T": classify.Float64, "strides": s, "padding": "SAME", "data_format": format})
		g.Op("AvgPool3D", "pool", []graphdef.Output{c}, graphdef.Attrs{"T": classify.Float64, "ksize": k, "strides": k, "padding": "SAME", "data_format": format})
		return g, feed
	}
	var res [2]*classify.Tensor
	for i, first := range []bool{false, true} {
		g, feed := build(first)
		m, err := OpenGraph(context.Background(), g.GraphDef(), classify.OpenOptions{Outputs: []string{"pool"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": feed}, []string{"pool"})
		if err != nil {
			t.Fatal(err)
		}
		res[i] = got[0]
	}
	want := moveAxis64(res[0])
	if res[1].DType != classify.Float64 || !res[1].Shape.Equal(want.Shape) {
		t.Fatalf("NCDHW: got %v %v, want float64 %v", res[1].DType, res[1].Shape, want.Shape)
	}
	for i, v := range want.Data.([]float64) {
		if res[1].Data.([]float64)[i] != v {
			t.Fatalf("element %d: NCDHW %v, NDHWC %v", i, res[1].Data.([]float64)[i], v)
		}
	}
}

// moveAxis64 moves the last axis of a float64 tensor to position 1
// (channels-last to channels-first).
func moveAxis64(t *classify.Tensor) *classify.Tensor {
	s := t.Shape
	n, c := s[0], s[len(s)-1]
	shape := append(classify.Shape{n, c}, s[1:len(s)-1]...)
	inner := t.Len() / max(n*c, 1)
	o := classify.NewTensor(classify.Float64, shape...)
	src, dst := t.Data.([]float64), o.Data.([]float64)
	for b := range n {
		for k := range c {
			for i := range inner {
				dst[(b*c+k)*inner+i] = src[(b*inner+i)*c+k]
			}
		}
	}
	return o
}
