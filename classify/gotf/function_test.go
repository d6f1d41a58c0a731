package gotf

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	npb "github.com/galeone/tensorflow/tensorflow/go/core/framework/node_def_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

var (
	i32 = classify.Int32
	f32 = classify.Float32
	vnt = classify.Variant
)

func arg(name string, dt classify.DType) graphdef.Arg { return graphdef.Arg{Name: name, DType: dt} }

func scalarI32(v int32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{v}}
}

// addCounting adds the functions of a loop over (i, n, acc, step): cond
// is n - i, nonzero meaning true as TensorFlow reads a non-bool predicate;
// body is (i+step, n, twice(acc), step), where twice is called through
// PartitionedCall when nested is set and is an AddV2 otherwise. Body
// references use TensorFlow's "node:out_arg:i" form. The bodies hold no
// constants (step comes in as a loop variable) because the oracle's
// converter moves only the graph's own constants into weights.
func addCounting(b *graphdef.Builder, nested bool) {
	args := []graphdef.Arg{arg("i", i32), arg("n", i32), arg("acc", f32), arg("step", i32)}
	cond := graphdef.New()
	cond.Op("Sub", "left", []O{"n", "i"}, graphdef.Attrs{"T": i32})
	b.Function("cond", args, []graphdef.Arg{arg("left", i32)}, cond, []string{"left:z:0"})

	body := graphdef.New()
	body.Op("AddV2", "next", []O{"i", "step"}, graphdef.Attrs{"T": i32})
	ret := "doubled:z:0"
	if nested {
		body.Op("PartitionedCall", "doubled", []O{"acc"}, graphdef.Attrs{"f": graphdef.Func("twice"), "Tin": []classify.DType{f32}, "Tout": []classify.DType{f32}})
		ret = "doubled:output:0"
		tw := graphdef.New()
		tw.Op("AddV2", "sum", []O{"x", "x"}, graphdef.Attrs{"T": f32})
		b.Function("twice", []graphdef.Arg{arg("x", f32)}, []graphdef.Arg{arg("y", f32)}, tw, []string{"sum:z:0"})
	} else {
		body.Op("AddV2", "doubled", []O{"acc", "acc"}, graphdef.Attrs{"T": f32})
	}
	b.Function("body", args, []graphdef.Arg{arg("i_out", i32), arg("n_out", i32), arg("acc_out", f32), arg("step_out", i32)}, body,
		[]string{"next:z:0", "n", ret, "step"})
}

// countingGraph is while (n - i) { i++; acc *= 2 } with i from 0, n and
// acc fed: it returns (n, n, acc * 2^n, 1).
func countingGraph(op string, nested bool) *graphdef.Builder {
	b := graphdef.New()
	n := b.Placeholder("n", i32, classify.Shape{})
	acc := b.Placeholder("acc", f32, classify.Shape{-1})
	zero := b.ConstI32("zero", []int32{0})
	one := b.ConstI32("one", []int32{1})
	b.Op(op, "loop", []O{zero, n, acc, one}, graphdef.Attrs{"cond": graphdef.Func("cond"), "body": graphdef.Func("body"),
		"T": []classify.DType{i32, i32, f32, i32}, "parallel_iterations": 10})
	addCounting(b, nested)
	return b
}

func TestWhileCounting(t *testing.T) {
	for _, c := range []struct {
		name   string
		op     string
		nested bool
	}{
		{"While", "While", false},
		{"StatelessWhile", "StatelessWhile", false},
		{"nested call in body", "StatelessWhile", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := openBuilder(t, countingGraph(c.op, c.nested), classify.OpenOptions{Outputs: []string{"loop", "loop:2"}})
			for _, n := range []int32{0, 1, 5, 20} {
				acc := classify.FromFloat32([]float32{1, -0.5, 3}, 3)
				out, err := m.Run(context.Background(), map[string]*classify.Tensor{"n": scalarI32(n), "acc": acc}, nil)
				if err != nil {
					t.Fatalf("n=%d: %v", n, err)
				}
				if got := out[0].Int32s(); len(got) != 1 || got[0] != n {
					t.Errorf("n=%d: final i = %v, want %d", n, got, n)
				}
				p := float32(math.Pow(2, float64(n)))
				want := []float32{p, -0.5 * p, 3 * p}
				got := out[1].Float32s()
				if !out[1].Shape.Equal(classify.Shape{3}) || len(got) != 3 {
					t.Fatalf("n=%d: acc %v %v, want shape [3]", n, out[1].Shape, got)
				}
				for k := range want {
					if got[k] != want[k] {
						t.Errorf("n=%d: acc = %v, want %v", n, got, want)
						break
					}
				}
			}
		})
	}
}

// TestWhileFolded: a loop over constants runs once, at load, and leaves a
// constant.
func TestWhileFolded(t *testing.T) {
	b := graphdef.New()
	n := b.ConstI32("n", []int32{4})
	acc := b.ConstF32("acc", []float32{1.5})
	zero := b.ConstI32("zero", []int32{0})
	one := b.ConstI32("one", []int32{1})
	b.Op("While", "loop", []O{zero, n, acc, one}, graphdef.Attrs{"cond": graphdef.Func("cond"), "body": graphdef.Func("body"), "T": []classify.DType{i32, i32, f32, i32}})
	b.Op("Identity", "out", []O{"loop:2"}, graphdef.Attrs{"T": f32})
	addCounting(b, false)
	m := openBuilder(t, b, classify.OpenOptions{Outputs: []string{"out"}})
	if got := run1(t, m, nil, "out").Float32s(); len(got) != 1 || got[0] != 24 {
		t.Errorf("out = %v, want [24]", got)
	}
	if m.Info().Ops["While"] != 0 {
		t.Errorf("ops %v: the loop was not folded", m.Info().Ops)
	}
}

// rnnGraph accumulates the rows of x [T, 3] into a TensorList, the way a
// Keras RNN's while loop does, then stacks it: out[t] = x[0] + ... + x[t].
func rnnGraph() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", f32, classify.Shape{-1, 3})
	shape := b.ConstI32("elem_shape", []int32{3}, 1)
	unknown := b.ConstI32("unknown_shape", []int32{-1})
	in := b.Op("TensorListFromTensor", "in_list", []O{x, unknown}, graphdef.Attrs{"element_dtype": f32, "shape_type": i32})
	steps := b.Op("TensorListLength", "steps", []O{in}, nil)
	outl := b.Op("TensorListReserve", "out_list", []O{shape, steps}, graphdef.Attrs{"element_dtype": f32, "shape_type": i32})
	zero := b.ConstI32("zero", []int32{0})
	state := b.ConstF32("state0", []float32{0, 0, 0}, 3)
	one := b.ConstI32("one", []int32{1})
	b.Op("StatelessWhile", "loop", []O{zero, steps, state, in, outl, one, unknown}, graphdef.Attrs{"cond": graphdef.Func("rnn_cond"), "body": graphdef.Func("rnn_body"),
		"T": []classify.DType{i32, i32, f32, vnt, vnt, i32, i32}})
	b.Op("TensorListStack", "out", []O{"loop:4", shape}, graphdef.Attrs{"element_dtype": f32, "num_elements": -1})
	b.Op("TensorListElementShape", "out_shape", []O{"loop:4"}, graphdef.Attrs{"shape_type": i32})

	args := []graphdef.Arg{arg("i", i32), arg("n", i32), arg("h", f32), arg("xs", vnt), arg("ys", vnt), arg("one", i32), arg("any_shape", i32)}
	cond := graphdef.New()
	cond.Op("Sub", "left", []O{"n", "i"}, graphdef.Attrs{"T": i32})
	b.Function("rnn_cond", args, []graphdef.Arg{arg("left", i32)}, cond, []string{"left:z:0"})

	body := graphdef.New()
	xt := body.Op("TensorListGetItem", "x_t", []O{"xs", "i", "any_shape"}, graphdef.Attrs{"element_dtype": f32})
	h := body.Op("AddV2", "h_next", []O{"h", xt + ":item:0"}, graphdef.Attrs{"T": f32})
	body.Op("TensorListSetItem", "ys_next", []O{"ys", "i", h + ":z:0"}, graphdef.Attrs{"element_dtype": f32})
	body.Op("AddV2", "i_next", []O{"i", "one"}, graphdef.Attrs{"T": i32})
	b.Function("rnn_body", args, args, body, []string{"i_next:z:0", "n", "h_next:z:0", "xs", "ys_next:output_handle:0", "one", "any_shape"})
	return b
}

func TestWhileTensorList(t *testing.T) {
	m := openBuilder(t, rnnGraph(), classify.OpenOptions{Outputs: []string{"out", "out_shape"}})
	for _, steps := range []int{0, 1, 4} {
		x := randTensor(uint64(steps)+7, steps, 3)
		out, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": x}, nil)
		if err != nil {
			t.Fatalf("T=%d: %v", steps, err)
		}
		if !out[0].Shape.Equal(classify.Shape{steps, 3}) {
			t.Fatalf("T=%d: stacked shape %v, want [%d 3]", steps, out[0].Shape, steps)
		}
		var sum [3]float32
		for s := range steps {
			for k := range 3 {
				sum[k] += x.Float32s()[3*s+k]
				if got := out[0].Float32s()[3*s+k]; got != sum[k] {
					t.Errorf("T=%d: out[%d][%d] = %v, want %v", steps, s, k, got, sum[k])
				}
			}
		}
		if got := out[1].Int32s(); len(got) != 1 || got[0] != 3 {
			t.Errorf("T=%d: element shape %v, want [3]", steps, got)
		}
	}
}

// addBranches adds x+x, x*x and -x, bodies free of constants like
// addCounting's.
func addBranches(b *graphdef.Builder) {
	for _, f := range []struct{ name, op string }{{"twice", "AddV2"}, {"square", "Mul"}, {"negate", "Neg"}} {
		body := graphdef.New()
		in := []O{"x", "x"}
		if f.op == "Neg" {
			in = in[:1]
		}
		body.Op(f.op, "y", in, graphdef.Attrs{"T": f32})
		b.Function(f.name, []graphdef.Arg{arg("x", f32)}, []graphdef.Arg{arg("y", f32)}, body, []string{"y:" + map[string]string{"AddV2": "z", "Mul": "z", "Neg": "y"}[f.op] + ":0"})
	}
}

// ifGraph returns x+x when p holds, x*x otherwise; with withCase, "case"
// picks twice, square or negate by idx.
func ifGraph(withCase bool) *graphdef.Builder {
	b := graphdef.New()
	p := b.Placeholder("p", classify.Bool, classify.Shape{})
	x := b.Placeholder("x", f32, nil)
	b.Op("StatelessIf", "if", []O{p, x}, graphdef.Attrs{"then_branch": graphdef.Func("twice"), "else_branch": graphdef.Func("square"),
		"Tcond": classify.Bool, "Tin": []classify.DType{f32}, "Tout": []classify.DType{f32}})
	if withCase {
		idx := b.Placeholder("idx", i32, classify.Shape{})
		b.Op("Case", "case", []O{idx, x}, graphdef.Attrs{"branches": graphdef.Funcs("twice", "square", "negate"),
			"Tin": []classify.DType{f32}, "Tout": []classify.DType{f32}})
	}
	addBranches(b)
	return b
}

func TestIfAndCase(t *testing.T) {
	m := openBuilder(t, ifGraph(true), classify.OpenOptions{Outputs: []string{"if", "case"}})
	x0 := classify.FromFloat32([]float32{1, -2, 3, 4}, 2, 2)
	twice, square, negate := []float32{2, -4, 6, 8}, []float32{1, 4, 9, 16}, []float32{-1, 2, -3, -4}
	for _, c := range []struct {
		p        bool
		idx      int32
		wif, wcs []float32
	}{
		{true, 0, twice, twice},
		{false, 1, square, square},
		{true, 2, twice, negate},
		{false, 7, square, negate},  // out of range: the last branch
		{false, -1, square, negate}, // likewise
	} {
		out, err := m.Run(context.Background(), map[string]*classify.Tensor{
			"p": {DType: classify.Bool, Shape: classify.Shape{}, Data: []bool{c.p}}, "idx": scalarI32(c.idx), "x": x0}, nil)
		if err != nil {
			t.Fatalf("p=%v idx=%d: %v", c.p, c.idx, err)
		}
		for i, want := range [][]float32{c.wif, c.wcs} {
			if d := maxDiff(out[i], classify.FromFloat32(want, 2, 2)); d != 0 || !out[i].Shape.Equal(classify.Shape{2, 2}) {
				t.Errorf("p=%v idx=%d: output %d = %v %v, want %v", c.p, c.idx, i, out[i].Shape, out[i].Float32s(), want)
			}
		}
	}
}

func TestControlFlowLoadErrors(t *testing.T) {
	loop := func(cond, body string, vars int) *graphdef.Builder {
		b := graphdef.New()
		n := b.Placeholder("n", i32, classify.Shape{})
		acc := b.Placeholder("acc", f32, nil)
		in := []O{b.ConstI32("zero", []int32{0}), n, acc, b.ConstI32("one", []int32{1})}[:vars]
		b.Op("While", "loop", in, graphdef.Attrs{"cond": graphdef.Func(cond), "body": graphdef.Func(body)})
		addCounting(b, false)
		return b
	}
	recursive := loop("cond", "self", 4)
	self := graphdef.New()
	self.Op("While", "again", []O{"i", "n", "acc", "step"}, graphdef.Attrs{"cond": graphdef.Func("cond"), "body": graphdef.Func("self")})
	recursive.Function("self", []graphdef.Arg{arg("i", i32), arg("n", i32), arg("acc", f32), arg("step", i32)}, []graphdef.Arg{arg("a", i32), arg("b", i32), arg("c", f32), arg("d", i32)}, self,
		[]string{"again:output:0", "again:output:1", "again:output:2", "again:output:3"})
	for _, c := range []struct {
		name string
		b    *graphdef.Builder
		want string
	}{
		{"missing function", loop("cond", "nope", 4), `function "nope" is not in the graph's library`},
		{"wrong arity", loop("cond", "body", 3), "cond cond takes 4 args, the loop has 3 variables"},
		{"recursion", recursive, `function "self" calls itself`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := OpenGraph(context.Background(), c.b.GraphDef(), classify.OpenOptions{Outputs: []string{"loop"}})
			if !errors.Is(err, classify.ErrInvalidGraph) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalidGraph with %q", err, c.want)
			}
		})
	}
}

// TestRunawayLoop: a loop whose condition stays true stops at the
// iteration cap, and at the context's deadline before that.
func TestRunawayLoop(t *testing.T) {
	gd := countingGraph("While", false).GraphDef()
	feeds := map[string]*classify.Tensor{"n": scalarI32(-1), "acc": classify.FromFloat32([]float32{1}, 1)}
	m, err := load(context.Background(), gd, classify.OpenOptions{Outputs: []string{"loop:2"}}, loadConfig{fuse: true, maxIter: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(context.Background(), feeds, nil); !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), "after 100 iterations") {
		t.Errorf("capped loop: err = %v, want ErrInvalidInput after 100 iterations", err)
	}
	// n = 100 runs exactly to the cap and is not an error.
	out, err := m.Run(context.Background(), map[string]*classify.Tensor{"n": scalarI32(100), "acc": feeds["acc"]}, nil)
	if err != nil || out[0].Float32s()[0] != float32(math.Pow(2, 100)) {
		t.Errorf("100 iterations: %v, %v", out, err)
	}

	m, err = OpenGraph(context.Background(), gd, classify.OpenOptions{Outputs: []string{"loop:2"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = m.Run(ctx, feeds, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the loop took %v to notice its deadline", d)
	}
}

// TestWhileConcurrent: runs of one loop model on many goroutines share the
// compiled bodies and must not see each other's loop variables.
func TestWhileConcurrent(t *testing.T) {
	m := openBuilder(t, rnnGraph(), classify.OpenOptions{Outputs: []string{"out"}})
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			steps := 1 + g%4
			x := randTensor(uint64(100+g), steps, 3)
			for range 20 {
				out, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": x}, nil)
				if err != nil {
					errs <- err
					return
				}
				last := out[0].Float32s()[3*(steps-1):]
				for k := range 3 {
					var sum float32
					for s := range steps {
						sum += x.Float32s()[3*s+k]
					}
					if last[k] != sum {
						errs <- fmt.Errorf("goroutine %d: last row %v, want column sums", g, last)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestOutputIndexWithoutOpDefs: a GraphDef's function bodies come without
// OpDefs; "node:arg:i" then resolves through the table of multi-output ops,
// and any other op counts as having one output argument.
func TestOutputIndexWithoutOpDefs(t *testing.T) {
	f := &flattener{}
	for _, c := range []struct {
		op, out string
		i, want int
	}{
		{"TopKV2", "indices", 0, 1},
		{"FusedBatchNormV3", "batch_variance", 0, 2},
		{"Split", "output", 2, 2},
		{"AddV2", "z", 0, 0},
	} {
		got, err := f.outputIndex(&npb.NodeDef{Name: "n", Op: c.op}, c.out, c.i)
		if err != nil || got != c.want {
			t.Errorf("%s %s:%d = %d, %v; want %d", c.op, c.out, c.i, got, err, c.want)
		}
	}
	if _, err := f.outputIndex(&npb.NodeDef{Name: "n", Op: "TopKV2"}, "nope", 0); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("unknown output arg of a known op: err = %v, want ErrInvalidGraph", err)
	}
}
