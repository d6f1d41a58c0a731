package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/npy"
)

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		ef      engineFlags
		inputs  feeds
		outputs stringList
		outdir  string
		sm      savedModelRun
	)
	fs := newFlagSet("run", "--graph G --input NAME=FILE.npy [--input ...] --output NODE [--output ...] --outdir DIR\n"+
		"       classify run --dir D [--tag_set serve] [--signature_def serving_default] --inputs 'k=file.npy[;k2=file2.npy]' [--input_examples 'k=[{\"x\":[1.0]}]'] --outdir DIR\n"+
		"       classify run --dir D --input NAME=FILE.npy --output NODE --outdir DIR  (a SavedModel without signatures)", stderr)
	ef.register(fs)
	fs.StringVar(&sm.dir, "dir", "", "a SavedModel directory (or a TF Serving base path: the newest version) to run one signature of")
	fs.StringVar(&sm.tagSet, "tag_set", "", "with --dir: the tag set (comma-separated; default serve)")
	fs.StringVar(&sm.signature, "signature_def", "", "with --dir: the signature to run (default serving_default)")
	fs.StringVar(&sm.inputs, "inputs", "", "with --dir: KEY=FILE.npy[;KEY2=FILE2.npy] feeding signature inputs by key")
	fs.StringVar(&sm.examples, "input_examples", "", `with --dir: KEY=[{"feature":[values],...},...] feeding serialized tf.Examples (floats, ints or strings)`)
	fs.Var(&inputs, "input", "feed node NAME with the tensor in FILE.npy (repeatable)")
	fs.Var(&outputs, "output", "node (\"name\" or \"name:1\") to compute and write (repeatable, at least one)")
	fs.StringVar(&outdir, "outdir", "", "directory for the outputs, written as <node>.npy (required; created if missing)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	var tags []string
	switch {
	case sm.dir != "" && (len(inputs) > 0 || len(outputs) > 0):
		// A SavedModel without signatures, run by tensor names as a
		// frozen graph is.
		if ef.graph != "" || sm.inputs != "" || sm.examples != "" || sm.signature != "" {
			return usagef("--dir with --input/--output runs a SavedModel without signatures by tensor name: no --graph, --inputs, --input_examples or --signature_def")
		}
		ef.graph = sm.dir
		if sm.tagSet != "" {
			tags = strings.Split(sm.tagSet, ",")
		}
	case sm.dir != "":
		if ef.graph != "" {
			return usagef("--dir runs a signature: use --inputs/--input_examples, not --graph")
		}
		sm.outdir = outdir
		return sm.run(ctx, &ef, stdout)
	case sm.inputs != "" || sm.examples != "" || sm.tagSet != "" || sm.signature != "":
		return usagef("--inputs, --input_examples, --tag_set and --signature_def need --dir")
	}
	if err := ef.check(); err != nil {
		return err
	}
	if len(outputs) == 0 {
		return usagef("at least one --output is required")
	}
	if outdir == "" {
		return usagef("--outdir is required")
	}
	if err := distinctFiles(outputs); err != nil {
		return usageError{err}
	}
	x, err := inputs.read()
	if err != nil {
		return err
	}
	m, err := openModel(ctx, &ef, classify.OpenOptions{Outputs: outputs, Inputs: inputs.names(), Tags: tags})
	if err != nil {
		return err
	}
	defer m.Close()
	res, err := m.Run(ctx, x, outputs)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outdir, 0o755); err != nil {
		return err
	}
	for i, name := range outputs {
		path := filepath.Join(outdir, outputFileName(name))
		if err := npy.WriteFile(path, res[i]); err != nil {
			return fmt.Errorf("output %s: %w", name, err)
		}
		fmt.Fprintf(stdout, "%s\t%v %v\t%s\n", name, res[i].DType, res[i].Shape, path)
	}
	return nil
}

// distinctFiles rejects outputs whose file names collide ("a/b" and "a_b"),
// which would silently overwrite one with the other.
func distinctFiles(outputs []string) error {
	seen := map[string]string{}
	for _, o := range outputs {
		f := outputFileName(o)
		if prev, dup := seen[f]; dup {
			return fmt.Errorf("outputs %q and %q would both be written to %s", prev, o, f)
		}
		seen[f] = o
	}
	return nil
}
