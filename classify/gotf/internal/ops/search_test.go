package ops

import (
	"math"
	"slices"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// sortedRowsF32 returns rows of n values with repeats, each row sorted.
func sortedRowsF32(seed uint64, rows, n int) *classify.Tensor {
	t := randF32(seed, -3, 3, rows, n)
	d := t.Float32s()
	for i := range d {
		d[i] = float32(math.Round(float64(d[i])*2) / 2) // repeats
	}
	for r := range rows {
		slices.Sort(d[r*n : (r+1)*n])
	}
	return t
}

// TestSearchGolden checks BroadcastArgs, LowerBound and UpperBound against
// TensorFlow.js.
func TestSearchGolden(t *testing.T) {
	i32, f32 := classify.Int32, classify.Float32
	sorted := sortedRowsF32(2401, 3, 9)
	vals := randF32(2402, -4, 4, 3, 7)
	copy(vals.Float32s(), []float32{-0.5, 0, 0.5, 1, 3, -3, 10})
	isorted := saI32([]int32{1, 1, 2, 4, 4, 4, 9, -5, -1, 0, 0, 3, 3, 3}, 2, 7)
	ivals := saI32([]int32{0, 1, 4, 5, 9, 10, -5, -6, 0, 3}, 2, 5)
	cases := []goldenCase{
		saCase("broadcastargs_basic", "BroadcastArgs", graphdef.Attrs{"T": i32}, 1,
			saFeed(saI32([]int32{2, 1, 3}, 3)), saFeed(saI32([]int32{4, 1}, 2))),
		saCase("broadcastargs_rank_zero", "BroadcastArgs", graphdef.Attrs{"T": i32}, 1,
			saConst(saI32([]int32{}, 0)), saFeed(saI32([]int32{5, 1, 2}, 3))),
		saCase("lowerbound_f32", "LowerBound", graphdef.Attrs{"T": f32, "out_type": i32}, 1, saFeed(sorted), saFeed(vals)),
		saCase("upperbound_f32", "UpperBound", graphdef.Attrs{"T": f32, "out_type": i32}, 1, saFeed(sorted), saFeed(vals)),
		saCase("lowerbound_i32", "LowerBound", graphdef.Attrs{"T": i32, "out_type": i32}, 1, saFeed(isorted), saFeed(ivals)),
		saCase("upperbound_i32", "UpperBound", graphdef.Attrs{"T": i32, "out_type": i32}, 1, saFeed(isorted), saFeed(ivals)),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func TestBounds(t *testing.T) {
	sorted := sortedRowsF32(2403, 4, 11)
	vals := randF32(2404, -4, 4, 4, 6)
	copy(vals.Float32s(), []float32{-0.5, 0, 0.5, 1})
	for _, upper := range []bool{false, true} {
		op := map[bool]string{false: "LowerBound", true: "UpperBound"}[upper]
		got := mustRun(t, op, map[string]any{"out_type": classify.Int64}, sorted, vals)
		if got.DType != classify.Int64 || !got.Shape.Equal(classify.Shape{4, 6}) {
			t.Fatalf("%s: %v %v", op, got.DType, got.Shape)
		}
		for i, v := range vals.Float32s() {
			row := sorted.Float32s()[i/6*11:][:11]
			want := 0
			for _, s := range row {
				if s < v || upper && s == v {
					want++
				}
			}
			if g := got.Int64s()[i]; g != int64(want) {
				t.Errorf("%s value %d (%v): got %d, want %d", op, i, v, g, want)
			}
		}
	}
	saCheckErrors(t, []saErrCase{
		{"rows", "LowerBound", nil, []saIn{saFeed(sorted), saFeed(randF32(1, 0, 1, 3, 6))}, classify.ErrInvalidInput, "same rows"},
		{"dtype", "UpperBound", nil, []saIn{saFeed(sorted), saFeed(saIota(4, 2))}, classify.ErrInvalidInput, "values int32"},
		{"out_type", "UpperBound", graphdef.Attrs{"out_type": classify.Float32}, []saIn{saFeed(sorted), saFeed(vals)}, classify.ErrInvalidGraph, "out_type"},
		{"broadcast", "BroadcastArgs", nil, []saIn{saFeed(saI32([]int32{2, 3}, 2)), saFeed(saI32([]int32{4}, 1))}, classify.ErrInvalidInput, "do not broadcast"},
		{"broadcast_dtypes", "BroadcastArgs", nil, []saIn{saFeed(saI32([]int32{2, 3}, 2)), saFeed(saI64([]int64{3}, 1))}, classify.ErrInvalidInput, "one dtype"},
	})
	got := mustRun(t, "BroadcastArgs", nil, saI64([]int64{1, 0}, 2), saI64([]int64{7, 1, 1}, 3))
	if !slices.Equal(got.Int64s(), []int64{7, 1, 0}) {
		t.Errorf("BroadcastArgs int64 with a zero: %v", got.Int64s())
	}
}

// TestRoll checks Roll against out[(i + shift) mod n] = in[i] along each
// rolled axis, over dtypes, negative and repeated axes and large shifts.
func TestRoll(t *testing.T) {
	x := saIota(3, 4, 5)
	for _, c := range []struct {
		shift, axis []int32
	}{
		{[]int32{1}, []int32{0}},
		{[]int32{-2}, []int32{-1}},
		{[]int32{7, -9}, []int32{1, 2}},
		{[]int32{2, 3}, []int32{2, 2}}, // one axis twice: 5, a full turn
		{[]int32{1, 1, 1}, []int32{0, 1, 2}},
		{[]int32{1 << 30, -(1 << 30)}, []int32{0, 0}},
		{[]int32{}, []int32{}},
	} {
		got := mustRun(t, "Roll", nil, x, saI32(c.shift, len(c.shift)), saI32(c.axis, len(c.axis)))
		net := [3]int{}
		for i, a := range c.axis {
			if a < 0 {
				a += 3
			}
			net[a] += int(c.shift[i])
		}
		want := make([]int32, 60)
		for i := range 3 {
			for j := range 4 {
				for k := range 5 {
					m := func(v, s, n int) int { return ((v+s)%n + n) % n }
					want[(m(i, net[0], 3)*4+m(j, net[1], 4))*5+m(k, net[2], 5)] = x.Int32s()[(i*4+j)*5+k]
				}
			}
		}
		if !slices.Equal(got.Int32s(), want) {
			t.Errorf("shift %v axis %v: got %v, want %v", c.shift, c.axis, got.Int32s(), want)
		}
	}
	// Scalar shift and axis, strings, and an empty axis.
	s := &classify.Tensor{DType: classify.String, Shape: classify.Shape{3}, Data: [][]byte{[]byte("a"), []byte("b"), []byte("c")}}
	got := mustRun(t, "Roll", nil, s, saI32([]int32{1}), saI64([]int64{0}))
	if d := got.Data.([][]byte); string(d[0]) != "c" || string(d[1]) != "a" || string(d[2]) != "b" {
		t.Errorf("string roll: %q", d)
	}
	got = mustRun(t, "Roll", nil, classify.NewTensor(classify.Float32, 2, 0), saI32([]int32{3}), saI32([]int32{1}))
	if !got.Shape.Equal(classify.Shape{2, 0}) {
		t.Errorf("empty roll: %v", got.Shape)
	}
	saCheckErrors(t, []saErrCase{
		{"axis_range", "Roll", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1})), saFeed(saI32([]int32{3}))}, classify.ErrInvalidInput, "axis 3"},
		{"lengths", "Roll", nil, []saIn{saFeed(x), saFeed(saI32([]int32{1, 2}, 2)), saFeed(saI32([]int32{0}, 1))}, classify.ErrInvalidInput, "2 shifts for 1 axes"},
		{"shift_dtype", "Roll", nil, []saIn{saFeed(x), saFeed(randF32(1, 0, 1)), saFeed(saI32([]int32{0}))}, classify.ErrInvalidInput, "shift"},
	})
}

// TestBucketize checks buckets as the count of boundaries <= x, for float
// and integer inputs (compared as float32, as TensorFlow does).
func TestBucketize(t *testing.T) {
	bounds := []float32{-2, -0.5, 0, 0, 1.5, 3}
	count := func(v float64) int32 {
		n := int32(0)
		for _, b := range bounds {
			if float64(b) <= v {
				n++
			}
		}
		return n
	}
	at := map[string]any{"boundaries": bounds}
	x := randF32(2405, -4, 4, 3, 7)
	copy(x.Float32s(), []float32{-2, -0.5, 0, 1.5, 3, -3, 4})
	for _, in := range []*classify.Tensor{x, f64T(x.Shape, classifytest.Float64s(x)), saI32([]int32{-3, -2, -1, 0, 1, 2, 3, 4}, 8), saI64([]int64{-2, 0, 1, 2, 1 << 40}, 5)} {
		got := mustRun(t, "Bucketize", at, in)
		if got.DType != classify.Int32 || !got.Shape.Equal(in.Shape) {
			t.Fatalf("%v: got %v %v", in.DType, got.DType, got.Shape)
		}
		for i, v := range classifytest.Float64s(in) {
			if g, w := got.Int32s()[i], count(v); g != w {
				t.Errorf("%v %v: bucket %d, want %d", in.DType, v, g, w)
			}
		}
	}
	if got := mustRun(t, "Bucketize", map[string]any{"boundaries": []float32{}}, saI32([]int32{5}, 1)); got.Int32s()[0] != 0 {
		t.Errorf("no boundaries: %v", got.Int32s())
	}
	saCheckErrors(t, []saErrCase{
		{"unsorted", "Bucketize", graphdef.Attrs{"boundaries": []float32{1, 0}}, []saIn{saFeed(x)}, classify.ErrInvalidGraph, "not sorted"},
		{"dtype", "Bucketize", graphdef.Attrs{"boundaries": []float32{1}}, []saIn{saFeed(saBools(2))}, classify.ErrInvalidInput, "bool"},
	})
}
