package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/npy"
	pb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files of classify show --dir")

func servingModels(t *testing.T) string {
	t.Helper()
	d := os.Getenv("TEST_SAVEDMODELS_DIR")
	if d == "" {
		t.Skip("TEST_SAVEDMODELS_DIR is unset; set it to the folder of TF Serving's test SavedModels (CI: ../shared/savedmodels)")
	}
	return d
}

// TestShowSavedModel compares classify show --dir with goldens in
// saved_model_cli show's layout (testdata/show/*.golden; -update rewrites).
func TestShowSavedModel(t *testing.T) {
	base := servingModels(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"half_plus_two_all", []string{"--dir", "saved_model_half_plus_two_cpu/00000123", "--all"}},
		{"half_plus_two_tf2_all", []string{"--dir", "saved_model_half_plus_two_tf2_cpu/00000123", "--all"}},
		{"half_plus_three_all", []string{"--dir", "saved_model_half_plus_three/00000123", "--all"}},
		{"counter_all", []string{"--dir", "saved_model_counter/00000123", "--all"}},
		{"two_versions_all", []string{"--dir", "saved_model_half_plus_two_2_versions", "--all"}},
		{"half_plus_two_tag_sets", []string{"--dir", "saved_model_half_plus_two_cpu/00000123"}},
		{"half_plus_two_signatures", []string{"--dir", "saved_model_half_plus_two_cpu/00000123", "--tag_set", "serve"}},
		{"half_plus_two_classify", []string{"--dir", "saved_model_half_plus_two_cpu/00000123", "--tag_set", "serve", "--signature_def", "classify_x_to_y"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			tc.args[1] = filepath.Join(base, tc.args[1])
			code, stdout, stderr := runCLI(t, append([]string{"show"}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			path := filepath.Join("testdata", "show", tc.golden+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if stdout != string(want) {
				t.Errorf("output differs from %s:\n%s", path, stdout)
			}
		})
	}
}

func TestShowSavedModelErrors(t *testing.T) {
	base := servingModels(t)
	dir := filepath.Join(base, "saved_model_half_plus_two_cpu", "00000123")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"show", "--dir", dir, "--tag_set", "train"}, exitFail, `tag set "train" not found (available: "serve")`},
		{[]string{"show", "--dir", dir, "--tag_set", "serve", "--signature_def", "nope"}, exitFail, "serving_default"},
		{[]string{"show", "--dir", dir, "--graph", "g.pb"}, exitUsage, "exclude"},
		{[]string{"show", "--graph", "g.pb", "--all"}, exitUsage, "need --dir"},
		{[]string{"run", "--dir", dir, "--outdir", t.TempDir(), "--input_examples", "inputs=[1,2]"}, exitUsage, "input_examples"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestRunSavedModel runs signatures through classify run --dir and reads
// the .npy files it writes: 0.5x+2 and 0.5x+3 on x = 1, 2, 5.
func TestRunSavedModel(t *testing.T) {
	base := servingModels(t)
	tmp := t.TempDir()
	x := filepath.Join(tmp, "x.npy")
	if err := npy.WriteFile(x, classify.FromFloat32([]float32{1, 2, 5}, 3, 1)); err != nil {
		t.Fatal(err)
	}
	var x1 []string
	for i, v := range []float32{1, 2, 5} {
		p := filepath.Join(tmp, "x1_"+string(rune('a'+i))+".npy")
		if err := npy.WriteFile(p, classify.FromFloat32([]float32{v}, 1)); err != nil {
			t.Fatal(err)
		}
		x1 = append(x1, p)
	}
	examples := `inputs=[{"x":[1.0]},{"x":[2.0]},{"x":[5.0]}]`
	for _, tc := range []struct {
		name   string
		args   []string
		out    string
		offset float32
	}{
		{"tf1", []string{"--dir", "saved_model_half_plus_two_cpu", "--inputs", "x=" + x}, "y", 2},
		{"tf1 regress", []string{"--dir", "saved_model_half_plus_two_cpu", "--signature_def", "regress_x_to_y", "--input_examples", examples}, "outputs", 2},
		{"tf1 classify", []string{"--dir", "saved_model_half_plus_two_cpu", "--signature_def", "classify_x_to_y", "--tag_set", "serve", "--input_examples", examples}, "scores", 2},
		{"tf1 regress y2", []string{"--dir", "saved_model_half_plus_two_cpu", "--signature_def", "regress_x_to_y2", "--input_examples", examples}, "outputs", 3},
		{"three", []string{"--dir", "saved_model_half_plus_three/00000123", "--inputs", "x=" + x}, "y", 3},
		{"two versions", []string{"--dir", "saved_model_half_plus_two_2_versions", "--inputs", "x=" + x}, "y", 2},
		{"tf2 regress", []string{"--dir", "saved_model_half_plus_two_tf2_cpu", "--signature_def", "regress_x_to_y", "--input_examples", examples}, "outputs", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			tc.args[1] = filepath.Join(base, tc.args[1])
			code, _, stderr := runCLI(t, append(append([]string{"run"}, tc.args...), "--outdir", out)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			y, err := npy.ReadFile(filepath.Join(out, tc.out+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			if !y.Shape.Equal(classify.Shape{3, 1}) {
				t.Fatalf("shape %v", y.Shape)
			}
			for i, v := range []float32{1, 2, 5} {
				if got, want := y.Float32s()[i], 0.5*v+tc.offset; got != want {
					t.Errorf("y[%d] = %v, want %v", i, got, want)
				}
			}
		})
	}
	// TF2's serving_default takes shape (1): one run per value.
	for i, v := range []float32{1, 2, 5} {
		out := filepath.Join(t.TempDir(), "out")
		code, _, stderr := runCLI(t, "run", "--dir", filepath.Join(base, "saved_model_half_plus_two_tf2_cpu"), "--inputs", "x="+x1[i], "--outdir", out)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		y, err := npy.ReadFile(filepath.Join(out, "y.npy"))
		if err != nil {
			t.Fatal(err)
		}
		if got := y.Float32s(); len(got) != 1 || got[0] != 0.5*v+2 {
			t.Errorf("tf2 x=%v: y = %v", v, got)
		}
	}
}

// freeze writes a GraphDef that run --graph computes 0.5x+2 with.
func TestFreeze(t *testing.T) {
	base := servingModels(t)
	tmp := t.TempDir()
	g := filepath.Join(tmp, "g.pb")
	code, _, stderr := runCLI(t, "freeze", "--dir", filepath.Join(base, "saved_model_half_plus_two_cpu"), "--signature_def", "serving_default", "--out", g)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	x := filepath.Join(tmp, "x.npy")
	if err := npy.WriteFile(x, classify.FromFloat32([]float32{1, 2, 5}, 3, 1)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	if code, _, stderr := runCLI(t, "run", "--graph", g, "--input", "x="+x, "--output", "y", "--outdir", out); code != exitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	y, err := npy.ReadFile(filepath.Join(out, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float32{1, 2, 5} {
		if got := y.Float32s()[i]; got != 0.5*v+2 {
			t.Errorf("y[%d] = %v, want %v", i, got, 0.5*v+2)
		}
	}
	if code, _, _ := runCLI(t, "freeze", "--dir", filepath.Join(base, "saved_model_counter"), "--signature_def", "incr_counter", "--out", g); code != exitFail {
		t.Errorf("freezing incr_counter: exit %d, want %d", code, exitFail)
	}
}

// A SavedModel without signatures (TF Serving's TF1 half_plus_two with its
// SignatureDefs taken out) runs by tensor names with --input/--output; with
// --inputs it fails saying what is missing.
func TestRunSavedModelWithoutSignature(t *testing.T) {
	src := filepath.Join(servingModels(t), "saved_model_half_plus_two_cpu", "00000123")
	dir := filepath.Join(t.TempDir(), "nosig")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	var sm pb.SavedModel
	if err := proto.Unmarshal(data, &sm); err != nil {
		t.Fatal(err)
	}
	for _, mg := range sm.GetMetaGraphs() {
		mg.SignatureDef = nil
	}
	if data, err = proto.Marshal(&sm); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	x := filepath.Join(t.TempDir(), "x.npy")
	if err := npy.WriteFile(x, classify.FromFloat32([]float32{1, 2, 5}, 3, 1)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runCLI(t, "run", "--dir", dir, "--input", "x="+x, "--output", "y", "--outdir", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	y, err := npy.ReadFile(filepath.Join(out, "y.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float32{1, 2, 5} {
		if got := y.Float32s()[i]; got != 0.5*v+2 {
			t.Errorf("y[%d] = %v, want %v", i, got, 0.5*v+2)
		}
	}
	code, _, stderr = runCLI(t, "run", "--dir", dir, "--inputs", "x="+x, "--outdir", out)
	if code == exitOK || !strings.Contains(stderr, "signature") {
		t.Errorf("--inputs on a SavedModel without signatures: exit %d, %s", code, stderr)
	}
}
