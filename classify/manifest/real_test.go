package manifest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	_ "github.com/classifyd/classifyd/classify/engines"
	"github.com/classifyd/classifyd/classify/manifest"
)

// TestLoadDefaultModels loads the entries of models/models.yaml with the
// real engine: the committed color model from the repository, and the
// theme entry (input, output, preprocessing exactly as in the manifest)
// with its graph and labels taken from TEST_MODELS_DIR, since
// models/theme/ is fetched, not committed.
func TestLoadDefaultModels(t *testing.T) {
	m, err := manifest.Read(filepath.Join("..", "..", "models", "models.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]manifest.Model{}
	for _, e := range m.Models {
		byName[e.Name] = e
	}
	tests := []struct {
		name     string
		dir      string
		entry    func() manifest.Model
		labels   int
		inShape  classify.Shape
		needsEnv bool
	}{
		{name: "color", dir: m.Dir, entry: func() manifest.Model { return byName["color"] }, labels: 18, inShape: classify.Shape{-1, 9, 9, 3}},
		{name: "theme", needsEnv: true, entry: func() manifest.Model {
			e := byName["theme"]
			mn := filepath.Join(os.Getenv("TEST_MODELS_DIR"), "mobilenet_v1_0.25_128")
			e.Graph, e.Labels = filepath.Join(mn, "frozen_graph.pb"), filepath.Join(mn, "labels.txt")
			return e
		}, labels: 1001, inShape: classify.Shape{1, 128, 128, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needsEnv && os.Getenv("TEST_MODELS_DIR") == "" {
				t.Skip("set TEST_MODELS_DIR=/work/shared/models to load the real theme graph")
			}
			c := manifest.LoadModel(context.Background(), tt.dir, tt.entry(), manifest.LoadOptions{})
			if c.Err != nil {
				t.Fatal(c.Err)
			}
			defer c.Model.Close()
			if len(c.Labels) != tt.labels || c.Engine != "go" || c.TopK != 5 {
				t.Fatalf("%d labels, engine %q, top_k %d", len(c.Labels), c.Engine, c.TopK)
			}
			var found bool
			for _, in := range c.Info.Inputs {
				if in.Name == c.Input {
					found = true
					if !in.Shape.Compatible(classify.Shape{1, c.Preprocess.Height, c.Preprocess.Width, 3}) {
						t.Errorf("input shape %v", in.Shape)
					}
				}
			}
			if !found {
				t.Errorf("input %q not among %+v", c.Input, c.Info.Inputs)
			}
			// A uniform mid-grey input gives a proper distribution.
			x := classify.NewTensor(classify.Float32, 1, c.Preprocess.Height, c.Preprocess.Width, 3)
			labels, err := c.Classify(context.Background(), x, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(labels) != 5 || labels[0].Label == "" || labels[0].Probability <= 0 || labels[0].Probability > 1 {
				t.Fatalf("labels %+v", labels)
			}
			for _, l := range labels {
				for _, s := range c.Skip {
					if l.Index == s {
						t.Errorf("skipped index %d reported", s)
					}
				}
			}
		})
	}
}

// TestLoadRealMismatch feeds the real color graph a wrong manifest entry:
// each mistake must be caught at load with a message naming it.
func TestLoadRealMismatch(t *testing.T) {
	m, err := manifest.Read(filepath.Join("..", "..", "models", "models.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var color manifest.Model
	for _, e := range m.Models {
		if e.Name == "color" {
			color = e
		}
	}
	// A labels file of the wrong length, made here so the test needs no
	// shared files.
	labels1001 := filepath.Join(t.TempDir(), "labels.txt")
	if err := os.WriteFile(labels1001, []byte(strings.Repeat("label\n", 1001)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want string
		mod  func(e *manifest.Model)
	}{
		{"wrong size", "preprocessing makes [1,10,10,3]", func(e *manifest.Model) { e.Preprocess.Width, e.Preprocess.Height = 10, 10 }},
		{"wrong input", `"input"`, func(e *manifest.Model) { e.Input = "input" }},
		{"wrong output", `"nope"`, func(e *manifest.Model) { e.Output = "nope" }},
		{"wrong labels", "1001 labels but the model has 18 outputs", func(e *manifest.Model) { e.Labels = labels1001 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := color
			e.Preprocess = color.Preprocess
			tt.mod(&e)
			c := manifest.LoadModel(context.Background(), m.Dir, e, manifest.LoadOptions{})
			if c.Err == nil {
				c.Model.Close()
				t.Fatal("loaded")
			}
			if !strings.Contains(c.Err.Error(), tt.want) || !strings.Contains(c.Err.Error(), "model color") {
				t.Errorf("error %q does not say %q for model color", c.Err, tt.want)
			}
		})
	}
}
