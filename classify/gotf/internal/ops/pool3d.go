package ops

// MaxPool3D and AvgPool3D over NDHWC float32/float64 volumes with SAME or
// VALID padding. As in 2-D pooling, padded positions never take part:
// MaxPool3D ignores them and AvgPool3D divides by the number of real
// elements in each window, as TensorFlow's CPU kernels do. NCDHW graphs are
// rewritten to NDHWC by the loader's layout pass.

import (
	"github.com/classifyd/classifyd/classify"
)

type pool3dOp struct {
	n    *Node
	max  bool
	k, s [3]int
	same bool
}

func buildPool3D(isMax bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("T %v not supported (float32, float64)", dt)
		}
		if f := n.String("data_format", "NDHWC"); f != "NDHWC" {
			return nil, n.Errorf("data_format %q not supported (NDHWC; NCDHW is converted at load)", f)
		}
		k, s := n.Ints("ksize"), n.Ints("strides")
		if len(k) != 5 || len(s) != 5 {
			return nil, n.Errorf("ksize %v and strides %v must have 5 elements", k, s)
		}
		if k[0] != 1 || k[4] != 1 || s[0] != 1 || s[4] != 1 {
			return nil, n.Errorf("pooling over batch or depth not supported (ksize %v, strides %v)", k, s)
		}
		o := &pool3dOp{n: n, max: isMax}
		for i := range 3 {
			if k[i+1] < 1 || s[i+1] < 1 || k[i+1] > 1<<20 || s[i+1] > 1<<20 {
				return nil, n.Errorf("bad ksize %v or strides %v", k, s)
			}
			o.k[i], o.s[i] = int(k[i+1]), int(s[i+1])
		}
		switch p := n.String("padding", ""); p {
		case "SAME":
			o.same = true
		case "VALID":
		default:
			return nil, n.Errorf("padding %q not supported (SAME or VALID)", p)
		}
		return o, nil
	}
}

// outDim is the output size and padding before of one dimension, or -1
// when TensorFlow's GetWindowedOutputSize would compute a negative size.
// VALID is (in - k + s) / s truncated, as there: a window larger than the
// input by less than the stride gives an empty output, not an error.
func (o *pool3dOp) outDim(in, k, s int) (out, pad int) {
	if o.same {
		out = (in + s - 1) / s
		return out, max((out-1)*s+k-in, 0) / 2
	}
	if out = (in - k + s) / s; out < 0 {
		return -1, 0
	}
	return out, 0
}

// OutputInfo implements Shaper.
func (o *pool3dOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = o.n.Type("T")
	}
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.n.Errorf("input dtype %v not supported (float32, float64)", dt)
	}
	x := in[0].Shape
	if x == nil {
		return []classify.TensorInfo{{DType: dt}}, nil
	}
	if len(x) != 5 {
		return nil, o.n.Errorf("input must be 5-D NDHWC, has shape %v", x)
	}
	out := classify.Shape{x[0], -1, -1, -1, x[4]}
	for i := range 3 {
		if x[i+1] >= 0 {
			if out[i+1], _ = o.outDim(x[i+1], o.k[i], o.s[i]); out[i+1] < 0 {
				return nil, o.n.Errorf("computed output size would be negative: window %v, strides %v, input %v", o.k, o.s, x)
			}
		}
	}
	return []classify.TensorInfo{{DType: dt, Shape: out}}, nil
}

// FLOPs implements Flopper: one operation per window element.
func (o *pool3dOp) FLOPs(in []classify.Shape) int64 {
	if len(in) != 1 || len(in[0]) != 5 || ewCount(in[0]) == 0 {
		return 0
	}
	n := int64(in[0][0]) * int64(in[0][4]) * int64(o.k[0]*o.k[1]*o.k[2])
	for i := range 3 {
		d, _ := o.outDim(in[0][i+1], o.k[i], o.s[i])
		if d < 0 {
			return 0
		}
		n *= int64(d)
	}
	return n
}

// pool3dGeom is the geometry of one run.
type pool3dGeom struct {
	size, out, pad [3]int
	c              int
}

// Run implements Op.
func (o *pool3dOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if x.DType != classify.Float32 && x.DType != classify.Float64 {
		return nil, o.n.InputErrorf("input dtype %v not supported (float32, float64)", x.DType)
	}
	if len(x.Shape) != 5 {
		return nil, o.n.InputErrorf("input must be 5-D NDHWC, has shape %v", x.Shape)
	}
	var g pool3dGeom
	g.c = x.Shape[4]
	for i := range 3 {
		g.size[i] = x.Shape[i+1]
		g.out[i], g.pad[i] = o.outDim(g.size[i], o.k[i], o.s[i])
		if g.out[i] < 0 {
			return nil, o.n.InputErrorf("computed output size would be negative: window %v, strides %v, input %v", o.k, o.s, x.Shape)
		}
	}
	nb := x.Shape[0]
	y := ctx.Output(0, x.DType, nb, g.out[0], g.out[1], g.out[2], g.c)
	if y.Len() == 0 {
		return []*classify.Tensor{y}, nil
	}
	if g.size[0] == 0 || g.size[1] == 0 || g.size[2] == 0 {
		// Only SAME padding gets here, with every window all padding.
		return nil, o.n.InputErrorf("empty spatial input %v", x.Shape)
	}
	rows := nb * g.out[0] * g.out[1]
	cost := g.out[2] * g.c * o.k[0] * o.k[1] * o.k[2]
	switch x.DType {
	case classify.Float32:
		src, dst := x.Float32s(), y.Float32s()
		ewParallel(ctx, rows, cost, func(lo, hi int) { pool3dRows(o, &g, dst, src, lo, hi) })
	case classify.Float64:
		src, dst := x.Data.([]float64), y.Data.([]float64)
		ewParallel(ctx, rows, cost, func(lo, hi int) { pool3dRows(o, &g, dst, src, lo, hi) })
	}
	return []*classify.Tensor{y}, nil
}

// pool3dRows computes output rows [lo, hi) of the (n, od, oh) sequence.
func pool3dRows[T float32 | float64](o *pool3dOp, g *pool3dGeom, dst, src []T, lo, hi int) {
	c := g.c
	var a, b [3]int // window bounds, clipped to the input
	for r := lo; r < hi; r++ {
		oh := r % g.out[1]
		od := (r / g.out[1]) % g.out[0]
		n := r / (g.out[1] * g.out[0])
		pos := [3]int{od, oh, 0}
		for i := range 2 {
			a[i] = pos[i]*o.s[i] - g.pad[i]
			b[i] = min(a[i]+o.k[i], g.size[i])
			a[i] = max(a[i], 0)
		}
		orow := dst[r*g.out[2]*c:][:g.out[2]*c]
		for ow := range g.out[2] {
			a[2] = ow*o.s[2] - g.pad[2]
			b[2] = min(a[2]+o.k[2], g.size[2])
			a[2] = max(a[2], 0)
			acc := orow[ow*c:][:c]
			first := true
			for d := a[0]; d < b[0]; d++ {
				for h := a[1]; h < b[1]; h++ {
					base := ((n*g.size[0]+d)*g.size[1] + h) * g.size[2]
					for w := a[2]; w < b[2]; w++ {
						v := src[(base+w)*c:][:c]
						switch {
						case first:
							copy(acc, v)
							first = false
						case o.max:
							for i, e := range v {
								acc[i] = max(acc[i], e)
							}
						default:
							for i, e := range v {
								acc[i] += e
							}
						}
					}
				}
			}
			if !o.max {
				cnt := T((b[0] - a[0]) * (b[1] - a[1]) * (b[2] - a[2]))
				for i := range acc {
					acc[i] /= cnt
				}
			}
		}
	}
}

func init() {
	Register("MaxPool3D", buildPool3D(true))
	Register("AvgPool3D", buildPool3D(false))
}
