package ops

import (
	"github.com/classifyd/classifyd/classify"
)

// Ragged tensors as serving graphs carry them: flat values plus row
// partitions (TextVectorization's split tokens, padded to a dense batch by
// RaggedTensorToTensor) and StringNGrams over them.
func init() {
	Register("RaggedTensorToTensor", buildRaggedToTensor)
	Register("StringNGrams", buildStringNGrams)
}

// maxRaggedElements bounds the dense output of RaggedTensorToTensor (64M
// elements): its width is the longest row, which a request controls.
const maxRaggedElements = 1 << 26

type raggedToTensor struct {
	n     *Node
	types []string
}

func buildRaggedToTensor(n *Node, _ []*classify.Tensor) (Op, error) {
	types := n.Strings("row_partition_types")
	if len(types) == 0 || n.NumInputs != 3+len(types) {
		return nil, n.Errorf("%d row partition types for %d inputs", len(types), n.NumInputs)
	}
	switch types[0] {
	case "ROW_SPLITS":
		for _, t := range types {
			if t != "ROW_SPLITS" {
				return nil, n.Errorf("row partition types %v: ROW_SPLITS mixed with %s", types, t)
			}
		}
	case "FIRST_DIM_SIZE":
		if len(types) < 2 {
			return nil, n.Errorf("row partition types %v: FIRST_DIM_SIZE alone", types)
		}
		for _, t := range types[1:] {
			if t != "VALUE_ROWIDS" {
				return nil, n.Errorf("row partition types %v: FIRST_DIM_SIZE must be followed by VALUE_ROWIDS only", types)
			}
		}
	default:
		return nil, n.Errorf("row partition types %v are not supported", types)
	}
	return raggedToTensor{n: n, types: types}, nil
}

func (o raggedToTensor) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) < 2 {
		return nil, nil
	}
	return []classify.TensorInfo{{DType: in[1].DType}}, nil
}

// ints reads an int32/int64 tensor.
func ints(t *classify.Tensor) ([]int64, bool) {
	switch d := t.Data.(type) {
	case []int64:
		return d, true
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, true
	}
	return nil, false
}

// splits returns the row splits of every ragged level, checked against
// the size of the level below (the values' first dimension at the end).
func (o raggedToTensor) splits(in []*classify.Tensor) ([][]int64, error) {
	parts := in[3:]
	nvals := int64(1)
	if len(in[1].Shape) > 0 {
		nvals = int64(in[1].Shape[0])
	}
	var out [][]int64
	if o.types[0] == "ROW_SPLITS" {
		for k, p := range parts {
			s, ok := ints(p)
			if !ok || len(p.Shape) != 1 || len(s) == 0 || s[0] != 0 {
				return nil, o.n.InputErrorf("row_splits %d (%v %v) must be a non-empty int vector starting at 0", k, p.DType, p.Shape)
			}
			for i := 1; i < len(s); i++ {
				if s[i] < s[i-1] {
					return nil, o.n.InputErrorf("row_splits %d decrease at %d", k, i)
				}
			}
			out = append(out, s)
		}
	} else {
		dim, ok := ints(parts[0])
		if !ok || len(dim) != 1 || dim[0] < 0 || dim[0] > maxRaggedElements {
			return nil, o.n.InputErrorf("first_dim_size must be a small non-negative int scalar")
		}
		rows := dim[0]
		for k, p := range parts[1:] {
			ids, ok := ints(p)
			if !ok || len(p.Shape) != 1 {
				return nil, o.n.InputErrorf("value_rowids %d must be an int vector", k)
			}
			s := make([]int64, rows+1)
			for i, r := range ids {
				if r < 0 || r >= rows || (i > 0 && r < ids[i-1]) {
					return nil, o.n.InputErrorf("value_rowids %d: id %d at %d out of order or range [0, %d)", k, r, i, rows)
				}
				s[r+1]++
			}
			for i := 1; i < len(s); i++ {
				s[i] += s[i-1]
			}
			out = append(out, s)
			rows = int64(len(ids))
		}
	}
	for k, s := range out {
		next := nvals
		if k+1 < len(out) {
			next = int64(len(out[k+1]) - 1)
		}
		if s[len(s)-1] != next {
			return nil, o.n.InputErrorf("ragged level %d ends at %d, the level below has %d", k, s[len(s)-1], next)
		}
	}
	return out, nil
}

func (o raggedToTensor) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	vals, def := in[1], in[2]
	if def.DType != vals.DType {
		return nil, o.n.InputErrorf("default_value is %v, values are %v", def.DType, vals.DType)
	}
	if len(vals.Shape) == 0 {
		return nil, o.n.InputErrorf("values must have rank >= 1")
	}
	splits, err := o.splits(in)
	if err != nil {
		return nil, err
	}
	inner := vals.Shape[1:]
	rank := 1 + len(splits) + len(inner)
	dims := make([]int, 0, rank)
	dims = append(dims, len(splits[0])-1)
	for _, s := range splits {
		w := int64(0)
		for i := 1; i < len(s); i++ {
			w = max(w, s[i]-s[i-1])
		}
		dims = append(dims, int(w))
	}
	dims = append(dims, inner...)
	// shape: a vector of the output's rank, -1 keeping a dimension; a
	// scalar or empty shape means none is given.
	if want, ok := ints(in[0]); ok && len(in[0].Shape) == 1 && len(want) > 0 {
		if len(want) != rank {
			return nil, o.n.InputErrorf("shape %v has rank %d, the ragged tensor %d", want, len(want), rank)
		}
		for i, d := range want {
			if d < -1 || d > maxRaggedElements {
				return nil, o.n.InputErrorf("shape %v", want)
			}
			if d >= 0 {
				if i > len(splits) && int(d) != dims[i] {
					return nil, o.n.InputErrorf("shape %v: inner dimension %d is %d in the values", want, i, dims[i])
				}
				dims[i] = int(d)
			}
		}
	}
	total := int64(1)
	for _, d := range dims {
		if total *= int64(d); total > maxRaggedElements {
			return nil, o.n.InputErrorf("dense output of shape %v has more than %d elements", dims, maxRaggedElements)
		}
	}
	innerN := classify.Shape(inner).NumElements()
	if def.Len() != 1 && def.Len() != innerN {
		return nil, o.n.InputErrorf("default_value of shape %v for values of shape %v", def.Shape, vals.Shape)
	}
	out := classify.NewTensor(vals.DType, dims...)
	for i := 0; i < int(total); i += def.Len() {
		copyElems(out, i, def, 0, def.Len())
	}
	strides := make([]int, rank)
	strides[rank-1] = 1
	for i := rank - 2; i >= 0; i-- {
		strides[i] = strides[i+1] * dims[i+1]
	}
	var fill func(level int, row int64, dst int)
	fill = func(level int, row int64, dst int) {
		s := splits[level]
		start, n := s[row], min(s[row+1]-s[row], int64(dims[level+1]))
		for j := range n {
			at := dst + int(j)*strides[level+1]
			if level == len(splits)-1 {
				copyElems(out, at, vals, int(start+j)*innerN, innerN)
			} else {
				fill(level+1, start+j, at)
			}
		}
	}
	for r := range min(len(splits[0])-1, dims[0]) {
		fill(0, int64(r), r*strides[0])
	}
	return []*classify.Tensor{out}, nil
}

// copyElems copies n elements of src from so to dst at do (same dtype).
func copyElems(dst *classify.Tensor, do int, src *classify.Tensor, so, n int) {
	switch d := dst.Data.(type) {
	case []float32:
		copy(d[do:do+n], src.Data.([]float32)[so:])
	case []float64:
		copy(d[do:do+n], src.Data.([]float64)[so:])
	case []int32:
		copy(d[do:do+n], src.Data.([]int32)[so:])
	case []int64:
		copy(d[do:do+n], src.Data.([]int64)[so:])
	case []bool:
		copy(d[do:do+n], src.Data.([]bool)[so:])
	case []uint8:
		copy(d[do:do+n], src.Data.([]uint8)[so:])
	case [][]byte:
		copy(d[do:do+n], src.Data.([][]byte)[so:])
	case []any:
		copy(d[do:do+n], src.Data.([]any)[so:])
	}
}

type stringNGrams struct {
	n               *Node
	sep, lpad, rpad []byte
	widths          []int
	padWidth        int
	preserve        bool
	outSplitsType   classify.DType
}

// maxNGramWidth bounds an n-gram width attribute.
const maxNGramWidth = 1 << 16

func buildStringNGrams(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	o := stringNGrams{n: n, sep: []byte(n.String("separator", " ")), lpad: []byte(n.String("left_pad", "")), rpad: []byte(n.String("right_pad", "")),
		padWidth: int(n.Int("pad_width", 0)), preserve: n.Bool("preserve_short_sequences", false), outSplitsType: n.Type("Tsplits")}
	for _, w := range n.Ints("ngram_widths") {
		if w < 1 || w > maxNGramWidth {
			return nil, n.Errorf("ngram width %d outside [1, %d]", w, maxNGramWidth)
		}
		o.widths = append(o.widths, int(w))
	}
	if o.outSplitsType == classify.Invalid {
		o.outSplitsType = classify.Int64
	}
	return o, nil
}

func (o stringNGrams) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: classify.String, Shape: classify.Shape{-1}}, {DType: o.outSplitsType, Shape: classify.Shape{-1}}}, nil
}

func (o stringNGrams) pad(w int) int {
	if o.padWidth < 0 {
		return w - 1
	}
	return min(o.padWidth, w-1)
}

// ngrams appends the n-grams of width w of data, as TensorFlow's
// StringNGramsOp builds them: left pads, tokens and right pads joined by
// the separator. budget is the bytes still allowed.
func (o stringNGrams) ngrams(out [][]byte, data [][]byte, count, w int, budget *int) ([][]byte, bool) {
	p := o.pad(w)
	for i := range count {
		left := max(0, p-i)
		right := max(0, p-(count-(i+1)))
		tokens := w - left - right
		start := 0
		if left == 0 {
			start = i - p
		}
		var g []byte
		for range left {
			g = append(append(g, o.lpad...), o.sep...)
		}
		for k := range tokens - 1 {
			g = append(append(g, data[start+k]...), o.sep...)
		}
		if tokens > 0 {
			g = append(g, data[start+tokens-1]...)
			for range right {
				g = append(append(g, o.sep...), o.rpad...)
			}
		} else {
			for range right - 1 {
				g = append(append(g, o.rpad...), o.sep...)
			}
			g = append(g, o.rpad...)
		}
		if *budget -= len(g) + 1; *budget < 0 {
			return nil, false
		}
		out = append(out, g)
	}
	return out, true
}

func (o stringNGrams) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	data, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	splits, ok := ints(in[1])
	if !ok || len(in[1].Shape) != 1 || len(splits) == 0 || splits[0] != 0 || splits[len(splits)-1] != int64(len(data)) {
		return nil, o.n.InputErrorf("data_splits must be int splits from 0 to %d", len(data))
	}
	for i := 1; i < len(splits); i++ {
		if splits[i] < splits[i-1] {
			return nil, o.n.InputErrorf("data_splits decrease at %d", i)
		}
	}
	// Count before building: widths times rows may ask for far more
	// n-grams than the input has tokens.
	count := int64(0)
	for i := 1; i < len(splits); i++ {
		l := splits[i] - splits[i-1]
		for _, w := range o.widths {
			count += max(0, l+2*int64(o.pad(w))-int64(w)+1) * int64(w)
		}
		if count > maxStringBytes {
			return nil, o.n.InputErrorf("n-grams of %d tokens would be too many (more than %d token copies)", len(data), maxStringBytes)
		}
	}
	var out [][]byte
	outSplits := []int64{0}
	budget := maxStringBytes
	for i := 1; i < len(splits); i++ {
		row := data[splits[i-1]:splits[i]]
		before := len(out)
		for _, w := range o.widths {
			c := max(0, len(row)+2*o.pad(w)-w+1)
			if out, ok = o.ngrams(out, row, c, w, &budget); !ok {
				return nil, o.n.InputErrorf("n-grams would exceed %d bytes", maxStringBytes)
			}
		}
		if o.preserve && len(out) == before && len(row) > 0 && o.padWidth >= 0 {
			w := len(row) + 2*o.padWidth
			if out, ok = o.ngrams(out, row, 1, w, &budget); !ok {
				return nil, o.n.InputErrorf("n-grams would exceed %d bytes", maxStringBytes)
			}
		}
		outSplits = append(outSplits, int64(len(out)))
	}
	st := classify.NewTensor(o.outSplitsType, len(outSplits))
	for i, v := range outSplits {
		switch d := st.Data.(type) {
		case []int64:
			d[i] = v
		case []int32:
			d[i] = int32(v)
		}
	}
	return []*classify.Tensor{{DType: classify.String, Shape: classify.Shape{len(out)}, Data: out}, st}, nil
}

// Bincount and DenseBincount count (or sum weights of) each value in
// [0, size): tf.ragged builds row splits from value row ids with them
// (segment_ids_to_row_splits), so TextVectorization's split leaves them in
// the graph. Values outside [0, size) are ignored, as documented.
func init() {
	Register("Bincount", buildBincount(false))
	Register("DenseBincount", buildBincount(true))
}

type bincount struct {
	n      *Node
	dense  bool
	binary bool
	dtype  classify.DType
}

func buildBincount(dense bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 3 {
			return nil, n.Errorf("has %d inputs, want 3", n.NumInputs)
		}
		dt := n.Type("T")
		switch dt {
		case classify.Int32, classify.Int64, classify.Float32, classify.Float64:
		default:
			return nil, n.Errorf("weights of %v", dt)
		}
		return bincount{n: n, dense: dense, binary: n.Bool("binary_output", false), dtype: dt}, nil
	}
}

func (o bincount) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: o.dtype}}, nil
}

func (o bincount) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	vals, ok := ints(in[0])
	size, ok2 := ints(in[1])
	if !ok || !ok2 || len(size) != 1 {
		return nil, o.n.InputErrorf("input (%v) and size (%v %v) must be integers, size a scalar", in[0].DType, in[1].DType, in[1].Shape)
	}
	if size[0] < 0 || size[0] > maxRaggedElements {
		return nil, o.n.InputErrorf("size %d outside [0, %d]", size[0], maxRaggedElements)
	}
	w := in[2]
	weighted := w.Len() > 0
	if weighted && (w.DType != o.dtype || !w.Shape.Equal(in[0].Shape)) {
		return nil, o.n.InputErrorf("weights %v %v for input %v", w.DType, w.Shape, in[0].Shape)
	}
	rows, shape := 1, []int{int(size[0])}
	switch {
	case len(in[0].Shape) == 2 && o.dense:
		rows = in[0].Shape[0]
		shape = []int{rows, int(size[0])}
	case len(in[0].Shape) > 1:
		return nil, o.n.InputErrorf("input of rank %d", len(in[0].Shape))
	}
	if int64(rows)*size[0] > maxRaggedElements {
		return nil, o.n.InputErrorf("output [%d, %d] too large", rows, size[0])
	}
	out := classify.NewTensor(o.dtype, shape...)
	per := len(vals)
	if rows > 0 {
		per = len(vals) / rows
	}
	for i, v := range vals {
		if v < 0 || v >= size[0] {
			continue
		}
		at := int(v)
		if rows > 1 || len(shape) == 2 {
			at += (i / per) * int(size[0])
		}
		switch d := out.Data.(type) {
		case []int32:
			switch {
			case o.binary:
				d[at] = 1
			case weighted:
				d[at] += w.Data.([]int32)[i]
			default:
				d[at]++
			}
		case []int64:
			switch {
			case o.binary:
				d[at] = 1
			case weighted:
				d[at] += w.Data.([]int64)[i]
			default:
				d[at]++
			}
		case []float32:
			switch {
			case o.binary:
				d[at] = 1
			case weighted:
				d[at] += w.Data.([]float32)[i]
			default:
				d[at]++
			}
		case []float64:
			switch {
			case o.binary:
				d[at] = 1
			case weighted:
				d[at] += w.Data.([]float64)[i]
			default:
				d[at]++
			}
		}
	}
	return []*classify.Tensor{out}, nil
}
