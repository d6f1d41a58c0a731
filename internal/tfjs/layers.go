package tfjs

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	typb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// A layers-model (a Keras model_config, as nsfwjs publishes two of its
// three models) has no GraphDef; convertLayers builds one for the inference
// behavior of the layers below, channels_last only: InputLayer, Conv2D,
// DepthwiseConv2D, Dense (rank-2 input), BatchNormalization (last axis),
// ReLU, Activation, Add, Concatenate, ZeroPadding2D, MaxPooling2D,
// AveragePooling2D, Flatten, Dropout. Any other layer, a shared layer (more
// than one call), or another option is an ErrUnsupported naming it.
// Each layer's last node carries the layer's name, so its outputs are
// fetched by layer name as in TensorFlow.js.

type kerasLayer struct {
	Name         string                     `json:"name"`
	ClassName    string                     `json:"class_name"`
	Config       map[string]json.RawMessage `json:"config"`
	InboundNodes [][][]json.RawMessage      `json:"inbound_nodes"`
}

type kerasModel struct {
	ClassName string `json:"class_name"`
	Config    struct {
		Name         string              `json:"name"`
		Layers       []kerasLayer        `json:"layers"`
		InputLayers  [][]json.RawMessage `json:"input_layers"`
		OutputLayers [][]json.RawMessage `json:"output_layers"`
	} `json:"config"`
}

func convertLayers(topo json.RawMessage, weights map[string]*decoded) (*Model, error) {
	var t struct {
		ModelConfig kerasModel `json:"model_config"`
	}
	if err := json.Unmarshal(topo, &t); err != nil {
		return nil, fmt.Errorf("%w: layers-model topology: %v", ErrFormat, err)
	}
	mc := t.ModelConfig
	if mc.ClassName != "Model" && mc.ClassName != "Functional" {
		return nil, fmt.Errorf("%w: layers-model of class %q (only functional Model)", ErrUnsupported, mc.ClassName)
	}
	c := &layerConv{b: graphdef.New(), weights: weights, out: map[string]graphdef.Output{}}
	for _, l := range mc.Config.Layers {
		if err := c.layer(l); err != nil {
			return nil, fmt.Errorf("layer %s (%s): %w", l.Name, l.ClassName, err)
		}
	}
	m := &Model{Graph: c.b.GraphDef(), Source: "layers", Notes: []string{fmt.Sprintf("Keras layers-model -> GraphDef (%d layers)", len(mc.Config.Layers))}}
	m.Inputs = append(m.Inputs, c.inputs...)
	if len(mc.Config.OutputLayers) == 0 || len(m.Inputs) == 0 {
		return nil, fmt.Errorf("%w: layers-model without input or output layers", ErrFormat)
	}
	for _, ol := range mc.Config.OutputLayers {
		name, err := layerRef(ol)
		if err != nil {
			return nil, err
		}
		if _, ok := c.out[name]; !ok {
			return nil, fmt.Errorf("%w: output layer %q is not a layer", ErrFormat, name)
		}
		m.Outputs = append(m.Outputs, TensorInfo{Key: name, Name: name, DType: "float32"})
	}
	return m, nil
}

// layerRef reads ["name", node_index, tensor_index(, kwargs)], accepting
// only the first call's first tensor.
func layerRef(ref []json.RawMessage) (string, error) {
	var name string
	if len(ref) < 3 || json.Unmarshal(ref[0], &name) != nil {
		return "", fmt.Errorf("%w: layer reference %s", ErrFormat, ref)
	}
	var node, tensor int
	if json.Unmarshal(ref[1], &node) != nil || json.Unmarshal(ref[2], &tensor) != nil {
		return "", fmt.Errorf("%w: layer reference %s", ErrFormat, ref)
	}
	if node != 0 || tensor != 0 {
		return "", fmt.Errorf("%w: reference to call %d, tensor %d of layer %s (shared layers)", ErrUnsupported, node, tensor, name)
	}
	return name, nil
}

type layerConv struct {
	b       *graphdef.Builder
	weights map[string]*decoded
	out     map[string]graphdef.Output
	inputs  []TensorInfo
}

func (c *layerConv) weight(layer, param string) (graphdef.Output, error) {
	w, ok := c.weights[layer+"/"+param]
	if !ok {
		return "", fmt.Errorf("%w: no weight %s/%s in the manifest", ErrFormat, layer, param)
	}
	if w.dtype != typb.DataType_DT_FLOAT {
		return "", fmt.Errorf("%w: weight %s/%s is not float32", ErrFormat, layer, param)
	}
	v := make([]float32, len(w.data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(w.data[4*i:]))
	}
	shape := make([]int, len(w.shape))
	for i, d := range w.shape {
		shape[i] = int(d)
	}
	return c.b.ConstF32(layer+"/"+param, v, shape...), nil
}

func (c *layerConv) cfg(l kerasLayer, key string, v any) bool {
	raw, ok := l.Config[key]
	if !ok || string(raw) == "null" {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

func (c *layerConv) str(l kerasLayer, key, def string) string {
	s := def
	c.cfg(l, key, &s)
	return s
}

// pair reads an int or a pair of ints (kernel_size, strides, ...).
func (c *layerConv) pair(l kerasLayer, key string, def int) ([2]int, error) {
	var p []int
	var one int
	switch {
	case c.cfg(l, key, &p) && len(p) == 2:
		return [2]int{p[0], p[1]}, nil
	case c.cfg(l, key, &one):
		return [2]int{one, one}, nil
	case l.Config[key] == nil || string(l.Config[key]) == "null":
		return [2]int{def, def}, nil
	}
	return [2]int{}, fmt.Errorf("%w: %s %s", ErrFormat, key, l.Config[key])
}

func (c *layerConv) layer(l kerasLayer) error {
	if _, dup := c.out[l.Name]; dup || l.Name == "" {
		return fmt.Errorf("%w: layer name %q repeated or empty", ErrFormat, l.Name)
	}
	if df := c.str(l, "data_format", "channels_last"); df != "channels_last" {
		return fmt.Errorf("%w: data_format %s", ErrUnsupported, df)
	}
	if l.ClassName == "InputLayer" {
		var shape []*int
		if !c.cfg(l, "batch_input_shape", &shape) {
			return fmt.Errorf("%w: InputLayer without batch_input_shape", ErrFormat)
		}
		if dt := c.str(l, "dtype", "float32"); dt != "float32" {
			return fmt.Errorf("%w: input dtype %s", ErrUnsupported, dt)
		}
		s := classify.Shape{}
		for _, d := range shape {
			if d == nil {
				s = append(s, -1)
			} else {
				s = append(s, *d)
			}
		}
		c.out[l.Name] = c.b.Placeholder(l.Name, classify.Float32, s)
		c.inputs = append(c.inputs, TensorInfo{Key: l.Name, Name: l.Name, DType: "float32", Shape: s})
		return nil
	}
	if len(l.InboundNodes) != 1 {
		return fmt.Errorf("%w: layer called %d times (shared layers)", ErrUnsupported, len(l.InboundNodes))
	}
	var in []graphdef.Output
	for _, ref := range l.InboundNodes[0] {
		name, err := layerRef(ref)
		if err != nil {
			return err
		}
		o, ok := c.out[name]
		if !ok {
			return fmt.Errorf("%w: input %q is not an earlier layer", ErrFormat, name)
		}
		in = append(in, o)
	}
	one := func() error {
		if len(in) != 1 {
			return fmt.Errorf("%w: %d inputs, want 1", ErrFormat, len(in))
		}
		return nil
	}
	f32 := classify.Float32
	name := l.Name
	var y graphdef.Output
	switch l.ClassName {
	case "Conv2D", "DepthwiseConv2D":
		if err := one(); err != nil {
			return err
		}
		st, err := c.pair(l, "strides", 1)
		if err != nil {
			return err
		}
		dil, err := c.pair(l, "dilation_rate", 1)
		if err != nil {
			return err
		}
		pad, err := padding(c.str(l, "padding", "valid"))
		if err != nil {
			return err
		}
		var groups int
		if c.cfg(l, "groups", &groups) && groups != 1 {
			return fmt.Errorf("%w: groups %d", ErrUnsupported, groups)
		}
		op, kname := "Conv2D", "kernel"
		if l.ClassName == "DepthwiseConv2D" {
			op, kname = "DepthwiseConv2dNative", "depthwise_kernel"
		}
		k, err := c.weight(name, kname)
		if err != nil {
			return err
		}
		y = c.b.Op(op, name+"/conv", []graphdef.Output{in[0], k}, graphdef.Attrs{"T": f32, "strides": []int{1, st[0], st[1], 1}, "dilations": []int{1, dil[0], dil[1], 1}, "padding": pad, "data_format": "NHWC"})
		if y, err = c.bias(l, y); err != nil {
			return err
		}
		return c.activate(l, y)
	case "Dense":
		if err := one(); err != nil {
			return err
		}
		k, err := c.weight(name, "kernel")
		if err != nil {
			return err
		}
		y = c.b.Op("MatMul", name+"/matmul", []graphdef.Output{in[0], k}, graphdef.Attrs{"T": f32, "transpose_a": false, "transpose_b": false})
		if y, err = c.bias(l, y); err != nil {
			return err
		}
		return c.activate(l, y)
	case "BatchNormalization":
		if err := one(); err != nil {
			return err
		}
		var axis any
		c.cfg(l, "axis", &axis)
		switch a := axis.(type) {
		case float64:
			if a != -1 && a != 3 {
				return fmt.Errorf("%w: BatchNormalization axis %v (only the channels axis of NHWC)", ErrUnsupported, a)
			}
		case []any:
			if len(a) != 1 || (a[0] != -1.0 && a[0] != 3.0) {
				return fmt.Errorf("%w: BatchNormalization axis %v", ErrUnsupported, a)
			}
		default:
			return fmt.Errorf("%w: BatchNormalization axis %s", ErrUnsupported, l.Config["axis"])
		}
		eps := 1e-3
		c.cfg(l, "epsilon", &eps)
		mean, err := c.weight(name, "moving_mean")
		if err != nil {
			return err
		}
		variance, err := c.weight(name, "moving_variance")
		if err != nil {
			return err
		}
		n := len(c.weights[name+"/moving_mean"].data) / 4
		filled := func(param, key string, v float32) (graphdef.Output, error) {
			on := true
			c.cfg(l, key, &on)
			if on {
				return c.weight(name, param)
			}
			d := make([]float32, n)
			for i := range d {
				d[i] = v
			}
			return c.b.ConstF32(name+"/"+param, d, n), nil
		}
		gamma, err := filled("gamma", "scale", 1)
		if err != nil {
			return err
		}
		beta, err := filled("beta", "center", 0)
		if err != nil {
			return err
		}
		y = c.b.Op("FusedBatchNormV3", name, []graphdef.Output{in[0], gamma, beta, mean, variance}, graphdef.Attrs{"T": f32, "U": f32, "epsilon": float32(eps), "is_training": false, "data_format": "NHWC"})
	case "ReLU":
		if err := one(); err != nil {
			return err
		}
		var slope, threshold float64
		c.cfg(l, "negative_slope", &slope)
		c.cfg(l, "threshold", &threshold)
		if slope != 0 || threshold != 0 {
			return fmt.Errorf("%w: ReLU with negative_slope %v, threshold %v", ErrUnsupported, slope, threshold)
		}
		var maxValue float64
		switch {
		case !c.cfg(l, "max_value", &maxValue):
			y = c.b.Op("Relu", name, in, graphdef.Attrs{"T": f32})
		case maxValue == 6:
			y = c.b.Op("Relu6", name, in, graphdef.Attrs{"T": f32})
		default:
			r := c.b.Op("Relu", name+"/relu", in, graphdef.Attrs{"T": f32})
			y = c.b.Op("Minimum", name, []graphdef.Output{r, c.b.ConstF32(name+"/max_value", []float32{float32(maxValue)})}, graphdef.Attrs{"T": f32})
		}
	case "Activation":
		if err := one(); err != nil {
			return err
		}
		return c.activate(l, in[0])
	case "Add":
		if len(in) < 2 {
			return fmt.Errorf("%w: Add of %d inputs", ErrFormat, len(in))
		}
		if len(in) == 2 {
			y = c.b.Op("AddV2", name, in, graphdef.Attrs{"T": f32})
		} else {
			y = c.b.Op("AddN", name, in, graphdef.Attrs{"T": f32, "N": len(in)})
		}
	case "Concatenate":
		if len(in) < 1 {
			return fmt.Errorf("%w: Concatenate of no input", ErrFormat)
		}
		axis := -1
		c.cfg(l, "axis", &axis)
		y = c.b.Op("ConcatV2", name, append(append([]graphdef.Output{}, in...), c.b.ConstI32(name+"/axis", []int32{int32(axis)})), graphdef.Attrs{"T": f32, "N": len(in), "Tidx": classify.Int32})
	case "ZeroPadding2D":
		if err := one(); err != nil {
			return err
		}
		var p [][]int
		var sym []int
		var all int
		switch {
		case c.cfg(l, "padding", &p) && len(p) == 2 && len(p[0]) == 2 && len(p[1]) == 2:
		case c.cfg(l, "padding", &sym) && len(sym) == 2:
			p = [][]int{{sym[0], sym[0]}, {sym[1], sym[1]}}
		case c.cfg(l, "padding", &all):
			p = [][]int{{all, all}, {all, all}}
		default:
			return fmt.Errorf("%w: ZeroPadding2D padding %s", ErrFormat, l.Config["padding"])
		}
		pads := c.b.ConstI32(name+"/paddings", []int32{0, 0, int32(p[0][0]), int32(p[0][1]), int32(p[1][0]), int32(p[1][1]), 0, 0}, 4, 2)
		y = c.b.Op("Pad", name, []graphdef.Output{in[0], pads}, graphdef.Attrs{"T": f32, "Tpaddings": classify.Int32})
	case "MaxPooling2D", "AveragePooling2D":
		if err := one(); err != nil {
			return err
		}
		ps, err := c.pair(l, "pool_size", 2)
		if err != nil {
			return err
		}
		st, err := c.pair(l, "strides", 0)
		if err != nil {
			return err
		}
		if st[0] == 0 {
			st = ps
		}
		pad, err := padding(c.str(l, "padding", "valid"))
		if err != nil {
			return err
		}
		op := "MaxPool"
		if l.ClassName == "AveragePooling2D" {
			op = "AvgPool"
		}
		y = c.b.Op(op, name, in, graphdef.Attrs{"T": f32, "ksize": []int{1, ps[0], ps[1], 1}, "strides": []int{1, st[0], st[1], 1}, "padding": pad, "data_format": "NHWC"})
	case "Flatten":
		if err := one(); err != nil {
			return err
		}
		// [batch, -1], the batch taken from the input's shape at run time.
		sh := c.b.Op("Shape", name+"/shape", in, graphdef.Attrs{"T": f32, "out_type": classify.Int32})
		batch := c.b.Op("StridedSlice", name+"/batch", []graphdef.Output{sh, c.b.ConstI32(name+"/begin", []int32{0}, 1), c.b.ConstI32(name+"/end", []int32{1}, 1), c.b.ConstI32(name+"/stride", []int32{1}, 1)},
			graphdef.Attrs{"T": classify.Int32, "Index": classify.Int32, "begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0})
		target := c.b.Op("ConcatV2", name+"/target", []graphdef.Output{batch, c.b.ConstI32(name+"/rest", []int32{-1}, 1), c.b.ConstI32(name+"/axis", []int32{0})}, graphdef.Attrs{"T": classify.Int32, "N": 2, "Tidx": classify.Int32})
		y = c.b.Op("Reshape", name, []graphdef.Output{in[0], target}, graphdef.Attrs{"T": f32, "Tshape": classify.Int32})
	case "Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout":
		if err := one(); err != nil {
			return err
		}
		y = c.b.Op("Identity", name, in, graphdef.Attrs{"T": f32}) // inference: no noise
	default:
		return fmt.Errorf("%w: Keras layer %s", ErrUnsupported, l.ClassName)
	}
	c.out[name] = y
	return nil
}

func padding(p string) (string, error) {
	switch strings.ToLower(p) {
	case "same":
		return "SAME", nil
	case "valid":
		return "VALID", nil
	}
	return "", fmt.Errorf("%w: padding %q", ErrUnsupported, p)
}

func (c *layerConv) bias(l kerasLayer, y graphdef.Output) (graphdef.Output, error) {
	use := true
	c.cfg(l, "use_bias", &use)
	if !use {
		return y, nil
	}
	b, err := c.weight(l.Name, "bias")
	if err != nil {
		return "", err
	}
	return c.b.Op("BiasAdd", l.Name+"/bias_add", []graphdef.Output{y, b}, graphdef.Attrs{"T": classify.Float32, "data_format": "NHWC"}), nil
}

// activate applies the layer's activation, naming the result after the
// layer.
func (c *layerConv) activate(l kerasLayer, y graphdef.Output) error {
	act := c.str(l, "activation", "linear")
	op := map[string]string{"relu": "Relu", "relu6": "Relu6", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax", "elu": "Elu", "softplus": "Softplus", "selu": "Selu", "linear": "Identity"}[act]
	if op == "" {
		return fmt.Errorf("%w: activation %q", ErrUnsupported, act)
	}
	c.out[l.Name] = c.b.Op(op, l.Name, []graphdef.Output{y}, graphdef.Attrs{"T": classify.Float32})
	return nil
}
