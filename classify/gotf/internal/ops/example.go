package ops

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/classifyd/classifyd/classify"
)

// ParseExample and ParseExampleV2 with dense features: the input of TF1
// classify/regress signatures, which take serialized tf.Example protos.
// Sparse and ragged features are refused at load with an error naming the
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

type parseExample struct {
	node  *Node
	v2    bool
	dense []denseFeature
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
		var keys []string
		var defStart int
		if v2 {
			if n.Int("num_sparse", 0) != 0 || len(n.Attr["ragged_value_types"].GetList().GetType()) != 0 {
				return nil, fmt.Errorf("node %q (%s): %w: sparse or ragged features", n.Name, n.Op, classify.ErrUnsupportedOp)
			}
			// serialized, names, sparse_keys, dense_keys, ragged_keys, dense_defaults...
			if n.NumInputs != 5+nd {
				return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, 5+nd)
			}
			k, err := constStrings(n, consts, 3)
			if err != nil {
				return nil, err
			}
			keys, defStart = k, 5
		} else {
			if n.Int("Nsparse", 0) != 0 {
				return nil, fmt.Errorf("node %q (%s): %w: sparse features", n.Name, n.Op, classify.ErrUnsupportedOp)
			}
			// serialized, names, dense_keys x Ndense, dense_defaults x Ndense
			if n.NumInputs != 2+2*nd {
				return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, 2+2*nd)
			}
			for i := range nd {
				k, err := constStrings(n, consts, 2+i)
				if err != nil {
					return nil, err
				}
				if len(k) != 1 {
					return nil, n.Errorf("dense key %d has %d elements, want 1", i, len(k))
				}
				keys = append(keys, k[0])
			}
			defStart = 2 + nd
		}
		if len(keys) != nd {
			return nil, n.Errorf("%d dense keys for %d dense features", len(keys), nd)
		}
		p := &parseExample{node: n, v2: v2}
		for i := range nd {
			dt := DTypeFromProto(types[i])
			if dt != classify.Float32 && dt != classify.Int64 && dt != classify.String {
				return nil, n.Errorf("dense feature %q of %v: only float32, int64 and string exist in tf.Example", keys[i], types[i])
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

func (p *parseExample) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	var out []classify.TensorInfo
	for _, d := range p.dense {
		out = append(out, classify.TensorInfo{DType: d.dtype, Shape: append(classify.Shape{-1}, d.shape...)})
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
	out := make([]*classify.Tensor, len(p.dense))
	for i, d := range p.dense {
		shape := append(classify.Shape{}, d.shape...)
		if rank == 1 {
			shape = append(classify.Shape{batch}, shape...)
		}
		out[i] = classify.NewTensor(d.dtype, shape...)
	}
	for e, raw := range exs {
		feats, err := exampleFeatures(raw)
		if err != nil {
			return nil, p.node.InputErrorf("example %d: %v", e, err)
		}
		for i, d := range p.dense {
			if err := fillDense(out[i], e, d, feats[d.key]); err != nil {
				return nil, p.node.InputErrorf("example %d: feature %q: %v", e, d.key, err)
			}
		}
	}
	return out, nil
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
