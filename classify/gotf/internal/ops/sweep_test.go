package ops

import (
	"fmt"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestNoPanicSweep builds and runs every registered op on one to three
// inputs of empty, scalar and small shapes, float32 and int32, with and
// without its T attribute: whatever the op makes of them, its builder and
// kernel must answer with an error or a result, never a panic. (The engine
// turns panics into errors too, but one that names a Go runtime failure
// tells the user nothing about the graph.)
func TestNoPanicSweep(t *testing.T) {
	shapes := [][]int{{}, {0}, {2, 0}, {0, 3}, {2, 3}, {1, 0, 2, 3}, {1, 2, 2, 3}}
	attrSets := []graphdef.Attrs{nil, {"T": classify.Float32}, {"T": classify.Int32}}
	for _, op := range Registered() {
		for _, attrs := range attrSets {
			for _, dt := range []classify.DType{classify.Float32, classify.Int32} {
				for _, sh := range shapes {
					for n := 1; n <= 3; n++ {
						if r := sweepOne(op, attrs, dt, sh, n); r != nil {
							t.Errorf("%s %v on %d %v%v: panic: %.200v", op, attrs, n, dt, sh, fmt.Sprint(r))
						}
					}
				}
			}
		}
	}
}

// sweepOne builds op on n inputs of dt and shape sh and runs it, returning
// what it panicked with, if it did. Not saRun: nothing is compared, so
// nothing counts as coverage.
func sweepOne(op string, attrs graphdef.Attrs, dt classify.DType, sh []int, n int) (r any) {
	defer func() { r = recover() }()
	in := make([]saIn, n)
	for i := range in {
		in[i] = saFeed(classify.NewTensor(dt, sh...))
	}
	if o, xs, err := saBuild(op, attrs, in...); err == nil {
		_, _ = o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 4)}, xs)
	}
	return nil
}
