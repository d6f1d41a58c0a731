//go:build !purego

package gemm

//go:noescape
func addClampAVX512(dst, src *float32, n int, lo, hi float32)

// addClamp sets dst[i] = min(max(dst[i]+src[i], lo), hi); src is at least
// as long as dst.
func addClamp(dst, src []float32, lo, hi float32) {
	if hasAVX512 && len(dst) > 0 {
		_ = src[len(dst)-1]
		addClampAVX512(&dst[0], &src[0], len(dst), lo, hi)
		return
	}
	addClampGo(dst, src, lo, hi)
}
