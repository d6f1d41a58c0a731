package ops

// Dilation2D, grayscale morphological dilation per channel:
//
//	out[b, y, x, c] = max over (i, j) of in[b, y*sr + i*rr - top, x*sc + j*rc - left, c] + filter[i, j, c]
//
// where only positions inside the input take part (as in TensorFlow's
// kernel, padding never wins); sizes and padding follow
// GetWindowedOutputSize with the dilated filter size.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("Dilation2D", buildDilation2D)
}

type dilation2DOp struct {
	n    *Node
	same bool
	s, r [2]int
}

func buildDilation2D(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (input, filter), has %d", n.NumInputs)
	}
	o := &dilation2DOp{n: n}
	switch p := n.String("padding", ""); p {
	case "SAME":
		o.same = true
	case "VALID":
	default:
		return nil, n.Errorf("padding %q: want SAME or VALID", p)
	}
	for _, a := range []struct {
		name string
		dst  *[2]int
	}{{"strides", &o.s}, {"rates", &o.r}} {
		v := n.Ints(a.name)
		if len(v) != 4 || v[0] != 1 || v[3] != 1 {
			return nil, n.Errorf("%s %v: need 4 entries with batch and depth 1", a.name, v)
		}
		for i := range 2 {
			if v[1+i] < 1 || v[1+i] > arrMaxElements {
				return nil, n.Errorf("%s %v must be positive", a.name, v)
			}
			a.dst[i] = int(v[1+i])
		}
	}
	return o, nil
}

// plan returns the output shape and the padding before rows and columns.
func (o *dilation2DOp) plan(x, f []int) (out []int, top, left int, err error) {
	if len(x) != 4 {
		return nil, 0, 0, fmt.Errorf("input must be 4-D NHWC, has shape %v", x)
	}
	if len(f) != 3 {
		return nil, 0, 0, fmt.Errorf("filter must be 3-D [rows, cols, depth], has shape %v", f)
	}
	if x[3] >= 0 && f[2] >= 0 && x[3] != f[2] {
		return nil, 0, 0, fmt.Errorf("input depth %d and filter depth %d differ", x[3], f[2])
	}
	out = []int{x[0], -1, -1, x[3]}
	pads := [2]int{}
	for i := range 2 {
		if x[1+i] < 0 || f[i] < 0 {
			continue
		}
		if f[i] > arrMaxElements {
			return nil, 0, 0, fmt.Errorf("filter %v too large", f)
		}
		keff := f[i] + (f[i]-1)*(o.r[i]-1)
		if out[1+i], pads[i], err = windowedSize(x[1+i], keff, o.s[i], o.same); err != nil {
			return nil, 0, 0, err
		}
	}
	return out, pads[0], pads[1], nil
}

func (o *dilation2DOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, f := in[0], in[1]
	if x.DType != f.DType {
		return nil, o.n.InputErrorf("input %v and filter %v dtypes differ", x.DType, f.DType)
	}
	if x.DType != classify.Float32 && x.DType != classify.Float64 {
		return nil, o.n.InputErrorf("dtype %v not supported (float32, float64)", x.DType)
	}
	shape, top, left, err := o.plan(x.Shape, f.Shape)
	if err == nil {
		err = arrCheckDims(shape)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	y := ctx.Output(0, x.DType, shape...)
	if y.Len() == 0 {
		return []*classify.Tensor{y}, nil
	}
	g := dilGeom{x: x.Shape, f: f.Shape, out: shape, top: top, left: left, s: o.s, r: o.r}
	rows := shape[0] * shape[1]
	cost := shape[2] * shape[3] * f.Shape[0] * f.Shape[1]
	switch x.DType {
	case classify.Float32:
		ewParallel(ctx, rows, cost, func(lo, hi int) {
			dilRows(&g, y.Float32s(), x.Float32s(), f.Float32s(), -math.MaxFloat32, lo, hi)
		})
	case classify.Float64:
		ewParallel(ctx, rows, cost, func(lo, hi int) {
			dilRows(&g, y.Data.([]float64), x.Data.([]float64), f.Data.([]float64), -math.MaxFloat64, lo, hi)
		})
	}
	return []*classify.Tensor{y}, nil
}

type dilGeom struct {
	x, f, out []int
	top, left int
	s, r      [2]int
}

// dilRows computes output rows [lo, hi) of the (batch, row) sequence.
// Positions whose window misses the input entirely keep TensorFlow's
// initial value, the lowest finite number.
func dilRows[T float32 | float64](g *dilGeom, dst, src, filt []T, lowest T, lo, hi int) {
	H, W, C := g.x[1], g.x[2], g.x[3]
	fh, fw := g.f[0], g.f[1]
	ow := g.out[2]
	for r := lo; r < hi; r++ {
		b, oy := r/g.out[1], r%g.out[1]
		for ox := 0; ox < ow; ox++ {
			acc := dst[(r*ow+ox)*C:][:C]
			for c := range acc {
				acc[c] = lowest
			}
			for i := 0; i < fh; i++ {
				h := oy*g.s[0] + i*g.r[0] - g.top
				if h < 0 || h >= H {
					continue
				}
				for j := 0; j < fw; j++ {
					w := ox*g.s[1] + j*g.r[1] - g.left
					if w < 0 || w >= W {
						continue
					}
					v := src[((b*H+h)*W+w)*C:][:C]
					k := filt[(i*fw+j)*C:][:C]
					for c := range acc {
						if s := v[c] + k[c]; s > acc[c] {
							acc[c] = s
						}
					}
				}
			}
		}
	}
}

func (o *dilation2DOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	x, f := in[0], in[1]
	if x.Shape == nil || f.Shape == nil {
		return []classify.TensorInfo{{DType: x.DType}}, nil
	}
	s, _, _, err := o.plan(x.Shape, f.Shape)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: x.DType, Shape: s}}, nil
}
