package ops

import (
	"errors"
	"math"
	"math/cmplx"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// dftRef is the direct O(M²) DFT in float64 of x (row-major, shape) over
// its innermost rank axes, with lengths ns (the axes' sizes): every output
// bin is the full sum Σ x[n] exp(∓2πi Σ k_a n_a / N_a), scaled by 1/ΠN for
// the inverse. It shares nothing with the kernel but the definition.
func dftRef(x []complex128, shape []int, rank int, inverse bool) []complex128 {
	ns := shape[len(shape)-rank:]
	m := arrProd(ns)
	batch := 1
	if m > 0 {
		batch = len(x) / m
	}
	out := make([]complex128, len(x))
	sign := -1.0
	if inverse {
		sign = 1
	}
	kIdx := make([]int, rank)
	nIdx := make([]int, rank)
	for b := 0; b < batch; b++ {
		for k := 0; k < m; k++ {
			unravel(kIdx, k, ns)
			var sum complex128
			for n := 0; n < m; n++ {
				unravel(nIdx, n, ns)
				ph := 0.0
				for a := range ns {
					// The phase reduced mod N_a exactly in integers.
					ph += float64(kIdx[a]*nIdx[a]%ns[a]) / float64(ns[a])
				}
				s, c := math.Sincos(sign * 2 * math.Pi * ph)
				sum += x[b*m+n] * complex(c, s)
			}
			if inverse {
				sum /= complex(float64(m), 0)
			}
			out[b*m+k] = sum
		}
	}
	return out
}

func unravel(idx []int, i int, dims []int) {
	for a := len(dims) - 1; a >= 0; a-- {
		idx[a] = i % dims[a]
		i /= dims[a]
	}
}

func randComplex(r *rand.Rand, n int) []complex128 {
	out := make([]complex128, n)
	for i := range out {
		out[i] = complex(r.Float64()*2-1, r.Float64()*2-1)
	}
	return out
}

// asTensor makes a tensor of dt (complex or real; real takes the real
// parts) from complex128 values.
func asTensor(dt classify.DType, v []complex128, shape ...int) *classify.Tensor {
	t := classify.NewTensor(dt, shape...)
	for i, c := range v {
		switch d := t.Data.(type) {
		case []complex64:
			d[i] = complex64(c)
		case []complex128:
			d[i] = c
		case []float32:
			d[i] = float32(real(c))
		case []float64:
			d[i] = real(c)
		}
	}
	return t
}

// values returns any real or complex tensor's elements as complex128.
func values(t *classify.Tensor) []complex128 { return toComplex128(t) }

// maxErr is max |a-b| relative to max(1, max |b|).
func maxErr(a, b []complex128) float64 {
	scale, e := 1.0, 0.0
	for i := range b {
		scale = max(scale, cmplx.Abs(b[i]))
	}
	for i := range a {
		e = max(e, cmplx.Abs(a[i]-b[i]))
	}
	return e / scale
}

var fftNames = map[int][2]string{1: {"FFT", "IFFT"}, 2: {"FFT2D", "IFFT2D"}, 3: {"FFT3D", "IFFT3D"}}
var rfftNames = map[int][2]string{1: {"RFFT", "IRFFT"}, 2: {"RFFT2D", "IRFFT2D"}, 3: {"RFFT3D", "IRFFT3D"}}

// fftTol is the stated tolerance against the float64 direct DFT, relative
// to the largest output magnitude: complex64 results are rounded to
// float32 once (and their inputs were), complex128 ones carry the O(log n)
// rounding of the transform and of the reference itself.
func fftTol(dt classify.DType) float64 {
	if dt == classify.Complex64 || dt == classify.Float32 {
		return 2e-6
	}
	return 1e-11
}

// TestFFTAgainstDFT: FFT/IFFT of every rank against the direct DFT, over
// lengths with radix-4, radix-2, odd small prime and large prime
// (Bluestein) factors, with a batch dimension; and Parseval's identity
// and the round trip IFFT(FFT(x)) = x.
func TestFFTAgainstDFT(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	shapes := [][]int{
		{1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {12}, {16}, {17}, {30}, {31}, {37}, {64}, {97}, {100},
		{2, 128}, {210}, {257}, {1000}, {3, 1031},
		{4, 4}, {2, 3, 5}, {6, 37}, {1, 8, 9},
		{2, 2, 3}, {3, 4, 5}, {2, 7, 1, 6},
	}
	for _, dt := range complexDTypes {
		for _, sh := range shapes {
			for rank := 1; rank <= min(3, len(sh)); rank++ {
				if arrProd(sh[len(sh)-rank:]) > 1100 {
					continue
				}
				x := randComplex(r, arrProd(sh))
				xt := asTensor(dt, x, sh...)
				x = values(xt) // what the kernel sees
				names := fftNames[rank]
				got := mustRun(t, names[0], graphdef.Attrs{"Tcomplex": dt}, xt)
				if got.DType != dt || !got.Shape.Equal(sh) {
					t.Fatalf("%s %v: got %v%v", names[0], sh, got.DType, got.Shape)
				}
				want := dftRef(x, sh, rank, false)
				if e := maxErr(values(got), want); e > fftTol(dt) {
					t.Errorf("%s %v %v: error %.3g > %.3g", names[0], dt, sh, e, fftTol(dt))
				}
				inv := mustRun(t, names[1], graphdef.Attrs{"Tcomplex": dt}, xt)
				if e := maxErr(values(inv), dftRef(x, sh, rank, true)); e > fftTol(dt) {
					t.Errorf("%s %v %v: error %.3g", names[1], dt, sh, e)
				}
				back := mustRun(t, names[1], graphdef.Attrs{"Tcomplex": dt}, got)
				if e := maxErr(values(back), x); e > 4*fftTol(dt) {
					t.Errorf("%s(%s) %v %v: round trip error %.3g", names[1], names[0], dt, sh, e)
				}
				// Parseval per batch: Σ|x|² = Σ|X|² / N.
				m := arrProd(sh[len(sh)-rank:])
				X := values(got)
				for b := 0; b < len(x)/m; b++ {
					var ex, eX float64
					for i := b * m; i < (b+1)*m; i++ {
						ex += real(x[i])*real(x[i]) + imag(x[i])*imag(x[i])
						eX += real(X[i])*real(X[i]) + imag(X[i])*imag(X[i])
					}
					if math.Abs(ex-eX/float64(m)) > 10*fftTol(dt)*ex {
						t.Errorf("%s %v %v: Parseval %g vs %g", names[0], dt, sh, ex, eX/float64(m))
					}
				}
			}
		}
	}
}

// TestFFTDocumentedValues: values from TensorFlow's docs and by hand.
func TestFFTDocumentedValues(t *testing.T) {
	x := c64([]complex64{1, 2, 3, 4}, 4)
	got := mustRun(t, "FFT", graphdef.Attrs{"Tcomplex": classify.Complex64}, x)
	want := []complex64{10, -2 + 2i, -2, -2 - 2i}
	for i, w := range want {
		if g := got.Data.([]complex64)[i]; cmplx.Abs(complex128(g-w)) > 1e-6 {
			t.Errorf("FFT([1 2 3 4])[%d] = %v, want %v", i, g, w)
		}
	}
	r := mustRun(t, "RFFT", graphdef.Attrs{"Treal": classify.Float32, "Tcomplex": classify.Complex64},
		classify.FromFloat32([]float32{1, 2, 3, 4}, 4), i32([]int32{4}, 1))
	if !r.Shape.Equal(classify.Shape{3}) {
		t.Fatalf("RFFT shape %v, want [3]", r.Shape)
	}
	for i, w := range want[:3] {
		if g := r.Data.([]complex64)[i]; cmplx.Abs(complex128(g-w)) > 1e-6 {
			t.Errorf("RFFT([1 2 3 4])[%d] = %v, want %v", i, g, w)
		}
	}
	// IFFT of a delta at bin 1 of 4 is exp(2πin/4)/4.
	d := mustRun(t, "IFFT", graphdef.Attrs{"Tcomplex": classify.Complex128}, c128([]complex128{0, 1, 0, 0}, 4))
	for i, w := range []complex128{0.25, 0.25i, -0.25, -0.25i} {
		if g := d.Data.([]complex128)[i]; cmplx.Abs(g-w) > 1e-15 {
			t.Errorf("IFFT(delta1)[%d] = %v, want %v", i, g, w)
		}
	}
}

// realRef is RFFT's reference: the input cropped or zero-padded to fl on
// the innermost axes, transformed by the direct DFT, innermost axis cut
// to fl[-1]/2+1 bins.
func realRef(x []complex128, shape []int, fl []int) ([]complex128, []int) {
	R := len(fl)
	full := append(append([]int{}, shape[:len(shape)-R]...), fl...)
	buf := make([]complex128, arrProd(full))
	cropPadC(buf, full, x, shape)
	X := dftRef(buf, full, R, false)
	h := fl[R-1]/2 + 1
	if fl[R-1] == 0 {
		h = 0
	}
	half := append(append([]int{}, full[:len(full)-1]...), h)
	out := make([]complex128, arrProd(half))
	cropPadC(out, half, X, full)
	return out, half
}

// TestRFFT: RFFT of every rank against the direct DFT of the cropped or
// zero-padded input, for even and odd lengths; IRFFT inverts it for both.
func TestRFFT(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	cases := []struct {
		shape, fl []int
	}{
		{[]int{8}, []int{8}}, {[]int{7}, []int{7}}, {[]int{3, 10}, []int{10}}, {[]int{10}, []int{6}}, // crop
		{[]int{5}, []int{8}}, {[]int{2, 37}, []int{37}}, {[]int{1}, []int{1}}, {[]int{2}, []int{2}}, // pad
		{[]int{4, 6}, []int{4, 6}}, {[]int{3, 5}, []int{3, 5}}, {[]int{2, 4, 5}, []int{6, 3}}, {[]int{6, 4}, []int{5, 4}},
		{[]int{2, 3, 4}, []int{2, 3, 4}}, {[]int{3, 3, 3}, []int{4, 2, 5}}, {[]int{2, 2, 3, 5}, []int{2, 3, 5}},
	}
	for _, dt := range []classify.DType{classify.Float32, classify.Float64} {
		cdt := complexOf(dt)
		for _, c := range cases {
			R := len(c.fl)
			names := rfftNames[R]
			xt := asTensor(dt, randComplex(r, arrProd(c.shape)), c.shape...)
			x := values(xt)
			flT := make([]int32, R)
			for i, v := range c.fl {
				flT[i] = int32(v)
			}
			attrs := graphdef.Attrs{"Treal": dt, "Tcomplex": cdt}
			got := mustRun(t, names[0], attrs, xt, i32(flT, R))
			want, wshape := realRef(x, c.shape, c.fl)
			if got.DType != cdt || !got.Shape.Equal(wshape) {
				t.Fatalf("%s %v fl %v: got %v%v, want %v%v", names[0], c.shape, c.fl, got.DType, got.Shape, cdt, wshape)
			}
			if e := maxErr(values(got), want); e > fftTol(dt) {
				t.Errorf("%s %v %v fl %v: error %.3g", names[0], dt, c.shape, c.fl, e)
			}
			// IRFFT(RFFT(x)) is x cropped/padded to fl.
			back := mustRun(t, names[1], attrs, got, i32(flT, R))
			full := append(append([]int{}, c.shape[:len(c.shape)-R]...), c.fl...)
			if back.DType != dt || !back.Shape.Equal(full) {
				t.Fatalf("%s: got %v%v, want %v%v", names[1], back.DType, back.Shape, dt, full)
			}
			wantX := make([]complex128, arrProd(full))
			cropPadC(wantX, full, x, c.shape)
			if e := maxErr(values(back), wantX); e > 4*fftTol(dt) {
				t.Errorf("%s(%s) %v %v fl %v: round trip error %.3g", names[1], names[0], dt, c.shape, c.fl, e)
			}
		}
	}
}

// TestIRFFTSemantics: IRFFT uses only fft_length/2+1 bins (extra bins are
// cropped), ignores the imaginary parts of the DC and (even length)
// Nyquist bins, and equals the real part of the IFFT of the Hermitian
// extension of its input.
func TestIRFFTSemantics(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, N := range []int{8, 9, 1, 2, 37, 38} {
		h := N/2 + 1
		spec := randComplex(r, h+3) // 3 extra bins: cropped
		attrs := graphdef.Attrs{"Treal": classify.Float64, "Tcomplex": classify.Complex128}
		got := values(mustRun(t, "IRFFT", attrs, c128(spec, h+3), i32([]int32{int32(N)}, 1)))
		full := make([]complex128, N)
		for k := 0; k < N; k++ {
			if k < h {
				full[k] = spec[k]
			} else {
				full[k] = cmplx.Conj(spec[N-k])
			}
		}
		full[0] = complex(real(full[0]), 0)
		if N%2 == 0 {
			full[N/2] = complex(real(full[N/2]), 0)
		}
		// With DC and Nyquist made real the extension is Hermitian, so
		// its inverse DFT is real.
		want := dftRef(full, []int{N}, 1, true)
		for i := range want {
			if math.Abs(imag(want[i])) > 1e-12 {
				t.Fatalf("N=%d: reference not real: %v", N, want[i])
			}
			want[i] = complex(real(want[i]), 0)
		}
		if e := maxErr(got, want); e > 1e-12 {
			t.Errorf("IRFFT N=%d: error %.3g", N, e)
		}
		// Changing the ignored parts changes nothing.
		spec2 := append([]complex128(nil), spec...)
		spec2[0] += 5i
		if N%2 == 0 {
			spec2[N/2] -= 3i
		}
		spec2[h] += 100 // beyond fft_length/2+1: cropped
		got2 := values(mustRun(t, "IRFFT", attrs, c128(spec2, h+3), i32([]int32{int32(N)}, 1)))
		if e := maxErr(got2, got); e > 1e-13 {
			t.Errorf("IRFFT N=%d: ignored parts changed the result by %.3g", N, e)
		}
	}
	// A short input is zero-padded: IRFFT of [4] with fft_length 4 is
	// the inverse of [4, 0, 0, 0] = [1 1 1 1].
	got := mustRun(t, "IRFFT", graphdef.Attrs{"Treal": classify.Float32, "Tcomplex": classify.Complex64},
		c64([]complex64{4}, 1), i32([]int32{4}, 1))
	if d := got.Float32s(); len(d) != 4 || d[0] != 1 || d[1] != 1 || d[2] != 1 || d[3] != 1 {
		t.Errorf("IRFFT([4], 4) = %v, want [1 1 1 1]", d)
	}
}

// TestSpectrogram is tf.signal.stft as its graph computes it: frames of a
// signal times a periodic Hann window (Mul, broadcast), RFFT, ComplexAbs.
// A unit sine on bin 8 of a 64-point frame peaks at bin 8 with the Hann
// window's coherent gain: 64/2 * 0.5 = 16, and leaks only into bins 7
// and 9 (8 each); the other bins are 0.
func TestSpectrogram(t *testing.T) {
	const n, step, frames = 64, 32, 5
	sig := make([]float32, step*(frames-1)+n)
	for i := range sig {
		sig[i] = float32(math.Sin(2 * math.Pi * 8 * float64(i) / n))
	}
	fr := make([]float32, frames*n)
	for f := 0; f < frames; f++ {
		copy(fr[f*n:(f+1)*n], sig[f*step:])
	}
	win := make([]float32, n)
	for i := range win {
		win[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/n))
	}
	g := graphdef.New()
	x := g.Placeholder("frames", classify.Float32, classify.Shape{frames, n})
	w := g.ConstF32("window", win, n)
	fl := g.ConstI32("fft_length", []int32{n}, 1)
	wx := g.Op("Mul", "windowed", []graphdef.Output{x, w}, graphdef.Attrs{"T": classify.Float32})
	sp := g.Op("RFFT", "rfft", []graphdef.Output{wx, fl}, graphdef.Attrs{"Treal": classify.Float32, "Tcomplex": classify.Complex64})
	g.Op("ComplexAbs", "mag", []graphdef.Output{sp}, graphdef.Attrs{"T": classify.Complex64, "Tout": classify.Float32})
	out, err := interpretChecked(t, g, map[string]*classify.Tensor{"frames": classify.FromFloat32(fr, frames, n)}, []graphdef.Output{"mag"})
	if err != nil {
		t.Fatal(err)
	}
	mag := out[0]
	if mag.DType != classify.Float32 || !mag.Shape.Equal(classify.Shape{frames, n/2 + 1}) {
		t.Fatalf("spectrogram %v%v", mag.DType, mag.Shape)
	}
	for f := 0; f < frames; f++ {
		for k := 0; k <= n/2; k++ {
			want := 0.0
			switch k {
			case 8:
				want = 16
			case 7, 9:
				want = 8
			}
			if g := float64(mag.Float32s()[f*(n/2+1)+k]); math.Abs(g-want) > 1e-4 {
				t.Errorf("frame %d bin %d: %g, want %g", f, k, g, want)
			}
		}
	}
}

// TestFFTErrors: bad attributes fail at load, bad inputs at run time,
// and oversized transforms before allocating.
func TestFFTErrors(t *testing.T) {
	z := c64(make([]complex64, 4), 4)
	f := classify.FromFloat32(make([]float32, 4), 4)
	rf := graphdef.Attrs{"Treal": classify.Float32, "Tcomplex": classify.Complex64}
	for _, c := range []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		in    []*classify.Tensor
		is    error
		msg   string
	}{
		{"rank", "FFT2D", graphdef.Attrs{"Tcomplex": classify.Complex64}, []*classify.Tensor{z}, classify.ErrInvalidInput, "rank at least 2"},
		{"scalar", "FFT", graphdef.Attrs{"Tcomplex": classify.Complex64}, []*classify.Tensor{c64([]complex64{1})}, classify.ErrInvalidInput, "rank at least 1"},
		{"real input", "FFT", graphdef.Attrs{"Tcomplex": classify.Complex64}, []*classify.Tensor{f}, classify.ErrInvalidInput, "want complex64"},
		{"Tcomplex", "FFT", graphdef.Attrs{"Tcomplex": classify.Float32}, []*classify.Tensor{f}, classify.ErrInvalidGraph, "Tcomplex"},
		{"Treal mismatch", "RFFT", graphdef.Attrs{"Treal": classify.Float64, "Tcomplex": classify.Complex64}, []*classify.Tensor{f, i32([]int32{4}, 1)}, classify.ErrInvalidGraph, "Treal"},
		{"fft_length shape", "RFFT2D", rf, []*classify.Tensor{classify.FromFloat32(make([]float32, 4), 2, 2), i32([]int32{2}, 1)}, classify.ErrInvalidInput, "shape [2]"},
		{"fft_length negative", "RFFT", rf, []*classify.Tensor{f, i32([]int32{-1}, 1)}, classify.ErrInvalidInput, ">= 0"},
		{"fft_length huge", "RFFT", rf, []*classify.Tensor{f, i32([]int32{1 << 30}, 1)}, classify.ErrInvalidInput, "exceeds"},
		// 2^20+7 is prime: Bluestein, whose scratch is capped lower.
		{"fft_length prime", "RFFT", rf, []*classify.Tensor{f, i32([]int32{1<<20 + 7}, 1)}, classify.ErrInvalidInput, "prime factor above 31"},
		{"complex length prime", "FFT", graphdef.Attrs{"Tcomplex": classify.Complex64}, []*classify.Tensor{c64(make([]complex64, 1<<20+7), 1<<20+7)}, classify.ErrInvalidInput, "prime factor above 31"},
		{"irfft wrong input", "IRFFT", rf, []*classify.Tensor{f, i32([]int32{4}, 1)}, classify.ErrInvalidInput, "want complex64"},
		{"rfft complex input", "RFFT", rf, []*classify.Tensor{z, i32([]int32{4}, 1)}, classify.ErrInvalidInput, "want float32"},
		// 512 x 2^20 = 2^29 elements from a 512-element input.
		{"too long", "FFT", graphdef.Attrs{"Tcomplex": classify.Complex64}, []*classify.Tensor{c64(make([]complex64, 1<<24+2), 1<<24+2)}, classify.ErrInvalidInput, "exceeds"},
		{"too many elements", "RFFT", rf, []*classify.Tensor{classify.FromFloat32(make([]float32, 512), 512, 1), i32([]int32{1 << 20}, 1)}, classify.ErrInvalidInput, "elements"},
		// 2^28 elements, but x 22 passes over them is more than the cap.
		{"too much work", "IRFFT", rf, []*classify.Tensor{c64(make([]complex64, 256), 256, 1), i32([]int32{1 << 20}, 1)}, classify.ErrInvalidInput, "too much work"},
		{"fft_length int64", "RFFT", rf, []*classify.Tensor{f, {DType: classify.Int64, Shape: classify.Shape{1}, Data: []int64{4}}}, classify.ErrInvalidInput, "int32"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := runOp(t, c.op, c.attrs, c.in...)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %v mentioning %q", err, c.is, c.msg)
			}
		})
	}
	// A constant fft_length is checked when the node is built.
	_, err := runAttrOp(t, "RFFT", rf, f, i32([]int32{-4}, 1))
	if !errors.Is(err, classify.ErrInvalidGraph) || !strings.Contains(err.Error(), ">= 0") {
		t.Errorf("constant negative fft_length: got %v", err)
	}
}

// TestFFTStaticShapes: with a constant fft_length the output shapes are
// known at load.
func TestFFTStaticShapes(t *testing.T) {
	for _, c := range []struct {
		op   string
		in   classify.TensorInfo
		fl   []int32
		want classify.Shape
	}{
		{"RFFT", classify.TensorInfo{DType: classify.Float32, Shape: classify.Shape{-1, 400}}, []int32{512}, classify.Shape{-1, 257}},
		{"IRFFT", classify.TensorInfo{DType: classify.Complex64, Shape: classify.Shape{3, 257}}, []int32{512}, classify.Shape{3, 512}},
		{"RFFT2D", classify.TensorInfo{DType: classify.Float32, Shape: classify.Shape{2, 5, 7}}, []int32{4, 9}, classify.Shape{2, 4, 5}},
		{"RFFT", classify.TensorInfo{DType: classify.Float32, Shape: classify.Shape{3}}, []int32{0}, classify.Shape{0}},
	} {
		b, _ := Lookup(c.op)
		n := &Node{Name: "n", Op: c.op, NumInputs: 2, Attr: attrs(graphdef.Attrs{"Treal": classify.Float32, "Tcomplex": classify.Complex64})}
		k, err := b(n, []*classify.Tensor{nil, i32(c.fl, len(c.fl))})
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.(Shaper).OutputInfo([]classify.TensorInfo{c.in, {DType: classify.Int32, Shape: classify.Shape{len(c.fl)}}})
		if err != nil || !got[0].Shape.Equal(c.want) {
			t.Errorf("%s %v fl %v: %v %v, want %v", c.op, c.in.Shape, c.fl, got, err, c.want)
		}
	}
}

// TestFFTEmpty: empty batches give empty outputs of the right shape,
// fft_length 0 an empty axis, and an empty transformed axis padded to
// fft_length gives zeros.
func TestFFTEmpty(t *testing.T) {
	got := mustRun(t, "FFT", graphdef.Attrs{"Tcomplex": classify.Complex64}, c64(nil, 0, 8))
	if !got.Shape.Equal(classify.Shape{0, 8}) || got.Len() != 0 {
		t.Errorf("FFT of [0 8]: %v", got.Shape)
	}
	rf := graphdef.Attrs{"Treal": classify.Float32, "Tcomplex": classify.Complex64}
	got = mustRun(t, "RFFT", rf, classify.FromFloat32(nil, 3, 0), i32([]int32{0}, 1))
	if !got.Shape.Equal(classify.Shape{3, 0}) {
		t.Errorf("RFFT fft_length 0: %v", got.Shape)
	}
	got = mustRun(t, "RFFT", rf, classify.FromFloat32(nil, 2, 0), i32([]int32{6}, 1))
	if !got.Shape.Equal(classify.Shape{2, 4}) {
		t.Fatalf("RFFT of [2 0] padded to 6: %v", got.Shape)
	}
	for _, v := range got.Data.([]complex64) {
		if v != 0 {
			t.Fatalf("RFFT of zero padding: %v", got.Data)
		}
	}
	got = mustRun(t, "IRFFT2D", rf, c64(nil, 0, 3, 3), i32([]int32{3, 4}, 2))
	if !got.Shape.Equal(classify.Shape{0, 3, 4}) || got.DType != classify.Float32 {
		t.Errorf("IRFFT2D of an empty batch: %v%v", got.DType, got.Shape)
	}
}

// FuzzFFT runs the family on random shapes and lengths: no panics, valid
// outputs of the documented shapes, and the round trips hold.
func FuzzFFT(f *testing.F) {
	f.Add(uint8(1), uint8(3), uint8(4), uint8(5), uint8(6), uint8(5), int64(1))
	f.Add(uint8(2), uint8(0), uint8(37), uint8(2), uint8(0), uint8(9), int64(2))
	f.Add(uint8(3), uint8(2), uint8(1), uint8(3), uint8(4), uint8(1), int64(3))
	f.Fuzz(func(t *testing.T, rank, b, d1, d2, d3, l0 uint8, seed int64) {
		R := int(rank)%3 + 1
		dims := []int{int(b) % 4, int(d1) % 70, int(d2) % 12, int(d3) % 12}
		shape := append([]int{dims[0]}, dims[4-R:]...)
		r := rand.New(rand.NewSource(seed))
		x := asTensor(classify.Complex128, randComplex(r, arrProd(shape)), shape...)
		names := fftNames[R]
		a := graphdef.Attrs{"Tcomplex": classify.Complex128}
		fx, err := runFuzzOp(names[0], a, x)
		if err != nil {
			t.Fatal(err)
		}
		back, err := runFuzzOp(names[1], a, fx)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxErr(values(back), values(x)); e > 1e-9 || !back.Shape.Equal(shape) {
			t.Fatalf("%v: round trip error %g, shape %v", shape, e, back.Shape)
		}
		// Real transforms with lengths that crop or pad.
		fl := make([]int32, R)
		full := append([]int{}, shape[:len(shape)-R]...)
		for i := range fl {
			fl[i] = int32((int(l0) + 3*i + int(seed&7)) % 40)
			full = append(full, int(fl[i]))
		}
		xr := asTensor(classify.Float64, randComplex(r, arrProd(shape)), shape...)
		ra := graphdef.Attrs{"Treal": classify.Float64, "Tcomplex": classify.Complex128}
		rn := rfftNames[R]
		flT := i32(fl, R)
		sp, err := runFuzzOp(rn[0], ra, xr, flT)
		if err != nil {
			t.Fatal(err)
		}
		xb, err := runFuzzOp(rn[1], ra, sp, flT)
		if err != nil {
			t.Fatal(err)
		}
		if !xb.Shape.Equal(full) {
			t.Fatalf("IRFFT shape %v, want %v", xb.Shape, full)
		}
		want := make([]complex128, arrProd(full))
		cropPadC(want, full, values(xr), shape)
		if e := maxErr(values(xb), want); e > 1e-9 {
			t.Fatalf("%v fl %v: real round trip error %g", shape, fl, e)
		}
		// Arbitrary spectra through IRFFT: no panic, a valid result.
		if _, err := runFuzzOp(rn[1], ra, asTensor(classify.Complex128, randComplex(r, arrProd(shape)), shape...), flT); err != nil {
			t.Fatal(err)
		}
	})
}

// runFuzzOp builds and runs one node directly (no graph), checking that
// outputs are valid tensors.
func runFuzzOp(op string, a graphdef.Attrs, in ...*classify.Tensor) (*classify.Tensor, error) {
	b, _ := Lookup(op)
	k, err := b(&Node{Name: "n", Op: op, NumInputs: len(in), Attr: attrs(a)}, make([]*classify.Tensor, len(in)))
	if err != nil {
		return nil, err
	}
	out, err := k.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, 2)}, in)
	if err != nil {
		return nil, err
	}
	if err := out[0].Validate(); err != nil {
		return nil, err
	}
	return out[0], nil
}

// BenchmarkFFT times one row of radix-2/4, mixed radix and prime
// (Bluestein) lengths: ns/op divided by n log n should stay flat.
func BenchmarkFFT(b *testing.B) {
	for _, n := range []int{1024, 4096, 1000, 4095, 1031, 4099, 65536} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			x := asTensor(classify.Complex64, randComplex(rand.New(rand.NewSource(1)), n), n)
			bu, _ := Lookup("FFT")
			k, err := bu(&Node{Name: "n", Op: "FFT", NumInputs: 1, Attr: attrs(graphdef.Attrs{"Tcomplex": classify.Complex64})}, []*classify.Tensor{nil})
			if err != nil {
				b.Fatal(err)
			}
			ctx := &Ctx{Threads: 1, Slots: make([]*classify.Tensor, 1)}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := k.Run(ctx, []*classify.Tensor{x}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFFTParallel: splitting the lines over workers gives the serial
// result exactly (each line is computed the same way), also for IRFFT.
func TestFFTParallel(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	x := asTensor(classify.Complex128, randComplex(r, 64*300), 64, 300)
	run := func(op string, threads int, in ...*classify.Tensor) []complex128 {
		b, _ := Lookup(op)
		k, err := b(&Node{Name: "n", Op: op, NumInputs: len(in), Attr: attrs(graphdef.Attrs{"Tcomplex": classify.Complex128, "Treal": classify.Float64})}, make([]*classify.Tensor, len(in)))
		if err != nil {
			t.Fatal(err)
		}
		out, err := k.Run(&Ctx{Threads: threads, Slots: make([]*classify.Tensor, 2)}, in)
		if err != nil {
			t.Fatal(err)
		}
		return values(out[0])
	}
	for _, c := range []struct {
		op string
		in []*classify.Tensor
	}{
		{"FFT2D", []*classify.Tensor{x}},
		{"IRFFT", []*classify.Tensor{x, i32([]int32{598}, 1)}},
	} {
		s, p := run(c.op, 1, c.in...), run(c.op, 4, c.in...)
		for i := range s {
			if s[i] != p[i] {
				t.Fatalf("%s: element %d: serial %v, parallel %v", c.op, i, s[i], p[i])
			}
		}
	}
}

// TestFFTLongSmooth: a length above Bluestein's cap but with only small
// prime factors (3·2^20) is transformed: a delta at 1 becomes the roots
// of unity.
func TestFFTLongSmooth(t *testing.T) {
	if testing.Short() {
		t.Skip("3M-point transform")
	}
	n := 3 << 20
	x := make([]complex64, n)
	x[1] = 1
	got := mustRun(t, "FFT", graphdef.Attrs{"Tcomplex": classify.Complex64}, c64(x, n)).Data.([]complex64)
	for _, k := range []int{0, 1, n / 4, n/3 + 5, n - 1} {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		if e := cmplx.Abs(complex128(got[k]) - complex(c, s)); e > 1e-6 {
			t.Errorf("bin %d: %v, want %v", k, got[k], complex(c, s))
		}
	}
}
