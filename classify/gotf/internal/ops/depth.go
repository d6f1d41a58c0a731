package ops

// DepthToSpace and SpaceToDepth on NHWC: blocks of block_size x
// block_size pixels move to and from the channel axis, in TensorFlow's
// order (depth-column-row: channel (i*b + j)*C' + c of input pixel (h, w)
// is channel c of output pixel (h*b + i, w*b + j)). Each output pixel's
// run of C' channels is one contiguous copy.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("DepthToSpace", buildDepth)
	Register("SpaceToDepth", buildDepth)
}

type depthOp struct {
	n *Node
	b int
}

func buildDepth(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("needs 1 input, has %d", n.NumInputs)
	}
	if f := n.String("data_format", "NHWC"); f != "NHWC" {
		return nil, fmt.Errorf("node %q (%s): %w: data_format %s (only NHWC)", n.Name, n.Op, classify.ErrUnsupportedOp, f)
	}
	b := n.Int("block_size", 0)
	if b < 2 || b > 1<<16 {
		return nil, n.Errorf("block_size %d must be at least 2", b)
	}
	return &depthOp{n: n, b: int(b)}, nil
}

// outShape is the output shape for input x, with -1 kept unknown.
func (o *depthOp) outShape(x classify.Shape) (classify.Shape, error) {
	if len(x) != 4 {
		return nil, fmt.Errorf("input %v must be 4-D NHWC", x)
	}
	b := o.b
	s := x.Clone()
	if o.n.Op == "DepthToSpace" {
		if x[3] >= 0 && x[3]%(b*b) != 0 {
			return nil, fmt.Errorf("input %v: depth is not a multiple of block_size^2 = %d", x, b*b)
		}
		for i := 1; i < 3; i++ {
			if x[i] >= 0 {
				s[i] = x[i] * b
			}
		}
		if x[3] >= 0 {
			s[3] = x[3] / (b * b)
		}
		return s, nil
	}
	for i := 1; i < 3; i++ {
		if x[i] >= 0 && x[i]%b != 0 {
			return nil, fmt.Errorf("input %v: height and width must be multiples of block_size %d", x, b)
		}
		if x[i] >= 0 {
			s[i] = x[i] / b
		}
	}
	if x[3] >= 0 {
		s[3] = x[3] * b * b
	}
	return s, nil
}

func (o *depthOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if in[0].Shape == nil {
		return []classify.TensorInfo{{DType: in[0].DType, Shape: arrUnknown(4)}}, nil
	}
	s, err := o.outShape(in[0].Shape)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: s}}, nil
}

func (o *depthOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	s, err := o.outShape(x.Shape)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	if err := arrCheckDims(s); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, x.DType, s...)
	// Work in the space (large) tensor's coordinates: [n, H, W, c] with
	// H = h*b, W = w*b, and the depth tensor [n, h, w, b*b*c].
	sp := s
	if o.n.Op == "SpaceToDepth" {
		sp = x.Shape
	}
	g := depthGeom{b: o.b, n: sp[0], hs: sp[1], ws: sp[2], c: sp[3], toSpace: o.n.Op == "DepthToSpace"}
	switch d := out.Data.(type) {
	case []float32:
		err = depthAs(ctx, d, x.Data, g)
	case []float64:
		err = depthAs(ctx, d, x.Data, g)
	case []classify.F16:
		err = depthAs(ctx, d, x.Data, g)
	case []classify.BF16:
		err = depthAs(ctx, d, x.Data, g)
	case []int8:
		err = depthAs(ctx, d, x.Data, g)
	case []int16:
		err = depthAs(ctx, d, x.Data, g)
	case []uint16:
		err = depthAs(ctx, d, x.Data, g)
	case []uint32:
		err = depthAs(ctx, d, x.Data, g)
	case []uint64:
		err = depthAs(ctx, d, x.Data, g)
	case []complex64:
		err = depthAs(ctx, d, x.Data, g)
	case []complex128:
		err = depthAs(ctx, d, x.Data, g)
	case []int32:
		err = depthAs(ctx, d, x.Data, g)
	case []int64:
		err = depthAs(ctx, d, x.Data, g)
	case []uint8:
		err = depthAs(ctx, d, x.Data, g)
	case []bool:
		err = depthAs(ctx, d, x.Data, g)
	default:
		err = fmt.Errorf("unsupported dtype %v", x.DType)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

// depthGeom is the space tensor's shape [n, hs, ws, c] and the block.
type depthGeom struct {
	b, n, hs, ws, c int
	toSpace         bool
}

func depthAs[T any](ctx *Ctx, dst []T, srcData any, g depthGeom) error {
	src, ok := srcData.([]T)
	if !ok {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	b, c := g.b, g.c
	wd, cd := g.ws/b, c*b*b // depth tensor's width and channels
	ewParallel(ctx, g.n*g.hs, g.ws*c, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			bi, y := r/g.hs, r%g.hs
			h, i := y/b, y%b
			drow := ((bi*(g.hs/b)+h)*wd)*cd + i*b*c // depth pixel (bi, h, 0), block row i
			for x := range g.ws {
				w, j := x/b, x%b
				so := r*g.ws*c + x*c
				do := drow + w*cd + j*c
				if g.toSpace {
					copy(dst[so:so+c], src[do:do+c])
				} else {
					copy(dst[do:do+c], src[so:so+c])
				}
			}
		}
	})
	return nil
}
