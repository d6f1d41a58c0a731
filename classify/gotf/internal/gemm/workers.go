package gemm

import (
	"runtime"
	"sync"
)

// The persistent workers behind Parallel: goroutines that wait on a
// channel for ranges to compute, so that a parallel kernel hands work to a
// parked goroutine instead of creating one per range per call. The pool
// grows on demand (a range no idle worker takes starts a new one, which
// then stays) up to maxIdleWorkers; past that, extra workers exit after
// their range, so a burst of concurrent runs cannot pin goroutines forever.

// task is one range of a Parallel call.
type task struct {
	f      func(lo, hi int)
	lo, hi int
	wg     *sync.WaitGroup
}

var (
	tasks   = make(chan task)
	idleMu  sync.Mutex
	nworker int
)

// maxIdleWorkers bounds the goroutines kept parked between calls.
func maxIdleWorkers() int { return 2 * runtime.GOMAXPROCS(0) }

// dispatch runs t on an idle worker, or on a new one.
func dispatch(t task) {
	select {
	case tasks <- t:
		return
	default:
	}
	idleMu.Lock()
	keep := nworker < maxIdleWorkers()
	if keep {
		nworker++
	}
	idleMu.Unlock()
	go worker(t, keep)
}

// worker runs t, then, if it is a kept worker, every task it receives.
func worker(t task, keep bool) {
	for {
		t.f(t.lo, t.hi)
		t.wg.Done()
		if !keep {
			return
		}
		t = <-tasks
	}
}
