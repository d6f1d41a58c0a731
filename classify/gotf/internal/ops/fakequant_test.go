package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TensorFlow.js maps FakeQuantWithMinMaxVars to Identity, so the oracle
// cannot check it: the tests compare with a float64 reference instead.

// refFakeQuant is the documented algorithm in float64: the step is
// (max-min)/(qmax-qmin), min's zero point is rounded onto a step, and
// inputs are clamped to the nudged range and rounded to the nearest step.
func refFakeQuant(x, lo, hi float64, bits int, narrow bool) float64 {
	qmin, qmax := 0.0, math.Exp2(float64(bits))-1
	if narrow {
		qmin = 1
	}
	scale := (hi - lo) / (qmax - qmin)
	zp := math.Min(math.Max(math.Round(qmin-lo/scale), qmin), qmax)
	nlo, nhi := (qmin-zp)*scale, (qmax-zp)*scale
	return math.Round((math.Min(math.Max(x, nlo), nhi)-nlo)/scale)*scale + nlo
}

func TestFakeQuant(t *testing.T) {
	x := randF32(2302, -8, 8, 2, 3, 4, 5)
	xs := classifytest.Float64s(x)
	for _, c := range []struct {
		lo, hi float32
		bits   int
		narrow bool
	}{{-6, 6, 8, false}, {-0.7, 2.3, 5, true}, {0, 1, 16, false}, {-1, 1, 2, false}, {0.5, 4, 8, false}, {-4, -0.5, 8, true}} {
		got := mustRun(t, "FakeQuantWithMinMaxArgs", map[string]any{"min": c.lo, "max": c.hi, "num_bits": c.bits, "narrow_range": c.narrow}, x)
		want := make([]float64, len(xs))
		for i, v := range xs {
			want[i] = refFakeQuant(v, float64(c.lo), float64(c.hi), c.bits, c.narrow)
		}
		checkClose(t, got, want, x.Shape, 1e-5)
		vars := mustRun(t, "FakeQuantWithMinMaxVars", map[string]any{"num_bits": c.bits, "narrow_range": c.narrow}, x, scalarF32(c.lo), scalarF32(c.hi))
		checkClose(t, vars, want, x.Shape, 1e-5)
	}
	// Per channel: each of the 5 channels its own range.
	lo := classify.FromFloat32([]float32{-6, -1, -0.3, -4, 0.2}, 5)
	hi := classify.FromFloat32([]float32{6, 1, 3.1, -0.1, 0.9}, 5)
	got := mustRun(t, "FakeQuantWithMinMaxVarsPerChannel", map[string]any{"num_bits": 7}, x, lo, hi)
	want := make([]float64, len(xs))
	for i, v := range xs {
		c := i % 5
		want[i] = refFakeQuant(v, float64(lo.Float32s()[c]), float64(hi.Float32s()[c]), 7, false)
	}
	checkClose(t, got, want, x.Shape, 1e-5)

	// Empty input.
	if got := mustRun(t, "FakeQuantWithMinMaxArgs", nil, classify.NewTensor(classify.Float32, 0, 3)); !got.Shape.Equal(classify.Shape{0, 3}) {
		t.Errorf("empty: shape %v", got.Shape)
	}
	saCheckErrors(t, []saErrCase{
		{"args_range", "FakeQuantWithMinMaxArgs", graphdef.Attrs{"min": float32(1), "max": float32(1)}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "below max"},
		{"bits", "FakeQuantWithMinMaxArgs", graphdef.Attrs{"num_bits": 17}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "num_bits"},
		{"vars_range", "FakeQuantWithMinMaxVars", nil, []saIn{saFeed(x), saFeed(scalarF32(2)), saFeed(scalarF32(-2))}, classify.ErrInvalidInput, "below max"},
		{"vars_nan", "FakeQuantWithMinMaxVars", nil, []saIn{saFeed(x), saFeed(scalarF32(float32(math.NaN()))), saFeed(scalarF32(2))}, classify.ErrInvalidInput, "below max"},
		{"vars_shape", "FakeQuantWithMinMaxVars", nil, []saIn{saFeed(x), saFeed(lo), saFeed(hi)}, classify.ErrInvalidInput, "scalars"},
		{"per_channel_shape", "FakeQuantWithMinMaxVarsPerChannel", nil, []saIn{saFeed(randF32(1, 0, 1, 2, 4)), saFeed(lo), saFeed(hi)}, classify.ErrInvalidInput, "4 channels"},
		{"per_channel_range", "FakeQuantWithMinMaxVarsPerChannel", nil, []saIn{saFeed(x), saFeed(hi), saFeed(lo)}, classify.ErrInvalidInput, "channel 0"},
		{"dtype", "FakeQuantWithMinMaxArgs", nil, []saIn{saFeed(saIota(3))}, classify.ErrInvalidInput, "int32"},
	})
}
