package ops

// Older spellings and small utilities of TensorFlow's op set: the V1 ops
// that took as attributes what their successors take as inputs (InTopK,
// NonMaxSuppression, MatrixDiagPart), AccumulateNV2 (AddN), the
// pass-throughs GuaranteeConst, Copy, CopyHost and CheckNumericsV2,
// ControlTrigger, ToBool, NextAfter, ConjugateTranspose of real tensors,
// the layout helpers DataFormatDimMap and DataFormatVecPermute that
// TensorFlow's layout optimizer leaves in saved graphs, and
// DynamicPartition.

import (
	"math"
	"strings"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("InTopK", withAttrInputs("InTopKV2", func(n *Node) ([]*classify.Tensor, error) {
		return []*classify.Tensor{{DType: n.Type("T"), Shape: classify.Shape{}, Data: intData(n.Type("T"), n.Int("k", 1))}}, nil
	}))
	Register("NonMaxSuppression", withAttrInputs("NonMaxSuppressionV2", func(n *Node) ([]*classify.Tensor, error) {
		return []*classify.Tensor{classify.FromFloat32([]float32{n.Float("iou_threshold", 0.5)})}, nil
	}))
	Register("MatrixDiagPart", withAttrInputs("MatrixDiagPartV3", func(n *Node) ([]*classify.Tensor, error) {
		// The padding input V3 takes is a zero of T: T must be known.
		dt := n.Type("T")
		if dt == classify.Invalid || dt == classify.Variant || dt == classify.String {
			return nil, n.Errorf("attribute T missing or unsupported (%v)", dt)
		}
		return []*classify.Tensor{{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{0}}, classify.NewTensor(dt)}, nil
	}))
	Register("AccumulateNV2", buildAddN)
	for _, op := range []string{"GuaranteeConst", "Copy", "CopyHost"} {
		Register(op, buildForward(1))
		allowDTypes(op, allNewDTypes...)
	}
	Register("CheckNumericsV2", func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
		}
		return checkNumerics{node: n, message: n.String("message", "")}, nil
	})
	Register("ControlTrigger", func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 0 {
			return nil, n.Errorf("has %d data inputs, want 0", n.NumInputs)
		}
		return forward{}, nil
	})
	Register("ToBool", func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
		}
		return toBoolOp{n}, nil
	})
	Register("NextAfter", newMap(floatBinMap(
		func(x, y float32) float32 { return math.Nextafter32(x, y) },
		math.Nextafter)))
	Register("ConjugateTranspose", func(n *Node, consts []*classify.Tensor) (Op, error) {
		b, _ := Lookup("Transpose")
		return b(n, consts)
	})
	Register("DataFormatDimMap", buildDataFormat(false))
	Register("DataFormatVecPermute", buildDataFormat(true))
	Register("DynamicPartition", buildDynamicPartition)
	allowDTypes("DynamicPartition", allNewDTypes...)
}

// intData is a one-element int32 or int64 slice.
func intData(dt classify.DType, v int64) any {
	if dt == classify.Int64 {
		return []int64{v}
	}
	return []int32{int32(v)}
}

// withAttrInputs builds canon's kernel for an op whose trailing inputs
// were attributes in its older form: extra gives them as constants, or
// refuses the node when its attributes cannot make them.
func withAttrInputs(canon string, extra func(n *Node) ([]*classify.Tensor, error)) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		b, ok := Lookup(canon)
		if !ok {
			return nil, n.Errorf("no kernel for %s", canon)
		}
		ex, err := extra(n)
		if err != nil {
			return nil, err
		}
		c := *n
		c.Op, c.NumInputs = canon, n.NumInputs+len(ex)
		op, err := b(&c, append(append([]*classify.Tensor{}, consts...), ex...))
		if err != nil {
			return nil, err
		}
		return &extraInputs{op: op, extra: ex}, nil
	}
}

type extraInputs struct {
	op    Op
	extra []*classify.Tensor
}

func (e *extraInputs) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	return e.op.Run(ctx, append(append([]*classify.Tensor{}, in...), e.extra...))
}

func (e *extraInputs) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	s, ok := e.op.(Shaper)
	if !ok {
		return make([]classify.TensorInfo, 1), nil
	}
	all := append([]classify.TensorInfo{}, in...)
	for _, t := range e.extra {
		all = append(all, classify.TensorInfo{DType: t.DType, Shape: t.Shape.Clone()})
	}
	return s.OutputInfo(all)
}

// toBoolOp: a scalar is true when non-zero (a string when non-empty); a
// tensor of any other shape when it has elements.
type toBoolOp struct{ n *Node }

func (toBoolOp) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: classify.Bool, Shape: classify.Shape{}}}, nil
}

func (o toBoolOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	v := x.Len() > 0
	if len(x.Shape) == 0 {
		switch d := x.Data.(type) {
		case []bool:
			v = d[0]
		case [][]byte:
			v = len(d[0]) > 0
		case []float32:
			v = d[0] != 0
		case []float64:
			v = d[0] != 0
		default:
			iv, ok := ints(x)
			if !ok {
				f, ok := asFloat64s(x)
				if !ok {
					return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
				}
				iv = []int64{int64(f[0])}
			}
			v = iv[0] != 0
		}
	}
	return []*classify.Tensor{{DType: classify.Bool, Shape: classify.Shape{}, Data: []bool{v}}}, nil
}

// ---- DataFormatDimMap, DataFormatVecPermute ----

type dataFormatOp struct {
	n        *Node
	src, dst string
	vec      bool
}

func buildDataFormat(vec bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
		}
		o := &dataFormatOp{n: n, src: n.String("src_format", "NHWC"), dst: n.String("dst_format", "NCHW"), vec: vec}
		if len(o.src) != len(o.dst) || len(o.src) < 2 {
			return nil, n.Errorf("source format %q and destination format %q must be of equal length", o.src, o.dst)
		}
		for _, c := range o.src {
			if strings.Count(o.src, string(c)) != 1 || strings.Count(o.dst, string(c)) != 1 {
				return nil, n.Errorf("destination format %q is not a permutation of source format %q", o.dst, o.src)
			}
		}
		return o, nil
	}
}

func (o *dataFormatOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return cloneInfo(in), nil
}

func (o *dataFormatOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	v, err := arrInts(x)
	if err != nil {
		return nil, o.n.InputErrorf("x: %v", err)
	}
	r := len(o.src)
	out := make([]int, len(v))
	if !o.vec {
		// Each value is a dimension of src (-r <= d < r); give its place
		// in dst.
		for i, d := range v {
			if d < -r || d >= r {
				return nil, o.n.InputErrorf("dimension %d is out of range [%d, %d)", d, -r, r)
			}
			out[i] = strings.IndexByte(o.dst, o.src[(d+r)%r])
		}
		return []*classify.Tensor{intsOf(x.DType, out, x.Shape...)}, nil
	}
	// A vector (or [n, 2] matrix) of values per dimension of src, given
	// in dst's order; n may be r or, for the spatial dimensions only, r-2.
	src, dst := o.src, o.dst
	rows := x.Shape
	if len(rows) < 1 || len(rows) > 2 || len(rows) == 2 && rows[1] != 2 {
		return nil, o.n.InputErrorf("input must be a vector or a [n, 2] matrix, got shape %v", x.Shape)
	}
	switch rows[0] {
	case r:
	case r - 2:
		keep := func(f string) string {
			return strings.Map(func(c rune) rune {
				if c == 'N' || c == 'C' {
					return -1
				}
				return c
			}, f)
		}
		src, dst = keep(src), keep(dst)
	default:
		return nil, o.n.InputErrorf("first dimension of input must be %d or %d, got %d", r, r-2, rows[0])
	}
	w := len(v) / rows[0]
	for i := range dst {
		j := strings.IndexByte(src, dst[i])
		copy(out[i*w:(i+1)*w], v[j*w:(j+1)*w])
	}
	return []*classify.Tensor{intsOf(x.DType, out, x.Shape...)}, nil
}

// ---- DynamicPartition ----

type dynamicPartitionOp struct {
	n   *Node
	num int
}

func buildDynamicPartition(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (data, partitions), has %d", n.NumInputs)
	}
	num := int(n.Int("num_partitions", 0))
	if num < 1 || num > 1<<16 {
		return nil, n.Errorf("num_partitions %d: want 1 to 65536", num)
	}
	return &dynamicPartitionOp{n: n, num: num}, nil
}

func (o *dynamicPartitionOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	out := make([]classify.TensorInfo, o.num)
	for i := range out {
		out[i] = classify.TensorInfo{DType: in[0].DType}
	}
	return out, nil
}

func (o *dynamicPartitionOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	data, parts := in[0], in[1]
	if len(parts.Shape) > len(data.Shape) || !parts.Shape.Equal(data.Shape[:len(parts.Shape)]) {
		return nil, o.n.InputErrorf("data.shape %v must start with partitions.shape %v", data.Shape, parts.Shape)
	}
	p, err := arrInts(parts)
	if err != nil || parts.DType != classify.Int32 {
		return nil, o.n.InputErrorf("partitions must be int32, got %v", parts.DType)
	}
	rows := make([][]int, o.num)
	for i, v := range p {
		if v < 0 || v >= o.num {
			return nil, o.n.InputErrorf("partitions[%d] = %d is not in [0, %d)", i, v, o.num)
		}
		rows[v] = append(rows[v], i)
	}
	inner := data.Shape[len(parts.Shape):]
	g := gatherGeom{batches: 1, outer: 1, dim: len(p), inner: arrProd(inner)}
	out := make([]*classify.Tensor, o.num)
	for k := range out {
		shape := append([]int{len(rows[k])}, inner...)
		out[k] = ctx.Output(k, data.DType, shape...)
		if err := gatherInto(out[k], data, rows[k], g); err != nil {
			return nil, o.n.InputErrorf("%v", err)
		}
	}
	return out, nil
}
