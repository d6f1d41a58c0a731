//go:build unix

package png

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time, GC workers included: on a
// shared machine wall-clock ns/op swings with other load, CPU time per op
// much less.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
