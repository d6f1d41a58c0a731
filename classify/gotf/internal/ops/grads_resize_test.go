package ops

import (
	"fmt"
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// grResizeRef is the definition of both resize gradients in float64, with
// TensorFlow's float32 source coordinates: original h×w, resized rh×rw.
func grResizeRef(g []float64, b, h, w, c, rh, rw int, align, half, bilinear bool) []float64 {
	scale := func(in, out int) float32 {
		if align && out > 1 {
			return float32(in-1) / float32(out-1)
		}
		return float32(in) / float32(out)
	}
	sy, sx := scale(h, rh), scale(w, rw)
	type tap struct {
		i int
		f float64
	}
	taps := func(o, in int, s float32) []tap {
		if !bilinear {
			f := float32(o) * s
			if half {
				f = (float32(o) + 0.5) * s
			}
			var j int
			if align {
				j = int(math.Round(float64(f)))
			} else {
				j = int(math.Floor(float64(f)))
			}
			j = min(j, in-1)
			if half {
				j = max(j, 0)
			}
			return []tap{{j, 1}}
		}
		f := float32(o) * s
		if half {
			f = (float32(o)+0.5)*s - 0.5
		}
		fl := float32(math.Floor(float64(f)))
		lo, hi := max(int(fl), 0), min(int(math.Ceil(float64(f))), in-1)
		l := float64(f - fl)
		return []tap{{lo, 1 - l}, {hi, l}}
	}
	dx := make([]float64, b*h*w*c)
	for bi := range b {
		for y := range rh {
			for x := range rw {
				for _, ty := range taps(y, h, sy) {
					for _, tx := range taps(x, w, sx) {
						for k := range c {
							dx[((bi*h+ty.i)*w+tx.i)*c+k] += g[((bi*rh+y)*rw+x)*c+k] * ty.f * tx.f
						}
					}
				}
			}
		}
	}
	return dx
}

// TestResizeGrads checks ResizeBilinearGrad and ResizeNearestNeighborGrad
// against the definition (float64 output 1e-6: the weights are float32 as
// TensorFlow's), against the forward resizes, which are linear: dX[k] =
// Σ grads · Resize(e_k) (float32, 1e-5), and float16 within 2e-2.
func TestResizeGrads(t *testing.T) {
	const b, c = 2, 2
	for _, sz := range [][4]int{{3, 4, 7, 5}, {8, 6, 3, 4}, {4, 4, 4, 4}, {1, 5, 3, 2}} {
		h, w, rh, rw := sz[0], sz[1], sz[2], sz[3]
		for _, mode := range []struct{ align, half bool }{{false, false}, {true, false}, {false, true}} {
			for _, bilinear := range []bool{true, false} {
				name := fmt.Sprintf("%dx%d_to_%dx%d_align%v_half%v_bilinear%v", h, w, rh, rw, mode.align, mode.half, bilinear)
				t.Run(name, func(t *testing.T) {
					g := grRand64(uint64(h*100+rh), -1, 1, nil, 0, b, rh, rw, c)
					want := grResizeRef(g.Data.([]float64), b, h, w, c, rh, rw, mode.align, mode.half, bilinear)
					op, fwd := "ResizeBilinearGrad", "ResizeBilinear"
					if !bilinear {
						op, fwd = "ResizeNearestNeighborGrad", "ResizeNearestNeighbor"
					}
					at := func(dt classify.DType) graphdef.Attrs {
						return graphdef.Attrs{"T": dt, "align_corners": mode.align, "half_pixel_centers": mode.half}
					}
					g32 := grTo32(g)
					second := func(dt classify.DType) *classify.Tensor {
						if bilinear {
							x := classify.NewTensor(dt, b, h, w, c)
							return x
						}
						return grSizes(h, w)
					}
					var gotF64 []float64
					if bilinear {
						gotF64 = grFloats(mustRun(t, op, at(classify.Float64), g32, second(classify.Float64)))
					} else {
						for _, konst := range []bool{false, true} {
							in := saFeed
							if konst {
								in = saConst
							}
							out, err := saRun(t, op, at(classify.Float64), saFeed(g), in(grSizes(h, w)))
							if err != nil {
								t.Fatal(err)
							}
							gotF64 = grFloats(out[0])
						}
					}
					grClose(t, "float64", gotF64, want, 1e-6, 1e-6)
					got32 := mustRun(t, op, at(classify.Float32), g32, second(classify.Float32))
					if !got32.Shape.Equal(classify.Shape{b, h, w, c}) || got32.DType != classify.Float32 {
						t.Fatalf("got %v %v", got32.DType, got32.Shape)
					}
					grClose(t, "float32", grFloats(got32), want, 1e-5, 1e-5)
					g16 := g32
					if !bilinear {
						g16 = grTo16(g)
					}
					got16 := mustRun(t, op, at(classify.Float16), g16, second(classify.Float16))
					if got16.DType != classify.Float16 {
						t.Fatalf("float16: got %v", got16.DType)
					}
					grClose(t, "float16", grFloats(got16), want, 2e-2, 1e-2)
					fw := make([]float64, len(want))
					for k := range fw {
						e := classify.NewTensor(classify.Float32, b, h, w, c)
						e.Float32s()[k] = 1
						y := grFwd(t, fwd, graphdef.Attrs{"T": classify.Float32, "align_corners": mode.align, "half_pixel_centers": mode.half}, 1, e, grSizes(rh, rw))[0]
						fw[k] = grDot(y.Float32s(), grFloats(g32))
					}
					grClose(t, "vs "+fwd, grFloats(got32), fw, 1e-5, 1e-5)
				})
			}
		}
	}
}

func TestResizeGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	g := randF32(1, 0, 1, 1, 4, 4, 2)
	img := randF32(2, 0, 1, 1, 2, 2, 2)
	saCheckErrors(t, []saErrCase{
		{"align_half", "ResizeBilinearGrad", graphdef.Attrs{"align_corners": true, "half_pixel_centers": true}, []saIn{saFeed(g), saFeed(img)}, bad, "half_pixel_centers"},
		{"rank", "ResizeBilinearGrad", nil, []saIn{saFeed(randF32(1, 0, 1, 4, 4, 2)), saFeed(img)}, inv, "4-D"},
		{"image_rank", "ResizeBilinearGrad", nil, []saIn{saFeed(g), saFeed(randF32(1, 0, 1, 2, 2))}, inv, "4-D"},
		{"depth", "ResizeBilinearGrad", nil, []saIn{saFeed(g), saFeed(randF32(2, 0, 1, 1, 2, 2, 3))}, inv, "depth"},
		{"grads_dtype", "ResizeBilinearGrad", nil, []saIn{saFeed(grF64(make([]float64, 32), 1, 4, 4, 2)), saFeed(img)}, inv, "float32"},
		{"image_dtype", "ResizeBilinearGrad", nil, []saIn{saFeed(g), saFeed(saIota(1, 2, 2, 2))}, inv, "int32"},
		{"empty_image", "ResizeBilinearGrad", nil, []saIn{saFeed(g), saFeed(randF32(2, 0, 1, 1, 0, 2, 2))}, inv, "positive"},
		{"size", "ResizeNearestNeighborGrad", nil, []saIn{saFeed(g), saFeed(grSizes(0, 2))}, inv, "size"},
		{"size_len", "ResizeNearestNeighborGrad", nil, []saIn{saFeed(g), saConst(grSizes(2, 2, 2))}, bad, "size"},
		{"size_huge", "ResizeNearestNeighborGrad", nil, []saIn{saFeed(g), saFeed(grSizes(1<<15, 1<<15))}, inv, "elements"},
		{"dtype", "ResizeNearestNeighborGrad", graphdef.Attrs{"T": classify.Int32}, []saIn{saFeed(saIota(1, 4, 4, 2)), saFeed(grSizes(2, 2))}, bad, "dtype"},
	})
}
