package manifest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	_ "github.com/classifyd/classifyd/classify/engines"
	"github.com/classifyd/classifyd/classify/manifest"
	"github.com/classifyd/classifyd/internal/savedmodeltest"
	"github.com/classifyd/classifyd/savedmodel"
)

func TestParseSavedModelFields(t *testing.T) {
	m, err := manifest.Parse(strings.NewReader(`models:
  - name: flowers
    savedmodel: flowers
    signature: predict_images
    tags: [serve, gpu]
    labels: flowers/labels.txt
    input: images
    output: probabilities
    preprocess: {width: 3, height: 3}
`), "/m")
	if err != nil {
		t.Fatal(err)
	}
	e := m.Models[0]
	if e.Graph != "" || e.SavedModel != "flowers" || e.Signature != "predict_images" || strings.Join(e.Tags, ",") != "serve,gpu" {
		t.Fatalf("entry %+v", e)
	}
	if got := e.SavedModelPath(m.Dir); got != filepath.Join("/m", "flowers") {
		t.Errorf("SavedModelPath = %s", got)
	}
}

func writeLabels(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "labels.txt")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TF Serving's half_plus_two models are not image models (x is [-1,1]), so
// with the right keys they load, pass the key check and then fail the
// input-shape check; which version was read is recorded either way. Each
// wrong setting fails with an error naming what there is instead.
func TestLoadServingSavedModel(t *testing.T) {
	root := os.Getenv("TEST_SAVEDMODELS_DIR")
	if root == "" {
		t.Skip("TEST_SAVEDMODELS_DIR is unset; set it to the folder of TF Serving's test SavedModels (CI: ../shared/savedmodels)")
	}
	labels := writeLabels(t, "y")
	entry := func(base string, mod func(*manifest.Model)) manifest.Model {
		e := manifest.Model{Name: "hpt", SavedModel: base, Labels: labels, Input: "x", Output: "y",
			Preprocess: classify.Preprocess{Width: 1, Height: 1}}
		if mod != nil {
			mod(&e)
		}
		return e
	}
	tests := []struct {
		name    string
		entry   manifest.Model
		version int64 // of the folder read; 0 when nothing is read
		want    []string
		errIs   error
	}{
		{name: "base path", entry: entry("saved_model_half_plus_two_cpu", nil), version: 123,
			want: []string{"input x has shape [?,1], preprocessing makes [1,1,1,3]"}, errIs: classify.ErrInvalidGraph},
		{name: "newest of two versions", entry: entry("saved_model_half_plus_two_2_versions", nil), version: 124,
			want: []string{"input x has shape [?,1]"}},
		{name: "version folder named directly", entry: entry("saved_model_half_plus_two_2_versions/00000123", nil), version: -1,
			want: []string{"input x has shape [?,1]"}},
		{name: "bad signature", entry: entry("saved_model_half_plus_two_cpu", func(e *manifest.Model) { e.Signature = "predict" }),
			want: []string{`signature "predict"`, "serving_default", "regress_x_to_y", "classify_x_to_y"}, errIs: classify.ErrInvalidInput},
		{name: "bad tags", entry: entry("saved_model_half_plus_two_cpu", func(e *manifest.Model) { e.Tags = []string{"train"} }),
			want: []string{`tag set "train" not found`, `"serve"`}},
		{name: "wrong input key", entry: entry("saved_model_half_plus_two_cpu", func(e *manifest.Model) { e.Input = "x:0" }), version: 123,
			want: []string{`input "x:0" is not a key of signature "serving_default" (inputs: x)`}, errIs: classify.ErrInvalidGraph},
		{name: "wrong output key", entry: entry("saved_model_half_plus_two_cpu", func(e *manifest.Model) { e.Output = "probabilities" }), version: 123,
			want: []string{`output "probabilities" is not a key of signature "serving_default" (outputs: y)`}},
		{name: "other signature's keys", entry: entry("saved_model_half_plus_two_cpu", func(e *manifest.Model) { e.Signature = "regress_x_to_y" }), version: 123,
			want: []string{`input "x" is not a key of signature "regress_x_to_y" (inputs: inputs)`, `output "y" is not a key of signature "regress_x_to_y" (outputs: outputs)`}},
		{name: "missing", entry: entry("no_such_model", nil), want: []string{"savedmodel", "does not exist"}, errIs: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			c := manifest.LoadModel(context.Background(), root, tt.entry, manifest.LoadOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if c.Err == nil {
				c.Model.Close()
				t.Fatal("loaded; want an error")
			}
			for _, w := range append(tt.want, "model hpt") {
				if !strings.Contains(c.Err.Error(), w) {
					t.Errorf("error %q does not say %q", c.Err, w)
				}
			}
			if tt.errIs != nil && !errors.Is(c.Err, tt.errIs) {
				t.Errorf("error %v is not %v", c.Err, tt.errIs)
			}
			sm := c.Info.SavedModel
			switch {
			case tt.version == 0 && sm != nil:
				t.Errorf("nothing should have been read, Info.SavedModel = %+v", sm)
			case tt.version != 0 && (sm == nil || sm.Version != tt.version):
				t.Errorf("Info.SavedModel = %+v, want version %d", sm, tt.version)
			case tt.version > 0 && !strings.Contains(logs.String(), `"version":`+strconv.FormatInt(tt.version, 10)):
				t.Errorf("the log does not name version %d: %s", tt.version, logs.String())
			}
		})
	}
}

// redPatch is a 3x3 pure red input scaled to [0, 1].
func redPatch() *classify.Tensor {
	x := classify.NewTensor(classify.Float32, 1, 3, 3, 3)
	d := x.Float32s()
	for i := 0; i < len(d); i += 3 {
		d[i] = 1
	}
	return x
}

// An image SavedModel below a base path serves its newest version (by
// number: 10 is newer than 9) through the manifest, end to end.
func TestLoadImageSavedModel(t *testing.T) {
	base := t.TempDir()
	// Version 9 ranks the patch's colour first, version 10 last.
	for v, scale := range map[string]float32{"9": 10, "10": -10} {
		if err := savedmodeltest.MeanRGB(filepath.Join(base, v), 3, 3, scale); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(base, "tmp-11"), 0o755); err != nil { // not a version: ignored
		t.Fatal(err)
	}
	labels := writeLabels(t, "red", "green", "blue")
	for _, tc := range []struct {
		dir     string
		version int64
		top     string
	}{
		{base, 10, "green"}, // red is last; green and blue tie, lower index first
		{filepath.Join(base, "9"), -1, "red"},
	} {
		e := manifest.Model{Name: "rgb", SavedModel: tc.dir, Labels: labels, Input: "images", Output: "probabilities",
			Preprocess: classify.Preprocess{CropPixels: 3, Width: 3, Height: 3, Range: []float32{0, 1}}}
		c := manifest.LoadModel(context.Background(), "", e, manifest.LoadOptions{})
		if c.Err != nil {
			t.Fatal(c.Err)
		}
		defer c.Model.Close()
		if sm := c.Info.SavedModel; sm == nil || sm.Version != tc.version || c.Info.Signature != "serving_default" || sm.Method != savedmodeltest.Predict {
			t.Errorf("%s: Info %+v, SavedModel %+v; want version %d of serving_default", tc.dir, c.Info, sm, tc.version)
		}
		got, err := c.Classify(context.Background(), redPatch(), 3)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Label != tc.top {
			t.Errorf("%s: red patch ranked %+v, want %s first", tc.dir, got, tc.top)
		}
	}
}

// TestReadmeSavedModel loads the example entry of models/README.md's
// "Serving a SavedModel" as written, against a generated base path whose
// newest version (2) is the one that answers correctly.
func TestReadmeSavedModel(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "models", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Serving a SavedModel")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no yaml block under ### Serving a SavedModel in models/README.md")
	}
	dir := t.TempDir()
	m, err := manifest.Parse(strings.NewReader(block), dir)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Models[0]
	p := e.Preprocess
	for v, scale := range map[string]float32{"1": -10, "2": 10} {
		if err := savedmodeltest.MeanRGB(filepath.Join(e.SavedModelPath(dir), v), p.Height, p.Width, scale); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(e.LabelsPath(dir), []byte("red\ngreen\nblue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := manifest.LoadModel(context.Background(), dir, e, manifest.LoadOptions{})
	if c.Err != nil {
		t.Fatal(c.Err)
	}
	defer c.Model.Close()
	if c.Info.SavedModel.Version != 2 {
		t.Errorf("version %d loaded, want the newest, 2", c.Info.SavedModel.Version)
	}
	x := classify.NewTensor(classify.Float32, 1, p.Height, p.Width, 3)
	d := x.Float32s()
	for i := 2; i < len(d); i += 3 {
		d[i] = 1
	}
	got, err := c.Classify(context.Background(), x, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Label != "blue" {
		t.Errorf("a blue input gave %+v, want 3 labels, blue first", got)
	}
}

// A SavedModel without signatures (some TF1 exports) is served by the
// tensor names its entry gives, checked as a graph's node names are; with
// a wrong name it fails at load naming it.
func TestLoadSavedModelWithoutSignature(t *testing.T) {
	withSig := filepath.Join(t.TempDir(), "with")
	if err := savedmodeltest.MeanRGB(withSig, 3, 3, 10); err != nil {
		t.Fatal(err)
	}
	// The same graph, written again with no SignatureDef.
	sm, err := savedmodel.Open(withSig)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "nosig")
	if err := savedmodeltest.Write(dir, sm.MetaGraph.GetGraphDef(), nil); err != nil {
		t.Fatal(err)
	}
	labels := writeLabels(t, "red", "green", "blue")
	e := manifest.Model{Name: "rgb", SavedModel: dir, Labels: labels, Input: "images:0", Output: "probs",
		Preprocess: classify.Preprocess{CropPixels: 3, Width: 3, Height: 3, Range: []float32{0, 1}}}
	c := manifest.LoadModel(context.Background(), "", e, manifest.LoadOptions{})
	if c.Err != nil {
		t.Fatal(c.Err)
	}
	defer c.Model.Close()
	if c.Info.Signature != "" || c.Info.SavedModel == nil {
		t.Errorf("Info %+v: want a SavedModel served without a signature", c.Info)
	}
	got, err := c.Classify(context.Background(), redPatch(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Label != "red" {
		t.Errorf("red patch ranked %+v, want red first", got)
	}
	e.Output = "nope"
	if c := manifest.LoadModel(context.Background(), "", e, manifest.LoadOptions{}); c.Err == nil || !strings.Contains(c.Err.Error(), "nope") {
		t.Errorf("unknown output tensor: err %v, want one naming it", c.Err)
	}
}
