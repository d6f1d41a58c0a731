package gotf

import (
	"context"
	"errors"
	"math"
	"math/cmplx"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestComplexGraphInEngine runs complex tensors through the whole engine
// (static shapes, constant folding, execution): a complex64 constant, a
// fed complex128 input, a spectrum of a fed float32 signal, and complex
// outputs returned to the caller. Expected values are worked by hand.
func TestComplexGraphInEngine(t *testing.T) {
	O := func(s ...string) []graphdef.Output {
		var o []graphdef.Output
		for _, x := range s {
			o = append(o, graphdef.Output(x))
		}
		return o
	}
	c64, c128 := classify.Complex64, classify.Complex128
	b := graphdef.New()
	b.Placeholder("sig", classify.Float32, classify.Shape{4})
	b.Placeholder("z", c128, classify.Shape{2})
	b.Const("k", &classify.Tensor{DType: c64, Shape: classify.Shape{2}, Data: []complex64{1 + 2i, -1i}})
	b.ConstI32("n", []int32{4}, 1)
	b.Op("RFFT", "spec", O("sig", "n"), graphdef.Attrs{"Treal": classify.Float32, "Tcomplex": c64})
	b.Op("ComplexAbs", "mag", O("spec"), graphdef.Attrs{"T": c64, "Tout": classify.Float32})
	// A constant-only branch, folded at load.
	b.Op("Mul", "kk", O("k", "k"), graphdef.Attrs{"T": c64})
	b.Op("Cast", "kk128", O("kk"), graphdef.Attrs{"SrcT": c64, "DstT": c128})
	b.Op("AddV2", "sum", O("z", "kk128"), graphdef.Attrs{"T": c128})
	b.Op("Real", "re", O("sum"), graphdef.Attrs{"T": c128, "Tout": classify.Float64})
	m := openBuilder(t, b, classify.OpenOptions{Outputs: []string{"spec", "mag", "sum", "re"}})
	defer m.Close()
	info := m.Info()
	for i, want := range []classify.DType{c64, classify.Float32, c128, classify.Float64} {
		if got := info.Outputs[i].DType; got != want {
			t.Errorf("output %s: %v, want %v", info.Outputs[i].Name, got, want)
		}
	}
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{
		"sig": classify.FromFloat32([]float32{1, 2, 3, 4}, 4),
		"z":   {DType: c128, Shape: classify.Shape{2}, Data: []complex128{0.5, 1i}},
	}, []string{"spec", "mag", "sum", "re"})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []complex128{10, -2 + 2i, -2} {
		if g := complex128(res[0].Data.([]complex64)[i]); cmplx.Abs(g-w) > 1e-5 {
			t.Errorf("spec[%d] = %v, want %v", i, g, w)
		}
		if g := float64(res[1].Float32s()[i]); math.Abs(g-cmplx.Abs(w)) > 1e-5 {
			t.Errorf("mag[%d] = %v, want %v", i, g, cmplx.Abs(w))
		}
	}
	// (1+2i)² = -3+4i, (-i)² = -1.
	for i, w := range []complex128{-2.5 + 4i, -1 + 1i} {
		if g := res[2].Data.([]complex128)[i]; g != w {
			t.Errorf("sum[%d] = %v, want %v", i, g, w)
		}
		if g := res[3].Data.([]float64)[i]; g != real(w) {
			t.Errorf("re[%d] = %v, want %v", i, g, real(w))
		}
	}
	// A complex tensor fed where the graph wants another dtype is refused.
	_, err = m.Run(context.Background(), map[string]*classify.Tensor{
		"sig": {DType: c64, Shape: classify.Shape{4}, Data: make([]complex64, 4)},
		"z":   {DType: c128, Shape: classify.Shape{2}, Data: make([]complex128, 2)},
	}, []string{"mag"})
	if !errors.Is(err, classify.ErrInvalidInput) {
		t.Errorf("complex64 fed to a float32 placeholder: got %v, want ErrInvalidInput", err)
	}
}

// spectrumGraph starts a graph whose node "spec" is the complex64 RFFT of
// the [2,4] float32 placeholder "sig" (length 4: [2,3] bins); spectrumFeed
// feeds it [1 2 3 4] and zeros, whose spectra are [10, -2+2i, -2] and 0.
func spectrumGraph() *graphdef.Builder {
	b := graphdef.New()
	b.Placeholder("sig", classify.Float32, classify.Shape{2, 4})
	b.ConstI32("n", []int32{4}, 1)
	b.Op("RFFT", "spec", []graphdef.Output{"sig", "n"}, graphdef.Attrs{"Treal": classify.Float32, "Tcomplex": classify.Complex64})
	return b
}

func spectrumFeed() map[string]*classify.Tensor {
	return map[string]*classify.Tensor{"sig": classify.FromFloat32([]float32{1, 2, 3, 4, 0, 0, 0, 0}, 2, 4)}
}

// TestComplexReduceInEngine runs a complex Mean over a spectrum and an
// AddN, Equal and Einsum of complex values through load-time shape inference and
// execution: the output dtypes come from the ops' definitions (complex
// for Mean, AddN and Einsum, bool for Equal). Values are worked by hand.
func TestComplexReduceInEngine(t *testing.T) {
	type O = []graphdef.Output
	c64 := classify.Complex64
	b := spectrumGraph()
	b.ConstI32("ax", []int32{-1}, 1)
	b.Op("Mean", "avg", O{"spec", "ax"}, graphdef.Attrs{"T": c64, "Tidx": classify.Int32})
	b.Op("AddN", "tot", O{"avg", "avg", "avg"}, graphdef.Attrs{"T": c64, "N": 3})
	b.Op("Equal", "same", O{"tot", "avg"}, graphdef.Attrs{"T": c64})
	b.Op("Einsum", "dot", O{"avg", "avg"}, graphdef.Attrs{"T": c64, "N": 2, "equation": "i,i->"})
	m := openBuilder(t, b, classify.OpenOptions{Outputs: []string{"avg", "tot", "same", "dot"}})
	defer m.Close()
	info := m.Info()
	for i, want := range []classify.DType{c64, c64, classify.Bool, c64} {
		if got := info.Outputs[i].DType; got != want {
			t.Errorf("output %s: %v, want %v", info.Outputs[i].Name, got, want)
		}
	}
	res, err := m.Run(context.Background(), spectrumFeed(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// RFFT of [1 2 3 4] is [10, -2+2i, -2]: mean (6+2i)/3; of zeros, 0.
	want := []complex128{complex(2, 2.0/3), 0}
	for i, w := range want {
		if g := complex128(res[0].Data.([]complex64)[i]); cmplx.Abs(g-w) > 1e-5 {
			t.Errorf("avg[%d] = %v, want %v", i, g, w)
		}
		if g := complex128(res[1].Data.([]complex64)[i]); cmplx.Abs(g-3*w) > 1e-5 {
			t.Errorf("tot[%d] = %v, want %v", i, g, 3*w)
		}
	}
	if got := res[2].Data.([]bool); got[0] || !got[1] {
		t.Errorf("same = %v, want [false true]", got)
	}
	// (2 + 2i/3)² + 0².
	if g, w := complex128(res[3].Data.([]complex64)[0]), complex(4-4.0/9, 8.0/3); !res[3].Shape.Equal(classify.Shape{}) || cmplx.Abs(g-w) > 1e-5 {
		t.Errorf("dot = %v%v, want scalar %v", res[3].Shape, g, w)
	}
}

// TestComplexMathInEngine runs complex math kernels on a spectrum through
// load-time shape inference and execution: Tanh, Sigmoid, a Cumsum along
// the bins, a Pow and a SquaredDifference against a constant keep the
// complex64 dtype and the [2,3] shape. Values are checked against the
// spectrum worked by hand ([10, -2+2i, -2] and zeros).
func TestComplexMathInEngine(t *testing.T) {
	type O = []graphdef.Output
	c64 := classify.Complex64
	b := spectrumGraph()
	b.ConstI32("ax", []int32{1})
	b.Const("two", &classify.Tensor{DType: c64, Shape: classify.Shape{}, Data: []complex64{2}})
	b.Op("Tanh", "th", O{"spec"}, graphdef.Attrs{"T": c64})
	b.Op("Sigmoid", "sg", O{"spec"}, graphdef.Attrs{"T": c64})
	b.Op("Cumsum", "cs", O{"spec", "ax"}, graphdef.Attrs{"T": c64, "Tidx": classify.Int32, "exclusive": true})
	b.Op("Pow", "sq", O{"spec", "two"}, graphdef.Attrs{"T": c64})
	b.Op("SquaredDifference", "sd", O{"spec", "two"}, graphdef.Attrs{"T": c64})
	outs := []string{"th", "sg", "cs", "sq", "sd"}
	m := openBuilder(t, b, classify.OpenOptions{Outputs: outs})
	defer m.Close()
	for i, o := range m.Info().Outputs {
		if o.DType != c64 {
			t.Errorf("output %s: %v, want complex64", outs[i], o.DType)
		}
	}
	res, err := m.Run(context.Background(), spectrumFeed(), nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := []complex128{10, -2 + 2i, -2, 0, 0, 0}
	want := map[string][]complex128{
		"th": {cmplx.Tanh(10), cmplx.Tanh(-2 + 2i), cmplx.Tanh(-2), 0, 0, 0},
		"sg": {1 / (1 + cmplx.Exp(-10)), 1 / (1 + cmplx.Exp(2-2i)), 1 / (1 + cmplx.Exp(2)), 0.5, 0.5, 0.5},
		"cs": {0, 10, 8 + 2i, 0, 0, 0},
		"sq": {100, -8i, 4, 0, 0, 0},
	}
	for i := range spec {
		d := spec[i] - 2
		want["sd"] = append(want["sd"], complex(real(d)*real(d)+imag(d)*imag(d), 0))
	}
	for i, name := range outs {
		r := res[i]
		if !r.Shape.Equal(classify.Shape{2, 3}) {
			t.Fatalf("%s: shape %v, want [2,3]", name, r.Shape)
		}
		for j, w := range want[name] {
			if g := complex128(r.Data.([]complex64)[j]); cmplx.Abs(g-w) > 1e-5*max(1, cmplx.Abs(w)) {
				t.Errorf("%s[%d] = %v, want %v", name, j, g, w)
			}
		}
	}
}

// TestComplexBiasInEngine runs BiasAdd on complex values through the
// loader's passes (layout, fusion) and execution: after a complex MatMul,
// the pattern the fusion pass turns into _FusedMatMul for float32, and in
// NCHW at rank 3; and a complex UnsortedSegmentSum. Values are worked by
// hand.
func TestComplexBiasInEngine(t *testing.T) {
	type O = []graphdef.Output
	c64 := classify.Complex64
	b := spectrumGraph() // spec: [[10, -2+2i, -2], [0, 0, 0]]
	b.Const("bias", &classify.Tensor{DType: c64, Shape: classify.Shape{3}, Data: []complex64{1i, 1, -1}})
	b.Const("eye", &classify.Tensor{DType: c64, Shape: classify.Shape{3, 3}, Data: []complex64{1, 0, 0, 0, 1, 0, 0, 0, 1i}})
	b.Const("ids", &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{2}, Data: []int32{1, 1}})
	b.ConstI32("num", []int32{2})
	b.Const("bias2", &classify.Tensor{DType: c64, Shape: classify.Shape{2}, Data: []complex64{1, 2i}})
	b.Op("MatMul", "mm", O{"spec", "eye"}, graphdef.Attrs{"T": c64})
	b.Op("BiasAdd", "mmb", O{"mm", "bias"}, graphdef.Attrs{"T": c64, "data_format": "NHWC"})
	b.Op("UnsortedSegmentSum", "seg", O{"spec", "ids", "num"}, graphdef.Attrs{"T": c64, "Tindices": classify.Int32, "Tnumsegments": classify.Int32})
	b.ConstI32("shape3", []int32{1, 2, 3}, 3)
	b.Op("Reshape", "spec3", O{"spec", "shape3"}, graphdef.Attrs{"T": c64, "Tshape": classify.Int32})
	b.Op("BiasAdd", "nchw", O{"spec3", "bias2"}, graphdef.Attrs{"T": c64, "data_format": "NCHW"})
	outs := []string{"mmb", "seg", "nchw"}
	m := openBuilder(t, b, classify.OpenOptions{Outputs: outs})
	defer m.Close()
	res, err := m.Run(context.Background(), spectrumFeed(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]complex128{
		"mmb":  {10 + 1i, -1 + 2i, -1 - 2i, 1i, 1, -1},
		"seg":  {0, 0, 0, 10, -2 + 2i, -2},
		"nchw": {11, -1 + 2i, -1, 2i, 2i, 2i}, // [1,2,3]: channel axis 1
	}
	for i, name := range outs {
		r := res[i]
		if r.DType != c64 || r.Len() != 6 {
			t.Fatalf("%s: %v%v, want 6 complex64 values", name, r.DType, r.Shape)
		}
		for j, w := range want[name] {
			if g := complex128(r.Data.([]complex64)[j]); cmplx.Abs(g-w) > 1e-5*max(1, cmplx.Abs(w)) {
				t.Errorf("%s[%d] = %v, want %v", name, j, g, w)
			}
		}
	}
}
