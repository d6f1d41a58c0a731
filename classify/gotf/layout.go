package gotf

import (
	"slices"
	"strconv"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	tpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"

	"github.com/classifyd/classifyd/classify"
)

// The kernels compute channels-last only. toNHWC rewrites every node with
// data_format NCHW (NCDHW) into Transpose → the same op in NHWC (NDHWC) →
// Transpose back, then removes back-to-back inverse transposes (also across
// single-use element-wise ops), so a chain of channels-first layers converts
// only at its edges and fusion still sees Conv2D → BiasAdd → Relu.

// channelsFirst maps an op type to the list attributes indexed by dimension
// (permuted with the layout) and whether explicit_paddings applies.
var channelsFirst = map[string]struct {
	dims     []string
	explicit bool
}{
	"Conv2D":                {[]string{"strides", "dilations"}, true},
	"DepthwiseConv2dNative": {[]string{"strides", "dilations"}, true},
	"Conv3D":                {[]string{"strides", "dilations"}, false},
	"MaxPool":               {[]string{"ksize", "strides"}, false},
	"AvgPool":               {[]string{"ksize", "strides"}, false},
	"MaxPool3D":             {[]string{"ksize", "strides"}, false},
	"AvgPool3D":             {[]string{"ksize", "strides"}, false},
	"FusedBatchNorm":        {nil, false},
	"FusedBatchNormV2":      {nil, false},
	"FusedBatchNormV3":      {nil, false},
	"BiasAdd":               {nil, false},
}

// sameRank are single-input ops whose output has the rank of their input
// and that commute with a transpose (they act element by element).
var sameRank = map[string]bool{
	"Relu": true, "Relu6": true, "Elu": true, "Selu": true, "LeakyRelu": true,
	"Sigmoid": true, "Tanh": true, "Softplus": true, "Softsign": true,
	"Identity": true, "Neg": true, "Abs": true, "Square": true, "Sqrt": true,
	"Rsqrt": true, "Exp": true, "Log": true, "Floor": true, "Ceil": true,
	"Round": true, "Sign": true, "Reciprocal": true, "Erf": true, "StopGradient": true,
}

// toLast returns the permutation moving axis 1 to the end of a rank-r
// tensor; fromLast its inverse.
func toLast(r int) []int64 {
	p := []int64{0}
	for i := 2; i < r; i++ {
		p = append(p, int64(i))
	}
	return append(p, 1)
}

func fromLast(r int) []int64 {
	p := []int64{0, int64(r - 1)}
	for i := 1; i < r-1; i++ {
		p = append(p, int64(i))
	}
	return p
}

// layoutRank is the rank a channels-first node's data input has, or 0 when
// the node is not channels-first or the rank is not known at load time.
func (g *graph) layoutRank(n *node, known map[*node]int) int {
	spec, ok := channelsFirst[n.op]
	if !ok || n.feed || n.isConst() || len(n.in) == 0 {
		return 0
	}
	_ = spec
	switch string(n.attr["data_format"].GetS()) {
	case "NCHW":
		if n.op == "BiasAdd" {
			return rankOf(n.in[0], known, 0)
		}
		if n.op == "Conv3D" || n.op == "MaxPool3D" || n.op == "AvgPool3D" {
			return 0
		}
		return 4
	case "NCDHW":
		switch n.op {
		case "Conv3D", "MaxPool3D", "AvgPool3D", "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3":
			return 5
		}
	}
	return 0
}

// rankOf is the static rank of r's tensor when the loader can tell, else 0
// (BiasAdd needs it to build its transposes).
func rankOf(r ref, known map[*node]int, depth int) int {
	n := r.n
	if depth > 64 {
		return 0
	}
	if k, ok := known[n]; ok && r.idx == 0 {
		return k
	}
	if s, ok := constShape(r); ok {
		return len(s)
	}
	if l := n.attr["_output_shapes"].GetList().GetShape(); r.idx < len(l) && !l[r.idx].GetUnknownRank() {
		if d := len(l[r.idx].GetDim()); d > 0 {
			return d
		}
	}
	if n.op == "Placeholder" || n.op == "PlaceholderWithDefault" {
		if s := n.attr["shape"].GetShape(); s != nil && !s.GetUnknownRank() {
			return len(s.GetDim())
		}
		if n.op == "Placeholder" {
			return 0
		}
	}
	if r.idx == 0 && len(n.in) >= 1 && (sameRank[n.op] || n.op == "BiasAdd" || n.op == "BiasAddV1") {
		return rankOf(n.in[0], known, depth+1)
	}
	if r.idx == 0 && len(n.in) == 2 && pushBinary[n.op] {
		// Broadcasting: the larger rank, when both are known.
		a, b := rankOf(n.in[0], known, depth+1), rankOf(n.in[1], known, depth+1)
		if a > 0 && b > 0 {
			return max(a, b)
		}
	}
	return 0
}

// unique returns name, or name with a suffix when a node already has it.
func (g *graph) unique(name string) string {
	base := name
	for i := 1; g.byName[name] != nil; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	return name
}

// transposeNode adds Transpose(x, perm) under a fresh name.
func (g *graph) transposeNode(name string, x ref, perm []int64, t *apb.AttrValue) *node {
	p := classify.NewTensor(classify.Int32, len(perm))
	for i, v := range perm {
		p.Int32s()[i] = int32(v)
	}
	pn := &node{name: g.unique(name + "/perm"), op: "Const", value: []*classify.Tensor{p}, attr: map[string]*apb.AttrValue{"dtype": typ(tpb.DataType_DT_INT32)}}
	g.byName[pn.name] = pn
	g.nodes = append(g.nodes, pn)
	n := &node{name: g.unique(name), op: "Transpose", in: []ref{x, {pn, 0}}, attr: transposeAttr(t)}
	g.byName[n.name] = n
	g.nodes = append(g.nodes, n)
	return n
}

func transposeAttr(t *apb.AttrValue) map[string]*apb.AttrValue {
	a := map[string]*apb.AttrValue{"Tperm": typ(tpb.DataType_DT_INT32)}
	if t != nil {
		a["T"] = t
	}
	return a
}

// permuted reorders a per-dimension list attribute from channels-first to
// channels-last; stride pairs when pairs is set (explicit_paddings).
func permuted(a *apb.AttrValue, perm []int64, pairs bool) (*apb.AttrValue, bool) {
	v := a.GetList().GetI()
	w := 1
	if pairs {
		w = 2
	}
	if len(v) != w*len(perm) {
		return a, len(v) == 0
	}
	out := make([]int64, 0, len(v))
	for _, p := range perm {
		out = append(out, v[int(p)*w:int(p)*w+w]...)
	}
	return ints(out...), true
}

// toNHWC converts the channels-first nodes of an ordered graph, then
// re-orders it. Nodes whose layout it cannot convert are left for their
// kernels to reject by name.
func (g *graph) toNHWC(outputs []ref) error {
	known := map[*node]int{}
	converted := 0
	for _, n := range append([]*node(nil), g.nodes...) {
		r := g.layoutRank(n, known)
		if r < 3 {
			continue
		}
		if g.convertLayout(n, r, outputs) {
			known[n] = r
			converted++
		}
	}
	if converted == 0 {
		return nil
	}
	g.cancelTransposes(outputs)
	return g.order(outputs)
}

// convertLayout rewrites n in place into the Transpose back to channels
// first, reading a new channels-last node (n.name+"/nhwc") that reads a
// Transpose of n's data input. n keeps its name and identity, so consumers,
// control edges and requested outputs still find output 0; consumers of the
// other outputs (FusedBatchNorm's per-channel statistics, which have no
// layout) are pointed at the new node; a node with such an output
// requested by name is left alone.
func (g *graph) convertLayout(n *node, r int, outputs []ref) bool {
	spec := channelsFirst[n.op]
	for _, x := range outputs {
		if x.n == n && x.idx > 0 {
			// A requested statistic must keep its name: leave the node
			// to its kernel, which reads NCHW (FusedBatchNorm does).
			return false
		}
	}
	last, back := toLast(r), fromLast(r)
	attr := merge(n.attr, nil)
	for _, k := range spec.dims {
		if a, ok := attr[k]; ok {
			p, ok := permuted(a, last, false)
			if !ok {
				return false // a wrong length: the kernel's error names it
			}
			attr[k] = p
		}
	}
	if spec.explicit {
		if a, ok := attr["explicit_paddings"]; ok {
			p, ok := permuted(a, last, true)
			if !ok {
				return false
			}
			attr["explicit_paddings"] = p
		}
	}
	if r == 5 {
		attr["data_format"] = str("NDHWC")
	} else {
		attr["data_format"] = str("NHWC")
	}
	t := n.attr["T"]
	in := g.transposeNode(n.name+"/to_nhwc", n.in[0], last, t)
	inner := &node{name: g.unique(n.name + "/nhwc"), op: n.op, attr: attr, ctrl: n.ctrl,
		in: append([]ref{{in, 0}}, n.in[1:]...)}
	g.byName[inner.name] = inner
	g.nodes = append(g.nodes, inner)
	for _, m := range g.nodes {
		for i, x := range m.in {
			if x.n == n && x.idx > 0 {
				m.in[i] = ref{inner, x.idx}
			}
		}
	}
	pn := g.transposeNode(n.name+"/to_nchw", ref{inner, 0}, back, t)
	// n itself becomes that transpose; the helper node is emptied into it.
	n.op, n.attr, n.in, n.ctrl = "Transpose", pn.attr, pn.in, nil
	delete(g.byName, pn.name)
	for i, m := range g.nodes {
		if m == pn {
			g.nodes = append(g.nodes[:i], g.nodes[i+1:]...)
			break
		}
	}
	return true
}

// constPerm returns a Transpose node's constant permutation.
func constPerm(n *node) []int64 {
	if n.op != "Transpose" || len(n.in) != 2 || n.feed || n.isConst() || len(n.ctrl) > 0 {
		return nil
	}
	return constInts(n.in[1])
}

// inverse reports whether transposing by p then by q is the identity.
func inverse(p, q []int64) bool {
	if len(p) != len(q) || len(p) == 0 {
		return false
	}
	for i, v := range q {
		if v < 0 || int(v) >= len(p) || p[v] != int64(i) {
			return false
		}
	}
	return true
}

// cancelTransposes removes back-to-back inverse transposes: a consumer of
// Transpose(Transpose(x, p), q) with q∘p the identity reads x instead. A
// single-use element-wise op between them (T(U(T⁻¹(x)))) is moved to act
// on x: the outer transpose node becomes U(x). Element-wise ops whose
// inputs are all the same transpose (a residual Add of two channels-first
// branches) run before it instead (pushTranspose), so the transposes meet
// and cancel further on. Requested outputs and control-edge targets keep
// their own values.
func (g *graph) cancelTransposes(outputs []ref) {
	keep := map[*node]bool{}
	for _, r := range outputs {
		keep[r.n] = true
	}
	for _, n := range g.nodes {
		for _, c := range n.ctrl {
			keep[c] = true
		}
	}
	// Each sweep removes or moves transposes towards the outputs; the cap
	// is a safety net only.
	for changed, sweeps := true, 0; changed && sweeps < 4*len(g.nodes)+8; sweeps++ {
		changed = false
		// Count users among live nodes only: a cancelled transpose must
		// not keep its input looking shared.
		if g.order(outputs) != nil {
			return
		}
		users := map[*node]int{}
		for _, n := range g.nodes {
			for _, r := range deps(n) {
				users[r.n]++
			}
		}
		for _, n := range append([]*node(nil), g.nodes...) {
			if g.pushTranspose(n, users, keep) {
				changed = true
			}
		}
		for _, n := range g.nodes {
			// Sink: n = T(U(T⁻¹(x))) becomes U(x).
			q := constPerm(n)
			if q == nil || n.in[0].idx != 0 {
				continue
			}
			u := n.in[0].n
			if !sameRank[u.op] || len(u.in) != 1 || u.in[0].idx != 0 || u.feed || u.isConst() || len(u.ctrl) > 0 || keep[u] || users[u] != 1 {
				continue
			}
			if p := constPerm(u.in[0].n); p != nil && inverse(p, q) {
				n.op, n.attr, n.in = u.op, u.attr, []ref{u.in[0].n.in[0]}
				changed = true
			}
		}
		for _, n := range g.nodes {
			for i, r := range n.in {
				q := constPerm(r.n)
				if q == nil || r.idx != 0 || r.n.in[0].idx != 0 {
					continue
				}
				if p := constPerm(r.n.in[0].n); p != nil && inverse(p, q) {
					n.in[i] = r.n.in[0].n.in[0]
					changed = true
				}
			}
		}
	}
}

// pushBinary are the broadcasting element-wise ops a transpose moves
// through when every input is transposed alike (or a one-element constant).
var pushBinary = map[string]bool{
	"Add": true, "AddV2": true, "Sub": true, "Mul": true, "RealDiv": true, "Div": true,
	"Maximum": true, "Minimum": true, "SquaredDifference": true,
}

// pushTranspose rewrites E(T(a, p), T(b, p), ...) into T(E(a, b, ...), p)
// in place (n keeps its name), when each transposed input feeds only n.
// It never adds a transpose: the inputs' ones become dead.
func (g *graph) pushTranspose(n *node, users map[*node]int, keep map[*node]bool) bool {
	if !(sameRank[n.op] || pushBinary[n.op]) || n.feed || n.isConst() || len(n.ctrl) > 0 || len(n.in) == 0 || len(n.in) > 2 {
		return false
	}
	var perm []int64
	var permRef ref
	in := make([]ref, len(n.in))
	for i, r := range n.in {
		if s, ok := constShape(r); ok && s.NumElements() == 1 && len(s) <= 1 {
			in[i] = r
			continue
		}
		q := constPerm(r.n)
		if q == nil || r.idx != 0 || users[r.n] != 1 || keep[r.n] || (perm != nil && !slices.Equal(perm, q)) {
			return false
		}
		perm, permRef, in[i] = q, r.n.in[1], r.n.in[0]
	}
	if perm == nil {
		return false
	}
	inner := &node{name: g.unique(n.name + "/nhwc"), op: n.op, attr: n.attr, in: in}
	g.byName[inner.name] = inner
	g.nodes = append(g.nodes, inner)
	n.op, n.attr, n.in = "Transpose", transposeAttr(n.attr["T"]), []ref{{inner, 0}, permRef}
	return true
}

// constShape is the shape of a constant, folded or still a Const node
// (whose value the fold pass decodes later).
func constShape(r ref) (classify.Shape, bool) {
	n := r.n
	if n.isConst() {
		if r.idx < len(n.value) {
			return n.value[r.idx].Shape, true
		}
		return nil, false
	}
	if n.op != "Const" || r.idx != 0 || n.feed {
		return nil, false
	}
	t := n.attr["value"].GetTensor()
	if t == nil || t.GetTensorShape().GetUnknownRank() {
		return nil, false
	}
	var s classify.Shape
	for _, d := range t.GetTensorShape().GetDim() {
		if d.GetSize() < 0 {
			return nil, false
		}
		s = append(s, int(d.GetSize()))
	}
	return s, true
}
