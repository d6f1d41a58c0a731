package classifytest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// checkErr fails t unless err wraps sentinel and mentions every string
// (node names, op types) a user needs to find the problem.
func checkErr(t *testing.T, what string, err, sentinel error, mention ...string) {
	t.Helper()
	if msg := errMismatch(err, sentinel, mention...); msg != "" {
		t.Errorf("%s: %s", what, msg)
	}
}

// errMismatch returns "" when err wraps sentinel and mentions every string,
// else what is wrong.
func errMismatch(err, sentinel error, mention ...string) string {
	if err == nil {
		return fmt.Sprintf("no error, want one wrapping %q", sentinel)
	}
	var problems []string
	if !errors.Is(err, sentinel) {
		problems = append(problems, fmt.Sprintf("does not wrap %q", sentinel))
	}
	for _, m := range mention {
		if !strings.Contains(err.Error(), m) {
			problems = append(problems, fmt.Sprintf("does not mention %q", m))
		}
	}
	if problems == nil {
		return ""
	}
	return fmt.Sprintf("error %q %s", err, strings.Join(problems, ", "))
}

func testErrors(t *testing.T, e classify.Engine) {
	t.Run("Open", func(t *testing.T) { testOpenErrors(t, e) })
	t.Run("Run", func(t *testing.T) { testRunErrors(t, e) })
	t.Run("BadGraphs", func(t *testing.T) { testBadGraphs(t, e) })
}

func testOpenErrors(t *testing.T, e classify.Engine) {
	small := func(t *testing.T) []byte {
		b := graphdef.New()
		smallNet(b, 3)
		data, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	file := func(t *testing.T, data []byte) string {
		p := filepath.Join(t.TempDir(), "graph.pb")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	type openCase struct {
		name     string
		path     func(t *testing.T) string
		opts     classify.OpenOptions
		sentinel error
		mention  []string
	}
	cases := []openCase{{
		// Two unsupported ops on the way to the output: the error lists
		// both, so a user learns everything that is missing at once.
		name: "UnsupportedOps",
		path: func(t *testing.T) string {
			b := graphdef.New()
			x := b.Placeholder("matrix", classify.Float32, classify.Shape{3, 3})
			// Eig and MatrixLogarithm compute complex values, which the
			// engine has no dtype for.
			c := b.Op("Eig", "decompose/eig", []graphdef.Output{x}, graphdef.Attrs{"T": classify.Float32, "compute_v": false})
			d := b.Op("MatrixLogarithm", "log", []graphdef.Output{c}, graphdef.Attrs{"T": classify.Float32})
			b.Op("Relu", "out", []graphdef.Output{d}, graphdef.Attrs{"T": classify.Float32})
			return writeGraph(t, b, "unsupported.pb")
		},
		opts:     classify.OpenOptions{Outputs: []string{"out"}},
		sentinel: classify.ErrUnsupportedOp,
		mention:  []string{"decompose/eig", "Eig", "log", "MatrixLogarithm"},
	}, {
		name: "DanglingInput",
		path: func(t *testing.T) string {
			b := graphdef.New()
			x := b.Placeholder("x", classify.Float32, classify.Shape{2})
			b.Op("AddV2", "sum", []graphdef.Output{x, "ghost"}, graphdef.Attrs{"T": classify.Float32})
			return writeGraph(t, b, "dangling.pb")
		},
		opts:     classify.OpenOptions{Outputs: []string{"sum"}},
		sentinel: classify.ErrInvalidGraph,
		mention:  []string{"sum", "ghost"},
	}, {
		name:     "EmptyFile",
		path:     func(t *testing.T) string { return file(t, nil) },
		sentinel: classify.ErrInvalidGraph,
	}, {
		name: "Garbage",
		path: func(t *testing.T) string {
			data := []byte("this is not a graph\n")
			if proto.Unmarshal(data, &gpb.GraphDef{}) == nil {
				t.Fatal("test data parses as a GraphDef; pick other bytes")
			}
			return file(t, data)
		},
		sentinel: classify.ErrInvalidGraph,
	}, {
		name:     "UnknownOutput",
		path:     func(t *testing.T) string { return file(t, small(t)) },
		opts:     classify.OpenOptions{Outputs: []string{"no_such_node"}},
		sentinel: classify.ErrInvalidInput,
		mention:  []string{"no_such_node"},
	}}
	// Truncations inside the protobuf encoding (checked: the cut bytes do
	// not parse), as a partial download or copy leaves them.
	data := small(t)
	cuts := 0
	for k := 1; k <= 8; k++ {
		n := len(data) * k / 9
		if proto.Unmarshal(data[:n], &gpb.GraphDef{}) == nil {
			continue
		}
		cuts++
		cut := data[:n]
		cases = append(cases, openCase{
			name:     fmt.Sprintf("Truncated%d", n),
			path:     func(t *testing.T) string { return file(t, cut) },
			sentinel: classify.ErrInvalidGraph,
		})
	}
	if cuts < 3 {
		t.Errorf("only %d truncations of the %d-byte test graph fail to parse; the truncation cases test too little", cuts, len(data))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := safeOpen(context.Background(), e, c.path(t), c.opts)
			if err == nil {
				m.Close()
			}
			checkErr(t, "Open", err, c.sentinel, c.mention...)
		})
	}
	t.Run("MissingFile", func(t *testing.T) {
		_, err := safeOpen(context.Background(), e, filepath.Join(t.TempDir(), "missing.pb"), classify.OpenOptions{})
		checkErr(t, "Open", err, fs.ErrNotExist, "missing.pb")
	})
}

func testRunErrors(t *testing.T, e classify.Engine) {
	ctx := context.Background()
	m, err := safeOpen(ctx, e, smallNetFile(t), classify.OpenOptions{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer m.Close()
	good := randTensor(21, 1, 1, smallSize, smallSize, 3)
	cases := []struct {
		name    string
		feeds   map[string]*classify.Tensor
		outputs []string
		mention []string
	}{
		{"WrongDType", map[string]*classify.Tensor{smallIn: classify.NewTensor(classify.Int32, 1, smallSize, smallSize, 3)}, []string{smallOut}, []string{smallIn}},
		{"WrongShape", map[string]*classify.Tensor{smallIn: randTensor(22, 1, 1, 4, 4, 3)}, []string{smallOut}, []string{smallIn}},
		{"WrongRank", map[string]*classify.Tensor{smallIn: randTensor(23, 1, smallSize, smallSize, 3)}, []string{smallOut}, []string{smallIn}},
		{"MissingFeed", map[string]*classify.Tensor{}, []string{smallOut}, []string{smallIn}},
		{"UnknownFeed", map[string]*classify.Tensor{smallIn: good, "no_such_input": good}, []string{smallOut}, []string{"no_such_input"}},
		{"UnknownOutput", map[string]*classify.Tensor{smallIn: good}, []string{"no_such_output"}, []string{"no_such_output"}},
		{"DataShapeMismatch", map[string]*classify.Tensor{smallIn: {DType: classify.Float32, Shape: classify.Shape{1, smallSize, smallSize, 3}, Data: make([]float32, 10)}}, []string{smallOut}, []string{smallIn}},
		{"NilTensor", map[string]*classify.Tensor{smallIn: nil}, []string{smallOut}, []string{smallIn}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := safeRun(ctx, m, c.feeds, c.outputs)
			checkErr(t, "Run", err, classify.ErrInvalidInput, c.mention...)
		})
	}
	// A bad request must leave the model usable.
	if _, err := safeRun(ctx, m, map[string]*classify.Tensor{smallIn: good}, []string{smallOut}); err != nil {
		t.Errorf("run after the bad requests: %v", err)
	}
}

// testBadGraphs opens graphs that parse but cannot run: the engine may
// notice at Open (static shapes and dtypes) or at Run, but must return an
// error wrapping ErrInvalidGraph that names the node, and never panic.
func testBadGraphs(t *testing.T, e classify.Engine) {
	cases := []struct {
		name  string
		build func(b *graphdef.Builder)
		node  string
	}{{
		// The filter expects 5 input channels, the image has 3.
		name:  "ConvChannels",
		build: func(b *graphdef.Builder) { smallNet(b, 5) },
		node:  "conv",
	}, {
		name: "MatMulShapes",
		build: func(b *graphdef.Builder) {
			x := b.Placeholder(smallIn, classify.Float32, classify.Shape{2, 4})
			w := b.Const("w", randTensor(41, 1, 3, 5))
			b.Op("MatMul", smallOut, []graphdef.Output{x, w}, graphdef.Attrs{"T": classify.Float32, "transpose_a": false, "transpose_b": false})
		},
		node: smallOut,
	}, {
		// A float32 and an int32 operand where T says float.
		name: "MixedDTypes",
		build: func(b *graphdef.Builder) {
			x := b.Placeholder(smallIn, classify.Float32, classify.Shape{2, 4})
			k := b.ConstI32("k", []int32{1, 2, 3, 4}, 4)
			b.Op("AddV2", smallOut, []graphdef.Output{x, k}, graphdef.Attrs{"T": classify.Float32})
		},
		node: smallOut,
	}, {
		// Reshape to a size that does not hold the input's elements.
		name: "ReshapeSize",
		build: func(b *graphdef.Builder) {
			x := b.Placeholder(smallIn, classify.Float32, classify.Shape{2, 4})
			s := b.ConstI32("to", []int32{3, 3}, 2)
			b.Op("Reshape", smallOut, []graphdef.Output{x, s}, graphdef.Attrs{"T": classify.Float32, "Tshape": classify.Int32})
		},
		node: smallOut,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := graphdef.New()
			c.build(b)
			in := b.Node(smallIn).Attr["shape"].GetShape()
			shape := make([]int, len(in.GetDim()))
			for i, d := range in.GetDim() {
				shape[i] = int(d.GetSize())
			}
			ctx := context.Background()
			m, err := safeOpen(ctx, e, writeGraph(t, b, "bad.pb"), classify.OpenOptions{Outputs: []string{smallOut}})
			if err == nil {
				defer m.Close()
				_, err = safeRun(ctx, m, map[string]*classify.Tensor{smallIn: randTensor(42, 1, shape...)}, []string{smallOut})
			}
			checkErr(t, "Open or Run", err, classify.ErrInvalidGraph, c.node)
		})
	}
}
