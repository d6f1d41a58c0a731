package ops

// Pooling: MaxPool and AvgPool over NHWC float32 tensors with SAME or VALID
// padding. Padded positions never take part: MaxPool ignores them and
// AvgPool divides by the number of real elements in each window, as
// TensorFlow does.

import (
	"github.com/classifyd/classifyd/classify"
)

// poolOp is a compiled pooling node.
type poolOp struct {
	n      *Node
	max    bool
	kh, kw int
	sh, sw int
	same   bool
}

func buildPool(isMax bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
		}
		dt := n.Type("T")
		if dt != classify.Invalid && dt != classify.Float32 && !poolTypedDType(isMax, dt) {
			return nil, n.Errorf("unsupported dtype %v", dt)
		}
		if f := n.String("data_format", "NHWC"); f != "NHWC" {
			return nil, n.Errorf("data_format %q not supported (only NHWC)", f)
		}
		k, s := n.Ints("ksize"), n.Ints("strides")
		if len(k) != 4 || len(s) != 4 {
			return nil, n.Errorf("ksize %v and strides %v must have 4 elements", k, s)
		}
		if k[0] != 1 || k[3] != 1 || s[0] != 1 || s[3] != 1 {
			return nil, n.Errorf("pooling over batch or depth not supported (ksize %v, strides %v)", k, s)
		}
		if k[1] < 1 || k[2] < 1 || s[1] < 1 || s[2] < 1 || k[1] > 1<<20 || k[2] > 1<<20 || s[1] > 1<<20 || s[2] > 1<<20 {
			return nil, n.Errorf("bad ksize %v or strides %v", k, s)
		}
		o := &poolOp{n: n, max: isMax, kh: int(k[1]), kw: int(k[2]), sh: int(s[1]), sw: int(s[2])}
		switch p := n.String("padding", ""); p {
		case "SAME":
			o.same = true
		case "VALID":
		default:
			return nil, n.Errorf("padding %q not supported (SAME or VALID)", p)
		}
		if dt != classify.Invalid && dt != classify.Float32 {
			return &poolTyped{poolOp: o, dt: dt}, nil // pool_f64.go
		}
		return o, nil
	}
}

// outDim returns the output size and the padding before the first window
// along one dimension, or -1 when the input is too small (TensorFlow's
// "computed output size would be negative").
func (o *poolOp) outDim(in, k, s int) (out, pad int) {
	if in < 0 {
		return -1, 0
	}
	if o.same {
		out = (in + s - 1) / s
		need := max((out-1)*s+k-in, 0)
		return out, need / 2
	}
	if in-k+s < 0 {
		return -1, 0
	}
	return (in - k + s) / s, 0
}

// OutputInfo implements Shaper.
func (o *poolOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	if dt := in[0].DType; dt != classify.Invalid && dt != classify.Float32 {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	s := in[0].Shape
	if s == nil {
		return []classify.TensorInfo{{DType: classify.Float32}}, nil
	}
	if len(s) != 4 {
		return nil, o.n.Errorf("input must be 4-D NHWC, has shape %v", s)
	}
	out := classify.Shape{s[0], -1, -1, s[3]}
	if s[1] >= 0 {
		if out[1], _ = o.outDim(s[1], o.kh, o.sh); out[1] < 0 {
			return nil, o.n.Errorf("window %dx%d larger than input %v", o.kh, o.kw, s)
		}
	}
	if s[2] >= 0 {
		if out[2], _ = o.outDim(s[2], o.kw, o.sw); out[2] < 0 {
			return nil, o.n.Errorf("window %dx%d larger than input %v", o.kh, o.kw, s)
		}
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: out}}, nil
}

// FLOPs implements Flopper: one operation per window element.
func (o *poolOp) FLOPs(in []classify.Shape) int64 {
	if len(in) != 1 || len(in[0]) != 4 || ewCount(in[0]) == 0 {
		return 0
	}
	oh, _ := o.outDim(in[0][1], o.kh, o.sh)
	ow, _ := o.outDim(in[0][2], o.kw, o.sw)
	if oh < 0 || ow < 0 {
		return 0
	}
	return int64(in[0][0]) * int64(oh) * int64(ow) * int64(in[0][3]) * int64(o.kh*o.kw)
}

// poolGeom is the geometry of one run.
type poolGeom struct {
	h, w, c      int
	oh, ow       int
	padT, padL   int
	kh, kw       int
	sh, sw       int
	inImg, outIm int // elements per image
}

// Run implements Op.
func (o *poolOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	x := in[0]
	if x.DType != classify.Float32 {
		return nil, o.n.InputErrorf("unsupported dtype %v", x.DType)
	}
	if len(x.Shape) != 4 {
		return nil, o.n.InputErrorf("input must be 4-D NHWC, has shape %v", x.Shape)
	}
	g := poolGeom{h: x.Shape[1], w: x.Shape[2], c: x.Shape[3], kh: o.kh, kw: o.kw, sh: o.sh, sw: o.sw}
	g.oh, g.padT = o.outDim(g.h, o.kh, o.sh)
	g.ow, g.padL = o.outDim(g.w, o.kw, o.sw)
	if g.oh < 0 || g.ow < 0 {
		return nil, o.n.InputErrorf("window %dx%d larger than input %v", o.kh, o.kw, x.Shape)
	}
	nb := x.Shape[0]
	out := ctx.Output(0, classify.Float32, nb, g.oh, g.ow, g.c)
	g.inImg, g.outIm = g.h*g.w*g.c, g.oh*g.ow*g.c
	rows := nb * g.oh
	if rows == 0 || g.ow == 0 || g.c == 0 {
		return []*classify.Tensor{out}, nil
	}
	src, dst := x.Float32s(), out.Float32s()
	if g.h == 0 || g.w == 0 {
		// Every window is all padding: no element to take part.
		// TensorFlow's kernels leave the lowest float for MaxPool and
		// divide 0 by 0 for AvgPool; neither is reachable from a real
		// graph, so refuse instead of inventing a value.
		return nil, o.n.InputErrorf("empty spatial input %v", x.Shape)
	}
	cost := g.ow * g.c * o.kh * o.kw
	if ewSerial(ctx, rows*cost, 1) || rows < 2 {
		o.rows(&g, dst, src, 0, rows)
	} else {
		ewParallel(ctx, rows, cost, func(lo, hi int) { o.rows(&g, dst, src, lo, hi) })
	}
	return []*classify.Tensor{out}, nil
}

// rows computes output rows [lo, hi) of the batch-major (n, oh) sequence.
func (o *poolOp) rows(g *poolGeom, dst, src []float32, lo, hi int) {
	c := g.c
	for r := lo; r < hi; r++ {
		b, y := r/g.oh, r%g.oh
		img := src[b*g.inImg : (b+1)*g.inImg]
		h0 := y*g.sh - g.padT
		h1 := min(h0+g.kh, g.h)
		h0 = max(h0, 0)
		orow := dst[b*g.outIm+y*g.ow*c : b*g.outIm+(y+1)*g.ow*c]
		for x := 0; x < g.ow; x++ {
			w0 := x*g.sw - g.padL
			w1 := min(w0+g.kw, g.w)
			w0 = max(w0, 0)
			acc := orow[x*c : (x+1)*c]
			div := float32((h1 - h0) * (w1 - w0))
			done := poolWinAsm(o.max, acc, img, (h0*g.w+w0)*c, c, g.w*c, h1-h0, w1-w0, div)
			if done == c {
				continue
			}
			acc = acc[done:]
			first := true
			for hh := h0; hh < h1; hh++ {
				line := img[(hh*g.w)*c:]
				for ww := w0; ww < w1; ww++ {
					v := line[ww*c+done : (ww+1)*c]
					switch {
					case first:
						copy(acc, v)
						first = false
					case o.max:
						maxVVF32(acc, acc, v)
					default:
						addVVF32(acc, acc, v)
					}
				}
			}
			if !o.max {
				// A vector division: the same quotients as a scalar
				// loop, which took most of an AvgPool's time.
				divVSF32(acc, acc, div)
			}
		}
	}
}

func init() {
	Register("MaxPool", buildPool(true))
	Register("AvgPool", buildPool(false))
}
