package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
)

func TestSizeClass(t *testing.T) {
	prev := 0
	for n := 1; n < 1<<20; n += 1 + n/7 {
		c := sizeClass(n)
		if c < n || (n > 64 && 4*c > 5*n+4*(n>>3)) {
			t.Fatalf("sizeClass(%d) = %d: not in [n, 1.25n]", n, c)
		}
		if c < prev {
			t.Fatalf("sizeClass(%d) = %d < sizeClass of a smaller n (%d)", n, c, prev)
		}
		prev = c
	}
}

// TestArenaLending walks the life of buffers through steps: a view keeps
// its input's buffer, scratch is freed at the end of its step, a freed
// buffer serves the next request of its class, and an output lying in a
// released buffer is reported.
func TestArenaLending(t *testing.T) {
	a := NewArena()
	slots := make([]*classify.Tensor, 4)
	ctx := &Ctx{Slots: slots, Arena: a}

	a.BeginStep(2)
	x := ctx.Output(0, classify.Float32, 10, 10)
	scratch := ctx.Output(1, classify.Float32, 1000)
	if again := ctx.Output(0, classify.Float32, 5); again != x || again.Len() != 5 {
		t.Fatalf("a second Output(0) in one step did not reuse its buffer")
	}
	x = ctx.Output(0, classify.Float32, 10, 10)
	xid, ok := a.Own(x, nil)
	if !ok || xid < 0 {
		t.Fatalf("Own(output) = %d, %v", xid, ok)
	}
	a.EndStep()
	if len(a.free[arenaKey(classify.Float32, sizeClass(1000))]) != 1 {
		t.Fatalf("the scratch buffer was not freed at the end of its step")
	}

	// Step 2: a view of x (like Reshape).
	a.BeginStep(1)
	view := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{100}, Data: x.Float32s()[50:]}
	vid, ok := a.Own(view, []int32{xid})
	if !ok || vid != xid {
		t.Fatalf("Own(view) = %d, %v; want x's buffer %d", vid, ok, xid)
	}
	a.EndStep()
	a.Release(xid) // x's last reader has run; the view still holds it
	if a.bufs[xid].refs != 1 {
		t.Fatalf("refs = %d after releasing x, want 1 (the view)", a.bufs[xid].refs)
	}
	a.Release(vid)

	// Step 3: the freed buffer serves a request of its class.
	a.BeginStep(1)
	y := ctx.Output(0, classify.Float32, 97) // the class of 100
	if p, _ := dataPtr(y); p != a.bufs[xid].base {
		t.Fatalf("a freed buffer was not reused")
	}
	// An output in a released buffer that is not lent (the scratch).
	stale := &classify.Tensor{DType: classify.Float32, Shape: classify.Shape{3}, Data: scratch.Float32s()[:3]}
	if _, ok := a.Own(stale, nil); ok {
		t.Fatalf("Own of a released buffer's memory did not report it")
	}
	a.EndStep()
	if a.Reset() {
		t.Fatalf("Reset evicted buffers in use")
	}
	for range evictAfter + 1 {
		a.Reset()
	}
	if len(a.bufs) != 0 || a.Bytes() != 0 {
		t.Fatalf("%d buffers (%d bytes) left after %d idle runs", len(a.bufs), a.Bytes(), evictAfter+1)
	}
}
