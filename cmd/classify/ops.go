package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/classifyd/classifyd/classify/gotf"
)

// opsCmd lists the op types the Go engine runs, with how the project's
// tests check each and the dtypes and layouts those checks exercise.
func opsCmd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		asJSON bool
		filter string
	)
	fs := newFlagSet("ops", "[--json] [--op SUBSTRING]", stderr)
	fs.BoolVar(&asJSON, "json", false, "print the list as JSON")
	fs.StringVar(&filter, "op", "", "only ops whose name contains this (case-insensitive)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	var list []gotf.OpInfo
	for _, o := range gotf.Ops() {
		if filter == "" || strings.Contains(strings.ToLower(o.Op), strings.ToLower(filter)) {
			list = append(list, o)
		}
	}
	if asJSON {
		type entry struct {
			Op      string   `json:"op"`
			Checked string   `json:"checked"`
			DTypes  []string `json:"dtypes,omitempty"`
			Layouts []string `json:"layouts,omitempty"`
		}
		out := make([]entry, len(list))
		for i, o := range list {
			out[i] = entry{o.Op, o.Checked, o.DTypes, o.Layouts}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OP\tDTYPES\tLAYOUTS\tCHECKED BY")
	dash := func(s []string) string {
		if len(s) == 0 {
			return "-"
		}
		return strings.Join(s, ",")
	}
	for _, o := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Op, dash(o.DTypes), dash(o.Layouts), o.Checked)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d op types. \"oracle\": goldens TensorFlow.js computed; \"reference\": values from TensorFlow's documented semantics; \"test:\": the tests that check it.\n", len(list))
	return nil
}
