package gotf

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/npy"
)

var update = flag.Bool("update", false, "recompute the control-flow goldens with the TensorFlow.js oracle (needs node)")

var goldenName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// TestControlFlowGoldens runs the control-flow graphs TensorFlow.js can
// execute (functional While, with TensorLists too; it lacks PartitionedCall
// and Case, and fails inside its own StatelessIf on our graphs) on stored
// inputs and compares with what the
// oracle computed from the same graph and inputs, stored beside them.
func TestControlFlowGoldens(t *testing.T) {
	for _, c := range []struct {
		name    string
		b       *graphdef.Builder
		feeds   map[string]*classify.Tensor
		fetches []string
	}{
		{"while_count", countingGraph("StatelessWhile", false),
			map[string]*classify.Tensor{"n": scalarI32(6), "acc": randTensor(21, 5)}, []string{"loop:2"}},
		{"while_tensorlist", rnnGraph(), map[string]*classify.Tensor{"x": randTensor(22, 7, 3)}, []string{"out"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, wants := runControlGolden(t, c.name, c.b, c.feeds, c.fetches)
			for i, f := range c.fetches {
				want := wants[i]
				if !got[i].Shape.Equal(want.Shape) {
					t.Fatalf("%s: shape %v, oracle %v", f, got[i].Shape, want.Shape)
				}
				// Sums and doublings of float32 in the same order: exact
				// but for last-bit rounding.
				if d := maxDiff(got[i], want); d > 1e-5 {
					t.Errorf("%s: max |got-oracle| = %g", f, d)
				}
			}
		})
	}
}

// runControlGolden runs b on the stored inputs of golden case name (making
// them first with -update) and returns its fetches beside the oracle's.
func runControlGolden(t *testing.T, name string, b *graphdef.Builder, feeds map[string]*classify.Tensor, fetches []string) (got, want []*classify.Tensor) {
	t.Helper()
	dir := filepath.Join("testdata", "controlflow", name)
	if *update {
		writeControlGolden(t, b, feeds, fetches, dir)
	}
	stored := map[string]*classify.Tensor{}
	for name := range feeds {
		f, err := npy.ReadFile(filepath.Join(dir, goldenName.ReplaceAllString(name, "_")+".npy"))
		if err != nil {
			t.Fatalf("%v (run with -update to make goldens)", err)
		}
		stored[name] = f
	}
	m := openBuilder(t, b, classify.OpenOptions{Outputs: fetches})
	got, err := m.Run(context.Background(), stored, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fetches {
		w, err := npy.ReadFile(filepath.Join(dir, "out_"+goldenName.ReplaceAllString(f, "_")+".npy"))
		if err != nil {
			t.Fatalf("%v (run with -update to make goldens)", err)
		}
		want = append(want, w)
	}
	return got, want
}

func writeControlGolden(t *testing.T, b *graphdef.Builder, feeds map[string]*classify.Tensor, fetches []string, dir string) {
	t.Helper()
	oracle := os.Getenv("ORACLE_RUN")
	if oracle == "" {
		root, err := filepath.Abs("../..")
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
	for name, v := range feeds {
		p := filepath.Join(dir, goldenName.ReplaceAllString(name, "_")+".npy")
		if err := npy.WriteFile(p, v); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--feed", name+"="+p)
	}
	for _, f := range fetches {
		args = append(args, "--fetch", f)
	}
	out, err := exec.Command(oracle, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, out)
	}
	for _, f := range fetches {
		name := goldenName.ReplaceAllString(f, "_") + ".npy"
		data, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			t.Fatalf("oracle wrote no %s: %v\n%s", f, err, out)
		}
		if err := os.WriteFile(filepath.Join(dir, "out_"+name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
