package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

type g2CropCase struct {
	name   string
	img    []int // N, H, W, C
	ch, cw int
	boxes  []float32
	ind    []int32
}

// No sample of these boxes sits on a pixel row or column, where the
// bilinear slope jumps and one-sided derivatives differ.
var g2CropCases = []g2CropCase{
	{"inside", []int{2, 6, 7, 2}, 4, 3, []float32{0.1, 0.15, 0.83, 0.9, 0.23, 0.05, 0.71, 0.62, 0.33, 0.41, 0.93, 0.88}, []int32{1, 0, 1}},
	{"flipped", []int{1, 5, 5, 3}, 3, 4, []float32{0.9, 0.8, 0.12, 0.07, 0.63, 0.14, 0.21, 0.77}, []int32{0, 0}},
	{"outside", []int{1, 6, 5, 1}, 5, 5, []float32{-0.37, -0.21, 1.23, 1.31}, []int32{0}},
	{"crop_1", []int{2, 4, 6, 2}, 1, 1, []float32{0.13, 0.27, 0.71, 0.66, 0.35, 0.05, 0.52, 0.91}, []int32{0, 1}},
	{"crop_1xn", []int{1, 5, 4, 2}, 1, 4, []float32{0.21, 0.06, 0.63, 0.91}, []int32{0}},
	{"no_boxes", []int{2, 4, 4, 2}, 3, 3, nil, nil},
}

func (c g2CropCase) coord(i, n int, a, b float64, size int) float64 {
	if n > 1 {
		return a*float64(size-1) + float64(i)*(b-a)*float64(size-1)/float64(n-1)
	}
	return 0.5 * (a + b) * float64(size-1)
}

// g2CropGradImageRef is crop_and_resize_op.cc's image gradient in float64.
func g2CropGradImageRef(c g2CropCase, g []float64, nearest bool) []float64 {
	H, W, C := c.img[1], c.img[2], c.img[3]
	out := make([]float64, arrProd(c.img))
	for b := range len(c.ind) {
		bx := c.boxes[4*b:]
		base := int(c.ind[b]) * H * W * C
		for y := range c.ch {
			iy := c.coord(y, c.ch, float64(bx[0]), float64(bx[2]), H)
			if iy < 0 || iy > float64(H-1) {
				continue
			}
			for x := range c.cw {
				ix := c.coord(x, c.cw, float64(bx[1]), float64(bx[3]), W)
				if ix < 0 || ix > float64(W-1) {
					continue
				}
				for k := range C {
					v := g[((b*c.ch+y)*c.cw+x)*C+k]
					if nearest {
						out[base+(int(math.Round(iy))*W+int(math.Round(ix)))*C+k] += v
						continue
					}
					t, l := math.Floor(iy), math.Floor(ix)
					fy, fx := iy-t, ix-l
					for _, p := range []struct {
						y, x int
						w    float64
					}{{int(t), int(l), (1 - fy) * (1 - fx)}, {int(t), int(math.Ceil(ix)), (1 - fy) * fx},
						{int(math.Ceil(iy)), int(l), fy * (1 - fx)}, {int(math.Ceil(iy)), int(math.Ceil(ix)), fy * fx}} {
						out[base+(p.y*W+p.x)*C+k] += p.w * v
					}
				}
			}
		}
	}
	return out
}

// g2CropGradBoxesRef is crop_and_resize_op.cc's box gradient in float64.
func g2CropGradBoxesRef(c g2CropCase, img, g []float64) []float64 {
	H, W, C := c.img[1], c.img[2], c.img[3]
	out := make([]float64, 4*len(c.ind))
	for b := range len(c.ind) {
		bx := c.boxes[4*b:]
		y1, x1, y2, x2 := float64(bx[0]), float64(bx[1]), float64(bx[2]), float64(bx[3])
		base := int(c.ind[b]) * H * W * C
		px := func(y, x, k int) float64 { return img[base+(y*W+x)*C+k] }
		for y := range c.ch {
			iy := c.coord(y, c.ch, y1, y2, H)
			if iy < 0 || iy > float64(H-1) {
				continue
			}
			// ∂iy/∂y1 and ∂iy/∂y2.
			dy1, dy2 := 0.5*float64(H-1), 0.5*float64(H-1)
			if c.ch > 1 {
				r := float64(y) * float64(H-1) / float64(c.ch-1)
				dy1, dy2 = float64(H-1)-r, r
			}
			for x := range c.cw {
				ix := c.coord(x, c.cw, x1, x2, W)
				if ix < 0 || ix > float64(W-1) {
					continue
				}
				dx1, dx2 := 0.5*float64(W-1), 0.5*float64(W-1)
				if c.cw > 1 {
					r := float64(x) * float64(W-1) / float64(c.cw-1)
					dx1, dx2 = float64(W-1)-r, r
				}
				t, l := int(math.Floor(iy)), int(math.Floor(ix))
				bt, r := int(math.Ceil(iy)), int(math.Ceil(ix))
				fy, fx := iy-float64(t), ix-float64(l)
				for k := range C {
					v := g[((b*c.ch+y)*c.cw+x)*C+k]
					sy := (1-fx)*(px(bt, l, k)-px(t, l, k)) + fx*(px(bt, r, k)-px(t, r, k))
					sx := (1-fy)*(px(t, r, k)-px(t, l, k)) + fy*(px(bt, r, k)-px(bt, l, k))
					out[4*b] += v * sy * dy1
					out[4*b+2] += v * sy * dy2
					out[4*b+1] += v * sx * dx1
					out[4*b+3] += v * sx * dx2
				}
			}
		}
	}
	return out
}

func (c g2CropCase) inputs() (boxes, ind *classify.Tensor) {
	return classify.FromFloat32(append([]float32{}, c.boxes...), len(c.ind), 4), saI32(append([]int32{}, c.ind...), len(c.ind))
}

// TestCropAndResizeGradImage checks the image gradient against TensorFlow's
// loop in float64 (float32 within 1e-5, float64 and float16 output), and
// the adjoint identity with the forward CropAndResize, which is linear in
// the image when extrapolation_value is 0.
func TestCropAndResizeGradImage(t *testing.T) {
	for i, c := range g2CropCases {
		for _, method := range []string{"bilinear", "nearest"} {
			t.Run(c.name+"_"+method, func(t *testing.T) {
				boxes, ind := c.inputs()
				nb := len(c.ind)
				g := randF32(uint64(1100+i), -1, 1, nb, c.ch, c.cw, c.img[3])
				want := g2CropGradImageRef(c, grFloats(g), method == "nearest")
				for _, dt := range []classify.DType{classify.Float32, classify.Float64, classify.Float16} {
					for _, konst := range []bool{false, true} {
						sz := saFeed(grSizes(c.img...))
						if konst {
							sz = saConst(grSizes(c.img...))
						}
						got, err := saRun(t, "CropAndResizeGradImage", graphdef.Attrs{"T": dt, "method": method}, saFeed(g), saFeed(boxes), saFeed(ind), sz)
						if err != nil {
							t.Fatal(err)
						}
						if got[0].DType != dt || !got[0].Shape.Equal(classify.Shape(c.img)) {
							t.Fatalf("%v %v, want %v %v", got[0].DType, got[0].Shape, dt, c.img)
						}
						tol := 1e-5
						if dt == classify.Float16 {
							tol = 4e-3
						}
						grClose(t, dt.String(), grFloats(got[0]), want, tol, tol)
					}
				}
				x := randF32(uint64(1110+i), -1, 1, c.img...)
				y := g2Fwd(t, "CropAndResize", graphdef.Attrs{"method": method}, saFeed(x), saFeed(boxes), saFeed(ind), saFeed(grSizes(c.ch, c.cw)))[0]
				gi := mustRun(t, "CropAndResizeGradImage", graphdef.Attrs{"T": classify.Float32, "method": method}, g, boxes, ind, grSizes(c.img...))
				l := grDot(y.Float32s(), grFloats(g))
				r := grDot(x.Float32s(), grFloats(gi))
				if math.Abs(l-r) > 1e-4*(1+math.Abs(l)) {
					t.Errorf("adjoint: <CropAndResize(x), g> = %v, <x, grad(g)> = %v", l, r)
				}
			})
		}
	}
}

// TestCropAndResizeGradBoxes checks the box gradient against TensorFlow's
// loop in float64 (float32 within 1e-4 relative) for float32, float64,
// int32, uint8 and float16 images, and against central differences of the
// forward CropAndResize in the box coordinates (h = 1e-3, no sample
// within reach of a pixel edge: 5e-3).
func TestCropAndResizeGradBoxes(t *testing.T) {
	for i, c := range g2CropCases {
		t.Run(c.name, func(t *testing.T) {
			boxes, ind := c.inputs()
			nb := len(c.ind)
			g := randF32(uint64(1200+i), -1, 1, nb, c.ch, c.cw, c.img[3])
			x := randF32(uint64(1210+i), 0, 4, c.img...)
			for k, v := range x.Float32s() {
				x.Float32s()[k] = float32(math.Round(float64(v)))
			}
			want := g2CropGradBoxesRef(c, grFloats(x), grFloats(g))
			imgs := []*classify.Tensor{x, grF64(grFloats(x), c.img...), grTo16(grF64(grFloats(x), c.img...))}
			xi := classify.NewTensor(classify.Int32, c.img...)
			xu := classify.NewTensor(classify.Uint8, c.img...)
			for k, v := range x.Float32s() {
				xi.Int32s()[k] = int32(v)
				xu.Data.([]uint8)[k] = uint8(v)
			}
			imgs = append(imgs, xi, xu)
			for _, img := range imgs {
				got, err := saRun(t, "CropAndResizeGradBoxes", graphdef.Attrs{"T": img.DType}, saFeed(g), saFeed(img), saFeed(boxes), saFeed(ind))
				if err != nil {
					t.Fatal(err)
				}
				if got[0].DType != classify.Float32 || !got[0].Shape.Equal(classify.Shape{nb, 4}) {
					t.Fatalf("%v %v", got[0].DType, got[0].Shape)
				}
				grClose(t, img.DType.String(), grFloats(got[0]), want, 1e-4, 1e-4)
			}
			const h = 1e-3
			num := make([]float64, 4*nb)
			for k := range num {
				bp, bm := boxes.Clone(), boxes.Clone()
				bp.Float32s()[k] += h
				bm.Float32s()[k] -= h
				yp := g2Fwd(t, "CropAndResize", nil, saFeed(x), saFeed(bp), saFeed(ind), saFeed(grSizes(c.ch, c.cw)))[0]
				ym := g2Fwd(t, "CropAndResize", nil, saFeed(x), saFeed(bm), saFeed(ind), saFeed(grSizes(c.ch, c.cw)))[0]
				for j, v := range yp.Float32s() {
					num[k] += float64(g.Float32s()[j]) * (float64(v) - float64(ym.Float32s()[j])) / (2 * h)
				}
			}
			grClose(t, "vs CropAndResize", want, num, 5e-3, 5e-3)
		})
	}
}

func TestCropAndResizeGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	g := saFeed(randF32(1, -1, 1, 2, 3, 3, 2))
	boxes := saFeed(classify.FromFloat32([]float32{0, 0, 1, 1, 0.2, 0.2, 0.8, 0.8}, 2, 4))
	ind := saFeed(saI32([]int32{0, 1}, 2))
	img := saFeed(randF32(2, 0, 1, 2, 4, 4, 2))
	sz := func(v ...int) saIn { return saFeed(grSizes(v...)) }
	gi, gb := "CropAndResizeGradImage", "CropAndResizeGradBoxes"
	f32 := graphdef.Attrs{"T": classify.Float32}
	saCheckErrors(t, []saErrCase{
		{"image_depth", gi, f32, []saIn{g, boxes, ind, sz(2, 4, 4, 3)}, inv, "depth"},
		{"image_empty", gi, f32, []saIn{g, boxes, ind, sz(2, 0, 4, 2)}, inv, "positive"},
		{"image_size_len", gi, f32, []saIn{g, boxes, ind, sz(2, 4, 4)}, inv, "image_size"},
		{"image_size_huge", gi, f32, []saIn{g, boxes, ind, sz(2, 1<<15, 1<<15, 2)}, inv, "image_size"},
		{"image_size_const", gi, f32, []saIn{g, boxes, ind, saConst(grSizes(2, -4, 4, 2))}, bad, "positive"},
		{"box_ind_range", gi, f32, []saIn{g, boxes, saFeed(saI32([]int32{0, 2}, 2)), sz(2, 4, 4, 2)}, inv, "box_ind[1]"},
		{"box_ind_negative", gb, nil, []saIn{g, img, boxes, saFeed(saI32([]int32{-1, 0}, 2))}, inv, "box_ind[0]"},
		{"boxes_shape", gi, f32, []saIn{g, saFeed(classify.FromFloat32(make([]float32, 6), 2, 3)), ind, sz(2, 4, 4, 2)}, inv, "boxes"},
		{"num_boxes", gi, f32, []saIn{g, saFeed(classify.FromFloat32(make([]float32, 4), 1, 4)), saFeed(saI32([]int32{0}, 1)), sz(2, 4, 4, 2)}, inv, "number of boxes"},
		{"grads_rank", gi, f32, []saIn{saFeed(randF32(1, -1, 1, 2, 3, 6)), boxes, ind, sz(2, 4, 4, 2)}, inv, "4-D"},
		{"grads_empty_crop", gb, nil, []saIn{saFeed(randF32(1, -1, 1, 2, 0, 3, 2)), img, boxes, ind}, inv, "positive"},
		{"grads_dtype", gb, nil, []saIn{saFeed(grF64(make([]float64, 36), 2, 3, 3, 2)), img, boxes, ind}, inv, "float32"},
		{"img_rank", gb, nil, []saIn{g, saFeed(randF32(2, 0, 1, 4, 4, 2)), boxes, ind}, inv, "4-D"},
		{"img_dtype", gb, nil, []saIn{g, saFeed(saBool(make([]bool, 64), 2, 4, 4, 2)), boxes, ind}, inv, "bool"},
		{"img_depth", gb, nil, []saIn{g, saFeed(randF32(2, 0, 1, 2, 4, 4, 3)), boxes, ind}, inv, "depth"},
		{"method_boxes", gb, graphdef.Attrs{"method": "nearest"}, []saIn{g, img, boxes, ind}, bad, "bilinear only"},
		{"method", gi, graphdef.Attrs{"method": "bicubic"}, []saIn{g, boxes, ind, sz(2, 4, 4, 2)}, bad, "method"},
		{"dtype", gi, graphdef.Attrs{"T": classify.Int32}, []saIn{g, boxes, ind, sz(2, 4, 4, 2)}, bad, "int32"},
	})
	// NaN boxes send nothing (TensorFlow's comparisons would index with
	// NaN; here the sample counts as outside the image).
	nan := float32(math.NaN())
	out := mustRun(t, "CropAndResizeGradImage", f32, randF32(1, -1, 1, 1, 2, 2, 1), classify.FromFloat32([]float32{nan, 0, 1, 1}, 1, 4), saI32([]int32{0}, 1), grSizes(1, 3, 3, 1))
	for _, v := range out.Float32s() {
		if v != 0 {
			t.Fatalf("NaN box: %v", out.Float32s())
		}
	}
	ob := mustRun(t, "CropAndResizeGradBoxes", nil, randF32(1, -1, 1, 1, 2, 2, 1), randF32(2, 0, 1, 1, 3, 3, 1), classify.FromFloat32([]float32{nan, nan, nan, nan}, 1, 4), saI32([]int32{0}, 1))
	if !grEq32(ob.Float32s(), []float32{0, 0, 0, 0}) {
		t.Errorf("NaN box gradient: %v", ob.Float32s())
	}
}
