package ops

// _GotfInvertedResidual: MobileNet v2's inverted residual block as one
// kernel. The fuser (classify/gotf/fuse.go) rewrites a 1x1 "expand"
// _FusedConv2D, the 3x3 _FusedDepthwiseConv2dNative it alone feeds, and the
// 1x1 "project" _FusedConv2D that alone reads the depthwise result (with
// its residual Add, if any) into this node. Run computes the block in bands
// of output rows: the expanded rows a band needs, then its depthwise rows,
// then its projection, so the wide expanded tensor (6x the block's input)
// never leaves the cache; consecutive bands share their overlapping
// expanded rows. Every value is computed with the same kernels as the
// three separate nodes; only pixels whose depthwise window reaches into the
// padding round differently (the band path sums zeros for the missing taps
// in the dense kernel, the separate one sums the valid taps in the tap
// kernel), within 1e-5 relative (TestInvertedResidual).
//
// Inputs: x, expand filter and bias, depthwise filter and bias, project
// filter and bias, and the residual when the project node had one. The
// attributes are the three nodes' own, prefixed "e:", "d:" and "p:".

import (
	"fmt"
	"math"
	"strings"
	"sync"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

// InvertedResidual is the op type of the fused block.
const InvertedResidual = "_GotfInvertedResidual"

func init() {
	Register(InvertedResidual, buildInvRes)
}

type invRes struct {
	node           *Node
	expand, dw     Op // the separate kernels: the path for shapes bands do not suit
	project        Op
	add            bool
	cin, ce, cout  int
	dattrs         convAttrs
	w1, w3         *gemm.PackedB
	ep1, ep3, post *gemm.Epilogue // post: the activation after the residual (nil: none)
	wd, bd         []float32
	dlo, dhi       float32
	dwk            *gemm.DWKernel
	scratch        sync.Pool // *invResScratch
}

// invResScratch is one worker's band buffers, and the arguments of its
// calls, kept here so that steady-state runs allocate nothing.
type invResScratch struct {
	e, d   []float32
	row    gemm.DWRow
	a1, a3 gemm.A
	// The separate path's sub-contexts and inputs.
	ec, dc, pc Ctx
	in         [4]*classify.Tensor
}

// SplitPrefixed returns the attributes of attr that start with prefix,
// without it.
func SplitPrefixed(attr map[string]*apb.AttrValue, prefix string) map[string]*apb.AttrValue {
	out := map[string]*apb.AttrValue{}
	for k, v := range attr {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// clampAct reports whether act is applied by a clamp (what the band path
// does in the kernels' write-back), and its bounds.
func clampAct(act gemm.Act) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	switch act {
	case gemm.ActNone:
	case gemm.ActRelu:
		lo = 0
	case gemm.ActRelu6:
		lo, hi = 0, 6
	default:
		return 0, 0, false
	}
	return lo, hi, true
}

func buildInvRes(n *Node, consts []*classify.Tensor) (Op, error) {
	if len(consts) != 7 && len(consts) != 8 {
		return nil, n.Errorf("%d inputs, want 7 or 8", len(consts))
	}
	for i := 1; i < 7; i++ {
		if consts[i] == nil || consts[i].DType != classify.Float32 {
			return nil, n.Errorf("input %d is not a constant float32 tensor", i)
		}
	}
	add := len(consts) == 8
	sub := func(prefix, op string, nin int) *Node {
		return &Node{Name: n.Name, Op: op, NumInputs: nin, Attr: SplitPrefixed(n.Attr, prefix)}
	}
	en, dn, pn := sub("e:", "_FusedConv2D", 3), sub("d:", "_FusedDepthwiseConv2dNative", 3), sub("p:", "_FusedConv2D", 3)
	if add {
		pn.NumInputs = 4
	}
	op := &invRes{node: n, add: add}
	var err error
	if op.expand, err = buildConv2D(en, []*classify.Tensor{nil, consts[1], consts[2]}, true); err != nil {
		return nil, err
	}
	if op.dw, err = buildDepthwise(dn, []*classify.Tensor{nil, consts[3], consts[4]}, true); err != nil {
		return nil, err
	}
	pc := []*classify.Tensor{nil, consts[5], consts[6]}
	if add {
		pc = append(pc, nil)
	}
	if op.project, err = buildConv2D(pn, pc, true); err != nil {
		return nil, err
	}
	w1, wd, w3 := consts[1].Shape, consts[3].Shape, consts[5].Shape
	if len(w1) != 4 || len(wd) != 4 || len(w3) != 4 || w1[0] != 1 || w1[1] != 1 || wd[0] != 3 || wd[1] != 3 || wd[3] != 1 || w3[0] != 1 || w3[1] != 1 ||
		wd[2] != w1[3] || w3[2] != w1[3] {
		return nil, n.Errorf("filters %v, %v, %v are not a 1x1 → 3x3 depthwise → 1x1 block", w1, wd, w3)
	}
	op.cin, op.ce, op.cout = w1[2], w1[3], w3[3]
	e, d, p := op.expand.(*conv2D), op.dw.(*depthwise), op.project.(*conv2D)
	for _, c := range []*conv2D{e, p} {
		if c.attrs.sh != 1 || c.attrs.sw != 1 || c.packed == nil || c.ep == nil {
			return nil, n.Errorf("the 1x1 convolutions must be NHWC, stride 1, with constant filters")
		}
	}
	if _, _, ok := clampAct(e.act); !ok {
		return nil, n.Errorf("expand activation %d is not a clamp", e.act)
	}
	if d.attrs.dh != 1 || d.attrs.dw != 1 || d.attrs.sh != d.attrs.sw || d.attrs.sh < 1 || d.attrs.sh > 2 {
		return nil, n.Errorf("the depthwise convolution must be NHWC, undilated, stride 1 or 2")
	}
	var ok bool
	if op.dlo, op.dhi, ok = clampAct(d.act); !ok {
		return nil, n.Errorf("depthwise activation %d is not a clamp", d.act)
	}
	op.dattrs = d.attrs
	op.w1, op.ep1 = e.packed, e.ep
	op.w3, op.ep3 = p.packed, p.ep
	if add {
		op.post = p.post
		if a, _ := p.post.Activation(); a != gemm.ActNone {
			if _, _, ok := clampAct(a); !ok {
				return nil, n.Errorf("project activation %d is not a clamp", a)
			}
		} else {
			op.post = nil
		}
	} else if _, _, ok := clampAct(p.act); !ok {
		return nil, n.Errorf("project activation %d is not a clamp", p.act)
	}
	op.wd = consts[3].Float32s()
	if op.bd, err = checkBias(n, consts[4], op.ce); err != nil {
		return nil, n.Errorf("%v", err)
	}
	op.dwk = d.kern
	op.scratch.New = func() any { return new(invResScratch) }
	return op, nil
}

// invResMinBytes and invResMinChannels bound the blocks that run in
// bands: below them the block runs as its three kernels. An expanded
// tensor that fits in a quarter of L2 gains nothing from bands, and bands
// of few expanded channels make GEMMs too small to pay (MobileNet v1 0.25,
// whose pointwise/depthwise/pointwise runs have 8 to 256 channels, ran 10 %
// slower in bands). Variables for tests.
var (
	invResMinBytes    = 256 << 10
	invResMinChannels = 64
)

// invResBandBytes is the footprint a band aims for: its expanded rows and
// depthwise rows, in L2 beside the filters.
const invResBandBytes = 256 << 10

func (op *invRes) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := op.node
	x, err := checkFloat4D(n, in[0], "input")
	if err != nil {
		return nil, err
	}
	if in[0].Shape[3] != op.cin {
		return nil, n.InputErrorf("input has %d channels, the block wants %d", in[0].Shape[3], op.cin)
	}
	g := op.dattrs.geom(in[0].Shape, 3, 3)
	g.c = op.ce // the depthwise input's channels
	var r []float32
	if op.add {
		if r, err = checkFloat4D(n, in[7], "residual"); err != nil {
			return nil, err
		}
		if !in[7].Shape.Equal([]int{g.n, g.oh, g.ow, op.cout}) {
			return op.separate(ctx, in)
		}
	}
	workers := ctx.Workers()
	if g.n*g.oh*g.ow == 0 || g.w == 0 || g.h == 0 || 4*g.n*g.h*g.w*op.ce < invResMinBytes || op.ce < invResMinChannels {
		return op.separate(ctx, in)
	}
	// With fewer images than twice the workers, split each image's output
	// rows into one chunk per worker: gemm.Parallel runs every chunk as its
	// own call of f, and each call is one run of bands that computes the
	// expanded rows at its edges again (three chunks of 2 output rows
	// expand 12 input rows where one chunk of 6 expands 8). Below 4 rows
	// per worker those edges cost more than the bands save: run the three
	// kernels.
	chunks := 1
	if workers > 1 && g.n < 2*workers {
		if g.oh < 4*workers {
			return op.separate(ctx, in)
		}
		chunks = workers
	}
	if workers > 1 && 2*int64(g.n*g.oh*g.ow)*int64(op.ce)*int64(op.cin+op.cout) < 4<<20 {
		workers = 1
	}
	out := ctx.Output(0, classify.Float32, g.n, g.oh, g.ow, op.cout)
	y := out.Float32s()
	units := g.n * chunks
	if workers == 1 {
		op.units(x, y, r, &g, chunks, 0, units)
	} else {
		op.parallel(workers, x, y, r, g, chunks, units)
	}
	return []*classify.Tensor{out}, nil
}

// parallel splits the units over workers; it takes g by value so that
// only this path pays for the closure.
func (op *invRes) parallel(workers int, x, y, r []float32, g geom, chunks, units int) {
	gemm.Parallel(workers, units, func(u0, u1 int) { op.units(x, y, r, &g, chunks, u0, u1) })
}

// units computes units u0..u1-1: chunk u%chunks of the rows of image
// u/chunks. A range of chunks within one image is one run of bands.
func (op *invRes) units(x, y, r []float32, g *geom, chunks, u0, u1 int) {
	s := op.scratch.Get().(*invResScratch)
	defer op.scratch.Put(s)
	for u := u0; u < u1; {
		b := u / chunks
		last := min(u1, (b+1)*chunks)
		oy0, oy1 := (u%chunks)*g.oh/chunks, ((last-1)%chunks+1)*g.oh/chunks
		op.bands(s, x, y, r, g, b, oy0, oy1)
		u = last
	}
}

// separate runs the three kernels one after the other.
func (op *invRes) separate(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s := op.scratch.Get().(*invResScratch)
	defer func() {
		s.ec, s.dc, s.pc, s.in = Ctx{}, Ctx{}, Ctx{}, [4]*classify.Tensor{}
		op.scratch.Put(s)
	}()
	s.ec, s.dc, s.pc = ctx.Sub(1, 1), ctx.Sub(2, 1), ctx.Sub(0, 1)
	s.in = [4]*classify.Tensor{in[0], in[1], in[2]}
	e, err := op.expand.Run(&s.ec, s.in[:3])
	if err != nil {
		return nil, err
	}
	s.in = [4]*classify.Tensor{e[0], in[3], in[4]}
	d, err := op.dw.Run(&s.dc, s.in[:3])
	if err != nil {
		return nil, err
	}
	s.in = [4]*classify.Tensor{d[0], in[5], in[6]}
	pin := s.in[:3]
	if op.add {
		s.in[3] = in[7]
		pin = s.in[:4]
	}
	return op.project.Run(&s.pc, pin)
}

// bands computes output rows oy0..oy1-1 of image b.
func (op *invRes) bands(s *invResScratch, x, y, r []float32, g *geom, b, oy0, oy1 int) {
	ce, st := op.ce, g.sh
	pr := max(0, (g.ow-1)*st+3-g.w-g.pl)
	wp := g.pl + g.w + pr // expanded row width with the depthwise padding
	rowE := wp * ce
	band := 1
	for band < oy1-oy0 && ((band)*st+3)*rowE+(band+1)*g.ow*ce <= invResBandBytes/4 {
		band++
	}
	nE := (band-1)*st + 3
	s.e = growF32(s.e, nE*rowE)
	s.d = growF32(s.d, band*g.ow*ce)
	img := x[b*g.h*g.w*op.cin:]
	have, haveFrom := 0, 0 // expanded rows held at the top of s.e, from input row haveFrom
	for o0 := oy0; o0 < oy1; o0 += band {
		o1 := min(oy1, o0+band)
		iy0 := o0*st - g.pt
		need := (o1-o0-1)*st + 3
		// Rows kept from the last band move to the top.
		keep := 0
		if have > 0 && iy0 >= haveFrom && iy0 < haveFrom+have {
			keep = haveFrom + have - iy0
			copy(s.e, s.e[(iy0-haveFrom)*rowE:(iy0-haveFrom+keep)*rowE])
		}
		for i := keep; i < need; i++ {
			row := s.e[i*rowE : (i+1)*rowE]
			iy := iy0 + i
			if iy < 0 || iy >= g.h {
				clear(row)
				continue
			}
			clear(row[:g.pl*ce])
			clear(row[(g.pl+g.w)*ce:])
			s.a1 = gemm.A{M: g.w, Data: img[iy*g.w*op.cin : (iy+1)*g.w*op.cin], Stride: op.cin}
			if err := gemm.Gemm(1, &s.a1, op.w1, row[g.pl*ce:], ce, op.ep1); err != nil {
				panic(fmt.Sprintf("invres: expand: %v", err)) // shapes checked in Run
			}
		}
		have, haveFrom = need, iy0
		dr := &s.row
		*dr = gemm.DWRow{W: &op.wd[0], Bias: &op.bd[0], C: ce, Pixels: g.ow, XStep: st * ce, Lo: op.dlo, Hi: op.dhi, RowStep: rowE, ColStep: ce}
		for oy := o0; oy < o1; oy++ {
			dr.X = &s.e[(oy-o0)*st*rowE]
			dr.Y = &s.d[(oy-o0)*g.ow*ce]
			op.dwk.Run3x3(dr)
		}
		m := (o1 - o0) * g.ow
		yo := ((b*g.oh + o0) * g.ow) * op.cout
		s.a3 = gemm.A{M: m, Data: s.d[:m*ce], Stride: ce}
		var err error
		if op.add {
			err = gemm.GemmResidual(1, &s.a3, op.w3, y[yo:yo+m*op.cout], op.cout, op.ep3, r[yo:yo+m*op.cout], op.post)
		} else {
			err = gemm.Gemm(1, &s.a3, op.w3, y[yo:yo+m*op.cout], op.cout, op.ep3)
		}
		if err != nil {
			panic(fmt.Sprintf("invres: project: %v", err))
		}
	}
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func (op *invRes) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	out := classify.Shape{-1, -1, -1, op.cout}
	x := in[0].Shape
	if x != nil {
		if len(x) != 4 || (x[3] >= 0 && x[3] != op.cin) {
			return nil, op.node.Errorf("input shape %v, want [n,h,w,%d]", x, op.cin)
		}
		x = classify.Shape{x[0], x[1], x[2], op.ce} // the depthwise input
	}
	if err := op.dattrs.inferNHW(op.node, x, classify.Shape{3, 3, op.ce, 1}, out); err != nil {
		return nil, err
	}
	return []classify.TensorInfo{{DType: classify.Float32, Shape: out}}, nil
}

func (op *invRes) FLOPs(in []classify.Shape) int64 {
	if len(in) < 1 || len(in[0]) != 4 {
		return 0
	}
	info, err := op.OutputInfo([]classify.TensorInfo{{Shape: in[0]}})
	if err != nil {
		return 0
	}
	o := info[0].Shape
	px := int64(in[0][0]) * int64(in[0][1]) * int64(in[0][2])
	opx := int64(o[0]) * int64(o[1]) * int64(o[2])
	// As the three fused kernels count: multiply-adds, and one add per
	// output for the bias.
	return (2*int64(op.cin)+1)*px*int64(op.ce) + 19*opx*int64(op.ce) + (2*int64(op.ce)+1)*opx*int64(op.cout)
}
