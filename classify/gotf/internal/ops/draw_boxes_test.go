package ops

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// fillBorder draws like draw_bounding_box_op_test.py's _fillBorder: the border
// of every image of [n, h, w, d] in colour c.
func fillBorder(img []float32, h, w, d int, c []float32) {
	for y := range h {
		for x := range w {
			if y == 0 || y == h-1 || x == 0 || x == w-1 {
				copy(img[(y*w+x)*d:][:d], c[:d])
			}
		}
	}
}

func boxesOf(n int, v ...float32) *classify.Tensor {
	return classify.FromFloat32(v, n, len(v)/4/n, 4)
}

// draw_bounding_box_op_test.py's colour cycling tests: k full-image boxes
// leave the border in colour (k-1) % len(colors).
func TestDrawBoundingBoxesCycling(t *testing.T) {
	palette := [][]float32{{1, 1, 0, 1}, {0, 0, 1, 1}, {1, 0, 0, 1}, {0, 1, 0, 1}, {0.5, 0, 0.5, 1}, {0.5, 0.5, 0, 1}, {0.5, 0, 0, 1}, {0, 0, 0.5, 1}, {0, 1, 1, 1}, {1, 0, 1, 1}}
	six := [][]float32{{1, 1, 0, 1}, {0, 0, 1, 1}, {0.5, 0, 0.5, 1}, {0.5, 0.5, 0, 1}, {0, 1, 1, 1}, {1, 0, 1, 1}}
	four := [][]float32{{0.5, 0, 0.5, 1}, {0.5, 0.5, 0, 1}, {0.5, 0, 0, 1}, {0, 0, 0.5, 1}}
	for _, tc := range []struct {
		name   string
		size   int
		depth  int
		dt     classify.DType
		colors [][]float32 // nil: the default palette
	}{
		{"rgb", 10, 3, classify.Float32, nil},
		{"rgba", 10, 4, classify.Float32, nil},
		{"gry", 4, 1, classify.Float32, nil},
		{"rgb colors", 10, 3, classify.Float32, six},
		{"rgba colors", 10, 4, classify.Float32, four},
		{"half colors", 10, 4, classify.Float16, four},
		{"half default", 6, 3, classify.Float16, nil},
	} {
		table := tc.colors
		if table == nil {
			table = palette
		}
		for k := 1; k <= len(table)+1; k++ {
			c := slices.Clone(table[(k-1)%len(table)])
			if tc.depth == 1 && tc.colors == nil {
				c[0] = 1
			}
			want := make([]float32, tc.size*tc.size*tc.depth)
			fillBorder(want, tc.size, tc.size, tc.depth, c)
			var bv []float32
			for range k {
				bv = append(bv, 0, 0, 1, 1)
			}
			img := classify.FromFloat32(make([]float32, tc.size*tc.size*tc.depth), 1, tc.size, tc.size, tc.depth)
			if tc.dt == classify.Float16 {
				img = f32ToF16(img)
			}
			op, in := "DrawBoundingBoxes", []*classify.Tensor{img, boxesOf(1, bv...)}
			if tc.colors != nil {
				var cv []float32
				for _, r := range tc.colors {
					cv = append(cv, r...)
				}
				op, in = "DrawBoundingBoxesV2", append(in, classify.FromFloat32(cv, len(tc.colors), 4))
			}
			out := mustRunAttr(t, op, graphdef.Attrs{"T": tc.dt}, in...)[0]
			if out.DType != tc.dt || !out.Shape.Equal(img.Shape) {
				t.Fatalf("%s: %v %v", tc.name, out.DType, out.Shape)
			}
			if got := f16ToF32s(out); !slices.Equal(got, want) {
				t.Errorf("%s, %d boxes: %v, want %v", tc.name, k, got, want)
			}
		}
	}
	// V2 with an empty colour table uses the default palette.
	img := classify.FromFloat32(make([]float32, 27), 1, 3, 3, 3)
	out := mustRunAttr(t, "DrawBoundingBoxesV2", graphdef.Attrs{"T": classify.Float32}, img, boxesOf(1, 0, 0, 1, 1, 0, 0, 1, 1), classify.FromFloat32(nil, 0, 4))[0]
	want := make([]float32, 27)
	fillBorder(want, 3, 3, 3, palette[1])
	if !slices.Equal(out.Float32s(), want) {
		t.Errorf("empty colors: %v", out.Float32s())
	}
	if img.Float32s()[0] != 0 {
		t.Error("the input image was changed")
	}
}

func f32ToF16(x *classify.Tensor) *classify.Tensor {
	v := x.Float32s()
	h := make([]classify.F16, len(v))
	for i, f := range v {
		h[i] = classify.F16FromFloat32(f)
	}
	return &classify.Tensor{DType: classify.Float16, Shape: x.Shape.Clone(), Data: h}
}

func f16ToF32s(x *classify.Tensor) []float32 {
	h, ok := x.Data.([]classify.F16)
	if !ok {
		return x.Float32s()
	}
	v := make([]float32, len(h))
	for i, b := range h {
		v[i] = b.Float32()
	}
	return v
}

// Clipping and skipping worked by hand from the kernel: corners scale by
// height-1 / width-1 and truncate toward zero.
func TestDrawBoundingBoxesClip(t *testing.T) {
	draw := func(h, w int, bv ...float32) []float32 {
		img := classify.FromFloat32(make([]float32, h*w), 1, h, w, 1)
		return mustRunAttr(t, "DrawBoundingBoxesV2", graphdef.Attrs{"T": classify.Float32}, img, boxesOf(1, bv...), classify.FromFloat32([]float32{7}, 1, 1))[0].Float32s()
	}
	grid := func(w int, rows ...string) []float32 {
		var v []float32
		for _, r := range rows {
			for _, c := range r {
				v = append(v, map[rune]float32{'.': 0, '#': 7}[c])
			}
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		h, w  int
		boxes []float32
		want  []string
	}{
		// rows 0.25*4 = 1 to 0.75*4 = 3; cols 0.2*4 = 0.8 -> 0 to 0.6*4 = 2.4 -> 2.
		{"inside", 5, 5, []float32{0.25, 0.2, 0.75, 0.6}, []string{".....", "###..", "#.#..", "###..", "....."}},
		// rows -2..2, cols 2..6: no top or right edge, the rest clipped.
		{"clipped", 5, 5, []float32{-0.5, 0.5, 0.5, 1.5}, []string{"..#..", "..#..", "..###", ".....", "....."}},
		// -0.1*4 = -0.4 truncates to 0: the top edge is drawn.
		{"truncates toward zero", 5, 5, []float32{-0.1, 0, 0.25, 0.25}, []string{"##...", "##...", ".....", ".....", "....."}},
		{"outside", 5, 5, []float32{1.5, 0, 2, 1}, []string{".....", ".....", ".....", ".....", "....."}},
		{"inverted", 5, 5, []float32{0.75, 0, 0.25, 1}, []string{".....", ".....", ".....", ".....", "....."}},
		// NaN converts to MinInt64 as on x86-64: ymin is far above the
		// image, so all but the top edge is drawn.
		{"nan", 5, 5, []float32{float32(math.NaN()), 0, 1, 1}, []string{"#...#", "#...#", "#...#", "#...#", "#####"}},
		{"inf", 5, 5, []float32{0, 0, float32(math.Inf(1)), 1}, []string{".....", ".....", ".....", ".....", "....."}},
		{"point", 3, 3, []float32{0.5, 0.5, 0.5, 0.5}, []string{"...", ".#.", "..."}},
		{"one row image", 1, 3, []float32{0, 0, 1, 1}, []string{"###"}},
		{"empty image", 0, 3, []float32{0, 0, 1, 1}, nil},
	} {
		if got := draw(tc.h, tc.w, tc.boxes...); !slices.Equal(got, grid(tc.w, tc.want...)) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Two images, each with its own boxes; no boxes at all.
	img := classify.FromFloat32(make([]float32, 2*3*3), 2, 3, 3, 1)
	out := mustRunAttr(t, "DrawBoundingBoxes", graphdef.Attrs{"T": classify.Float32}, img, boxesOf(2, 0, 0, 0, 0, 1, 1, 1, 1))[0].Float32s()
	if !slices.Equal(out, []float32{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}) {
		t.Errorf("batch: %v", out)
	}
	out = mustRunAttr(t, "DrawBoundingBoxes", graphdef.Attrs{"T": classify.Float32}, img, classify.FromFloat32(nil, 2, 0, 4))[0].Float32s()
	if !slices.Equal(out, make([]float32, 18)) {
		t.Errorf("no boxes: %v", out)
	}
}

func TestDrawBoundingBoxesErrors(t *testing.T) {
	f32 := graphdef.Attrs{"T": classify.Float32}
	img := classify.FromFloat32(make([]float32, 12), 1, 2, 2, 3)
	box := boxesOf(1, 0, 0, 1, 1)
	for _, tc := range []struct {
		op  string
		in  []*classify.Tensor
		msg string
	}{
		{"DrawBoundingBoxes", []*classify.Tensor{classify.FromFloat32(make([]float32, 12), 2, 2, 3), box}, "rank of the images"},
		{"DrawBoundingBoxes", []*classify.Tensor{img, classify.FromFloat32([]float32{0, 0, 1, 1}, 1, 4)}, "rank of the boxes"},
		{"DrawBoundingBoxes", []*classify.Tensor{img, boxesOf(2, 0, 0, 1, 1, 0, 0, 1, 1)}, "batch sizes"},
		{"DrawBoundingBoxes", []*classify.Tensor{classify.FromFloat32(make([]float32, 8), 1, 2, 2, 2), box}, "Channel depth"},
		{"DrawBoundingBoxes", []*classify.Tensor{img, classify.FromFloat32(make([]float32, 3), 1, 1, 3)}, "third dimension"},
		{"DrawBoundingBoxes", []*classify.Tensor{saI32(make([]int32, 12), 1, 2, 2, 3), box}, "float32 or half"},
		{"DrawBoundingBoxesV2", []*classify.Tensor{img, box, classify.FromFloat32([]float32{1, 1, 1}, 3)}, "2-D"},
		{"DrawBoundingBoxesV2", []*classify.Tensor{img, box, classify.FromFloat32([]float32{1, 1}, 1, 2)}, "equal or more channels"},
	} {
		_, err := runAttrOp(t, tc.op, f32, tc.in...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s (%q): err = %v", tc.op, tc.msg, err)
		}
	}
	if _, err := runAttrOp(t, "DrawBoundingBoxes", graphdef.Attrs{"T": classify.Float64}, img, box); err == nil {
		t.Error("T float64: no error")
	}
	if _, err := runAttrOp(t, "DrawBoundingBoxesV2", f32, img, box); err == nil {
		t.Error("V2 without colors: no error")
	}
}

// FuzzDrawBoundingBoxes draws arbitrary boxes (NaN, infinities, huge
// corners) on small images: errors allowed, never a panic.
func FuzzDrawBoundingBoxes(f *testing.F) {
	f.Add(uint8(5), uint8(4), uint8(3), float32(-0.5), float32(0.2), float32(2), float32(0.9))
	f.Add(uint8(0), uint8(1), uint8(1), float32(math.NaN()), float32(math.Inf(-1)), float32(1e30), float32(-1e30))
	f.Fuzz(func(t *testing.T, h, w, d uint8, y0, x0, y1, x1 float32) {
		hh, ww, dd := int(h%9), int(w%9), int(d%5)
		img := classify.FromFloat32(make([]float32, hh*ww*dd), 1, hh, ww, dd)
		out, err := runAttrOp(t, "DrawBoundingBoxesV2", graphdef.Attrs{"T": classify.Float32}, img, boxesOf(1, y0, x0, y1, x1, x1, y1, x0, y0), classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4))
		if err != nil {
			return
		}
		if err := out[0].Validate(); err != nil || !out[0].Shape.Equal(img.Shape) {
			t.Fatalf("output %v: %v", out[0].Shape, err)
		}
	})
}
