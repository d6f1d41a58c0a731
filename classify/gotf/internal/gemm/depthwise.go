package gemm

import "unsafe"

// DWRow is one call of a depthwise-convolution row kernel: for each of
// Pixels output pixels p (NHWC, C channels, multiplier 1),
//
//	Y[p*C+c] = clamp(Bias[c] + sum_t X[p*XStep + XOff[t] + c] * W[WOff[t] + c], Lo, Hi)
//
// where t runs over the taps of the window that fall inside the input.
// Offsets and XStep are in elements. The layout is fixed: the assembly
// kernels read the fields by offset.
type DWRow struct {
	Y, X, W, Bias *float32
	XOff, WOff    *int
	Taps          int
	C             int
	Pixels        int
	XStep         int
	Lo, Hi        float32
	// RowStep and ColStep (elements) locate the taps for Run3x3: tap
	// (ky, kx) of pixel p is at X + p*XStep + ky*RowStep + kx*ColStep, and
	// its weights at W + (3*ky+kx)*C.
	RowStep, ColStep int
}

// DWKernel computes depthwise rows; see DWRow.
type DWKernel struct {
	// Name identifies the kernel in tests ("avx512", "avx2", "go").
	Name     string
	fn       func(r *DWRow)
	dense3x3 func(r *DWRow)
}

// Run computes the rows r describes.
func (k *DWKernel) Run(r *DWRow) {
	if r.Pixels > 0 && r.C > 0 {
		k.fn(r)
	}
}

// Run3x3 computes pixels whose whole 3x3 window is inside the input, with
// taps located by RowStep and ColStep (XOff, WOff and Taps are ignored).
func (k *DWKernel) Run3x3(r *DWRow) {
	if r.Pixels <= 0 || r.C <= 0 {
		return
	}
	if k.dense3x3 != nil {
		k.dense3x3(r)
		return
	}
	var xoff, woff [9]int
	for t := range xoff {
		xoff[t] = t/3*r.RowStep + t%3*r.ColStep
		woff[t] = t * r.C
	}
	g := *r
	g.XOff, g.WOff, g.Taps = &xoff[0], &woff[0], 9
	k.fn(&g)
}

// DWKernels lists the depthwise kernels this CPU can run, fastest first.
func DWKernels() []*DWKernel { return dwAvailable }

// DefaultDW returns the fastest depthwise kernel.
func DefaultDW() *DWKernel { return dwAvailable[0] }

var dwGo = &DWKernel{Name: "go", fn: dwRowGo}

func dwRowGo(r *DWRow) {
	c := r.C
	xoff := unsafe.Slice(r.XOff, r.Taps)
	woff := unsafe.Slice(r.WOff, r.Taps)
	bias := unsafe.Slice(r.Bias, c)
	for p := 0; p < r.Pixels; p++ {
		y := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(r.Y), 4*p*c)), c)
		copy(y, bias)
		xp := unsafe.Add(unsafe.Pointer(r.X), 4*p*r.XStep)
		for t := range xoff {
			x := unsafe.Slice((*float32)(unsafe.Add(xp, 4*xoff[t])), c)
			w := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(r.W), 4*woff[t])), c)
			for i := range y {
				y[i] += x[i] * w[i]
			}
		}
		for i, v := range y {
			y[i] = min(max(v, r.Lo), r.Hi)
		}
	}
}

// dwAVX512OnePixel is the AVX-512 kernel with the one-pixel dense 3x3 loop,
// set where the CPU has AVX-512 (nil elsewhere): the reference the tests
// hold the four-pixel loop to, bit for bit.
var dwAVX512OnePixel *DWKernel
