package ops

// LRNGrad(input_grads, input_image, output_image), the gradient of LRN
// (lrn.go) with TensorFlow's lrn_op.cc formula: per pixel, with
// N_j = bias + alpha·Σ_{|k-j| <= r} x_k² and y = output_image,
//
//	dx_k = g_k·N_k^-beta - 2·alpha·beta·x_k·Σ_{|j-k| <= r} g_j·y_j/N_j
//
// where, as TensorFlow, a zero input gradient g_j contributes nothing (not
// even NaN from an infinite y_j). TensorFlow sums over every (j, k) pair,
// O(C·r) per pixel; here N and the inner sum slide along the channels as
// the forward kernel's window does, so a pixel costs O(C) for any
// depth_radius (a wide window sums directly when it is short, and by a
// running float64 sum otherwise).

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("LRNGrad", buildLRNGrad)
	promote("LRNGrad", "T", nil, halfDTypes...)
}

type lrnGradOp struct {
	lrnOp
}

func buildLRNGrad(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("needs 3 inputs (input_grads, input_image, output_image), has %d", n.NumInputs)
	}
	if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 {
		return nil, n.Errorf("unsupported dtype %v (float32)", dt)
	}
	o := &lrnGradOp{lrnOp{n: n, r: int(n.Int("depth_radius", 5)), bias: n.Float("bias", 1), alpha: n.Float("alpha", 1), beta: n.Float("beta", 0.5)}}
	if d := n.Int("depth_radius", 5); d < 0 || d > 1<<20 {
		return nil, n.Errorf("depth_radius %d out of range", d)
	}
	return o, nil
}

// OutputInfo implements Shaper.
func (o *lrnGradOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	var s classify.Shape
	for _, t := range in {
		if t.Shape != nil && len(t.Shape) != 4 {
			return nil, o.n.Errorf("inputs must be 4-D NHWC, got %v", t.Shape)
		}
		if s == nil {
			s = t.Shape
		}
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: s.Clone()}}, nil
}

// lrnGradDirect is the longest window summed directly.
const lrnGradDirect = 64

// Run implements Op.
func (o *lrnGradOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	var d [3][]float32
	for i, what := range []string{"input_grads", "input_image", "output_image"} {
		v, err := checkFloat4D(o.n, in[i], what)
		if err != nil {
			return nil, err
		}
		if !in[i].Shape.Equal(in[0].Shape) {
			return nil, o.n.InputErrorf("input_grads %v, input_image %v and output_image %v must have one shape", in[0].Shape, in[1].Shape, in[2].Shape)
		}
		d[i] = v
	}
	g, x, y := d[0], d[1], d[2]
	c := in[0].Shape[3]
	out := ctx.Output(0, classify.Float32, in[0].Shape...)
	dx := out.Float32s()
	if len(dx) == 0 || c == 0 {
		return []*classify.Tensor{out}, nil
	}
	r, bias, alpha, beta := o.r, float64(o.bias), float64(o.alpha), float64(o.beta)
	ab2 := -2 * alpha * beta
	ewParallel(ctx, len(dx)/c, c*16, func(lo, hi int) {
		norm := make([]float64, c)
		t := make([]float64, c)
		for p := lo; p < hi; p++ {
			px, pg, py, pd := x[p*c:][:c], g[p*c:][:c], y[p*c:][:c], dx[p*c:][:c]
			var sum float64
			for k := 0; k < min(r, c); k++ {
				sum += float64(px[k]) * float64(px[k])
			}
			for j := range px {
				if k := j + r; k < c {
					sum += float64(px[k]) * float64(px[k])
				}
				if k := j - r - 1; k >= 0 {
					sum -= float64(px[k]) * float64(px[k])
				}
				norm[j] = alpha*max(sum, 0) + bias
				t[j] = 0
				if pg[j] != 0 {
					t[j] = float64(pg[j]) * float64(py[j]) / norm[j]
				}
			}
			if 2*r+1 <= lrnGradDirect {
				for k := range pd {
					s := 0.0
					for j := max(k-r, 0); j < min(k+r+1, c); j++ {
						s += t[j]
					}
					pd[k] = float32(lrnGradAt(pg[k], px[k], norm[k], s, ab2, beta))
				}
				continue
			}
			var s float64
			for j := 0; j < min(r, c); j++ {
				s += t[j]
			}
			for k := range pd {
				if j := k + r; j < c {
					s += t[j]
				}
				if j := k - r - 1; j >= 0 {
					s -= t[j]
				}
				pd[k] = float32(lrnGradAt(pg[k], px[k], norm[k], s, ab2, beta))
			}
		}
	})
	return []*classify.Tensor{out}, nil
}

// lrnGradAt is dx_k from its own gradient g, input x, normaliser n and
// the window sum s of g_j·y_j/N_j.
func lrnGradAt(g, x float32, n, s, ab2, beta float64) float64 {
	v := float64(x) * ab2 * s
	if g != 0 {
		v += float64(g) * math.Pow(n, -beta)
	}
	return v
}
