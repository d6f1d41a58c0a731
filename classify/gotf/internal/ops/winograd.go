package ops

// Winograd dispatch for Conv2D and _FusedConv2D: a constant 3x3 filter of
// a stride-1, undilated convolution is also transformed at load for
// gemm.Winograd, and each run picks, from the input's size, Winograd
// F(4x4,3x3), F(2x2,3x3) or the implicit GEMM (gemm.Conv).
//
// GOTF_WINOGRAD in the environment (read once) overrides the choice:
// "off" (or "0") never uses Winograd, "2" or "4" uses that tile size
// wherever Winograd applies; "" or "auto" is the per-layer rule.

import (
	"os"
	"sync"

	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

// winoMode is GOTF_WINOGRAD: -1 auto, 0 off, else the forced tile size.
var winoMode = func() int {
	switch os.Getenv("GOTF_WINOGRAD") {
	case "off", "0":
		return 0
	case "2":
		return 2
	case "4":
		return 4
	}
	return -1
}()

// convWino is a constant filter's Winograd forms, one per tile size,
// each transformed on the first run that picks it: which one a layer needs
// depends on its input's size, unknown at load, and keeping both would
// cost 5.8 times the filter's memory (16/9 for F(2,3), 4 for F(4,3)).
type convWino struct {
	kern  *gemm.Kernel
	f     []float32
	c, k  int
	forms [2]winoForm // F(2,3), F(4,3)
}

type winoForm struct {
	once sync.Once
	w    *gemm.Winograd
	err  error
}

// newConvWino returns the Winograd forms of the HWIO filter f (kh x kw x
// c x k), or nil when Winograd does not apply: another window, a stride
// or dilation, no AVX-512 transforms, or channels too few for the
// transforms to pay (fewer than 16 input or output channels: the
// transforms work on 16 at a time).
func newConvWino(a *convAttrs, kern *gemm.Kernel, f []float32, kh, kw, c, k int) *convWino {
	if winoMode == 0 || !gemm.WinogradAvailable() || kh != 3 || kw != 3 || a.sh != 1 || a.sw != 1 || a.dh != 1 || a.dw != 1 {
		return nil
	}
	if winoMode < 0 && (c < 16 || k < 16) {
		return nil
	}
	return &convWino{kern: kern, f: f, c: c, k: k}
}

// winoTile is the tile size for geometry g: F(4,3) where there are at
// least 16 of its 4x4 tiles, F(2,3) below that, where the GEMMs over the
// transform points get too few rows to amortise streaming the filter's
// 36 transformed copies. Measured on ResNet-50's and Inception v3's
// layers (gemm.BenchmarkWinograd): F(4,3) 1.2-1.7x faster than F(2,3) on
// 14x14 and larger, F(2,3) 1.2-1.7x faster on 7x7 and 8x8 at batch 1.
func winoTile(g *gemm.ConvGeom) int {
	if winoMode > 0 {
		return winoMode
	}
	if g.N*((g.OH+3)/4)*((g.OW+3)/4) >= 16 {
		return 4
	}
	return 2
}

// pick returns the Winograd form for geometry g, or nil for gemm.Conv.
func (cw *convWino) pick(g *gemm.ConvGeom) (*gemm.Winograd, error) {
	if cw == nil || !gemm.WinogradApplies(g) {
		return nil, nil
	}
	m := winoTile(g)
	f := &cw.forms[m/4]
	f.once.Do(func() { f.w, f.err = gemm.NewWinograd(cw.kern, m, cw.f, cw.c, cw.k, false) })
	return f.w, f.err
}

// lazyPacked is a constant filter packed for gemm.Conv on first use, for
// convolutions that usually run as Winograd (the packed copy would
// otherwise double the filter's memory for nothing).
type lazyPacked struct {
	once sync.Once
	pb   *gemm.PackedB
	pack func() *gemm.PackedB
}

func (l *lazyPacked) get() *gemm.PackedB {
	l.once.Do(func() { l.pb = l.pack() })
	return l.pb
}
