package ops

import (
	"fmt"
	"math"
	"strings"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func f32s(shape classify.Shape, v ...float32) *classify.Tensor {
	return &classify.Tensor{DType: classify.Float32, Shape: shape, Data: v}
}

// runTransform runs one ImageProjectiveTransform node on fed inputs and
// records it as reference-checked (every caller compares all of its output).
func runTransform(t *testing.T, op string, attrs graphdef.Attrs, in ...*classify.Tensor) (*classify.Tensor, error) {
	t.Helper()
	g := graphdef.New()
	feeds := map[string]*classify.Tensor{}
	var ins []graphdef.Output
	for i, x := range in {
		name := fmt.Sprintf("x%d", i)
		ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
		feeds[name] = x
	}
	out := g.Op(op, "out", ins, attrs)
	got, err := interpretChecked(t, g, feeds, []graphdef.Output{out})
	if err != nil {
		return nil, err
	}
	return got[0], nil
}

// TestProjectiveTransformReference checks the fill modes, interpolations and
// the degenerate projection against values worked out by hand from
// TensorFlow's kernel (image_ops.h): a 1x4 row [10 20 30 40] read at x-3 ..
// x+4. WRAP keeps TensorFlow's arithmetic (which maps -3 past the end, then
// clamps), not an ideal modulo.
func TestProjectiveTransformReference(t *testing.T) {
	row := []float32{10, 20, 30, 40}
	shift := func(dx float32) *classify.Tensor { return f32s(classify.Shape{1, 8}, 1, 0, dx, 0, 1, 0, 0, 0) }
	size := func(h, w int32) *classify.Tensor { return saI32([]int32{h, w}, 2) }
	for _, c := range []struct {
		name, op, interp, mode string
		dtype                  classify.DType
		tr                     *classify.Tensor
		w                      int32
		fill                   float32
		want                   []float32
	}{
		{"reflect", "ImageProjectiveTransformV3", "NEAREST", "REFLECT", classify.Float32, shift(-3), 8, 0, []float32{30, 20, 10, 10, 20, 30, 40, 40}},
		{"wrap", "ImageProjectiveTransformV3", "NEAREST", "WRAP", classify.Float32, shift(-3), 8, 0, []float32{40, 30, 40, 10, 20, 30, 40, 10}},
		{"nearest", "ImageProjectiveTransformV3", "NEAREST", "NEAREST", classify.Uint8, shift(-3), 8, 0, []float32{10, 10, 10, 10, 20, 30, 40, 40}},
		{"constant fill 5", "ImageProjectiveTransformV3", "NEAREST", "CONSTANT", classify.Int32, shift(-3), 8, 5, []float32{5, 5, 5, 10, 20, 30, 40, 5}},
		{"v2 constant", "ImageProjectiveTransformV2", "NEAREST", "CONSTANT", classify.Float32, shift(-3), 8, 0, []float32{0, 0, 0, 10, 20, 30, 40, 0}},
		{"bilinear", "ImageProjectiveTransformV3", "BILINEAR", "CONSTANT", classify.Float32, shift(0.25), 4, 0, []float32{12.5, 22.5, 32.5, 30}},
		{"bilinear uint8 truncates", "ImageProjectiveTransformV2", "BILINEAR", "CONSTANT", classify.Uint8, shift(0.25), 4, 0, []float32{12, 22, 32, 30}},
		// k = 1 - x/2: x=1 reads 1/0.5 = 2, x=2 divides by zero (fill),
		// x=3 reads -6 (outside).
		{"projection zero", "ImageProjectiveTransformV3", "NEAREST", "CONSTANT", classify.Float32,
			f32s(classify.Shape{1, 8}, 1, 0, 0, 0, 1, 0, -0.5, 0), 4, 7, []float32{10, 30, 7, 7}},
		// x=1 reads 0.5: nearest rounds half away from zero, to 1.
		{"nearest tie", "ImageProjectiveTransformV3", "NEAREST", "CONSTANT", classify.Float32,
			f32s(classify.Shape{1, 8}, 0.5, 0, 0, 0, 1, 0, 0, 0), 4, 0, []float32{10, 20, 20, 30}},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := classify.NewTensor(c.dtype, 1, 1, 4, 1)
			_, write, _ := elemAccess(img)
			for i, v := range row {
				write(img, i, v)
			}
			in := []*classify.Tensor{img, c.tr, size(1, c.w)}
			if strings.HasSuffix(c.op, "V3") {
				in = append(in, f32s(classify.Shape{}, c.fill))
			}
			got, err := runTransform(t, c.op, graphdef.Attrs{"dtype": c.dtype, "interpolation": c.interp, "fill_mode": c.mode}, in...)
			if err != nil {
				t.Fatal(err)
			}
			if got.DType != c.dtype || !got.Shape.Equal(classify.Shape{1, 1, int(c.w), 1}) {
				t.Fatalf("got %v %v", got.DType, got.Shape)
			}
			read, _, _ := elemAccess(got)
			for i, w := range c.want {
				if g := read(i); g != w {
					t.Errorf("x=%d: %v, want %v (all %v)", i, g, w, got.Data)
				}
			}
		})
	}
}

// TestProjectiveTransformGolden checks rotations and a projective warp with
// every fill mode and interpolation against TensorFlow.js
// (tf.image.transform implements ImageProjectiveTransformV3). Angles avoid
// nearest-rounding ties. The oracle fills every image after the first with
// fill_value (a TensorFlow.js bug), so its cases hold one image each and
// TestProjectiveTransformBatch checks per-image transforms.
func TestProjectiveTransformGolden(t *testing.T) {
	img := randF32(1401, -1, 1, 1, 7, 9, 3)
	warp := f32s(classify.Shape{1, 8}, 0.83, 0.11, 1.3, -0.07, 1.21, -0.6, 0.013, -0.021)
	rot := f32s(classify.Shape{1, 8}, rotation(-0.61, 4.2, 2.9)...)
	var cases []goldenCase
	for _, interp := range []string{"NEAREST", "BILINEAR"} {
		for _, mode := range []string{"REFLECT", "WRAP", "CONSTANT", "NEAREST"} {
			at := graphdef.Attrs{"dtype": classify.Float32, "interpolation": interp, "fill_mode": mode}
			name := "projective_" + strings.ToLower(interp+"_"+mode)
			cases = append(cases,
				saCase(name, "ImageProjectiveTransformV3", at, 1,
					saFeed(img), saFeed(warp), saConst(saI32([]int32{8, 10}, 2)), saConst(f32s(classify.Shape{}, -0.5))),
				saCase(name+"_rotate", "ImageProjectiveTransformV3", at, 1,
					saFeed(img), saFeed(rot), saConst(saI32([]int32{6, 5}, 2)), saConst(f32s(classify.Shape{}, 2))),
			)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// rotation is the transform rotating by a radians about (cx, cy).
func rotation(a, cx, cy float64) []float32 {
	c, s := math.Cos(a), math.Sin(a)
	return []float32{float32(c), float32(-s), float32(cx - c*cx + s*cy), float32(s), float32(c), float32(cy - s*cx - c*cy), 0, 0}
}

// TestProjectiveTransformBatch: a batch with one transform per image equals
// each image transformed alone (the oracle-checked path), and one shared
// transform row applies to every image.
func TestProjectiveTransformBatch(t *testing.T) {
	img := randF32(1403, -1, 1, 3, 5, 6, 2)
	rows := [][]float32{rotation(0.3, 2, 2), {1.1, 0.2, -0.7, 0.1, 0.9, 0.4, 0.02, -0.01}, rotation(-1.2, 3, 1)}
	var all []float32
	for _, r := range rows {
		all = append(all, r...)
	}
	at := graphdef.Attrs{"dtype": classify.Float32, "interpolation": "BILINEAR", "fill_mode": "REFLECT"}
	size := saI32([]int32{4, 7}, 2)
	fill := f32s(classify.Shape{}, 0.25)
	got, err := runTransform(t, "ImageProjectiveTransformV3", at, img, f32s(classify.Shape{3, 8}, all...), size, fill)
	if err != nil {
		t.Fatal(err)
	}
	shared, err := runTransform(t, "ImageProjectiveTransformV3", at, img, f32s(classify.Shape{1, 8}, rows[1]...), size, fill)
	if err != nil {
		t.Fatal(err)
	}
	per := 5 * 6 * 2
	outPer := 4 * 7 * 2
	for b := range 3 {
		one := f32s(classify.Shape{1, 5, 6, 2}, img.Float32s()[b*per:(b+1)*per]...)
		for _, c := range []struct {
			row  []float32
			want []float32
		}{{rows[b], got.Float32s()}, {rows[1], shared.Float32s()}} {
			w, err := runTransform(t, "ImageProjectiveTransformV3", at, one, f32s(classify.Shape{1, 8}, c.row...), size, fill)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range w.Float32s() {
				if g := c.want[b*outPer+i]; g != v {
					t.Fatalf("image %d element %d: batch gives %v, alone %v", b, i, g, v)
				}
			}
		}
	}
}

func TestProjectiveTransformErrors(t *testing.T) {
	img := randF32(1402, 0, 1, 1, 3, 3, 1)
	tr := f32s(classify.Shape{1, 8}, 1, 0, 0, 0, 1, 0, 0, 0)
	at := graphdef.Attrs{"dtype": classify.Float32, "interpolation": "BILINEAR", "fill_mode": "CONSTANT"}
	for _, c := range []struct {
		name string
		at   graphdef.Attrs
		in   []*classify.Tensor
		want string
	}{
		{"3-D images", at, []*classify.Tensor{randF32(1, 0, 1, 3, 3, 1), tr, saI32([]int32{2, 2}, 2)}, "4-D"},
		{"transforms of 6", at, []*classify.Tensor{img, f32s(classify.Shape{1, 6}, 1, 0, 0, 0, 1, 0), saI32([]int32{2, 2}, 2)}, "transforms"},
		{"negative size", at, []*classify.Tensor{img, tr, saI32([]int32{-2, 2}, 2)}, "output_shape"},
		{"huge size", at, []*classify.Tensor{img, tr, saI32([]int32{1 << 20, 1 << 20}, 2)}, "exceeds"},
		{"bad interpolation", graphdef.Attrs{"dtype": classify.Float32, "interpolation": "BICUBIC"}, []*classify.Tensor{img, tr, saI32([]int32{2, 2}, 2)}, "interpolation"},
		{"bad fill mode", graphdef.Attrs{"dtype": classify.Float32, "interpolation": "NEAREST", "fill_mode": "MIRROR"}, []*classify.Tensor{img, tr, saI32([]int32{2, 2}, 2)}, "fill_mode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := graphdef.New()
			var ins []graphdef.Output
			feeds := map[string]*classify.Tensor{}
			for i, x := range c.in {
				name := fmt.Sprintf("x%d", i)
				ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
				feeds[name] = x
			}
			out := g.Op("ImageProjectiveTransformV2", "out", ins, c.at)
			_, err := interpretRec(g, feeds, []graphdef.Output{out}, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"out"`) {
				t.Errorf("err %v, want one naming the node and %q", err, c.want)
			}
		})
	}
}

// FuzzProjectiveTransform: any fed transform (NaN, infinities, huge or
// degenerate values) and output size gives an output or an error, never a
// panic or an out-of-range read.
func FuzzProjectiveTransform(f *testing.F) {
	f.Add(float32(1), float32(0), float32(-3), float32(0), float32(1), float32(0), float32(0), float32(0), uint8(0), uint8(5), uint8(6))
	f.Add(float32(1e30), float32(-1e30), float32(float32(math.Inf(1))), float32(math.NaN()), float32(1), float32(0), float32(-0.5), float32(3), uint8(7), uint8(1), uint8(1))
	img := randF32(1404, -1, 1, 1, 3, 4, 2)
	f.Fuzz(func(t *testing.T, a0, a1, a2, b0, b1, b2, c0, c1 float32, mode, h, w uint8) {
		modes := []string{"REFLECT", "WRAP", "CONSTANT", "NEAREST"}
		interp := []string{"NEAREST", "BILINEAR"}[mode>>2&1]
		o, err := buildProjective(true)(&Node{Name: "fuzz", Op: "ImageProjectiveTransformV3", NumInputs: 4, Attr: map[string]*apb.AttrValue{
			"dtype": graphdef.Attr(classify.Float32), "interpolation": graphdef.Attr(interp), "fill_mode": graphdef.Attr(modes[mode&3])}}, make([]*classify.Tensor, 4))
		if err != nil {
			t.Fatal(err)
		}
		tr := f32s(classify.Shape{1, 8}, a0, a1, a2, b0, b1, b2, c0, c1)
		out, err := o.Run(nil, []*classify.Tensor{img, tr, saI32([]int32{int32(h%17) + 1, int32(w%17) + 1}, 2), f32s(classify.Shape{}, 0.5)})
		if err != nil {
			t.Fatal(err)
		}
		if !out[0].Shape.Equal(classify.Shape{1, int(h%17) + 1, int(w%17) + 1, 2}) {
			t.Fatalf("shape %v", out[0].Shape)
		}
	})
}
