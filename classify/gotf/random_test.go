package gotf

import (
	"context"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// augmentGraph is a Keras-style augmentation layer: StatelessIf(training)
// whose training branch adds noise from a stateful, unseeded RandomUniform
// and whose inference branch passes x on.
func augmentGraph() *graphdef.Builder {
	b := graphdef.New()
	training := b.Placeholder("training", classify.Bool, classify.Shape{})
	x := b.Placeholder("x", f32, classify.Shape{-1})
	noisy := graphdef.New()
	noisy.Op("Shape", "shape", []O{"x"}, graphdef.Attrs{"T": f32, "out_type": i32})
	noisy.Op("RandomUniform", "noise", []O{"shape:output:0"}, graphdef.Attrs{"dtype": f32, "T": i32})
	noisy.Op("AddV2", "sum", []O{"x", "noise:output:0"}, graphdef.Attrs{"T": f32})
	b.Function("augment_true", []graphdef.Arg{arg("x", f32)}, []graphdef.Arg{arg("y", f32)}, noisy, []string{"sum:z:0"})
	pass := graphdef.New()
	pass.Op("Identity", "id", []O{"x"}, graphdef.Attrs{"T": f32})
	b.Function("augment_false", []graphdef.Arg{arg("x", f32)}, []graphdef.Arg{arg("y", f32)}, pass, []string{"id:output:0"})
	b.Op("StatelessIf", "aug", []O{training, x}, graphdef.Attrs{"then_branch": graphdef.Func("augment_true"), "else_branch": graphdef.Func("augment_false"),
		"Tcond": classify.Bool, "Tin": []classify.DType{f32}, "Tout": []classify.DType{f32}})
	return b
}

// The graph loads and serves inference; the random branch adds noise in
// [0, 1).
func TestUntakenRandomBranch(t *testing.T) {
	m, err := OpenGraph(context.Background(), augmentGraph().GraphDef(), classify.OpenOptions{Outputs: []string{"aug"}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(training bool) ([]*classify.Tensor, error) {
		return m.Run(context.Background(), map[string]*classify.Tensor{
			"training": {DType: classify.Bool, Shape: classify.Shape{}, Data: []bool{training}},
			"x":        classify.FromFloat32([]float32{1, 2}, 2),
		}, nil)
	}
	out, err := run(false)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Float32s(); got[0] != 1 || got[1] != 2 {
		t.Errorf("inference branch = %v, want [1 2]", got)
	}
	out, err = run(true)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Float32s(); got[0] < 1 || got[0] >= 2 || got[1] < 2 || got[1] >= 3 || got[0]-1 == got[1]-2 {
		t.Errorf("training branch = %v, want [1 2] plus two different noises in [0, 1)", got)
	}
}

// A seeded stateful random op is not folded at load: each run continues
// the node's stream (TensorFlow's GuardedPhiloxRandom), so runs differ,
// while two loads of the graph repeat the same sequence.
func TestStatefulRandomRuns(t *testing.T) {
	b := graphdef.New()
	b.Op("RandomUniform", "noise", []O{b.ConstI32("shape", []int32{2})}, graphdef.Attrs{"dtype": f32, "T": i32, "seed": int64(1), "seed2": int64(2)})
	seq := func() [][]float32 {
		m, err := OpenGraph(context.Background(), b.GraphDef(), classify.OpenOptions{Outputs: []string{"noise"}})
		if err != nil {
			t.Fatal(err)
		}
		var runs [][]float32
		for range 2 {
			out, err := m.Run(context.Background(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, append([]float32(nil), out[0].Float32s()...))
		}
		return runs
	}
	a, c := seq(), seq()
	if a[0][0] == a[1][0] && a[0][1] == a[1][1] {
		t.Errorf("two runs gave the same numbers %v: folded or not advanced", a[0])
	}
	for i := range a {
		for j := range a[i] {
			if a[i][j] != c[i][j] {
				t.Fatalf("two loads differ: %v and %v", a, c)
			}
		}
	}
}
