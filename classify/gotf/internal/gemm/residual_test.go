package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestGemmResidual(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, kern := range Kernels() {
		for _, sz := range [][3]int{{1, 1, 1}, {13, 33, 7}, {49, 300, 150}, {200, 64, 96}} {
			for _, act := range []Act{ActNone, ActRelu, ActRelu6, ActElu} {
				m, n, k := sz[0], sz[1], sz[2]
				t.Run(fmt.Sprintf("%s/%dx%dx%d/act%d", kern.Name, m, n, k, act), func(t *testing.T) {
					a, b, bias := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, n)
					ldc := n + 3
					res := randSlice(r, m*ldc)
					lin := naive(m, n, k, a, k, b, n, false, bias, ActNone, 0)
					pb := PackBWith(kern, b, k, n, n, false)
					var post *Epilogue
					if act != ActNone {
						post = NewEpilogue(nil, n, act, 0)
					}
					for _, threads := range []int{1, 2} {
						c := randSlice(r, m*ldc)
						if err := GemmResidual(threads, &A{M: m, Data: a, Stride: k}, pb, c, ldc, NewEpilogue(bias, n, ActNone, 0), res, post); err != nil {
							t.Fatal(err)
						}
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								w := float64(lin[i*n+j] + res[i*ldc+j])
								switch act {
								case ActRelu:
									w = max(w, 0)
								case ActRelu6:
									w = min(max(w, 0), 6)
								case ActElu:
									if w < 0 {
										w = math.Expm1(w)
									}
								}
								if d := math.Abs(float64(c[i*ldc+j]) - w); d > 1e-4+1e-5*math.Abs(w)+1e-6*float64(k) {
									t.Fatalf("threads %d: C[%d][%d] = %v, want %v", threads, i, j, c[i*ldc+j], w)
								}
							}
						}
					}
				})
			}
		}
	}
	pb := PackB(make([]float32, 4), 2, 2, 2, false)
	if err := GemmResidual(1, &A{M: 2, Data: make([]float32, 4), Stride: 2}, pb, make([]float32, 4), 2, NewEpilogue(nil, 2, ActRelu, 0), make([]float32, 4), nil); err == nil {
		t.Error("a residual GEMM with an activation in its first epilogue succeeded")
	}
	if err := GemmResidual(1, &A{M: 2, Data: make([]float32, 4), Stride: 2}, pb, make([]float32, 4), 2, nil, make([]float32, 3), nil); err == nil {
		t.Error("a residual GEMM with a short residual succeeded")
	}
}

func TestAddClamp(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	nan := float32(math.NaN())
	for _, n := range []int{0, 1, 15, 16, 17, 33, 100} {
		for _, b := range [][2]float32{{0, 6}, {0, float32(math.Inf(1))}, {float32(math.Inf(-1)), float32(math.Inf(1))}} {
			dst, src := randSlice(r, n), randSlice(r, n)
			if n > 2 {
				dst[2] = nan
			}
			want := append([]float32(nil), dst...)
			addClampGo(want, src, b[0], b[1])
			addClamp(dst, src, b[0], b[1])
			for i := range want {
				if dst[i] != want[i] && !(math.IsNaN(float64(dst[i])) && math.IsNaN(float64(want[i]))) {
					t.Fatalf("n %d bounds %v: dst[%d] = %v, want %v", n, b, i, dst[i], want[i])
				}
			}
			if n > 2 && !math.IsNaN(float64(dst[2])) {
				t.Fatalf("n %d bounds %v: a NaN sum became %v", n, b, dst[2])
			}
		}
	}
}
