package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/classifyd/classifyd/classify"
)

// Stateful random ops, seeded as TensorFlow's GuardedPhiloxRandom
// (core/util/guarded_philox_random.cc): attrs seed and seed2 give the
// Philox key (seed) and the high half of the counter (seed2); both zero
// means "unseeded", and the generator starts from random seeds. Each run
// reserves its blocks and advances the node's generator past them as
// TensorFlow's kernels do (256 blocks per output element for the
// PhiloxRandomOp family), so the first run of a seeded graph gives
// TensorFlow's first-run numbers and later runs its later numbers, as long
// as the node is run in the same order. The distributions are the
// stateless ops' (random.go).
func init() {
	for _, op := range []string{"RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt"} {
		Register(op, buildStatefulRandom)
	}
	Register("RandomShuffle", buildRandomShuffle)
	allowDTypes("RandomShuffle", allNewDTypes...)
	Register("Multinomial", buildMultinomial(false))
	Register("StatelessMultinomial", buildMultinomial(true))
}

// guardedPhilox is GuardedPhiloxRandom: a generator shared by the runs of
// one node.
type guardedPhilox struct {
	mu  sync.Mutex
	gen philox
}

func newGuardedPhilox(n *Node) *guardedPhilox {
	seed, seed2 := uint64(n.Int("seed", 0)), uint64(n.Int("seed2", 0))
	if seed == 0 && seed2 == 0 {
		seed, seed2 = rand.Uint64(), rand.Uint64()
	}
	return &guardedPhilox{gen: philox{
		key: [2]uint32{uint32(seed), uint32(seed >> 32)},
		ctr: [4]uint32{0, 0, uint32(seed2), uint32(seed2 >> 32)},
	}}
}

// reserve returns the generator for a run that uses up to blocks Philox
// blocks and skips the shared one past them.
func (g *guardedPhilox) reserve(blocks uint64) philox {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.gen
	g.gen.skip(blocks)
	return p
}

type statefulRandomOp struct {
	dist *statelessOp // the distribution: kind, dtype, integer checks
	gen  *guardedPhilox
}

func buildStatefulRandom(n *Node, _ []*classify.Tensor) (Op, error) {
	o := &statelessOp{n: n}
	want := 1
	switch n.Op {
	case "RandomUniform":
		o.kind = "uniform"
	case "RandomStandardNormal":
		o.kind = "normal"
	case "TruncatedNormal":
		o.kind = "truncated"
	case "RandomUniformInt":
		o.kind, want = "int", 3
	}
	if n.NumInputs != want {
		return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, want)
	}
	if o.kind == "int" {
		o.dtype = n.Type("Tout")
		if o.dtype != classify.Int32 && o.dtype != classify.Int64 {
			return nil, fmt.Errorf("node %q (%s): %w: random integers of %v", n.Name, n.Op, classify.ErrUnsupportedOp, n.Attr["Tout"].GetType())
		}
	} else {
		o.dtype = n.Type("dtype")
		if o.dtype != classify.Float32 && o.dtype != classify.Float64 {
			return nil, fmt.Errorf("node %q (%s): %w: random values of %v", n.Name, n.Op, classify.ErrUnsupportedOp, n.Attr["dtype"].GetType())
		}
	}
	return &statefulRandomOp{dist: o, gen: newGuardedPhilox(n)}, nil
}

func (o *statefulRandomOp) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: o.dist.dtype}}, nil
}

func (o *statefulRandomOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	d := o.dist
	dims, err := shapeOf(d.n, in[0])
	if err != nil {
		return nil, err
	}
	if d.kind == "int" {
		// Checked before anything is reserved, as RandomUniformIntOp does.
		if err := d.intRange(in[1], in[2]); err != nil {
			return nil, err
		}
	}
	out := ctx.Output(0, d.dtype, dims...)
	gen := o.gen.reserve(uint64(out.Len()) * 256)
	switch d.kind {
	case "uniform":
		fillUniform(out, &gen)
	case "normal":
		fillNormal(out, &gen)
	case "truncated":
		fillTruncated(out, gen)
	case "int":
		if err := d.fillInt(out, &gen, in[1], in[2]); err != nil {
			return nil, err
		}
	}
	return []*classify.Tensor{out}, nil
}

// RandomShuffle: Fisher-Yates over the first dimension with exactly
// size-1 draws, word % (size-i), as random_shuffle_op.cc.
type randomShuffleOp struct {
	n   *Node
	gen *guardedPhilox
}

func buildRandomShuffle(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	return &randomShuffleOp{n: n, gen: newGuardedPhilox(n)}, nil
}

func (o *randomShuffleOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{in[0]}, nil
}

func (o *randomShuffleOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if len(x.Shape) == 0 {
		return nil, o.n.InputErrorf("value must be at least 1-D, got a scalar")
	}
	size := x.Shape[0]
	if x.Len() <= 1 || size <= 1 {
		return []*classify.Tensor{x}, nil
	}
	if size > math.MaxUint32 {
		return nil, o.n.InputErrorf("first dimension %d is too large to shuffle", size)
	}
	// ReserveSamples32(size-1): whole blocks of four words.
	gen := o.gen.reserve(uint64(size-1+3) / 4)
	w := wordStream{g: &gen}
	perm := make([]int, size)
	for i := range perm {
		perm[i] = i
	}
	for i := 0; i < size-1; i++ {
		j := i + int(w.next()%uint32(size-i))
		perm[i], perm[j] = perm[j], perm[i]
	}
	out := ctx.Output(0, x.DType, x.Shape...)
	g := gatherGeom{batches: 1, outer: 1, dim: size, inner: x.Len() / size}
	if err := gatherInto(out, x, perm, g); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return []*classify.Tensor{out}, nil
}

// wordStream is SingleSampleAdapter: the words of successive blocks, in
// order.
type wordStream struct {
	g    *philox
	buf  [4]uint32
	used int
	init bool
}

func (w *wordStream) next() uint32 {
	if !w.init || w.used == 4 {
		w.buf, w.used, w.init = w.g.next(), 0, true
	}
	w.used++
	return w.buf[w.used-1]
}

// Multinomial and StatelessMultinomial (multinomial_op.cc): per batch row, an
// unnormalised CDF of exp(logit - max) in float64 over the finite logits,
// and per sample the first class whose CDF exceeds RandDouble() * total.
// TensorFlow shards rows across threads, each shard starting its stream at
// row*(num_samples+3)/4 blocks; here all rows share one stream, which is
// TensorFlow's result whenever it runs the op as one shard (small batches).
type multinomialOp struct {
	n         *Node
	stateless bool
	out       classify.DType
	gen       *guardedPhilox
}

// maxMultinomialWork bounds batch * (classes + samples).
const maxMultinomialWork = 1 << 28

func buildMultinomial(stateless bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		want := 2
		if stateless {
			want = 3
		}
		if n.NumInputs != want {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, want)
		}
		o := &multinomialOp{n: n, stateless: stateless, out: classify.Int64}
		if n.Has("output_dtype") {
			o.out = n.Type("output_dtype")
		}
		if o.out != classify.Int32 && o.out != classify.Int64 {
			return nil, n.Errorf("output_dtype must be int32 or int64, got %v", n.Attr["output_dtype"].GetType())
		}
		if t := n.Type("T"); n.Has("T") && t != classify.Float32 && t != classify.Float64 {
			return nil, fmt.Errorf("node %q (%s): %w: logits of %v", n.Name, n.Op, classify.ErrUnsupportedOp, n.Attr["T"].GetType())
		}
		if !stateless {
			o.gen = newGuardedPhilox(n)
		}
		return o, nil
	}
}

func (o *multinomialOp) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: o.out}}, nil
}

func (o *multinomialOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	logits, ns := in[0], in[1]
	if len(logits.Shape) != 2 {
		return nil, o.n.InputErrorf("logits should be a matrix, got shape %v", logits.Shape)
	}
	nsv, ok := ints(ns)
	if !ok || len(ns.Shape) != 0 || ns.DType != classify.Int32 {
		return nil, o.n.InputErrorf("num_samples should be an int32 scalar, got %v %v", ns.DType, ns.Shape)
	}
	samples := nsv[0]
	if samples < 0 {
		return nil, o.n.InputErrorf("num_samples should be nonnegative, got %d", samples)
	}
	batch, classes := logits.Shape[0], logits.Shape[1]
	if classes <= 0 {
		return nil, o.n.InputErrorf("num_classes should be positive, got %d", classes)
	}
	if int64(batch)*(int64(classes)+samples) > maxMultinomialWork {
		return nil, o.n.InputErrorf("%d rows of %d classes and %d samples is more than %d elements of work", batch, classes, samples, maxMultinomialWork)
	}
	var row func(b int) []float64
	switch d := logits.Data.(type) {
	case []float32:
		buf := make([]float64, classes)
		row = func(b int) []float64 {
			for j, v := range d[b*classes : (b+1)*classes] {
				buf[j] = float64(v)
			}
			return buf
		}
	case []float64:
		row = func(b int) []float64 { return d[b*classes : (b+1)*classes] }
	default:
		return nil, o.n.InputErrorf("logits must be float32 or float64, got %v", logits.DType)
	}
	out := ctx.Output(0, o.out, batch, int(samples))
	if out.Len() == 0 {
		return []*classify.Tensor{out}, nil
	}
	// Doubles take two words each: ReserveRandomOutputs(batch * ceil4(n) * 2, 256).
	blocks := uint64(batch) * uint64((samples+3)/4*4*2) * 256
	var gen philox
	if o.stateless {
		var err error
		if gen, err = seedOf(o.n, in[2]); err != nil {
			return nil, err
		}
	} else {
		gen = o.gen.reserve(blocks)
	}
	w := wordStream{g: &gen}
	cdf := make([]float64, classes)
	for b := range batch {
		r := row(b)
		mx := -math.MaxFloat64
		if logits.DType == classify.Float32 {
			mx = -math.MaxFloat32
		}
		for _, v := range r {
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				mx = math.Max(mx, v)
			}
		}
		total := 0.0
		for j, v := range r {
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				total += math.Exp(v - mx)
			}
			cdf[j] = total
		}
		for j := range int(samples) {
			x0, x1 := w.next(), w.next()
			find := uint64ToDouble(x0, x1) * total
			k := sort.Search(classes, func(i int) bool { return cdf[i] > find })
			switch d := out.Data.(type) {
			case []int32:
				d[b*int(samples)+j] = int32(k)
			case []int64:
				d[b*int(samples)+j] = int64(k)
			}
		}
	}
	return []*classify.Tensor{out}, nil
}
