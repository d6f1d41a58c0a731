package ops

// SpaceToBatchND and BatchToSpaceND, which TensorFlow 1.x graphs put
// around a convolution to make it dilated (atrous). Both are a pad or crop
// plus one permuting copy: the spatial dims of size P are seen as [P/b, b]
// and the block offsets move in front of the batch.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("SpaceToBatchND", buildSpaceBatch)
	Register("BatchToSpaceND", buildSpaceBatch)
	// The legacy 4-D forms: one block_size attr for both spatial dims and
	// paddings or crops as the second input.
	Register("SpaceToBatch", buildSpaceBatchLegacy)
	Register("BatchToSpace", buildSpaceBatchLegacy)
	allowDTypes("SpaceToBatch", allNewDTypes...)
	allowDTypes("BatchToSpace", allNewDTypes...)
}

// spaceBatchLegacy is SpaceToBatch or BatchToSpace: the ND op with block
// [block_size, block_size] over a 4-D [batch, height, width, depth] input.
type spaceBatchLegacy struct{ nd *spaceBatchOp }

func buildSpaceBatchLegacy(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs, has %d", n.NumInputs)
	}
	bs := n.Int("block_size", 0)
	// TensorFlow's kernels require block_size > 1.
	if bs < 2 || bs > arrMaxElements {
		return nil, n.Errorf("block_size %d should be > 1", bs)
	}
	o := &spaceBatchOp{n: n, toBatch: n.Op == "SpaceToBatch", block: []int{int(bs), int(bs)}}
	var err error
	if o.edges, _, err = arrConstInts(consts, 1); err != nil {
		return nil, n.Errorf("%s: %v", o.edgeName(), err)
	}
	if o.edges != nil {
		if err := o.check(o.block, o.edges, -1); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	return spaceBatchLegacy{o}, nil
}

func (o spaceBatchLegacy) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in[0].Shape) != 4 {
		return nil, o.nd.n.InputErrorf("input rank should be 4 instead of %d", len(in[0].Shape))
	}
	return o.nd.Run(ctx, []*classify.Tensor{in[0], nil, in[1]})
}

func (o spaceBatchLegacy) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if in[0].Shape != nil && len(in[0].Shape) != 4 {
		return nil, o.nd.n.Errorf("input rank should be 4 instead of %d", len(in[0].Shape))
	}
	return o.nd.OutputInfo(in)
}

type spaceBatchOp struct {
	n *Node
	// toBatch is true for SpaceToBatchND.
	toBatch bool
	// block and edges (paddings or crops, [before0, after0, ...]) when
	// constant.
	block, edges []int
}

func buildSpaceBatch(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs, has %d", n.NumInputs)
	}
	o := &spaceBatchOp{n: n, toBatch: n.Op == "SpaceToBatchND"}
	var err error
	if o.block, _, err = arrConstInts(consts, 1); err != nil {
		return nil, n.Errorf("block_shape: %v", err)
	}
	if o.edges, _, err = arrConstInts(consts, 2); err != nil {
		return nil, n.Errorf("%s: %v", o.edgeName(), err)
	}
	if o.block != nil && o.edges != nil {
		if err := o.check(o.block, o.edges, -1); err != nil {
			return nil, n.Errorf("%v", err)
		}
	}
	return o, nil
}

func (o *spaceBatchOp) edgeName() string {
	if o.toBatch {
		return "paddings"
	}
	return "crops"
}

// check validates block and edges against each other and, when rank >= 0,
// against an input of that rank.
func (o *spaceBatchOp) check(block, edges []int, rank int) error {
	m := len(block)
	if m < 1 || len(edges) != 2*m {
		return fmt.Errorf("block_shape %v and %s %v: need M >= 1 block sizes and M x 2 %s", block, o.edgeName(), edges, o.edgeName())
	}
	if rank >= 0 && rank < 1+m {
		return fmt.Errorf("input of rank %d has fewer than 1+%d dimensions", rank, m)
	}
	for i, b := range block {
		if b < 1 {
			return fmt.Errorf("block_shape %v must be positive", block)
		}
		if edges[2*i] < 0 || edges[2*i+1] < 0 || edges[2*i] > arrMaxElements || edges[2*i+1] > arrMaxElements {
			return fmt.Errorf("%s %v must be non-negative", o.edgeName(), edges)
		}
	}
	return nil
}

// outShape returns the output shape for an input shape (-1 unknown dims
// stay unknown).
func (o *spaceBatchOp) outShape(shape, block, edges []int) ([]int, error) {
	out := append([]int{}, shape...)
	prod := arrProd(block)
	for i, b := range block {
		d := shape[1+i]
		if d < 0 {
			out[1+i] = -1
			continue
		}
		if o.toBatch {
			p := d + edges[2*i] + edges[2*i+1]
			if p%b != 0 {
				return nil, fmt.Errorf("padded size %d of spatial dimension %d is not a multiple of block size %d", p, i, b)
			}
			out[1+i] = p / b
		} else {
			full := d * b
			if edges[2*i]+edges[2*i+1] > full {
				return nil, fmt.Errorf("crops %v exceed spatial dimension %d of size %d", edges[2*i:2*i+2], i, full)
			}
			out[1+i] = full - edges[2*i] - edges[2*i+1]
		}
	}
	if shape[0] >= 0 {
		if o.toBatch {
			out[0] = shape[0] * prod
		} else {
			if shape[0]%prod != 0 {
				return nil, fmt.Errorf("batch %d is not a multiple of the block size product %d", shape[0], prod)
			}
			out[0] = shape[0] / prod
		}
	}
	return out, nil
}

func (o *spaceBatchOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	block, edges := o.block, o.edges
	var err error
	if block == nil {
		if block, err = arrInts(in[1]); err != nil {
			return nil, o.n.InputErrorf("block_shape: %v", err)
		}
	}
	if edges == nil {
		if edges, err = arrInts(in[2]); err != nil {
			return nil, o.n.InputErrorf("%s: %v", o.edgeName(), err)
		}
	}
	if err := o.check(block, edges, len(t.Shape)); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	shape, err := o.outShape(t.Shape, block, edges)
	if err != nil {
		return nil, o.n.InputErrorf("input %v: %v", t.Shape, err)
	}
	if err := arrCheckDims(shape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	var out *classify.Tensor
	if o.toBatch {
		out, err = o.spaceToBatch(ctx, t, block, edges, shape)
	} else {
		out, err = o.batchToSpace(ctx, t, block, edges, shape)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

// spaceToBatch pads the input into a scratch buffer (slot 1), then reads it
// as [b1..bM, B, P1/b1..PM/bM, rest] into the output.
func (o *spaceBatchOp) spaceToBatch(ctx *Ctx, t *classify.Tensor, block, edges, shape []int) (*classify.Tensor, error) {
	m := len(block)
	pads := make([]int, 2*len(t.Shape))
	copy(pads[2:], edges)
	padded := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		padded[i] = d + pads[2*i] + pads[2*i+1]
	}
	p := ctx.Output(1, t.DType, padded...)
	zero := classify.NewTensor(t.DType, 1)
	if err := (&padOp{n: o.n}).pad(ctx.Workers(), p, t, pads, zero); err != nil {
		return nil, err
	}
	ps := arrStrides(padded)
	var view, str []int
	for i, b := range block {
		view, str = append(view, b), append(str, ps[1+i])
	}
	view, str = append(view, t.Shape[0]), append(str, ps[0])
	for i, b := range block {
		view, str = append(view, padded[1+i]/b), append(str, ps[1+i]*b)
	}
	view, str = append(view, padded[1+m:]...), append(str, ps[1+m:]...)
	out := ctx.Output(0, t.DType, shape...)
	return out, arrCopy(ctx.Workers(), view, out, arrRegion{Str: arrStrides(view)}, p, arrRegion{Str: str})
}

// batchToSpace reads the input as [B, S1, b1, ..., SM, bM, rest] into a
// scratch buffer (slot 1) holding the uncropped result, then copies the
// cropped window into the output.
func (o *spaceBatchOp) batchToSpace(ctx *Ctx, t *classify.Tensor, block, edges, shape []int) (*classify.Tensor, error) {
	m := len(block)
	is := arrStrides(t.Shape)
	// The input viewed as [b1..bM, B, S1..SM, rest]: the block offset
	// strides are the batch stride times the product of later blocks.
	bstr := make([]int, m)
	k := is[0] * shape[0]
	for i := m - 1; i >= 0; i-- {
		bstr[i] = k
		k *= block[i]
	}
	view, str := []int{shape[0]}, []int{is[0]}
	full := []int{shape[0]}
	for i, b := range block {
		view, str = append(view, t.Shape[1+i], b), append(str, is[1+i], bstr[i])
		full = append(full, t.Shape[1+i]*b)
	}
	view, str = append(view, t.Shape[1+m:]...), append(str, is[1+m:]...)
	full = append(full, t.Shape[1+m:]...)
	u := ctx.Output(1, t.DType, full...)
	if err := arrCopy(ctx.Workers(), view, u, arrRegion{Str: arrStrides(view)}, t, arrRegion{Str: str}); err != nil {
		return nil, err
	}
	us := arrStrides(full)
	crop := arrRegion{Str: us}
	for i := range block {
		crop.Off += edges[2*i] * us[1+i]
	}
	out := ctx.Output(0, t.DType, shape...)
	return out, arrCopy(ctx.Workers(), shape, out, arrRegion{Str: arrStrides(shape)}, u, crop)
}

func (o *spaceBatchOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if t.Shape == nil {
		return []classify.TensorInfo{{DType: t.DType}}, nil
	}
	if o.block == nil || o.edges == nil {
		return []classify.TensorInfo{{DType: t.DType, Shape: arrUnknown(len(t.Shape))}}, nil
	}
	if err := o.check(o.block, o.edges, len(t.Shape)); err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	s, err := o.outShape(t.Shape, o.block, o.edges)
	if err != nil {
		return nil, o.n.Errorf("input %v: %v", t.Shape, err)
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: s}}, nil
}
