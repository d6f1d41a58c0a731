package classify

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// TensorInfo describes one input or output of a model.
type TensorInfo struct {
	Name  string `json:"name"`
	DType DType  `json:"-"`
	Shape Shape  `json:"shape"`
}

// ModelInfo describes a loaded model: its feedable inputs, the outputs
// it can produce (the likely outputs of the graph, those no other node
// consumes), and some statistics.
type ModelInfo struct {
	Engine string `json:"engine"`
	// Signature is the SavedModel signature served, whose input and output
	// keys are then the names in Inputs and Outputs; empty for a graph.
	Signature string         `json:"signature,omitempty"`
	Inputs    []TensorInfo   `json:"inputs"`
	Outputs   []TensorInfo   `json:"outputs"`
	Ops       map[string]int `json:"ops,omitempty"`   // op type → node count, after optimisation
	FLOPs     int64          `json:"flops,omitempty"` // of one run at the static input shapes, 0 if unknown
	// SavedModel says which SavedModel was loaded; nil for a graph file.
	SavedModel *SavedModelInfo `json:"saved_model,omitempty"`
}

// SavedModelInfo is where a SavedModel-backed model came from. A TF Serving
// base path is resolved once, at open, to its newest version folder: Dir
// and Version say which one is served, so a newer folder appearing later
// changes nothing until the model is opened again.
type SavedModelInfo struct {
	// Dir is the SavedModel directory read (the version folder below a
	// base path).
	Dir string `json:"dir"`
	// Version is that folder's number; -1 when the directory was named
	// directly rather than through a base path.
	Version int64    `json:"version"`
	Tags    []string `json:"tags"`
	// Method is the served signature's method_name
	// ("tensorflow/serving/predict", ".../classify", ".../regress").
	Method string `json:"method,omitempty"`
}

// OpenOptions tune Engine.Open.
type OpenOptions struct {
	// Outputs, if set, are the node names ("name" or "name:1") Run will be
	// asked for; the graph is pruned to what they need. Empty keeps every
	// output ModelInfo reports.
	Outputs []string
	// Inputs, if set, overrides which nodes are fed (for example a
	// PlaceholderWithDefault that should become an input).
	Inputs []string
	// Threads caps the goroutines one Run may use; 0 means GOMAXPROCS.
	Threads int
	// Signature picks the signature of a SavedModel directory
	// (serving_default when empty); Inputs and Outputs are then ignored
	// and Run takes the signature's keys, unless the SavedModel has no
	// signature at all: then Inputs and Outputs name its tensors, as for a
	// frozen graph.
	Signature string
	// Tags picks a SavedModel's MetaGraphDef ("serve" when empty).
	Tags []string
}

// Engine opens graph files into runnable models.
type Engine interface {
	// Name is the registry name ("go", "tensorflow").
	Name() string
	// Open loads a graph: a frozen GraphDef (.pb binary, .pbtxt text) or a
	// SavedModel directory where the engine supports it. The error lists
	// every problem found (every unsupported op, with node names).
	Open(ctx context.Context, path string, opts OpenOptions) (Model, error)
}

// Model is a loaded graph. Implementations must be safe for concurrent use:
// many goroutines may call Run at once on one Model.
type Model interface {
	Info() ModelInfo
	// Run feeds inputs by name and returns the requested outputs in order.
	// It checks ctx between nodes and returns ctx.Err() once it is done.
	Run(ctx context.Context, inputs map[string]*Tensor, outputs []string) ([]*Tensor, error)
	// Close releases the model's resources; Run must not be called after.
	Close() error
}

var (
	enginesMu sync.RWMutex
	engines   = map[string]func() Engine{}
)

// RegisterEngine makes an engine available under name. It is called from
// the init function of an engine package and panics on a duplicate name.
func RegisterEngine(name string, factory func() Engine) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if _, dup := engines[name]; dup {
		panic("classify: engine registered twice: " + name)
	}
	engines[name] = factory
}

// NewEngine returns a registered engine by name.
func NewEngine(name string) (Engine, error) {
	enginesMu.RLock()
	f, ok := engines[name]
	enginesMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("engine %q: %w (linked: %v)", name, ErrEngineUnavailable, Engines())
	}
	return f(), nil
}

// Engines lists the registered engine names, sorted.
func Engines() []string {
	enginesMu.RLock()
	defer enginesMu.RUnlock()
	var names []string
	for n := range engines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
