//go:build !amd64 || purego

package jpeg

// Without assembly (other architectures, or -tags purego) the kernels are
// the portable Go ones.

func idct8(blk *[64]int16, q *[64]uint16, dst []uint8, stride int) { idct8Go(blk, q, dst, stride) }

func yccToRGB(out, y, cb, cr []uint8) { yccToRGBGo(out, y, cb, cr) }

// upsampleFast reports that no fast path exists: upsampleRow's portable
// code does the work.
func (d *decoder) upsampleFast(*component, int, []uint8) bool { return false }

func idctReduced(n int, blk *[64]int16, q *[64]uint16, dst []uint8, stride int) {
	idctReducedGo(n, blk, q, dst, stride)
}
