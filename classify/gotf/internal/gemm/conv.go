package gemm

import (
	"fmt"
	"math"
	"sync"
)

// ConvGeom is the geometry of an NHWC convolution whose filter is B
// (HWIO flattened: K = KH*KW*C rows, one column per output channel).
type ConvGeom struct {
	N, H, W, C     int // input
	KH, KW         int
	SH, SW, DH, DW int // strides and dilations
	PT, PL         int // padding before the first row and column
	OH, OW         int // output
}

// Conv computes y = epilogue(conv(x, B)) as an implicit GEMM: a panel of up
// to MR output pixels of one output row whose windows lie inside the input
// is read straight from x, one kernel tap at a time (row stride SW*C), so
// most pixels need no im2col copy. Only pixels whose window crosses the
// border are gathered, zero-padded, into scratch. A 1x1 stride-1
// convolution is a plain GEMM over the pixels. y is N*OH*OW rows of b.N.
func Conv(threads int, x []float32, g *ConvGeom, b *PackedB, y []float32, ep *Epilogue) error {
	k := g.KH * g.KW * g.C
	if b.K != k {
		return fmt.Errorf("gemm: filter has %d rows, geometry needs %d", b.K, k)
	}
	if len(x) < g.N*g.H*g.W*g.C || len(y) < g.N*g.OH*g.OW*b.N {
		return fmt.Errorf("gemm: conv buffers too small (%d in, %d out) for %+v", len(x), len(y), *g)
	}
	if ep != nil && len(ep.bias) < b.N {
		return fmt.Errorf("gemm: epilogue made for %d columns, need %d", len(ep.bias), b.N)
	}
	m := g.N * g.OH * g.OW
	if m == 0 || b.N == 0 {
		return nil
	}
	if g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.OH == g.H && g.OW == g.W {
		return Gemm(threads, &A{M: m, Data: x, Stride: g.C}, b, y, b.N, ep)
	}
	if g.KH == 1 && g.KW == 1 && g.PT == 0 && g.PL == 0 && (g.OH-1)*g.SH < g.H && (g.OW-1)*g.SW < g.W {
		// A strided 1x1 convolution reads a subsample of the pixels:
		// copied out, it is a plain GEMM with full tiles.
		return subsampled(threads, x, g, b, y, ep)
	}
	if g.SH == 1 && g.SW == 1 {
		return flat(threads, x, g, b, y, ep)
	}
	if g.PT > 0 || g.PL > 0 || (g.OH-1)*g.SH+(g.KH-1)*g.DH >= g.H || (g.OW-1)*g.SW+(g.KW-1)*g.DW >= g.W {
		// Zero-padded once, every window lies inside: no pixel needs an
		// im2col gather.
		buf := bufPool.Get().(*fbuf)
		defer bufPool.Put(buf)
		var pg ConvGeom
		x, pg = padInput(threads, buf, x, g, 1)
		g = &pg
	}
	rows := g.N * g.OH
	workers := workersFor(threads, m, b.N, k, rows)
	if workers == 1 {
		convRows(x, g, b, y, ep, 0, rows)
		return nil
	}
	Parallel(workers, rows, func(r0, r1 int) {
		convRows(x, g, b, y, ep, r0, r1)
	})
	return nil
}

// fbuf is a pooled scratch slice for padded inputs and virtual outputs.
type fbuf struct{ a, b []float32 }

var bufPool = sync.Pool{New: func() any { return new(fbuf) }}

// minParallelCopy is the element count below which a copy pass (padding,
// subsampling, copy-out) stays on one goroutine.
const minParallelCopy = 1 << 15

// copyParallel calls f on ranges of [0, rows) of a copy pass moving elems
// values in all, on up to threads goroutines when it is large enough: at
// batch 1 these passes were the serial remainder of a parallel convolution
// (Inception v3's padded 3x3 and 1x7 layers, a tenth of a run at 2 threads).
func copyParallel(threads, rows, elems int, f func(r0, r1 int)) {
	if threads < 2 || elems < minParallelCopy {
		f(0, rows)
		return
	}
	Parallel(min(threads, elems/(minParallelCopy/2)), rows, f)
}

// padInput copies x into buf.a zero-padded so that every window of g lies
// inside, its width rounded up to a multiple of align, on up to threads
// goroutines, and returns the copy with its geometry (no padding).
func padInput(threads int, buf *fbuf, x []float32, g *ConvGeom, align int) ([]float32, ConvGeom) {
	c := g.C
	hp := (g.OH-1)*g.SH + (g.KH-1)*g.DH + 1
	wp := (g.OW-1)*g.SW + (g.KW-1)*g.DW + 1
	wp = (wp + align - 1) / align * align
	buf.a = grow(buf.a, g.N*hp*wp*c)
	xp := buf.a
	copyParallel(threads, g.N*hp, g.N*hp*wp*c, func(r0, r1 int) {
		for row := r0; row < r1; row++ {
			bi, r := row/hp, row%hp
			dst := xp[row*wp*c : (row+1)*wp*c]
			iy := r - g.PT
			if iy < 0 || iy >= g.H {
				clear(dst)
				continue
			}
			// Columns [c0, c1) of the padded row come from the input.
			c0 := min(g.PL, wp)
			c1 := min(wp, g.PL+g.W)
			clear(dst[:c0*c])
			src := x[((bi*g.H+iy)*g.W+c0-g.PL)*c:]
			copy(dst[c0*c:c1*c], src[:(c1-c0)*c])
			clear(dst[c1*c:])
		}
	})
	pg := *g
	pg.H, pg.W, pg.PT, pg.PL = hp, wp, 0, 0
	return xp, pg
}

// subsampled runs a strided 1x1 convolution as a GEMM over the pixels it
// reads, copied together.
func subsampled(threads int, x []float32, g *ConvGeom, b *PackedB, y []float32, ep *Epilogue) error {
	c := g.C
	m := g.N * g.OH * g.OW
	buf := bufPool.Get().(*fbuf)
	defer bufPool.Put(buf)
	buf.a = grow(buf.a, m*c)
	a := buf.a
	copyParallel(threads, g.N*g.OH, m*c, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			bi, oy := r/g.OH, r%g.OH
			row := x[((bi*g.H+oy*g.SH)*g.W)*c:]
			dst := a[r*g.OW*c:]
			for ox := 0; ox < g.OW; ox++ {
				copy(dst[ox*c:(ox+1)*c], row[ox*g.SW*c:ox*g.SW*c+c])
			}
		}
	})
	return Gemm(threads, &A{M: m, Data: a, Stride: c}, b, y, b.N, ep)
}

// flat runs a stride-1 convolution over the zero-padded input (Hp x Wp)
// as one implicit GEMM per image whose rows are the virtual pixels
// p = oy*Wp + ox: row p of A starts at pixel p of the padded image and the
// taps are fixed offsets from it, so consecutive output rows share tiles
// and no tile is cut at a row's end. The Wp-OW virtual pixels past each
// row's end are computed and dropped (copied out only when Wp > OW).
func flat(threads int, x []float32, g *ConvGeom, b *PackedB, y []float32, ep *Epilogue) error {
	buf := bufPool.Get().(*fbuf)
	defer bufPool.Put(buf)
	xp, pg := x, *g
	if g.PT > 0 || g.PL > 0 || (g.OH-1)+(g.KH-1)*g.DH+1 != g.H || (g.OW-1)+(g.KW-1)*g.DW+1 != g.W {
		xp, pg = padInput(threads, buf, x, g, 1)
	}
	c, n, kern := g.C, b.N, b.kern
	hp, wp := pg.H, pg.W
	ntaps, kt := g.KH*g.KW, c
	if g.DW == 1 {
		ntaps, kt = g.KH, g.KW*c
	}
	taps := make([]int, ntaps)
	for t := range taps {
		ky, kx := t/(ntaps/g.KH), t%(ntaps/g.KH)
		taps[t] = (ky*g.DH*wp + kx*g.DW) * c
	}
	var plain Epilogue
	if ep == nil {
		plain = Epilogue{bias: zeros(n), lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
		ep = &plain
	}
	if (wp-g.OW)*8 >= wp {
		// The virtual pixels would be an eighth of the work or more
		// (Inception's 1x7 on 17 columns: 6 of 23): one block per output
		// row instead, its OW pixels only, written in place.
		flatRows(threads, xp, g, hp, wp, kt, taps, b, y, ep)
		return nil
	}
	mv := (g.OH-1)*wp + g.OW // virtual rows of one image
	yv := y
	if wp != g.OW {
		buf.b = grow(buf.b, g.N*mv*n)
		yv = buf.b
	}
	// A unit is a run of rows of one image; several MR panels each so
	// that a B panel is reused across them.
	per := max(kern.MR, blockRows(kern.MR, kt*ntaps))
	heavy := weightsDominate(g.N*mv, n)
	if heavy {
		per = max(kern.MR, wideBlockRows(kern.MR, kt*ntaps))
	}
	units := (mv + per - 1) / per
	np := (n + kern.NR - 1) / kern.NR
	// rowUnits computes row units um0..um1-1 (of all images) over column
	// panels p0..p1-1.
	rowUnits := func(um0, um1, p0, p1 int) {
		s := scratchPool.Get().(*scratch)
		defer scratchPool.Put(s)
		s.c = grow(s.c, kern.MR*kern.NR)
		for um := um0; um < um1; um++ {
			bi, r0 := um/units, um%units*per
			r1 := min(mv, r0+per)
			a := xp[(bi*hp*wp+r0)*c:]
			blockCols(kern, r1-r0, kt, a, c, b, yv[(bi*mv+r0)*n:], n, ep, s, &taps[0], ntaps, p0, p1)
		}
	}
	all := g.N * units
	if w := workersFor(threads, g.N*g.OH*g.OW, n, kt*ntaps, all*np); w == 1 {
		rowUnits(0, all, 0, np)
	} else if heavy {
		// Split by B's column panels, every row unit in each, as gemm
		// does for such products: each panel is read by one core.
		Parallel(min(w, np), np, func(p0, p1 int) { rowUnits(0, all, p0, p1) })
	} else {
		// Unit u is row unit u/nu over column group u%nu.
		nu := columnGroups(all, np, w)
		Parallel(w, all*nu, func(u0, u1 int) {
			if nu == 1 {
				rowUnits(u0, u1, 0, np)
				return
			}
			for u := u0; u < u1; u++ {
				rowUnits(u/nu, u/nu+1, u%nu*np/nu, (u%nu+1)*np/nu)
			}
		})
	}
	if wp != g.OW {
		copyParallel(threads, g.N*g.OH, g.N*g.OH*g.OW*n, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				bi, oy := r/g.OH, r%g.OH
				copy(y[r*g.OW*n:(r+1)*g.OW*n], yv[(bi*mv+oy*wp)*n:])
			}
		})
	}
	return nil
}

// flatRows is flat computed one output row at a time: row (bi, oy) is a
// block of OW pixels whose pixel ox starts at padded pixel (oy, ox) of
// image bi (hp x wp), the taps as in flat. Split over workers by rows, or
// by column panels when B outweighs A, as flat is.
func flatRows(threads int, xp []float32, g *ConvGeom, hp, wp, kt int, taps []int, b *PackedB, y []float32, ep *Epilogue) {
	kern, c, n := b.kern, g.C, b.N
	rows, np := g.N*g.OH, (n+kern.NR-1)/kern.NR
	work := func(r0, r1, p0, p1 int) {
		s := scratchPool.Get().(*scratch)
		defer scratchPool.Put(s)
		s.c = grow(s.c, kern.MR*kern.NR)
		for r := r0; r < r1; r++ {
			bi, oy := r/g.OH, r%g.OH
			a := xp[(bi*hp+oy)*wp*c:]
			blockCols(kern, g.OW, kt, a, c, b, y[r*g.OW*n:], n, ep, s, &taps[0], len(taps), p0, p1)
		}
	}
	m := rows * g.OW
	switch w := workersFor(threads, m, n, kt*len(taps), rows*np); {
	case w == 1:
		work(0, rows, 0, np)
	case weightsDominate(m, n):
		Parallel(min(w, np), np, func(p0, p1 int) { work(0, rows, p0, p1) })
	default:
		Parallel(min(w, rows), rows, func(r0, r1 int) { work(r0, r1, 0, np) })
	}
}

// convRows computes output rows r0..r1-1 (a row is one (batch, oy) pair).
func convRows(x []float32, g *ConvGeom, b *PackedB, y []float32, ep *Epilogue, r0, r1 int) {
	kern := b.kern
	mr, nr, n, c := kern.MR, kern.NR, b.N, g.C
	k := g.KH * g.KW * c
	var plain Epilogue
	if ep == nil {
		plain = Epilogue{bias: zeros(n), lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
		ep = &plain
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.c = grow(s.c, mr*nr)
	s.a = grow(s.a, mr*k)
	// A tap is a run of the window contiguous in x: a whole window row
	// (KW*C values) when DW is 1, else one filter position (C values).
	ntaps, kt := g.KH*g.KW, c
	if g.DW == 1 {
		ntaps, kt = g.KH, g.KW*c
	}
	if cap(s.taps) < ntaps {
		s.taps = make([]int, ntaps)
	}
	taps := s.taps[:ntaps]
	for t := range taps {
		ky, kx := t/(ntaps/g.KH), t%(ntaps/g.KH)
		taps[t] = (ky*g.DH*g.W + kx*g.DW) * c
	}
	// Output columns [lo, hi) have every kx inside the input.
	lo := min(g.OW, (g.PL+g.SW-1)/g.SW)
	hi := lo
	if last := g.W - 1 + g.PL - (g.KW-1)*g.DW; last >= 0 {
		hi = max(lo, min(g.OW, last/g.SW+1))
	}
	for row := r0; row < r1; row++ {
		bi, oy := row/g.OH, row%g.OH
		yrow := y[row*g.OW*n : (row+1)*g.OW*n]
		iy0 := oy*g.SH - g.PT
		inside := iy0 >= 0 && iy0+(g.KH-1)*g.DH < g.H
		if !inside {
			gatherTiles(x, g, b, yrow, ep, s, bi, oy, 0, g.OW)
			continue
		}
		gatherTiles(x, g, b, yrow, ep, s, bi, oy, 0, lo)
		if lo < hi {
			a := x[(bi*g.H*g.W+iy0*g.W+lo*g.SW-g.PL)*c:]
			block(kern, hi-lo, kt, a, g.SW*c, b, yrow[lo*n:], n, ep, s, &taps[0], ntaps)
		}
		gatherTiles(x, g, b, yrow, ep, s, bi, oy, max(hi, lo), g.OW)
	}
}

// gatherTiles computes output pixels [o0, o1) of row (bi, oy) through
// im2col copies, MR at a time.
func gatherTiles(x []float32, g *ConvGeom, b *PackedB, yrow []float32, ep *Epilogue, s *scratch, bi, oy, o0, o1 int) {
	kern := b.kern
	mr, n := kern.MR, b.N
	k := g.KH * g.KW * g.C
	for ox := o0; ox < o1; ox += mr {
		r := min(mr, o1-ox)
		for i := 0; i < r; i++ {
			gather(x, g, bi, oy, ox+i, s.a[i*k:(i+1)*k])
		}
		block(kern, r, k, s.a, k, b, yrow[ox*n:], n, ep, s, &oneTap[0], 1)
	}
}

// gather writes the window of output pixel (bi, oy, ox), in (ky, kx, c)
// order to match the HWIO filter, with zeros outside the input.
func gather(x []float32, g *ConvGeom, bi, oy, ox int, dst []float32) {
	c := g.C
	img := x[bi*g.H*g.W*c : (bi+1)*g.H*g.W*c]
	iy0, ix0 := oy*g.SH-g.PT, ox*g.SW-g.PL
	for ky := 0; ky < g.KH; ky++ {
		iy := iy0 + ky*g.DH
		seg := dst[ky*g.KW*c : (ky+1)*g.KW*c]
		if iy < 0 || iy >= g.H {
			clear(seg)
			continue
		}
		line := img[iy*g.W*c : (iy+1)*g.W*c]
		for kx := 0; kx < g.KW; kx++ {
			ix := ix0 + kx*g.DW
			if ix < 0 || ix >= g.W {
				clear(seg[kx*c : (kx+1)*c])
			} else {
				copy(seg[kx*c:(kx+1)*c], line[ix*c:(ix+1)*c])
			}
		}
	}
}
