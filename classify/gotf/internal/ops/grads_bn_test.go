package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// grRunN is runOp for an op with n outputs.
func grRunN(t *testing.T, op string, attrs graphdef.Attrs, n int, in ...*classify.Tensor) []*classify.Tensor {
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
	out, err := interpretChecked(t, g, feeds, fetch)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// grFBNRef is the definition in float64 over x and dy of shape
// outer×c×inner: the backprops given the mean and variance used.
func grFBNRef(dy, x []float64, scale, mean, variance []float32, outer, c, inner int, eps float64, training bool) (dx, sb, ob []float64) {
	dx, sb, ob = make([]float64, len(x)), make([]float64, c), make([]float64, c)
	n := float64(outer * inner)
	for ch := range c {
		r := 1 / math.Sqrt(float64(variance[ch])+eps)
		m := float64(mean[ch])
		var sdy, sdyx float64
		for o := range outer {
			for i := range inner {
				k := (o*c+ch)*inner + i
				sdy += dy[k]
				sdyx += dy[k] * (x[k] - m)
			}
		}
		ob[ch], sb[ch] = sdy, sdyx*r
		for o := range outer {
			for i := range inner {
				k := (o*c+ch)*inner + i
				if training {
					dx[k] = float64(scale[ch]) * r * (dy[k] - sdy/n - (x[k]-m)*r*r*sdyx/n)
				} else {
					dx[k] = dy[k] * float64(scale[ch]) * r
				}
			}
		}
	}
	return
}

// TestFusedBatchNormGrad checks the three versions against the definition
// (float64 1e-12, float32 1e-5, float16 2e-2), against the forward
// FusedBatchNormV3 kernel: its reserve spaces feed the gradient, scale and
// offset backprops are exact through its linearity in scale and offset
// (float32, 1e-4), x_backprop against central differences (h = 1e-2 in
// float32, 5e-3 absolute) when training and through linearity in x
// otherwise; NCHW and 5-D layouts, and empty inputs.
func TestFusedBatchNormGrad(t *testing.T) {
	const eps = 0.001
	for _, c := range []struct {
		name     string
		shape    []int
		format   string
		training bool
	}{
		{"nhwc_train", []int{2, 3, 4, 3}, "NHWC", true},
		{"nchw_train", []int{2, 3, 4, 3}, "NCHW", true},
		{"ndhwc_train", []int{1, 2, 3, 2, 2}, "NDHWC", true},
		{"nhwc_infer", []int{2, 3, 4, 3}, "NHWC", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ax := len(c.shape) - 1
			if c.format != "NHWC" && c.format != "NDHWC" {
				ax = 1
			}
			ch := c.shape[ax]
			outer, inner := arrProd(c.shape[:ax]), arrProd(c.shape[ax+1:])
			x := grRand64(41, -2, 3, nil, 0, c.shape...)
			dy := grRand64(42, -1, 1, nil, 0, c.shape...)
			x32, dy32 := grTo32(x), grTo32(dy)
			scale := randF32(43, 0.5, 1.5, ch)
			offset := randF32(44, -1, 1, ch)
			popMean := randF32(45, -0.5, 0.5, ch)
			popVar := randF32(46, 0.5, 2, ch)
			fat := graphdef.Attrs{"T": classify.Float32, "U": classify.Float32, "epsilon": float32(eps), "data_format": c.format, "is_training": c.training}
			mean, variance := popMean, popVar
			if c.training {
				fo := grFwd(t, "FusedBatchNormV3", fat, 6, x32, scale, offset, popMean, popVar)
				mean, variance = fo[3], fo[4]
			}
			wdx, wsb, wob := grFBNRef(dy.Data.([]float64), x.Data.([]float64), scale.Float32s(), mean.Float32s(), variance.Float32s(), outer, ch, inner, float64(float32(eps)), c.training)
			r3 := classify.NewTensor(classify.Float32)
			for _, op := range []string{"FusedBatchNormGrad", "FusedBatchNormGradV2", "FusedBatchNormGradV3"} {
				for _, dt := range []classify.DType{classify.Float64, classify.Float32, classify.Float16} {
					at := graphdef.Attrs{"T": dt, "U": classify.Float32, "epsilon": float32(eps), "data_format": c.format, "is_training": c.training}
					var a, b *classify.Tensor
					tol := 1e-12
					switch dt {
					case classify.Float64:
						a, b = dy, x
					case classify.Float32:
						a, b, tol = dy32, x32, 1e-5
					case classify.Float16:
						a, b, tol = grTo16(dy), grTo16(x), 2e-2
					}
					in := []*classify.Tensor{a, b, scale, mean, variance}
					if op == "FusedBatchNormGradV3" {
						in = append(in, r3)
					}
					out := grRunN(t, op, at, 5, in...)
					if out[0].DType != dt || !out[0].Shape.Equal(classify.Shape(c.shape)) || out[1].DType != classify.Float32 {
						t.Fatalf("%s %v: outputs %v %v %v", op, dt, out[0].DType, out[0].Shape, out[1].DType)
					}
					if !out[3].Shape.Equal(classify.Shape{0}) || !out[4].Shape.Equal(classify.Shape{0}) {
						t.Errorf("%s: reserve outputs %v %v, want [0]", op, out[3].Shape, out[4].Shape)
					}
					wx := wdx
					if dt == classify.Float16 {
						// The rounded inputs: compare with float32 on them.
						ref := grRunN(t, op, graphdef.Attrs{"T": classify.Float32, "U": classify.Float32, "epsilon": float32(eps), "data_format": c.format, "is_training": c.training},
							5, append([]*classify.Tensor{grTo32(grF64(grFloats(a), c.shape...)), grTo32(grF64(grFloats(b), c.shape...))}, in[2:]...)...)
						wx = grFloats(ref[0])
					}
					grClose(t, op+" x_backprop "+dt.String(), grFloats(out[0]), wx, tol, tol)
					if dt != classify.Float16 {
						grClose(t, op+" scale_backprop", grFloats(out[1]), wsb, 1e-5, 1e-5)
						grClose(t, op+" offset_backprop", grFloats(out[2]), wob, 1e-5, 1e-5)
					}
				}
			}
			out := grRunN(t, "FusedBatchNormGradV3", fat, 5, dy32, x32, scale, mean, variance, r3)
			// scale and offset through the forward kernel's linearity.
			fsb, fob := make([]float64, ch), make([]float64, ch)
			for k := range ch {
				e := classify.NewTensor(classify.Float32, ch)
				e.Float32s()[k] = 1
				z := classify.NewTensor(classify.Float32, ch)
				fsb[k] = grDot(grFwd(t, "FusedBatchNormV3", fat, 1, x32, e, z, popMean, popVar)[0].Float32s(), grFloats(dy32))
				fob[k] = grDot(grFwd(t, "FusedBatchNormV3", fat, 1, x32, z, e, popMean, popVar)[0].Float32s(), grFloats(dy32))
			}
			grClose(t, "scale_backprop vs forward", grFloats(out[1]), fsb, 1e-4, 1e-4)
			grClose(t, "offset_backprop vs forward", grFloats(out[2]), fob, 1e-4, 1e-4)
			// x_backprop: the derivative of Σ dy·FusedBatchNorm(x).
			h := float32(1e-2)
			tolX := 5e-3
			if !c.training {
				h, tolX = 1, 1e-4
			}
			num := make([]float64, x.Len())
			for k := range num {
				xp, xm := x32.Clone(), x32.Clone()
				xp.Float32s()[k] += h
				xm.Float32s()[k] -= h
				yp := grFwd(t, "FusedBatchNormV3", fat, 1, xp, scale, offset, popMean, popVar)[0].Float32s()
				ym := grFwd(t, "FusedBatchNormV3", fat, 1, xm, scale, offset, popMean, popVar)[0].Float32s()
				for j := range yp {
					num[k] += dy.Data.([]float64)[j] * float64(yp[j]-ym[j]) / float64(2*h)
				}
			}
			grClose(t, "x_backprop vs forward", grFloats(out[0]), num, tolX, 0)
		})
	}
	// Empty x: zero scale and offset backprops.
	e := classify.NewTensor(classify.Float32, 0, 2, 2, 3)
	v := randF32(1, 0.5, 1, 3)
	out := grRunN(t, "FusedBatchNormGradV3", graphdef.Attrs{"T": classify.Float32}, 5, e, e, v, v, v, classify.NewTensor(classify.Float32))
	if !grEq32(out[1].Float32s(), []float32{0, 0, 0}) || !grEq32(out[2].Float32s(), []float32{0, 0, 0}) || out[0].Len() != 0 {
		t.Errorf("empty: %v %v %v", out[0].Shape, out[1].Float32s(), out[2].Float32s())
	}

	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	x := randF32(1, 0, 1, 1, 2, 2, 3)
	v3 := randF32(2, 0.5, 1, 3)
	r := classify.NewTensor(classify.Float32)
	saCheckErrors(t, []saErrCase{
		{"shape", "FusedBatchNormGradV3", nil, []saIn{saFeed(x), saFeed(randF32(1, 0, 1, 1, 2, 3, 2)), saFeed(v3), saFeed(v3), saFeed(v3), saFeed(r)}, inv, "same shape"},
		{"rank", "FusedBatchNormGradV3", nil, []saIn{saFeed(randF32(1, 0, 1, 2, 3)), saFeed(randF32(1, 0, 1, 2, 3)), saFeed(v3), saFeed(v3), saFeed(v3), saFeed(r)}, inv, "4 or 5"},
		{"scale", "FusedBatchNormGradV3", nil, []saIn{saFeed(x), saFeed(x), saFeed(randF32(1, 0, 1, 2)), saFeed(v3), saFeed(v3), saFeed(r)}, inv, "scale"},
		{"mean", "FusedBatchNormGradV3", nil, []saIn{saFeed(x), saFeed(x), saFeed(v3), saFeed(randF32(1, 0, 1, 4)), saFeed(v3), saFeed(r)}, inv, "reserve_space_1"},
		{"variance", "FusedBatchNormGrad", nil, []saIn{saFeed(x), saFeed(x), saFeed(v3), saFeed(v3), saFeed(randF32(1, 0, 1, 3, 1))}, inv, "reserve_space_2"},
		{"inputs", "FusedBatchNormGradV3", nil, []saIn{saFeed(x), saFeed(x), saFeed(v3), saFeed(v3), saFeed(v3)}, bad, "6 inputs"},
		{"nchw_infer", "FusedBatchNormGradV3", graphdef.Attrs{"is_training": false, "data_format": "NCHW"}, []saIn{saFeed(x), saFeed(x), saFeed(v3), saFeed(v3), saFeed(v3), saFeed(r)}, bad, "NHWC"},
		{"format", "FusedBatchNormGradV3", graphdef.Attrs{"data_format": "HWCN"}, []saIn{saFeed(x), saFeed(x), saFeed(v3), saFeed(v3), saFeed(v3), saFeed(r)}, bad, "data_format"},
		{"u", "FusedBatchNormGradV3", graphdef.Attrs{"U": classify.Float64}, []saIn{saFeed(x), saFeed(x), saFeed(v3), saFeed(v3), saFeed(v3), saFeed(r)}, bad, "U"},
		{"mixed", "FusedBatchNormGradV3", nil, []saIn{saFeed(grF64(make([]float64, 12), 1, 2, 2, 3)), saFeed(x), saFeed(v3), saFeed(v3), saFeed(v3), saFeed(r)}, inv, "one dtype"},
	})
}
