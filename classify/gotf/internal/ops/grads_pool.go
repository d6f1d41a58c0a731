package ops

// Pooling gradients, NHWC with SAME or VALID padding as the forward pools,
// after TensorFlow's CPU kernels (maxpooling_op.cc, avgpooling_op.cc):
//
//   - MaxPoolGrad(orig_input, orig_output, grad) and MaxPoolGradV2 (ksize
//     and strides as inputs 3 and 4): each window's gradient goes to its
//     maximum, found again in orig_input as TensorFlow's CPU kernel does
//     (orig_output is only checked for shape): the first maximum in
//     row-major window order wins ties, a leading NaN stays the maximum
//     (pool_argmax.go's scan, reused). Gradients sharing a maximum add up.
//   - MaxPoolGradGrad(orig_input, orig_output, grad) and MaxPoolGradGradV2:
//     the gradient of MaxPoolGrad with respect to its grad input, of
//     orig_output's shape: each output takes grad at the first input of its
//     window equal to orig_output there, 0 when none is (a NaN maximum).
//   - AvgPoolGrad(orig_input_shape, grad): each window's gradient divided by
//     the number of real (unpadded) elements of the window, spread over
//     them.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("MaxPoolGrad", buildPoolGrad(poolGradMax, false))
	Register("MaxPoolGradV2", buildPoolGrad(poolGradMax, true))
	Register("MaxPoolGradGrad", buildPoolGrad(poolGradGrad, false))
	Register("MaxPoolGradGradV2", buildPoolGrad(poolGradGrad, true))
	Register("AvgPoolGrad", buildPoolGrad(poolGradAvg, false))
	for _, op := range []string{"MaxPoolGrad", "MaxPoolGradV2", "MaxPoolGradGrad", "MaxPoolGradGradV2", "AvgPoolGrad"} {
		promote(op, "T", nil, halfDTypes...)
	}
}

const (
	poolGradMax = iota
	poolGradGrad
	poolGradAvg
)

type poolGradOp struct {
	n    *Node
	kind int
	v2   bool
	// win holds padding and, unless v2 with non-constant inputs, the
	// window; its plan gives the forward geometry.
	win    maxPoolArgmaxOp
	hasWin bool
	size   []int // AvgPoolGrad's constant orig_input_shape, or nil
}

// poolWindow reads ksize or strides: 4 entries, 1 for batch and depth.
func poolWindow(v []int64, name string) ([2]int, error) {
	var w [2]int
	if len(v) != 4 || v[0] != 1 || v[3] != 1 {
		return w, fmt.Errorf("%s %v: need 4 entries with batch and depth 1", name, v)
	}
	for i := range 2 {
		if v[1+i] < 1 || v[1+i] > 1<<20 {
			return w, fmt.Errorf("%s %v must be positive and at most 2^20", name, v)
		}
		w[i] = int(v[1+i])
	}
	return w, nil
}

// poolWindowTensor reads ksize or strides from an int32 input.
func poolWindowTensor(t *classify.Tensor, name string) ([2]int, error) {
	if t == nil || t.DType != classify.Int32 || len(t.Shape) != 1 || t.Shape[0] != 4 || len(t.Int32s()) != 4 {
		return [2]int{}, fmt.Errorf("%s must be an int32 vector of 4 elements", name)
	}
	v := make([]int64, 4)
	for i, x := range t.Int32s() {
		v[i] = int64(x)
	}
	return poolWindow(v, name)
}

func buildPoolGrad(kind int, v2 bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		want := 3
		switch {
		case v2:
			want = 5
		case kind == poolGradAvg:
			want = 2
		}
		if len(consts) != want {
			return nil, n.Errorf("%d inputs, want %d", len(consts), want)
		}
		if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
			return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
		}
		if f := n.String("data_format", "NHWC"); f != "NHWC" {
			return nil, n.Errorf("data_format %q not supported (only NHWC, as TensorFlow's CPU kernel)", f)
		}
		o := &poolGradOp{n: n, kind: kind, v2: v2}
		o.win.n = n
		o.win.withBatch = true
		switch p := n.String("padding", ""); p {
		case "SAME":
			o.win.same = true
		case "VALID":
		default:
			return nil, n.Errorf("padding %q: want SAME or VALID", p)
		}
		var err error
		if !v2 {
			if o.win.k, err = poolWindow(n.Ints("ksize"), "ksize"); err == nil {
				o.win.s, err = poolWindow(n.Ints("strides"), "strides")
			}
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			o.hasWin = true
		} else if consts[3] != nil && consts[4] != nil {
			if o.win.k, err = poolWindowTensor(consts[3], "ksize"); err == nil {
				o.win.s, err = poolWindowTensor(consts[4], "strides")
			}
			if err != nil {
				return nil, n.Errorf("%v", err)
			}
			o.hasWin = true
		}
		if kind == poolGradAvg && consts[0] != nil {
			if o.size, err = deconvSizes(consts[0]); err != nil {
				return nil, n.Errorf("orig_input_shape: %v", err)
			}
		}
		return o, nil
	}
}

// OutputInfo implements Shaper.
func (o *poolGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	x := in[0]
	if o.kind == poolGradAvg {
		x = in[1]
	}
	dt := x.DType
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.n.Errorf("unsupported dtype %v (float32, float64)", dt)
	}
	var s classify.Shape
	switch o.kind {
	case poolGradAvg:
		if o.size != nil {
			s = classify.Shape(o.size).Clone()
		}
	case poolGradMax:
		s = in[0].Shape.Clone()
	case poolGradGrad:
		s = in[1].Shape.Clone()
	}
	if s != nil && len(s) != 4 {
		return nil, o.n.Errorf("shape %v, want 4-D NHWC", s)
	}
	if s == nil {
		s = arrUnknown(4)
	}
	return []classify.TensorInfo{{DType: dt, Shape: s}}, nil
}

// Run implements Op.
func (o *poolGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.n
	win := o.win
	if !o.hasWin {
		var err error
		if win.k, err = poolWindowTensor(in[3], "ksize"); err == nil {
			win.s, err = poolWindowTensor(in[4], "strides")
		}
		if err != nil {
			return nil, n.InputErrorf("%v", err)
		}
	}
	// xs is the forward input's shape; data the float inputs.
	var xs []int
	var data []*classify.Tensor
	if o.kind == poolGradAvg {
		xs = o.size
		if xs == nil {
			var err error
			if xs, err = deconvSizes(in[0]); err != nil {
				return nil, n.InputErrorf("orig_input_shape: %v", err)
			}
		}
		data = in[1:2]
	} else {
		xs = in[0].Shape
		data = in[:3]
	}
	dt := data[0].DType
	if dt != classify.Float32 && dt != classify.Float64 {
		return nil, n.InputErrorf("dtype %v not supported (float32, float64)", dt)
	}
	for _, t := range data {
		if t.DType != dt || t.Len() != t.Shape.NumElements() {
			return nil, n.InputErrorf("inputs are %v %v and %v %v: want one dtype", dt, data[0].Shape, t.DType, t.Shape)
		}
	}
	ys, top, left, err := win.plan(xs)
	if err == nil {
		err = arrCheckDims(ys)
	}
	if err == nil {
		err = arrCheckDims(xs)
	}
	if err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	yshape := classify.Shape(ys)
	switch o.kind {
	case poolGradMax:
		if !in[1].Shape.Equal(yshape) || !in[2].Shape.Equal(yshape) {
			return nil, n.InputErrorf("orig_output %v and grad %v must have the forward output shape %v", in[1].Shape, in[2].Shape, ys)
		}
	case poolGradGrad:
		if !in[1].Shape.Equal(yshape) || !in[2].Shape.Equal(classify.Shape(xs)) {
			return nil, n.InputErrorf("orig_output %v must be %v and grad %v must be %v", in[1].Shape, ys, in[2].Shape, xs)
		}
	case poolGradAvg:
		if !in[1].Shape.Equal(yshape) {
			return nil, n.InputErrorf("grad %v, want the forward output shape %v for orig_input_shape %v", in[1].Shape, ys, xs)
		}
	}
	oshape := xs
	if o.kind == poolGradGrad {
		oshape = ys
	}
	out := ctx.Output(0, dt, oshape...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	g := poolGradGeom{xs: xs, ys: ys, top: top, left: left, win: &win}
	switch dt {
	case classify.Float32:
		poolGradRun(ctx, o.kind, &g, out.Float32s(), floatsOf[float32](data), -math.MaxFloat32)
	case classify.Float64:
		poolGradRun(ctx, o.kind, &g, out.Data.([]float64), floatsOf[float64](data), -math.MaxFloat64)
	}
	return []*classify.Tensor{out}, nil
}

func floatsOf[T float32 | float64](ts []*classify.Tensor) [][]T {
	out := make([][]T, len(ts))
	for i, t := range ts {
		out[i] = t.Data.([]T)
	}
	return out
}

type poolGradGeom struct {
	xs, ys    []int
	top, left int
	win       *maxPoolArgmaxOp
}

func poolGradRun[T float32 | float64](ctx *Ctx, kind int, g *poolGradGeom, dst []T, in [][]T, lowest T) {
	H, W, C := g.xs[1], g.xs[2], g.xs[3]
	oh, ow := g.ys[1], g.ys[2]
	k, s := g.win.k, g.win.s
	rows := g.ys[0] * oh
	switch kind {
	case poolGradMax:
		clear(dst)
		if len(in[2]) == 0 {
			return
		}
		vals := make([]T, len(in[2]))
		idx := make([]int64, len(in[2]))
		ewParallel(ctx, rows, gradCost(ow, C, k[0], k[1]), func(lo, hi int) {
			argmaxPoolRows(g.win, g.xs, g.ys, g.top, g.left, vals, idx, in[0], lowest, lo, hi)
		})
		for i, j := range idx {
			if j >= 0 {
				dst[j] += in[2][i]
			}
		}
	case poolGradGrad:
		x, y, gr := in[0], in[1], in[2]
		ewParallel(ctx, rows, gradCost(ow, C, k[0], k[1]), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				b, oy := r/oh, r%oh
				h0, h1 := max(oy*s[0]-g.top, 0), min(oy*s[0]-g.top+k[0], H)
				for ox := 0; ox < ow; ox++ {
					w0, w1 := max(ox*s[1]-g.left, 0), min(ox*s[1]-g.left+k[1], W)
					base := (r*ow + ox) * C
					for c := 0; c < C; c++ {
						v, res := y[base+c], T(0)
					find:
						for h := h0; h < h1; h++ {
							for w := w0; w < w1; w++ {
								if i := ((b*H+h)*W+w)*C + c; x[i] == v {
									res = gr[i]
									break find
								}
							}
						}
						dst[base+c] = res
					}
				}
			}
		})
	case poolGradAvg:
		gr := in[0]
		// One row of dx at a time: the windows covering input row h are
		// those of output rows oy with oy*s-top <= h < oy*s-top+k.
		ewParallel(ctx, g.xs[0]*H, gradCost(ow, C, k[1], k[0]/s[0]), func(lo, hi int) {
			for r := lo; r < hi; r++ {
				b, h := r/H, r%H
				drow := dst[r*W*C:][:W*C]
				clear(drow)
				oy0, oy1 := 0, min((h+g.top)/s[0]+1, oh)
				if a := h + g.top - k[0]; a >= 0 {
					oy0 = a/s[0] + 1
				}
				for oy := oy0; oy < oy1; oy++ {
					h0, h1 := max(oy*s[0]-g.top, 0), min(oy*s[0]-g.top+k[0], H)
					for ox := 0; ox < ow; ox++ {
						w0, w1 := max(ox*s[1]-g.left, 0), min(ox*s[1]-g.left+k[1], W)
						inv := 1 / T((h1-h0)*(w1-w0))
						gv := gr[((b*oh+oy)*ow+ox)*C:][:C]
						for w := w0; w < w1; w++ {
							d := drow[w*C:][:C]
							for c, v := range gv {
								d[c] += v * inv
							}
						}
					}
				}
			}
		})
	}
}
