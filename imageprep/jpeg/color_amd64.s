//go:build amd64 && !purego

// AVX2 colour conversion and fancy upsampling; kernels_amd64.go declares
// them and decode.go holds the portable Go they are tested against. All
// arithmetic is exact integer arithmetic equal to the portable code's.

#include "textflag.h"

// func yccToRGBAVX2(out, y, cb, cr *uint8, n int)
//
// 16 pixels per iteration in 16-bit lanes. Each term (c*x + 2^15) >> 16 of
// yccToRGBGo is computed exactly: with c split as k*2^16 + c' (c' fitting
// int16), it is k*x + hi(c'*x) + (bit 15 of lo(c'*x)), and the green term's
// two products are summed in 32 bits by VPMADDWD.
TEXT ·yccToRGBAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ cb+16(FP), BX
	MOVQ cr+24(FP), DX
	MOVQ n+32(FP), CX
	VMOVDQU ·yccK+0(SB), Y15
	VMOVDQU ·yccK+32(SB), Y14
	VMOVDQU ·yccK+64(SB), Y13
	VMOVDQU ·yccK+96(SB), Y12
	VMOVDQU ·yccK+128(SB), Y11

ycc_loop:
	CMPQ CX, $16
	JLT  ycc_done
	VPMOVZXBW (SI), Y0
	VPMOVZXBW (BX), Y1
	VPMOVZXBW (DX), Y2
	VPSUBW    Y15, Y1, Y1
	VPSUBW    Y15, Y2, Y2

	// R = y + cr + ((26345*cr + 2^15) >> 16)
	VPMULHW Y14, Y2, Y3
	VPMULLW Y14, Y2, Y4
	VPSRLW  $15, Y4, Y4
	VPADDW  Y4, Y3, Y3
	VPADDW  Y2, Y3, Y3
	VPADDW  Y0, Y3, Y3

	// B = y + 2*cb + ((-14942*cb + 2^15) >> 16)
	VPMULHW Y13, Y1, Y5
	VPMULLW Y13, Y1, Y4
	VPSRLW  $15, Y4, Y4
	VPADDW  Y4, Y5, Y5
	VPADDW  Y1, Y5, Y5
	VPADDW  Y1, Y5, Y5
	VPADDW  Y0, Y5, Y5

	// G = y - cr + ((-22554*cb + 18734*cr + 2^15) >> 16)
	VPUNPCKLWD Y2, Y1, Y6
	VPUNPCKHWD Y2, Y1, Y7
	VPMADDWD   Y12, Y6, Y6
	VPMADDWD   Y12, Y7, Y7
	VPADDD     Y11, Y6, Y6
	VPADDD     Y11, Y7, Y7
	VPSRAD     $16, Y6, Y6
	VPSRAD     $16, Y7, Y7
	VPACKSSDW  Y7, Y6, Y6
	VPSUBW     Y2, Y6, Y6
	VPADDW     Y0, Y6, Y6

	// Saturate to bytes: X3 = R, X4 = G, X5 = B, 16 each.
	VPACKUSWB    Y6, Y3, Y3
	VPACKUSWB    Y5, Y5, Y5
	VPERMQ       $0xD8, Y3, Y3
	VPERMQ       $0xD8, Y5, Y5
	VEXTRACTI128 $1, Y3, X4

	// Interleave into 48 bytes of RGB.
	VPSHUFB ·yccK+160(SB), X3, X6
	VPSHUFB ·yccK+176(SB), X4, X7
	VPSHUFB ·yccK+192(SB), X5, X8
	VPOR    X7, X6, X6
	VPOR    X8, X6, X6
	VMOVDQU X6, (DI)
	VPSHUFB ·yccK+208(SB), X3, X6
	VPSHUFB ·yccK+224(SB), X4, X7
	VPSHUFB ·yccK+240(SB), X5, X8
	VPOR    X7, X6, X6
	VPOR    X8, X6, X6
	VMOVDQU X6, 16(DI)
	VPSHUFB ·yccK+256(SB), X3, X6
	VPSHUFB ·yccK+272(SB), X4, X7
	VPSHUFB ·yccK+288(SB), X5, X8
	VPOR    X7, X6, X6
	VPOR    X8, X6, X6
	VMOVDQU X6, 32(DI)

	ADDQ $16, SI
	ADDQ $16, BX
	ADDQ $16, DX
	ADDQ $48, DI
	SUBQ $16, CX
	JMP  ycc_loop

ycc_done:
	VZEROUPPER
	RET

// func h2v1AVX2(dst, r *uint8, n int)
//
// Output pair k is (3*r[k+1] + r[k] + 1) >> 2, (3*r[k+1] + r[k+2] + 2) >> 2;
// both fit a byte, so one word holds the pair in memory order.
TEXT ·h2v1AVX2(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    r+8(FP), SI
	MOVQ    n+16(FP), CX
	VMOVDQU ·upK+0(SB), Y14
	VMOVDQU ·upK+32(SB), Y15

h2v1_loop:
	CMPQ      CX, $16
	JLT       h2v1_done
	VPMOVZXBW (SI), Y0
	VPMOVZXBW 1(SI), Y1
	VPMOVZXBW 2(SI), Y2
	VPADDW    Y1, Y1, Y3
	VPADDW    Y1, Y3, Y3
	VPADDW    Y0, Y3, Y4
	VPADDW    Y14, Y4, Y4
	VPSRLW    $2, Y4, Y4
	VPADDW    Y2, Y3, Y5
	VPADDW    Y15, Y5, Y5
	VPSRLW    $2, Y5, Y5
	VPSLLW    $8, Y5, Y5
	VPOR      Y5, Y4, Y4
	VMOVDQU   Y4, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $16, CX
	JMP       h2v1_loop

h2v1_done:
	VZEROUPPER
	RET

// func h2v2AVX2(dst, r0, r1 *uint8, n int)
//
// With cs(m) = 3*r0[m] + r1[m], output pair k is
// (3*cs(k+1) + cs(k) + 8) >> 4, (3*cs(k+1) + cs(k+2) + 7) >> 4.
TEXT ·h2v2AVX2(SB), NOSPLIT, $0-32
	MOVQ    dst+0(FP), DI
	MOVQ    r0+8(FP), SI
	MOVQ    r1+16(FP), BX
	MOVQ    n+24(FP), CX
	VMOVDQU ·upK+64(SB), Y14
	VMOVDQU ·upK+96(SB), Y15

h2v2_loop:
	CMPQ      CX, $16
	JLT       h2v2_done
	VPMOVZXBW (SI), Y0
	VPMOVZXBW 1(SI), Y1
	VPMOVZXBW 2(SI), Y2
	VPMOVZXBW (BX), Y3
	VPMOVZXBW 1(BX), Y4
	VPMOVZXBW 2(BX), Y5
	VPADDW    Y0, Y0, Y6
	VPADDW    Y6, Y0, Y0
	VPADDW    Y3, Y0, Y0
	VPADDW    Y1, Y1, Y6
	VPADDW    Y6, Y1, Y1
	VPADDW    Y4, Y1, Y1
	VPADDW    Y2, Y2, Y6
	VPADDW    Y6, Y2, Y2
	VPADDW    Y5, Y2, Y2
	VPADDW    Y1, Y1, Y3
	VPADDW    Y1, Y3, Y3
	VPADDW    Y0, Y3, Y4
	VPADDW    Y15, Y4, Y4
	VPSRLW    $4, Y4, Y4
	VPADDW    Y2, Y3, Y5
	VPADDW    Y14, Y5, Y5
	VPSRLW    $4, Y5, Y5
	VPSLLW    $8, Y5, Y5
	VPOR      Y5, Y4, Y4
	VMOVDQU   Y4, (DI)
	ADDQ      $16, SI
	ADDQ      $16, BX
	ADDQ      $32, DI
	SUBQ      $16, CX
	JMP       h2v2_loop

h2v2_done:
	VZEROUPPER
	RET

DATA ·yccK+0(SB)/8, $0x0080008000800080
DATA ·yccK+8(SB)/8, $0x0080008000800080
DATA ·yccK+16(SB)/8, $0x0080008000800080
DATA ·yccK+24(SB)/8, $0x0080008000800080
DATA ·yccK+32(SB)/8, $0x66e966e966e966e9
DATA ·yccK+40(SB)/8, $0x66e966e966e966e9
DATA ·yccK+48(SB)/8, $0x66e966e966e966e9
DATA ·yccK+56(SB)/8, $0x66e966e966e966e9
DATA ·yccK+64(SB)/8, $0xc5a2c5a2c5a2c5a2
DATA ·yccK+72(SB)/8, $0xc5a2c5a2c5a2c5a2
DATA ·yccK+80(SB)/8, $0xc5a2c5a2c5a2c5a2
DATA ·yccK+88(SB)/8, $0xc5a2c5a2c5a2c5a2
DATA ·yccK+96(SB)/8, $0x492ea7e6492ea7e6
DATA ·yccK+104(SB)/8, $0x492ea7e6492ea7e6
DATA ·yccK+112(SB)/8, $0x492ea7e6492ea7e6
DATA ·yccK+120(SB)/8, $0x492ea7e6492ea7e6
DATA ·yccK+128(SB)/8, $0x0000800000008000
DATA ·yccK+136(SB)/8, $0x0000800000008000
DATA ·yccK+144(SB)/8, $0x0000800000008000
DATA ·yccK+152(SB)/8, $0x0000800000008000
DATA ·yccK+160(SB)/8, $0x8002808001808000
DATA ·yccK+168(SB)/8, $0x0580800480800380
DATA ·yccK+176(SB)/8, $0x0280800180800080
DATA ·yccK+184(SB)/8, $0x8080048080038080
DATA ·yccK+192(SB)/8, $0x8080018080008080
DATA ·yccK+200(SB)/8, $0x8004808003808002
DATA ·yccK+208(SB)/8, $0x8080078080068080
DATA ·yccK+216(SB)/8, $0x800a808009808008
DATA ·yccK+224(SB)/8, $0x8007808006808005
DATA ·yccK+232(SB)/8, $0x0a80800980800880
DATA ·yccK+240(SB)/8, $0x0780800680800580
DATA ·yccK+248(SB)/8, $0x8080098080088080
DATA ·yccK+256(SB)/8, $0x0d80800c80800b80
DATA ·yccK+264(SB)/8, $0x80800f80800e8080
DATA ·yccK+272(SB)/8, $0x80800c80800b8080
DATA ·yccK+280(SB)/8, $0x800f80800e80800d
DATA ·yccK+288(SB)/8, $0x800c80800b80800a
DATA ·yccK+296(SB)/8, $0x0f80800e80800d80
GLOBL ·yccK(SB), RODATA|NOPTR, $304
DATA ·upK+0(SB)/8, $0x0001000100010001
DATA ·upK+8(SB)/8, $0x0001000100010001
DATA ·upK+16(SB)/8, $0x0001000100010001
DATA ·upK+24(SB)/8, $0x0001000100010001
DATA ·upK+32(SB)/8, $0x0002000200020002
DATA ·upK+40(SB)/8, $0x0002000200020002
DATA ·upK+48(SB)/8, $0x0002000200020002
DATA ·upK+56(SB)/8, $0x0002000200020002
DATA ·upK+64(SB)/8, $0x0007000700070007
DATA ·upK+72(SB)/8, $0x0007000700070007
DATA ·upK+80(SB)/8, $0x0007000700070007
DATA ·upK+88(SB)/8, $0x0007000700070007
DATA ·upK+96(SB)/8, $0x0008000800080008
DATA ·upK+104(SB)/8, $0x0008000800080008
DATA ·upK+112(SB)/8, $0x0008000800080008
DATA ·upK+120(SB)/8, $0x0008000800080008
GLOBL ·upK(SB), RODATA|NOPTR, $128

// func v2AVX2(dst, r0, r1 *uint8, n int, bias uint16)
//
// Fancy 1x2 upsampling: dst[k] = (3*r0[k] + r1[k] + bias) >> 2 for k < n,
// n a multiple of 16.
TEXT ·v2AVX2(SB), NOSPLIT, $0-34
	MOVQ         dst+0(FP), DI
	MOVQ         r0+8(FP), SI
	MOVQ         r1+16(FP), BX
	MOVQ         n+24(FP), CX
	MOVWLZX      bias+32(FP), DX
	VMOVD        DX, X15
	VPBROADCASTW X15, Y15

v2_loop:
	CMPQ      CX, $16
	JLT       v2_done
	VPMOVZXBW (SI), Y0
	VPMOVZXBW (BX), Y1
	VPADDW    Y0, Y0, Y2
	VPADDW    Y2, Y0, Y0
	VPADDW    Y1, Y0, Y0
	VPADDW    Y15, Y0, Y0
	VPSRLW    $2, Y0, Y0
	VPACKUSWB Y0, Y0, Y0
	VPERMQ    $0x08, Y0, Y0
	VMOVDQU   X0, (DI)
	ADDQ      $16, SI
	ADDQ      $16, BX
	ADDQ      $16, DI
	SUBQ      $16, CX
	JMP       v2_loop

v2_done:
	VZEROUPPER
	RET
