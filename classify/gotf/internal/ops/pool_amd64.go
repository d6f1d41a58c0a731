//go:build amd64

package ops

//go:noescape
func winMaxAVX2(dst, src *float32, n, cs, rs, nh, nw int)

//go:noescape
func winAvgAVX2(dst, src *float32, n, cs, rs, nh, nw int, div float32)

// poolWinAsm reduces one pooling window of the float32 NHWC image img into
// acc with the assembly kernels: the window is the nh x nw pixels from
// offset base, pixels c apart and rows rs apart; avg divides the sum by
// div. It returns how many leading channels it did (a multiple of 8; 0
// without AVX2, or for an empty window, which the kernels cannot take),
// the caller doing the rest.
func poolWinAsm(isMax bool, acc, img []float32, base, c, rs, nh, nw int, div float32) int {
	n := c &^ 7
	if !ewAVX2 || n == 0 || nh < 1 || nw < 1 || nh*nw > 16 && c >= 256 {
		// Large windows over many channels (global pools) are faster
		// through the caller's whole-pixel vector loop, whose call cost
		// is spread over the channels: BenchmarkAvgPool/global_7x7x1024
		// took 4.1 us through the kernel, 3.0 us without.
		return 0
	}
	// The last element the kernel reads; indexing it checks the bounds
	// the assembly does not.
	_ = img[base+(nh-1)*rs+(nw-1)*c+n-1]
	_ = acc[n-1]
	if isMax {
		winMaxAVX2(&acc[0], &img[base], n, c, rs, nh, nw)
	} else {
		winAvgAVX2(&acc[0], &img[base], n, c, rs, nh, nw, div)
	}
	return n
}
