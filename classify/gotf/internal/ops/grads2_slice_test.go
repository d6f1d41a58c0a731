package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// g2Fwd runs a forward kernel outside any graph whose values only feed a
// reference: it is not recorded as checked.
func g2Fwd(t *testing.T, op string, attrs graphdef.Attrs, inputs ...saIn) []*classify.Tensor {
	t.Helper()
	o, in, err := saBuild(op, attrs, inputs...)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	out, err := o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 4)}, in)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

// g2Iota64 is an int64 tensor holding 0, 1, 2, ...
func g2Iota64(shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Int64, shape...)
	for i, d := 0, t.Data.([]int64); i < len(d); i++ {
		d[i] = int64(i)
	}
	return t
}

type g2SSCase struct {
	name                string
	shape               []int
	begin, end, strides []int32
	masks               graphdef.Attrs
}

var g2SSCases = []g2SSCase{
	{"basic", []int{4, 5}, []int32{1, 0}, []int32{3, 5}, []int32{1, 2}, nil},
	{"negative_strides", []int{6, 4}, []int32{-1, 3}, []int32{0, 0}, []int32{-2, -1}, nil},
	{"masks", []int{3, 4, 5}, []int32{1, 1, 1}, []int32{2, 3, 4}, []int32{1, 1, 2}, graphdef.Attrs{"begin_mask": 5, "end_mask": 2}},
	{"shrink", []int{3, 4, 5}, []int32{1, 0, 2}, []int32{2, 4, 3}, []int32{1, 1, 1}, graphdef.Attrs{"shrink_axis_mask": 5}},
	{"ellipsis_newaxis", []int{2, 3, 4, 5}, []int32{0, 0, 1}, []int32{0, 0, 5}, []int32{1, 1, 2}, graphdef.Attrs{"ellipsis_mask": 1, "new_axis_mask": 2}},
	{"empty_slice", []int{4, 3}, []int32{3, 0}, []int32{1, 3}, []int32{1, 1}, nil},
	{"empty_input", []int{0, 3}, []int32{0, 0}, []int32{2, 3}, []int32{1, 1}, nil},
	{"clamped", []int{5}, []int32{-100}, []int32{100}, []int32{3}, nil},
}

// TestStridedSliceGrad checks StridedSliceGrad against the definition
// built from the forward StridedSlice of an iota (each dy element goes to
// the input index StridedSlice read it from, every other element is 0),
// for float32, float64, int32, float16 and strings, with fed and constant
// arguments, and the adjoint <StridedSlice(x), dy> = <x, grad(dy)>.
func TestStridedSliceGrad(t *testing.T) {
	for i, c := range g2SSCases {
		t.Run(c.name, func(t *testing.T) {
			at := graphdef.Attrs{}
			for k, v := range c.masks {
				at[k] = v
			}
			n := len(c.begin)
			args := []saIn{saConst(saI32(c.begin, n)), saConst(saI32(c.end, n)), saConst(saI32(c.strides, n))}
			idx := g2Fwd(t, "StridedSlice", at, append([]saIn{saFeed(g2Iota64(c.shape...))}, args...)...)[0]
			ys := []int(idx.Shape)
			dy := grRand64(uint64(40+i), -1, 1, nil, 0, ys...)
			want := make([]float64, arrProd(c.shape))
			for j, k := range idx.Data.([]int64) {
				want[k] = dy.Data.([]float64)[j]
			}
			for _, konst := range []bool{false, true} {
				in := saFeed
				if konst {
					in = saConst
				}
				fed := []saIn{in(saI32(c.begin, n)), in(saI32(c.end, n)), in(saI32(c.strides, n))}
				for _, x := range []*classify.Tensor{dy, grTo32(dy), grTo16(dy)} {
					a := graphdef.Attrs{"T": x.DType}
					for k, v := range at {
						a[k] = v
					}
					got, err := saRun(t, "StridedSliceGrad", a, append([]saIn{in(grSizes(c.shape...))}, append(fed, saFeed(x))...)...)
					if err != nil {
						t.Fatal(err)
					}
					if !got[0].Shape.Equal(classify.Shape(c.shape)) {
						t.Fatalf("shape %v, want %v", got[0].Shape, c.shape)
					}
					grClose(t, x.DType.String(), grFloats(got[0]), g2Scatter(idx, grFloats(x), len(want)), 0, 0)
				}
			}
			// int32 and string with an int64 shape and arguments.
			n64 := func(v []int32) *classify.Tensor {
				w := make([]int64, len(v))
				for k, x := range v {
					w[k] = int64(x)
				}
				return saI64(w, len(w))
			}
			shape64 := make([]int64, len(c.shape))
			for k, d := range c.shape {
				shape64[k] = int64(d)
			}
			a := graphdef.Attrs{"Index": classify.Int64}
			for k, v := range at {
				a[k] = v
			}
			iy := classify.NewTensor(classify.Int32, ys...)
			sy := classify.NewTensor(classify.String, ys...)
			for j := range iy.Int32s() {
				iy.Int32s()[j] = int32(j + 1)
				sy.Data.([][]byte)[j] = []byte{byte('a' + j%26)}
			}
			fed := []saIn{saFeed(saI64(shape64, len(shape64))), saFeed(n64(c.begin)), saFeed(n64(c.end)), saFeed(n64(c.strides))}
			got, err := saRun(t, "StridedSliceGrad", a, append(fed, saFeed(iy))...)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := saRun(t, "StridedSliceGrad", a, append(fed, saFeed(sy))...)
			if err != nil {
				t.Fatal(err)
			}
			wi := make([]int32, len(want))
			ws := make([]string, len(want))
			for j, k := range idx.Data.([]int64) {
				wi[k] = iy.Int32s()[j]
				ws[k] = string(sy.Data.([][]byte)[j])
			}
			for k := range wi {
				if got[0].Int32s()[k] != wi[k] || string(gs[0].Data.([][]byte)[k]) != ws[k] {
					t.Fatalf("int32/string [%d] = %v %q, want %v %q", k, got[0].Int32s()[k], gs[0].Data.([][]byte)[k], wi[k], ws[k])
				}
			}
			// Adjoint with the forward kernel on a random x.
			x := grRand64(uint64(60+i), -1, 1, nil, 0, c.shape...)
			y := g2Fwd(t, "StridedSlice", at, append([]saIn{saFeed(x)}, args...)...)[0]
			g, _ := saRun(t, "StridedSliceGrad", at, append([]saIn{saConst(grSizes(c.shape...))}, append(args, saFeed(dy))...)...)
			l, r := 0.0, 0.0
			for j, v := range grFloats(y) {
				l += v * dy.Data.([]float64)[j]
			}
			for j, v := range grFloats(g[0]) {
				r += v * x.Data.([]float64)[j]
			}
			if d := l - r; d > 1e-12 || d < -1e-12 {
				t.Errorf("adjoint: %v vs %v", l, r)
			}
		})
	}
}

func g2Scatter(idx *classify.Tensor, v []float64, n int) []float64 {
	out := make([]float64, n)
	for j, k := range idx.Data.([]int64) {
		out[k] = v[j]
	}
	return out
}

// TestStridedSliceGradHand is worked by hand: x[1:4:2] of a 5-vector sends
// dy to elements 1 and 3; x[-1] (shrink) sends its scalar to element 4.
func TestStridedSliceGradHand(t *testing.T) {
	got, err := saRun(t, "StridedSliceGrad", nil, saFeed(grSizes(5)), saFeed(saI32([]int32{1}, 1)), saFeed(saI32([]int32{4}, 1)),
		saFeed(saI32([]int32{2}, 1)), saFeed(classify.FromFloat32([]float32{7, 8}, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if w := []float32{0, 7, 0, 8, 0}; !grEq32(got[0].Float32s(), w) {
		t.Errorf("got %v, want %v", got[0].Float32s(), w)
	}
	got, err = saRun(t, "StridedSliceGrad", graphdef.Attrs{"shrink_axis_mask": 1}, saFeed(grSizes(5)), saFeed(saI32([]int32{-1}, 1)),
		saFeed(saI32([]int32{0}, 1)), saFeed(saI32([]int32{1}, 1)), saFeed(classify.FromFloat32([]float32{3})))
	if err != nil {
		t.Fatal(err)
	}
	if w := []float32{0, 0, 0, 0, 3}; !grEq32(got[0].Float32s(), w) {
		t.Errorf("shrink: got %v, want %v", got[0].Float32s(), w)
	}
}

func TestStridedSliceGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	v := func(x ...int32) saIn { return saFeed(saI32(x, len(x))) }
	dy := saFeed(randF32(1, -1, 1, 2))
	saCheckErrors(t, []saErrCase{
		{"dy_shape", "StridedSliceGrad", nil, []saIn{saFeed(grSizes(5)), v(0), v(3), v(1), dy}, inv, "forward output shape"},
		{"shape_rank", "StridedSliceGrad", nil, []saIn{saFeed(saI32([]int32{5}, 1, 1)), v(0), v(2), v(1), dy}, inv, "vector"},
		{"shape_negative", "StridedSliceGrad", nil, []saIn{saFeed(grSizes(-5)), v(0), v(2), v(1), dy}, inv, "negative"},
		{"shape_huge", "StridedSliceGrad", nil, []saIn{saFeed(grSizes(1<<20, 1<<20, 1<<20)), v(0), v(2), v(1), dy}, inv, "shape"},
		{"shape_huge_const", "StridedSliceGrad", nil, []saIn{saConst(grSizes(1<<20, 1<<20, 1<<20)), v(0), v(2), v(1), dy}, bad, "shape"},
		{"zero_stride", "StridedSliceGrad", nil, []saIn{saFeed(grSizes(5)), v(0), v(2), v(0), dy}, inv, "non-zero"},
		{"lengths", "StridedSliceGrad", nil, []saIn{saFeed(grSizes(5)), v(0, 0), v(2), v(1), dy}, inv, "differ in length"},
		{"float_args", "StridedSliceGrad", nil, []saIn{saFeed(grSizes(5)), saFeed(randF32(1, 0, 1, 1)), v(2), v(1), dy}, inv, "begin"},
		{"ellipses", "StridedSliceGrad", graphdef.Attrs{"ellipsis_mask": 3}, []saIn{saFeed(grSizes(5)), v(0, 0), v(2, 2), v(1, 1), dy}, bad, "more than one bit"},
		{"shrink_oob", "StridedSliceGrad", graphdef.Attrs{"shrink_axis_mask": 1}, []saIn{saFeed(grSizes(5)), v(7), v(8), v(1), saFeed(randF32(1, 0, 1))}, inv, "out of bounds"},
	})
}

// TestMirrorPadGrad checks MirrorPadGrad against the definition built from
// the forward MirrorPad of an iota (each padded element adds into the
// element it was copied from), float64 exactly and float32, float16, int32
// and int64, by hand on two 1-D cases, and the adjoint with MirrorPad.
func TestMirrorPadGrad(t *testing.T) {
	for i, c := range []struct {
		name string
		out  []int
		pads []int32
		mode string
	}{
		{"reflect_2d", []int{3, 4}, []int32{2, 1, 0, 3}, "REFLECT"},
		{"symmetric_2d", []int{3, 4}, []int32{3, 1, 2, 4}, "SYMMETRIC"},
		{"reflect_3d", []int{2, 3, 4}, []int32{1, 0, 2, 2, 1, 3}, "REFLECT"},
		{"symmetric_3d", []int{2, 3, 2}, []int32{2, 2, 0, 3, 1, 1}, "SYMMETRIC"},
		{"no_pads", []int{3, 2}, []int32{0, 0, 0, 0}, "REFLECT"},
		{"empty", []int{0, 3}, []int32{0, 0, 1, 2}, "SYMMETRIC"},
		{"scalar", []int{}, []int32{}, "REFLECT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := len(c.out)
			pads := saI32(c.pads, r, 2)
			at := graphdef.Attrs{"mode": c.mode}
			idx := g2Fwd(t, "MirrorPad", at, saFeed(g2Iota64(c.out...)), saConst(pads))[0]
			g := grRand64(uint64(80+i), -1, 1, nil, 0, idx.Shape...)
			want := make([]float64, arrProd(c.out))
			for j, k := range idx.Data.([]int64) {
				want[k] += g.Data.([]float64)[j]
			}
			for _, konst := range []bool{false, true} {
				p := saFeed(pads)
				if konst {
					p = saConst(pads)
				}
				got, err := saRun(t, "MirrorPadGrad", at, saFeed(g), p)
				if err != nil {
					t.Fatal(err)
				}
				if !got[0].Shape.Equal(classify.Shape(c.out)) {
					t.Fatalf("shape %v, want %v", got[0].Shape, c.out)
				}
				grClose(t, "float64", grFloats(got[0]), want, 1e-15, 1e-15)
			}
			got32 := mustRun(t, "MirrorPadGrad", graphdef.Attrs{"mode": c.mode, "T": classify.Float32}, grTo32(g), pads)
			grClose(t, "float32", grFloats(got32), want, 1e-6, 1e-6)
			got16 := mustRun(t, "MirrorPadGrad", graphdef.Attrs{"mode": c.mode, "T": classify.Float16}, grTo16(g), pads)
			grClose(t, "float16", grFloats(got16), want, 4e-3, 4e-3)
			ig := classify.NewTensor(classify.Int32, idx.Shape...)
			lg := classify.NewTensor(classify.Int64, idx.Shape...)
			wi := make([]int64, len(want))
			for j, k := range idx.Data.([]int64) {
				ig.Int32s()[j] = int32(j*7%11 - 5)
				lg.Data.([]int64)[j] = int64(j*7%11-5) << 33
				wi[k] += int64(j*7%11 - 5)
			}
			gi := mustRun(t, "MirrorPadGrad", graphdef.Attrs{"mode": c.mode, "T": classify.Int32}, ig, pads)
			gl := mustRun(t, "MirrorPadGrad", graphdef.Attrs{"mode": c.mode, "T": classify.Int64, "Tpaddings": classify.Int64}, lg, g2I64(c.pads, r, 2))
			for k, w := range wi {
				if int64(gi.Int32s()[k]) != w || gl.Data.([]int64)[k] != w<<33 {
					t.Fatalf("ints [%d] = %d, %d, want %d", k, gi.Int32s()[k], gl.Data.([]int64)[k], w)
				}
			}
			// Adjoint with MirrorPad.
			x := grRand64(uint64(90+i), -1, 1, nil, 0, c.out...)
			y := g2Fwd(t, "MirrorPad", at, saFeed(x), saConst(pads))[0]
			l, rr := 0.0, 0.0
			for j, v := range grFloats(y) {
				l += v * g.Data.([]float64)[j]
			}
			for j, v := range want {
				rr += v * x.Data.([]float64)[j]
			}
			if d := l - rr; d > 1e-12 || d < -1e-12 {
				t.Errorf("adjoint %v vs %v", l, rr)
			}
		})
	}
	// By hand: REFLECT [2, 2] of [a b c] is [c b a b c b a]; SYMMETRIC
	// [1, 2] of it is [a a b c c b].
	g := classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7}, 7)
	if got := mustRun(t, "MirrorPadGrad", graphdef.Attrs{"mode": "REFLECT"}, g, saI32([]int32{2, 2}, 1, 2)).Float32s(); !grEq32(got, []float32{10, 12, 6}) {
		t.Errorf("REFLECT by hand: %v", got)
	}
	g = classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 6)
	if got := mustRun(t, "MirrorPadGrad", graphdef.Attrs{"mode": "SYMMETRIC"}, g, saI32([]int32{1, 2}, 1, 2)).Float32s(); !grEq32(got, []float32{3, 9, 9}) {
		t.Errorf("SYMMETRIC by hand: %v", got)
	}
}

func g2I64(v []int32, shape ...int) *classify.Tensor {
	w := make([]int64, len(v))
	for i, x := range v {
		w[i] = int64(x)
	}
	return saI64(w, shape...)
}

func TestMirrorPadGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	g := saFeed(randF32(1, -1, 1, 5, 4))
	p := func(v ...int32) saIn { return saFeed(saI32(v, len(v)/2, 2)) }
	refl := graphdef.Attrs{"mode": "REFLECT"}
	sym := graphdef.Attrs{"mode": "SYMMETRIC"}
	saCheckErrors(t, []saErrCase{
		{"reflect_too_big", "MirrorPadGrad", refl, []saIn{g, p(2, 1, 0, 0)}, inv, "too few"},
		{"symmetric_too_big", "MirrorPadGrad", sym, []saIn{g, p(3, 0, 0, 0)}, inv, "too few"},
		{"negative", "MirrorPadGrad", sym, []saIn{g, p(-1, 0, 0, 0)}, inv, "negative"},
		{"huge", "MirrorPadGrad", sym, []saIn{g, p(1<<30, 0, 0, 0)}, inv, "too large"},
		{"rank", "MirrorPadGrad", sym, []saIn{g, p(0, 0)}, inv, "paddings"},
		{"pads_shape", "MirrorPadGrad", sym, []saIn{g, saFeed(saI32([]int32{0, 0, 0, 0}, 4))}, inv, "paddings"},
		{"const_pads_shape", "MirrorPadGrad", sym, []saIn{g, saConst(saI32([]int32{0, 0, 0}, 1, 3))}, bad, "paddings"},
		{"mode", "MirrorPadGrad", graphdef.Attrs{"mode": "EDGE"}, []saIn{g, p(0, 0, 0, 0)}, bad, "mode"},
		{"dtype", "MirrorPadGrad", sym, []saIn{saFeed(saBool([]bool{true}, 1)), p(0, 0)}, inv, "bool"},
		{"dtype_attr", "MirrorPadGrad", graphdef.Attrs{"mode": "REFLECT", "T": classify.Bool}, []saIn{g, p(0, 0, 0, 0)}, bad, "bool"},
	})
}

// TestTileGrad checks TileGrad against the definition built from the
// forward Tile of an iota (each element adds into the one Tile copied it
// from) for float64, float32, float16, int32 and int64 with fed and
// constant multiples, and by hand.
func TestTileGrad(t *testing.T) {
	for i, c := range []struct {
		name string
		out  []int
		mult []int32
	}{
		{"2d", []int{2, 3}, []int32{3, 2}},
		{"3d", []int{2, 1, 3}, []int32{1, 4, 2}},
		{"ones", []int{3, 2}, []int32{1, 1}},
		{"empty", []int{0, 3}, []int32{2, 2}},
		{"scalar", []int{}, []int32{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := saI32(c.mult, len(c.mult))
			idx := g2Fwd(t, "Tile", nil, saFeed(g2Iota64(c.out...)), saConst(m))[0]
			g := grRand64(uint64(120+i), -1, 1, nil, 0, idx.Shape...)
			want := make([]float64, arrProd(c.out))
			wi := make([]int64, len(want))
			gi := classify.NewTensor(classify.Int32, idx.Shape...)
			gl := classify.NewTensor(classify.Int64, idx.Shape...)
			for j, k := range idx.Data.([]int64) {
				want[k] += g.Data.([]float64)[j]
				gi.Int32s()[j] = int32(j%9 - 4)
				gl.Data.([]int64)[j] = int64(j%9-4) << 34
				wi[k] += int64(j%9 - 4)
			}
			for _, konst := range []bool{false, true} {
				mi := saFeed(m)
				if konst {
					mi = saConst(m)
				}
				got, err := saRun(t, "TileGrad", nil, saFeed(g), mi)
				if err != nil {
					t.Fatal(err)
				}
				if !got[0].Shape.Equal(classify.Shape(c.out)) {
					t.Fatalf("shape %v, want %v", got[0].Shape, c.out)
				}
				grClose(t, "float64", grFloats(got[0]), want, 1e-15, 1e-15)
			}
			grClose(t, "float32", grFloats(mustRun(t, "TileGrad", graphdef.Attrs{"T": classify.Float32}, grTo32(g), m)), want, 1e-6, 1e-6)
			grClose(t, "float16", grFloats(mustRun(t, "TileGrad", graphdef.Attrs{"T": classify.Float16}, grTo16(g), m)), want, 5e-3, 5e-3)
			oi := mustRun(t, "TileGrad", graphdef.Attrs{"T": classify.Int32}, gi, m)
			ol := mustRun(t, "TileGrad", graphdef.Attrs{"T": classify.Int64}, gl, m)
			for k, w := range wi {
				if int64(oi.Int32s()[k]) != w || ol.Data.([]int64)[k] != w<<34 {
					t.Fatalf("ints [%d] = %d, %d, want %d", k, oi.Int32s()[k], ol.Data.([]int64)[k], w)
				}
			}
		})
	}
	// By hand: [1 2 3 4 5 6] as 3 tiles of 2 sums to [1+3+5, 2+4+6].
	got := mustRun(t, "TileGrad", nil, classify.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 6), saI32([]int32{3}, 1)).Float32s()
	if !grEq32(got, []float32{9, 12}) {
		t.Errorf("by hand: %v", got)
	}
}

func TestTileGradErrors(t *testing.T) {
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	x := saFeed(randF32(1, -1, 1, 4, 6))
	m := func(v ...int32) saIn { return saFeed(saI32(v, len(v))) }
	saCheckErrors(t, []saErrCase{
		{"indivisible", "TileGrad", nil, []saIn{x, m(3, 2)}, inv, "not divisible"},
		{"zero", "TileGrad", nil, []saIn{x, m(0, 2)}, inv, "positive"},
		{"negative_const", "TileGrad", nil, []saIn{x, saConst(saI32([]int32{2, -2}, 2))}, bad, "positive"},
		{"rank", "TileGrad", nil, []saIn{x, m(2)}, inv, "multiples"},
		{"float_multiples", "TileGrad", nil, []saIn{x, saFeed(randF32(1, 1, 2, 2))}, inv, "multiples"},
		{"dtype", "TileGrad", nil, []saIn{saFeed(saBool([]bool{true, false}, 2)), m(1)}, inv, "bool"},
	})
}
