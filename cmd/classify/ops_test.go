package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// classify ops lists every op the engine runs, each with how it is checked;
// --op filters and --json gives the same list as data.
func TestOpsCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "ops", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list []struct {
		Op      string   `json:"op"`
		Checked string   `json:"checked"`
		DTypes  []string `json:"dtypes"`
		Layouts []string `json:"layouts"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	byOp := map[string]int{}
	for i, o := range list {
		if o.Checked == "" {
			t.Errorf("%s: no checked-by entry", o.Op)
		}
		if i > 0 && list[i-1].Op >= o.Op {
			t.Errorf("not sorted or duplicated: %s after %s", o.Op, list[i-1].Op)
		}
		byOp[o.Op] = i
	}
	for _, op := range []string{"Conv2D", "ResizeBilinear", "While", "HashTableV2", "Placeholder"} {
		if _, ok := byOp[op]; !ok {
			t.Errorf("%s missing from classify ops", op)
		}
	}
	if c := list[byOp["Conv2D"]]; !strings.Contains(c.Checked, "oracle") || !slices.Contains(c.DTypes, "float32") || !slices.Contains(c.Layouts, "NHWC") {
		t.Errorf("Conv2D: %+v, want oracle-checked float32 NHWC", c)
	}
	code, out, _ = runCLI(t, "ops", "--op", "resizebil")
	if code != exitOK || !strings.Contains(out, "ResizeBilinear") || strings.Contains(out, "Conv2D") {
		t.Errorf("ops --op resizebil: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "ops", "extra"); code != exitUsage {
		t.Errorf("ops with an argument: exit %d, want %d", code, exitUsage)
	}
}
