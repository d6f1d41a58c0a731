// Package tfjs turns a TensorFlow.js graph model (model.json and its weight
// shards) back into a frozen TensorFlow GraphDef: the topology, which
// model.json holds as a GraphDef in protobuf's JSON form (with a function
// library for TF2 control flow), gets its weights back as Const values,
// decoded exactly as TensorFlow.js decodes them at load (float16 widened,
// uint8/uint16 affine-quantized weights computed as v*scale+min in double
// precision and rounded to float32, or Math.round-ed for int32), and the
// two ops only TensorFlow.js has are rewritten as TensorFlow ops:
// FusedDepthwiseConv2dNative becomes _FusedDepthwiseConv2dNative, and Prelu
// (alone or fused into a convolution or matmul) becomes
// Relu(x) + alpha*(x - Relu(x)), which equals TensorFlow.js's
// x<0 ? alpha*x : x exactly for finite alpha. A layers-model (a Keras
// model_config instead of a GraphDef) is built into a GraphDef for the
// common vision layers (see layers.go).
//
// Every size is checked before it is used: model.json's length, each
// weight's byte count against its shape, the shards' total against what the
// manifest declares (Limits), and shard paths must stay inside the model's
// directory. Convert is safe for concurrent use.
package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_go_proto"
	spb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrFormat marks a model.json or weight shard that is not a valid
// TensorFlow.js graph model (or breaks a limit).
var ErrFormat = errors.New("tfjs: bad graph model")

// ErrUnsupported marks a valid model that uses a feature the converter
// does not handle; the message names it.
var ErrUnsupported = errors.New("tfjs: unsupported")

// Limits bound what a conversion may consume.
type Limits struct {
	// MaxJSONBytes bounds model.json (default 64 MiB).
	MaxJSONBytes int64
	// MaxWeightBytes bounds the sum of all shards (default 1 GiB).
	MaxWeightBytes int64
	// MaxElements bounds one weight's element count (default 1<<28).
	MaxElements int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxJSONBytes <= 0 {
		l.MaxJSONBytes = 64 << 20
	}
	if l.MaxWeightBytes <= 0 {
		l.MaxWeightBytes = 1 << 30
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 1 << 28
	}
	return l
}

// ShardReader reads the weight shard at a path relative to model.json's
// directory (already checked to stay inside it); it must fail rather than
// return more than max bytes.
type ShardReader func(rel string, max int64) ([]byte, error)

// TensorInfo names one input or output of the model.
type TensorInfo struct {
	Key   string // the signature's key (the tensor name when there is none)
	Name  string // "node" or "node:N"
	DType string // "float32", "int32", ... ("" when unknown)
	Shape []int  // -1 for a dimension known only at run time; nil: unknown rank
}

// Model is a converted graph model.
type Model struct {
	Graph   *gpb.GraphDef
	Inputs  []TensorInfo
	Outputs []TensorInfo
	// Source says where Inputs/Outputs come from: "signature" (model.json's
	// signature), "graph" (the Placeholders and the nodes nothing consumes,
	// as TensorFlow.js picks them) or "layers" (a layers-model's input and
	// output layers).
	Source string
	// Notes lists the rewrites made (op counts), for the user.
	Notes []string
}

type manifestGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

type weightSpec struct {
	Name         string        `json:"name"`
	Shape        []int64       `json:"shape"`
	Dtype        string        `json:"dtype"`
	Quantization *quantization `json:"quantization"`
}

type quantization struct {
	Dtype         string   `json:"dtype"`
	Min           *float64 `json:"min"`
	Scale         *float64 `json:"scale"`
	OriginalDtype string   `json:"original_dtype"`
}

type modelJSON struct {
	Format           string          `json:"format"`
	ModelTopology    json.RawMessage `json:"modelTopology"`
	WeightsManifest  []manifestGroup `json:"weightsManifest"`
	Signature        *signature      `json:"signature"`
	ModelInitializer json.RawMessage `json:"modelInitializer"`
}

type signature struct {
	Inputs  map[string]sigTensor `json:"inputs"`
	Outputs map[string]sigTensor `json:"outputs"`
}

type sigTensor struct {
	Name        string `json:"name"`
	Dtype       string `json:"dtype"`
	TensorShape *struct {
		Dim []struct {
			Size json.Number `json:"size"`
		} `json:"dim"`
		UnknownRank bool `json:"unknownRank"`
	} `json:"tensorShape"`
}

// Convert parses model.json (its bytes) and reads the shards its manifest
// names through read.
func Convert(modelJSONBytes []byte, read ShardReader, lim Limits) (*Model, error) {
	lim = lim.withDefaults()
	if int64(len(modelJSONBytes)) > lim.MaxJSONBytes {
		return nil, fmt.Errorf("%w: model.json is %d bytes, limit %d", ErrFormat, len(modelJSONBytes), lim.MaxJSONBytes)
	}
	var mj modelJSON
	if err := json.Unmarshal(modelJSONBytes, &mj); err != nil {
		return nil, fmt.Errorf("%w: model.json: %v", ErrFormat, err)
	}
	if mj.Format != "" && mj.Format != "graph-model" && mj.Format != "layers-model" {
		return nil, fmt.Errorf("%w: format %q", ErrUnsupported, mj.Format)
	}
	if len(mj.ModelTopology) == 0 || string(mj.ModelTopology) == "null" {
		return nil, fmt.Errorf("%w: model.json has no modelTopology", ErrFormat)
	}
	if mj.Format == "layers-model" || isLayersModel(mj.ModelTopology) {
		weights, err := readWeights(mj.WeightsManifest, read, lim)
		if err != nil {
			return nil, err
		}
		return convertLayers(mj.ModelTopology, weights)
	}
	if len(mj.ModelInitializer) > 0 && string(mj.ModelInitializer) != "null" && string(mj.ModelInitializer) != "{}" {
		return nil, fmt.Errorf("%w: modelInitializer (a graph of table initializers)", ErrUnsupported)
	}
	g := &gpb.GraphDef{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(mj.ModelTopology, g); err != nil {
		return nil, fmt.Errorf("%w: modelTopology is not a GraphDef: %v", ErrFormat, err)
	}
	weights, err := readWeights(mj.WeightsManifest, read, lim)
	if err != nil {
		return nil, err
	}
	m := &Model{Graph: g}
	if err := attachWeights(g, weights); err != nil {
		return nil, err
	}
	m.Notes = rewrite(g)
	if mj.Signature != nil && len(mj.Signature.Inputs)+len(mj.Signature.Outputs) > 0 {
		m.Source = "signature"
		m.Inputs = sigInfos(mj.Signature.Inputs)
		m.Outputs = sigInfos(mj.Signature.Outputs)
	}
	if len(m.Inputs) == 0 {
		m.Source = "graph"
		m.Inputs = placeholders(g)
	}
	if len(m.Outputs) == 0 {
		m.Source = "graph"
		m.Outputs = sinks(g)
	}
	return m, nil
}

// isLayersModel reports a Keras topology: a layers-model written without
// its "format" field (as older converters and nsfwjs's bundles do).
func isLayersModel(topo json.RawMessage) bool {
	var k struct {
		ModelConfig json.RawMessage `json:"model_config"`
	}
	return json.Unmarshal(topo, &k) == nil && len(k.ModelConfig) > 0
}

// decoded is one weight ready to become a Const value.
type decoded struct {
	dtype typb.DataType
	shape []int64
	data  []byte   // tensor_content (little-endian)
	strs  [][]byte // DT_STRING values
}

var dtypeSize = map[string]int64{"float32": 4, "int32": 4, "bool": 1, "uint8": 1, "uint16": 2, "float16": 2}

func readWeights(groups []manifestGroup, read ShardReader, lim Limits) (map[string]*decoded, error) {
	out := map[string]*decoded{}
	var total int64
	for gi, grp := range groups {
		// What this group's weights take, before reading a byte of it.
		var need int64
		hasString := false
		for _, w := range grp.Weights {
			n, err := numElements(w, lim)
			if err != nil {
				return nil, err
			}
			if w.Dtype == "string" {
				hasString = true
				continue
			}
			sz, err := byteSize(w)
			if err != nil {
				return nil, err
			}
			need += n * sz
			if need > lim.MaxWeightBytes {
				return nil, fmt.Errorf("%w: weights take more than the %d-byte limit", ErrFormat, lim.MaxWeightBytes)
			}
		}
		budget := need
		if hasString {
			budget = lim.MaxWeightBytes - total
		}
		var buf []byte
		for _, p := range grp.Paths {
			rel, err := cleanPath(p)
			if err != nil {
				return nil, err
			}
			remaining := budget - int64(len(buf))
			if remaining < 0 {
				remaining = 0
			}
			b, err := read(rel, remaining)
			if err != nil {
				return nil, fmt.Errorf("weight shard %s: %w", p, err)
			}
			if int64(len(b)) > remaining {
				return nil, fmt.Errorf("%w: weight shard %s: group %d's shards hold more than the %d bytes its manifest declares", ErrFormat, p, gi, budget)
			}
			buf = append(buf, b...)
		}
		total += int64(len(buf))
		if !hasString && int64(len(buf)) != need {
			return nil, fmt.Errorf("%w: weight group %d: shards hold %d bytes, the manifest declares %d", ErrFormat, gi, len(buf), need)
		}
		off := int64(0)
		for _, w := range grp.Weights {
			d, used, err := decodeWeight(w, buf[off:], lim)
			if err != nil {
				return nil, fmt.Errorf("weight %s: %w", w.Name, err)
			}
			off += used
			if _, dup := out[w.Name]; dup {
				return nil, fmt.Errorf("%w: weight %s listed twice", ErrFormat, w.Name)
			}
			out[w.Name] = d
		}
		if off != int64(len(buf)) {
			return nil, fmt.Errorf("%w: weight group %d: %d bytes left after its weights", ErrFormat, gi, int64(len(buf))-off)
		}
	}
	return out, nil
}

func cleanPath(p string) (string, error) {
	c := path.Clean(p)
	if p == "" || path.IsAbs(c) || c == ".." || strings.HasPrefix(c, "../") || strings.ContainsAny(p, "\\\x00") || strings.Contains(p, "://") {
		return "", fmt.Errorf("%w: weight path %q is not a file beside model.json", ErrFormat, p)
	}
	return c, nil
}

func numElements(w weightSpec, lim Limits) (int64, error) {
	n := int64(1)
	for _, d := range w.Shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: weight %s has dimension %d", ErrFormat, w.Name, d)
		}
		if d > 0 && n > lim.MaxElements/d {
			return 0, fmt.Errorf("%w: weight %s of shape %v has more than %d elements", ErrFormat, w.Name, w.Shape, lim.MaxElements)
		}
		n *= d
	}
	return n, nil
}

// byteSize is the stored size of one element of w.
func byteSize(w weightSpec) (int64, error) {
	if q := w.Quantization; q != nil {
		sz, ok := dtypeSize[q.Dtype]
		if !ok || q.Dtype == "float32" || q.Dtype == "int32" || q.Dtype == "bool" {
			return 0, fmt.Errorf("%w: weight %s quantized as %q", ErrUnsupported, w.Name, q.Dtype)
		}
		return sz, nil
	}
	switch w.Dtype {
	case "float32", "int32", "bool":
		return dtypeSize[w.Dtype], nil
	}
	return 0, fmt.Errorf("%w: weight %s has dtype %q", ErrUnsupported, w.Name, w.Dtype)
}

func decodeWeight(w weightSpec, buf []byte, lim Limits) (*decoded, int64, error) {
	n, _ := numElements(w, lim) // checked in readWeights
	d := &decoded{shape: w.Shape}
	if w.Dtype == "string" {
		if w.Quantization != nil {
			return nil, 0, fmt.Errorf("%w: quantized string weight", ErrFormat)
		}
		d.dtype = typb.DataType_DT_STRING
		off := int64(0)
		for i := int64(0); i < n; i++ {
			if int64(len(buf))-off < 4 {
				return nil, 0, fmt.Errorf("%w: string %d of %d runs past the shards", ErrFormat, i, n)
			}
			l := int64(binary.LittleEndian.Uint32(buf[off:]))
			off += 4
			if int64(len(buf))-off < l {
				return nil, 0, fmt.Errorf("%w: string %d of %d bytes runs past the shards", ErrFormat, i, l)
			}
			d.strs = append(d.strs, buf[off:off+l])
			off += l
		}
		return d, off, nil
	}
	sz, err := byteSize(w)
	if err != nil {
		return nil, 0, err
	}
	used := n * sz
	if int64(len(buf)) < used {
		return nil, 0, fmt.Errorf("%w: needs %d bytes, %d left in the shards", ErrFormat, used, len(buf))
	}
	raw := buf[:used]
	q := w.Quantization
	switch {
	case q == nil:
		d.data = raw
		d.dtype = map[string]typb.DataType{"float32": typb.DataType_DT_FLOAT, "int32": typb.DataType_DT_INT32, "bool": typb.DataType_DT_BOOL}[w.Dtype]
		if w.Dtype == "bool" {
			// TensorFlow wants 0 or 1 in each byte.
			d.data = make([]byte, len(raw))
			for i, b := range raw {
				if b != 0 {
					d.data[i] = 1
				}
			}
		}
	case q.Dtype == "float16":
		if w.Dtype != "float32" {
			return nil, 0, fmt.Errorf("%w: float16 quantization of a %s weight", ErrFormat, w.Dtype)
		}
		d.dtype = typb.DataType_DT_FLOAT
		d.data = make([]byte, 4*n)
		for i := int64(0); i < n; i++ {
			f := HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
			binary.LittleEndian.PutUint32(d.data[4*i:], math.Float32bits(f))
		}
	default: // uint8, uint16 affine
		if q.Min == nil || q.Scale == nil {
			return nil, 0, fmt.Errorf("%w: %s quantization without min and scale", ErrFormat, q.Dtype)
		}
		lo, scale := *q.Min, *q.Scale
		at := func(i int64) float64 {
			if q.Dtype == "uint8" {
				return float64(raw[i])
			}
			return float64(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		d.data = make([]byte, 4*n)
		switch w.Dtype {
		case "float32":
			d.dtype = typb.DataType_DT_FLOAT
			for i := int64(0); i < n; i++ {
				// As TensorFlow.js: v*scale+min in doubles, stored in a Float32Array.
				binary.LittleEndian.PutUint32(d.data[4*i:], math.Float32bits(float32(at(i)*scale+lo)))
			}
		case "int32":
			d.dtype = typb.DataType_DT_INT32
			for i := int64(0); i < n; i++ {
				v := jsRound(at(i)*scale + lo)
				binary.LittleEndian.PutUint32(d.data[4*i:], uint32(int32(v)))
			}
		default:
			return nil, 0, fmt.Errorf("%w: %s quantization of a %s weight", ErrUnsupported, q.Dtype, w.Dtype)
		}
	}
	return d, used, nil
}

// jsRound is JavaScript's Math.round (halves round up), then the int32
// conversion an Int32Array store does (modulo 2^32; NaN and infinities to 0).
func jsRound(v float64) int64 {
	r := math.Floor(v + 0.5)
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return 0
	}
	return int64(uint32(int64(math.Mod(r, 1<<32))))
}

// HalfToFloat32 widens an IEEE 754 binary16 value exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: man * 2^-24
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// attachWeights fills every Const node that has a weight. The TensorFlow.js
// converter stores DT_DOUBLE constants as float32 and DT_INT64 ones as int32
// weights (TensorFlow.js has neither type); those are widened back to the
// node's declared dtype, exactly, so the GraphDef stays well typed. Any
// other Const takes its weight's dtype.
func attachWeights(g *gpb.GraphDef, weights map[string]*decoded) error {
	consts := 0
	for _, n := range g.Node {
		if n.Op != "Const" {
			continue
		}
		consts++
		w, ok := weights[n.Name]
		if !ok {
			if t := n.GetAttr()["value"].GetTensor(); t != nil && (len(t.TensorContent) > 0 || len(t.FloatVal)+len(t.IntVal)+len(t.BoolVal)+len(t.StringVal)+len(t.Int64Val) > 0) {
				continue // value inline in the topology
			}
			return fmt.Errorf("%w: Const %s has no weight in the manifest", ErrFormat, n.Name)
		}
		if want := n.GetAttr()["value"].GetTensor().GetTensorShape(); want != nil && !want.GetUnknownRank() {
			if !sameShape(want, w.shape) {
				return fmt.Errorf("%w: Const %s has shape %v in the graph and %v in the manifest", ErrFormat, n.Name, dims(want), w.shape)
			}
		}
		w = widen(w, n.GetAttr()["dtype"].GetType())
		sh := &spb.TensorShapeProto{}
		for _, d := range w.shape {
			sh.Dim = append(sh.Dim, &spb.TensorShapeProto_Dim{Size: d})
		}
		t := &tpb.TensorProto{Dtype: w.dtype, TensorShape: sh, TensorContent: w.data, StringVal: w.strs}
		if n.Attr == nil {
			n.Attr = map[string]*apb.AttrValue{}
		}
		n.Attr["value"] = &apb.AttrValue{Value: &apb.AttrValue_Tensor{Tensor: t}}
		n.Attr["dtype"] = &apb.AttrValue{Value: &apb.AttrValue_Type{Type: w.dtype}}
	}
	if consts == 0 && len(weights) > 0 {
		return fmt.Errorf("%w: %d weights but no Const node", ErrFormat, len(weights))
	}
	return nil
}

// widen converts a float32 weight to float64 or an int32 one to int64 when
// the Const node declares that dtype.
func widen(w *decoded, want typb.DataType) *decoded {
	switch {
	case want == typb.DataType_DT_DOUBLE && w.dtype == typb.DataType_DT_FLOAT:
		out := make([]byte, 2*len(w.data))
		for i := 0; i+4 <= len(w.data); i += 4 {
			f := math.Float32frombits(binary.LittleEndian.Uint32(w.data[i:]))
			binary.LittleEndian.PutUint64(out[2*i:], math.Float64bits(float64(f)))
		}
		return &decoded{dtype: want, shape: w.shape, data: out}
	case want == typb.DataType_DT_INT64 && w.dtype == typb.DataType_DT_INT32:
		out := make([]byte, 2*len(w.data))
		for i := 0; i+4 <= len(w.data); i += 4 {
			v := int32(binary.LittleEndian.Uint32(w.data[i:]))
			binary.LittleEndian.PutUint64(out[2*i:], uint64(int64(v)))
		}
		return &decoded{dtype: want, shape: w.shape, data: out}
	}
	return w
}

func dims(s *spb.TensorShapeProto) []int64 {
	var d []int64
	for _, x := range s.GetDim() {
		d = append(d, x.GetSize())
	}
	return d
}

func sameShape(s *spb.TensorShapeProto, w []int64) bool {
	d := dims(s)
	if len(d) != len(w) {
		return false
	}
	for i := range d {
		if d[i] != w[i] {
			return false
		}
	}
	return true
}

func sigInfos(m map[string]sigTensor) []TensorInfo {
	var out []TensorInfo
	for k, v := range m {
		ti := TensorInfo{Key: k, Name: v.Name, DType: dtypeName(v.Dtype)}
		if ti.Name == "" {
			ti.Name = k
		}
		ti.Name = strings.TrimSuffix(ti.Name, ":0")
		if v.TensorShape != nil && !v.TensorShape.UnknownRank {
			ti.Shape = []int{}
			for _, d := range v.TensorShape.Dim {
				s, err := d.Size.Int64()
				if err != nil || s < -1 || s > 1<<31 {
					s = -1
				}
				ti.Shape = append(ti.Shape, int(s))
			}
		}
		out = append(out, ti)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func dtypeName(s string) string {
	switch s {
	case "DT_FLOAT":
		return "float32"
	case "DT_INT32":
		return "int32"
	case "DT_INT64":
		return "int64"
	case "DT_BOOL":
		return "bool"
	case "DT_STRING":
		return "string"
	case "DT_UINT8":
		return "uint8"
	case "":
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(s, "DT_"))
}

func placeholders(g *gpb.GraphDef) []TensorInfo {
	var out []TensorInfo
	for _, n := range g.Node {
		if n.Op != "Placeholder" {
			continue
		}
		ti := TensorInfo{Key: n.Name, Name: n.Name, DType: dtypeName(n.GetAttr()["dtype"].GetType().String())}
		if sh := n.GetAttr()["shape"].GetShape(); sh != nil && !sh.GetUnknownRank() {
			ti.Shape = []int{}
			for _, d := range sh.GetDim() {
				ti.Shape = append(ti.Shape, int(d.GetSize()))
			}
		}
		out = append(out, ti)
	}
	return out
}

// sinks are the nodes no other node reads (TensorFlow.js's default
// outputs), leaving out Const, NoOp and Placeholder.
func sinks(g *gpb.GraphDef) []TensorInfo {
	used := map[string]bool{}
	for _, n := range g.Node {
		for _, in := range n.Input {
			in = strings.TrimPrefix(in, "^")
			if i := strings.LastIndexByte(in, ':'); i >= 0 {
				in = in[:i]
			}
			used[in] = true
		}
	}
	var out []TensorInfo
	for _, n := range g.Node {
		if used[n.Name] {
			continue
		}
		switch n.Op {
		case "Const", "NoOp", "Placeholder":
			continue
		}
		out = append(out, TensorInfo{Key: n.Name, Name: n.Name})
	}
	return out
}

// rewrite replaces the ops only TensorFlow.js has by TensorFlow ones, in
// the graph and in its functions, and reports what it did.
func rewrite(g *gpb.GraphDef) []string {
	counts := map[string]int{}
	g.Node = rewriteNodes(g.Node, counts)
	for _, f := range g.GetLibrary().GetFunction() {
		f.NodeDef = rewriteNodes(f.NodeDef, counts)
	}
	var notes []string
	for k, v := range counts {
		notes = append(notes, fmt.Sprintf("%s x%d", k, v))
	}
	sort.Strings(notes)
	return notes
}

func rewriteNodes(nodes []*npb.NodeDef, counts map[string]int) []*npb.NodeDef {
	var out []*npb.NodeDef
	for _, n := range nodes {
		switch n.Op {
		case "FusedDepthwiseConv2dNative":
			n.Op = "_FusedDepthwiseConv2dNative"
			counts["FusedDepthwiseConv2dNative -> _FusedDepthwiseConv2dNative"]++
		case "Prelu":
			if len(n.Input) == 2 {
				counts["Prelu -> Relu, Sub, Mul, AddV2"]++
				out = append(out, prelu(n, n.Name, n.Input[0], n.Input[1])...)
				continue
			}
		}
		switch n.Op {
		case "_FusedConv2D", "_FusedDepthwiseConv2dNative", "_FusedMatMul":
			ops := n.GetAttr()["fused_ops"].GetList().GetS()
			if len(ops) == 2 && string(ops[0]) == "BiasAdd" && string(ops[1]) == "Prelu" && len(n.Input) >= 4 {
				counts[n.Op+"+Prelu -> "+n.Op+" (BiasAdd), Relu, Sub, Mul, AddV2"]++
				name, alpha := n.Name, n.Input[3]
				n.Name = name + "/fused_biasadd"
				n.Input = append(n.Input[:3:3], n.Input[4:]...)
				n.Attr["fused_ops"] = &apb.AttrValue{Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{S: [][]byte{[]byte("BiasAdd")}}}}
				n.Attr["num_args"] = &apb.AttrValue{Value: &apb.AttrValue_I{I: 1}}
				out = append(out, n)
				out = append(out, prelu(n, name, n.Name, alpha)...)
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

// prelu returns nodes computing name = Relu(x) + alpha*(x - Relu(x)), with
// the dtype and device of like.
func prelu(like *npb.NodeDef, name, x, alpha string) []*npb.NodeDef {
	t := like.GetAttr()["T"]
	if t == nil {
		t = &apb.AttrValue{Value: &apb.AttrValue_Type{Type: typb.DataType_DT_FLOAT}}
	}
	mk := func(op, nm string, in ...string) *npb.NodeDef {
		return &npb.NodeDef{Name: nm, Op: op, Input: in, Device: like.Device, Attr: map[string]*apb.AttrValue{"T": t}}
	}
	relu := mk("Relu", name+"/prelu_relu", x)
	neg := mk("Sub", name+"/prelu_neg", x, relu.Name)
	scaled := mk("Mul", name+"/prelu_scaled", alpha, neg.Name)
	sum := mk("AddV2", name, relu.Name, scaled.Name)
	return []*npb.NodeDef{relu, neg, scaled, sum}
}
