package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestIgammaGradA checks ∂P/∂a against central differences of the
// package's Igamma in float64 (h = 1e-5·max(a, 1): 1e-7 relative) across
// both expansions, against the closed form at a = 1,
// ∂P/∂a = -e^-x (ln x + γ) - E1(x), float32 against float64, the
// edge values and broadcasting.
func TestIgammaGradA(t *testing.T) {
	var as, xs []float64
	for _, a := range []float64{0.05, 0.3, 0.5, 1, 1.7, 3, 7.5, 20, 60} {
		for _, x := range []float64{0.01, 0.2, 0.9, 1, 1.5, 2.5, 5, 9, 20, 45, 80} {
			as, xs = append(as, a), append(xs, x)
		}
	}
	at := graphdef.Attrs{"T": classify.Float64}
	got := grFloats(mustRun(t, "IgammaGradA", at, grF64(as, len(as)), grF64(xs, len(xs))))
	for i, a := range as {
		x := xs[i]
		h := 1e-5 * max(a, 1)
		if a-h <= 0 {
			h = a / 4
		}
		num := (igammaFn(a+h, x) - igammaFn(a-h, x)) / (2 * h)
		// The difference's own error: h² P''' / 6 and rounding.
		if d := math.Abs(got[i] - num); d > 1e-7*(1+math.Abs(num)) && d > 1e-3*h*h+1e-14/h {
			t.Errorf("IgammaGradA(%v, %v) = %v, differences give %v", a, x, got[i], num)
		}
	}
	// a = 1 in closed form, with E1(1) and E1(2).
	one := grFloats(mustRun(t, "IgammaGradA", at, grF64([]float64{1, 1}, 2), grF64([]float64{1, 2}, 2)))
	for i, c := range []struct{ x, e1 float64 }{{1, 0.21938393439552027}, {2, 0.04890051070806112}} {
		if w := -math.Exp(-c.x)*(math.Log(c.x)+eulerGamma) - c.e1; math.Abs(one[i]-w) > 1e-14 {
			t.Errorf("IgammaGradA(1, %v) = %v, want %v", c.x, one[i], w)
		}
	}
	// float32 against float64, broadcasting a scalar a.
	x32 := classify.FromFloat32([]float32{0.5, 1, 3, 12}, 2, 2)
	g32 := mustRun(t, "IgammaGradA", graphdef.Attrs{"T": classify.Float32}, classify.FromFloat32([]float32{2.5}), x32)
	if !g32.Shape.Equal(classify.Shape{2, 2}) {
		t.Fatalf("broadcast shape %v", g32.Shape)
	}
	for i, x := range x32.Float32s() {
		if w := igammaGradAFn(2.5, float64(x)); math.Abs(float64(g32.Float32s()[i])-w) > 1e-6*(1+math.Abs(w)) {
			t.Errorf("float32 IgammaGradA(2.5, %v) = %v, want %v", x, g32.Float32s()[i], w)
		}
	}
	// Edges: NaN for a <= 0, x < 0 and NaN; 0 at x = 0 and x = inf.
	nan, inf := math.NaN(), math.Inf(1)
	ea := []float64{0, -1, 1, nan, 1, 2, 2}
	ex := []float64{1, 1, -1, 1, nan, 0, inf}
	e := grFloats(mustRun(t, "IgammaGradA", at, grF64(ea, len(ea)), grF64(ex, len(ex))))
	for i, w := range []float64{nan, nan, nan, nan, nan, 0, 0} {
		if !(e[i] == w || math.IsNaN(e[i]) && math.IsNaN(w)) {
			t.Errorf("IgammaGradA(%v, %v) = %v, want %v", ea[i], ex[i], e[i], w)
		}
	}
	// Empty.
	if out := mustRun(t, "IgammaGradA", at, grF64(nil, 0), grF64(nil, 0)); out.Len() != 0 {
		t.Errorf("empty: %v", out.Shape)
	}
}

func TestIgammaGradAErrors(t *testing.T) {
	if _, err := runOp(t, "IgammaGradA", nil, saIota(2), saIota(2)); err == nil {
		t.Error("int32 inputs accepted")
	}
	if _, err := runOp(t, "IgammaGradA", nil, randF32(1, 1, 2, 3), randF32(1, 1, 2, 2)); err == nil {
		t.Error("incompatible shapes accepted")
	}
}
