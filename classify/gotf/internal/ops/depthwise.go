package ops

// Depthwise convolutions: DepthwiseConv2dNative and grappler's
// _FusedDepthwiseConv2dNative. With channel multiplier 1 (MobileNet's case)
// each output row is split into runs of pixels whose windows have the same
// valid taps, and each run is one call of a vectorised row kernel; other
// multipliers take a plain Go loop.

import (
	"math"
	"sync"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

func init() {
	Register("DepthwiseConv2dNative", func(n *Node, c []*classify.Tensor) (Op, error) { return buildDepthwise(n, c, false) })
	Register("_FusedDepthwiseConv2dNative", func(n *Node, c []*classify.Tensor) (Op, error) { return buildDepthwise(n, c, true) })
}

type depthwise struct {
	node   *Node
	attrs  convAttrs
	fused  bool
	act    gemm.Act
	alpha  float32
	lo, hi float32
	kern   *gemm.DWKernel
	runs   sync.Pool // *dwRun
}

// dwRun is one run's (or one worker's) scratch.
type dwRun struct {
	xoff, woff []int
	zero       []float32
	// The kernels' arguments live here, not on the stack: passed to an
	// assembly function through a func value they would escape per call.
	row, dense gemm.DWRow
}

func buildDepthwise(n *Node, consts []*classify.Tensor, fused bool) (Op, error) {
	if n.Type("T") == classify.Float64 {
		return buildConvF64(n, consts, true, fused) // conv_f64.go
	}
	want := 2
	if fused {
		want = 3
	}
	if len(consts) != want {
		return nil, n.Errorf("%d inputs, want %d", len(consts), want)
	}
	attrs, err := parseConvAttrs(n)
	if err != nil {
		return nil, err
	}
	op := &depthwise{node: n, attrs: attrs, fused: fused, kern: dwKernel}
	op.runs.New = func() any { return new(dwRun) }
	if fused {
		if op.act, op.alpha, err = fusedAttrs(n); err != nil {
			return nil, err
		}
	}
	if f := consts[1]; f != nil && (f.DType != classify.Float32 || len(f.Shape) != 4) {
		return nil, n.Errorf("filter is %v %v, want float32 rank 4", f.DType, f.Shape)
	}
	op.lo, op.hi = float32(math.Inf(-1)), float32(math.Inf(1))
	switch op.act {
	case gemm.ActRelu:
		op.lo = 0
	case gemm.ActRelu6:
		op.lo, op.hi = 0, 6
	}
	return op, nil
}

// minParallelDW is the FLOP count below which a depthwise layer runs on one
// goroutine: about 8 us of work, where the hand-off to a spinning helper
// (about 1 us) and the split's cache misses stop paying.
const minParallelDW = 1 << 18

func (op *depthwise) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := op.node
	x, err := checkFloat4D(n, in[0], "input")
	if err != nil {
		return nil, err
	}
	w, err := checkFloat4D(n, in[1], "filter")
	if err != nil {
		return nil, err
	}
	fs := in[1].Shape
	kh, kw, c, mult := fs[0], fs[1], fs[2], fs[3]
	if kh < 1 || kw < 1 {
		return nil, n.InputErrorf("filter %v has an empty window", fs)
	}
	if in[0].Shape[3] != c {
		return nil, n.InputErrorf("input has %d channels, filter %v wants %d", in[0].Shape[3], fs, c)
	}
	oc := c * mult
	var bias []float32
	if op.fused {
		if bias, err = checkBias(n, in[2], oc); err != nil {
			return nil, err
		}
	}
	g := op.attrs.geom(in[0].Shape, kh, kw)
	out := ctx.Output(0, classify.Float32, g.n, g.oh, g.ow, oc)
	y := out.Float32s()
	rows := g.n * g.oh
	if len(y) == 0 {
		return []*classify.Tensor{out}, nil
	}
	workers := ctx.Workers()
	if 2*int64(len(y))*int64(kh*kw) < minParallelDW {
		workers = 1
	}
	workers = max(1, min(workers, rows))
	if workers == 1 {
		op.rows(x, w, bias, y, &g, mult, 0, rows)
		return []*classify.Tensor{out}, nil
	}
	op.parallel(workers, x, w, bias, y, g, mult, rows)
	return []*classify.Tensor{out}, nil
}

// parallel splits the output rows over workers goroutines. It takes g by
// value so that only this path pays for the goroutines' captured copies.
func (op *depthwise) parallel(workers int, x, w, bias, y []float32, g geom, mult, rows int) {
	gemm.Parallel(workers, rows, func(r0, r1 int) {
		op.rows(x, w, bias, y, &g, mult, r0, r1)
	})
}

// rows computes output rows r0..r1-1 (a row is one (batch, oy) pair).
func (op *depthwise) rows(x, w, bias, y []float32, g *geom, mult, r0, r1 int) {
	if mult != 1 {
		op.rowsMult(x, w, bias, y, g, mult, r0, r1)
		return
	}
	s := op.runs.Get().(*dwRun)
	defer op.runs.Put(s)
	c := g.c
	taps := g.kh * g.kw
	if cap(s.xoff) < taps {
		s.xoff, s.woff = make([]int, taps), make([]int, taps)
	}
	if bias == nil {
		if len(s.zero) < c {
			s.zero = make([]float32, c)
		}
		bias = s.zero
	}
	// Output pixels ox in [lo, hi) have every kx inside the input.
	lo := min(g.ow, (g.pl+g.sw-1)/g.sw)
	hi := lo
	if last := g.w - 1 + g.pl - (g.kw-1)*g.dw; last >= 0 {
		hi = max(lo, min(g.ow, last/g.sw+1))
	}
	r := &s.row
	*r = gemm.DWRow{W: &w[0], Bias: &bias[0], XOff: &s.xoff[0], WOff: &s.woff[0], C: c, XStep: g.sw * c, Lo: op.lo, Hi: op.hi,
		RowStep: g.dh * g.w * c, ColStep: g.dw * c}
	dense3 := g.kh == 3 && g.kw == 3
	for row := r0; row < r1; row++ {
		b, oy := row/g.oh, row%g.oh
		img := x[b*g.h*g.w*c:]
		r.X = &img[0]
		yrow := y[row*g.ow*c : (row+1)*g.ow*c]
		iy0 := oy*g.sh - g.pt
		// run computes pixels [o0, o1), whose valid kx are those of o0.
		run := func(o0, o1 int) {
			if o0 >= o1 {
				return
			}
			ix0 := o0*g.sw - g.pl
			t := 0
			for ky := 0; ky < g.kh; ky++ {
				iy := iy0 + ky*g.dh
				if iy < 0 || iy >= g.h {
					continue
				}
				for kx := 0; kx < g.kw; kx++ {
					ix := ix0 + kx*g.dw
					if ix < 0 || ix >= g.w {
						continue
					}
					s.xoff[t] = (iy*g.w + ix) * c
					s.woff[t] = (ky*g.kw + kx) * c
					t++
				}
			}
			r.Y, r.Taps, r.Pixels = &yrow[o0*c], t, o1-o0
			op.kern.Run(r)
		}
		for o := 0; o < lo; o++ {
			run(o, o+1)
		}
		if dense3 && iy0 >= 0 && iy0+2*g.dh < g.h && lo < hi {
			d := &s.dense
			*d = *r
			d.X = &img[(iy0*g.w+lo*g.sw-g.pl)*c]
			d.Y, d.Pixels = &yrow[lo*c], hi-lo
			op.kern.Run3x3(d)
		} else {
			run(lo, hi)
		}
		for o := max(hi, lo); o < g.ow; o++ {
			run(o, o+1)
		}
		if op.act == gemm.ActElu || op.act == gemm.ActLeakyRelu {
			activate(yrow, op.act, op.alpha)
		}
	}
}

// rowsMult is the general channel-multiplier path: output channel ci*mult+m
// reads input channel ci with filter [ky, kx, ci, m].
func (op *depthwise) rowsMult(x, w, bias, y []float32, g *geom, mult, r0, r1 int) {
	c := g.c
	oc := c * mult
	for row := r0; row < r1; row++ {
		b, oy := row/g.oh, row%g.oh
		for ox := 0; ox < g.ow; ox++ {
			yp := y[(row*g.ow+ox)*oc : (row*g.ow+ox+1)*oc]
			if bias != nil {
				copy(yp, bias)
			} else {
				clear(yp)
			}
			for ky := 0; ky < g.kh; ky++ {
				iy := oy*g.sh - g.pt + ky*g.dh
				if iy < 0 || iy >= g.h {
					continue
				}
				for kx := 0; kx < g.kw; kx++ {
					ix := ox*g.sw - g.pl + kx*g.dw
					if ix < 0 || ix >= g.w {
						continue
					}
					xp := x[((b*g.h+iy)*g.w+ix)*c : ((b*g.h+iy)*g.w+ix+1)*c]
					wp := w[(ky*g.kw+kx)*oc : (ky*g.kw+kx+1)*oc]
					for ci, xv := range xp {
						for m := 0; m < mult; m++ {
							yp[ci*mult+m] += xv * wp[ci*mult+m]
						}
					}
				}
			}
			for i, v := range yp {
				yp[i] = min(max(v, op.lo), op.hi)
			}
			activate(yp, op.act, op.alpha)
		}
	}
}

func (op *depthwise) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	out := classify.Shape{-1, -1, -1, -1}
	var fs classify.Shape
	if len(in) > 1 {
		fs = in[1].Shape
	}
	if len(fs) == 4 && fs[2] >= 0 && fs[3] >= 0 {
		out[3] = fs[2] * fs[3]
	}
	if err := op.attrs.inferNHW(op.node, in[0].Shape, fs, out); err != nil {
		return nil, err
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: out}}, nil
}

func (op *depthwise) FLOPs(in []classify.Shape) int64 {
	if len(in) < 2 || len(in[0]) != 4 || len(in[1]) != 4 {
		return 0
	}
	info, err := op.OutputInfo([]classify.TensorInfo{{Shape: in[0]}, {Shape: in[1]}})
	if err != nil {
		return 0
	}
	for _, d := range info[0].Shape {
		if d < 0 {
			return 0
		}
	}
	e := int64(info[0].Shape.NumElements())
	f := 2 * e * int64(in[1][0]*in[1][1])
	if op.fused {
		f += e
	}
	return f
}
