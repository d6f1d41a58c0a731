package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestEinsumMulti checks equations of three to five operands against the
// brute-force refEinsum, which multiplies all operands at once for every
// assignment of the labels (no pairwise order to share a mistake with).
func TestEinsumMulti(t *testing.T) {
	for i, c := range []struct {
		eq     string
		shapes [][]int
	}{
		{"ij,jk,kl->il", [][]int{{3, 4}, {4, 5}, {5, 2}}},
		{"ij,jk,kl->li", [][]int{{3, 4}, {4, 5}, {5, 2}}},
		{"i,i,i->", [][]int{{6}, {6}, {6}}},
		{"i,j,k->ijk", [][]int{{2}, {3}, {4}}},
		{"bi,bj,bk->bijk", [][]int{{2, 3}, {2, 2}, {2, 4}}},
		{"abc,cd,de->abe", [][]int{{2, 3, 4}, {4, 5}, {5, 3}}},
		{"ab,bc,cd,da->", [][]int{{3, 4}, {4, 2}, {2, 5}, {5, 3}}},
		{"bhq,bhk,bhd->bqkd", [][]int{{2, 3, 2}, {2, 3, 4}, {2, 3, 2}}},
		{"ij,jk,kl,lm,mn->in", [][]int{{2, 3}, {3, 4}, {4, 2}, {2, 5}, {5, 3}}},
		{"ija,jkb,kl->ilab", [][]int{{2, 3, 2}, {3, 4, 3}, {4, 2}}}, // labels kept through two steps
		{"ij,jk,kx->i", [][]int{{3, 4}, {4, 2}, {2, 5}}},            // x summed out of one operand
		{"ij,jk,kl->il", [][]int{{3, 0}, {0, 5}, {5, 2}}},           // empty contraction
		{"ij,jk,kl->il", [][]int{{0, 4}, {4, 5}, {5, 2}}},           // empty output
		{"ij,jk,kl->il", [][]int{{20, 30}, {30, 40}, {40, 10}}},
	} {
		var xs []*classify.Tensor
		var in []saIn
		for j, s := range c.shapes {
			x := randF32(uint64(2100+10*i+j), -1, 1, s...)
			xs, in = append(xs, x), append(in, saFeed(x))
		}
		got, err := saRun(t, "Einsum", graphdef.Attrs{"equation": c.eq, "N": len(xs)}, in...)
		if err != nil {
			t.Fatalf("%s: %v", c.eq, err)
		}
		if msg := compare(got[0], refEinsum(c.eq, xs), 0, 0); msg != "" {
			t.Errorf("%s %v: %s", c.eq, c.shapes, msg)
		}
	}
}

// TestEinsumMultiEllipsis: an ellipsis and an implicit output over three
// operands give what the spelled-out equation gives.
func TestEinsumMultiEllipsis(t *testing.T) {
	a, b, c := randF32(1, -1, 1, 2, 3, 4), randF32(2, -1, 1, 2, 4, 5), randF32(3, -1, 1, 2, 5, 3)
	for _, eqs := range [][2]string{
		{"...ij,...jk,...kl->...il", "zij,zjk,zkl->zil"},
		{"zij,zjk,zkl", "zij,zjk,zkl->il"}, // labels used once, in order
		{"zij,zjk,zkl->z", "zij,zjk,zkl->z"},
	} {
		got, err := saRun(t, "Einsum", graphdef.Attrs{"equation": eqs[0]}, saFeed(a), saFeed(b), saFeed(c))
		if err != nil {
			t.Fatalf("%s: %v", eqs[0], err)
		}
		if msg := compare(got[0], refEinsum(eqs[1], []*classify.Tensor{a, b, c}), 0, 0); msg != "" {
			t.Errorf("%s: %s", eqs[0], msg)
		}
	}
	saCheckShapes(t, []saShapeCase{
		{name: "chain", op: "Einsum", attrs: graphdef.Attrs{"equation": "ij,jk,kl->li"},
			in: []classify.TensorInfo{saF32Info(3, 4), saF32Info(4, 5), saF32Info(5, 2)}, want: []classify.TensorInfo{saF32Info(2, 3)}},
	})
}
