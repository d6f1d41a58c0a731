package gotf

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"
	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/savedmodel"
)

// DefaultSignature is the signature a SavedModel serves when none is named.
const DefaultSignature = "serving_default"

// initSignature is the signature TF2 writes for its init op; it is run at
// load, never served.
const initSignature = "__saved_model_init_op"

// SavedModel is a SavedModel directory loaded for serving: one compiled
// model per signature over shared variable storage. As a classify.Model it
// serves one signature (chosen at open), fed and fetched by the
// signature's input and output keys; RunSignature serves any of them.
//
// Variables that no signature writes are constants of the compiled graphs,
// so folding and fusion apply to them. When a signature writes a variable
// (TF Serving's counter model), every Run of the model is serialised, as
// one TensorFlow session would order them. Otherwise Runs are concurrent.
type SavedModel struct {
	sm       *savedmodel.SavedModel
	version  int64 // of the version folder below a base path; -1 without one
	vars     *ops.Variables
	writes   bool
	mu       sync.Mutex
	sigs     map[string]*signatureModel
	selected string
	// byTensors: no signature; sigs[""] runs the graph by tensor names.
	byTensors bool
	closed    atomic.Bool
}

var _ classify.Model = (*SavedModel)(nil)

type signatureModel struct {
	sig   *savedmodel.Signature
	model *Model
	err   error // why the signature could not be loaded
}

// SavedModelOptions tune OpenSavedModel.
type SavedModelOptions struct {
	// Tags select the MetaGraphDef; empty means "serve".
	Tags []string
	// Signature is the signature the classify.Model methods serve;
	// empty means serving_default, or the only signature there is.
	Signature string
	// Threads caps the goroutines one Run may use; 0 means GOMAXPROCS.
	Threads int
	// Inputs and Outputs name graph tensors ("x", "y:0") to feed and fetch
	// when the SavedModel has no signature to serve (some TF1 exports):
	// the model is then run by these names, as a frozen graph is. They are
	// ignored when it has signatures.
	Inputs, Outputs []string
}

// OpenSavedModel loads a SavedModel directory, or the newest version below a
// TensorFlow Serving base path. It inlines the function library (TF2),
// binds variables to the checkpoint (both through the saver's restore ops),
// binds asset tensors to their files, runs the init ops once, and compiles
// every signature. A signature that cannot be compiled fails the load only
// if it is the selected one; the others report their error when run.
func OpenSavedModel(ctx context.Context, dir string, opts SavedModelOptions) (m *SavedModel, err error) {
	// The rewriting walks untrusted protos; a bug there must not take the
	// server down.
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("load %s: %w: loader panicked: %v", dir, classify.ErrInvalidGraph, r)
		}
	}()
	m, err = openSavedModel(ctx, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return m, nil
}

// prepared is a SavedModel rewritten into one flat GraphDef whose variables
// live in vars, with the init ops already run.
type prepared struct {
	sm      *savedmodel.SavedModel
	version int64
	gd      *gpb.GraphDef
	vars    *ops.Variables
	tables  *ops.Tables
	kernels map[string]ops.Builder
}

func prepare(ctx context.Context, dir string, tags []string, threads int) (*prepared, error) {
	real, version, err := savedmodel.Resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", classify.ErrInvalidGraph, err)
	}
	sm, err := savedmodel.Open(real, tags...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", classify.ErrInvalidGraph, err)
	}
	mg := sm.MetaGraph
	gd, err := flatten(mg.GetGraphDef(), mg.GetMetaInfoDef().GetStrippedOpList())
	if err != nil {
		return nil, err
	}
	b, err := bindVariables(gd)
	if err != nil {
		return nil, err
	}
	if err := bindAssets(gd, sm.Assets); err != nil {
		return nil, err
	}
	p := &prepared{sm: sm, version: version, gd: gd, vars: ops.NewVariables()}
	for v, key := range b.keys {
		if sm.Variables == nil {
			return nil, fmt.Errorf("%w: variable %q is restored from %q but the SavedModel has no variables/", classify.ErrInvalidGraph, v, key)
		}
		t, err := sm.Variables.Tensor(key)
		if err != nil {
			return nil, fmt.Errorf("%w: variable %q: %w", classify.ErrInvalidGraph, v, err)
		}
		p.vars.Set(v, t)
	}
	restored, err := bindTables(gd, sm.Variables)
	if err != nil {
		return nil, err
	}
	p.kernels = p.vars.Builders()
	for op, b := range p.vars.HandleBuilders() {
		p.kernels[op] = b
	}
	p.tables = ops.NewTables()
	for op, b := range p.tables.Builders() {
		p.kernels[op] = b
	}
	if err := runInit(ctx, sm, gd, p.kernels, threads, restored); err != nil {
		return nil, err
	}
	return p, nil
}

func openSavedModel(ctx context.Context, dir string, opts SavedModelOptions) (*SavedModel, error) {
	p, err := prepare(ctx, dir, opts.Tags, opts.Threads)
	if err != nil {
		return nil, err
	}
	sm, gd, kernels := p.sm, p.gd, p.kernels
	m := &SavedModel{sm: sm, version: p.version, vars: p.vars, sigs: map[string]*signatureModel{}}
	var outputs []string
	for key, s := range sm.Signatures {
		if key == initSignature {
			continue
		}
		for _, o := range s.Outputs {
			outputs = append(outputs, o.Name)
		}
	}
	if len(outputs) == 0 && opts.Signature == "" {
		return openByTensors(ctx, m, gd, kernels, opts)
	}
	written := writtenVariables(gd, outputs)
	m.writes = len(written) > 0
	constify(gd, m.vars, written)
	keys := sm.SignatureKeys()
	m.selected = opts.Signature
	if m.selected == "" {
		m.selected = DefaultSignature
		if _, ok := sm.Signatures[DefaultSignature]; !ok && len(keys) == 1 {
			m.selected = keys[0]
		}
	}
	if _, err := sm.Signature(m.selected); err != nil {
		return nil, fmt.Errorf("%w: %w", classify.ErrInvalidInput, err)
	}
	for _, key := range keys {
		if key == initSignature {
			continue
		}
		s := sm.Signatures[key]
		sg := &signatureModel{sig: s}
		sg.model, sg.err = compileSignature(ctx, gd, s, kernels, opts.Threads)
		if sg.err != nil {
			sg.err = fmt.Errorf("signature %q: %w", key, sg.err)
			if key == m.selected {
				return nil, sg.err
			}
		}
		m.sigs[key] = sg
	}
	return m, nil
}

// openByTensors serves a SavedModel that has no signature by the tensor
// names opts gives, with the signature key "" (Info reports no signature and
// node names, as for a frozen graph).
func openByTensors(ctx context.Context, m *SavedModel, gd *gpb.GraphDef, kernels map[string]ops.Builder, opts SavedModelOptions) (*SavedModel, error) {
	if len(opts.Outputs) == 0 {
		return nil, fmt.Errorf("%w: the SavedModel has no signature to serve: name the tensors to feed and fetch (manifest input/output, classify run --input/--output)", classify.ErrInvalidInput)
	}
	s := &savedmodel.Signature{}
	for _, n := range opts.Inputs {
		s.Inputs = append(s.Inputs, savedmodel.TensorInfo{Key: n, Name: n})
	}
	for _, n := range opts.Outputs {
		s.Outputs = append(s.Outputs, savedmodel.TensorInfo{Key: n, Name: n})
	}
	written := writtenVariables(gd, opts.Outputs)
	m.writes = len(written) > 0
	constify(gd, m.vars, written)
	model, err := loadWith(ctx, gd, classify.OpenOptions{Inputs: opts.Inputs, Outputs: opts.Outputs, Threads: opts.Threads}, loadConfig{fuse: true}, kernels)
	if err != nil {
		return nil, err
	}
	m.byTensors = true
	m.sigs[""] = &signatureModel{sig: s, model: model}
	return m, nil
}

func compileSignature(ctx context.Context, gd *gpb.GraphDef, s *savedmodel.Signature, kernels map[string]ops.Builder, threads int) (*Model, error) {
	o := classify.OpenOptions{Threads: threads}
	for _, in := range s.Inputs {
		if in.Name == "" {
			return nil, fmt.Errorf("%w: input %q is a sparse or composite tensor", classify.ErrUnsupportedOp, in.Key)
		}
		o.Inputs = append(o.Inputs, in.Name)
	}
	for _, out := range s.Outputs {
		if out.Name == "" {
			return nil, fmt.Errorf("%w: output %q is a sparse or composite tensor", classify.ErrUnsupportedOp, out.Key)
		}
		o.Outputs = append(o.Outputs, out.Name)
	}
	if len(o.Outputs) == 0 {
		return nil, fmt.Errorf("%w: the signature has no outputs", classify.ErrInvalidGraph)
	}
	return loadWith(ctx, gd, o, loadConfig{fuse: true}, kernels)
}

// initOps names the init ops of a MetaGraphDef: TF1's main_op and
// legacy_init_op collections, TF2's __saved_model_init_op signature.
func initOps(sm *savedmodel.SavedModel) []string {
	mg := sm.MetaGraph
	var names []string
	for _, c := range []string{"saved_model_main_op", "legacy_init_op"} {
		names = append(names, mg.GetCollectionDef()[c].GetNodeList().GetValue()...)
	}
	if s, ok := sm.Signatures[initSignature]; ok {
		for _, o := range s.Outputs {
			names = append(names, o.Name)
		}
	}
	return names
}

// runInit runs the init ops once: it computes the variable writes and
// table initializations they reach, which is all an init op of an
// inference graph does here, and the table imports of the restore graph
// (extra).
func runInit(ctx context.Context, sm *savedmodel.SavedModel, gd *gpb.GraphDef, kernels map[string]ops.Builder, threads int, extra []string) error {
	byName := nodeIndex(gd)
	var assigns []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(in string) {
		name := nodeName(in)
		n, ok := byName[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		if isInitTarget(n.GetOp()) {
			assigns = append(assigns, name)
		}
		for _, i := range n.GetInput() {
			walk(i)
		}
	}
	for _, op := range append(initOps(sm), extra...) {
		walk(op)
	}
	if len(assigns) == 0 {
		return nil
	}
	sort.Strings(assigns)
	init, err := loadWith(ctx, gd, classify.OpenOptions{Outputs: assigns, Threads: threads}, loadConfig{}, kernels)
	if err != nil {
		return fmt.Errorf("init op: %w", err)
	}
	if _, err := init.Run(ctx, nil, nil); err != nil {
		return fmt.Errorf("init op: %w", err)
	}
	return nil
}

func nodeIndex(gd *gpb.GraphDef) map[string]*npb.NodeDef {
	m := make(map[string]*npb.NodeDef, len(gd.GetNode()))
	for _, n := range gd.GetNode() {
		m[n.GetName()] = n
	}
	return m
}

// nodeName strips "^" and ":N" from an input string.
func nodeName(in string) string {
	in = strings.TrimPrefix(in, "^")
	if i := strings.LastIndexByte(in, ':'); i >= 0 {
		return in[:i]
	}
	return in
}

// writtenVariables lists the variables the given outputs (transitively,
// through data and control inputs) assign.
func writtenVariables(gd *gpb.GraphDef, outputs []string) map[string]bool {
	byName := nodeIndex(gd)
	written := map[string]bool{}
	seen := map[string]bool{}
	stack := append([]string(nil), outputs...)
	for len(stack) > 0 {
		name := nodeName(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		n, ok := byName[name]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		if n.GetOp() == ops.AssignVariable {
			written[string(n.GetAttr()["var"].GetS())] = true
		}
		stack = append(stack, n.GetInput()...)
	}
	return written
}

// constify turns the reads of every variable that is not written and has a
// value into Const nodes.
func constify(gd *gpb.GraphDef, vars *ops.Variables, written map[string]bool) {
	for i, n := range gd.GetNode() {
		if n.GetOp() != ops.ReadVariable {
			continue
		}
		v := string(n.GetAttr()["var"].GetS())
		t, ok := vars.Get(v)
		if !ok || written[v] {
			continue
		}
		gd.Node[i] = &npb.NodeDef{Name: n.GetName(), Op: "Const", Input: n.GetInput(), Attr: map[string]*apb.AttrValue{
			"dtype": graphdef.Attr(t.DType),
			"value": graphdef.Attr(t),
		}}
	}
}

// bindAssets replaces each asset tensor's producer (a string Const or a
// Placeholder) by a Const holding the absolute path of its file.
func bindAssets(gd *gpb.GraphDef, assets map[string]string) error {
	byPos := map[string]int{}
	for i, n := range gd.GetNode() {
		byPos[n.GetName()] = i
	}
	for tensor, path := range assets {
		name, idx, err := splitOutput(tensor)
		if err != nil || idx != 0 {
			return fmt.Errorf("%w: asset tensor %q", classify.ErrInvalidGraph, tensor)
		}
		i, ok := byPos[name]
		if !ok {
			return fmt.Errorf("%w: asset tensor %q names no node", classify.ErrInvalidGraph, tensor)
		}
		t := &classify.Tensor{DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{[]byte(path)}}
		gd.Node[i] = &npb.NodeDef{Name: name, Op: "Const", Attr: map[string]*apb.AttrValue{"dtype": graphdef.Attr(classify.String), "value": graphdef.Attr(t)}}
	}
	return nil
}

// variableBinding is what bindVariables found: the checkpoint key of each
// restored variable.
type variableBinding struct {
	keys map[string]string // variable node → bundle key
}

var (
	variableOps = map[string]bool{"VariableV2": true, "Variable": true, "VarHandleOp": true}
	assignModes = map[string]string{
		"Assign": "set", "AssignAdd": "add", "AssignSub": "sub",
		"AssignVariableOp": "set", "AssignAddVariableOp": "add", "AssignSubVariableOp": "sub",
	}
)

// bindVariables rewrites gd's variable ops into ops.ReadVariable and
// ops.AssignVariable nodes naming their variable, and maps each variable to
// its checkpoint key by following the saver's restore ops:
// Assign(var, RestoreV2:i) (TF1) or AssignVariableOp(handle,
// Identity(RestoreV2:i)) (TF2, once its restore function is inlined) reads
// key tensor_names[i]. The restore assignments themselves become NoOps:
// the values are set from the bundle directly. ResourceGather (Keras
// Embedding) becomes a GatherV2 of the variable's value.
func bindVariables(gd *gpb.GraphDef) (*variableBinding, error) {
	byName := nodeIndex(gd)
	trace := func(in string) (*npb.NodeDef, int) { return traceProducer(byName, in) }
	b := &variableBinding{keys: map[string]string{}}
	restore := map[string]bool{}
	for _, n := range gd.GetNode() {
		if _, ok := assignModes[n.GetOp()]; !ok || len(n.GetInput()) < 2 {
			continue
		}
		v, _ := trace(n.GetInput()[0])
		r, idx := trace(n.GetInput()[1])
		if v == nil || !variableOps[v.GetOp()] || r == nil || r.GetOp() != "RestoreV2" || len(r.GetInput()) < 2 {
			continue
		}
		names, _ := trace(r.GetInput()[1])
		if names == nil || names.GetOp() != "Const" {
			return nil, fmt.Errorf("%w: restore op %q: tensor_names is not a constant", classify.ErrInvalidGraph, r.GetName())
		}
		t, err := graphdef.TensorFromProto(names.GetAttr()["value"].GetTensor())
		if err != nil || t.DType != classify.String || idx >= t.Len() {
			return nil, fmt.Errorf("%w: restore op %q: tensor_names has no entry %d", classify.ErrInvalidGraph, r.GetName(), idx)
		}
		key := string(t.Data.([][]byte)[idx])
		if prev, dup := b.keys[v.GetName()]; dup && prev != key {
			return nil, fmt.Errorf("%w: variable %q is restored from both %q and %q", classify.ErrInvalidGraph, v.GetName(), prev, key)
		}
		b.keys[v.GetName()] = key
		restore[n.GetName()] = true
	}
	ctrlOf := func(n *npb.NodeDef) []string {
		var c []string
		for _, in := range n.GetInput() {
			if strings.HasPrefix(in, "^") {
				c = append(c, in)
			}
		}
		return c
	}
	var added []*npb.NodeDef
	refs := map[string]*npb.NodeDef{} // TF1 ref variables by name
	for _, n := range gd.GetNode() {
		if op := n.GetOp(); op == "VariableV2" || op == "Variable" {
			refs[n.GetName()] = n
		}
	}
	for i, n := range gd.GetNode() {
		op := n.GetOp()
		if assignModes[op] == "" && scatterOf(op) == "" && len(refs) > 0 {
			added = append(added, readRefsAfter(n, refs, ctrlOf(n))...)
		}
		switch {
		case op == "ResourceGather" && len(n.GetInput()) >= 2:
			// An embedding lookup: a GatherV2 on axis 0 of the variable's
			// value, which folds into a constant gather when read-only.
			v, _ := trace(n.GetInput()[0])
			if v == nil || !variableOps[v.GetOp()] {
				continue
			}
			read := readNode(n.GetName()+"/_value", v.GetName(), v, nil)
			axis := &npb.NodeDef{Name: n.GetName() + "/_axis", Op: "Const", Attr: map[string]*apb.AttrValue{
				"dtype": graphdef.Attr(classify.Int32),
				"value": graphdef.Attr(&classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{0}}),
			}}
			g := &npb.NodeDef{Name: n.GetName(), Op: "GatherV2", Input: append([]string{read.GetName(), n.GetInput()[1], axis.GetName()}, ctrlOf(n)...), Attr: map[string]*apb.AttrValue{
				"Taxis": graphdef.Attr(classify.Int32),
			}}
			for _, k := range []string{"batch_dims", "Tindices"} {
				if a, ok := n.GetAttr()[k]; ok {
					g.Attr[k] = a
				}
			}
			if a, ok := n.GetAttr()["dtype"]; ok {
				g.Attr["Tparams"] = a
			}
			gd.Node[i] = g
			added = append(added, read, axis)
		case op == "VariableV2" || op == "Variable":
			gd.Node[i] = readNode(n.GetName(), n.GetName(), n, ctrlOf(n))
		case op == "ReadVariableOp" && len(n.GetInput()) > 0:
			if v, _ := trace(n.GetInput()[0]); v != nil && variableOps[v.GetOp()] {
				gd.Node[i] = readNode(n.GetName(), v.GetName(), v, ctrlOf(n))
			}
		case scatterOf(op) != "" && len(n.GetInput()) >= 3:
			// A scatter into a variable: read it (after n's control
			// inputs), scatter, and store the result under n's name.
			v, _ := trace(n.GetInput()[0])
			if v == nil || !variableOps[v.GetOp()] {
				if strings.HasPrefix(op, "Resource") {
					return nil, fmt.Errorf("%w: node %q (%s) writes to %q, which is not a variable", classify.ErrInvalidGraph, n.GetName(), op, n.GetInput()[0])
				}
				continue // a frozen graph's constant: the pure kernel runs
			}
			read := readNode(n.GetName()+"/_value", v.GetName(), v, ctrlOf(n))
			sc := &npb.NodeDef{Name: n.GetName() + "/_scatter", Op: scatterOf(op), Input: []string{read.GetName(), n.GetInput()[1], n.GetInput()[2]}, Attr: map[string]*apb.AttrValue{}}
			for k, a := range n.GetAttr() {
				if k == "dtype" {
					k = "T"
				}
				sc.Attr[k] = a
			}
			nd := &npb.NodeDef{Name: n.GetName(), Op: ops.AssignVariable, Input: append([]string{sc.GetName()}, ctrlOf(n)...), Attr: map[string]*apb.AttrValue{
				"var":  graphdef.Attr(v.GetName()),
				"mode": graphdef.Attr("set"),
			}}
			if dt, ok := v.GetAttr()["dtype"]; ok {
				nd.Attr["dtype"] = dt
			}
			gd.Node[i] = nd
			added = append(added, read, sc)
		case assignModes[op] != "" && len(n.GetInput()) >= 2:
			if restore[n.GetName()] {
				gd.Node[i] = &npb.NodeDef{Name: n.GetName(), Op: "NoOp", Input: ctrlOf(n)}
				continue
			}
			v, _ := trace(n.GetInput()[0])
			if v == nil || !variableOps[v.GetOp()] {
				return nil, fmt.Errorf("%w: node %q (%s) assigns to %q, which is not a variable", classify.ErrInvalidGraph, n.GetName(), op, n.GetInput()[0])
			}
			nd := &npb.NodeDef{Name: n.GetName(), Op: ops.AssignVariable, Input: append([]string{n.GetInput()[1]}, ctrlOf(n)...), Attr: map[string]*apb.AttrValue{
				"var":  graphdef.Attr(v.GetName()),
				"mode": graphdef.Attr(assignModes[op]),
			}}
			if dt, ok := v.GetAttr()["dtype"]; ok {
				nd.Attr["dtype"] = dt
			}
			gd.Node[i] = nd
		}
	}
	gd.Node = append(gd.Node, added...)
	return b, nil
}

// scatterOf names the pure kernel of a scatter into a variable (TF1
// ScatterAdd on a ref, TF2 ResourceScatterAdd on a handle, and their Nd
// forms): the op with "Resource" dropped. Other ops give "".
func scatterOf(op string) string {
	base := strings.TrimPrefix(op, "Resource")
	switch base {
	case "ScatterUpdate", "ScatterAdd", "ScatterSub", "ScatterMul", "ScatterDiv", "ScatterMax", "ScatterMin",
		"ScatterNdUpdate", "ScatterNdAdd", "ScatterNdSub", "ScatterNdMax", "ScatterNdMin":
		return base
	}
	return ""
}

// traceProducer follows Identity-like nodes back from tensor in to the node
// and output that produce it; nil when it leads outside the graph.
func traceProducer(byName map[string]*npb.NodeDef, in string) (*npb.NodeDef, int) {
	for range 1000 {
		name, idx, err := splitOutput(in)
		if err != nil {
			return nil, 0
		}
		n, ok := byName[name]
		if !ok {
			return nil, 0
		}
		switch {
		case n.GetOp() == "Identity" && idx == 0 && len(n.GetInput()) > 0:
			in = n.GetInput()[0]
		case n.GetOp() == "IdentityN" && idx < len(n.GetInput()):
			in = n.GetInput()[idx]
		default:
			return n, idx
		}
	}
	return nil, 0
}

// readRefsAfter makes a consumer n of TF1 ref variables read them when it
// runs, as TensorFlow does, rather than when the variable node does: each
// data input naming a ref variable is pointed at a read node of its own
// that carries n's control inputs, so `tf.control_dependencies([assign]):
// tf.identity(v)` sees the assigned value. Consumers without control inputs
// keep the variable's shared read. It returns the read nodes to add.
func readRefsAfter(n *npb.NodeDef, refs map[string]*npb.NodeDef, ctrl []string) []*npb.NodeDef {
	if len(ctrl) == 0 {
		return nil
	}
	var added []*npb.NodeDef
	for j, in := range n.GetInput() {
		name := strings.TrimSuffix(in, ":0")
		v, ok := refs[name]
		if !ok || strings.HasPrefix(in, "^") {
			continue
		}
		r := readNode(n.GetName()+"/_read_"+strconv.Itoa(j), name, v, ctrl)
		n.Input[j] = r.GetName()
		added = append(added, r)
	}
	return added
}

// readNode is an ops.ReadVariable node of variable v (whose NodeDef gives
// dtype and shape).
func readNode(name, v string, vn *npb.NodeDef, ctrl []string) *npb.NodeDef {
	nd := &npb.NodeDef{Name: name, Op: ops.ReadVariable, Input: ctrl, Attr: map[string]*apb.AttrValue{"var": graphdef.Attr(v)}}
	for _, k := range []string{"dtype", "shape"} {
		if a, ok := vn.GetAttr()[k]; ok {
			nd.Attr[k] = proto.Clone(a).(*apb.AttrValue)
		}
	}
	return nd
}

// Info describes the selected signature: inputs and outputs named by their
// signature keys (what Run takes), with the signature's dtypes and shapes;
// op counts and FLOPs are those of its compiled graph; SavedModel names
// the directory and version folder read.
func (m *SavedModel) Info() classify.ModelInfo {
	sg := m.sigs[m.selected]
	info := sg.model.Info()
	info.Signature = m.selected
	if !m.byTensors {
		info.Inputs, info.Outputs = keyInfos(sg.sig.Inputs), keyInfos(sg.sig.Outputs)
	}
	info.SavedModel = &classify.SavedModelInfo{
		Dir:     m.sm.Dir,
		Version: m.version,
		Tags:    append([]string(nil), m.sm.Tags...),
		Method:  sg.sig.Method,
	}
	return info
}

func keyInfos(ts []savedmodel.TensorInfo) []classify.TensorInfo {
	var out []classify.TensorInfo
	for _, t := range ts {
		out = append(out, classify.TensorInfo{Name: t.Key, DType: graphdef.DTypeFromProto(t.DType), Shape: t.Shape.Clone()})
	}
	return out
}

// SavedModel returns what the reader found on disk (signatures, tag set,
// directory).
func (m *SavedModel) SavedModel() *savedmodel.SavedModel { return m.sm }

// Run runs the selected signature: inputs and outputs by key; no outputs
// means all of the signature's, in key order.
func (m *SavedModel) Run(ctx context.Context, inputs map[string]*classify.Tensor, outputs []string) ([]*classify.Tensor, error) {
	res, err := m.RunSignature(ctx, m.selected, inputs)
	if err != nil {
		return nil, err
	}
	if len(outputs) == 0 {
		for _, o := range m.sigs[m.selected].sig.Outputs {
			outputs = append(outputs, o.Key)
		}
	}
	out := make([]*classify.Tensor, len(outputs))
	for i, k := range outputs {
		t, ok := res[k]
		if !ok {
			return nil, fmt.Errorf("%w: %q is not an output of signature %q", classify.ErrInvalidInput, k, m.selected)
		}
		out[i] = t
	}
	return out, nil
}

// RunSignature runs one signature: inputs by key, every output returned by
// key. Safe for concurrent use (serialised when the model writes variables).
func (m *SavedModel) RunSignature(ctx context.Context, key string, inputs map[string]*classify.Tensor) (map[string]*classify.Tensor, error) {
	sg, ok := m.sigs[key]
	if !ok {
		if key == initSignature {
			return nil, fmt.Errorf("%w: %s is run at load, not served", classify.ErrInvalidInput, key)
		}
		_, err := m.sm.Signature(key)
		return nil, fmt.Errorf("%w: %w", classify.ErrInvalidInput, err)
	}
	if sg.err != nil {
		return nil, sg.err
	}
	feeds := make(map[string]*classify.Tensor, len(inputs))
	for k, t := range inputs {
		name := ""
		for _, in := range sg.sig.Inputs {
			if in.Key == k {
				name = in.Name
			}
		}
		if name == "" {
			var keys []string
			for _, in := range sg.sig.Inputs {
				keys = append(keys, in.Key)
			}
			return nil, fmt.Errorf("%w: %q is not an input of signature %q (inputs: %s)", classify.ErrInvalidInput, k, key, strings.Join(keys, ", "))
		}
		feeds[name] = t
	}
	var names []string
	for _, o := range sg.sig.Outputs {
		names = append(names, o.Name)
	}
	if m.writes {
		m.mu.Lock()
		defer m.mu.Unlock()
	}
	if m.closed.Load() {
		return nil, errClosed
	}
	res, err := sg.model.Run(ctx, feeds, names)
	if err != nil {
		return nil, fmt.Errorf("signature %q: %w", key, err)
	}
	out := make(map[string]*classify.Tensor, len(res))
	for i, o := range sg.sig.Outputs {
		out[o.Key] = res[i]
	}
	return out, nil
}

// Close closes every signature's model: later Runs fail with an error
// wrapping classify.ErrModelUnavailable.
func (m *SavedModel) Close() error {
	m.closed.Store(true)
	for _, sg := range m.sigs {
		if sg.model != nil {
			sg.model.Close()
		}
	}
	return nil
}
