package ops

// Feature crosses, as TensorFlow's crossed feature columns compute them
// (sparse_cross_op.cc): SparseCross, SparseCrossV2 and SparseCrossHashed
// take N sparse columns (indices [nnz, 2], values, dense_shape [2]) and
// some dense columns ([batch, width]) of int64 or string, and give for each
// batch row the cartesian product of the row's features (sparse columns
// first, then dense, the last column varying fastest) as a 2-D
// SparseTensor of [batch, max crosses per row]. The string form joins the
// features with "_X_" (SparseCrossV2: the sep input), int64 features
// written in decimal; the hashed form folds the features' fingerprints
// with FingerprintCat64 and takes the result modulo num_buckets (or
// modulo the largest int64 when num_buckets is not positive).

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("SparseCross", buildSparseCross)
	Register("SparseCrossV2", buildSparseCross)
	Register("SparseCrossHashed", buildSparseCross)
}

// maxCrosses bounds the crosses one run may produce: the output indices
// hold two int64 per cross.
const maxCrosses = maxRaggedElements / 2

// maxCrossRows bounds batch size times columns (plus one): the per-row
// bookkeeping a dense_shape alone asks for.
const maxCrossRows = 1 << 24

type sparseCrossOp struct {
	n              *Node
	nsparse        int
	ndense         int
	hashed         bool   // SparseCross with out_type int64, and SparseCrossHashed
	buckets        int64  // SparseCross's num_buckets
	hashKey        uint64 // SparseCross's hash_key
	internalString bool   // SparseCross's internal_type string: int64 columns refused
}

func buildSparseCross(n *Node, _ []*classify.Tensor) (Op, error) {
	o := &sparseCrossOp{n: n, nsparse: int(n.Int("N", 0))}
	extra := map[string]int{"SparseCross": 0, "SparseCrossV2": 1, "SparseCrossHashed": 3}[n.Op]
	if o.nsparse < 0 || 3*o.nsparse+extra > n.NumInputs {
		return nil, n.Errorf("N %d: want 3N+%d <= %d inputs", o.nsparse, extra, n.NumInputs)
	}
	o.ndense = n.NumInputs - 3*o.nsparse - extra
	types := func(attr string, want int) error {
		a, ok := n.Attr[attr]
		if !ok {
			return nil
		}
		ts := attrTypes(a)
		if len(ts) != want {
			return n.Errorf("%s has %d types for %d inputs", attr, len(ts), want)
		}
		for _, t := range ts {
			if t != classify.Int64 && t != classify.String {
				return n.Errorf("%s: %v is not int64 or string", attr, t)
			}
		}
		return nil
	}
	if err := types("sparse_types", o.nsparse); err != nil {
		return nil, err
	}
	if err := types("dense_types", o.ndense); err != nil {
		return nil, err
	}
	switch n.Op {
	case "SparseCross":
		// The kernel registered for out_type int64 hashes and the one for
		// string joins, whatever hashed_output says (TensorFlow's Python
		// sets the two together).
		out, internal := n.Type("out_type"), n.Type("internal_type")
		for _, t := range []classify.DType{out, internal} {
			if t != classify.Int64 && t != classify.String {
				return nil, n.Errorf("out_type %v and internal_type %v must be int64 or string", out, internal)
			}
		}
		o.hashed = out == classify.Int64
		o.internalString = internal == classify.String
		o.buckets = n.Int("num_buckets", 0)
		if o.buckets < 0 {
			return nil, n.Errorf("num_buckets %d is negative", o.buckets)
		}
		o.hashKey = uint64(n.Int("hash_key", 0))
	case "SparseCrossHashed":
		o.hashed = true
	}
	return o, nil
}

// crossCol is one column: value k of row b is vals[start[b]+k] (sparse) or
// vals[b*width+k] (dense).
type crossCol struct {
	vals   *classify.Tensor
	sparse bool
	start  []int
	count  []int
	width  int
}

func (c *crossCol) features(b int) (first, n int) {
	if c.sparse {
		return c.start[b], c.count[b]
	}
	return b * c.width, c.width
}

func (o *sparseCrossOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	ns := o.nsparse
	cols := make([]*crossCol, 0, ns+o.ndense)
	var sparseIdx [][]int64
	batch, haveBatch := int64(0), false
	for i := range ns {
		idx, vals, shape := in[i], in[ns+i], in[2*ns+i]
		id, ok := idx.Data.([]int64)
		if !ok || len(idx.Shape) != 2 {
			return nil, o.n.InputErrorf("Input indices should be an int64 matrix but received %v %v at position %d", idx.DType, idx.Shape, i)
		}
		if idx.Shape[1] != 2 {
			return nil, o.n.InputErrorf("Expected D2 of index to be 2 got %d at position %d", idx.Shape[1], i)
		}
		if len(vals.Shape) != 1 {
			return nil, o.n.InputErrorf("Input values should be a vector but received shape %v at position %d", vals.Shape, i)
		}
		if vals.Shape[0] != idx.Shape[0] {
			return nil, o.n.InputErrorf("Expected size of values to be %d got %d at position %d", idx.Shape[0], vals.Shape[0], i)
		}
		sh, ok := shape.Data.([]int64)
		if !ok || len(shape.Shape) != 1 {
			return nil, o.n.InputErrorf("Input shapes should be an int64 vector but received %v %v at position %d", shape.DType, shape.Shape, i)
		}
		if len(sh) != 2 {
			return nil, o.n.InputErrorf("shape should imply a 2D tensor, but got %v at position %d", shape.Shape, i)
		}
		if !haveBatch {
			batch, haveBatch = sh[0], true
		}
		if sh[0] != batch {
			return nil, o.n.InputErrorf("Expected batch size %d got %d at position %d", batch, sh[0], i)
		}
		cols = append(cols, &crossCol{vals: vals, sparse: true})
		sparseIdx = append(sparseIdx, id)
	}
	for j := range o.ndense {
		d := in[3*ns+j]
		if len(d.Shape) != 2 {
			return nil, o.n.InputErrorf("Dense inputs should be a matrix but received shape %v at position %d", d.Shape, j)
		}
		if !haveBatch {
			batch, haveBatch = int64(d.Shape[0]), true
		}
		if int64(d.Shape[0]) != batch {
			return nil, o.n.InputErrorf("Expected batch size %d got %d at dense tensor %d", batch, d.Shape[0], j)
		}
		cols = append(cols, &crossCol{vals: d, width: d.Shape[1]})
	}
	for k, c := range cols {
		dt := c.vals.DType
		if dt != classify.Int64 && dt != classify.String {
			return nil, o.n.InputErrorf("column %d is %v, want int64 or string", k, dt)
		}
		if o.internalString && dt == classify.Int64 {
			return nil, o.n.InputErrorf("Input values should be of internal type string but received int64 (column %d)", k)
		}
	}
	if batch < 0 || batch > maxCrossRows/int64(len(cols)+1) {
		return nil, o.n.InputErrorf("batch size %d for %d columns is out of range [0, %d]", batch, len(cols), maxCrossRows/(len(cols)+1))
	}
	nb := int(batch)
	// Each sparse column's features of row b are the entries from where
	// row b-1's ended while the row index is b, as the kernel walks them
	// (entries out of row order are skipped).
	for i, c := range cols[:ns] {
		id := sparseIdx[i]
		nnz := len(id) / 2
		c.start, c.count = make([]int, nb), make([]int, nb)
		cur := 0
		for b := range nb {
			c.start[b] = cur
			for cur < nnz && id[2*cur] == int64(b) {
				cur++
			}
			c.count[b] = cur - c.start[b]
		}
	}

	// Crosses per row, bounded before anything is allocated for them.
	rowStart := make([]int, nb+1)
	maxRow := 0
	for b := range nb {
		p := int64(1)
		for _, c := range cols {
			_, k := c.features(b)
			if k == 0 {
				p = 0
				break
			}
			if p > maxCrosses/int64(k) {
				return nil, o.n.InputErrorf("row %d would have more than %d crosses", b, maxCrosses)
			}
			p *= int64(k)
		}
		total := int64(rowStart[b]) + p
		if total > maxCrosses {
			return nil, o.n.InputErrorf("the cross would have more than %d entries", maxCrosses)
		}
		rowStart[b+1] = int(total)
		maxRow = max(maxRow, int(p))
	}
	total := rowStart[nb]
	indices := make([]int64, 2*total)
	for b := range nb {
		for k := rowStart[b]; k < rowStart[b+1]; k++ {
			indices[2*k], indices[2*k+1] = int64(b), int64(k-rowStart[b])
		}
	}
	var vals *classify.Tensor
	var err error
	if o.hashed {
		vals, err = o.hashCross(in, cols, rowStart)
	} else {
		vals, err = o.joinCross(in, cols, rowStart)
	}
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{
		{DType: classify.Int64, Shape: classify.Shape{total, 2}, Data: indices},
		vals,
		{DType: classify.Int64, Shape: classify.Shape{2}, Data: []int64{batch, int64(maxRow)}},
	}, nil
}

// eachCross calls f for every cross of row b with the flat value index of
// each column's feature, the last column varying fastest.
func eachCross(cols []*crossCol, b int, pick []int, f func(pick []int)) {
	first := make([]int, len(cols))
	n := make([]int, len(cols))
	for i, c := range cols {
		first[i], n[i] = c.features(b)
		if n[i] == 0 {
			return
		}
		pick[i] = first[i]
	}
	for {
		f(pick)
		i := len(cols) - 1
		for ; i >= 0; i-- {
			if pick[i]++; pick[i] < first[i]+n[i] {
				break
			}
			pick[i] = first[i]
		}
		if i < 0 {
			return
		}
	}
}

// hashCross computes the hashed crosses. Each value's fingerprint is
// computed once:
//   - SparseCross: Fingerprint64 of a string, an int64 as it is, folded
//     starting from hash_key.
//   - SparseCrossHashed: Fingerprint64 of a string (SipHash-2-4 keyed by
//     salt with strong_hash), and for int64 Fingerprint64 (or SipHash) of
//     its first four bytes, as the kernel hashes sizeof(DataType) bytes of
//     the value, except a dense int64 without strong_hash, used as it is;
//     folded starting from the first column's.
func (o *sparseCrossOp) hashCross(in []*classify.Tensor, cols []*crossCol, rowStart []int) (*classify.Tensor, error) {
	buckets, key := o.buckets, o.hashKey
	fromKey := o.n.Op == "SparseCross"
	strong := false
	var k0, k1 uint64
	if !fromKey {
		rest := in[3*o.nsparse+o.ndense:]
		nbT, sT, saltT := rest[0], rest[1], rest[2]
		nbv, ok := nbT.Data.([]int64)
		if !ok || len(nbT.Shape) != 0 {
			return nil, o.n.InputErrorf("num_buckets must be an int64 scalar, got %v %v", nbT.DType, nbT.Shape)
		}
		sv, ok := sT.Data.([]bool)
		if !ok || len(sT.Shape) != 0 {
			return nil, o.n.InputErrorf("strong_hash must be a bool scalar, got %v %v", sT.DType, sT.Shape)
		}
		salt, ok := saltT.Data.([]int64)
		if !ok {
			return nil, o.n.InputErrorf("salt must be int64, got %v", saltT.DType)
		}
		if len(salt) != 2 {
			return nil, o.n.InputErrorf("Input \"salt\" must have length 2 but has length %d", len(salt))
		}
		buckets, strong, k0, k1 = nbv[0], sv[0], uint64(salt[0]), uint64(salt[1])
	}
	hashes := make([][]uint64, len(cols))
	for i, c := range cols {
		h := make([]uint64, c.vals.Len())
		switch d := c.vals.Data.(type) {
		case [][]byte:
			for j, s := range d {
				if strong {
					h[j] = sipHash24(k0, k1, s)
				} else {
					h[j] = Fingerprint64(s)
				}
			}
		case []int64:
			var buf [8]byte
			for j, v := range d {
				binary.LittleEndian.PutUint64(buf[:], uint64(v))
				switch {
				case fromKey || (!strong && !c.sparse):
					h[j] = uint64(v)
				case strong:
					h[j] = sipHash24(k0, k1, buf[:4])
				default:
					h[j] = Fingerprint64(buf[:4])
				}
			}
		}
		hashes[i] = h
	}
	out := make([]int64, rowStart[len(rowStart)-1])
	pick := make([]int, len(cols))
	for b := range len(rowStart) - 1 {
		k := rowStart[b]
		eachCross(cols, b, pick, func(pick []int) {
			var h uint64
			for i, p := range pick {
				switch {
				case fromKey && i == 0:
					h = fingerprintCat64(key, hashes[i][p])
				case i == 0:
					h = hashes[i][p]
				default:
					h = fingerprintCat64(h, hashes[i][p])
				}
			}
			if buckets > 0 {
				out[k] = int64(h % uint64(buckets))
			} else {
				out[k] = int64(h % math.MaxInt64)
			}
			k++
		})
	}
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{len(out)}, Data: out}, nil
}

// joinCross computes the string crosses, bounding their bytes first.
func (o *sparseCrossOp) joinCross(in []*classify.Tensor, cols []*crossCol, rowStart []int) (*classify.Tensor, error) {
	sep := []byte("_X_")
	if o.n.Op == "SparseCrossV2" {
		s := in[3*o.nsparse+o.ndense]
		d, ok := s.Data.([][]byte)
		if !ok || len(s.Shape) != 0 {
			return nil, o.n.InputErrorf("Input separator should be a scalar. Received: %v %v", s.DType, s.Shape)
		}
		sep = d[0]
	}
	strs := make([][][]byte, len(cols))
	for i, c := range cols {
		switch d := c.vals.Data.(type) {
		case [][]byte:
			strs[i] = d
		case []int64:
			s := make([][]byte, len(d))
			for j, v := range d {
				s[j] = strconv.AppendInt(nil, v, 10)
			}
			strs[i] = s
		}
	}
	// Bytes of row b: each feature of column i appears in crosses/count_i
	// crosses, and every cross has len(cols)-1 separators.
	size := int64(0)
	fail := o.n.InputErrorf("the cross would exceed %d bytes", maxStringBytes)
	addMul := func(a, b int64) bool {
		if a != 0 && b > (maxStringBytes-size)/a {
			return false
		}
		size += a * b
		return true
	}
	for b := range len(rowStart) - 1 {
		p := int64(rowStart[b+1] - rowStart[b])
		if p == 0 {
			continue
		}
		for i, c := range cols {
			first, n := c.features(b)
			l := int64(0)
			for _, s := range strs[i][first : first+n] {
				if l += int64(len(s)); l > maxStringBytes {
					return nil, fail
				}
			}
			if !addMul(l, p/int64(n)) {
				return nil, fail
			}
		}
		if !addMul(int64(len(sep)), p*int64(len(cols)-1)) {
			return nil, fail
		}
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, rowStart[len(rowStart)-1])
	pick := make([]int, len(cols))
	for b := range len(rowStart) - 1 {
		k := rowStart[b]
		eachCross(cols, b, pick, func(pick []int) {
			at := len(buf)
			for i, p := range pick {
				if i > 0 {
					buf = append(buf, sep...)
				}
				buf = append(buf, strs[i][p]...)
			}
			out[k] = buf[at:len(buf):len(buf)]
			k++
		})
	}
	return &classify.Tensor{DType: classify.String, Shape: classify.Shape{len(out)}, Data: out}, nil
}

// fingerprintCat64 is TensorFlow's FingerprintCat64, combining two
// fingerprints (not commutatively).
func fingerprintCat64(fp1, fp2 uint64) uint64 {
	const mul = 0xc6a4a7935bd1e995
	r := fp1 ^ mul
	r ^= fhShiftMix(fp2*mul) * mul
	r *= mul
	r = fhShiftMix(r) * mul
	return fhShiftMix(r)
}
