package ops

// Convolution gradients of training graphs, NHWC as the forward kernels:
//
//   - Conv2DBackpropFilter(input, filter_sizes, out_backprop): the
//     gradient of Conv2D with respect to its filter,
//     dW[ky,kx,ci,co] = Σ_{b,oy,ox} x[b, oy*sh-pt+ky*dh, ox*sw-pl+kx*dw, ci] · dy[b,oy,ox,co],
//     with strides, dilations and SAME/VALID/EXPLICIT padding as Conv2D.
//   - DepthwiseConv2dNativeBackpropInput(input_sizes, filter, out_backprop)
//     and DepthwiseConv2dNativeBackpropFilter(input, filter_sizes,
//     out_backprop): the same sums restricted to one input channel c and
//     its outputs c*m+q. As TensorFlow's CPU kernels (depthwise_conv_grad_op.cc)
//     they take equal row and column strides and no dilation.
//
// The sizes inputs are client-controlled: they are validated and bounded
// (deconvSizes) before anything is allocated, and each tap visits only the
// output positions whose window reads a real input pixel, so a huge window
// over a small image costs its real products, not its padding. Sums are in
// float64, rounded once.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("Conv2DBackpropFilter", buildConvGrad(gradConvFilter))
	Register("DepthwiseConv2dNativeBackpropInput", buildConvGrad(gradDWInput))
	Register("DepthwiseConv2dNativeBackpropFilter", buildConvGrad(gradDWFilter))
	for _, op := range []string{"Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"} {
		promote(op, "T", nil, halfDTypes...)
	}
}

const (
	gradConvFilter = iota
	gradDWInput
	gradDWFilter
)

type convGradOp struct {
	n     *Node
	kind  int
	attrs convAttrs
	size  []int // the constant sizes input, or nil
}

// sizesInput is the index of the sizes input: input_sizes is first,
// filter_sizes second.
func (o *convGradOp) sizesInput() int {
	if o.kind == gradDWInput {
		return 0
	}
	return 1
}

func buildConvGrad(kind int) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if len(consts) != 3 {
			return nil, n.Errorf("%d inputs, want 3", len(consts))
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
		attrs, err := parseConvAttrs(n)
		if err != nil {
			return nil, err
		}
		if kind != gradConvFilter {
			if attrs.sh != attrs.sw {
				return nil, n.Errorf("strides %v: only equal row and column strides are supported", n.Ints("strides"))
			}
			if attrs.dh != 1 || attrs.dw != 1 {
				return nil, fmt.Errorf("node %q (%s): %w: dilations %v (the depthwise gradients take none)", n.Name, n.Op, classify.ErrUnsupportedOp, n.Ints("dilations"))
			}
		}
		o := &convGradOp{n: n, kind: kind, attrs: attrs}
		if s := consts[o.sizesInput()]; s != nil {
			if o.size, err = deconvSizes(s); err != nil {
				return nil, n.Errorf("%s: %v", o.sizesName(), err)
			}
		}
		return o, nil
	}
}

func (o *convGradOp) sizesName() string {
	if o.kind == gradDWInput {
		return "input_sizes"
	}
	return "filter_sizes"
}

// OutputInfo implements Shaper: the shape the sizes input names.
func (o *convGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := classify.Invalid
	for i, t := range in {
		if i != o.sizesInput() && t.DType != classify.Invalid {
			dt = t.DType
		}
	}
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.n.Errorf("unsupported dtype %v (float32, float64)", dt)
	}
	for i, t := range in {
		if i != o.sizesInput() && t.Shape != nil && len(t.Shape) != 4 {
			return nil, o.n.Errorf("input %d has shape %v, want rank 4", i, t.Shape)
		}
	}
	if o.size == nil {
		return []classify.TensorInfo{{DType: dt, Shape: arrUnknown(4)}}, nil
	}
	return []classify.TensorInfo{{DType: dt, Shape: classify.Shape(o.size).Clone()}}, nil
}

// check4D validates a float input of rank 4 of dtype dt.
func (o *convGradOp) check4D(t *classify.Tensor, what string, dt classify.DType) error {
	if t == nil || t.DType != dt || len(t.Shape) != 4 {
		var s classify.Shape
		var d classify.DType
		if t != nil {
			s, d = t.Shape, t.DType
		}
		return o.n.InputErrorf("%s is %v %v, want %v rank 4", what, d, s, dt)
	}
	if t.Len() != t.Shape.NumElements() {
		return o.n.InputErrorf("%s has %d elements for shape %v", what, t.Len(), t.Shape)
	}
	return nil
}

// Run implements Op.
func (o *convGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	size := o.size
	if size == nil {
		var err error
		if size, err = deconvSizes(in[o.sizesInput()]); err != nil {
			return nil, n.InputErrorf("%s: %v", o.sizesName(), err)
		}
	}
	dy := in[2]
	dt := dy.DType
	if dt != classify.Float32 && dt != classify.Float64 {
		return nil, n.InputErrorf("out_backprop is %v, want float32 or float64", dt)
	}
	if err := o.check4D(dy, "out_backprop", dt); err != nil {
		return nil, err
	}
	// xs is the forward input's shape, fs the filter's; data the one given.
	var xs, fs classify.Shape
	var data *classify.Tensor
	if o.kind == gradDWInput {
		data = in[1]
		if err := o.check4D(data, "filter", dt); err != nil {
			return nil, err
		}
		xs, fs = classify.Shape(size), data.Shape
	} else {
		data = in[0]
		if err := o.check4D(data, "input", dt); err != nil {
			return nil, err
		}
		xs, fs = data.Shape, classify.Shape(size)
	}
	kh, kw, ic, mult := fs[0], fs[1], fs[2], fs[3]
	if kh < 1 || kw < 1 {
		return nil, n.InputErrorf("filter %v has an empty window", fs)
	}
	if xs[3] != ic {
		return nil, n.InputErrorf("input %v and filter %v must have the same in_depth", xs, fs)
	}
	oc := mult
	if o.kind != gradConvFilter {
		oc = ic * mult
	}
	g := o.attrs.geom(xs, kh, kw)
	ds := dy.Shape
	if ds[0] != g.n || ds[1] != g.oh || ds[2] != g.ow || ds[3] != oc {
		return nil, n.InputErrorf("out_backprop %v, want [%d %d %d %d] for input %v and filter %v", ds, g.n, g.oh, g.ow, oc, xs, fs)
	}
	out := ctx.Output(0, dt, size...)
	switch dt {
	case classify.Float32:
		convGradRun(ctx, o.kind, out.Float32s(), data.Float32s(), dy.Float32s(), &g, mult)
	case classify.Float64:
		convGradRun(ctx, o.kind, out.Data.([]float64), data.Data.([]float64), dy.Data.([]float64), &g, mult)
	}
	return []*classify.Tensor{out}, nil
}

// gradCost is the product of per-item cost factors for ewParallel, capped
// at 2^30 so that it cannot overflow whatever the window sizes.
func gradCost(f ...int) int {
	c := 1
	for _, v := range f {
		if v = max(v, 1); c > (1<<30)/v {
			return 1 << 30
		}
		c *= v
	}
	return c
}

// tapRange is the range [lo, hi) of output positions o < outN whose input
// position o*stride + off lies in [0, inN).
func tapRange(inN, outN, stride, off int) (lo, hi int) {
	ceil := func(a int) int {
		if a >= 0 {
			return (a + stride - 1) / stride
		}
		return -((-a) / stride)
	}
	lo, hi = max(ceil(-off), 0), min(ceil(inN-off), outN)
	return lo, max(hi, lo)
}

func convGradRun[T float32 | float64](ctx *Ctx, kind int, dst, data, dy []T, g *geom, mult int) {
	if len(dst) == 0 {
		return
	}
	switch kind {
	case gradConvFilter:
		convFilterGrad(ctx, dst, data, dy, g, mult, false)
	case gradDWFilter:
		convFilterGrad(ctx, dst, data, dy, g, mult, true)
	case gradDWInput:
		dwInputGrad(ctx, dst, data, dy, g, mult)
	}
}

// convFilterGrad computes the filter gradient one tap (ky, kx) at a time;
// taps split across goroutines, each writing its own slice of dst. For a
// depthwise filter input channel c meets only outputs c*mult+q.
func convFilterGrad[T float32 | float64](ctx *Ctx, dst, x, dy []T, g *geom, mult int, depthwise bool) {
	ic := g.c
	oc, per := mult, ic*mult
	if depthwise {
		oc = ic * mult
	}
	taps := g.kh * g.kw
	ewParallel(ctx, taps, gradCost(len(dy), ic), func(lo, hi int) {
		acc := make([]float64, per)
		for tap := lo; tap < hi; tap++ {
			ky, kx := tap/g.kw, tap%g.kw
			clear(acc)
			oy0, oy1 := tapRange(g.h, g.oh, g.sh, ky*g.dh-g.pt)
			ox0, ox1 := tapRange(g.w, g.ow, g.sw, kx*g.dw-g.pl)
			for b := 0; b < g.n; b++ {
				for oy := oy0; oy < oy1; oy++ {
					iy := oy*g.sh - g.pt + ky*g.dh
					for ox := ox0; ox < ox1; ox++ {
						ix := ox*g.sw - g.pl + kx*g.dw
						xv := x[((b*g.h+iy)*g.w+ix)*ic:][:ic]
						dv := dy[((b*g.oh+oy)*g.ow+ox)*oc:][:oc]
						if depthwise {
							for c, a := range xv {
								av := float64(a)
								row, d := acc[c*mult:][:mult], dv[c*mult:][:mult]
								for q := range row {
									row[q] += av * float64(d[q])
								}
							}
							continue
						}
						for c, a := range xv {
							av := float64(a)
							row := acc[c*oc:][:oc]
							for q, d := range dv {
								row[q] += av * float64(d)
							}
						}
					}
				}
			}
			out := dst[tap*per:][:per]
			for i, v := range acc {
				out[i] = T(v)
			}
		}
	})
}

// dwInputGrad computes the depthwise input gradient one row of dx at a
// time: each out_backprop pixel whose window covers the row sends
// Σ_q w[ky,kx,c,q]·dy[...,c*mult+q] to the pixels its taps read.
func dwInputGrad[T float32 | float64](ctx *Ctx, dx, w, dy []T, g *geom, mult int) {
	c := g.c
	oc := c * mult
	ewParallel(ctx, g.n*g.h, gradCost(g.ow, g.kw, oc, max(g.kh/g.sh, 1)), func(lo, hi int) {
		acc := make([]float64, g.w*c)
		for r := lo; r < hi; r++ {
			b, y := r/g.h, r%g.h
			clear(acc)
			for ky := 0; ky < g.kh; ky++ {
				t := y + g.pt - ky*g.dh
				if t < 0 || t%g.sh != 0 || t/g.sh >= g.oh {
					continue
				}
				oy := t / g.sh
				for ox := 0; ox < g.ow; ox++ {
					dv := dy[((b*g.oh+oy)*g.ow+ox)*oc:][:oc]
					kx0, kx1 := tapRange(g.w, g.kw, g.dw, ox*g.sw-g.pl)
					for kx := kx0; kx < kx1; kx++ {
						ix := ox*g.sw - g.pl + kx*g.dw
						wv := w[(ky*g.kw+kx)*oc:][:oc]
						a := acc[ix*c:][:c]
						for ch := range a {
							s := 0.0
							for q := ch * mult; q < (ch+1)*mult; q++ {
								s += float64(wv[q]) * float64(dv[q])
							}
							a[ch] += s
						}
					}
				}
			}
			out := dx[r*g.w*c:][:g.w*c]
			for i, v := range acc {
				out[i] = T(v)
			}
		}
	})
}
