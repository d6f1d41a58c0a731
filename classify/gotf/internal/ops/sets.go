package ops

// Set and index utilities: ListDiff (setdiff1d), UniqueV2 and
// UniqueWithCounts(V2) (distinct values or slices along an axis, in order
// of first appearance), NthElement, HistogramFixedWidth, InvertPermutation,
// UnravelIndex, ConcatOffset and BroadcastGradientArgs (the shape
// arithmetic of gradient graphs), and Empty.

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("ListDiff", buildListDiff)
	allowDTypes("ListDiff", allNewDTypes...)
	for _, op := range []string{"UniqueV2", "UniqueWithCounts", "UniqueWithCountsV2"} {
		Register(op, buildUniqueAxis)
		allowDTypes(op, allNewDTypes...)
	}
	Register("NthElement", buildNthElement)
	allowDTypes("NthElement", newIntDTypes...)
	Register("HistogramFixedWidth", buildHistogram)
	Register("InvertPermutation", buildIntOp(1, invertPermutation))
	Register("UnravelIndex", buildIntOp(2, unravelIndex))
	Register("BroadcastGradientArgs", buildBroadcastGradientArgs)
	Register("ConcatOffset", buildConcatOffset)
	Register("Empty", buildEmpty)
	allowDTypes("Empty", allNewDTypes...)
}

// intsOf makes an int32 or int64 tensor of v.
func intsOf(dt classify.DType, v []int, shape ...int) *classify.Tensor {
	t := classify.NewTensor(dt, shape...)
	switch d := t.Data.(type) {
	case []int32:
		for i, x := range v {
			d[i] = int32(x)
		}
	case []int64:
		for i, x := range v {
			d[i] = int64(x)
		}
	}
	return t
}

// elemKeys encodes each element of t so that equal values (as C++'s ==
// sees them: 0 == -0) have equal keys; nan reports the elements equal to
// nothing, NaNs.
func elemKeys(t *classify.Tensor) (key func(buf []byte, i int) []byte, nan func(i int) bool, err error) {
	u64 := func(f func(i int) uint64) func([]byte, int) []byte {
		return func(b []byte, i int) []byte { return binary.LittleEndian.AppendUint64(b, f(i)) }
	}
	never := func(int) bool { return false }
	flt := func(f func(i int) float64) (func([]byte, int) []byte, func(int) bool, error) {
		return u64(func(i int) uint64 { return math.Float64bits(f(i) + 0) }), func(i int) bool { return math.IsNaN(f(i)) }, nil
	}
	switch d := t.Data.(type) {
	case []float32:
		return flt(func(i int) float64 { return float64(d[i]) })
	case []float64:
		return flt(func(i int) float64 { return d[i] })
	case []classify.F16:
		return flt(func(i int) float64 { return float64(d[i].Float32()) })
	case []classify.BF16:
		return flt(func(i int) float64 { return float64(d[i].Float32()) })
	case []int32:
		return u64(func(i int) uint64 { return uint64(d[i]) }), never, nil
	case []int64:
		return u64(func(i int) uint64 { return uint64(d[i]) }), never, nil
	case []int8:
		return u64(func(i int) uint64 { return uint64(d[i]) }), never, nil
	case []int16:
		return u64(func(i int) uint64 { return uint64(d[i]) }), never, nil
	case []uint8:
		return u64(func(i int) uint64 { return uint64(d[i]) }), never, nil
	case []uint16:
		return u64(func(i int) uint64 { return uint64(d[i]) }), never, nil
	case []uint32:
		return u64(func(i int) uint64 { return uint64(d[i]) }), never, nil
	case []uint64:
		return u64(func(i int) uint64 { return d[i] }), never, nil
	case []bool:
		return u64(func(i int) uint64 {
			if d[i] {
				return 1
			}
			return 0
		}), never, nil
	case [][]byte:
		return func(b []byte, i int) []byte {
			b = binary.AppendUvarint(b, uint64(len(d[i])))
			return append(b, d[i]...)
		}, never, nil
	}
	return nil, nil, fmt.Errorf("unsupported dtype %v", t.DType)
}

// ---- ListDiff ----

type listDiffOp struct {
	n   *Node
	idx classify.DType
}

func buildListDiff(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	o := &listDiffOp{n: n, idx: classify.Int32}
	if n.Has("out_idx") {
		o.idx = n.Type("out_idx")
	}
	if o.idx != classify.Int32 && o.idx != classify.Int64 {
		return nil, n.Errorf("out_idx %v: want int32 or int64", o.idx)
	}
	return o, nil
}

func (o *listDiffOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: in[0].DType, Shape: classify.Shape{-1}}, {DType: o.idx, Shape: classify.Shape{-1}}}, nil
}

func (o *listDiffOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, y := in[0], in[1]
	if len(x.Shape) != 1 || len(y.Shape) != 1 {
		return nil, o.n.InputErrorf("x %v and y %v must be vectors", x.Shape, y.Shape)
	}
	if x.DType != y.DType {
		return nil, o.n.InputErrorf("x is %v but y is %v", x.DType, y.DType)
	}
	kx, nanx, err := elemKeys(x)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	ky, _, _ := elemKeys(y)
	in2 := make(map[string]bool, y.Len())
	var buf []byte
	for i := range y.Len() {
		buf = ky(buf[:0], i)
		in2[string(buf)] = true
	}
	var keep []int
	for i := range x.Len() {
		buf = kx(buf[:0], i)
		if nanx(i) || !in2[string(buf)] {
			keep = append(keep, i)
		}
	}
	out := ctx.Output(0, x.DType, len(keep))
	if err := gatherInto(out, x, keep, gatherGeom{batches: 1, outer: 1, dim: x.Len(), inner: 1}); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out, intsOf(o.idx, keep, len(keep))}, nil
}

// ---- UniqueV2, UniqueWithCounts, UniqueWithCountsV2 ----

type uniqueAxisOp struct {
	n            *Node
	idx          classify.DType
	axis, counts bool
}

func buildUniqueAxis(n *Node, _ []*classify.Tensor) (Op, error) {
	o := &uniqueAxisOp{n: n, idx: classify.Int32, axis: n.Op != "UniqueWithCounts", counts: n.Op != "UniqueV2"}
	want := 1
	if o.axis {
		want = 2
	}
	if n.NumInputs != want {
		return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
	}
	if n.Has("out_idx") {
		o.idx = n.Type("out_idx")
	}
	if o.idx != classify.Int32 && o.idx != classify.Int64 {
		return nil, n.Errorf("out_idx %v: want int32 or int64", o.idx)
	}
	return o, nil
}

func (o *uniqueAxisOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	r := []classify.TensorInfo{{DType: in[0].DType}, {DType: o.idx, Shape: classify.Shape{-1}}}
	if o.counts {
		r = append(r, classify.TensorInfo{DType: o.idx, Shape: classify.Shape{-1}})
	}
	return r, nil
}

func (o *uniqueAxisOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	axis := -1
	if o.axis {
		a, err := arrInts(in[1])
		if err != nil || len(in[1].Shape) != 1 || len(a) > 1 {
			return nil, o.n.InputErrorf("axis must be a vector of at most one int32 or int64, got %v %v", in[1].DType, in[1].Shape)
		}
		if len(a) == 1 {
			axis = a[0]
			if axis < 0 {
				axis += len(x.Shape)
			}
			if axis < 0 || axis >= len(x.Shape) {
				return nil, o.n.InputErrorf("axis %d is out of range for input of rank %d", a[0], len(x.Shape))
			}
		}
	}
	if axis < 0 && len(x.Shape) != 1 {
		return nil, o.n.InputErrorf("unique expects a 1-D vector, got shape %v", x.Shape)
	}
	if axis < 0 {
		axis = 0
	}
	outer, dim, inner := arrProd(x.Shape[:axis]), x.Shape[axis], arrProd(x.Shape[axis+1:])
	key, nan, err := elemKeys(x)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	first := map[string]int{}
	pos := make([]int, dim)
	var reps, counts []int
	var buf []byte
	for j := range dim {
		buf = buf[:0]
		hasNaN := false
		for a := range outer {
			for b := range inner {
				i := (a*dim+j)*inner + b
				buf = key(buf, i)
				hasNaN = hasNaN || nan(i)
			}
		}
		p, ok := first[string(buf)]
		if !ok || hasNaN {
			p = len(reps)
			reps = append(reps, j)
			counts = append(counts, 0)
			if !hasNaN {
				first[string(buf)] = p
			}
		}
		pos[j] = p
		counts[p]++
	}
	shape := slices.Clone(x.Shape)
	shape[axis] = len(reps)
	y := ctx.Output(0, x.DType, shape...)
	if err := gatherInto(y, x, reps, gatherGeom{batches: 1, outer: outer, dim: dim, inner: inner}); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := []*classify.Tensor{y, intsOf(o.idx, pos, dim)}
	if o.counts {
		out = append(out, intsOf(o.idx, counts, len(counts)))
	}
	return out, nil
}

// ---- NthElement ----

type nthElementOp struct {
	n       *Node
	reverse bool
}

func buildNthElement(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	return &nthElementOp{n: n, reverse: n.Bool("reverse", false)}, nil
}

func (o *nthElementOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	var s classify.Shape
	if len(in[0].Shape) > 0 {
		s = in[0].Shape[:len(in[0].Shape)-1].Clone()
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: s}}, nil
}

func (o *nthElementOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	nv, err := arrInts(in[1])
	if err != nil || len(in[1].Shape) != 0 {
		return nil, o.n.InputErrorf("n must be an int32 scalar, got %v %v", in[1].DType, in[1].Shape)
	}
	n := nv[0]
	if n < 0 {
		return nil, o.n.InputErrorf("need n >= 0, got %d", n)
	}
	if len(x.Shape) < 1 {
		return nil, o.n.InputErrorf("input must be at least rank 1 but is rank %d", len(x.Shape))
	}
	last := x.Shape[len(x.Shape)-1]
	if last <= n {
		return nil, o.n.InputErrorf("input must have at least n+1 columns; it has %d, n is %d", last, n)
	}
	out := ctx.Output(0, x.DType, x.Shape[:len(x.Shape)-1]...)
	switch d := out.Data.(type) {
	case []float32:
		nthRows(d, x.Data.([]float32), last, n, o.reverse)
	case []float64:
		nthRows(d, x.Data.([]float64), last, n, o.reverse)
	case []int32:
		nthRows(d, x.Data.([]int32), last, n, o.reverse)
	case []int64:
		nthRows(d, x.Data.([]int64), last, n, o.reverse)
	case []uint8:
		nthRows(d, x.Data.([]uint8), last, n, o.reverse)
	case []int8:
		nthRows(d, x.Data.([]int8), last, n, o.reverse)
	case []int16:
		nthRows(d, x.Data.([]int16), last, n, o.reverse)
	case []uint16:
		nthRows(d, x.Data.([]uint16), last, n, o.reverse)
	case []uint32:
		nthRows(d, x.Data.([]uint32), last, n, o.reverse)
	case []uint64:
		nthRows(d, x.Data.([]uint64), last, n, o.reverse)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

// nthRows: the n-th smallest (or largest, reverse) of each row.
func nthRows[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](dst, src []T, last, n int, reverse bool) {
	row := make([]T, last)
	for r := range dst {
		copy(row, src[r*last:(r+1)*last])
		slices.Sort(row)
		if reverse {
			dst[r] = row[last-1-n]
		} else {
			dst[r] = row[n]
		}
	}
}

// ---- HistogramFixedWidth ----

type histogramOp struct {
	n   *Node
	out classify.DType
}

// maxHistogramBins bounds the output a request's nbins asks for.
const maxHistogramBins = 1 << 24

func buildHistogram(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs, has %d", n.NumInputs)
	}
	o := &histogramOp{n: n, out: classify.Int32}
	if n.Has("dtype") {
		o.out = n.Type("dtype")
	}
	if o.out != classify.Int32 && o.out != classify.Int64 {
		return nil, n.Errorf("dtype %v: want int32 or int64", o.out)
	}
	return o, nil
}

func (o *histogramOp) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: o.out, Shape: classify.Shape{-1}}}, nil
}

// f64sOf is asFloat64s for float tensors known to be float32 or
// float64 (float64 data itself, read only).
func f64sOf(t *classify.Tensor) []float64 {
	v, _ := asFloat64s(t)
	return v
}

// asFloat64s reads a float32/float64/int32/int64 tensor as float64s
// (float64 data itself, read only).
func asFloat64s(t *classify.Tensor) ([]float64, bool) {
	switch d := t.Data.(type) {
	case []float64:
		return d, true
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, true
	case []int32, []int64:
		v, _ := ints(t)
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out, true
	}
	return nil, false
}

func (o *histogramOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	values, rng := in[0], in[1]
	if rng.DType != values.DType || !rng.Shape.Equal(classify.Shape{2}) {
		return nil, o.n.InputErrorf("value_range must be a %v vector of 2, got %v %v", values.DType, rng.DType, rng.Shape)
	}
	nb, err := arrInts(in[2])
	if err != nil || len(in[2].Shape) != 0 {
		return nil, o.n.InputErrorf("nbins must be an int32 scalar, got %v %v", in[2].DType, in[2].Shape)
	}
	nbins := nb[0]
	if nbins <= 0 || nbins > maxHistogramBins {
		return nil, o.n.InputErrorf("nbins should be a positive number (at most %d), but got '%d'", maxHistogramBins, nbins)
	}
	v, ok := asFloat64s(values)
	r, _ := asFloat64s(rng)
	if !ok {
		return nil, o.n.InputErrorf("unsupported dtype %v", values.DType)
	}
	if !(r[0] < r[1]) {
		return nil, o.n.InputErrorf("value_range should satisfy value_range[0] < value_range[1], but got '[%v, %v]'", r[0], r[1])
	}
	// As histogram_op.cc: index = min((max(x, lo) - lo) / step, nbins-1),
	// the difference taken in the values' type.
	step := (r[1] - r[0]) / float64(nbins)
	counts := make([]int, nbins)
	for _, x := range v {
		if math.IsNaN(x) {
			continue // TensorFlow's cast of NaN to an index is undefined
		}
		d := math.Max(x, r[0]) - r[0]
		if values.DType == classify.Float32 {
			d = float64(float32(d))
		}
		b := math.Min(d/step, float64(nbins-1))
		counts[int(b)]++
	}
	return []*classify.Tensor{intsOf(o.out, counts, nbins)}, nil
}

// ---- InvertPermutation, UnravelIndex ----

// buildIntOp is an op of int32/int64 inputs whose output has the first
// input's dtype.
func buildIntOp(nin int, f func(n *Node, in []*classify.Tensor) (*classify.Tensor, error)) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != nin {
			return nil, n.Errorf("needs %d inputs, has %d", nin, n.NumInputs)
		}
		return intOp{n, f}, nil
	}
}

type intOp struct {
	n *Node
	f func(n *Node, in []*classify.Tensor) (*classify.Tensor, error)
}

func (o intOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: in[0].DType}}, nil
}

func (o intOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	for i, t := range in {
		if t.DType != classify.Int32 && t.DType != classify.Int64 {
			return nil, o.n.InputErrorf("input %d is %v, want int32 or int64", i, t.DType)
		}
	}
	out, err := o.f(o.n, in)
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

func invertPermutation(n *Node, in []*classify.Tensor) (*classify.Tensor, error) {
	x := in[0]
	if len(x.Shape) != 1 {
		return nil, n.InputErrorf("invert_permutation expects a 1D vector, got shape %v", x.Shape)
	}
	v, _ := arrInts(x)
	y := make([]int, len(v))
	for i := range y {
		y[i] = -1
	}
	for i, d := range v {
		if d < 0 || d >= len(v) {
			return nil, n.InputErrorf("%d is not between 0 and %d", d, len(v))
		}
		if y[d] != -1 {
			return nil, n.InputErrorf("%d is duplicated in the input", d)
		}
		y[d] = i
	}
	return intsOf(x.DType, y, len(y)), nil
}

func unravelIndex(n *Node, in []*classify.Tensor) (*classify.Tensor, error) {
	idx, dims := in[0], in[1]
	if len(idx.Shape) > 1 || len(dims.Shape) != 1 {
		return nil, n.InputErrorf("indices must be a scalar or vector and dims a vector, got %v and %v", idx.Shape, dims.Shape)
	}
	if idx.DType != dims.DType {
		return nil, n.InputErrorf("indices are %v but dims %v", idx.DType, dims.DType)
	}
	iv, _ := arrInts(idx)
	dv, _ := arrInts(dims)
	size := 1
	for _, d := range dv {
		if d <= 0 {
			return nil, n.InputErrorf("input dims must be > 0, got %v", dv)
		}
		if size > math.MaxInt32/d {
			return nil, n.InputErrorf("dims %v have more than 2^31 elements", dv)
		}
		size *= d
	}
	for _, i := range iv {
		if i < 0 || i >= size {
			return nil, n.InputErrorf("index %d out of bounds for dims %v", i, dv)
		}
	}
	k := len(iv)
	out := make([]int, len(dv)*k)
	for j, i := range iv {
		for a := len(dv) - 1; a >= 0; a-- {
			out[a*k+j] = i % dv[a]
			i /= dv[a]
		}
	}
	if len(idx.Shape) == 0 {
		return intsOf(idx.DType, out, len(dv)), nil
	}
	return intsOf(idx.DType, out, len(dv), k), nil
}

// ---- BroadcastGradientArgs ----

type bgaOp struct{ n *Node }

func buildBroadcastGradientArgs(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	return bgaOp{n}, nil
}

func (o bgaOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: in[0].DType, Shape: classify.Shape{-1}}, {DType: in[0].DType, Shape: classify.Shape{-1}}}, nil
}

// Run follows BCast (util/bcast.h): identical shapes reduce nothing;
// otherwise an input reduces every output axis where its 1-extended shape
// is 1.
func (o bgaOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s0, s1 := in[0], in[1]
	if len(s0.Shape) != 1 || len(s1.Shape) != 1 || s0.DType != s1.DType {
		return nil, o.n.InputErrorf("s0 and s1 must be int vectors of one dtype, got %v %v and %v %v", s0.DType, s0.Shape, s1.DType, s1.Shape)
	}
	a, err := arrInts(s0)
	if err != nil {
		return nil, o.n.InputErrorf("s0: %v", err)
	}
	b, _ := arrInts(s1)
	if slices.Equal(a, b) {
		return []*classify.Tensor{intsOf(s0.DType, nil, 0), intsOf(s0.DType, nil, 0)}, nil
	}
	rank := max(len(a), len(b))
	at := func(s []int, k int) int {
		if k -= rank - len(s); k < 0 {
			return 1
		}
		return s[k]
	}
	var r0, r1 []int
	for k := range rank {
		x, y := at(a, k), at(b, k)
		if x != y && x != 1 && y != 1 {
			return nil, o.n.InputErrorf("incompatible shapes: %v vs. %v", a, b)
		}
		if x == 1 {
			r0 = append(r0, k)
		}
		if y == 1 {
			r1 = append(r1, k)
		}
	}
	return []*classify.Tensor{intsOf(s0.DType, r0, len(r0)), intsOf(s0.DType, r1, len(r1))}, nil
}

// ---- ConcatOffset ----

type concatOffsetOp struct{ n *Node }

func buildConcatOffset(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs < 3 {
		return nil, n.Errorf("needs concat_dim and at least 2 shapes, has %d inputs", n.NumInputs)
	}
	return concatOffsetOp{n}, nil
}

func (o concatOffsetOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	out := make([]classify.TensorInfo, len(in)-1)
	for i := range out {
		out[i] = classify.TensorInfo{DType: in[i+1].DType, Shape: in[i+1].Shape}
	}
	return out, nil
}

func (o concatOffsetOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	cd, err := arrScalarInt(in[0])
	if err != nil {
		return nil, o.n.InputErrorf("concat_dim: %v", err)
	}
	first, err := arrInts(in[1])
	if err != nil || len(in[1].Shape) != 1 {
		return nil, o.n.InputErrorf("input 1 should be an int vector, got %v %v", in[1].DType, in[1].Shape)
	}
	axis := cd
	if axis < 0 {
		axis += len(first)
	}
	if axis < 0 || axis >= len(first) {
		return nil, o.n.InputErrorf("concat dim is out of range: %d vs. %d", cd, len(first))
	}
	out := make([]*classify.Tensor, len(in)-1)
	off := 0
	for i, t := range in[1:] {
		s, err := arrInts(t)
		if err != nil || len(t.Shape) != 1 || t.DType != in[1].DType {
			return nil, o.n.InputErrorf("input %d should be a %v vector, got %v %v", i+1, in[1].DType, t.DType, t.Shape)
		}
		if len(s) != len(first) {
			return nil, o.n.InputErrorf("input %d should contain %d elements, but got %d", i+1, len(first), len(s))
		}
		v := make([]int, len(s))
		for j := range s {
			if j == axis {
				v[j] = off
				off += s[j]
			} else if s[j] != first[j] {
				return nil, o.n.InputErrorf("all dimensions except %d must match; input %d has shape %v and doesn't match input 1 with shape %v", axis, i+1, s, first)
			}
		}
		out[i] = intsOf(t.DType, v, len(v))
	}
	return out, nil
}

// ---- Empty ----

type emptyOp struct {
	n  *Node
	dt classify.DType
}

func buildEmpty(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("needs 1 input, has %d", n.NumInputs)
	}
	dt := n.Type("dtype")
	if dt == classify.Invalid || dt == classify.Variant {
		return nil, n.Errorf("attribute dtype missing or not a tensor dtype")
	}
	return emptyOp{n, dt}, nil
}

func (o emptyOp) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: o.dt}}, nil
}

// Run gives zeros: TensorFlow leaves the memory uninitialised unless
// init is set, so zeros are one of its answers either way.
func (o emptyOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	dims, err := shapeOf(o.n, in[0])
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{classify.NewTensor(o.dt, dims...)}, nil
}
