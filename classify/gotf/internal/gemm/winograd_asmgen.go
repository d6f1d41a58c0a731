//go:build ignore

// winograd_asmgen writes winograd_amd64.s, the AVX-512 tile transforms of
// the Winograd convolution (winograd.go): unrolled sums with the
// transform matrices' coefficients baked in, vectorised over 16 channels.
//
//	go generate ./classify/gotf/internal/gemm
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"sort"
)

var buf bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&buf, "\t"+format+"\n", args...) }
func label(l string)               { fmt.Fprintf(&buf, "%s:\n", l) }

// The transforms of F(2x2,3x3) and F(4x4,3x3) (Lavin & Gray); the same
// matrices as winograd.go's, which the tests check the kernels against.
var (
	bt2 = [][]float64{
		{1, 0, -1, 0},
		{0, 1, 1, 0},
		{0, -1, 1, 0},
		{0, 1, 0, -1},
	}
	at2 = [][]float64{
		{1, 1, 1, 0},
		{0, 1, -1, -1},
	}
	bt4 = [][]float64{
		{4, 0, -5, 0, 1, 0},
		{0, -4, -4, 1, 1, 0},
		{0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 4, 0, -5, 0, 1},
	}
	at4 = [][]float64{
		{1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -2, 0},
		{0, 1, 1, 4, 4, 0},
		{0, 1, -1, 8, -8, 1},
	}
)

// consts assigns a register (Z24 up) to every coefficient magnitude other
// than 0 and 1 in the matrices, and emits their broadcasts.
func consts(ms ...[][]float64) map[float64]string {
	set := map[float64]bool{}
	for _, m := range ms {
		for _, r := range m {
			for _, v := range r {
				if a := math.Abs(v); a != 0 && a != 1 {
					set[a] = true
				}
			}
		}
	}
	var vs []float64
	for v := range set {
		vs = append(vs, v)
	}
	sort.Float64s(vs)
	regs := map[float64]string{}
	for i, v := range vs {
		r := fmt.Sprintf("Z%d", 24+i)
		p("MOVL $0x%08x, AX", math.Float32bits(float32(v)))
		p("VPBROADCASTD AX, %s", r)
		regs[v] = r
	}
	return regs
}

// dot emits out = sum_s row[s]*in[s] over vector registers, starting with
// a positive term where there is one.
func dot(row []float64, in func(int) string, out string, regs map[float64]string) {
	first := -1
	for s, v := range row {
		if v > 0 {
			first = s
			break
		}
	}
	// merged is a ±1 term folded into the first instruction.
	merged := -1
	if first < 0 {
		p("VXORPS %s, %s, %s", out, out, out)
	} else if v := row[first]; v == 1 {
		for s, w := range row {
			if s != first && (w == 1 || w == -1) {
				merged = s
				break
			}
		}
		switch {
		case merged < 0:
			p("VMOVAPS %s, %s", in(first), out)
		case row[merged] == 1:
			p("VADDPS %s, %s, %s", in(merged), in(first), out)
		default:
			p("VSUBPS %s, %s, %s", in(merged), in(first), out)
		}
	} else {
		p("VMULPS %s, %s, %s", regs[v], in(first), out)
	}
	for s, v := range row {
		switch {
		case s == first || s == merged || v == 0:
		case v == 1:
			p("VADDPS %s, %s, %s", in(s), out, out)
		case v == -1:
			p("VSUBPS %s, %s, %s", in(s), out, out)
		case v > 0:
			p("VFMADD231PS %s, %s, %s", regs[v], in(s), out)
		default:
			p("VFNMADD231PS %s, %s, %s", regs[-v], in(s), out)
		}
	}
}

func z(i int) string { return fmt.Sprintf("Z%d", i) }

// input emits the input transform V = B^T d B of one alpha×alpha tile per
// 16 channels: d[i][j][c] at src + i*rs + j*cs + 4c (bytes), V point
// (i, j) at dst + (i*alpha+j)*ds + 4c; nc is a multiple of 16; tmp holds
// alpha*alpha vectors.
func input(name string, bt [][]float64) {
	a := len(bt)
	fmt.Fprintf(&buf, "// func %s(src *float32, rs, cs int, dst *float32, ds, nc int, tmp *float32)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	regs := consts(bt)
	p("MOVQ src+0(FP), SI")
	p("MOVQ rs+8(FP), R8")
	p("MOVQ cs+16(FP), R9")
	p("MOVQ dst+24(FP), DI")
	p("MOVQ ds+32(FP), R10")
	p("MOVQ nc+40(FP), CX")
	p("SHRQ $4, CX")
	p("MOVQ tmp+48(FP), BX")
	p("TESTQ CX, CX")
	p("JEQ done")
	label("block")
	// Columns: t[.][j] = B^T d[.][j].
	columns(bt, a, "R8", "R9", "BX", regs)
	// Rows: V[o][.] = t[o][.] B.
	p("MOVQ DI, R12")
	for o := 0; o < a; o++ {
		for s := 0; s < a; s++ {
			p("VMOVUPS %d(BX), Z%d", (o*a+s)*64, s)
		}
		for q := 0; q < a; q++ {
			dot(bt[q], z, z(6+q), regs)
			p("VMOVUPS Z%d, (R12)", 6+q)
			p("ADDQ R10, R12")
		}
	}
	p("ADDQ $64, SI")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ block")
	label("done")
	p("VZEROUPPER")
	p("RET")
	buf.WriteString("\n")
}

// columns emits the column pass both transforms share: for each of the a
// columns j of the tile at SI (points down a column rowStep apart, columns
// colStep apart), tmp[o][j] = mat[o] . column j, for every row o of mat.
func columns(mat [][]float64, a int, rowStep, colStep, tmp string, regs map[float64]string) {
	p("MOVQ SI, R11")
	for j := 0; j < a; j++ {
		p("MOVQ R11, R12")
		for i := 0; i < a; i++ {
			p("VMOVUPS (R12), Z%d", i)
			if i < a-1 {
				p("ADDQ %s, R12", rowStep)
			}
		}
		for o := range mat {
			dot(mat[o], z, z(6+o), regs)
			p("VMOVUPS Z%d, %d(%s)", 6+o, (o*a+j)*64, tmp)
		}
		if j < a-1 {
			p("ADDQ %s, R11", colStep)
		}
	}
}

// output emits the output transform Y = A^T M A of one tile per 16
// channels, with the epilogue: y = clamp(Y + bias (+ res), lo, hi). Point
// (i, j) of M is at src + (i*alpha+j)*ss + 4c, y[o][q][c] at dst + o*rs +
// q*cs + 4c, res (when withRes) at the same offsets from res. The last
// block of nk channels is stored through a mask; tmp holds m*alpha
// vectors.
func output(name string, at [][]float64, withRes bool) {
	m, a := len(at), len(at[0])
	fmt.Fprintf(&buf, "// func %s(src *float32, ss int, dst *float32, rs, cs, nk int, bias, res *float32, lo, hi float32, tmp *float32)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	regs := consts(at)
	p("MOVQ src+0(FP), SI")
	p("MOVQ ss+8(FP), R10")
	p("MOVQ dst+16(FP), DI")
	p("MOVQ rs+24(FP), R8")
	p("MOVQ cs+32(FP), R9")
	p("MOVQ nk+40(FP), CX")
	p("MOVQ bias+48(FP), BX")
	if withRes {
		p("MOVQ res+56(FP), DX")
		p("SUBQ DI, DX") // res - dst: residual address = (y address)(DX*1)
	}
	p("VBROADCASTSS lo+64(FP), Z22")
	p("VBROADCASTSS hi+68(FP), Z23")
	p("MOVQ tmp+72(FP), R14")
	p("MOVQ R10, R13")
	p("IMULQ $%d, R13", a) // alpha*ss: from point (i, j) to (i+1, j)
	label("block")
	p("TESTQ CX, CX")
	p("JLE done")
	p("MOVQ $0xffff, AX")
	p("CMPQ CX, $16")
	p("JGE full")
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	label("full")
	p("KMOVW AX, K1")
	p("VMOVUPS (BX), Z21")
	// Columns: u[.][j] = A^T M[.][j].
	columns(at, a, "R13", "R10", "R14", regs)
	// Rows: y[o][.] = u[o][.] A, plus the epilogue.
	p("MOVQ DI, R11")
	for o := 0; o < m; o++ {
		for s := 0; s < a; s++ {
			p("VMOVUPS %d(R14), Z%d", (o*a+s)*64, s)
		}
		p("MOVQ R11, R12")
		for q := 0; q < m; q++ {
			r := z(6 + q)
			dot(at[q], z, r, regs)
			p("VADDPS Z21, %s, %s", r, r)
			if withRes {
				p("VMOVUPS.Z (R12)(DX*1), K1, Z20")
				p("VADDPS Z20, %s, %s", r, r)
			}
			// lo and hi first so that a NaN stays NaN.
			p("VMAXPS %s, Z22, %s", r, r)
			p("VMINPS %s, Z23, %s", r, r)
			p("VMOVUPS %s, K1, (R12)", r)
			if q < m-1 {
				p("ADDQ R9, R12")
			}
		}
		if o < m-1 {
			p("ADDQ R8, R11")
		}
	}
	p("ADDQ $64, SI")
	p("ADDQ $64, DI")
	p("ADDQ $64, BX")
	p("SUBQ $16, CX")
	p("JMP block")
	label("done")
	p("VZEROUPPER")
	p("RET")
	buf.WriteString("\n")
}

func main() {
	out := flag.String("out", "winograd_amd64.s", "output file")
	flag.Parse()
	buf.WriteString("// Code generated by winograd_asmgen.go; DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n\n")
	input("winoIn2AVX512", bt2)
	input("winoIn4AVX512", bt4)
	output("winoOut2AVX512", at2, false)
	output("winoOut2ResAVX512", at2, true)
	output("winoOut4AVX512", at4, false)
	output("winoOut4ResAVX512", at4, true)
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
