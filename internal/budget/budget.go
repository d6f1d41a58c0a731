// Package budget bounds the memory that requests hold at once.
//
// A Budget is a byte count shared by all requests of a process. Each request
// takes a Lease and grows it, step by step, before it allocates: the body as
// it is read, then the decoded pixels its image header implies, then its
// tensors. A Grow that does not fit waits, in arrival order, until others
// release enough or its context ends.
//
// Waiting while holding memory could deadlock: every holder waiting for
// memory that only another holder can free. The Budget detects that state
// (all leases that hold memory are waiting, and none of them fits) and fails
// the waiter holding the most with ErrBusy, so its request answers 503 and
// its memory goes to the others. Leases that already hold memory are served
// before leases that hold none, since finishing started work frees memory
// soonest.
//
// All methods are safe for concurrent use.
package budget

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

var (
	// ErrBusy means the budget could not make room in time: the request
	// should be retried later (503 with Retry-After).
	ErrBusy = errors.New("server is busy")
	// ErrExceeds means a single request needs more than the whole budget;
	// waiting would never help (413).
	ErrExceeds = errors.New("request needs more memory than the budget allows")
)

// smallShare makes a reservation of at most 1/smallShare of the budget
// "small": granted whenever it fits, without queueing.
const smallShare = 256

// Budget is a pool of bytes. The zero value is not usable; call New.
type Budget struct {
	total int64

	mu      sync.Mutex
	used    int64
	holders int // leases holding > 0 bytes
	waiting int // of those, how many are waiting in Grow
	growers []*waiter
	fresh   []*waiter
}

type waiter struct {
	l     *Lease
	n     int64
	ready chan error // buffered(1): nil when granted, ErrBusy when failed
}

// New returns a budget of total bytes (total > 0).
func New(total int64) *Budget {
	if total <= 0 {
		panic("budget: total must be positive")
	}
	return &Budget{total: total}
}

// Total is the budget's size in bytes.
func (b *Budget) Total() int64 { return b.total }

// InUse is the number of bytes reserved right now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Lease is one request's reservations. Its methods may be called from
// several goroutines, but Grow calls on one lease must not overlap (a
// request grows its lease step by step). Release must be called once the
// request no longer holds what it reserved.
type Lease struct {
	b    *Budget
	held int64 // guarded by b.mu
}

// Lease starts an empty lease.
func (b *Budget) Lease() *Lease { return &Lease{b: b} }

// Held is the number of bytes the lease holds.
func (l *Lease) Held() int64 {
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	return l.held
}

// Grow reserves n more bytes, waiting until they fit or ctx ends. It fails
// with ErrExceeds when the lease would hold more than the whole budget,
// with ErrBusy when ctx's deadline passes while waiting (or waiting would
// deadlock), and with ctx's error when ctx is cancelled. A failed Grow
// reserves nothing.
func (l *Lease) Grow(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	b := l.b
	b.mu.Lock()
	if l.held+n > b.total {
		held := l.held
		b.mu.Unlock()
		return fmt.Errorf("%w: %d bytes more on top of %d held, budget %d", ErrExceeds, n, held, b.total)
	}
	queued := len(b.growers) > 0 || (l.held == 0 && len(b.fresh) > 0)
	// A small reservation that fits is granted even past waiters: a
	// 50-byte request must not wait behind a 300 MB one, and so little
	// cannot starve it.
	small := n <= b.total/smallShare
	if (!queued || small) && b.used+n <= b.total {
		b.take(l, n)
		b.mu.Unlock()
		return nil
	}
	w := &waiter{l: l, n: n, ready: make(chan error, 1)}
	if l.held > 0 {
		b.growers = append(b.growers, w)
		b.waiting++
	} else {
		b.fresh = append(b.fresh, w)
	}
	b.settle()
	b.mu.Unlock()

	select {
	case err := <-w.ready:
		return err
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case err := <-w.ready:
			// Granted (or failed) just as ctx ended: a grant must be
			// given back, since the caller sees an error.
			if err == nil {
				b.give(l, n)
				b.settle()
			}
		default:
			b.remove(w)
			b.settle()
		}
		b.mu.Unlock()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w: waited for %d bytes of memory until the deadline", ErrBusy, n)
		}
		return ctx.Err()
	}
}

// Shrink gives back n bytes (at most what the lease holds) before the
// request ends, for memory it no longer holds.
func (l *Lease) Shrink(n int64) {
	b := l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.give(l, min(n, l.held))
	b.settle()
}

// Release gives back everything the lease holds. It may be called more
// than once.
func (l *Lease) Release() {
	b := l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.give(l, l.held)
	b.settle()
}

// take and give move n bytes between the pool and l; b.mu is held.
func (b *Budget) take(l *Lease, n int64) {
	if l.held == 0 {
		b.holders++
	}
	l.held += n
	b.used += n
}

func (b *Budget) give(l *Lease, n int64) {
	if n <= 0 {
		return
	}
	l.held -= n
	b.used -= n
	if l.held == 0 {
		b.holders--
	}
}

// remove takes w out of its queue; b.mu is held.
func (b *Budget) remove(w *waiter) {
	for i, x := range b.growers {
		if x == w {
			b.growers = append(b.growers[:i], b.growers[i+1:]...)
			b.waiting--
			return
		}
	}
	for i, x := range b.fresh {
		if x == w {
			b.fresh = append(b.fresh[:i], b.fresh[i+1:]...)
			return
		}
	}
}

// settle grants waiters in order (growers first) while the head fits, then
// breaks a deadlock if every holder is waiting and none can proceed;
// b.mu is held.
func (b *Budget) settle() {
	for {
		for len(b.growers) > 0 && b.used+b.growers[0].n <= b.total {
			w := b.growers[0]
			b.growers = b.growers[1:]
			b.waiting--
			b.take(w.l, w.n)
			w.ready <- nil
		}
		for len(b.growers) == 0 && len(b.fresh) > 0 && b.used+b.fresh[0].n <= b.total {
			w := b.fresh[0]
			b.fresh = b.fresh[1:]
			b.take(w.l, w.n)
			w.ready <- nil
		}
		if len(b.growers) == 0 || b.waiting < b.holders {
			return
		}
		// Every lease that holds memory is waiting for more and the
		// first of them does not fit: nobody will ever release. Fail the
		// one holding most; its request ends and frees it.
		victim := 0
		for i, w := range b.growers {
			if w.l.held > b.growers[victim].l.held {
				victim = i
			}
		}
		w := b.growers[victim]
		b.growers = append(b.growers[:victim], b.growers[victim+1:]...)
		b.waiting--
		w.ready <- fmt.Errorf("%w: every request holding memory is waiting for more of it", ErrBusy)
		// The victim still holds its memory until its request releases
		// it, so nothing else can be granted yet; but it no longer
		// counts as waiting, which ends the loop.
	}
}
