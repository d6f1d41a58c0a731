package ops

import (
	"errors"
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// The Philox-4x32-10 known answers published with Random123
// (tests/kat_vectors, "philox4x32 10" lines: counter, key → output), the
// generator TensorFlow's PhiloxRandom implements.
func TestPhiloxKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		p := philox{ctr: tc.ctr, key: tc.key}
		if got := p.next(); got != tc.want {
			t.Errorf("philox(%08x, %08x) = %08x, want %08x", tc.ctr, tc.key, got, tc.want)
		}
	}
	// The counter is 128 bits wide: skipping carries across words.
	p := philox{ctr: [4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0}}
	p.skip(1)
	if p.ctr != [4]uint32{0, 0, 0, 1} {
		t.Errorf("counter after carry = %08x", p.ctr)
	}
}

func seed32(a, b int32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{2}, Data: []int32{a, b}}
}

func shape32(d ...int32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{len(d)}, Data: d}
}

// A uniform float is the low 23 bits of a Philox word as the mantissa of a
// float in [1, 2), minus one (random_distributions.h): element i of the
// output is word i%4 of block i/4 of the generator GenerateKey makes from
// the seed. The V2 op fed StatelessRandomGetKeyCounter's key and counter
// gives the same numbers, as TensorFlow documents.
func TestStatelessUniform(t *testing.T) {
	seed := seed32(1, -2)
	out := mustRunAttr(t, "StatelessRandomUniform", graphdef.Attrs{"dtype": classify.Float32}, shape32(2, 5), seed)[0]
	g := seedPhilox(1, uint64(math.MaxUint64-1))
	var want []float32
	for range 3 {
		for _, w := range g.next() {
			want = append(want, math.Float32frombits(0x3f800000|w&0x7fffff)-1)
		}
	}
	got := out.Float32s()
	if !out.Shape.Equal(classify.Shape{2, 5}) {
		t.Fatalf("shape %v", out.Shape)
	}
	for i, v := range got {
		if math.Float32bits(v) != math.Float32bits(want[i]) || v < 0 || v >= 1 {
			t.Errorf("element %d = %v, want %v", i, v, want[i])
		}
	}
	kc := mustRunAttr(t, "StatelessRandomGetKeyCounter", nil, seed)
	alg := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{1}}
	for _, op := range []string{"StatelessRandomUniform", "StatelessRandomNormal", "StatelessTruncatedNormal"} {
		v1 := mustRunAttr(t, op, graphdef.Attrs{"dtype": classify.Float32}, shape32(9), seed)[0].Float32s()
		v2 := mustRunAttr(t, op+"V2", graphdef.Attrs{"dtype": classify.Float32}, shape32(9), kc[0], kc[1], alg)[0].Float32s()
		for i := range v1 {
			if v1[i] != v2[i] {
				t.Errorf("%s: V1 %v, V2 %v", op, v1, v2)
				break
			}
		}
	}
	threefry := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{2}}
	if _, err := runAttrOp(t, "StatelessRandomUniformV2", nil, shape32(1), kc[0], kc[1], threefry); !errors.Is(err, classify.ErrUnsupportedOp) {
		t.Errorf("ThreeFry: %v", err)
	}
	if _, err := runAttrOp(t, "StatelessRandomUniform", nil, shape32(1<<14, 1<<14), seed); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("huge shape: %v", err)
	}
}

// Normals are Box-Muller pairs of uniform words; truncated normals keep
// those of magnitude < 2; both have the moments of N(0,1) (truncated:
// variance 0.774).
func TestStatelessNormalMoments(t *testing.T) {
	const n = 1 << 16
	for _, tc := range []struct {
		op       string
		variance float64
	}{{"StatelessRandomNormal", 1}, {"StatelessTruncatedNormal", 0.7737413}} {
		for _, dt := range []classify.DType{classify.Float32, classify.Float64} {
			out := mustRunAttr(t, tc.op, graphdef.Attrs{"dtype": dt}, shape32(n), seed32(7, 11))[0]
			var sum, sq float64
			for i := range n {
				var v float64
				if dt == classify.Float64 {
					v = out.Data.([]float64)[i]
				} else {
					v = float64(out.Float32s()[i])
				}
				if tc.op == "StatelessTruncatedNormal" && math.Abs(v) >= 2 {
					t.Fatalf("%s %v: %v outside (-2, 2)", tc.op, dt, v)
				}
				sum += v
				sq += v * v
			}
			mean, variance := sum/n, sq/n-(sum/n)*(sum/n)
			if math.Abs(mean) > 0.02 || math.Abs(variance-tc.variance) > 0.03 {
				t.Errorf("%s %v: mean %.4f variance %.4f, want 0 and %.4f", tc.op, dt, mean, variance, tc.variance)
			}
		}
	}
	// The first float normal is Box-Muller of the first two words.
	out := mustRunAttr(t, "StatelessRandomNormal", graphdef.Attrs{"dtype": classify.Float32}, shape32(2), seed32(3, 4))[0].Float32s()
	g := seedPhilox(3, 4)
	b := g.next()
	u1 := float64(math.Float32frombits(0x3f800000|b[0]&0x7fffff) - 1)
	u2 := float64(math.Float32frombits(0x3f800000|b[1]&0x7fffff) - 1)
	r := math.Sqrt(-2 * math.Log(max(u1, 1e-7)))
	if want := r * math.Sin(2*math.Pi*u2); math.Abs(float64(out[0])-want) > 1e-5 {
		t.Errorf("first normal %v, want %v", out[0], want)
	}
}

func TestStatelessUniformInt(t *testing.T) {
	lo := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{-3}}
	hi := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{4}}
	out := mustRunAttr(t, "StatelessRandomUniformInt", graphdef.Attrs{"dtype": classify.Int32}, shape32(6), seed32(5, 6), lo, hi)[0].Int32s()
	g := seedPhilox(5, 6)
	b1, b2 := g.next(), g.next()
	words := append(b1[:], b2[:2]...)
	for i, v := range out {
		if want := -3 + int32(words[i]%7); v != want {
			t.Errorf("element %d = %d, want %d", i, v, want)
		}
	}
	if _, err := runAttrOp(t, "StatelessRandomUniformInt", graphdef.Attrs{"dtype": classify.Int32}, shape32(1), seed32(5, 6), hi, lo); err == nil {
		t.Error("minval > maxval: no error")
	}
}
