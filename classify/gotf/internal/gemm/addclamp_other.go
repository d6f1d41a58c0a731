//go:build !amd64 || purego

package gemm

// addClamp sets dst[i] = min(max(dst[i]+src[i], lo), hi); src is at least
// as long as dst.
func addClamp(dst, src []float32, lo, hi float32) { addClampGo(dst, src, lo, hi) }
