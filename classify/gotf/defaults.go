package gotf

import (
	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
)

// The attribute defaults of TensorFlow's op registry (tensorflow/core/ops/*.cc,
// REGISTER_OP ... .Attr("name: type = default")). Graphs written by older
// TensorFlow versions omit attributes added later, and GraphDef writers may
// strip attributes equal to their default; kernels can then rely on every
// attribute listed here being present. Only attributes with a default are
// listed: required ones (strides, padding, ksize, ...) stay the graph's job.
var defaultAttrs = map[string]map[string]*apb.AttrValue{}

func init() {
	nhwc := str("NHWC")
	ones4 := ints(1, 1, 1, 1)
	conv := map[string]*apb.AttrValue{
		"data_format":       nhwc,
		"dilations":         ones4,
		"explicit_paddings": ints(),
		"use_cudnn_on_gpu":  boolean(true),
	}
	fusedConv := merge(conv, map[string]*apb.AttrValue{
		"num_args":        integer(0),
		"fused_ops":       strs(),
		"epsilon":         float(1e-4),
		"leakyrelu_alpha": float(0.2),
	})
	batchNorm := map[string]*apb.AttrValue{
		"epsilon":                float(1e-4),
		"data_format":            nhwc,
		"is_training":            boolean(true),
		"exponential_avg_factor": float(1),
	}
	reduce := map[string]*apb.AttrValue{
		"keep_dims": boolean(false),
		"Tidx":      typ(tpb.DataType_DT_INT32),
	}
	matmul := map[string]*apb.AttrValue{
		"transpose_a": boolean(false),
		"transpose_b": boolean(false),
	}
	batchMatmul := map[string]*apb.AttrValue{
		"adj_x": boolean(false),
		"adj_y": boolean(false),
	}
	for op, attrs := range map[string]map[string]*apb.AttrValue{
		"Conv2D":                      conv,
		"Conv2DBackpropInput":         conv,
		"DepthwiseConv2dNative":       {"data_format": nhwc, "dilations": ones4, "explicit_paddings": ints()},
		"_FusedConv2D":                fusedConv,
		"_FusedDepthwiseConv2dNative": merge(fusedConv, nil),
		"MatMul":                      matmul,
		"_FusedMatMul":                merge(matmul, map[string]*apb.AttrValue{"num_args": integer(0), "fused_ops": strs(), "epsilon": float(1e-4), "leakyrelu_alpha": float(0.2)}),
		"BatchMatMul":                 batchMatmul,
		"BatchMatMulV2":               batchMatmul,
		"BatchMatMulV3":               batchMatmul,
		"BiasAdd":                     {"data_format": nhwc},
		"FusedBatchNorm":              batchNorm,
		"FusedBatchNormV2":            batchNorm,
		"FusedBatchNormV3":            batchNorm,
		"MaxPool":                     {"data_format": nhwc, "explicit_paddings": ints()},
		"AvgPool":                     {"data_format": nhwc},
		"Mean":                        reduce,
		"Sum":                         reduce,
		"Max":                         reduce,
		"Min":                         reduce,
		"Prod":                        reduce,
		"All":                         reduce,
		"Any":                         reduce,
		"ArgMax":                      {"output_type": typ(tpb.DataType_DT_INT64), "Tidx": typ(tpb.DataType_DT_INT32)},
		"ArgMin":                      {"output_type": typ(tpb.DataType_DT_INT64), "Tidx": typ(tpb.DataType_DT_INT32)},
		"Squeeze":                     {"squeeze_dims": ints()},
		"ExpandDims":                  {"Tdim": typ(tpb.DataType_DT_INT32)},
		"Reshape":                     {"Tshape": typ(tpb.DataType_DT_INT32)},
		"ConcatV2":                    {"Tidx": typ(tpb.DataType_DT_INT32)},
		"Pack":                        {"axis": integer(0)},
		"Unpack":                      {"axis": integer(0)},
		"Shape":                       {"out_type": typ(tpb.DataType_DT_INT32)},
		"Size":                        {"out_type": typ(tpb.DataType_DT_INT32)},
		"Cast":                        {"Truncate": boolean(false)},
		"Range":                       {"Tidx": typ(tpb.DataType_DT_INT32)},
		"Fill":                        {"index_type": typ(tpb.DataType_DT_INT32)},
		"Pad":                         {"Tpaddings": typ(tpb.DataType_DT_INT32)},
		"PadV2":                       {"Tpaddings": typ(tpb.DataType_DT_INT32)},
		"MirrorPad":                   {"Tpaddings": typ(tpb.DataType_DT_INT32)},
		"Transpose":                   {"Tperm": typ(tpb.DataType_DT_INT32)},
		"Tile":                        {"Tmultiples": typ(tpb.DataType_DT_INT32)},
		"Slice":                       {"Index": typ(tpb.DataType_DT_INT32)},
		"GatherV2":                    {"batch_dims": integer(0)},
		"StridedSlice": {
			"begin_mask":       integer(0),
			"end_mask":         integer(0),
			"ellipsis_mask":    integer(0),
			"new_axis_mask":    integer(0),
			"shrink_axis_mask": integer(0),
		},
		"LeakyRelu": {"alpha": float(0.2)},
		"Dequantize": {
			"mode":         str("MIN_COMBINED"),
			"narrow_range": boolean(false),
			"axis":         integer(-1),
			"dtype":        typ(tpb.DataType_DT_FLOAT),
		},
		"ResizeBilinear":        {"align_corners": boolean(false), "half_pixel_centers": boolean(false)},
		"ResizeNearestNeighbor": {"align_corners": boolean(false), "half_pixel_centers": boolean(false)},
		"Cumsum":                {"exclusive": boolean(false), "reverse": boolean(false)},
		"Cumprod":               {"exclusive": boolean(false), "reverse": boolean(false)},
		"TopKV2":                {"sorted": boolean(true)},
		"TopK":                  {"sorted": boolean(true)},
		"ResizeBicubic":         {"align_corners": boolean(false), "half_pixel_centers": boolean(false)},
		"ResizeArea":            {"align_corners": boolean(false)},
		"DepthToSpace":          {"data_format": nhwc},
		"SpaceToDepth":          {"data_format": nhwc},
		"SparseToDense":         {"validate_indices": boolean(true)},
		"CropAndResize":         {"method": str("bilinear"), "extrapolation_value": float(0)},
		"NonMaxSuppressionV4":   {"pad_to_max_output_size": boolean(false)},
		"NonMaxSuppressionV5":   {"pad_to_max_output_size": boolean(false)},
		"ReverseSequence":       {"batch_dim": integer(0)},
		"MatrixDiagV3":          {"align": str("RIGHT_LEFT")},
		"MatrixDiagPartV3":      {"align": str("RIGHT_LEFT")},
		"LRN":                   {"depth_radius": integer(5), "bias": float(1), "alpha": float(1), "beta": float(0.5)},
		"OneHot":                {"axis": integer(-1)},
	} {
		defaultAttrs[op] = attrs
	}
}

// withDefaults returns attr with the registry defaults of op added where
// absent. The node's own map is never modified: it may belong to a caller's
// GraphDef.
func withDefaults(op string, attr map[string]*apb.AttrValue) map[string]*apb.AttrValue {
	out := make(map[string]*apb.AttrValue, len(attr)+4)
	for k, v := range attr {
		out[k] = v
	}
	for k, v := range defaultAttrs[op] {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

func merge(a, b map[string]*apb.AttrValue) map[string]*apb.AttrValue {
	out := map[string]*apb.AttrValue{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func str(s string) *apb.AttrValue    { return &apb.AttrValue{Value: &apb.AttrValue_S{S: []byte(s)}} }
func integer(i int64) *apb.AttrValue { return &apb.AttrValue{Value: &apb.AttrValue_I{I: i}} }
func float(f float32) *apb.AttrValue { return &apb.AttrValue{Value: &apb.AttrValue_F{F: f}} }
func boolean(b bool) *apb.AttrValue  { return &apb.AttrValue{Value: &apb.AttrValue_B{B: b}} }
func typ(t tpb.DataType) *apb.AttrValue {
	return &apb.AttrValue{Value: &apb.AttrValue_Type{Type: t}}
}

func ints(v ...int64) *apb.AttrValue {
	return &apb.AttrValue{Value: &apb.AttrValue_List{List: &apb.AttrValue_ListValue{I: append([]int64{}, v...)}}}
}

func strs(v ...string) *apb.AttrValue {
	l := &apb.AttrValue_ListValue{}
	for _, s := range v {
		l.S = append(l.S, []byte(s))
	}
	return &apb.AttrValue{Value: &apb.AttrValue_List{List: l}}
}
