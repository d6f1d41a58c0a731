package ops

// Convolutions: Conv2D and grappler's _FusedConv2D (conv + BiasAdd +
// activation). Both run as gemm.Conv, an implicit GEMM: rows are output
// pixels, columns output channels, K the kh*kw*cin window read in place
// from the NHWC input; or, for stride-1 3x3 filters, as a Winograd
// convolution (winograd.go). Constant filters are packed at load.

import (
	"fmt"
	"math"
	"sync"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

func init() {
	Register("Conv2D", func(n *Node, c []*classify.Tensor) (Op, error) { return buildConv2D(n, c, false) })
	Register("_FusedConv2D", func(n *Node, c []*classify.Tensor) (Op, error) { return buildConv2D(n, c, true) })
}

// The micro-kernels builders pack for: the fastest this CPU has. Tests
// swap them to check every kernel against the oracle; nothing else writes.
var (
	gemmKernel = gemm.Default()
	dwKernel   = gemm.DefaultDW()
)

// convAttrs are the window attributes shared by Conv2D and
// DepthwiseConv2dNative.
type convAttrs struct {
	sh, sw, dh, dw int
	padding        string
	explicit       [4]int // top, bottom, left, right for EXPLICIT
}

func parseConvAttrs(n *Node) (convAttrs, error) {
	var a convAttrs
	if f := n.String("data_format", "NHWC"); f != "NHWC" {
		return a, fmt.Errorf("node %q (%s): %w: data_format %s (only NHWC)", n.Name, n.Op, classify.ErrUnsupportedOp, f)
	}
	s := n.Ints("strides")
	if len(s) != 4 || s[0] != 1 || s[3] != 1 || s[1] < 1 || s[2] < 1 {
		return a, n.Errorf("strides %v: want [1, h, w, 1]", s)
	}
	a.sh, a.sw = int(s[1]), int(s[2])
	a.dh, a.dw = 1, 1
	if d := n.Ints("dilations"); d != nil {
		if len(d) != 4 || d[0] != 1 || d[3] != 1 || d[1] < 1 || d[2] < 1 {
			return a, n.Errorf("dilations %v: want [1, h, w, 1]", d)
		}
		a.dh, a.dw = int(d[1]), int(d[2])
	}
	a.padding = n.String("padding", "")
	switch a.padding {
	case "SAME", "VALID":
	case "EXPLICIT":
		p := n.Ints("explicit_paddings")
		if len(p) != 8 || p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0 {
			return a, n.Errorf("explicit_paddings %v: want 8 values, zero for batch and channels", p)
		}
		for i := 0; i < 4; i++ {
			if p[2+i] < 0 {
				return a, n.Errorf("explicit_paddings %v: negative", p)
			}
			a.explicit[i] = int(p[2+i])
		}
	default:
		return a, n.Errorf("padding %q", a.padding)
	}
	return a, nil
}

// window is one spatial dimension of a convolution's geometry.
func (a *convAttrs) window(in, k, stride, dil int, explicitBefore, explicitAfter int) (out, before int) {
	ek := (k-1)*dil + 1
	switch a.padding {
	case "VALID":
		if in < ek {
			return 0, 0
		}
		return (in-ek)/stride + 1, 0
	case "SAME":
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+ek-in, 0)
		return out, total / 2
	}
	in += explicitBefore + explicitAfter
	if in < ek {
		return 0, explicitBefore
	}
	return (in-ek)/stride + 1, explicitBefore
}

// geom is a convolution's geometry at concrete input and filter shapes.
type geom struct {
	n, h, w, c     int // input
	kh, kw         int
	oh, ow         int
	sh, sw, dh, dw int
	pt, pl         int // padding before, top and left
}

func (a *convAttrs) geom(x classify.Shape, kh, kw int) geom {
	g := geom{n: x[0], h: x[1], w: x[2], c: x[3], kh: kh, kw: kw, sh: a.sh, sw: a.sw, dh: a.dh, dw: a.dw}
	g.oh, g.pt = a.window(g.h, kh, a.sh, a.dh, a.explicit[0], a.explicit[1])
	g.ow, g.pl = a.window(g.w, kw, a.sw, a.dw, a.explicit[2], a.explicit[3])
	return g
}

// outDim is window for shape inference, where -1 stays unknown.
func (a *convAttrs) outDim(in, k, stride, dil, eb, ea int) int {
	if in < 0 || k < 0 {
		return -1
	}
	o, _ := a.window(in, k, stride, dil, eb, ea)
	return o
}

// fusedAttrs reads a grappler-fused node's fused_ops into an activation.
func fusedAttrs(n *Node) (gemm.Act, float32, error) {
	act, alpha, add, err := fusedAttrsAdd(n)
	if err == nil && add {
		return 0, 0, fmt.Errorf("node %q (%s): %w: fused_ops %v (a residual Add only after a convolution)", n.Name, n.Op, classify.ErrUnsupportedOp, n.Strings("fused_ops"))
	}
	return act, alpha, err
}

// fusedAttrsAdd is fusedAttrs also accepting grappler's residual form
// BiasAdd,Add[,activation] with num_args 2 (bias, then the addend).
func fusedAttrsAdd(n *Node) (act gemm.Act, alpha float32, add bool, err error) {
	ops := n.Strings("fused_ops")
	add = len(ops) > 1 && ops[1] == "Add"
	args := 1
	if add {
		args = 2
		ops = append(ops[:1:1], ops[2:]...)
	}
	if na := n.Int("num_args", 1); na != int64(args) || len(ops) == 0 || ops[0] != "BiasAdd" || len(ops) > 2 {
		return 0, 0, false, fmt.Errorf("node %q (%s): %w: fused_ops %v with num_args %d (supported: BiasAdd[,Add][,Relu|Relu6|Elu|LeakyRelu])", n.Name, n.Op, classify.ErrUnsupportedOp, n.Strings("fused_ops"), na)
	}
	act, alpha, err = fusedAct(n, ops)
	return act, alpha, add, err
}

// fusedAct maps the activation after BiasAdd in ops (if any).
func fusedAct(n *Node, ops []string) (gemm.Act, float32, error) {
	if len(ops) == 1 {
		return gemm.ActNone, 0, nil
	}
	switch ops[1] {
	case "Relu":
		return gemm.ActRelu, 0, nil
	case "Relu6":
		return gemm.ActRelu6, 0, nil
	case "Elu":
		return gemm.ActElu, 0, nil
	case "LeakyRelu":
		return gemm.ActLeakyRelu, n.Float("leakyrelu_alpha", 0.2), nil
	}
	return 0, 0, fmt.Errorf("node %q (%s): %w: fused activation %q", n.Name, n.Op, classify.ErrUnsupportedOp, ops[1])
}

// activate applies act to every element of v (the GEMM does it in its
// epilogue; depthwise and the bias-only paths call this).
func activate(v []float32, act gemm.Act, alpha float32) {
	switch act {
	case gemm.ActRelu:
		for i, x := range v {
			v[i] = max(x, 0)
		}
	case gemm.ActRelu6:
		for i, x := range v {
			v[i] = min(max(x, 0), 6)
		}
	case gemm.ActElu:
		for i, x := range v {
			if x < 0 {
				v[i] = float32(math.Expm1(float64(x)))
			}
		}
	case gemm.ActLeakyRelu:
		for i, x := range v {
			if x < 0 {
				v[i] = x * alpha
			}
		}
	}
}

// checkFloat4D validates a run-time NHWC float32 input.
func checkFloat4D(n *Node, t *classify.Tensor, what string) ([]float32, error) {
	if t == nil || t.DType != classify.Float32 || len(t.Shape) != 4 {
		var s classify.Shape
		var dt classify.DType
		if t != nil {
			s, dt = t.Shape, t.DType
		}
		return nil, n.InputErrorf("%s is %v %v, want float32 rank 4", what, dt, s)
	}
	d := t.Float32s()
	if len(d) != t.Shape.NumElements() {
		return nil, n.InputErrorf("%s has %d elements for shape %v", what, len(d), t.Shape)
	}
	return d, nil
}

// checkBias validates a fused op's bias against the output channels.
func checkBias(n *Node, t *classify.Tensor, oc int) ([]float32, error) {
	if t == nil || t.DType != classify.Float32 || len(t.Shape) != 1 || t.Shape[0] != oc || len(t.Float32s()) != oc {
		var s classify.Shape
		if t != nil {
			s = t.Shape
		}
		return nil, n.InputErrorf("bias shape %v, want float32 [%d]", s, oc)
	}
	return t.Float32s(), nil
}

type conv2D struct {
	node   *Node
	attrs  convAttrs
	fused  bool
	act    gemm.Act
	alpha  float32
	packed *gemm.PackedB // constant filter, or nil
	// wino is the constant filter's Winograd forms (nil: none); the
	// filter is then packed for gemm.Conv by lazy, on first use.
	wino   *convWino
	lazy   *lazyPacked
	fshape classify.Shape
	ep     *gemm.Epilogue // constant bias (or none when not fused), or nil
	runs   sync.Pool      // *convRun
	// add marks grappler's BiasAdd,Add[,act] form: input 3 is added to
	// the convolution before act (ep is then linear, post has act).
	add   bool
	post  *gemm.Epilogue
	addOp Op // AddV2, for an addend that broadcasts
}

// convRun is one run's scratch, pooled so that steady-state runs allocate
// nothing.
type convRun struct {
	pb gemm.PackedB
	ep gemm.Epilogue
}

func buildConv2D(n *Node, consts []*classify.Tensor, fused bool) (Op, error) {
	if n.Type("T") == classify.Float64 {
		return buildConvF64(n, consts, false, fused) // conv_f64.go
	}
	attrs, err := parseConvAttrs(n)
	if err != nil {
		return nil, err
	}
	op := &conv2D{node: n, attrs: attrs, fused: fused}
	op.runs.New = func() any { return new(convRun) }
	want := 2
	if fused {
		want = 3
		if op.act, op.alpha, op.add, err = fusedAttrsAdd(n); err != nil {
			return nil, err
		}
	}
	if op.add {
		want = 4
		op.post = gemm.NewEpilogue(nil, 0, op.act, op.alpha)
		op.act, op.alpha = gemm.ActNone, 0
		if op.addOp, err = newBinary(&addSpec)(&Node{Name: n.Name, Op: "AddV2", NumInputs: 2}, nil); err != nil {
			return nil, err
		}
	}
	if len(consts) != want {
		return nil, n.Errorf("%d inputs, want %d", len(consts), want)
	}
	if f := consts[1]; f != nil {
		if f.DType != classify.Float32 || len(f.Shape) != 4 {
			return nil, n.Errorf("filter is %v %v, want float32 rank 4", f.DType, f.Shape)
		}
		if f.Shape[0] < 1 || f.Shape[1] < 1 {
			return nil, n.Errorf("filter %v has an empty window", f.Shape)
		}
		op.fshape = f.Shape.Clone()
		k := f.Shape[0] * f.Shape[1] * f.Shape[2]
		kern, fd, oc := gemm.Choose(gemmKernel, f.Shape[3]), f.Float32s(), f.Shape[3]
		if len(fd) != f.Shape.NumElements() {
			return nil, n.Errorf("filter has %d values for shape %v", len(fd), f.Shape)
		}
		if op.wino = newConvWino(&attrs, kern, fd, f.Shape[0], f.Shape[1], f.Shape[2], oc); op.wino != nil {
			op.lazy = &lazyPacked{pack: func() *gemm.PackedB { return gemm.PackBWith(kern, fd, k, oc, oc, false) }}
		} else {
			op.packed = gemm.PackBWith(kern, fd, k, oc, oc, false)
		}
	}
	if !fused {
		if op.fshape != nil {
			op.ep = gemm.NewEpilogue(nil, op.fshape[3], gemm.ActNone, 0)
		}
	} else if b := consts[2]; b != nil && op.fshape != nil {
		bias, err := checkBias(n, b, op.fshape[3])
		if err != nil {
			return nil, n.Errorf("%v", err)
		}
		op.ep = gemm.NewEpilogue(bias, op.fshape[3], op.act, op.alpha)
	}
	return op, nil
}

func (op *conv2D) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	n := op.node
	x, err := checkFloat4D(n, in[0], "input")
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
	if in[0].Shape[3] != ic {
		return nil, n.InputErrorf("input has %d channels, filter %v wants %d", in[0].Shape[3], fshape, ic)
	}
	g := op.attrs.geom(in[0].Shape, kh, kw)
	out := ctx.Output(0, classify.Float32, g.n, g.oh, g.ow, oc)
	y := out.Float32s()
	r := op.runs.Get().(*convRun)
	defer op.runs.Put(r)
	cg := gemm.ConvGeom{N: g.n, H: g.h, W: g.w, C: g.c, KH: kh, KW: kw, SH: g.sh, SW: g.sw, DH: g.dh, DW: g.dw, PT: g.pt, PL: g.pl, OH: g.oh, OW: g.ow}
	wino, err := op.wino.pick(&cg)
	if err != nil {
		return nil, fmt.Errorf("node %q (%s): %w", n.Name, n.Op, err)
	}
	pb := op.packed
	if wino == nil && op.lazy != nil {
		pb = op.lazy.get()
	}
	if pb == nil && wino == nil {
		r.pb.Repack(gemm.Choose(gemmKernel, oc), in[1].Float32s(), kh*kw*ic, oc, oc, false)
		pb = &r.pb
	}
	ep := op.ep
	if ep == nil {
		var bias []float32
		if op.fused {
			if bias, err = checkBias(n, in[2], oc); err != nil {
				return nil, err
			}
		}
		r.ep.Reset(bias, oc, op.act, op.alpha)
		ep = &r.ep
	}
	cv := convolver{pb: pb, wino: wino, oc: oc}
	if op.add {
		return op.runAdd(ctx, in[3], x, &cg, cv, ep)
	}
	if err := cv.conv(ctx.Workers(), x, &cg, y, ep); err != nil {
		return nil, fmt.Errorf("node %q (%s): %w", n.Name, n.Op, err)
	}
	return []*classify.Tensor{out}, nil
}

// runAdd is Run for the residual form: act(conv(x) + bias + r). An addend
// of the output's shape is added in the GEMM's write-back (1x1 stride-1
// convolutions) or in one pass after it; one that broadcasts goes through
// AddV2's kernel.
func (op *conv2D) runAdd(ctx *Ctx, r *classify.Tensor, x []float32, cg *gemm.ConvGeom, cv convolver, ep *gemm.Epilogue) ([]*classify.Tensor, error) {
	n := op.node
	shape := []int{cg.N, cg.OH, cg.OW, cv.oc}
	if r == nil || r.DType != classify.Float32 || len(r.Float32s()) != r.Shape.NumElements() {
		return nil, n.InputErrorf("addend is not a float32 tensor")
	}
	if !r.Shape.Equal(shape) {
		conv := ctx.Output(1, classify.Float32, shape...)
		if err := cv.conv(ctx.Workers(), x, cg, conv.Float32s(), ep); err != nil {
			return nil, fmt.Errorf("node %q (%s): %w", n.Name, n.Op, err)
		}
		sub := ctx.Sub(0, 1)
		res, err := op.addOp.Run(&sub, []*classify.Tensor{conv, r})
		if err != nil {
			return nil, err
		}
		activatePost(res[0].Float32s(), op.post)
		return res[:1], nil
	}
	out := ctx.Output(0, classify.Float32, shape...)
	y, rd := out.Float32s(), r.Float32s()
	if len(y) > 0 && &rd[0] == &y[0] {
		return nil, n.InputErrorf("addend aliases the output")
	}
	var err error
	if cv.wino != nil {
		err = cv.wino.Conv(ctx.Workers(), x, cg, y, ep, rd, op.post)
	} else if pb := cv.pb; cg.KH == 1 && cg.KW == 1 && cg.SH == 1 && cg.SW == 1 && cg.OH == cg.H && cg.OW == cg.W {
		err = gemm.GemmResidual(ctx.Workers(), &gemm.A{M: cg.N * cg.H * cg.W, Data: x, Stride: cg.C}, pb, y, pb.N, ep, rd, op.post)
	} else if err = gemm.Conv(ctx.Workers(), x, cg, pb, y, ep); err == nil {
		for i, v := range rd {
			y[i] += v
		}
		activatePost(y, op.post)
	}
	if err != nil {
		return nil, fmt.Errorf("node %q (%s): %w", n.Name, n.Op, err)
	}
	return []*classify.Tensor{out}, nil
}

// convolver is how one run computes the convolution: as a Winograd
// convolution when wino is set, else as gemm.Conv with the packed filter.
type convolver struct {
	pb   *gemm.PackedB
	wino *gemm.Winograd
	oc   int
}

func (cv convolver) conv(threads int, x []float32, cg *gemm.ConvGeom, y []float32, ep *gemm.Epilogue) error {
	if cv.wino != nil {
		return cv.wino.Conv(threads, x, cg, y, ep, nil, nil)
	}
	return gemm.Conv(threads, x, cg, cv.pb, y, ep)
}

// activatePost applies a residual form's activation.
func activatePost(v []float32, post *gemm.Epilogue) {
	act, alpha := post.Activation()
	activate(v, act, alpha)
}

func (op *conv2D) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	fs := op.fshape
	if fs == nil && len(in) > 1 {
		fs = in[1].Shape
	}
	x := in[0].Shape
	out := classify.Shape{-1, -1, -1, -1}
	if len(fs) == 4 {
		out[3] = fs[3]
	}
	if err := op.attrs.inferNHW(op.node, x, fs, out); err != nil {
		return nil, err
	}
	op.prepareWino(x, fs)
	return []classify.TensorInfo{{DType: classify.Float32, Shape: out}}, nil
}

// prepareWino transforms the Winograd filter at load, when shape inference
// knows the input's height, width and channels: the form a batch of one
// picks is built now, so the first request neither pays the transform
// (about 0.5 s of CPU on ResNet-50) nor allocates its memory. A larger
// batch that picks the other tile size still builds that one on first use.
func (op *conv2D) prepareWino(x, fs classify.Shape) {
	if op.wino == nil || len(x) != 4 || len(fs) != 4 || x[1] < 0 || x[2] < 0 || x[3] != fs[2] {
		return
	}
	g := op.attrs.geom(classify.Shape{1, x[1], x[2], x[3]}, fs[0], fs[1])
	if g.oh <= 0 || g.ow <= 0 {
		return
	}
	cg := gemm.ConvGeom{N: 1, H: g.h, W: g.w, C: g.c, KH: fs[0], KW: fs[1], SH: g.sh, SW: g.sw, DH: g.dh, DW: g.dw, PT: g.pt, PL: g.pl, OH: g.oh, OW: g.ow}
	// An error is kept in the form and reported by the run that picks it.
	_, _ = op.wino.pick(&cg)
}

// inferNHW fills the batch, height and width of the NHWC output shape out
// of a convolution (plain or depthwise) from the input shape x (nil when
// unknown) and the filter shape fs (HWI..., nil when unknown), checking
// that input and filter agree on the input channels.
func (a *convAttrs) inferNHW(n *Node, x, fs, out classify.Shape) error {
	if x == nil {
		return nil
	}
	if len(x) != 4 {
		return n.Errorf("input shape %v, want rank 4", x)
	}
	if len(fs) == 4 && x[3] >= 0 && fs[2] >= 0 && x[3] != fs[2] {
		return n.Errorf("input shape %v and filter %v disagree on channels", x, fs)
	}
	out[0] = x[0]
	if len(fs) == 4 {
		out[1] = a.outDim(x[1], fs[0], a.sh, a.dh, a.explicit[0], a.explicit[1])
		out[2] = a.outDim(x[2], fs[1], a.sw, a.dw, a.explicit[2], a.explicit[3])
	}
	return nil
}

func (op *conv2D) FLOPs(in []classify.Shape) int64 {
	fs := op.fshape
	if fs == nil && len(in) > 1 {
		fs = in[1]
	}
	if len(in) == 0 || len(in[0]) != 4 || len(fs) != 4 {
		return 0
	}
	info, err := op.OutputInfo([]classify.TensorInfo{{Shape: in[0]}, {Shape: fs}})
	if err != nil {
		return 0
	}
	o := info[0].Shape
	for _, d := range o {
		if d < 0 {
			return 0
		}
	}
	f := 2 * int64(o.NumElements()) * int64(fs[0]*fs[1]*fs[2])
	if op.fused {
		f += int64(o.NumElements())
	}
	return f
}
