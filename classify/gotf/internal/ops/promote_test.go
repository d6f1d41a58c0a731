package ops

import (
	"errors"
	"math"
	"math/big"
	"math/rand"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// randOperands returns n random elements of dt: for the 16-bit floats
// random bit patterns (specials included) mixed with small values, for
// integers the extremes and their neighbours mixed with uniform values.
func randOperands(rng *rand.Rand, dt classify.DType, n int) *classify.Tensor {
	t := classify.NewTensor(dt, n)
	switch d := t.Data.(type) {
	case []classify.F16:
		for i := range d {
			d[i] = classify.F16(rng.Intn(1 << 16))
			if i%2 == 0 {
				d[i] = classify.F16FromFloat32(float32(rng.NormFloat64() * 8))
			}
		}
	case []classify.BF16:
		for i := range d {
			d[i] = classify.BF16(rng.Intn(1 << 16))
			if i%2 == 0 {
				d[i] = classify.BF16FromFloat32(float32(rng.NormFloat64() * 8))
			}
		}
	default:
		k := intDTypes[dt]
		lo := new(big.Int)
		if k.signed {
			lo.Lsh(big.NewInt(1), k.bits-1).Neg(lo)
		}
		span := new(big.Int).Lsh(big.NewInt(1), k.bits)
		vals := make([]refVal, n)
		for i := range vals {
			var x *big.Int
			switch i % 4 {
			case 0: // near the bottom of the range
				x = new(big.Int).Add(lo, big.NewInt(rng.Int63n(3)))
			case 1: // near the top
				x = new(big.Int).Add(lo, span)
				x.Sub(x, big.NewInt(1+rng.Int63n(3)))
			case 2: // small
				x = big.NewInt(rng.Int63n(21) - 10)
				if !k.signed {
					x.Abs(x)
				}
			default:
				x = new(big.Int).Rand(rng, span)
				x.Add(x, lo)
			}
			vals[i] = refVal{i: x}
		}
		t = refTensor(dt, vals)
	}
	return t
}

// f16Op is the reference of a float op on the 16-bit formats: the float32
// operation on the exactly widened operands, rounded to dt by refToFloat.
func halfRef(dt classify.DType, f func(x, y float32) float32) func(a, b refVal) (refVal, bool) {
	return func(a, b refVal) (refVal, bool) {
		return refVal{isFloat: true, f: refToFloat(float64(f(float32(a.f), float32(b.f))), dt)}, true
	}
}

// intRef is the reference of an integer op: exact in math/big, wrapped to
// dt; ok false marks a zero divisor (an error case).
func intRef(dt classify.DType, f func(x, y *big.Int) *big.Int) func(a, b refVal) (refVal, bool) {
	return func(a, b refVal) (refVal, bool) {
		r := f(a.i, b.i)
		if r == nil {
			return refVal{}, false
		}
		return refVal{i: refWrap(r, dt)}, true
	}
}

func cmpRef(f func(c int) bool) func(a, b refVal) (refVal, bool) {
	return func(a, b refVal) (refVal, bool) {
		var c int
		if a.isFloat {
			switch {
			case math.IsNaN(a.f) || math.IsNaN(b.f):
				return refVal{isBool: true, b: f(2)}, true // unordered: only != holds
			case a.f < b.f:
				c = -1
			case a.f > b.f:
				c = 1
			}
		} else {
			c = a.i.Cmp(b.i)
		}
		return refVal{isBool: true, b: f(c)}, true
	}
}

func nz(y *big.Int) bool { return y.Sign() != 0 }

var intBinRefs = map[string]func(x, y *big.Int) *big.Int{
	"AddV2": func(x, y *big.Int) *big.Int { return new(big.Int).Add(x, y) },
	"Sub":   func(x, y *big.Int) *big.Int { return new(big.Int).Sub(x, y) },
	"Mul":   func(x, y *big.Int) *big.Int { return new(big.Int).Mul(x, y) },
	"SquaredDifference": func(x, y *big.Int) *big.Int {
		d := new(big.Int).Sub(x, y)
		return d.Mul(d, d)
	},
	"Maximum": func(x, y *big.Int) *big.Int {
		if x.Cmp(y) > 0 {
			return x
		}
		return y
	},
	"Minimum": func(x, y *big.Int) *big.Int {
		if x.Cmp(y) < 0 {
			return x
		}
		return y
	},
	"Div": func(x, y *big.Int) *big.Int { // truncating
		if !nz(y) {
			return nil
		}
		return new(big.Int).Quo(x, y)
	},
	"TruncateMod": func(x, y *big.Int) *big.Int {
		if !nz(y) {
			return nil
		}
		return new(big.Int).Rem(x, y)
	},
	"FloorDiv": func(x, y *big.Int) *big.Int {
		if !nz(y) {
			return nil
		}
		q, m := new(big.Int).QuoRem(x, y, new(big.Int))
		if m.Sign() != 0 && (m.Sign() < 0) != (y.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		}
		return q
	},
	"FloorMod": func(x, y *big.Int) *big.Int {
		if !nz(y) {
			return nil
		}
		_, m := new(big.Int).QuoRem(x, y, new(big.Int))
		if m.Sign() != 0 && (m.Sign() < 0) != (y.Sign() < 0) {
			m.Add(m, y)
		}
		return m
	},
}

var halfBinRefs = map[string]func(x, y float32) float32{
	"AddV2":   func(x, y float32) float32 { return x + y },
	"Sub":     func(x, y float32) float32 { return x - y },
	"Mul":     func(x, y float32) float32 { return x * y },
	"RealDiv": func(x, y float32) float32 { return x / y },
	"SquaredDifference": func(x, y float32) float32 {
		d := x - y
		return d * d
	},
}

var cmpRefs = map[string]func(c int) bool{
	"Equal":        func(c int) bool { return c == 0 },
	"NotEqual":     func(c int) bool { return c != 0 },
	"Less":         func(c int) bool { return c == -1 },
	"LessEqual":    func(c int) bool { return c == -1 || c == 0 },
	"Greater":      func(c int) bool { return c == 1 },
	"GreaterEqual": func(c int) bool { return c == 1 || c == 0 },
}

// TestPromotedBinary checks arithmetic and comparisons on every gated
// dtype against the reference, element by element, with operands broadcast
// against each other (a [n,1] column against a [1,n] row) so that all
// pairs meet.
func TestPromotedBinary(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	const n = 24
	for _, dt := range append(append([]classify.DType{}, allNewDTypes...), classify.Uint8) {
		a := randOperands(rng, dt, n)
		b := randOperands(rng, dt, n)
		a.Shape, b.Shape = classify.Shape{a.Len(), 1}, classify.Shape{1, b.Len()}
		refs := map[string]func(a, b refVal) (refVal, bool){}
		for op, f := range cmpRefs {
			refs[op] = cmpRef(f)
		}
		if isFloatDType(dt) {
			for op, f := range halfBinRefs {
				refs[op] = halfRef(dt, f)
			}
			refs["Maximum"] = halfRef(dt, func(x, y float32) float32 { return max32(x, y) })
			refs["Minimum"] = halfRef(dt, func(x, y float32) float32 { return -max32(-x, -y) })
		} else {
			for op, f := range intBinRefs {
				refs[op] = intRef(dt, f)
			}
		}
		for op, ref := range refs {
			if dt == classify.Uint8 && op == "TruncateMod" {
				continue // TensorFlow has no uint8 kernel either
			}
			t.Run(op+"_"+dt.String(), func(t *testing.T) {
				if dt == classify.Uint64 && !uint64Exact(op) {
					_, err := runOp(t, op, graphdef.Attrs{"T": dt}, a, b)
					if !errors.Is(err, classify.ErrUnsupportedOp) || !strings.Contains(err.Error(), "uint64") {
						t.Fatalf("uint64 %s: got %v, want an unsupported-dtype error", op, err)
					}
					return
				}
				x, y := a, b
				divides := strings.Contains(op, "Div") || strings.Contains(op, "Mod")
				if divides && !isFloatDType(dt) {
					// Zero divisors are an error; check that, then divide
					// by the non-zero ones.
					yz := y.Clone()
					yz.Data = refTensor(dt, []refVal{{i: big.NewInt(0)}}).Data
					yz.Shape = classify.Shape{1}
					if _, err := runOp(t, op, graphdef.Attrs{"T": dt}, x, yz); err == nil || !strings.Contains(err.Error(), "division by zero") {
						t.Fatalf("zero divisor: got %v", err)
					}
					y = nonZeroDivisors(y)
				}
				out, err := runOp(t, op, graphdef.Attrs{"T": dt}, x, y)
				if err != nil {
					t.Fatal(err)
				}
				got := out[0]
				if want := (classify.Shape{x.Len(), y.Len()}); !got.Shape.Equal(want) {
					t.Fatalf("shape %v, want %v", got.Shape, want)
				}
				bad := 0
				for i := 0; i < x.Len(); i++ {
					for j := 0; j < y.Len(); j++ {
						want, ok := ref(refElem(x, i), refElem(y, j))
						if !ok {
							continue
						}
						if g := refElem(got, i*y.Len()+j); !refEqual(g, want) {
							if bad++; bad < 4 {
								t.Errorf("%v %s %v: got %v, want %v", refElem(x, i), op, refElem(y, j), g, want)
							}
						}
					}
				}
			})
		}
	}
}

// uint64Exact: the ops uint64 runs on int64 bit patterns.
func uint64Exact(op string) bool {
	switch op {
	case "AddV2", "Sub", "Mul", "SquaredDifference", "Equal", "NotEqual":
		return true
	}
	return false
}

func max32(x, y float32) float32 {
	if x != x || y != y {
		return float32(math.NaN())
	}
	if x > y {
		return x
	}
	return y
}

// nonZeroDivisors replaces the zero elements of an integer tensor by 1.
func nonZeroDivisors(t *classify.Tensor) *classify.Tensor {
	vals := make([]refVal, t.Len())
	for i := range vals {
		vals[i] = refElem(t, i)
		if vals[i].i.Sign() == 0 {
			vals[i] = refVal{i: big.NewInt(1)}
		}
	}
	r := refTensor(t.DType, vals)
	r.Shape = t.Shape
	return r
}
