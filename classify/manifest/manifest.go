// Package manifest reads the model manifest (models/models.yaml) and turns
// its entries into loaded classify.Classifier values.
//
// A manifest is YAML:
//
//	models:
//	  - name: color
//	    graph: color/color.pb       # relative to the manifest's directory
//	    labels: color/labels.txt
//	    input: patch
//	    output: probabilities
//	    top_k: 5
//	    preprocess: {crop_pixels: 9, width: 9, height: 9, range: [0, 1]}
//	  - name: flowers
//	    savedmodel: flowers         # a SavedModel directory, or a TF Serving base path
//	    signature: serving_default  # the default; tags default to [serve]
//	    labels: flowers/labels.txt
//	    input: images               # signature keys, not node names
//	    output: probabilities
//	    preprocess: {crop_fraction: 0.8, width: 224, height: 224, range: [0, 1]}
//
// An entry names either a frozen graph (graph) or a SavedModel (savedmodel).
// A base path's numeric version folders are versions of one model; the
// newest is loaded, once, at start.
//
// Parsing is strict (unknown fields and impossible values are errors naming
// the model), because a typo in a preprocessing field would otherwise give
// silently wrong answers. Loading is lenient per model: a model whose graph or
// labels cannot be loaded becomes a Classifier with Err set, and the others
// still serve. Nothing here holds state; all functions are safe for
// concurrent use.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/classifyd/classifyd/classify"
)

// ErrInvalid is wrapped by every error about the manifest's own content
// (syntax, unknown fields, impossible values, duplicate names).
var ErrInvalid = errors.New("invalid manifest")

// DefaultEngine is the engine a model uses when its entry names none.
const DefaultEngine = "go"

// Manifest is a parsed model manifest.
type Manifest struct {
	// Dir is the directory relative paths are resolved against (the
	// manifest file's directory).
	Dir    string  `yaml:"-"`
	Models []Model `yaml:"models"`
}

// Model is one entry of the manifest, as written (paths not yet resolved).
type Model struct {
	Name        string              `yaml:"name"`
	Graph       string              `yaml:"graph"`
	SavedModel  string              `yaml:"savedmodel"` // exclusive with Graph
	Signature   string              `yaml:"signature"`  // SavedModel only
	Tags        []string            `yaml:"tags"`       // SavedModel only
	Labels      string              `yaml:"labels"`
	Input       string              `yaml:"input"`
	Output      string              `yaml:"output"`
	LabelOffset int                 `yaml:"label_offset"`
	Skip        []int               `yaml:"skip"`
	TopK        int                 `yaml:"top_k"`
	Engine      string              `yaml:"engine"`
	Preprocess  classify.Preprocess `yaml:"preprocess"`
}

// GraphPath is the graph file's path, resolved against dir.
func (m *Model) GraphPath(dir string) string { return resolve(dir, m.Graph) }

// SavedModelPath is the SavedModel directory (or base path), resolved
// against dir.
func (m *Model) SavedModelPath(dir string) string { return resolve(dir, m.SavedModel) }

// LabelsPath is the labels file's path, resolved against dir.
func (m *Model) LabelsPath(dir string) string { return resolve(dir, m.Labels) }

func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// maxManifest bounds the file read; a manifest is a few kilobytes.
const maxManifest = 1 << 20

// Read parses the manifest file at path; relative paths inside it resolve
// against its directory.
func Read(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	m, err := Parse(f, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	return m, nil
}

// Parse reads a manifest from r, resolving relative paths against dir, and
// validates it (see Validate). Errors wrap ErrInvalid.
func Parse(r io.Reader, dir string) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxManifest {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, maxManifest)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	m.Dir = dir
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// nameRE keeps model names safe to use in URLs, form fields and metric
// labels.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Validate checks every entry and reports all problems at once, so a user
// fixes the manifest in one go. Errors wrap ErrInvalid.
func (m *Manifest) Validate() error {
	var errs []error
	if len(m.Models) == 0 {
		errs = append(errs, errors.New("no models"))
	}
	seen := map[string]bool{}
	for i := range m.Models {
		e := &m.Models[i]
		who := fmt.Sprintf("model %d", i+1)
		if e.Name != "" {
			who = fmt.Sprintf("model %q", e.Name)
		}
		for _, err := range e.problems() {
			errs = append(errs, fmt.Errorf("%s: %w", who, err))
		}
		if seen[e.Name] && e.Name != "" {
			errs = append(errs, fmt.Errorf("%s: duplicate name", who))
		}
		seen[e.Name] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

func (e *Model) problems() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case e.Name == "":
		bad("name is missing")
	case !nameRE.MatchString(e.Name):
		bad("name must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit")
	}
	graph, sm := strings.TrimSpace(e.Graph) != "", strings.TrimSpace(e.SavedModel) != ""
	switch {
	case graph && sm:
		bad("graph and savedmodel are exclusive")
	case !graph && !sm:
		bad("graph is missing (or savedmodel, for a SavedModel directory)")
	case graph && (e.Signature != "" || len(e.Tags) > 0):
		bad("signature and tags apply to a savedmodel, not a graph")
	}
	for _, tag := range e.Tags {
		if strings.TrimSpace(tag) == "" {
			bad("tags has an empty tag")
		}
	}
	for _, f := range [...]struct{ name, v string }{{"labels", e.Labels}, {"input", e.Input}, {"output", e.Output}} {
		if strings.TrimSpace(f.v) == "" {
			bad("%s is missing", f.name)
		}
	}
	if e.LabelOffset < 0 {
		bad("label_offset %d is negative", e.LabelOffset)
	}
	for _, s := range e.Skip {
		if s < 0 {
			bad("skip index %d is negative", s)
		}
	}
	if e.TopK < 0 {
		bad("top_k %d is negative", e.TopK)
	}
	for _, err := range PreprocessProblems(e.Preprocess) {
		errs = append(errs, fmt.Errorf("preprocess: %w", err))
	}
	return errs
}

// maxSide bounds a model's input side; larger inputs are almost surely a
// typo and would cost a lot of memory per request.
const maxSide = 4096

// PreprocessProblems lists what is wrong with p (nil when it is usable).
func PreprocessProblems(p classify.Preprocess) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.Width <= 0 || p.Height <= 0 || p.Width > maxSide || p.Height > maxSide {
		bad("width and height must be 1..%d, got %dx%d", maxSide, p.Width, p.Height)
	}
	if p.CropFraction < 0 || p.CropFraction > 1 {
		bad("crop_fraction %g is outside (0, 1]", p.CropFraction)
	}
	if p.CropPixels < 0 {
		bad("crop_pixels %d is negative", p.CropPixels)
	}
	if p.CropFraction > 0 && p.CropPixels > 0 {
		bad("crop_fraction and crop_pixels are exclusive")
	}
	switch strings.ToLower(p.Resize) {
	case "", "bilinear", "nearest", "box", "catmullrom", "lanczos":
	default:
		bad("resize %q is not one of bilinear, nearest, box, catmullrom, lanczos", p.Resize)
	}
	switch strings.ToUpper(p.Channels) {
	case "", "RGB", "BGR":
	default:
		bad("channels %q is not RGB or BGR", p.Channels)
	}
	if len(p.Range) != 0 {
		if len(p.Range) != 2 {
			bad("range needs two values [low, high], got %d", len(p.Range))
		} else if p.Range[0] == p.Range[1] {
			bad("range [%g, %g] is empty", p.Range[0], p.Range[1])
		}
		if len(p.Mean) != 0 || len(p.Std) != 0 {
			bad("range and mean/std are exclusive")
		}
	}
	for _, f := range [...]struct {
		name string
		v    []float32
	}{{"mean", p.Mean}, {"std", p.Std}} {
		if n := len(f.v); n != 0 && n != 1 && n != 3 {
			bad("%s needs 1 or 3 values, got %d", f.name, n)
		}
	}
	for _, s := range p.Std {
		if s == 0 {
			bad("std has a zero")
		}
	}
	return errs
}
