package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// g2RunN runs op in a graph and fetches its first n outputs, recorded as
// checked when it succeeds.
func g2RunN(t *testing.T, op string, attrs graphdef.Attrs, n int, in ...*classify.Tensor) ([]*classify.Tensor, error) {
	t.Helper()
	g := graphdef.New()
	var ins []graphdef.Output
	feeds := map[string]*classify.Tensor{}
	for i, x := range in {
		name := string(rune('a' + i))
		ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
		feeds[name] = x
	}
	g.Op(op, "out", ins, attrs)
	var fetch []graphdef.Output
	for i := range n {
		fetch = append(fetch, graphdef.Output("out:"+string(rune('0'+i))))
	}
	return interpretChecked(t, g, feeds, fetch)
}

// g2Nudge is TensorFlow's Nudge (fake_quant_ops_functor.h), written
// independently of fakequant.go.
func g2Nudge(lo, hi float32, bits int, narrow bool) (float32, float32) {
	qmin, qmax := float32(0), float32(int(1)<<bits-1)
	if narrow {
		qmin = 1
	}
	scale := (hi - lo) / (qmax - qmin)
	zpf := qmin - lo/scale
	zp := float32(math.Round(float64(zpf)))
	if zpf < qmin {
		zp = qmin
	} else if zpf > qmax {
		zp = qmax
	}
	return (qmin - zp) * scale, (qmax - zp) * scale
}

// TestFakeQuantGradients checks the three gradients against the
// definition on the independently nudged ranges (inputs straddling both
// nudged ends, NaN), per channel too, and by hand.
func TestFakeQuantGradients(t *testing.T) {
	for i, c := range []struct {
		lo, hi float32
		bits   int
		narrow bool
	}{{-6, 6, 8, false}, {-0.1, 1, 8, false}, {0.2, 3, 4, true}, {-2.5, -0.5, 6, false}} {
		at := graphdef.Attrs{"num_bits": c.bits, "narrow_range": c.narrow}
		x := randF32(uint64(1300+i), c.lo-1, c.hi+1, 3, 7)
		x.Float32s()[5] = float32(math.NaN())
		g := randF32(uint64(1310+i), -1, 1, 3, 7)
		nlo, nhi := g2Nudge(c.lo, c.hi, c.bits, c.narrow)
		want := make([]float64, x.Len())
		var below, above float64
		for k, v := range x.Float32s() {
			switch {
			case v >= nlo && v <= nhi:
				want[k] = float64(g.Float32s()[k])
			case v < nlo:
				below += float64(g.Float32s()[k])
			case v > nhi:
				above += float64(g.Float32s()[k])
			}
		}
		aa := graphdef.Attrs{"min": c.lo, "max": c.hi, "num_bits": c.bits, "narrow_range": c.narrow}
		grClose(t, "Args", grFloats(mustRun(t, "FakeQuantWithMinMaxArgsGradient", aa, g, x)), want, 0, 0)
		out, err := g2RunN(t, "FakeQuantWithMinMaxVarsGradient", at, 3, g, x, classify.FromFloat32([]float32{c.lo}), classify.FromFloat32([]float32{c.hi}))
		if err != nil {
			t.Fatal(err)
		}
		grClose(t, "Vars", grFloats(out[0]), want, 0, 0)
		grClose(t, "Vars min/max", []float64{grFloats(out[1])[0], grFloats(out[2])[0]}, []float64{below, above}, 1e-6, 1e-6)
		if !out[1].Shape.Equal(classify.Shape{}) {
			t.Errorf("backprop_wrt_min shape %v", out[1].Shape)
		}
		// Per channel: channel k of 7 gets the range scaled by (k+1)/4.
		mins, maxs := make([]float32, 7), make([]float32, 7)
		wpc := make([]float64, x.Len())
		bl, ab := make([]float64, 7), make([]float64, 7)
		for k := range 7 {
			s := float32(k+1) / 4
			mins[k], maxs[k] = c.lo*s, c.hi*s
		}
		for k, v := range x.Float32s() {
			ch := k % 7
			lo, hi := g2Nudge(mins[ch], maxs[ch], c.bits, c.narrow)
			switch {
			case v >= lo && v <= hi:
				wpc[k] = float64(g.Float32s()[k])
			case v < lo:
				bl[ch] += float64(g.Float32s()[k])
			case v > hi:
				ab[ch] += float64(g.Float32s()[k])
			}
		}
		out, err = g2RunN(t, "FakeQuantWithMinMaxVarsPerChannelGradient", at, 3, g, x, classify.FromFloat32(mins, 7), classify.FromFloat32(maxs, 7))
		if err != nil {
			t.Fatal(err)
		}
		grClose(t, "PerChannel", grFloats(out[0]), wpc, 0, 0)
		grClose(t, "PerChannel min", grFloats(out[1]), bl, 1e-6, 1e-6)
		grClose(t, "PerChannel max", grFloats(out[2]), ab, 1e-6, 1e-6)
	}
	// By hand: [0, 1] with 8 bits needs no nudging.
	x := classify.FromFloat32([]float32{-0.5, 0, 0.5, 1, 1.5, float32(math.NaN())}, 6)
	g := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 6)
	out, err := g2RunN(t, "FakeQuantWithMinMaxVarsGradient", nil, 3, g, x, classify.FromFloat32([]float32{0}), classify.FromFloat32([]float32{1}))
	if err != nil {
		t.Fatal(err)
	}
	if !grEq32(out[0].Float32s(), []float32{0, 2, 3, 4, 0, 0}) || out[1].Float32s()[0] != 1 || out[2].Float32s()[0] != 5 {
		t.Errorf("by hand: %v %v %v", out[0].Float32s(), out[1].Float32s(), out[2].Float32s())
	}
	// Empty inputs.
	e := mustRun(t, "FakeQuantWithMinMaxArgsGradient", nil, classify.NewTensor(classify.Float32, 0, 3), classify.NewTensor(classify.Float32, 0, 3))
	if !e.Shape.Equal(classify.Shape{0, 3}) {
		t.Errorf("empty: %v", e.Shape)
	}
}

func TestFakeQuantGradientErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	x := saFeed(randF32(1, -1, 1, 2, 3))
	one := func(v float32) saIn { return saFeed(classify.FromFloat32([]float32{v})) }
	vec := func(v ...float32) saIn { return saFeed(classify.FromFloat32(v, len(v))) }
	saCheckErrors(t, []saErrCase{
		{"shapes", "FakeQuantWithMinMaxArgsGradient", nil, []saIn{x, saFeed(randF32(1, -1, 1, 3, 2))}, inv, "one shape"},
		{"dtype", "FakeQuantWithMinMaxArgsGradient", nil, []saIn{x, saFeed(grF64(make([]float64, 6), 2, 3))}, inv, "float32"},
		{"args_range", "FakeQuantWithMinMaxArgsGradient", graphdef.Attrs{"min": float32(1), "max": float32(1)}, []saIn{x, x}, bad, "below max"},
		{"bits", "FakeQuantWithMinMaxVarsGradient", graphdef.Attrs{"num_bits": 1}, []saIn{x, x, one(0), one(1)}, bad, "num_bits"},
		{"vars_range", "FakeQuantWithMinMaxVarsGradient", nil, []saIn{x, x, one(2), one(1)}, inv, "below max"},
		{"vars_shape", "FakeQuantWithMinMaxVarsGradient", nil, []saIn{x, x, vec(0, 0), one(1)}, inv, "scalars"},
		{"channels", "FakeQuantWithMinMaxVarsPerChannelGradient", nil, []saIn{x, x, vec(0, 0), vec(1, 1)}, inv, "3 channels"},
		{"channel_range", "FakeQuantWithMinMaxVarsPerChannelGradient", nil, []saIn{x, x, vec(0, 0, 3), vec(1, 1, 1)}, inv, "channel 2"},
		{"scalar", "FakeQuantWithMinMaxVarsPerChannelGradient", nil, []saIn{one(0), one(0), vec(0), vec(1)}, inv, "scalar"},
	})
}
