package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify/gotf"
)

// freezeCmd writes one signature of a SavedModel as a frozen GraphDef,
// which both engines and the oracle can run.
func freezeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var dir, tagSet, sig, out string
	fs := newFlagSet("freeze", "--dir D [--tag_set serve] --signature_def S --out G.pb", stderr)
	fs.StringVar(&dir, "dir", "", "the SavedModel directory (or TF Serving base path: the newest version) (required)")
	fs.StringVar(&tagSet, "tag_set", "", "the tag set (comma-separated; default serve)")
	fs.StringVar(&sig, "signature_def", "", "the signature to freeze (default serving_default)")
	fs.StringVar(&out, "out", "", "the binary GraphDef to write (required)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if dir == "" || out == "" {
		return usagef("--dir and --out are required")
	}
	var tags []string
	if tagSet != "" {
		tags = strings.Split(tagSet, ",")
	}
	gd, err := gotf.FreezeSavedModel(ctx, dir, tags, sig)
	if err != nil {
		return err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(gd)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\t%d nodes\n", out, len(gd.GetNode()))
	return nil
}
