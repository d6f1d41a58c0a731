// Package gotf is the pure-Go TensorFlow engine (registry name "go"): it
// loads frozen GraphDefs (binary .pb or text .pbtxt), optimises them once
// and runs them with the kernels of internal/ops, without cgo.
//
// Loading fills TensorFlow's default attributes, prunes the graph to what
// the outputs need, orders it, folds every constant subgraph, skips
// Identity-like nodes, and fuses each convolution or matmul with its
// per-channel scale/shift (batch norm), bias and activation into one
// _Fused* node. A Model is then a flat list of kernel calls; it is safe for
// concurrent Run calls.
//
// A GraphDef's function library is used too: calls are inlined, and the
// functional control flow of TF2 graphs (While, StatelessWhile, If,
// StatelessIf, Case) runs its cond, body and branch functions, each compiled
// once at load into a model of its own. A loop stops with an error after a
// million iterations and checks the context every iteration.
//
// SavedModel directories (TF1 and TF2) load through OpenSavedModel, or
// Engine.Open given a directory: function calls are inlined, variables bound
// to the checkpoint (constants when no signature writes them), init ops run
// once, and the model is fed and fetched by signature keys.
//
// Importing the package registers the engine with classify.
package gotf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"

	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/savedmodel"
)

// EngineName is the name the engine is registered under.
const EngineName = "go"

func init() {
	classify.RegisterEngine(EngineName, func() classify.Engine { return New() })
}

// Engine opens frozen TensorFlow GraphDefs and SavedModels into Models. It has no state and
// is safe for concurrent use.
type Engine struct{}

var _ classify.Engine = (*Engine)(nil)

// New returns the engine.
func New() *Engine { return &Engine{} }

// Name returns "go".
func (*Engine) Name() string { return EngineName }

// Open loads the frozen GraphDef at path: text format when the name ends in
// .pbtxt, binary otherwise. A directory is opened as a SavedModel (or a TF
// Serving base path) with OpenSavedModel, serving opts.Signature. Errors name the file and wrap
// classify.ErrInvalidGraph, classify.ErrUnsupportedOp (listing every
// unsupported node) or classify.ErrInvalidInput (bad opts).
func (e *Engine) Open(ctx context.Context, path string, opts classify.OpenOptions) (classify.Model, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		sm, err := OpenSavedModel(ctx, path, SavedModelOptions{Tags: opts.Tags, Signature: opts.Signature, Threads: opts.Threads, Inputs: opts.Inputs, Outputs: opts.Outputs})
		if errors.Is(err, savedmodel.ErrNotSavedModel) {
			return nil, fmt.Errorf("%w; the go engine reads frozen GraphDef files (.pb binary, .pbtxt text) and SavedModel directories", err)
		}
		if err != nil {
			return nil, err
		}
		return sm, nil
	}
	m, err := e.OpenFile(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// OpenFile is Open returning the concrete *Model.
func (e *Engine) OpenFile(ctx context.Context, path string, opts classify.OpenOptions) (*Model, error) {
	gd, err := ReadGraphDef(path)
	if err != nil {
		return nil, err
	}
	m, err := OpenGraph(ctx, gd, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, nil
}

// OpenGraph loads an in-memory GraphDef, like the package-level OpenGraph.
func (e *Engine) OpenGraph(ctx context.Context, gd *gpb.GraphDef, opts classify.OpenOptions) (*Model, error) {
	return OpenGraph(ctx, gd, opts)
}

// ReadGraphDef reads a binary (.pb) or text (.pbtxt) GraphDef. A directory
// (a SavedModel) is rejected with an error wrapping classify.ErrInvalidGraph.
func ReadGraphDef(path string) (*gpb.GraphDef, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("load %s: %w: a directory (SavedModel?) is not supported; the go engine reads frozen GraphDef files (.pb binary, .pbtxt text)", path, classify.ErrInvalidGraph)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	gd, err := ParseGraphDef(data, strings.EqualFold(filepath.Ext(path), ".pbtxt"))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return gd, nil
}

// ParseGraphDef decodes a GraphDef, as text when text is set. A binary
// decode that fails is retried as text when the bytes look like text, so a
// .pb holding text format still loads.
func ParseGraphDef(data []byte, text bool) (*gpb.GraphDef, error) {
	gd := &gpb.GraphDef{}
	if text {
		if err := prototext.Unmarshal(data, gd); err != nil {
			return nil, fmt.Errorf("%w: text GraphDef: %v", classify.ErrInvalidGraph, err)
		}
		return gd, nil
	}
	err := proto.Unmarshal(data, gd)
	if err == nil {
		return gd, nil
	}
	if utf8.Valid(data) {
		if terr := prototext.Unmarshal(data, gd); terr == nil {
			return gd, nil
		}
	}
	return nil, fmt.Errorf("%w: binary GraphDef (truncated or not a GraphDef?): %v", classify.ErrInvalidGraph, err)
}

// OpenGraph optimises and compiles gd. gd is not modified and may be
// discarded afterwards.
func OpenGraph(ctx context.Context, gd *gpb.GraphDef, opts classify.OpenOptions) (*Model, error) {
	kernels, err := graphTables(ctx, gd, opts.Threads)
	if err != nil {
		return nil, err
	}
	return loadWith(ctx, gd, opts, loadConfig{fuse: true}, kernels)
}

// loadConfig holds switches tests flip to compare optimised and plain runs.
type loadConfig struct {
	fuse bool
	// maxIter caps the iterations of each While loop; 0 means
	// defaultMaxIterations.
	maxIter int
}

func load(ctx context.Context, gd *gpb.GraphDef, opts classify.OpenOptions, cfg loadConfig) (*Model, error) {
	return loadWith(ctx, gd, opts, cfg, nil)
}

// loadWith is load with extra kernels that take precedence over the global
// table (a SavedModel's variable ops).
func loadWith(ctx context.Context, gd *gpb.GraphDef, opts classify.OpenOptions, cfg loadConfig, kernels map[string]ops.Builder) (*Model, error) {
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	// Functional control flow (While, If, Case) runs functions of the
	// library; calls (PartitionedCall) are inlined first, as for
	// SavedModels.
	if hasTF1ControlFlow(gd) {
		var err error
		if gd, err = functionalize(gd); err != nil {
			return nil, err
		}
	}
	lib := newLibrary(ctx, gd, kernels, threads, cfg.maxIter)
	if lib != nil {
		flat, err := flatten(gd, nil)
		if err != nil {
			return nil, err
		}
		gd, kernels = flat, lib.kernels
	}
	return compileGraph(ctx, gd, opts, cfg, kernels)
}

// compileGraph optimises and compiles gd with kernels taking precedence
// over the global table.
func compileGraph(ctx context.Context, gd *gpb.GraphDef, opts classify.OpenOptions, cfg loadConfig, kernels map[string]ops.Builder) (*Model, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if gd == nil || len(gd.GetNode()) == 0 {
		return nil, fmt.Errorf("%w: the graph has no nodes", classify.ErrInvalidGraph)
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	g, err := parseGraph(gd)
	if err != nil {
		return nil, err
	}
	g.kernels = kernels
	if err := g.selectFeeds(opts.Inputs); err != nil {
		return nil, err
	}
	var outputs []ref
	if len(opts.Outputs) > 0 {
		for _, s := range opts.Outputs {
			r, err := g.resolve(s)
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", s, err)
			}
			outputs = append(outputs, r)
		}
	} else {
		outputs = g.likelyOutputs()
		if len(outputs) == 0 {
			return nil, fmt.Errorf("%w: no node looks like an output (every node is consumed or a Const/Placeholder); name the outputs", classify.ErrInvalidGraph)
		}
	}
	if err := g.order(outputs); err != nil {
		return nil, err
	}
	if err := g.toNHWC(outputs); err != nil { // layout.go
		return nil, err
	}
	if err := g.fold(ctx, threads); err != nil {
		return nil, err
	}
	g.bypass(outputs)
	if cfg.fuse {
		g.fuse(outputs)
	}
	// Folding and fusion left producers nothing needs: drop them.
	if err := g.order(outputs); err != nil {
		return nil, err
	}
	return compile(g, outputs, threads)
}
