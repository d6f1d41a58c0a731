package manifest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/manifest"
)

const colorEntry = `
  - name: color
    graph: color/color.pb
    labels: color/labels.txt
    input: patch
    output: probabilities
    top_k: 5
    preprocess: {crop_pixels: 9, width: 9, height: 9, range: [0, 1]}
`

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr []string // substrings of the error; nil = valid
	}{
		{name: "color", yaml: "models:" + colorEntry},
		{name: "theme", yaml: `models:
  - name: theme
    graph: /abs/frozen_graph.pb
    labels: theme/labels.txt
    input: input
    output: MobilenetV1/Predictions/Reshape_1
    label_offset: 0
    skip: [0]
    engine: tensorflow
    preprocess:
      crop_fraction: 0.8
      width: 128
      height: 128
      mean: [127.5]
      std: [127.5, 127.5, 127.5]
      channels: BGR
      resize: lanczos
`},
		{name: "empty", yaml: "", wantErr: []string{"empty"}},
		{name: "no models", yaml: "models: []", wantErr: []string{"no models"}},
		{name: "unknown field", yaml: "models:" + strings.Replace(colorEntry, "top_k", "topk", 1), wantErr: []string{"topk"}},
		{name: "unknown preprocess field", yaml: "models:" + strings.Replace(colorEntry, "crop_pixels", "crop_px", 1), wantErr: []string{"crop_px"}},
		{name: "duplicate", yaml: "models:" + colorEntry + colorEntry, wantErr: []string{"duplicate name"}},
		{name: "missing fields", yaml: "models:\n  - name: x\n    preprocess: {width: 1, height: 1}\n",
			wantErr: []string{"graph is missing", "labels is missing", "input is missing", "output is missing"}},
		{name: "savedmodel", yaml: "models:" + strings.Replace(colorEntry, "graph: color/color.pb", "savedmodel: color\n    signature: predict\n    tags: [serve, gpu]", 1)},
		{name: "graph and savedmodel", yaml: "models:" + strings.Replace(colorEntry, "graph: color/color.pb", "graph: g.pb\n    savedmodel: sm", 1), wantErr: []string{"graph and savedmodel are exclusive"}},
		{name: "signature on a graph", yaml: "models:" + strings.Replace(colorEntry, "top_k: 5", "signature: serving_default", 1), wantErr: []string{"signature and tags apply to a savedmodel"}},
		{name: "tags on a graph", yaml: "models:" + strings.Replace(colorEntry, "top_k: 5", "tags: [serve]", 1), wantErr: []string{"signature and tags apply to a savedmodel"}},
		{name: "empty tag", yaml: "models:" + strings.Replace(colorEntry, "graph: color/color.pb", "savedmodel: sm\n    tags: [serve, '']", 1), wantErr: []string{"empty tag"}},
		{name: "bad name", yaml: "models:" + strings.Replace(colorEntry, "name: color", "name: 'a b'", 1), wantErr: []string{"name must be"}},
		{name: "no size", yaml: "models:" + strings.Replace(colorEntry, "width: 9, height: 9", "width: 0", 1), wantErr: []string{"width and height"}},
		{name: "both crops", yaml: "models:" + strings.Replace(colorEntry, "crop_pixels: 9", "crop_pixels: 9, crop_fraction: 0.5", 1), wantErr: []string{"exclusive"}},
		{name: "fraction too big", yaml: "models:" + strings.Replace(colorEntry, "crop_pixels: 9", "crop_fraction: 1.5", 1), wantErr: []string{"crop_fraction 1.5"}},
		{name: "range one value", yaml: "models:" + strings.Replace(colorEntry, "[0, 1]", "[1]", 1), wantErr: []string{"two values"}},
		{name: "range and mean", yaml: "models:" + strings.Replace(colorEntry, "range: [0, 1]", "range: [0, 1], mean: [1]", 1), wantErr: []string{"range and mean/std"}},
		{name: "zero std", yaml: "models:" + strings.Replace(colorEntry, "range: [0, 1]", "std: [0]", 1), wantErr: []string{"std has a zero"}},
		{name: "bad channels", yaml: "models:" + strings.Replace(colorEntry, "range: [0, 1]", "channels: RGBA", 1), wantErr: []string{"channels"}},
		{name: "negative", yaml: "models:" + strings.Replace(colorEntry, "top_k: 5", "top_k: -1\n    label_offset: -2\n    skip: [-3]", 1),
			wantErr: []string{"top_k -1", "label_offset -2", "skip index -3"}},
		{name: "not yaml", yaml: "models: [", wantErr: []string{"invalid manifest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Parse(strings.NewReader(tt.yaml), "/models")
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Models) != 1 || m.Dir != "/models" {
					t.Fatalf("got %+v", m)
				}
				return
			}
			if !errors.Is(err, manifest.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	m, err := manifest.Parse(strings.NewReader(`models:
  - name: theme
    graph: theme/g.pb
    labels: /abs/labels.txt
    input: input
    output: out
    label_offset: 1
    skip: [0, 7]
    top_k: 3
    engine: tensorflow
    preprocess: {crop_fraction: 0.8, width: 128, height: 96, range: [-1, 1]}
`), "/m")
	if err != nil {
		t.Fatal(err)
	}
	e := m.Models[0]
	want := manifest.Model{Name: "theme", Graph: "theme/g.pb", Labels: "/abs/labels.txt", Input: "input", Output: "out",
		LabelOffset: 1, Skip: []int{0, 7}, TopK: 3, Engine: "tensorflow",
		Preprocess: classify.Preprocess{CropFraction: 0.8, Width: 128, Height: 96, Range: []float32{-1, 1}}}
	if fmt.Sprint(e) != fmt.Sprint(want) {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
	if got := e.GraphPath(m.Dir); got != filepath.Join("/m", "theme/g.pb") {
		t.Errorf("GraphPath = %s", got)
	}
	if got := e.LabelsPath(m.Dir); got != "/abs/labels.txt" {
		t.Errorf("LabelsPath = %s", got)
	}
}

// TestDefaultManifest keeps models/models.yaml parseable and pointing at the
// agreed default models.
func TestDefaultManifest(t *testing.T) {
	m, err := manifest.Read(filepath.Join("..", "..", "models", "models.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range m.Models {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, ","); got != "theme,color" {
		t.Fatalf("models %s, want theme,color", got)
	}
	if _, err := os.Stat(m.Models[1].LabelsPath(m.Dir)); err != nil {
		t.Logf("color labels not there yet (made by cmd/colorgen): %v", err)
	}
}

// fakeEngine opens any existing file as a model with one float32 input
// "in" of shape inShape and an output of outN probabilities.
type fakeEngine struct {
	inShape classify.Shape
	outN    int
	runErr  error
	// inDType and outDType default to float32.
	inDType, outDType classify.DType
}

func (e *fakeEngine) Name() string { return "fake" }
func (e *fakeEngine) Open(ctx context.Context, path string, o classify.OpenOptions) (classify.Model, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	if len(o.Outputs) != 1 || o.Outputs[0] != "out" {
		return nil, fmt.Errorf("%w: outputs %v", classify.ErrInvalidGraph, o.Outputs)
	}
	return &fakeModel{e: e}, nil
}

type fakeModel struct {
	e      *fakeEngine
	closed bool
}

func (m *fakeModel) Info() classify.ModelInfo {
	dt := m.e.inDType
	if dt == classify.Invalid {
		dt = classify.Float32
	}
	return classify.ModelInfo{Engine: "fake", Inputs: []classify.TensorInfo{{Name: "in", DType: dt, Shape: m.e.inShape}}}
}
func (m *fakeModel) Close() error { m.closed = true; return nil }
func (m *fakeModel) Run(ctx context.Context, in map[string]*classify.Tensor, out []string) ([]*classify.Tensor, error) {
	if m.e.runErr != nil {
		return nil, m.e.runErr
	}
	if err := in["in"].Validate(); err != nil {
		return nil, err
	}
	dt := m.e.outDType
	if dt == classify.Invalid {
		dt = classify.Float32
	}
	return []*classify.Tensor{classify.NewTensor(dt, 1, m.e.outN)}, nil
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("g.pb", "graph")
	write("three.txt", "a\nb\nc\n")
	write("four.txt", "0:bg\n1:a\n2:b\n3:c\n")
	entry := func(mod func(*manifest.Model)) manifest.Model {
		e := manifest.Model{Name: "m", Graph: "g.pb", Labels: "three.txt", Input: "in", Output: "out",
			Engine: "fake", Preprocess: classify.Preprocess{Width: 4, Height: 2}}
		if mod != nil {
			mod(&e)
		}
		return e
	}
	good := &fakeEngine{inShape: classify.Shape{-1, 2, 4, 3}, outN: 3}
	tests := []struct {
		name    string
		entry   manifest.Model
		engine  *fakeEngine
		wantErr string
		errIs   error
	}{
		{name: "ok", entry: entry(nil), engine: good},
		{name: "offset labels", entry: entry(func(e *manifest.Model) { e.Labels = "four.txt"; e.Skip = []int{0} }),
			engine: &fakeEngine{inShape: classify.Shape{1, 2, 4, 3}, outN: 4}},
		{name: "unknown rank input", entry: entry(nil), engine: &fakeEngine{outN: 3}},
		{name: "missing graph", entry: entry(func(e *manifest.Model) { e.Graph = "nope.pb" }), engine: good, wantErr: "make models", errIs: os.ErrNotExist},
		{name: "missing labels", entry: entry(func(e *manifest.Model) { e.Labels = "nope.txt" }), engine: good, errIs: os.ErrNotExist},
		{name: "label count", entry: entry(func(e *manifest.Model) { e.Labels = "four.txt" }), engine: good, wantErr: "4 labels but the model has 3 outputs"},
		{name: "label offset count", entry: entry(func(e *manifest.Model) { e.LabelOffset = 1 }), engine: good, wantErr: "cover 4 outputs"},
		{name: "input shape", entry: entry(func(e *manifest.Model) { e.Preprocess.Width = 5 }), engine: good, wantErr: "preprocessing makes [1,2,5,3]", errIs: classify.ErrInvalidGraph},
		{name: "input name", entry: entry(func(e *manifest.Model) { e.Input = "x" }), engine: good, wantErr: `"x" is not an input`, errIs: classify.ErrInvalidGraph},
		{name: "skip beyond", entry: entry(func(e *manifest.Model) { e.Skip = []int{3} }), engine: good, wantErr: "skip index 3"},
		{name: "run fails", entry: entry(nil), engine: &fakeEngine{inShape: classify.Shape{1, 2, 4, 3}, outN: 3, runErr: classify.ErrUnsupportedOp}, errIs: classify.ErrUnsupportedOp},
		// The service feeds float32 images and reads float scores: a
		// complex tensor at either end fails at load, naming the dtype.
		{name: "complex input", entry: entry(nil), engine: &fakeEngine{inShape: classify.Shape{1, 2, 4, 3}, outN: 3, inDType: classify.Complex64},
			wantErr: "input in is complex64, the service feeds float32", errIs: classify.ErrInvalidGraph},
		{name: "complex output", entry: entry(nil), engine: &fakeEngine{inShape: classify.Shape{1, 2, 4, 3}, outN: 3, outDType: classify.Complex128},
			wantErr: "output out is complex128, want float probabilities", errIs: classify.ErrInvalidGraph},
		{name: "no engine", entry: entry(func(e *manifest.Model) { e.Engine = "tensorflow" }), engine: good, errIs: classify.ErrEngineUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := manifest.LoadOptions{NewEngine: func(name string) (classify.Engine, error) {
				if name != "fake" {
					return nil, fmt.Errorf("engine %q: %w", name, classify.ErrEngineUnavailable)
				}
				return tt.engine, nil
			}}
			c := manifest.LoadModel(context.Background(), dir, tt.entry, o)
			if tt.wantErr == "" && tt.errIs == nil {
				if c.Err != nil {
					t.Fatal(c.Err)
				}
				if !c.Ready() || c.TopK != classify.DefaultTopK || c.Info.Engine != "fake" {
					t.Fatalf("classifier %+v", c)
				}
				return
			}
			if c.Err == nil || c.Model != nil {
				t.Fatalf("loaded (err %v), want a failure", c.Err)
			}
			if !strings.Contains(c.Err.Error(), tt.wantErr) {
				t.Errorf("err %q does not mention %q", c.Err, tt.wantErr)
			}
			if tt.errIs != nil && !errors.Is(c.Err, tt.errIs) {
				t.Errorf("err %v is not %v", c.Err, tt.errIs)
			}
			if !strings.Contains(c.Err.Error(), "model m") {
				t.Errorf("err %q does not name the model", c.Err)
			}
		})
	}
}

func TestLoadPartial(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "g.pb"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "l.txt"), []byte("a\nb\n"), 0o644)
	m := &manifest.Manifest{Dir: dir, Models: []manifest.Model{
		{Name: "a", Graph: "g.pb", Labels: "l.txt", Input: "in", Output: "out", Preprocess: classify.Preprocess{Width: 1, Height: 1}},
		{Name: "b", Graph: "missing.pb", Labels: "l.txt", Input: "in", Output: "out", Preprocess: classify.Preprocess{Width: 1, Height: 1}},
		{Name: "c", Graph: "g.pb", Labels: "l.txt", Input: "in", Output: "out", Preprocess: classify.Preprocess{Width: 1, Height: 1}},
	}}
	eng := &fakeEngine{outN: 2}
	var asked []string
	cs := manifest.Load(context.Background(), m, manifest.LoadOptions{Engine: "fake", NewEngine: func(name string) (classify.Engine, error) {
		if name != "fake" {
			asked = append(asked, name)
		}
		return eng, nil
	}})
	if len(cs) != 3 || cs[0].Name != "a" || cs[1].Name != "b" || cs[2].Name != "c" {
		t.Fatalf("classifiers %v not in manifest order", cs)
	}
	if !cs[0].Ready() || cs[1].Ready() || !cs[2].Ready() {
		t.Fatalf("ready = %v %v %v, want true false true", cs[0].Ready(), cs[1].Ready(), cs[2].Ready())
	}
	if len(asked) != 0 {
		t.Errorf("LoadOptions.Engine ignored; asked for %v", asked)
	}
	if err := manifest.Close(cs); err != nil {
		t.Fatal(err)
	}
	if !cs[0].Model.(*fakeModel).closed {
		t.Error("Close did not close the models")
	}
}
