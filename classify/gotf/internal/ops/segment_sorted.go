package ops

// SegmentProd, SegmentMax, SegmentMin and SegmentMean: reductions of
// data's rows over sorted segment ids (SegmentSum is in segment.go). The
// output has max(id)+1 rows; a segment no id names is 1 for Prod and 0 for
// the others, as TensorFlow documents (the unsorted ops give the
// reduction's identity instead). Integer means truncate, as TensorFlow's
// integer division does.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for op, kind := range map[string]byte{"SegmentProd": '*', "SegmentMax": 'M', "SegmentMin": 'm', "SegmentMean": '/'} {
		Register(op, buildSortedSegment(kind))
	}
}

type sortedSegmentOp struct {
	n    *Node
	kind byte
}

func buildSortedSegment(kind byte) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("needs 2 inputs (data, segment_ids), has %d", n.NumInputs)
		}
		return &sortedSegmentOp{n: n, kind: kind}, nil
	}
}

// OutputInfo implements Shaper.
func (o *sortedSegmentOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	d := in[0].Shape
	if d == nil {
		return []classify.TensorInfo{{DType: in[0].DType}}, nil
	}
	if len(d) == 0 {
		return nil, o.n.Errorf("data must have rank at least 1")
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: append(classify.Shape{-1}, d[1:]...)}}, nil
}

// Run implements Op.
func (o *sortedSegmentOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, idsT := in[0], in[1]
	if len(idsT.Shape) != 1 || len(x.Shape) == 0 || x.Shape[0] != idsT.Shape[0] {
		return nil, o.n.InputErrorf("segment_ids %v must be a vector as long as data %v's first dimension", idsT.Shape, x.Shape)
	}
	ids, err := arrInts(idsT)
	if err != nil {
		return nil, o.n.InputErrorf("segment_ids: %v", err)
	}
	for i, v := range ids {
		if v < 0 {
			return nil, o.n.InputErrorf("segment_ids[%d] = %d is negative", i, v)
		}
		if i > 0 && v < ids[i-1] {
			return nil, o.n.InputErrorf("segment_ids are not sorted at %d", i)
		}
	}
	num := 0
	if len(ids) > 0 {
		num = ids[len(ids)-1] + 1
	}
	shape := append([]int{num}, x.Shape[1:]...)
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, x.DType, shape...)
	row := arrProd(x.Shape[1:])
	switch d := out.Data.(type) {
	case []float32:
		err = sortedSegmentAs(d, x.Data, ids, row, o.kind)
	case []float64:
		err = sortedSegmentAs(d, x.Data, ids, row, o.kind)
	case []int32:
		err = sortedSegmentAs(d, x.Data, ids, row, o.kind)
	case []int64:
		err = sortedSegmentAs(d, x.Data, ids, row, o.kind)
	case []uint8:
		err = sortedSegmentAs(d, x.Data, ids, row, o.kind)
	case []complex64:
		err = sortedSegmentComplex(d, x.Data, ids, row, o.kind)
	case []complex128:
		err = sortedSegmentComplex(d, x.Data, ids, row, o.kind)
	default:
		err = fmt.Errorf("unsupported dtype %v", x.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

func sortedSegmentAs[T float32 | float64 | int32 | int64 | uint8](dst []T, srcData any, ids []int, row int, kind byte) error {
	var empty T
	if kind == '*' {
		empty = 1
	}
	src, err := segmentStart(dst, srcData, empty)
	if err != nil {
		return err
	}
	segmentRuns(dst, src, ids, row, func(d, r []T) { combineRow(d, r, kind) }, func(d []T, n int) {
		if kind == '/' {
			segmentMeanDiv(d, n)
		}
	})
	return nil
}

// segmentRuns folds each run of equal (sorted) ids into its segment's row
// of dst: the run's first row copied, the others combined into it, then
// done called on the row with the run's length.
func segmentRuns[T any](dst, src []T, ids []int, row int, combine func(d, r []T), done func(d []T, n int)) {
	for lo := 0; lo < len(ids); {
		hi := lo + 1
		for hi < len(ids) && ids[hi] == ids[lo] {
			hi++
		}
		d := dst[ids[lo]*row:][:row]
		copy(d, src[lo*row:(lo+1)*row])
		for r := lo + 1; r < hi; r++ {
			combine(d, src[r*row:][:row])
		}
		done(d, hi-lo)
		lo = hi
	}
}

// segmentMeanDiv divides a segment's sums by its row count n, for integers
// in int64 so that a count past the type's range cannot become 0.
func segmentMeanDiv[T float32 | float64 | int32 | int64 | uint8](d []T, n int) {
	switch v := any(d).(type) {
	case []float32:
		for j := range v {
			v[j] /= float32(n)
		}
	case []float64:
		for j := range v {
			v[j] /= float64(n)
		}
	default:
		for j := range d {
			d[j] = T(int64(d[j]) / int64(n))
		}
	}
}

// sortedSegmentComplex is sortedSegmentAs for complex T: products and
// means (TensorFlow registers SegmentSum, SegmentProd and SegmentMean on
// complex, not SegmentMax and SegmentMin). A mean divides both parts by
// the segment's length.
func sortedSegmentComplex[T complex64 | complex128](dst []T, srcData any, ids []int, row int, kind byte) error {
	if kind == 'M' || kind == 'm' {
		return errComplexOrder(dst)
	}
	var empty T
	if kind == '*' {
		empty = 1
	}
	src, err := segmentStart(dst, srcData, empty)
	if err != nil {
		return err
	}
	segmentRuns(dst, src, ids, row, func(d, r []T) { combineComplexRow(d, r, kind) }, func(d []T, n int) {
		if kind != '/' {
			return
		}
		// Both parts divided by n in float64: for complex64 the quotient
		// rounds to float32 as a float32 division would (binary64 holds
		// more than twice float32's digits).
		c := float64(n)
		for j, v := range d {
			z := complex128(v)
			d[j] = T(complex(real(z)/c, imag(z)/c))
		}
	})
	return nil
}
