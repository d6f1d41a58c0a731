//go:build !purego

package gemm

//go:generate go run winograd_asmgen.go -out winograd_amd64.s

//go:noescape
func winoIn2AVX512(src *float32, rs, cs int, dst *float32, ds, nc int, tmp *float32)

//go:noescape
func winoIn4AVX512(src *float32, rs, cs int, dst *float32, ds, nc int, tmp *float32)

//go:noescape
func winoOut2AVX512(src *float32, ss int, dst *float32, rs, cs, nk int, bias, res *float32, lo, hi float32, tmp *float32)

//go:noescape
func winoOut2ResAVX512(src *float32, ss int, dst *float32, rs, cs, nk int, bias, res *float32, lo, hi float32, tmp *float32)

//go:noescape
func winoOut4AVX512(src *float32, ss int, dst *float32, rs, cs, nk int, bias, res *float32, lo, hi float32, tmp *float32)

//go:noescape
func winoOut4ResAVX512(src *float32, ss int, dst *float32, rs, cs, nk int, bias, res *float32, lo, hi float32, tmp *float32)

// winoAsm holds the AVX-512 transforms, by output tile size, when the CPU
// has AVX-512.
var winoAsm = func() map[int]winoFns {
	if !hasAVX512 {
		return nil
	}
	return map[int]winoFns{
		2: {in: winoIn2AVX512, out: winoOut2AVX512, outRes: winoOut2ResAVX512},
		4: {in: winoIn4AVX512, out: winoOut4AVX512, outRes: winoOut4ResAVX512},
	}
}()
