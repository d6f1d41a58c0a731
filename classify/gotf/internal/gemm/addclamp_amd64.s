//go:build !purego

#include "textflag.h"

// func addClampAVX512(dst *float32, src *float32, n int, lo float32, hi float32)
// dst[i] = min(max(dst[i]+src[i], lo), hi), a NaN sum staying NaN.
TEXT ·addClampAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS lo+24(FP), Z2
	VBROADCASTSS hi+28(FP), Z3
loop:
	CMPQ CX, $16
	JLT tail
	VMOVUPS (DI), Z0
	VADDPS (SI), Z0, Z0
	VMAXPS Z0, Z2, Z0
	VMINPS Z0, Z3, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP loop
tail:
	TESTQ CX, CX
	JEQ done
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS Z1, Z0, Z0
	VMAXPS Z0, Z2, Z0
	VMINPS Z0, Z3, Z0
	VMOVUPS Z0, K1, (DI)
done:
	VZEROUPPER
	RET
