package ops

// The FFT family: FFT, IFFT, FFT2D, IFFT2D, FFT3D, IFFT3D (complex to
// complex over the innermost 1, 2 or 3 dimensions) and RFFT, IRFFT,
// RFFT2D, IRFFT2D, RFFT3D, IRFFT3D (real to half spectrum and back, with
// an fft_length input).
//
// Semantics, as tensorflow/core/kernels/fft_ops.cc and the ops' docs:
//
//   - the inverse transforms scale by 1/N, N the product of the
//     transformed lengths; the forward ones do not scale;
//   - RFFT transforms the input cropped or zero-padded to fft_length on
//     each transformed axis (the docs' semantics; TensorFlow's kernel
//     refuses a short input and leaves the padding to tf.signal's Python
//     wrapper, which inserts a Pad), and keeps fft_length[-1]/2+1 bins of
//     the innermost axis;
//   - IRFFT reads fft_length[i] entries of each outer transformed axis
//     and fft_length[-1]/2+1 bins of the innermost one (cropping, or
//     zero-padding a short input), inverts the outer axes, rebuilds the
//     innermost full spectrum by Hermitian symmetry (X[N-k] = conj X[k])
//     and keeps the real part of its inverse: the imaginary parts of the
//     DC bin and, for even N, the Nyquist bin are ignored, as Eigen's and
//     DUCC's c2r are;
//   - fft_length 0 gives an empty axis; an empty input an empty output.
//
// Any length is transformed in O(n log n): mixed radix (radix 4 and 2,
// then every prime factor up to fftMaxRadix by a direct butterfly) and
// Bluestein's chirp-z convolution on a power of two for lengths with a
// larger prime factor. Arithmetic is in complex128 whatever the dtype;
// complex64 results round once at the end.

import (
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/classifyd/classifyd/classify"
)

const (
	// fftMaxLength caps a transformed axis; fftMaxBluestein caps one
	// whose length has a prime factor above fftMaxRadix, as Bluestein's
	// scratch is up to 8n complex128 values per worker (128 MB at 2^20).
	fftMaxLength    = 1 << 24
	fftMaxBluestein = 1 << 20
	// fftMaxWork caps the elements x log2(length) of one run, so that a
	// graph cannot ask for hours of work with a small output.
	fftMaxWork = 1 << 32
	// fftMaxRadix is the largest prime factor done by a direct butterfly;
	// lengths with a larger one use Bluestein.
	fftMaxRadix = 31
)

// fftPlan transforms one length forward (exp(-2πi jk/n)); the inverse is
// computed through conjugation. Plans are immutable and shared.
type fftPlan struct {
	n       int
	factors []int
	tw      []complex128 // exp(-2πi k/n), k < n
	blue    *bluestein
}

// bluestein is the chirp-z form of a length-n DFT as a cyclic
// convolution of power-of-two length m.
type bluestein struct {
	m     int
	inner *fftPlan
	chirp []complex128 // exp(-iπ k²/n), k < n
	bfft  []complex128 // FFT of the conjugate chirp, wrapped to length m
}

var fftPlans sync.Map // int → *fftPlan

// fftPlanCacheValues bounds the complex128 values the cached plans hold
// together (64 MB); plans that do not fit are built per run.
const fftPlanCacheValues = 1 << 22

var fftPlanCache struct {
	sync.Mutex
	values int
}

// planFFT returns the plan for length n, cached while the cache has room.
func planFFT(n int) *fftPlan {
	if p, ok := fftPlans.Load(n); ok {
		return p.(*fftPlan)
	}
	p := newFFTPlan(n)
	size := p.values()
	fftPlanCache.Lock()
	if fftPlanCache.values+size <= fftPlanCacheValues {
		if _, loaded := fftPlans.LoadOrStore(n, p); !loaded {
			fftPlanCache.values += size
		}
	}
	fftPlanCache.Unlock()
	return p
}

// values is the number of complex128 values p holds.
func (p *fftPlan) values() int {
	v := len(p.tw)
	if b := p.blue; b != nil {
		v += len(b.chirp) + len(b.bfft) + b.inner.values()
	}
	return v
}

func newFFTPlan(n int) *fftPlan {
	p := &fftPlan{n: n}
	if n <= 1 {
		return p
	}
	r := n
	for r%4 == 0 {
		p.factors = append(p.factors, 4)
		r /= 4
	}
	for r%2 == 0 {
		p.factors = append(p.factors, 2)
		r /= 2
	}
	for f := 3; f <= fftMaxRadix && r > 1; f += 2 {
		for r%f == 0 {
			p.factors = append(p.factors, f)
			r /= f
		}
	}
	if r > 1 {
		p.factors = nil
		p.blue = newBluestein(n)
		return p
	}
	p.tw = make([]complex128, n)
	for k := range p.tw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		p.tw[k] = complex(c, s)
	}
	return p
}

func newBluestein(n int) *bluestein {
	m := 1 << bits.Len(uint(2*n-2))
	b := &bluestein{m: m, inner: planFFT(m), chirp: make([]complex128, n)}
	for k := range b.chirp {
		// k² mod 2n keeps the angle small and exact for large k.
		q := (uint64(k) * uint64(k)) % uint64(2*n)
		s, c := math.Sincos(-math.Pi * float64(q) / float64(n))
		b.chirp[k] = complex(c, s)
	}
	w := make([]complex128, m)
	w[0] = cmplxConj(b.chirp[0])
	for k := 1; k < n; k++ {
		w[k] = cmplxConj(b.chirp[k])
		w[m-k] = w[k]
	}
	b.bfft = make([]complex128, m)
	b.inner.transform(b.bfft, w, make([]complex128, b.inner.scratchLen()))
	return b
}

func cmplxConj(x complex128) complex128 { return complex(real(x), -imag(x)) }

// scratchLen is the scratch transform needs.
func (p *fftPlan) scratchLen() int {
	if p.blue != nil {
		return 2*p.blue.m + p.blue.inner.scratchLen()
	}
	return 0
}

// transform writes the forward DFT of src (length n) to dst (length n,
// not overlapping src).
func (p *fftPlan) transform(dst, src, scratch []complex128) {
	switch {
	case p.n == 0:
	case p.n == 1:
		dst[0] = src[0]
	case p.blue != nil:
		p.blue.transform(dst, src, scratch)
	default:
		p.rec(dst, src, 1, p.n, 0, 1)
	}
}

// rec computes the length-n DFT of src[0], src[s], ... into dst, n being
// p.n/step, using p.factors[fi:].
func (p *fftPlan) rec(dst, src []complex128, s, n, fi, step int) {
	if n == 1 {
		dst[0] = src[0]
		return
	}
	r := p.factors[fi]
	m := n / r
	for j := 0; j < r; j++ {
		p.rec(dst[j*m:(j+1)*m], src[j*s:], s*r, m, fi+1, step*r)
	}
	tw := p.tw
	N := p.n
	switch r {
	case 2:
		for k := 0; k < m; k++ {
			a, b := dst[k], dst[m+k]*tw[k*step]
			dst[k], dst[m+k] = a+b, a-b
		}
	case 4:
		for k := 0; k < m; k++ {
			a := dst[k]
			b := dst[m+k] * tw[k*step]
			c := dst[2*m+k] * tw[2*k*step]
			d := dst[3*m+k] * tw[3*k*step]
			ac, acm := a+c, a-c
			bd, bdm := b+d, b-d
			// -i * (b - d)
			jbd := complex(imag(bdm), -real(bdm))
			dst[k], dst[m+k], dst[2*m+k], dst[3*m+k] = ac+bd, acm+jbd, ac-bd, acm-jbd
		}
	default:
		var buf [fftMaxRadix]complex128
		t := buf[:r]
		wr := m * step // W_r = tw[wr]
		for k := 0; k < m; k++ {
			for j := 0; j < r; j++ {
				t[j] = dst[j*m+k] * tw[(j*k*step)%N]
			}
			for q := 0; q < r; q++ {
				sum := t[0]
				for j := 1; j < r; j++ {
					sum += t[j] * tw[(j*q%r)*wr]
				}
				dst[q*m+k] = sum
			}
		}
	}
}

// transform is Bluestein's algorithm: X_k = c_k Σ_j (x_j c_j) conj(c_{k-j}).
func (b *bluestein) transform(dst, src, scratch []complex128) {
	n := len(b.chirp)
	a, fa, rest := scratch[:b.m], scratch[b.m:2*b.m], scratch[2*b.m:]
	for j := 0; j < n; j++ {
		a[j] = src[j] * b.chirp[j]
	}
	clear(a[n:])
	b.inner.transform(fa, a, rest)
	for i := range fa {
		fa[i] *= b.bfft[i]
	}
	// Inverse by conjugation: ifft(y) = conj(fft(conj(y)))/m.
	for i := range fa {
		fa[i] = cmplxConj(fa[i])
	}
	b.inner.transform(a, fa, rest)
	inv := 1 / float64(b.m)
	for k := 0; k < n; k++ {
		dst[k] = cmplxConj(a[k]) * complex(inv, 0) * b.chirp[k]
	}
}

// fftLines applies the 1-D transform of length shape[axis] (forward, or
// inverse scaled by 1/n) along axis of the row-major data, in place.
func fftLines(workers int, data []complex128, shape []int, axis int, inverse bool) {
	n := shape[axis]
	if n <= 1 || len(data) == 0 {
		return // a length-1 DFT is the identity, also when scaled
	}
	stride := arrProd(shape[axis+1:])
	outer := arrProd(shape[:axis])
	lines := outer * stride
	p := planFFT(n)
	work := func(lo, hi int) {
		row := make([]complex128, 2*n+p.scratchLen())
		in, out, scratch := row[:n], row[n:2*n], row[2*n:]
		scale := complex(1/float64(n), 0)
		for l := lo; l < hi; l++ {
			base := (l/stride)*stride*n + l%stride
			for i := range in {
				v := data[base+i*stride]
				if inverse {
					v = cmplxConj(v)
				}
				in[i] = v
			}
			p.transform(out, in, scratch)
			for i, v := range out {
				if inverse {
					v = cmplxConj(v) * scale
				}
				data[base+i*stride] = v
			}
		}
	}
	fftParallel(workers, lines, n, work)
}

// fftParallel splits lines of length n over the workers when there is
// enough work.
func fftParallel(workers, lines, n int, work func(lo, hi int)) {
	if workers < 2 || lines < 2 || lines*n < 1<<14 {
		work(0, lines)
		return
	}
	workers = min(workers, lines)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := lines*w/workers, lines*(w+1)/workers
		wg.Go(func() { work(lo, hi) })
	}
	wg.Wait()
}

// fftKind is one op of the family.
type fftKind struct {
	rank    int
	inverse bool
	real    bool // RFFT/IRFFT: fft_length input, real side
}

type fftOp struct {
	n    *Node
	kind fftKind
	// cdt is the complex dtype (Tcomplex), rdt the real one (Treal).
	cdt, rdt classify.DType
	// fl is a constant fft_length, for static shapes (nil if fed).
	fl []int
}

func buildFFT(kind fftKind) Builder {
	return func(n *Node, consts []*classify.Tensor) (Op, error) {
		want := 1
		if kind.real {
			want = 2
		}
		if n.NumInputs != want {
			return nil, n.Errorf("want %d inputs, have %d", want, n.NumInputs)
		}
		o := &fftOp{n: n, kind: kind, cdt: n.Type("Tcomplex"), rdt: n.Type("Treal")}
		if o.cdt == classify.Invalid {
			o.cdt = classify.Complex64
		}
		if o.cdt != classify.Complex64 && o.cdt != classify.Complex128 {
			return nil, n.Errorf("Tcomplex %v is not complex64 or complex128", o.cdt)
		}
		if kind.real {
			if o.rdt == classify.Invalid {
				o.rdt = classify.Float32
			}
			if o.rdt != complexPart(o.cdt) {
				return nil, n.Errorf("Treal %v does not match Tcomplex %v", o.rdt, o.cdt)
			}
			if c := consts[1]; c != nil {
				fl, err := o.fftLengths(c)
				if err != nil {
					return nil, n.Errorf("%v", err)
				}
				o.fl = fl
			}
		}
		return o, nil
	}
}

// inDType and outDType are the op's input and output dtypes.
func (o *fftOp) inDType() classify.DType {
	if o.kind.real && !o.kind.inverse {
		return o.rdt
	}
	return o.cdt
}

func (o *fftOp) outDType() classify.DType {
	if o.kind.real && o.kind.inverse {
		return o.rdt
	}
	return o.cdt
}

// OutputInfo implements Shaper.
func (o *fftOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) < 1 {
		return nil, o.n.Errorf("want an input")
	}
	if dt := in[0].DType; dt != classify.Invalid && dt != o.inDType() {
		return nil, o.n.Errorf("input is %v, want %v", dt, o.inDType())
	}
	s := in[0].Shape
	if s == nil {
		return []classify.TensorInfo{{DType: o.outDType()}}, nil
	}
	if len(s) < o.kind.rank {
		return nil, o.n.Errorf("input must have rank at least %d, has shape %v", o.kind.rank, s)
	}
	out := s.Clone()
	if o.kind.real {
		for i := len(out) - o.kind.rank; i < len(out); i++ {
			out[i] = -1 // from fft_length, known at run time
			if o.fl != nil {
				out[i] = o.fl[i-(len(out)-o.kind.rank)]
			}
		}
		if o.fl != nil && !o.kind.inverse {
			if N := out[len(out)-1]; N > 0 {
				out[len(out)-1] = N/2 + 1
			}
		}
	}
	return []classify.TensorInfo{{DType: o.outDType(), Shape: out}}, nil
}

// fftLengths reads and checks the fft_length input.
func (o *fftOp) fftLengths(t *classify.Tensor) ([]int, error) {
	d, ok := t.Data.([]int32)
	if !ok {
		return nil, fmt.Errorf("fft_length must be int32, is %v", t.DType)
	}
	if len(t.Shape) != 1 || t.Shape[0] != o.kind.rank {
		return nil, fmt.Errorf("fft_length must have shape [%d], has %v", o.kind.rank, t.Shape)
	}
	out := make([]int, len(d))
	for i, v := range d {
		if v < 0 {
			return nil, fmt.Errorf("fft_length[%d] must be >= 0, is %d", i, v)
		}
		if err := fftCheckLength(int(v)); err != nil {
			return nil, fmt.Errorf("fft_length[%d]: %v", i, err)
		}
		out[i] = int(v)
	}
	return out, nil
}

// fftCheckLength bounds one transform length.
func fftCheckLength(n int) error {
	if n > fftMaxLength {
		return fmt.Errorf("transform length %d exceeds %d", n, fftMaxLength)
	}
	if n > fftMaxBluestein && !fftSmooth(n) {
		return fmt.Errorf("transform length %d has a prime factor above %d and exceeds %d", n, fftMaxRadix, fftMaxBluestein)
	}
	return nil
}

// fftSmooth reports whether n has no prime factor above fftMaxRadix (the
// mixed-radix plan handles it without Bluestein).
func fftSmooth(n int) bool {
	for f := 2; f <= fftMaxRadix && n > 1; f++ {
		for n%f == 0 {
			n /= f
		}
	}
	return n <= 1
}

// checkWork bounds the elements and the elements x log2(length) of a
// transform of the given (work) shape over its innermost rank axes.
func (o *fftOp) checkWork(shape []int, rank int) error {
	if err := arrCheckDims(shape); err != nil {
		return o.n.InputErrorf("%v", err)
	}
	elems := int64(arrProd(shape))
	var work int64
	for _, n := range shape[len(shape)-rank:] {
		if err := fftCheckLength(n); err != nil {
			return o.n.InputErrorf("%v", err)
		}
		// Bluestein lengths cost about 3 transforms of 2n-4n points.
		work += elems * int64(bits.Len(uint(4*n))+1)
	}
	if work > fftMaxWork {
		return o.n.InputErrorf("transform of shape %v is too much work (%d > %d)", shape, work, int64(fftMaxWork))
	}
	return nil
}

// Run implements Op.
func (o *fftOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if len(in) != o.n.NumInputs {
		return nil, o.n.InputErrorf("want %d inputs, have %d", o.n.NumInputs, len(in))
	}
	x := in[0]
	if x.DType != o.inDType() {
		return nil, o.n.InputErrorf("input is %v, want %v", x.DType, o.inDType())
	}
	R := o.kind.rank
	if len(x.Shape) < R {
		return nil, o.n.InputErrorf("input must have rank at least %d, has shape %v", R, x.Shape)
	}
	batch := x.Shape[:len(x.Shape)-R]
	if !o.kind.real {
		if err := o.checkWork(x.Shape, R); err != nil {
			return nil, err
		}
		buf := toComplex128(x)
		for ax := len(x.Shape) - R; ax < len(x.Shape); ax++ {
			fftLines(ctx.Workers(), buf, x.Shape, ax, o.kind.inverse)
		}
		out := ctx.Output(0, o.cdt, x.Shape...)
		fromComplex128(out, buf)
		return []*classify.Tensor{out}, nil
	}
	fl, err := o.fftLengths(in[1])
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	// The work shape: batch + fft_length, the innermost axis as stored
	// (full for RFFT's input, half spectrum for IRFFT's).
	full := append(append([]int{}, batch...), fl...)
	if err := o.checkWork(full, R); err != nil {
		return nil, err
	}
	N := fl[R-1]
	h := N/2 + 1
	if N == 0 {
		h = 0
	}
	last := len(full) - 1
	if !o.kind.inverse {
		// RFFT: crop/pad to full, transform the innermost axis and keep
		// h bins, then transform the outer axes on the half spectrum.
		buf := make([]complex128, arrProd(full))
		cropPadInto(buf, full, x)
		fftLines(ctx.Workers(), buf, full, last, false)
		half := append(append([]int{}, full[:last]...), h)
		hb := make([]complex128, arrProd(half))
		cropPadC(hb, half, buf, full)
		for ax := len(half) - R; ax < last; ax++ {
			fftLines(ctx.Workers(), hb, half, ax, false)
		}
		out := ctx.Output(0, o.cdt, half...)
		fromComplex128(out, hb)
		return []*classify.Tensor{out}, nil
	}
	// IRFFT: the half spectrum cropped/padded, inverse on the outer axes,
	// then Hermitian extension and a complex inverse on the innermost.
	half := append(append([]int{}, full[:last]...), h)
	src := toComplex128(x)
	hb := make([]complex128, arrProd(half))
	cropPadC(hb, half, src, x.Shape)
	for ax := len(half) - R; ax < last; ax++ {
		fftLines(ctx.Workers(), hb, half, ax, true)
	}
	out := ctx.Output(0, o.rdt, full...)
	rows := arrProd(full[:last])
	if N == 0 || rows == 0 {
		return []*classify.Tensor{out}, nil
	}
	res := make([]float64, rows*N)
	p := planFFT(N)
	fftParallel(ctx.Workers(), rows, N, func(lo, hi int) {
		row := make([]complex128, 2*N+p.scratchLen())
		spec, time, scratch := row[:N], row[N:2*N], row[2*N:]
		scale := 1 / float64(N)
		for r := lo; r < hi; r++ {
			hs := hb[r*h : (r+1)*h]
			// Inverse through conjugation: conj of the extended spectrum
			// X[k] = hs[k] (k < h), conj(hs[N-k]) (k >= h).
			for k := 0; k < N; k++ {
				if k < h {
					spec[k] = cmplxConj(hs[k])
				} else {
					spec[k] = hs[N-k]
				}
			}
			p.transform(time, spec, scratch)
			for i, v := range time {
				res[r*N+i] = real(v) * scale
			}
		}
	})
	switch d := out.Data.(type) {
	case []float32:
		for i, v := range res {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, res)
	}
	return []*classify.Tensor{out}, nil
}

// toComplex128 returns x's values (real or complex) as a fresh complex128
// slice.
func toComplex128(x *classify.Tensor) []complex128 {
	switch d := x.Data.(type) {
	case []complex128:
		return append([]complex128(nil), d...)
	case []complex64:
		out := make([]complex128, len(d))
		for i, v := range d {
			out[i] = complex128(v)
		}
		return out
	case []float32:
		out := make([]complex128, len(d))
		for i, v := range d {
			out[i] = complex(float64(v), 0)
		}
		return out
	case []float64:
		out := make([]complex128, len(d))
		for i, v := range d {
			out[i] = complex(v, 0)
		}
		return out
	}
	panic(fmt.Sprintf("toComplex128: %T", x.Data))
}

func fromComplex128(out *classify.Tensor, buf []complex128) {
	switch d := out.Data.(type) {
	case []complex128:
		copy(d, buf)
	case []complex64:
		for i, v := range buf {
			d[i] = complex64(v)
		}
	}
}

// cropPadInto writes the real tensor x, cropped or zero-padded to shape
// (of x's rank), into dst.
func cropPadInto(dst []complex128, shape []int, x *classify.Tensor) {
	cropPadC(dst, shape, toComplex128(x), x.Shape)
}

// cropPadC copies src (of shape sshape) into dst (of shape dshape, the
// same rank), cropping each axis to the smaller length and leaving the
// rest of dst zero.
func cropPadC(dst []complex128, dshape []int, src []complex128, sshape []int) {
	clear(dst)
	if len(dst) == 0 || len(src) == 0 {
		return
	}
	r := len(dshape)
	common := make([]int, r)
	for i := range common {
		common[i] = min(dshape[i], sshape[i])
		if common[i] == 0 {
			return
		}
	}
	ds, ss := arrStrides(dshape), arrStrides(sshape)
	rows := arrProd(common[:r-1])
	w := common[r-1]
	idx := make([]int, r-1)
	for row := 0; row < rows; row++ {
		do, so := 0, 0
		for i, v := range idx {
			do += v * ds[i]
			so += v * ss[i]
		}
		copy(dst[do:do+w], src[so:so+w])
		for i := r - 2; i >= 0; i-- {
			idx[i]++
			if idx[i] < common[i] {
				break
			}
			idx[i] = 0
		}
	}
}

func init() {
	for name, k := range map[string]fftKind{
		"FFT": {rank: 1}, "IFFT": {rank: 1, inverse: true},
		"FFT2D": {rank: 2}, "IFFT2D": {rank: 2, inverse: true},
		"FFT3D": {rank: 3}, "IFFT3D": {rank: 3, inverse: true},
		"RFFT": {rank: 1, real: true}, "IRFFT": {rank: 1, inverse: true, real: true},
		"RFFT2D": {rank: 2, real: true}, "IRFFT2D": {rank: 2, inverse: true, real: true},
		"RFFT3D": {rank: 3, real: true}, "IRFFT3D": {rank: 3, inverse: true, real: true},
	} {
		Register(name, buildFFT(k))
		allowDTypes(name, complexDTypes...)
	}
}
