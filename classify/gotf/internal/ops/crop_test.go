package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func cropBoxes(v ...float32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{len(v) / 4, 4}, Data: v}
}

func TestCropAndResizeGolden(t *testing.T) {
	at := func(method string, extra float32) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Float32, "method": method, "extrapolation_value": extra}
	}
	boxes := cropBoxes(
		0, 0, 1, 1, // whole image
		0.1, 0.2, 0.7, 0.9,
		0.8, 0.9, 0.2, 0.1, // flipped
		-0.3, -0.2, 0.5, 1.4, // partly outside
		0.5, 0.5, 0.5, 0.5, // a point
	)
	// Nearest sampling rounds, and where a sample falls on a half pixel
	// TensorFlow's float32 arithmetic and TensorFlow.js's float64 can
	// round apart (box 1 at y=1: 0.1*6 + 0.9 is 1.5 in float32, just
	// below in float64). The nearest cases shift the boxes off those ties.
	nearBoxes := cropBoxes(
		0, 0, 1, 1,
		0.13, 0.21, 0.71, 0.93,
		0.83, 0.91, 0.22, 0.11,
		-0.31, -0.22, 0.52, 1.43,
		0.47, 0.52, 0.47, 0.52,
	)
	ind := saI32([]int32{0, 1, 1, 0, 1}, 5)
	img := randF32(1301, -1, 1, 2, 7, 9, 3)
	var cases []goldenCase
	for _, m := range []string{"bilinear", "nearest"} {
		boxes := boxes
		if m == "nearest" {
			boxes = nearBoxes
		}
		cases = append(cases,
			saCase("cropandresize_"+m, "CropAndResize", at(m, 0), 1,
				saFeed(img), saFeed(boxes), saFeed(ind), saConst(saI32([]int32{5, 4}, 2))),
			saCase("cropandresize_"+m+"_extrapolate", "CropAndResize", at(m, -7.5), 1,
				saFeed(img), saFeed(boxes), saFeed(ind), saConst(saI32([]int32{6, 3}, 2))),
			saCase("cropandresize_"+m+"_1x1", "CropAndResize", at(m, 0), 1,
				saFeed(img), saFeed(boxes), saFeed(ind), saFeed(saI32([]int32{1, 1}, 2))),
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func TestCropAndResizeNoBoxesAndNaN(t *testing.T) {
	img := randF32(1302, -1, 1, 1, 4, 4, 2)
	out, err := saRun("CropAndResize", nil, saFeed(img), saFeed(cropBoxes()), saFeed(saI32([]int32{}, 0)), saConst(saI32([]int32{3, 3}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (classify.Shape{0, 3, 3, 2}); !out[0].Shape.Equal(want) {
		t.Errorf("no boxes: shape %v, want %v", out[0].Shape, want)
	}
	nan := float32(math.NaN())
	out, err = saRun("CropAndResize", graphdef.Attrs{"extrapolation_value": float32(3)}, saFeed(img),
		saFeed(cropBoxes(nan, 0, 1, nan)), saFeed(saI32([]int32{0}, 1)), saConst(saI32([]int32{2, 2}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out[0].Float32s() {
		if v != 3 {
			t.Fatalf("NaN box: element %d = %v, want the extrapolation value 3", i, v)
		}
	}
}

func TestCropAndResizeErrors(t *testing.T) {
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	img := randF32(1303, -1, 1, 2, 4, 4, 1)
	b := cropBoxes(0, 0, 1, 1)
	sz := saConst(saI32([]int32{2, 2}, 2))
	saCheckErrors(t, []saErrCase{
		{"box_ind_range", "CropAndResize", nil, []saIn{saFeed(img), saFeed(b), saFeed(saI32([]int32{2}, 1)), sz}, inv, "box_ind[0] = 2 is not in [0, 2)"},
		{"box_ind_len", "CropAndResize", nil, []saIn{saFeed(img), saFeed(b), saFeed(saI32([]int32{0, 0}, 2)), sz}, inv, "box_ind"},
		{"boxes_shape", "CropAndResize", nil, []saIn{saFeed(img), saFeed(randF32(1, 0, 1, 1, 3)), saFeed(saI32([]int32{0}, 1)), sz}, inv, "boxes"},
		{"method", "CropAndResize", graphdef.Attrs{"method": "bicubic"}, []saIn{saFeed(img), saFeed(b), saFeed(saI32([]int32{0}, 1)), sz}, bad, "bicubic"},
		{"crop_size", "CropAndResize", nil, []saIn{saFeed(img), saFeed(b), saFeed(saI32([]int32{0}, 1)), saFeed(saI32([]int32{0, 2}, 2))}, inv, "positive"},
	})
}
