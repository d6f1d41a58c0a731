package ops

// MaxPoolWithArgmax: 2-D max pooling that also returns where each maximum
// came from, flattened as TensorFlow's CPU kernel does:
// ((b*H + y)*W + x)*C + c with include_batch_in_index, (y*W + x)*C + c
// without. As there, the first element of a window wins ties (only a
// strictly greater one replaces it), padding never takes part, and a NaN
// first in its window stays the maximum.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("MaxPoolWithArgmax", buildMaxPoolArgmax)
}

type maxPoolArgmaxOp struct {
	n         *Node
	same      bool
	k, s      [2]int
	withBatch bool
	argDT     classify.DType
}

func buildMaxPoolArgmax(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("needs 1 input, has %d", n.NumInputs)
	}
	o := &maxPoolArgmaxOp{n: n, withBatch: n.Bool("include_batch_in_index", false), argDT: classify.Int64}
	if n.Has("Targmax") {
		o.argDT = n.Type("Targmax")
	}
	if o.argDT != classify.Int64 && o.argDT != classify.Int32 {
		return nil, n.Errorf("Targmax %v: want int32 or int64", o.argDT)
	}
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
	}{{"ksize", &o.k}, {"strides", &o.s}} {
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

func (o *maxPoolArgmaxOp) plan(x []int) (out []int, top, left int, err error) {
	if len(x) != 4 {
		return nil, 0, 0, fmt.Errorf("input must be 4-D NHWC, has shape %v", x)
	}
	out = []int{x[0], -1, -1, x[3]}
	var pads [2]int
	for i := range 2 {
		if x[1+i] < 0 {
			continue
		}
		if out[1+i], pads[i], err = windowedSize(x[1+i], o.k[i], o.s[i], o.same); err != nil {
			return nil, 0, 0, err
		}
	}
	return out, pads[0], pads[1], nil
}

func (o *maxPoolArgmaxOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if x.DType != classify.Float32 && x.DType != classify.Float64 {
		return nil, o.n.InputErrorf("dtype %v not supported (float32, float64)", x.DType)
	}
	shape, top, left, err := o.plan(x.Shape)
	if err == nil {
		err = arrCheckDims(shape)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	// The flattened index must fit Targmax.
	lim := x.Shape[1] * x.Shape[2] * x.Shape[3]
	if o.withBatch {
		lim *= x.Shape[0]
	}
	if o.argDT == classify.Int32 && lim > math.MaxInt32 {
		return nil, o.n.InputErrorf("input %v has more elements than an int32 argmax can index", x.Shape)
	}
	y := ctx.Output(0, x.DType, shape...)
	am := ctx.Output(1, o.argDT, shape...)
	if y.Len() == 0 {
		return []*classify.Tensor{y, am}, nil
	}
	// The kernel writes int64 indices: into the output itself, or into a
	// scratch slot narrowed afterwards.
	var idx []int64
	if o.argDT == classify.Int64 {
		idx = am.Data.([]int64)
	} else {
		idx = ctx.Output(2, classify.Int64, y.Len()).Data.([]int64)
	}
	rows := shape[0] * shape[1]
	cost := shape[2] * shape[3] * o.k[0] * o.k[1]
	switch x.DType {
	case classify.Float32:
		ewParallel(ctx, rows, cost, func(lo, hi int) {
			argmaxPoolRows(o, x.Shape, shape, top, left, y.Float32s(), idx, x.Float32s(), -math.MaxFloat32, lo, hi)
		})
	case classify.Float64:
		ewParallel(ctx, rows, cost, func(lo, hi int) {
			argmaxPoolRows(o, x.Shape, shape, top, left, y.Data.([]float64), idx, x.Data.([]float64), -math.MaxFloat64, lo, hi)
		})
	}
	if o.argDT == classify.Int32 {
		d := am.Int32s()
		for i, v := range idx {
			d[i] = int32(v)
		}
	}
	return []*classify.Tensor{y, am}, nil
}

func argmaxPoolRows[T float32 | float64](o *maxPoolArgmaxOp, xs, ys []int, top, left int, dst []T, arg []int64, src []T, lowest T, lo, hi int) {
	H, W, C := xs[1], xs[2], xs[3]
	ow := ys[2]
	for r := lo; r < hi; r++ {
		b, oy := r/ys[1], r%ys[1]
		h0, h1 := max(oy*o.s[0]-top, 0), min(oy*o.s[0]-top+o.k[0], H)
		for ox := 0; ox < ow; ox++ {
			w0, w1 := max(ox*o.s[1]-left, 0), min(ox*o.s[1]-left+o.k[1], W)
			base := (r*ow + ox) * C
			acc, ai := dst[base:][:C], arg[base:][:C]
			for c := range acc {
				acc[c], ai[c] = lowest, -1
			}
			for h := h0; h < h1; h++ {
				for w := w0; w < w1; w++ {
					pos := h*W + w
					if o.withBatch {
						pos += b * H * W
					}
					v := src[((b*H+h)*W+w)*C:][:C]
					for c := range acc {
						if acc[c] < v[c] || ai[c] < 0 {
							acc[c], ai[c] = v[c], int64(pos*C+c)
						}
					}
				}
			}
		}
	}
}

func (o *maxPoolArgmaxOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	x := in[0]
	if x.Shape == nil {
		return []classify.TensorInfo{{DType: x.DType}, {DType: o.argDT}}, nil
	}
	s, _, _, err := o.plan(x.Shape)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: x.DType, Shape: s}, {DType: o.argDT, Shape: classify.Shape(append([]int{}, s...))}}, nil
}
