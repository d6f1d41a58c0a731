//go:build !amd64

package ops

// poolWinAsm has no assembly here: the caller's loop does every channel.
func poolWinAsm(isMax bool, acc, img []float32, base, c, rs, nh, nw int, div float32) int {
	return 0
}
