package ops

// Conv3DBackpropInputV2 and Conv3DBackpropInput, the transposed 3-D
// convolution of volumetric decoders: the gradient of Conv3D (NDHWC, filter
// [kd, kh, kw, in_channels, out_channels]) with respect to its input. Each
// input voxel gathers, over the taps that reach it from a whole output
// voxel of the forward convolution, out_backprop's channels times the
// filter's transposed cin x cout block, so depth planes split across
// goroutines without write conflicts. V2 takes the input's shape as a
// tensor (input_sizes), the older op the input itself, whose values it
// ignores. With data_format NCDHW, input_sizes, out_backprop and the result
// are channels-first and strides and dilations are in NCDHW order: Run
// moves out_backprop's channels last, computes in NDHWC and moves the
// result's channels back (the loader's layout pass only converts ops whose
// data is input 0).

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

type conv3dBackprop struct {
	n    *Node
	v2   bool
	fwd  conv3dOp // strides, dilations and padding of the forward Conv3D
	size []int    // constant input_sizes, or nil
	// ncdhw: data_format NCDHW (size is then in that order too).
	ncdhw bool
}

func buildConv3DBackprop(v2 bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if n.NumInputs != 3 {
			return nil, n.Errorf("needs 3 inputs (input_sizes or input, filter, out_backprop), has %d", n.NumInputs)
		}
		// sp is the first spatial dimension of the data format, ch its
		// channel dimension.
		sp, ch := 1, 4
		switch f := n.String("data_format", "NDHWC"); f {
		case "NDHWC":
		case "NCDHW":
			sp, ch = 2, 1
		default:
			return nil, n.Errorf("data_format %q not supported (NDHWC, NCDHW)", f)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 {
			return nil, n.Errorf("T %v not supported (float32 only)", dt)
		}
		o := &conv3dBackprop{n: n, v2: v2, fwd: conv3dOp{n: n, dil: [3]int{1, 1, 1}, padding: n.String("padding", "")}, ncdhw: sp == 2}
		s := n.Ints("strides")
		if len(s) != 5 || s[0] != 1 || s[ch] != 1 {
			return nil, n.Errorf("strides %v: want 1 for batch and channels", s)
		}
		for i := range 3 {
			if s[sp+i] < 1 || s[sp+i] > 1<<20 {
				return nil, n.Errorf("strides %v must be in [1, 2^20]", s)
			}
			o.fwd.stride[i] = int(s[sp+i])
		}
		if d := n.Ints("dilations"); d != nil {
			if len(d) != 5 || d[0] != 1 || d[ch] != 1 {
				return nil, n.Errorf("dilations %v: want 1 for batch and channels", d)
			}
			for i := range 3 {
				if d[sp+i] < 1 || d[sp+i] > 1<<20 {
					return nil, n.Errorf("dilations %v must be in [1, 2^20]", d)
				}
				o.fwd.dil[i] = int(d[sp+i])
			}
		}
		if o.fwd.padding != "SAME" && o.fwd.padding != "VALID" {
			return nil, n.Errorf("padding %q: want SAME or VALID", o.fwd.padding)
		}
		if v2 && consts[0] != nil {
			size, err := o.sizes(consts[0])
			if err != nil {
				return nil, n.Errorf("input_sizes: %v", err)
			}
			o.size = size
		}
		return o, nil
	}
}

// sizes reads input_sizes: 5 non-negative dimensions within the engine's
// element limit.
func (o *conv3dBackprop) sizes(t *classify.Tensor) ([]int, error) {
	s, err := arrInts(t)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) != 1 || len(s) != 5 {
		return nil, fmt.Errorf("want a vector of 5 sizes, got shape %v", t.Shape)
	}
	return s, arrCheckDims(s)
}

// OutputInfo implements Shaper.
func (o *conv3dBackprop) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	for i, what := range []string{"filter", "out_backprop"} {
		if s := in[i+1].Shape; s != nil && len(s) != 5 {
			return nil, o.n.Errorf("%s shape %v, want rank 5", what, s)
		}
	}
	switch {
	case o.size != nil:
		return []classify.TensorInfo{{DType: classify.Float32, Shape: classify.Shape(o.size).Clone()}}, nil
	case !o.v2 && in[0].Shape != nil:
		return []classify.TensorInfo{{DType: classify.Float32, Shape: in[0].Shape.Clone()}}, nil
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: arrUnknown(5)}}, nil
}

// FLOPs implements Flopper: a multiply-add per out_backprop voxel, tap
// and filter element of a tap.
func (o *conv3dBackprop) FLOPs(in []classify.Shape) int64 {
	if len(in) < 3 || len(in[1]) != 5 || len(in[2]) != 5 || !arrKnown(in[1]) || !arrKnown(in[2]) {
		return 0
	}
	return 2 * int64(arrProd(in[2][:4])) * int64(arrProd(in[1]))
}

// Run implements Op.
func (o *conv3dBackprop) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	size := o.size
	if size == nil {
		if o.v2 {
			var err error
			if size, err = o.sizes(in[0]); err != nil {
				return nil, n.InputErrorf("input_sizes: %v", err)
			}
		} else {
			if len(in[0].Shape) != 5 {
				return nil, n.InputErrorf("input shape %v, want rank 5", in[0].Shape)
			}
			size = in[0].Shape
		}
	}
	f, dy := in[1], in[2]
	if f.DType != classify.Float32 || len(f.Shape) != 5 || dy.DType != classify.Float32 || len(dy.Shape) != 5 {
		return nil, n.InputErrorf("filter %v %v and out_backprop %v %v must be 5-D float32", f.DType, f.Shape, dy.DType, dy.Shape)
	}
	if len(f.Float32s()) != f.Shape.NumElements() || len(dy.Float32s()) != dy.Shape.NumElements() {
		return nil, n.InputErrorf("filter %v or out_backprop %v has the wrong number of elements", f.Shape, dy.Shape)
	}
	if !o.ncdhw {
		return o.backprop(ctx, size, f, dy, func(s []int) *classify.Tensor { return ctx.Output(0, classify.Float32, s...) })
	}
	if len(size) != 5 {
		return nil, n.InputErrorf("input shape %v, want rank 5", size)
	}
	ys := dy.Shape
	last := classify.NewTensor(classify.Float32, ys[0], ys[2], ys[3], ys[4], ys[1])
	channelsLast(last.Float32s(), dy.Float32s(), ys[0], ys[1], ys[2]*ys[3]*ys[4], true)
	var res *classify.Tensor
	out, err := o.backprop(ctx, []int{size[0], size[2], size[3], size[4], size[1]}, f, last, func(s []int) *classify.Tensor {
		res = ctx.Output(0, classify.Float32, size...)
		return classify.NewTensor(classify.Float32, s...)
	})
	if err != nil {
		return nil, err
	}
	channelsLast(res.Float32s(), out[0].Float32s(), size[0], size[1], size[2]*size[3]*size[4], false)
	return []*classify.Tensor{res}, nil
}

// channelsLast copies src [n, c, s] to dst [n, s, c] (toLast), or back.
func channelsLast(dst, src []float32, n, c, s int, toLast bool) {
	for b := range n {
		for k := range c {
			for i := range s {
				if toLast {
					dst[(b*s+i)*c+k] = src[(b*c+k)*s+i]
				} else {
					dst[(b*c+k)*s+i] = src[(b*s+i)*c+k]
				}
			}
		}
	}
}

// backprop is Run in NDHWC: size is the input's NDHWC shape, and alloc
// returns the result's buffer once the shapes are checked.
func (o *conv3dBackprop) backprop(ctx *Ctx, size []int, f, dy *classify.Tensor, alloc func([]int) *classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	cin, cout := f.Shape[3], f.Shape[4]
	if size[4] != cin {
		return nil, n.InputErrorf("input sizes %v and filter %v disagree on input channels", size, f.Shape)
	}
	var k, vol, out, pad [3]int
	want := classify.Shape{size[0], 0, 0, 0, cout}
	for i := range 3 {
		k[i], vol[i] = f.Shape[i], size[i+1]
		if k[i] < 1 {
			return nil, n.InputErrorf("filter %v has an empty window", f.Shape)
		}
		out[i], pad[i] = o.fwd.geometry(vol[i], k[i], o.fwd.stride[i], o.fwd.dil[i])
		want[i+1] = out[i]
	}
	if !dy.Shape.Equal(want) {
		return nil, n.InputErrorf("out_backprop %v, want %v for input sizes %v and filter %v", dy.Shape, want, size, f.Shape)
	}
	nb := size[0]
	dx := alloc(size)
	xd, fd, yd := dx.Float32s(), f.Float32s(), dy.Float32s()
	clear(xd)
	if len(xd) == 0 || len(yd) == 0 {
		return []*classify.Tensor{dx}, nil
	}
	// src returns the output position a tap reads for input position p in
	// dimension i, or -1 when no whole output voxel reaches it.
	src := func(i, p, tap int) int {
		t := p + pad[i] - tap*o.fwd.dil[i]
		if t < 0 || t%o.fwd.stride[i] != 0 || t/o.fwd.stride[i] >= out[i] {
			return -1
		}
		return t / o.fwd.stride[i]
	}
	plane := func(p int) {
		b, id := p/vol[0], p%vol[0]
		for kd := range k[0] {
			od := src(0, id, kd)
			if od < 0 {
				continue
			}
			for ih := range vol[1] {
				for kh := range k[1] {
					oh := src(1, ih, kh)
					if oh < 0 {
						continue
					}
					for iw := range vol[2] {
						acc := xd[(((b*vol[0]+id)*vol[1]+ih)*vol[2]+iw)*cin:][:cin]
						for kw := range k[2] {
							ow := src(2, iw, kw)
							if ow < 0 {
								continue
							}
							g := yd[(((b*out[0]+od)*out[1]+oh)*out[2]+ow)*cout:][:cout]
							taps := fd[((kd*k[1]+kh)*k[2]+kw)*cin*cout:][:cin*cout]
							for ci := range acc {
								row := taps[ci*cout:][:cout]
								var s float32
								for co, w := range row {
									s += w * g[co]
								}
								acc[ci] += s
							}
						}
					}
				}
			}
		}
	}
	planes := nb * vol[0]
	cost := vol[1] * vol[2] * k[0] * k[1] * k[2] * cin * cout / max(o.fwd.stride[0]*o.fwd.stride[1]*o.fwd.stride[2], 1)
	ewParallel(ctx, planes, max(cost, 1), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			plane(p)
		}
	})
	return []*classify.Tensor{dx}, nil
}

func init() {
	Register("Conv3DBackpropInputV2", buildConv3DBackprop(true))
	Register("Conv3DBackpropInput", buildConv3DBackprop(false))
}
