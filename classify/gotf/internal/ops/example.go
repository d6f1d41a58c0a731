package ops

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/classifyd/classifyd/classify"
)

// ParseExample and ParseExampleV2: the input of TF1 classify/regress
// signatures and estimators, which take serialized tf.Example protos.
// Dense features (fixed shape, with defaults), sparse features (VarLen:
// indices [n,2], values, dense_shape [batch, longest]) and ragged features
// (values and row_splits). Variable-length dense features
// (FixedLenSequenceFeature) are refused at load with an error naming the
// node. The tf.Example wire format is decoded by hand (protowire): its Go
// types are not in the TensorFlow module the project uses.
func init() {
	Register("ParseExample", buildParseExample(false))
	Register("ParseExampleV2", buildParseExample(true))
}

type denseFeature struct {
	key   string
	dtype classify.DType
	shape classify.Shape
	def   *classify.Tensor // nil or empty: the feature is required
}

// listFeature is a sparse or ragged feature: a variable-length list per
// example.
type listFeature struct {
	key    string
	dtype  classify.DType
	splits classify.DType // ragged only: int32 or int64 row splits
}

type parseExample struct {
	node   *Node
	v2     bool
	sparse []listFeature
	dense  []denseFeature
	ragged []listFeature
}

// exampleDType checks a feature dtype: tf.Example holds float32, int64 and
// bytes lists only.
func exampleDType(n *Node, kind, key string, t classify.DType) error {
	if t != classify.Float32 && t != classify.Int64 && t != classify.String {
		return n.Errorf("%s feature %q of %v: only float32, int64 and string exist in tf.Example", kind, key, t)
	}
	return nil
}

// constStrings reads a constant string tensor input.
func constStrings(n *Node, consts []*classify.Tensor, i int) ([]string, error) {
	if i >= len(consts) || consts[i] == nil || consts[i].DType != classify.String {
		return nil, n.Errorf("input %d (feature keys) must be a constant string tensor", i)
	}
	var s []string
	for _, b := range consts[i].Data.([][]byte) {
		s = append(s, string(b))
	}
	return s, nil
}

func buildParseExample(v2 bool) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		types := n.Attr["Tdense"].GetList().GetType()
		var shapes []classify.Shape
		for _, s := range n.Attr["dense_shapes"].GetList().GetShape() {
			var sh classify.Shape
			for _, d := range s.GetDim() {
				if d.GetSize() < 0 {
					return nil, n.Errorf("dense shape with unknown dimension (variable-length dense features) is not supported")
				}
				sh = append(sh, int(d.GetSize()))
			}
			shapes = append(shapes, sh)
		}
		nd := len(types)
		if len(shapes) != nd {
			return nil, n.Errorf("%d dense types but %d dense shapes", nd, len(shapes))
		}
		var keys, sparseKeys, raggedKeys []string
		var defStart int
		var sparseTypes []classify.DType
		for _, t := range n.Attr["sparse_types"].GetList().GetType() {
			sparseTypes = append(sparseTypes, DTypeFromProto(t))
		}
		if v2 {
			// serialized, names, sparse_keys, dense_keys, ragged_keys, dense_defaults...
			if n.NumInputs != 5+nd {
				return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, 5+nd)
			}
			var err error
			if sparseKeys, err = constStrings(n, consts, 2); err != nil {
				return nil, err
			}
			if keys, err = constStrings(n, consts, 3); err != nil {
				return nil, err
			}
			if raggedKeys, err = constStrings(n, consts, 4); err != nil {
				return nil, err
			}
			if int(n.Int("num_sparse", 0)) != len(sparseKeys) {
				return nil, n.Errorf("num_sparse is %d, %d sparse keys", n.Int("num_sparse", 0), len(sparseKeys))
			}
			defStart = 5
		} else {
			ns := int(n.Int("Nsparse", 0))
			// serialized, names, sparse_keys x Nsparse, dense_keys x Ndense, dense_defaults x Ndense
			if ns < 0 || n.NumInputs != 2+ns+2*nd {
				return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, 2+ns+2*nd)
			}
			for i := range ns + nd {
				k, err := constStrings(n, consts, 2+i)
				if err != nil {
					return nil, err
				}
				if len(k) != 1 {
					return nil, n.Errorf("key %d has %d elements, want 1", i, len(k))
				}
				if i < ns {
					sparseKeys = append(sparseKeys, k[0])
				} else {
					keys = append(keys, k[0])
				}
			}
			defStart = 2 + ns + nd
		}
		if len(sparseTypes) != len(sparseKeys) {
			return nil, n.Errorf("%d sparse keys for %d sparse types", len(sparseKeys), len(sparseTypes))
		}
		if len(keys) != nd {
			return nil, n.Errorf("%d dense keys for %d dense features", len(keys), nd)
		}
		p := &parseExample{node: n, v2: v2}
		for i, k := range sparseKeys {
			if err := exampleDType(n, "sparse", k, sparseTypes[i]); err != nil {
				return nil, err
			}
			p.sparse = append(p.sparse, listFeature{key: k, dtype: sparseTypes[i]})
		}
		rv, rs := n.Attr["ragged_value_types"].GetList().GetType(), n.Attr["ragged_split_types"].GetList().GetType()
		if len(rv) != len(raggedKeys) || len(rs) != len(raggedKeys) {
			return nil, n.Errorf("%d ragged keys for %d value and %d split types", len(raggedKeys), len(rv), len(rs))
		}
		for i, k := range raggedKeys {
			f := listFeature{key: k, dtype: DTypeFromProto(rv[i]), splits: DTypeFromProto(rs[i])}
			if err := exampleDType(n, "ragged", k, f.dtype); err != nil {
				return nil, err
			}
			if f.splits != classify.Int32 && f.splits != classify.Int64 {
				return nil, n.Errorf("ragged feature %q: row splits of %v", k, rs[i])
			}
			p.ragged = append(p.ragged, f)
		}
		for i := range nd {
			dt := DTypeFromProto(types[i])
			if err := exampleDType(n, "dense", keys[i], dt); err != nil {
				return nil, err
			}
			def := consts[defStart+i]
			if def == nil {
				return nil, n.Errorf("default of dense feature %q is not a constant", keys[i])
			}
			if def.DType != dt {
				return nil, n.Errorf("default of dense feature %q is %v, want %v", keys[i], def.DType, dt)
			}
			if def.Len() != 0 && def.Len() != shapes[i].NumElements() && def.Len() != 1 {
				return nil, n.Errorf("default of dense feature %q has %d elements, shape %v needs %d", keys[i], def.Len(), shapes[i], shapes[i].NumElements())
			}
			p.dense = append(p.dense, denseFeature{key: keys[i], dtype: dt, shape: shapes[i], def: def})
		}
		return p, nil
	}
}

// OutputInfo lists the outputs in TensorFlow's order: sparse indices,
// values and shapes, dense values, ragged values and row splits.
func (p *parseExample) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	var out []classify.TensorInfo
	for range p.sparse {
		out = append(out, classify.TensorInfo{DType: classify.Int64, Shape: classify.Shape{-1, -1}})
	}
	for _, f := range p.sparse {
		out = append(out, classify.TensorInfo{DType: f.dtype, Shape: classify.Shape{-1}})
	}
	for range p.sparse {
		out = append(out, classify.TensorInfo{DType: classify.Int64, Shape: classify.Shape{-1}})
	}
	for _, d := range p.dense {
		out = append(out, classify.TensorInfo{DType: d.dtype, Shape: append(classify.Shape{-1}, d.shape...)})
	}
	for _, f := range p.ragged {
		out = append(out, classify.TensorInfo{DType: f.dtype, Shape: classify.Shape{-1}})
	}
	for _, f := range p.ragged {
		out = append(out, classify.TensorInfo{DType: f.splits, Shape: classify.Shape{-1}})
	}
	return out, nil
}

func (p *parseExample) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	ser := in[0]
	if ser.DType != classify.String {
		return nil, p.node.InputErrorf("serialized examples are %v, want string", ser.DType)
	}
	rank := len(ser.Shape)
	if rank != 1 && !(p.v2 && rank == 0) {
		return nil, p.node.InputErrorf("serialized examples have shape %v, want a vector", ser.Shape)
	}
	exs := ser.Data.([][]byte)
	batch := len(exs)
	dense := make([]*classify.Tensor, len(p.dense))
	for i, d := range p.dense {
		shape := append(classify.Shape{}, d.shape...)
		if rank == 1 {
			shape = append(classify.Shape{batch}, shape...)
		}
		dense[i] = classify.NewTensor(d.dtype, shape...)
	}
	// lists[k][e] is list feature k (sparse, then ragged) of example e.
	lists := p.sparse[:len(p.sparse):len(p.sparse)]
	lists = append(lists, p.ragged...)
	got := make([][]feature, len(lists))
	for k := range got {
		got[k] = make([]feature, batch)
	}
	for e, raw := range exs {
		feats, err := exampleFeatures(raw)
		if err != nil {
			return nil, p.node.InputErrorf("example %d: %v", e, err)
		}
		for i, d := range p.dense {
			if err := fillDense(dense[i], e, d, feats[d.key]); err != nil {
				return nil, p.node.InputErrorf("example %d: feature %q: %v", e, d.key, err)
			}
		}
		for k, f := range lists {
			v := feats[f.key]
			if v.kind != 0 && v.kind != kindOf(f.dtype) {
				return nil, p.node.InputErrorf("example %d: feature %q: want %v values, the example has %s", e, f.key, f.dtype, v.describe())
			}
			got[k][e] = v
		}
	}
	var idx, vals, shapes []*classify.Tensor
	for k, f := range p.sparse {
		i, v, s := sparseOf(f, got[k], rank)
		idx, vals, shapes = append(idx, i), append(vals, v), append(shapes, s)
	}
	out := append(append(append(idx, vals...), shapes...), dense...)
	var rsplits []*classify.Tensor
	for k, f := range p.ragged {
		v, s := raggedOf(f, got[len(p.sparse)+k])
		out = append(out, v)
		rsplits = append(rsplits, s)
	}
	return append(out, rsplits...), nil
}

// kindOf is the Feature list field holding dt.
func kindOf(dt classify.DType) int {
	switch dt {
	case classify.String:
		return 1
	case classify.Float32:
		return 2
	}
	return 3
}

// listLen is the number of values in f.
func (f feature) listLen() int { return len(f.bytes) + len(f.floats) + len(f.ints) }

// appendValues copies f's values into t from offset off.
func appendValues(t *classify.Tensor, off int, f feature) {
	switch d := t.Data.(type) {
	case []float32:
		copy(d[off:], f.floats)
	case []int64:
		copy(d[off:], f.ints)
	case [][]byte:
		copy(d[off:], f.bytes)
	}
}

// sparseOf builds a SparseTensor of the examples' lists: indices
// [n, rank+1] (example, position), values, and dense_shape [batch, longest]
// (for a scalar input: indices [n, 1], dense_shape [n]).
func sparseOf(f listFeature, fs []feature, rank int) (idx, vals, shape *classify.Tensor) {
	n, longest := 0, 0
	for _, v := range fs {
		n += v.listLen()
		longest = max(longest, v.listLen())
	}
	vals = classify.NewTensor(f.dtype, n)
	var ix []int64
	off := 0
	for e, v := range fs {
		appendValues(vals, off, v)
		for j := range v.listLen() {
			if rank == 1 {
				ix = append(ix, int64(e))
			}
			ix = append(ix, int64(j))
		}
		off += v.listLen()
	}
	if rank == 1 {
		return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{n, 2}, Data: ix}, vals,
			&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{2}, Data: []int64{int64(len(fs)), int64(longest)}}
	}
	return &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{n, 1}, Data: ix}, vals,
		&classify.Tensor{DType: classify.Int64, Shape: classify.Shape{1}, Data: []int64{int64(longest)}}
}

// raggedOf concatenates the examples' lists, with row splits.
func raggedOf(f listFeature, fs []feature) (vals, splits *classify.Tensor) {
	n := 0
	for _, v := range fs {
		n += v.listLen()
	}
	vals = classify.NewTensor(f.dtype, n)
	splits = classify.NewTensor(f.splits, len(fs)+1)
	off := 0
	for e, v := range fs {
		appendValues(vals, off, v)
		off += v.listLen()
		switch d := splits.Data.(type) {
		case []int64:
			d[e+1] = int64(off)
		case []int32:
			d[e+1] = int32(off)
		}
	}
	return vals, splits
}

// feature is one decoded tf.train.Feature.
type feature struct {
	kind   int // 1 bytes, 2 float, 3 int64; 0 absent
	bytes  [][]byte
	floats []float32
	ints   []int64
}

func fillDense(t *classify.Tensor, e int, d denseFeature, f feature) error {
	n := d.shape.NumElements()
	off := e * n
	if f.kind == 0 {
		if d.def == nil || d.def.Len() == 0 {
			return fmt.Errorf("required feature is missing")
		}
		for j := range n {
			k := j
			if d.def.Len() == 1 {
				k = 0
			}
			switch dst := t.Data.(type) {
			case []float32:
				dst[off+j] = d.def.Data.([]float32)[k]
			case []int64:
				dst[off+j] = d.def.Data.([]int64)[k]
			case [][]byte:
				dst[off+j] = d.def.Data.([][]byte)[k]
			}
		}
		return nil
	}
	switch dst := t.Data.(type) {
	case []float32:
		if f.kind != 2 || len(f.floats) != n {
			return fmt.Errorf("want %d floats, the example has %s", n, f.describe())
		}
		copy(dst[off:], f.floats)
	case []int64:
		if f.kind != 3 || len(f.ints) != n {
			return fmt.Errorf("want %d int64s, the example has %s", n, f.describe())
		}
		copy(dst[off:], f.ints)
	case [][]byte:
		if f.kind != 1 || len(f.bytes) != n {
			return fmt.Errorf("want %d strings, the example has %s", n, f.describe())
		}
		copy(dst[off:], f.bytes)
	}
	return nil
}

func (f feature) describe() string {
	switch f.kind {
	case 1:
		return fmt.Sprintf("%d byte strings", len(f.bytes))
	case 2:
		return fmt.Sprintf("%d floats", len(f.floats))
	case 3:
		return fmt.Sprintf("%d int64s", len(f.ints))
	}
	return "none"
}

// exampleFeatures decodes Example{features=1: Features{feature=1: map<string, Feature>}}.
func exampleFeatures(b []byte) (map[string]feature, error) {
	out := map[string]feature{}
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		return eachField(v, func(num protowire.Number, typ protowire.Type, entry []byte, _ uint64) error {
			if num != 1 || typ != protowire.BytesType {
				return nil
			}
			var key string
			var f feature
			err := eachField(entry, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					key = string(v)
				case num == 2 && typ == protowire.BytesType:
					var err error
					f, err = decodeFeature(v)
					return err
				}
				return nil
			})
			if err != nil {
				return err
			}
			out[key] = f
			return nil
		})
	})
	return out, err
}

// decodeFeature decodes Feature{bytes_list=1, float_list=2, int64_list=3},
// each list holding field 1 packed or unpacked.
func decodeFeature(b []byte) (feature, error) {
	var f feature
	err := eachField(b, func(num protowire.Number, typ protowire.Type, list []byte, _ uint64) error {
		if typ != protowire.BytesType || num < 1 || num > 3 {
			return nil
		}
		f = feature{kind: int(num)}
		return eachField(list, func(n protowire.Number, typ protowire.Type, v []byte, x uint64) error {
			if n != 1 {
				return nil
			}
			switch {
			case num == 1 && typ == protowire.BytesType:
				f.bytes = append(f.bytes, v)
			case num == 2 && typ == protowire.Fixed32Type:
				f.floats = append(f.floats, math.Float32frombits(uint32(x)))
			case num == 2 && typ == protowire.BytesType:
				if len(v)%4 != 0 {
					return fmt.Errorf("packed floats of %d bytes", len(v))
				}
				for i := 0; i < len(v); i += 4 {
					f.floats = append(f.floats, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
				}
			case num == 3 && typ == protowire.VarintType:
				f.ints = append(f.ints, int64(x))
			case num == 3 && typ == protowire.BytesType:
				for len(v) > 0 {
					u, k := protowire.ConsumeVarint(v)
					if k < 0 {
						return protowire.ParseError(k)
					}
					f.ints = append(f.ints, int64(u))
					v = v[k:]
				}
			default:
				return fmt.Errorf("feature list field of wire type %d", typ)
			}
			return nil
		})
	})
	return f, err
}

// eachField calls fn for every field of a message: v holds the bytes of a
// length-delimited field, x the value of a varint or fixed field.
func eachField(b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("malformed tf.Example: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			x = uint64(u)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("malformed tf.Example: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
