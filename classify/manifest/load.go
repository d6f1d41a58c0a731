package manifest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/labels"
)

// LoadOptions tune Load. The zero value loads with the registered engines.
type LoadOptions struct {
	// Engine is used by entries that name no engine; "" means DefaultEngine.
	Engine string
	// NewEngine makes an engine by name; nil means classify.NewEngine.
	// Tests inject fakes here.
	NewEngine func(name string) (classify.Engine, error)
	// Threads caps the goroutines one model run may use (0 = GOMAXPROCS).
	Threads int
	// Logger receives one line per model with its load duration or error;
	// nil discards them.
	Logger *slog.Logger
}

// Load opens every model of m concurrently and returns one Classifier per
// entry, in manifest order. A model that fails (missing file, unsupported
// op, labels that do not match the output, input shape that does not match
// the preprocessing) has Err set and a nil Model; Load itself never fails, so
// the caller decides whether a partial set is acceptable. Each loaded model
// is validated with one run on a blank input, which also warms it up.
func Load(ctx context.Context, m *Manifest, o LoadOptions) []*classify.Classifier {
	out := make([]*classify.Classifier, len(m.Models))
	var wg sync.WaitGroup
	for i := range m.Models {
		wg.Go(func() { out[i] = LoadModel(ctx, m.Dir, m.Models[i], o) })
	}
	wg.Wait()
	return out
}

// LoadModel opens one manifest entry (paths resolved against dir). It never
// returns nil; on failure the Classifier's Err says why, and its Info is
// still set when the model opened but did not match the entry (so a
// SavedModel's version is known either way).
func LoadModel(ctx context.Context, dir string, e Model, o LoadOptions) *classify.Classifier {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	engine := e.Engine
	if engine == "" {
		engine = o.Engine
	}
	if engine == "" {
		engine = DefaultEngine
	}
	c := &classify.Classifier{
		Name:        e.Name,
		Engine:      engine,
		Input:       e.Input,
		Output:      e.Output,
		LabelOffset: e.LabelOffset,
		Skip:        append([]int(nil), e.Skip...),
		TopK:        e.TopK,
		Preprocess:  e.Preprocess,
	}
	if c.TopK == 0 {
		c.TopK = classify.DefaultTopK
	}
	attrs := []any{"model", e.Name, "engine", engine, "graph", e.GraphPath(dir)}
	if e.SavedModel != "" {
		attrs = []any{"model", e.Name, "engine", engine, "savedmodel", e.SavedModelPath(dir)}
	}
	start := time.Now()
	model, err := open(ctx, dir, e, engine, c, o)
	d := time.Since(start)
	if sm := c.Info.SavedModel; sm != nil {
		// Which version folder a base path resolved to is the first thing
		// an operator asks, whether it loaded or not.
		attrs = append(attrs, "signature", c.Info.Signature, "version", sm.Version, "dir", sm.Dir)
	}
	if err != nil {
		c.Err = fmt.Errorf("model %s: %w", e.Name, err)
		log.Error("model failed to load", append(attrs, "duration_ms", ms(d), "error", c.Err.Error())...)
		return c
	}
	c.Model = model
	log.Info("model loaded", append(attrs, "labels", len(c.Labels), "duration_ms", ms(d))...)
	return c
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func open(ctx context.Context, dir string, e Model, engine string, c *classify.Classifier, o LoadOptions) (_ classify.Model, err error) {
	// A panicking engine must not take the server down at start: the model
	// is reported as failed like any other load error.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: engine panicked while loading: %v", classify.ErrInvalidGraph, p)
		}
	}()
	newEngine := o.NewEngine
	if newEngine == nil {
		newEngine = classify.NewEngine
	}
	eng, err := newEngine(engine)
	if err != nil {
		return nil, err
	}
	if c.Labels, err = labels.Load(e.LabelsPath(dir)); err != nil {
		return nil, err
	}
	var model classify.Model
	if e.SavedModel != "" {
		path := e.SavedModelPath(dir)
		// A SavedModel is fed and fetched by its signature's keys; input
		// and output are tensor names only for one without signatures,
		// which the engine then runs by those names.
		model, err = eng.Open(ctx, path, classify.OpenOptions{Signature: e.Signature, Tags: e.Tags, Threads: o.Threads,
			Inputs: []string{e.Input}, Outputs: []string{e.Output}})
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("savedmodel %s does not exist: %w", path, err)
			}
			return nil, fmt.Errorf("open savedmodel %s: %w", path, err)
		}
	} else {
		graph := e.GraphPath(dir)
		model, err = eng.Open(ctx, graph, classify.OpenOptions{
			Outputs: []string{e.Output},
			Inputs:  []string{e.Input},
			Threads: o.Threads,
		})
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("graph %s does not exist (for the default theme model, run `make models`): %w", graph, err)
			}
			return nil, fmt.Errorf("open graph %s: %w", graph, err)
		}
	}
	// Info is kept even when the checks below fail, so the log and
	// /v1/models say which SavedModel version did not match its entry.
	c.Info = model.Info()
	if err := check(ctx, model, e, c.Labels); err != nil {
		model.Close()
		return nil, err
	}
	return model, nil
}

// check validates an opened model against its manifest entry.
func check(ctx context.Context, model classify.Model, e Model, names []string) error {
	p := e.Preprocess
	want := classify.Shape{1, p.Height, p.Width, 3}
	info := model.Info()
	if e.SavedModel != "" && info.Signature != "" {
		if err := checkKeys(info, e); err != nil {
			return err
		}
	}
	var in *classify.TensorInfo
	for i := range info.Inputs {
		if sameNode(info.Inputs[i].Name, e.Input) {
			in = &info.Inputs[i]
		}
	}
	if in == nil {
		var have []string
		for _, t := range info.Inputs {
			have = append(have, t.Name)
		}
		return fmt.Errorf("%w: %q is not an input of the graph (inputs: %s)", classify.ErrInvalidGraph, e.Input, strings.Join(have, ", "))
	}
	if in.DType != classify.Float32 && in.DType != classify.Invalid {
		return fmt.Errorf("%w: input %s is %v, the service feeds float32", classify.ErrInvalidGraph, e.Input, in.DType)
	}
	if !in.Shape.Compatible(want) {
		return fmt.Errorf("%w: input %s has shape %v, preprocessing makes %v", classify.ErrInvalidGraph, e.Input, in.Shape, want)
	}
	// A blank run finds the real output size even when the graph leaves it
	// dynamic, and surfaces run-time failures now rather than on the first
	// request.
	outs, err := model.Run(ctx, map[string]*classify.Tensor{e.Input: classify.NewTensor(classify.Float32, want...)}, []string{e.Output})
	if err != nil {
		return fmt.Errorf("trial run: %w", err)
	}
	if len(outs) != 1 || outs[0] == nil || len(outs[0].Shape) == 0 {
		return fmt.Errorf("%w: trial run gave no usable %s output", classify.ErrInvalidGraph, e.Output)
	}
	out := outs[0]
	if out.DType != classify.Float32 && out.DType != classify.Float64 {
		return fmt.Errorf("%w: output %s is %v, want float probabilities", classify.ErrInvalidGraph, e.Output, out.DType)
	}
	n := out.Shape[len(out.Shape)-1]
	if out.Shape.NumElements() != n {
		return fmt.Errorf("%w: output %s has shape %v for one image, want one row", classify.ErrInvalidGraph, e.Output, out.Shape)
	}
	if err := labels.Check(names, n, e.LabelOffset); err != nil {
		return fmt.Errorf("labels %s: %w", e.Labels, err)
	}
	for _, s := range e.Skip {
		if s >= n {
			return fmt.Errorf("%w: skip index %d is beyond the %d outputs", ErrInvalid, s, n)
		}
	}
	return nil
}

// checkKeys validates a SavedModel entry's input and output against the
// signature the engine serves (a SavedModel served without one, by tensor
// names, is checked as a graph is). Keys are matched exactly: unlike node names,
// "x" and "x:0" are different keys.
func checkKeys(info classify.ModelInfo, e Model) error {
	var problems []string
	for _, f := range [...]struct {
		what, key string
		have      []classify.TensorInfo
	}{{"input", e.Input, info.Inputs}, {"output", e.Output, info.Outputs}} {
		var keys []string
		found := false
		for _, t := range f.have {
			keys = append(keys, t.Name)
			found = found || t.Name == f.key
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s %q is not a key of signature %q (%ss: %s)", f.what, f.key, info.Signature, f.what, strings.Join(keys, ", ")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", classify.ErrInvalidGraph, strings.Join(problems, "; "))
	}
	return nil
}

// sameNode compares tensor names where "x" and "x:0" mean the same.
func sameNode(a, b string) bool {
	return strings.TrimSuffix(a, ":0") == strings.TrimSuffix(b, ":0")
}

// Close closes every loaded model and returns the errors joined.
func Close(cs []*classify.Classifier) error {
	var errs []error
	for _, c := range cs {
		if c != nil && c.Model != nil {
			if err := c.Model.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", c.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
