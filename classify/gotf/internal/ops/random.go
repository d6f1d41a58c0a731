package ops

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/classifyd/classifyd/classify"
)

// Stateless random ops with TensorFlow's Philox-4x32-10 generator
// (core/lib/random/philox_random.h) and its distributions
// (random_distributions.h), so a graph that gives the seed gets
// TensorFlow's numbers: uniform floats bit for bit; normals through
// Box-Muller in float64 (TensorFlow computes in float32, so the last bits
// may differ). The V2 ops take a key and counter instead of a seed; their
// uint64 tensors travel as int64 of the same bits, there being no uint64
// dtype here. The stateful ops are in random_stateful.go.
func init() {
	for _, op := range []string{"StatelessRandomUniform", "StatelessRandomNormal", "StatelessTruncatedNormal", "StatelessRandomUniformInt"} {
		Register(op, buildStateless(false))
		Register(op+"V2", buildStateless(true))
	}
	Register("StatelessRandomUniformFullInt", buildStateless(false))
	Register("StatelessRandomUniformFullIntV2", buildStateless(true))
	Register("StatelessRandomGetKeyCounter", buildGetKeyCounter(false))
	Register("StatelessRandomGetKeyCounterAlg", buildGetKeyCounter(true))
	Register("StatelessRandomGetAlg", func(n *Node, _ []*classify.Tensor) (Op, error) {
		alg := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{rngAlgPhilox}}
		return OpFunc(func(*Ctx, []*classify.Tensor) ([]*classify.Tensor, error) { return []*classify.Tensor{alg}, nil }), nil
	})
}

// TensorFlow's RNG algorithm ids (rng_alg.h).
const (
	rngAlgPhilox     = 1
	rngAlgThreefry   = 2
	rngAlgAutoSelect = 3
)

// maxRandomElements bounds one random output (64M elements): the shape is
// a tensor a request may control.
const maxRandomElements = 1 << 26

// philox is TensorFlow's PhiloxRandom: a 128-bit counter and a 64-bit key.
type philox struct {
	ctr [4]uint32
	key [2]uint32
}

// next returns the block of the current counter and advances it by one.
func (p *philox) next() [4]uint32 {
	c, k := p.ctr, p.key
	for r := range 10 {
		if r > 0 {
			k[0] += 0x9E3779B9
			k[1] += 0xBB67AE85
		}
		hi0, lo0 := bits.Mul32(0xD2511F53, c[0])
		hi1, lo1 := bits.Mul32(0xCD9E8D57, c[2])
		c = [4]uint32{hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0}
	}
	p.skip(1)
	return c
}

// skip advances the counter by n blocks.
func (p *philox) skip(n uint64) {
	lo, hi := uint32(n), uint32(n>>32)
	p.ctr[0] += lo
	if p.ctr[0] < lo {
		hi++
	}
	p.ctr[1] += hi
	if p.ctr[1] < hi {
		p.ctr[2]++
		if p.ctr[2] == 0 {
			p.ctr[3]++
		}
	}
}

// seedPhilox scrambles a [2] seed into a key and counter as
// stateless_random_ops.cc's GenerateKey does.
func seedPhilox(seed0, seed1 uint64) philox {
	p := philox{key: [2]uint32{0x3ec8f720, 0x02461e29}, ctr: [4]uint32{uint32(seed0), uint32(seed0 >> 32), uint32(seed1), uint32(seed1 >> 32)}}
	mix := p.next()
	return philox{key: [2]uint32{mix[0], mix[1]}, ctr: [4]uint32{0, 0, mix[2], mix[3]}}
}

// seedOf reads a [2] int32 or int64 seed; int32 seeds are sign-extended, as
// C++ converts them.
func seedOf(n *Node, t *classify.Tensor) (philox, error) {
	switch d := t.Data.(type) {
	case []int32:
		if len(d) == 2 {
			return seedPhilox(uint64(int64(d[0])), uint64(int64(d[1]))), nil
		}
	case []int64:
		if len(d) == 2 {
			return seedPhilox(uint64(d[0]), uint64(d[1])), nil
		}
	}
	return philox{}, n.InputErrorf("seed must be an int32 or int64 tensor of shape [2], got %v %v", t.DType, t.Shape)
}

// keyCounterOf reads the V2 ops' key ([1] uint64) and counter ([2] uint64
// for Philox), carried as int64.
func keyCounterOf(n *Node, key, ctr, alg *classify.Tensor) (philox, error) {
	a, ok := alg.Data.([]int32)
	if !ok || len(a) != 1 {
		return philox{}, n.InputErrorf("alg must be an int32 scalar")
	}
	switch a[0] {
	case rngAlgPhilox, rngAlgAutoSelect:
	case rngAlgThreefry:
		return philox{}, fmt.Errorf("node %q (%s): %w: the ThreeFry RNG algorithm", n.Name, n.Op, classify.ErrUnsupportedOp)
	default:
		return philox{}, n.InputErrorf("unknown RNG algorithm %d", a[0])
	}
	k, ok1 := key.Data.([]int64)
	c, ok2 := ctr.Data.([]int64)
	if !ok1 || !ok2 || len(k) != 1 || len(c) < 2 {
		return philox{}, n.InputErrorf("key [1] and counter [2] must be uint64 (int64) tensors, got %v %v and %v %v", key.DType, key.Shape, ctr.DType, ctr.Shape)
	}
	return philox{key: [2]uint32{uint32(k[0]), uint32(uint64(k[0]) >> 32)},
		ctr: [4]uint32{uint32(c[0]), uint32(uint64(c[0]) >> 32), uint32(c[1]), uint32(uint64(c[1]) >> 32)}}, nil
}

// uint32ToFloat maps the low 23 bits to [0, 1) as TensorFlow's
// Uint32ToFloat: a float in [1, 2) minus one.
func uint32ToFloat(x uint32) float32 {
	return math.Float32frombits(127<<23|x&0x7fffff) - 1
}

// uint64ToDouble is TensorFlow's Uint64ToDouble of two words.
func uint64ToDouble(x0, x1 uint32) float64 {
	man := uint64(x0&0xfffff)<<32 | uint64(x1)
	return math.Float64frombits(1023<<52|man) - 1
}

// boxMuller is TensorFlow's BoxMullerFloat (epsilon 1e-7, u1 from x0).
func boxMuller(x0, x1 uint32) (float32, float32) {
	u1 := uint32ToFloat(x0)
	if u1 < 1e-7 {
		u1 = 1e-7
	}
	v1 := 2 * math.Pi * float64(uint32ToFloat(x1))
	u2 := math.Sqrt(-2 * math.Log(float64(u1)))
	s, c := math.Sincos(v1)
	return float32(s * u2), float32(c * u2)
}

// boxMullerDouble is TensorFlow's BoxMullerDouble of four words.
func boxMullerDouble(x0, x1, x2, x3 uint32) (float64, float64) {
	u1 := uint64ToDouble(x0, x1)
	if u1 < 1e-20 {
		u1 = 1e-20
	}
	v1 := 2 * math.Pi * uint64ToDouble(x2, x3)
	u2 := math.Sqrt(-2 * math.Log(u1))
	s, c := math.Sincos(v1)
	return s * u2, c * u2
}

type statelessOp struct {
	n     *Node
	v2    bool
	dtype classify.DType
	kind  string // uniform, normal, truncated, int, fullint
}

func buildStateless(v2 bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		o := &statelessOp{n: n, v2: v2, dtype: n.Type("dtype")}
		base := n.Op
		if v2 {
			base = base[:len(base)-2]
		}
		want := 2
		switch base {
		case "StatelessRandomUniform":
			o.kind = "uniform"
		case "StatelessRandomNormal":
			o.kind = "normal"
		case "StatelessTruncatedNormal":
			o.kind = "truncated"
		case "StatelessRandomUniformInt":
			o.kind, want = "int", 4
		case "StatelessRandomUniformFullInt":
			o.kind = "fullint"
		}
		if v2 {
			want += 2 // shape, key, counter, alg (+ minval, maxval)
		}
		if n.NumInputs != want {
			return nil, n.Errorf("has %d inputs, want %d", n.NumInputs, want)
		}
		if !n.Has("dtype") {
			o.dtype = classify.Float32
			if o.kind == "int" || o.kind == "fullint" {
				o.dtype = classify.Int64
			}
		}
		switch {
		case o.kind == "int" || o.kind == "fullint":
			if o.dtype != classify.Int32 && o.dtype != classify.Int64 {
				return nil, fmt.Errorf("node %q (%s): %w: random integers of %v", n.Name, n.Op, classify.ErrUnsupportedOp, n.Attr["dtype"].GetType())
			}
		case o.dtype != classify.Float32 && o.dtype != classify.Float64:
			return nil, fmt.Errorf("node %q (%s): %w: random values of %v", n.Name, n.Op, classify.ErrUnsupportedOp, n.Attr["dtype"].GetType())
		}
		return o, nil
	}
}

func (o *statelessOp) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: o.dtype}}, nil
}

// shapeOf reads a shape input.
func shapeOf(n *Node, t *classify.Tensor) ([]int, error) {
	v, ok := ints(t)
	if !ok || len(t.Shape) > 1 {
		return nil, n.InputErrorf("shape must be an int vector, got %v %v", t.DType, t.Shape)
	}
	dims := make([]int, len(v))
	total := int64(1)
	for i, d := range v {
		if d < 0 {
			return nil, n.InputErrorf("negative dimension in shape %v", v)
		}
		if total *= d; total > maxRandomElements {
			return nil, n.InputErrorf("shape %v has more than %d elements", v, maxRandomElements)
		}
		dims[i] = int(d)
	}
	return dims, nil
}

func (o *statelessOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	dims, err := shapeOf(o.n, in[0])
	if err != nil {
		return nil, err
	}
	var gen philox
	rest := in[2:]
	if o.v2 {
		gen, err = keyCounterOf(o.n, in[1], in[2], in[3])
		rest = in[4:]
	} else {
		gen, err = seedOf(o.n, in[1])
	}
	if err != nil {
		return nil, err
	}
	out := ctx.Output(0, o.dtype, dims...)
	switch o.kind {
	case "uniform":
		fillUniform(out, &gen)
	case "normal":
		fillNormal(out, &gen)
	case "truncated":
		fillTruncated(out, gen)
	case "int":
		if err := o.fillInt(out, &gen, rest[0], rest[1]); err != nil {
			return nil, err
		}
	case "fullint":
		fillBits(out, &gen)
	}
	return []*classify.Tensor{out}, nil
}

// fillUniform: four floats (or two doubles) per Philox block, in order.
func fillUniform(t *classify.Tensor, g *philox) {
	switch d := t.Data.(type) {
	case []float32:
		for i := 0; i < len(d); i += 4 {
			b := g.next()
			for j := 0; j < 4 && i+j < len(d); j++ {
				d[i+j] = uint32ToFloat(b[j])
			}
		}
	case []float64:
		for i := 0; i < len(d); i += 2 {
			b := g.next()
			d[i] = uint64ToDouble(b[0], b[1])
			if i+1 < len(d) {
				d[i+1] = uint64ToDouble(b[2], b[3])
			}
		}
	}
}

// fillNormal: Box-Muller on each pair of words of a block.
func fillNormal(t *classify.Tensor, g *philox) {
	switch d := t.Data.(type) {
	case []float32:
		for i := 0; i < len(d); i += 4 {
			b := g.next()
			var r [4]float32
			r[0], r[1] = boxMuller(b[0], b[1])
			r[2], r[3] = boxMuller(b[2], b[3])
			copy(d[i:], r[:min(4, len(d)-i)])
		}
	case []float64:
		for i := 0; i < len(d); i += 2 {
			b := g.next()
			x, y := boxMullerDouble(b[0], b[1], b[2], b[3])
			d[i] = x
			if i+1 < len(d) {
				d[i+1] = y
			}
		}
	}
}

// fillTruncated follows TruncatedNormalDistribution: each group of four
// floats (two doubles) draws single words from a generator skipped to 256
// words per output element of the group before it, keeping the Box-Muller
// samples of magnitude < 2.
func fillTruncated(t *classify.Tensor, base philox) {
	group := 4
	if t.DType == classify.Float64 {
		group = 2
	}
	skipPerGroup := group * 256 / 4
	n := t.Len()
	for gi := 0; gi*group < n; gi++ {
		g := base
		g.skip(uint64(gi) * uint64(skipPerGroup))
		var buf [4]uint32
		used := 4
		word := func() uint32 {
			if used == 4 {
				buf, used = g.next(), 0
			}
			used++
			return buf[used-1]
		}
		var got []float64
		for len(got) < group {
			var f [2]float64
			if group == 4 {
				a, b := boxMuller(word(), word())
				f = [2]float64{float64(a), float64(b)}
			} else {
				w0, w1, w2, w3 := word(), word(), word(), word()
				f[0], f[1] = boxMullerDouble(w0, w1, w2, w3)
			}
			for _, v := range f {
				if math.Abs(v) < 2 && len(got) < group {
					got = append(got, v)
				}
			}
		}
		for j := 0; j < group && gi*group+j < n; j++ {
			switch d := t.Data.(type) {
			case []float32:
				d[gi*group+j] = float32(got[j])
			case []float64:
				d[gi*group+j] = got[j]
			}
		}
	}
}

// fillInt: lo + word % (hi - lo), one word per int32, two (low first) per
// int64, as TensorFlow's UniformDistribution for integers.
func (o *statelessOp) fillInt(t *classify.Tensor, g *philox, lo, hi *classify.Tensor) error {
	if err := o.intRange(lo, hi); err != nil {
		return err
	}
	switch d := t.Data.(type) {
	case []int32:
		l, h := lo.Int32s()[0], hi.Int32s()[0]
		r := uint32(h) - uint32(l)
		for i := 0; i < len(d); i += 4 {
			b := g.next()
			for j := 0; j < 4 && i+j < len(d); j++ {
				d[i+j] = l + int32(b[j]%r)
			}
		}
	case []int64:
		l, h := lo.Int64s()[0], hi.Int64s()[0]
		r := uint64(h) - uint64(l)
		for i := 0; i < len(d); i += 2 {
			b := g.next()
			d[i] = l + int64((uint64(b[0])|uint64(b[1])<<32)%r)
			if i+1 < len(d) {
				d[i+1] = l + int64((uint64(b[2])|uint64(b[3])<<32)%r)
			}
		}
	}
	return nil
}

// intRange checks minval and maxval: scalars of the output dtype, minval
// < maxval.
func (o *statelessOp) intRange(lo, hi *classify.Tensor) error {
	if lo.DType != o.dtype || hi.DType != o.dtype || lo.Len() != 1 || hi.Len() != 1 {
		return o.n.InputErrorf("minval and maxval must be %v scalars", o.dtype)
	}
	l, _ := ints(lo)
	h, _ := ints(hi)
	if l[0] >= h[0] {
		return o.n.InputErrorf("need minval < maxval, got %d >= %d", l[0], h[0])
	}
	return nil
}

// fillBits: the raw words (UniformFullInt).
func fillBits(t *classify.Tensor, g *philox) {
	switch d := t.Data.(type) {
	case []int32:
		for i := 0; i < len(d); i += 4 {
			b := g.next()
			for j := 0; j < 4 && i+j < len(d); j++ {
				d[i+j] = int32(b[j])
			}
		}
	case []int64:
		for i := 0; i < len(d); i += 2 {
			b := g.next()
			d[i] = int64(uint64(b[0]) | uint64(b[1])<<32)
			if i+1 < len(d) {
				d[i+1] = int64(uint64(b[2]) | uint64(b[3])<<32)
			}
		}
	}
}

// buildGetKeyCounter: StatelessRandomGetKeyCounter(seed) → key [1],
// counter [2] (and, for ...Alg, the algorithm), the V2 ops' inputs that
// reproduce the V1 ops' numbers for that seed.
func buildGetKeyCounter(withAlg bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
		}
		return OpFunc(func(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
			g, err := seedOf(n, in[0])
			if err != nil {
				return nil, err
			}
			key := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{1}, Data: []int64{int64(uint64(g.key[0]) | uint64(g.key[1])<<32)}}
			ctr := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{2}, Data: []int64{
				int64(uint64(g.ctr[0]) | uint64(g.ctr[1])<<32), int64(uint64(g.ctr[2]) | uint64(g.ctr[3])<<32),
			}}
			out := []*classify.Tensor{key, ctr}
			if withAlg {
				out = append(out, &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{rngAlgPhilox}})
			}
			return out, nil
		}), nil
	}
}
