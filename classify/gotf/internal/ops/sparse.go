package ops

import (
	"math"
	"sort"

	"github.com/classifyd/classifyd/classify"
)

// The sparse ops TF1 feature columns run on ParseExample's sparse outputs:
// safe_embedding_lookup_sparse reshapes the ids to 2-D (SparseReshape),
// gives empty rows a default id (SparseFillEmptyRows) and combines the
// embeddings of each row (SparseSegmentSum/Mean/SqrtN).
func init() {
	Register("SparseReshape", buildSparseReshape)
	Register("SparseFillEmptyRows", buildSparseFillEmptyRows)
	for _, c := range []string{"Sum", "Mean", "SqrtN"} {
		Register("SparseSegment"+c, buildSparseSegment(c, false))
		Register("SparseSegment"+c+"WithNumSegments", buildSparseSegment(c, true))
	}
}

// int64Input checks input i is an int64 tensor of the given rank.
func int64Input(n *Node, in []*classify.Tensor, i, rank int) ([]int64, error) {
	d, ok := in[i].Data.([]int64)
	if !ok || len(in[i].Shape) != rank {
		return nil, n.InputErrorf("input %d is %v %v, want int64 of rank %d", i, in[i].DType, in[i].Shape, rank)
	}
	return d, nil
}

type sparseReshape struct{ n *Node }

func buildSparseReshape(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("has %d inputs, want 3", n.NumInputs)
	}
	return sparseReshape{n}, nil
}

// Run maps each index to its row-major position in the old shape and back
// to coordinates in the new one (one -1 dimension inferred).
func (o sparseReshape) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	idx, err := int64Input(o.n, in, 0, 2)
	if err != nil {
		return nil, err
	}
	old, err := int64Input(o.n, in, 1, 1)
	if err != nil {
		return nil, err
	}
	want, err := int64Input(o.n, in, 2, 1)
	if err != nil {
		return nil, err
	}
	r := len(old)
	if in[0].Shape[1] != r {
		return nil, o.n.InputErrorf("indices of rank %d for a shape of rank %d", in[0].Shape[1], r)
	}
	total := int64(1)
	for _, d := range old {
		if d < 0 || (d > 0 && total > math.MaxInt64/d) {
			return nil, o.n.InputErrorf("input shape %v", old)
		}
		total *= d
	}
	shape := append([]int64(nil), want...)
	unknown, known := -1, int64(1)
	for i, d := range shape {
		switch {
		case d == -1 && unknown < 0:
			unknown = i
		case d < 0:
			return nil, o.n.InputErrorf("new shape %v", want)
		default:
			if d > 0 && known > math.MaxInt64/d {
				return nil, o.n.InputErrorf("new shape %v", want)
			}
			known *= d
		}
	}
	if unknown >= 0 {
		if known == 0 || total%known != 0 {
			return nil, o.n.InputErrorf("cannot reshape %v to %v", old, want)
		}
		shape[unknown] = total / known
	} else if known != total {
		return nil, o.n.InputErrorf("cannot reshape %v (%d elements) to %v", old, total, want)
	}
	n := in[0].Shape[0]
	out := make([]int64, n*len(shape))
	for k := range n {
		pos := int64(0)
		for j := range r {
			v := idx[k*r+j]
			if v < 0 || v >= old[j] {
				return nil, o.n.InputErrorf("index %v outside shape %v", idx[k*r:k*r+r], old)
			}
			pos = pos*old[j] + v
		}
		for j := len(shape) - 1; j >= 0; j-- {
			out[k*len(shape)+j] = pos % shape[j]
			pos /= shape[j]
		}
	}
	return []*classify.Tensor{
		{DType: classify.Int64, Shape: classify.Shape{n, len(shape)}, Data: out},
		{DType: classify.Int64, Shape: classify.Shape{len(shape)}, Data: shape},
	}, nil
}

type sparseFillEmptyRows struct{ n *Node }

func buildSparseFillEmptyRows(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 4 {
		return nil, n.Errorf("has %d inputs, want 4", n.NumInputs)
	}
	return sparseFillEmptyRows{n}, nil
}

// Run gives every row without entries one entry (row, 0, ...) of
// default_value; entries keep their order within a row, rows come in
// order. Outputs: indices, values, empty_row_indicator,
// reverse_index_map (where each input entry went).
func (o sparseFillEmptyRows) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	idx, err := int64Input(o.n, in, 0, 2)
	if err != nil {
		return nil, err
	}
	shape, err := int64Input(o.n, in, 2, 1)
	if err != nil {
		return nil, err
	}
	vals, def := in[1], in[3]
	n, r := in[0].Shape[0], in[0].Shape[1]
	if vals.Len() != n || len(shape) != r || r < 1 || def.Len() != 1 || def.DType != vals.DType {
		return nil, o.n.InputErrorf("indices %v, values %v %v, dense_shape %v, default %v %v do not agree", in[0].Shape, vals.DType, vals.Shape, shape, def.DType, def.Shape)
	}
	rows := shape[0]
	if rows < 0 || rows > maxRaggedElements {
		return nil, o.n.InputErrorf("dense_shape %v", shape)
	}
	count := make([]int64, rows)
	for k := range n {
		row := idx[k*r]
		if row < 0 || row >= rows {
			return nil, o.n.InputErrorf("index %v outside dense_shape %v", idx[k*r:k*r+r], shape)
		}
		count[row]++
	}
	empty := make([]bool, rows)
	total := int64(n)
	for i, c := range count {
		if c == 0 {
			empty[i] = true
			total++
		}
	}
	// Entries sorted by row, stable: the start of each row's block.
	order := make([]int, n)
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(a, b int) bool { return idx[order[a]*r] < idx[order[b]*r] })
	outIdx := make([]int64, total*int64(r))
	outVals := classify.NewTensor(vals.DType, int(total))
	rev := make([]int64, n)
	pos := 0
	next := 0
	for row := range rows {
		if empty[row] {
			outIdx[pos*r] = row
			copyElems(outVals, pos, def, 0, 1)
			pos++
			continue
		}
		for ; next < n && idx[order[next]*r] == row; next++ {
			k := order[next]
			copy(outIdx[pos*r:pos*r+r], idx[k*r:k*r+r])
			copyElems(outVals, pos, vals, k, 1)
			rev[k] = int64(pos)
			pos++
		}
	}
	return []*classify.Tensor{
		{DType: classify.Int64, Shape: classify.Shape{int(total), r}, Data: outIdx},
		outVals,
		{DType: classify.Bool, Shape: classify.Shape{int(rows)}, Data: empty},
		{DType: classify.Int64, Shape: classify.Shape{n}, Data: rev},
	}, nil
}

type sparseSegment struct {
	n       *Node
	combine string
	numSeg  bool
}

func buildSparseSegment(combine string, withNum bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		want := 3
		if withNum {
			want = 4
		}
		if n.NumInputs != want {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, want)
		}
		return sparseSegment{n: n, combine: combine, numSeg: withNum}, nil
	}
}

// Run computes out[s] = combine of data[indices[i]] over the i with
// segment_ids[i] = s; segment ids must be sorted; an empty segment is
// zeros. Mean divides by the count, SqrtN by its square root.
func (o sparseSegment) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	data := in[0]
	if data.DType != classify.Float32 && data.DType != classify.Float64 {
		return nil, o.n.InputErrorf("data of %v", data.DType)
	}
	if len(data.Shape) < 1 {
		return nil, o.n.InputErrorf("data must have rank >= 1")
	}
	ids, ok1 := ints(in[1])
	seg, ok2 := ints(in[2])
	if !ok1 || !ok2 || len(ids) != len(seg) || len(in[1].Shape) != 1 {
		return nil, o.n.InputErrorf("indices %v and segment_ids %v must be int vectors of one length", in[1].Shape, in[2].Shape)
	}
	nseg := int64(0)
	if len(seg) > 0 {
		nseg = seg[len(seg)-1] + 1
	}
	if o.numSeg {
		v, ok := ints(in[3])
		if !ok || len(v) != 1 {
			return nil, o.n.InputErrorf("num_segments must be an int scalar")
		}
		nseg = v[0]
	}
	inner := classify.Shape(data.Shape[1:]).NumElements()
	if nseg < 0 || nseg*int64(max(inner, 1)) > maxRaggedElements {
		return nil, o.n.InputErrorf("%d segments of %d elements", nseg, inner)
	}
	rows := int64(data.Shape[0])
	for i := range seg {
		if seg[i] < 0 || seg[i] >= nseg || (i > 0 && seg[i] < seg[i-1]) {
			return nil, o.n.InputErrorf("segment_ids must be sorted and in [0, %d): %d at %d", nseg, seg[i], i)
		}
		if ids[i] < 0 || ids[i] >= rows {
			return nil, o.n.InputErrorf("index %d outside the %d rows of data", ids[i], rows)
		}
	}
	shape := append([]int{int(nseg)}, data.Shape[1:]...)
	out := classify.NewTensor(data.DType, shape...)
	acc := make([]float64, int(nseg)*inner)
	cnt := make([]float64, nseg)
	get := func(at int) float64 {
		if d, ok := data.Data.([]float32); ok {
			return float64(d[at])
		}
		return data.Data.([]float64)[at]
	}
	for i := range seg {
		s, row := int(seg[i]), int(ids[i])
		cnt[s]++
		for j := range inner {
			acc[s*inner+j] += get(row*inner + j)
		}
	}
	for s := range int(nseg) {
		div := 1.0
		switch {
		case cnt[s] == 0:
		case o.combine == "Mean":
			div = cnt[s]
		case o.combine == "SqrtN":
			div = math.Sqrt(cnt[s])
		}
		for j := range inner {
			v := acc[s*inner+j] / div
			switch d := out.Data.(type) {
			case []float32:
				d[s*inner+j] = float32(v)
			case []float64:
				d[s*inner+j] = v
			}
		}
	}
	return []*classify.Tensor{out}, nil
}
