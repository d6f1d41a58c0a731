package gemm

// Winograd convolution F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks") for stride-1, undilated 3x3 filters on
// NHWC: the output is cut into m×m tiles, each read as an a×a input patch
// (a = m+2). Per tile and channel the patch d becomes V = B^T d B, per
// output channel the filter g became U = G g G^T at load, and the a*a
// points of the transform are independent: M[p] = V[p]·U[p] is one GEMM
// per point over (tiles × C)·(C × K), on the packed micro-kernels. The
// output tile is A^T M A, to which the epilogue (bias, residual, clamp)
// is applied as it is stored. That is 16 (m = 2) or 36 (m = 4)
// multiplications per output tile and channel pair instead of 36 or 144:
// 2.25x or 4x fewer flops, paid for with the transforms (AVX-512 assembly
// over 16 channels, winograd_asmgen.go) and a larger rounding error, which
// grows with m (measured in winograd_test.go).
//
// Tiles are processed in blocks small enough that a block's V and M stay
// in L2 between the transforms and the GEMMs; blocks run in parallel on the
// package's workers.

import (
	"fmt"
	"sync"
	"unsafe"
)

// The transforms of F(2x2,3x3) and F(4x4,3x3): B^T (a×a), G (a×3) and A^T
// (m×a), with the interpolation points 0, ±1, ±2, ±1/2 for m = 4.
var (
	winoBT = map[int][][]float64{
		2: {
			{1, 0, -1, 0},
			{0, 1, 1, 0},
			{0, -1, 1, 0},
			{0, 1, 0, -1},
		},
		4: {
			{4, 0, -5, 0, 1, 0},
			{0, -4, -4, 1, 1, 0},
			{0, 4, -4, -1, 1, 0},
			{0, -2, -1, 2, 1, 0},
			{0, 2, -1, -2, 1, 0},
			{0, 4, 0, -5, 0, 1},
		},
	}
	winoG = map[int][][]float64{
		2: {
			{1, 0, 0},
			{0.5, 0.5, 0.5},
			{0.5, -0.5, 0.5},
			{0, 0, 1},
		},
		4: {
			{1.0 / 4, 0, 0},
			{-1.0 / 6, -1.0 / 6, -1.0 / 6},
			{-1.0 / 6, 1.0 / 6, -1.0 / 6},
			{1.0 / 24, 1.0 / 12, 1.0 / 6},
			{1.0 / 24, -1.0 / 12, 1.0 / 6},
			{0, 0, 1},
		},
	}
	winoAT = map[int][][]float64{
		2: {
			{1, 1, 1, 0},
			{0, 1, -1, -1},
		},
		4: {
			{1, 1, 1, 1, 1, 0},
			{0, 1, -1, 2, -2, 0},
			{0, 1, 1, 4, 4, 0},
			{0, 1, -1, 8, -8, 1},
		},
	}
)

// winoIn transforms one tile's patch: d[i][j][c] at src + i*rs + j*cs +
// 4c bytes, V point (i, j) written at dst + (i*a+j)*ds + 4c, for nc
// channels (a multiple of 16); tmp holds a*a*16 floats.
type winoIn func(src *float32, rs, cs int, dst *float32, ds, nc int, tmp *float32)

// winoOut transforms one tile back and applies the epilogue: y[o][q][c] =
// clamp((A^T M A)[o][q][c] + bias[c] (+ res[o][q][c]), lo, hi), M point
// (i, j) at src + (i*a+j)*ss + 4c, y at dst + o*rs + q*cs + 4c (res at the
// same offsets from res), for nk channels; tmp holds m*a*16 floats.
type winoOut func(src *float32, ss int, dst *float32, rs, cs, nk int, bias, res *float32, lo, hi float32, tmp *float32)

// winoFns are the transforms of one tile size.
type winoFns struct {
	in          winoIn
	out, outRes winoOut
}

// winoGo are the portable transforms, the reference for the assembly.
var winoGo = map[int]winoFns{
	2: {in: winoInGo(2), out: winoOutGo(2, false), outRes: winoOutGo(2, true)},
	4: {in: winoInGo(4), out: winoOutGo(4, false), outRes: winoOutGo(4, true)},
}

func winoInGo(m int) winoIn {
	bt := winoBT[m]
	a := m + 2
	return func(src *float32, rs, cs int, dst *float32, ds, nc int, _ *float32) {
		var d, t [6][6]float32
		for c := 0; c < nc; c++ {
			for i := 0; i < a; i++ {
				for j := 0; j < a; j++ {
					d[i][j] = *(*float32)(unsafe.Add(unsafe.Pointer(src), i*rs+j*cs+4*c))
				}
			}
			for o := 0; o < a; o++ {
				for j := 0; j < a; j++ {
					var s float32
					for i := 0; i < a; i++ {
						s += float32(bt[o][i]) * d[i][j]
					}
					t[o][j] = s
				}
			}
			for o := 0; o < a; o++ {
				for q := 0; q < a; q++ {
					var s float32
					for j := 0; j < a; j++ {
						s += t[o][j] * float32(bt[q][j])
					}
					*(*float32)(unsafe.Add(unsafe.Pointer(dst), (o*a+q)*ds+4*c)) = s
				}
			}
		}
	}
}

func winoOutGo(m int, withRes bool) winoOut {
	at := winoAT[m]
	a := m + 2
	return func(src *float32, ss int, dst *float32, rs, cs, nk int, bias, res *float32, lo, hi float32, _ *float32) {
		var mm [6][6]float32
		var u [4][6]float32
		for c := 0; c < nk; c++ {
			for i := 0; i < a; i++ {
				for j := 0; j < a; j++ {
					mm[i][j] = *(*float32)(unsafe.Add(unsafe.Pointer(src), (i*a+j)*ss+4*c))
				}
			}
			for o := 0; o < m; o++ {
				for j := 0; j < a; j++ {
					var s float32
					for i := 0; i < a; i++ {
						s += float32(at[o][i]) * mm[i][j]
					}
					u[o][j] = s
				}
			}
			b := *(*float32)(unsafe.Add(unsafe.Pointer(bias), 4*c))
			for o := 0; o < m; o++ {
				for q := 0; q < m; q++ {
					var s float32
					for j := 0; j < a; j++ {
						s += u[o][j] * float32(at[q][j])
					}
					s += b
					off := o*rs + q*cs + 4*c
					if withRes {
						s += *(*float32)(unsafe.Add(unsafe.Pointer(res), off))
					}
					*(*float32)(unsafe.Add(unsafe.Pointer(dst), off)) = min(max(s, lo), hi)
				}
			}
		}
	}
}

// WinogradAvailable reports whether the tile transforms have a vectorised
// implementation on this CPU (AVX-512); without one the portable
// transforms cost more than Winograd saves.
func WinogradAvailable() bool { return winoAsm != nil }

// WinogradApplies reports whether Winograd can compute the convolution g:
// a 3x3 filter, stride 1, no dilation.
func WinogradApplies(g *ConvGeom) bool {
	return g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1
}

// Winograd is a 3x3 filter transformed for F(m×m, 3×3): one packed C×K
// matrix per transform point. Read-only after NewWinograd.
type Winograd struct {
	m, a   int
	c, k   int
	cp, kp int // C and K rounded up to 16
	u      []*PackedB
	fns    winoFns
	zero   *Epilogue // bias-free, for the point GEMMs
	kern   *Kernel
}

// NewWinograd transforms the HWIO filter f (3×3×c×k) for output tiles of
// m×m (2 or 4), packed for kern (nil: the default kernel). portable forces
// the Go transforms (tests).
func NewWinograd(kern *Kernel, m int, f []float32, c, k int, portable bool) (*Winograd, error) {
	g, ok := winoG[m]
	if !ok {
		return nil, fmt.Errorf("gemm: Winograd tile size %d (want 2 or 4)", m)
	}
	if c < 1 || k < 1 || len(f) < 9*c*k {
		return nil, fmt.Errorf("gemm: Winograd filter of %d values for 3x3x%dx%d", len(f), c, k)
	}
	if kern == nil {
		kern = Default()
	}
	kern = Choose(kern, k)
	a := m + 2
	w := &Winograd{m: m, a: a, c: c, k: k, cp: (c + 15) &^ 15, kp: (k + 15) &^ 15, kern: kern}
	w.fns = winoGo[m]
	if fns, ok := winoAsm[m]; ok && !portable {
		w.fns = fns
	}
	w.zero = NewEpilogue(nil, k, ActNone, 0)
	// U[p] for p = (i, j): sum_{r,s} G[i][r] g[r][s] G[j][s], one C×K
	// matrix each, rounded from float64 once.
	mats := make([][]float32, a*a)
	for p := range mats {
		mats[p] = make([]float32, w.cp*k)
	}
	t := make([]float64, a*3*k) // G·g for one input channel: [i][s][k]
	for ci := 0; ci < c; ci++ {
		clear(t)
		for i := 0; i < a; i++ {
			for r := 0; r < 3; r++ {
				gv := g[i][r]
				if gv == 0 {
					continue
				}
				for s := 0; s < 3; s++ {
					row := f[((r*3+s)*c+ci)*k:][:k]
					dst := t[(i*3+s)*k:][:k]
					for kk, v := range row {
						dst[kk] += gv * float64(v)
					}
				}
			}
		}
		for i := 0; i < a; i++ {
			for j := 0; j < a; j++ {
				dst := mats[i*a+j][ci*k:][:k]
				for kk := range dst {
					var s float64
					for q := 0; q < 3; q++ {
						s += t[(i*3+q)*k+kk] * g[j][q]
					}
					dst[kk] = float32(s)
				}
			}
		}
	}
	w.u = make([]*PackedB, a*a)
	for p, mat := range mats {
		w.u[p] = PackBWith(kern, mat, w.cp, k, k, false)
	}
	return w, nil
}

// Tile is the output tile size m.
func (w *Winograd) Tile() int { return w.m }

// winoScratch is one worker's buffers, pooled.
type winoScratch struct {
	v, mm, tmp, patch, ytile, rtile []float32
	a                               A // the point GEMMs' operand, kept off the heap
}

var winoPool = sync.Pool{New: func() any { return new(winoScratch) }}

// winoBlockBudget is how many floats of V and M one block of tiles may
// hold: about 1 MiB, half a Zen 4 core's L2.
const winoBlockBudget = 256 * 1024

// blockTiles is how many tiles one block holds: as many as the budget
// allows (a multiple of the kernel's MR, at least one MR panel), and no
// more than an even share of the tiles among the workers.
func (w *Winograd) blockTiles(tiles, workers int) int {
	mr := w.kern.MR
	nb := winoBlockBudget / (w.a * w.a * (w.cp + w.kp)) / mr * mr
	nb = max(mr, nb)
	return max(1, min(nb, (tiles+workers-1)/workers))
}

// Conv computes y = epilogue(conv(x, filter)) for the geometry g (which
// must satisfy WinogradApplies, with g.C the filter's input channels),
// y being N*OH*OW rows of K. With res non-nil it computes act(conv +
// bias + res) instead, res laid out as y: ep must then be linear (bias
// only) and act (nil for none) carries the activation, as for
// GemmResidual. ep nil means no bias and no activation.
func (w *Winograd) Conv(threads int, x []float32, g *ConvGeom, y []float32, ep *Epilogue, res []float32, act *Epilogue) error {
	if !WinogradApplies(g) {
		return fmt.Errorf("gemm: Winograd wants a 3x3 stride-1 undilated filter, got %+v", *g)
	}
	if g.C != w.c {
		return fmt.Errorf("gemm: Winograd filter has %d input channels, input %d", w.c, g.C)
	}
	out := g.N * g.OH * g.OW * w.k
	if len(x) < g.N*g.H*g.W*g.C || len(y) < out {
		return fmt.Errorf("gemm: conv buffers too small (%d in, %d out) for %+v", len(x), len(y), *g)
	}
	if ep == nil {
		ep = w.zero
	}
	if len(ep.bias) < w.kp {
		return fmt.Errorf("gemm: epilogue made for %d columns, need %d", len(ep.bias), w.k)
	}
	post := ep
	if res != nil {
		if ep.act != ActNone {
			return fmt.Errorf("gemm: residual convolution wants a linear epilogue, got activation %d", ep.act)
		}
		if len(res) < out {
			return fmt.Errorf("gemm: residual is %d elements, output %d", len(res), out)
		}
		post = act
		if post == nil {
			post = w.zero
		}
	}
	if out == 0 {
		return nil
	}
	th, tw := (g.OH+w.m-1)/w.m, (g.OW+w.m-1)/w.m
	tiles := g.N * th * tw
	workers := workersFor(threads, g.N*g.OH*g.OW, w.k, 9*w.c, tiles)
	nb := w.blockTiles(tiles, workers)
	// With under two MR panels of tiles a worker, splitting the tiles
	// would have every worker stream all of U for a few rows (ResNet's
	// 7x7 layers: 16 tiles, 16 MiB of U): one block instead, each point
	// GEMM split over the workers by columns.
	gemmThreads := 1
	if workers > 1 && tiles < 2*w.kern.MR*workers {
		nb, gemmThreads = tiles, workers
	}
	blocks := (tiles + nb - 1) / nb
	job := func(b0, b1 int) {
		s := winoPool.Get().(*winoScratch)
		defer winoPool.Put(s)
		a2 := w.a * w.a
		s.v = grow(s.v, a2*nb*w.cp)
		s.mm = grow(s.mm, a2*nb*w.kp)
		s.tmp = grow(s.tmp, a2*16)
		s.patch = grow(s.patch, a2*w.cp)
		s.ytile = grow(s.ytile, w.m*w.m*w.kp)
		s.rtile = grow(s.rtile, w.m*w.m*w.kp)
		for b := b0; b < b1; b++ {
			t0 := b * nb
			w.block(s, x, g, y, ep, res, post, th, tw, nb, t0, min(tiles, t0+nb), gemmThreads)
		}
	}
	if workers == 1 || blocks == 1 || gemmThreads > 1 {
		job(0, blocks)
	} else {
		Parallel(workers, blocks, job)
	}
	return nil
}

// block computes tiles t0..t1 (numbered image by image, row by row).
// With gemmThreads > 1 (one block of few tiles for the whole layer) the
// input transform, the point GEMMs and the output transform are each
// split over that many workers: by tiles, by points, by tiles. Each tile
// and each point is computed as on one worker, so results do not depend
// on the split.
func (w *Winograd) block(s *winoScratch, x []float32, g *ConvGeom, y []float32, ep *Epilogue, res []float32, post *Epilogue, th, tw, nb, t0, t1, gemmThreads int) {
	rows := t1 - t0
	a2 := w.a * w.a
	if gemmThreads <= 1 {
		w.inTiles(s, s.v, x, g, th, tw, nb, t0, 0, rows)
		w.points(s, s.v, s.mm, nb, rows, 0, a2)
		w.outTiles(s, s.mm, g, y, ep, res, post, th, tw, nb, t0, 0, rows)
		return
	}
	v, mm := s.v, s.mm
	Parallel(gemmThreads, rows, func(i0, i1 int) {
		ws := w.workerScratch()
		defer winoPool.Put(ws)
		w.inTiles(ws, v, x, g, th, tw, nb, t0, i0, i1)
	})
	Parallel(gemmThreads, a2, func(p0, p1 int) {
		ws := w.workerScratch()
		defer winoPool.Put(ws)
		w.points(ws, v, mm, nb, rows, p0, p1)
	})
	Parallel(gemmThreads, rows, func(i0, i1 int) {
		ws := w.workerScratch()
		defer winoPool.Put(ws)
		w.outTiles(ws, mm, g, y, ep, res, post, th, tw, nb, t0, i0, i1)
	})
}

// workerScratch is a worker's per-tile buffers (not V and M).
func (w *Winograd) workerScratch() *winoScratch {
	s := winoPool.Get().(*winoScratch)
	a2 := w.a * w.a
	s.tmp = grow(s.tmp, a2*16)
	s.patch = grow(s.patch, a2*w.cp)
	s.ytile = grow(s.ytile, w.m*w.m*w.kp)
	s.rtile = grow(s.rtile, w.m*w.m*w.kp)
	return s
}

// inTiles transforms the input patches of tiles t0+i0..t0+i1-1 into v.
func (w *Winograd) inTiles(s *winoScratch, v, x []float32, g *ConvGeom, th, tw, nb, t0, i0, i1 int) {
	m, a, c, cp := w.m, w.a, w.c, w.cp
	direct := c%16 == 0
	for i := i0; i < i1; i++ {
		t := t0 + i
		bi, ty, tx := t/(th*tw), t%(th*tw)/tw, t%tw
		y0, x0 := ty*m-g.PT, tx*m-g.PL
		var src *float32
		rs, cs := g.W*c*4, c*4
		if direct && y0 >= 0 && x0 >= 0 && y0+a <= g.H && x0+a <= g.W {
			src = &x[((bi*g.H+y0)*g.W+x0)*c]
		} else {
			w.gatherPatch(s.patch, x, g, bi, y0, x0)
			src, rs, cs = &s.patch[0], a*cp*4, cp*4
		}
		w.fns.in(src, rs, cs, &v[i*cp], nb*cp*4, cp, &s.tmp[0])
	}
}

// points computes the point GEMMs p0..p1-1 of rows tiles, from v into mm.
func (w *Winograd) points(s *winoScratch, v, mm []float32, nb, rows, p0, p1 int) {
	cp, kp := w.cp, w.kp
	for p := p0; p < p1; p++ {
		// Cannot fail: the sizes are right by construction.
		s.a = A{M: rows, Data: v[p*nb*cp:], Stride: cp}
		_ = Gemm(1, &s.a, w.u[p], mm[p*nb*kp:], kp, w.zero)
	}
}

// outTiles transforms tiles t0+i0..t0+i1-1 of mm into y, with the
// epilogue and the residual.
func (w *Winograd) outTiles(s *winoScratch, mm []float32, g *ConvGeom, y []float32, ep *Epilogue, res []float32, post *Epilogue, th, tw, nb, t0, i0, i1 int) {
	m, k, kp := w.m, w.k, w.kp
	lo, hi := post.lo, post.hi
	fn := w.fns.out
	if res != nil {
		fn = w.fns.outRes
	}
	for i := i0; i < i1; i++ {
		t := t0 + i
		bi, ty, tx := t/(th*tw), t%(th*tw)/tw, t%tw
		oy, ox := ty*m, tx*m
		nr, nc := min(m, g.OH-oy), min(m, g.OW-ox)
		base := ((bi*g.OH+oy)*g.OW + ox) * k
		var rp *float32
		if nr == m && nc == m {
			if res != nil {
				rp = &res[base]
			}
			fn(&mm[i*kp], nb*kp*4, &y[base], g.OW*k*4, k*4, k, &ep.bias[0], rp, lo, hi, &s.tmp[0])
		} else {
			// An edge tile: through scratch, only its inside copied.
			if res != nil {
				for r := 0; r < nr; r++ {
					for q := 0; q < nc; q++ {
						copy(s.rtile[(r*m+q)*kp:][:k], res[base+(r*g.OW+q)*k:][:k])
					}
				}
				rp = &s.rtile[0]
			}
			fn(&mm[i*kp], nb*kp*4, &s.ytile[0], m*kp*4, kp*4, k, &ep.bias[0], rp, lo, hi, &s.tmp[0])
			for r := 0; r < nr; r++ {
				for q := 0; q < nc; q++ {
					copy(y[base+(r*g.OW+q)*k:][:k], s.ytile[(r*m+q)*kp:][:k])
				}
			}
		}
		if post.act == ActElu || post.act == ActLeakyRelu {
			for r := 0; r < nr; r++ {
				post.post(y[base+r*g.OW*k:][:nc*k])
			}
		}
	}
}

// gatherPatch copies the a×a patch at input row y0, column x0 of image bi
// into dst (a×a×cp), zero outside the input and past C.
func (w *Winograd) gatherPatch(dst, x []float32, g *ConvGeom, bi, y0, x0 int) {
	a, c, cp := w.a, w.c, w.cp
	clear(dst[:a*a*cp])
	for i := 0; i < a; i++ {
		iy := y0 + i
		if iy < 0 || iy >= g.H {
			continue
		}
		for j := 0; j < a; j++ {
			ix := x0 + j
			if ix < 0 || ix >= g.W {
				continue
			}
			copy(dst[(i*a+j)*cp:][:c], x[((bi*g.H+iy)*g.W+ix)*c:][:c])
		}
	}
}
