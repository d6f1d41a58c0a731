package ops

import (
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func c64(data []complex64, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Complex64, Shape: classify.Shape(shape).Clone(), Data: data}
}

func c128(data []complex128, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Complex128, Shape: classify.Shape(shape).Clone(), Data: data}
}

func f64t(data []float64, shape ...int) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float64, Shape: classify.Shape(shape).Clone(), Data: data}
}

// complexAt is element i of a complex (or float64) tensor, widened.
func complexAt(t *classify.Tensor, i int) complex128 {
	switch d := t.Data.(type) {
	case []complex64:
		return complex128(d[i])
	case []complex128:
		return d[i]
	case []float64:
		return complex(d[i], 0)
	}
	panic(fmt.Sprintf("complexAt: %T", t.Data))
}

// toComplexT makes a complex tensor of dt from float32 real and imaginary
// parts of the same shape.
func toComplexT(dt classify.DType, re, im *classify.Tensor) *classify.Tensor {
	out := classify.NewTensor(dt, re.Shape...)
	r, m := re.Float32s(), im.Float32s()
	for i := range r {
		switch d := out.Data.(type) {
		case []complex64:
			d[i] = complex(r[i], m[i])
		case []complex128:
			d[i] = complex(float64(r[i]), float64(m[i]))
		}
	}
	return out
}

// TestArrayOpsComplex runs every data-movement op on complex tensors whose
// real and imaginary parts differ and checks that Real(op(x)) = op(Real(x))
// and Imag(op(x)) = op(Imag(x)), the float32 results being those the other
// tests check against the oracle.
func TestArrayOpsComplex(t *testing.T) {
	for _, dt := range complexDTypes {
		for _, c := range arrayDTypeCases() {
			t.Run(c.op+"_"+dt.String(), func(t *testing.T) {
				tattr := c.tattr
				if tattr == "" {
					tattr = "T"
				}
				attrs := graphdef.Attrs{tattr: classify.Float32}
				for k, v := range c.attrs {
					attrs[k] = v
				}
				re := append([]*classify.Tensor(nil), c.in...)
				im := append([]*classify.Tensor(nil), c.in...)
				cx := append([]*classify.Tensor(nil), c.in...)
				for _, i := range c.data {
					x := c.in[i]
					m := classify.NewTensor(classify.Float32, x.Shape...)
					for j, v := range x.Float32s() {
						m.Float32s()[j] = 1 - 2*v
					}
					im[i] = m
					cx[i] = toComplexT(dt, x, m)
				}
				wantRe := mustRun(t, c.op, attrs, re...)
				wantIm := mustRun(t, c.op, attrs, im...)
				attrs[tattr] = dt
				got := mustRun(t, c.op, attrs, cx...)
				if got.DType != dt || !got.Shape.Equal(wantRe.Shape) {
					t.Fatalf("got %v%v, want %v%v", got.DType, got.Shape, dt, wantRe.Shape)
				}
				for i := 0; i < got.Len(); i++ {
					w := complex(float64(wantRe.Float32s()[i]), float64(wantIm.Float32s()[i]))
					if c.op == "OnesLike" {
						w = 1
					}
					if g := complexAt(got, i); g != w {
						t.Fatalf("element %d: got %v, want %v", i, g, w)
					}
				}
			})
		}
	}
}

// TestCastComplex: real → complex sets the imaginary part to 0 (through
// float32 for complex64); complex → real takes the real part and converts
// it as a real cast would (truncation toward zero for integers, != 0 for
// bool), as Eigen's complex-to-real cast does.
func TestCastComplex(t *testing.T) {
	cast := func(x *classify.Tensor, dst classify.DType) *classify.Tensor {
		t.Helper()
		return mustRun(t, "Cast", graphdef.Attrs{"SrcT": x.DType, "DstT": dst}, x)
	}
	z := c64([]complex64{complex(2.75, -1), complex(-3.5, 9), complex(0, 5), complex(float32(math.NaN()), 0)}, 2, 2)
	if got := cast(z, classify.Float32).Float32s(); got[0] != 2.75 || got[1] != -3.5 || got[2] != 0 || !math.IsNaN(float64(got[3])) {
		t.Errorf("complex64 → float32: %v", got)
	}
	if got := cast(z, classify.Int32).Int32s(); got[0] != 2 || got[1] != -3 || got[2] != 0 {
		t.Errorf("complex64 → int32: %v", got)
	}
	// 0+5i has a zero real part: false, as TensorFlow's cast.
	if got := cast(z, classify.Bool).Bools(); !got[0] || !got[1] || got[2] || !got[3] {
		t.Errorf("complex64 → bool: %v", got)
	}
	if got := cast(z, classify.Float16).Data.([]classify.F16); got[0].Float32() != 2.75 || got[1].Float32() != -3.5 {
		t.Errorf("complex64 → float16: %v", got)
	}
	if got := cast(z, classify.Complex128); got.Shape.String() != "[2,2]" || complexAt(got, 1) != complex(-3.5, 9) {
		t.Errorf("complex64 → complex128: %v %v", got.Shape, got.Data)
	}
	w := c128([]complex128{complex(1+1e-12, 1e300), complex(-7, 0.1)}, 2)
	if got := cast(w, classify.Complex64).Data.([]complex64); got[0] != complex(1, float32(math.Inf(1))) || got[1] != complex(-7, float32(0.1)) {
		t.Errorf("complex128 → complex64: %v", got)
	}
	if got := cast(w, classify.Float64).Data.([]float64); got[0] != 1+1e-12 || got[1] != -7 {
		t.Errorf("complex128 → float64: %v", got)
	}
	if got := cast(w, classify.Uint8).Uint8s(); got[0] != 1 || got[1] != uint8(int32(-7)&0xff) {
		t.Errorf("complex128 → uint8: %v", got)
	}
	// Real to complex: imaginary part 0; int64 → complex64 rounds through
	// float32.
	big := &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{2}, Data: []int64{1<<24 + 1, -3}}
	if got := cast(big, classify.Complex64).Data.([]complex64); got[0] != complex(float32(1<<24), 0) || got[1] != -3 {
		t.Errorf("int64 → complex64: %v", got)
	}
	if got := cast(big, classify.Complex128).Data.([]complex128); got[0] != 1<<24+1 || got[1] != -3 {
		t.Errorf("int64 → complex128: %v", got)
	}
	b := &classify.Tensor{DType: classify.Bool, Shape: classify.Shape{2}, Data: []bool{true, false}}
	if got := cast(b, classify.Complex128).Data.([]complex128); got[0] != 1 || got[1] != 0 {
		t.Errorf("bool → complex128: %v", got)
	}
	h := &classify.Tensor{DType: classify.Float16, Shape: classify.Shape{1}, Data: []classify.F16{classify.F16FromFloat32(-1.5)}}
	if got := cast(h, classify.Complex64).Data.([]complex64); got[0] != -1.5 {
		t.Errorf("float16 → complex64: %v", got)
	}
	if got := cast(c64(nil, 0, 3), classify.Float32); got.Len() != 0 || !got.Shape.Equal(classify.Shape{0, 3}) {
		t.Errorf("empty: %v", got.Shape)
	}
}

// TestComplexOps checks the complex constructors, accessors and
// arithmetic against values worked by hand from the definitions
// ((1+2i)(3-4i) = 11+2i, (1+2i)/(3-4i) = -0.2+0.4i, sqrt(3+4i) = 2+i,
// exp(iπ) = -1, log(-1) = iπ, ...), in both widths, with broadcasting.
func TestComplexOps(t *testing.T) {
	pi := math.Pi
	for _, dt := range complexDTypes {
		mk := func(shape []int, v ...complex128) *classify.Tensor {
			x := classify.NewTensor(dt, shape...)
			for i, c := range v {
				switch d := x.Data.(type) {
				case []complex64:
					d[i] = complex64(c)
				case []complex128:
					d[i] = c
				}
			}
			return x
		}
		tol := 1e-6
		if dt == classify.Complex128 {
			tol = 1e-14
		}
		a := mk([]int{2, 1}, 1+2i, -3+0.5i)
		b := mk([]int{3}, 3-4i, 2i, -1)
		for _, c := range []struct {
			op   string
			in   []*classify.Tensor
			want []complex128
			sh   classify.Shape
		}{
			{"Add", []*classify.Tensor{a, b}, []complex128{4 - 2i, 1 + 4i, 2i, 0 - 3.5i, -3 + 2.5i, -4 + 0.5i}, classify.Shape{2, 3}},
			{"AddV2", []*classify.Tensor{a, b}, []complex128{4 - 2i, 1 + 4i, 2i, 0 - 3.5i, -3 + 2.5i, -4 + 0.5i}, classify.Shape{2, 3}},
			{"Sub", []*classify.Tensor{a, b}, []complex128{-2 + 6i, 1, 2 + 2i, -6 + 4.5i, -3 - 1.5i, -2 + 0.5i}, classify.Shape{2, 3}},
			{"Mul", []*classify.Tensor{a, b}, []complex128{11 + 2i, -4 + 2i, -1 - 2i, -7 + 13.5i, -1 - 6i, 3 - 0.5i}, classify.Shape{2, 3}},
			{"Div", []*classify.Tensor{a, b}, []complex128{-0.2 + 0.4i, 1 - 0.5i, -1 - 2i, -0.44 - 0.42i, 0.25 + 1.5i, 3 - 0.5i}, classify.Shape{2, 3}},
			{"RealDiv", []*classify.Tensor{mk([]int{}, 1+2i), mk([]int{1}, 3-4i)}, []complex128{-0.2 + 0.4i}, classify.Shape{1}},
			{"Neg", []*classify.Tensor{a}, []complex128{-1 - 2i, 3 - 0.5i}, classify.Shape{2, 1}},
			{"Square", []*classify.Tensor{mk([]int{2}, 1+1i, 3-4i)}, []complex128{2i, -7 - 24i}, classify.Shape{2}},
			{"Exp", []*classify.Tensor{mk([]int{3}, complex(0, pi), 1, complex(math.Log(2), pi/2))}, []complex128{-1, complex(math.E, 0), 2i}, classify.Shape{3}},
			{"Log", []*classify.Tensor{mk([]int{3}, -1, 2i, complex(math.E, 0))}, []complex128{complex(0, pi), complex(math.Ln2, pi/2), 1}, classify.Shape{3}},
			{"Sqrt", []*classify.Tensor{mk([]int{3}, -4, 3+4i, -2i)}, []complex128{2i, 2 + 1i, 1 - 1i}, classify.Shape{3}},
			{"Reciprocal", []*classify.Tensor{mk([]int{2}, 2i, 3+4i)}, []complex128{-0.5i, 0.12 - 0.16i}, classify.Shape{2}},
			{"Inv", []*classify.Tensor{mk([]int{1}, 2i)}, []complex128{-0.5i}, classify.Shape{1}},
			{"Conj", []*classify.Tensor{mk([]int{2}, 1+2i, -3)}, []complex128{1 - 2i, -3}, classify.Shape{2}},
			{"Add", []*classify.Tensor{mk([]int{0, 2}), mk([]int{2}, 1, 2)}, nil, classify.Shape{0, 2}},
		} {
			got := mustRun(t, c.op, graphdef.Attrs{"T": dt}, c.in...)
			if got.DType != dt || !got.Shape.Equal(c.sh) || got.Len() != len(c.want) {
				t.Fatalf("%s %v: got %v%v, want %v%v", c.op, dt, got.DType, got.Shape, dt, c.sh)
			}
			for i, w := range c.want {
				if g := complexAt(got, i); cmplx.Abs(g-w) > tol*max(1, cmplx.Abs(w)) {
					t.Errorf("%s %v [%d]: got %v, want %v", c.op, dt, i, g, w)
				}
			}
		}
		// The accessors give the parts' dtype.
		part := classify.Float32
		if dt == classify.Complex128 {
			part = classify.Float64
		}
		z := mk([]int{4}, 3+4i, -1, 1i, complex(-1e300, 1e300))
		for _, c := range []struct {
			op   string
			want []float64
		}{
			{"Real", []float64{3, -1, 0, -1e300}},
			{"Imag", []float64{4, 0, 1, 1e300}},
			{"ComplexAbs", []float64{5, 1, 1, math.Sqrt2 * 1e300}},
			{"Angle", []float64{math.Atan2(4, 3), pi, pi / 2, 3 * pi / 4}},
		} {
			got := mustRun(t, c.op, graphdef.Attrs{"T": dt, "Tout": part}, z)
			if got.DType != part || !got.Shape.Equal(classify.Shape{4}) {
				t.Fatalf("%s %v: got %v%v", c.op, dt, got.DType, got.Shape)
			}
			for i, w := range c.want {
				if dt == classify.Complex64 && i == 3 {
					continue // ±1e300 is ±inf in complex64
				}
				var g float64
				if part == classify.Float32 {
					g = float64(got.Float32s()[i])
				} else {
					g = got.Data.([]float64)[i]
				}
				if math.Abs(g-w) > tol*max(1, math.Abs(w)) {
					t.Errorf("%s %v [%d]: got %v, want %v", c.op, dt, i, g, w)
				}
			}
		}
	}
	// Complex builds from broadcast parts.
	got := mustRun(t, "Complex", graphdef.Attrs{"T": classify.Float32, "Tout": classify.Complex64},
		classify.FromFloat32([]float32{1, 2, 3, 4}, 2, 2), classify.FromFloat32([]float32{-1}))
	if got.DType != classify.Complex64 || !got.Shape.Equal(classify.Shape{2, 2}) || fmt.Sprint(got.Data) != "[(1-1i) (2-1i) (3-1i) (4-1i)]" {
		t.Errorf("Complex: %v %v %v", got.DType, got.Shape, got.Data)
	}
	got = mustRun(t, "Complex", graphdef.Attrs{"T": classify.Float64, "Tout": classify.Complex128},
		f64t([]float64{0.5}, 1), f64t([]float64{1, 2}, 2))
	if got.DType != classify.Complex128 || fmt.Sprint(got.Data) != "[(0.5+1i) (0.5+2i)]" {
		t.Errorf("Complex float64: %v %v", got.DType, got.Data)
	}
}

// TestComplexOpErrors: the ops refuse what TensorFlow refuses, at load
// for attributes and at run time for inputs.
func TestComplexOpErrors(t *testing.T) {
	z := c64([]complex64{1, 2}, 2)
	w := c128([]complex128{1, 2}, 2)
	f := classify.FromFloat32([]float32{1, 2}, 2)
	for _, c := range []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []*classify.Tensor
		is    error
		msg   string
	}{
		// TensorFlow has no Abs on complex; ComplexAbs is the op.
		{"abs", "Abs", graphdef.Attrs{"T": classify.Complex64}, []*classify.Tensor{z}, classify.ErrUnsupportedOp, "complex64"},
		{"relu", "Relu", graphdef.Attrs{"T": classify.Complex128}, []*classify.Tensor{w}, classify.ErrUnsupportedOp, "complex128"},
		{"maximum", "Maximum", graphdef.Attrs{"T": classify.Complex64}, []*classify.Tensor{z, z}, classify.ErrUnsupportedOp, "complex64"},
		{"mixed widths", "Add", graphdef.Attrs{"T": classify.Complex64}, []*classify.Tensor{z, w}, classify.ErrInvalidInput, "dtype mismatch"},
		{"bad broadcast", "Mul", graphdef.Attrs{"T": classify.Complex64}, []*classify.Tensor{z, c64([]complex64{1, 2, 3}, 3)}, classify.ErrInvalidInput, "incompatible shapes"},
		{"real on float", "Real", graphdef.Attrs{"T": classify.Float32, "Tout": classify.Float32}, []*classify.Tensor{f}, classify.ErrInvalidGraph, "unsupported dtype"},
		{"real Tout", "Real", graphdef.Attrs{"T": classify.Complex64, "Tout": classify.Float64}, []*classify.Tensor{z}, classify.ErrInvalidGraph, "Tout float64"},
		{"complex Tout", "Complex", graphdef.Attrs{"T": classify.Float32, "Tout": classify.Complex128}, []*classify.Tensor{f, f}, classify.ErrInvalidGraph, "Tout complex128"},
		{"complex of ints", "Complex", graphdef.Attrs{"T": classify.Int32, "Tout": classify.Complex64}, []*classify.Tensor{i32([]int32{1}), i32([]int32{1})}, classify.ErrInvalidGraph, "unsupported dtype"},
		{"complex mixed", "Complex", graphdef.Attrs{"T": classify.Float32, "Tout": classify.Complex64}, []*classify.Tensor{f, f64t([]float64{1}, 1)}, classify.ErrInvalidInput, "dtype mismatch"},
		{"complex shapes", "Complex", graphdef.Attrs{"T": classify.Float32, "Tout": classify.Complex64}, []*classify.Tensor{f, classify.FromFloat32([]float32{1, 2, 3}, 3)}, classify.ErrInvalidInput, "incompatible shapes"},
		{"conj of float", "Conj", graphdef.Attrs{"T": classify.Float32}, []*classify.Tensor{f}, classify.ErrInvalidGraph, "unsupported dtype"},
		// A broadcast beyond the engine's element cap fails before
		// allocating (2^15 x 2^14 = 2^29 elements).
		{"huge broadcast", "Mul", graphdef.Attrs{"T": classify.Complex64}, []*classify.Tensor{c64(make([]complex64, 1<<15), 1<<15, 1), c64(make([]complex64, 1<<14), 1, 1<<14)}, classify.ErrInvalidInput, "elements"},
		{"huge complex", "Complex", graphdef.Attrs{"T": classify.Float32, "Tout": classify.Complex64}, []*classify.Tensor{classify.FromFloat32(make([]float32, 1<<15), 1<<15, 1), classify.FromFloat32(make([]float32, 1<<14), 1, 1<<14)}, classify.ErrInvalidInput, "elements"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := runOp(t, c.op, c.attrs, c.in...)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %v mentioning %q", err, c.is, c.msg)
			}
		})
	}
}

// matRef is op(a) op(b) for one pair of complex matrices (a m×k after op,
// b k×n), op being a transpose, conjugated when adj.
func matRef(a, b []complex128, ar, ac, br, bc int, ta, tb, adj bool) []complex128 {
	at := func(i, p int) complex128 { // element (i, p) of op(a)
		if ta {
			v := a[p*ac+i]
			if adj {
				v = cmplx.Conj(v)
			}
			return v
		}
		return a[i*ac+p]
	}
	bt := func(p, j int) complex128 {
		if tb {
			v := b[j*bc+p]
			if adj {
				v = cmplx.Conj(v)
			}
			return v
		}
		return b[p*bc+j]
	}
	m, k := ar, ac
	if ta {
		m, k = ac, ar
	}
	n := bc
	if tb {
		n = br
	}
	out := make([]complex128, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for p := 0; p < k; p++ {
				out[i*n+j] += at(i, p) * bt(p, j)
			}
		}
	}
	return out
}

// TestComplexMatMul: MatMul's transposes are plain, BatchMatMulV2's
// adjoints conjugate, batches broadcast; against a direct loop.
func TestComplexMatMul(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for _, dt := range complexDTypes {
		tol := 1e-5
		if dt == classify.Complex128 {
			tol = 1e-13
		}
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			a := asTensor(dt, randComplex(r, 6), 2, 3)
			if tr[0] {
				a.Shape = classify.Shape{3, 2}
			}
			b := asTensor(dt, randComplex(r, 12), 3, 4)
			if tr[1] {
				b.Shape = classify.Shape{4, 3}
			}
			want := matRef(values(a), values(b), a.Shape[0], a.Shape[1], b.Shape[0], b.Shape[1], tr[0], tr[1], false)
			got := mustRun(t, "MatMul", graphdef.Attrs{"T": dt, "transpose_a": tr[0], "transpose_b": tr[1]}, a, b)
			if got.DType != dt || !got.Shape.Equal(classify.Shape{2, 4}) || maxErr(values(got), want) > tol {
				t.Errorf("MatMul %v %v: %v%v error %g", dt, tr, got.DType, got.Shape, maxErr(values(got), want))
			}
			// BatchMatMulV2 with a broadcast batch: [2,·,·] x [·,·].
			ab := asTensor(dt, append(values(a), randComplex(r, 6)...), append([]int{2}, a.Shape...)...)
			got = mustRun(t, "BatchMatMulV2", graphdef.Attrs{"T": dt, "adj_x": tr[0], "adj_y": tr[1]}, ab, b)
			if !got.Shape.Equal(classify.Shape{2, 2, 4}) {
				t.Fatalf("BatchMatMulV2 shape %v", got.Shape)
			}
			for i := 0; i < 2; i++ {
				want := matRef(values(ab)[i*6:(i+1)*6], values(b), a.Shape[0], a.Shape[1], b.Shape[0], b.Shape[1], tr[0], tr[1], true)
				if e := maxErr(values(got)[i*8:(i+1)*8], want); e > tol {
					t.Errorf("BatchMatMulV2 %v adj %v batch %d: error %g", dt, tr, i, e)
				}
			}
		}
	}
	z := c64(make([]complex64, 6), 2, 3)
	if _, err := runOp(t, "MatMul", graphdef.Attrs{"T": classify.Complex64}, z, z); !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("2x3 times 2x3: got %v", err)
	}
	// k = 0 with a huge m x n output is refused before allocating.
	big, bigT := c64(nil, 1<<15, 0), c64(nil, 0, 1<<14)
	if _, err := runOp(t, "MatMul", graphdef.Attrs{"T": classify.Complex64}, big, bigT); !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), "elements") {
		t.Errorf("2^29-element product: got %v", err)
	}
	if got := mustRun(t, "MatMul", graphdef.Attrs{"T": classify.Complex128}, c128(nil, 2, 0), c128(nil, 0, 3)); fmt.Sprint(got.Data) != "[(0+0i) (0+0i) (0+0i) (0+0i) (0+0i) (0+0i)]" {
		t.Errorf("empty inner dimension: %v", got.Data)
	}
}

// TestConjugateTranspose: complex input is conjugated as well as
// transposed (also for the identity permutation), real input only
// transposed.
func TestConjugateTranspose(t *testing.T) {
	x := c64([]complex64{1 + 1i, 2 - 1i, 3, 4i, -5 + 2i, 6}, 2, 3)
	got := mustRun(t, "ConjugateTranspose", graphdef.Attrs{"T": classify.Complex64, "Tperm": classify.Int32}, x, i32([]int32{1, 0}, 2))
	if !got.Shape.Equal(classify.Shape{3, 2}) || fmt.Sprint(got.Data) != "[(1-1i) (0-4i) (2+1i) (-5-2i) (3-0i) (6-0i)]" {
		t.Errorf("ConjugateTranspose: %v %v", got.Shape, got.Data)
	}
	id := mustRun(t, "ConjugateTranspose", graphdef.Attrs{"T": classify.Complex128, "Tperm": classify.Int32}, c128([]complex128{1 + 2i}, 1), i32([]int32{0}, 1))
	if fmt.Sprint(id.Data) != "[(1-2i)]" {
		t.Errorf("identity ConjugateTranspose: %v", id.Data)
	}
	re := mustRun(t, "ConjugateTranspose", graphdef.Attrs{"T": classify.Float32, "Tperm": classify.Int32}, classify.FromFloat32([]float32{1, 2}, 1, 2), i32([]int32{1, 0}, 2))
	if !re.Shape.Equal(classify.Shape{2, 1}) || fmt.Sprint(re.Data) != "[1 2]" {
		t.Errorf("real ConjugateTranspose: %v %v", re.Shape, re.Data)
	}
}

// TestComplexReductions checks Sum, Mean and Prod of complex tensors over
// every axis set of a [2,3,4] input (and keep_dims, negative axes, an empty
// input) against a naive complex128 fold written here, and that Max and
// Min, which TensorFlow does not define on complex, are refused at load.
func TestComplexReductions(t *testing.T) {
	shape := []int{2, 3, 4}
	vals := make([]complex128, 24)
	for i := range vals {
		vals[i] = complex(0.25*float64(i%7)-0.5, 0.125*float64(i%5)+0.1)
	}
	naive := func(kind string, axes []int) ([]complex128, []int) {
		red := [3]bool{}
		for _, a := range axes {
			red[(a+3)%3] = true
		}
		var oshape []int
		per := 1
		for d, n := range shape {
			if red[d] {
				per *= n
			} else {
				oshape = append(oshape, n)
			}
		}
		osize := 24 / per
		out := make([]complex128, osize)
		for i := range out {
			if kind == "Prod" {
				out[i] = 1
			}
		}
		for i0 := 0; i0 < 2; i0++ {
			for i1 := 0; i1 < 3; i1++ {
				for i2 := 0; i2 < 4; i2++ {
					o := 0
					for d, iv := range [3]int{i0, i1, i2} {
						if !red[d] {
							o = o*shape[d] + iv
						}
					}
					v := vals[(i0*3+i1)*4+i2]
					if kind == "Prod" {
						out[o] *= v
					} else {
						out[o] += v
					}
				}
			}
		}
		if kind == "Mean" {
			for i := range out {
				out[i] /= complex(float64(per), 0)
			}
		}
		return out, oshape
	}
	for _, dt := range complexDTypes {
		x := asTensor(dt, vals, shape...)
		for _, kind := range []string{"Sum", "Mean", "Prod"} {
			for _, axes := range [][]int{{}, {0}, {1}, {2}, {-1}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2}, {2, 0, 2}} {
				for _, keep := range []bool{false, true} {
					name := fmt.Sprintf("%s_%v_%v_keep=%v", kind, dt, axes, keep)
					ax := make([]int32, len(axes))
					for i, a := range axes {
						ax[i] = int32(a)
					}
					got, err := runOp(t, kind, map[string]any{"T": dt, "keep_dims": keep}, x, saI32(ax, len(ax)))
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					want, oshape := naive(kind, axes)
					if keep {
						oshape = []int{2, 3, 4}
						for _, a := range axes {
							oshape[(a+3)%3] = 1
						}
					}
					if got[0].DType != dt || !got[0].Shape.Equal(classify.Shape(oshape)) {
						t.Fatalf("%s: got %v%v, want %v%v", name, got[0].DType, got[0].Shape, dt, oshape)
					}
					for i, w := range want {
						// complex64 rounds each part once; the fold order
						// is the same as the naive one.
						tol := 1e-12
						if dt == classify.Complex64 {
							tol = 1e-6
						}
						if g := complexAt(got[0], i); cmplx.Abs(g-w) > tol*(1+cmplx.Abs(w)) {
							t.Fatalf("%s: element %d = %v, want %v", name, i, g, w)
						}
					}
				}
			}
		}
		// Reducing an empty axis: Sum 0, Prod 1, Mean 0/0.
		empty := classify.NewTensor(dt, 3, 0)
		for kind, want := range map[string]complex128{"Sum": 0, "Prod": 1} {
			got := mustRun(t, kind, map[string]any{"T": dt}, empty, saI32([]int32{1}, 1))
			if !got.Shape.Equal(classify.Shape{3}) || complexAt(got, 2) != want {
				t.Errorf("%s of %v[3,0] over axis 1: got %v %v, want [3] of %v", kind, dt, got.Shape, got.Data, want)
			}
		}
		got := mustRun(t, "Mean", map[string]any{"T": dt}, empty, saI32([]int32{1}, 1))
		if g := complexAt(got, 0); !math.IsNaN(real(g)) || !math.IsNaN(imag(g)) {
			t.Errorf("Mean of %v[3,0] over axis 1 = %v, want NaN+NaNi", dt, g)
		}
		for _, op := range []string{"Max", "Min"} {
			if _, err := runOp(t, op, map[string]any{"T": dt}, x, saI32([]int32{0}, 1)); err == nil || !strings.Contains(err.Error(), "dtype") {
				t.Errorf("%s on %v: err = %v, want a dtype error", op, dt, err)
			}
			// Without T the kernel meets complex only at run time.
			if _, err := runOp(t, op, nil, x, saI32([]int32{0}, 1)); err == nil || !strings.Contains(err.Error(), "dtype") {
				t.Errorf("%s fed %v without T: err = %v, want a dtype error", op, dt, err)
			}
		}
	}
}

// TestComplexAddNEqual checks AddN (and AccumulateNV2) of complex inputs
// and Equal/NotEqual on complex operands, broadcasting, with NaN parts
// unequal to themselves, against values worked by hand.
func TestComplexAddNEqual(t *testing.T) {
	nan := math.NaN()
	for _, dt := range complexDTypes {
		mk := func(v ...complex128) *classify.Tensor { return asTensor(dt, v, len(v)) }
		a, b, c := mk(1+2i, -3i, 0.5), mk(1, 1i, -0.5+4i), mk(-2-2i, 2, 0)
		for _, op := range []string{"AddN", "AccumulateNV2"} {
			attrs := map[string]any{"T": dt, "N": 3}
			if op == "AccumulateNV2" {
				attrs["shape"] = classify.Shape{3}
			}
			got := mustRun(t, op, attrs, a, b, c)
			want := []complex128{0, 2 - 2i, 4i}
			if got.DType != dt || got.Len() != 3 {
				t.Fatalf("%s %v: got %v%v", op, dt, got.DType, got.Shape)
			}
			for i, w := range want {
				if g := complexAt(got, i); g != w {
					t.Errorf("%s %v: element %d = %v, want %v", op, dt, i, g, w)
				}
			}
		}
		x := mk(1+2i, complex(nan, 0), 3, 1-2i)
		y := mk(1 + 2i)
		eq := mustRun(t, "Equal", map[string]any{"T": dt}, x, y).Data.([]bool)
		ne := mustRun(t, "NotEqual", map[string]any{"T": dt}, x, x).Data.([]bool)
		if fmt.Sprint(eq) != "[true false false false]" {
			t.Errorf("Equal %v = %v, want [true false false false] (the conjugate differs)", dt, eq)
		}
		if fmt.Sprint(ne) != "[false true false false]" {
			t.Errorf("NotEqual(x, x) %v = %v, want only the NaN element unequal", dt, ne)
		}
	}
}
