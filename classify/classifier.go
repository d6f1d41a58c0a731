package classify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultTopK is how many labels a classifier reports when neither the
// request nor the manifest says.
const DefaultTopK = 5

// Classifier is one configured model: its graph, labels and preprocessing.
// It is built once at start (by package manifest) and then only read, so
// one Classifier may serve any number of concurrent requests as long as
// its Model is safe for concurrent use (which the Model contract demands).
type Classifier struct {
	Name        string
	Engine      string
	Model       Model // nil when Err != nil
	Err         error // why the model failed to load (it is then reported, not served)
	Input       string
	Output      string
	Labels      []string
	LabelOffset int
	Skip        []int
	TopK        int
	Preprocess  Preprocess
	// Info describes the loaded model; it is also set when the model
	// opened but failed its checks against the manifest (so a SavedModel's
	// signature and version can still be reported), and empty otherwise.
	Info ModelInfo
}

// Ready reports whether the classifier loaded and can serve requests.
func (c *Classifier) Ready() bool { return c != nil && c.Err == nil && c.Model != nil }

// Classify runs the model on one prepared input tensor and returns the top k
// labels, highest probability first. k <= 0 means the classifier's TopK
// (DefaultTopK when that is unset too). The output must be float32 or
// float64 probabilities with one row (shape [N] or [1,N]).
func (c *Classifier) Classify(ctx context.Context, x *Tensor, k int) ([]Label, error) {
	if !c.Ready() {
		cause := c.Err
		if cause == nil {
			cause = errors.New("no model loaded")
		}
		return nil, fmt.Errorf("classifier %s: %w: %w", c.Name, ErrModelUnavailable, cause)
	}
	if k <= 0 {
		k = c.TopK
	}
	if k <= 0 {
		k = DefaultTopK
	}
	outs, err := c.Model.Run(ctx, map[string]*Tensor{c.Input: x}, []string{c.Output})
	if err != nil {
		return nil, fmt.Errorf("classifier %s: run: %w", c.Name, err)
	}
	if len(outs) != 1 || outs[0] == nil {
		return nil, fmt.Errorf("classifier %s: %w: engine returned %d outputs for 1 requested", c.Name, ErrInvalidGraph, len(outs))
	}
	probs, err := probabilities(outs[0])
	if err != nil {
		return nil, fmt.Errorf("classifier %s: output %s: %w", c.Name, c.Output, err)
	}
	return TopK(probs, c.Labels, c.LabelOffset, k, c.Skip...), nil
}

// probabilities extracts the single row of class scores from a model output.
func probabilities(t *Tensor) ([]float32, error) {
	rows := 1
	if len(t.Shape) > 1 {
		rows = t.Shape.NumElements() / max(t.Shape[len(t.Shape)-1], 1)
	}
	if rows != 1 {
		return nil, fmt.Errorf("%w: want one row of scores, got shape %v", ErrInvalidGraph, t.Shape)
	}
	switch d := t.Data.(type) {
	case []float32:
		return d, nil
	case []float64:
		p := make([]float32, len(d))
		for i, v := range d {
			p[i] = float32(v)
		}
		return p, nil
	}
	return nil, fmt.Errorf("%w: want float scores, got %v", ErrInvalidGraph, t.DType)
}

// Result is one model's answer within a multi-model request. Duration is
// the model's inference time alone (not the input preparation), so it can
// be compared across requests; it is zero when the model did not run.
type Result struct {
	Labels   []Label
	Duration time.Duration
	Err      error
}

// ClassifyAll prepares the input of every classifier with prepare (in its own goroutine)
// and runs them concurrently; one model failing does not stop the others.
//
// The map holds one entry per classifier, keyed by Name. A classifier that
// failed to load gets an error wrapping ErrModelUnavailable; a panic in
// prepare or in a model is recovered into that model's error, because a
// panic in a goroutine would otherwise take the whole process down. prepare
// is called concurrently and must be safe for that. ClassifyAll returns once
// every goroutine has finished.
func ClassifyAll(ctx context.Context, cs []*Classifier, prepare func(Preprocess) (*Tensor, error), k int) map[string]Result {
	results := make(map[string]Result, len(cs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			r := classifyOne(ctx, c, prepare, k)
			mu.Lock()
			results[c.Name] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

func classifyOne(ctx context.Context, c *Classifier, prepare func(Preprocess) (*Tensor, error), k int) (r Result) {
	defer func() {
		if p := recover(); p != nil {
			r = Result{Err: fmt.Errorf("classifier %s: panic: %v", c.Name, p)}
		}
	}()
	if !c.Ready() {
		_, err := c.Classify(ctx, nil, k) // builds the ErrModelUnavailable error
		return Result{Err: err}
	}
	if err := ctx.Err(); err != nil {
		return Result{Err: fmt.Errorf("classifier %s: %w", c.Name, err)}
	}
	x, err := prepare(c.Preprocess)
	if err != nil {
		return Result{Err: fmt.Errorf("classifier %s: prepare input: %w", c.Name, err)}
	}
	start := time.Now()
	labels, err := c.Classify(ctx, x, k)
	return Result{Labels: labels, Duration: time.Since(start), Err: err}
}
