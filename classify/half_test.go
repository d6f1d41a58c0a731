package classify

import (
	"math"
	"math/rand"
	"testing"
)

// refRound rounds x to a binary floating point format of mant stored
// mantissa bits whose smallest normal exponent is emin and largest finite
// value is maxf, ties to even, by float64 arithmetic: the reference the
// bit-twiddling conversions are checked against.
func refRound(x float64, mant, emin int, maxf float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return x
	}
	a := math.Abs(x)
	_, e := math.Frexp(a) // a = f * 2^e, f in [0.5, 1)
	e--
	if e < emin {
		e = emin
	}
	q := math.Ldexp(1, e-mant) // the spacing of values near a
	r := math.RoundToEven(a/q) * q
	// A value rounds to infinity from the midpoint above the largest
	// finite one.
	if r > maxf {
		r = math.Inf(1)
	}
	return math.Copysign(r, x)
}

func refF16(x float32) float64 { return refRound(float64(x), 10, -14, 65504) }

func refBF16(x float32) float64 {
	return refRound(float64(x), 7, -126, float64(math.Float32frombits(0x7f7f0000)))
}

// halfValue is the value of a binary16 bit pattern by its definition.
func halfValue(h uint16) float64 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	switch e {
	case 0:
		return s * math.Ldexp(m, -24)
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return s * math.Inf(1)
	}
	return s * math.Ldexp(1+m/1024, e-15)
}

func TestF16KnownBits(t *testing.T) {
	for _, c := range []struct {
		f float32
		h F16
	}{
		{0, 0}, {float32(math.Copysign(0, -1)), 0x8000}, {1, 0x3c00}, {-2, 0xc000},
		{65504, 0x7bff}, {65519.99, 0x7bff}, {65520, 0x7c00}, {1e10, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00}, {0x1p-24, 0x0001}, {0x1p-25, 0}, {0x1.000002p-25, 0x0001},
		{0x1p-14, 0x0400}, {0x1.ff8p-15, 0x03ff}, {0x1.ffcp-15, 0x0400}, {0.1, 0x2e66}, {1.0 / 3, 0x3555},
		{float32(math.NaN()), 0x7e00}, {math.Float32frombits(0xffc00001), 0xfe00},
		{1 + 0x1p-11, 0x3c00}, {1 + 3*0x1p-11, 0x3c02}, // ties to even
	} {
		if got := F16FromFloat32(c.f); got != c.h {
			t.Errorf("F16FromFloat32(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

// TestF16Exhaustive checks every binary16 value: its float32 value against
// the definition, the round trip, and the rounding of the midpoints to each
// neighbour and of the float32 values just beside them.
func TestF16Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := F16(i)
		want := halfValue(uint16(i))
		got := h.Float32()
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) || math.Float32bits(got)>>13&0x3ff != uint32(i)&0x3ff {
				t.Fatalf("F16(%#04x).Float32() = %g (%#08x), want NaN with its payload", i, got, math.Float32bits(got))
			}
			if r := F16FromFloat32(got); r != F16(i&0x8000|0x7e00) {
				t.Fatalf("F16FromFloat32(NaN %#04x) = %#04x", i, r)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (i&0x8000 != 0) {
			t.Fatalf("F16(%#04x).Float32() = %g, want %g", i, got, want)
		}
		if r := F16FromFloat32(got); r != h {
			t.Fatalf("round trip of %#04x gives %#04x", i, r)
		}
		if i&0x7fff >= 0x7c00 {
			continue
		}
		// The midpoint to the next value away from zero, exact in float32.
		next := halfValue(uint16(i) + 1)
		if i&0x7fff == 0x7bff {
			next = math.Copysign(65536, want) // what lies beyond the largest: rounds to infinity
		}
		mid := float32((want + next) / 2)
		wantMid := F16(i)
		if i&1 == 1 {
			wantMid = F16(i + 1)
		}
		if r := F16FromFloat32(mid); r != wantMid {
			t.Fatalf("midpoint %g of %#04x rounds to %#04x, want %#04x", mid, i, r, wantMid)
		}
		above := math.Nextafter32(mid, float32(math.Copysign(math.Inf(1), want)))
		below := math.Nextafter32(mid, 0)
		if i&0x7fff == 0 {
			below = mid // the neighbour of ±0 toward zero is nothing
		}
		if r := F16FromFloat32(above); r != F16(i+1) {
			t.Fatalf("just past midpoint %g of %#04x rounds to %#04x, want %#04x", above, i, r, i+1)
		}
		if r := F16FromFloat32(below); i&0x7fff != 0 && r != h {
			t.Fatalf("just before midpoint %g of %#04x rounds to %#04x, want %#04x", below, i, r, i)
		}
	}
}

func TestF16RandomAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 1<<20; i++ {
		f := math.Float32frombits(rng.Uint32())
		if i&1 == 0 {
			f = float32(rng.NormFloat64() * math.Pow(2, float64(rng.Intn(40)-26)))
		}
		got := float64(F16FromFloat32(f).Float32())
		want := refF16(f)
		if math.IsNaN(want) != math.IsNaN(got) || (!math.IsNaN(want) && (got != want || math.Signbit(got) != math.Signbit(want))) {
			t.Fatalf("F16FromFloat32(%g = %#08x) = %g, reference %g", f, math.Float32bits(f), got, want)
		}
	}
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		b := BF16(i)
		f := b.Float32()
		if math.Float32bits(f) != uint32(i)<<16 {
			t.Fatalf("BF16(%#04x).Float32() bits %#08x", i, math.Float32bits(f))
		}
		if math.IsNaN(float64(f)) {
			if r := BF16FromFloat32(f); r != BF16(i&0x8000|0x7fc0) {
				t.Fatalf("BF16FromFloat32(NaN %#04x) = %#04x", i, r)
			}
			continue
		}
		if r := BF16FromFloat32(f); r != b {
			t.Fatalf("round trip of %#04x gives %#04x", i, r)
		}
		if i&0x7fff >= 0x7f80 {
			continue
		}
		// The midpoint to the next pattern is the float32 with the top
		// bit of the dropped half set.
		mid := math.Float32frombits(uint32(i)<<16 | 0x8000)
		want := BF16(i)
		if i&1 == 1 {
			want = BF16(i + 1)
		}
		if r := BF16FromFloat32(mid); r != want {
			t.Fatalf("midpoint of %#04x rounds to %#04x, want %#04x", i, r, want)
		}
		if r := BF16FromFloat32(math.Float32frombits(uint32(i)<<16 | 0x8001)); r != BF16(i+1) {
			t.Fatalf("just past midpoint of %#04x rounds to %#04x", i, r)
		}
		if r := BF16FromFloat32(math.Float32frombits(uint32(i)<<16 | 0x7fff)); r != b {
			t.Fatalf("just before midpoint of %#04x rounds to %#04x", i, r)
		}
	}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 1<<20; i++ {
		f := math.Float32frombits(rng.Uint32())
		got, want := float64(BF16FromFloat32(f).Float32()), refBF16(f)
		if math.IsNaN(want) != math.IsNaN(got) || (!math.IsNaN(want) && (got != want || math.Signbit(got) != math.Signbit(want))) {
			t.Fatalf("BF16FromFloat32(%g = %#08x) = %g, reference %g", f, math.Float32bits(f), got, want)
		}
	}
	if got := BF16FromFloat32(1); got != 0x3f80 {
		t.Errorf("BF16FromFloat32(1) = %#04x, want 0x3f80", got)
	}
	if got := BF16FromFloat64(math.Pi); got != 0x4049 {
		t.Errorf("BF16FromFloat64(pi) = %#04x, want 0x4049", got)
	}
}

func TestNewDTypes(t *testing.T) {
	for _, c := range []struct {
		dt   DType
		name string
		size int
		data any
	}{
		{Float16, "float16", 2, []F16{}}, {BFloat16, "bfloat16", 2, []BF16{}}, {Int8, "int8", 1, []int8{}},
		{Int16, "int16", 2, []int16{}}, {Uint16, "uint16", 2, []uint16{}}, {Uint32, "uint32", 4, []uint32{}},
		{Uint64, "uint64", 8, []uint64{}}, {Complex64, "complex64", 8, []complex64{}},
		{Complex128, "complex128", 16, []complex128{}},
	} {
		if c.dt.String() != c.name || c.dt.Size() != c.size {
			t.Errorf("%v: name %q size %d, want %q %d", c.dt, c.dt.String(), c.dt.Size(), c.name, c.size)
		}
		x := NewTensor(c.dt, 2, 3)
		if err := x.Validate(); err != nil || x.Len() != 6 {
			t.Errorf("%v: NewTensor: %v, len %d", c.dt, err, x.Len())
		}
		y := x.Clone()
		if err := y.Validate(); err != nil || y.Len() != 6 {
			t.Errorf("%v: Clone: %v", c.dt, err)
		}
		if err := (&Tensor{DType: c.dt, Shape: Shape{0}, Data: []float32{}}).Validate(); err == nil {
			t.Errorf("%v: float32 data validated", c.dt)
		}
		if err := (&Tensor{DType: c.dt, Shape: Shape{0}, Data: c.data}).Validate(); err != nil {
			t.Errorf("%v: %v", c.dt, err)
		}
	}
}

func TestComplexTensorClone(t *testing.T) {
	x := NewTensor(Complex64, 2)
	x.Data.([]complex64)[1] = complex(1, -2)
	y := x.Clone()
	x.Data.([]complex64)[1] = 0
	if got := y.Data.([]complex64)[1]; got != complex(1, -2) {
		t.Errorf("Clone shares data: %v", got)
	}
	z := NewTensor(Complex128, 1, 3)
	if z.Len() != 3 || z.Validate() != nil {
		t.Errorf("complex128 tensor: len %d, %v", z.Len(), z.Validate())
	}
	if err := (&Tensor{DType: Complex128, Shape: Shape{1}, Data: []complex64{1}}).Validate(); err == nil {
		t.Error("complex64 data validated as complex128")
	}
}
