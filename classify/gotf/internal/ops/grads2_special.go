package ops

// IgammaGradA(a, x): ∂P(a, x)/∂a, the derivative of the regularized lower
// incomplete gamma (special.go's Igamma) in its first argument, element-
// wise with broadcasting, float32 and float64, as TensorFlow's
// Eigen igamma_der_a: NaN for a <= 0, x < 0 or NaN arguments, 0 at x = 0
// and x = +inf. It differentiates Igamma's own two expansions exactly
// (forward mode), so derivative and value share their regions:
//
//   - the power series (x <= 1 or x <= a): P = x^a e^-x / Γ(a+1) · Σ t_n
//     with t_n = x^n / ((a+1)…(a+n)), so ∂P/∂a = P·(ln x - ψ(a+1)) -
//     x^a e^-x / Γ(a+1) · Σ t_n·Σ_{k<=n} 1/(a+k);
//   - the continued fraction of Q = 1 - P elsewhere: Q = x^a e^-x / Γ(a) · F
//     with F's convergents A_n/B_n differentiated along their three-term
//     recurrences (rescaled against overflow), ∂P/∂a = -Q·(ln x - ψ(a)) -
//     x^a e^-x / Γ(a) · ∂F/∂a.

import (
	"math"
)

func init() {
	Register("IgammaGradA", newMap(specialBinary(igammaGradAFn)))
}

func igammaGradAFn(a, x float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(x) || a <= 0 || x < 0:
		return math.NaN()
	case x == 0 || math.IsInf(x, 1):
		return 0
	case math.IsInf(a, 1):
		return 0
	case x > 1 && x > a:
		return -igammacCFDerA(a, x)
	}
	return igammaSeriesDerA(a, x)
}

// igammaSeriesDerA is ∂P/∂a through the power series.
func igammaSeriesDerA(a, x float64) float64 {
	lp := a*math.Log(x) - x - lgammaFn(a+1)
	if lp < -708 {
		return 0
	}
	pre := math.Exp(lp)
	sum, dsum := 1.0, 0.0
	term, h, r := 1.0, 0.0, a
	for i := 0; i < 2000; i++ {
		r++
		term *= x / r
		h += 1 / r
		sum += term
		dsum -= term * h
		if term <= 0x1p-54*sum && term*h <= 0x1p-54*math.Abs(dsum) {
			break
		}
	}
	return pre * (sum*(math.Log(x)-digammaFn(a+1)) + dsum)
}

// igammacCFDerA is ∂Q/∂a through the continued fraction
// F = 1/(b0 + a1/(b1 + a2/(b2 + …))), b_i = x + 1 - a + 2i,
// a_i = -i(i - a): ∂b_i/∂a = -1, ∂a_i/∂a = i.
func igammacCFDerA(a, x float64) float64 {
	lp := a*math.Log(x) - x - lgammaFn(a)
	if lp < -708 {
		return 0
	}
	pre := math.Exp(lp)
	// Convergents n-2 and n-1 and their derivatives, starting from
	// A_{-1} = 1, B_{-1} = 0, A_0 = 0, B_0 = 1.
	a2, b2, da2, db2 := 1.0, 0.0, 0.0, 0.0
	a1, b1, da1, db1 := 0.0, 1.0, 0.0, 0.0
	f, df := 0.0, 0.0
	for i := 0; i < 2000; i++ {
		alpha, dalpha := 1.0, 0.0
		if i > 0 {
			alpha, dalpha = -float64(i)*(float64(i)-a), float64(i)
		}
		beta := x + 1 - a + 2*float64(i)
		an := beta*a1 + alpha*a2
		bn := beta*b1 + alpha*b2
		dan := -a1 + beta*da1 + dalpha*a2 + alpha*da2
		dbn := -b1 + beta*db1 + dalpha*b2 + alpha*db2
		a2, b2, da2, db2 = a1, b1, da1, db1
		a1, b1, da1, db1 = an, bn, dan, dbn
		if bn == 0 {
			continue
		}
		nf := an / bn
		ndf := (dan - nf*dbn) / bn
		done := i > 0 && math.Abs(nf-f) <= 0x1p-54*math.Abs(nf) && math.Abs(ndf-df) <= 0x1p-54*math.Abs(ndf)
		f, df = nf, ndf
		if done {
			break
		}
		// Rescale so that the recurrences cannot overflow.
		if s := math.Abs(bn); s > 0x1p100 || s < 0x1p-100 {
			a2, b2, da2, db2 = a2/s, b2/s, da2/s, db2/s
			a1, b1, da1, db1 = a1/s, b1/s, da1/s, db1/s
		}
	}
	q := pre * f
	return q*(math.Log(x)-digammaFn(a)) + pre*df
}
