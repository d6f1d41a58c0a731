// Command classify inspects, runs and times TensorFlow frozen graphs with the
// project's engines, in the spirit of TensorFlow's saved_model_cli, and
// classifies image files with the configured models without a server:
//
//	classify show    --graph G [--output NODE ...] [--json]
//	classify show    --dir D [--tag_set serve] [--signature_def S] [--all]
//	classify run     --graph G --input NAME=FILE.npy [--input ...] --output NODE [--output ...] --outdir DIR
//	classify run     --dir D [--tag_set serve] [--signature_def serving_default] --inputs 'k=f.npy[;k2=f2.npy]' [--input_examples 'k=[{"x":[1.0]}]'] --outdir DIR
//	classify freeze  --dir D [--tag_set serve] --signature_def S --out G.pb
//	classify import-tfjs --model DIR/model.json --out frozen_graph.pb
//	classify bench   --graph G --input NAME=FILE.npy --output NODE [--runs N] [--threads T]
//	classify predict --config models/models.yaml [--x X --y Y] [--models a,b] [--top-k K] [--json] IMAGE...
//	classify ops     [--json] [--op SUBSTRING]
//
// With --dir, show and run take a SavedModel directory (or a TF Serving base
// path, whose newest version is used) the way saved_model_cli does: show
// prints saved_model_cli show's layout, run feeds a signature by input key
// and writes DIR/<output key>.npy for each of its outputs.
//
// Every command takes --engine (default "go", the pure-Go engine). Tensors
// go in and out as NumPy .npy files; `run` names each output file after its
// node with every character outside [A-Za-z0-9_.-] replaced by "_", as the
// reference oracle does, so the two can be compared file by file.
//
// Exit status: 0 on success, 2 for a usage error (unknown command, bad or
// missing flag), 1 for any other failure (unreadable file, bad graph, a run
// that fails).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: it parses its flags from args and runs.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"show", "describe a graph: inputs, likely outputs, op counts, FLOPs", showCmd},
	{"run", "run a graph on .npy inputs and write its outputs as .npy", runCmd},
	{"bench", "time a graph: median, p10 and p90 ms per run, GFLOP/s", benchCmd},
	{"freeze", "write one signature of a SavedModel as a frozen GraphDef", freezeCmd},
	{"import-tfjs", "convert a TensorFlow.js graph model (model.json) into a frozen GraphDef", importTFJSCmd},
	{"predict", "classify image files with the models of a manifest", predictCmd},
	{"ops", "list the op types the Go engine runs and how each is checked", opsCmd},
}

// run is the whole program: it dispatches args to a subcommand and turns
// its error into an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "classify %s: %v\n(see classify %s -h)\n", c.name, err, c.name)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "classify %s: %v\n", c.name, err)
			return exitFail
		}
	}
	fmt.Fprintf(stderr, "classify: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: classify <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `classify <command> -h` for its flags.")
}
