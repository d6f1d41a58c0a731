package ops

import (
	"errors"
	"math/cmplx"
	"math/rand"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
)

// exactComplex is randComplex rounded to complex64, so that both widths
// see the same inputs.
func exactComplex(r *rand.Rand, n int) []complex128 {
	v := randComplex(r, n)
	for i := range v {
		v[i] = complex128(complex64(v[i]))
	}
	return v
}

// checkComplexResult compares out with want element by element within tol
// relative to |want| (tol64 for complex64), and checks dtype and shape.
func checkComplexResult(t *testing.T, name string, out *classify.Tensor, dt classify.DType, shape classify.Shape, want []complex128, tol float64) bool {
	t.Helper()
	if out.DType != dt || !out.Shape.Equal(shape) || out.Len() != len(want) {
		t.Errorf("%s: got %v%v, want %v%v", name, out.DType, out.Shape, dt, shape)
		return false
	}
	if dt == classify.Complex64 {
		tol = tol64
	}
	for i, w := range want {
		if g := complexAt(out, i); !(cmplx.Abs(g-w) <= tol*cmplx.Abs(w)) {
			t.Errorf("%s: element %d = %v, want %v", name, i, g, w)
			return false
		}
	}
	return true
}

// TestComplexBiasAdd checks BiasAdd and BiasAddV1 on complex values in
// both layouts and at ranks 2 to 5 against the definition (bias[c] added
// along the channel axis: the last for NHWC, 1 for NCHW), empty values
// included, and the shape and dtype errors.
func TestComplexBiasAdd(t *testing.T) {
	r := rand.New(rand.NewSource(511))
	cases := []struct {
		op, format string
		shape      classify.Shape
	}{
		{"BiasAdd", "NHWC", classify.Shape{2, 3, 4}},
		{"BiasAdd", "NHWC", classify.Shape{3, 5}},
		{"BiasAdd", "NCHW", classify.Shape{2, 3, 4, 2}},
		{"BiasAdd", "NCHW", classify.Shape{2, 3}},
		{"BiasAdd", "NCHW", classify.Shape{1, 2, 2, 2, 3}},
		{"BiasAdd", "NHWC", classify.Shape{0, 4}},
		{"BiasAddV1", "", classify.Shape{2, 2, 3}},
	}
	for _, c := range cases {
		for _, dt := range complexDTypes {
			ax := len(c.shape) - 1
			if c.format == "NCHW" {
				ax = 1
			}
			nc, inner := c.shape[ax], arrProd(c.shape[ax+1:])
			xv, bv := exactComplex(r, c.shape.NumElements()), exactComplex(r, nc)
			want := make([]complex128, len(xv))
			for i, v := range xv {
				want[i] = v + bv[(i/inner)%nc]
			}
			attrs := map[string]any{"T": dt}
			if c.format != "" {
				attrs["data_format"] = c.format
			}
			name := c.op + " " + c.format + " " + dt.String() + " " + c.shape.String()
			out, ran, err := runOpUnrecorded(c.op, attrs, asTensor(dt, xv, c.shape...), asTensor(dt, bv, nc))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if checkComplexResult(t, name, out[0], dt, c.shape, want, tolExact128) {
				recordCoverage(t, "reference", ran)
			}
		}
	}
	bad := []struct {
		name    string
		attrs   map[string]any
		x, b    *classify.Tensor
		message string
	}{
		{"channels", map[string]any{"T": classify.Complex64}, asTensor(classify.Complex64, make([]complex128, 6), 2, 3), asTensor(classify.Complex64, make([]complex128, 2), 2), "bias of 2 elements for 3 channels"},
		// A bias that would fit NHWC's last axis.
		{"channels NCHW", map[string]any{"T": classify.Complex128, "data_format": "NCHW"}, asTensor(classify.Complex128, make([]complex128, 24), 2, 3, 4), asTensor(classify.Complex128, make([]complex128, 4), 4), "bias of 4 elements for 3 channels"},
		{"rank 1", map[string]any{"T": classify.Complex64}, asTensor(classify.Complex64, make([]complex128, 3), 3), asTensor(classify.Complex64, make([]complex128, 3), 3), "at least 2-D"},
		{"bias matrix", map[string]any{"T": classify.Complex64}, asTensor(classify.Complex64, make([]complex128, 6), 2, 3), asTensor(classify.Complex64, make([]complex128, 3), 1, 3), "must be a vector"},
		{"dtypes", map[string]any{"T": classify.Complex64}, asTensor(classify.Complex64, make([]complex128, 6), 2, 3), asTensor(classify.Complex128, make([]complex128, 3), 3), "dtype mismatch"},
		{"format", map[string]any{"T": classify.Complex64, "data_format": "NCDHW"}, asTensor(classify.Complex64, make([]complex128, 6), 2, 3), asTensor(classify.Complex64, make([]complex128, 3), 3), "data_format"},
	}
	for _, c := range bad {
		if _, _, err := runOpUnrecorded("BiasAdd", c.attrs, c.x, c.b); err == nil || !strings.Contains(err.Error(), c.message) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.message)
		}
	}
}

// TestComplexSegments checks the complex segment reductions TensorFlow
// defines (SegmentSum, SegmentProd, SegmentMean, UnsortedSegmentSum,
// UnsortedSegmentProd) against their definitions, with empty segments
// (0, or 1 for products), repeated and negative (dropped) ids, and rows of
// several elements; and that the maximum and minimum refuse complex.
func TestComplexSegments(t *testing.T) {
	r := rand.New(rand.NewSource(813))
	const rows, row = 7, 3
	sortedIDs := []int32{0, 0, 2, 2, 2, 3, 5}
	unsortedIDs := []int32{4, 0, -1, 4, 2, 0, 4}
	ref := func(x []complex128, ids []int32, num int, kind byte) []complex128 {
		out := make([]complex128, num*row)
		count := make([]int, num)
		for i := range out {
			if kind == '*' {
				out[i] = 1
			}
		}
		for i, s := range ids {
			if s < 0 {
				continue
			}
			count[s]++
			for j := range row {
				if kind == '*' {
					out[int(s)*row+j] *= x[i*row+j]
				} else {
					out[int(s)*row+j] += x[i*row+j]
				}
			}
		}
		if kind == '/' {
			for s, n := range count {
				for j := 0; j < row && n > 0; j++ {
					out[s*row+j] /= complex(float64(n), 0)
				}
			}
		}
		return out
	}
	cases := []struct {
		op   string
		kind byte
		ids  []int32
		num  int // 0: sorted, the count from the ids
	}{
		{"SegmentSum", '+', sortedIDs, 0},
		{"SegmentProd", '*', sortedIDs, 0},
		{"SegmentMean", '/', sortedIDs, 0},
		{"UnsortedSegmentSum", '+', unsortedIDs, 6},
		{"UnsortedSegmentProd", '*', unsortedIDs, 6},
	}
	for _, c := range cases {
		for _, dt := range complexDTypes {
			x := exactComplex(r, rows*row)
			in := []*classify.Tensor{asTensor(dt, x, rows, row), {DType: classify.Int32, Shape: classify.Shape{rows}, Data: c.ids}}
			num := c.num
			if num == 0 {
				num = int(c.ids[len(c.ids)-1]) + 1
			} else {
				in = append(in, &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{int32(num)}})
			}
			out, ran, err := runOpUnrecorded(c.op, map[string]any{"T": dt, "Tindices": classify.Int32}, in...)
			if err != nil {
				t.Fatalf("%s %v: %v", c.op, dt, err)
			}
			// Products of three values: a few roundings.
			if checkComplexResult(t, c.op+" "+dt.String(), out[0], dt, classify.Shape{num, row}, ref(x, c.ids, num, c.kind), 1e-14) {
				recordCoverage(t, "reference", ran)
			}
		}
	}
	for _, op := range []string{"SegmentMax", "SegmentMin", "UnsortedSegmentMax", "UnsortedSegmentMin"} {
		in := []*classify.Tensor{asTensor(classify.Complex64, make([]complex128, 2), 2), {DType: classify.Int32, Shape: classify.Shape{2}, Data: []int32{0, 1}}}
		if strings.HasPrefix(op, "Unsorted") {
			in = append(in, &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{}, Data: []int32{2}})
		}
		_, _, err := runOpUnrecorded(op, map[string]any{"T": classify.Complex64}, in...)
		if !errors.Is(err, classify.ErrUnsupportedOp) || !strings.Contains(err.Error(), op) {
			t.Errorf("%s on complex64: got %v, want ErrUnsupportedOp naming the op", op, err)
		}
	}
}
