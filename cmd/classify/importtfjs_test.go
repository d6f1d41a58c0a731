package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/npy"
)

// TestImportTFJS converts a one-op TensorFlow.js graph model (x * w, w a
// float16 weight) and runs the GraphDef it writes with `classify run`.
func TestImportTFJS(t *testing.T) {
	d := t.TempDir()
	model := `{"format":"graph-model","modelTopology":{"node":[
{"name":"x","op":"Placeholder","attr":{"dtype":{"type":"DT_FLOAT"},"shape":{"shape":{"dim":[{"size":"-1"},{"size":"2"}]}}}},
{"name":"w","op":"Const","attr":{"dtype":{"type":"DT_FLOAT"},"value":{"tensor":{"dtype":"DT_FLOAT","tensorShape":{"dim":[{"size":"2"}]}}}}},
{"name":"y","op":"Mul","input":["x","w"],"attr":{"T":{"type":"DT_FLOAT"}}}]},
"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[{"name":"w","shape":[2],"dtype":"float32","quantization":{"dtype":"float16"}}]}]}`
	if err := os.WriteFile(filepath.Join(d, "model.json"), []byte(model), 0o644); err != nil {
		t.Fatal(err)
	}
	// float16 0.5 and -3.
	if err := os.WriteFile(filepath.Join(d, "group1-shard1of1.bin"), []byte{0x00, 0x38, 0x00, 0xc2}, 0o644); err != nil {
		t.Fatal(err)
	}
	pb := filepath.Join(d, "frozen_graph.pb")
	code, out, errOut := runCLI(t, "import-tfjs", "--model", filepath.Join(d, "model.json"), "--out", pb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"3 nodes", "input\tx\tfloat32\t[?,2]", "output\ty\t?\t<unknown rank>"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	x := filepath.Join(d, "x.npy")
	xt := classify.FromFloat32([]float32{2, 1, -4, 0.5}, 2, 2)
	if err := npy.WriteFile(x, xt); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "run", "--graph", pb, "--input", "x="+x, "--output", "y", "--outdir", d); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	y, err := npy.ReadFile(filepath.Join(d, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	got := y.Data.([]float32)
	for i, want := range []float32{1, -3, -2, -1.5} {
		if got[i] != want {
			t.Errorf("y[%d] = %v, want %v", i, got[i], want)
		}
	}

	// Errors: a missing flag is a usage error, a shard of the wrong size a
	// failure naming it.
	if code, _, _ := runCLI(t, "import-tfjs", "--model", filepath.Join(d, "model.json")); code != exitUsage {
		t.Errorf("without --out: exit %d, want %d", code, exitUsage)
	}
	if err := os.WriteFile(filepath.Join(d, "group1-shard1of1.bin"), []byte{0, 0x38, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, "import-tfjs", "--model", filepath.Join(d, "model.json"), "--out", pb)
	if code != exitFail || !strings.Contains(errOut, "shards hold 3 bytes, the manifest declares 4") {
		t.Errorf("short shard: exit %d, %q", code, errOut)
	}
}
