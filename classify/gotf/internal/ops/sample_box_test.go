package ops

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// No TensorFlow test states seeded outputs of these ops, so the tests check
// the kernel's invariants, a draw order worked by hand from
// sample_distorted_bounding_box_op.cc, determinism and the fallback.

func sbSize(h, w int32) *classify.Tensor { return saI32([]int32{h, w, 3}, 3) }

func sbBoxes(v ...float32) *classify.Tensor { return classify.FromFloat32(v, 1, len(v)/4, 4) }

func sbAttrs(kv ...any) graphdef.Attrs {
	a := graphdef.Attrs{"T": classify.Int32}
	for i := 0; i < len(kv); i += 2 {
		a[kv[i].(string)] = kv[i+1]
	}
	return a
}

func sbStateless(t *testing.T, a graphdef.Attrs, size, boxes *classify.Tensor, minCov float32, s0, s1 int64) []*classify.Tensor {
	t.Helper()
	return mustRunAttr(t, "StatelessSampleDistortedBoundingBox", a, size, boxes, scalarOf(classify.FromFloat32([]float32{minCov}, 1)), i64s(s0, s1))
}

// sbCheck checks the outputs agree with each other and lie in the image.
func sbCheck(t *testing.T, out []*classify.Tensor, h, w int) (y, x, ch, cw int) {
	t.Helper()
	b, _ := arrInts(out[0])
	s, _ := arrInts(out[1])
	if len(b) != 3 || len(s) != 3 || b[2] != 0 || s[2] != -1 {
		t.Fatalf("begin %v size %v", b, s)
	}
	y, x, ch, cw = b[0], b[1], s[0], s[1]
	if y < 0 || x < 0 || ch <= 0 || cw <= 0 || y+ch > h || x+cw > w {
		t.Fatalf("crop %d,%d %dx%d outside %dx%d", y, x, ch, cw, h, w)
	}
	want := []float32{float32(y) / float32(h), float32(x) / float32(w), float32(y+ch) / float32(h), float32(x+cw) / float32(w)}
	if got := out[2].Float32s(); !slices.Equal(got, want) || !out[2].Shape.Equal(classify.Shape{1, 1, 4}) {
		t.Fatalf("bboxes %v %v, want %v", out[2].Shape, got, want)
	}
	return
}

func TestSampleDistortedBoundingBoxInvariants(t *testing.T) {
	const h, w = 100, 80
	a := sbAttrs("area_range", []float32{0.1, 0.5}, "aspect_ratio_range", []float32{0.5, 2}, "max_attempts", 20)
	box := sbBoxes(0.2, 0.25, 0.6, 0.75) // rows 20..60, cols 20..60
	results := map[[4]int]bool{}
	fallbacks := 0
	for s := range int64(300) {
		out := sbStateless(t, a, sbSize(h, w), box, 0.3, s, 7)
		y, x, ch, cw := sbCheck(t, out, h, w)
		results[[4]int{y, x, ch, cw}] = true
		if y == 0 && x == 0 && ch == h && cw == w {
			fallbacks++
			continue
		}
		area := float32(ch * cw)
		if area < 0.1*w*h || area > float32(0.5)*w*h {
			t.Errorf("seed %d: area %v outside [%v, %v]", s, area, 0.1*w*h, 0.5*w*h)
		}
		// width = round(height * aspect), aspect in [0.5, 2].
		if r := float64(cw) / float64(ch); r < 0.5-0.5/float64(ch) || r > 2+0.5/float64(ch) {
			t.Errorf("seed %d: aspect %v", s, r)
		}
		iy := max(0, min(y+ch, 60)-max(y, 20))
		ix := max(0, min(x+cw, 60)-max(x, 20))
		if float64(iy*ix)/1600 < 0.3 {
			t.Errorf("seed %d: covers %v of the box", s, float64(iy*ix)/1600)
		}
		if again := sbStateless(t, a, sbSize(h, w), box, 0.3, s, 7); !slices.Equal(again[2].Float32s(), out[2].Float32s()) {
			t.Errorf("seed %d: not deterministic", s)
		}
	}
	if len(results) < 100 || fallbacks > 30 {
		t.Errorf("%d distinct crops, %d fallbacks of 300", len(results), fallbacks)
	}
}

// The draw order, worked by hand: aspect_ratio_range [1, 1] and
// area_range [0.01, 1] on 10x10 make height = 1 + Uniform(10) after the
// aspect draw, then y = Uniform(10-height) and x = Uniform(10-width) when
// the crop is smaller than the image; min_object_covered 0 accepts the
// first attempt.
func TestSampleDistortedBoundingBoxDrawOrder(t *testing.T) {
	a := sbAttrs("area_range", []float32{0.01, 1}, "aspect_ratio_range", []float32{1, 1}, "use_image_if_no_bounding_boxes", true)
	for s := range int64(50) {
		g := seedPhilox(uint64(s), 3)
		wv := g.next()
		hgt := 1 + int(wv[1]%10)
		y, x := 0, 0
		if hgt < 10 {
			y, x = int(wv[2]%uint32(10-hgt)), int(wv[3]%uint32(10-hgt))
		}
		out := sbStateless(t, a, sbSize(10, 10), sbBoxes(), 0, s, 3)
		gy, gx, gh, gw := sbCheck(t, out, 10, 10)
		if gy != y || gx != x || gh != hgt || gw != hgt {
			t.Errorf("seed %d: crop %d,%d %dx%d, want %d,%d %dx%d", s, gy, gx, gh, gw, y, x, hgt, hgt)
		}
	}
	// area_range [1, 1], aspect [1, 1]: always the whole square image.
	a = sbAttrs("area_range", []float32{1, 1}, "aspect_ratio_range", []float32{1, 1})
	out := sbStateless(t, a, sbSize(6, 6), sbBoxes(0, 0, 0.5, 0.5), 0.1, 1, 2)
	if y, x, ch, cw := sbCheck(t, out, 6, 6); y != 0 || x != 0 || ch != 6 || cw != 6 {
		t.Errorf("whole image: %d,%d %dx%d", y, x, ch, cw)
	}
}

func TestSampleDistortedBoundingBoxFallbackAndSeeds(t *testing.T) {
	// min_object_covered above 1 is never met: after max_attempts, the
	// whole image.
	a := sbAttrs("max_attempts", 5, "seed", 3, "seed2", 4)
	for _, out := range [][]*classify.Tensor{
		sbStateless(t, sbAttrs(), sbSize(30, 40), sbBoxes(0.1, 0.1, 0.9, 0.9), 1.5, 1, 1),
		mustRunAttr(t, "SampleDistortedBoundingBoxV2", a, sbSize(30, 40), sbBoxes(0.1, 0.1, 0.9, 0.9), scalarOf(classify.FromFloat32([]float32{1.5}, 1))),
		mustRunAttr(t, "SampleDistortedBoundingBox", sbAttrs("min_object_covered", float32(1.5)), sbSize(30, 40), sbBoxes(0.1, 0.1, 0.9, 0.9)),
	} {
		if y, x, ch, cw := sbCheck(t, out, 30, 40); y != 0 || x != 0 || ch != 30 || cw != 40 {
			t.Errorf("fallback: %d,%d %dx%d", y, x, ch, cw)
		}
	}
	// Seeded stateful nodes: two nodes with the same seeds agree run for
	// run; V1's attribute and V2's input give the same crops; a node's
	// runs advance its generator.
	run := func(op string, a graphdef.Attrs, runs int) [][]float32 {
		b, _ := Lookup(op)
		in := []*classify.Tensor{sbSize(200, 300), sbBoxes(0.3, 0.3, 0.5, 0.6)}
		if op == "SampleDistortedBoundingBoxV2" {
			in = append(in, scalarOf(classify.FromFloat32([]float32{0.1}, 1)))
		}
		n := &Node{Name: "n", Op: op, NumInputs: len(in), Attr: attrs(a)}
		k, err := b(n, in)
		if err != nil {
			t.Fatal(err)
		}
		var res [][]float32
		for range runs {
			out, err := k.Run(&Ctx{}, in)
			if err != nil {
				t.Fatal(err)
			}
			sbCheck(t, out, 200, 300)
			recordCoverage(t, "reference", []ranNode{{op: op, in: in, out: out}})
			res = append(res, out[2].Float32s())
		}
		return res
	}
	seeded := sbAttrs("seed", 11, "seed2", 5, "min_object_covered", float32(0.1))
	r1, r2 := run("SampleDistortedBoundingBox", seeded, 6), run("SampleDistortedBoundingBox", seeded, 6)
	r3 := run("SampleDistortedBoundingBoxV2", sbAttrs("seed", 11, "seed2", 5), 6)
	distinct := map[[4]float32]bool{}
	for i := range r1 {
		if !slices.Equal(r1[i], r2[i]) || !slices.Equal(r1[i], r3[i]) {
			t.Errorf("run %d: %v, %v, %v", i, r1[i], r2[i], r3[i])
		}
		distinct[[4]float32(r1[i])] = true
	}
	if len(distinct) < 4 {
		t.Errorf("runs do not advance the generator: %v", r1)
	}
	// Unsigned image_size: size[2] is T(-1).
	out := mustRunAttr(t, "StatelessSampleDistortedBoundingBox", graphdef.Attrs{"T": classify.Uint8}, &classify.Tensor{DType: classify.Uint8, Shape: classify.Shape{3}, Data: []uint8{20, 20, 3}}, sbBoxes(0, 0, 1, 1), scalarOf(classify.FromFloat32([]float32{0.5}, 1)), i64s(1, 2))
	if s := out[1].Data.([]uint8); s[2] != 255 || s[0] == 0 || out[1].DType != classify.Uint8 {
		t.Errorf("uint8 size %v", s)
	}
	// A zero-sized image falls back to the empty whole image.
	out = sbStateless(t, sbAttrs(), sbSize(0, 5), sbBoxes(0, 0, 1, 1), 0.1, 1, 2)
	if s, _ := arrInts(out[1]); !slices.Equal(s, []int{0, 5, -1}) || !math.IsNaN(float64(out[2].Float32s()[0])) {
		t.Errorf("empty image: size %v bboxes %v", s, out[2].Float32s())
	}
}

func TestSampleDistortedBoundingBoxErrors(t *testing.T) {
	mc := scalarOf(classify.FromFloat32([]float32{0.1}, 1))
	seed := i64s(1, 2)
	box := sbBoxes(0, 0, 1, 1)
	st := "StatelessSampleDistortedBoundingBox"
	for _, tc := range []struct {
		op  string
		a   graphdef.Attrs
		in  []*classify.Tensor
		msg string
	}{
		{st, sbAttrs(), []*classify.Tensor{saI32([]int32{1, 2}, 2), box, mc, seed}, "3 elements"},
		{st, sbAttrs(), []*classify.Tensor{saI32([]int32{1, 2, 3}, 1, 3), box, mc, seed}, "1-dimensional"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(-1, 4), box, mc, seed}, "height cannot be"},
		{st, graphdef.Attrs{"T": classify.Int64}, []*classify.Tensor{i64s(4, math.MaxInt32, 3), box, mc, seed}, "width cannot be"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(4, 4), classify.FromFloat32([]float32{0, 0, 1, 1}, 1, 4), mc, seed}, "3-dimensional"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(4, 4), classify.FromFloat32([]float32{0, 0, 1}, 1, 1, 3), mc, seed}, "shape [4]"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(4, 4), sbBoxes(0, 0, 1.5, 1), mc, seed}, "[0.0, 1.0]"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(4, 4), sbBoxes(0, 0, float32(math.NaN()), 1), mc, seed}, "[0.0, 1.0]"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(4, 4), sbBoxes(), mc, seed}, "No bounding boxes"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(4, 4), box, classify.FromFloat32([]float32{0.1}, 1), seed}, "0-D"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(4, 4), box, scalarOf(classify.FromFloat32([]float32{-0.1}, 1)), seed}, "non-negative"},
		{st, sbAttrs(), []*classify.Tensor{sbSize(4, 4), box, mc, i64s(1, 2, 3)}, "seed must have shape [2]"},
		{st, sbAttrs(), []*classify.Tensor{classify.FromFloat32([]float32{4, 4, 3}, 3), box, mc, seed}, "integer"},
		{st, sbAttrs("area_range", []float32{0.5, 1.5}), []*classify.Tensor{sbSize(4, 4), box, mc, seed}, "less then or equal to 1.0"},
		{st, sbAttrs("area_range", []float32{0, 1}), []*classify.Tensor{sbSize(4, 4), box, mc, seed}, "Area range must be non-negative"},
		{st, sbAttrs("aspect_ratio_range", []float32{-1, 1}), []*classify.Tensor{sbSize(4, 4), box, mc, seed}, "Aspect ratio range must be"},
		{st, sbAttrs("aspect_ratio_range", []float32{1}), []*classify.Tensor{sbSize(4, 4), box, mc, seed}, "2 dimensions"},
		{st, sbAttrs("max_attempts", 0), []*classify.Tensor{sbSize(4, 4), box, mc, seed}, "Max attempts"},
		{st, sbAttrs("max_attempts", 1<<21), []*classify.Tensor{sbSize(4, 4), box, mc, seed}, "more than"},
		{"SampleDistortedBoundingBox", sbAttrs("min_object_covered", float32(-1)), []*classify.Tensor{sbSize(4, 4), box}, "non-negative"},
		{"SampleDistortedBoundingBox", sbAttrs(), []*classify.Tensor{sbSize(4, 4), box, mc}, "want 2 inputs"},
		{st, graphdef.Attrs{"T": classify.Float32}, []*classify.Tensor{sbSize(4, 4), box, mc, seed}, "not an integer"},
	} {
		_, err := runAttrOp(t, tc.op, tc.a, tc.in...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s (%q): err = %v", tc.op, tc.msg, err)
		}
	}
	// Attempts times boxes is bounded before the loop.
	many := classify.FromFloat32(make([]float32, 4*(1<<9)), 1, 1<<9, 4)
	if _, err := runAttrOp(t, st, sbAttrs("max_attempts", 1<<20), sbSize(4, 4), many, mc, seed); err == nil || !strings.Contains(err.Error(), "checks") {
		t.Errorf("work bound: %v", err)
	}
}

// FuzzSampleDistortedBoundingBox: arbitrary sizes, boxes and ranges;
// errors allowed, never a panic, and a result always inside the image.
func FuzzSampleDistortedBoundingBox(f *testing.F) {
	f.Add(int32(100), int32(80), float32(0.2), float32(0.7), float32(0.05), float32(1), float32(0.5), float32(2), float32(0.1), int64(1))
	f.Add(int32(1), int32(1<<30), float32(0), float32(1), float32(1e-9), float32(1e-9), float32(1e-30), float32(1e30), float32(0), int64(2))
	f.Fuzz(func(t *testing.T, h, w int32, b0, b1, a0, a1, r0, r1, mc float32, s int64) {
		a := sbAttrs("area_range", []float32{a0, a1}, "aspect_ratio_range", []float32{r0, r1}, "max_attempts", 8)
		out, err := runAttrOp(t, "StatelessSampleDistortedBoundingBox", a, sbSize(h, w), sbBoxes(b0, b0, b1, b1), scalarOf(classify.FromFloat32([]float32{mc}, 1)), i64s(s, 1))
		if err != nil {
			return
		}
		b, _ := arrInts(out[0])
		sz, _ := arrInts(out[1])
		if b[0] < 0 || b[1] < 0 || sz[0] < 0 || sz[1] < 0 || b[0]+sz[0] > int(h) || b[1]+sz[1] > int(w) {
			t.Fatalf("crop %v %v outside %dx%d", b, sz, h, w)
		}
	})
}
