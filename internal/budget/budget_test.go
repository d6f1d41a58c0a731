package budget

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestGrowFitsAndReleases(t *testing.T) {
	b := New(100)
	l := b.Lease()
	if err := l.Grow(context.Background(), 60); err != nil {
		t.Fatal(err)
	}
	if err := l.Grow(context.Background(), 40); err != nil {
		t.Fatal(err)
	}
	if b.InUse() != 100 || l.Held() != 100 {
		t.Fatalf("in use %d, held %d", b.InUse(), l.Held())
	}
	l.Shrink(30)
	if b.InUse() != 70 {
		t.Fatalf("after shrink in use %d", b.InUse())
	}
	l.Release()
	l.Release()
	if b.InUse() != 0 || l.Held() != 0 {
		t.Fatalf("after release in use %d, held %d", b.InUse(), l.Held())
	}
}

func TestExceedsWholeBudget(t *testing.T) {
	b := New(100)
	l := b.Lease()
	if err := l.Grow(context.Background(), 101); !errors.Is(err, ErrExceeds) {
		t.Fatalf("err = %v, want ErrExceeds", err)
	}
	if err := l.Grow(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	if err := l.Grow(context.Background(), 51); !errors.Is(err, ErrExceeds) {
		t.Fatalf("held 50 + 51: err = %v, want ErrExceeds", err)
	}
	if b.InUse() != 50 {
		t.Fatalf("a failed Grow reserved: in use %d", b.InUse())
	}
}

func TestWaitsUntilReleased(t *testing.T) {
	b := New(100)
	a := b.Lease()
	if err := a.Grow(context.Background(), 80); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Lease().Grow(context.Background(), 50) }()
	select {
	case err := <-got:
		t.Fatalf("granted while full: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	a.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if b.InUse() != 50 {
		t.Fatalf("in use %d", b.InUse())
	}
}

func TestDeadlineIsBusyCancelIsCanceled(t *testing.T) {
	b := New(100)
	if err := b.Lease().Grow(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.Lease().Grow(ctx, 1); !errors.Is(err, ErrBusy) {
		t.Fatalf("deadline: err = %v, want ErrBusy", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if err := b.Lease().Grow(ctx, 1); !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Fatalf("cancel: err = %v, want context.Canceled", err)
	}
	if b.InUse() != 100 {
		t.Fatalf("failed waits reserved: in use %d", b.InUse())
	}
}

// Two requests each hold part of the budget and each wait for more than is
// left: without deadlock detection both would wait forever.
func TestDeadlockFailsTheLargestHolder(t *testing.T) {
	b := New(100)
	small, large := b.Lease(), b.Lease()
	if err := small.Grow(context.Background(), 30); err != nil {
		t.Fatal(err)
	}
	if err := large.Grow(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	smallDone := make(chan error, 1)
	go func() { smallDone <- small.Grow(context.Background(), 40) }() // needs 40, 20 free
	time.Sleep(10 * time.Millisecond)
	err := large.Grow(context.Background(), 40) // both wait now
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("largest holder: err = %v, want ErrBusy", err)
	}
	select {
	case err := <-smallDone:
		t.Fatalf("small granted before large released: %v", err)
	case <-time.After(10 * time.Millisecond):
	}
	large.Release()
	if err := <-smallDone; err != nil {
		t.Fatalf("small after release: %v", err)
	}
	if small.Held() != 70 || b.InUse() != 70 {
		t.Fatalf("small holds %d, in use %d", small.Held(), b.InUse())
	}
}

// Memory for started requests comes before memory for new ones.
func TestGrowersBeforeFresh(t *testing.T) {
	b := New(100)
	a, c := b.Lease(), b.Lease()
	if err := a.Grow(context.Background(), 50); err != nil {
		t.Fatal(err)
	}
	if err := c.Grow(context.Background(), 40); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 2)
	go func() {
		if b.Lease().Grow(context.Background(), 30) == nil {
			order <- "fresh"
		}
	}()
	time.Sleep(10 * time.Millisecond)
	go func() {
		if a.Grow(context.Background(), 30) == nil {
			order <- "grower"
		}
	}()
	time.Sleep(10 * time.Millisecond)
	c.Release() // 40 free: the grower fits first, then the fresh one does not
	if got := <-order; got != "grower" {
		t.Fatalf("first granted: %s", got)
	}
	a.Release()
	if got := <-order; got != "fresh" {
		t.Fatalf("second granted: %s", got)
	}
}

// Many goroutines growing, shrinking and releasing never leave bytes
// behind or go over the total.
func TestConcurrentAccounting(t *testing.T) {
	b := New(1000)
	var wg sync.WaitGroup
	var over sync.Once
	for i := range 32 {
		wg.Go(func() {
			for j := range 200 {
				l := b.Lease()
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(j%5)*time.Millisecond)
				for k := range 3 {
					if l.Grow(ctx, int64(50+(i*7+j*3+k*11)%200)) != nil {
						break
					}
					if b.InUse() > b.Total() {
						over.Do(func() { t.Errorf("in use %d over total", b.InUse()) })
					}
				}
				l.Shrink(10)
				l.Release()
				cancel()
			}
		})
	}
	wg.Wait()
	if b.InUse() != 0 {
		t.Fatalf("left in use: %d", b.InUse())
	}
}

// A tiny reservation that fits does not wait behind a large waiter.
func TestSmallPassesLargeWaiter(t *testing.T) {
	b := New(1 << 20)
	if err := b.Lease().Grow(context.Background(), 900<<10); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	go b.Lease().Grow(ctx, 500<<10) // waits
	time.Sleep(10 * time.Millisecond)
	small, smallCtx := b.Lease(), context.Background()
	sctx, scancel := context.WithTimeout(smallCtx, 50*time.Millisecond)
	defer scancel()
	if err := small.Grow(sctx, 1<<10); err != nil {
		t.Fatalf("small reservation waited: %v", err)
	}
	// One that is not small queues behind the waiter.
	mctx, mcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer mcancel()
	if err := b.Lease().Grow(mctx, 50<<10); !errors.Is(err, ErrBusy) {
		t.Fatalf("medium reservation jumped the queue: %v", err)
	}
}
