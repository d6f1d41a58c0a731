package gotf

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestTrainingStepThroughEngine loads one training step of a small CNN
// (Conv2D, BiasAdd, Relu, MaxPool, MatMul, sparse cross entropy and its
// hand-written backward pass: ReluGrad, MaxPoolGrad, BiasAddGrad,
// Conv2DBackpropFilter) through the whole loader, fetching the second
// output of the cross entropy by index, and checks the bias and filter
// gradients against central differences of the engine's own loss
// (float32, h = 1e-3 so that no ReLU or max-pool kink is crossed,
// tolerance 1e-3 + 5e-3 relative).
func TestTrainingStepThroughEngine(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((r.Float64()*2 - 1) * s)
		}
		return v
	}
	w0, b0, fc := rnd(3*3*2*4, 0.5), rnd(4, 0.1), rnd(36*5, 0.3)
	xin := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{2, 6, 6, 2}, Data: rnd(2*6*6*2, 1)}
	labels := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{2}, Data: []int32{3, 1}}
	f32 := graphdef.Attrs{"T": classify.Float32}
	build := func(w, bias []float32) *Model {
		g := graphdef.New()
		x := g.Placeholder("x", classify.Float32, classify.Shape{2, 6, 6, 2})
		lab := g.Placeholder("labels", classify.Int32, classify.Shape{2})
		wc := g.ConstF32("w", w, 3, 3, 2, 4)
		conv := g.Op("Conv2D", "conv", []graphdef.Output{x, wc}, graphdef.Attrs{"T": classify.Float32, "strides": []int{1, 1, 1, 1}, "padding": "SAME"})
		z := g.Op("BiasAdd", "z", []graphdef.Output{conv, g.ConstF32("b", bias, 4)}, f32)
		a := g.Op("Relu", "a", []graphdef.Output{z}, f32)
		k := []int{1, 2, 2, 1}
		p := g.Op("MaxPool", "p", []graphdef.Output{a}, graphdef.Attrs{"T": classify.Float32, "ksize": k, "strides": k, "padding": "VALID"})
		flat := g.Op("Reshape", "flat", []graphdef.Output{p, g.ConstI32("fs", []int32{2, 36}, 2)}, graphdef.Attrs{"T": classify.Float32, "Tshape": classify.Int32})
		wfc := g.ConstF32("fc", fc, 36, 5)
		logits := g.Op("MatMul", "logits", []graphdef.Output{flat, wfc}, f32)
		g.Op("SparseSoftmaxCrossEntropyWithLogits", "xent", []graphdef.Output{logits, lab}, graphdef.Attrs{"T": classify.Float32, "Tlabels": classify.Int32})
		g.Op("Sum", "loss", []graphdef.Output{"xent:0", g.ConstI32("ax", []int32{0}, 1)}, graphdef.Attrs{"T": classify.Float32, "Tidx": classify.Int32})
		dflat := g.Op("MatMul", "dflat", []graphdef.Output{"xent:1", wfc}, graphdef.Attrs{"T": classify.Float32, "transpose_b": true})
		dp := g.Op("Reshape", "dp", []graphdef.Output{dflat, g.ConstI32("ps", []int32{2, 3, 3, 4}, 4)}, graphdef.Attrs{"T": classify.Float32, "Tshape": classify.Int32})
		da := g.Op("MaxPoolGrad", "da", []graphdef.Output{a, p, dp}, graphdef.Attrs{"T": classify.Float32, "ksize": k, "strides": k, "padding": "VALID"})
		dz := g.Op("ReluGrad", "dz", []graphdef.Output{da, z}, f32)
		g.Op("BiasAddGrad", "db", []graphdef.Output{dz}, f32)
		g.Op("Conv2DBackpropFilter", "dw", []graphdef.Output{x, g.ConstI32("wsz", []int32{3, 3, 2, 4}, 4), dz}, graphdef.Attrs{"T": classify.Float32, "strides": []int{1, 1, 1, 1}, "padding": "SAME"})
		return openBuilder(t, g, classify.OpenOptions{})
	}
	feeds := map[string]*classify.Tensor{"x": xin, "labels": labels}
	m := build(w0, b0)
	res, err := m.Run(context.Background(), feeds, []string{"loss", "db", "dw", "xent:1"})
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !res[1].Shape.Equal(classify.Shape{4}) || !res[2].Shape.Equal(classify.Shape{3, 3, 2, 4}) || !res[3].Shape.Equal(classify.Shape{2, 5}) {
		t.Fatalf("shapes db %v dw %v backprop %v", res[1].Shape, res[2].Shape, res[3].Shape)
	}
	loss := func(w, b []float32) float64 {
		m := build(w, b)
		defer m.Close()
		return float64(run1(t, m, feeds, "loss").Float32s()[0])
	}
	const h = 1e-3
	check := func(what string, got []float32, param []float32, idx []int, eval func([]float32) float64) {
		for _, i := range idx {
			p, q := append([]float32{}, param...), append([]float32{}, param...)
			p[i] += h
			q[i] -= h
			num := (eval(p) - eval(q)) / (2 * h)
			if d := math.Abs(float64(got[i]) - num); d > 1e-3+5e-3*math.Abs(num) {
				t.Errorf("%s[%d] = %v, central difference %v", what, i, got[i], num)
			}
		}
	}
	check("db", res[1].Float32s(), b0, []int{0, 1, 2, 3}, func(b []float32) float64 { return loss(w0, b) })
	check("dw", res[2].Float32s(), w0, []int{0, 5, 11, 17, 23, 29, 36, 47, 58, 71}, func(w []float32) float64 { return loss(w, b0) })
}
