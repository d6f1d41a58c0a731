package ops

import (
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// The tf.sets docstrings' examples: a = [[[1,2],[3,0]], [[4,5],[6,7]]]
// and b = [[[1,3],[2,0]], [[4,5],[6,8]]] (dense, 0 a value like any other).
func TestSetOperations(t *testing.T) {
	a := saI32([]int32{1, 2, 3, 0, 4, 5, 6, 7}, 2, 2, 2)
	b := saI32([]int32{1, 3, 2, 0, 4, 5, 6, 8}, 2, 2, 2)
	run := func(kind string, in ...*classify.Tensor) []*classify.Tensor {
		op := "DenseToDenseSetOperation"
		if len(in) == 4 {
			op = "DenseToSparseSetOperation"
		}
		return mustRunAttr(t, op, graphdef.Attrs{"T": classify.Int32, "set_operation": kind}, in...)
	}
	// intersection: [[[1], [0]], [[4, 5], [6]]] (rows' values sorted).
	out := run("intersection", a, b)
	wantInts(t, "intersection indices", out[0], 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0)
	wantInts(t, "intersection values", out[1], 1, 0, 4, 5, 6)
	wantInts(t, "intersection shape", out[2], 2, 2, 2)
	// a - b: [[[2], [3]], [[], [7]]].
	out = run("a-b", a, b)
	wantInts(t, "a-b values", out[1], 2, 3, 7)
	wantInts(t, "a-b shape", out[2], 2, 2, 1)
	// union of row [3, 0] and [2, 0]: [0, 2, 3].
	out = run("union", a, b)
	wantInts(t, "union values", out[1], 1, 2, 3, 0, 2, 3, 4, 5, 6, 7, 8)
	wantInts(t, "union shape", out[2], 2, 2, 3)
	// b as a SparseTensor: the same answer.
	sb := []*classify.Tensor{i64m(8, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1), b, i64s(2, 2, 2)}
	sb[1] = saI32([]int32{1, 3, 2, 0, 4, 5, 6, 8}, 8)
	out = run("a-b", a, sb[0], sb[1], sb[2])
	wantInts(t, "dense-sparse a-b values", out[1], 2, 3, 7)
	ss := mustRunAttr(t, "SparseToSparseSetOperation", graphdef.Attrs{"T": classify.Int32, "set_operation": "b-a"}, sb[0], sb[1], sb[2], sb[0], saI32([]int32{1, 2, 3, 0, 4, 5, 6, 7}, 8), sb[2])
	wantInts(t, "sparse-sparse b-a", ss[1], 2, 3, 7) // b is the first example's a
	// SetSize of b: [[2, 2], [2, 2]]; strings too.
	wantInts(t, "set size", mustRunAttr(t, "SetSize", graphdef.Attrs{"T": classify.Int32}, sb[0], sb[1], sb[2])[0], 2, 2, 2, 2)
	st := mustRunAttr(t, "DenseToDenseSetOperation", graphdef.Attrs{"T": classify.String, "set_operation": "union"},
		&classify.Tensor{DType: classify.String, Shape: classify.Shape{1, 2}, Data: [][]byte{[]byte("b"), []byte("a")}},
		&classify.Tensor{DType: classify.String, Shape: classify.Shape{1, 1}, Data: [][]byte{[]byte("c")}})
	if got := strsOf(st[1]); strings.Join(got, ",") != "a,b,c" {
		t.Errorf("string union %q", got)
	}
	for _, tc := range []struct {
		a   graphdef.Attrs
		in  []*classify.Tensor
		msg string
	}{
		{graphdef.Attrs{"T": classify.Int32, "set_operation": "xor"}, []*classify.Tensor{a, b}, "invalid set_operation"},
		{graphdef.Attrs{"T": classify.Int32, "set_operation": "union"}, []*classify.Tensor{a, saI32([]int32{1}, 1, 1)}, "leading dimensions"},
		{graphdef.Attrs{"T": classify.Int32, "set_operation": "union"}, []*classify.Tensor{saI32([]int32{1}, 1), b}, "at least 2-D"},
	} {
		if _, err := runAttrOp(t, "DenseToDenseSetOperation", tc.a, tc.in...); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("err = %v, want %q", err, tc.msg)
		}
	}
}
