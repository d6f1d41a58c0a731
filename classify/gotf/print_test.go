package gotf

import (
	"context"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// A tf.print in a graph (StringFormat -> PrintV2, which the output waits
// for through a control edge) loads and runs; nothing is printed.
func TestPrintInGraph(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", f32, classify.Shape{-1})
	b.Op("StringFormat", "fmt", []O{x}, graphdef.Attrs{"T": []classify.DType{f32}, "template": "x = %s"})
	b.Op("PrintV2", "print", []O{"fmt"}, nil)
	b.Op("Identity", "out", []O{x, "^print"}, graphdef.Attrs{"T": f32})
	m, err := OpenGraph(context.Background(), b.GraphDef(), classify.OpenOptions{Outputs: []string{"out", "fmt"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{1, 2.5}, 2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Float32s(); got[1] != 2.5 {
		t.Errorf("out = %v", got)
	}
	if got := string(out[1].Data.([][]byte)[0]); got != "x = [1 2.5]" {
		t.Errorf("fmt = %q", got)
	}
}
