package gotf

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// dagValue is one value of a random graph: its graph output and how to
// compute it in the test.
type dagValue struct {
	out  O
	name string
	eval func(x []float32) []float32 // from the feed
}

// randomDAG builds a graph of n element-wise, view and split nodes over
// [4,6] float32 values, each reading values made earlier (so values have
// many readers and views alias the buffers of others), and returns the
// values with a plain-Go evaluation of each.
func randomDAG(r *rand.Rand, n int) (*graphdef.Builder, []dagValue) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{4, 6})
	vals := []dagValue{{out: x, name: "x", eval: func(x []float32) []float32 { return x }}}
	shape := b.ConstI32("shape", []int32{4, 6}, 2)
	flat := b.ConstI32("flat", []int32{24}, 1)
	perm := b.ConstI32("perm", []int32{1, 0}, 2)
	axis := b.ConstI32("axis", []int32{1})
	half := b.ConstF32("half", []float32{0.5}, 1)
	f32 := graphdef.Attrs{"T": classify.Float32}
	pick := func() dagValue {
		// Favour recent values, as real graphs do, but reach back too.
		k := len(vals) - 1 - min(r.IntN(len(vals)), r.IntN(len(vals)))
		return vals[k]
	}
	elementwise := func(a, c dagValue, f func(p, q float32) float32) func([]float32) []float32 {
		return func(x []float32) []float32 {
			p, q := a.eval(x), c.eval(x)
			y := make([]float32, len(p))
			for i := range y {
				y[i] = f(p[i], q[i])
			}
			return y
		}
	}
	for i := range n {
		name := fmt.Sprintf("v%d", i)
		a, c := pick(), pick()
		var v dagValue
		switch r.IntN(9) {
		case 0:
			v = dagValue{out: b.Op("AddV2", name, []O{a.out, c.out}, f32), eval: elementwise(a, c, func(p, q float32) float32 { return p + q })}
		case 1:
			v = dagValue{out: b.Op("Sub", name, []O{a.out, c.out}, f32), eval: elementwise(a, c, func(p, q float32) float32 { return p - q })}
		case 2:
			v = dagValue{out: b.Op("Maximum", name, []O{a.out, c.out}, f32), eval: elementwise(a, c, func(p, q float32) float32 { return max(p, q) })}
		case 3:
			v = dagValue{out: b.Op("Neg", name, []O{a.out}, f32), eval: elementwise(a, a, func(p, _ float32) float32 { return -p })}
		case 4:
			v = dagValue{out: b.Op("Relu", name, []O{a.out}, f32), eval: elementwise(a, a, func(p, _ float32) float32 { return max(p, 0) })}
		case 5:
			v = dagValue{out: b.Op("Identity", name, []O{a.out}, f32), eval: a.eval}
		case 6:
			// Two views: the flat one is a value of its own that others
			// never read, the second is the [4,6] result.
			fl := b.Op("Reshape", name+"/flat", []O{a.out, flat}, graphdef.Attrs{"T": classify.Float32, "Tshape": classify.Int32})
			v = dagValue{out: b.Op("Reshape", name, []O{fl, shape}, graphdef.Attrs{"T": classify.Float32, "Tshape": classify.Int32}), eval: a.eval}
		case 7:
			// Split in halves along the columns and put them back swapped.
			sp := b.Op("Split", name+"/split", []O{axis, a.out}, graphdef.Attrs{"T": classify.Float32, "num_split": 2})
			v = dagValue{out: b.Op("ConcatV2", name, []O{sp + ":1", sp, axis}, graphdef.Attrs{"T": classify.Float32, "N": 2, "Tidx": classify.Int32}),
				eval: func(x []float32) []float32 {
					p := a.eval(x)
					y := make([]float32, 24)
					for row := range 4 {
						copy(y[row*6:], p[row*6+3:row*6+6])
						copy(y[row*6+3:], p[row*6:row*6+3])
					}
					return y
				}}
		case 8:
			t1 := b.Op("Transpose", name+"/t", []O{a.out, perm}, graphdef.Attrs{"T": classify.Float32, "Tperm": classify.Int32})
			m := b.Op("Mul", name+"/m", []O{t1, half}, f32)
			v = dagValue{out: b.Op("Transpose", name, []O{m, perm}, graphdef.Attrs{"T": classify.Float32, "Tperm": classify.Int32}),
				eval: elementwise(a, a, func(p, _ float32) float32 { return p * 0.5 })}
		}
		v.name = name
		vals = append(vals, v)
	}
	return b, vals
}

// TestArenaRandomGraphs runs random graphs whose values share, alias and
// split buffers, fetching random sets of values, and checks every fetched
// value exactly against a plain evaluation: a buffer given to a later node
// while its value was still needed would change a result.
func TestArenaRandomGraphs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for g := range 40 {
		b, vals := randomDAG(r, 10+r.IntN(50))
		var all []string
		for _, v := range vals[1:] {
			all = append(all, v.name)
		}
		m := openBuilder(t, b, classify.OpenOptions{Outputs: all})
		for run := range 6 {
			x := make([]float32, 24)
			for i := range x {
				x[i] = r.Float32()*2 - 1
			}
			var fetch []dagValue
			for range 1 + r.IntN(4) {
				fetch = append(fetch, vals[1+r.IntN(len(vals)-1)])
			}
			var names []string
			for _, v := range fetch {
				names = append(names, v.name)
			}
			res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": classify.FromFloat32(x, 4, 6)}, names)
			if err != nil {
				t.Fatalf("graph %d run %d: %v", g, run, err)
			}
			for i, v := range fetch {
				if want := v.eval(x); !slices.Equal(res[i].Float32s(), want) {
					t.Fatalf("graph %d run %d: %s = %v, want %v", g, run, v.name, res[i].Float32s(), want)
				}
			}
		}
	}
}

// TestArenaConcurrentRuns checks that concurrent Runs of one model, each
// with its own arena, do not see each other's values.
func TestArenaConcurrentRuns(t *testing.T) {
	b, vals := randomDAG(rand.New(rand.NewPCG(3, 4)), 60)
	m := openBuilder(t, b, classify.OpenOptions{})
	last := vals[len(vals)-1]
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for range 50 {
				x := make([]float32, 24)
				for i := range x {
					x[i] = r.Float32()
				}
				res, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": classify.FromFloat32(x, 4, 6)}, []string{last.name})
				if err != nil {
					errs <- err
					return
				}
				if want := last.eval(x); !slices.Equal(res[0].Float32s(), want) {
					errs <- fmt.Errorf("worker %d: got %v, want %v", w, res[0].Float32s(), want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestArenaReusesMemory checks that a chain of nodes over a large tensor
// works in a few buffers, not one per node, and that steady-state runs do
// not grow the arena.
func TestArenaReusesMemory(t *testing.T) {
	const side, n = 256, 40
	b := graphdef.New()
	y := b.Placeholder("x", classify.Float32, classify.Shape{side, side})
	one := b.ConstF32("one", []float32{1}, 1)
	for i := range n {
		name := "out"
		if i < n-1 {
			name = fmt.Sprintf("a%d", i)
		}
		y = b.Op("AddV2", name, []O{y, one}, graphdef.Attrs{"T": classify.Float32})
	}
	m := openBuilder(t, b, classify.OpenOptions{})
	x := classify.NewTensor(classify.Float32, side, side)
	for range 3 {
		got := run1(t, m, map[string]*classify.Tensor{"x": x}, "out").Float32s()
		if got[0] != n || got[len(got)-1] != n {
			t.Fatalf("out = %v…, want %d", got[0], n)
		}
	}
	const buf = side * side * 4
	if got := m.ArenaBytes(); got < buf || got > 3*buf {
		t.Errorf("ArenaBytes = %d, want between one and three %d-byte buffers (the chain has %d nodes)", got, buf, n)
	}
}
