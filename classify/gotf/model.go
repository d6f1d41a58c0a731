package gotf

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
)

// Model is a compiled graph. It is safe for concurrent use: any number of
// goroutines may call Run at once. Each Run takes its own value slots and
// kernel buffers from a pool, so steady-state runs reuse memory and only
// the returned copies of the outputs are allocated.
type Model struct {
	info     classify.ModelInfo
	steps    []step
	template []*classify.Tensor // value slots: constants set, the rest nil
	nslots   int                // kernel buffer slots of all steps
	maxIn    int
	threads  int

	feeds    []feed
	feedIdx  map[string]int // "name" and "name:0" → index in feeds
	values   map[string]int // "name" and "name:N" → value slot
	defaults []string       // outputs of a Run that names none

	plans  sync.Map // plan key → *plan
	nplans atomic.Int32
	peak   atomic.Int64 // largest arena of one Run, bytes
	pool   sync.Pool
	closed atomic.Bool
}

var _ classify.Model = (*Model)(nil)

// step is one kernel call of the compiled plan: it reads value slots in and
// writes value slots out..out+nout.
type step struct {
	name, op string
	kernel   ops.Op
	in       []int
	out      int
	nout     int
	slot     int // first kernel buffer slot (ops.Ctx.Slots)
	nslot    int
	// fallback marks a fed PlaceholderWithDefault: it copies its default
	// input unless the caller fed it.
	fallback bool
	// writes marks a step that changes variables. order kept it because
	// an output waits for it, maybe only through a control input, which
	// plans do not track: every plan runs it.
	writes bool
}

type feed struct {
	info     classify.TensorInfo
	slot     int
	required bool // a Placeholder (no default)
}

// plan is the subset of steps a set of outputs needs.
type plan struct {
	steps    []int
	outs     []int
	required []int // feeds that must be given
	// frees[i] lists the values whose last reader is steps[i] (or which
	// steps[i] makes and nothing reads): their buffers go back to the
	// run's arena after it. Fetched values are never freed.
	frees [][]int
}

// state is one Run's mutable memory, recycled through Model.pool.
type state struct {
	vals  []*classify.Tensor
	slots []*classify.Tensor // per-step output tensors; the arena lends their memory
	in    []*classify.Tensor
	ctx   ops.Ctx
	arena *ops.Arena
	own   []int32 // per value: the arena buffer holding it, -1 for none
	inBuf []int32
}

// compile assigns value slots, builds every kernel, infers static shapes and
// fills ModelInfo. Every unsupported op is collected into one error.
func compile(g *graph, outputs []ref, threads int) (*Model, error) {
	m := &Model{threads: threads, feedIdx: map[string]int{}, values: map[string]int{}}
	nout := map[*node]int{}
	for _, n := range g.nodes {
		for _, r := range n.in {
			nout[r.n] = max(nout[r.n], r.idx+1)
		}
	}
	for _, r := range outputs {
		nout[r.n] = max(nout[r.n], r.idx+1)
	}
	base := map[*node]int{}
	var infos []classify.TensorInfo
	var unsupported []string
	// unknown marks nodes whose op is unsupported and those computed from
	// them: their outputs' dtypes and shapes are unknown, never guessed, so
	// that the error names the missing op instead of a downstream mismatch.
	unknown := map[*node]bool{}
	opCount := map[string]int{}
	var flops int64
	for _, n := range g.nodes {
		opCount[n.op]++
		if n.isConst() {
			opCount[n.op]--
			opCount["Const"]++
		}
		in := make([]int, len(n.in))
		inInfo := make([]classify.TensorInfo, len(n.in))
		for i, r := range n.in {
			b, ok := base[r.n]
			if !ok {
				// The producer is a plain feed or constant whose input
				// edges were cut, or the graph was not ordered.
				if !n.isConst() && !(n.feed && !n.withDefault) {
					return nil, fmt.Errorf("%w: node %q (%s): input %s was not computed before it", classify.ErrInvalidGraph, n.name, n.op, r)
				}
				continue
			}
			if r.n.isConst() && r.idx >= len(r.n.value) {
				return nil, fmt.Errorf("%w: node %q (%s): input %s: %q has only %d outputs", classify.ErrInvalidGraph, n.name, n.op, r, r.n.name, len(r.n.value))
			}
			in[i] = b + r.idx
			inInfo[i] = infos[b+r.idx]
		}
		var out []classify.TensorInfo
		var kernel ops.Op
		switch {
		case n.isConst():
			for _, t := range n.value {
				out = append(out, classify.TensorInfo{DType: t.DType, Shape: t.Shape.Clone()})
			}
		case n.feed:
			fi := classify.TensorInfo{Name: n.name, DType: guessDType(n), Shape: n.shapeAttr()}
			if n.withDefault && fi.Shape == nil && len(inInfo) == 1 {
				fi.Shape = inInfo[0].Shape
			}
			out = []classify.TensorInfo{fi}
		default:
			b, ok := g.lookup(n.op)
			if !ok {
				// Keep going: the error lists every unsupported node.
				unsupported = append(unsupported, fmt.Sprintf("%s (%s)", n.name, n.op))
				unknown[n] = true
				break
			}
			for _, r := range n.in {
				unknown[n] = unknown[n] || unknown[r.n]
			}
			consts := make([]*classify.Tensor, len(n.in))
			for i, r := range n.in {
				if r.n.isConst() {
					consts[i] = r.n.value[r.idx]
				}
			}
			k, err := build(n, b, consts)
			if err != nil {
				return nil, err
			}
			kernel = k
			if sh, ok := k.(ops.Shaper); ok {
				o, err := shapeOf(n, sh, inInfo)
				switch {
				case err != nil && unknown[n]:
					// Downstream of an unsupported op: that op is the error.
					o = nil
				case err != nil:
					return nil, err
				}
				out = o
			}
			if fl, ok := k.(ops.Flopper); ok {
				flops += flopsOf(fl, inInfo)
			}
		}
		cnt := max(nout[n], len(out), 1)
		if n.isConst() && nout[n] > len(n.value) {
			return nil, fmt.Errorf("%w: node %q (%s) has %d outputs, output %d is used", classify.ErrInvalidGraph, n.name, n.op, len(n.value), nout[n]-1)
		}
		for len(out) < cnt {
			dt := classify.Invalid
			if !unknown[n] {
				dt = guessDType(n)
			}
			out = append(out, classify.TensorInfo{DType: dt})
		}
		b := len(infos)
		base[n] = b
		for i := range out {
			out[i].Name = n.name
			if i > 0 {
				out[i].Name += ":" + strconv.Itoa(i)
			}
			m.values[out[i].Name] = b + i
			m.template = append(m.template, nil)
		}
		infos = append(infos, out...)
		switch {
		case n.isConst():
			copy(m.template[b:], n.value)
		case n.feed:
			m.feedIdx[n.name] = len(m.feeds)
			m.feedIdx[n.name+":0"] = len(m.feeds)
			m.feeds = append(m.feeds, feed{info: out[0], slot: b, required: !n.withDefault})
			m.info.Inputs = append(m.info.Inputs, out[0])
			if n.withDefault {
				m.steps = append(m.steps, step{name: n.name, op: n.op, in: in, out: b, nout: 1, fallback: true})
			}
		case kernel != nil:
			ns := max(cnt, 4) // spare slots: kernels may cache scratch buffers beyond their outputs
			m.steps = append(m.steps, step{name: n.name, op: n.op, kernel: kernel, in: in, out: b, nout: cnt, slot: m.nslots, nslot: ns, writes: ops.WritesState(n.op)})
			m.nslots += ns
			m.maxIn = max(m.maxIn, len(in))
		}
	}
	if len(unsupported) > 0 {
		return nil, fmt.Errorf("%w: %d node(s) use ops the go engine lacks: %s", classify.ErrUnsupportedOp, len(unsupported), strings.Join(unsupported, ", "))
	}
	for _, r := range outputs {
		name := r.String()
		slot, ok := m.values[name]
		if !ok {
			return nil, fmt.Errorf("%w: output %s does not exist", classify.ErrInvalidInput, name)
		}
		info := infos[slot]
		info.Name = name
		m.info.Outputs = append(m.info.Outputs, info)
		m.defaults = append(m.defaults, name)
	}
	for k, v := range opCount {
		if v == 0 {
			delete(opCount, k)
		}
	}
	m.info.Engine = EngineName
	m.info.Ops = opCount
	m.info.FLOPs = flops
	m.pool.New = func() any {
		st := &state{
			vals:  append([]*classify.Tensor(nil), m.template...),
			slots: make([]*classify.Tensor, m.nslots),
			in:    make([]*classify.Tensor, m.maxIn),
			arena: ops.NewArena(),
			own:   make([]int32, len(m.template)),
			inBuf: make([]int32, m.maxIn),
		}
		for i := range st.own {
			st.own[i] = -1
		}
		return st
	}
	return m, nil
}

// shapeOf asks a kernel for its static output shapes, recovering from a
// panicking Shaper.
func shapeOf(n *node, sh ops.Shaper, in []classify.TensorInfo) (out []classify.TensorInfo, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("node %q (%s): %w: shape inference panicked: %v", n.name, n.op, classify.ErrInvalidGraph, r)
		}
	}()
	out, err = sh.OutputInfo(in)
	if err != nil {
		return nil, named(n.name, n.op, err)
	}
	return out, nil
}

// flopsOf counts at the static shapes, an unknown dimension (the batch)
// counting as 1; an input of unknown rank makes the count 0.
func flopsOf(fl ops.Flopper, in []classify.TensorInfo) (f int64) {
	defer func() {
		if recover() != nil {
			f = 0
		}
	}()
	shapes := make([]classify.Shape, len(in))
	for i, ti := range in {
		if ti.Shape == nil {
			return 0
		}
		s := ti.Shape.Clone()
		for j := range s {
			if s[j] < 0 {
				s[j] = 1
			}
		}
		shapes[i] = s
	}
	return fl.FLOPs(shapes)
}

// sentinels are the classify errors callers branch on; every error a
// kernel returns is made to wrap one of them.
var sentinels = []error{classify.ErrInvalidGraph, classify.ErrInvalidInput, classify.ErrUnsupportedOp, classify.ErrModelUnavailable}

// named wraps err with the node's name unless the kernel already named it,
// and with classify.ErrInvalidGraph when it wraps no classify sentinel.
func named(name, op string, err error) error {
	sentinel := false
	for _, s := range sentinels {
		sentinel = sentinel || errors.Is(err, s)
	}
	if !sentinel {
		err = fmt.Errorf("%w: %w", classify.ErrInvalidGraph, err)
	}
	if strings.Contains(err.Error(), strconv.Quote(name)) {
		return err
	}
	return fmt.Errorf("node %q (%s): %w", name, op, err)
}

// guessDType reads the usual output type attributes of a node; Invalid when
// none is set.
func guessDType(n *node) classify.DType {
	for _, k := range []string{"dtype", "out_type", "output_type", "DstT", "T"} {
		if a, ok := n.attr[k]; ok {
			if dt := ops.DTypeFromProto(a.GetType()); dt != classify.Invalid {
				return dt
			}
		}
	}
	return classify.Invalid
}

// shapeAttr is a feed's declared shape: nil when unknown.
func (n *node) shapeAttr() classify.Shape {
	return opNode(n).Shape("shape")
}

// Info describes the inputs, outputs, op counts and FLOPs of the model. The
// result is a copy the caller may keep and modify.
func (m *Model) Info() classify.ModelInfo {
	info := m.info
	info.Inputs = cloneInfos(m.info.Inputs)
	info.Outputs = cloneInfos(m.info.Outputs)
	info.Ops = make(map[string]int, len(m.info.Ops))
	for k, v := range m.info.Ops {
		info.Ops[k] = v
	}
	return info
}

func cloneInfos(in []classify.TensorInfo) []classify.TensorInfo {
	out := make([]classify.TensorInfo, len(in))
	for i, ti := range in {
		out[i] = ti
		out[i].Shape = ti.Shape.Clone()
	}
	return out
}

// Close marks the model closed: later Runs fail with an error wrapping
// classify.ErrModelUnavailable. Its memory is freed once it is unreferenced.
func (m *Model) Close() error {
	m.closed.Store(true)
	return nil
}

// errClosed is returned by Run after Close.
var errClosed = fmt.Errorf("gotf: model is closed: %w", classify.ErrModelUnavailable)

// Run feeds inputs (by node name, "name" or "name:0") and returns copies of
// the requested outputs ("name" or "name:N"; none means the outputs Info
// lists) in order. It checks ctx before every node and returns ctx.Err()
// once it is done. Safe for concurrent use.
func (m *Model) Run(ctx context.Context, inputs map[string]*classify.Tensor, outputs []string) ([]*classify.Tensor, error) {
	if m.closed.Load() {
		return nil, errClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := m.planFor(outputs)
	if err != nil {
		return nil, err
	}
	st := m.pool.Get().(*state)
	defer func() {
		// Drop every reference to the caller's feeds and this run's values.
		copy(st.vals, m.template)
		clear(st.in)
		for i := range st.own {
			st.own[i] = -1
		}
		b, cur := st.arena.Bytes(), m.peak.Load()
		for b > cur && !m.peak.CompareAndSwap(cur, b) {
			cur = m.peak.Load()
		}
		if st.arena.Reset() {
			// Evicted buffers may sit behind step tensors: forget them.
			clear(st.slots)
		}
		st.ctx.Context, st.ctx.Slots, st.ctx.Arena = nil, nil, nil
		m.pool.Put(st)
	}()
	for name, t := range inputs {
		fi, ok := m.feedIdx[name]
		if !ok {
			return nil, fmt.Errorf("%w: %q is not an input of the model (inputs: %s)", classify.ErrInvalidInput, name, m.inputNames())
		}
		f := &m.feeds[fi]
		if err := checkFeed(f, t); err != nil {
			return nil, err
		}
		st.vals[f.slot] = t
	}
	for _, fi := range p.required {
		if f := &m.feeds[fi]; st.vals[f.slot] == nil {
			return nil, fmt.Errorf("%w: input %q (%v %v) was not fed", classify.ErrInvalidInput, f.info.Name, f.info.DType, f.info.Shape)
		}
	}
	st.ctx.Context = ctx
	st.ctx.Threads = m.threads
	st.ctx.Arena = st.arena
	for pi, si := range p.steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := &m.steps[si]
		if s.fallback {
			if st.vals[s.out] == nil {
				st.vals[s.out] = st.vals[s.in[0]]
				st.own[s.out] = st.own[s.in[0]]
				st.arena.Retain(st.own[s.out])
			}
			m.release(st, p.frees[pi])
			continue
		}
		in := st.in[:len(s.in)]
		for i, k := range s.in {
			if in[i] = st.vals[k]; in[i] == nil {
				return nil, fmt.Errorf("%w: node %q (%s): input %d has no value", classify.ErrInvalidGraph, s.name, s.op, i)
			}
		}
		inBuf := st.inBuf[:len(s.in)]
		for i, k := range s.in {
			inBuf[i] = st.own[k]
		}
		st.ctx.Slots = st.slots[s.slot : s.slot+s.nslot]
		st.arena.BeginStep(s.nslot)
		out, err := runOp(s.name, s.op, s.kernel, &st.ctx, in)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
				return nil, ctxErr
			}
			return nil, named(s.name, s.op, err)
		}
		if len(out) < s.nout {
			return nil, fmt.Errorf("%w: node %q (%s) gave %d outputs, %d are used", classify.ErrInvalidGraph, s.name, s.op, len(out), s.nout)
		}
		copy(st.vals[s.out:s.out+s.nout], out)
		for j, t := range out[:s.nout] {
			id, ok := st.arena.Own(t, inBuf)
			if !ok {
				return nil, fmt.Errorf("%w: node %q (%s): output %d is memory of an earlier node that was already released (engine bug)", classify.ErrInvalidGraph, s.name, s.op, j)
			}
			st.own[s.out+j] = id
		}
		st.arena.EndStep()
		m.release(st, p.frees[pi])
	}
	res := make([]*classify.Tensor, len(p.outs))
	for i, k := range p.outs {
		t := st.vals[k]
		if t == nil {
			return nil, fmt.Errorf("%w: output %s has no value", classify.ErrInvalidGraph, m.nameOf(k))
		}
		res[i] = t.Clone()
	}
	return res, nil
}

// ArenaBytes is the most memory the intermediate values of one Run have
// taken so far (a Run's inputs, constants and returned copies aside).
// Concurrent Runs take that much each.
func (m *Model) ArenaBytes() int64 { return m.peak.Load() }

// release gives back the arena buffers of values no later step reads.
func (m *Model) release(st *state, vals []int) {
	for _, k := range vals {
		st.arena.Release(st.own[k])
		st.own[k] = -1
	}
}

func checkFeed(f *feed, t *classify.Tensor) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("input %q: %w", f.info.Name, err)
	}
	if f.info.DType != classify.Invalid && t.DType != f.info.DType {
		return fmt.Errorf("%w: input %q wants %v, got %v", classify.ErrInvalidInput, f.info.Name, f.info.DType, t.DType)
	}
	if !f.info.Shape.Compatible(t.Shape) {
		return fmt.Errorf("%w: input %q wants shape %v, got %v", classify.ErrInvalidInput, f.info.Name, f.info.Shape, t.Shape)
	}
	return nil
}

func (m *Model) inputNames() string {
	var s []string
	for _, f := range m.feeds {
		s = append(s, f.info.Name)
	}
	return strings.Join(s, ", ")
}

func (m *Model) nameOf(slot int) string {
	for k, v := range m.values {
		if v == slot && !strings.HasSuffix(k, ":0") {
			return k
		}
	}
	return strconv.Itoa(slot)
}

// maxPlans caps the cached plans of one model.
const maxPlans = 64

// planFor returns the cached plan for a list of outputs, making it on first
// use: the steps the outputs depend on, in order, and the feeds they need.
func (m *Model) planFor(outputs []string) (*plan, error) {
	if len(outputs) == 0 {
		outputs = m.defaults
	}
	key := outputs[0]
	if len(outputs) > 1 {
		key = strings.Join(outputs, "\x00")
	}
	if p, ok := m.plans.Load(key); ok {
		return p.(*plan), nil
	}
	p := &plan{}
	need := make([]bool, len(m.template))
	for _, o := range outputs {
		slot, ok := m.values[o]
		if !ok {
			name, idx, err := splitOutput(o)
			if err == nil && idx == 0 {
				slot, ok = m.values[name]
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: output %q is not computed by this model (outputs: %s; name others in OpenOptions.Outputs)", classify.ErrInvalidInput, o, strings.Join(m.defaults, ", "))
		}
		p.outs = append(p.outs, slot)
		need[slot] = true
	}
	stepNeeded := make([]bool, len(m.steps))
	for si := len(m.steps) - 1; si >= 0; si-- {
		s := &m.steps[si]
		stepNeeded[si] = s.writes
		for k := s.out; k < s.out+s.nout; k++ {
			stepNeeded[si] = stepNeeded[si] || need[k]
		}
		if stepNeeded[si] {
			for _, k := range s.in {
				need[k] = true
			}
		}
	}
	for si, ok := range stepNeeded {
		if ok {
			p.steps = append(p.steps, si)
		}
	}
	p.frees = m.lastUses(p)
	for fi, f := range m.feeds {
		if f.required && need[f.slot] {
			p.required = append(p.required, fi)
		}
	}
	sort.Ints(p.required)
	// Callers choosing ever new output lists must not grow the cache
	// without bound; past the cap a plan is rebuilt per Run.
	if m.nplans.Load() >= maxPlans {
		return p, nil
	}
	v, loaded := m.plans.LoadOrStore(key, p)
	if !loaded {
		m.nplans.Add(1)
	}
	return v.(*plan), nil
}

// lastUses lists, for each step of p, the values it makes or reads that no
// later step of p reads and the caller did not ask for: after that step
// their memory may serve another value.
func (m *Model) lastUses(p *plan) [][]int {
	fetched := make(map[int]bool, len(p.outs))
	for _, k := range p.outs {
		fetched[k] = true
	}
	last := make(map[int]int) // value → index in p.steps of its last reader or maker
	for pi, si := range p.steps {
		s := &m.steps[si]
		for k := s.out; k < s.out+s.nout; k++ {
			last[k] = pi
		}
		for _, k := range s.in {
			if _, ok := last[k]; ok {
				last[k] = pi
			}
		}
	}
	frees := make([][]int, len(p.steps))
	for k, pi := range last {
		if !fetched[k] {
			frees[pi] = append(frees[pi], k)
		}
	}
	for _, f := range frees {
		sort.Ints(f)
	}
	return frees
}
