package ops

// Conv2DBackpropInput, the transposed convolution of segmentation decoders:
// the gradient of Conv2D with respect to its input, computed as one GEMM
// and a col2im. Every input pixel of the forward convolution (an output
// pixel here) is the sum, over the taps whose window covers it, of
// out_backprop's channels times the filter: the GEMM makes, for each
// out_backprop pixel, the kh*kw*in_channels contributions it sends
// (cols = dy · filterᵀ), and col2im sums them into place. col2im gathers
// per output row rather than scattering, so rows split across goroutines
// without write conflicts.

import (
	"fmt"
	"sync"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

func init() {
	Register("Conv2DBackpropInput", buildDeconv)
}

type deconv struct {
	node   *Node
	attrs  convAttrs
	size   []int // constant input_sizes, or nil
	fshape classify.Shape
	packed *gemm.PackedB // constant filter as B (oc × kh*kw*ic), or nil
	none   *gemm.Epilogue
	runs   sync.Pool // *deconvRun
}

// deconvRun is one run's scratch.
type deconvRun struct {
	pb   gemm.PackedB
	cols []float32
}

func buildDeconv(n *Node, consts []*classify.Tensor) (Op, error) {
	if len(consts) != 3 {
		return nil, n.Errorf("%d inputs, want 3 (input_sizes, filter, out_backprop)", len(consts))
	}
	attrs, err := parseConvAttrs(n)
	if err != nil {
		return nil, err
	}
	op := &deconv{node: n, attrs: attrs}
	op.runs.New = func() any { return new(deconvRun) }
	if s := consts[0]; s != nil {
		if op.size, err = deconvSizes(s); err != nil {
			return nil, n.Errorf("input_sizes: %v", err)
		}
	}
	if f := consts[1]; f != nil {
		if f.DType != classify.Float32 || len(f.Shape) != 4 {
			return nil, n.Errorf("filter is %v %v, want float32 rank 4", f.DType, f.Shape)
		}
		if f.Shape[0] < 1 || f.Shape[1] < 1 {
			return nil, n.Errorf("filter %v has an empty window", f.Shape)
		}
		op.fshape = f.Shape.Clone()
		nn := f.Shape[0] * f.Shape[1] * f.Shape[2]
		op.packed = gemm.PackBWith(gemm.Choose(gemmKernel, nn), f.Float32s(), f.Shape[3], nn, f.Shape[3], true)
		op.none = gemm.NewEpilogue(nil, nn, gemm.ActNone, 0)
	}
	if op.size != nil && op.fshape != nil && op.size[3] != op.fshape[2] {
		return nil, n.Errorf("input_sizes %v and filter %v disagree on channels", op.size, op.fshape)
	}
	return op, nil
}

// deconvSizes reads input_sizes: 4 non-negative int32.
func deconvSizes(t *classify.Tensor) ([]int, error) {
	if t.DType != classify.Int32 || len(t.Shape) != 1 || t.Shape[0] != 4 {
		return nil, fmt.Errorf("want an int32 vector of 4 elements, got %v %v", t.DType, t.Shape)
	}
	s := make([]int, 4)
	for i, v := range t.Int32s() {
		if v < 0 {
			return nil, fmt.Errorf("%v has a negative size", t.Int32s())
		}
		s[i] = int(v)
	}
	return s, arrCheckDims(s)
}

func (op *deconv) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if dy := in[2].Shape; dy != nil && len(dy) != 4 {
		return nil, op.node.Errorf("out_backprop shape %v, want rank 4", dy)
	}
	if op.size == nil {
		return []classify.TensorInfo{{DType: classify.Float32, Shape: arrUnknown(4)}}, nil
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: classify.Shape(op.size).Clone()}}, nil
}

func (op *deconv) FLOPs(in []classify.Shape) int64 {
	fs := op.fshape
	if fs == nil && len(in) > 1 {
		fs = in[1]
	}
	if len(fs) != 4 || len(in) < 3 || !arrKnown(in[2]) || len(in[2]) != 4 || !arrKnown(fs) {
		return 0
	}
	return 2 * int64(arrProd(in[2][:3])) * int64(arrProd(fs))
}

func (op *deconv) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := op.node
	size := op.size
	if size == nil {
		var err error
		if size, err = deconvSizes(in[0]); err != nil {
			return nil, n.InputErrorf("input_sizes: %v", err)
		}
	}
	dy, err := checkFloat4D(n, in[2], "out_backprop")
	if err != nil {
		return nil, err
	}
	fshape := op.fshape
	if fshape == nil {
		if _, err := checkFloat4D(n, in[1], "filter"); err != nil {
			return nil, err
		}
		fshape = in[1].Shape
	}
	kh, kw, ic, oc := fshape[0], fshape[1], fshape[2], fshape[3]
	if kh < 1 || kw < 1 {
		return nil, n.InputErrorf("filter %v has an empty window", fshape)
	}
	if size[3] != ic {
		return nil, n.InputErrorf("input_sizes %v and filter %v disagree on channels", size, fshape)
	}
	ds := in[2].Shape
	g := op.attrs.geom(classify.Shape(size), kh, kw)
	if ds[0] != g.n || ds[1] != g.oh || ds[2] != g.ow || ds[3] != oc {
		return nil, n.InputErrorf("out_backprop %v, want [%d %d %d %d] for input_sizes %v and filter %v", ds, g.n, g.oh, g.ow, oc, size, fshape)
	}
	out := ctx.Output(0, classify.Float32, size...)
	dx := out.Float32s()
	if len(dx) == 0 {
		return []*classify.Tensor{out}, nil
	}
	m, nn := g.n*g.oh*g.ow, kh*kw*ic
	if m == 0 || oc == 0 {
		clear(dx)
		return []*classify.Tensor{out}, nil
	}
	r := op.runs.Get().(*deconvRun)
	defer op.runs.Put(r)
	pb, ep := op.packed, op.none
	if pb == nil {
		r.pb.Repack(gemm.Choose(gemmKernel, nn), in[1].Float32s(), oc, nn, oc, true)
		pb, ep = &r.pb, nil
	}
	if cap(r.cols) < m*nn {
		r.cols = make([]float32, m*nn)
	}
	cols := r.cols[:m*nn]
	a := gemm.A{M: m, Data: dy, Stride: oc}
	if err := gemm.Gemm(ctx.Workers(), &a, pb, cols, nn, ep); err != nil {
		return nil, fmt.Errorf("node %q (%s): %w", n.Name, n.Op, err)
	}
	col2im(ctx, dx, cols, &g)
	return []*classify.Tensor{out}, nil
}

// col2im sums the GEMM's per-tap contributions into dx ([n, h, w, c]): the
// forward convolution read input pixel (y, x) through tap (ky, kx) of
// output pixel (oy, ox) when y = oy*sh - pt + ky*dh, and likewise for x.
func col2im(ctx *Ctx, dx, cols []float32, g *geom) {
	c, nn := g.c, g.kh*g.kw*g.c
	ewParallel(ctx, g.n*g.h, g.w*c*g.kh*g.kw/max(g.sh*g.sw, 1)+1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			bi, y := r/g.h, r%g.h
			drow := dx[r*g.w*c : (r+1)*g.w*c]
			clear(drow)
			for ky := range g.kh {
				t := y + g.pt - ky*g.dh
				if t < 0 || t%g.sh != 0 || t/g.sh >= g.oh {
					continue
				}
				crow := cols[(bi*g.oh+t/g.sh)*g.ow*nn:]
				for x := range g.w {
					d := drow[x*c : (x+1)*c]
					for kx := range g.kw {
						u := x + g.pl - kx*g.dw
						if u < 0 || u%g.sw != 0 || u/g.sw >= g.ow {
							continue
						}
						s := crow[(u/g.sw)*nn+(ky*g.kw+kx)*c:]
						s = s[:len(d)]
						for i := range d {
							d[i] += s[i]
						}
					}
				}
			}
		}
	})
}
