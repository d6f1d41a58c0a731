//go:build !purego

package gemm

//go:generate go run depthwise_asmgen.go -out depthwise_amd64.s

//go:noescape
func dw3x3x4AVX512(r *DWRow)

// The AVX-512 depthwise kernel's Run3x3 is dw3x3x4AVX512, which computes
// four stride-1 pixels at once and otherwise matches dw3x3AVX512 (kept as
// the "avx512-1px" kernel for the tests that compare the two).
func init() {
	for _, k := range dwAvailable {
		if k.Name == "avx512" {
			dwAVX512OnePixel = &DWKernel{Name: "avx512-1px", fn: k.fn, dense3x3: k.dense3x3}
			k.dense3x3 = dw3x3x4AVX512
		}
	}
}
