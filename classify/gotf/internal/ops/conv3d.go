package ops

// Conv3D on NDHWC float32 volumes with a [kd, kh, kw, cin, cout] filter,
// strides and dilations, SAME or VALID padding: a direct loop nest that, for
// each output voxel, accumulates every in-range tap's cin x cout block into
// the output channels (float32 sums, the filter row contiguous in cout).
// Output depth planes are split across ctx.Workers goroutines.

import (
	"github.com/classifyd/classifyd/classify"
)

type conv3dOp struct {
	n       *Node
	stride  [3]int
	dil     [3]int
	padding string
}

func buildConv3D(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (input, filter), has %d", n.NumInputs)
	}
	if f := n.String("data_format", "NDHWC"); f != "NDHWC" {
		return nil, n.Errorf("data_format %q not supported (NDHWC; NCDHW is converted at load)", f)
	}
	dt := n.Type("T")
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, n.Errorf("T %v not supported (float32, float64)", dt)
	}
	o := &conv3dOp{n: n, dil: [3]int{1, 1, 1}, padding: n.String("padding", "")}
	s := n.Ints("strides")
	if len(s) != 5 || s[0] != 1 || s[4] != 1 {
		return nil, n.Errorf("strides %v: want [1, d, h, w, 1]", s)
	}
	for i := range 3 {
		if s[i+1] < 1 {
			return nil, n.Errorf("strides %v must be positive", s)
		}
		o.stride[i] = int(s[i+1])
	}
	if d := n.Ints("dilations"); d != nil {
		if len(d) != 5 || d[0] != 1 || d[4] != 1 {
			return nil, n.Errorf("dilations %v: want [1, d, h, w, 1]", d)
		}
		for i := range 3 {
			if d[i+1] < 1 {
				return nil, n.Errorf("dilations %v must be positive", d)
			}
			o.dil[i] = int(d[i+1])
		}
	}
	if o.padding != "SAME" && o.padding != "VALID" {
		return nil, n.Errorf("padding %q: want SAME or VALID", o.padding)
	}
	if dt == classify.Float64 {
		return newConv3DF64(o) // conv_f64.go
	}
	return o, nil
}

// geometry returns the output size and padding before of one dimension.
func (o *conv3dOp) geometry(in, k, stride, dil int) (out, before int) {
	ek := (k-1)*dil + 1
	if o.padding == "VALID" {
		if in < ek {
			return 0, 0
		}
		return (in-ek)/stride + 1, 0
	}
	out = (in + stride - 1) / stride
	return out, max((out-1)*stride+ek-in, 0) / 2
}

func (o *conv3dOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s := classify.Shape{-1, -1, -1, -1, -1}
	x, f := in[0].Shape, in[1].Shape
	if x != nil && len(x) != 5 || f != nil && len(f) != 5 {
		return nil, o.n.Errorf("input %v and filter %v must be 5-D", x, f)
	}
	if x != nil {
		s[0] = x[0]
	}
	if f != nil {
		s[4] = f[4]
	}
	if x != nil && f != nil {
		for i := range 3 {
			if x[i+1] >= 0 && f[i] >= 0 {
				s[i+1], _ = o.geometry(x[i+1], f[i], o.stride[i], o.dil[i])
			}
		}
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: s}}, nil
}

func (o *conv3dOp) FLOPs(in []classify.Shape) int64 {
	x, f := in[0], in[1]
	if len(x) != 5 || len(f) != 5 {
		return 0
	}
	n := int64(2 * x[0] * f[0] * f[1] * f[2] * f[3] * f[4])
	for i := range 3 {
		out, _ := o.geometry(x[i+1], f[i], o.stride[i], o.dil[i])
		n *= int64(out)
	}
	return n
}

func (o *conv3dOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, f := in[0], in[1]
	if x.DType != classify.Float32 || f.DType != classify.Float32 || len(x.Shape) != 5 || len(f.Shape) != 5 {
		return nil, o.n.InputErrorf("input %v %v and filter %v %v must be 5-D float32", x.DType, x.Shape, f.DType, f.Shape)
	}
	return conv3dRun(ctx, o, x, f, x.Float32s(), f.Float32s())
}

// conv3dRun is Conv3D's direct loop, shared by the float32 and float64
// kernels: output rows (batch, depth, height) in parallel, each output
// element summed over (kd, kh, kw, input channel) in that order.
func conv3dRun[T float32 | float64](ctx *Ctx, o *conv3dOp, x, f *classify.Tensor, xd, fd []T) ([]*classify.Tensor, error) {
	cin, cout := x.Shape[4], f.Shape[4]
	if f.Shape[3] != cin {
		return nil, o.n.InputErrorf("filter %v has %d input channels, input %v has %d", f.Shape, f.Shape[3], x.Shape, cin)
	}
	var out, pad, size, k [3]int
	for i := range 3 {
		size[i], k[i] = x.Shape[i+1], f.Shape[i]
		if k[i] < 1 {
			return nil, o.n.InputErrorf("filter %v has an empty window", f.Shape)
		}
		out[i], pad[i] = o.geometry(size[i], k[i], o.stride[i], o.dil[i])
	}
	nb := x.Shape[0]
	if _, ok := boundedElems(nb, out[0], out[1], out[2], cout); !ok {
		return nil, o.n.InputErrorf("output exceeds %d elements", arrMaxElements)
	}
	y := ctx.Output(0, x.DType, nb, out[0], out[1], out[2], cout)
	yd := y.Data.([]T)
	if len(yd) == 0 {
		return []*classify.Tensor{y}, nil
	}
	rows := nb * out[0] * out[1]
	cost := out[2] * cout * k[0] * k[1] * k[2] * max(cin, 1)
	ewParallel(ctx, rows, cost, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			oh := r % out[1]
			od := (r / out[1]) % out[0]
			b := r / (out[1] * out[0])
			for ow := range out[2] {
				acc := yd[(r*out[2]+ow)*cout:][:cout]
				clear(acc)
				for kd := range k[0] {
					id := od*o.stride[0] - pad[0] + kd*o.dil[0]
					if id < 0 || id >= size[0] {
						continue
					}
					for kh := range k[1] {
						ih := oh*o.stride[1] - pad[1] + kh*o.dil[1]
						if ih < 0 || ih >= size[1] {
							continue
						}
						for kw := range k[2] {
							iw := ow*o.stride[2] - pad[2] + kw*o.dil[2]
							if iw < 0 || iw >= size[2] {
								continue
							}
							xs := xd[(((b*size[0]+id)*size[1]+ih)*size[2]+iw)*cin:][:cin]
							fs := fd[((kd*k[1]+kh)*k[2]+kw)*cin*cout:][:cin*cout]
							for ci, v := range xs {
								for co, wv := range fs[ci*cout : (ci+1)*cout] {
									acc[co] += v * wv
								}
							}
						}
					}
				}
			}
		}
	})
	return []*classify.Tensor{y}, nil
}

func init() {
	Register("Conv3D", buildConv3D)
}
