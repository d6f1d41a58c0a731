package ops

// The complex64 and complex128 kernels of the element-wise math ops and
// scans that TensorFlow's CPU kernels register for complex (see the list
// in complex.go's header). Each function is the formula TensorFlow's Eigen
// kernel evaluates on std::complex (which glibc's C99 complex functions
// implement), written on complex128; complex64 goes through complex128 and
// is rounded once, as the other complex kernels do.

import (
	"math"
	"math/cmplx"
)

// mulI is i·z, an exact rotation that keeps the signs of zero parts (the
// product 1i*z does not: 1i*(2-0i) has real part +0).
func mulI(z complex128) complex128 { return complex(-imag(z), real(z)) }

// mulNegI is -i·z, exactly.
func mulNegI(z complex128) complex128 { return complex(imag(z), -real(z)) }

// addReal is z + r for real r, as C adds a real to a complex: the
// imaginary part, a signed zero included, is unchanged (Go's 1+z adds
// complex(1, 0), which turns -0 into +0).
func addReal(z complex128, r float64) complex128 { return complex(real(z)+r, imag(z)) }

// cFinite reports whether both parts of z are finite; the kernels below
// leave infinite and NaN inputs to math/cmplx, whose C99 special cases
// they keep.
func cFinite(z complex128) bool {
	return !math.IsInf(real(z), 0) && !math.IsNaN(real(z)) && !math.IsInf(imag(z), 0) && !math.IsNaN(imag(z))
}

// clogAccurate is the principal log of z with the real part taken as
// log1p(|z|²-1)/2 when |z| is near 1, as glibc's clog does (the C library
// behind std::log in TensorFlow's kernels), so that log|z| keeps its
// relative accuracy there; math/cmplx's log(hypot) loses it (for 1+1e-10i
// it gives 0, not 5e-21). |z|²-1 comes from x2y2m1, free of the
// cancellation a plain a*a+b*b-1 would suffer. Zeros, infinities and NaNs
// are math/cmplx's, whose C99 special cases these are.
func clogAccurate(z complex128) complex128 {
	a, b := real(z), imag(z)
	if h := math.Hypot(a, b); h >= 0.7 && h <= 1.42 {
		return complex(0.5*math.Log1p(x2y2m1(a, b)), math.Atan2(b, a))
	}
	return cmplx.Log(z)
}

// x2y2m1 is a²+b²-1 for |a+bi| near 1, accurate to a few ulps of the
// result even when it is tiny: the squares are split exactly into high
// and low parts (FMA), and the five terms are summed with an error-free
// transformation (TwoSum), whose rounding errors are summed separately
// and added once (Ogita, Rump and Oishi's Sum2).
func x2y2m1(a, b float64) float64 {
	ha, hb := a*a, b*b
	la, lb := math.FMA(a, a, -ha), math.FMA(b, b, -hb)
	s, c := -1.0, 0.0
	for _, t := range [4]float64{ha, hb, la, lb} {
		u := s + t
		bv := u - s
		c += (s - (u - bv)) + (t - bv)
		s = u
	}
	return s + c
}

// clog1p is log(1+u) computed from u, accurate for small u: the helper of
// Asinh and Acosh (the Log1p op itself is Eigen's formula, cLog1p).
func clog1p(u complex128) complex128 {
	a, b := real(u), imag(u)
	if math.Abs(a) < 0.5 && math.Abs(b) < 0.5 {
		return complex(0.5*math.Log1p(a*(2+a)+b*b), math.Atan2(b, 1+a))
	}
	return clogAccurate(addReal(u, 1))
}

// cLog1p is Eigen's log1p on std::complex (MathFunctions.h,
// std_fallback::log1p): with x1p = 1+x, x when x1p is exactly 1 or equal
// to its log (infinities), else x·log(x1p)/(x1p-1), the quotient
// cancelling the rounding of 1+x.
func cLog1p(x complex128) complex128 {
	x1p := addReal(x, 1)
	l := clogAccurate(x1p)
	if x1p == 1 || x1p == l {
		return x
	}
	return x * (l / addReal(x1p, -1))
}

// cExpm1 is Eigen's expm1 on std::complex (MathFunctions.h, expm1_impl):
// expm1(re) - 2·e^re·sin²(im/2) + i·e^re·sin(im). Like Eigen it gives NaN
// parts where e^re overflows and sin is 0.
func cExpm1(x complex128) complex128 {
	erm1 := math.Expm1(real(x))
	er := erm1 + 1
	s2 := math.Sin(imag(x) / 2)
	s2 *= s2
	return complex(erm1-2*er*s2, er*math.Sin(imag(x)))
}

// cTanh is C99's ctanh as glibc computes it: (sinh x·cosh x + i·sin y·cos
// y)/(sinh² x + cos² y), which keeps accuracy where cosh 2x + cos 2y
// cancels, and ±1 + i·4 sin y cos y·e^(-2|x|) beyond |x| = 354, where
// sinh and cosh overflow (math/cmplx.Tanh gives NaN there).
func cTanh(z complex128) complex128 {
	x, y := real(z), imag(z)
	if !cFinite(z) {
		return cmplx.Tanh(z)
	}
	const t = 354 // (DBL_MAX_EXP-1)·ln 2/2, rounded down
	sy, cy := math.Sincos(y)
	if math.Abs(x) > t {
		im := 4 * sy * cy
		ax := math.Abs(x) - t
		im /= math.Exp(2 * t)
		if ax > t {
			im /= math.Exp(2 * t)
		} else {
			im /= math.Exp(2 * ax)
		}
		return complex(math.Copysign(1, x), im)
	}
	sh, ch := x, 1.0
	if math.Abs(x) > math.SmallestNonzeroFloat64 {
		sh, ch = math.Sinh(x), math.Cosh(x)
	}
	den := cy * cy
	if math.Abs(sh) > math.Abs(cy)*0x1p-52 {
		den += sh * sh
	}
	return complex(sh*ch/den, sy*cy/den)
}

// cTan is C99's ctan: -i·tanh(i·z).
func cTan(z complex128) complex128 { return mulNegI(cTanh(mulI(z))) }

// cAsinh is C99's casinh: odd (so the cut on the imaginary axis beyond ±i
// takes the sign of the real part's zero), and for real part >= 0
// log1p(z + z²/(1+sqrt(1+z²))), which neither cancels nor loses the
// relative accuracy of small z; log(2z) where z² would overflow.
func cAsinh(z complex128) complex128 {
	if math.Signbit(real(z)) {
		return -cAsinh(-z)
	}
	if !cFinite(z) {
		return cmplx.Asinh(z)
	}
	if cmplx.Abs(z) > 1e150 {
		return cmplx.Log(z) + math.Ln2
	}
	z2 := z * z
	return clog1p(z + z2/addReal(cmplx.Sqrt(addReal(z2, 1)), 1))
}

// cAsin is C99's casin: -i·asinh(i·z).
func cAsin(z complex128) complex128 { return mulNegI(cAsinh(mulI(z))) }

// cAcosh is C99's cacosh, log(z + sqrt(z+1)·sqrt(z-1)) (the product of
// square roots is the branch of sqrt(z²-1) that follows z, so the sum
// does not cancel), written log1p((z-1) + sqrt(z+1)·sqrt(z-1)) to keep
// accuracy near z = 1.
func cAcosh(z complex128) complex128 {
	if !cFinite(z) {
		return cmplx.Acosh(z)
	}
	if cmplx.Abs(z) > 1e150 {
		return cmplx.Log(z) + math.Ln2
	}
	zm1 := addReal(z, -1)
	return clog1p(zm1 + cmplx.Sqrt(addReal(z, 1))*cmplx.Sqrt(zm1))
}

// cAtanh is C99's catanh, (log1p(z) - log1p(-z))/2, the signs of zero
// parts choosing the side of the cuts on the real axis beyond ±1.
func cAtanh(z complex128) complex128 {
	if !cFinite(z) {
		return cmplx.Atanh(z)
	}
	d := clog1p(z) - clog1p(-z)
	return complex(real(d)/2, imag(d)/2)
}

// cAtan is C99's catan: -i·atanh(i·z).
func cAtan(z complex128) complex128 { return mulNegI(cAtanh(mulI(z))) }

// cSigmoid is Eigen's complex logistic (UnaryFunctors.h,
// scalar_logistic_op_impl): e/(e+1) with e = exp(x), and 1 where the real
// part of e is infinite.
func cSigmoid(x complex128) complex128 {
	e := cmplx.Exp(x)
	if math.IsInf(real(e), 0) {
		return 1
	}
	return e / (e + 1)
}

// cRsqrt is Eigen's rsqrt on complex: 1/sqrt(x).
func cRsqrt(x complex128) complex128 { return 1 / cmplx.Sqrt(x) }

// cSign is Eigen's sign on complex (sign_impl): 0 for 0, else both parts
// times 1/|x|.
func cSign(x complex128) complex128 {
	a := cmplx.Abs(x)
	if a == 0 {
		return 0
	}
	a = 1 / a
	return complex(real(x)*a, imag(x)*a)
}

// cPow is std::pow on complex as glibc's cpow computes it: exp(y·log x).
// So pow(0, y) is 0 for real(y) > 0 and NaN for y = 0.
func cPow(x, y complex128) complex128 { return cmplx.Exp(y * cmplx.Log(x)) }

// cSquaredDifference is TensorFlow's scalar_squared_difference_op: with
// v = x-y, v·conj(v), whose imaginary part is 0.
func cSquaredDifference(x, y complex128) complex128 {
	v := x - y
	return v * cmplx.Conj(v)
}

// cXdivy is 0 where x is 0, else x/y (TensorFlow's xdivy_op).
func cXdivy(x, y complex128) complex128 {
	if x == 0 {
		return 0
	}
	return x / y
}

// cXlogy is 0 where x is 0, else x·log(y) (xlogy_op).
func cXlogy(x, y complex128) complex128 {
	if x == 0 {
		return 0
	}
	return x * cmplx.Log(y)
}

// cXlog1py is 0 where x is 0, else x·log1p(y), Eigen's complex log1p
// (xlog1py_op).
func cXlog1py(x, y complex128) complex128 {
	if x == 0 {
		return 0
	}
	return x * cLog1p(y)
}

// cDivNoNan is TensorFlow's complex div_no_nan_op: 0 where y is 0 or
// x·conj(y) is 0, else x/y.
func cDivNoNan(x, y complex128) complex128 {
	if y == 0 || x*cmplx.Conj(y) == 0 {
		return 0
	}
	return x / y
}

// cMulNoNan is 0 where y is 0, else x·y (mul_no_nan_op).
func cMulNoNan(x, y complex128) complex128 {
	if y == 0 {
		return 0
	}
	return x * y
}

func init() {
	for op, f := range map[string]func(complex128) complex128{
		"Sin": cmplx.Sin, "Cos": cmplx.Cos, "Tan": cTan,
		"Sinh": cmplx.Sinh, "Cosh": cmplx.Cosh, "Tanh": cTanh,
		"Asin": cAsin, "Atan": cAtan,
		"Asinh": cAsinh, "Acosh": cAcosh, "Atanh": cAtanh,
		"Sigmoid": cSigmoid, "Rsqrt": cRsqrt, "Expm1": cExpm1, "Log1p": cLog1p, "Sign": cSign, "Log": clogAccurate,
	} {
		complexOverrides[op] = newComplexUnary(f)
		allowDTypes(op, complexDTypes...)
	}
	for op, f := range map[string]func(x, y complex128) complex128{
		"Pow": cPow, "SquaredDifference": cSquaredDifference,
		"Xdivy": cXdivy, "Xlogy": cXlogy, "Xlog1py": cXlog1py,
		"DivNoNan": cDivNoNan, "MulNoNan": cMulNoNan,
	} {
		complexOverrides[op] = newComplexBinary(f)
		allowDTypes(op, complexDTypes...)
	}
	// misc.go's scan loops take complex64 and complex128 too.
	allowDTypes("Cumsum", complexDTypes...)
	allowDTypes("Cumprod", complexDTypes...)
}
