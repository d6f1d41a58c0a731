package ops

import (
	"math"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// seededGen is GuardedPhiloxRandom's generator for (seed, seed2), written
// from PhiloxRandom(seed_lo, seed_hi): key = seed, counter words 2 and 3 =
// seed2, counter words 0 and 1 zero.
func seededGen(seed, seed2 uint64) philox {
	return philox{key: [2]uint32{uint32(seed), uint32(seed >> 32)}, ctr: [4]uint32{0, 0, uint32(seed2), uint32(seed2 >> 32)}}
}

// words returns the first n words of g's stream, block by block.
func words(g philox, n int) []uint32 {
	var w []uint32
	for len(w) < n {
		b := g.next()
		w = append(w, b[:]...)
	}
	return w[:n]
}

// buildOnce builds one node of op (for runs that must share its state).
func buildOnce(t *testing.T, op string, a graphdef.Attrs, nin int) Op {
	t.Helper()
	n := &Node{Name: "out", Op: op, Attr: attrs(a), NumInputs: nin}
	build, ok := Lookup(op)
	if !ok {
		t.Fatalf("%s not registered", op)
	}
	o, err := build(n, make([]*classify.Tensor, nin))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestStatefulUniform: element i of RandomUniform is word i of the seeded
// stream as a float in [0, 1); a second run of the same node continues 256
// blocks per element of the first run further on (ReserveRandomOutputs),
// and a float64 takes two words.
func TestStatefulUniform(t *testing.T) {
	a := graphdef.Attrs{"dtype": classify.Float32, "T": classify.Int32, "seed": int64(87654321), "seed2": int64(7)}
	got := mustRunAttr(t, "RandomUniform", a, shape32(2, 3))[0].Float32s()
	for i, w := range words(seededGen(87654321, 7), 6) {
		if want := math.Float32frombits(0x3f800000|w&0x7fffff) - 1; got[i] != want {
			t.Fatalf("run 1 element %d = %v, want %v", i, got[i], want)
		}
	}
	o := buildOnce(t, "RandomUniform", a, 1)
	first, _ := o.Run(&Ctx{}, []*classify.Tensor{shape32(5)})
	second, err := o.Run(&Ctx{}, []*classify.Tensor{shape32(3)})
	if err != nil {
		t.Fatal(err)
	}
	g := seededGen(87654321, 7)
	if first[0].Float32s()[0] != got[0] {
		t.Errorf("a fresh node does not start at the seed's stream")
	}
	g.skip(5 * 256)
	for i, w := range words(g, 3) {
		if want := math.Float32frombits(0x3f800000|w&0x7fffff) - 1; second[0].Float32s()[i] != want {
			t.Fatalf("run 2 element %d = %v, want %v", i, second[0].Float32s()[i], want)
		}
	}

	a64 := graphdef.Attrs{"dtype": classify.Float64, "T": classify.Int32, "seed": int64(1), "seed2": int64(0)}
	d := mustRunAttr(t, "RandomUniform", a64, shape32(3))[0].Data.([]float64)
	w := words(seededGen(1, 0), 8)
	for i := range d {
		man := uint64(w[2*i]&0xfffff)<<32 | uint64(w[2*i+1])
		if want := math.Float64frombits(1023<<52|man) - 1; d[i] != want {
			t.Errorf("float64 element %d = %v, want %v", i, d[i], want)
		}
	}
}

// TestStatefulUnseeded: seed = seed2 = 0 draws fresh seeds per node, so
// two nodes disagree (with probability 1 - 2^-69 for 3 floats).
func TestStatefulUnseeded(t *testing.T) {
	a := graphdef.Attrs{"dtype": classify.Float32, "T": classify.Int32}
	x := mustRunAttr(t, "RandomUniform", a, shape32(3))[0].Float32s()
	y := mustRunAttr(t, "RandomUniform", a, shape32(3))[0].Float32s()
	if x[0] == y[0] && x[1] == y[1] && x[2] == y[2] {
		t.Errorf("two unseeded nodes gave the same numbers %v", x)
	}
	for _, v := range append(x, y...) {
		if v < 0 || v >= 1 {
			t.Errorf("uniform value %v outside [0, 1)", v)
		}
	}
}

// TestStatefulNormal: Box-Muller on each pair of words (BoxMullerFloat:
// u1 from the first word clamped to 1e-7, angle from the second).
func TestStatefulNormal(t *testing.T) {
	a := graphdef.Attrs{"dtype": classify.Float32, "T": classify.Int32, "seed": int64(3), "seed2": int64(4)}
	got := mustRunAttr(t, "RandomStandardNormal", a, shape32(5))[0].Float32s()
	w := words(seededGen(3, 4), 8)
	u := func(x uint32) float64 { return float64(math.Float32frombits(0x3f800000|x&0x7fffff) - 1) }
	for i := 0; i < 5; i += 2 {
		u1 := math.Max(u(w[i]), 1e-7)
		r := math.Sqrt(-2 * math.Log(u1))
		want := [2]float64{r * math.Sin(2*math.Pi*u(w[i+1])), r * math.Cos(2*math.Pi*u(w[i+1]))}
		for j := 0; j < 2 && i+j < 5; j++ {
			if math.Abs(float64(got[i+j])-want[j]) > 1e-6 {
				t.Errorf("element %d = %v, want %v", i+j, got[i+j], want[j])
			}
		}
	}
	// TruncatedNormal keeps the samples of magnitude below 2.
	tn := mustRunAttr(t, "TruncatedNormal", a, shape32(64, 33))[0].Float32s()
	for i, v := range tn {
		if math.Abs(float64(v)) >= 2 {
			t.Fatalf("truncated element %d = %v", i, v)
		}
	}
	// Its first group is the normals of the seeded stream with |x| >= 2
	// dropped.
	var keep []float32
	for i := 0; len(keep) < 4; i += 2 {
		ww := words(seededGen(3, 4), i+2)
		u1 := math.Max(u(ww[i]), 1e-7)
		r := math.Sqrt(-2 * math.Log(u1))
		for _, v := range []float64{r * math.Sin(2*math.Pi*u(ww[i+1])), r * math.Cos(2*math.Pi*u(ww[i+1]))} {
			if math.Abs(v) < 2 && len(keep) < 4 {
				keep = append(keep, float32(v))
			}
		}
	}
	for j := range keep {
		if math.Abs(float64(tn[j]-keep[j])) > 1e-6 {
			t.Errorf("truncated element %d = %v, want %v", j, tn[j], keep[j])
		}
	}
}

// TestStatefulUniformInt: minval + word % (maxval - minval), and TF's
// argument errors.
func TestStatefulUniformInt(t *testing.T) {
	a := graphdef.Attrs{"Tout": classify.Int32, "T": classify.Int32, "seed": int64(5), "seed2": int64(6)}
	got := mustRunAttr(t, "RandomUniformInt", a, shape32(7), scalar32(-3), scalar32(10))[0].Int32s()
	for i, w := range words(seededGen(5, 6), 7) {
		if want := -3 + int32(w%13); got[i] != want {
			t.Errorf("element %d = %d, want %d", i, got[i], want)
		}
	}
	for _, tc := range []struct {
		lo, hi *classify.Tensor
		msg    string
	}{
		{scalar32(4), scalar32(4), "minval < maxval"},
		{shape32(1, 2), scalar32(4), "scalars"},
	} {
		if _, err := runAttrOp(t, "RandomUniformInt", a, shape32(2), tc.lo, tc.hi); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("minval %v maxval %v: err = %v, want %q", tc.lo.Data, tc.hi.Data, err, tc.msg)
		}
	}
	if _, err := runAttrOp(t, "RandomUniform", graphdef.Attrs{"dtype": classify.Float32, "T": classify.Int32}, shape32(-1)); err == nil {
		t.Errorf("negative dimension accepted")
	}
	if _, err := runAttrOp(t, "RandomUniform", graphdef.Attrs{"dtype": classify.Float32, "T": classify.Int32}, shape32(1<<14, 1<<14)); err == nil {
		t.Errorf("2^28 elements accepted")
	}
}

func scalar32(v int32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{v}}
}

// TestRandomShuffle: the Fisher-Yates of random_shuffle_op.cc (swap i with
// i + word % (size - i), size-1 draws) applied to rows.
func TestRandomShuffle(t *testing.T) {
	a := graphdef.Attrs{"T": classify.Float32, "seed": int64(11), "seed2": int64(12)}
	x := classify.FromFloat32([]float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, 7, 2)
	got := mustRunAttr(t, "RandomShuffle", a, x)[0]
	perm := []int{0, 1, 2, 3, 4, 5, 6}
	w := words(seededGen(11, 12), 6)
	for i := range 6 {
		j := i + int(w[i]%uint32(7-i))
		perm[i], perm[j] = perm[j], perm[i]
	}
	for i, p := range perm {
		if g := got.Float32s()[2*i : 2*i+2]; g[0] != float32(2*p) || g[1] != float32(2*p+1) {
			t.Errorf("row %d = %v, want row %d", i, g, p)
		}
	}
	one := classify.FromFloat32([]float32{1, 2}, 1, 2)
	if got := mustRunAttr(t, "RandomShuffle", a, one)[0]; got.Float32s()[1] != 2 {
		t.Errorf("one row changed: %v", got.Data)
	}
	s := &classify.Tensor{DType: classify.String, Shape: classify.Shape{3}, Data: [][]byte{[]byte("a"), []byte("b"), []byte("c")}}
	seenAll := map[string]bool{}
	for _, v := range mustRunAttr(t, "RandomShuffle", graphdef.Attrs{"T": classify.String, "seed": int64(1)}, s)[0].Data.([][]byte) {
		seenAll[string(v)] = true
	}
	if len(seenAll) != 3 {
		t.Errorf("shuffled strings lost elements: %v", seenAll)
	}
	if _, err := runAttrOp(t, "RandomShuffle", a, classify.FromFloat32([]float32{1})); err == nil {
		t.Errorf("scalar accepted")
	}
}

// TestMultinomial: each sample is the first class whose unnormalised CDF
// of exp(logit - max) exceeds RandDouble() * total, two words per double;
// -inf logits are never drawn.
func TestMultinomial(t *testing.T) {
	logits := classify.FromFloat32([]float32{0, 1, 2, float32(math.Inf(-1)), -1, 0, 0, 3}, 2, 4)
	a := graphdef.Attrs{"T": classify.Float32, "output_dtype": classify.Int64, "seed": int64(21), "seed2": int64(22)}
	got := mustRunAttr(t, "Multinomial", a, logits, scalar32(5))[0]
	if !got.Shape.Equal(classify.Shape{2, 5}) {
		t.Fatalf("shape %v", got.Shape)
	}
	w := words(seededGen(21, 22), 20)
	k := 0
	for b := range 2 {
		row := logits.Float32s()[4*b : 4*b+4]
		mx := math.Inf(-1)
		for _, v := range row {
			if !math.IsInf(float64(v), 0) {
				mx = math.Max(mx, float64(v))
			}
		}
		var cdf []float64
		tot := 0.0
		for _, v := range row {
			if !math.IsInf(float64(v), 0) {
				tot += math.Exp(float64(v) - mx)
			}
			cdf = append(cdf, tot)
		}
		for j := range 5 {
			man := uint64(w[k]&0xfffff)<<32 | uint64(w[k+1])
			k += 2
			find := (math.Float64frombits(1023<<52|man) - 1) * tot
			want := 0
			for want < 4 && cdf[want] <= find {
				want++
			}
			if g := got.Int64s()[5*b+j]; g != int64(want) {
				t.Errorf("row %d sample %d = %d, want %d", b, j, g, want)
			}
			if b == 0 && want == 3 {
				t.Errorf("a -inf logit was drawn")
			}
		}
	}
	// Frequencies follow softmax(logits).
	big := mustRunAttr(t, "Multinomial", graphdef.Attrs{"T": classify.Float32, "output_dtype": classify.Int32, "seed": int64(1)},
		classify.FromFloat32([]float32{0, float32(math.Log(3))}, 1, 2), scalar32(40000))[0].Int32s()
	ones := 0
	for _, v := range big {
		ones += int(v)
	}
	if f := float64(ones) / 40000; math.Abs(f-0.75) > 0.01 {
		t.Errorf("class 1 drawn %.4f of the time, want 0.75", f)
	}
	st := mustRunAttr(t, "StatelessMultinomial", graphdef.Attrs{"T": classify.Float32, "output_dtype": classify.Int64}, logits, scalar32(3), seed32(1, 2))[0]
	st2 := mustRunAttr(t, "StatelessMultinomial", graphdef.Attrs{"T": classify.Float32, "output_dtype": classify.Int64}, logits, scalar32(3), seed32(1, 2))[0]
	for i := range st.Int64s() {
		if st.Int64s()[i] != st2.Int64s()[i] {
			t.Fatalf("stateless multinomial is not a function of its seed")
		}
	}
	if z := mustRunAttr(t, "Multinomial", a, logits, scalar32(0))[0]; !z.Shape.Equal(classify.Shape{2, 0}) {
		t.Errorf("0 samples: shape %v", z.Shape)
	}
	for _, tc := range []struct {
		l, n *classify.Tensor
		msg  string
	}{
		{logits, scalar32(-1), "nonnegative"},
		{classify.FromFloat32([]float32{1, 2}, 2), scalar32(1), "matrix"},
		{classify.FromFloat32(nil, 2, 0), scalar32(1), "positive"},
	} {
		if _, err := runAttrOp(t, "Multinomial", a, tc.l, tc.n); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("logits %v num_samples %v: err = %v, want %q", tc.l.Shape, tc.n.Data, err, tc.msg)
		}
	}
}
