package ops

// tf.sets: DenseToDenseSetOperation, DenseToSparseSetOperation,
// SparseToSparseSetOperation and SetSize (set_ops.cc). A set is the last
// dimension of a row (all other indices equal); each row's result holds the
// distinct values of a-b, b-a, the intersection or the union, sorted
// ascending, as a SparseTensor [..., k] whose last dimension is the
// largest row's count. Sparse operands must be in row-major order.

import (
	"cmp"
	"slices"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("DenseToDenseSetOperation", buildSetOp(false, false))
	Register("DenseToSparseSetOperation", buildSetOp(false, true))
	Register("SparseToSparseSetOperation", buildSetOp(true, true))
	Register("SetSize", sparseOpBuilder(3, setSize))
}

type setOp struct {
	n        *Node
	aSp, bSp bool
	kind     string
}

func buildSetOp(aSp, bSp bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		want := 2
		if aSp {
			want += 2
		}
		if bSp {
			want += 2
		}
		if n.NumInputs != want {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, want)
		}
		k := n.String("set_operation", "")
		switch k {
		case "a-b", "b-a", "intersection", "union":
		default:
			return nil, n.Errorf("invalid set_operation %q", k)
		}
		return &setOp{n: n, aSp: aSp, bSp: bSp, kind: k}, nil
	}
}

// setRows are the sets of one operand by row (the row's leading indices).
type setRows struct {
	lead []int64 // the dense shape without its last dimension
	rows map[string]map[string]bool
	keys map[string][]int64
	dt   classify.DType
	vals map[string]any // encoded value -> original, for the output
}

func (o *setOp) rowsOf(in []*classify.Tensor, sp bool) (*setRows, error) {
	r := &setRows{rows: map[string]map[string]bool{}, keys: map[string][]int64{}, vals: map[string]any{}}
	add := func(lead []int64, t *classify.Tensor, i int, key func([]byte, int) []byte) {
		k := string(int64Bytes(lead))
		if r.rows[k] == nil {
			r.rows[k] = map[string]bool{}
			r.keys[k] = slices.Clone(lead)
		}
		v := string(key(nil, i))
		r.rows[k][v] = true
		if _, ok := r.vals[v]; !ok {
			r.vals[v] = elemAt(t, i)
		}
	}
	if !sp {
		x := in[0]
		if len(x.Shape) < 2 {
			return nil, o.n.InputErrorf("set operand must be at least 2-D, got %v", x.Shape)
		}
		r.dt = x.DType
		key, _, err := elemKeys(x)
		if err != nil {
			return nil, o.n.InputErrorf("%v", err)
		}
		last := x.Shape[len(x.Shape)-1]
		lead := x.Shape[:len(x.Shape)-1]
		for _, d := range lead {
			r.lead = append(r.lead, int64(d))
		}
		for i := range x.Len() {
			if last == 0 {
				break
			}
			row := i / last
			li := make([]int64, len(lead))
			for j := len(lead) - 1; j >= 0; j-- {
				li[j] = int64(row % lead[j])
				row /= lead[j]
			}
			add(li, x, i, key)
		}
		return r, nil
	}
	a, err := sparseInputs(o.n, in[:3])
	if err != nil {
		return nil, err
	}
	if a.rank < 2 {
		return nil, o.n.InputErrorf("set operand must be at least 2-D, got rank %d", a.rank)
	}
	r.dt = a.vals.DType
	key, _, err := elemKeys(a.vals)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	r.lead = slices.Clone(a.shape[:a.rank-1])
	for e := range a.nnz {
		add(a.idx[e*a.rank:(e+1)*a.rank-1], a.vals, e, key)
	}
	return r, nil
}

// elemAt is element i of t, boxed.
func elemAt(t *classify.Tensor, i int) any {
	switch d := t.Data.(type) {
	case []int32:
		return d[i]
	case []int64:
		return d[i]
	case []uint8:
		return d[i]
	case []int8:
		return d[i]
	case []int16:
		return d[i]
	case []uint16:
		return d[i]
	case [][]byte:
		return string(d[i])
	}
	return nil
}

func compareBoxed(x, y any) int {
	switch a := x.(type) {
	case int32:
		return cmp.Compare(a, y.(int32))
	case int64:
		return cmp.Compare(a, y.(int64))
	case uint8:
		return cmp.Compare(a, y.(uint8))
	case int8:
		return cmp.Compare(a, y.(int8))
	case int16:
		return cmp.Compare(a, y.(int16))
	case uint16:
		return cmp.Compare(a, y.(uint16))
	case string:
		return cmp.Compare(a, y.(string))
	}
	return 0
}

func (o *setOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	na := 1
	if o.aSp {
		na = 3
	}
	a, err := o.rowsOf(in[:na], o.aSp)
	if err != nil {
		return nil, err
	}
	b, err := o.rowsOf(in[na:], o.bSp)
	if err != nil {
		return nil, err
	}
	if a.dt != b.dt {
		return nil, o.n.InputErrorf("operands are %v and %v", a.dt, b.dt)
	}
	if !slices.Equal(a.lead, b.lead) {
		return nil, o.n.InputErrorf("shapes' leading dimensions %v and %v differ", a.lead, b.lead)
	}
	for _, v := range a.vals {
		if v == nil {
			return nil, o.n.InputErrorf("set values must be integers or strings, got %v", a.dt)
		}
	}
	keys := map[string][]int64{}
	for k, v := range a.keys {
		keys[k] = v
	}
	for k, v := range b.keys {
		keys[k] = v
	}
	var rowKeys []string
	for k := range keys {
		rowKeys = append(rowKeys, k)
	}
	slices.SortFunc(rowKeys, func(x, y string) int { return slices.Compare(keys[x], keys[y]) })
	vals := map[string]any{}
	for k, v := range a.vals {
		vals[k] = v
	}
	for k, v := range b.vals {
		vals[k] = v
	}
	var idx []int64
	var out []any
	width := 0
	for _, rk := range rowKeys {
		sa, sb := a.rows[rk], b.rows[rk]
		var res []any
		keep := func(v string) { res = append(res, vals[v]) }
		switch o.kind {
		case "a-b":
			for v := range sa {
				if !sb[v] {
					keep(v)
				}
			}
		case "b-a":
			for v := range sb {
				if !sa[v] {
					keep(v)
				}
			}
		case "intersection":
			for v := range sa {
				if sb[v] {
					keep(v)
				}
			}
		case "union":
			for v := range sa {
				keep(v)
			}
			for v := range sb {
				if !sa[v] {
					keep(v)
				}
			}
		}
		slices.SortFunc(res, compareBoxed)
		width = max(width, len(res))
		for j, v := range res {
			idx = append(idx, keys[rk]...)
			idx = append(idx, int64(j))
			out = append(out, v)
		}
	}
	rank := len(a.lead) + 1
	values := classify.NewTensor(a.dt, len(out))
	for i, v := range out {
		switch d := values.Data.(type) {
		case []int32:
			d[i] = v.(int32)
		case []int64:
			d[i] = v.(int64)
		case []uint8:
			d[i] = v.(uint8)
		case []int8:
			d[i] = v.(int8)
		case []int16:
			d[i] = v.(int16)
		case []uint16:
			d[i] = v.(uint16)
		case [][]byte:
			d[i] = []byte(v.(string))
		}
	}
	shape := append(slices.Clone(a.lead), int64(width))
	return []*classify.Tensor{
		{DType: classify.Int64, Shape: classify.Shape{len(out), rank}, Data: idx},
		values,
		{DType: classify.Int64, Shape: classify.Shape{rank}, Data: shape},
	}, nil
}

// setSize counts each row's distinct values (int32, shape without the last
// dimension).
func setSize(n *Node, in []*classify.Tensor) ([]*classify.Tensor, error) {
	o := &setOp{n: n}
	r, err := o.rowsOf(in, true)
	if err != nil {
		return nil, err
	}
	dims := make([]int, len(r.lead))
	for i, d := range r.lead {
		dims[i] = int(d)
	}
	if err := arrCheckDims(dims); err != nil {
		return nil, n.InputErrorf("%v", err)
	}
	out := classify.NewTensor(classify.Int32, dims...)
	d := out.Int32s()
	for k, set := range r.rows {
		off := 0
		for j, v := range r.keys[k] {
			off = off*dims[j] + int(v)
		}
		d[off] = int32(len(set))
	}
	return []*classify.Tensor{out}, nil
}
