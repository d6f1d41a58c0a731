package ops

// LRN, local response normalisation across channels (NHWC), as
// TensorFlow's lrn_op.cc: out = x / (bias + alpha * sum_{|k-c| <= r} x_k²)^beta.
// The window sum slides along the channels, so a pixel costs O(C) for any
// depth_radius.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("LRN", buildLRN)
}

type lrnOp struct {
	n                 *Node
	r                 int
	bias, alpha, beta float32
}

func buildLRN(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("needs 1 input, has %d", n.NumInputs)
	}
	o := &lrnOp{n: n, r: int(n.Int("depth_radius", 5)), bias: n.Float("bias", 1), alpha: n.Float("alpha", 1), beta: n.Float("beta", 0.5)}
	if o.r < 0 || o.r > 1<<20 {
		return nil, n.Errorf("depth_radius %d out of range", o.r)
	}
	return o, nil
}

func (o *lrnOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if s := in[0].Shape; s != nil && len(s) != 4 {
		return nil, o.n.Errorf("input %v must be 4-D NHWC", s)
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: in[0].Shape.Clone()}}, nil
}

func (o *lrnOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, err := checkFloat4D(o.n, in[0], "input")
	if err != nil {
		return nil, err
	}
	c := in[0].Shape[3]
	out := ctx.Output(0, classify.Float32, in[0].Shape...)
	y := out.Float32s()
	pixels := len(x) / max(c, 1)
	r, bias, alpha, beta := o.r, float64(o.bias), float64(o.alpha), float64(o.beta)
	ewParallel(ctx, pixels, c*8, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			px, py := x[p*c:(p+1)*c], y[p*c:(p+1)*c]
			// The running window sum is float64 so that adding and
			// removing squares does not drift.
			var sum float64
			for k := 0; k < min(r, c); k++ {
				sum += float64(px[k]) * float64(px[k])
			}
			for ch := range px {
				if k := ch + r; k < c {
					sum += float64(px[k]) * float64(px[k])
				}
				if k := ch - r - 1; k >= 0 {
					sum -= float64(px[k]) * float64(px[k])
				}
				py[ch] = float32(float64(px[ch]) / math.Pow(bias+alpha*max(sum, 0), beta))
			}
		}
	})
	return []*classify.Tensor{out}, nil
}
