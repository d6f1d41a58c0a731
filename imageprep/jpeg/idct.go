package jpeg

import "math"

// The 8x8 inverse DCT is the Loeffler-Ligtenberg-Moschytz factorisation in
// 13-bit fixed point with two extra bits between passes, the arithmetic of
// libjpeg's "islow" method, so that full-scale output agrees with djpeg
// -dct int to the last bit in nearly every sample.
const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

func clamp8(x int32) uint8 {
	if uint32(x) > 255 {
		if x < 0 {
			return 0
		}
		return 255
	}
	return uint8(x)
}

// idct8Go dequantises blk with q and writes 8x8 samples to dst (stride);
// it is the portable form of idct8 (see kernels_amd64.go).
func idct8Go(blk *[64]int16, q *[64]uint16, dst []uint8, stride int) {
	var ws [64]int32
	for x := 0; x < 8; x++ {
		// Columns whose AC terms are all zero (most of them) are flat.
		if blk[8+x]|blk[16+x]|blk[24+x]|blk[32+x]|blk[40+x]|blk[48+x]|blk[56+x] == 0 {
			dc := int32(blk[x]) * int32(q[x]) << pass1Bits
			for y := 0; y < 8; y++ {
				ws[y*8+x] = dc
			}
			continue
		}
		var in [8]int32
		for y := 0; y < 8; y++ {
			in[y] = int32(blk[y*8+x]) * int32(q[y*8+x])
		}
		o := idct1d(&in, constBits-pass1Bits)
		for y := 0; y < 8; y++ {
			ws[y*8+x] = o[y]
		}
	}
	const shift = constBits + pass1Bits + 3
	for y := 0; y < 8; y++ {
		row := (*[8]int32)(ws[y*8 : y*8+8])
		out := dst[y*stride : y*stride+8]
		if row[1]|row[2]|row[3]|row[4]|row[5]|row[6]|row[7] == 0 {
			v := clamp8((row[0]+(1<<(pass1Bits+2)))>>(pass1Bits+3) + 128)
			for i := range out {
				out[i] = v
			}
			continue
		}
		o := idct1d(row, shift)
		for i := 0; i < 8; i++ {
			out[i] = clamp8(o[i] + 128)
		}
	}
}

// idct1d is one 8-point LL&M pass; outputs are descaled by shift bits.
func idct1d(in *[8]int32, shift uint) [8]int32 {
	z2, z3 := in[2], in[6]
	z1 := (z2 + z3) * fix0_541196100
	t2 := z1 - z3*fix1_847759065
	t3 := z1 + z2*fix0_765366865
	t0 := (in[0] + in[4]) << constBits
	t1 := (in[0] - in[4]) << constBits
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2

	o0, o1, o2, o3 := in[7], in[5], in[3], in[1]
	z1 = o0 + o3
	z2 = o1 + o2
	z3 = o0 + o2
	z4 := o1 + o3
	z5 := (z3 + z4) * fix1_175875602
	o0 *= fix0_298631336
	o1 *= fix2_053119869
	o2 *= fix3_072711026
	o3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	o0 += z1 + z3
	o1 += z2 + z4
	o2 += z2 + z3
	o3 += z1 + z4

	r := int32(1) << (shift - 1)
	return [8]int32{
		(t10 + o3 + r) >> shift,
		(t11 + o2 + r) >> shift,
		(t12 + o1 + r) >> shift,
		(t13 + o0 + r) >> shift,
		(t13 - o0 + r) >> shift,
		(t12 - o1 + r) >> shift,
		(t11 - o2 + r) >> shift,
		(t10 - o3 + r) >> shift,
	}
}

// The reduced IDCTs compute what libjpeg's jidctred.c computes: each
// output sample is the sum of the 2 (at 1/2) or 4 (at 1/4) adjacent samples
// the 8-point LL&M IDCT would give along each axis, descaled by the extra
// bits. Each weight is one 13-bit constant, so a matrix product in the
// same fixed point, with the same rounding after each pass, reproduces
// djpeg's reduced output exactly.
var redMat4, redMat2 = reducedMatrix(4), reducedMatrix(2)

// reducedMatrix returns m[x*8+u]: the fixed-point weight of frequency u in
// output x of an n-point reduction.
func reducedMatrix(n int) [32]int32 {
	var m [32]int32
	g := 8 / n
	for x := 0; x < n; x++ {
		for u := 0; u < 8; u++ {
			s := 0.0
			for i := x * g; i < x*g+g; i++ {
				if u == 0 {
					s++
				} else {
					s += math.Sqrt2 * math.Cos(float64(2*i+1)*float64(u)*math.Pi/16)
				}
			}
			m[x*8+u] = int32(math.Round(s * (1 << constBits)))
		}
	}
	return m
}

// idctReducedGo writes n x n samples (n = 4 or 2) for blk to dst; it is the
// portable form of idctReduced.
func idctReducedGo(n int, blk *[64]int16, q *[64]uint16, dst []uint8, stride int) {
	m, extra := &redMat4, uint(1)
	if n == 2 {
		m, extra = &redMat2, 2
	}
	// Pass 1, columns: ws[y*8+u] is column u reduced to n rows.
	var ws [32]int32
	sh1 := constBits - pass1Bits + extra
	for u := 0; u < 8; u++ {
		var f [8]int32
		nz := int16(0)
		for v := 0; v < 8; v++ {
			f[v] = int32(blk[v*8+u]) * int32(q[v*8+u])
			nz |= blk[v*8+u]
		}
		if nz == 0 {
			continue
		}
		for y := 0; y < n; y++ {
			w := m[y*8 : y*8+8]
			s := f[0]*w[0] + f[1]*w[1] + f[2]*w[2] + f[3]*w[3] + f[4]*w[4] + f[5]*w[5] + f[6]*w[6] + f[7]*w[7]
			ws[y*8+u] = (s + 1<<(sh1-1)) >> sh1
		}
	}
	sh2 := constBits + pass1Bits + 3 + extra
	for y := 0; y < n; y++ {
		r := ws[y*8 : y*8+8]
		out := dst[y*stride : y*stride+n]
		for x := 0; x < n; x++ {
			w := m[x*8 : x*8+8]
			s := r[0]*w[0] + r[1]*w[1] + r[2]*w[2] + r[3]*w[3] + r[4]*w[4] + r[5]*w[5] + r[6]*w[6] + r[7]*w[7]
			out[x] = clamp8((s+1<<(sh2-1))>>sh2 + 128)
		}
	}
}

// idct1 is the DC-only transform of 1/8 scale.
func idct1(blk *[64]int16, q *[64]uint16) uint8 {
	return clamp8((int32(blk[0])*int32(q[0])+4)>>3 + 128)
}
