//go:build ignore

// depthwise_asmgen writes depthwise_amd64.s: dw3x3x4AVX512, the AVX-512
// depthwise kernel for runs of pixels whose 3x3 windows lie inside the
// input (DWKernel.Run3x3). Per block of 16 channels the nine weight vectors
// stay in registers; where a pixel's window starts one tap column after
// the previous pixel's (stride equal to dilation, MobileNet's stride-1
// layers) four pixels are computed at once from the six input columns they
// share, loaded once each, instead of nine loads a pixel. Each pixel keeps
// the three row accumulators and the summation order of dw3x3AVX512, so
// the two kernels' results are identical bit for bit.
//
//	go generate ./classify/gotf/internal/gemm
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
)

var buf bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&buf, "\t"+format+"\n", args...) }
func label(l string)               { fmt.Fprintf(&buf, "%s:\n", l) }

// Field offsets of DWRow (as in asmgen.go).
const (
	dwY, dwX, dwW, dwBias        = 0, 8, 16, 24
	dwC, dwPixels, dwXStep       = 56, 64, 72
	dwLo, dwHi                   = 80, 84
	dwRowStep, dwColStep         = 88, 96
	group                        = 4 // pixels computed together
	accBase, inBase, weightsBias = 10, 22, 9
)

// Registers: Z0-Z8 the weights of tap 3*ky+kx, Z9 the bias, Z10-Z21 the
// accumulators (pixel q, kernel row r: Z10+3q+r), Z22-Z27 one kernel row's
// six input columns, Z30/Z31 the clamp. SI is the block's first pixel's
// window, DI its output, R9 RowStep and R10 ColStep in bytes, R11 2*R10,
// R12 the pixels left, DX XStep in bytes.
func dense3x3x4(name string) {
	fmt.Fprintf(&buf, "// func %s(r *DWRow)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-8\n", name)
	p("MOVQ r+0(FP), AX")
	p("MOVQ %d(AX), R9", dwRowStep)
	p("SHLQ $2, R9")
	p("MOVQ %d(AX), R10", dwColStep)
	p("SHLQ $2, R10")
	p("LEAQ (R10)(R10*1), R11")
	p("VBROADCASTSS %d(AX), Z30", dwLo)
	p("VBROADCASTSS %d(AX), Z31", dwHi)
	p("XORQ BX, BX")
	p("MOVQ %d(AX), CX", dwC)
	label("block")
	p("TESTQ CX, CX")
	p("JLE done")
	p("MOVQ $0xffff, R14")
	p("CMPQ CX, $16")
	p("JGE full")
	p("MOVQ $1, R14")
	p("SHLQ CX, R14")
	p("DECQ R14")
	label("full")
	p("KMOVW R14, K1")
	p("MOVQ %d(AX), DX", dwW)
	p("ADDQ BX, DX")
	p("MOVQ %d(AX), R14", dwC)
	p("SHLQ $2, R14")
	for t := 0; t < 9; t++ {
		p("VMOVUPS.Z (DX), K1, Z%d", t)
		if t < 8 {
			p("ADDQ R14, DX")
		}
	}
	p("MOVQ %d(AX), DX", dwBias)
	p("VMOVUPS.Z (DX)(BX*1), K1, Z%d", weightsBias)
	p("MOVQ %d(AX), SI", dwX)
	p("ADDQ BX, SI")
	p("MOVQ %d(AX), DI", dwY)
	p("ADDQ BX, DI")
	p("MOVQ %d(AX), R12", dwPixels)
	p("MOVQ %d(AX), DX", dwXStep)
	p("SHLQ $2, DX")
	p("CMPQ DX, R10")
	p("JNE single")
	label("quad")
	p("CMPQ R12, $%d", group)
	p("JLT single")
	cols := [6]string{"(R8)", "(R8)(R10*1)", "(R8)(R11*1)", "(R13)", "(R13)(R10*1)", "(R13)(R11*1)"}
	for r := 0; r < 3; r++ {
		switch r {
		case 0:
			p("MOVQ SI, R8")
		default:
			p("ADDQ R9, R8")
		}
		p("LEAQ (R8)(R11*1), R13")
		p("ADDQ R10, R13")
		for c := 0; c < group+2; c++ {
			p("VMOVUPS.Z %s, K1, Z%d", cols[c], inBase+c)
		}
		for q := 0; q < group; q++ {
			acc := accBase + 3*q + r
			if r == 0 {
				p("VMOVAPS Z%d, Z%d", weightsBias, acc)
				p("VFMADD231PS Z%d, Z%d, Z%d", inBase+q, 3*r, acc)
			} else {
				p("VMULPS Z%d, Z%d, Z%d", inBase+q, 3*r, acc)
			}
			for kx := 1; kx < 3; kx++ {
				p("VFMADD231PS Z%d, Z%d, Z%d", inBase+q+kx, 3*r+kx, acc)
			}
		}
	}
	p("MOVQ %d(AX), R14", dwC)
	p("SHLQ $2, R14")
	p("LEAQ (DI)(R14*2), R8")
	outs := [group]string{"(DI)", "(DI)(R14*1)", "(R8)", "(R8)(R14*1)"}
	for q := 0; q < group; q++ {
		a := accBase + 3*q
		p("VADDPS Z%d, Z%d, Z%d", a+1, a, a)
		p("VADDPS Z%d, Z%d, Z%d", a+2, a, a)
		p("VMAXPS Z%d, Z30, Z%d", a, a)
		p("VMINPS Z%d, Z31, Z%d", a, a)
		p("VMOVUPS Z%d, K1, %s", a, outs[q])
	}
	p("LEAQ (SI)(R11*2), SI")
	p("LEAQ (R8)(R14*2), DI")
	p("SUBQ $%d, R12", group)
	p("JMP quad")
	// The remaining pixels (or all, for other strides) one at a time, as
	// dw3x3AVX512 does.
	label("single")
	p("TESTQ R12, R12")
	p("JLE next")
	label("pix")
	p("LEAQ (SI)(R9*1), R8")
	p("LEAQ (R8)(R9*1), R13")
	p("VMOVAPS Z9, Z10")
	p("VMULPS.Z (R8), Z3, K1, Z11")
	p("VMULPS.Z (R13), Z6, K1, Z12")
	p("VFMADD231PS (SI), Z0, K1, Z10")
	p("VFMADD231PS (R8)(R10*1), Z4, K1, Z11")
	p("VFMADD231PS (R13)(R10*1), Z7, K1, Z12")
	p("VFMADD231PS (SI)(R10*1), Z1, K1, Z10")
	p("VFMADD231PS (R8)(R11*1), Z5, K1, Z11")
	p("VFMADD231PS (R13)(R11*1), Z8, K1, Z12")
	p("VFMADD231PS (SI)(R11*1), Z2, K1, Z10")
	p("VADDPS Z11, Z10, Z10")
	p("VADDPS Z12, Z10, Z10")
	p("VMAXPS Z10, Z30, Z10")
	p("VMINPS Z10, Z31, Z10")
	p("VMOVUPS Z10, K1, (DI)")
	p("ADDQ DX, SI")
	p("MOVQ %d(AX), R14", dwC)
	p("LEAQ (DI)(R14*4), DI")
	p("DECQ R12")
	p("JNZ pix")
	label("next")
	p("ADDQ $64, BX")
	p("SUBQ $16, CX")
	p("JMP block")
	label("done")
	p("VZEROUPPER")
	p("RET")
	buf.WriteString("\n")
}

func main() {
	out := flag.String("out", "depthwise_amd64.s", "output file")
	flag.Parse()
	buf.WriteString("// Code generated by depthwise_asmgen.go; DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n\n")
	dense3x3x4("dw3x3x4AVX512")
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
