package ops

// TopKV2 (and the old TopK, whose k is an attribute): the k largest
// entries of each row along the last axis, with their indices. Ties go to
// the lower index, as TensorFlow's CPU kernel; NaN ranks above every
// number (TensorFlow leaves its order unspecified). With sorted false
// TensorFlow may return the k entries in any order; this kernel returns
// them sorted all the same. Each row keeps a bounded heap of its best k
// so that k = 100 of a detector's million-entry heatmap costs O(n log k).

import (
	"cmp"
	"container/heap"
	"fmt"
	"sort"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("TopKV2", buildTopK)
	Register("TopK", buildTopK)
}

type topKOp struct {
	n     *Node
	k     int // constant k, or -1
	index classify.DType
}

func buildTopK(n *Node, consts []*classify.Tensor) (Op, error) {
	want := 2
	if n.Op == "TopK" {
		want = 1
	}
	if n.NumInputs != want {
		return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
	}
	o := &topKOp{n: n, k: -1, index: classify.Int32}
	if n.Has("index_type") {
		o.index = n.Type("index_type")
		if o.index != classify.Int32 && o.index != classify.Int64 {
			return nil, n.Errorf("index_type %v: want int32 or int64", o.index)
		}
	}
	if n.Op == "TopK" {
		o.k = int(n.Int("k", -1))
		if o.k < 0 {
			return nil, n.Errorf("k %d must be non-negative", o.k)
		}
	} else if consts[1] != nil {
		k, err := arrScalarInt(consts[1])
		if err != nil {
			return nil, n.Errorf("k: %v", err)
		}
		if k < 0 {
			return nil, n.Errorf("k %d must be non-negative", k)
		}
		o.k = k
	}
	return o, nil
}

func (o *topKOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	x := in[0]
	if x.Shape == nil {
		return []classify.TensorInfo{{DType: x.DType}, {DType: o.index}}, nil
	}
	if len(x.Shape) < 1 {
		return nil, o.n.Errorf("input must have rank at least 1")
	}
	last := x.Shape[len(x.Shape)-1]
	if o.k >= 0 && last >= 0 && last < o.k {
		return nil, o.n.Errorf("input %v has fewer than k = %d columns", x.Shape, o.k)
	}
	s := x.Shape.Clone()
	s[len(s)-1] = o.k
	return []classify.TensorInfo{{DType: x.DType, Shape: s}, {DType: o.index, Shape: s.Clone()}}, nil
}

func (o *topKOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	k := o.k
	if k < 0 {
		var err error
		if k, err = arrScalarInt(in[1]); err != nil {
			return nil, o.n.InputErrorf("k: %v", err)
		}
		if k < 0 {
			return nil, o.n.InputErrorf("k %d must be non-negative", k)
		}
	}
	if len(x.Shape) < 1 {
		return nil, o.n.InputErrorf("input must have rank at least 1, got a scalar")
	}
	cols := x.Shape[len(x.Shape)-1]
	if cols < k {
		return nil, o.n.InputErrorf("input %v has fewer than k = %d columns", x.Shape, k)
	}
	s := x.Shape.Clone()
	s[len(s)-1] = k
	vals := ctx.Output(0, x.DType, s...)
	idx := ctx.Output(1, o.index, s...)
	rows := arrProd(x.Shape[:len(x.Shape)-1])
	var err error
	switch d := vals.Data.(type) {
	case []float32:
		err = topKAs(ctx, d, idx, x.Data, rows, cols, k)
	case []float64:
		err = topKAs(ctx, d, idx, x.Data, rows, cols, k)
	case []int32:
		err = topKAs(ctx, d, idx, x.Data, rows, cols, k)
	case []int64:
		err = topKAs(ctx, d, idx, x.Data, rows, cols, k)
	case []uint8:
		err = topKAs(ctx, d, idx, x.Data, rows, cols, k)
	default:
		err = fmt.Errorf("unsupported dtype %v", x.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{vals, idx}, nil
}

// topKBetter reports whether entry (a, i) ranks above (b, j): larger
// value, NaN above all, ties to the lower index.
func topKBetter[T cmp.Ordered](a T, i int, b T, j int) bool {
	an, bn := a != a, b != b
	switch {
	case an && bn:
		return i < j
	case an:
		return true
	case bn:
		return false
	case a != b:
		return a > b
	}
	return i < j
}

// topKHeap keeps the best k entries of a row seen so far, the worst at
// the root.
type topKHeap[T cmp.Ordered] struct {
	src []T
	i   []int
}

func (h *topKHeap[T]) Len() int { return len(h.i) }
func (h *topKHeap[T]) Less(a, b int) bool {
	return topKBetter(h.src[h.i[b]], h.i[b], h.src[h.i[a]], h.i[a])
}
func (h *topKHeap[T]) Swap(a, b int) { h.i[a], h.i[b] = h.i[b], h.i[a] }
func (h *topKHeap[T]) Push(x any)    { h.i = append(h.i, x.(int)) }
func (h *topKHeap[T]) Pop() any {
	x := h.i[len(h.i)-1]
	h.i = h.i[:len(h.i)-1]
	return x
}

func topKAs[T cmp.Ordered](ctx *Ctx, dst []T, idx *classify.Tensor, srcData any, rows, cols, k int) error {
	src, ok := srcData.([]T)
	if !ok {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	if k == 0 || rows == 0 {
		return nil
	}
	i32, _ := idx.Data.([]int32)
	i64, _ := idx.Data.([]int64)
	ewParallel(ctx, rows, cols*4, func(lo, hi int) {
		h := &topKHeap[T]{i: make([]int, 0, k)}
		for r := lo; r < hi; r++ {
			row := src[r*cols : (r+1)*cols]
			h.src, h.i = row, h.i[:0]
			for j := range k {
				h.i = append(h.i, j)
			}
			heap.Init(h)
			for j := k; j < cols; j++ {
				if topKBetter(row[j], j, row[h.i[0]], h.i[0]) {
					h.i[0] = j
					heap.Fix(h, 0)
				}
			}
			sort.Slice(h.i, func(a, b int) bool { return topKBetter(row[h.i[a]], h.i[a], row[h.i[b]], h.i[b]) })
			for j, c := range h.i {
				dst[r*k+j] = row[c]
				if i32 != nil {
					i32[r*k+j] = int32(c)
				} else {
					i64[r*k+j] = int64(c)
				}
			}
		}
	})
	return nil
}
