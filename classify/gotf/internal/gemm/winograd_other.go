//go:build !amd64 || purego

package gemm

// winoAsm is empty without assembly: the portable transforms only.
var winoAsm map[int]winoFns
