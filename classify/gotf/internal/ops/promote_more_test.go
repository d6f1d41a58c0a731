package ops

import (
	"math"
	"math/big"
	"math/rand"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// halfOrd maps a 16-bit float's bits to an integer whose order is the
// values' order, so that neighbours differ by 1.
func halfOrd(bits uint16) int {
	if bits&0x8000 != 0 {
		return -int(bits & 0x7fff)
	}
	return int(bits)
}

// halfBits are the bits of element i of a 16-bit float tensor.
func halfBits(t *classify.Tensor, i int) uint16 {
	switch d := t.Data.(type) {
	case []classify.F16:
		return uint16(d[i])
	case []classify.BF16:
		return uint16(d[i])
	}
	panic(t.DType)
}

// refHalfBits rounds the value x (through float32) to dt's bits.
func refHalfBits(x float64, dt classify.DType) uint16 {
	v := refToFloat(x, dt)
	t := refTensor(dt, []refVal{{isFloat: true, f: v}})
	if t.Len() != 1 {
		panic("refHalfBits: not exact")
	}
	return halfBits(t, 0)
}

// withinULPs reports whether element i of a 16-bit float tensor is within
// ulps units in the last place of the reference value want (NaN matching
// NaN).
func withinULPs(t *classify.Tensor, i int, want float64, ulps int) bool {
	got := refElem(t, i).f
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	d := halfOrd(halfBits(t, i)) - halfOrd(refHalfBits(want, t.DType))
	return d >= -ulps && d <= ulps
}

// TestPromotedUnaryHalf runs unary ops on all 65536 values of float16 and
// bfloat16: exact ops must match the reference bit for bit, the
// transcendental ones (whose float32 kernels are within a float32 ulp or
// two) within one ulp of the 16-bit format.
func TestPromotedUnaryHalf(t *testing.T) {
	for _, c := range []struct {
		op   string
		f    func(float64) float64
		ulps int
	}{
		{"Neg", func(x float64) float64 { return -x }, 0},
		{"Abs", math.Abs, 0},
		{"Square", func(x float64) float64 { return float64(float32(x) * float32(x)) }, 0},
		{"Floor", math.Floor, 0},
		{"Ceil", math.Ceil, 0},
		{"Round", math.RoundToEven, 0},
		{"Relu", func(x float64) float64 {
			if x > 0 {
				return x
			}
			return 0
		}, 0},
		{"Sqrt", math.Sqrt, 0},
		{"Exp", math.Exp, 1},
		{"Log", math.Log, 1},
		{"Tanh", math.Tanh, 1},
		{"Sigmoid", func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, 1},
		{"Rsqrt", func(x float64) float64 { return 1 / math.Sqrt(x) }, 1},
		{"Sin", math.Sin, 1},
		{"Erf", math.Erf, 1},
	} {
		for _, dt := range halfDTypes {
			t.Run(c.op+"_"+dt.String(), func(t *testing.T) {
				in := allHalves(dt)
				out, err := runOp(t, c.op, graphdef.Attrs{"T": dt}, in)
				if err != nil {
					t.Fatal(err)
				}
				if out[0].DType != dt {
					t.Fatalf("dtype %v", out[0].DType)
				}
				bad := 0
				for i := 0; i < in.Len(); i++ {
					x := refElem(in, i).f
					want := c.f(x)
					if c.op == "Relu" && x != x {
						continue // NaN: whatever the float32 kernel does (x86 max gives 0)
					}
					if c.op == "Relu" && x == 0 {
						want = 0 // TensorFlow's max(x, 0) gives +0 for -0
						if refElem(out[0], i).f != 0 {
							t.Errorf("Relu(%v) = %v", x, refElem(out[0], i).f)
						}
						continue
					}
					if !withinULPs(out[0], i, want, c.ulps) {
						if bad++; bad < 4 {
							t.Errorf("%s(%v) = %v, want %v", c.op, x, refElem(out[0], i).f, refToFloat(want, dt))
						}
					}
				}
			})
		}
	}
}

// TestPromotedUnaryInts: Neg, Abs, Sign, Square, Relu on the gated
// integers wrap as the narrow type does (Abs of the most negative value is
// itself).
func TestPromotedUnaryInts(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	refs := map[string]func(x *big.Int) *big.Int{
		"Neg":    func(x *big.Int) *big.Int { return new(big.Int).Neg(x) },
		"Abs":    func(x *big.Int) *big.Int { return new(big.Int).Abs(x) },
		"Sign":   func(x *big.Int) *big.Int { return big.NewInt(int64(x.Sign())) },
		"Square": func(x *big.Int) *big.Int { return new(big.Int).Mul(x, x) },
		"Relu": func(x *big.Int) *big.Int {
			if x.Sign() < 0 {
				return new(big.Int)
			}
			return x
		},
	}
	for _, dt := range newIntDTypes {
		in := randOperands(rng, dt, 64)
		for op, f := range refs {
			if dt == classify.Uint64 && op != "Neg" && op != "Square" {
				continue
			}
			t.Run(op+"_"+dt.String(), func(t *testing.T) {
				out, err := runOp(t, op, graphdef.Attrs{"T": dt}, in)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < in.Len(); i++ {
					want := refVal{i: refWrap(f(refElem(in, i).i), dt)}
					if g := refElem(out[0], i); !refEqual(g, want) {
						t.Fatalf("%s(%v) = %v, want %v", op, refElem(in, i), g, want)
					}
				}
			})
		}
	}
}

// refMatMul is C = A·B (A m×k, B k×n row-major) over exact values.
func refMatMul(a, b *classify.Tensor, m, k, n int) (fl []float64, in []*big.Int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var f float64
			s := new(big.Int)
			for p := 0; p < k; p++ {
				x, y := refElem(a, i*k+p), refElem(b, p*n+j)
				if x.isFloat {
					f += x.f * y.f
				} else {
					s.Add(s, new(big.Int).Mul(x.i, y.i))
				}
			}
			fl, in = append(fl, f), append(in, s)
		}
	}
	return fl, in
}

func smallHalves(rng *rand.Rand, dt classify.DType, shape ...int) *classify.Tensor {
	n := classify.Shape(shape).NumElements()
	vals := make([]refVal, n)
	for i := range vals {
		vals[i] = refVal{isFloat: true, f: float64(rng.Intn(64)-32) / 8}
	}
	t := refTensor(dt, vals)
	t.Shape = classify.Shape(shape).Clone()
	return t
}

// TestPromotedMatMul: MatMul and BatchMatMulV2 on the 16-bit floats (the
// float64 product rounded once, within one ulp) and the gated integers
// (exact, wrapping).
func TestPromotedMatMul(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	const m, k, n = 3, 7, 4
	for _, dt := range allNewDTypes {
		for _, op := range []string{"MatMul", "BatchMatMulV2"} {
			t.Run(op+"_"+dt.String(), func(t *testing.T) {
				var a, b *classify.Tensor
				if isFloatDType(dt) {
					a, b = smallHalves(rng, dt, m, k), smallHalves(rng, dt, k, n)
				} else {
					a, b = randOperands(rng, dt, m*k), randOperands(rng, dt, k*n)
					a.Shape, b.Shape = classify.Shape{m, k}, classify.Shape{k, n}
				}
				out, err := runOp(t, op, graphdef.Attrs{"T": dt}, a, b)
				if err != nil {
					t.Fatal(err)
				}
				if !out[0].Shape.Equal(classify.Shape{m, n}) || out[0].DType != dt {
					t.Fatalf("got %v%v", out[0].DType, out[0].Shape)
				}
				fl, in := refMatMul(a, b, m, k, n)
				for i := 0; i < m*n; i++ {
					if isFloatDType(dt) {
						if !withinULPs(out[0], i, fl[i], 1) {
							t.Errorf("element %d: %v, want %v", i, refElem(out[0], i), fl[i])
						}
					} else if g, w := refElem(out[0], i), (refVal{i: refWrap(in[i], dt)}); !refEqual(g, w) {
						t.Errorf("element %d: %v, want %v", i, g, w)
					}
				}
			})
		}
	}
}

// TestPromotedReductions: Sum and Prod wrap for the integers as the narrow
// type's accumulation does; Max and Min are exact; Mean of float16 is the
// float64 mean rounded (within one ulp).
func TestPromotedReductions(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	axis := i32([]int32{1}, 1)
	for _, dt := range allNewDTypes {
		var x *classify.Tensor
		if isFloatDType(dt) {
			x = smallHalves(rng, dt, 3, 16)
		} else {
			x = randOperands(rng, dt, 48)
		}
		x.Shape = classify.Shape{3, x.Len() / 3}
		cols := x.Shape[1]
		for _, op := range []string{"Sum", "Prod", "Max", "Min", "Mean"} {
			if dt == classify.Uint64 && op != "Sum" && op != "Prod" || !isFloatDType(dt) && op == "Mean" {
				continue
			}
			t.Run(op+"_"+dt.String(), func(t *testing.T) {
				out, err := runOp(t, op, graphdef.Attrs{"T": dt, "Tidx": classify.Int32}, x, axis)
				if err != nil {
					t.Fatal(err)
				}
				for r := 0; r < 3; r++ {
					var f float64
					s := big.NewInt(0)
					if op == "Prod" {
						f, s = 1, big.NewInt(1)
					}
					for c := 0; c < cols; c++ {
						v := refElem(x, r*cols+c)
						switch {
						case v.isFloat && (op == "Sum" || op == "Mean"):
							f += v.f
						case v.isFloat && op == "Prod":
							f *= v.f
						case v.isFloat && op == "Max":
							f = map[bool]float64{true: v.f, false: f}[c == 0 || v.f > f]
						case v.isFloat && op == "Min":
							f = map[bool]float64{true: v.f, false: f}[c == 0 || v.f < f]
						case op == "Sum":
							s.Add(s, v.i)
						case op == "Prod":
							s.Mul(s, v.i)
						case op == "Max" && (c == 0 || v.i.Cmp(s) > 0), op == "Min" && (c == 0 || v.i.Cmp(s) < 0):
							s = v.i
						}
					}
					if op == "Mean" {
						f /= float64(cols)
					}
					if isFloatDType(dt) {
						if !withinULPs(out[0], r, f, 1) {
							t.Errorf("row %d: %v, want %v", r, refElem(out[0], r), f)
						}
					} else if g, w := refElem(out[0], r), (refVal{i: refWrap(s, dt)}); !refEqual(g, w) {
						t.Errorf("row %d: %v, want %v", r, g, w)
					}
				}
			})
		}
	}
}

// TestPromotedSoftmaxConvHalf: Softmax, LogSoftmax and Conv2D on float16
// and bfloat16 against float64 references, within one ulp of the format
// (two for LogSoftmax, whose result is a difference).
func TestPromotedSoftmaxConvHalf(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	for _, dt := range halfDTypes {
		x := smallHalves(rng, dt, 2, 5)
		for _, log := range []bool{false, true} {
			op := "Softmax"
			if log {
				op = "LogSoftmax"
			}
			out, err := runOp(t, op, graphdef.Attrs{"T": dt}, x)
			if err != nil {
				t.Fatal(err)
			}
			for r := 0; r < 2; r++ {
				mx, sum := math.Inf(-1), 0.0
				for c := 0; c < 5; c++ {
					mx = math.Max(mx, refElem(x, r*5+c).f)
				}
				for c := 0; c < 5; c++ {
					sum += math.Exp(refElem(x, r*5+c).f - mx)
				}
				for c := 0; c < 5; c++ {
					want := math.Exp(refElem(x, r*5+c).f-mx) / sum
					ulps := 1
					if log {
						want, ulps = refElem(x, r*5+c).f-mx-math.Log(sum), 2
					}
					if !withinULPs(out[0], r*5+c, want, ulps) {
						t.Errorf("%s %v [%d,%d]: %v, want %v", op, dt, r, c, refElem(out[0], r*5+c), want)
					}
				}
			}
		}
		// A 1x3x3x2 image, a 2x2x2x3 filter, VALID: out 1x2x2x3.
		img, f := smallHalves(rng, dt, 1, 3, 3, 2), smallHalves(rng, dt, 2, 2, 2, 3)
		out, err := runOp(t, "Conv2D", graphdef.Attrs{"T": dt, "strides": []int{1, 1, 1, 1}, "padding": "VALID"}, img, f)
		if err != nil {
			t.Fatal(err)
		}
		for oy := 0; oy < 2; oy++ {
			for ox := 0; ox < 2; ox++ {
				for oc := 0; oc < 3; oc++ {
					var s float64
					for ky := 0; ky < 2; ky++ {
						for kx := 0; kx < 2; kx++ {
							for ic := 0; ic < 2; ic++ {
								s += refElem(img, ((oy+ky)*3+ox+kx)*2+ic).f * refElem(f, ((ky*2+kx)*2+ic)*3+oc).f
							}
						}
					}
					if i := (oy*2+ox)*3 + oc; !withinULPs(out[0], i, s, 1) {
						t.Errorf("Conv2D %v at %d: %v, want %v", dt, i, refElem(out[0], i), s)
					}
				}
			}
		}
	}
}
