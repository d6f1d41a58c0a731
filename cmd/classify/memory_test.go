package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestShowMemory: show runs a gotf model once on zeros and reports what its
// intermediate values took; bench reports the same figure.
func TestShowMemory(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{-1, 32, 32, 3})
	w := classify.NewTensor(classify.Float32, 3, 3, 3, 16)
	y := b.Op("Conv2D", "conv", []graphdef.Output{x, b.Const("w", w)}, graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "SAME", "T": classify.Float32})
	b.Op("Relu", "out", []graphdef.Output{b.Op("Neg", "neg", []graphdef.Output{y}, nil)}, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "g.pb")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "show", "--graph", path)
	if code != exitOK {
		t.Fatalf("show: exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`memory:  ([0-9.]+) MiB of intermediate values per run at batch 1`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("show printed no memory line:\n%s", stdout)
	}
	// Two 32x32x16 float32 values (64 KiB each) at most are live at once.
	if v, _ := strconv.ParseFloat(m[1], 64); v < 0.06 || v > 0.15 {
		t.Errorf("memory %s MiB, want 0.06-0.15: two 64 KiB buffers and the padding scratch, not one per node", m[1])
	}
	code, stdout, stderr = runCLI(t, "show", "--graph", path, "--json")
	if code != exitOK {
		t.Fatalf("show --json: exit %d: %s", code, stderr)
	}
	var info struct {
		Memory struct {
			Bytes int64 `json:"arena_bytes"`
			Batch int   `json:"batch"`
		} `json:"memory"`
	}
	if err := json.Unmarshal([]byte(stdout), &info); err != nil || info.Memory.Bytes < 64<<10 || info.Memory.Batch != 1 {
		t.Errorf("show --json memory %+v (%v):\n%s", info.Memory, err, stdout)
	}
}
