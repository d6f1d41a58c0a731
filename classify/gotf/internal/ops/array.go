package ops

// The dtype-generic data movement that the array ops (concat.go,
// transpose.go, fill.go, slice.go, pad.go) are built on: arrCopy copies a
// strided region of one tensor into a strided region of another, so each
// op only describes regions, needs no type switch of its own, and works for
// every dtype the engine knows.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

// arrMaxElements caps the tensors that ops whose output size comes from
// values in the graph (Fill, Range, Tile, Pad) may create, so that a hostile
// or broken graph gets an error instead of exhausting memory. It is far
// above any activation of an image model (1x224x224x64 is 3.2M).
const arrMaxElements = 1 << 28

// arrParallelMin is the element count below which a copy stays on one
// goroutine. Above it the rows are split over the package's workers
// (gemm.Parallel), whose caller takes the first rows and helpers the last:
// the halves the layers before wrote on each core, so that a channel
// concat copies from its own core's cache (Inception v3's concats took
// 1.4-2x longer split when the split ignored where the rows were written).
const arrParallelMin = 1 << 15

// arrRegion is a strided view into a tensor's data: element (i0, i1, ...)
// is at Off + i0*Str[0] + i1*Str[1] + ... Strides may be negative (reversed
// views) or zero (broadcast of one element).
type arrRegion struct {
	Off int
	Str []int
}

// arrStrides returns the row-major strides of shape.
func arrStrides(shape []int) []int {
	s := make([]int, len(shape))
	k := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = k
		k *= shape[i]
	}
	return s
}

// arrProd is the product of dims (1 for none).
func arrProd(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// arrSimplify drops dimensions of size 1 and merges neighbours that are
// contiguous in both regions, so that the inner loop of a copy is as long as
// possible (a copy of whole rows becomes one memmove). It returns n == 0
// when the shape has no elements.
func arrSimplify(shape, dStr, sStr []int) (sh, ds, ss []int, n int) {
	n = 1
	for _, d := range shape {
		n *= d
	}
	if n == 0 {
		return nil, nil, nil, 0
	}
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if k := len(sh) - 1; k >= 0 && ds[k] == dStr[i]*d && ss[k] == sStr[i]*d {
			sh[k] *= d
			ds[k], ss[k] = dStr[i], sStr[i]
			continue
		}
		sh = append(sh, d)
		ds = append(ds, dStr[i])
		ss = append(ss, sStr[i])
	}
	if len(sh) == 0 {
		sh, ds, ss = []int{1}, []int{1}, []int{1}
	}
	return sh, ds, ss, n
}

// arrCopy copies the region of src described by s and shape into the region
// of dst described by d. dst and src must hold the same Go element type;
// they may be the same tensor when the two regions do not overlap. Large
// copies are split over up to workers goroutines along their outer
// dimension.
func arrCopy(workers int, shape []int, dst *classify.Tensor, d arrRegion, src *classify.Tensor, s arrRegion) error {
	switch dd := dst.Data.(type) {
	case []float32:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []int32:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []int64:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []bool:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []uint8:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []float64:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []classify.F16:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []classify.BF16:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []int8:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []int16:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []uint16:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []uint32:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []uint64:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []complex64:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case []complex128:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	case [][]byte:
		return arrCopyAs(workers, shape, dd, d, src.Data, s)
	}
	return fmt.Errorf("unsupported data %T", dst.Data)
}

func arrCopyAs[T any](workers int, shape []int, dst []T, d arrRegion, srcData any, s arrRegion) error {
	src, ok := srcData.([]T)
	if !ok {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	sh, ds, ss, n := arrSimplify(shape, d.Str, s.Str)
	if n == 0 {
		return nil
	}
	if n < arrParallelMin {
		workers = 1
	}
	if workers = min(workers, sh[0]); workers <= 1 {
		arrCopyT(dst, d.Off, ds, src, s.Off, ss, sh)
		return nil
	}
	gemm.Parallel(workers, sh[0], func(lo, hi int) {
		part := append([]int{hi - lo}, sh[1:]...)
		arrCopyT(dst, d.Off+lo*ds[0], ds, src, s.Off+lo*ss[0], ss, part)
	})
	return nil
}

// arrCopyT is the serial kernel of arrCopy on a simplified shape (no empty
// dimension, rank >= 1).
func arrCopyT[T any](dst []T, dOff int, dStr []int, src []T, sOff int, sStr []int, shape []int) {
	last := len(shape) - 1
	n, di, si := shape[last], dStr[last], sStr[last]
	if di == 1 && si != 1 && n >= arrBlock {
		// The destination is contiguous along a dimension the source
		// strides through: a transpose. When another dimension is
		// contiguous in the source, copy in square tiles so both sides
		// stay in cache instead of touching one source line per element.
		for k := last - 1; k >= 0; k-- {
			if sStr[k] == 1 && shape[k] >= arrBlock {
				arrTransposeT(dst, dOff, dStr, src, sOff, sStr, shape, k)
				return
			}
		}
	}
	var buf [8]int
	var idx []int
	if last <= len(buf) {
		idx = buf[:last]
	} else {
		idx = make([]int, last)
	}
	dp, sp := dOff, sOff
	for {
		switch {
		case di == 1 && si == 1:
			copy(dst[dp:dp+n], src[sp:sp+n])
		case si == 0:
			v := src[sp]
			for k, j := 0, dp; k < n; k, j = k+1, j+di {
				dst[j] = v
			}
		default:
			for k, j, i := 0, dp, sp; k < n; k, j, i = k+1, j+di, i+si {
				dst[j] = src[i]
			}
		}
		k := last - 1
		for ; k >= 0; k-- {
			idx[k]++
			dp += dStr[k]
			sp += sStr[k]
			if idx[k] < shape[k] {
				break
			}
			dp -= dStr[k] * shape[k]
			sp -= sStr[k] * shape[k]
			idx[k] = 0
		}
		if k < 0 {
			return
		}
	}
}

// arrBlock is the side of the square tiles of arrTransposeT: 16 float32 are
// one cache line.
const arrBlock = 16

// arrTransposeT is arrCopyT for a shape whose last dimension is contiguous
// in dst and whose dimension k is contiguous in src: for every index of the
// other dimensions it copies the (k, last) plane tile by tile.
func arrTransposeT[T any](dst []T, dOff int, dStr []int, src []T, sOff int, sStr []int, shape []int, k int) {
	last := len(shape) - 1
	rows, rowD := shape[k], dStr[k]
	cols, colS := shape[last], sStr[last]
	var oshape, od, os []int
	for i := range last {
		if i != k {
			oshape = append(oshape, shape[i])
			od = append(od, dStr[i])
			os = append(os, sStr[i])
		}
	}
	idx := make([]int, len(oshape))
	dp, sp := dOff, sOff
	for {
		for i0 := 0; i0 < rows; i0 += arrBlock {
			i1 := min(i0+arrBlock, rows)
			for j0 := 0; j0 < cols; j0 += arrBlock {
				j1 := min(j0+arrBlock, cols)
				for i := i0; i < i1; i++ {
					d := dst[dp+i*rowD+j0 : dp+i*rowD+j1]
					s := sp + i + j0*colS
					for j := range d {
						d[j] = src[s]
						s += colS
					}
				}
			}
		}
		m := len(oshape) - 1
		for ; m >= 0; m-- {
			idx[m]++
			dp += od[m]
			sp += os[m]
			if idx[m] < oshape[m] {
				break
			}
			dp -= od[m] * oshape[m]
			sp -= os[m] * oshape[m]
			idx[m] = 0
		}
		if m < 0 {
			return
		}
	}
}

// arrFill sets every element of the region d (of the given shape) of dst to
// element i of v.
func arrFill(workers int, shape []int, dst *classify.Tensor, d arrRegion, v *classify.Tensor, i int) error {
	return arrCopy(workers, shape, dst, d, v, arrRegion{Off: i, Str: make([]int, len(shape))})
}

// arrFillAll sets every element of t to element i of v.
func arrFillAll(workers int, t, v *classify.Tensor, i int) error {
	n := t.Shape.NumElements()
	return arrFill(workers, []int{n}, t, arrRegion{Str: []int{1}}, v, i)
}

// arrContiguous reports whether the region src of the given shape is one
// contiguous run of elements in row-major order, so that it can be returned
// as a view instead of copied.
func arrContiguous(shape []int, s arrRegion) bool {
	sh, _, ss, n := arrSimplify(shape, arrStrides(shape), s.Str)
	return n == 0 || len(sh) == 1 && ss[0] == 1
}

// arrView returns a tensor of the given shape sharing t's data from element
// off on. The slice's capacity is cut so that the view cannot reach beyond
// its own elements.
func arrView(t *classify.Tensor, off int, shape []int) *classify.Tensor {
	lo, hi := off, off+arrProd(shape)
	var data any
	switch d := t.Data.(type) {
	case []float32:
		data = d[lo:hi:hi]
	case []int32:
		data = d[lo:hi:hi]
	case []int64:
		data = d[lo:hi:hi]
	case []bool:
		data = d[lo:hi:hi]
	case []uint8:
		data = d[lo:hi:hi]
	case []float64:
		data = d[lo:hi:hi]
	case []classify.F16:
		data = d[lo:hi:hi]
	case []classify.BF16:
		data = d[lo:hi:hi]
	case []int8:
		data = d[lo:hi:hi]
	case []int16:
		data = d[lo:hi:hi]
	case []uint16:
		data = d[lo:hi:hi]
	case []uint32:
		data = d[lo:hi:hi]
	case []uint64:
		data = d[lo:hi:hi]
	case []complex64:
		data = d[lo:hi:hi]
	case []complex128:
		data = d[lo:hi:hi]
	case [][]byte:
		data = d[lo:hi:hi]
	}
	return &classify.Tensor{DType: t.DType, Shape: classify.Shape(shape).Clone(), Data: data}
}

// arrExtract returns the region s (of the given shape) of t as output i of
// the running node: a view when the region is contiguous, else a copy into
// a buffer from ctx.
func arrExtract(ctx *Ctx, i int, t *classify.Tensor, shape []int, s arrRegion) (*classify.Tensor, error) {
	if arrProd(shape) == 0 {
		// An empty region's offset may point outside the data (a reversed
		// slice clamped before the first element starts at index -1).
		return ctx.Output(i, t.DType, shape...), nil
	}
	if arrContiguous(shape, s) {
		return arrView(t, s.Off, shape), nil
	}
	out := ctx.Output(i, t.DType, shape...)
	return out, arrCopy(ctx.Workers(), shape, out, arrRegion{Str: arrStrides(shape)}, t, s)
}

// arrAxis maps a possibly negative axis into [0, rank), reporting whether it
// was in [-rank, rank).
func arrAxis(axis, rank int) (int, bool) {
	if axis < -rank || axis >= rank {
		return 0, false
	}
	if axis < 0 {
		axis += rank
	}
	return axis, true
}

// arrMergeDim merges two static sizes of one dimension (-1 unknown).
func arrMergeDim(a, b int) (int, bool) {
	switch {
	case a < 0:
		return b, true
	case b < 0 || a == b:
		return a, true
	}
	return 0, false
}

// arrKnown reports whether a static shape is fully known.
func arrKnown(s classify.Shape) bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

// arrUnknown returns a shape of the given rank with every dimension
// unknown, or nil (unknown rank) for rank < 0.
func arrUnknown(rank int) classify.Shape {
	if rank < 0 {
		return nil
	}
	s := make(classify.Shape, rank)
	for i := range s {
		s[i] = -1
	}
	return s
}

// arrConstInts reads consts[i] as ints when it is a constant, for builders
// that precompute from constant shape inputs. ok is false when input i is
// not constant; err is set when it is constant but not an integer vector.
func arrConstInts(consts []*classify.Tensor, i int) (vals []int, ok bool, err error) {
	if i >= len(consts) || consts[i] == nil {
		return nil, false, nil
	}
	vals, err = arrInts(consts[i])
	return vals, err == nil, err
}
