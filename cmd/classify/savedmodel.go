package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/npy"
	"github.com/classifyd/classifyd/savedmodel"
)

// showSavedModel prints what saved_model_cli show prints, in its layout
// (tensorflow/python/tools/saved_model_cli.py): the tag sets; with tagSet
// the signature keys; with a signature its inputs and outputs; with all,
// every signature of every tag set. saved_model_cli --all goes on to list
// the graph's ops and the Python concrete functions; those parts need
// TensorFlow's Python runtime and are not printed.
func showSavedModel(w io.Writer, dir, tagSet, signature string, all bool) error {
	dir, _, err := savedmodel.Resolve(dir)
	if err != nil {
		return err
	}
	sm, err := savedmodel.ReadProto(dir)
	if err != nil {
		return err
	}
	// saved_model_cli walks the tag sets sorted.
	sets := savedmodel.TagSets(sm)
	order := make([]int, len(sets))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		return strings.Join(sets[order[a]], "\x00") < strings.Join(sets[order[b]], "\x00")
	})
	if all {
		for _, i := range order {
			fmt.Fprintf(w, "\nMetaGraphDef with tag-set: '%s' contains the following SignatureDefs:\n", strings.Join(sets[i], ", "))
			sigs := savedmodel.Signatures(sm.GetMetaGraphs()[i])
			for _, key := range sortedKeys(sigs) {
				fmt.Fprintf(w, "\nsignature_def['%s']:\n", key)
				printSignature(w, sigs[key], 1)
			}
		}
		return nil
	}
	if tagSet == "" && signature == "" {
		fmt.Fprintln(w, "The given SavedModel contains the following tag-sets:")
		for _, i := range order {
			fmt.Fprintf(w, "%s\n", pyRepr(strings.Join(sets[i], ", ")))
		}
		return nil
	}
	if tagSet == "" {
		tagSet = savedmodel.DefaultTag
	}
	mg, err := savedmodel.MetaGraph(dir, sm, strings.Split(tagSet, ","))
	if err != nil {
		return err
	}
	sigs := savedmodel.Signatures(mg)
	if signature == "" {
		fmt.Fprintln(w, "The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:")
		for _, key := range sortedKeys(sigs) {
			fmt.Fprintf(w, "SignatureDef key: %q\n", key)
		}
		return nil
	}
	s, ok := sigs[signature]
	if !ok {
		return fmt.Errorf("signature %q: %w (signatures: %s)", signature, savedmodel.ErrNotFound, strings.Join(sortedKeys(sigs), ", "))
	}
	printSignature(w, s, 0)
	return nil
}

func sortedKeys(m map[string]*savedmodel.Signature) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pyRepr quotes s as Python's repr of a str does for the plain names tags
// are: in single quotes unless s holds one.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// printSignature is saved_model_cli's _show_inputs_outputs at the given
// indent, with _print_tensor_info one level deeper.
func printSignature(w io.Writer, s *savedmodel.Signature, indent int) {
	in := strings.Repeat("  ", indent)
	tensor := func(kind string, t savedmodel.TensorInfo) {
		fmt.Fprintf(w, "%s  %s['%s'] tensor_info:\n", in, kind, t.Key)
		shape := "unknown_rank"
		if !t.UnknownRank {
			dims := make([]string, len(t.Shape))
			for i, d := range t.Shape {
				dims[i] = strconv.Itoa(d)
			}
			shape = "(" + strings.Join(dims, ", ") + ")"
		}
		deeper := in + "  "
		fmt.Fprintf(w, "%s    dtype: %s\n%s    shape: %s\n%s    name: %s\n", deeper, t.DType, deeper, shape, deeper, t.Name)
	}
	fmt.Fprintf(w, "%sThe given SavedModel SignatureDef contains the following input(s):\n", in)
	for _, t := range s.Inputs {
		tensor("inputs", t)
	}
	fmt.Fprintf(w, "%sThe given SavedModel SignatureDef contains the following output(s):\n", in)
	for _, t := range s.Outputs {
		tensor("outputs", t)
	}
	fmt.Fprintf(w, "%sMethod name is: %s\n", in, s.Method)
}

// savedModelRun is `run --dir`: like saved_model_cli run, it feeds a
// signature by input key and writes DIR/<output key>.npy for every output.
type savedModelRun struct {
	dir, tagSet, signature string
	inputs, examples       string
	outdir                 string
}

func (r *savedModelRun) run(ctx context.Context, ef *engineFlags, stdout io.Writer) error {
	if r.outdir == "" {
		return usagef("--outdir is required")
	}
	feeds := map[string]*classify.Tensor{}
	for _, kv := range splitList(r.inputs) {
		key, file, ok := strings.Cut(kv, "=")
		if !ok || key == "" || file == "" {
			return usagef("--inputs: want KEY=FILE.npy[;KEY2=FILE2.npy], got %q", kv)
		}
		if _, dup := feeds[key]; dup {
			return usagef("input %q given twice", key)
		}
		t, err := npy.ReadFile(file)
		if err != nil {
			return fmt.Errorf("input %s: %w", key, err)
		}
		feeds[key] = t
	}
	for _, kv := range splitList(r.examples) {
		key, js, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return usagef(`--input_examples: want KEY=[{"feature":[values]}], got %q`, kv)
		}
		if _, dup := feeds[key]; dup {
			return usagef("input %q given twice", key)
		}
		exs, err := savedmodel.ParseExamples(js)
		if err != nil {
			return usageError{fmt.Errorf("--input_examples %s: %w", key, err)}
		}
		feeds[key] = &classify.Tensor{DType: classify.String, Shape: classify.Shape{len(exs)}, Data: exs}
	}
	e, err := classify.NewEngine(ef.engine)
	if err != nil {
		return err
	}
	var tags []string
	if r.tagSet != "" {
		tags = strings.Split(r.tagSet, ",")
	}
	m, err := e.Open(ctx, r.dir, classify.OpenOptions{Threads: ef.threads, Signature: r.signature, Tags: tags})
	if err != nil {
		return err
	}
	defer m.Close()
	info := m.Info()
	var keys []string
	for _, o := range info.Outputs {
		keys = append(keys, o.Name)
	}
	res, err := m.Run(ctx, feeds, keys)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.outdir, 0o755); err != nil {
		return err
	}
	for i, k := range keys {
		path := filepath.Join(r.outdir, outputFileName(k))
		if err := npy.WriteFile(path, res[i]); err != nil {
			return fmt.Errorf("output %s: %w", k, err)
		}
		fmt.Fprintf(stdout, "%s\t%v %v\t%s\n", k, res[i].DType, res[i].Shape, path)
	}
	return nil
}

// splitList splits saved_model_cli's ';'-separated list flags.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
