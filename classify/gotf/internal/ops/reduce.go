package ops

// Reductions: Mean, Sum, Max, Min, Prod over the axes given by input 1
// (int32 or int64, scalar or vector, negative axes counted from the end,
// duplicates allowed, empty meaning none), with keep_dims.
//
// Dimensions are merged into groups that are all reduced or all kept. The
// shapes graphs use ([O, R] row reductions such as Softmax's denominators,
// [O, R, I] such as Mean over H and W of NHWC) run as contiguous loops;
// anything else (reduced groups separated by kept ones) walks the input
// once with an odometer.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

type redKind uint8

const (
	redSum redKind = iota
	redMean
	redMax
	redMin
	redProd
)

// reduceOp is a compiled reduction node.
type reduceOp struct {
	n    *Node
	kind redKind
	keep bool
	// axes are the reduction axes when input 1 is a constant (possibly
	// negative, not yet checked against a rank), else nil with known false.
	axes  []int
	known bool
}

// redSupports reports whether a reduction of kind has a kernel for dt
// (Invalid: not known yet): the real types for all, complex for Sum, Mean
// and Prod (TensorFlow orders no complex values).
func redSupports(kind redKind, dt classify.DType) bool {
	switch dt {
	case classify.Invalid, classify.Float32, classify.Float64, classify.Int32, classify.Int64:
		return true
	case classify.Complex64, classify.Complex128:
		return kind != redMax && kind != redMin
	}
	return false
}

func buildReduce(kind redKind) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("want 2 inputs (input, reduction_indices), have %d", n.NumInputs)
		}
		if dt := n.Type("T"); !redSupports(kind, dt) {
			return nil, n.Errorf("unsupported dtype %v", dt)
		}
		o := &reduceOp{n: n, kind: kind, keep: n.Bool("keep_dims", false)}
		if len(consts) > 1 && consts[1] != nil {
			axes, err := redInts(consts[1])
			if err != nil {
				return nil, n.Errorf("reduction_indices: %v", err)
			}
			o.axes, o.known = axes, true
		}
		return o, nil
	}
}

// redInts reads a scalar or vector int32/int64 tensor (axes), refusing
// higher ranks, which arrInts would flatten.
func redInts(t *classify.Tensor) ([]int, error) {
	if len(t.Shape) > 1 {
		return nil, fmt.Errorf("must be a scalar or vector, has shape %v", t.Shape)
	}
	return arrInts(t)
}

// redMask returns which of rank dimensions are reduced, appending to
// buf[:0] (so a caller can keep it on its stack).
func redMask(axes []int, rank int, buf []bool) ([]bool, error) {
	mask := buf[:0]
	for range rank {
		mask = append(mask, false)
	}
	for _, a := range axes {
		if a < -rank || a >= rank {
			return nil, fmt.Errorf("invalid reduction dimension %d for input of rank %d", a, rank)
		}
		if a < 0 {
			a += rank
		}
		mask[a] = true
	}
	return mask, nil
}

func redShape(s classify.Shape, mask []bool, keep bool, buf []int) classify.Shape {
	out := classify.Shape(buf[:0])
	for i, d := range s {
		switch {
		case !mask[i]:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	return out
}

// OutputInfo implements Shaper.
func (o *reduceOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, o.n.Errorf("want 2 inputs, have %d", len(in))
	}
	dt := in[0].DType
	if !redSupports(o.kind, dt) {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	if in[0].Shape == nil {
		return []classify.TensorInfo{{DType: dt}}, nil
	}
	if !o.known {
		if !o.keep {
			return []classify.TensorInfo{{DType: dt}}, nil
		}
		s := in[0].Shape.Clone()
		for i, d := range s {
			if d != 1 {
				s[i] = -1
			}
		}
		return []classify.TensorInfo{{DType: dt, Shape: s}}, nil
	}
	mask, err := redMask(o.axes, len(in[0].Shape), nil)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: dt, Shape: redShape(in[0].Shape, mask, o.keep, make([]int, 0, len(in[0].Shape)))}}, nil
}

// FLOPs implements Flopper: one operation per input element.
func (o *reduceOp) FLOPs(in []classify.Shape) int64 {
	if len(in) < 1 {
		return 0
	}
	return ewCount(in[0])
}

// Run implements Op.
func (o *reduceOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 {
		return nil, o.n.InputErrorf("want 2 inputs, have %d", len(in))
	}
	x := in[0]
	axes := o.axes
	if !o.known {
		var err error
		if axes, err = redInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("reduction_indices: %v", err)
		}
	}
	// Scratch on the stack for the usual ranks.
	var mbuf, gred [16]bool
	var sbuf, gsize [16]int
	mask, err := redMask(axes, len(x.Shape), mbuf[:0])
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if !redSupports(o.kind, x.DType) {
		// A node without T fed complex: Max and Min have no complex order.
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	out := ctx.Output(0, x.DType, redShape(x.Shape, mask, o.keep, sbuf[:0])...)
	g := groupReduce(x.Shape, mask, gsize[:0], gred[:0])
	switch d := out.Data.(type) {
	case []float32:
		reduceT(ctx, o.kind, g, d, x.Float32s())
	case []float64:
		reduceT(ctx, o.kind, g, d, x.Data.([]float64))
	case []int32:
		reduceT(ctx, o.kind, g, d, x.Int32s())
	case []int64:
		reduceT(ctx, o.kind, g, d, x.Int64s())
	case []complex64:
		reduceComplex(o.kind, g, d, x.Data.([]complex64))
	case []complex128:
		reduceComplex(o.kind, g, d, x.Data.([]complex128))
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

// redGroups is the merged geometry of a reduction: sizes of alternating
// kept / reduced groups (dimensions of size 1 dropped), the element count
// and how many input elements fold into each output element.
type redGroups struct {
	size    []int
	reduced []bool
	count   int // input elements
	per     int // reduced elements per output element
}

func groupReduce(s classify.Shape, mask []bool, size []int, reduced []bool) redGroups {
	g := redGroups{count: 1, per: 1, size: size[:0], reduced: reduced[:0]}
	for i, d := range s {
		g.count *= d
		if mask[i] {
			g.per *= d
		}
		if d == 1 {
			continue
		}
		if n := len(g.size); n > 0 && g.reduced[n-1] == mask[i] {
			g.size[n-1] *= d
			continue
		}
		g.size = append(g.size, d)
		g.reduced = append(g.reduced, mask[i])
	}
	return g
}

// ori returns (O, R, I) when the groups are at most kept, reduced,
// kept in that order.
func (g *redGroups) ori() (o, r, i int, ok bool) {
	o, r, i = 1, 1, 1
	k := 0
	if k < len(g.size) && !g.reduced[k] {
		o = g.size[k]
		k++
	}
	if k < len(g.size) && g.reduced[k] {
		r = g.size[k]
		k++
	}
	if k < len(g.size) && !g.reduced[k] {
		i = g.size[k]
		k++
	}
	return o, r, i, k == len(g.size)
}

func redIdentity[T ewNumber](k redKind) T {
	var z T
	// Variables, not constants: a constant conversion to T must fit every
	// type T may be.
	lo64, hi64 := int64(math.MinInt64), int64(math.MaxInt64)
	switch k {
	case redProd:
		return 1
	case redMax:
		switch any(z).(type) {
		case float32, float64:
			return T(math.Inf(-1))
		case int32:
			return T(math.MinInt32)
		case int64:
			return T(lo64)
		}
	case redMin:
		switch any(z).(type) {
		case float32, float64:
			return T(math.Inf(1))
		case int32:
			return T(math.MaxInt32)
		case int64:
			return T(hi64)
		}
	}
	return z
}

func reduceT[T ewNumber](ctx *Ctx, k redKind, g redGroups, dst, src []T) {
	if len(dst) == 0 {
		return
	}
	if g.count == 0 || g.per == 0 {
		// Nothing to fold: TensorFlow yields the reducer's identity, and
		// Mean's 0/0.
		v := redIdentity[T](k)
		if k == redMean {
			v = meanOf(T(0), 0)
		}
		for i := range dst {
			dst[i] = v
		}
		return
	}
	o, r, in, ok := g.ori()
	if !ok {
		reduceOdometer(k, g, dst, src)
	} else if ewSerial(ctx, g.count, 1) || (o == 1 && in == 1) {
		// A single output folds serially: splitting it would change the
		// summation order with the thread count.
		reduceORI(k, dst, src, 0, o, r, in)
	} else if o >= 2 {
		ewParallel(ctx, o, r*in, func(lo, hi int) { reduceORI(k, dst, src, lo, hi, r, in) })
	} else {
		// One outer block: split its columns.
		ewParallel(ctx, in, r, func(lo, hi int) { reduceCols(k, dst[lo:hi], src[lo:], r, in) })
	}
	if k == redMean {
		for i := range dst {
			dst[i] = meanOf(dst[i], g.per)
		}
	}
}

// meanOf divides a sum by a count: exactly for floats (0/0 is NaN), with
// truncation for integers as TensorFlow's integer Mean does.
func meanOf[T ewNumber](sum T, n int) T {
	switch any(sum).(type) {
	case float32, float64:
		return T(float64(sum) / float64(n))
	}
	if n == 0 {
		return 0
	}
	return sum / T(n)
}

// reduceORI reduces outer blocks [olo, ohi) of an [O, R, I] input.
func reduceORI[T ewNumber](k redKind, dst, src []T, olo, ohi, r, in int) {
	for o := olo; o < ohi; o++ {
		s := src[o*r*in : (o+1)*r*in]
		if in == 1 {
			dst[o] = reduceRow(k, s)
		} else {
			reduceCols(k, dst[o*in:(o+1)*in], s, r, in)
		}
	}
}

// reduceRow folds one contiguous run. Sums keep four partial
// accumulators, which breaks the add latency chain (TensorFlow's Eigen
// reductions do not sum in order either).
func reduceRow[T ewNumber](k redKind, s []T) T {
	acc := s[0]
	switch k {
	case redSum, redMean:
		if len(s) >= 8 {
			var a0, a1, a2, a3 T
			i := 0
			for ; i+4 <= len(s); i += 4 {
				q := s[i : i+4 : i+4]
				a0 += q[0]
				a1 += q[1]
				a2 += q[2]
				a3 += q[3]
			}
			acc = (a0 + a1) + (a2 + a3)
			for _, v := range s[i:] {
				acc += v
			}
			return acc
		}
		for _, v := range s[1:] {
			acc += v
		}
	case redProd:
		for _, v := range s[1:] {
			acc *= v
		}
	case redMax:
		for _, v := range s[1:] {
			if v > acc {
				acc = v
			}
		}
	case redMin:
		for _, v := range s[1:] {
			if v < acc {
				acc = v
			}
		}
	}
	return acc
}

// reduceCols folds r rows of stride `stride` into dst (len(dst) columns),
// row by row so that the inner loop runs over contiguous memory.
func reduceCols[T ewNumber](k redKind, dst, src []T, r, stride int) {
	n := len(dst)
	copy(dst, src[:n])
	// float32 columns take the vectorised loops.
	df, _ := any(dst).([]float32)
	sf, _ := any(src).([]float32)
	for j := 1; j < r; j++ {
		row := src[j*stride : j*stride+n]
		if df != nil {
			frow := sf[j*stride : j*stride+n]
			switch k {
			case redSum, redMean:
				addVVF32(df, df, frow)
				continue
			case redMax:
				maxVVF32(df, df, frow)
				continue
			case redMin:
				minVVF32(df, df, frow)
				continue
			case redProd:
				mulVVF32(df, df, frow)
				continue
			}
		}
		switch k {
		case redSum, redMean:
			addVV(dst, dst, row)
		case redProd:
			mulVV(dst, dst, row)
		case redMax:
			for i, v := range row {
				if v > dst[i] {
					dst[i] = v
				}
			}
		case redMin:
			for i, v := range row {
				if v < dst[i] {
					dst[i] = v
				}
			}
		}
	}
}

// reduceOdometer handles any grouping by walking the input in order and
// tracking the output offset.
func reduceOdometer[T ewNumber](k redKind, g redGroups, dst, src []T) {
	init := redIdentity[T](k)
	if k == redMean {
		init = 0
	}
	for i := range dst {
		dst[i] = init
	}
	w := newRedWalk(g)
	for _, v := range src {
		off := w.off
		switch k {
		case redSum, redMean:
			dst[off] += v
		case redProd:
			dst[off] *= v
		case redMax:
			if v > dst[off] {
				dst[off] = v
			}
		case redMin:
			if v < dst[off] {
				dst[off] = v
			}
		}
		w.next()
	}
}

// redWalk tracks, while the input of a reduction is read in order, the
// offset of the output element each input element folds into.
type redWalk struct {
	size, ostride, idx []int
	off                int
}

func newRedWalk(g redGroups) *redWalk {
	n := len(g.size)
	w := &redWalk{size: g.size, ostride: make([]int, n), idx: make([]int, n)}
	s := 1
	for i := n - 1; i >= 0; i-- {
		if !g.reduced[i] {
			w.ostride[i] = s
			s *= g.size[i]
		}
	}
	return w
}

// next moves to the following input element.
func (w *redWalk) next() {
	for i := len(w.size) - 1; i >= 0; i-- {
		w.idx[i]++
		w.off += w.ostride[i]
		if w.idx[i] < w.size[i] {
			return
		}
		w.off -= w.idx[i] * w.ostride[i]
		w.idx[i] = 0
	}
}

// reduceComplex is Sum, Mean or Prod of complex64 or complex128 (the
// builder refuses Max and Min, which TensorFlow does not define on
// complex): serial, in input order, accumulated in complex128 and rounded
// once, as complex.go computes complex64. An empty reduction gives the
// identity (Mean: 0/0, NaN+NaNi).
func reduceComplex[T complex64 | complex128](k redKind, g redGroups, dst, src []T) {
	init := complex128(0)
	if k == redProd {
		init = 1
	}
	acc := make([]complex128, len(dst))
	for i := range acc {
		acc[i] = init
	}
	w := newRedWalk(g)
	for _, v := range src {
		if k == redProd {
			acc[w.off] *= complex128(v)
		} else {
			acc[w.off] += complex128(v)
		}
		w.next()
	}
	for i, v := range acc {
		if k == redMean {
			v = cmeanOf(v, g.per)
		}
		dst[i] = T(v)
	}
}

// cmeanOf divides a complex sum by a count, 0/0 giving NaN+NaNi as
// std::complex division does.
func cmeanOf(sum complex128, n int) complex128 {
	if n == 0 {
		return complex(math.NaN(), math.NaN())
	}
	return complex(real(sum)/float64(n), imag(sum)/float64(n))
}

func init() {
	Register("Sum", buildReduce(redSum))
	Register("Mean", buildReduce(redMean))
	Register("Max", buildReduce(redMax))
	Register("Min", buildReduce(redMin))
	Register("Prod", buildReduce(redProd))
}
