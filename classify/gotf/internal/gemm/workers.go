package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The persistent helpers behind Parallel. A call cuts its range into a few
// chunks per worker (boundaries fixed by the range and the worker count,
// so results never depend on timing) and posts them as a job; the caller
// and up to workers-1 helpers claim chunks from it with atomic counters
// until none are left (the caller from the start, helpers from the end;
// see work), so a helper that starts late, or is descheduled by a
// busy machine, costs only the chunks it did not get to, and uneven chunks
// even out. Between jobs a helper spins for spinWait, yielding its P on
// every turn, before it parks: at batch 1 a network's parallel kernels
// follow each other microseconds apart, and waking a parked goroutine
// costs about 100 µs on these VMs (the scheduler's runnext steal and a
// futex wake), as much as a small layer takes. The caller likewise spins
// briefly for the last helpers' chunks before it parks.
//
// Helpers are started on demand and stay; there are at most
// maxHelpers() of them, however many calls run at once: a call that finds
// every helper busy computes its chunks itself.

// spinWait is how long an idle helper, or a caller waiting for helpers,
// looks for work before it parks.
const spinWait = 200 * time.Microsecond

// chunksPerWorker is how many chunks Parallel cuts per worker: enough to
// balance uneven chunks and late starters, few enough that per-chunk setup
// (scratch buffers, B-panel reuse across a chunk's rows) stays negligible.
const chunksPerWorker = 4

// job is one Parallel call.
type job struct {
	f       func(lo, hi int)
	n       int          // the range [0, n)
	chunks  int          // how many pieces it is cut into
	claimed atomic.Int64 // chunks claimed, from either end
	front   atomic.Int64 // chunks the caller claimed (from the start)
	back    atomic.Int64 // chunks helpers claimed (from the end)
	left    atomic.Int64 // chunks not yet finished
	helpers atomic.Int32 // helper slots still open (workers-1 at the start)
	active  atomic.Int32 // helpers inside work: j is reused only at zero
	// state is 0 while chunks run, 1 once the caller has parked on done,
	// 2 once the last chunk finished.
	state atomic.Int32
	done  chan struct{}
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

// bounds returns chunk i's range: chunks of equal size up to one.
func (j *job) bounds(i int) (lo, hi int) {
	return i * j.n / j.chunks, (i + 1) * j.n / j.chunks
}

// work claims and runs chunks until none are left: the caller from the
// start of the range, helpers from its end. Each side's chunks are then
// mostly one contiguous run, the same for every call cut alike, so that on
// two cores a layer's output rows are written by the core whose caches
// the next layer (a copy into a concat, a pool) reads them from, instead
// of being interleaved between the cores.
func (j *job) work(caller bool) {
	for {
		if j.claimed.Add(1) > int64(j.chunks) {
			return
		}
		// At most chunks claims succeed, so the two ends never meet.
		var i int
		if caller {
			i = int(j.front.Add(1) - 1)
		} else {
			i = j.chunks - int(j.back.Add(1))
		}
		lo, hi := j.bounds(i)
		j.f(lo, hi)
		if j.left.Add(-1) == 0 && j.state.Swap(2) == 1 {
			j.done <- struct{}{}
		}
	}
}

var pool struct {
	mu      sync.Mutex
	jobs    []*job        // posted jobs that may still have chunks and open slots
	posted  atomic.Uint64 // bumped whenever a job is posted
	helpers int           // helpers started
	parked  int           // helpers blocked on wake
	wake    chan struct{}
}

func init() { pool.wake = make(chan struct{}, 1024) }

// maxHelpers bounds the helpers started: one fewer than the Ps, since the
// caller works too, plus one so that two concurrent calls can both run
// in parallel on a machine where a Run was given more threads.
func maxHelpers() int { return max(1, runtime.GOMAXPROCS(0)) }

// Parallel splits [0, n) into contiguous ranges and calls f on each, on
// the calling goroutine and up to workers-1 of the package's helpers at
// once. It returns when all calls have. Safe for concurrent use; f must not
// panic.
func Parallel(workers, n int, f func(lo, hi int)) {
	workers = max(1, min(workers, n))
	if workers == 1 {
		f(0, n)
		return
	}
	j := jobPool.Get().(*job)
	j.reset(f, n, workers)
	post(j, workers-1)
	j.work(true)
	unpost(j)
	if j.left.Load() != 0 {
		wait(j)
	}
	// A helper may still be between its last chunk and its failed claim
	// of the next; j goes back to the pool only once it has left.
	for j.active.Load() != 0 {
		runtime.Gosched()
	}
	j.f = nil
	jobPool.Put(j)
}

// reset prepares j for a call on [0, n) with up to workers workers.
func (j *job) reset(f func(lo, hi int), n, workers int) {
	j.f, j.n, j.chunks = f, n, min(n, workers*chunksPerWorker)
	j.claimed.Store(0)
	j.front.Store(0)
	j.back.Store(0)
	j.left.Store(int64(j.chunks))
	j.helpers.Store(int32(workers - 1))
	j.state.Store(0)
}

// post makes j visible to helpers, waking parked ones and starting new
// ones for up to want of them.
func post(j *job, want int) {
	pool.mu.Lock()
	pool.jobs = append(pool.jobs, j)
	pool.posted.Add(1)
	spinning := pool.helpers - pool.parked
	for ; want > spinning && pool.parked > 0; want-- {
		pool.parked--
		pool.wake <- struct{}{}
	}
	for ; want > spinning && pool.helpers < maxHelpers(); want-- {
		pool.helpers++
		go helper()
	}
	pool.mu.Unlock()
}

// unpost removes j from the posted jobs once all its chunks are claimed.
func unpost(j *job) {
	pool.mu.Lock()
	for i, p := range pool.jobs {
		if p == j {
			last := len(pool.jobs) - 1
			pool.jobs[i] = pool.jobs[last]
			pool.jobs[last] = nil
			pool.jobs = pool.jobs[:last]
			break
		}
	}
	pool.mu.Unlock()
}

// wait returns once j's last chunk has finished, spinning briefly first.
func wait(j *job) {
	start := time.Now()
	for j.left.Load() != 0 {
		if time.Since(start) > spinWait {
			if j.state.CompareAndSwap(0, 1) {
				<-j.done
			}
			return
		}
		runtime.Gosched()
	}
}

// claim returns a posted job with unclaimed chunks and an open helper
// slot, taking the slot, or nil.
func claim() *job {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for _, j := range pool.jobs {
		if int(j.claimed.Load()) < j.chunks && j.helpers.Add(-1) >= 0 {
			j.active.Add(1)
			return j
		}
	}
	return nil
}

// helper runs posted jobs' chunks, spinning between jobs and parking after
// spinWait without one.
func helper() {
	for {
		seen := pool.posted.Load()
		if j := claim(); j != nil {
			j.work(false)
			j.active.Add(-1)
			continue
		}
		start := time.Now()
		for pool.posted.Load() == seen && time.Since(start) < spinWait {
			runtime.Gosched()
		}
		if pool.posted.Load() != seen {
			continue
		}
		pool.mu.Lock()
		if pool.posted.Load() != seen {
			pool.mu.Unlock()
			continue
		}
		pool.parked++
		pool.mu.Unlock()
		<-pool.wake
	}
}
