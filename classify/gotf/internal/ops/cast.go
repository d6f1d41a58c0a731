package ops

// Cast between every pair of the real dtypes (float16, bfloat16, float32,
// float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool)
// with TensorFlow's (C++ static_cast on x86) semantics:
//
//   - float to integer truncates toward zero; out of range, the narrow
//     types (8 and 16 bits) go through int32 and uint32 through int64, and
//     wrap, as the x86 conversion instructions make them;
//   - integers narrow by wrapping;
//   - anything to bool is "!= 0" (NaN is true), bool to a number 0 or 1;
//   - float16 and bfloat16 convert through float32 both ways, as Eigen's
//     half and bfloat16 do: to them, the value is first rounded to float32
//     and then to nearest even (NaN stays NaN, overflow is infinity);
//   - Truncate=true makes float32 → bfloat16 drop the low bits instead of
//     rounding, as TensorFlow's kernel does;
//   - a real value becomes a complex one with imaginary part 0 (through
//     float32 for complex64, float64 for complex128), and a complex value
//     becomes a real one by taking its real part and converting that as
//     above, as Eigen's complex-to-real cast does (so complex → bool is
//     "real part != 0"); complex64 ↔ complex128 converts both parts.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

// castOp is a compiled Cast node.
type castOp struct {
	n        *Node
	src, dst classify.DType
	truncate bool
}

func castSupported(dt classify.DType) bool {
	switch dt {
	case classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Bool, classify.Uint8,
		classify.Float16, classify.BFloat16, classify.Int8, classify.Int16, classify.Uint16, classify.Uint32, classify.Uint64,
		classify.Complex64, classify.Complex128:
		return true
	}
	return false
}

func buildCast(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
	}
	o := &castOp{n: n, src: n.Type("SrcT"), dst: n.Type("DstT"), truncate: n.Bool("Truncate", false)}
	if !castSupported(o.dst) {
		return nil, n.Errorf("unsupported DstT %v", o.dst)
	}
	if o.src != classify.Invalid && !castSupported(o.src) {
		return nil, n.Errorf("unsupported SrcT %v", o.src)
	}
	return o, nil
}

// OutputInfo implements Shaper.
func (o *castOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	if dt := in[0].DType; dt != classify.Invalid && !castSupported(dt) {
		return nil, o.n.Errorf("unsupported input dtype %v", dt)
	}
	return []classify.TensorInfo{{DType: o.dst, Shape: in[0].Shape.Clone()}}, nil
}

// Run implements Op.
func (o *castOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	x := in[0]
	if !castSupported(x.DType) {
		return nil, o.n.InputErrorf("unsupported input dtype %v", x.DType)
	}
	if o.src != classify.Invalid && x.DType != o.src {
		return nil, o.n.InputErrorf("input has dtype %v, SrcT is %v", x.DType, o.src)
	}
	if x.DType == o.dst {
		return []*classify.Tensor{x}, nil
	}
	out := ctx.Output(0, o.dst, x.Shape...)
	if f, ok := x.Data.([]float32); ok && o.truncate && o.dst == classify.BFloat16 {
		d := out.Data.([]classify.BF16)
		for i := range d {
			d[i] = bf16Truncate(f[i])
		}
		return []*classify.Tensor{out}, nil
	}
	castInto(ctx, out, x)
	return []*classify.Tensor{out}, nil
}

// bf16Truncate keeps the upper half of f's bits, quieting a NaN whose
// payload lies only in the dropped half (which would become infinity).
func bf16Truncate(f float32) classify.BF16 {
	b := classify.BF16(math.Float32bits(f) >> 16)
	if f != f && b&0x7f == 0 {
		b |= 0x40
	}
	return b
}

// castInto converts x into out (of x's shape), which must have a different
// dtype. float16 and bfloat16 sources are widened to float32 first (into
// the node's scratch output slot), as Eigen converts them.
func castInto(ctx *Ctx, out, x *classify.Tensor) {
	switch s := x.Data.(type) {
	case []float32:
		castFrom(out, s)
	case []float64:
		castFrom(out, s)
	case []int8:
		castFrom(out, s)
	case []int16:
		castFrom(out, s)
	case []int32:
		castFrom(out, s)
	case []int64:
		castFrom(out, s)
	case []uint8:
		castFrom(out, s)
	case []uint16:
		castFrom(out, s)
	case []uint32:
		castFrom(out, s)
	case []uint64:
		castFrom(out, s)
	case []bool:
		castBool(out, s)
	case []classify.F16, []classify.BF16:
		if out.DType == classify.Float32 {
			widenHalf(out.Float32s(), x)
			return
		}
		w := ctx.Output(1, classify.Float32, x.Shape...)
		widenHalf(w.Float32s(), x)
		castFrom(out, w.Float32s())
	case []complex64:
		if d, ok := out.Data.([]complex128); ok {
			castLoopC(d, s)
			return
		}
		w := ctx.Output(1, classify.Float32, x.Shape...)
		realParts(w.Float32s(), s)
		castInto(ctx, out, w)
	case []complex128:
		if d, ok := out.Data.([]complex64); ok {
			castLoopC(d, s)
			return
		}
		w := ctx.Output(1, classify.Float64, x.Shape...)
		realParts(w.Data.([]float64), s)
		castInto(ctx, out, w)
	}
}

// realParts writes the real parts of s to d.
func realParts[F float32 | float64, C complex64 | complex128](d []F, s []C) {
	s = s[:len(d)]
	for i := range d {
		d[i] = F(real(complex128(s[i])))
	}
}

func castLoopC[D, S complex64 | complex128](d []D, s []S) {
	s = s[:len(d)]
	for i := range d {
		d[i] = D(s[i])
	}
}

// toComplex sets d to s with imaginary parts 0; the real part converts to
// F (float32 for complex64) first.
func toComplex[F float32 | float64, D complex64 | complex128, S castNum](d []D, s []S) {
	s = s[:len(d)]
	for i := range d {
		d[i] = D(complex(float64(F(s[i])), 0))
	}
}

// widen writes the float32 values of a float16 or bfloat16 tensor to d.
func widenHalf(d []float32, x *classify.Tensor) {
	switch s := x.Data.(type) {
	case []classify.F16:
		s = s[:len(d)]
		for i := range d {
			d[i] = s[i].Float32()
		}
	case []classify.BF16:
		s = s[:len(d)]
		for i := range d {
			d[i] = s[i].Float32()
		}
	}
}

// castNum are the Go types of the real dtypes other than bool and the
// 16-bit floats (exact types: F16 and BF16 are not numbers to Go).
type castNum interface {
	float32 | float64 | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64
}

func isFloat[S castNum]() bool {
	var z S
	switch any(z).(type) {
	case float32, float64:
		return true
	}
	return false
}

func castFrom[S castNum](out *classify.Tensor, s []S) {
	switch d := out.Data.(type) {
	case []float32:
		castLoop(d, s)
	case []float64:
		castLoop(d, s)
	case []int8:
		castInt(d, s)
	case []int16:
		castInt(d, s)
	case []int32:
		castInt(d, s)
	case []int64:
		castInt(d, s)
	case []uint8:
		castInt(d, s)
	case []uint16:
		castInt(d, s)
	case []uint32:
		castInt(d, s)
	case []uint64:
		castInt(d, s)
	case []bool:
		s = s[:len(d)]
		for i := range d {
			d[i] = s[i] != 0
		}
	case []classify.F16:
		s = s[:len(d)]
		for i := range d {
			d[i] = classify.F16FromFloat32(float32(s[i]))
		}
	case []classify.BF16:
		s = s[:len(d)]
		for i := range d {
			d[i] = classify.BF16FromFloat32(float32(s[i]))
		}
	case []complex64:
		toComplex[float32](d, s)
	case []complex128:
		toComplex[float64](d, s)
	}
}

func castLoop[D, S castNum](d []D, s []S) {
	s = s[:len(d)]
	for i := range d {
		d[i] = D(s[i])
	}
}

// castInt converts to an integer type. From a float, Go leaves
// out-of-range conversions to the implementation; x86 TensorFlow converts
// to int32 (for 8- and 16-bit results) or int64 (for uint32) and wraps.
func castInt[D, S castNum](d []D, s []S) {
	if !isFloat[S]() {
		castLoop(d, s)
		return
	}
	s = s[:len(d)]
	var z D
	switch any(z).(type) {
	case int8, int16, uint8, uint16:
		for i := range d {
			d[i] = D(int32(s[i]))
		}
	case uint32:
		for i := range d {
			d[i] = D(int64(s[i]))
		}
	default:
		castLoop(d, s)
	}
}

func castBool(out *classify.Tensor, s []bool) {
	switch d := out.Data.(type) {
	case []float32:
		boolTo(d, s, 1)
	case []float64:
		boolTo(d, s, 1)
	case []int8:
		boolTo(d, s, 1)
	case []int16:
		boolTo(d, s, 1)
	case []int32:
		boolTo(d, s, 1)
	case []int64:
		boolTo(d, s, 1)
	case []uint8:
		boolTo(d, s, 1)
	case []uint16:
		boolTo(d, s, 1)
	case []uint32:
		boolTo(d, s, 1)
	case []uint64:
		boolTo(d, s, 1)
	case []classify.F16:
		boolTo(d, s, classify.F16FromFloat32(1))
	case []classify.BF16:
		boolTo(d, s, classify.BF16FromFloat32(1))
	case []complex64:
		boolTo(d, s, 1)
	case []complex128:
		boolTo(d, s, 1)
	}
}

func boolTo[D any](d []D, s []bool, one D) {
	s = s[:len(d)]
	var zero D
	for i := range d {
		if s[i] {
			d[i] = one
		} else {
			d[i] = zero
		}
	}
}

func init() {
	Register("Cast", buildCast)
}
