// Package graphdef converts between classify tensors and TensorFlow's
// protobuf types, and builds small GraphDefs in Go: the test graphs of every
// op family, the benchmark graphs and the project's own color model are all
// made with it. Marshal is deterministic, so a generator reproduces its file
// byte for byte.
package graphdef

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	fpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/function_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	opb "github.com/galeone/tensorflow/tensorflow/go/core/framework/op_def_go_proto"
	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_go_proto"
	spb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	vpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/versions_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/rawtensor"
)

// Output names one output of a node: "name" (output 0) or "name:1".
type Output string

// Attrs are node attributes. Values may be: int, int64, float32, float64,
// bool, string, []int, []int64, []float32, classify.DType, classify.Shape,
// *classify.Tensor, or an *apb.AttrValue as is.
type Attrs map[string]any

// Builder accumulates nodes of a GraphDef.
type Builder struct {
	g     *gpb.GraphDef
	names map[string]int
}

// New returns an empty builder (GraphDef producer version 27, like
// TensorFlow 1.x's frozen graphs).
func New() *Builder {
	return &Builder{
		g:     &gpb.GraphDef{Versions: &vpb.VersionDef{Producer: 27}},
		names: map[string]int{},
	}
}

// Unique returns name, or name_N if name is taken.
func (b *Builder) Unique(name string) string {
	if _, ok := b.names[name]; !ok {
		return name
	}
	for i := 1; ; i++ {
		n := fmt.Sprintf("%s_%d", name, i)
		if _, ok := b.names[n]; !ok {
			return n
		}
	}
}

// Op adds a node and returns its output 0. The name is made unique.
func (b *Builder) Op(op, name string, inputs []Output, attrs Attrs) Output {
	name = b.Unique(name)
	n := &npb.NodeDef{Name: name, Op: op, Attr: map[string]*apb.AttrValue{}}
	for _, in := range inputs {
		n.Input = append(n.Input, string(in))
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.Attr[k] = Attr(attrs[k])
	}
	b.names[name] = len(b.g.Node)
	b.g.Node = append(b.g.Node, n)
	return Output(name)
}

// Node returns the NodeDef of a node added earlier, for adjustments such as
// control inputs ("^name") or odd attributes.
func (b *Builder) Node(name string) *npb.NodeDef {
	if i, ok := b.names[strings.SplitN(name, ":", 2)[0]]; ok {
		return b.g.Node[i]
	}
	return nil
}

// Placeholder adds a Placeholder; -1 in shape is an unknown dimension, a nil
// shape an unknown rank.
func (b *Builder) Placeholder(name string, dt classify.DType, shape classify.Shape) Output {
	a := Attrs{"dtype": dt}
	if shape != nil {
		a["shape"] = shape
	} else {
		a["shape"] = &apb.AttrValue{Value: &apb.AttrValue_Shape{Shape: &spb.TensorShapeProto{UnknownRank: true}}}
	}
	return b.Op("Placeholder", name, nil, a)
}

// Const adds a Const node holding t.
func (b *Builder) Const(name string, t *classify.Tensor) Output {
	return b.Op("Const", name, nil, Attrs{"dtype": t.DType, "value": t})
}

// ConstF32 adds a float32 Const.
func (b *Builder) ConstF32(name string, data []float32, shape ...int) Output {
	return b.Const(name, classify.FromFloat32(data, shape...))
}

// ConstI32 adds an int32 Const.
func (b *Builder) ConstI32(name string, data []int32, shape ...int) Output {
	return b.Const(name, &classify.Tensor{DType: classify.Int32, Shape: classify.Shape(shape).Clone(), Data: data})
}

// Arg is an input or output argument of a function.
type Arg struct {
	Name  string
	DType classify.DType
}

// Func is a function-valued attribute (While's cond and body, If's
// branches) naming a function of the library.
func Func(name string) *apb.AttrValue {
	return &apb.AttrValue{Value: &apb.AttrValue_Func{Func: &apb.NameAttrList{Name: name}}}
}

// Funcs is a list of functions (Case's branches).
func Funcs(names ...string) *apb.AttrValue {
	l := &apb.AttrValue_ListValue{}
	for _, n := range names {
		l.Func = append(l.Func, &apb.NameAttrList{Name: n})
	}
	return &apb.AttrValue{Value: &apb.AttrValue_List{List: l}}
}

// Function adds a function to the graph's library. Its body is the nodes
// of body, whose inputs name args by their names; ret[i] is what output
// out[i] returns: "node:out_arg:i" as TensorFlow writes it, "node:i",
// "node", or an arg's name.
func (b *Builder) Function(name string, in, out []Arg, body *Builder, ret []string) {
	sig := &opb.OpDef{Name: name}
	for _, a := range in {
		sig.InputArg = append(sig.InputArg, &opb.OpDef_ArgDef{Name: a.Name, Type: DTypeProto(a.DType)})
	}
	f := &fpb.FunctionDef{Signature: sig, Ret: map[string]string{}}
	for i, a := range out {
		sig.OutputArg = append(sig.OutputArg, &opb.OpDef_ArgDef{Name: a.Name, Type: DTypeProto(a.DType)})
		f.Ret[a.Name] = ret[i]
	}
	if body != nil {
		f.NodeDef = body.g.Node
	}
	if b.g.Library == nil {
		b.g.Library = &fpb.FunctionDefLibrary{}
	}
	b.g.Library.Function = append(b.g.Library.Function, f)
}

// GraphDef returns the graph built so far (shared, not copied).
func (b *Builder) GraphDef() *gpb.GraphDef { return b.g }

// Marshal encodes the graph deterministically.
func (b *Builder) Marshal() ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(b.g)
}

// WriteFile writes the binary GraphDef to path.
func (b *Builder) WriteFile(path string) error {
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// Attr converts a Go value to an AttrValue (see Attrs). It panics on a type
// it does not know: builders are used by generators and tests only.
func Attr(v any) *apb.AttrValue {
	switch v := v.(type) {
	case *apb.AttrValue:
		return v
	case int:
		return &apb.AttrValue{Value: &apb.AttrValue_I{I: int64(v)}}
	case int64:
		return &apb.AttrValue{Value: &apb.AttrValue_I{I: v}}
	case float32:
		return &apb.AttrValue{Value: &apb.AttrValue_F{F: v}}
	case float64:
		return &apb.AttrValue{Value: &apb.AttrValue_F{F: float32(v)}}
	case bool:
		return &apb.AttrValue{Value: &apb.AttrValue_B{B: v}}
	case string:
		return &apb.AttrValue{Value: &apb.AttrValue_S{S: []byte(v)}}
	case []int:
		l := make([]int64, len(v))
		for i, x := range v {
			l[i] = int64(x)
		}
		return &apb.AttrValue{Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{I: l}}}
	case []int64:
		return &apb.AttrValue{Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{I: v}}}
	case []float32:
		return &apb.AttrValue{Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{F: v}}}
	case classify.DType:
		return &apb.AttrValue{Value: &apb.AttrValue_Type{Type: DTypeProto(v)}}
	case []classify.DType:
		l := &apb.AttrValue_ListValue{}
		for _, d := range v {
			l.Type = append(l.Type, DTypeProto(d))
		}
		return &apb.AttrValue{Value: &apb.AttrValue_List{List: l}}
	case classify.Shape:
		return &apb.AttrValue{Value: &apb.AttrValue_Shape{Shape: ShapeProto(v)}}
	case *classify.Tensor:
		return &apb.AttrValue{Value: &apb.AttrValue_Tensor{Tensor: TensorProto(v)}}
	}
	panic(fmt.Sprintf("graphdef: unsupported attr value %T", v))
}

// DTypeProto maps a classify.DType to TensorFlow's DataType.
func DTypeProto(d classify.DType) typb.DataType {
	switch d {
	case classify.Float32:
		return typb.DataType_DT_FLOAT
	case classify.Float64:
		return typb.DataType_DT_DOUBLE
	case classify.Int32:
		return typb.DataType_DT_INT32
	case classify.Int64:
		return typb.DataType_DT_INT64
	case classify.Bool:
		return typb.DataType_DT_BOOL
	case classify.Uint8:
		return typb.DataType_DT_UINT8
	case classify.String:
		return typb.DataType_DT_STRING
	case classify.Variant:
		return typb.DataType_DT_VARIANT
	case classify.Float16:
		return typb.DataType_DT_HALF
	case classify.BFloat16:
		return typb.DataType_DT_BFLOAT16
	case classify.Int8:
		return typb.DataType_DT_INT8
	case classify.Int16:
		return typb.DataType_DT_INT16
	case classify.Uint16:
		return typb.DataType_DT_UINT16
	case classify.Uint32:
		return typb.DataType_DT_UINT32
	case classify.Uint64:
		return typb.DataType_DT_UINT64
	case classify.Complex64:
		return typb.DataType_DT_COMPLEX64
	case classify.Complex128:
		return typb.DataType_DT_COMPLEX128
	}
	return typb.DataType_DT_INVALID
}

// ShapeProto converts a shape (-1 for unknown dimensions).
func ShapeProto(s classify.Shape) *spb.TensorShapeProto {
	p := &spb.TensorShapeProto{}
	for _, d := range s {
		p.Dim = append(p.Dim, &spb.TensorShapeProto_Dim{Size: int64(d)})
	}
	return p
}

// TensorProto encodes t with tensor_content (strings in string_val).
func TensorProto(t *classify.Tensor) *tpb.TensorProto {
	p := &tpb.TensorProto{Dtype: DTypeProto(t.DType), TensorShape: ShapeProto(t.Shape)}
	if d, ok := t.Data.([][]byte); ok {
		p.StringVal = d
		return p
	}
	// Only fixed-size dtypes are left, which Append encodes.
	p.TensorContent, _ = rawtensor.Append(nil, t, binary.LittleEndian)
	return p
}

// TensorFromProto decodes a TensorProto, from tensor_content or from the
// typed repeated fields (where a single value fills the whole tensor, as
// TensorFlow allows). The typed fields are tensor.proto's: half and
// bfloat16 bit patterns in half_val, int8, int16, uint8 and uint16 in
// int_val, uint32 and uint64 in their own fields. It checks every size
// against the shape, so a hostile file cannot make it allocate more than
// its shape says or read past data.
func TensorFromProto(p *tpb.TensorProto) (*classify.Tensor, error) {
	dt := DTypeFromProto(p.GetDtype())
	if dt == classify.Invalid || dt == classify.Variant {
		return nil, fmt.Errorf("tensor of dtype %v: %w", p.GetDtype(), classify.ErrUnsupportedOp)
	}
	shape := classify.Shape{}
	n := 1
	if sp := p.GetTensorShape(); sp != nil {
		if sp.GetUnknownRank() {
			return nil, fmt.Errorf("%w: constant of unknown rank", classify.ErrInvalidGraph)
		}
		for _, d := range sp.GetDim() {
			if d.GetSize() < 0 || d.GetSize() > 1<<31 {
				return nil, fmt.Errorf("%w: constant dimension %d", classify.ErrInvalidGraph, d.GetSize())
			}
			shape = append(shape, int(d.GetSize()))
			if d.GetSize() > 0 && n > (1<<31)/int(d.GetSize()) {
				return nil, fmt.Errorf("%w: constant too large", classify.ErrInvalidGraph)
			}
			n *= int(d.GetSize())
		}
	}
	content := p.GetTensorContent()
	if len(content) > 0 {
		if dt == classify.String || len(content) != n*dt.Size() {
			return nil, fmt.Errorf("%w: constant of shape %v has %d content bytes, want %d", classify.ErrInvalidGraph, shape, len(content), n*dt.Size())
		}
		t, err := rawtensor.Decode(dt, shape, content, binary.LittleEndian)
		if err != nil {
			return nil, fmt.Errorf("%w: constant: %v", classify.ErrInvalidGraph, err)
		}
		return t, nil
	}
	t := classify.NewTensor(dt, shape...)
	var err error
	switch d := t.Data.(type) {
	case []float32:
		err = fill(d, p.GetFloatVal())
	case []float64:
		err = fill(d, p.GetDoubleVal())
	case []int32:
		if p.GetDtype() == typb.DataType_DT_INT32 {
			err = fill(d, p.GetIntVal())
		} else {
			err = fillConv(d, p.GetIntVal(), func(v int32) int32 { return v })
		}
	case []uint8:
		err = fillConv(d, p.GetIntVal(), func(v int32) uint8 { return uint8(v) })
	case []int64:
		err = fill(d, p.GetInt64Val())
	case []bool:
		err = fill(d, p.GetBoolVal())
	case [][]byte:
		err = fill(d, p.GetStringVal())
	case []classify.F16:
		err = fillConv(d, p.GetHalfVal(), func(v int32) classify.F16 { return classify.F16(v) })
	case []classify.BF16:
		err = fillConv(d, p.GetHalfVal(), func(v int32) classify.BF16 { return classify.BF16(v) })
	case []int8:
		err = fillConv(d, p.GetIntVal(), func(v int32) int8 { return int8(v) })
	case []int16:
		err = fillConv(d, p.GetIntVal(), func(v int32) int16 { return int16(v) })
	case []uint16:
		err = fillConv(d, p.GetIntVal(), func(v int32) uint16 { return uint16(v) })
	case []uint32:
		err = fill(d, p.GetUint32Val())
	case []uint64:
		err = fill(d, p.GetUint64Val())
	case []complex64:
		err = fillComplex(d, p.GetScomplexVal())
	case []complex128:
		err = fillComplex(d, p.GetDcomplexVal())
	default:
		err = fmt.Errorf("%w: dtype %v", classify.ErrUnsupportedOp, dt)
	}
	if err != nil {
		return nil, fmt.Errorf("constant of shape %v: %w", shape, err)
	}
	return t, nil
}

// fillComplex fills dst from scomplex_val or dcomplex_val, which hold
// interleaved real, imaginary pairs; as for the other fields, fewer pairs
// than elements repeat the last one, and an odd count is an error.
func fillComplex[F float32 | float64, C complex64 | complex128](dst []C, src []F) error {
	if len(src)%2 != 0 {
		return fmt.Errorf("%w: %d complex values is not a whole number of (real, imag) pairs", classify.ErrInvalidGraph, len(src))
	}
	pairs := make([]C, len(src)/2)
	for i := range pairs {
		pairs[i] = C(complex(float64(src[2*i]), float64(src[2*i+1])))
	}
	return fill(dst, pairs)
}

func fill[T any](dst, src []T) error {
	return fillConv(dst, src, func(v T) T { return v })
}

func fillConv[S, T any](dst []T, src []S, conv func(S) T) error {
	switch {
	case len(src) == 0:
		return nil // all zeros
	case len(src) > len(dst):
		return fmt.Errorf("%w: %d values for %d elements", classify.ErrInvalidGraph, len(src), len(dst))
	}
	for i := range dst {
		if i < len(src) {
			dst[i] = conv(src[i])
		} else {
			dst[i] = conv(src[len(src)-1]) // TensorFlow repeats the last value
		}
	}
	return nil
}

// DTypeFromProto maps TensorFlow's DataType to classify.DType; quint8 maps to
// Uint8 and types the engines do not handle map to Invalid.
func DTypeFromProto(t typb.DataType) classify.DType {
	switch t {
	case typb.DataType_DT_FLOAT:
		return classify.Float32
	case typb.DataType_DT_DOUBLE:
		return classify.Float64
	case typb.DataType_DT_INT32:
		return classify.Int32
	case typb.DataType_DT_INT64:
		return classify.Int64
	case typb.DataType_DT_BOOL:
		return classify.Bool
	case typb.DataType_DT_UINT8, typb.DataType_DT_QUINT8:
		return classify.Uint8
	case typb.DataType_DT_STRING:
		return classify.String
	case typb.DataType_DT_VARIANT:
		return classify.Variant
	case typb.DataType_DT_HALF:
		return classify.Float16
	case typb.DataType_DT_BFLOAT16:
		return classify.BFloat16
	case typb.DataType_DT_INT8:
		return classify.Int8
	case typb.DataType_DT_INT16:
		return classify.Int16
	case typb.DataType_DT_UINT16:
		return classify.Uint16
	case typb.DataType_DT_UINT32:
		return classify.Uint32
	case typb.DataType_DT_UINT64:
		return classify.Uint64
	case typb.DataType_DT_COMPLEX64:
		return classify.Complex64
	case typb.DataType_DT_COMPLEX128:
		return classify.Complex128
	}
	return classify.Invalid
}
