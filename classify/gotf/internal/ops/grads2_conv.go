package ops

// Gradients of Conv3D's filter and of Dilation2D, after TensorFlow's CPU
// kernels (conv_grad_ops_3d.cc, dilation_ops.cc):
//
//   - Conv3DBackpropFilterV2(input, filter_sizes, out_backprop) and
//     Conv3DBackpropFilter(input, filter, out_backprop) (the older op takes
//     the filter itself and only reads its shape): NDHWC,
//     dW[kd,kh,kw,ci,co] = Σ x[b, od*sd-pd+kd*dd, oh*sh-ph+kh*dh, ow*sw-pw+kw*dw, ci] · dy[b,od,oh,ow,co]
//     with Conv3D's strides, dilations and SAME/VALID padding. Taps split
//     across goroutines, each summing in float64 over only the output
//     positions whose window reads a real voxel.
//   - Dilation2DBackpropInput(input, filter, out_backprop) and
//     Dilation2DBackpropFilter: each output's gradient goes to the input
//     pixel and filter tap of its maximum input+filter (the first one
//     strictly greater in row-major order, as TensorFlow; a window with no
//     real pixel sends it to its clamped first pixel and to tap (0, 0), as
//     TensorFlow's initial indices do).
//
// filter_sizes is client-controlled: it is validated and bounded before
// anything is allocated, and out_backprop must have the forward output's
// shape, so the work is that of the forward convolution.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("Conv3DBackpropFilterV2", buildConv3DFilterGrad(true))
	Register("Conv3DBackpropFilter", buildConv3DFilterGrad(false))
	Register("Dilation2DBackpropInput", buildDilationGrad(false))
	Register("Dilation2DBackpropFilter", buildDilationGrad(true))
	for _, op := range []string{"Conv3DBackpropFilterV2", "Conv3DBackpropFilter", "Dilation2DBackpropInput", "Dilation2DBackpropFilter"} {
		promote(op, "T", nil, halfDTypes...)
	}
}

type conv3dFilterGradOp struct {
	n    *Node
	v2   bool
	fwd  conv3dOp
	size []int // constant filter_sizes, or nil
}

func buildConv3DFilterGrad(v2 bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if n.NumInputs != 3 || len(consts) != 3 {
			return nil, n.Errorf("needs 3 inputs (input, filter_sizes or filter, out_backprop), has %d", n.NumInputs)
		}
		if f := n.String("data_format", "NDHWC"); f != "NDHWC" {
			return nil, n.Errorf("data_format %q not supported (NDHWC)", f)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
		o := &conv3dFilterGradOp{n: n, v2: v2, fwd: conv3dOp{n: n, dil: [3]int{1, 1, 1}, padding: n.String("padding", "")}}
		s := n.Ints("strides")
		if len(s) != 5 || s[0] != 1 || s[4] != 1 {
			return nil, n.Errorf("strides %v: want [1, d, h, w, 1]", s)
		}
		for i := range 3 {
			if s[i+1] < 1 || s[i+1] > 1<<20 {
				return nil, n.Errorf("strides %v must be in [1, 2^20]", s)
			}
			o.fwd.stride[i] = int(s[i+1])
		}
		if d := n.Ints("dilations"); d != nil {
			if len(d) != 5 || d[0] != 1 || d[4] != 1 {
				return nil, n.Errorf("dilations %v: want [1, d, h, w, 1]", d)
			}
			for i := range 3 {
				if d[i+1] < 1 || d[i+1] > 1<<20 {
					return nil, n.Errorf("dilations %v must be in [1, 2^20]", d)
				}
				o.fwd.dil[i] = int(d[i+1])
			}
		}
		if o.fwd.padding != "SAME" && o.fwd.padding != "VALID" {
			return nil, n.Errorf("padding %q: want SAME or VALID", o.fwd.padding)
		}
		if v2 && consts[1] != nil {
			size, err := conv3dFilterSizes(consts[1])
			if err != nil {
				return nil, n.Errorf("filter_sizes: %v", err)
			}
			o.size = size
		}
		return o, nil
	}
}

// conv3dFilterSizes reads filter_sizes: 5 non-negative sizes within the
// engine's element limit.
func conv3dFilterSizes(t *classify.Tensor) ([]int, error) {
	if len(t.Shape) != 1 || t.Shape[0] != 5 {
		return nil, fmt.Errorf("want a vector of 5 sizes, got shape %v", t.Shape)
	}
	s, err := arrInts(t)
	if err != nil {
		return nil, err
	}
	return s, arrCheckDims(s)
}

// OutputInfo implements Shaper.
func (o *conv3dFilterGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = in[2].DType
	}
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.n.Errorf("unsupported dtype %v (float32, float64)", dt)
	}
	for _, i := range []int{0, 2} {
		if s := in[i].Shape; s != nil && len(s) != 5 {
			return nil, o.n.Errorf("input %d has shape %v, want rank 5", i, s)
		}
	}
	switch {
	case o.size != nil:
		return []classify.TensorInfo{{DType: dt, Shape: classify.Shape(o.size).Clone()}}, nil
	case !o.v2 && in[1].Shape != nil:
		return []classify.TensorInfo{{DType: dt, Shape: in[1].Shape.Clone()}}, nil
	}
	return []classify.TensorInfo{{DType: dt, Shape: arrUnknown(5)}}, nil
}

// FLOPs implements Flopper: a multiply-add per out_backprop voxel, tap and
// filter element of a tap.
func (o *conv3dFilterGradOp) FLOPs(in []classify.Shape) int64 {
	if len(in) < 3 || len(in[0]) != 5 || len(in[2]) != 5 || !arrKnown(in[0]) || !arrKnown(in[2]) {
		return 0
	}
	fs := o.size
	if fs == nil && !o.v2 && len(in[1]) == 5 && arrKnown(in[1]) {
		fs = in[1]
	}
	if fs == nil {
		return 0
	}
	return 2 * int64(arrProd(in[2][:4])) * int64(arrProd(fs))
}

// Run implements Op.
func (o *conv3dFilterGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	fs := o.size
	if fs == nil {
		if o.v2 {
			var err error
			if fs, err = conv3dFilterSizes(in[1]); err != nil {
				return nil, n.InputErrorf("filter_sizes: %v", err)
			}
		} else {
			if len(in[1].Shape) != 5 {
				return nil, n.InputErrorf("filter shape %v, want rank 5", in[1].Shape)
			}
			fs = in[1].Shape
		}
	}
	x, dy := in[0], in[2]
	dt := x.DType
	if dt != classify.Float32 && dt != classify.Float64 || dy.DType != dt || len(x.Shape) != 5 || len(dy.Shape) != 5 ||
		x.Len() != x.Shape.NumElements() || dy.Len() != dy.Shape.NumElements() {
		return nil, n.InputErrorf("input %v %v and out_backprop %v %v must be 5-D float32 or float64 of one dtype", x.DType, x.Shape, dy.DType, dy.Shape)
	}
	cin, cout := fs[3], fs[4]
	if x.Shape[4] != cin {
		return nil, n.InputErrorf("input %v and filter sizes %v disagree on input channels", x.Shape, fs)
	}
	var g c3fGeom
	want := classify.Shape{x.Shape[0], 0, 0, 0, cout}
	for i := range 3 {
		g.k[i], g.vol[i] = fs[i], x.Shape[i+1]
		if g.k[i] < 1 {
			return nil, n.InputErrorf("filter sizes %v have an empty window", fs)
		}
		g.out[i], g.pad[i] = o.fwd.geometry(g.vol[i], g.k[i], o.fwd.stride[i], o.fwd.dil[i])
		want[i+1] = g.out[i]
	}
	if !dy.Shape.Equal(want) {
		return nil, n.InputErrorf("out_backprop %v, want %v for input %v and filter sizes %v", dy.Shape, want, x.Shape, fs)
	}
	g.nb, g.cin, g.cout, g.s, g.d = x.Shape[0], cin, cout, o.fwd.stride, o.fwd.dil
	out := ctx.Output(0, dt, fs...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	switch dt {
	case classify.Float32:
		conv3dFilterGradRun(ctx, &g, out.Float32s(), x.Float32s(), dy.Float32s())
	case classify.Float64:
		conv3dFilterGradRun(ctx, &g, out.Data.([]float64), x.Data.([]float64), dy.Data.([]float64))
	}
	return []*classify.Tensor{out}, nil
}

type c3fGeom struct {
	nb, cin, cout       int
	k, vol, out, pad, s [3]int
	d                   [3]int
}

func conv3dFilterGradRun[T float32 | float64](ctx *Ctx, g *c3fGeom, dst, x, dy []T) {
	taps := g.k[0] * g.k[1] * g.k[2]
	per := g.cin * g.cout
	ewParallel(ctx, taps, gradCost(len(dy), g.cin), func(lo, hi int) {
		acc := make([]float64, per)
		for tap := lo; tap < hi; tap++ {
			kd, kh, kw := tap/(g.k[1]*g.k[2]), tap/g.k[2]%g.k[1], tap%g.k[2]
			clear(acc)
			var r0, r1 [3]int
			for i, k := range [3]int{kd, kh, kw} {
				r0[i], r1[i] = tapRange(g.vol[i], g.out[i], g.s[i], k*g.d[i]-g.pad[i])
			}
			for b := 0; b < g.nb; b++ {
				for od := r0[0]; od < r1[0]; od++ {
					id := od*g.s[0] - g.pad[0] + kd*g.d[0]
					for oh := r0[1]; oh < r1[1]; oh++ {
						ih := oh*g.s[1] - g.pad[1] + kh*g.d[1]
						for ow := r0[2]; ow < r1[2]; ow++ {
							iw := ow*g.s[2] - g.pad[2] + kw*g.d[2]
							xv := x[(((b*g.vol[0]+id)*g.vol[1]+ih)*g.vol[2]+iw)*g.cin:][:g.cin]
							dv := dy[(((b*g.out[0]+od)*g.out[1]+oh)*g.out[2]+ow)*g.cout:][:g.cout]
							for ci, a := range xv {
								av := float64(a)
								row := acc[ci*g.cout:][:g.cout]
								for co, v := range dv {
									row[co] += av * float64(v)
								}
							}
						}
					}
				}
			}
			o := dst[tap*per:][:per]
			for i, v := range acc {
				o[i] = T(v)
			}
		}
	})
}

// ---- Dilation2D gradients ----

type dilationGradOp struct {
	fwd    *dilation2DOp
	filter bool // Dilation2DBackpropFilter
}

func buildDilationGrad(filter bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 3 {
			return nil, n.Errorf("needs 3 inputs (input, filter, out_backprop), has %d", n.NumInputs)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
		// The forward op's attributes, parsed by its own builder.
		fn := *n
		fn.NumInputs = 2
		f, err := buildDilation2D(&fn, nil)
		if err != nil {
			return nil, err
		}
		return &dilationGradOp{fwd: f.(*dilation2DOp), filter: filter}, nil
	}
}

// OutputInfo implements Shaper: the input's or the filter's shape.
func (o *dilationGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[0].DType
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.fwd.n.Errorf("unsupported dtype %v (float32, float64)", dt)
	}
	if in[0].Shape != nil && in[1].Shape != nil {
		if _, _, _, err := o.fwd.plan(in[0].Shape, in[1].Shape); err != nil {
			return nil, o.fwd.n.Errorf("%v", err)
		}
	}
	t := in[0]
	if o.filter {
		t = in[1]
	}
	return []classify.TensorInfo{{DType: dt, Shape: t.Shape.Clone()}}, nil
}

// Run implements Op.
func (o *dilationGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.fwd.n
	x, f, dy := in[0], in[1], in[2]
	dt := x.DType
	if dt != classify.Float32 && dt != classify.Float64 || f.DType != dt || dy.DType != dt {
		return nil, n.InputErrorf("input %v, filter %v and out_backprop %v: want one of float32, float64", dt, f.DType, dy.DType)
	}
	for _, t := range in {
		if t.Len() != t.Shape.NumElements() {
			return nil, n.InputErrorf("%d elements for shape %v", t.Len(), t.Shape)
		}
	}
	shape, top, left, err := o.fwd.plan(x.Shape, f.Shape)
	if err == nil {
		err = arrCheckDims(shape)
	}
	if err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	if !dy.Shape.Equal(classify.Shape(shape)) {
		return nil, n.InputErrorf("out_backprop %v, want the forward output shape %v", dy.Shape, shape)
	}
	os := x.Shape
	if o.filter {
		os = f.Shape
	}
	out := ctx.Output(0, dt, os...)
	g := dilGeom{x: x.Shape, f: f.Shape, out: shape, top: top, left: left, s: o.fwd.s, r: o.fwd.r}
	switch dt {
	case classify.Float32:
		dilGradRun(ctx, &g, o.filter, out.Float32s(), x.Float32s(), f.Float32s(), dy.Float32s(), -math.MaxFloat32)
	case classify.Float64:
		dilGradRun(ctx, &g, o.filter, out.Data.([]float64), x.Data.([]float64), f.Data.([]float64), dy.Data.([]float64), -math.MaxFloat64)
	}
	return []*classify.Tensor{out}, nil
}

// dilGradRun finds every output's maximum in parallel (its input pixel
// or filter tap, as a flat index of dst), then adds the gradients in
// order.
func dilGradRun[T float32 | float64](ctx *Ctx, g *dilGeom, filter bool, dst, src, filt, dy []T, lowest T) {
	clear(dst)
	if len(dy) == 0 || len(dst) == 0 {
		return
	}
	H, W, C := g.x[1], g.x[2], g.x[3]
	fh, fw := g.f[0], g.f[1]
	oh, ow := g.out[1], g.out[2]
	at := make([]int, len(dy))
	ewParallel(ctx, g.out[0]*oh, gradCost(ow, C, fh, fw), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/oh, r%oh
			hb := oy*g.s[0] - g.top
			for ox := 0; ox < ow; ox++ {
				wb := ox*g.s[1] - g.left
				for c := range C {
					cur := lowest
					hm, wm := min(max(hb, 0), H-1), min(max(wb, 0), W-1)
					im, jm := 0, 0
					for i := 0; i < fh; i++ {
						h := hb + i*g.r[0]
						if h < 0 || h >= H {
							continue
						}
						for j := 0; j < fw; j++ {
							w := wb + j*g.r[1]
							if w < 0 || w >= W {
								continue
							}
							if v := src[((b*H+h)*W+w)*C+c] + filt[(i*fw+j)*C+c]; v > cur {
								cur, hm, wm, im, jm = v, h, w, i, j
							}
						}
					}
					k := (r*ow+ox)*C + c
					if filter {
						at[k] = (im*fw+jm)*C + c
					} else {
						at[k] = ((b*H+hm)*W+wm)*C + c
					}
				}
			}
		}
	})
	for k, v := range dy {
		dst[at[k]] += v
	}
}
