package main

import (
	"bufio"
	"bytes"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
)

// memoryLimit is the memory this process may use: the cgroup's limit
// (v2, then v1) when there is one below the machine's RAM, else the RAM.
// source says which, for the start-up log.
func memoryLimit(readFile func(string) ([]byte, error)) (limit int64, source string) {
	ram := memTotal(readFile)
	limit, source = ram, "RAM"
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := readFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 { // "max": no limit
			continue
		}
		if ram <= 0 || n < ram {
			return n, "cgroup " + f
		}
	}
	return limit, source
}

// memTotal is MemTotal of /proc/meminfo in bytes (0 if unknown).
func memTotal(readFile func(string) ([]byte, error)) int64 {
	b, err := readFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// fallbackBudget is the budget when the machine's memory cannot be read.
const fallbackBudget = 1 << 30

// defaultMemoryBudget is a quarter of memoryLimit: the rest is for the
// models, the engine's buffers, the runtime and whatever else runs there.
func defaultMemoryBudget(readFile func(string) ([]byte, error)) (int64, string) {
	limit, source := memoryLimit(readFile)
	if limit <= 0 {
		return fallbackBudget, "fallback (machine memory unknown)"
	}
	return limit / 4, "a quarter of " + source
}

// gcSlack is what the soft memory limit allows beyond the budget and the
// memory live at start (models, engine state): Go's runtime and the
// requests' small allocations the budget does not count.
const gcSlack = 32 << 20

// setSoftMemoryLimit makes the garbage collector work harder before the
// heap goes past budget + what is live now + gcSlack, so garbage from
// requests does not pile up on top of the budget. GOMEMLIMIT, when set,
// wins. It returns the limit in force.
func setSoftMemoryLimit(budget int64, getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	live := int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	limit := budget + live + gcSlack
	debug.SetMemoryLimit(limit)
	return limit
}
