package gotf

import (
	"math"
	"strconv"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
)

// fusedOp maps the ops whose per-channel affine tail is folded into their
// weights to the fused op TensorFlow's grappler remapper would produce.
var fusedOp = map[string]string{
	"Conv2D":                "_FusedConv2D",
	"DepthwiseConv2dNative": "_FusedDepthwiseConv2dNative",
	"MatMul":                "_FusedMatMul",
}

// fusedActivations are the activations the fused kernels apply in place.
var fusedActivations = map[string]bool{"Relu": true, "Relu6": true, "Elu": true, "LeakyRelu": true}

// fuser holds the use counts fusion needs: a node can be absorbed only when
// its single user is the next link of the chain.
type fuser struct {
	g         *graph
	users     map[*node][]*node // data consumers, one entry per input edge
	blocked   map[*node]bool    // requested outputs and control-input targets
	highUsers map[*node]int     // edges reading an output other than 0
}

// fuse first folds zero padding into convolutions (absorbPad), then rewrites every Conv2D, DepthwiseConv2dNative or MatMul with a
// constant filter whose result flows only through per-channel Mul / Add /
// AddV2 / BiasAdd / Sub by constants or an inference FusedBatchNorm with
// constant parameters (in any order, possibly none), then optionally an
// activation (at least one of the two), into one fused node: the scales are folded into the filter,
// the shifts into one bias. The fused node takes the name of the chain's
// last node so consumers and requested outputs still find it. It runs on a
// folded, ordered graph and returns the number of rewrites; the caller
// re-orders the graph afterwards.
func (g *graph) fuse(outputs []ref) int {
	f := newFuser(g, outputs)
	count := 0
	for _, n := range g.nodes {
		if f.absorbPad(n) {
			count++
		}
	}
	for _, n := range append([]*node(nil), g.nodes...) {
		if f.fuseFrom(n) {
			count++
		}
	}
	for _, n := range append([]*node(nil), g.nodes...) {
		if f.fuseAdd(n) {
			count++
		}
	}
	// The rewrites above changed who reads what, and left the nodes they
	// absorbed in the graph: drop those and count again.
	if err := g.order(outputs); err != nil {
		return count
	}
	f = newFuser(g, outputs)
	for _, n := range append([]*node(nil), g.nodes...) {
		if f.fuseInvRes(n) {
			count++
		}
	}
	return count
}

// newFuser counts the users of every node of g.
func newFuser(g *graph, outputs []ref) *fuser {
	f := &fuser{g: g, users: map[*node][]*node{}, blocked: map[*node]bool{}, highUsers: map[*node]int{}}
	for _, r := range outputs {
		f.blocked[r.n] = true
		if r.idx != 0 {
			f.highUsers[r.n]++ // a requested statistic of a FusedBatchNorm
		}
	}
	for _, n := range g.nodes {
		for _, r := range deps(n) {
			f.users[r.n] = append(f.users[r.n], n)
			if r.idx != 0 {
				f.highUsers[r.n]++
			}
		}
		for _, c := range n.ctrl {
			f.blocked[c] = true
		}
	}
	return f
}

// fuseInvRes rewrites MobileNet v2's inverted residual block, a 1x1
// _FusedConv2D (expand) feeding only a 3x3 _FusedDepthwiseConv2dNative
// feeding only the 1x1 _FusedConv2D n (project, with or without its
// residual Add), into one ops.InvertedResidual node that takes n's name.
// The block's kernel builder decides what it can compute: a chain it
// refuses is left as it is.
func (f *fuser) fuseInvRes(n *node) bool {
	if n.op != "_FusedConv2D" || (len(n.in) != 3 && len(n.in) != 4) || !isFloat(n) || !nhwc(n) || n.in[0].idx != 0 {
		return false
	}
	d := n.in[0].n
	if d.op != "_FusedDepthwiseConv2dNative" || len(d.in) != 3 || !isFloat(d) || !nhwc(d) || d.in[0].idx != 0 {
		return false
	}
	if c, ok := f.sole(d); !ok || c != n {
		return false
	}
	e := d.in[0].n
	if e.op != "_FusedConv2D" || len(e.in) != 3 || !isFloat(e) || !nhwc(e) {
		return false
	}
	if c, ok := f.sole(e); !ok || c != d {
		return false
	}
	in := []ref{e.in[0], e.in[1], e.in[2], d.in[1], d.in[2], n.in[1], n.in[2]}
	consts := []*classify.Tensor{nil}
	for _, r := range in[1:] {
		if !r.n.isConst() || r.idx >= len(r.n.value) {
			return false
		}
		consts = append(consts, r.n.value[r.idx])
	}
	if len(n.in) == 4 {
		in = append(in, n.in[3])
		consts = append(consts, nil)
	}
	attr := map[string]*apb.AttrValue{}
	for prefix, m := range map[string]*node{"e:": e, "d:": d, "p:": n} {
		for k, v := range m.attr {
			attr[prefix+k] = v
		}
	}
	b, ok := ops.Lookup(ops.InvertedResidual)
	if !ok {
		return false
	}
	if _, err := build(&node{name: n.name, op: ops.InvertedResidual, attr: attr, in: in}, b, consts); err != nil {
		return false
	}
	n.op, n.attr, n.in = ops.InvertedResidual, attr, in
	n.ctrl = append(append(append([]*node(nil), n.ctrl...), d.ctrl...), e.ctrl...)
	return true
}

// fuseAdd extends a _FusedConv2D without activation whose only consumer is
// an Add/AddV2 of another tensor (ResNet's shortcut), and that Add's
// activation if it has one, to grappler's BiasAdd,Add[,activation] form:
// the addend is summed in the convolution's write-back instead of two more
// passes over the activation.
func (f *fuser) fuseAdd(n *node) bool {
	if n.op != "_FusedConv2D" || len(n.in) != 3 {
		return false
	}
	if ops := n.attr["fused_ops"].GetList().GetS(); len(ops) != 1 || string(ops[0]) != "BiasAdd" {
		return false
	}
	add, ok := f.sole(n)
	if !ok || (add.op != "Add" && add.op != "AddV2") || !isFloat(add) || f.highUsers[add] > 0 {
		return false
	}
	o, ok := other(add, n)
	if !ok || o.n.isConst() {
		return false
	}
	if !pointwise(n) && pointwise(o.n) && o.idx == 0 {
		// Both sides are convolutions (ResNet's projection shortcut):
		// leave the Add to the 1x1 stride-1 one, whose residual is summed
		// in the GEMM's write-back; a strided or spatial convolution takes
		// it in a separate serial pass. The loop reaches o.n too.
		if c, ok := f.sole(o.n); ok && c == add && o.n.op == "_FusedConv2D" && len(o.n.in) == 3 {
			if ops := o.n.attr["fused_ops"].GetList().GetS(); len(ops) == 1 && string(ops[0]) == "BiasAdd" {
				return false
			}
		}
	}
	last, act := add, (*node)(nil)
	if next, ok := f.sole(add); ok && fusedActivations[next.op] && isFloat(next) && len(next.in) == 1 && next.in[0].n == add && next.in[0].idx == 0 {
		last, act = next, next
	}
	attr := merge(n.attr, nil)
	fusedOps := []string{"BiasAdd", "Add"}
	if act != nil {
		fusedOps = append(fusedOps, act.op)
		if act.op == "LeakyRelu" {
			attr["leakyrelu_alpha"] = act.attr["alpha"]
		}
	}
	attr["fused_ops"] = strs(fusedOps...)
	attr["num_args"] = integer(2)
	ctrl := append(append([]*node(nil), n.ctrl...), add.ctrl...)
	if act != nil {
		ctrl = append(ctrl, act.ctrl...)
	}
	in := []ref{n.in[0], n.in[1], n.in[2], o}
	last.op = "_FusedConv2D"
	last.attr = withDefaults("_FusedConv2D", attr)
	last.in = in
	last.ctrl = ctrl
	return true
}

// pointwise reports whether n is a 1x1, stride-1 convolution without
// explicit padding: one whose output has its input's pixels.
func pointwise(n *node) bool {
	if len(n.in) < 2 || !n.in[1].n.isConst() || n.in[1].idx >= len(n.in[1].n.value) {
		return false
	}
	if f := n.in[1].n.value[n.in[1].idx].Shape; len(f) != 4 || f[0] != 1 || f[1] != 1 {
		return false
	}
	if string(n.attr["padding"].GetS()) == "EXPLICIT" {
		return false
	}
	for _, s := range n.attr["strides"].GetList().GetI() {
		if s != 1 {
			return false
		}
	}
	return true
}

// absorbPad folds a zero Pad of the spatial dimensions that only feeds a
// VALID or EXPLICIT convolution into the convolution's explicit padding
// (Keras' ZeroPadding2D before a strided convolution), saving a copy of
// the activation.
func (f *fuser) absorbPad(n *node) bool {
	if (n.op != "Conv2D" && n.op != "DepthwiseConv2dNative") || len(n.in) != 2 || n.in[0].idx != 0 || !nhwc(n) {
		return false
	}
	padding := string(n.attr["padding"].GetS())
	if padding != "VALID" && padding != "EXPLICIT" {
		return false
	}
	p := n.in[0].n
	if (p.op != "Pad" && p.op != "PadV2") || len(p.in) < 2 || p.feed || p.isConst() {
		return false
	}
	if next, ok := f.sole(p); !ok || next != n {
		return false
	}
	if p.op == "PadV2" {
		if len(p.in) != 3 {
			return false
		}
		v, ok := constVec(p.in[2], 1, 0)
		if !ok || v[0] != 0 {
			return false
		}
	}
	pads := constInts(p.in[1])
	if len(pads) != 8 || pads[0] != 0 || pads[1] != 0 || pads[6] != 0 || pads[7] != 0 {
		return false
	}
	explicit := make([]int64, 8)
	if padding == "EXPLICIT" {
		old := n.attr["explicit_paddings"].GetList().GetI()
		if len(old) != 8 {
			return false
		}
		copy(explicit, old)
	}
	for i := 2; i < 6; i++ {
		if pads[i] < 0 {
			return false
		}
		explicit[i] += pads[i]
	}
	attr := merge(n.attr, nil)
	attr["padding"] = str("EXPLICIT")
	attr["explicit_paddings"] = ints(explicit...)
	n.attr = attr
	n.in[0] = p.in[0]
	return true
}

// constInts returns an int32 or int64 constant's values, nil otherwise.
func constInts(r ref) []int64 {
	if !r.n.isConst() || r.idx >= len(r.n.value) {
		return nil
	}
	switch d := r.n.value[r.idx].Data.(type) {
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out
	case []int64:
		return d
	}
	return nil
}

// sole returns the only consumer of output 0 of n, if n may be absorbed.
func (f *fuser) sole(n *node) (*node, bool) {
	if f.blocked[n] || f.highUsers[n] > 0 || len(f.users[n]) != 1 {
		return nil, false
	}
	return f.users[n][0], true
}

func isFloat(n *node) bool {
	a, ok := n.attr["T"]
	return !ok || a.GetType() == tpb.DataType_DT_FLOAT
}

func nhwc(n *node) bool {
	a, ok := n.attr["data_format"]
	return !ok || string(a.GetS()) == "NHWC"
}

// constVec returns r's constant value as a per-channel vector of length c
// when it broadcasts along the last axis of a rank-rank result without
// changing its shape (a scalar, [c], [1,...,1,c] or [1,...,1]).
func constVec(r ref, c, rank int) ([]float64, bool) {
	if !r.n.isConst() || r.idx >= len(r.n.value) {
		return nil, false
	}
	t := r.n.value[r.idx]
	d := t.Float32s()
	if d == nil || len(t.Shape) > rank {
		return nil, false
	}
	for i, s := range t.Shape {
		if s != 1 && !(i == len(t.Shape)-1 && s == c) {
			return nil, false
		}
	}
	v := make([]float64, c)
	for i := range v {
		if len(d) == 1 {
			v[i] = float64(d[0])
		} else {
			v[i] = float64(d[i])
		}
	}
	return v, true
}

// other returns the input of c that is not output 0 of cur, requiring
// exactly one of c's two inputs to be cur.
func other(c, cur *node) (ref, bool) {
	if len(c.in) != 2 {
		return ref{}, false
	}
	a, b := c.in[0], c.in[1]
	switch {
	case a.n == cur && a.idx == 0 && b.n != cur:
		return b, true
	case b.n == cur && b.idx == 0 && a.n != cur:
		return a, true
	}
	return ref{}, false
}

func (f *fuser) fuseFrom(n *node) bool {
	fused, ok := fusedOp[n.op]
	if !ok || len(n.in) != 2 || n.in[0].n.isConst() || !n.in[1].n.isConst() || !isFloat(n) {
		return false
	}
	if _, ok := ops.Lookup(fused); !ok {
		return false
	}
	w := n.in[1].n.value[n.in[1].idx]
	if w.Float32s() == nil {
		return false
	}
	// channels, rank of the result, and how a filter element maps to its
	// output channel.
	var c, rank int
	var chanOf func(i int) int
	switch n.op {
	case "Conv2D", "DepthwiseConv2dNative":
		if len(w.Shape) != 4 || !nhwc(n) {
			return false
		}
		c, rank = w.Shape[3], 4
		if n.op == "DepthwiseConv2dNative" {
			// [kh,kw,in,mult]: output channel i*mult+m is the flat index of
			// the last two dimensions.
			c = w.Shape[2] * w.Shape[3]
		}
		chanOf = func(i int) int { return i % c }
	case "MatMul":
		if len(w.Shape) != 2 {
			return false
		}
		rank = 2
		if n.attr["transpose_b"].GetB() {
			c = w.Shape[0]
			k := w.Shape[1]
			chanOf = func(i int) int { return i / k }
		} else {
			c = w.Shape[1]
			chanOf = func(i int) int { return i % c }
		}
	}
	if c == 0 {
		return false
	}
	scale := make([]float64, c)
	bias := make([]float64, c)
	for i := range scale {
		scale[i] = 1
	}
	cur := n
	var chain []*node
	var act *node
	for {
		next, ok := f.sole(cur)
		if !ok || !isFloat(next) || f.highUsers[next] > 0 {
			break
		}
		if fusedActivations[next.op] {
			if len(next.in) == 1 && next.in[0].n == cur && next.in[0].idx == 0 {
				act = next
			}
			break
		}
		if !affine(next, cur, c, rank, scale, bias) {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	// A bare activation fuses too, with a zero bias: adding it costs far
	// less than a separate pass over the activation.
	if len(chain) == 0 && act == nil {
		return false
	}
	last := act
	if act == nil {
		last = chain[len(chain)-1]
	}

	wd := w.Float32s()
	nw := classify.NewTensor(classify.Float32, w.Shape...)
	for i, x := range wd {
		nw.Float32s()[i] = float32(float64(x) * scale[chanOf(i)])
	}
	nb := classify.NewTensor(classify.Float32, c)
	for i, x := range bias {
		nb.Float32s()[i] = float32(x)
	}
	wn := f.g.addConst(n.name+"/fused_filter", nw)
	bn := f.g.addConst(n.name+"/fused_bias", nb)

	attr := merge(n.attr, nil)
	fusedOps := []string{"BiasAdd"}
	if act != nil {
		fusedOps = append(fusedOps, act.op)
		if act.op == "LeakyRelu" {
			attr["leakyrelu_alpha"] = act.attr["alpha"]
		}
	}
	attr["fused_ops"] = strs(fusedOps...)
	attr["num_args"] = integer(1)
	ctrl := append([]*node(nil), n.ctrl...)
	for _, m := range chain {
		ctrl = append(ctrl, m.ctrl...)
	}
	if act != nil {
		ctrl = append(ctrl, act.ctrl...)
	}
	last.op = fused
	last.attr = withDefaults(fused, attr)
	last.in = []ref{n.in[0], {wn, 0}, {bn, 0}}
	last.ctrl = ctrl
	return true
}

// affine folds the per-channel affine map of next (which reads output 0 of
// cur) into out = conv*scale + bias, reporting whether it could.
func affine(next, cur *node, c, rank int, scale, bias []float64) bool {
	switch next.op {
	case "Mul", "Add", "AddV2":
		o, ok := other(next, cur)
		if !ok {
			return false
		}
		v, ok := constVec(o, c, rank)
		if !ok {
			return false
		}
		for i := range v {
			if next.op == "Mul" {
				scale[i] *= v[i]
				bias[i] *= v[i]
			} else {
				bias[i] += v[i]
			}
		}
	case "Sub", "BiasAdd":
		if len(next.in) != 2 || next.in[0].n != cur || next.in[0].idx != 0 || next.in[1].n == cur || !nhwc(next) {
			return false
		}
		v, ok := constVec(next.in[1], c, rank)
		if !ok || (next.op == "BiasAdd" && len(next.in[1].n.value[next.in[1].idx].Shape) != 1) {
			return false
		}
		for i := range v {
			if next.op == "Sub" {
				bias[i] -= v[i]
			} else {
				bias[i] += v[i]
			}
		}
	case "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3":
		if len(next.in) < 5 || next.in[0].n != cur || next.in[0].idx != 0 || next.attr["is_training"].GetB() || !nhwc(next) {
			return false
		}
		var p [4][]float64 // scale, offset, mean, variance
		for i := range p {
			r := next.in[1+i]
			if !r.n.isConst() || r.idx >= len(r.n.value) || len(r.n.value[r.idx].Shape) != 1 {
				return false
			}
			v, ok := constVec(r, c, 1)
			if !ok || r.n.value[r.idx].Shape[0] != c {
				return false
			}
			p[i] = v
		}
		eps := float64(next.attr["epsilon"].GetF())
		for i := 0; i < c; i++ {
			k := p[0][i] / math.Sqrt(p[3][i]+eps)
			scale[i] *= k
			bias[i] = (bias[i]-p[2][i])*k + p[1][i]
		}
	default:
		return false
	}
	return true
}

// addConst adds a constant node under a name no other node has.
func (g *graph) addConst(name string, t *classify.Tensor) *node {
	base := name
	for i := 1; g.byName[name] != nil; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	n := &node{name: name, op: "Const", value: []*classify.Tensor{t}, attr: map[string]*apb.AttrValue{"dtype": typ(tpb.DataType_DT_FLOAT)}}
	g.byName[name] = n
	g.nodes = append(g.nodes, n)
	return n
}
