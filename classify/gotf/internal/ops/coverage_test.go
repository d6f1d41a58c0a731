package ops

// The coverage check: every test that compares an op's results with an
// expected value (the oracle goldens of runGolden, the references of runOp)
// records the op, dtypes and layout it checked. After a full run of the
// package TestMain fails if some registered op was never checked, and if
// coverage.txt (embedded for `classify ops`) does not match what was seen;
// -update-ops rewrites it.

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

var updateOps = flag.Bool("update-ops", false, "rewrite coverage.txt from what a full test run checked")

// ranNode is one node the interpreter ran.
type ranNode struct {
	op      string
	layout  string
	in, out []*classify.Tensor
}

type opSeen struct {
	how     map[string]bool
	dtypes  map[string]bool
	layouts map[string]bool
}

var (
	seenMu sync.Mutex
	seen   = map[string]*opSeen{}
)

// recordCoverage notes that a passing check of kind how ("oracle",
// "reference") covered the nodes ran. Fuzz targets check no values and are
// not recorded.
func recordCoverage(t testing.TB, how string, ran []ranNode) {
	if strings.HasPrefix(t.Name(), "Fuzz") {
		return
	}
	seenMu.Lock()
	defer seenMu.Unlock()
	for _, n := range ran {
		s := seen[n.op]
		if s == nil {
			s = &opSeen{how: map[string]bool{}, dtypes: map[string]bool{}, layouts: map[string]bool{}}
			seen[n.op] = s
		}
		s.how[how] = true
		for _, x := range append(slices.Clip(n.in), n.out...) {
			if x != nil {
				s.dtypes[x.DType.String()] = true
			}
		}
		if n.layout != "" {
			s.layouts[n.layout] = true
		}
	}
}

// checkedElsewhere are ops whose results only mean something inside a graph
// the engine runs (functions, loops, tables filled at load, resource
// variables, tf.Example parsing) or that are checked by kernel-level tests
// of their own; each names the tests that check them.
var checkedElsewhere = map[string]string{
	"Assert":                      "TestCheckOps",
	"EnsureShape":                 "TestCheckOps",
	"CheckNumerics":               "TestCheckNumerics",
	"Dequantize":                  "TestDequantize; classify/classifytest quantized MobileNet goldens",
	"IdentityN":                   "TestForwardOps",
	"NoOp":                        "TestNoOp",
	"PlaceholderWithDefault":      "TestForwardOps; classify/gotf TestPlaceholderWithDefault",
	"ParseExample":                "TestParseExample, TestParseExampleSparseRagged",
	"ParseExampleV2":              "TestParseExample, TestParseExampleSparseRagged",
	"MutableHashTableV2":          "classify/gotf TestSavedModelRestoredTable",
	"_FusedDepthwiseConv2dNative": "TestFusedDepthwise (against the oracle's unfused graph); MobileNet goldens",
	InvertedResidual:              "TestInvertedResidual (against the three kernels it fuses); classify/gotf TestFusion (inverted residual cases)",
}

func TestMain(m *testing.M) {
	flag.Parse()
	poisonArenas = true
	code := m.Run()
	if code == 0 && fullRun() {
		if msg := checkCoverage(); msg != "" {
			fmt.Fprintln(os.Stderr, msg)
			code = 1
		}
	}
	os.Exit(code)
}

// fullRun reports whether every test of the package ran.
func fullRun() bool {
	for _, name := range []string{"test.run", "test.skip", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}

func checkCoverage() string {
	var missing []string
	var b strings.Builder
	b.WriteString("# op\tchecked by\tdtypes seen\tlayouts seen (generated: go test ./classify/gotf/internal/ops -update-ops)\n")
	for _, op := range Registered() {
		s := seen[op]
		how := ""
		if s != nil {
			how = strings.Join(sortedKeys(s.how), "+")
		}
		if e, ok := checkedElsewhere[op]; ok {
			how = strings.TrimPrefix(how+"+test: "+e, "+")
		}
		if how == "" {
			missing = append(missing, op)
			continue
		}
		dts, lay := "-", "-"
		if s != nil && len(s.dtypes) > 0 {
			dts = strings.Join(sortedKeys(s.dtypes), ",")
		}
		if s != nil && len(s.layouts) > 0 {
			lay = strings.Join(sortedKeys(s.layouts), ",")
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", op, how, dts, lay)
	}
	if len(missing) > 0 {
		return fmt.Sprintf("ops registered without a test that checks their results (add a golden case, or a reference test through runOp): %s", strings.Join(missing, " "))
	}
	if *updateOps {
		if err := os.WriteFile("coverage.txt", []byte(b.String()), 0o644); err != nil {
			return err.Error()
		}
		return ""
	}
	if b.String() != coverageText {
		return "coverage.txt is stale: run go test ./classify/gotf/internal/ops -update-ops"
	}
	return ""
}

func sortedKeys(m map[string]bool) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

// interpretChecked is interpret for tests that check every fetched result:
// the nodes that ran are recorded as reference-checked when it succeeds.
func interpretChecked(t testing.TB, b *graphdef.Builder, feeds map[string]*classify.Tensor, fetches []graphdef.Output) ([]*classify.Tensor, error) {
	var ran []ranNode
	out, err := interpretRec(b, feeds, fetches, func(n ranNode) { ran = append(ran, n) })
	if err == nil {
		recordCoverage(t, "reference", ran)
	}
	return out, err
}
