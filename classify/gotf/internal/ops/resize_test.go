package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// u8Ramp returns a uint8 tensor with an irregular pattern of values.
func u8Ramp(shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Uint8, shape...)
	for i, d := 0, t.Data.([]uint8); i < len(d); i++ {
		d[i] = uint8(i * 37 % 251)
	}
	return t
}

// TestResizeGolden checks ResizeBilinear and ResizeNearestNeighbor against
// TensorFlow.js, whose CPU kernels take align_corners and
// half_pixel_centers the way TensorFlow does.
func TestResizeGolden(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	at := func(dt classify.DType, align, half bool) graphdef.Attrs {
		return graphdef.Attrs{"T": dt, "align_corners": align, "half_pixel_centers": half}
	}
	size := func(h, w int32) saIn { return saConst(saI32([]int32{h, w}, 2)) }
	var cases []goldenCase
	for _, op := range []struct{ name, op string }{{"bilinear", "ResizeBilinear"}, {"nearest", "ResizeNearestNeighbor"}} {
		for _, m := range []struct {
			name        string
			align, half bool
		}{{"legacy", false, false}, {"align", true, false}, {"half", false, true}} {
			p := op.name + "_" + m.name
			cases = append(cases,
				saCase(p+"_up_odd", op.op, at(f32, m.align, m.half), 1,
					saFeed(randF32(701, -1, 1, 2, 3, 5, 3)), size(7, 11)),
				saCase(p+"_down", op.op, at(f32, m.align, m.half), 1,
					saFeed(randF32(702, -1, 1, 1, 9, 7, 2)), size(4, 3)),
				saCase(p+"_to_1x1", op.op, at(f32, m.align, m.half), 1,
					saFeed(randF32(703, -1, 1, 1, 4, 5, 1)), size(1, 1)),
			)
		}
		cases = append(cases,
			saCase(op.name+"_size_fed", op.op, at(f32, false, true), 1,
				saFeed(randF32(704, -1, 1, 1, 6, 4, 2)), saFeed(saI32([]int32{9, 5}, 2))),
			saCase(op.name+"_int32", op.op, at(i32, false, true), 1,
				saFeed(saIota(1, 3, 4, 2)), size(5, 7)),
			saCase(op.name+"_big", op.op, at(f32, false, true), 1,
				saFeed(randF32(706, -1, 1, 2, 17, 13, 8)), size(64, 48)),
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// TestResizeEmptyBatch: a batch of zero images resizes to a batch of zero
// (the oracle cannot feed an empty batch).
func TestResizeEmptyBatch(t *testing.T) {
	for _, op := range []string{"ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea"} {
		out, err := saRun(op, graphdef.Attrs{"T": classify.Float32}, saFeed(randF32(1, 0, 1, 0, 3, 4, 2)), saConst(saI32([]int32{5, 7}, 2)))
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if want := (classify.Shape{0, 5, 7, 2}); !out[0].Shape.Equal(want) || out[0].Len() != 0 {
			t.Errorf("%s: shape %v, want %v", op, out[0].Shape, want)
		}
	}
}

// keysCubic is the cubic convolution kernel with coefficient a, evaluated
// exactly (TensorFlow tabulates it at 1/1024 steps).
func keysCubic(x, a float64) float64 {
	x = math.Abs(x)
	switch {
	case x <= 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return ((a*x-5*a)*x+8*a)*x - 4*a
	}
	return 0
}

// refBicubic is an independent float64 reference of ResizeBicubic from
// TensorFlow's documented semantics (resize_bicubic_op.cc): separable cubic
// convolution, a = -0.75 with clamped taps, or with half_pixel_centers Keys'
// a = -0.5 with the taps outside the image dropped and the rest
// renormalised. It evaluates the kernel exactly, without the 1/1024 table.
func refBicubic(x *classify.Tensor, oh, ow int, align, half bool) *classify.Tensor {
	b, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	a := -0.75
	if half {
		a = -0.5
	}
	weights := func(o, in int) (idx [][4]int, wt [][4]float64) {
		scale := float64(in) / float64(o)
		if align && o > 1 {
			scale = float64(in-1) / float64(o-1)
		}
		for i := range o {
			f := float64(i) * scale
			if half {
				f = (float64(i)+0.5)*scale - 0.5
			}
			fl := math.Floor(f)
			var ix [4]int
			var ws [4]float64
			sum := 0.0
			for k := range 4 {
				j := int(fl) - 1 + k
				ws[k] = keysCubic(f-float64(j), a)
				ix[k] = min(max(j, 0), in-1)
				if half && ix[k] != j {
					ws[k] = 0
				}
				sum += ws[k]
			}
			if half {
				for k := range ws {
					ws[k] /= sum
				}
			}
			idx, wt = append(idx, ix), append(wt, ws)
		}
		return
	}
	yi, yw := weights(oh, h)
	xi, xw := weights(ow, w)
	src := x.Float32s()
	out := classify.NewTensor(classify.Float32, b, oh, ow, c)
	d := out.Float32s()
	for bi := range b {
		for y := range oh {
			for xx := range ow {
				for ch := range c {
					s := 0.0
					for ky := range 4 {
						for kx := range 4 {
							s += yw[y][ky] * xw[xx][kx] * float64(src[((bi*h+yi[y][ky])*w+xi[xx][kx])*c+ch])
						}
					}
					d[((bi*oh+y)*ow+xx)*c+ch] = float32(s)
				}
			}
		}
	}
	return out
}

// refArea is an independent float64 reference of ResizeArea
// (resize_area_op.cc): each output pixel is the mean of the input over the
// rectangle [x*sx, (x+1)*sx) x [y*sy, (y+1)*sy), each input pixel weighted
// by the area it overlaps (found here by brute force over all pixels). With
// align_corners the rectangles reach past the last pixel; TensorFlow
// clamps those coordinates, so the edge pixels count again.
func refArea(x *classify.Tensor, oh, ow int, align bool) *classify.Tensor {
	b, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	scale := func(in, o int) float64 {
		if align && o > 1 {
			return float64(in-1) / float64(o-1)
		}
		return float64(in) / float64(o)
	}
	sy, sx := scale(h, oh), scale(w, ow)
	overlap := func(p int, lo, hi float64) float64 {
		return max(0, min(float64(p+1), hi)-max(float64(p), lo))
	}
	src := x.Float32s()
	out := classify.NewTensor(classify.Float32, b, oh, ow, c)
	d := out.Float32s()
	for bi := range b {
		for y := range oh {
			for xx := range ow {
				for ch := range c {
					s := 0.0
					for iy := range 2 * h {
						wy := overlap(iy, float64(y)*sy, float64(y+1)*sy)
						for ix := range 2 * w {
							p := src[((bi*h+min(iy, h-1))*w+min(ix, w-1))*c+ch]
							s += wy * overlap(ix, float64(xx)*sx, float64(xx+1)*sx) * float64(p)
						}
					}
					d[((bi*oh+y)*ow+xx)*c+ch] = float32(s / (sy * sx))
				}
			}
		}
	}
	return out
}

// TestResizeBicubicAreaReference: TensorFlow.js has neither op, so they are
// checked against the float64 references above. Bicubic's tolerance is
// 2e-3: TensorFlow (and this kernel) round the fractional offset to 1/1024
// before looking the weights up, which moves a weight by up to ~1e-3.
func TestResizeBicubicAreaReference(t *testing.T) {
	for _, c := range []struct {
		name        string
		op          string
		shape       []int
		oh, ow      int
		align, half bool
	}{
		{"bicubic_up", "ResizeBicubic", []int{2, 4, 5, 3}, 9, 7, false, false},
		{"bicubic_up_align", "ResizeBicubic", []int{1, 4, 5, 2}, 9, 11, true, false},
		{"bicubic_up_half", "ResizeBicubic", []int{2, 4, 5, 3}, 9, 7, false, true},
		{"bicubic_down_half", "ResizeBicubic", []int{1, 11, 9, 2}, 4, 5, false, true},
		{"bicubic_1x1", "ResizeBicubic", []int{1, 3, 3, 1}, 1, 1, false, false},
		{"area_down", "ResizeArea", []int{2, 9, 7, 3}, 4, 3, false, false},
		{"area_up", "ResizeArea", []int{1, 3, 4, 2}, 7, 5, false, false},
		{"area_align", "ResizeArea", []int{1, 9, 7, 2}, 4, 3, true, false},
		{"area_big", "ResizeArea", []int{1, 64, 48, 4}, 17, 13, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := randF32(710, -1, 1, c.shape...)
			out, err := saRun(c.op, graphdef.Attrs{"T": classify.Float32, "align_corners": c.align, "half_pixel_centers": c.half},
				saFeed(x), saConst(saI32([]int32{int32(c.oh), int32(c.ow)}, 2)))
			if err != nil {
				t.Fatal(err)
			}
			var want *classify.Tensor
			atol := 1e-5
			if c.op == "ResizeBicubic" {
				want, atol = refBicubic(x, c.oh, c.ow, c.align, c.half), 2e-3
			} else {
				want = refArea(x, c.oh, c.ow, c.align)
			}
			if msg := compare(out[0], want, atol, 1e-4); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestResizeErrors(t *testing.T) {
	x := randF32(720, -1, 1, 1, 4, 5, 1)
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	sz := func(v ...int32) *classify.Tensor { return saI32(v, len(v)) }
	f32 := classify.Float32
	saCheckErrors(t, []saErrCase{
		{"align_and_half", "ResizeBilinear", graphdef.Attrs{"T": f32, "align_corners": true, "half_pixel_centers": true}, []saIn{saFeed(x), saConst(sz(2, 2))}, bad, "half_pixel_centers"},
		{"area_half", "ResizeArea", graphdef.Attrs{"T": f32, "half_pixel_centers": true}, []saIn{saFeed(x), saConst(sz(2, 2))}, bad, "half_pixel_centers"},
		{"const_size_zero", "ResizeBilinear", nil, []saIn{saFeed(x), saConst(sz(0, 2))}, bad, "positive"},
		{"fed_size_negative", "ResizeNearestNeighbor", nil, []saIn{saFeed(x), saFeed(sz(3, -2))}, inv, "positive"},
		{"fed_size_len3", "ResizeBicubic", nil, []saIn{saFeed(x), saFeed(sz(3, 2, 1))}, inv, "2 elements"},
		{"not_4d", "ResizeBilinear", nil, []saIn{saFeed(randF32(1, 0, 1, 4, 5)), saConst(sz(2, 2))}, inv, "4-D"},
		{"empty_image", "ResizeBilinear", nil, []saIn{saFeed(randF32(1, 0, 1, 1, 0, 5, 1)), saConst(sz(2, 2))}, inv, "non-zero"},
		{"huge_output", "ResizeArea", nil, []saIn{saFeed(x), saFeed(sz(1<<30, 1<<30))}, inv, ""},
		{"bool_input", "ResizeNearestNeighbor", nil, []saIn{saFeed(saBools(1, 2, 2, 1)), saConst(sz(2, 2))}, inv, "dtype"},
	})
}

func TestResizeInference(t *testing.T) {
	f32, i32, u8 := classify.Float32, classify.Int32, classify.Uint8
	sz := saI32([]int32{7, 9}, 2)
	saCheckShapes(t, []saShapeCase{
		{name: "bilinear_const", op: "ResizeBilinear", in: []classify.TensorInfo{saInfo(u8, -1, 3, 4, 3), saInfo(i32, 2)},
			consts: map[int]*classify.Tensor{1: sz}, want: []classify.TensorInfo{saInfo(f32, -1, 7, 9, 3)}},
		{name: "nearest_keeps_dtype", op: "ResizeNearestNeighbor", in: []classify.TensorInfo{saInfo(u8, 2, 3, 4, 3), saInfo(i32, 2)},
			consts: map[int]*classify.Tensor{1: sz}, want: []classify.TensorInfo{saInfo(u8, 2, 7, 9, 3)}},
		{name: "fed_size", op: "ResizeBicubic", in: []classify.TensorInfo{saInfo(f32, 2, 3, 4, 3), saInfo(i32, 2)},
			want: []classify.TensorInfo{saInfo(f32, 2, -1, -1, 3)}},
		{name: "rank3", op: "ResizeArea", in: []classify.TensorInfo{saInfo(f32, 3, 4, 3), saInfo(i32, 2)}, err: true},
	})
}

// TestResizeParallel: the row split gives the same result as one worker.
func TestResizeParallel(t *testing.T) {
	x := randF32(730, -1, 1, 2, 31, 29, 16)
	for _, op := range []string{"ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea"} {
		var outs []*classify.Tensor
		for _, threads := range []int{1, 4} {
			o, in, err := saBuild(op, graphdef.Attrs{"T": classify.Float32}, saFeed(x), saConst(saI32([]int32{97, 83}, 2)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := o.Run(&Ctx{Threads: threads, Slots: make([]*classify.Tensor, 1)}, in)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, out[0])
		}
		if msg := compare(outs[1], outs[0], 0, 0); msg != "" {
			t.Errorf("%s: %s", op, msg)
		}
	}
}

// TestResizeUint8: uint8 images (the oracle cannot feed them) resize as
// the same values in float32 do; nearest keeps uint8, bilinear gives
// float32.
func TestResizeUint8(t *testing.T) {
	u := u8Ramp(2, 5, 7, 3)
	f := classify.NewTensor(classify.Float32, 2, 5, 7, 3)
	for i, v := range u.Data.([]uint8) {
		f.Float32s()[i] = float32(v)
	}
	for _, op := range []string{"ResizeNearestNeighbor", "ResizeBilinear", "ResizeBicubic", "ResizeArea"} {
		at := graphdef.Attrs{"half_pixel_centers": op != "ResizeArea"}
		size := saConst(saI32([]int32{8, 4}, 2))
		gu, err := saRun(op, at, saFeed(u), size)
		if err != nil {
			t.Fatal(err)
		}
		gf, err := saRun(op, at, saFeed(f), size)
		if err != nil {
			t.Fatal(err)
		}
		want := classify.Float32
		if op == "ResizeNearestNeighbor" {
			want = classify.Uint8
		}
		if gu[0].DType != want {
			t.Errorf("%s: dtype %v, want %v", op, gu[0].DType, want)
		}
		if msg := compare(gu[0], gf[0], 0, 0); msg != "" && want == classify.Float32 {
			t.Errorf("%s: %s", op, msg)
		} else if want == classify.Uint8 {
			for i, v := range gu[0].Data.([]uint8) {
				if float32(v) != gf[0].Float32s()[i] {
					t.Fatalf("%s: element %d = %d, want %v", op, i, v, gf[0].Float32s()[i])
				}
			}
		}
	}
}
