package ops

import (
	"encoding/binary"
	"math/bits"
)

// Fingerprint64 is TensorFlow's tensorflow::Fingerprint64, which is
// FarmHash's Fingerprint64: farmhashna::Hash64 over the bytes, read
// little-endian. StringToHashBucketFast depends on it bit for bit.
func Fingerprint64(s []byte) uint64 {
	n := len(s)
	switch {
	case n <= 16:
		return fhLen0to16(s)
	case n <= 32:
		return fhLen17to32(s)
	case n <= 64:
		return fhLen33to64(s)
	}
	x := uint64(81) // the seed
	y := x*fhK1 + 113
	z := fhShiftMix(y*fhK2+113) * fhK2
	var v1, v2, w1, w2 uint64
	x = x*fhK2 + fetch64(s, 0)
	end := ((n - 1) / 64) * 64
	last64 := end + ((n - 1) & 63) - 63
	for p := 0; p != end; p += 64 {
		x = bits.RotateLeft64(x+y+v1+fetch64(s, p+8), -37) * fhK1
		y = bits.RotateLeft64(y+v2+fetch64(s, p+48), -42) * fhK1
		x ^= w2
		y += v1 + fetch64(s, p+40)
		z = bits.RotateLeft64(z+w1, -33) * fhK1
		v1, v2 = fhWeak32(s, p, v2*fhK1, x+w1)
		w1, w2 = fhWeak32(s, p+32, z+w2, y+fetch64(s, p+16))
		z, x = x, z
	}
	mul := fhK1 + ((z & 0xff) << 1)
	p := last64
	w1 += uint64((n - 1) & 63)
	v1 += w1
	w1 += v1
	x = bits.RotateLeft64(x+y+v1+fetch64(s, p+8), -37) * mul
	y = bits.RotateLeft64(y+v2+fetch64(s, p+48), -42) * mul
	x ^= w2 * 9
	y += v1*9 + fetch64(s, p+40)
	z = bits.RotateLeft64(z+w1, -33) * mul
	v1, v2 = fhWeak32(s, p, v2*mul, x+w1)
	w1, w2 = fhWeak32(s, p+32, z+w2, y+fetch64(s, p+16))
	z, x = x, z
	return fhLen16(fhLen16(v1, w1, mul)+fhShiftMix(y)*fhK0+z, fhLen16(v2, w2, mul)+x, mul)
}

const (
	fhK0 = 0xc3a5c85c97cb3127
	fhK1 = 0xb492b66fbe98f273
	fhK2 = 0x9ae16a3b2f90404f
)

func fetch64(s []byte, i int) uint64 { return binary.LittleEndian.Uint64(s[i:]) }
func fetch32(s []byte, i int) uint64 { return uint64(binary.LittleEndian.Uint32(s[i:])) }

func fhShiftMix(v uint64) uint64 { return v ^ (v >> 47) }

func fhLen16(u, v, mul uint64) uint64 {
	a := (u ^ v) * mul
	a ^= a >> 47
	b := (v ^ a) * mul
	b ^= b >> 47
	return b * mul
}

func fhLen0to16(s []byte) uint64 {
	n := uint64(len(s))
	switch {
	case n >= 8:
		mul := fhK2 + n*2
		a := fetch64(s, 0) + fhK2
		b := fetch64(s, len(s)-8)
		c := bits.RotateLeft64(b, -37)*mul + a
		d := (bits.RotateLeft64(a, -25) + b) * mul
		return fhLen16(c, d, mul)
	case n >= 4:
		mul := fhK2 + n*2
		a := fetch32(s, 0)
		return fhLen16(n+(a<<3), fetch32(s, len(s)-4), mul)
	case n > 0:
		a, b, c := uint32(s[0]), uint32(s[n>>1]), uint32(s[n-1])
		y := a + b<<8
		z := uint32(n) + c<<2
		return fhShiftMix(uint64(y)*fhK2^uint64(z)*fhK0) * fhK2
	}
	return fhK2
}

func fhLen17to32(s []byte) uint64 {
	n := uint64(len(s))
	mul := fhK2 + n*2
	a := fetch64(s, 0) * fhK1
	b := fetch64(s, 8)
	c := fetch64(s, len(s)-8) * mul
	d := fetch64(s, len(s)-16) * fhK2
	return fhLen16(bits.RotateLeft64(a+b, -43)+bits.RotateLeft64(c, -30)+d, a+bits.RotateLeft64(b+fhK2, -18)+c, mul)
}

func fhLen33to64(s []byte) uint64 {
	n := uint64(len(s))
	mul := fhK2 + n*2
	a := fetch64(s, 0) * fhK2
	b := fetch64(s, 8)
	c := fetch64(s, len(s)-8) * mul
	d := fetch64(s, len(s)-16) * fhK2
	y := bits.RotateLeft64(a+b, -43) + bits.RotateLeft64(c, -30) + d
	z := fhLen16(y, a+bits.RotateLeft64(b+fhK2, -18)+c, mul)
	e := fetch64(s, 16) * mul
	f := fetch64(s, 24)
	g := (y + fetch64(s, len(s)-32)) * mul
	h := (z + fetch64(s, len(s)-24)) * mul
	return fhLen16(bits.RotateLeft64(e+f, -43)+bits.RotateLeft64(g, -30)+h, e+bits.RotateLeft64(f+a, -18)+g, mul)
}

// fhWeak32 is WeakHashLen32WithSeeds over the 32 bytes at s[p:].
func fhWeak32(s []byte, p int, a, b uint64) (uint64, uint64) {
	w, x, y, z := fetch64(s, p), fetch64(s, p+8), fetch64(s, p+16), fetch64(s, p+24)
	a += w
	b = bits.RotateLeft64(b+a+z, -21)
	c := a
	a += x
	a += y
	b += bits.RotateLeft64(a, -44)
	return a + z, b + c
}
