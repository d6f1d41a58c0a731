package ops

// Grouping ops: Unique (distinct values in order of first appearance),
// DynamicStitch (interleave data by index lists), InTopKV2 (is the target
// among the k best predictions), UnsortedSegmentSum/Max/Min/Prod and
// SegmentSum (reduce rows sharing a segment id). Segment ids and stitch
// indices out of range are errors naming the node; negative ids are
// dropped by the unsorted segment ops, as TensorFlow.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("Unique", buildUnique)
	Register("DynamicStitch", buildStitch)
	Register("ParallelDynamicStitch", buildStitch)
	Register("InTopKV2", buildInTopK)
	for _, op := range []string{"UnsortedSegmentSum", "UnsortedSegmentMax", "UnsortedSegmentMin", "UnsortedSegmentProd", "SegmentSum"} {
		Register(op, buildSegment)
	}
	// The sums, products and means have complex kernels (segmentComplex,
	// sortedSegmentComplex), as in TensorFlow; maximum and minimum do not.
	for _, op := range []string{"SegmentSum", "SegmentProd", "SegmentMean", "UnsortedSegmentSum", "UnsortedSegmentProd"} {
		allowDTypes(op, complexDTypes...)
	}
}

// ---- Unique ----

type uniqueOp struct {
	n   *Node
	idx classify.DType
}

func buildUnique(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("needs 1 input, has %d", n.NumInputs)
	}
	o := &uniqueOp{n: n, idx: classify.Int32}
	if n.Has("out_idx") {
		o.idx = n.Type("out_idx")
		if o.idx != classify.Int32 && o.idx != classify.Int64 {
			return nil, n.Errorf("out_idx %v: want int32 or int64", o.idx)
		}
	}
	return o, nil
}

func (o *uniqueOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s := in[0].Shape
	if s != nil && len(s) != 1 {
		return nil, o.n.Errorf("input %v must be a vector", s)
	}
	idx := classify.Shape{-1}
	if s != nil {
		idx = s.Clone()
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: classify.Shape{-1}}, {DType: o.idx, Shape: idx}}, nil
}

func (o *uniqueOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if len(x.Shape) != 1 {
		return nil, o.n.InputErrorf("input %v must be a vector", x.Shape)
	}
	idx := ctx.Output(1, o.idx, x.Shape[0])
	pos := make([]int, x.Shape[0])
	var y *classify.Tensor
	switch d := x.Data.(type) {
	case []float32:
		y = uniqueAs(ctx, x.DType, d, pos, func(v float32) float32 { return v })
	case []float64:
		y = uniqueAs(ctx, x.DType, d, pos, func(v float64) float64 { return v })
	case []int32:
		y = uniqueAs(ctx, x.DType, d, pos, func(v int32) int32 { return v })
	case []int64:
		y = uniqueAs(ctx, x.DType, d, pos, func(v int64) int64 { return v })
	case []uint8:
		y = uniqueAs(ctx, x.DType, d, pos, func(v uint8) uint8 { return v })
	case []bool:
		y = uniqueAs(ctx, x.DType, d, pos, func(v bool) bool { return v })
	case [][]byte:
		y = uniqueAs(ctx, x.DType, d, pos, func(v []byte) string { return string(v) })
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	switch d := idx.Data.(type) {
	case []int32:
		for i, p := range pos {
			d[i] = int32(p)
		}
	case []int64:
		for i, p := range pos {
			d[i] = int64(p)
		}
	}
	return []*classify.Tensor{y, idx}, nil
}

// uniqueAs fills pos with each element's index among the distinct values
// and returns those values. NaN never equals itself, so each NaN is a
// value of its own, as in TensorFlow.
func uniqueAs[T any, K comparable](ctx *Ctx, dt classify.DType, x []T, pos []int, key func(T) K) *classify.Tensor {
	seen := make(map[K]int, len(x))
	var vals []T
	for i, v := range x {
		k := key(v)
		p, ok := seen[k]
		if !ok {
			p = len(vals)
			seen[k] = p
			vals = append(vals, v)
		}
		pos[i] = p
	}
	y := ctx.Output(0, dt, len(vals))
	copy(y.Data.([]T), vals)
	return y
}

// ---- DynamicStitch ----

type stitchOp struct {
	n   *Node
	num int
}

func buildStitch(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs < 2 || n.NumInputs%2 != 0 {
		return nil, n.Errorf("needs N indices and N data inputs, has %d inputs", n.NumInputs)
	}
	return &stitchOp{n: n, num: n.NumInputs / 2}, nil
}

func (o *stitchOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	d, i := in[o.num].Shape, in[0].Shape
	if d == nil || i == nil {
		return []classify.TensorInfo{{DType: in[o.num].DType}}, nil
	}
	if len(d) < len(i) {
		return nil, o.n.Errorf("data %v has lower rank than indices %v", d, i)
	}
	return []classify.TensorInfo{{DType: in[o.num].DType, Shape: append(classify.Shape{-1}, d[len(i):]...)}}, nil
}

func (o *stitchOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	idxs, data := in[:o.num], in[o.num:]
	inner := data[0].Shape[min(len(idxs[0].Shape), len(data[0].Shape)):]
	if len(data[0].Shape) < len(idxs[0].Shape) {
		return nil, o.n.InputErrorf("data 0 %v has lower rank than indices 0 %v", data[0].Shape, idxs[0].Shape)
	}
	rows := 0
	all := make([][]int, o.num)
	for m := range o.num {
		ids, err := arrInts(idxs[m])
		if err != nil {
			return nil, o.n.InputErrorf("indices %d: %v", m, err)
		}
		want := append(idxs[m].Shape.Clone(), inner...)
		if data[m].DType != data[0].DType || !want.Equal(data[m].Shape) {
			return nil, o.n.InputErrorf("data %d is %v %v, want %v %v", m, data[m].DType, data[m].Shape, data[0].DType, want)
		}
		for i, v := range ids {
			if v < 0 || v >= arrMaxElements {
				return nil, o.n.InputErrorf("indices %d [%d] = %d is negative or too large", m, i, v)
			}
			rows = max(rows, v+1)
		}
		all[m] = ids
	}
	shape := append([]int{rows}, inner...)
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, data[0].DType, shape...)
	row := arrProd(inner)
	var err error
	switch d := out.Data.(type) {
	case []float32:
		err = stitchAs(d, data, all, row)
	case []float64:
		err = stitchAs(d, data, all, row)
	case []int32:
		err = stitchAs(d, data, all, row)
	case []int64:
		err = stitchAs(d, data, all, row)
	case []uint8:
		err = stitchAs(d, data, all, row)
	case []bool:
		err = stitchAs(d, data, all, row)
	case [][]byte:
		err = stitchAs(d, data, all, row)
	default:
		err = fmt.Errorf("unsupported dtype %v", data[0].DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

// stitchAs zeroes dst (rows no index names stay zero) and copies each
// data row to its index; later inputs win.
func stitchAs[T any](dst []T, data []*classify.Tensor, idx [][]int, row int) error {
	var zero T
	for i := range dst {
		dst[i] = zero
	}
	for m, ids := range idx {
		src, ok := data[m].Data.([]T)
		if !ok {
			return fmt.Errorf("dtype mismatch: %T into %T", data[m].Data, dst)
		}
		for i, v := range ids {
			copy(dst[v*row:(v+1)*row], src[i*row:(i+1)*row])
		}
	}
	return nil
}

// ---- InTopKV2 ----

type inTopKOp struct{ n *Node }

func buildInTopK(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs (predictions, targets, k), has %d", n.NumInputs)
	}
	return &inTopKOp{n: n}, nil
}

func (o *inTopKOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: classify.Bool, Shape: in[1].Shape.Clone()}}, nil
}

// Run follows TensorFlow's in_topk_op.cc: the target is in the top k when
// fewer than k classes score strictly higher (so ties straddling the
// boundary all count as in); a target out of range or a non-finite score
// in the row gives false.
func (o *inTopKOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	p := in[0]
	if p.DType != classify.Float32 || len(p.Shape) != 2 {
		return nil, o.n.InputErrorf("predictions must be float32 [batch, classes], got %v %v", p.DType, p.Shape)
	}
	tg, err := arrInts(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("targets: %v", err)
	}
	if len(in[1].Shape) != 1 || len(tg) != p.Shape[0] {
		return nil, o.n.InputErrorf("targets %v, want [%d]", in[1].Shape, p.Shape[0])
	}
	k, err := arrScalarInt(in[2])
	if err != nil {
		return nil, o.n.InputErrorf("k: %v", err)
	}
	out := ctx.Output(0, classify.Bool, len(tg))
	ob, pd, nc := out.Bools(), p.Float32s(), p.Shape[1]
	for b, t := range tg {
		ob[b] = false
		if t < 0 || t >= nc {
			continue
		}
		row := pd[b*nc : (b+1)*nc]
		v := row[t]
		ok, more := !isInfOrNaN(v), 0
		for _, q := range row {
			if !ok {
				break
			}
			if isInfOrNaN(q) {
				ok = false
			} else if q > v {
				more++
			}
		}
		ob[b] = ok && more < k
	}
	return []*classify.Tensor{out}, nil
}

func isInfOrNaN(v float32) bool { return math.IsInf(float64(v), 0) || v != v }

// ---- Segment reductions ----

type segmentOp struct {
	n      *Node
	sorted bool
	kind   byte // '+', '*', 'M' (max), 'm' (min)
}

func buildSegment(n *Node, _ []*classify.Tensor) (Op, error) {
	o := &segmentOp{n: n, sorted: n.Op == "SegmentSum"}
	want := 3
	if o.sorted {
		want = 2
	}
	if n.NumInputs != want {
		return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
	}
	switch n.Op {
	case "UnsortedSegmentSum", "SegmentSum":
		o.kind = '+'
	case "UnsortedSegmentProd":
		o.kind = '*'
	case "UnsortedSegmentMax":
		o.kind = 'M'
	case "UnsortedSegmentMin":
		o.kind = 'm'
	}
	return o, nil
}

func (o *segmentOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	d, ids := in[0].Shape, in[1].Shape
	if d == nil || ids == nil {
		return []classify.TensorInfo{{DType: in[0].DType}}, nil
	}
	if len(ids) > len(d) {
		return nil, o.n.Errorf("segment_ids %v has higher rank than data %v", ids, d)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: append(classify.Shape{-1}, d[len(ids):]...)}}, nil
}

func (o *segmentOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, idsT := in[0], in[1]
	if len(idsT.Shape) > len(x.Shape) || !classify.Shape(x.Shape[:len(idsT.Shape)]).Equal(idsT.Shape) {
		return nil, o.n.InputErrorf("segment_ids %v must be a prefix of data's shape %v", idsT.Shape, x.Shape)
	}
	if o.sorted && len(idsT.Shape) != 1 {
		return nil, o.n.InputErrorf("segment_ids %v must be a vector", idsT.Shape)
	}
	ids, err := arrInts(idsT)
	if err != nil {
		return nil, o.n.InputErrorf("segment_ids: %v", err)
	}
	var num int
	if o.sorted {
		for i, v := range ids {
			if v < 0 {
				return nil, o.n.InputErrorf("segment_ids[%d] = %d is negative", i, v)
			}
			if i > 0 && v < ids[i-1] {
				return nil, o.n.InputErrorf("segment_ids are not increasing at %d", i)
			}
		}
		if len(ids) > 0 {
			num = ids[len(ids)-1] + 1
		}
	} else {
		if num, err = arrScalarInt(in[2]); err != nil {
			return nil, o.n.InputErrorf("num_segments: %v", err)
		}
		if num < 0 {
			return nil, o.n.InputErrorf("num_segments %d must be non-negative", num)
		}
		for i, v := range ids {
			if v >= num {
				return nil, o.n.InputErrorf("segment_ids[%d] = %d is not below num_segments %d", i, v, num)
			}
		}
	}
	inner := x.Shape[len(idsT.Shape):]
	shape := append([]int{num}, inner...)
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, x.DType, shape...)
	row := arrProd(inner)
	switch d := out.Data.(type) {
	case []float32:
		err = segmentAs(d, x.Data, ids, row, o.kind, -math.MaxFloat32, math.MaxFloat32)
	case []float64:
		err = segmentAs(d, x.Data, ids, row, o.kind, -math.MaxFloat64, math.MaxFloat64)
	case []int32:
		err = segmentAs(d, x.Data, ids, row, o.kind, math.MinInt32, math.MaxInt32)
	case []int64:
		err = segmentAs(d, x.Data, ids, row, o.kind, math.MinInt64, math.MaxInt64)
	case []uint8:
		err = segmentAs(d, x.Data, ids, row, o.kind, 0, math.MaxUint8)
	case []complex64:
		err = segmentComplex(d, x.Data, ids, row, o.kind)
	case []complex128:
		err = segmentComplex(d, x.Data, ids, row, o.kind)
	default:
		err = fmt.Errorf("unsupported dtype %v", x.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

// segmentAs reduces the rows of src into dst by segment id, starting from
// the reduction's identity (0, 1, and for max and min the lowest and
// highest finite values, Eigen's NumTraits, which empty segments keep as
// in TensorFlow).
func segmentAs[T float32 | float64 | int32 | int64 | uint8](dst []T, srcData any, ids []int, row int, kind byte, lowest, highest T) error {
	var init T
	switch kind {
	case '*':
		init = 1
	case 'M':
		init = lowest
	case 'm':
		init = highest
	}
	src, err := segmentStart(dst, srcData, init)
	if err != nil {
		return err
	}
	segmentScatter(dst, src, ids, row, func(d, r []T) { combineRow(d, r, kind) })
	return nil
}

// segmentComplex is segmentAs for complex T: TensorFlow's CPU kernels
// define the sums and products on complex (segment_reduction_ops_impl),
// not the maximum and minimum, which have no order to follow.
func segmentComplex[T complex64 | complex128](dst []T, srcData any, ids []int, row int, kind byte) error {
	if kind == 'M' || kind == 'm' {
		return errComplexOrder(dst)
	}
	var init T
	if kind == '*' {
		init = 1
	}
	src, err := segmentStart(dst, srcData, init)
	if err != nil {
		return err
	}
	segmentScatter(dst, src, ids, row, func(d, r []T) { combineComplexRow(d, r, kind) })
	return nil
}

// segmentScatter combines each source row i into its segment's row ids[i]
// of dst, skipping negative ids (rows the unsorted reductions drop).
func segmentScatter[T any](dst, src []T, ids []int, row int, combine func(d, r []T)) {
	for i, s := range ids {
		if s < 0 {
			continue
		}
		combine(dst[s*row:(s+1)*row], src[i*row:(i+1)*row])
	}
}

// segmentStart is the source rows of a segment reduction as dst's type,
// with every element of dst set to the reduction's identity init (the
// value empty segments keep).
func segmentStart[T any](dst []T, srcData any, init T) ([]T, error) {
	src, ok := srcData.([]T)
	if !ok {
		return nil, fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	for i := range dst {
		dst[i] = init
	}
	return src, nil
}

// errComplexOrder refuses a segment maximum or minimum on complex values,
// which have no order (TensorFlow registers none).
func errComplexOrder(dst any) error {
	return fmt.Errorf("unsupported dtype %T: maximum and minimum are not defined on complex values", dst)
}

// combineComplexRow is combineRow's '+' and '*' on complex rows.
func combineComplexRow[T complex64 | complex128](d, r []T, kind byte) {
	if kind == '*' {
		for j, v := range r {
			d[j] *= v
		}
		return
	}
	for j, v := range r {
		d[j] += v
	}
}

// combineRow folds the row r into d element by element: kind '-'
// subtracts, '*' multiplies, 'M' and 'm' keep the maximum and minimum, and
// anything else ('+', and the sums of a mean) adds. The segment and
// scatter reductions share it.
func combineRow[T float32 | float64 | int32 | int64 | uint8](d, r []T, kind byte) {
	switch kind {
	case '-':
		for j, v := range r {
			d[j] -= v
		}
	case '*':
		for j, v := range r {
			d[j] *= v
		}
	case 'd':
		for j, v := range r {
			d[j] /= v
		}
	case 'M':
		for j, v := range r {
			d[j] = max(d[j], v)
		}
	case 'm':
		for j, v := range r {
			d[j] = min(d[j], v)
		}
	default:
		for j, v := range r {
			d[j] += v
		}
	}
}
