package ops

// The golden harness every op family's tests use: a test builds a tiny graph
// with internal/graphdef, the harness runs it with the kernels of this
// package (a minimal in-order interpreter, no engine) and compares every
// fetched tensor with the output TensorFlow.js computed for the same graph
// and inputs, stored under testdata/<case>/.
//
//	go test ./classify/gotf/internal/ops -run TestX -update
//
// recomputes the goldens: it writes the graph and inputs, runs the oracle
// (../shared/oracle/run, or $ORACLE_RUN; needs go, node and npm) and stores
// inputs and outputs as .npy. Plain test runs need neither node nor network.

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/npy"
)

var update = flag.Bool("update", false, "recompute golden outputs with the TensorFlow.js oracle")

// goldenCase is one small graph checked against the oracle.
type goldenCase struct {
	name string // directory under testdata/, unique
	// build adds the graph's nodes (Placeholders named as feeds' keys) and
	// returns the outputs to fetch ("node" or "node:1").
	build func(b *graphdef.Builder) []graphdef.Output
	// feeds are the Placeholder values, used with -update; plain runs read
	// the stored copies so that goldens and inputs cannot drift apart.
	feeds map[string]*classify.Tensor
	// atol, rtol: |got-want| <= atol + rtol*|want| for floats (defaults
	// 1e-5 and 1e-4); integers and bools must match exactly.
	atol, rtol float64
}

var fileNameRe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func fileName(node string) string { return fileNameRe.ReplaceAllString(node, "_") + ".npy" }

func runGolden(t *testing.T, c goldenCase) {
	t.Helper()
	b := graphdef.New()
	fetches := c.build(b)
	dir := filepath.Join("testdata", c.name)
	if *update {
		writeGolden(t, c, b, fetches, dir)
	}
	feeds := map[string]*classify.Tensor{}
	for name := range c.feeds {
		f, err := npy.ReadFile(filepath.Join(dir, fileName(name)))
		if err != nil {
			t.Fatalf("%s: %v (run with -update to make goldens)", c.name, err)
		}
		feeds[name] = f
	}
	var ran []ranNode
	got, err := interpretRec(b, feeds, fetches, func(n ranNode) { ran = append(ran, n) })
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	for i, f := range fetches {
		want, err := npy.ReadFile(filepath.Join(dir, "out_"+fileName(string(f))))
		if err != nil {
			t.Fatalf("%s: %v (run with -update to make goldens)", c.name, err)
		}
		if msg := compare(got[i], want, c.atol, c.rtol); msg != "" {
			t.Errorf("%s: output %s: %s", c.name, f, msg)
		}
	}
	if !t.Failed() {
		recordCoverage(t, "oracle", ran)
	}
}

func writeGolden(t *testing.T, c goldenCase, b *graphdef.Builder, fetches []graphdef.Output, dir string) {
	t.Helper()
	oracle := os.Getenv("ORACLE_RUN")
	if oracle == "" {
		root, err := filepath.Abs("../../../..")
		if err != nil {
			t.Fatal(err)
		}
		oracle = filepath.Join(root, "..", "shared", "oracle", "run")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	graph := filepath.Join(tmp, "graph.pb")
	if err := b.WriteFile(graph); err != nil {
		t.Fatal(err)
	}
	args := []string{graph, tmp}
	for name, v := range c.feeds {
		p := filepath.Join(dir, fileName(name))
		if err := npy.WriteFile(p, v); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--feed", name+"="+p)
	}
	for _, f := range fetches {
		args = append(args, "--fetch", string(f))
	}
	out, err := exec.Command(oracle, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: oracle: %v\n%s", c.name, err, out)
	}
	for _, f := range fetches {
		data, err := os.ReadFile(filepath.Join(tmp, fileName(string(f))))
		if err != nil {
			t.Fatalf("%s: oracle wrote no %s: %v\n%s", c.name, f, err, out)
		}
		if err := os.WriteFile(filepath.Join(dir, "out_"+fileName(string(f))), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// interpretRec runs the builder's nodes in the order they were added, which
// is a topological order for graphs made with graphdef.Builder, calling rec,
// when not nil, for every node that ran, so that tests can record which ops
// and dtypes they checked.
func interpretRec(b *graphdef.Builder, feeds map[string]*classify.Tensor, fetches []graphdef.Output, rec func(ranNode)) ([]*classify.Tensor, error) {
	vals := map[string][]*classify.Tensor{}
	isConst := map[string]bool{}
	arena := NewArena()
	for _, nd := range b.GraphDef().GetNode() {
		n := &Node{Name: nd.GetName(), Op: nd.GetOp(), Attr: nd.GetAttr()}
		var in []*classify.Tensor
		var consts []*classify.Tensor
		for _, s := range nd.GetInput() {
			if strings.HasPrefix(s, "^") {
				continue
			}
			name, idx := s, 0
			if i := strings.LastIndexByte(s, ':'); i >= 0 {
				name = s[:i]
				fmt.Sscan(s[i+1:], &idx)
			}
			v := vals[name]
			if idx >= len(v) {
				return nil, fmt.Errorf("node %s: input %s missing", n.Name, s)
			}
			in = append(in, v[idx])
			if isConst[name] {
				consts = append(consts, v[idx])
			} else {
				consts = append(consts, nil)
			}
		}
		n.NumInputs = len(in)
		switch n.Op {
		case "Placeholder":
			f, ok := feeds[n.Name]
			if !ok {
				return nil, fmt.Errorf("no feed for %s", n.Name)
			}
			vals[n.Name] = []*classify.Tensor{f}
			continue
		case "Const":
			v, err := graphdef.TensorFromProto(n.Attr["value"].GetTensor())
			if err != nil {
				return nil, err
			}
			vals[n.Name] = []*classify.Tensor{v}
			isConst[n.Name] = true
			continue
		}
		build, ok := Lookup(n.Op)
		if !ok {
			return nil, fmt.Errorf("node %s: %w: %s", n.Name, classify.ErrUnsupportedOp, n.Op)
		}
		op, err := build(n, consts)
		if err != nil {
			return nil, err
		}
		// Outputs come from an arena whose new buffers are poisoned,
		// as the executor's are reused: a kernel must write every
		// element. Nothing is released, so no value is overwritten.
		ctx := &Ctx{Threads: 2, Slots: make([]*classify.Tensor, 8), Arena: arena}
		arena.BeginStep(8)
		out, err := op.Run(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, t := range out {
			arena.Own(t, nil)
		}
		arena.EndStep()
		if rec != nil {
			rec(ranNode{op: n.Op, layout: string(n.Attr["data_format"].GetS()), in: in, out: out})
		}
		vals[n.Name] = out
	}
	res := make([]*classify.Tensor, len(fetches))
	for i, f := range fetches {
		name, idx := string(f), 0
		if j := strings.LastIndexByte(name, ':'); j >= 0 {
			fmt.Sscan(name[j+1:], &idx)
			name = name[:j]
		}
		if idx >= len(vals[name]) {
			return nil, fmt.Errorf("fetch %s: no such output", f)
		}
		res[i] = vals[name][idx]
	}
	return res, nil
}

// compare returns "" when got matches want within tolerance, else a
// description of the first and worst mismatch.
func compare(got, want *classify.Tensor, atol, rtol float64) string {
	if atol == 0 {
		atol = 1e-5
	}
	if rtol == 0 {
		rtol = 1e-4
	}
	if !got.Shape.Equal(want.Shape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	g, w := classifytest.Float64s(got), classifytest.Float64s(want)
	if g == nil || w == nil {
		return fmt.Sprintf("dtype %v, want %v", got.DType, want.DType)
	}
	exact := want.DType != classify.Float32 && want.DType != classify.Float64
	worst, at, bad := 0.0, -1, 0
	for i := range w {
		d := math.Abs(g[i] - w[i])
		if math.IsNaN(w[i]) && math.IsNaN(g[i]) || math.IsInf(w[i], 0) && g[i] == w[i] {
			continue
		}
		lim := atol + rtol*math.Abs(w[i])
		if exact {
			lim = 0
		}
		if d > lim || math.IsNaN(d) {
			bad++
			if d > worst || at < 0 {
				worst, at = d, i
			}
		}
	}
	if bad > 0 {
		return fmt.Sprintf("%d of %d elements differ; worst at %d: got %v want %v", bad, len(w), at, g[at], w[at])
	}
	return ""
}

// randF32 returns a deterministic float32 tensor uniform in [lo, hi).
func randF32(seed uint64, lo, hi float32, shape ...int) *classify.Tensor {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	t := classify.NewTensor(classify.Float32, shape...)
	for i, d := 0, t.Float32s(); i < len(d); i++ {
		d[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}
