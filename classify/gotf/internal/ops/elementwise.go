package ops

// Element-wise arithmetic: the binary ops with NumPy broadcasting (Add,
// AddV2, Sub, Mul, RealDiv, Div, Maximum, Minimum, SquaredDifference,
// Pow), BiasAdd, AddN and the unary math ops (Rsqrt, Sqrt, Exp, Log,
// Square, Neg, Abs).
//
// Broadcasting is planned once per run: dimensions where both operands
// behave alike (both full, or one of them broadcast) are merged, so that
// any broadcast reduces to rows of one contiguous run each, where the
// operands are either both vectors (same shape) or a vector and a scalar
// (per-channel bias, scalar constants). Each run is handed to a typed loop,
// so there is no per-element indirect call or allocation.

import (
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

// ewNumber are the element types of the arithmetic kernels.
type ewNumber interface {
	~float32 | ~float64 | ~int32 | ~int64
}

// ewFloat are the float element types.
type ewFloat interface{ ~float32 | ~float64 }

// ewMaxRank bounds the number of merged outer dimensions a broadcast may
// have, so that the plan lives on the stack. Merging makes it generous:
// only shapes whose broadcast pattern alternates more than eight times
// exceed it.
const ewMaxRank = 8

// ewGrain is the number of cheap element operations below which splitting
// across goroutines costs more than it saves.
const ewGrain = 1 << 15

// ewParallel calls fn on contiguous chunks covering [0, n), using up to
// ctx.Workers() goroutines when n*cost is large enough to amortise them.
// cost is the relative price of one element (1 for an add).
func ewParallel(ctx *Ctx, n, cost int, fn func(lo, hi int)) {
	if ewSerial(ctx, n, cost) {
		fn(0, n)
		return
	}
	w := min(ctx.Workers(), n*max(cost, 1)/ewGrain)
	if w <= 1 {
		fn(0, n)
		return
	}
	gemm.Parallel(w, n, fn)
}

// ewSerial reports whether ewParallel would run fn in the calling
// goroutine; callers test it first so that small tensors, the common case,
// run without allocating a closure.
func ewSerial(ctx *Ctx, n, cost int) bool {
	return ctx.Workers() <= 1 || n*max(cost, 1) < 2*ewGrain
}

// bcastShapes returns the NumPy broadcast of two shapes, or ok=false when
// they are incompatible. -1 (unknown) dims are allowed: an unknown dim
// against 1 or another unknown stays unknown, against k>1 becomes k.
func bcastShapes(a, b classify.Shape) (classify.Shape, bool) {
	return bcastAppend(nil, a, b)
}

// bcastAppend is bcastShapes writing into dst[:0], so that a caller can
// keep the result on its stack.
func bcastAppend(dst []int, a, b classify.Shape) (classify.Shape, bool) {
	r := max(len(a), len(b))
	out := classify.Shape(dst[:0])
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out = append(out, da)
		case da == 1, da < 0:
			out = append(out, db)
		case db < 0:
			out = append(out, da)
		default:
			return nil, false
		}
	}
	return out, true
}

// bplan is the merged geometry of one broadcast: rows of inner elements;
// row r's multi-index over dims gives offsets into a and b through their
// strides (0 where the operand is broadcast). aVec/bVec tell whether the
// operand advances along the inner run or stays one scalar.
type bplan struct {
	rank       int
	dims       [ewMaxRank]int
	as, bs     [ewMaxRank]int
	inner      int
	rows       int
	aVec, bVec bool
}

// planBroadcast merges the dimensions of a broadcast of concrete shapes.
// out must be bcastShapes(a, b).
func planBroadcast(a, b, out classify.Shape) (p bplan, ok bool) {
	r := len(out)
	// Merged groups: size and whether a / b are full along them.
	var gs [2*ewMaxRank + 2]int
	var ga, gb [2*ewMaxRank + 2]bool
	ng := 0
	for i := 0; i < r; i++ {
		d := out[i]
		if d == 1 {
			continue
		}
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		fa, fb := da == d, db == d
		if ng > 0 && ga[ng-1] == fa && gb[ng-1] == fb {
			gs[ng-1] *= d
			continue
		}
		if ng == len(gs) {
			return p, false
		}
		gs[ng], ga[ng], gb[ng] = d, fa, fb
		ng++
	}
	if ng == 0 {
		gs[0], ga[0], gb[0] = 1, true, true
		ng = 1
	}
	if ng-1 > ewMaxRank {
		return p, false
	}
	p.inner, p.aVec, p.bVec = gs[ng-1], ga[ng-1], gb[ng-1]
	p.rank = ng - 1
	sa, sb := 1, 1
	if p.aVec {
		sa = p.inner
	}
	if p.bVec {
		sb = p.inner
	}
	p.rows = 1
	for g := ng - 2; g >= 0; g-- {
		p.dims[g] = gs[g]
		if ga[g] {
			p.as[g] = sa
			sa *= gs[g]
		}
		if gb[g] {
			p.bs[g] = sb
			sb *= gs[g]
		}
		p.rows *= gs[g]
	}
	return p, true
}

// offsets returns the offsets into a and b of the start of row r.
func (p *bplan) offsets(r int) (ao, bo int) {
	for g := p.rank - 1; g >= 0; g-- {
		i := r % p.dims[g]
		r /= p.dims[g]
		ao += i * p.as[g]
		bo += i * p.bs[g]
	}
	return ao, bo
}

// binKernel holds the three loop shapes of one binary op for one type.
type binKernel[T ewNumber] struct {
	vv func(d, a, b []T)
	vs func(d, a []T, s T)
	sv func(d []T, s T, b []T)
}

// run computes d = f(a, b) for the elements [lo, hi) of the output. The
// row offsets are found by division once, then advanced like an odometer:
// per-channel broadcasts have many short rows.
func (k *binKernel[T]) run(p *bplan, d, a, b, tile []T, lo, hi int) {
	if lo >= hi {
		return
	}
	if tile != nil {
		k.runTiled(p, d, a, b, tile, lo, hi)
		return
	}
	r := lo / p.inner
	var idx [ewMaxRank]int
	for g, q := p.rank-1, r; g >= 0; g-- {
		idx[g] = q % p.dims[g]
		q /= p.dims[g]
	}
	ao, bo := p.offsets(r)
	for lo < hi {
		off := lo - r*p.inner
		end := min(hi-lo+off, p.inner)
		dst := d[r*p.inner+off : r*p.inner+end]
		switch {
		case p.aVec && p.bVec:
			k.vv(dst, a[ao+off:ao+end], b[bo+off:bo+end])
		case p.aVec:
			k.vs(dst, a[ao+off:ao+end], b[bo])
		default:
			k.sv(dst, a[ao], b[bo+off:bo+end])
		}
		lo += end - off
		r++
		for g := p.rank - 1; g >= 0; g-- {
			idx[g]++
			ao += p.as[g]
			bo += p.bs[g]
			if idx[g] < p.dims[g] {
				break
			}
			ao -= idx[g] * p.as[g]
			bo -= idx[g] * p.bs[g]
			idx[g] = 0
		}
	}
}

// Short rows (a per-channel operand of few channels, such as the RGB
// mean of a preprocessing Sub) would make run call the loop once per
// handful of elements. For them the short operand is repeated into a tile
// of whole rows, so the loop gets runs of up to ewTile elements.
const (
	ewTileRow = 128 // longest row tiled
	ewTile    = 512 // elements per tiled call
)

// tileRow returns the repeating row of a plan that tiling suits (a full
// operand against a row of at most ewTileRow elements), or nil.
func tileRow[T ewNumber](p *bplan, a, b []T) []T {
	c := p.inner
	if p.rank != 1 || !p.aVec || !p.bVec || c < 1 || c > ewTileRow || p.rows < 2 {
		return nil
	}
	switch {
	case p.bs[0] == 0 && p.as[0] == c:
		return b[:c]
	case p.as[0] == 0 && p.bs[0] == c:
		return a[:c]
	}
	return nil
}

// fillTile repeats row into tile, which holds one row more than the
// ewTile/len(row) rows of a run so that a run may start inside a row.
func fillTile[T ewNumber](tile, row []T) {
	for i := range tile {
		tile[i] = row[i%len(row)]
	}
}

// ewDType is the DType whose data is []T.
func ewDType[T ewNumber]() classify.DType {
	var z T
	switch any(z).(type) {
	case float32:
		return classify.Float32
	case float64:
		return classify.Float64
	case int32:
		return classify.Int32
	}
	return classify.Int64
}

// tileLen is the tile length for rows of c elements.
func tileLen(c int) int { return (ewTile/c + 1) * c }

// runTiled is run for a plan tileRow accepted, with its filled tile.
func (k *binKernel[T]) runTiled(p *bplan, d, a, b, tile []T, lo, hi int) {
	c := p.inner
	bRep := p.bs[0] == 0
	m := ewTile / c
	for lo < hi {
		n := min(hi-lo, m*c)
		off := lo % c
		if bRep {
			k.vv(d[lo:lo+n], a[lo:lo+n], tile[off:off+n])
		} else {
			k.vv(d[lo:lo+n], tile[off:off+n], b[lo:lo+n])
		}
		lo += n
	}
}

// binarySpec is one binary op: its kernels per element type (nil where
// TensorFlow has no kernel) and the relative cost of one element.
type binarySpec struct {
	f32  *binKernel[float32]
	f64  *binKernel[float64]
	i32  *binKernel[int32]
	i64  *binKernel[int64]
	cost int
	// check validates the operands before the run (integer Pow's exponents).
	check func(n *Node, b *classify.Tensor) error
}

func (s *binarySpec) supports(dt classify.DType) bool {
	switch dt {
	case classify.Float32:
		return s.f32 != nil
	case classify.Float64:
		return s.f64 != nil
	case classify.Int32:
		return s.i32 != nil
	case classify.Int64:
		return s.i64 != nil
	}
	return false
}

// binaryOp is a compiled broadcasting binary node.
type binaryOp struct {
	n    *Node
	spec *binarySpec
	// bias makes it BiasAdd: input 1 must be a vector matching the last
	// dimension of input 0 (no general broadcasting).
	bias bool
}

func newBinary(spec *binarySpec) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 2 {
			return nil, n.Errorf("want 2 inputs, have %d", n.NumInputs)
		}
		if dt := n.Type("T"); dt != classify.Invalid && !spec.supports(dt) {
			return nil, n.Errorf("unsupported dtype %v", dt)
		}
		return &binaryOp{n: n, spec: spec}, nil
	}
}

func buildBiasAdd(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("want 2 inputs, have %d", n.NumInputs)
	}
	if f := n.String("data_format", "NHWC"); f == "NCHW" {
		return buildBiasAddNCHW(n) // biasadd_nchw.go
	} else if f != "NHWC" {
		return nil, n.Errorf("data_format %q not supported (NHWC, NCHW)", f)
	}
	if dt := n.Type("T"); dt != classify.Invalid && !addSpec.supports(dt) {
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	return &binaryOp{n: n, spec: &addSpec, bias: true}, nil
}

func (o *binaryOp) outShape(a, b classify.Shape) (classify.Shape, error) {
	return o.outShapeBuf(nil, a, b)
}

// outShapeBuf is outShape building the result in buf (which may be nil);
// for BiasAdd it returns a itself.
func (o *binaryOp) outShapeBuf(buf []int, a, b classify.Shape) (classify.Shape, error) {
	if o.bias {
		if len(a) < 2 {
			return nil, fmt.Errorf("value must be at least 2-D, has shape %v", a)
		}
		if len(b) != 1 {
			return nil, fmt.Errorf("bias must be a vector, has shape %v", b)
		}
		if c := a[len(a)-1]; c >= 0 && b[0] >= 0 && c != b[0] {
			return nil, fmt.Errorf("bias of %d elements for %d channels (value %v)", b[0], c, a)
		}
		return a, nil
	}
	s, ok := bcastAppend(buf, a, b)
	if !ok {
		return nil, fmt.Errorf("incompatible shapes %v and %v for broadcasting", a, b)
	}
	return s, nil
}

// OutputInfo implements Shaper.
func (o *binaryOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 2 {
		return nil, o.n.Errorf("want 2 inputs, have %d", len(in))
	}
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = in[1].DType
	}
	if in[1].DType != classify.Invalid && in[1].DType != dt {
		return nil, o.n.Errorf("dtype mismatch: %v and %v", dt, in[1].DType)
	}
	if dt != classify.Invalid && !o.spec.supports(dt) {
		return nil, o.n.Errorf("unsupported dtype %v", dt)
	}
	if in[0].Shape == nil || in[1].Shape == nil {
		return []classify.TensorInfo{{DType: dt}}, nil
	}
	s, err := o.outShape(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: dt, Shape: s.Clone()}}, nil
}

// FLOPs implements Flopper: one operation per output element.
func (o *binaryOp) FLOPs(in []classify.Shape) int64 {
	if len(in) != 2 {
		return 0
	}
	s, err := o.outShape(in[0], in[1])
	if err != nil {
		return 0
	}
	return ewCount(s)
}

// ewCount is the element count of a static shape, 0 when unknown.
func ewCount(s classify.Shape) int64 {
	n := int64(1)
	for _, d := range s {
		if d < 0 {
			return 0
		}
		n *= int64(d)
	}
	return n
}

// Run implements Op.
func (o *binaryOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 2 {
		return nil, o.n.InputErrorf("want 2 inputs, have %d", len(in))
	}
	a, b := in[0], in[1]
	if a.DType != b.DType {
		return nil, o.n.InputErrorf("dtype mismatch: %v and %v", a.DType, b.DType)
	}
	if !o.spec.supports(a.DType) {
		return nil, o.n.InputErrorf("unsupported dtype %v", a.DType)
	}
	var buf [16]int
	shape, err := o.outShapeBuf(buf[:0], a.Shape, b.Shape)
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	p, ok := planBroadcast(a.Shape, b.Shape, shape)
	if !ok {
		return nil, o.n.InputErrorf("broadcast of %v and %v has too many dimensions", a.Shape, b.Shape)
	}
	if o.spec.check != nil {
		if err := o.spec.check(o.n, b); err != nil {
			return nil, err
		}
	}
	out := ctx.Output(0, a.DType, shape...)
	n := out.Len()
	switch a.DType {
	case classify.Float32:
		binRun(ctx, o.spec.f32, &p, out.Float32s(), a.Float32s(), b.Float32s(), n, o.spec.cost)
	case classify.Float64:
		binRun(ctx, o.spec.f64, &p, out.Data.([]float64), a.Data.([]float64), b.Data.([]float64), n, o.spec.cost)
	case classify.Int32:
		binRun(ctx, o.spec.i32, &p, out.Int32s(), a.Int32s(), b.Int32s(), n, o.spec.cost)
	case classify.Int64:
		binRun(ctx, o.spec.i64, &p, out.Int64s(), a.Int64s(), b.Int64s(), n, o.spec.cost)
	}
	return []*classify.Tensor{out}, nil
}

func binRun[T ewNumber](ctx *Ctx, k *binKernel[T], p *bplan, d, a, b []T, n, cost int) {
	if n == 0 {
		return
	}
	var tile []T
	if row := tileRow(p, a, b); row != nil {
		// Output slot 1 is this node's scratch: reused across runs, and
		// read-only once filled, so every goroutine shares it.
		t := ctx.Output(1, ewDType[T](), tileLen(len(row)))
		tile, _ = t.Data.([]T)
		fillTile(tile, row)
	}
	if ewSerial(ctx, n, cost) {
		k.run(p, d, a, b, tile, 0, n)
		return
	}
	// The closure gets its own copy of the plan so that p itself does not
	// escape and the serial path stays free of allocations.
	pc := *p
	ewParallel(ctx, n, cost, func(lo, hi int) { k.run(&pc, d, a, b, tile, lo, hi) })
}

// The loops of each op. Each reslices its operands to len(d) first so the
// compiler drops the bounds checks.

func addVV[T ewNumber](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] + b[i]
	}
}

func addVS[T ewNumber](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] + s
	}
}

func addSV[T ewNumber](d []T, s T, b []T) { addVS(d, b, s) }

func subVV[T ewNumber](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] - b[i]
	}
}

func subVS[T ewNumber](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] - s
	}
}

func subSV[T ewNumber](d []T, s T, b []T) {
	b = b[:len(d)]
	for i := range d {
		d[i] = s - b[i]
	}
}

func mulVV[T ewNumber](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] * b[i]
	}
}

func mulVS[T ewNumber](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] * s
	}
}

func mulSV[T ewNumber](d []T, s T, b []T) { mulVS(d, b, s) }

func divVV[T ewFloat](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] / b[i]
	}
}

// divVS divides rather than multiplying by 1/s: TensorFlow divides, and
// the reciprocal would round differently.
func divVS[T ewFloat](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] / s
	}
}

func divSV[T ewFloat](d []T, s T, b []T) {
	b = b[:len(d)]
	for i := range d {
		d[i] = s / b[i]
	}
}

// maxVV and its kin return the second operand unless the first is
// strictly greater (smaller for min), as x86's MAXPS/MINPS and so
// TensorFlow's Eigen kernels do: a NaN in a yields b. The assembly loops
// behave the same.
func maxVV[T ewNumber](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		x, y := a[i], b[i]
		if x > y {
			y = x
		}
		d[i] = y
	}
}

func maxVS[T ewNumber](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		x := s
		if a[i] > x {
			x = a[i]
		}
		d[i] = x
	}
}

func maxSV[T ewNumber](d []T, s T, b []T) { maxVS(d, b, s) }

func minVV[T ewNumber](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		x, y := a[i], b[i]
		if x < y {
			y = x
		}
		d[i] = y
	}
}

func minVS[T ewNumber](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		x := s
		if a[i] < x {
			x = a[i]
		}
		d[i] = x
	}
}

func minSV[T ewNumber](d []T, s T, b []T) { minVS(d, b, s) }

func sqdVV[T ewNumber](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		x := a[i] - b[i]
		d[i] = x * x
	}
}

func sqdVS[T ewNumber](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		x := a[i] - s
		d[i] = x * x
	}
}

func sqdSV[T ewNumber](d []T, s T, b []T) { sqdVS(d, b, s) }

func powF[T ewFloat](x, y T) T { return T(math.Pow(float64(x), float64(y))) }

func powVV[T ewFloat](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = powF(a[i], b[i])
	}
}

// powVS special-cases x**2, which graphs use for squares and where the
// product is exactly what pow rounds to.
func powVS[T ewFloat](d, a []T, s T) {
	a = a[:len(d)]
	switch s {
	case 1:
		copy(d, a)
	case 2:
		for i := range d {
			d[i] = a[i] * a[i]
		}
	default:
		for i := range d {
			d[i] = powF(a[i], s)
		}
	}
}

func powSV[T ewFloat](d []T, s T, b []T) {
	b = b[:len(d)]
	for i := range d {
		d[i] = powF(s, b[i])
	}
}

// ipow is exponentiation by squaring, wrapping on overflow like
// TensorFlow's integer Pow; negative exponents are rejected before the run.
func ipow[T ~int32 | ~int64](x, y T) T {
	r := T(1)
	for y > 0 {
		if y&1 != 0 {
			r *= x
		}
		x *= x
		y >>= 1
	}
	return r
}

func ipowVV[T ~int32 | ~int64](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = ipow(a[i], b[i])
	}
}

func ipowVS[T ~int32 | ~int64](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = ipow(a[i], s)
	}
}

func ipowSV[T ~int32 | ~int64](d []T, s T, b []T) {
	b = b[:len(d)]
	for i := range d {
		d[i] = ipow(s, b[i])
	}
}

// idivVV and its kin divide integers truncating toward zero, as
// TensorFlow's Div does for integers; zero divisors are rejected before
// the run.
func idivVV[T ~int32 | ~int64](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	for i := range d {
		d[i] = a[i] / b[i]
	}
}

func idivVS[T ~int32 | ~int64](d, a []T, s T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] / s
	}
}

func idivSV[T ~int32 | ~int64](d []T, s T, b []T) {
	b = b[:len(d)]
	for i := range d {
		d[i] = s / b[i]
	}
}

// checkIntDivisor rejects integer division by zero, as TensorFlow does
// ("Integer division by zero"), before Go's division would panic.
func checkIntDivisor(n *Node, b *classify.Tensor) error {
	bad := false
	switch d := b.Data.(type) {
	case []int32:
		for _, v := range d {
			bad = bad || v == 0
		}
	case []int64:
		for _, v := range d {
			bad = bad || v == 0
		}
	case []uint8:
		for _, v := range d {
			bad = bad || v == 0
		}
	}
	if bad {
		return n.InputErrorf("integer division by zero")
	}
	return nil
}

// checkIntExponent rejects negative integer exponents, as TensorFlow does
// ("Integers to negative integer powers are not allowed").
func checkIntExponent(n *Node, b *classify.Tensor) error {
	bad := false
	switch d := b.Data.(type) {
	case []int32:
		for _, v := range d {
			bad = bad || v < 0
		}
	case []int64:
		for _, v := range d {
			bad = bad || v < 0
		}
	}
	if bad {
		return n.InputErrorf("integers to negative integer powers are not allowed")
	}
	return nil
}

func binKernels[T ewNumber](vv func(d, a, b []T), vs func(d, a []T, s T), sv func(d []T, s T, b []T)) *binKernel[T] {
	return &binKernel[T]{vv: vv, vs: vs, sv: sv}
}

var (
	addSpec = binarySpec{
		f32: binKernels(addVVF32, addVSF32, func(d []float32, s float32, b []float32) { addVSF32(d, b, s) }),
		f64: binKernels(addVV[float64], addVS[float64], addSV[float64]),
		i32: binKernels(addVV[int32], addVS[int32], addSV[int32]),
		i64: binKernels(addVV[int64], addVS[int64], addSV[int64]),
	}
	subSpec = binarySpec{
		f32: binKernels(subVVF32, subVSF32, subSVF32),
		f64: binKernels(subVV[float64], subVS[float64], subSV[float64]),
		i32: binKernels(subVV[int32], subVS[int32], subSV[int32]),
		i64: binKernels(subVV[int64], subVS[int64], subSV[int64]),
	}
	mulSpec = binarySpec{
		f32: binKernels(mulVVF32, mulVSF32, func(d []float32, s float32, b []float32) { mulVSF32(d, b, s) }),
		f64: binKernels(mulVV[float64], mulVS[float64], mulSV[float64]),
		i32: binKernels(mulVV[int32], mulVS[int32], mulSV[int32]),
		i64: binKernels(mulVV[int64], mulVS[int64], mulSV[int64]),
	}
	// RealDiv's CPU kernels are float only.
	divSpec = binarySpec{
		f32:  binKernels(divVVF32, divVSF32, divSVF32),
		f64:  binKernels(divVV[float64], divVS[float64], divSV[float64]),
		cost: 2,
	}
	// Div is RealDiv for floats and truncating division for integers.
	divIntSpec = binarySpec{
		f32:   divSpec.f32,
		f64:   divSpec.f64,
		i32:   binKernels(idivVV[int32], idivVS[int32], idivSV[int32]),
		i64:   binKernels(idivVV[int64], idivVS[int64], idivSV[int64]),
		cost:  2,
		check: checkIntDivisor,
	}
	maxSpec = binarySpec{
		f32: binKernels(maxVVF32, maxVSF32, maxSV[float32]),
		f64: binKernels(maxVV[float64], maxVS[float64], maxSV[float64]),
		i32: binKernels(maxVV[int32], maxVS[int32], maxSV[int32]),
		i64: binKernels(maxVV[int64], maxVS[int64], maxSV[int64]),
	}
	minSpec = binarySpec{
		f32: binKernels(minVVF32, minVSF32, minSV[float32]),
		f64: binKernels(minVV[float64], minVS[float64], minSV[float64]),
		i32: binKernels(minVV[int32], minVS[int32], minSV[int32]),
		i64: binKernels(minVV[int64], minVS[int64], minSV[int64]),
	}
	sqdSpec = binarySpec{
		f32: binKernels(sqdVV[float32], sqdVS[float32], sqdSV[float32]),
		f64: binKernels(sqdVV[float64], sqdVS[float64], sqdSV[float64]),
		i32: binKernels(sqdVV[int32], sqdVS[int32], sqdSV[int32]),
		i64: binKernels(sqdVV[int64], sqdVS[int64], sqdSV[int64]),
	}
	powSpec = binarySpec{
		f32:   binKernels(powVV[float32], powVS[float32], powSV[float32]),
		f64:   binKernels(powVV[float64], powVS[float64], powSV[float64]),
		i32:   binKernels(ipowVV[int32], ipowVS[int32], ipowSV[int32]),
		i64:   binKernels(ipowVV[int64], ipowVS[int64], ipowSV[int64]),
		cost:  16,
		check: checkIntExponent,
	}
)

// addNOp sums N tensors of one shape (AddN does not broadcast).
type addNOp struct{ n *Node }

func buildAddN(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs < 1 {
		return nil, n.Errorf("AddN needs at least one input")
	}
	if dt := n.Type("T"); dt != classify.Invalid && !addNSupports(dt) {
		return nil, n.Errorf("unsupported dtype %v", dt)
	}
	return &addNOp{n: n}, nil
}

// OutputInfo implements Shaper.
func (o *addNOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) == 0 {
		return nil, o.n.Errorf("AddN needs at least one input")
	}
	info := classify.TensorInfo{DType: in[0].DType}
	for i, t := range in {
		if t.DType != info.DType {
			return nil, o.n.Errorf("input %d has dtype %v, input 0 %v", i, t.DType, info.DType)
		}
		if t.Shape == nil {
			continue
		}
		if info.Shape == nil {
			info.Shape = t.Shape.Clone()
			continue
		}
		if len(t.Shape) != len(info.Shape) {
			return nil, o.n.Errorf("input %d has shape %v, others %v", i, t.Shape, info.Shape)
		}
		for j, d := range t.Shape {
			switch {
			case info.Shape[j] < 0:
				info.Shape[j] = d
			case d >= 0 && d != info.Shape[j]:
				return nil, o.n.Errorf("input %d has shape %v, others %v", i, t.Shape, info.Shape)
			}
		}
	}
	return []classify.TensorInfo{info}, nil
}

// FLOPs implements Flopper.
func (o *addNOp) FLOPs(in []classify.Shape) int64 {
	if len(in) < 2 {
		return 0
	}
	return int64(len(in)-1) * ewCount(in[0])
}

// Run implements Op.
func (o *addNOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) == 0 {
		return nil, o.n.InputErrorf("AddN needs at least one input")
	}
	for i, t := range in[1:] {
		if t.DType != in[0].DType || !t.Shape.Equal(in[0].Shape) {
			return nil, o.n.InputErrorf("input %d is %v%v, input 0 %v%v", i+1, t.DType, t.Shape, in[0].DType, in[0].Shape)
		}
	}
	if !addNSupports(in[0].DType) {
		return nil, o.n.InputErrorf("unsupported dtype %v", in[0].DType)
	}
	out := ctx.Output(0, in[0].DType, in[0].Shape...)
	switch d := out.Data.(type) {
	case []float32:
		addNRun(ctx, d, in, (*classify.Tensor).Float32s)
	case []float64:
		addNRun(ctx, d, in, func(t *classify.Tensor) []float64 { return t.Data.([]float64) })
	case []int32:
		addNRun(ctx, d, in, (*classify.Tensor).Int32s)
	case []int64:
		addNRun(ctx, d, in, (*classify.Tensor).Int64s)
	case []complex64:
		addNComplex(d, in)
	case []complex128:
		addNComplex(d, in)
	}
	return []*classify.Tensor{out}, nil
}

// addNSupports reports whether AddN has a kernel for dt: Add's real types
// and complex64/complex128.
func addNSupports(dt classify.DType) bool {
	return addSpec.supports(dt) || dt == classify.Complex64 || dt == classify.Complex128
}

// addNComplex sums complex inputs element by element in input order, in
// complex128 rounded once (complex.go's convention for complex64).
func addNComplex[T complex64 | complex128](d []T, in []*classify.Tensor) {
	srcs := make([][]T, len(in))
	for j, t := range in {
		srcs[j] = t.Data.([]T)
	}
	for i := range d {
		acc := complex128(0)
		for _, s := range srcs {
			acc += complex128(s[i])
		}
		d[i] = T(acc)
	}
}

func addNRun[T ewNumber](ctx *Ctx, d []T, in []*classify.Tensor, data func(*classify.Tensor) []T) {
	ewParallel(ctx, len(d), len(in), func(lo, hi int) {
		dst := d[lo:hi]
		copy(dst, data(in[0])[lo:hi])
		for _, t := range in[1:] {
			addVV(dst, dst, data(t)[lo:hi])
		}
	})
}

// unarySpec is one element-wise unary op: its loops per type (nil where
// unsupported) and the relative cost of one element.
type unarySpec struct {
	f32  func(d, a []float32)
	f64  func(d, a []float64)
	i32  func(d, a []int32)
	i64  func(d, a []int64)
	cost int
}

func (s *unarySpec) supports(dt classify.DType) bool {
	switch dt {
	case classify.Float32:
		return s.f32 != nil
	case classify.Float64:
		return s.f64 != nil
	case classify.Int32:
		return s.i32 != nil
	case classify.Int64:
		return s.i64 != nil
	}
	return false
}

// unaryOp is a compiled element-wise unary node.
type unaryOp struct {
	n    *Node
	spec *unarySpec
}

// newUnary returns the builder of an op made by spec(n): the node is
// passed so that ops with attributes (LeakyRelu's alpha) can bind them.
func newUnary(spec func(n *Node) (*unarySpec, error)) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("want 1 input, have %d", n.NumInputs)
		}
		s, err := spec(n)
		if err != nil {
			return nil, err
		}
		if dt := n.Type("T"); dt != classify.Invalid && !s.supports(dt) {
			return nil, n.Errorf("unsupported dtype %v", dt)
		}
		return &unaryOp{n: n, spec: s}, nil
	}
}

// fixedUnary is newUnary for ops without attributes.
func fixedUnary(s *unarySpec) Builder {
	return newUnary(func(*Node) (*unarySpec, error) { return s, nil })
}

// OutputInfo implements Shaper.
func (o *unaryOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) != 1 {
		return nil, o.n.Errorf("want 1 input, have %d", len(in))
	}
	if in[0].DType != classify.Invalid && !o.spec.supports(in[0].DType) {
		return nil, o.n.Errorf("unsupported dtype %v", in[0].DType)
	}
	return []classify.TensorInfo{{DType: in[0].DType, Shape: in[0].Shape.Clone()}}, nil
}

// FLOPs implements Flopper: the op's cost per element.
func (o *unaryOp) FLOPs(in []classify.Shape) int64 {
	if len(in) != 1 {
		return 0
	}
	return int64(max(o.spec.cost, 1)) * ewCount(in[0])
}

// Run implements Op.
func (o *unaryOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != 1 {
		return nil, o.n.InputErrorf("want 1 input, have %d", len(in))
	}
	a := in[0]
	if !o.spec.supports(a.DType) {
		return nil, o.n.InputErrorf("unsupported dtype %v", a.DType)
	}
	out := ctx.Output(0, a.DType, a.Shape...)
	switch d := out.Data.(type) {
	case []float32:
		unRun(ctx, o.spec.f32, d, a.Float32s(), o.spec.cost)
	case []float64:
		unRun(ctx, o.spec.f64, d, a.Data.([]float64), o.spec.cost)
	case []int32:
		unRun(ctx, o.spec.i32, d, a.Int32s(), o.spec.cost)
	case []int64:
		unRun(ctx, o.spec.i64, d, a.Int64s(), o.spec.cost)
	}
	return []*classify.Tensor{out}, nil
}

func unRun[T any](ctx *Ctx, f func(d, a []T), d, a []T, cost int) {
	if ewSerial(ctx, len(d), cost) {
		f(d, a)
		return
	}
	ewParallel(ctx, len(d), cost, func(lo, hi int) { f(d[lo:hi], a[lo:hi]) })
}

func rsqrtLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(1 / math.Sqrt(float64(a[i])))
	}
}

func sqrtLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(math.Sqrt(float64(a[i])))
	}
}

func expLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(math.Exp(float64(a[i])))
	}
}

func logLoop[T ewFloat](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = T(math.Log(float64(a[i])))
	}
}

func squareLoop[T ewNumber](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = a[i] * a[i]
	}
}

func negLoop[T ewNumber](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		d[i] = -a[i]
	}
}

func absLoop[T ewNumber](d, a []T) {
	a = a[:len(d)]
	for i := range d {
		// 0-x rather than -x so that -0 becomes +0, as std::abs does.
		if x := a[i]; x <= 0 {
			d[i] = 0 - x
		} else {
			d[i] = x
		}
	}
}

func floatUnary(f32 func(d, a []float32), f64 func(d, a []float64), cost int) *unarySpec {
	return &unarySpec{f32: f32, f64: f64, cost: cost}
}

func numUnary(f32 func(d, a []float32), f64 func(d, a []float64), i32 func(d, a []int32), i64 func(d, a []int64)) *unarySpec {
	return &unarySpec{f32: f32, f64: f64, i32: i32, i64: i64, cost: 1}
}

func init() {
	for _, op := range []struct {
		name string
		spec *binarySpec
	}{
		{"Add", &addSpec}, {"AddV2", &addSpec}, {"Sub", &subSpec}, {"Mul", &mulSpec},
		{"RealDiv", &divSpec}, {"Div", &divIntSpec}, {"Maximum", &maxSpec}, {"Minimum", &minSpec},
		{"SquaredDifference", &sqdSpec}, {"Pow", &powSpec},
	} {
		Register(op.name, newBinary(op.spec))
	}
	Register("BiasAdd", buildBiasAdd)
	Register("BiasAddV1", buildBiasAdd) // the same op before data_format existed
	Register("AddN", buildAddN)
	Register("Rsqrt", fixedUnary(floatUnary(rsqrtLoop[float32], rsqrtLoop[float64], 4)))
	Register("Sqrt", fixedUnary(floatUnary(sqrtLoop[float32], sqrtLoop[float64], 4)))
	Register("Exp", fixedUnary(floatUnary(expLoop[float32], expLoop[float64], 8)))
	Register("Log", fixedUnary(floatUnary(logLoop[float32], logLoop[float64], 8)))
	Register("Square", fixedUnary(numUnary(squareLoop[float32], squareLoop[float64], squareLoop[int32], squareLoop[int64])))
	Register("Neg", fixedUnary(numUnary(negLoop[float32], negLoop[float64], negLoop[int32], negLoop[int64])))
	Register("Abs", fixedUnary(numUnary(absLoop[float32], absLoop[float64], absLoop[int32], absLoop[int64])))
}
