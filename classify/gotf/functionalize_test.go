package gotf

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

type out = graphdef.Output

// tf1Loop builds a loop the way TF1's control_flow_ops._BuildLoop does:
// Enter → Merge → Switch(LoopCond) → Identity → body → NextIteration back
// to the Merge, Exit on the Switch's false output. Constants made with
// Const get a control input on the pivot, as WhileContext adds.
type tf1Loop struct {
	b     *graphdef.Builder
	name  string // name scope and frame name
	pivot out    // the body's control pivot once the body is being built
	cpred out    // the cond's pivot (the first Merge)
}

func (l *tf1Loop) frame() string { return l.name + "/while_context" }

// capture brings an outer value into the frame (an is_constant Enter).
func (l *tf1Loop) capture(x out) out {
	return l.b.Op("Enter", l.name+"/Enter", []out{x}, graphdef.Attrs{"frame_name": l.frame(), "is_constant": true, "parallel_iterations": 10})
}

// constant adds a scalar constant inside the frame.
func (l *tf1Loop) constant(t *classify.Tensor) out {
	c := l.b.Const(l.name+"/Const", t)
	p := l.pivot
	if p == "" {
		p = l.cpred
	}
	l.b.Node(string(c)).Input = append(l.b.Node(string(c)).Input, "^"+strings.Split(string(p), ":")[0])
	return c
}

// tf1While builds the loop and returns its Exits.
func tf1While(b *graphdef.Builder, name string, init []out, cond func(l *tf1Loop, v []out) out, body func(l *tf1Loop, v []out) []out) []out {
	l := &tf1Loop{b: b, name: name}
	var merges, exits, ids []out
	for _, x := range init {
		e := b.Op("Enter", name+"/Enter", []out{x}, graphdef.Attrs{"frame_name": l.frame(), "is_constant": false, "parallel_iterations": 10})
		merges = append(merges, b.Op("Merge", name+"/Merge", []out{e, e}, graphdef.Attrs{"N": 2}))
	}
	l.cpred = merges[0]
	lc := b.Op("LoopCond", name+"/LoopCond", []out{cond(l, merges)}, nil)
	for _, m := range merges {
		sw := b.Op("Switch", name+"/Switch", []out{m, lc}, nil)
		exits = append(exits, b.Op("Exit", name+"/Exit", []out{sw}, nil))
		ids = append(ids, b.Op("Identity", name+"/Identity", []out{sw + ":1"}, nil))
	}
	l.pivot = ids[0]
	res := body(l, ids)
	for i, r := range res {
		n := b.Op("NextIteration", name+"/NextIteration", []out{r}, nil)
		b.Node(string(merges[i])).Input[1] = string(n)
	}
	return exits
}

// tf1Cond builds tf.cond as TF1's CondContext does: a pivot per branch
// (Identity of Switch(pred, pred)), every outer value the branches read
// switched on pred, each result merged (false branch first).
func tf1Cond(b *graphdef.Builder, name string, pred out, ins []out, then, els func(pivot out, v []out) out) out {
	one := func(fn func(out, []out) out) func(out, []out) []out {
		return func(p out, v []out) []out { return []out{fn(p, v)} }
	}
	return tf1CondN(b, name, pred, ins, one(then), one(els))[0]
}

func tf1CondN(b *graphdef.Builder, name string, pred out, ins []out, then, els func(pivot out, v []out) []out) []out {
	psw := b.Op("Switch", name+"/Switch", []out{pred, pred}, nil)
	var res [2][]out
	for br, fn := range []func(out, []out) []out{els, then} {
		sfx := []string{":0", ":1"}[br]
		pivot := b.Op("Identity", name+"/switch_"+[]string{"f", "t"}[br], []out{psw + out(sfx)}, nil)
		var vs []out
		for _, x := range ins {
			sw := b.Op("Switch", name+"/Switch", []out{x, pred}, nil)
			vs = append(vs, sw+out(sfx))
		}
		for _, r := range fn(pivot, vs) {
			res[br] = append(res[br], b.Op("Identity", name+"/Identity", []out{r}, nil))
		}
	}
	var merges []out
	for i := range res[0] {
		merges = append(merges, b.Op("Merge", name+"/Merge", []out{res[0][i], res[1][i]}, graphdef.Attrs{"N": 2}))
	}
	return merges
}

// condTwo is a tf.cond with two results sharing a branch computation,
// then a second tf.cond on the same predicate reading the first's result:
// s = x*x; (s+1, s*2) if p else (x, -x); then out3 = r0*3 if p else r0.
func condTwo() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{3})
	p := b.Placeholder("p", classify.Bool, classify.Shape{})
	tf := graphdef.Attrs{"T": classify.Float32}
	r := tf1CondN(b, "cond", p, []out{x},
		func(pv out, v []out) []out {
			s := b.Op("Mul", "cond/sq", []out{v[0], v[0]}, tf)
			return []out{
				b.Op("AddV2", "cond/add", []out{s, pivotConst(b, pv, "cond/one", tf1F32(1))}, tf),
				b.Op("Mul", "cond/mul", []out{s, pivotConst(b, pv, "cond/two", tf1F32(2))}, tf),
			}
		},
		func(_ out, v []out) []out {
			return []out{b.Op("Identity", "cond/id", []out{v[0]}, tf), b.Op("Neg", "cond/neg", []out{v[0]}, tf)}
		})
	r3 := tf1Cond(b, "cond_1", p, []out{r[0]},
		func(pv out, v []out) out {
			return b.Op("Mul", "cond_1/mul", []out{v[0], pivotConst(b, pv, "cond_1/three", tf1F32(3))}, tf)
		},
		func(_ out, v []out) out { return b.Op("Identity", "cond_1/id", []out{v[0]}, tf) })
	b.Op("Identity", "out0", []out{r[0]}, tf)
	b.Op("Identity", "out1", []out{r[1]}, tf)
	b.Op("Identity", "out2", []out{r3}, tf)
	b.Op("Identity", "taken", []out{r[1] + ":1"}, graphdef.Attrs{"T": classify.Int32})
	return b
}

func TestTF1CondTwoResults(t *testing.T) {
	gd, err := functionalize(condTwo().GraphDef())
	if err != nil {
		t.Fatal(err)
	}
	// The two results of the first cond share one If; the second cond
	// reads the first, so it gets its own.
	ifs := 0
	for _, n := range gd.GetNode() {
		if n.GetOp() == "If" {
			ifs++
		}
	}
	if ifs != 2 {
		t.Errorf("%d If nodes, want 2", ifs)
	}
	var reads [2]string
	for _, n := range gd.GetNode() {
		for k, name := range []string{"cond/Merge", "cond/Merge_1"} {
			if n.GetName() == name && n.GetOp() == "IdentityN" && len(n.GetInput()) == 2 {
				reads[k], _, _ = parseInput(n.GetInput()[0])
			}
		}
	}
	if reads[0] == "" || reads[0] != reads[1] {
		t.Errorf("the first cond's results come from %q and %q, want one If", reads[0], reads[1])
	}
	m := openBuilder(t, condTwo(), classify.OpenOptions{Outputs: []string{"out0", "out1", "out2", "taken"}})
	x := classify.FromFloat32([]float32{1, -2, 3}, 3)
	for _, c := range []struct {
		p                bool
		out0, out1, out2 []float32
		taken            int32
	}{
		{true, []float32{2, 5, 10}, []float32{2, 8, 18}, []float32{6, 15, 30}, 1},
		{false, []float32{1, -2, 3}, []float32{-1, 2, -3}, []float32{1, -2, 3}, 0},
	} {
		got, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": x, "p": {DType: classify.Bool, Shape: classify.Shape{}, Data: []bool{c.p}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range [][]float32{c.out0, c.out1, c.out2} {
			if !sameTensor(got[i], classify.FromFloat32(want, 3)) {
				t.Errorf("p=%v: out%d = %v, want %v", c.p, i, got[i].Data, want)
			}
		}
		if !sameTensor(got[3], scalarI32(c.taken)) {
			t.Errorf("p=%v: branch index %v, want %d", c.p, got[3].Data, c.taken)
		}
	}
}

func pivotConst(b *graphdef.Builder, pivot out, name string, t *classify.Tensor) out {
	c := b.Const(name, t)
	b.Node(string(c)).Input = append(b.Node(string(c)).Input, "^"+string(pivot))
	return c
}

func tf1F32(v float32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{}, Data: []float32{v}}
}

// countedLoop: i, acc = 0, x; while i < n: acc = acc*0.5 + x; i += 1.
func countedLoop() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{4})
	n := b.Placeholder("n", classify.Int32, classify.Shape{})
	zero := b.ConstI32("zero", []int32{0})
	ex := tf1While(b, "while", []out{zero, x},
		func(l *tf1Loop, v []out) out {
			return b.Op("Less", "while/Less", []out{v[0], l.capture(n)}, graphdef.Attrs{"T": classify.Int32})
		},
		func(l *tf1Loop, v []out) []out {
			one := l.constant(scalarI32(1))
			half := l.constant(tf1F32(0.5))
			i := b.Op("AddV2", "while/add", []out{v[0], one}, graphdef.Attrs{"T": classify.Int32})
			a := b.Op("Mul", "while/mul", []out{v[1], half}, graphdef.Attrs{"T": classify.Float32})
			a = b.Op("AddV2", "while/add", []out{a, l.capture(x)}, graphdef.Attrs{"T": classify.Float32})
			return []out{i, a}
		})
	b.Op("Identity", "acc", []out{ex[1]}, graphdef.Attrs{"T": classify.Float32})
	b.Op("Identity", "count", []out{ex[0]}, graphdef.Attrs{"T": classify.Int32})
	return b
}

// tensorArrayLoop: unstacks x [n,3] into a TensorArray, writes
// x[i]*i + sum so far into another, and stacks it.
func tensorArrayLoop() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{-1, 3})
	shape := b.Op("Shape", "shape", []out{x}, graphdef.Attrs{"T": classify.Float32, "out_type": classify.Int32})
	n := b.Op("StridedSlice", "n", []out{shape, b.ConstI32("b0", []int32{0}, 1), b.ConstI32("b1", []int32{1}, 1), b.ConstI32("b2", []int32{1}, 1)},
		graphdef.Attrs{"T": classify.Int32, "Index": classify.Int32, "shrink_axis_mask": 1})
	taIn := b.Op("TensorArrayV3", "ta_in", []out{n}, graphdef.Attrs{"dtype": classify.Float32, "element_shape": classify.Shape{3}})
	taOut := b.Op("TensorArrayV3", "ta_out", []out{n}, graphdef.Attrs{"dtype": classify.Float32, "element_shape": classify.Shape{3}})
	rng := b.Op("Range", "unstack_range", []out{b.ConstI32("r0", []int32{0}), n, b.ConstI32("r1", []int32{1})}, graphdef.Attrs{"Tidx": classify.Int32})
	inFlow := b.Op("TensorArrayScatterV3", "unstack", []out{taIn, rng, x, taIn + ":1"}, graphdef.Attrs{"T": classify.Float32})
	zeros := b.Op("Fill", "zeros", []out{b.ConstI32("zs", []int32{3}, 1), b.Const("z0", tf1F32(0))}, graphdef.Attrs{"T": classify.Float32, "index_type": classify.Int32})
	ex := tf1While(b, "while", []out{b.ConstI32("i0", []int32{0}), zeros, taOut + ":1"},
		func(l *tf1Loop, v []out) out {
			return b.Op("Less", "while/Less", []out{v[0], l.capture(n)}, graphdef.Attrs{"T": classify.Int32})
		},
		func(l *tf1Loop, v []out) []out {
			xi := b.Op("TensorArrayReadV3", "while/read", []out{l.capture(taIn), v[0], l.capture(inFlow)}, graphdef.Attrs{"dtype": classify.Float32})
			fi := b.Op("Cast", "while/cast", []out{v[0]}, graphdef.Attrs{"SrcT": classify.Int32, "DstT": classify.Float32})
			s := b.Op("AddV2", "while/sum", []out{v[1], xi}, graphdef.Attrs{"T": classify.Float32})
			y := b.Op("Mul", "while/mul", []out{xi, fi}, graphdef.Attrs{"T": classify.Float32})
			y = b.Op("AddV2", "while/y", []out{y, s}, graphdef.Attrs{"T": classify.Float32})
			flow := b.Op("TensorArrayWriteV3", "while/write", []out{l.capture(taOut), v[0], y, v[2]}, graphdef.Attrs{"T": classify.Float32})
			i := b.Op("AddV2", "while/add", []out{v[0], l.constant(scalarI32(1))}, graphdef.Attrs{"T": classify.Int32})
			return []out{i, s, flow}
		})
	size := b.Op("TensorArraySizeV3", "stack/size", []out{taOut, ex[2]}, nil)
	idx := b.Op("Range", "stack/range", []out{b.ConstI32("s0", []int32{0}), size, b.ConstI32("s1", []int32{1})}, graphdef.Attrs{"Tidx": classify.Int32})
	b.Op("TensorArrayGatherV3", "out", []out{taOut, idx, ex[2]}, graphdef.Attrs{"dtype": classify.Float32, "element_shape": classify.Shape{3}})
	return b
}

// nestedLoops: for i < n: for j <= i: acc = acc + x*j.
func nestedLoops() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{2})
	n := b.Placeholder("n", classify.Int32, classify.Shape{})
	t32 := graphdef.Attrs{"T": classify.Int32}
	tf := graphdef.Attrs{"T": classify.Float32}
	ex := tf1While(b, "outer", []out{b.ConstI32("i0", []int32{0}), x},
		func(l *tf1Loop, v []out) out { return b.Op("Less", "outer/Less", []out{v[0], l.capture(n)}, t32) },
		func(lo *tf1Loop, v []out) []out {
			xo := lo.capture(x)
			i := v[0]
			j0 := lo.constant(scalarI32(0))
			in := tf1While(b, "outer/inner", []out{j0, v[1]},
				func(l *tf1Loop, w []out) out {
					return b.Op("LessEqual", "outer/inner/LessEqual", []out{w[0], l.capture(i)}, t32)
				},
				func(l *tf1Loop, w []out) []out {
					fj := b.Op("Cast", "outer/inner/cast", []out{w[0]}, graphdef.Attrs{"SrcT": classify.Int32, "DstT": classify.Float32})
					a := b.Op("Mul", "outer/inner/mul", []out{l.capture(xo), fj}, tf)
					a = b.Op("AddV2", "outer/inner/add", []out{w[1], a}, tf)
					j := b.Op("AddV2", "outer/inner/addj", []out{w[0], l.constant(scalarI32(1))}, t32)
					return []out{j, a}
				})
			ni := b.Op("AddV2", "outer/add", []out{i, lo.constant(scalarI32(1))}, t32)
			return []out{ni, in[1]}
		})
	b.Op("Identity", "out", []out{ex[1]}, tf)
	return b
}

// topCond: out = x*2 if p else x-1.
func topCond() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{3})
	y := b.Placeholder("y", classify.Float32, classify.Shape{3})
	tf := graphdef.Attrs{"T": classify.Float32}
	p := b.Op("Greater", "p", []out{b.Op("Sum", "sx", []out{x, b.ConstI32("ax", []int32{0})}, graphdef.Attrs{"T": classify.Float32, "Tidx": classify.Int32}), b.Const("zero", tf1F32(0))}, tf)
	m := tf1Cond(b, "cond", p, []out{x, y},
		func(pv out, v []out) out {
			return b.Op("Mul", "cond/mul", []out{v[0], pivotConst(b, pv, "cond/two", tf1F32(2))}, tf)
		},
		func(pv out, v []out) out {
			return b.Op("Sub", "cond/sub", []out{v[1], pivotConst(b, pv, "cond/one", tf1F32(1))}, tf)
		})
	b.Op("Identity", "out", []out{m}, tf)
	return b
}

// condInLoop: while i < n: acc = acc+1 if i%2 == 0 else acc*2; i += 1.
func condInLoop() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{2})
	n := b.Placeholder("n", classify.Int32, classify.Shape{})
	t32 := graphdef.Attrs{"T": classify.Int32}
	tf := graphdef.Attrs{"T": classify.Float32}
	ex := tf1While(b, "while", []out{b.ConstI32("i0", []int32{0}), x},
		func(l *tf1Loop, v []out) out { return b.Op("Less", "while/Less", []out{v[0], l.capture(n)}, t32) },
		func(l *tf1Loop, v []out) []out {
			r := b.Op("FloorMod", "while/mod", []out{v[0], l.constant(scalarI32(2))}, t32)
			p := b.Op("Equal", "while/eq", []out{r, l.constant(scalarI32(0))}, t32)
			m := tf1Cond(b, "while/cond", p, []out{v[1]},
				func(pv out, w []out) out {
					return b.Op("AddV2", "while/cond/add", []out{w[0], pivotConst(b, pv, "while/cond/one", tf1F32(1))}, tf)
				},
				func(pv out, w []out) out {
					return b.Op("Mul", "while/cond/mul", []out{w[0], pivotConst(b, pv, "while/cond/two", tf1F32(2))}, tf)
				})
			i := b.Op("AddV2", "while/add", []out{v[0], l.constant(scalarI32(1))}, t32)
			return []out{i, m}
		})
	b.Op("Identity", "out", []out{ex[1]}, tf)
	return b
}

// nmsLoop is greedy selection with a data-dependent trip count: while
// fewer than k picked and the best remaining score exceeds thr, pick the
// best, write its index to a dynamic TensorArray and knock it out.
func nmsLoop() *graphdef.Builder {
	b := graphdef.New()
	s := b.Placeholder("scores", classify.Float32, classify.Shape{-1})
	k := b.Placeholder("k", classify.Int32, classify.Shape{})
	thr := b.Const("thr", tf1F32(0.2))
	t32 := graphdef.Attrs{"T": classify.Int32}
	tf := graphdef.Attrs{"T": classify.Float32}
	ta := b.Op("TensorArrayV3", "picked", []out{b.ConstI32("size0", []int32{0})}, graphdef.Attrs{"dtype": classify.Int32, "dynamic_size": true, "element_shape": classify.Shape{}})
	ex := tf1While(b, "while", []out{b.ConstI32("c0", []int32{0}), s, ta + ":1"},
		func(l *tf1Loop, v []out) out {
			more := b.Op("Less", "while/Less", []out{v[0], l.capture(k)}, t32)
			best := b.Op("Max", "while/Max", []out{v[1], l.constant(scalarI32(0))}, graphdef.Attrs{"T": classify.Float32, "Tidx": classify.Int32})
			good := b.Op("Greater", "while/Greater", []out{best, l.capture(thr)}, tf)
			return b.Op("LogicalAnd", "while/and", []out{more, good}, nil)
		},
		func(l *tf1Loop, v []out) []out {
			idx := b.Op("ArgMax", "while/ArgMax", []out{v[1], l.constant(scalarI32(0))}, graphdef.Attrs{"T": classify.Float32, "Tidx": classify.Int32, "output_type": classify.Int32})
			flow := b.Op("TensorArrayWriteV3", "while/write", []out{l.capture(ta), v[0], idx, v[2]}, t32)
			sz := b.Op("Size", "while/size", []out{v[1]}, graphdef.Attrs{"T": classify.Float32, "out_type": classify.Int32})
			rng := b.Op("Range", "while/range", []out{l.constant(scalarI32(0)), sz, l.constant(scalarI32(1))}, graphdef.Attrs{"Tidx": classify.Int32})
			eq := b.Op("Equal", "while/eq", []out{rng, idx}, t32)
			mask := b.Op("Cast", "while/mask", []out{eq}, graphdef.Attrs{"SrcT": classify.Bool, "DstT": classify.Float32})
			plus := b.Op("AddV2", "while/plus1", []out{v[1], l.constant(tf1F32(1))}, tf)
			ns := b.Op("Sub", "while/knock", []out{v[1], b.Op("Mul", "while/mm", []out{mask, plus}, tf)}, tf)
			c := b.Op("AddV2", "while/add", []out{v[0], l.constant(scalarI32(1))}, t32)
			return []out{c, ns, flow}
		})
	size := b.Op("TensorArraySizeV3", "stack/size", []out{ta, ex[2]}, nil)
	idx := b.Op("Range", "stack/range", []out{b.ConstI32("z", []int32{0}), size, b.ConstI32("one", []int32{1})}, graphdef.Attrs{"Tidx": classify.Int32})
	b.Op("TensorArrayGatherV3", "selected", []out{ta, idx, ex[2]}, graphdef.Attrs{"dtype": classify.Int32, "element_shape": classify.Shape{}})
	b.Op("Identity", "count", []out{ex[0]}, t32)
	return b
}

func sameTensor(a, b *classify.Tensor) bool {
	if a.DType != b.DType || !a.Shape.Equal(b.Shape) {
		return false
	}
	switch a.DType {
	case classify.Float32:
		return maxDiff(a, b) <= 1e-5
	case classify.Int32:
		return slices.Equal(a.Int32s(), b.Int32s())
	}
	return false
}

// TestTF1ControlFlowGoldens runs TF1 loops and conditionals against what
// the TensorFlow.js oracle computed from the same graphs and inputs.
func TestTF1ControlFlowGoldens(t *testing.T) {
	for _, c := range []struct {
		name    string
		b       *graphdef.Builder
		feeds   map[string]*classify.Tensor
		fetches []string
	}{
		{"tf1_counted", countedLoop(), map[string]*classify.Tensor{"x": randTensor(31, 4), "n": scalarI32(7)}, []string{"acc", "count"}},
		{"tf1_tensorarray", tensorArrayLoop(), map[string]*classify.Tensor{"x": randTensor(32, 5, 3)}, []string{"out"}},
		{"tf1_cond_true", topCond(), map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{1, 2, -0.5}, 3), "y": randTensor(34, 3)}, []string{"out"}},
		{"tf1_cond_false", topCond(), map[string]*classify.Tensor{"x": classify.FromFloat32([]float32{-1, 2, -3.5}, 3), "y": randTensor(35, 3)}, []string{"out"}},
		{"tf1_cond_in_loop", condInLoop(), map[string]*classify.Tensor{"x": randTensor(36, 2), "n": scalarI32(5)}, []string{"out"}},
		{"tf1_nms", nmsLoop(), map[string]*classify.Tensor{"scores": classify.FromFloat32([]float32{0.1, 0.9, 0.3, 0.15, 0.7, 0.25, 0.05}, 7), "k": scalarI32(5)}, []string{"selected", "count"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, wants := runControlGolden(t, c.name, c.b, c.feeds, c.fetches)
			for i, f := range c.fetches {
				want := wants[i]
				if !sameTensor(got[i], want) {
					t.Errorf("%s = %v %v, oracle %v %v", f, got[i].Shape, got[i].Data, want.Shape, want.Data)
				}
			}
		})
	}
}

// TestTF1NestedLoops checks nested frames against the closed form: the
// oracle (TensorFlow.js) cannot compute the outputs of this graph.
func TestTF1NestedLoops(t *testing.T) {
	m := openBuilder(t, nestedLoops(), classify.OpenOptions{Outputs: []string{"out"}})
	x := classify.FromFloat32([]float32{1.5, -2}, 2)
	for _, n := range []int32{0, 1, 4, 7} {
		got, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": x, "n": scalarI32(n)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// acc = x + sum over i < n, j <= i of x*j = x * (1 + sum i(i+1)/2).
		f := float32(1)
		for i := range n {
			f += float32(i * (i + 1) / 2)
		}
		want := classify.FromFloat32([]float32{1.5 * f, -2 * f}, 2)
		if !sameTensor(got[0], want) {
			t.Errorf("n=%d: got %v, want %v", n, got[0].Data, want.Data)
		}
	}
}

// TestTF1ControlFlowErrors checks that loops the pass cannot understand
// fail at load, naming the frame and the node.
func TestTF1ControlFlowErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func() *graphdef.Builder
		want  []string
	}{
		{"merge without NextIteration", func() *graphdef.Builder {
			b := countedLoop()
			// The accumulator's Merge takes its Enter twice.
			m := b.Node("while/Merge_1")
			m.Input[1] = m.Input[0]
			return b
		}, []string{`frame "while/while_context"`, `"while/Merge_1"`, "NextIteration"}},
		{"exit of another frame", func() *graphdef.Builder {
			b := countedLoop()
			other := tf1While(b, "other", []out{b.ConstI32("o0", []int32{0})},
				func(l *tf1Loop, v []out) out {
					return b.Op("Less", "other/Less", []out{v[0], l.constant(scalarI32(3))}, graphdef.Attrs{"T": classify.Int32})
				},
				func(l *tf1Loop, v []out) []out {
					return []out{b.Op("AddV2", "other/add", []out{v[0], l.constant(scalarI32(1))}, graphdef.Attrs{"T": classify.Int32})}
				})
			// An Exit of the first loop reading the second loop's body.
			b.Node("while/Exit").Input[0] = "other/add"
			b.Op("Identity", "o", []out{other[0]}, nil)
			return b
		}, []string{`"while/Exit"`, `frame "other/while_context"`}},
		{"exit of an invariant", func() *graphdef.Builder {
			b := countedLoop()
			b.Op("Exit", "while/Exit_n", []out{"while/Enter_2"}, nil)
			return b
		}, []string{`"while/Exit_n"`, `frame "while/while_context"`, "not from a loop variable's Switch"}},
		{"exit at top level", func() *graphdef.Builder {
			b := countedLoop()
			b.Op("Exit", "stray", []out{"x"}, nil)
			return b
		}, []string{`"stray"`, "outside every frame"}},
		{"enter feeding no merge", func() *graphdef.Builder {
			b := countedLoop()
			b.Node("while/Enter").Attr["is_constant"] = graphdef.Attr(false)
			b.Node("while/Merge").Input = []string{"while/Enter_2", "while/NextIteration"}
			return b
		}, []string{`frame "while/while_context"`, `"while/Enter"`}},
		{"two loop conds", func() *graphdef.Builder {
			b := countedLoop()
			b.Op("LoopCond", "while/LoopCond2", []out{"while/Less"}, nil)
			return b
		}, []string{`"while/LoopCond2"`, "second LoopCond"}},
		{"body reads outside without Enter", func() *graphdef.Builder {
			b := countedLoop()
			b.Node("while/mul").Input[1] = "x"
			return b
		}, []string{`"while/mul"`, `"x"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			gd := c.build().GraphDef()
			_, err := OpenGraph(context.Background(), gd, classify.OpenOptions{})
			if !errors.Is(err, classify.ErrInvalidGraph) {
				t.Fatalf("error %v, want ErrInvalidGraph", err)
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %s", err, w)
				}
			}
		})
	}
}

// FuzzFunctionalize rewires the inputs of TF1 loop and conditional graphs
// as the fuzzer's bytes say: loading must fail with an error or give a
// model that runs (or fails) without panicking.
func FuzzFunctionalize(f *testing.F) {
	builders := []func() *graphdef.Builder{countedLoop, tensorArrayLoop, nestedLoops, topCond, condInLoop, nmsLoop, condTwo, loopInCond}
	for i := range builders {
		f.Add(uint8(i), []byte{})
		f.Add(uint8(i), []byte{3, 0, 5, 0})
		f.Add(uint8(i), []byte{7, 1, 2, 1, 9, 0, 4, 2})
	}
	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		gd := builders[int(which)%len(builders)]().GraphDef()
		nodes := gd.GetNode()
		for ; len(edits) >= 4; edits = edits[4:] {
			n := nodes[int(edits[0])%len(nodes)]
			src := nodes[int(edits[2])%len(nodes)].GetName()
			if edits[3]%4 != 0 {
				src += ":" + strconv.Itoa(int(edits[3]%4))
			}
			if len(n.Input) == 0 || edits[1] >= 128 {
				n.Input = append(n.Input, src)
				continue
			}
			n.Input[int(edits[1])%len(n.Input)] = src
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		m, err := load(ctx, gd, classify.OpenOptions{Threads: 1}, loadConfig{fuse: true, maxIter: 50})
		if err != nil {
			return
		}
		feeds := map[string]*classify.Tensor{}
		for _, n := range nodes {
			if n.GetOp() != "Placeholder" {
				continue
			}
			if graphdef.DTypeFromProto(n.GetAttr()["dtype"].GetType()) == classify.Int32 {
				feeds[n.GetName()] = scalarI32(3)
			} else {
				feeds[n.GetName()] = randTensor(1, 3)
			}
		}
		_, _ = m.Run(ctx, feeds, nil)
	})
}

// loopInCond: out = (acc doubled n times, from x) if p else x - 1; the
// loop lives in the true branch and reads n through the cond's Switch.
func loopInCond() *graphdef.Builder {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{2})
	n := b.Placeholder("n", classify.Int32, classify.Shape{})
	p := b.Placeholder("p", classify.Bool, classify.Shape{})
	tf := graphdef.Attrs{"T": classify.Float32}
	t32 := graphdef.Attrs{"T": classify.Int32}
	m := tf1Cond(b, "cond", p, []out{x, n},
		func(pv out, v []out) out {
			ex := tf1While(b, "cond/while", []out{pivotConst(b, pv, "cond/i0", scalarI32(0)), v[0]},
				func(l *tf1Loop, w []out) out {
					return b.Op("Less", "cond/while/Less", []out{w[0], l.capture(v[1])}, t32)
				},
				func(l *tf1Loop, w []out) []out {
					i := b.Op("AddV2", "cond/while/add", []out{w[0], l.constant(scalarI32(1))}, t32)
					a := b.Op("Mul", "cond/while/mul", []out{w[1], l.constant(tf1F32(2))}, tf)
					return []out{i, a}
				})
			return ex[1]
		},
		func(pv out, v []out) out {
			return b.Op("Sub", "cond/sub", []out{v[0], pivotConst(b, pv, "cond/one", tf1F32(1))}, tf)
		})
	b.Op("Identity", "out", []out{m}, tf)
	return b
}

func TestTF1LoopInCond(t *testing.T) {
	m := openBuilder(t, loopInCond(), classify.OpenOptions{Outputs: []string{"out"}})
	x := classify.FromFloat32([]float32{1.5, -0.25}, 2)
	for _, c := range []struct {
		p    bool
		n    int32
		want []float32
	}{
		{true, 3, []float32{12, -2}},
		{true, 0, []float32{1.5, -0.25}},
		{false, 3, []float32{0.5, -1.25}},
	} {
		got, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": x, "n": scalarI32(c.n), "p": {DType: classify.Bool, Shape: classify.Shape{}, Data: []bool{c.p}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTensor(got[0], classify.FromFloat32(c.want, 2)) {
			t.Errorf("p=%v n=%d: got %v, want %v", c.p, c.n, got[0].Data, c.want)
		}
	}
}

// TestTF1CondConstantBranches: tf.cond(p, lambda: 1., lambda: 2.) has no
// switched values, only constants tied to the pivots by control inputs.
func TestTF1CondConstantBranches(t *testing.T) {
	b := graphdef.New()
	p := b.Placeholder("p", classify.Bool, classify.Shape{})
	m := tf1Cond(b, "cond", p, nil,
		func(pv out, _ []out) out { return pivotConst(b, pv, "cond/one", tf1F32(1)) },
		func(pv out, _ []out) out { return pivotConst(b, pv, "cond/two", tf1F32(2)) })
	b.Op("Identity", "out", []out{m}, graphdef.Attrs{"T": classify.Float32})
	b.Op("Identity", "taken", []out{m + ":1"}, graphdef.Attrs{"T": classify.Int32})
	model := openBuilder(t, b, classify.OpenOptions{Outputs: []string{"out", "taken"}})
	for _, c := range []struct {
		p     bool
		want  float32
		taken int32
	}{{true, 1, 1}, {false, 2, 0}} {
		got, err := model.Run(context.Background(), map[string]*classify.Tensor{"p": {DType: classify.Bool, Shape: classify.Shape{}, Data: []bool{c.p}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTensor(got[0], tf1F32(c.want)) || !sameTensor(got[1], scalarI32(c.taken)) {
			t.Errorf("p=%v: got %v, %v; want %v, %d", c.p, got[0].Data, got[1].Data, c.want, c.taken)
		}
	}
}

// TestTF1NestedConds: out = (x*2 if q else x*3) if p else x-1, the inner
// cond switching values of the outer's true branch.
func TestTF1NestedConds(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{2})
	p := b.Placeholder("p", classify.Bool, classify.Shape{})
	q := b.Placeholder("q", classify.Bool, classify.Shape{})
	tf := graphdef.Attrs{"T": classify.Float32}
	m := tf1Cond(b, "cond", p, []out{x, q},
		func(_ out, v []out) out {
			return tf1Cond(b, "cond/cond", v[1], []out{v[0]},
				func(pv out, w []out) out {
					return b.Op("Mul", "cond/cond/mul2", []out{w[0], pivotConst(b, pv, "cond/cond/two", tf1F32(2))}, tf)
				},
				func(pv out, w []out) out {
					return b.Op("Mul", "cond/cond/mul3", []out{w[0], pivotConst(b, pv, "cond/cond/three", tf1F32(3))}, tf)
				})
		},
		func(pv out, v []out) out {
			return b.Op("Sub", "cond/sub", []out{v[0], pivotConst(b, pv, "cond/one", tf1F32(1))}, tf)
		})
	b.Op("Identity", "out", []out{m}, tf)
	model := openBuilder(t, b, classify.OpenOptions{Outputs: []string{"out"}})
	bv := func(v bool) *classify.Tensor {
		return &classify.Tensor{DType: classify.Bool, Shape: classify.Shape{}, Data: []bool{v}}
	}
	xv := classify.FromFloat32([]float32{1, -2}, 2)
	for _, c := range []struct {
		p, q bool
		want []float32
	}{{true, true, []float32{2, -4}}, {true, false, []float32{3, -6}}, {false, true, []float32{0, -3}}, {false, false, []float32{0, -3}}} {
		got, err := model.Run(context.Background(), map[string]*classify.Tensor{"x": xv, "p": bv(c.p), "q": bv(c.q)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTensor(got[0], classify.FromFloat32(c.want, 2)) {
			t.Errorf("p=%v q=%v: got %v, want %v", c.p, c.q, got[0].Data, c.want)
		}
	}
}

// TestTF1RefControlFlow: the Ref* forms of the primitives (TF1 loops over
// ref variables) run as the plain ones: the counted loop with every
// primitive renamed to its Ref form gives the same results.
func TestTF1RefControlFlow(t *testing.T) {
	feeds := map[string]*classify.Tensor{"x": randTensor(31, 4), "n": scalarI32(7)}
	plain := openBuilder(t, countedLoop(), classify.OpenOptions{Outputs: []string{"acc", "count"}})
	want, err := plain.Run(context.Background(), feeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := countedLoop()
	gd := b.GraphDef()
	renamed := 0
	for _, n := range gd.GetNode() {
		switch n.GetOp() {
		case "Enter", "Exit", "Switch", "Merge", "NextIteration":
			n.Op = "Ref" + n.GetOp()
			renamed++
		}
	}
	if renamed < 5 {
		t.Fatalf("renamed only %d nodes", renamed)
	}
	m, err := OpenGraph(context.Background(), gd, classify.OpenOptions{Outputs: []string{"acc", "count"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Run(context.Background(), feeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !sameTensor(got[i], want[i]) {
			t.Errorf("output %d = %v, want %v", i, got[i].Data, want[i].Data)
		}
	}
}
