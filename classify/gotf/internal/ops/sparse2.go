package ops

// More of the sparse ops feature-column and tabular graphs use, on
// SparseTensors given as indices (int64 [nnz, rank]), values ([nnz]) and
// dense_shape (int64 [rank]): SparseReorder (row-major order, stable),
// SparseTensorDenseAdd, SparseDenseCwiseAdd/Mul/Div (the dense operand
// broadcast to the sparse shape, one value per stored entry),
// SparseReduceSum/Max (dense result, zero where no entry falls, Max over
// the stored entries only, as sparse_reduce_op.cc) and their *Sparse forms,
// and SparseMatMul (a dense MatMul whose sparsity hints change nothing).

import (
	"encoding/binary"
	"math"
	"slices"
	"sort"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("SparseReorder", sparseOpBuilder(3, sparseReorder))
	Register("SparseTensorDenseAdd", sparseOpBuilder(4, sparseTensorDenseAdd))
	for op, k := range map[string]byte{"SparseDenseCwiseAdd": '+', "SparseDenseCwiseMul": '*', "SparseDenseCwiseDiv": '/'} {
		Register(op, sparseOpBuilder(4, sparseDenseCwise(k)))
	}
	for op, k := range map[string]byte{"SparseReduceSum": '+', "SparseReduceMax": 'M'} {
		Register(op, sparseOpBuilder(4, sparseReduce(k, false)))
		Register(op+"Sparse", sparseOpBuilder(4, sparseReduce(k, true)))
	}
	Register("SparseMatMul", buildSparseMatMul)
}

// sparseFn computes a sparse op's outputs.
type sparseFn func(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error)

type sparseOp struct {
	n *Node
	f sparseFn
}

func sparseOpBuilder(nin int, f sparseFn) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != nin {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, nin)
		}
		return sparseOp{n, f}, nil
	}
}

func (o sparseOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) { return o.f(o.n, in) }

// sparseArgs are a checked SparseTensor: every index inside dense_shape.
type sparseArgs struct {
	idx   []int64 // nnz * rank
	vals  *classify.Tensor
	shape []int64
	nnz   int
	rank  int
}

func sparseInputs(n *Node, in []*classify.Tensor) (*sparseArgs, error) {
	idx, err := int64Input(n, in, 0, 2)
	if err != nil {
		return nil, err
	}
	shape, err := int64Input(n, in, 2, 1)
	if err != nil {
		return nil, err
	}
	a := &sparseArgs{idx: idx, vals: in[1], shape: shape, nnz: in[0].Shape[0], rank: in[0].Shape[1]}
	if a.rank != len(shape) {
		return nil, n.InputErrorf("indices of rank %d for a dense shape of %d dimensions", a.rank, len(shape))
	}
	if len(a.vals.Shape) != 1 || a.vals.Shape[0] != a.nnz {
		return nil, n.InputErrorf("values %v for %d indices", a.vals.Shape, a.nnz)
	}
	dims := make([]int, len(shape))
	for i, d := range shape {
		if d < 0 || d > 1<<40 {
			return nil, n.InputErrorf("dense shape %v has a bad dimension", shape)
		}
		dims[i] = int(d)
	}
	for e := range a.nnz {
		for j := range a.rank {
			if v := idx[e*a.rank+j]; v < 0 || v >= shape[j] {
				return nil, n.InputErrorf("indices[%d] = %v is out of bounds for shape %v", e, idx[e*a.rank:(e+1)*a.rank], shape)
			}
		}
	}
	return a, nil
}

// flat is the row-major offset of entry e.
func (a *sparseArgs) flat(e int) int {
	off := 0
	for j := range a.rank {
		off = off*int(a.shape[j]) + int(a.idx[e*a.rank+j])
	}
	return off
}

func (a *sparseArgs) dims() []int {
	d := make([]int, len(a.shape))
	for i, v := range a.shape {
		d[i] = int(v)
	}
	return d
}

// values as float64, int64 (exact for the integer types).
type numVals struct {
	f []float64
	i []int64
}

func numbersOf(t *classify.Tensor) (numVals, bool) {
	switch t.DType {
	case classify.Float32, classify.Float64:
		f, _ := asFloat64s(t)
		return numVals{f: f}, true
	case classify.Int32, classify.Int64:
		i, _ := ints(t)
		return numVals{i: i}, true
	}
	return numVals{}, false
}

// store writes v (float64 or int64) as dt.
func storeNums(dt classify.DType, f []float64, i []int64, shape ...int) *classify.Tensor {
	t := classify.NewTensor(dt, shape...)
	switch d := t.Data.(type) {
	case []float32:
		for k, v := range f {
			d[k] = float32(v)
		}
	case []float64:
		copy(d, f)
	case []int32:
		for k, v := range i {
			d[k] = int32(v)
		}
	case []int64:
		copy(d, i)
	}
	return t
}

func sparseReorder(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := sparseInputs(n, in)
	if err != nil {
		return nil, err
	}
	order := make([]int, a.nnz)
	for i := range order {
		order[i] = i
	}
	row := func(e int) []int64 { return a.idx[e*a.rank : (e+1)*a.rank] }
	sort.SliceStable(order, func(x, y int) bool { return slices.Compare(row(order[x]), row(order[y])) < 0 })
	idx := make([]int64, len(a.idx))
	for k, e := range order {
		copy(idx[k*a.rank:(k+1)*a.rank], a.idx[e*a.rank:(e+1)*a.rank])
	}
	vals := classify.NewTensor(a.vals.DType, a.nnz)
	if err := gatherInto(vals, a.vals, order, gatherGeom{batches: 1, outer: 1, dim: a.nnz, inner: 1}); err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{{DType: classify.Int64, Shape: classify.Shape{a.nnz, a.rank}, Data: idx}, vals}, nil
}

func sparseTensorDenseAdd(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := sparseInputs(n, in)
	if err != nil {
		return nil, err
	}
	b := in[3]
	if !classify.Shape(a.dims()).Equal(b.Shape) || b.DType != a.vals.DType {
		return nil, n.InputErrorf("dense %v %v must match the sparse tensor's %v %v", b.DType, b.Shape, a.vals.DType, a.shape)
	}
	av, ok := numbersOf(a.vals)
	bv, _ := numbersOf(b)
	if !ok {
		return nil, n.InputErrorf("unsupported dtype %v", b.DType)
	}
	// numbersOf may alias b's data: add into copies.
	f, i := slices.Clone(bv.f), slices.Clone(bv.i)
	for e := range a.nnz {
		k := a.flat(e)
		if av.f != nil {
			f[k] += av.f[e]
		} else {
			i[k] += av.i[e]
		}
	}
	return []*classify.Tensor{storeNums(b.DType, f, i, b.Shape...)}, nil
}

func sparseDenseCwise(kind byte) sparseFn {
	return func(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error) {
		a, err := sparseInputs(n, in)
		if err != nil {
			return nil, err
		}
		d := in[3]
		if d.DType != a.vals.DType {
			return nil, n.InputErrorf("dense is %v, values %v", d.DType, a.vals.DType)
		}
		// The dense operand broadcasts to the sparse shape (only that way).
		if len(d.Shape) > a.rank {
			return nil, n.InputErrorf("dense %v cannot broadcast to the sparse shape %v", d.Shape, a.shape)
		}
		lead := a.rank - len(d.Shape)
		for j, s := range d.Shape {
			if s != 1 && int64(s) != a.shape[lead+j] {
				return nil, n.InputErrorf("dense %v cannot broadcast to the sparse shape %v", d.Shape, a.shape)
			}
		}
		av, ok := numbersOf(a.vals)
		dv, _ := numbersOf(d)
		if !ok {
			return nil, n.InputErrorf("unsupported dtype %v", d.DType)
		}
		f := make([]float64, len(av.f))
		i := make([]int64, len(av.i))
		for e := range a.nnz {
			k := 0
			for j, s := range d.Shape {
				c := 0
				if s != 1 {
					c = int(a.idx[e*a.rank+lead+j])
				}
				k = k*s + c
			}
			if av.f != nil {
				x, y := av.f[e], dv.f[k]
				switch kind {
				case '+':
					f[e] = x + y
				case '*':
					f[e] = x * y
				default:
					f[e] = x / y
				}
				continue
			}
			x, y := av.i[e], dv.i[k]
			switch kind {
			case '+':
				i[e] = x + y
			case '*':
				i[e] = x * y
			default:
				if y == 0 {
					return nil, n.InputErrorf("%v", errIntDivZero)
				}
				i[e] = x / y
			}
		}
		return []*classify.Tensor{storeNums(d.DType, f, i, a.nnz)}, nil
	}
}

func sparseReduce(kind byte, sparseOut bool) sparseFn {
	return func(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error) {
		a, err := sparseInputs(n, in)
		if err != nil {
			return nil, err
		}
		axes, err := arrInts(in[3])
		if err != nil || len(in[3].Shape) > 1 {
			return nil, n.InputErrorf("reduction_axes must be an int32 vector or scalar, got %v %v", in[3].DType, in[3].Shape)
		}
		reduced := make([]bool, a.rank)
		for _, x := range axes {
			if x < -a.rank || x >= a.rank {
				return nil, n.InputErrorf("invalid reduction dimension %d, for input with %d dimensions", x, a.rank)
			}
			reduced[(x+a.rank)%a.rank] = true
		}
		keep := n.Bool("keep_dims", false)
		var outShape, groupDims []int
		for j, r := range reduced {
			switch {
			case !r:
				outShape = append(outShape, int(a.shape[j]))
				groupDims = append(groupDims, j)
			case keep:
				outShape = append(outShape, 1)
			}
		}
		av, ok := numbersOf(a.vals)
		if !ok {
			return nil, n.InputErrorf("unsupported dtype %v", a.vals.DType)
		}
		// Group the entries by their kept coordinates, in row-major order.
		type group struct {
			key []int64
			f   float64
			i   int64
		}
		byKey := map[string]*group{}
		var groups []*group
		for e := range a.nnz {
			key := make([]int64, len(groupDims))
			for k, j := range groupDims {
				key[k] = a.idx[e*a.rank+j]
			}
			s := string(int64Bytes(key))
			g := byKey[s]
			first := g == nil
			if first {
				g = &group{key: key}
				byKey[s] = g
				groups = append(groups, g)
			}
			var f float64
			var i int64
			if av.f != nil {
				f = av.f[e]
			} else {
				i = av.i[e]
			}
			switch {
			case first:
				g.f, g.i = f, i
			case kind == '+':
				g.f += f
				g.i += i
			default:
				g.f, g.i = max(g.f, f), max(g.i, i)
			}
		}
		slices.SortFunc(groups, func(x, y *group) int { return slices.Compare(x.key, y.key) })
		if sparseOut {
			rank := len(outShape)
			idx := make([]int64, len(groups)*rank)
			f := make([]float64, 0, len(groups))
			iv := make([]int64, 0, len(groups))
			for k, g := range groups {
				c := 0
				for j, r := range reduced {
					switch {
					case !r:
						idx[k*rank+c] = g.key[slices.Index(groupDims, j)]
						c++
					case keep:
						c++
					}
				}
				f, iv = append(f, g.f), append(iv, g.i)
			}
			shape := make([]int64, len(outShape))
			for j, s := range outShape {
				shape[j] = int64(s)
			}
			return []*classify.Tensor{
				{DType: classify.Int64, Shape: classify.Shape{len(groups), rank}, Data: idx},
				storeNums(a.vals.DType, f, iv, len(groups)),
				{DType: classify.Int64, Shape: classify.Shape{len(shape)}, Data: shape},
			}, nil
		}
		if err := arrCheckDims(outShape); err != nil {
			return nil, n.InputErrorf("%v", err)
		}
		size := arrProd(outShape)
		f := make([]float64, size)
		iv := make([]int64, size)
		for _, g := range groups {
			k := 0
			for c, j := range groupDims {
				k = k*int(a.shape[j]) + int(g.key[c])
			}
			f[k], iv[k] = g.f, g.i
		}
		if av.f == nil {
			f = nil
		} else {
			iv = nil
		}
		return []*classify.Tensor{storeNums(a.vals.DType, f, iv, outShape...)}, nil
	}
}

// int64Bytes encodes v as a map key.
func int64Bytes(v []int64) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func buildSparseMatMul(n *Node, consts []*classify.Tensor) (Op, error) {
	ta, tb := n.Type("Ta"), n.Type("Tb")
	if ta != tb || (ta != classify.Float32 && ta != classify.Invalid) {
		return nil, n.Errorf("Ta %v and Tb %v: only float32 operands", ta, tb)
	}
	c := *n
	c.Attr = map[string]*apb.AttrValue{}
	for k, v := range n.Attr {
		c.Attr[k] = v
	}
	if a, ok := n.Attr["Ta"]; ok {
		c.Attr["T"] = a
	}
	b, _ := Lookup("MatMul")
	return b(&c, consts)
}

func init() {
	Register("SparseAdd", sparseOpBuilder(7, sparseAdd))
	Register("SparseSoftmax", sparseOpBuilder(3, sparseSoftmax))
	Register("SparseSlice", sparseOpBuilder(5, sparseSlice))
}

// sparseAdd merges two SparseTensors of one shape whose indices are in
// row-major order (as TensorFlow requires): entries present in one only
// are kept; coinciding entries are summed and kept when |sum| >= thresh
// (sparse_add_op.cc).
func sparseAdd(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := sparseInputs(n, in[0:3])
	if err != nil {
		return nil, err
	}
	b, err := sparseInputs(n, in[3:6])
	if err != nil {
		return nil, err
	}
	if !slices.Equal(a.shape, b.shape) || a.vals.DType != b.vals.DType {
		return nil, n.InputErrorf("operands' shapes %v and %v (or dtypes %v and %v) do not match", a.shape, b.shape, a.vals.DType, b.vals.DType)
	}
	av, ok := numbersOf(a.vals)
	bv, _ := numbersOf(b.vals)
	tv, ok2 := asFloat64s(in[6])
	if !ok || !ok2 || in[6].Len() != 1 {
		return nil, n.InputErrorf("unsupported dtype %v, or thresh is not a scalar", a.vals.DType)
	}
	thresh := tv[0]
	row := func(s *sparseArgs, e int) []int64 { return s.idx[e*s.rank : (e+1)*s.rank] }
	var idx []int64
	var f []float64
	var iv []int64
	push := func(r []int64, x float64, y int64) {
		idx = append(idx, r...)
		f, iv = append(f, x), append(iv, y)
	}
	val := func(v numVals, e int) (float64, int64) {
		if v.f != nil {
			return v.f[e], 0
		}
		return 0, v.i[e]
	}
	i, j := 0, 0
	for i < a.nnz || j < b.nnz {
		c := 1
		switch {
		case i == a.nnz:
			c = 1
		case j == b.nnz:
			c = -1
		default:
			c = slices.Compare(row(a, i), row(b, j))
		}
		switch c {
		case -1:
			x, y := val(av, i)
			push(row(a, i), x, y)
			i++
		case 1:
			x, y := val(bv, j)
			push(row(b, j), x, y)
			j++
		default:
			x1, y1 := val(av, i)
			x2, y2 := val(bv, j)
			s, si := x1+x2, y1+y2
			mag := s
			if av.f == nil {
				mag = float64(si)
			}
			if mag < 0 {
				mag = -mag
			}
			if thresh <= mag {
				push(row(a, i), s, si)
			}
			i++
			j++
		}
	}
	nnz := len(f)
	if av.f == nil {
		f = nil
	} else {
		iv = nil
	}
	return []*classify.Tensor{
		{DType: classify.Int64, Shape: classify.Shape{nnz, a.rank}, Data: idx},
		storeNums(a.vals.DType, f, iv, nnz),
		{DType: classify.Int64, Shape: classify.Shape{a.rank}, Data: slices.Clone(a.shape)},
	}, nil
}

// sparseSoftmax: softmax over the stored entries of each innermost row
// (entries sharing all but the last index), indices in row-major order.
func sparseSoftmax(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := sparseInputs(n, in)
	if err != nil {
		return nil, err
	}
	if a.rank < 2 {
		return nil, n.InputErrorf("input should have rank >= 2, got %d", a.rank)
	}
	v, ok := asFloat64s(a.vals)
	if !ok || (a.vals.DType != classify.Float32 && a.vals.DType != classify.Float64) {
		return nil, n.InputErrorf("values must be float32 or float64, got %v", a.vals.DType)
	}
	out := make([]float64, a.nnz)
	for s := 0; s < a.nnz; {
		e := s + 1
		for e < a.nnz && slices.Equal(a.idx[e*a.rank:(e+1)*a.rank-1], a.idx[s*a.rank:(s+1)*a.rank-1]) {
			e++
		}
		mx := v[s]
		for _, x := range v[s:e] {
			mx = max(mx, x)
		}
		sum := 0.0
		for k := s; k < e; k++ {
			out[k] = math.Exp(v[k] - mx)
			sum += out[k]
		}
		for k := s; k < e; k++ {
			out[k] /= sum
		}
		s = e
	}
	return []*classify.Tensor{storeNums(a.vals.DType, out, nil, a.nnz)}, nil
}

// sparseSlice keeps the entries inside [start, start+size) (size clipped
// to the shape), with indices relative to start (sparse_slice_op.cc).
func sparseSlice(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := sparseInputs(n, in[:3])
	if err != nil {
		return nil, err
	}
	start, err := int64Input(n, in, 3, 1)
	if err != nil {
		return nil, err
	}
	size, err := int64Input(n, in, 4, 1)
	if err != nil {
		return nil, err
	}
	if len(start) != a.rank || len(size) != a.rank {
		return nil, n.InputErrorf("start %v and size %v must have %d values", start, size, a.rank)
	}
	shape := make([]int64, a.rank)
	for j := range shape {
		if start[j] < 0 || size[j] < 0 {
			return nil, n.InputErrorf("start %v and size %v must be non-negative", start, size)
		}
		shape[j] = max(0, min(start[j]+size[j], a.shape[j])-start[j])
	}
	var keep []int
	var idx []int64
	for e := range a.nnz {
		r := a.idx[e*a.rank : (e+1)*a.rank]
		in := true
		for j, x := range r {
			if x < start[j] || x >= start[j]+shape[j] {
				in = false
				break
			}
		}
		if in {
			keep = append(keep, e)
			for j, x := range r {
				idx = append(idx, x-start[j])
			}
		}
	}
	vals := classify.NewTensor(a.vals.DType, len(keep))
	if err := gatherInto(vals, a.vals, keep, gatherGeom{batches: 1, outer: 1, dim: a.nnz, inner: 1}); err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{
		{DType: classify.Int64, Shape: classify.Shape{len(keep), a.rank}, Data: idx},
		vals,
		{DType: classify.Int64, Shape: classify.Shape{a.rank}, Data: shape},
	}, nil
}

func init() { Register("SparseConcat", buildSparseConcat) }

type sparseConcatOp struct {
	n   *Node
	num int
	dim int
}

func buildSparseConcat(n *Node, _ []*classify.Tensor) (Op, error) {
	num := int(n.Int("N", 0))
	if num < 2 || n.NumInputs != 3*num {
		return nil, n.Errorf("N %d: want N >= 2 and 3N inputs, has %d", num, n.NumInputs)
	}
	return &sparseConcatOp{n: n, num: num, dim: int(n.Int("concat_dim", 0))}, nil
}

// Run concatenates along concat_dim, offsetting each input's indices by
// the sizes before it, and returns the entries in row-major order (the
// tf.sparse.concat docstring's output).
func (o *sparseConcatOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	var parts []*sparseArgs
	for k := range o.num {
		a, err := sparseInputs(o.n, []*classify.Tensor{in[k], in[o.num+k], in[2*o.num+k]})
		if err != nil {
			return nil, err
		}
		parts = append(parts, a)
	}
	first := parts[0]
	rank := first.rank
	dim := o.dim
	if dim < 0 {
		dim += rank
	}
	if dim < 0 || dim >= rank {
		return nil, o.n.InputErrorf("concat_dim %d is out of range for rank %d", o.dim, rank)
	}
	shape := slices.Clone(first.shape)
	shape[dim] = 0
	var rows [][]int64
	var src []int // entry e of the values of all parts, in order
	valsAll := &classify.Tensor{DType: first.vals.DType}
	var pieces []*classify.Tensor
	total := 0
	for k, a := range parts {
		if a.rank != rank || a.vals.DType != first.vals.DType {
			return nil, o.n.InputErrorf("input %d is %v of rank %d, input 0 %v of rank %d", k, a.vals.DType, a.rank, first.vals.DType, rank)
		}
		for j := range rank {
			if j != dim && a.shape[j] != first.shape[j] {
				return nil, o.n.InputErrorf("input %d has shape %v, incompatible with %v except along %d", k, a.shape, first.shape, dim)
			}
		}
		for e := range a.nnz {
			r := slices.Clone(a.idx[e*rank : (e+1)*rank])
			r[dim] += shape[dim]
			rows = append(rows, r)
			src = append(src, total+e)
		}
		shape[dim] += a.shape[dim]
		total += a.nnz
		pieces = append(pieces, a.vals)
	}
	valsAll.Shape = classify.Shape{total}
	valsAll.Data = classify.NewTensor(first.vals.DType, total).Data
	off := 0
	for _, p := range pieces {
		if err := arrCopy(1, []int{p.Len()}, valsAll, arrRegion{Off: off, Str: []int{1}}, p, arrRegion{Str: []int{1}}); err != nil {
			return nil, o.n.InputErrorf("%v", err)
		}
		off += p.Len()
	}
	order := make([]int, total)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return slices.Compare(rows[order[x]], rows[order[y]]) < 0 })
	idx := make([]int64, 0, total*rank)
	perm := make([]int, total)
	for k, e := range order {
		idx = append(idx, rows[e]...)
		perm[k] = src[e]
	}
	vals := classify.NewTensor(first.vals.DType, total)
	if err := gatherInto(vals, valsAll, perm, gatherGeom{batches: 1, outer: 1, dim: total, inner: 1}); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{
		{DType: classify.Int64, Shape: classify.Shape{total, rank}, Data: idx},
		vals,
		{DType: classify.Int64, Shape: classify.Shape{rank}, Data: shape},
	}, nil
}

func init() { Register("SparseSplit", buildSparseSplit) }

type sparseSplitOp struct {
	n   *Node
	num int
}

func buildSparseSplit(n *Node, _ []*classify.Tensor) (Op, error) {
	num := int(n.Int("num_split", 0))
	if n.NumInputs != 4 || num < 1 || num > 1<<16 {
		return nil, n.Errorf("needs 4 inputs (split_dim, indices, values, shape) and num_split in [1, 65536]; has %d inputs, num_split %d", n.NumInputs, num)
	}
	return &sparseSplitOp{n: n, num: num}, nil
}

// Run splits along split_dim into num_split pieces, the first
// size % num_split one longer, each keeping its entries in input order
// (SparseTensor::Split); outputs are all indices, then all values, then
// all shapes.
func (o *sparseSplitOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	a, err := sparseInputs(o.n, in[1:4])
	if err != nil {
		return nil, err
	}
	d, err := arrScalarInt(in[0])
	if err != nil {
		return nil, o.n.InputErrorf("split_dim: %v", err)
	}
	if d < 0 {
		d += a.rank
	}
	if d < 0 || d >= a.rank {
		return nil, o.n.InputErrorf("split_dim %d is out of range for rank %d", d, a.rank)
	}
	size := a.shape[d]
	if int64(o.num) > size {
		return nil, o.n.InputErrorf("split_dim size %d is smaller than num_split %d", size, o.num)
	}
	base, extra := size/int64(o.num), size%int64(o.num)
	start := make([]int64, o.num+1)
	for k := range o.num {
		w := base
		if int64(k) < extra {
			w++
		}
		start[k+1] = start[k] + w
	}
	piece := func(x int64) int {
		k := sort.Search(o.num, func(k int) bool { return start[k+1] > x })
		return k
	}
	idx := make([][]int64, o.num)
	keep := make([][]int, o.num)
	for e := range a.nnz {
		r := a.idx[e*a.rank : (e+1)*a.rank]
		k := piece(r[d])
		rr := slices.Clone(r)
		rr[d] -= start[k]
		idx[k] = append(idx[k], rr...)
		keep[k] = append(keep[k], e)
	}
	out := make([]*classify.Tensor, 3*o.num)
	for k := range o.num {
		out[k] = &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{len(keep[k]), a.rank}, Data: append([]int64{}, idx[k]...)}
		vals := classify.NewTensor(a.vals.DType, len(keep[k]))
		if err := gatherInto(vals, a.vals, keep[k], gatherGeom{batches: 1, outer: 1, dim: a.nnz, inner: 1}); err != nil {
			return nil, o.n.InputErrorf("%v", err)
		}
		out[o.num+k] = vals
		shape := slices.Clone(a.shape)
		shape[d] = start[k+1] - start[k]
		out[2*o.num+k] = &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{a.rank}, Data: shape}
	}
	return out, nil
}
