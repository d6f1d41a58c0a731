//go:build amd64 && !purego

package jpeg

//go:generate go run idct_gen.go

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels. It is set once at start-up (x/sys/cpu
// also checks that the OS saves the YMM registers); only tests write it, to
// run the portable kernels on the same data. Build with -tags purego to
// leave the assembly out altogether.
var useAVX2 = cpu.X86.HasAVX2

// idct8AVX2 is idct8Go in AVX2 (idct_amd64.s, from idct_gen.go): the same
// bits for every input. dst must hold 8 rows of 8 bytes, stride apart.
//
//go:noescape
func idct8AVX2(blk *[64]int16, q *[64]uint16, dst *uint8, stride int)

// idct4AVX2 and idct2AVX2 are idctReducedGo for n = 4 and 2 in AVX2, m
// holding the reduction matrix's weights, each 8 times over.
//
//go:noescape
func idct4AVX2(blk *[64]int16, q *[64]uint16, dst *uint8, stride int, m *[32][8]int32)

//go:noescape
func idct2AVX2(blk *[64]int16, q *[64]uint16, dst *uint8, stride int, m *[16][8]int32)

// redBcast4 and redBcast2 are redMat4 and redMat2 with every weight
// broadcast to a vector, as the reduced kernels read them.
var redBcast4, redBcast2 = broadcast8(redMat4[:]), broadcast8(redMat2[:16])

func broadcast8(m []int32) [][8]int32 {
	v := make([][8]int32, len(m))
	for i, w := range m {
		for j := range v[i] {
			v[i][j] = w
		}
	}
	return v
}

// idctReduced writes n x n samples (n = 4 or 2) for blk to dst.
func idctReduced(n int, blk *[64]int16, q *[64]uint16, dst []uint8, stride int) {
	if !useAVX2 {
		idctReducedGo(n, blk, q, dst, stride)
		return
	}
	_ = dst[(n-1)*stride+n-1]
	if n == 4 {
		idct4AVX2(blk, q, &dst[0], stride, (*[32][8]int32)(redBcast4))
	} else {
		idct2AVX2(blk, q, &dst[0], stride, (*[16][8]int32)(redBcast2))
	}
}

// yccToRGBAVX2 converts the first n pixels (n a multiple of 16) of y, cb,
// cr into out (3n bytes), as yccToRGBGo.
//
//go:noescape
func yccToRGBAVX2(out, y, cb, cr *uint8, n int)

// h2v1AVX2 writes 2n samples to dst (n a multiple of 16): for k < n,
// dst[2k] and dst[2k+1] are the fancy 2x1 upsampling of r[k+1] between its
// neighbours r[k] and r[k+2]. r must hold n+2 bytes.
//
//go:noescape
func h2v1AVX2(dst, r *uint8, n int)

// h2v2AVX2 is h2v1AVX2 for 2x2 sampling: the column sums 3*r0[i]+r1[i]
// take the place of r's samples.
//
//go:noescape
func h2v2AVX2(dst, r0, r1 *uint8, n int)

// v2AVX2 writes n samples (n a multiple of 16) of fancy 1x2 upsampling:
// dst[k] = (3*r0[k] + r1[k] + bias) >> 2.
//
//go:noescape
func v2AVX2(dst, r0, r1 *uint8, n int, bias uint16)

// idct8 dequantises blk with q and writes 8x8 samples to dst (stride).
func idct8(blk *[64]int16, q *[64]uint16, dst []uint8, stride int) {
	if !useAVX2 {
		idct8Go(blk, q, dst, stride)
		return
	}
	_ = dst[7*stride+7]
	idct8AVX2(blk, q, &dst[0], stride)
}

// yccToRGB converts len(y) pixels to interleaved RGB in out.
func yccToRGB(out, y, cb, cr []uint8) {
	n := len(y)
	if !useAVX2 || n < 16 {
		yccToRGBGo(out, y, cb, cr)
		return
	}
	m := n &^ 15
	_, _, _ = out[3*n-1], cb[n-1], cr[n-1]
	yccToRGBAVX2(&out[0], &y[0], &cb[0], &cr[0], m)
	if m < n {
		// The last 16 pixels again: the overlap gets the same values.
		k := n - 16
		yccToRGBAVX2(&out[3*k], &y[k], &cb[k], &cr[k], 16)
	}
}

// upsampleFast fills dst as upsampleRow does for fancy 2x1, 2x2 and 1x2
// sampling, the AVX2 kernels doing the output samples whose neighbours need
// no clamping; it returns false, leaving the row to upsampleRow's portable
// code, for every other case.
func (d *decoder) upsampleFast(c *component, y int, dst []uint8) bool {
	if !useAVX2 || d.g.scale >= 8 || len(dst) < 64 {
		return false
	}
	if c.fx == 1 && c.fy == 2 {
		// Vertical only: no neighbours along the row, no edges.
		cy := y >> 1
		ny, bias := cy+1, uint16(2)
		if y&1 == 0 {
			ny, bias = cy-1, 1
		}
		i := d.g.out.Min.X - c.px0
		r0, r1 := c.prow(cy)[i:i+len(dst)], c.prow(ny)[i:i+len(dst)]
		n := len(dst)
		v2AVX2(&dst[0], &r0[0], &r1[0], n&^15, bias)
		if k := n - 16; n&15 != 0 {
			v2AVX2(&dst[k], &r0[k], &r1[k], 16, bias)
		}
		return true
	}
	if c.fx != 2 || c.cw <= 2 {
		return false
	}
	var r0, r1 []uint8
	switch c.fy {
	case 1:
		r0 = c.prow(y)
	case 2:
		cy := y >> 1
		ny := cy + 1
		if y&1 == 0 {
			ny = cy - 1
		}
		r0, r1 = c.prow(cy), c.prow(ny)
	default:
		return false
	}
	x0, last := d.g.out.Min.X, c.cw-1
	// Chroma samples i whose pair 2i, 2i+1 is in dst and whose neighbours
	// i-1, i+1 are valid samples inside the plane row.
	lo := max((x0+1)>>1, 1, c.px0+1)
	hi := min((x0+len(dst))>>1, last, c.px0+len(r0)-1)
	n := hi - lo
	if n < 16 {
		return false
	}
	k0 := 2*lo - x0
	// Whole vectors from lo, then the last 16 samples again if n is no
	// multiple of 16: the overlap is written twice with the same values.
	for _, i := range [2]int{lo, hi - 16} {
		m := n &^ 15
		if i != lo {
			if n&15 == 0 {
				break
			}
			m = 16
		}
		out := dst[2*i-x0 : 2*(i+m)-x0]
		a := r0[i-1-c.px0 : i+1+m-c.px0]
		if r1 == nil {
			h2v1AVX2(&out[0], &a[0], m)
		} else {
			b := r1[i-1-c.px0 : i+1+m-c.px0]
			h2v2AVX2(&out[0], &a[0], &b[0], m)
		}
	}
	// The few samples before and after: the portable formulas, neighbours
	// clamped to the valid columns as libjpeg replicates the edge.
	for k := 0; k < k0; k++ {
		dst[k] = c.fancyAt(r0, r1, x0+k)
	}
	for k := k0 + 2*n; k < len(dst); k++ {
		dst[k] = c.fancyAt(r0, r1, x0+k)
	}
	return true
}

// fancyAt is output column x of fancy 2x1 (r1 nil) or 2x2 upsampling
// between chroma rows r0 and r1, as upsampleRow computes it.
func (c *component) fancyAt(r0, r1 []uint8, x int) uint8 {
	last := c.cw - 1
	i := x >> 1
	nb, bias := i+1, int32(2)
	if x&1 == 0 {
		nb, bias = i-1, 1
	}
	ci := max(0, min(i, last)) - c.px0
	cn := max(0, min(nb, last)) - c.px0
	if r1 == nil {
		return uint8((3*int32(r0[ci]) + int32(r0[cn]) + bias) >> 2)
	}
	cur := 3*int32(r0[ci]) + int32(r1[ci])
	nxt := 3*int32(r0[cn]) + int32(r1[cn])
	return uint8((3*cur + nxt + 7 + bias&1) >> 4)
}
