package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"os"
	"strings"
	"time"

	"github.com/classifyd/classifyd/api"
	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/manifest"
	"github.com/classifyd/classifyd/imageprep"
)

// optInt is an int flag that remembers whether it was given.
type optInt struct {
	v   int
	set bool
}

func (o *optInt) String() string {
	if !o.set {
		return ""
	}
	return fmt.Sprint(o.v)
}

func (o *optInt) Set(s string) error {
	_, err := fmt.Sscanf(s, "%d", &o.v)
	if err != nil || fmt.Sprint(o.v) != strings.TrimPrefix(s, "+") {
		return fmt.Errorf("not an integer: %q", s)
	}
	o.set = true
	return nil
}

// predictResult is the JSON of one image: the file name and the body POST
// /v1/classify answers, built by the same api.NewResponse. Response is nil
// when the image could not be read; Error and DurationMS stand beside it
// then (they shadow the embedded fields, so they are copied in on success).
type predictResult struct {
	File string `json:"file"`
	*api.Response
	Error      *api.ErrorBody         `json:"error,omitempty"`
	DurationMS float64                `json:"duration_ms"`
	order      []*classify.Classifier // for the text output
}

// errBody gives an error the code the HTTP API would give it.
func errBody(err error) *api.ErrorBody {
	_, code := api.ErrorStatusCode(err)
	return &api.ErrorBody{Code: code, Message: err.Error()}
}

func predictCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		config  string
		engine  string
		threads int
		x, y    optInt
		models  string
		topK    int
		asJSON  bool
	)
	fs := newFlagSet("predict", "[--config models/models.yaml] [--x X --y Y] [--models a,b] [--top-k K] [--json] IMAGE...", stderr)
	fs.StringVar(&config, "config", "models/models.yaml", "model manifest")
	fs.StringVar(&engine, "engine", "", "engine for the models that name none (default "+manifest.DefaultEngine+"; linked: "+strings.Join(classify.Engines(), ", ")+")")
	fs.IntVar(&threads, "threads", 0, "goroutines one model run may use (0 = GOMAXPROCS)")
	fs.Var(&x, "x", "x of the point to classify around, in pixels of the decoded image (default: the centre)")
	fs.Var(&y, "y", "y of the point (give both or neither)")
	fs.StringVar(&models, "models", "", "comma-separated models to run (default: every model that loads)")
	fs.IntVar(&topK, "top-k", 0, "labels per model (default: each model's top_k)")
	fs.BoolVar(&asJSON, "json", false, "print one JSON object per image, as the HTTP API answers")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	files := fs.Args()
	switch {
	case len(files) == 0:
		return usagef("no IMAGE given")
	case x.set != y.set:
		return usagef("give both --x and --y, or neither for the centre")
	case topK < 0 || threads < 0:
		return usagef("--top-k and --threads must not be negative")
	}
	m, err := manifest.Read(config)
	if err != nil {
		return err
	}
	all := manifest.Load(ctx, m, manifest.LoadOptions{Engine: engine, Threads: threads})
	defer manifest.Close(all)
	cs, err := choose(all, models)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.Err != nil {
			fmt.Fprintf(stderr, "classify predict: %v\n", c.Err)
		}
	}
	enc := json.NewEncoder(stdout)
	failed := 0
	for _, f := range files {
		r := predictFile(ctx, f, cs, x, y, topK)
		if r.Error != nil {
			failed++
		}
		if asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
		} else {
			writePrediction(stdout, r)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images failed", failed, len(files))
	}
	return nil
}

// choose returns the classifiers named in list (comma-separated, manifest
// order), or all of them when list is empty.
func choose(all []*classify.Classifier, list string) ([]*classify.Classifier, error) {
	if list == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, c := range all {
			found = found || c.Name == n
		}
		if !found {
			return nil, usageError{fmt.Errorf("--models: %w: %q", classify.ErrModelNotFound, n)}
		}
		want[n] = true
	}
	var cs []*classify.Classifier
	for _, c := range all {
		if want[c.Name] {
			cs = append(cs, c)
		}
	}
	return cs, nil
}

// predictFile decodes one image and runs every classifier on it, as the
// HTTP handler does: decode once, prepare per model, models concurrently.
// An image is failed when it cannot be decoded, the point is outside it, or
// every model failed on it.
func predictFile(ctx context.Context, path string, cs []*classify.Classifier, x, y optInt, k int) *predictResult {
	start := time.Now()
	r := &predictResult{File: path, order: cs}
	fail := func(err error) *predictResult {
		r.Error = errBody(err)
		r.DurationMS = ms(time.Since(start))
		return r
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	src, err := imageprep.NewSource(data, imageprep.Limits{})
	if err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	size := src.Header().Size()
	pt := image.Pt(size.X/2, size.Y/2)
	if x.set {
		pt = image.Pt(x.v, y.v)
	}
	if !pt.In(image.Rectangle{Max: size}) {
		return fail(fmt.Errorf("%w: (%d,%d) is not inside the %dx%d image", imageprep.ErrPoint, pt.X, pt.Y, size.X, size.Y))
	}
	if len(cs) == 0 {
		return fail(fmt.Errorf("%w: none selected", classify.ErrModelNotFound))
	}
	results := classify.ClassifyAll(ctx, cs, func(p classify.Preprocess) (*classify.Tensor, error) {
		return src.Prepare(p, pt)
	}, k)
	r.Response, _ = api.NewResponse(size, pt, cs, results)
	r.DurationMS = ms(time.Since(start))
	r.Response.DurationMS = r.DurationMS
	r.Error = r.Response.Error
	return r
}

func writePrediction(w io.Writer, r *predictResult) {
	fmt.Fprintf(w, "%s", r.File)
	if r.Response != nil {
		fmt.Fprintf(w, " (%dx%d, point %d,%d)", r.Image.Width, r.Image.Height, r.Point.X, r.Point.Y)
	}
	fmt.Fprintln(w)
	if r.Response == nil {
		fmt.Fprintf(w, "  error: %s\n", r.Error.Message)
		return
	}
	for _, c := range r.order {
		res := r.Results[c.Name]
		if res.Error != nil {
			fmt.Fprintf(w, "  %s: error: %s\n", c.Name, res.Error.Message)
			continue
		}
		fmt.Fprintf(w, "  %s (%.1f ms)\n", c.Name, *res.DurationMS)
		for _, l := range res.Labels {
			fmt.Fprintf(w, "    %6.2f%%  %s (%d)\n", 100*l.Probability, l.Label, l.Index)
		}
	}
}
