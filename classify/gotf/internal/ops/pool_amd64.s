//go:build amd64

// One pooling window per call, the accumulators kept in registers: the
// float32 MaxPool and AvgPool kernels (pool.go) call these once per output
// pixel instead of one vector call per window element, which cost more
// than the arithmetic on Inception's narrow-channel pools. The operand
// order is that of maxVVAVX2 and addVVAVX2 (acc = op(acc, x)), so results
// are bit-identical to the portable loop.

#include "textflag.h"

// Arguments: dst and src point at the first channel of the output pixel
// and of the window's top-left input pixel; n channels (a multiple of 8,
// at least 8) are done; cs and rs are the strides, in elements, of one
// input column and one input row; the window is nh rows by nw columns
// (both at least 1).

// func winMaxAVX2(dst, src *float32, n, cs, rs, nh, nw int)
TEXT ·winMaxAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ cs+24(FP), DX
	MOVQ rs+32(FP), BX
	MOVQ nh+40(FP), R12
	MOVQ nw+48(FP), R13
	SHLQ $2, DX
	SHLQ $2, BX
max32:
	CMPQ CX, $32
	JLT  max8
	MOVQ SI, R8
	VMOVUPS (R8), Y0
	VMOVUPS 32(R8), Y1
	VMOVUPS 64(R8), Y2
	VMOVUPS 96(R8), Y3
	MOVQ R8, R9
	MOVQ R13, R10
	DECQ R10
	MOVQ R12, R11
	JMP  max32col
max32row:
	ADDQ BX, R8
	MOVQ R8, R9
	MOVQ R13, R10
	VMAXPS (R9), Y0, Y0
	VMAXPS 32(R9), Y1, Y1
	VMAXPS 64(R9), Y2, Y2
	VMAXPS 96(R9), Y3, Y3
	DECQ R10
max32col:
	TESTQ R10, R10
	JZ   max32next
	ADDQ DX, R9
	VMAXPS (R9), Y0, Y0
	VMAXPS 32(R9), Y1, Y1
	VMAXPS 64(R9), Y2, Y2
	VMAXPS 96(R9), Y3, Y3
	DECQ R10
	JMP  max32col
max32next:
	DECQ R11
	JNZ  max32row
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  max32
max8:
	CMPQ CX, $8
	JLT  maxdone
	MOVQ SI, R8
	VMOVUPS (R8), Y0
	MOVQ R8, R9
	MOVQ R13, R10
	DECQ R10
	MOVQ R12, R11
	JMP  max8col
max8row:
	ADDQ BX, R8
	MOVQ R8, R9
	MOVQ R13, R10
	VMAXPS (R9), Y0, Y0
	DECQ R10
max8col:
	TESTQ R10, R10
	JZ   max8next
	ADDQ DX, R9
	VMAXPS (R9), Y0, Y0
	DECQ R10
	JMP  max8col
max8next:
	DECQ R11
	JNZ  max8row
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  max8
maxdone:
	VZEROUPPER
	RET

// func winAvgAVX2(dst, src *float32, n, cs, rs, nh, nw int, div float32)
TEXT ·winAvgAVX2(SB), NOSPLIT, $0-60
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ cs+24(FP), DX
	MOVQ rs+32(FP), BX
	MOVQ nh+40(FP), R12
	MOVQ nw+48(FP), R13
	VBROADCASTSS div+56(FP), Y15
	SHLQ $2, DX
	SHLQ $2, BX
avg32:
	CMPQ CX, $32
	JLT  avg8
	MOVQ SI, R8
	VMOVUPS (R8), Y0
	VMOVUPS 32(R8), Y1
	VMOVUPS 64(R8), Y2
	VMOVUPS 96(R8), Y3
	MOVQ R8, R9
	MOVQ R13, R10
	DECQ R10
	MOVQ R12, R11
	JMP  avg32col
avg32row:
	ADDQ BX, R8
	MOVQ R8, R9
	MOVQ R13, R10
	VADDPS (R9), Y0, Y0
	VADDPS 32(R9), Y1, Y1
	VADDPS 64(R9), Y2, Y2
	VADDPS 96(R9), Y3, Y3
	DECQ R10
avg32col:
	TESTQ R10, R10
	JZ   avg32next
	ADDQ DX, R9
	VADDPS (R9), Y0, Y0
	VADDPS 32(R9), Y1, Y1
	VADDPS 64(R9), Y2, Y2
	VADDPS 96(R9), Y3, Y3
	DECQ R10
	JMP  avg32col
avg32next:
	DECQ R11
	JNZ  avg32row
	VDIVPS Y15, Y0, Y0
	VDIVPS Y15, Y1, Y1
	VDIVPS Y15, Y2, Y2
	VDIVPS Y15, Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  avg32
avg8:
	CMPQ CX, $8
	JLT  avgdone
	MOVQ SI, R8
	VMOVUPS (R8), Y0
	MOVQ R8, R9
	MOVQ R13, R10
	DECQ R10
	MOVQ R12, R11
	JMP  avg8col
avg8row:
	ADDQ BX, R8
	MOVQ R8, R9
	MOVQ R13, R10
	VADDPS (R9), Y0, Y0
	DECQ R10
avg8col:
	TESTQ R10, R10
	JZ   avg8next
	ADDQ DX, R9
	VADDPS (R9), Y0, Y0
	DECQ R10
	JMP  avg8col
avg8next:
	DECQ R11
	JNZ  avg8row
	VDIVPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  avg8
avgdone:
	VZEROUPPER
	RET
