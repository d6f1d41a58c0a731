package ops

// Integer division and rounding: FloorDiv, FloorMod, TruncateDiv,
// TruncateMod, Mod (broadcasting), Floor, Ceil, Round (half to even), Rint
// and Sign, each for the dtypes TensorFlow's CPU kernels register:
//
//	FloorDiv     float32 float64 int32 int64 uint8
//	FloorMod     float32 float64 int32 int64 uint8
//	TruncateDiv  int32 int64 uint8
//	TruncateMod  float32 float64 int32 int64 (Mod: the same op)
//	Floor, Ceil, Rint  float32 float64
//	Round, Sign  float32 float64 int32 int64
//
// An integer divisor of zero is an error ("Integer division by zero"), as
// TensorFlow's safe_div functors make it. The most negative integer divided
// by -1 wraps to itself (its remainder is 0), where C++ would trap.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

type intT interface{ ~int32 | ~int64 }

func floorDivI[T intT](x, y T) T {
	q := x / y
	if (x%y != 0) && ((x < 0) != (y < 0)) {
		q--
	}
	return q
}

func floorModI[T intT](x, y T) T {
	r := x % y
	if r != 0 && ((r < 0) != (y < 0)) {
		r += y
	}
	return r
}

func floorDivF[T ewFloat](x, y T) T { return T(math.Floor(float64(x / y))) }

// floorModF is fmod corrected toward the divisor's sign, as TensorFlow's
// floor_fmod.
func floorModF[T ewFloat](x, y T) T {
	r := T(math.Mod(float64(x), float64(y)))
	if r != 0 && ((y < 0) != (r < 0)) {
		r += y
	}
	return r
}

func truncDivI[T intT | ~uint8](x, y T) T { return x / y }
func truncModI[T intT | ~uint8](x, y T) T { return x % y }
func truncModF[T ewFloat](x, y T) T       { return T(math.Mod(float64(x), float64(y))) }

// checkDivisor rejects integer zero divisors before Go's division panics
// (the binary-op check signature around checkIntDivisor).
func checkDivisor(n *Node, _, b *classify.Tensor) error { return checkIntDivisor(n, b) }

var (
	floorDivSpec = mapSpec{kern: map[classify.DType]mapKernel{
		classify.Float32: mapFn(floorDivF[float32]),
		classify.Float64: mapFn(floorDivF[float64]),
		classify.Int32:   mapFn(floorDivI[int32]),
		classify.Int64:   mapFn(floorDivI[int64]),
		classify.Uint8:   mapFn(truncDivI[uint8]), // unsigned: floor is truncation
	}, check: checkDivisor, typeAttr: "T"}
	floorModSpec = mapSpec{kern: map[classify.DType]mapKernel{
		classify.Float32: mapFn(floorModF[float32]),
		classify.Float64: mapFn(floorModF[float64]),
		classify.Int32:   mapFn(floorModI[int32]),
		classify.Int64:   mapFn(floorModI[int64]),
		classify.Uint8:   mapFn(truncModI[uint8]),
	}, check: checkDivisor, typeAttr: "T"}
	truncDivSpec = mapSpec{kern: map[classify.DType]mapKernel{
		classify.Int32: mapFn(truncDivI[int32]),
		classify.Int64: mapFn(truncDivI[int64]),
		classify.Uint8: mapFn(truncDivI[uint8]),
	}, check: checkDivisor, typeAttr: "T"}
	truncModSpec = mapSpec{kern: map[classify.DType]mapKernel{
		classify.Float32: mapFn(truncModF[float32]),
		classify.Float64: mapFn(truncModF[float64]),
		classify.Int32:   mapFn(truncModI[int32]),
		classify.Int64:   mapFn(truncModI[int64]),
	}, check: checkDivisor, typeAttr: "T"}
)

func floorLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(math.Floor(float64(a[i])))
	}
}

func ceilLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(math.Ceil(float64(a[i])))
	}
}

// roundLoop rounds half to even, as TensorFlow's Round (and Rint under the
// default rounding mode) do.
func roundLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(math.RoundToEven(float64(a[i])))
	}
}

func copyLoop[T any](d, a []T) { copy(d, a) }

// signLoop is -1, 0 or 1 (±0 gives +0, as Eigen's (x > 0) - (x < 0));
// NaN stays NaN.
func signLoop[T ewNumber](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		switch x := a[i]; {
		case x > 0:
			d[i] = 1
		case x < 0:
			d[i] = T(0) - 1
		case x == 0:
			d[i] = 0
		default: // NaN
			d[i] = x
		}
	}
}

func init() {
	Register("FloorDiv", newMap(&floorDivSpec))
	Register("FloorMod", newMap(&floorModSpec))
	Register("TruncateDiv", newMap(&truncDivSpec))
	Register("TruncateMod", newMap(&truncModSpec))
	Register("Mod", newMap(&truncModSpec))
	Register("Floor", fixedUnary(floatUnary(floorLoop[float32], floorLoop[float64], 1)))
	Register("Ceil", fixedUnary(floatUnary(ceilLoop[float32], ceilLoop[float64], 1)))
	Register("Rint", fixedUnary(floatUnary(roundLoop[float32], roundLoop[float64], 1)))
	Register("Round", fixedUnary(numUnary(roundLoop[float32], roundLoop[float64], copyLoop[int32], copyLoop[int64])))
	Register("Sign", fixedUnary(numUnary(signLoop[float32], signLoop[float64], signLoop[int32], signLoop[int64])))
}
