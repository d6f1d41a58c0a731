package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"time"

	"github.com/classifyd/classifyd/classify"
)

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		ef      engineFlags
		inputs  feeds
		outputs stringList
		runs    int
		warmup  int
		cpuprof string
		tracef  string
	)
	fs := newFlagSet("bench", "--graph G --input NAME=FILE.npy [--input ...] --output NODE [--runs N] [--threads T]", stderr)
	ef.register(fs)
	fs.Var(&inputs, "input", "feed node NAME with the tensor in FILE.npy (repeatable)")
	fs.Var(&outputs, "output", "node to compute (repeatable, at least one)")
	fs.IntVar(&runs, "runs", 50, "timed runs")
	fs.IntVar(&warmup, "warmup", 5, "untimed runs first (buffers, caches, CPU frequency)")
	fs.StringVar(&cpuprof, "cpuprofile", "", "write a CPU profile of the timed runs to `FILE` (go tool pprof)")
	fs.StringVar(&tracef, "trace", "", "write an execution trace of the timed runs to `FILE` (go tool trace)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := ef.check(); err != nil {
		return err
	}
	if len(outputs) == 0 {
		return usagef("at least one --output is required")
	}
	if runs < 1 || warmup < 0 {
		return usagef("--runs must be at least 1 and --warmup not negative")
	}
	if ef.threads > 0 {
		// At --threads T the whole process gets T cores, as the peers are
		// measured (ONNX Runtime's intra-op threads, one wasm thread): the
		// garbage collector and runtime must not borrow a third core.
		// Restored on return, for callers that run more than one command
		// in a process (the tests).
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(ef.threads))
	}
	threads := runtime.GOMAXPROCS(0)
	x, err := inputs.read()
	if err != nil {
		return err
	}
	m, err := openModel(ctx, &ef, classify.OpenOptions{Outputs: outputs, Inputs: inputs.names()})
	if err != nil {
		return err
	}
	defer m.Close()
	for range warmup {
		if _, err := m.Run(ctx, x, outputs); err != nil {
			return err
		}
	}
	times := make([]time.Duration, runs)
	var before, after runtime.MemStats
	stop, err := startProfiles(cpuprof, tracef)
	if err != nil {
		return err
	}
	runtime.ReadMemStats(&before)
	for i := range times {
		start := time.Now()
		if _, err := m.Run(ctx, x, outputs); err != nil {
			return err
		}
		times[i] = time.Since(start)
	}
	runtime.ReadMemStats(&after)
	if err := stop(); err != nil {
		return err
	}
	s := summarize(times)
	flops := m.Info().FLOPs
	gflops := "unknown"
	if flops > 0 {
		gflops = fmt.Sprintf("%.2f", float64(flops)/s.median.Seconds()/1e9)
	}
	fmt.Fprintf(stdout, "%s ms/run=%.3f p10=%.3f p90=%.3f gflops=%s runs=%d threads=%d flops=%d allocs/run=%d B/run=%d\n",
		ef.engine, ms(s.median), ms(s.p10), ms(s.p90), gflops, runs, threads, flops,
		(after.Mallocs-before.Mallocs)/uint64(runs), (after.TotalAlloc-before.TotalAlloc)/uint64(runs))
	// gotf reports the memory its intermediate values took (per Run).
	if a, ok := m.(interface{ ArenaBytes() int64 }); ok {
		fmt.Fprintf(stdout, "%s arena_bytes=%d\n", ef.engine, a.ArenaBytes())
	}
	return nil
}

// startProfiles starts a CPU profile and an execution trace into the files
// named (either may be empty) and returns the function that stops them and
// closes the files.
func startProfiles(cpuprof, tracef string) (stop func() error, err error) {
	var files []*os.File
	var stops []func()
	stop = func() error {
		for _, s := range stops {
			s()
		}
		var first error
		for _, f := range files {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	create := func(name string) (*os.File, error) {
		f, err := os.Create(name)
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}
	if cpuprof != "" {
		f, err := create(cpuprof)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			stop()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		stops = append(stops, pprof.StopCPUProfile)
	}
	if tracef != "" {
		f, err := create(tracef)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			stop()
			return nil, fmt.Errorf("trace: %w", err)
		}
		stops = append(stops, trace.Stop)
	}
	return stop, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

// stats are order statistics of run times (nearest rank).
type stats struct{ p10, median, p90 time.Duration }

func summarize(times []time.Duration) stats {
	t := slices.Clone(times)
	slices.Sort(t)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(t))+0.5) - 1
		return t[max(0, min(i, len(t)-1))]
	}
	return stats{p10: rank(0.1), median: rank(0.5), p90: rank(0.9)}
}
