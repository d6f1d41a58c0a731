package jpeg

import (
	"image"
	"math/bits"
	"sync"
)

// geometry is everything a decode at one scale over one region needs to
// know before allocating, shared by Header.Cost and Decode so that what is
// charged is exactly what is allocated.
type geometry struct {
	scale      int
	out        image.Rectangle // output rectangle, scaled coordinates
	mx0, mx1   int             // MCU columns reconstructed
	my0, my1   int             // MCU rows reconstructed
	ss         [4]int
	coefBytes  int64
	planeBytes int64
	pixBytes   int64
	rowBytes   int64
	channels   int
}

// ringMCURows is the height of the component planes in MCU rows. Output
// rows are converted as soon as the MCU rows they need are reconstructed,
// and an output row needs component rows of at most two adjacent MCU rows:
// fancy upsampling's context row above or below crosses into the previous
// or the next MCU row, never both (decoder.rowReady checks it).
const ringMCURows = 2

// ringRows is the number of MCU rows a plane holds.
func (g *geometry) ringRows() int { return min(ringMCURows, g.my1-g.my0) }

// targetBytes is what one output costs beyond the shared coefficients.
func (g *geometry) targetBytes() int64 { return g.planeBytes + g.pixBytes + g.rowBytes }

// newGeometry works from the header alone (as DecodeConfig reports it),
// re-deriving the MCU layout.
func newGeometry(h *Header, scale int, region image.Rectangle) (geometry, error) {
	var g geometry
	if scale == 0 {
		scale = 1
	}
	if scale != 1 && scale != 2 && scale != 4 && scale != 8 {
		return g, ErrRegion
	}
	g.scale = scale
	nc := len(h.Components)
	if nc == 0 || h.Width <= 0 || h.Height <= 0 {
		return g, ErrRegion
	}
	maxH, maxV := 1, 1
	for _, c := range h.Components {
		maxH, maxV = max(maxH, c.H), max(maxV, c.V)
	}
	mcusX := ceilDiv(h.Width, 8*maxH)
	mcusY := ceilDiv(h.Height, 8*maxV)
	full := image.Rect(0, 0, h.Width, h.Height)
	if region.Empty() {
		region = full
	}
	region = region.Intersect(full)
	if region.Empty() {
		return g, ErrRegion
	}
	ws, hs := ceilDiv(h.Width, scale), ceilDiv(h.Height, scale)
	g.out = image.Rect(region.Min.X/scale, region.Min.Y/scale, ceilDiv(region.Max.X, scale), ceilDiv(region.Max.Y, scale)).
		Intersect(image.Rect(0, 0, ws, hs))
	base := 8 / scale
	// An MCU is maxH*base by maxV*base output samples; one MCU of margin on
	// each side gives the upsampler its neighbours.
	mw, mh := maxH*base, maxV*base
	g.mx0 = max(0, g.out.Min.X/mw-1)
	g.mx1 = min(mcusX, ceilDiv(g.out.Max.X, mw)+1)
	g.my0 = max(0, g.out.Min.Y/mh-1)
	g.my1 = min(mcusY, ceilDiv(g.out.Max.Y, mh)+1)
	g.channels = 3
	if nc == 1 {
		g.channels = 1
	}
	for i, c := range h.Components {
		// As libjpeg's jdmaster.c: a subsampled component gets a larger
		// IDCT when that removes upsampling, which is both faster and what
		// djpeg outputs.
		ss := base
		for ss < 8 && (maxH*base)%(c.H*ss*2) == 0 && (maxV*base)%(c.V*ss*2) == 0 {
			ss *= 2
		}
		g.ss[i] = ss
		rows := mcusY * c.V
		if !h.buffered {
			rows = c.V
		}
		g.coefBytes += int64(mcusX*c.H) * int64(rows) * 128
		g.planeBytes += int64((g.mx1-g.mx0)*c.H*ss) * int64(g.ringRows()*c.V*ss)
	}
	g.pixBytes = int64(g.out.Dx()) * int64(g.out.Dy()) * int64(g.channels)
	g.rowBytes = int64(g.out.Dx())*int64(nc) + (int64(g.out.Dx())/2+4)*4
	return g, nil
}

// Buffers are pooled across decodes: a server decoding photo after photo
// reuses its coefficient, plane and pixel memory instead of clearing fresh
// allocations each time. Pools are per power-of-two size class so that a
// small row buffer is never handed out where a plane is wanted.
var (
	bytePool    [64]sync.Pool
	coefPool    [64]sync.Pool
	decoderPool sync.Pool
)

func getBytes(n int) *[]uint8 {
	k := bits.Len(uint(n))
	if p, ok := bytePool[k].Get().(*[]uint8); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]uint8, n)
	return &b
}

func putBytes(p *[]uint8) { bytePool[bits.Len(uint(cap(*p)))].Put(p) }

func getCoef(n int) *[]int16 {
	k := bits.Len(uint(n))
	if p, ok := coefPool[k].Get().(*[]int16); ok && cap(*p) >= n {
		*p = (*p)[:n]
		clear(*p)
		return p
	}
	b := make([]int16, n)
	return &b
}

func putCoef(p *[]int16) { coefPool[bits.Len(uint(cap(*p)))].Put(p) }

func getDecoder() *decoder {
	if d, ok := decoderPool.Get().(*decoder); ok {
		return d
	}
	return new(decoder)
}

func putDecoder(d *decoder) {
	for _, p := range d.coefBufs {
		putCoef(p)
	}
	for _, p := range d.byteBufs {
		putBytes(p)
	}
	*d = decoder{}
	decoderPool.Put(d)
}
