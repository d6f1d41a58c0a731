package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/internal/tfjs"
)

// importTFJSCmd converts a TensorFlow.js graph model into a frozen
// GraphDef and prints the inputs and outputs to feed and fetch.
func importTFJSCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var model, out string
	fs := newFlagSet("import-tfjs", "--model DIR/model.json --out frozen_graph.pb", stderr)
	fs.StringVar(&model, "model", "", "the TensorFlow.js graph model's model.json; its weight shards are read beside it (required)")
	fs.StringVar(&out, "out", "", "the binary GraphDef to write (required)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if model == "" || out == "" {
		return usagef("--model and --out are required")
	}
	m, err := tfjs.ConvertFile(model, tfjs.Limits{})
	if err != nil {
		return err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m.Graph)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\t%d nodes, %d functions\n", out, len(m.Graph.GetNode()), len(m.Graph.GetLibrary().GetFunction()))
	src := map[string]string{"signature": "model's signature", "graph": "graph (Placeholders; nodes nothing reads)", "layers": "Keras model's input and output layers"}[m.Source]
	fmt.Fprintf(stdout, "inputs and outputs from the %s:\n", src)
	for _, t := range m.Inputs {
		fmt.Fprintf(stdout, "  input\t%s\t%s\t%s\n", t.Name, orUnknown(t.DType), shapeString(t.Shape))
	}
	for _, t := range m.Outputs {
		fmt.Fprintf(stdout, "  output\t%s\t%s\t%s\n", t.Name, orUnknown(t.DType), shapeString(t.Shape))
	}
	if len(m.Notes) > 0 {
		fmt.Fprintf(stdout, "converted: %s\n", strings.Join(m.Notes, "; "))
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func shapeString(s []int) string {
	if s == nil {
		return "<unknown rank>"
	}
	p := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			p[i] = "?"
		} else {
			p[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(p, ",") + "]"
}
