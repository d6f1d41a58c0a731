package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestEinsumGolden(t *testing.T) {
	at := func(eq string, n int) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Float32, "equation": eq, "N": n}
	}
	cases := []goldenCase{
		saCase("einsum_matmul", "Einsum", at("ij,jk->ik", 2), 1, saFeed(randF32(1801, -1, 1, 5, 7)), saFeed(randF32(1802, -1, 1, 7, 3))),
		saCase("einsum_attention", "Einsum", at("bhqd,bhkd->bhqk", 2), 1, saFeed(randF32(1803, -1, 1, 2, 3, 5, 4)), saFeed(randF32(1804, -1, 1, 2, 3, 6, 4))),
		saCase("einsum_dense", "Einsum", at("abc,cd->abd", 2), 1, saFeed(randF32(1805, -1, 1, 2, 5, 8)), saFeed(randF32(1806, -1, 1, 8, 3))),
		saCase("einsum_transpose", "Einsum", at("ijk->kij", 1), 1, saFeed(randF32(1807, -1, 1, 2, 3, 4))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// refEinsum evaluates an explicit equation (no ellipsis) by brute force:
// for every assignment of all labels, the product of the operands'
// elements is added to the output element (refEinsumC, in float64 for
// real operands), rounded to float32 at the end.
func refEinsum(eq string, xs []*classify.Tensor) *classify.Tensor {
	acc, shape := refEinsumC(eq, xs)
	res := classify.NewTensor(classify.Float32, shape...)
	for i, v := range acc {
		res.Float32s()[i] = float32(real(v))
	}
	return res
}

func TestEinsumReference(t *testing.T) {
	for i, c := range []struct {
		eq     string
		shapes [][]int
	}{
		{"ij,jk->ik", [][]int{{4, 6}, {6, 5}}},
		{"ij,kj->ik", [][]int{{4, 6}, {5, 6}}},
		{"bij,bjk->bik", [][]int{{3, 4, 6}, {3, 6, 5}}},
		{"bhqd,bhkd->bhqk", [][]int{{2, 3, 5, 4}, {2, 3, 6, 4}}},
		{"bhqk,bkhd->bqhd", [][]int{{2, 3, 5, 6}, {2, 6, 3, 4}}},
		{"abc,cd->abd", [][]int{{2, 5, 8}, {8, 3}}},
		{"i,j->ij", [][]int{{4}, {5}}},
		{"i,i->", [][]int{{7}, {7}}},
		{"ij,j->i", [][]int{{4, 6}, {6}}},
		{"abc,bd->ad", [][]int{{2, 3, 4}, {3, 5}}}, // c summed out of the first operand
		{"ij->ji", [][]int{{3, 5}}},
		{"ijk->j", [][]int{{3, 4, 5}}},
		{"ij->", [][]int{{3, 5}}},
		{"ij,jk->ik", [][]int{{0, 6}, {6, 5}}},
		{"ij,jk->ik", [][]int{{4, 0}, {0, 5}}},
		{"bij,bjk->bik", [][]int{{2, 40, 70}, {2, 70, 50}}},
		// Repeated labels take diagonals (refEinsum gives a repeated label
		// one value).
		{"ii->i", [][]int{{4, 4}}},
		{"ii->", [][]int{{4, 4}}},
		{"iji->j", [][]int{{3, 5, 3}}},
		{"ij,jj->i", [][]int{{4, 3}, {3, 3}}},
		{"bii,bij->bj", [][]int{{2, 3, 3}, {2, 3, 4}}},
	} {
		var xs []*classify.Tensor
		var in []saIn
		for j, s := range c.shapes {
			x := randF32(uint64(1900+10*i+j), -1, 1, s...)
			xs, in = append(xs, x), append(in, saFeed(x))
		}
		got, err := saRun(t, "Einsum", graphdef.Attrs{"equation": c.eq}, in...)
		if err != nil {
			t.Fatalf("%s: %v", c.eq, err)
		}
		if msg := compare(got[0], refEinsum(c.eq, xs), 0, 0); msg != "" {
			t.Errorf("%s %v: %s", c.eq, c.shapes, msg)
		}
	}
}

// TestEinsumBroadcast: ellipsis dimensions of 1 broadcast against larger
// ones, as if the operand were tiled.
func TestEinsumBroadcast(t *testing.T) {
	tile := func(x *classify.Tensor, n int) *classify.Tensor {
		y := classify.NewTensor(classify.Float32, append(classify.Shape{n}, x.Shape[1:]...)...)
		for i := range n {
			copy(y.Float32s()[i*x.Len():], x.Float32s())
		}
		return y
	}
	a, b := randF32(11, -1, 1, 2, 3, 4), randF32(12, -1, 1, 1, 4, 5)
	for _, c := range []struct {
		eq, same string
		x, y     *classify.Tensor
		wx, wy   *classify.Tensor
	}{
		{"...ij,...jk->...ik", "aij,ajk->aik", a, b, a, tile(b, 2)},
		{"...ij,...jk->...ik", "aij,ajk->aik", b, randF32(13, -1, 1, 3, 5, 2), tile(b, 3), nil},
		{"...j,j->...", "aj,j->a", randF32(14, -1, 1, 1, 4), randF32(15, -1, 1, 4), nil, nil},
	} {
		if c.wy == nil {
			c.wy = c.y
		}
		if c.wx == nil {
			c.wx = c.x
		}
		got, err := saRun(t, "Einsum", graphdef.Attrs{"equation": c.eq}, saFeed(c.x), saFeed(c.y))
		if err != nil {
			t.Fatalf("%s: %v", c.eq, err)
		}
		want, err := saRun(t, "Einsum", graphdef.Attrs{"equation": c.same}, saFeed(c.wx), saFeed(c.wy))
		if err != nil {
			t.Fatalf("%s: %v", c.same, err)
		}
		if msg := compare(got[0], want[0], 1e-6, 1e-6); msg != "" {
			t.Errorf("%s %v %v: %s", c.eq, c.x.Shape, c.y.Shape, msg)
		}
	}
}

// TestEinsumEllipsisAndImplicit: an ellipsis and an implicit output give
// what the explicit equation without them gives.
func TestEinsumEllipsisAndImplicit(t *testing.T) {
	a, b := randF32(1, -1, 1, 2, 3, 4, 5), randF32(2, -1, 1, 2, 3, 5, 6)
	for _, c := range []struct {
		eq, same string
		x, y     *classify.Tensor
	}{
		{"...ij,...jk->...ik", "abij,abjk->abik", a, b},
		{"...ij,jk->...ik", "abij,jk->abik", a, randF32(3, -1, 1, 5, 6)},
		{"abij,abjk", "abij,abjk->ik", a, b}, // labels used twice are summed
		{"ba,ca", "ba,ca->bc", randF32(4, -1, 1, 3, 4), randF32(5, -1, 1, 5, 4)},
	} {
		got, err := saRun(t, "Einsum", graphdef.Attrs{"equation": c.eq}, saFeed(c.x), saFeed(c.y))
		if err != nil {
			t.Fatalf("%s: %v", c.eq, err)
		}
		want, err := saRun(t, "Einsum", graphdef.Attrs{"equation": c.same}, saFeed(c.x), saFeed(c.y))
		if err != nil {
			t.Fatalf("%s: %v", c.same, err)
		}
		if msg := compare(got[0], want[0], 0, 0); msg != "" {
			t.Errorf("%s vs %s: %s", c.eq, c.same, msg)
		}
	}
}

func TestEinsumErrors(t *testing.T) {
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	x := randF32(1, -1, 1, 3, 4)
	e := func(eq string) graphdef.Attrs { return graphdef.Attrs{"equation": eq} }
	saCheckErrors(t, []saErrCase{
		{"diagonal_sizes", "Einsum", e("ii->i"), []saIn{saFeed(randF32(1, 0, 1, 3, 4))}, inv, "label 'i'"},
		{"output_repeat", "Einsum", e("ij->ii"), []saIn{saFeed(randF32(1, 0, 1, 3, 3))}, bad, "more than once"},
		{"three_operands_mismatch", "Einsum", e("ij,jk,kl->il"), []saIn{saFeed(x), saFeed(randF32(1, 0, 1, 4, 5)), saFeed(x)}, inv, "label 'k'"},
		{"three_operands_count", "Einsum", e("ij,jk->ik"), []saIn{saFeed(x), saFeed(x), saFeed(x)}, bad, "operands"},
		{"huge_output", "Einsum", e("ai,bi,ci->abc"), []saIn{saFeed(randF32(1, 0, 1, 1000, 1)), saFeed(randF32(1, 0, 1, 1000, 1)), saFeed(randF32(1, 0, 1, 1000, 1))}, inv, "elements"},
		{"size_mismatch", "Einsum", e("ij,jk->ik"), []saIn{saFeed(x), saFeed(x)}, inv, "label 'j'"},
		{"rank", "Einsum", e("ijk,kl->il"), []saIn{saFeed(x), saFeed(x)}, inv, "rank"},
		{"unknown_out", "Einsum", e("ij,jk->iz"), []saIn{saFeed(x), saFeed(x)}, bad, "in no operand"},
		{"operands", "Einsum", e("ij->ji"), []saIn{saFeed(x), saFeed(x)}, bad, "operands"},
		{"broadcast", "Einsum", e("...ij,...jk->...ik"), []saIn{saFeed(randF32(1, 0, 1, 2, 3, 4)), saFeed(randF32(1, 0, 1, 3, 4, 5))}, inv, "cannot be broadcast"},
		{"int", "Einsum", e("ij->ji"), []saIn{saFeed(saIota(2, 2))}, inv, "float32"},
	})
}

func TestEinsumInference(t *testing.T) {
	f32 := classify.Float32
	saCheckShapes(t, []saShapeCase{
		{name: "attention", op: "Einsum", attrs: graphdef.Attrs{"equation": "bhqd,bhkd->bhqk"}, in: []classify.TensorInfo{saInfo(f32, 1, 8, 16, 64), saInfo(f32, 1, 8, 20, 64)},
			want: []classify.TensorInfo{saInfo(f32, 1, 8, 16, 20)}},
		{name: "unknown", op: "Einsum", attrs: graphdef.Attrs{"equation": "ij,jk->ik"}, in: []classify.TensorInfo{saInfo(f32, -1, 4), saInfo(f32, 4, 3)},
			want: []classify.TensorInfo{{DType: f32}}},
	})
}

// FuzzEinsum: any equation over any small shapes gives a result or an
// error wrapping a classify sentinel, never a panic.
func FuzzEinsum(f *testing.F) {
	f.Add("ij,jk->ik", []byte{2, 3, 3, 4})
	f.Add("...ij,jk", []byte{1, 2, 3, 3, 2})
	f.Add("b...,b->...", []byte{2, 1, 2, 2})
	f.Add("ij,jk,kl->il", []byte{1, 2, 3, 1, 3, 2, 1, 2, 2})
	f.Fuzz(func(t *testing.T, eq string, dims []byte) {
		if len(eq) > 40 {
			return
		}
		next := func() int {
			if len(dims) == 0 {
				return 1
			}
			v := int(dims[0]) % 4
			dims = dims[1:]
			return v
		}
		var in []saIn
		for n := range 1 + strings.Count(eq, ",") {
			if n > 2 {
				break
			}
			shape := make([]int, next()+1)
			for i := range shape {
				shape[i] = next()
			}
			in = append(in, saFeed(randF32(uint64(n), -1, 1, shape...)))
		}
		o, ins, err := saBuild("Einsum", graphdef.Attrs{"equation": eq}, in...)
		if err == nil {
			var out []*classify.Tensor
			if out, err = o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 1)}, ins); err == nil {
				if verr := out[0].Validate(); verr != nil {
					t.Fatalf("%q: %v", eq, verr)
				}
				return
			}
		}
		if !errors.Is(err, classify.ErrInvalidInput) && !errors.Is(err, classify.ErrInvalidGraph) && !errors.Is(err, classify.ErrUnsupportedOp) {
			t.Fatalf("%q: error %q wraps no classify sentinel", eq, err)
		}
	})
}

// refEinsumC evaluates an explicit equation by brute force in complex128
// for operands of any dtype Einsum takes, returning the output's values
// and shape. A real product carries an exact zero imaginary part, so the
// real parts are the float64 evaluation.
func refEinsumC(eq string, xs []*classify.Tensor) ([]complex128, classify.Shape) {
	lhs, out, _ := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	size := map[byte]int{}
	var labels []byte
	for i, term := range terms {
		for j := range len(term) {
			if _, ok := size[term[j]]; !ok {
				labels = append(labels, term[j])
			}
			size[term[j]] = xs[i].Shape[j]
		}
	}
	n := 1
	var oshape classify.Shape
	for j := range len(out) {
		oshape = append(oshape, size[out[j]])
		n *= size[out[j]]
	}
	acc := make([]complex128, n)
	val := map[byte]int{}
	flat := func(term string, shape classify.Shape) int {
		o := 0
		for j := range len(term) {
			o = o*shape[j] + val[term[j]]
		}
		return o
	}
	at := func(x *classify.Tensor, i int) complex128 {
		switch d := x.Data.(type) {
		case []float32:
			return complex(float64(d[i]), 0)
		case []float64:
			return complex(d[i], 0)
		case []complex64:
			return complex128(d[i])
		case []complex128:
			return d[i]
		}
		panic("refEinsumC: dtype")
	}
	var rec func(i int)
	rec = func(i int) {
		if i == len(labels) {
			p := complex(1, 0)
			for k, term := range terms {
				p *= at(xs[k], flat(term, xs[k].Shape))
			}
			acc[flat(out, oshape)] += p
			return
		}
		for v := range size[labels[i]] {
			val[labels[i]] = v
			rec(i + 1)
		}
	}
	rec(0)
	return acc, oshape
}

// TestEinsumDTypes runs the contraction, reduction, diagonal and
// multi-operand paths in float64, complex64 and complex128 against a
// brute-force complex128 evaluation, and checks that operands of mixed
// dtypes and T outside TensorFlow's set are refused.
func TestEinsumDTypes(t *testing.T) {
	mk := func(dt classify.DType, seed uint64, shape ...int) *classify.Tensor {
		re, im := randF32(seed, -1, 1, shape...), randF32(seed+1000, -1, 1, shape...)
		x := classify.NewTensor(dt, shape...)
		for i := range re.Float32s() {
			r, m := float64(re.Float32s()[i]), float64(im.Float32s()[i])
			switch d := x.Data.(type) {
			case []float64:
				d[i] = r + m/1024 // more bits than float32 holds
			case []complex64:
				d[i] = complex64(complex(r, m))
			case []complex128:
				d[i] = complex(r+m/1024, m-r/1024)
			}
		}
		return x
	}
	cases := []struct {
		eq     string
		shapes [][]int
	}{
		{"ij,jk->ik", [][]int{{4, 6}, {6, 5}}},
		{"bhqd,bhkd->bhqk", [][]int{{2, 3, 5, 4}, {2, 3, 6, 4}}},
		{"abc,bd->ad", [][]int{{2, 3, 4}, {3, 5}}},
		{"i,j->ij", [][]int{{4}, {5}}},
		{"ijk->j", [][]int{{3, 4, 5}}},
		{"ij->ji", [][]int{{3, 5}}},
		{"bii,bij->bj", [][]int{{2, 3, 3}, {2, 3, 4}}},
		{"ij,jk,kl->il", [][]int{{3, 4}, {4, 5}, {5, 2}}},
		{"ij,jk->ik", [][]int{{4, 0}, {0, 5}}},
	}
	for _, dt := range []classify.DType{classify.Float64, classify.Complex64, classify.Complex128} {
		tol := 1e-12
		if dt == classify.Complex64 {
			tol = 1e-5
		}
		for ci, c := range cases {
			var xs []*classify.Tensor
			var in []saIn
			for j, s := range c.shapes {
				x := mk(dt, uint64(2300+10*ci+j), s...)
				xs, in = append(xs, x), append(in, saFeed(x))
			}
			got, err := saRun(t, "Einsum", graphdef.Attrs{"equation": c.eq, "T": dt, "N": len(in)}, in...)
			if err != nil {
				t.Fatalf("%v %s: %v", dt, c.eq, err)
			}
			if got[0].DType != dt {
				t.Fatalf("%v %s: output is %v", dt, c.eq, got[0].DType)
			}
			want, _ := refEinsumC(c.eq, xs)
			if got[0].Len() != len(want) {
				t.Fatalf("%v %s: %d elements, want %d", dt, c.eq, got[0].Len(), len(want))
			}
			for i, w := range want {
				g := complexAt(got[0], i)
				if d := g - w; real(d)*real(d)+imag(d)*imag(d) > tol*tol*(1+real(w)*real(w)+imag(w)*imag(w)) {
					t.Fatalf("%v %s: element %d = %v, want %v", dt, c.eq, i, g, w)
				}
			}
		}
	}
	a, b := mk(classify.Float64, 1, 2, 3), mk(classify.Complex64, 2, 3, 2)
	if _, err := saRun(t, "Einsum", graphdef.Attrs{"equation": "ij,jk->ik"}, saFeed(a), saFeed(b)); err == nil || !strings.Contains(err.Error(), "operand 1") {
		t.Errorf("float64 x complex64: err = %v, want a dtype error naming operand 1", err)
	}
	if _, err := saRun(t, "Einsum", graphdef.Attrs{"equation": "ij->ji", "T": classify.Int32}, saFeed(saIota(2, 3))); err == nil || !strings.Contains(err.Error(), "int32") {
		t.Errorf("T int32: err = %v, want it refused", err)
	}
}
