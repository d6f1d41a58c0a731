package ops

// 3-D pooling gradients (NDHWC) and MaxPoolGradWithArgmax, after
// TensorFlow's CPU kernels (pooling_ops_3d.cc, maxpooling_op.cc):
//
//   - MaxPool3DGrad(orig_input, orig_output, grad): each window's gradient
//     goes to every element of the window within 1e-5 of the window's
//     orig_output value, as TensorFlow's CPU kernel selects them (so tied
//     maxima all receive it, unlike the 2-D MaxPoolGrad, and a NaN never
//     does). Gradients of overlapping windows add up.
//   - AvgPool3DGrad(orig_input_shape, grad): each window's gradient divided
//     by the number of its real (unpadded) elements, spread over them, as
//     the forward AvgPool3D averages.
//   - MaxPool3DGradGrad(orig_input, orig_output, grad): of orig_output's
//     shape, each output takes grad at the first element of its window
//     (row-major) equal to orig_output there, 0 when none is (a NaN
//     maximum), as TensorFlow's CPU kernel.
//   - MaxPoolGradWithArgmax(input, grad, argmax): grad added at the
//     flattened input positions argmax names (per image unless
//     include_batch_in_index); an index outside its image is an error, as
//     in TensorFlow.
//
// The 3-D gradients gather: each input element sums over the windows that
// contain it, so depth planes split across goroutines without write
// conflicts and the work is that of the forward pool. orig_input_shape is
// client-controlled and bounded before anything is allocated; grad must
// have the forward output's shape, so the work is bounded by the inputs
// held and the graph's window.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("MaxPool3DGrad", buildPool3DGrad(true))
	Register("AvgPool3DGrad", buildPool3DGrad(false))
	Register("MaxPool3DGradGrad", buildPool3DGradGrad)
	Register("MaxPoolGradWithArgmax", buildMaxPoolGradArgmax)
	for _, op := range []string{"MaxPool3DGrad", "AvgPool3DGrad", "MaxPool3DGradGrad", "MaxPoolGradWithArgmax"} {
		promote(op, "T", nil, halfDTypes...)
	}
}

// maxPool3DGradTol is TensorFlow's CPU selection threshold:
// |orig_input - orig_output| < 1e-5 marks a maximum.
const maxPool3DGradTol = 1e-5

type pool3dGradOp struct {
	fwd  pool3dOp
	gg   bool  // MaxPool3DGradGrad
	size []int // AvgPool3DGrad's constant orig_input_shape, or nil
}

func buildPool3DGrad(isMax bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		want := 2
		if isMax {
			want = 3
		}
		if n.NumInputs != want || len(consts) != want {
			return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
		}
		for _, a := range []string{"T", "TInput"} {
			if dt := n.Type(a); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
				return nil, n.Errorf("%s %v not supported (float32, float64)", a, dt)
			}
		}
		if f := n.String("data_format", "NDHWC"); f != "NDHWC" {
			return nil, n.Errorf("data_format %q not supported (NDHWC, as TensorFlow's CPU kernel)", f)
		}
		k, s := n.Ints("ksize"), n.Ints("strides")
		if len(k) != 5 || len(s) != 5 || k[0] != 1 || k[4] != 1 || s[0] != 1 || s[4] != 1 {
			return nil, n.Errorf("ksize %v and strides %v: need 5 entries with batch and depth 1", k, s)
		}
		o := &pool3dGradOp{fwd: pool3dOp{n: n, max: isMax}}
		for i := range 3 {
			if k[i+1] < 1 || s[i+1] < 1 || k[i+1] > 1<<20 || s[i+1] > 1<<20 {
				return nil, n.Errorf("ksize %v and strides %v must be in [1, 2^20]", k, s)
			}
			o.fwd.k[i], o.fwd.s[i] = int(k[i+1]), int(s[i+1])
		}
		switch p := n.String("padding", ""); p {
		case "SAME":
			o.fwd.same = true
		case "VALID":
		default:
			return nil, n.Errorf("padding %q: want SAME or VALID", p)
		}
		if !isMax && consts[0] != nil {
			var err error
			if o.size, err = pool3dGradSizes(consts[0]); err != nil {
				return nil, n.Errorf("orig_input_shape: %v", err)
			}
		}
		return o, nil
	}
}

func buildPool3DGradGrad(n *Node, consts []*classify.Tensor) (Op, error) {
	o, err := buildPool3DGrad(true)(n, consts)
	if err != nil {
		return nil, err
	}
	o.(*pool3dGradOp).gg = true
	return o, nil
}

// pool3dGradSizes reads orig_input_shape: an int32 vector of 5
// non-negative sizes within the engine's element limit.
func pool3dGradSizes(t *classify.Tensor) ([]int, error) {
	if t.DType != classify.Int32 || len(t.Shape) != 1 || t.Shape[0] != 5 || t.Len() != 5 {
		return nil, fmt.Errorf("want an int32 vector of 5 elements, got %v %v", t.DType, t.Shape)
	}
	s := make([]int, 5)
	for i, v := range t.Int32s() {
		if v < 0 {
			return nil, fmt.Errorf("%v has a negative size", t.Int32s())
		}
		s[i] = int(v)
	}
	return s, arrCheckDims(s)
}

// OutputInfo implements Shaper.
func (o *pool3dGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	g := in[len(in)-1]
	dt := g.DType
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.fwd.n.Errorf("unsupported dtype %v (float32, float64)", dt)
	}
	var s classify.Shape
	if o.gg {
		s = in[1].Shape.Clone()
	} else if o.fwd.max {
		s = in[0].Shape.Clone()
	} else if o.size != nil {
		s = classify.Shape(o.size).Clone()
	}
	if s != nil && len(s) != 5 {
		return nil, o.fwd.n.Errorf("shape %v, want 5-D NDHWC", s)
	}
	if s == nil {
		s = arrUnknown(5)
	}
	return []classify.TensorInfo{{DType: dt, Shape: s}}, nil
}

// Run implements Op.
func (o *pool3dGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.fwd.n
	var xs []int
	data := in
	if o.fwd.max {
		xs = in[0].Shape
	} else {
		if xs = o.size; xs == nil {
			var err error
			if xs, err = pool3dGradSizes(in[0]); err != nil {
				return nil, n.InputErrorf("orig_input_shape: %v", err)
			}
		}
		data = in[1:]
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
	if len(xs) != 5 {
		return nil, n.InputErrorf("input shape %v, want 5-D NDHWC", xs)
	}
	var g pool3dGeom
	g.c = xs[4]
	ys := []int{xs[0], 0, 0, 0, xs[4]}
	for i := range 3 {
		g.size[i] = xs[i+1]
		g.out[i], g.pad[i] = o.fwd.outDim(g.size[i], o.fwd.k[i], o.fwd.s[i])
		if g.out[i] < 0 {
			return nil, n.InputErrorf("computed output size would be negative: window %v, strides %v, input %v", o.fwd.k, o.fwd.s, xs)
		}
		ys[i+1] = g.out[i]
	}
	if o.gg {
		if !data[1].Shape.Equal(classify.Shape(ys)) || !data[2].Shape.Equal(classify.Shape(xs)) {
			return nil, n.InputErrorf("orig_output %v must be %v and grad %v must be %v", data[1].Shape, ys, data[2].Shape, xs)
		}
		out := ctx.Output(0, dt, ys...)
		if out.Len() == 0 {
			return []*classify.Tensor{out}, nil
		}
		switch dt {
		case classify.Float32:
			pool3dGradGradRun(ctx, &o.fwd, &g, xs[0], out.Float32s(), floatsOf[float32](data))
		case classify.Float64:
			pool3dGradGradRun(ctx, &o.fwd, &g, xs[0], out.Data.([]float64), floatsOf[float64](data))
		}
		return []*classify.Tensor{out}, nil
	}
	shaped := data // orig_output and grad, or grad
	if o.fwd.max {
		shaped = data[1:]
	}
	for _, t := range shaped {
		if !t.Shape.Equal(classify.Shape(ys)) {
			return nil, n.InputErrorf("orig_output and grad %v must have the forward output shape %v for input %v", t.Shape, ys, xs)
		}
	}
	out := ctx.Output(0, dt, xs...)
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	switch dt {
	case classify.Float32:
		pool3dGradRun(ctx, &o.fwd, &g, xs[0], out.Float32s(), floatsOf[float32](data))
	case classify.Float64:
		pool3dGradRun(ctx, &o.fwd, &g, xs[0], out.Data.([]float64), floatsOf[float64](data))
	}
	return []*classify.Tensor{out}, nil
}

// pool3dGradWindows is, per dimension, the range [lo, hi) of windows
// containing each input index and each window's count of real elements.
type pool3dGradWindows struct {
	lo, hi [3][]int
	cnt    [3][]int
}

func newPool3DGradWindows(o *pool3dOp, g *pool3dGeom) *pool3dGradWindows {
	w := &pool3dGradWindows{}
	for d := range 3 {
		k, s, p := o.k[d], o.s[d], g.pad[d]
		w.lo[d], w.hi[d] = make([]int, g.size[d]), make([]int, g.size[d])
		for i := range g.size[d] {
			// Window j covers [j*s-p, j*s-p+k).
			if a := i + p - k + 1; a > 0 {
				w.lo[d][i] = (a + s - 1) / s
			}
			w.hi[d][i] = min((i+p)/s+1, g.out[d])
		}
		w.cnt[d] = make([]int, g.out[d])
		for j := range g.out[d] {
			a := j*s - p
			w.cnt[d][j] = min(a+k, g.size[d]) - max(a, 0)
		}
	}
	return w
}

func pool3dGradRun[T float32 | float64](ctx *Ctx, o *pool3dOp, g *pool3dGeom, nb int, dst []T, data [][]T) {
	w := newPool3DGradWindows(o, g)
	C := g.c
	D, H, W := g.size[0], g.size[1], g.size[2]
	OD, OH, OW := g.out[0], g.out[1], g.out[2]
	grad := data[len(data)-1]
	var x, y []T
	if o.max {
		x, y = data[0], data[1]
	}
	per := max(o.k[0]/o.s[0], 1) * max(o.k[1]/o.s[1], 1) * max(o.k[2]/o.s[2], 1)
	ewParallel(ctx, nb*D, gradCost(H, W, C, per), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, id := r/D, r%D
			for ih := range H {
				for iw := range W {
					base := (((b*D+id)*H+ih)*W + iw) * C
					acc := dst[base:][:C]
					clear(acc)
					for od := w.lo[0][id]; od < w.hi[0][id]; od++ {
						for oh := w.lo[1][ih]; oh < w.hi[1][ih]; oh++ {
							for ow := w.lo[2][iw]; ow < w.hi[2][iw]; ow++ {
								ob := (((b*OD+od)*OH+oh)*OW + ow) * C
								gv := grad[ob:][:C]
								if o.max {
									xv, yv := x[base:][:C], y[ob:][:C]
									for c := range acc {
										if math.Abs(float64(xv[c]-yv[c])) < maxPool3DGradTol {
											acc[c] += gv[c]
										}
									}
									continue
								}
								inv := 1 / T(w.cnt[0][od]*w.cnt[1][oh]*w.cnt[2][ow])
								for c := range acc {
									acc[c] += gv[c] * inv
								}
							}
						}
					}
				}
			}
		}
	})
}

// pool3dGradGradRun computes MaxPool3DGradGrad one output row of the
// (batch, plane, row) sequence at a time.
func pool3dGradGradRun[T float32 | float64](ctx *Ctx, o *pool3dOp, g *pool3dGeom, nb int, dst []T, data [][]T) {
	x, y, gr := data[0], data[1], data[2]
	C := g.c
	D, H, W := g.size[0], g.size[1], g.size[2]
	OD, OH, OW := g.out[0], g.out[1], g.out[2]
	ewParallel(ctx, nb*OD*OH, gradCost(OW, C, o.k[0], o.k[1], o.k[2]), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, od, oh := r/(OD*OH), r/OH%OD, r%OH
			var a, e [3]int
			for i, p := range [2]int{od, oh} {
				a[i] = p*o.s[i] - g.pad[i]
				e[i] = min(a[i]+o.k[i], g.size[i])
				a[i] = max(a[i], 0)
			}
			for ow := range OW {
				a[2] = ow*o.s[2] - g.pad[2]
				e[2] = min(a[2]+o.k[2], W)
				a[2] = max(a[2], 0)
				base := (r*OW + ow) * C
				for c := range C {
					v, res := y[base+c], T(0)
				find:
					for d := a[0]; d < e[0]; d++ {
						for h := a[1]; h < e[1]; h++ {
							for w := a[2]; w < e[2]; w++ {
								if i := (((b*D+d)*H+h)*W+w)*C + c; x[i] == v {
									res = gr[i]
									break find
								}
							}
						}
					}
					dst[base+c] = res
				}
			}
		}
	})
}

// ---- MaxPoolGradWithArgmax ----

type maxPoolGradArgmaxOp struct {
	win maxPoolArgmaxOp
}

func buildMaxPoolGradArgmax(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs (input, grad, argmax), has %d", n.NumInputs)
	}
	if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, n.Errorf("unsupported dtype %v (float32, float64)", dt)
	}
	o := &maxPoolGradArgmaxOp{win: maxPoolArgmaxOp{n: n, withBatch: n.Bool("include_batch_in_index", false), argDT: classify.Int64}}
	if n.Has("Targmax") {
		o.win.argDT = n.Type("Targmax")
	}
	if o.win.argDT != classify.Int64 && o.win.argDT != classify.Int32 {
		return nil, n.Errorf("Targmax %v: want int32 or int64", o.win.argDT)
	}
	switch p := n.String("padding", ""); p {
	case "SAME":
		o.win.same = true
	case "VALID":
	default:
		return nil, n.Errorf("padding %q: want SAME or VALID", p)
	}
	var err error
	if o.win.k, err = poolWindow(n.Ints("ksize"), "ksize"); err == nil {
		o.win.s, err = poolWindow(n.Ints("strides"), "strides")
	}
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return o, nil
}

// OutputInfo implements Shaper: the input's shape.
func (o *maxPoolGradArgmaxOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[0].DType
	if dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float64 {
		return nil, o.win.n.Errorf("unsupported dtype %v (float32, float64)", dt)
	}
	if s := in[0].Shape; s != nil && len(s) != 4 {
		return nil, o.win.n.Errorf("input %v, want 4-D NHWC", s)
	}
	if in[0].Shape == nil {
		return []classify.TensorInfo{{DType: dt, Shape: arrUnknown(4)}}, nil
	}
	return []classify.TensorInfo{{DType: dt, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *maxPoolGradArgmaxOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := o.win.n
	x, g, am := in[0], in[1], in[2]
	dt := x.DType
	if dt != classify.Float32 && dt != classify.Float64 || g.DType != dt {
		return nil, n.InputErrorf("input %v and grad %v: want one of float32, float64", dt, g.DType)
	}
	if am.DType != o.win.argDT {
		return nil, n.InputErrorf("argmax is %v, want Targmax %v", am.DType, o.win.argDT)
	}
	ys, _, _, err := o.win.plan(x.Shape)
	if err == nil {
		err = arrCheckDims(ys)
	}
	if err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	if !g.Shape.Equal(classify.Shape(ys)) || !am.Shape.Equal(classify.Shape(ys)) || g.Len() != g.Shape.NumElements() || am.Len() != am.Shape.NumElements() {
		return nil, n.InputErrorf("grad %v and argmax %v must have the forward output shape %v", g.Shape, am.Shape, ys)
	}
	idx, err := arrInts(am)
	if err != nil {
		return nil, n.InputErrorf("argmax: %v", err)
	}
	out := ctx.Output(0, dt, x.Shape...)
	nb := x.Shape[0]
	inPer, outPer := arrProd(x.Shape[1:]), arrProd(ys[1:])
	// Validate every index first: an error leaves no half-written output.
	for i, v := range idx {
		b := i / max(outPer, 1)
		if o.win.withBatch {
			v -= b * inPer
		}
		if v < 0 || v >= inPer {
			return nil, n.InputErrorf("argmax[%d] = %d is outside image %d (%d elements per image)", i, idx[i], b, inPer)
		}
	}
	switch dt {
	case classify.Float32:
		mpgaRun(ctx, out.Float32s(), g.Float32s(), idx, nb, inPer, outPer, o.win.withBatch)
	case classify.Float64:
		mpgaRun(ctx, out.Data.([]float64), g.Data.([]float64), idx, nb, inPer, outPer, o.win.withBatch)
	}
	return []*classify.Tensor{out}, nil
}

func mpgaRun[T float32 | float64](ctx *Ctx, dst, g []T, idx []int, nb, inPer, outPer int, withBatch bool) {
	ewParallel(ctx, nb, max(outPer, inPer), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			d := dst[b*inPer:][:inPer]
			clear(d)
			off := 0
			if withBatch {
				off = b * inPer
			}
			for i, v := range g[b*outPer:][:outPer] {
				d[idx[b*outPer+i]-off] += v
			}
		}
	})
}
