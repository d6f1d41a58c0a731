package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Expectations come from tensorflow/python/kernel_tests/sparse_ops/
// sparse_cross_op_test.py (which states the hashed values too), the
// tf.raw_ops.SparseCross docstring, the docstring values of
// tf.strings.to_hash_bucket_strong / to_hash_bucket_fast (a one-column
// hashed cross is that bucket), and the kernel read for the int64 cases.

// crossSp is a sparse column built as the TF test's _sparse_tensor does:
// row b holds rows[b] at columns 0.., dense_shape [batch, widest row]
// (batch -1: len(rows)). Values are strings, or int64 when given as int64.
type crossSp struct{ idx, vals, shape *classify.Tensor }

func crossSparse(batch int, rows ...[]any) crossSp {
	var idx []int64
	var strs []string
	var ints []int64
	width := 0
	for b, r := range rows {
		for c, v := range r {
			idx = append(idx, int64(b), int64(c))
			switch v := v.(type) {
			case string:
				strs = append(strs, v)
			case int64:
				ints = append(ints, v)
			}
			width = max(width, c+1)
		}
	}
	if batch < 0 {
		batch = len(rows)
	}
	sp := crossSp{idx: &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{len(idx) / 2, 2}, Data: idx}, shape: i64s(int64(batch), int64(width))}
	if ints != nil {
		sp.vals = i64s(ints...)
	} else {
		sp.vals = strTensor(strs...)
	}
	return sp
}

func strRows(rows ...[]string) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		for _, s := range r {
			out[i] = append(out[i], s)
		}
	}
	return out
}

// crossIn lays the columns out as the op's inputs: indices, values,
// shapes, dense, then the op's extra inputs.
func crossIn(sp []crossSp, dense []*classify.Tensor, extra ...*classify.Tensor) []*classify.Tensor {
	var in []*classify.Tensor
	for _, s := range sp {
		in = append(in, s.idx)
	}
	for _, s := range sp {
		in = append(in, s.vals)
	}
	for _, s := range sp {
		in = append(in, s.shape)
	}
	in = append(in, dense...)
	return append(in, extra...)
}

func crossAttrs(sp []crossSp, dense []*classify.Tensor, a graphdef.Attrs) graphdef.Attrs {
	out := graphdef.Attrs{"N": len(sp)}
	var st, dt []classify.DType
	for _, s := range sp {
		st = append(st, s.vals.DType)
	}
	for _, d := range dense {
		dt = append(dt, d.DType)
	}
	out["sparse_types"], out["dense_types"] = st, dt
	for k, v := range a {
		out[k] = v
	}
	return out
}

const crossDefaultKey = 0xDECAFCAFFE // sparse_ops._DEFAULT_HASH_KEY

func sparseCrossStr(sp []crossSp, dense []*classify.Tensor) graphdef.Attrs {
	return crossAttrs(sp, dense, graphdef.Attrs{"hashed_output": false, "num_buckets": 0, "hash_key": crossDefaultKey, "out_type": classify.String, "internal_type": classify.String})
}

func sparseCrossHash(sp []crossSp, dense []*classify.Tensor, buckets int, key int64) graphdef.Attrs {
	return crossAttrs(sp, dense, graphdef.Attrs{"hashed_output": true, "num_buckets": buckets, "hash_key": key, "out_type": classify.Int64, "internal_type": classify.String})
}

// wantCross checks a cross against rows of expected values per batch row
// (strings or int64) and the dense_shape [batch, widest row].
func wantCross(t *testing.T, what string, out []*classify.Tensor, batch int, rows ...[]any) {
	t.Helper()
	var idx []int
	var want []string
	width := 0
	for b, r := range rows {
		for c, v := range r {
			idx = append(idx, b, c)
			want = append(want, fmt.Sprint(v))
		}
		width = max(width, len(r))
	}
	wantInts(t, what+" indices", out[0], idx...)
	wantInts(t, what+" shape", out[2], batch, width)
	var got []string
	switch d := out[1].Data.(type) {
	case [][]byte:
		for _, s := range d {
			got = append(got, string(s))
		}
	case []int64:
		for _, v := range d {
			got = append(got, fmt.Sprint(v))
		}
	}
	if !slices.Equal(got, want) || !out[1].Shape.Equal(classify.Shape{len(want)}) {
		t.Errorf("%s values = %v %q, want %q", what, out[1].Shape, got, want)
	}
}

func TestSparseCrossStrings(t *testing.T) {
	b1 := crossSparse(-1, strRows([]string{"batch1-FC1-F1"}, []string{"batch2-FC1-F1", "batch2-FC1-F2"})...)
	b2 := crossSparse(-1, strRows([]string{"batch1-FC2-F1"}, []string{"batch2-FC2-F1", "batch2-FC2-F2"})...)
	simple := strRows([]string{"batch1-FC1-F1_X_batch1-FC2-F1"},
		[]string{"batch2-FC1-F1_X_batch2-FC2-F1", "batch2-FC1-F1_X_batch2-FC2-F2", "batch2-FC1-F2_X_batch2-FC2-F1", "batch2-FC1-F2_X_batch2-FC2-F2"})
	sp := []crossSp{b1, b2}
	wantCross(t, "simple", mustRunAttr(t, "SparseCross", sparseCrossStr(sp, nil), crossIn(sp, nil)...), 2, simple...)
	wantCross(t, "v2 simple", mustRunAttr(t, "SparseCrossV2", crossAttrs(sp, nil, nil), crossIn(sp, nil, sstr("_X_"))...), 2, simple...)
	ysep := strRows([]string{"batch1-FC1-F1_Y_batch1-FC2-F1"},
		[]string{"batch2-FC1-F1_Y_batch2-FC2-F1", "batch2-FC1-F1_Y_batch2-FC2-F2", "batch2-FC1-F2_Y_batch2-FC2-F1", "batch2-FC1-F2_Y_batch2-FC2-F2"})
	wantCross(t, "v2 sep", mustRunAttr(t, "SparseCrossV2", crossAttrs(sp, nil, nil), crossIn(sp, nil, sstr("_Y_"))...), 2, ysep...)

	// Dense only, dense and sparse, mixed int64 and string.
	d1 := strShaped(classify.Shape{2, 2}, "batch1-FC1-F1", "batch1-FC1-F2", "batch2-FC1-F1", "batch2-FC1-F2")
	d2 := strShaped(classify.Shape{2, 2}, "batch1-FC2-F1", "batch1-FC2-F2", "batch2-FC2-F1", "batch2-FC2-F2")
	dense := []*classify.Tensor{d1, d2}
	wantCross(t, "dense", mustRunAttr(t, "SparseCross", sparseCrossStr(nil, dense), crossIn(nil, dense)...), 2,
		strRows([]string{"batch1-FC1-F1_X_batch1-FC2-F1", "batch1-FC1-F1_X_batch1-FC2-F2", "batch1-FC1-F2_X_batch1-FC2-F1", "batch1-FC1-F2_X_batch1-FC2-F2"},
			[]string{"batch2-FC1-F1_X_batch2-FC2-F1", "batch2-FC1-F1_X_batch2-FC2-F2", "batch2-FC1-F2_X_batch2-FC2-F1", "batch2-FC1-F2_X_batch2-FC2-F2"})...)
	wantCross(t, "v2 dense sep", mustRunAttr(t, "SparseCrossV2", crossAttrs(nil, dense, nil), crossIn(nil, dense, sstr("_"))...), 2,
		strRows([]string{"batch1-FC1-F1_batch1-FC2-F1", "batch1-FC1-F1_batch1-FC2-F2", "batch1-FC1-F2_batch1-FC2-F1", "batch1-FC1-F2_batch1-FC2-F2"},
			[]string{"batch2-FC1-F1_batch2-FC2-F1", "batch2-FC1-F1_batch2-FC2-F2", "batch2-FC1-F2_batch2-FC2-F1", "batch2-FC1-F2_batch2-FC2-F2"})...)
	sd := []crossSp{b1}
	sdd := []*classify.Tensor{d2}
	wantCross(t, "sparse x dense", mustRunAttr(t, "SparseCross", sparseCrossStr(sd, sdd), crossIn(sd, sdd)...), 2,
		strRows([]string{"batch1-FC1-F1_X_batch1-FC2-F1", "batch1-FC1-F1_X_batch1-FC2-F2"},
			[]string{"batch2-FC1-F1_X_batch2-FC2-F1", "batch2-FC1-F1_X_batch2-FC2-F2", "batch2-FC1-F2_X_batch2-FC2-F1", "batch2-FC1-F2_X_batch2-FC2-F2"})...)
	ints := []crossSp{crossSparse(-1, []any{int64(11)}, []any{int64(333), int64(55555)}), b2}
	mixed := strRows([]string{"11_X_batch1-FC2-F1"}, []string{"333_X_batch2-FC2-F1", "333_X_batch2-FC2-F2", "55555_X_batch2-FC2-F1", "55555_X_batch2-FC2-F2"})
	a := sparseCrossStr(ints, nil)
	a["internal_type"] = classify.Int64
	wantCross(t, "int64 sparse", mustRunAttr(t, "SparseCross", a, crossIn(ints, nil)...), 2, mixed...)
	wantCross(t, "v2 int64 sparse", mustRunAttr(t, "SparseCrossV2", crossAttrs(ints, nil, nil), crossIn(ints, nil, sstr("_X_"))...), 2, mixed...)
	di := []*classify.Tensor{i64m(2, 11, 333, 55555, 999999), d2}
	a = sparseCrossStr(nil, di)
	a["internal_type"] = classify.Int64
	wantCross(t, "int64 dense", mustRunAttr(t, "SparseCross", a, crossIn(nil, di)...), 2,
		strRows([]string{"11_X_batch1-FC2-F1", "11_X_batch1-FC2-F2", "333_X_batch1-FC2-F1", "333_X_batch1-FC2-F2"},
			[]string{"55555_X_batch2-FC2-F1", "55555_X_batch2-FC2-F2", "999999_X_batch2-FC2-F1", "999999_X_batch2-FC2-F2"})...)
	neg := []*classify.Tensor{i64m(1, -7, math.MinInt64)}
	a = sparseCrossStr(nil, neg)
	a["internal_type"] = classify.Int64
	wantCross(t, "negative int64", mustRunAttr(t, "SparseCross", a, crossIn(nil, neg)...), 1, []any{"-7", "-9223372036854775808"})

	// 3x1x2 and 3x3x3: the last column varies fastest.
	f := func(c, n int) []string {
		var s []string
		for i := 1; i <= n; i++ {
			s = append(s, fmt.Sprintf("batch1-FC%d-F%d", c, i))
		}
		return s
	}
	three := []crossSp{crossSparse(-1, strRows(f(1, 3))...), crossSparse(-1, strRows(f(2, 3))...), crossSparse(-1, strRows(f(3, 3))...)}
	var want []string
	for _, x := range f(1, 3) {
		for _, y := range f(2, 3) {
			for _, z := range f(3, 3) {
				want = append(want, x+"_X_"+y+"_X_"+z)
			}
		}
	}
	wantCross(t, "3x3x3", mustRunAttr(t, "SparseCross", sparseCrossStr(three, nil), crossIn(three, nil)...), 1, strRows(want)...)
	three[1], three[2] = crossSparse(-1, strRows(f(2, 1))...), crossSparse(-1, strRows(f(3, 2))...)
	wantCross(t, "3x1x2", mustRunAttr(t, "SparseCrossV2", crossAttrs(three, nil, nil), crossIn(three, nil, sstr("_X_"))...), 1,
		strRows([]string{"batch1-FC1-F1_X_batch1-FC2-F1_X_batch1-FC3-F1", "batch1-FC1-F1_X_batch1-FC2-F1_X_batch1-FC3-F2",
			"batch1-FC1-F2_X_batch1-FC2-F1_X_batch1-FC3-F1", "batch1-FC1-F2_X_batch1-FC2-F1_X_batch1-FC3-F2",
			"batch1-FC1-F3_X_batch1-FC2-F1_X_batch1-FC3-F1", "batch1-FC1-F3_X_batch1-FC2-F1_X_batch1-FC3-F2"})...)

	// Large batch (test_large_batch, 5000 rows of 3x1x2).
	const nb = 5000
	c1, c2, c3 := make([][]string, nb), make([][]string, nb), make([][]string, nb)
	var wantLarge [][]string
	for b := range nb {
		c1[b] = []string{fmt.Sprintf("batch%d-FC1-F1", b), fmt.Sprintf("batch%d-FC1-F2", b), fmt.Sprintf("batch%d-FC1-F3", b)}
		c2[b] = []string{fmt.Sprintf("batch%d-FC2-F1", b)}
		c3[b] = []string{fmt.Sprintf("batch%d-FC3-F1", b), fmt.Sprintf("batch%d-FC3-F2", b)}
		var r []string
		for _, x := range c1[b] {
			for _, z := range c3[b] {
				r = append(r, x+"_X_"+c2[b][0]+"_X_"+z)
			}
		}
		wantLarge = append(wantLarge, r)
	}
	large := []crossSp{crossSparse(-1, strRows(c1...)...), crossSparse(-1, strRows(c2...)...), crossSparse(-1, strRows(c3...)...)}
	wantCross(t, "large", mustRunAttr(t, "SparseCross", sparseCrossStr(large, nil), crossIn(large, nil)...), nb, strRows(wantLarge...)...)

	// Empty columns: one empty column empties the row; rows of a batch
	// larger than the entries are empty; all empty gives [batch, 0].
	e := []crossSp{crossSparse(-1, strRows(f(1, 2))...), crossSparse(1), crossSparse(-1, strRows(f(3, 2))...)}
	wantCross(t, "one empty", mustRunAttr(t, "SparseCross", sparseCrossStr(e, nil), crossIn(e, nil)...), 1)
	e = []crossSp{crossSparse(2, strRows(f(1, 2))...), crossSparse(2, strRows([]string{"batch1-FC2-F1"}, []string{"batch2-FC2-F1"})...), crossSparse(2, strRows(f(3, 2))...)}
	wantCross(t, "some empty", mustRunAttr(t, "SparseCrossV2", crossAttrs(e, nil, nil), crossIn(e, nil, sstr("_X_"))...), 2,
		strRows([]string{"batch1-FC1-F1_X_batch1-FC2-F1_X_batch1-FC3-F1", "batch1-FC1-F1_X_batch1-FC2-F1_X_batch1-FC3-F2",
			"batch1-FC1-F2_X_batch1-FC2-F1_X_batch1-FC3-F1", "batch1-FC1-F2_X_batch1-FC2-F1_X_batch1-FC3-F2"})...)
	e = []crossSp{crossSparse(-1), crossSparse(-1), crossSparse(-1)}
	wantCross(t, "all empty", mustRunAttr(t, "SparseCross", sparseCrossStr(e, nil), crossIn(e, nil)...), 0)
	wantCross(t, "no inputs", mustRunAttr(t, "SparseCrossV2", crossAttrs(nil, nil, nil), crossIn(nil, nil, sstr("_X_"))...), 0)
	zw := []*classify.Tensor{strShaped(classify.Shape{3, 0}), strShaped(classify.Shape{3, 1}, "a", "b", "c")}
	wantCross(t, "zero-width dense", mustRunAttr(t, "SparseCross", sparseCrossStr(nil, zw), crossIn(nil, zw)...), 3)

	// Entries out of row order are skipped as the kernel walks them: row
	// 1's entry comes first, so row 0 never sees its own.
	oo := crossSp{idx: i64m(3, 1, 0, 0, 0, 1, 1), vals: strTensor("x", "y", "z"), shape: i64s(2, 2)}
	one := []crossSp{oo, crossSparse(-1, strRows([]string{"p"}, []string{"q"})...)}
	wantCross(t, "out of order", mustRunAttr(t, "SparseCross", sparseCrossStr(one, nil), crossIn(one, nil)...), 2, nil, []any{"x_X_q"})
}

func TestSparseCrossHashed(t *testing.T) {
	one := func(s string) crossSp { return crossSparse(-1, []any{s}) }
	sp := []crossSp{one("batch1-FC1-F1"), one("batch1-FC2-F1"), one("batch1-FC3-F1")}
	in := crossIn(sp, nil)
	// sparse_cross_op_test.py's stated hashes.
	for _, tc := range []struct {
		buckets int
		key     int64
		want    int64
	}{
		{0, crossDefaultKey, 1971693436396284976},
		{0, crossDefaultKey + 1, 4847552627144134031},
		{100, crossDefaultKey, 83},
		{100, crossDefaultKey + 1, 31},
	} {
		out := mustRunAttr(t, "SparseCross", sparseCrossHash(sp, nil, tc.buckets, tc.key), in...)
		wantCross(t, fmt.Sprintf("SparseCross buckets %d key %d", tc.buckets, tc.key), out, 1, []any{tc.want})
	}
	hashed := func(buckets int64, strong bool, salt ...int64) []*classify.Tensor {
		return mustRunAttr(t, "SparseCrossHashed", crossAttrs(sp, nil, nil), crossIn(sp, nil, scalarOf(i64s(buckets)), boolScalar(strong), i64s(salt...))...)
	}
	wantCross(t, "hashed zero buckets", hashed(0, false, 1, 1), 1, []any{int64(9186962005966787372)})
	wantCross(t, "hashed salt unused", hashed(0, false, 137, 173), 1, []any{int64(9186962005966787372)})
	wantCross(t, "hashed negative buckets", hashed(-461, false, 137, 173), 1, []any{int64(9186962005966787372)})
	wantCross(t, "hashed 100 buckets", hashed(100, false, 137, 173), 1, []any{int64(79)})
	strong := hashed(0, true, 137, 173)
	if v := strong[1].Int64s()[0]; v == 9186962005966787372 || v < 0 {
		t.Errorf("strong hash %d: same as the fingerprint or negative", v)
	}
	if v := hashed(0, true, 137, 1)[1].Int64s()[0]; v == strong[1].Int64s()[0] {
		t.Errorf("strong hash ignores the salt: %d", v)
	}
	wantCross(t, "strong repeatable", hashed(0, true, 137, 173), 1, []any{strong[1].Int64s()[0]})

	// One column: the cross is the column's hash, so it matches the
	// docstring values of tf.strings.to_hash_bucket_strong(["Hello", "TF"],
	// 3, [1, 2]) = [2, 0] and to_hash_bucket_fast(["Hello", "TensorFlow",
	// "2.x"], 3) = [0, 2, 2].
	col := []crossSp{crossSparse(-1, []any{"Hello"}, []any{"TF"})}
	out := mustRunAttr(t, "SparseCrossHashed", crossAttrs(col, nil, nil), crossIn(col, nil, scalarOf(i64s(3)), boolScalar(true), i64s(1, 2))...)
	wantCross(t, "strong one column", out, 2, []any{int64(2)}, []any{int64(0)})
	dcol := []*classify.Tensor{strShaped(classify.Shape{3, 1}, "Hello", "TensorFlow", "2.x")}
	out = mustRunAttr(t, "SparseCrossHashed", crossAttrs(nil, dcol, nil), crossIn(nil, dcol, scalarOf(i64s(3)), boolScalar(false), i64s(0, 0))...)
	wantCross(t, "fast one column", out, 3, []any{int64(0)}, []any{int64(2)}, []any{int64(2)})

	// int64 features, as the kernel reads them: SparseCross and a dense
	// SparseCrossHashed column without strong_hash use the value itself;
	// a sparse SparseCrossHashed column fingerprints the value's first
	// sizeof(DataType) = 4 bytes, so 5 and 5+2^32 hash alike.
	di := []*classify.Tensor{i64m(2, 7, 1<<40)}
	out = mustRunAttr(t, "SparseCrossHashed", crossAttrs(nil, di, nil), crossIn(nil, di, scalarOf(i64s(0)), boolScalar(false), i64s(0, 0))...)
	wantCross(t, "dense int64 raw", out, 2, []any{int64(7)}, []any{int64(1 << 40)})
	a := sparseCrossHash(nil, di, 0, crossDefaultKey)
	a["internal_type"] = classify.Int64
	out = mustRunAttr(t, "SparseCross", a, crossIn(nil, di)...)
	wantCross(t, "SparseCross int64", out, 2, []any{int64(fingerprintCat64(crossDefaultKey, 7) % math.MaxInt64)}, []any{int64(fingerprintCat64(crossDefaultKey, 1<<40) % math.MaxInt64)})
	si := []crossSp{crossSparse(-1, []any{int64(5)}, []any{int64(5 + 1<<32)})}
	out = mustRunAttr(t, "SparseCrossHashed", crossAttrs(si, nil, nil), crossIn(si, nil, scalarOf(i64s(0)), boolScalar(false), i64s(0, 0))...)
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], 5)
	f5 := int64(Fingerprint64(le[:4]) % math.MaxInt64)
	wantCross(t, "sparse int64 4 bytes", out, 2, []any{f5}, []any{f5})
	out = mustRunAttr(t, "SparseCrossHashed", crossAttrs(si, nil, nil), crossIn(si, nil, scalarOf(i64s(0)), boolScalar(true), i64s(3, 4))...)
	s5 := int64(sipHash24(3, 4, le[:4]) % math.MaxInt64)
	wantCross(t, "strong sparse int64 4 bytes", out, 2, []any{s5}, []any{s5})

	// test_hashed_has_no_collision: 359 and 359+1024 share their low bits
	// but no crossed bucket.
	for _, op := range []string{"SparseCross", "SparseCrossHashed"} {
		t1 := i64m(2, 359, 359+1024)
		t2 := i64m(2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
		dn := []*classify.Tensor{t2, t1}
		var out []*classify.Tensor
		if op == "SparseCross" {
			a := sparseCrossHash(nil, dn, 1024, crossDefaultKey+1)
			a["internal_type"] = classify.Int64
			out = mustRunAttr(t, op, a, crossIn(nil, dn)...)
		} else {
			out = mustRunAttr(t, op, crossAttrs(nil, dn, nil), crossIn(nil, dn, scalarOf(i64s(1024)), boolScalar(false), i64s(137, 173))...)
		}
		v := out[1].Int64s()
		if len(v) != 20 {
			t.Fatalf("%s: %d crosses, want 20", op, len(v))
		}
		for i := range 10 {
			if v[i] == v[10+i] || v[i] < 0 || v[i] >= 1024 {
				t.Errorf("%s: column %d: %d and %d", op, i, v[i], v[10+i])
			}
		}
	}

	// test_hashed_3x1x2: six distinct buckets in [0, 1000).
	three := []crossSp{crossSparse(-1, []any{"batch1-FC1-F1", "batch1-FC1-F2", "batch1-FC1-F3"}), one("batch1-FC2-F1"), crossSparse(-1, []any{"batch1-FC3-F1", "batch1-FC3-F2"})}
	for _, out := range [][]*classify.Tensor{
		mustRunAttr(t, "SparseCross", sparseCrossHash(three, nil, 1000, crossDefaultKey), crossIn(three, nil)...),
		mustRunAttr(t, "SparseCrossHashed", crossAttrs(three, nil, nil), crossIn(three, nil, scalarOf(i64s(1000)), boolScalar(false), i64s(137, 173))...),
	} {
		wantInts(t, "3x1x2 indices", out[0], 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5)
		v := out[1].Int64s()
		seen := map[int64]bool{}
		for _, x := range v {
			if x < 0 || x >= 1000 || seen[x] {
				t.Errorf("3x1x2 hashed values %v", v)
				break
			}
			seen[x] = true
		}
	}
	// The composition order, from the tf.raw_ops.SparseCross docstring:
	// FingerprintCat64(FingerprintCat64(FingerprintCat64(key, a), d), f).
	fp := func(s string) uint64 { return Fingerprint64([]byte(s)) }
	sp2 := []crossSp{crossSparse(-1, []any{"a"}), crossSparse(-1, []any{"d"})}
	dn := []*classify.Tensor{strShaped(classify.Shape{1, 1}, "f")}
	out = mustRunAttr(t, "SparseCross", sparseCrossHash(sp2, dn, 0, 11), crossIn(sp2, dn)...)
	wantCross(t, "order", out, 1, []any{int64(fingerprintCat64(fingerprintCat64(fingerprintCat64(11, fp("a")), fp("d")), fp("f")) % math.MaxInt64)})
	out = mustRunAttr(t, "SparseCrossHashed", crossAttrs(sp2, dn, nil), crossIn(sp2, dn, scalarOf(i64s(0)), boolScalar(false), i64s(0, 0))...)
	wantCross(t, "hashed order", out, 1, []any{int64(fingerprintCat64(fingerprintCat64(fp("a"), fp("d")), fp("f")) % math.MaxInt64)})
	if fingerprintCat64(1, 2) == fingerprintCat64(2, 1) {
		t.Error("FingerprintCat64 is commutative")
	}
}

func boolScalar(v bool) *classify.Tensor {
	return &classify.Tensor{DType: classify.Bool, Shape: classify.Shape{}, Data: []bool{v}}
}

// The errors of the kernel's ValidateInput and this package's bounds.
func TestSparseCrossErrors(t *testing.T) {
	good := crossSparse(-1, []any{"a"}, []any{"b"})
	bad := func(f func(*crossSp)) []crossSp {
		s := good
		f(&s)
		return []crossSp{s}
	}
	v2 := func(sp []crossSp, dense []*classify.Tensor, sep *classify.Tensor) (string, graphdef.Attrs, []*classify.Tensor) {
		return "SparseCrossV2", crossAttrs(sp, dense, nil), crossIn(sp, dense, sep)
	}
	hashed := func(sp []crossSp, dense []*classify.Tensor, extra ...*classify.Tensor) (string, graphdef.Attrs, []*classify.Tensor) {
		return "SparseCrossHashed", crossAttrs(sp, dense, nil), crossIn(sp, dense, extra...)
	}
	type call struct {
		op  string
		a   graphdef.Attrs
		in  []*classify.Tensor
		msg string
	}
	c := func(op string, a graphdef.Attrs, in []*classify.Tensor) func(string) call {
		return func(msg string) call { return call{op, a, in, msg} }
	}
	sep := sstr("_X_")
	big := crossSparse(-1, []any{"x"})
	big.shape = i64s(1<<40, 1)
	wide := strShaped(classify.Shape{1, 1 << 9}, make([]string, 1<<9)...)
	wideDense := []*classify.Tensor{wide, wide, wide, wide}
	longStr := strTensor(strings.Repeat("x", 1<<20))
	longStr.Shape = classify.Shape{1, 1}
	ha := sparseCrossHash([]crossSp{good}, []*classify.Tensor{i64m(2, 1, 2)}, 0, 1)
	for _, tc := range []call{
		c(v2(bad(func(s *crossSp) { s.idx = i64s(0, 0) }), nil, sep))("Input indices should be an int64 matrix"),
		c(v2(bad(func(s *crossSp) { s.idx = i64m(1, 0) }), nil, sep))("Expected D2 of index to be 2"),
		c(v2(bad(func(s *crossSp) { s.vals = strShaped(classify.Shape{2, 1}, "a", "b") }), nil, sep))("Input values should be a vector"),
		c(v2(bad(func(s *crossSp) { s.vals = strTensor("a") }), nil, sep))("Expected size of values to be 2"),
		c(v2(bad(func(s *crossSp) { s.shape = scalarOf(i64s(2)) }), nil, sep))("Input shapes should be an int64 vector"),
		c(v2(bad(func(s *crossSp) { s.shape = i64s(2, 1, 1) }), nil, sep))("shape should imply a 2D tensor"),
		c(v2(nil, []*classify.Tensor{strTensor("a")}, sep))("Dense inputs should be a matrix"),
		c(v2([]crossSp{good}, []*classify.Tensor{strShaped(classify.Shape{5, 0})}, sep))("Expected batch size 2 got 5"),
		c(v2([]crossSp{good, crossSparse(7)}, nil, sep))("Expected batch size 2 got 7"),
		c(v2([]crossSp{good}, nil, strTensor("a", "b")))("Input separator should be a scalar"),
		c(v2(nil, nil, strTensor("a", "b")))("Input separator should be a scalar"),
		c(v2([]crossSp{big}, nil, sep))("batch size"),
		c(v2(bad(func(s *crossSp) { s.shape = i64s(-1, 1) }), nil, sep))("batch size"),
		c(v2(nil, wideDense, sep))("crosses"),
		c(hashed(nil, nil, scalarOf(i64s(3)), boolScalar(false), i64s()))(`Input "salt" must have length 2`),
		c(hashed([]crossSp{good}, nil, i64s(3), boolScalar(false), i64s(1, 2)))("num_buckets must be an int64 scalar"),
		c(hashed([]crossSp{good}, nil, scalarOf(i64s(3)), i64s(1), i64s(1, 2)))("strong_hash must be a bool scalar"),
		c(hashed(nil, wideDense, scalarOf(i64s(3)), boolScalar(false), i64s(1, 2)))("crosses"),
		{"SparseCrossV2", graphdef.Attrs{"N": 1}, crossIn(bad(func(s *crossSp) { s.vals = classify.FromFloat32([]float32{1, 2}, 2) }), nil, sep), "want int64 or string"},
		{"SparseCross", ha, crossIn([]crossSp{good}, []*classify.Tensor{i64m(2, 1, 2)}), "internal type string"},
		{"SparseCross", crossAttrs(nil, nil, graphdef.Attrs{"num_buckets": -1, "hash_key": 0, "out_type": classify.Int64, "internal_type": classify.Int64}), nil, "negative"},
		{"SparseCross", crossAttrs(nil, nil, graphdef.Attrs{"num_buckets": 0, "hash_key": 0, "out_type": classify.Float32, "internal_type": classify.Int64}), nil, "int64 or string"},
		{"SparseCross", graphdef.Attrs{"N": 2, "num_buckets": 0, "hash_key": 0, "out_type": classify.String, "internal_type": classify.String}, crossIn([]crossSp{good}, nil), "want 3N+0"},
		{"SparseCrossV2", graphdef.Attrs{"N": 1, "sparse_types": []classify.DType{classify.Float32}}, crossIn([]crossSp{good}, nil, sep), "not int64 or string"},
		{"SparseCrossV2", graphdef.Attrs{"N": 1, "sparse_types": []classify.DType{classify.String, classify.String}}, crossIn([]crossSp{good}, nil, sep), "2 types for 1 inputs"},
	} {
		_, err := runAttrOp(t, tc.op, tc.a, tc.in...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s (%q): err = %v", tc.op, tc.msg, err)
		}
	}
	// 300 one-MiB strings crossed with themselves: 300 crosses of 300 MiB
	// each would exceed the byte bound, refused before joining.
	sq := []*classify.Tensor{strShaped(classify.Shape{1, 300}, make([]string, 300)...), longStr}
	for i := range 300 {
		sq[0].Data.([][]byte)[i] = longStr.Data.([][]byte)[0]
	}
	if _, err := runAttrOp(t, "SparseCross", sparseCrossStr(nil, sq), crossIn(nil, sq)...); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("string bound: err = %v", err)
	}
}

// FuzzSparseCross crosses client-shaped sparse columns: errors allowed,
// never a panic, and outputs consistent with the inputs.
func FuzzSparseCross(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 1, 1}, int64(2), int64(2), "ab", true)
	f.Add([]byte{1, 0, 0, 0, 5, 9}, int64(-1), int64(3), "", false)
	f.Fuzz(func(t *testing.T, rows []byte, batch, width int64, s string, strong bool) {
		if len(rows) > 64 {
			rows = rows[:64]
		}
		n := len(rows) / 2
		idx := make([]int64, 2*n)
		for i := range idx {
			idx[i] = int64(int8(rows[i]))
		}
		vals := make([]string, n)
		for i := range vals {
			vals[i] = s
		}
		sp := []crossSp{{idx: &classify.Tensor{DType: classify.Int64, Shape: classify.Shape{n, 2}, Data: idx}, vals: strTensor(vals...), shape: i64s(batch, width)}}
		ints := make([]int64, n)
		for i := range ints {
			ints[i] = int64(rows[i])
		}
		sp = append(sp, crossSp{idx: sp[0].idx, vals: i64s(ints...), shape: sp[0].shape})
		outs := [][]*classify.Tensor{}
		if out, err := runAttrOp(t, "SparseCrossV2", crossAttrs(sp, nil, nil), crossIn(sp, nil, sstr(s))...); err == nil {
			outs = append(outs, out)
		}
		if out, err := runAttrOp(t, "SparseCrossHashed", crossAttrs(sp, nil, nil), crossIn(sp, nil, scalarOf(i64s(width)), boolScalar(strong), i64s(batch, width))...); err == nil {
			outs = append(outs, out)
		}
		for _, out := range outs {
			for i, x := range out {
				if err := x.Validate(); err != nil {
					t.Fatalf("output %d: %v", i, err)
				}
			}
			if out[0].Shape[0] != out[1].Shape[0] {
				t.Fatalf("%d indices for %d values", out[0].Shape[0], out[1].Shape[0])
			}
			sh := out[2].Int64s()
			id := out[0].Int64s()
			for k := 0; k < len(id); k += 2 {
				if id[k] < 0 || id[k] >= sh[0] || id[k+1] < 0 || id[k+1] >= sh[1] {
					t.Fatalf("index %v outside %v", id[k:k+2], sh)
				}
			}
		}
	})
}
