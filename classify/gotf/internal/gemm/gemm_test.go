package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// naive is the definition: C = act(A·B + bias) in float64.
func naive(m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, bias []float32, act Act, alpha float32) []float32 {
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var bv float32
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(a[i*lda+p]) * float64(bv)
			}
			if bias != nil {
				s += float64(bias[j])
			}
			switch act {
			case ActRelu:
				s = math.Max(s, 0)
			case ActRelu6:
				s = math.Min(math.Max(s, 0), 6)
			case ActElu:
				if s < 0 {
					s = math.Expm1(s)
				}
			case ActLeakyRelu:
				if s < 0 {
					s *= float64(alpha)
				}
			}
			c[i*n+j] = float32(s)
		}
	}
	return c
}

// rowSource serves A's rows from a row-major matrix, exercising the Source path.
type rowSource struct {
	a      []float32
	lda, k int
}

func (s *rowSource) Rows(m0, m1 int, dst []float32) {
	for i := m0; i < m1; i++ {
		copy(dst[(i-m0)*s.k:(i-m0+1)*s.k], s.a[i*s.lda:i*s.lda+s.k])
	}
}

func TestKernelsAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := [][3]int{{1, 1, 1}, {12, 32, 8}, {13, 33, 7}, {6, 16, 1}, {5, 3, 2}, {64, 64, 64}, {49, 17, 100}, {100, 70, 3}, {3, 200, 41}, {37, 8, 0},
		// Few row panels, many column panels, big enough for two workers:
		// the work is split over column groups too.
		{20, 200, 600}, {49, 300, 150},
		// B outweighs A (bHeavy): split by column panels, A in blocks of
		// wideBlockRows, here two of them.
		{90, 180, 1500}}
	for r := 1; r <= 13; r++ {
		sizes = append(sizes, [3]int{r, 40, 9})
	}
	for i := 0; i < 8; i++ {
		sizes = append(sizes, [3]int{1 + r.IntN(90), 1 + r.IntN(90), 1 + r.IntN(300)})
	}
	for _, kern := range Kernels() {
		for _, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			for ti, tc := range []struct {
				act    Act
				bias   bool
				transB bool
				src    bool
				stride int
			}{{ActNone, false, false, false, 0}, {ActRelu6, true, true, false, 3}, {ActRelu, true, false, true, 0}, {ActElu, true, false, false, 1}, {ActLeakyRelu, false, true, true, 0}} {
				name := fmt.Sprintf("%s/%dx%dx%d/%d", kern.Name, m, n, k, ti)
				t.Run(name, func(t *testing.T) {
					lda := k + tc.stride
					a := randSlice(r, max(m*lda, 1))
					ldb := n
					if tc.transB {
						ldb = k
					}
					b := randSlice(r, max(k*n, 1))
					var bias []float32
					if tc.bias {
						bias = randSlice(r, n)
					}
					want := naive(m, n, k, a, lda, b, ldb, tc.transB, bias, tc.act, 0.2)
					pb := PackBWith(kern, b, k, n, ldb, tc.transB)
					var ep *Epilogue
					if tc.bias || tc.act != ActNone {
						ep = NewEpilogue(bias, n, tc.act, 0.2)
					}
					op := &A{M: m, Data: a, Stride: lda}
					if tc.src {
						op = &A{M: m, Src: &rowSource{a, lda, k}}
					}
					for _, threads := range []int{1, 2} {
						ldc := n + 5
						c := randSlice(r, m*ldc)
						if err := Gemm(threads, op, pb, c, ldc, ep); err != nil {
							t.Fatal(err)
						}
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								g, w := c[i*ldc+j], want[i*n+j]
								if d := math.Abs(float64(g - w)); d > 1e-5+1e-5*float64(k)*0.1+1e-5*math.Abs(float64(w)) {
									t.Fatalf("threads %d: C[%d][%d] = %v, want %v", threads, i, j, g, w)
								}
							}
						}
					}
				})
			}
		}
	}
}

func TestGemmErrors(t *testing.T) {
	pb := PackB(make([]float32, 12), 3, 4, 4, false)
	cases := []struct {
		name string
		a    *A
		c    []float32
		ldc  int
	}{
		{"short A", &A{M: 2, Data: make([]float32, 5), Stride: 3}, make([]float32, 8), 4},
		{"short C", &A{M: 2, Data: make([]float32, 6), Stride: 3}, make([]float32, 7), 4},
		{"no A", &A{M: 2}, make([]float32, 8), 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Gemm(1, c.a, pb, c.c, c.ldc, nil); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	// Shapes: the conv-stack layer (56x56 pixels, 3x3x64 → 64) and
	// MobileNet v1 0.25/128 pointwise layers (pixels × cin → cout).
	shapes := []struct {
		name    string
		m, n, k int
	}{
		{"conv3x3_56x56x64", 3136, 64, 576},
		{"mbnet_pw_64x64_8to16", 4096, 16, 8},
		{"mbnet_pw_32x32_32to64", 1024, 64, 32},
		{"mbnet_pw_16x16_64to64", 256, 64, 64},
		{"mbnet_pw_8x8_128to128", 64, 128, 128},
		{"mbnet_pw_4x4_256to256", 16, 256, 256},
		{"square_256", 256, 256, 256},
	}
	for _, kern := range Kernels() {
		for _, s := range shapes {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/t%d", kern.Name, s.name, threads), func(b *testing.B) {
					a := randSlice(r, s.m*s.k)
					pb := PackBWith(kern, randSlice(r, s.k*s.n), s.k, s.n, s.n, false)
					c := make([]float32, s.m*s.n)
					ep := NewEpilogue(randSlice(r, s.n), s.n, ActRelu6, 0)
					op := &A{M: s.m, Data: a, Stride: s.k}
					b.ReportAllocs()
					cpu0 := cpuTime()
					b.SetBytes(int64(4 * (s.m*s.k + s.m*s.n)))
					b.ResetTimer()
					for b.Loop() {
						if err := Gemm(threads, op, pb, c, s.n, ep); err != nil {
							b.Fatal(err)
						}
					}
					flop := 2 * float64(s.m*s.n*s.k) * float64(b.N)
					b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
						b.ReportMetric(flop/cpu/1e9, "GFLOP/s-cpu")
					}
				})
			}
		}
	}
}

func TestParallelCoversOnce(t *testing.T) {
	for _, c := range []struct{ workers, n int }{{1, 5}, {2, 5}, {3, 2}, {4, 17}, {8, 8}, {2, 0}} {
		t.Run(fmt.Sprintf("w%d_n%d", c.workers, c.n), func(t *testing.T) {
			hits := make([]int32, c.n)
			Parallel(c.workers, c.n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i]++ // ranges are disjoint, so no two calls share an index
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("index %d computed %d times", i, h)
				}
			}
		})
	}
}

// TestJobClaimsFromBothEnds checks the split of a call's chunks between
// its caller (from the start) and helpers (from the end): a helper claims
// the first chunk it can, and the caller, starting while that chunk runs,
// takes all the others from the front, none twice.
func TestJobClaimsFromBothEnds(t *testing.T) {
	var j job
	var caller, helper []int
	onCaller := false
	j.reset(func(lo, hi int) {
		if onCaller {
			caller = append(caller, lo)
			return
		}
		helper = append(helper, lo)
		if len(helper) == 1 {
			onCaller = true
			j.work(true)
			onCaller = false
		}
	}, 16, 2) // 8 chunks of 2
	j.work(false)
	if want := []int{14}; !slices.Equal(helper, want) {
		t.Errorf("helper ran chunks starting at %v, want %v", helper, want)
	}
	if want := []int{0, 2, 4, 6, 8, 10, 12}; !slices.Equal(caller, want) {
		t.Errorf("caller ran chunks starting at %v, want %v", caller, want)
	}
	if l := j.left.Load(); l != 0 {
		t.Errorf("%d chunks left unfinished", l)
	}
}

// TestParallelConcurrentCalls runs Parallel from many goroutines at once,
// nested too (a range that calls Parallel itself): every index is computed
// once, and no call has more than its workers running at the same time.
func TestParallelConcurrentCalls(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 200; it++ {
				workers, n := 1+(g+it)%4, (g*7+it*13)%40
				hits := make([]int32, n)
				var running, peak atomic.Int32
				Parallel(workers, n, func(lo, hi int) {
					r := running.Add(1)
					for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
					}
					for i := lo; i < hi; i++ {
						atomic.AddInt32(&hits[i], 1)
					}
					if it%10 == 0 {
						Parallel(2, 3, func(lo, hi int) {})
					}
					running.Add(-1)
				})
				for i, h := range hits {
					if h != 1 {
						errs <- fmt.Sprintf("workers %d n %d: index %d computed %d times", workers, n, i, h)
						return
					}
				}
				if p := peak.Load(); int(p) > workers {
					errs <- fmt.Sprintf("workers %d n %d: %d ranges ran at once", workers, n, p)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// BenchmarkParallel is the cost of one Parallel call whose ranges do almost
// nothing: the hand-off to the helpers and back, as a network at batch 1
// pays it per layer.
func BenchmarkParallel(b *testing.B) {
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			sink := make([]int64, 64)
			for b.Loop() {
				Parallel(workers, 64, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						sink[i]++
					}
				})
			}
		})
	}
}

// BenchmarkGemmStreamedB times products whose B (the weights) comes from
// memory, as in a network where each layer's weights were last touched a
// whole inference ago: each run takes the next of enough packed copies of
// B to overflow the caches (64 MiB). Shapes: Inception v3's 8x8 1x1
// convolutions and a fully connected layer at batch 1.
func BenchmarkGemmStreamedB(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := []struct {
		name    string
		m, n, k int
	}{
		{"incep_8x8_2048to384", 64, 384, 2048},
		{"incep_8x8_1280to320", 64, 320, 1280},
		{"fc_2048to1000", 1, 1000, 2048},
	}
	kern := Default()
	for _, s := range shapes {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", s.name, threads), func(b *testing.B) {
				a := randSlice(r, s.m*s.k)
				pbs := make([]*PackedB, max(2, 64<<20/(4*s.k*s.n)))
				for i := range pbs {
					pbs[i] = PackBWith(kern, randSlice(r, s.k*s.n), s.k, s.n, s.n, false)
				}
				c := make([]float32, s.m*s.n)
				ep := NewEpilogue(randSlice(r, s.n), s.n, ActRelu, 0)
				op := &A{M: s.m, Data: a, Stride: s.k}
				i := 0
				for b.Loop() {
					if err := Gemm(threads, op, pbs[i%len(pbs)], c, s.n, ep); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
