package ops

// float64 convolutions: Conv2D, DepthwiseConv2dNative, their grappler
// fused forms and Conv3D with T double, which TensorFlow's CPU kernels
// take and the float32 paths (conv.go, depthwise.go, conv3d.go) do not.
// The builders of those files hand a float64 node to the builders here.
// Each is a direct loop nest that sums in float64, for every output
// element, the in-range taps of its window:
//
//	Conv2D:    y[b,i,j,o]   = sum_{ky,kx,c} x[b, i*sh-pt+ky*dh, j*sw-pl+kx*dw, c] * f[ky,kx,c,o]
//	Depthwise: y[b,i,j,c*M+m] = sum_{ky,kx} x[b, i*sh-pt+ky*dh, j*sw-pl+kx*dw, c] * f[ky,kx,c,m]
//
// with the geometry (SAME, VALID, EXPLICIT padding) of convAttrs. The fused
// forms then add the bias (and the residual addend), then the activation.
// NCHW graphs reach these kernels as NHWC through the loader's layout pass.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

// convF64 is a float64 Conv2D or DepthwiseConv2dNative, plain or fused.
type convF64 struct {
	node      *Node
	attrs     convAttrs
	depthwise bool
	fused     bool
	add       bool // BiasAdd,Add[,act]: input 3 is added before act
	act       gemm.Act
	alpha     float64
}

// checkConvBounds bounds the window attributes a float64 convolution takes
// from the graph, so that no geometry computed from them overflows.
func checkConvBounds(n *Node, a *convAttrs) error {
	for _, v := range []int{a.sh, a.sw, a.dh, a.dw, a.explicit[0], a.explicit[1], a.explicit[2], a.explicit[3]} {
		if v > arrMaxElements {
			return n.Errorf("strides %v, dilations %v or explicit_paddings %v exceed %d", n.Ints("strides"), n.Ints("dilations"), n.Ints("explicit_paddings"), arrMaxElements)
		}
	}
	return nil
}

func buildConvF64(n *Node, consts []*classify.Tensor, depthwise, fused bool) (Op, error) {
	attrs, err := parseConvAttrs(n)
	if err != nil {
		return nil, err
	}
	if err := checkConvBounds(n, &attrs); err != nil {
		return nil, err
	}
	op := &convF64{node: n, attrs: attrs, depthwise: depthwise, fused: fused}
	want := 2
	if fused {
		want = 3
		var alpha float32
		if depthwise {
			op.act, alpha, err = fusedAttrs(n)
		} else {
			op.act, alpha, op.add, err = fusedAttrsAdd(n)
		}
		if err != nil {
			return nil, err
		}
		op.alpha = float64(alpha)
		if op.add {
			want = 4
		}
	}
	if len(consts) != want {
		return nil, n.Errorf("%d inputs, want %d", len(consts), want)
	}
	if f := consts[1]; f != nil && (f.DType != classify.Float64 || len(f.Shape) != 4) {
		return nil, n.Errorf("filter is %v %v, want float64 rank 4", f.DType, f.Shape)
	}
	return op, nil
}

// checkF64 validates a run-time float64 input of the given rank.
func checkF64(n *Node, t *classify.Tensor, what string, rank int) ([]float64, error) {
	if t == nil {
		return nil, n.InputErrorf("%s is missing", what)
	}
	d, ok := t.Data.([]float64)
	if t.DType != classify.Float64 || !ok || (rank >= 0 && len(t.Shape) != rank) {
		return nil, n.InputErrorf("%s is %v %v, want float64 rank %d", what, t.DType, t.Shape, rank)
	}
	if len(d) != t.Shape.NumElements() {
		return nil, n.InputErrorf("%s has %d elements for shape %v", what, len(d), t.Shape)
	}
	return d, nil
}

// boundedElems is the product of dims, or false when it exceeds
// arrMaxElements (checked without overflow).
func boundedElems(dims ...int) (int, bool) {
	e := 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			return 0, true
		}
	}
	for _, d := range dims {
		if e > arrMaxElements/d {
			return 0, false
		}
		e *= d
	}
	return e, true
}

func (op *convF64) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := op.node
	x, err := checkF64(n, in[0], "input", 4)
	if err != nil {
		return nil, err
	}
	w, err := checkF64(n, in[1], "filter", 4)
	if err != nil {
		return nil, err
	}
	fs := in[1].Shape
	kh, kw, ic := fs[0], fs[1], fs[2]
	if kh < 1 || kw < 1 {
		return nil, n.InputErrorf("filter %v has an empty window", fs)
	}
	if in[0].Shape[3] != ic {
		return nil, n.InputErrorf("input has %d channels, filter %v wants %d", in[0].Shape[3], fs, ic)
	}
	oc := fs[3]
	if op.depthwise {
		var ok bool
		if oc, ok = boundedElems(ic, fs[3]); !ok {
			return nil, n.InputErrorf("filter %v: too many output channels", fs)
		}
	}
	g := op.attrs.geom(in[0].Shape, kh, kw)
	if _, ok := boundedElems(g.n, g.oh, g.ow, oc); !ok {
		return nil, n.InputErrorf("output [%d %d %d %d] exceeds %d elements", g.n, g.oh, g.ow, oc, arrMaxElements)
	}
	var bias, addend []float64
	if op.fused {
		if bias, err = checkF64(n, in[2], "bias", 1); err != nil {
			return nil, err
		}
		if len(bias) != oc {
			return nil, n.InputErrorf("bias shape %v, want [%d]", in[2].Shape, oc)
		}
	}
	if op.add {
		if addend, err = checkF64(n, in[3], "addend", 4); err != nil {
			return nil, err
		}
		if want := (classify.Shape{g.n, g.oh, g.ow, oc}); !in[3].Shape.Equal(want) {
			return nil, n.InputErrorf("addend shape %v, want the output's %v (float64 takes no broadcasting addend)", in[3].Shape, want)
		}
	}
	out := ctx.Output(0, classify.Float64, g.n, g.oh, g.ow, oc)
	y := out.Data.([]float64)
	rows := g.n * g.oh
	if len(y) == 0 {
		return []*classify.Tensor{out}, nil
	}
	cost := g.ow * oc * kh * kw
	if !op.depthwise {
		cost *= max(ic, 1)
	}
	ewParallel(ctx, rows, cost, func(lo, hi int) {
		if op.depthwise {
			depthwiseF64Rows(&g, fs[3], x, w, y, lo, hi)
		} else {
			conv2DF64Rows(&g, oc, x, w, y, lo, hi)
		}
		op.epilogue(y[lo*g.ow*oc:hi*g.ow*oc], bias, addend, lo*g.ow*oc)
	})
	return []*classify.Tensor{out}, nil
}

// epilogue adds the bias (per channel, the innermost dimension) and the
// addend, then applies the activation, to ys, which starts at element
// off of the output.
func (op *convF64) epilogue(ys, bias, addend []float64, off int) {
	if !op.fused {
		return
	}
	oc := len(bias)
	for i := range ys {
		v := ys[i] + bias[i%oc]
		if addend != nil {
			v += addend[off+i]
		}
		ys[i] = activateF64(v, op.act, op.alpha)
	}
}

// activateF64 is one element of a fused activation, in float64.
func activateF64(v float64, act gemm.Act, alpha float64) float64 {
	switch act {
	case gemm.ActRelu:
		return max(v, 0)
	case gemm.ActRelu6:
		return min(max(v, 0), 6)
	case gemm.ActElu:
		if v < 0 {
			return math.Expm1(v)
		}
	case gemm.ActLeakyRelu:
		if v < 0 {
			return v * alpha
		}
	}
	return v
}

// conv2DF64Rows computes output rows [lo, hi) of the (n, oh) sequence.
func conv2DF64Rows(g *geom, oc int, x, w, y []float64, lo, hi int) {
	c := g.c
	for r := lo; r < hi; r++ {
		b, oy := r/g.oh, r%g.oh
		for ox := 0; ox < g.ow; ox++ {
			acc := y[(r*g.ow+ox)*oc:][:oc]
			clear(acc)
			for ky := 0; ky < g.kh; ky++ {
				iy := oy*g.sh - g.pt + ky*g.dh
				if iy < 0 || iy >= g.h {
					continue
				}
				for kx := 0; kx < g.kw; kx++ {
					ix := ox*g.sw - g.pl + kx*g.dw
					if ix < 0 || ix >= g.w {
						continue
					}
					xs := x[((b*g.h+iy)*g.w+ix)*c:][:c]
					fs := w[(ky*g.kw+kx)*c*oc:][:c*oc]
					for ci, v := range xs {
						for co, f := range fs[ci*oc : (ci+1)*oc] {
							acc[co] += v * f
						}
					}
				}
			}
		}
	}
}

// depthwiseF64Rows computes output rows [lo, hi): output channel ci*mult+m
// reads input channel ci with filter [ky, kx, ci, m].
func depthwiseF64Rows(g *geom, mult int, x, w, y []float64, lo, hi int) {
	c := g.c
	oc := c * mult
	for r := lo; r < hi; r++ {
		b, oy := r/g.oh, r%g.oh
		for ox := 0; ox < g.ow; ox++ {
			acc := y[(r*g.ow+ox)*oc:][:oc]
			clear(acc)
			for ky := 0; ky < g.kh; ky++ {
				iy := oy*g.sh - g.pt + ky*g.dh
				if iy < 0 || iy >= g.h {
					continue
				}
				for kx := 0; kx < g.kw; kx++ {
					ix := ox*g.sw - g.pl + kx*g.dw
					if ix < 0 || ix >= g.w {
						continue
					}
					xs := x[((b*g.h+iy)*g.w+ix)*c:][:c]
					fs := w[(ky*g.kw+kx)*oc:][:oc]
					for ci, v := range xs {
						for m := 0; m < mult; m++ {
							acc[ci*mult+m] += v * fs[ci*mult+m]
						}
					}
				}
			}
		}
	}
}

func (op *convF64) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	n := op.node
	for i, what := range []string{"input", "filter"} {
		if i < len(in) && in[i].DType != classify.Invalid && in[i].DType != classify.Float64 {
			return nil, n.Errorf("%s dtype %v, want float64", what, in[i].DType)
		}
	}
	var fs classify.Shape
	if len(in) > 1 {
		fs = in[1].Shape
	}
	if fs != nil && len(fs) != 4 {
		return nil, n.Errorf("filter shape %v, want rank 4", fs)
	}
	out := classify.Shape{-1, -1, -1, -1}
	if len(fs) == 4 && fs[3] >= 0 {
		out[3] = fs[3]
		if op.depthwise {
			out[3] = -1
			if fs[2] >= 0 {
				out[3] = fs[2] * fs[3]
			}
		}
	}
	if err := op.attrs.inferNHW(n, in[0].Shape, fs, out); err != nil {
		return nil, err
	}
	return []classify.TensorInfo{{DType: classify.Float64, Shape: out}}, nil
}

func (op *convF64) FLOPs(in []classify.Shape) int64 {
	if len(in) < 2 || len(in[0]) != 4 || len(in[1]) != 4 {
		return 0
	}
	info, err := op.OutputInfo([]classify.TensorInfo{{Shape: in[0]}, {Shape: in[1]}})
	if err != nil {
		return 0
	}
	for _, d := range info[0].Shape {
		if d < 0 {
			return 0
		}
	}
	e := int64(info[0].Shape.NumElements())
	k := int64(in[1][0] * in[1][1])
	if !op.depthwise {
		k *= int64(in[1][2])
	}
	f := 2 * e * k
	if op.fused {
		f += e
	}
	return f
}

// conv3DF64 is a float64 Conv3D: the attributes of conv3d.go's node, its
// own loop.
type conv3DF64 struct{ *conv3dOp }

func newConv3DF64(o *conv3dOp) (Op, error) {
	for i := range 3 {
		if o.stride[i] > arrMaxElements || o.dil[i] > arrMaxElements {
			return nil, o.n.Errorf("strides %v or dilations %v exceed %d", o.n.Ints("strides"), o.n.Ints("dilations"), arrMaxElements)
		}
	}
	return &conv3DF64{o}, nil
}

func (o *conv3DF64) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	for i, what := range []string{"input", "filter"} {
		if i < len(in) && in[i].DType != classify.Invalid && in[i].DType != classify.Float64 {
			return nil, o.n.Errorf("%s dtype %v, want float64", what, in[i].DType)
		}
	}
	out, err := o.conv3dOp.OutputInfo(in)
	if err != nil {
		return nil, err
	}
	out[0].DType = classify.Float64
	return out, nil
}

func (o *conv3DF64) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	xd, err := checkF64(o.n, in[0], "input", 5)
	if err != nil {
		return nil, err
	}
	fd, err := checkF64(o.n, in[1], "filter", 5)
	if err != nil {
		return nil, err
	}
	return conv3dRun(ctx, o.conv3dOp, in[0], in[1], xd, fd)
}
