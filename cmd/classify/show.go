package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/classifyd/classifyd/classify"
)

// openModel opens the graph with the chosen engine.
func openModel(ctx context.Context, ef *engineFlags, opts classify.OpenOptions) (classify.Model, error) {
	e, err := classify.NewEngine(ef.engine)
	if err != nil {
		return nil, err
	}
	opts.Threads = ef.threads
	m, err := e.Open(ctx, ef.graph, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func showCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		ef                  engineFlags
		outputs             stringList
		asJSON              bool
		dir, tagSet, sigDef string
		all                 bool
	)
	fs := newFlagSet("show", "--graph G [--output NODE ...] [--json] | --dir D [--tag_set serve] [--signature_def S] [--all]", stderr)
	ef.register(fs)
	fs.Var(&outputs, "output", "node whose computation to describe (repeatable; default: every likely output)")
	fs.BoolVar(&asJSON, "json", false, "print the description as JSON")
	fs.StringVar(&dir, "dir", "", "a SavedModel directory (or a TF Serving base path: the newest version) to describe as saved_model_cli show does")
	fs.StringVar(&tagSet, "tag_set", "", "with --dir: the tag set (comma-separated) whose signatures to list")
	fs.StringVar(&sigDef, "signature_def", "", "with --dir: the signature whose inputs and outputs to print")
	fs.BoolVar(&all, "all", false, "with --dir: every signature of every tag set")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if dir != "" {
		if ef.graph != "" {
			return usagef("--dir and --graph exclude each other")
		}
		return showSavedModel(stdout, dir, tagSet, sigDef, all)
	}
	if tagSet != "" || sigDef != "" || all {
		return usagef("--tag_set, --signature_def and --all need --dir")
	}
	if err := ef.check(); err != nil {
		return err
	}
	m, err := openModel(ctx, &ef, classify.OpenOptions{Outputs: outputs})
	if err != nil {
		return err
	}
	defer m.Close()
	info := m.Info()
	mem := measureMemory(ctx, m, info, outputs)
	if asJSON {
		return writeInfoJSON(stdout, ef.graph, info, mem)
	}
	if err := writeInfo(stdout, ef.graph, info); err != nil {
		return err
	}
	if mem.Bytes > 0 {
		fmt.Fprintf(stdout, "memory:  %.1f MiB of intermediate values per run at batch %d (one run on zeros)\n", float64(mem.Bytes)/(1<<20), mem.Batch)
	} else if mem.Why != "" {
		fmt.Fprintf(stdout, "memory:  unknown (%s)\n", mem.Why)
	}
	return nil
}

// memory is what one run of a model on zeros took for its intermediate
// values (engines that report it: gotf).
type memory struct {
	Bytes int64  `json:"arena_bytes,omitempty"`
	Batch int    `json:"batch,omitempty"`
	Why   string `json:"unknown,omitempty"` // why it was not measured
}

// measureMemory runs m once on zero inputs when every input has a known
// numeric shape (an unknown first dimension taken as a batch of 1).
func measureMemory(ctx context.Context, m classify.Model, info classify.ModelInfo, outputs []string) memory {
	a, ok := m.(interface{ ArenaBytes() int64 })
	if !ok {
		return memory{}
	}
	feeds := map[string]*classify.Tensor{}
	for _, in := range info.Inputs {
		if in.Shape == nil || in.DType == classify.String || in.DType == classify.Variant || in.DType == classify.Invalid {
			return memory{Why: fmt.Sprintf("input %s is %v %v", in.Name, in.DType, in.Shape)}
		}
		shape := in.Shape.Clone()
		for i, d := range shape {
			if d < 0 && i == 0 {
				shape[i] = 1
			} else if d < 0 {
				return memory{Why: fmt.Sprintf("input %s has shape %v", in.Name, in.Shape)}
			}
		}
		feeds[in.Name] = classify.NewTensor(in.DType, shape...)
	}
	if _, err := m.Run(ctx, feeds, outputs); err != nil {
		return memory{Why: "a run on zeros failed: " + err.Error()}
	}
	return memory{Bytes: a.ArenaBytes(), Batch: 1}
}

func writeInfo(w io.Writer, graph string, info classify.ModelInfo) error {
	fmt.Fprintf(w, "graph:   %s\nengine:  %s\n", graph, info.Engine)
	if info.FLOPs > 0 {
		fmt.Fprintf(w, "flops:   %s per run\n", si(float64(info.FLOPs)))
	} else {
		fmt.Fprintf(w, "flops:   unknown\n")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "inputs:\t\n")
	for _, t := range info.Inputs {
		fmt.Fprintf(tw, "  %s\t%v\t%v\n", t.Name, t.DType, t.Shape)
	}
	fmt.Fprintf(tw, "outputs:\t\n")
	for _, t := range info.Outputs {
		fmt.Fprintf(tw, "  %s\t%v\t%v\n", t.Name, t.DType, t.Shape)
	}
	if len(info.Ops) > 0 {
		total := 0
		for _, n := range info.Ops {
			total += n
		}
		fmt.Fprintf(tw, "ops:\t%d nodes after the engine's optimisation\n", total)
		for _, op := range sortedOps(info.Ops) {
			fmt.Fprintf(tw, "  %s\t%d\n", op, info.Ops[op])
		}
	}
	return tw.Flush()
}

// sortedOps orders op types by count, most frequent first, then by name.
func sortedOps(ops map[string]int) []string {
	names := make([]string, 0, len(ops))
	for op := range ops {
		names = append(names, op)
	}
	sort.Slice(names, func(i, j int) bool {
		if ops[names[i]] != ops[names[j]] {
			return ops[names[i]] > ops[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}

// jsonTensor is TensorInfo with its dtype spelled out (TensorInfo hides it
// from JSON).
type jsonTensor struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

func writeInfoJSON(w io.Writer, graph string, info classify.ModelInfo, mem memory) error {
	conv := func(ts []classify.TensorInfo) []jsonTensor {
		out := make([]jsonTensor, 0, len(ts))
		for _, t := range ts {
			out = append(out, jsonTensor{t.Name, t.DType.String(), t.Shape})
		}
		return out
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Graph   string         `json:"graph"`
		Engine  string         `json:"engine"`
		Inputs  []jsonTensor   `json:"inputs"`
		Outputs []jsonTensor   `json:"outputs"`
		Ops     map[string]int `json:"ops,omitempty"`
		FLOPs   int64          `json:"flops"`
		Memory  *memory        `json:"memory,omitempty"`
	}{graph, info.Engine, conv(info.Inputs), conv(info.Outputs), info.Ops, info.FLOPs, memPtr(mem)})
}

func memPtr(m memory) *memory {
	if m == (memory{}) {
		return nil
	}
	return &m
}

// si formats n with a metric prefix (28.4M).
func si(n float64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if n >= u.div {
			return fmt.Sprintf("%.3g%s", n/u.div, u.suffix)
		}
	}
	return fmt.Sprintf("%.0f", n)
}
