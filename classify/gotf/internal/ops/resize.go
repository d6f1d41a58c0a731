package ops

// Image resizes on NHWC batches: ResizeBilinear, ResizeNearestNeighbor,
// ResizeBicubic and ResizeArea. The geometry follows TensorFlow's CPU
// kernels (image_resizer_state.h and the resize_*_op.cc files): the scale
// is in/out, or (in-1)/(out-1) with align_corners; half_pixel_centers
// samples at (x+0.5)*scale-0.5 (nearest neighbour: (x+0.5)*scale). All
// coordinate arithmetic is float32, as TensorFlow's, so that the chosen
// source pixels agree at the boundaries.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for _, op := range []string{"ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea"} {
		Register(op, buildResize)
	}
}

type resizeOp struct {
	n           *Node
	align, half bool
	// h, w is the constant size input, or 0 when it is known at run time
	// only.
	h, w int
}

func buildResize(n *Node, consts []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("needs 2 inputs (images, size), has %d", n.NumInputs)
	}
	o := &resizeOp{n: n, align: n.Bool("align_corners", false), half: n.Bool("half_pixel_centers", false)}
	if o.align && o.half {
		return nil, n.Errorf("half_pixel_centers requires align_corners false")
	}
	if n.Op == "ResizeArea" && o.half {
		return nil, n.Errorf("ResizeArea has no half_pixel_centers")
	}
	if consts[1] != nil {
		h, w, err := resizeSize(consts[1])
		if err != nil {
			return nil, n.Errorf("size: %v", err)
		}
		o.h, o.w = h, w
	}
	return o, nil
}

// resizeSize reads the size input: a vector of two positive int32.
func resizeSize(t *classify.Tensor) (int, int, error) {
	if t.DType != classify.Int32 || len(t.Shape) != 1 || t.Shape[0] != 2 {
		return 0, 0, fmt.Errorf("want an int32 vector of 2 elements, got %v %v", t.DType, t.Shape)
	}
	s := t.Int32s()
	if s[0] <= 0 || s[1] <= 0 {
		return 0, 0, fmt.Errorf("sizes %v must be positive", s)
	}
	return int(s[0]), int(s[1]), nil
}

// outDType is the output dtype: the input's for nearest neighbour,
// float32 for the interpolating kernels whatever the input.
func (o *resizeOp) outDType(in classify.DType) classify.DType {
	if o.n.Op == "ResizeNearestNeighbor" {
		return in
	}
	return classify.Float32
}

func (o *resizeOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	x := in[0]
	if x.Shape != nil && len(x.Shape) != 4 {
		return nil, o.n.Errorf("images must be 4-D NHWC, got %v", x.Shape)
	}
	s := classify.Shape{-1, -1, -1, -1}
	if x.Shape != nil {
		s = x.Shape.Clone()
	}
	s[1], s[2] = -1, -1
	if o.h > 0 {
		s[1], s[2] = o.h, o.w
	}
	return []classify.TensorInfo{{DType: o.outDType(x.DType), Shape: s}}, nil
}

// resizeScale is TensorFlow's CalculateResizeScale.
func resizeScale(in, out int, align bool) float32 {
	if align && out > 1 {
		return float32(in-1) / float32(out-1)
	}
	return float32(in) / float32(out)
}

func (o *resizeOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	if len(x.Shape) != 4 {
		return nil, o.n.InputErrorf("images must be 4-D NHWC, got %v", x.Shape)
	}
	oh, ow := o.h, o.w
	if oh == 0 {
		var err error
		if oh, ow, err = resizeSize(in[1]); err != nil {
			return nil, o.n.InputErrorf("size: %v", err)
		}
	}
	b, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	if h == 0 || w == 0 {
		return nil, o.n.InputErrorf("images %v: height and width must be non-zero", x.Shape)
	}
	if err := arrCheckDims([]int{b, oh, ow, c}); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, o.outDType(x.DType), b, oh, ow, c)
	g := resizeGeom{b: b, h: h, w: w, c: c, oh: oh, ow: ow,
		sy: resizeScale(h, oh, o.align), sx: resizeScale(w, ow, o.align), align: o.align, half: o.half}
	if o.n.Op == "ResizeNearestNeighbor" {
		var err error
		switch d := out.Data.(type) {
		case []float32:
			err = resizeNearest(ctx, d, x.Data, g)
		case []float64:
			err = resizeNearest(ctx, d, x.Data, g)
		case []int32:
			err = resizeNearest(ctx, d, x.Data, g)
		case []int64:
			err = resizeNearest(ctx, d, x.Data, g)
		case []uint8:
			err = resizeNearest(ctx, d, x.Data, g)
		default:
			err = fmt.Errorf("unsupported dtype %v", x.DType)
		}
		if err != nil {
			return nil, o.n.InputErrorf("%v", err)
		}
		return []*classify.Tensor{out}, nil
	}
	src, err := resizeFloats(x)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	dst := out.Float32s()
	switch o.n.Op {
	case "ResizeBilinear":
		resizeBilinear(ctx, dst, src, g)
	case "ResizeBicubic":
		resizeBicubic(ctx, dst, src, g)
	case "ResizeArea":
		resizeArea(ctx, dst, src, g)
	}
	return []*classify.Tensor{out}, nil
}

// resizeFloats returns the input as float32 (the input itself when it
// already is): TensorFlow's interpolating kernels read every dtype as float.
func resizeFloats(x *classify.Tensor) ([]float32, error) {
	switch d := x.Data.(type) {
	case []float32:
		return d, nil
	case []float64:
		return resizeConv(d), nil
	case []int32:
		return resizeConv(d), nil
	case []int64:
		return resizeConv(d), nil
	case []uint8:
		return resizeConv(d), nil
	}
	return nil, fmt.Errorf("unsupported dtype %v", x.DType)
}

func resizeConv[T float64 | int32 | int64 | uint8](s []T) []float32 {
	d := make([]float32, len(s))
	for i, v := range s {
		d[i] = float32(v)
	}
	return d
}

type resizeGeom struct {
	b, h, w, c, oh, ow int
	sy, sx             float32
	align, half        bool
}

// rows runs fn over the b*oh output rows, in parallel when they are many.
func (g *resizeGeom) rows(ctx *Ctx, cost int, fn func(lo, hi int)) {
	ewParallel(ctx, g.b*g.oh, g.ow*g.c*cost, fn)
}

// nearestIndex is the source index of output index i (TensorFlow's
// resize_nearest_neighbor_op.cc).
func nearestIndex(i, in int, scale float32, align, half bool) int {
	var f float32
	if half {
		f = (float32(i) + 0.5) * scale
	} else {
		f = float32(i) * scale
	}
	var j int
	if align {
		j = int(float32(math.Round(float64(f))))
	} else {
		j = int(float32(math.Floor(float64(f))))
	}
	j = min(j, in-1)
	if half {
		j = max(j, 0)
	}
	return j
}

func resizeNearest[T any](ctx *Ctx, dst []T, srcData any, g resizeGeom) error {
	src, ok := srcData.([]T)
	if !ok {
		return fmt.Errorf("dtype mismatch: %T into %T", srcData, dst)
	}
	xs := make([]int, g.ow)
	for x := range xs {
		xs[x] = nearestIndex(x, g.w, g.sx, g.align, g.half) * g.c
	}
	c := g.c
	g.rows(ctx, 1, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			bi, y := r/g.oh, r%g.oh
			sy := nearestIndex(y, g.h, g.sy, g.align, g.half)
			srow := src[(bi*g.h+sy)*g.w*c:]
			drow := dst[r*g.ow*c : (r+1)*g.ow*c]
			for x, sx := range xs {
				copy(drow[x*c:(x+1)*c], srow[sx:sx+c])
			}
		}
	})
	return nil
}

// lerpAt is one output coordinate's two source indices and weight.
type lerpAt struct {
	lo, hi int
	f      float32
}

// bilinearWeights is TensorFlow's compute_interpolation_weights.
func bilinearWeights(out, in int, scale float32, half bool) []lerpAt {
	ws := make([]lerpAt, out)
	for i := range ws {
		var f float32
		if half {
			f = (float32(i)+0.5)*scale - 0.5
		} else {
			f = float32(i) * scale
		}
		fl := float32(math.Floor(float64(f)))
		ws[i] = lerpAt{
			lo: max(int(fl), 0),
			hi: min(int(float32(math.Ceil(float64(f)))), in-1),
			f:  f - fl,
		}
	}
	return ws
}

func resizeBilinear(ctx *Ctx, dst, src []float32, g resizeGeom) {
	ys := bilinearWeights(g.oh, g.h, g.sy, g.half)
	xs := bilinearWeights(g.ow, g.w, g.sx, g.half)
	c := g.c
	g.rows(ctx, 8, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			bi, y := r/g.oh, r%g.oh
			wy := ys[y]
			top := src[(bi*g.h+wy.lo)*g.w*c:]
			bot := src[(bi*g.h+wy.hi)*g.w*c:]
			drow := dst[r*g.ow*c : (r+1)*g.ow*c]
			for x, wx := range xs {
				l, h := wx.lo*c, wx.hi*c
				d := drow[x*c : (x+1)*c]
				for k := range d {
					tl, tr := top[l+k], top[h+k]
					bl, br := bot[l+k], bot[h+k]
					t := tl + (tr-tl)*wx.f
					b := bl + (br-bl)*wx.f
					d[k] = t + (b-t)*wy.f
				}
			}
		}
	})
}

// cubicTableSize is the resolution of TensorFlow's bicubic coefficient
// table: the fractional offset is rounded to 1/1024 before weighting.
const cubicTableSize = 1024

// floatMinNormal is C++'s std::numeric_limits<float>::min().
const floatMinNormal = 0x1p-126

// cubicTable is TensorFlow's GetCoeffsTable for coefficient a: entry 2i is
// the kernel at x = i/1024, 2i+1 at x = 1 + i/1024.
func cubicTable(a float32) []float32 {
	t := make([]float32, (cubicTableSize+1)*2)
	for i := 0; i <= cubicTableSize; i++ {
		x := float32(float64(i) * 1.0 / cubicTableSize)
		t[i*2] = ((a+2)*x-(a+3))*x*x + 1
		x += 1
		t[i*2+1] = ((a*x-5*a)*x+8*a)*x - 4*a
	}
	return t
}

// cubicAt is one output coordinate's four source indices and weights.
type cubicAt struct {
	i [4]int
	w [4]float32
}

// cubicWeights is TensorFlow's GetWeightsAndIndices: with half-pixel
// centres it uses Keys' kernel (a = -0.5) and drops taps outside the
// image, renormalising; otherwise a = -0.75 and the taps are clamped.
func cubicWeights(out, in int, scale float32, half bool, tab []float32) []cubicAt {
	ws := make([]cubicAt, out)
	for i := range ws {
		var f float32
		if half {
			f = (float32(i)+0.5)*scale - 0.5
		} else {
			f = float32(i) * scale
		}
		loc := int(math.Floor(float64(f)))
		delta := f - float32(loc)
		off := int(math.RoundToEven(float64(delta * cubicTableSize)))
		w := &ws[i]
		w.w = [4]float32{tab[off*2+1], tab[off*2], tab[(cubicTableSize-off)*2], tab[(cubicTableSize-off)*2+1]}
		for k := range 4 {
			j := loc - 1 + k
			w.i[k] = min(max(j, 0), in-1)
			if half && w.i[k] != j {
				w.w[k] = 0
			}
		}
		if half {
			s := w.w[0] + w.w[1] + w.w[2] + w.w[3]
			if float32(math.Abs(float64(s))) >= 1000*floatMinNormal {
				inv := 1 / s
				for k := range 4 {
					w.w[k] *= inv
				}
			}
		}
	}
	return ws
}

func resizeBicubic(ctx *Ctx, dst, src []float32, g resizeGeom) {
	a := float32(-0.75)
	if g.half {
		a = -0.5
	}
	tab := cubicTable(a)
	ys := cubicWeights(g.oh, g.h, g.sy, g.half, tab)
	xs := cubicWeights(g.ow, g.w, g.sx, g.half, tab)
	c := g.c
	g.rows(ctx, 20, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			bi, y := r/g.oh, r%g.oh
			wy := ys[y]
			var rows [4][]float32
			for k := range 4 {
				rows[k] = src[(bi*g.h+wy.i[k])*g.w*c:]
			}
			drow := dst[r*g.ow*c : (r+1)*g.ow*c]
			for x, wx := range xs {
				d := drow[x*c : (x+1)*c]
				for ch := range d {
					var col [4]float32
					for k := range 4 {
						row := rows[k]
						col[k] = wx.w[0]*row[wx.i[0]*c+ch] + wx.w[1]*row[wx.i[1]*c+ch] +
							wx.w[2]*row[wx.i[2]*c+ch] + wx.w[3]*row[wx.i[3]*c+ch]
					}
					d[ch] = wy.w[0]*col[0] + wy.w[1]*col[1] + wy.w[2]*col[2] + wy.w[3]*col[3]
				}
			}
		}
	})
}

// areaSpan is the source pixels an output pixel covers along one axis,
// with the weight of each (the first and last may be covered partly).
type areaSpan struct {
	start int
	w     []float32
}

// areaSpans follows TensorFlow's resize_area_op.cc: output pixel i covers
// [i*scale, (i+1)*scale) of the input; indices past the edge are clamped.
func areaSpans(out, in int, scale float32) []areaSpan {
	sp := make([]areaSpan, out)
	for i := range sp {
		in0 := float32(i) * scale
		in1 := in0 + scale
		v0 := int(math.Floor(float64(in0)))
		v1 := int(math.Ceil(float64(in1)))
		s := &sp[i]
		s.start = v0
		for v := v0; v < v1; v++ {
			lo := max(float32(v), in0)
			hi := min(float32(v+1), in1)
			s.w = append(s.w, hi-lo)
		}
	}
	return sp
}

func resizeArea(ctx *Ctx, dst, src []float32, g resizeGeom) {
	ys := areaSpans(g.oh, g.h, g.sy)
	xs := areaSpans(g.ow, g.w, g.sx)
	c := g.c
	norm := 1 / (g.sy * g.sx)
	g.rows(ctx, 16, func(lo, hi int) {
		acc := make([]float32, c)
		for r := lo; r < hi; r++ {
			bi, y := r/g.oh, r%g.oh
			sy := ys[y]
			drow := dst[r*g.ow*c : (r+1)*g.ow*c]
			for x, sx := range xs {
				clear(acc)
				for dy, wy := range sy.w {
					iy := min(max(sy.start+dy, 0), g.h-1)
					row := src[(bi*g.h+iy)*g.w*c:]
					for dx, wx := range sx.w {
						ix := min(max(sx.start+dx, 0), g.w-1)
						p := row[ix*c : (ix+1)*c]
						wt := wy * wx
						for k := range acc {
							acc[k] += p[k] * wt
						}
					}
				}
				d := drow[x*c : (x+1)*c]
				for k := range d {
					d[k] = acc[k] * norm
				}
			}
		}
	})
}
