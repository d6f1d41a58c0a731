package savedmodel

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// ParseExamples turns saved_model_cli's --input_examples value for one key,
// a JSON list of objects such as [{"x":[1.0],"tag":["a"]}], into serialized
// tf.Example protos. As saved_model_cli decides, a list of numbers with a
// fraction or exponent is a float_list, of integers an int64_list, of
// strings a bytes_list.
func ParseExamples(js string) ([][]byte, error) {
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	var list []map[string][]any
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("examples %q: want a JSON list of objects of lists: %w", js, err)
	}
	var out [][]byte
	for i, ex := range list {
		b, err := encodeExample(ex)
		if err != nil {
			return nil, fmt.Errorf("example %d: %w", i, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// encodeExample writes Example{features=1: Features{feature=1: map}}, keys
// sorted so the bytes are deterministic.
func encodeExample(ex map[string][]any) ([]byte, error) {
	keys := make([]string, 0, len(ex))
	for k := range ex {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var feats []byte
	for _, k := range keys {
		f, err := encodeFeature(ex[k])
		if err != nil {
			return nil, fmt.Errorf("feature %q: %w", k, err)
		}
		var entry []byte
		entry = protowire.AppendTag(entry, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, k)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendBytes(entry, f)
		feats = protowire.AppendTag(feats, 1, protowire.BytesType)
		feats = protowire.AppendBytes(feats, entry)
	}
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	return protowire.AppendBytes(out, feats), nil
}

func encodeFeature(vals []any) ([]byte, error) {
	var kind protowire.Number
	var packed []byte
	var list []byte
	for _, v := range vals {
		var k protowire.Number
		switch v := v.(type) {
		case string:
			k = 1
			list = protowire.AppendTag(list, 1, protowire.BytesType)
			list = protowire.AppendString(list, v)
		case json.Number:
			if strings.ContainsAny(v.String(), ".eE") {
				f, err := v.Float64()
				if err != nil {
					return nil, err
				}
				k = 2
				packed = binary.LittleEndian.AppendUint32(packed, math.Float32bits(float32(f)))
			} else {
				n, err := v.Int64()
				if err != nil {
					return nil, err
				}
				k = 3
				packed = protowire.AppendVarint(packed, uint64(n))
			}
		default:
			return nil, fmt.Errorf("value %v is not a number or string", v)
		}
		if kind != 0 && k != kind {
			return nil, fmt.Errorf("mixes strings, floats and integers")
		}
		kind = k
	}
	if kind == 0 {
		return nil, fmt.Errorf("empty list: its type is unknown")
	}
	if kind != 1 {
		list = protowire.AppendTag(nil, 1, protowire.BytesType)
		list = protowire.AppendBytes(list, packed)
	}
	var f bytes.Buffer
	f.Write(protowire.AppendTag(nil, kind, protowire.BytesType))
	f.Write(protowire.AppendBytes(nil, list))
	return f.Bytes(), nil
}
