package ops

import (
	"math"
	"math/bits"
	"reflect"
	"slices"

	"github.com/classifyd/classifyd/classify"
)

// Arena lends the buffers behind the values of one Run, so that a value
// whose last reader has run gives its memory to a later step. A network
// then works in a few buffers that stay in cache, instead of one buffer
// per step.
//
// The executor calls BeginStep before each kernel, Own on the kernel's
// outputs, EndStep after it, and Release when a value's last reader has
// run. Ctx.Output takes the buffers. An Arena belongs to one Run at a
// time; it is not safe for concurrent use.
type Arena struct {
	bufs []arenaBuf
	free map[uint64][]int32 // key (dtype, size class) → free buffer ids, last freed at the end
	// lentAt[i] is the buffer lent to output index i in the current step
	// (-1: none); lent lists every buffer lent in the step.
	lentAt []int32
	lent   []int32
	run    uint64 // Reset count, for evicting buffers a run no longer uses
}

type arenaBuf struct {
	data      any // the whole buffer
	dt        classify.DType
	n         int // elements
	key       uint64
	base, end uintptr
	refs      int32
	lentNow   bool
	lastRun   uint64
}

// NewArena returns an empty arena.
func NewArena() *Arena { return &Arena{free: map[uint64][]int32{}} }

// sizeClass rounds n up to one of four sizes per power of two, so a
// buffer serves every request within 25 % below its size.
func sizeClass(n int) int {
	if n <= 64 {
		return 64
	}
	s := bits.Len(uint(n - 1)) // 2^s >= n > 2^(s-1)
	q := 1 << (s - 3)
	return (n + q - 1) / q * q
}

func arenaKey(dt classify.DType, size int) uint64 { return uint64(dt)<<56 | uint64(size) }

// BeginStep starts a kernel call that may take buffers for output indices
// below n.
func (a *Arena) BeginStep(n int) {
	a.lentAt = slices.Grow(a.lentAt[:0], n)[:n]
	for i := range a.lentAt {
		a.lentAt[i] = -1
	}
	a.lent = a.lent[:0]
}

// take lends a buffer of at least n elements of dt for output index i; a
// second call for the same index in one step gets the same buffer when it
// is large enough, as the per-node slots did.
func (a *Arena) take(i int, dt classify.DType, n int) *arenaBuf {
	if i >= len(a.lentAt) {
		return nil
	}
	if id := a.lentAt[i]; id >= 0 {
		if b := &a.bufs[id]; b.dt == dt && b.n >= n {
			return b
		}
	}
	size := sizeClass(n)
	key := arenaKey(dt, size)
	var id int32
	if f := a.free[key]; len(f) > 0 {
		id = f[len(f)-1]
		a.free[key] = f[:len(f)-1]
	} else {
		data := classify.NewTensor(dt, size).Data
		if poisonArenas {
			poison(data)
		}
		v := reflect.ValueOf(data)
		base := v.Pointer()
		id = int32(len(a.bufs))
		a.bufs = append(a.bufs, arenaBuf{data: data, dt: dt, n: size, key: key, base: base, end: base + uintptr(size)*v.Type().Elem().Size()})
	}
	b := &a.bufs[id]
	b.lentNow = true
	b.lastRun = a.run
	a.lentAt[i] = id
	a.lent = append(a.lent, id)
	return b
}

// dataPtr is the address of t's first element; ok is false for an empty
// tensor, which no buffer needs to hold.
func dataPtr(t *classify.Tensor) (uintptr, bool) {
	if t == nil || t.Data == nil {
		return 0, false
	}
	v := reflect.ValueOf(t.Data)
	if v.Kind() != reflect.Slice || v.Len() == 0 {
		return 0, false
	}
	return v.Pointer(), true
}

// Own finds the buffer holding an output of the current step: one lent in
// the step, or one of the inputs' buffers (a view such as Reshape's), and
// counts the value as a user of it. It returns the buffer's id, or -1 for
// memory the arena does not manage (constants, feeds, a kernel's own
// allocation). ok is false when the output lies in a buffer that was
// already released: a kernel kept a tensor of an earlier step, and its
// memory may have been reused.
func (a *Arena) Own(t *classify.Tensor, inputs []int32) (id int32, ok bool) {
	p, has := dataPtr(t)
	if !has {
		return -1, true
	}
	for _, j := range a.lent {
		if b := &a.bufs[j]; p >= b.base && p < b.end {
			b.refs++
			return j, true
		}
	}
	for _, j := range inputs {
		if j < 0 {
			continue
		}
		if b := &a.bufs[j]; p >= b.base && p < b.end {
			b.refs++
			return j, true
		}
	}
	for j := range a.bufs {
		if b := &a.bufs[j]; p >= b.base && p < b.end {
			if b.refs == 0 {
				return -1, false
			}
			b.refs++
			return int32(j), true
		}
	}
	return -1, true
}

// Retain counts one more user of buffer id (a value copied to another slot).
func (a *Arena) Retain(id int32) {
	if id >= 0 {
		a.bufs[id].refs++
	}
}

// EndStep frees the buffers of the step that hold none of its outputs
// (its scratch, and outputs nothing reads).
func (a *Arena) EndStep() {
	for _, id := range a.lent {
		b := &a.bufs[id]
		b.lentNow = false
		if b.refs == 0 {
			a.free[b.key] = append(a.free[b.key], id)
		}
	}
	a.lent = a.lent[:0]
	a.lentAt = a.lentAt[:0]
}

// Release drops one user of buffer id; the last user frees it for later
// steps.
func (a *Arena) Release(id int32) {
	if id < 0 {
		return
	}
	b := &a.bufs[id]
	if b.refs--; b.refs == 0 && !b.lentNow {
		a.free[b.key] = append(a.free[b.key], id)
	}
}

// evictAfter is how many runs a buffer may go unused before Reset drops
// it, so a state that once ran a large batch does not keep its memory.
const evictAfter = 8

// Reset frees every buffer at the end of a run, in one fixed order, so
// that runs of one plan at one shape take the same buffers each time. It
// drops buffers unused for evictAfter runs and reports whether it did:
// tensors that pointed into them must then be forgotten by the caller.
func (a *Arena) Reset() (evicted bool) {
	a.run++
	keep := a.bufs[:0]
	for _, b := range a.bufs {
		if a.run-b.lastRun > evictAfter {
			evicted = true
			continue
		}
		b.refs, b.lentNow = 0, false
		keep = append(keep, b)
	}
	clear(a.bufs[len(keep):])
	a.bufs = keep
	for k, f := range a.free {
		if len(f) == 0 && evicted {
			delete(a.free, k)
		} else {
			a.free[k] = f[:0]
		}
	}
	// Pushed highest id first, so the lowest comes out first.
	for id := int32(len(a.bufs)) - 1; id >= 0; id-- {
		k := a.bufs[id].key
		a.free[k] = append(a.free[k], id)
	}
	return evicted
}

// Bytes is the memory the arena holds.
func (a *Arena) Bytes() int64 {
	var n int64
	for _, b := range a.bufs {
		n += int64(b.end - b.base)
	}
	return n
}

// poisonArenas fills new arena buffers with garbage (tests set it), so
// that a kernel that reads an output element before writing it, which a
// zeroed first buffer would hide, fails its tests.
var poisonArenas bool

func poison(data any) {
	switch d := data.(type) {
	case []float32:
		for i := range d {
			d[i] = float32(math.NaN())
		}
	case []float64:
		for i := range d {
			d[i] = math.NaN()
		}
	case []int32:
		for i := range d {
			d[i] = 0x5a5a5a5a
		}
	case []int64:
		for i := range d {
			d[i] = 0x5a5a5a5a5a5a5a5a
		}
	case []uint8:
		for i := range d {
			d[i] = 0x5a
		}
	case []bool:
		for i := range d {
			d[i] = true
		}
	case [][]byte:
		for i := range d {
			d[i] = []byte("poison")
		}
	case []classify.F16:
		for i := range d {
			d[i] = 0x7e00
		}
	case []classify.BF16:
		for i := range d {
			d[i] = 0x7fc0
		}
	case []int8:
		for i := range d {
			d[i] = 0x5a
		}
	case []int16:
		for i := range d {
			d[i] = 0x5a5a
		}
	case []uint16:
		for i := range d {
			d[i] = 0x5a5a
		}
	case []uint32:
		for i := range d {
			d[i] = 0x5a5a5a5a
		}
	case []uint64:
		for i := range d {
			d[i] = 0x5a5a5a5a5a5a5a5a
		}
	case []complex64:
		for i := range d {
			d[i] = complex(float32(math.NaN()), float32(math.NaN()))
		}
	case []complex128:
		for i := range d {
			d[i] = complex(math.NaN(), math.NaN())
		}
	}
}
