package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// arrayDTypeCase is one data-movement op: its data inputs are float32
// tensors of small integers (exact in every dtype), the others indices.
type arrayDTypeCase struct {
	op    string
	attrs graphdef.Attrs
	in    []*classify.Tensor
	data  []int  // which inputs are data (of dtype T)
	tattr string // the dtype attribute ("T" unless noted)
}

func iota32(shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Float32, shape...)
	for i, d := 0, t.Float32s(); i < len(d); i++ {
		d[i] = float32(i%100 + 1)
	}
	return t
}

func i32(data []int32, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape(shape).Clone(), Data: data}
}

// arrayDTypeCases are the data-movement ops the dtype tests sweep.
func arrayDTypeCases() []arrayDTypeCase {
	cond := &classify.Tensor{DType: classify.Bool, Shape: classify.Shape{2, 3}, Data: []bool{true, false, true, false, false, true}}
	return []arrayDTypeCase{
		{op: "ConcatV2", attrs: graphdef.Attrs{"N": 2, "Tidx": classify.Int32}, in: []*classify.Tensor{iota32(2, 3), iota32(2, 2), i32([]int32{1})}, data: []int{0, 1}},
		{op: "Pack", attrs: graphdef.Attrs{"N": 2, "axis": 1}, in: []*classify.Tensor{iota32(2, 3), iota32(2, 3)}, data: []int{0, 1}},
		{op: "Unpack", attrs: graphdef.Attrs{"num": 3, "axis": 1}, in: []*classify.Tensor{iota32(2, 3)}, data: []int{0}},
		{op: "Split", attrs: graphdef.Attrs{"num_split": 2}, in: []*classify.Tensor{i32([]int32{0}), iota32(4, 2)}, data: []int{1}},
		{op: "SplitV", attrs: graphdef.Attrs{"num_split": 2, "Tlen": classify.Int32}, in: []*classify.Tensor{iota32(4, 2), i32([]int32{3, 1}, 2), i32([]int32{0})}, data: []int{0}},
		{op: "Slice", attrs: graphdef.Attrs{"Index": classify.Int32}, in: []*classify.Tensor{iota32(3, 4), i32([]int32{1, 1}, 2), i32([]int32{2, 2}, 2)}, data: []int{0}},
		{op: "StridedSlice", attrs: graphdef.Attrs{"Index": classify.Int32}, in: []*classify.Tensor{iota32(4, 4), i32([]int32{0, 1}, 2), i32([]int32{4, 4}, 2), i32([]int32{2, 2}, 2)}, data: []int{0}},
		{op: "Tile", attrs: graphdef.Attrs{"Tmultiples": classify.Int32}, in: []*classify.Tensor{iota32(2, 3), i32([]int32{2, 1}, 2)}, data: []int{0}},
		{op: "Transpose", attrs: graphdef.Attrs{"Tperm": classify.Int32}, in: []*classify.Tensor{iota32(2, 3, 4), i32([]int32{2, 0, 1}, 3)}, data: []int{0}},
		{op: "ReverseV2", attrs: graphdef.Attrs{"Tidx": classify.Int32}, in: []*classify.Tensor{iota32(2, 3), i32([]int32{1}, 1)}, data: []int{0}},
		{op: "BroadcastTo", attrs: graphdef.Attrs{"Tidx": classify.Int32}, in: []*classify.Tensor{iota32(1, 3), i32([]int32{2, 3}, 2)}, data: []int{0}},
		{op: "GatherV2", attrs: graphdef.Attrs{"Tindices": classify.Int32, "Taxis": classify.Int32}, in: []*classify.Tensor{iota32(4, 2), i32([]int32{3, 0, 3}, 3), i32([]int32{0})}, data: []int{0}, tattr: "Tparams"},
		{op: "GatherNd", attrs: graphdef.Attrs{"Tindices": classify.Int32}, in: []*classify.Tensor{iota32(3, 3), i32([]int32{2, 1, 0, 0}, 2, 2)}, data: []int{0}, tattr: "Tparams"},
		{op: "Pad", attrs: graphdef.Attrs{"Tpaddings": classify.Int32}, in: []*classify.Tensor{iota32(2, 2), i32([]int32{1, 0, 0, 1}, 2, 2)}, data: []int{0}},
		{op: "PadV2", attrs: graphdef.Attrs{"Tpaddings": classify.Int32}, in: []*classify.Tensor{iota32(2, 2), i32([]int32{1, 0, 0, 1}, 2, 2), iota32()}, data: []int{0, 2}},
		{op: "MirrorPad", attrs: graphdef.Attrs{"Tpaddings": classify.Int32, "mode": "REFLECT"}, in: []*classify.Tensor{iota32(3, 3), i32([]int32{1, 1, 0, 2}, 2, 2)}, data: []int{0}},
		{op: "Fill", attrs: graphdef.Attrs{"index_type": classify.Int32}, in: []*classify.Tensor{i32([]int32{2, 3}, 2), iota32()}, data: []int{1}},
		{op: "ZerosLike", in: []*classify.Tensor{iota32(2, 2)}, data: []int{0}},
		{op: "OnesLike", in: []*classify.Tensor{iota32(2, 2)}, data: []int{0}},
		{op: "Select", in: []*classify.Tensor{cond, iota32(2, 3), iota32(2, 3)}, data: []int{1, 2}},
		{op: "SelectV2", in: []*classify.Tensor{cond, iota32(2, 3), iota32(3)}, data: []int{1, 2}},
		{op: "DepthToSpace", attrs: graphdef.Attrs{"block_size": 2}, in: []*classify.Tensor{iota32(1, 1, 2, 8)}, data: []int{0}},
		{op: "SpaceToDepth", attrs: graphdef.Attrs{"block_size": 2}, in: []*classify.Tensor{iota32(1, 2, 4, 2)}, data: []int{0}},
		{op: "SpaceToBatchND", attrs: graphdef.Attrs{"Tblock_shape": classify.Int32, "Tpaddings": classify.Int32}, in: []*classify.Tensor{iota32(1, 2, 4, 1), i32([]int32{2, 2}, 2), i32([]int32{0, 0, 0, 0}, 2, 2)}, data: []int{0}},
		{op: "BatchToSpaceND", attrs: graphdef.Attrs{"Tblock_shape": classify.Int32, "Tcrops": classify.Int32}, in: []*classify.Tensor{iota32(4, 1, 2, 1), i32([]int32{2, 2}, 2), i32([]int32{0, 0, 0, 0}, 2, 2)}, data: []int{0}},
		{op: "SparseToDense", attrs: graphdef.Attrs{"Tindices": classify.Int32}, in: []*classify.Tensor{i32([]int32{0, 2}, 2), i32([]int32{4}, 1), iota32(2), iota32()}, data: []int{2, 3}},
		{op: "Reshape", attrs: graphdef.Attrs{"Tshape": classify.Int32}, in: []*classify.Tensor{iota32(2, 3), i32([]int32{3, 2}, 2)}, data: []int{0}},
		{op: "ExpandDims", attrs: graphdef.Attrs{"Tdim": classify.Int32}, in: []*classify.Tensor{iota32(2, 3), i32([]int32{0})}, data: []int{0}},
		{op: "Squeeze", in: []*classify.Tensor{iota32(1, 3)}, data: []int{0}},
		{op: "Identity", in: []*classify.Tensor{iota32(2, 3)}, data: []int{0}},
	}
}

// TestArrayOpsNewDTypes runs every data-movement op on each new dtype and
// checks that op(cast(x)) == cast(op(x)), op(x) being the float32 result
// the other tests check against the oracle: moving elements must not
// depend on their type.
func TestArrayOpsNewDTypes(t *testing.T) {
	cases := arrayDTypeCases()
	for _, dt := range allNewDTypes {
		for _, c := range cases {
			t.Run(c.op+"_"+dt.String(), func(t *testing.T) {
				tattr := c.tattr
				if tattr == "" {
					tattr = "T"
				}
				attrs := graphdef.Attrs{tattr: classify.Float32}
				for k, v := range c.attrs {
					attrs[k] = v
				}
				want := mustRun(t, c.op, attrs, c.in...)
				in := append([]*classify.Tensor(nil), c.in...)
				for _, i := range c.data {
					in[i] = mustRun(t, "Cast", graphdef.Attrs{"SrcT": classify.Float32, "DstT": dt}, in[i])
				}
				attrs[tattr] = dt
				got := mustRun(t, c.op, attrs, in...)
				if want.DType == classify.Float32 {
					want = mustRun(t, "Cast", graphdef.Attrs{"SrcT": classify.Float32, "DstT": dt}, want)
				}
				if got.DType != want.DType || !got.Shape.Equal(want.Shape) {
					t.Fatalf("got %v%v, want %v%v", got.DType, got.Shape, want.DType, want.Shape)
				}
				for i := 0; i < want.Len(); i++ {
					if g, w := refElem(got, i), refElem(want, i); !refEqual(g, w) {
						t.Fatalf("element %d: got %v, want %v", i, g, w)
					}
				}
			})
		}
	}
}

// TestDTypeGate: an op that has not declared a new dtype refuses it at
// load time, naming the op, the attribute and the dtype.
func TestDTypeGate(t *testing.T) {
	x := &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{}, Data: []classify.F16{0x3c00}}
	// TensorFlow's Bucketize has no half kernel either.
	_, err := runOp(t, "Bucketize", graphdef.Attrs{"T": classify.Float16, "boundaries": []float32{0.5}}, x)
	if !errors.Is(err, classify.ErrUnsupportedOp) {
		t.Fatalf("Bucketize on float16: got %v, want ErrUnsupportedOp", err)
	}
	for _, want := range []string{"Bucketize", "float16", "attribute T"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// Complex dtypes are gated too: an op that has not declared them
	// (Relu has no complex kernel in TensorFlow) refuses them at load.
	c := &classify.Tensor{DType: classify.Complex64, Shape: classify.Shape{1}, Data: []complex64{1}}
	if _, err := runOp(t, "Relu", graphdef.Attrs{"T": classify.Complex64}, c); !errors.Is(err, classify.ErrUnsupportedOp) || !strings.Contains(err.Error(), "complex64") {
		t.Errorf("Relu on complex64: got %v, want ErrUnsupportedOp naming complex64", err)
	}
}
