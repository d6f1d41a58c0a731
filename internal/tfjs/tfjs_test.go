package tfjs

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf"
)

// halfRef widens binary16 by its definition: (-1)^s * 2^(e-15) * (1+m/1024),
// subnormals 2^-14 * m/1024, e=31 infinity or NaN.
func halfRef(h uint16) float64 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return s * math.Ldexp(m/1024, -14)
	case 31:
		if m == 0 {
			return s * math.Inf(1)
		}
		return math.NaN()
	}
	return s * math.Ldexp(1+m/1024, e-15)
}

func TestHalfToFloat32(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		got, want := float64(HalfToFloat32(uint16(h))), halfRef(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(got) {
				t.Fatalf("%#04x: got %v, want NaN", h, got)
			}
			continue
		}
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("%#04x: got %v, want %v", h, got, want)
		}
	}
}

// model builds a model.json around nodes (JSON NodeDefs) and weights.
func model(nodes string, weights string, extra string) []byte {
	return []byte(`{"format":"graph-model","modelTopology":{"node":[` + nodes + `],"versions":{"producer":1}},` +
		`"weightsManifest":[{"paths":["w.bin"],"weights":[` + weights + `]}]` + extra + `}`)
}

func constNode(name, dtype string) string {
	return fmt.Sprintf(`{"name":%q,"op":"Const","attr":{"dtype":{"type":%q},"value":{"tensor":{"dtype":%q}}}}`, name, dtype, dtype)
}

func shards(b []byte) ShardReader {
	return func(rel string, max int64) ([]byte, error) {
		if rel != "w.bin" {
			return nil, fmt.Errorf("no %s", rel)
		}
		if int64(len(b)) > max {
			return b[:max+1], nil
		}
		return b, nil
	}
}

func constValues(t *testing.T, m *Model, name string) *classify.Tensor {
	t.Helper()
	gm, err := gotf.OpenGraph(context.Background(), m.Graph, classify.OpenOptions{Outputs: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	defer gm.Close()
	out, err := gm.Run(context.Background(), nil, []string{name})
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func TestDequantize(t *testing.T) {
	// uint8 affine: v*scale+min in doubles, then float32; int32: Math.round.
	u8 := []byte{0, 1, 127, 255}
	u16 := make([]byte, 8)
	for i, v := range []uint16{0, 1, 40000, 65535} {
		binary.LittleEndian.PutUint16(u16[2*i:], v)
	}
	f16 := make([]byte, 6)
	for i, v := range []uint16{0x3c00, 0xc000, 0x0001} { // 1, -2, 2^-24
		binary.LittleEndian.PutUint16(f16[2*i:], v)
	}
	i8 := []byte{0, 3, 4, 5}
	data := append(append(append(append([]byte{}, u8...), u16...), f16...), i8...)
	min, scale := -1.2345678901, 0.0123456789
	nodes := strings.Join([]string{constNode("a", "DT_FLOAT"), constNode("b", "DT_FLOAT"), constNode("c", "DT_FLOAT"), constNode("d", "DT_INT32")}, ",")
	q := func(dt string) string {
		return fmt.Sprintf(`"quantization":{"dtype":%q,"min":%v,"scale":%v}`, dt, min, scale)
	}
	weights := `{"name":"a","shape":[4],"dtype":"float32",` + q("uint8") + `},` +
		`{"name":"b","shape":[2,2],"dtype":"float32",` + q("uint16") + `},` +
		`{"name":"c","shape":[3],"dtype":"float32","quantization":{"dtype":"float16"}},` +
		`{"name":"d","shape":[4],"dtype":"int32","quantization":{"dtype":"uint8","min":-2,"scale":0.5}}`
	m, err := Convert(model(nodes, weights, ""), shards(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	a := constValues(t, m, "a").Data.([]float32)
	for i, v := range u8 {
		if want := float32(float64(v)*scale + min); a[i] != want {
			t.Errorf("uint8 %d: got %v, want %v", v, a[i], want)
		}
	}
	b := constValues(t, m, "b")
	if !b.Shape.Equal(classify.Shape{2, 2}) {
		t.Errorf("uint16 shape %v", b.Shape)
	}
	for i, v := range []float64{0, 1, 40000, 65535} {
		if want := float32(v*scale + min); b.Data.([]float32)[i] != want {
			t.Errorf("uint16 %v: got %v, want %v", v, b.Data.([]float32)[i], want)
		}
	}
	c := constValues(t, m, "c").Data.([]float32)
	if c[0] != 1 || c[1] != -2 || c[2] != float32(math.Ldexp(1, -24)) {
		t.Errorf("float16: got %v", c)
	}
	// -2 + 0.5*{0,3,4,5} = -2, -0.5, 0, 0.5: Math.round gives -2, -0 (0), 0, 1.
	d := constValues(t, m, "d").Data.([]int32)
	if fmt.Sprint(d) != "[-2 0 0 1]" {
		t.Errorf("int32 from uint8: got %v, want [-2 0 0 1]", d)
	}
}

func TestPreluRewrite(t *testing.T) {
	// x -> Prelu(x, alpha): compare with x<0 ? alpha*x : x.
	nodes := `{"name":"x","op":"Placeholder","attr":{"dtype":{"type":"DT_FLOAT"},"shape":{"shape":{"dim":[{"size":"5"}]}}}},` +
		constNode("alpha", "DT_FLOAT") + `,{"name":"p","op":"Prelu","input":["x","alpha"],"attr":{"T":{"type":"DT_FLOAT"}}}`
	data := make([]byte, 20)
	alpha := []float32{0.25, -0.5, 2, 0.1, 0.3}
	for i, v := range alpha {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	m, err := Convert(model(nodes, `{"name":"alpha","shape":[5],"dtype":"float32"}`, ""), shards(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Notes) != 1 || !strings.Contains(m.Notes[0], "Prelu") {
		t.Errorf("notes %v", m.Notes)
	}
	gm, err := gotf.OpenGraph(context.Background(), m.Graph, classify.OpenOptions{Inputs: []string{"x"}, Outputs: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	defer gm.Close()
	x := []float32{-3, -1.5, 0, 0.7, -1e-30}
	out, err := gm.Run(context.Background(), map[string]*classify.Tensor{"x": {DType: classify.Float32, Shape: classify.Shape{5}, Data: x}}, []string{"p"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		want := v
		if v < 0 {
			want = alpha[i] * v
		}
		if got := out[0].Data.([]float32)[i]; got != want {
			t.Errorf("prelu(%v, %v): got %v, want %v", v, alpha[i], got, want)
		}
	}
	if len(m.Outputs) != 1 || m.Outputs[0].Name != "p" || len(m.Inputs) != 1 || m.Inputs[0].Name != "x" {
		t.Errorf("inputs %+v outputs %+v", m.Inputs, m.Outputs)
	}
}

func TestConvertErrors(t *testing.T) {
	four := []byte{0, 0, 128, 63}
	one := constNode("a", "DT_FLOAT")
	w := `{"name":"a","shape":[1],"dtype":"float32"}`
	for _, c := range []struct {
		name   string
		json   []byte
		data   []byte
		lim    Limits
		want   error
		substr string
	}{
		{"not json", []byte("{"), four, Limits{}, ErrFormat, "model.json"},
		{"empty layers model", []byte(`{"modelTopology":{"model_config":{"class_name":"Model"}},"weightsManifest":[]}`), nil, Limits{}, ErrFormat, "without input or output layers"},
		{"sequential", []byte(`{"format":"layers-model","modelTopology":{"model_config":{"class_name":"Sequential"}}}`), nil, Limits{}, ErrUnsupported, "Sequential"},
		{"lstm", keras(`{"name":"l","class_name":"LSTM","config":{},"inbound_nodes":[[["x",0,0,{}]]]}`, "l"), make([]byte, 60), Limits{}, ErrUnsupported, "Keras layer LSTM"},
		{"shared layer", keras(`{"name":"l","class_name":"Dropout","config":{},"inbound_nodes":[[["x",0,0,{}]],[["x",0,0,{}]]]}`, "l"), make([]byte, 60), Limits{}, ErrUnsupported, "shared layers"},
		{"leaky relu", keras(`{"name":"l","class_name":"ReLU","config":{"negative_slope":0.1},"inbound_nodes":[[["x",0,0,{}]]]}`, "l"), make([]byte, 60), Limits{}, ErrUnsupported, "negative_slope"},
		{"unknown input", keras(`{"name":"l","class_name":"Dropout","config":{},"inbound_nodes":[[["y",0,0,{}]]]}`, "l"), make([]byte, 60), Limits{}, ErrFormat, "not an earlier layer"},
		{"no topology", []byte(`{"weightsManifest":[]}`), nil, Limits{}, ErrFormat, "modelTopology"},
		{"short shard", model(one, w, ""), four[:3], Limits{}, ErrFormat, "declares 4"},
		{"long shard", model(one, w, ""), append(four, 0), Limits{}, ErrFormat, "more than the 4 bytes"},
		{"shape mismatch", model(`{"name":"a","op":"Const","attr":{"dtype":{"type":"DT_FLOAT"},"value":{"tensor":{"dtype":"DT_FLOAT","tensorShape":{"dim":[{"size":"2"}]}}}}}`, w, ""), four, Limits{}, ErrFormat, "shape"},
		{"missing weight", model(one+","+constNode("b", "DT_FLOAT"), w, ""), four, Limits{}, ErrFormat, "Const b has no weight"},
		{"negative dim", model(one, `{"name":"a","shape":[-1],"dtype":"float32"}`, ""), four, Limits{}, ErrFormat, "dimension -1"},
		{"too many elements", model(one, `{"name":"a","shape":[65536,65536,65536],"dtype":"float32"}`, ""), four, Limits{}, ErrFormat, "elements"},
		{"over weight limit", model(one, `{"name":"a","shape":[1024],"dtype":"float32"}`, ""), four, Limits{MaxWeightBytes: 100}, ErrFormat, "limit"},
		{"json limit", model(one, w, ""), four, Limits{MaxJSONBytes: 10}, ErrFormat, "limit 10"},
		{"complex", model(one, `{"name":"a","shape":[1],"dtype":"complex64"}`, ""), four, Limits{}, ErrUnsupported, "complex64"},
		{"int8 quantization", model(one, `{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"int8","min":0,"scale":1}}`, ""), four, Limits{}, ErrUnsupported, "int8"},
		{"no scale", model(one, `{"name":"a","shape":[4],"dtype":"float32","quantization":{"dtype":"uint8","min":0}}`, ""), four, Limits{}, ErrFormat, "min and scale"},
		{"initializer", model(one, w, `,"modelInitializer":{"node":[{"name":"t","op":"HashTableV2"}]}`), four, Limits{}, ErrUnsupported, "modelInitializer"},
		{"duplicate", model(one, w+","+w, ""), append(four, four...), Limits{}, ErrFormat, "twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Convert(c.json, shards(c.data), c.lim)
			if !errors.Is(err, c.want) || !strings.Contains(fmt.Sprint(err), c.substr) {
				t.Errorf("got %v, want %v containing %q", err, c.want, c.substr)
			}
		})
	}
}

// keras wraps layers after an input layer "x" of shape [?,1,2,2] into a
// layers-model whose output is the layer named out.
func keras(layers, out string) []byte {
	return []byte(`{"format":"layers-model","modelTopology":{"model_config":{"class_name":"Model","config":{"layers":[` +
		`{"name":"x","class_name":"InputLayer","config":{"batch_input_shape":[null,1,2,2],"dtype":"float32"},"inbound_nodes":[]},` + layers +
		`],"input_layers":[["x",0,0]],"output_layers":[["` + out + `",0,0]]}}},"weightsManifest":[{"paths":["w.bin"],"weights":[` +
		`{"name":"d/kernel","shape":[4,3],"dtype":"float32"},{"name":"d/bias","shape":[3],"dtype":"float32"}]}]}`)
}

func TestLayersModel(t *testing.T) {
	// Flatten -> Dense(3) -> ReLU(max_value 6), against the arithmetic.
	mj := keras(`{"name":"f","class_name":"Flatten","config":{},"inbound_nodes":[[["x",0,0,{}]]]},`+
		`{"name":"d","class_name":"Dense","config":{"units":3,"activation":"linear","use_bias":true},"inbound_nodes":[[["f",0,0,{}]]]},`+
		`{"name":"r","class_name":"ReLU","config":{"max_value":6},"inbound_nodes":[[["d",0,0,{}]]]}`, "r")
	kernel := []float32{1, -1, 2, 0.5, 0, 3, -2, 1, 1, 4, 0.25, -1}
	bias := []float32{0.5, -0.5, 0}
	var data []byte
	for _, v := range append(append([]float32{}, kernel...), bias...) {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	m, err := Convert(mj, shards(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != "layers" || len(m.Inputs) != 1 || m.Inputs[0].Name != "x" || len(m.Outputs) != 1 || m.Outputs[0].Name != "r" {
		t.Fatalf("inputs %+v outputs %+v source %s", m.Inputs, m.Outputs, m.Source)
	}
	gm, err := gotf.OpenGraph(context.Background(), m.Graph, classify.OpenOptions{Inputs: []string{"x"}, Outputs: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	defer gm.Close()
	x := []float32{1, 2, -1, 0.5, 0, 1, 2, 3}
	out, err := gm.Run(context.Background(), map[string]*classify.Tensor{"x": {DType: classify.Float32, Shape: classify.Shape{2, 1, 2, 2}, Data: x}}, []string{"r"})
	if err != nil {
		t.Fatal(err)
	}
	if !out[0].Shape.Equal(classify.Shape{2, 3}) {
		t.Fatalf("shape %v", out[0].Shape)
	}
	for b := 0; b < 2; b++ {
		for j := 0; j < 3; j++ {
			s := float64(bias[j])
			for i := 0; i < 4; i++ {
				s += float64(x[4*b+i]) * float64(kernel[3*i+j])
			}
			want := math.Min(math.Max(s, 0), 6)
			if got := float64(out[0].Data.([]float32)[3*b+j]); math.Abs(got-want) > 1e-6 {
				t.Errorf("[%d,%d]: got %v, want %v", b, j, got, want)
			}
		}
	}
}

func TestShardPaths(t *testing.T) {
	for _, p := range []string{"../x.bin", "/etc/passwd", "a/../../b", "http://host/w.bin", `a\b`, ""} {
		j, _ := json.Marshal(p)
		mj := []byte(`{"modelTopology":{"node":[` + constNode("a", "DT_FLOAT") + `]},"weightsManifest":[{"paths":[` + string(j) + `],"weights":[{"name":"a","shape":[1],"dtype":"float32"}]}]}`)
		_, err := Convert(mj, func(string, int64) ([]byte, error) {
			t.Errorf("path %q was read", p)
			return nil, errors.New("read")
		}, Limits{})
		if !errors.Is(err, ErrFormat) {
			t.Errorf("path %q: got %v, want ErrFormat", p, err)
		}
	}
}

func TestStringWeights(t *testing.T) {
	data := []byte{2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0}
	m, err := Convert(model(constNode("s", "DT_STRING"), `{"name":"s","shape":[2],"dtype":"string"}`, ""), shards(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Graph.Node[0].Attr["value"].GetTensor().GetStringVal()
	if len(got) != 2 || string(got[0]) != "hi" || len(got[1]) != 0 {
		t.Errorf("strings %q", got)
	}
	if _, err := Convert(model(constNode("s", "DT_STRING"), `{"name":"s","shape":[2],"dtype":"string"}`, ""), shards(data[:8]), Limits{}); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated strings: %v", err)
	}
}

func FuzzConvert(f *testing.F) {
	f.Add(model(constNode("a", "DT_FLOAT"), `{"name":"a","shape":[1],"dtype":"float32"}`, ""), []byte{0, 0, 128, 63})
	f.Add(model(constNode("a", "DT_FLOAT"), `{"name":"a","shape":[2],"dtype":"float32","quantization":{"dtype":"uint8","min":-1,"scale":0.1}}`, ""), []byte{1, 2})
	f.Add(model(constNode("a", "DT_FLOAT"), `{"name":"a","shape":[1],"dtype":"float32","quantization":{"dtype":"float16"}}`, ""), []byte{0, 60})
	f.Add(model(constNode("s", "DT_STRING"), `{"name":"s","shape":[1],"dtype":"string"}`, ""), []byte{1, 0, 0, 0, 'x'})
	f.Add([]byte(`{"modelTopology":{"node":[{"name":"p","op":"Prelu","input":["x","y"]}],"library":{"function":[{"signature":{"name":"f"},"nodeDef":[{"name":"q","op":"FusedDepthwiseConv2dNative"}]}]}},"signature":{"inputs":{"x:0":{"name":"x:0","dtype":"DT_FLOAT","tensorShape":{"dim":[{"size":"-1"}]}}}}}`), []byte{})
	f.Add(keras(`{"name":"f","class_name":"Flatten","config":{},"inbound_nodes":[[["x",0,0,{}]]]},{"name":"d","class_name":"Dense","config":{"activation":"softmax"},"inbound_nodes":[[["f",0,0,{}]]]}`, "d"), make([]byte, 60))
	f.Add([]byte(base64.StdEncoding.EncodeToString([]byte("junk"))), []byte{})
	f.Fuzz(func(t *testing.T, mj, data []byte) {
		lim := Limits{MaxWeightBytes: 1 << 16, MaxElements: 1 << 16}
		m, err := Convert(mj, func(rel string, max int64) ([]byte, error) {
			if max > lim.MaxWeightBytes {
				t.Fatalf("reader asked for %d bytes, limit %d", max, lim.MaxWeightBytes)
			}
			if int64(len(data)) > max {
				return data[:max+1], nil
			}
			return data, nil
		}, lim)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if m.Graph == nil {
			t.Fatal("nil graph without an error")
		}
	})
}
