package ops

import (
	"math/big"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// TensorFlow.js 4.22 cannot check these: its converter maps BitwiseAnd's
// inputs as x and y but its executor reads a and b (a null operand), and
// it lacks the rest. So every op is checked against exact references.

// bitRefBits is x's bit pattern in dt's width, as a value in [0, 2^bits).
func bitRefBits(x *big.Int, dt classify.DType) *big.Int {
	m := new(big.Int).Lsh(big.NewInt(1), intDTypes[dt].bits)
	return new(big.Int).Mod(x, m)
}

// bitRef is each op from its arithmetic definition on exact integers.
var bitRef = map[string]func(x, y *big.Int, dt classify.DType) *big.Int{
	"BitwiseAnd": func(x, y *big.Int, dt classify.DType) *big.Int {
		return refWrap(new(big.Int).And(bitRefBits(x, dt), bitRefBits(y, dt)), dt)
	},
	"BitwiseOr": func(x, y *big.Int, dt classify.DType) *big.Int {
		return refWrap(new(big.Int).Or(bitRefBits(x, dt), bitRefBits(y, dt)), dt)
	},
	"BitwiseXor": func(x, y *big.Int, dt classify.DType) *big.Int {
		return refWrap(new(big.Int).Xor(bitRefBits(x, dt), bitRefBits(y, dt)), dt)
	},
	// x·2^s modulo 2^bits, s clamped to [0, bits-1].
	"LeftShift": func(x, y *big.Int, dt classify.DType) *big.Int {
		return refWrap(new(big.Int).Lsh(x, bitRefShift(y, dt)), dt)
	},
	// floor(x / 2^s): arithmetic for signed values, logical for unsigned.
	"RightShift": func(x, y *big.Int, dt classify.DType) *big.Int {
		d := new(big.Int).Lsh(big.NewInt(1), bitRefShift(y, dt))
		return new(big.Int).Div(x, d) // Euclidean, which is floor for d > 0
	},
}

func bitRefShift(y *big.Int, dt classify.DType) uint {
	w := int64(intDTypes[dt].bits)
	switch {
	case y.Sign() < 0:
		return 0
	case y.Cmp(big.NewInt(w-1)) > 0:
		return uint(w - 1)
	}
	return uint(y.Int64())
}

// TestBitwiseReference runs every pair of edge values of each integer
// dtype through the binary ops (as a [n,1] by [m] broadcast), and Invert
// and PopulationCount over them, against exact integer references.
func TestBitwiseReference(t *testing.T) {
	shifts := []refVal{}
	for _, s := range []int64{-1000, -65, -64, -9, -1, 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 255} {
		shifts = append(shifts, refVal{i: big.NewInt(s)})
	}
	for dt := range intDTypes {
		xs := refTensor(dt, refSamples())
		n := xs.Len()
		x := &classify.Tensor{DType: dt, Shape: classify.Shape{n, 1}, Data: xs.Data}
		for op, ref := range bitRef {
			y := xs
			if strings.HasSuffix(op, "Shift") {
				y = refTensor(dt, append(append([]refVal{}, shifts...), refSamples()...))
			}
			m := y.Len()
			got := mustRun(t, op, map[string]any{"T": dt}, x, y)
			if got.DType != dt || !got.Shape.Equal(classify.Shape{n, m}) {
				t.Fatalf("%s %v: %v %v", op, dt, got.DType, got.Shape)
			}
			bad := 0
			for i := 0; i < n; i++ {
				for j := 0; j < m; j++ {
					a, b := refElem(xs, i).i, refElem(y, j).i
					w := ref(a, b, dt)
					if g := refElem(got, i*m+j).i; g.Cmp(w) != 0 && bad < 5 {
						bad++
						t.Errorf("%s(%v, %v) %v = %v, want %v", op, a, b, dt, g, w)
					}
				}
			}
		}
		inv := mustRun(t, "Invert", map[string]any{"T": dt}, xs)
		pop := mustRun(t, "PopulationCount", map[string]any{"T": dt}, xs)
		if inv.DType != dt || pop.DType != classify.Uint8 || !pop.Shape.Equal(xs.Shape) {
			t.Fatalf("Invert/PopulationCount %v: %v %v %v", dt, inv.DType, pop.DType, pop.Shape)
		}
		for i := 0; i < n; i++ {
			a := refElem(xs, i).i
			// ~x is 2^bits - 1 - x on the bit pattern.
			all := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), intDTypes[dt].bits), big.NewInt(1))
			if w, g := refWrap(new(big.Int).Sub(all, bitRefBits(a, dt)), dt), refElem(inv, i).i; g.Cmp(w) != 0 {
				t.Errorf("Invert(%v) %v = %v, want %v", a, dt, g, w)
			}
			p, bitsOf := 0, bitRefBits(a, dt)
			for k := 0; k < bitsOf.BitLen(); k++ {
				p += int(bitsOf.Bit(k))
			}
			if g := refElem(pop, i).i.Int64(); g != int64(p) {
				t.Errorf("PopulationCount(%v) %v = %d, want %d", a, dt, g, p)
			}
		}
	}
	// Hand-worked: TensorFlow clamps the shift, it does not zero.
	for _, c := range []struct {
		op   string
		x, y int8
		w    int8
	}{
		{"LeftShift", 1, 7, -128}, {"LeftShift", 1, 8, -128}, {"LeftShift", 3, 100, -128}, {"LeftShift", 5, -1, 5},
		{"RightShift", -128, 7, -1}, {"RightShift", -128, 100, -1}, {"RightShift", 64, 9, 0}, {"RightShift", -7, 1, -4}, {"RightShift", 9, -3, 9},
	} {
		i8 := func(v int8) *classify.Tensor {
			return &classify.Tensor{DType: classify.Int8, Shape: classify.Shape{}, Data: []int8{v}}
		}
		if g := mustRun(t, c.op, map[string]any{"T": classify.Int8}, i8(c.x), i8(c.y)).Data.([]int8)[0]; g != c.w {
			t.Errorf("%s(%d, %d) int8 = %d, want %d", c.op, c.x, c.y, g, c.w)
		}
	}
	u := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{2}, Data: []uint8{0x80, 0xff}}
	s := &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{2}, Data: []uint8{200, 7}}
	if g := mustRun(t, "RightShift", map[string]any{"T": classify.Uint8}, u, s).Data.([]uint8); g[0] != 1 || g[1] != 1 {
		t.Errorf("RightShift uint8 [128 255] >> [200 7] = %v, want [1 1]", g)
	}
}

func TestBitwiseErrorsAndEmpty(t *testing.T) {
	f := classify.FromFloat32([]float32{1}, 1)
	for _, op := range []string{"BitwiseAnd", "BitwiseOr", "BitwiseXor", "LeftShift", "RightShift"} {
		if _, err := runOp(t, op, map[string]any{"T": classify.Float32}, f, f); err == nil || !strings.Contains(err.Error(), "unsupported dtype float32") {
			t.Errorf("%s of float32: error %v", op, err)
		}
		_, err := runOp(t, op, map[string]any{"T": classify.Int32}, mathI32([]int32{1, 2, 3}, 3), mathI32([]int32{1, 2}, 2))
		if err == nil || !strings.Contains(err.Error(), "incompatible shapes") {
			t.Errorf("%s of [3] and [2]: error %v", op, err)
		}
		_, err = runOp(t, op, map[string]any{"T": classify.Int32}, mathI32([]int32{1}, 1), mathI64([]int64{1}, 1))
		if err == nil || !strings.Contains(err.Error(), "dtype") {
			t.Errorf("%s of int32 and int64: error %v", op, err)
		}
		got := mustRun(t, op, map[string]any{"T": classify.Int64}, mathI64(nil, 2, 0), mathI64([]int64{1}, 1))
		if !got.Shape.Equal(classify.Shape{2, 0}) {
			t.Errorf("%s of [2,0] and [1]: shape %v", op, got.Shape)
		}
	}
	for _, op := range []string{"Invert", "PopulationCount"} {
		if _, err := runOp(t, op, map[string]any{"T": classify.Float32}, f); err == nil || !strings.Contains(err.Error(), "unsupported dtype float32") {
			t.Errorf("%s of float32: error %v", op, err)
		}
		h := f16s(1)
		if _, err := runOp(t, op, map[string]any{"T": classify.Float16}, h); err == nil || !strings.Contains(err.Error(), "float16") {
			t.Errorf("%s of float16: error %v", op, err)
		}
		got := mustRun(t, op, map[string]any{"T": classify.Uint16}, &classify.Tensor{DType: classify.Uint16, Shape: classify.Shape{0, 3}, Data: []uint16{}})
		if !got.Shape.Equal(classify.Shape{0, 3}) {
			t.Errorf("%s of [0,3]: shape %v", op, got.Shape)
		}
	}
}
