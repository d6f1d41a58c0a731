package gotf

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// layoutNet builds the same small CNN in either layout: every per-dimension
// attribute is written in that layout's order, weights are shared (filters
// are HWIO in both). The NHWC build is the independent reference for the
// NCHW one: TensorFlow.js, the oracle, ignores data_format on pooling and
// batch norm, so it cannot check these graphs.
func layoutNet(b *graphdef.Builder, nchw bool, in classify.Shape) []string {
	format := "NHWC"
	dims := func(n, h, w, c int) []int {
		if nchw {
			return []int{n, c, h, w}
		}
		return []int{n, h, w, c}
	}
	pads := func(n, h, w, c [2]int) []int {
		var out []int
		for _, p := range [][2]int(map[bool][][2]int{true: {n, c, h, w}, false: {n, h, w, c}}[nchw]) {
			out = append(out, p[0], p[1])
		}
		return out
	}
	if nchw {
		format = "NCHW"
		in = classify.Shape{in[0], in[3], in[1], in[2]}
	}
	x := b.Placeholder("x", classify.Float32, in)
	f32 := classify.Float32
	c1 := b.Op("Conv2D", "c1", []O{x, b.Const("c1/w", randTensor(1, 3, 3, 3, 4))},
		graphdef.Attrs{"strides": dims(1, 2, 2, 1), "padding": "SAME", "data_format": format, "T": f32})
	b1 := b.Op("BiasAdd", "b1", []O{c1, b.Const("b1/b", randTensor(2, 4))}, graphdef.Attrs{"data_format": format, "T": f32})
	bn := b.Op("FusedBatchNormV3", "bn", []O{b1,
		b.Const("bn/gamma", randTensor(3, 4)), b.Const("bn/beta", randTensor(4, 4)),
		b.Const("bn/mean", randTensor(5, 4)), b.Const("bn/var", absTensor(randTensor(6, 4)))},
		graphdef.Attrs{"is_training": false, "epsilon": float32(0.001), "T": f32, "U": f32, "data_format": format})
	r := b.Op("Relu", "relu", []O{bn}, nil)
	d := b.Op("DepthwiseConv2dNative", "dw", []O{r, b.Const("dw/w", randTensor(7, 3, 3, 4, 2))},
		graphdef.Attrs{"strides": dims(1, 1, 1, 1), "dilations": dims(1, 2, 1, 1), "padding": "EXPLICIT",
			"explicit_paddings": pads([2]int{0, 0}, [2]int{1, 2}, [2]int{0, 1}, [2]int{0, 0}), "data_format": format, "T": f32})
	d = b.Op("Relu6", "relu6", []O{d}, nil)
	m := b.Op("MaxPool", "max", []O{d}, graphdef.Attrs{"ksize": dims(1, 2, 2, 1), "strides": dims(1, 1, 2, 1), "padding": "VALID", "data_format": format, "T": f32})
	m = b.Op("Tanh", "tanh", []O{m}, nil)
	a := b.Op("AvgPool", "avg", []O{m}, graphdef.Attrs{"ksize": dims(1, 2, 1, 1), "strides": dims(1, 1, 1, 1), "padding": "SAME", "data_format": format, "T": f32})
	c2 := b.Op("Conv2D", "c2", []O{a, b.Const("c2/w", randTensor(8, 1, 1, 8, 5))},
		graphdef.Attrs{"strides": dims(1, 1, 1, 1), "padding": "VALID", "data_format": format, "T": f32})
	return []string{string(c2)}
}

func transposeT(t *classify.Tensor, perm ...int) *classify.Tensor {
	out := make(classify.Shape, len(perm))
	for i, p := range perm {
		out[i] = t.Shape[p]
	}
	o := classify.NewTensor(t.DType, out...)
	src, dst := t.Float32s(), o.Float32s()
	idx := make([]int, len(perm))
	for i := range dst {
		// idx is the output index; read the input at the permuted position.
		off, stride := 0, 1
		in := make([]int, len(perm))
		for k, p := range perm {
			in[p] = idx[k]
		}
		for k := len(t.Shape) - 1; k >= 0; k-- {
			off += in[k] * stride
			stride *= t.Shape[k]
		}
		dst[i] = src[off]
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < out[k] {
				break
			}
			idx[k] = 0
		}
	}
	return o
}

func TestNCHWLayout(t *testing.T) {
	in := classify.Shape{2, 9, 8, 3}
	xh := randTensor(50, in...)
	ref := graphdef.New()
	refOuts := layoutNet(ref, false, in)
	want := runGraph(t, ref, refOuts, map[string]*classify.Tensor{"x": xh}, loadConfig{fuse: true})

	g := graphdef.New()
	outs := layoutNet(g, true, in)
	feeds := map[string]*classify.Tensor{"x": transposeT(xh, 0, 3, 1, 2)}
	for _, fuse := range []bool{false, true} {
		m, err := load(context.Background(), g.GraphDef(), classify.OpenOptions{Outputs: outs}, loadConfig{fuse: fuse})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Run(context.Background(), feeds, outs)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(got[0], transposeT(want[0], 0, 3, 1, 2)); d > 1e-5 {
			t.Errorf("fuse=%v: NCHW output differs from the NHWC graph by %g", fuse, d)
		}
		ops := m.Info().Ops
		// One transpose in, one out: the chain stays channels-last.
		if ops["Transpose"] != 2 {
			t.Errorf("fuse=%v: %d Transpose nodes, want 2 (ops %v)", fuse, ops["Transpose"], ops)
		}
		if fuse && (ops["_FusedConv2D"] != 1 || ops["Conv2D"] != 1 || ops["_FusedDepthwiseConv2dNative"] != 1 || ops["BiasAdd"]+ops["FusedBatchNormV3"]+ops["Relu"]+ops["Relu6"] != 0) {
			t.Errorf("fusion missed the converted nodes: ops %v", ops)
		}
	}
}

func runGraph(t *testing.T, b *graphdef.Builder, outs []string, feeds map[string]*classify.Tensor, cfg loadConfig) []*classify.Tensor {
	t.Helper()
	m, err := load(context.Background(), b.GraphDef(), classify.OpenOptions{Outputs: outs}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Run(context.Background(), feeds, outs)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestNCHWEdges: an NCHW op whose output is requested, read by another
// consumer, or fed by a transposed constant; BiasAdd of unknown rank is
// reported by name.
func TestNCHWEdges(t *testing.T) {
	f32 := classify.Float32
	b := graphdef.New()
	x := b.Placeholder("x", f32, classify.Shape{1, 2, 3, 4}) // NCHW
	ba := b.Op("BiasAdd", "ba", []O{x, b.Const("ba/b", randTensor(1, 2))}, graphdef.Attrs{"data_format": "NCHW", "T": f32})
	p := b.Op("MaxPool", "p", []O{ba}, graphdef.Attrs{"ksize": []int{1, 1, 2, 2}, "strides": []int{1, 1, 1, 1}, "padding": "SAME", "data_format": "NCHW", "T": f32})
	s := b.Op("Add", "s", []O{p, ba}, nil)
	bn := b.Op("FusedBatchNormV3", "bn", []O{s,
		b.ConstF32("bn/gamma", []float32{1, 2}, 2), b.ConstF32("bn/beta", []float32{0, 1}, 2),
		b.ConstF32("bn/mean", []float32{0.5, -1}, 2), b.ConstF32("bn/var", []float32{4, 1}, 2)},
		graphdef.Attrs{"is_training": false, "epsilon": float32(0), "T": f32, "U": f32, "data_format": "NCHW"})
	stat := b.Op("Identity", "stat", []O{"bn:2"}, nil)
	outs := []string{string(ba), string(s), string(bn), string(stat), "bn:1"}
	xv := randTensor(2, 1, 2, 3, 4)
	got := runGraph(t, b, outs, map[string]*classify.Tensor{"x": xv}, loadConfig{fuse: true})
	bias := randTensor(1, 2).Float32s()
	wantBA := classify.NewTensor(f32, 1, 2, 3, 4)
	for i, v := range xv.Float32s() {
		wantBA.Float32s()[i] = v + bias[i/12]
	}
	if d := maxDiff(got[0], wantBA); d > 1e-6 {
		t.Errorf("BiasAdd NCHW off by %g", d)
	}
	// MaxPool 2x2 SAME, stride 1, per channel plane, computed here.
	wantS := classify.NewTensor(f32, 1, 2, 3, 4)
	w := wantBA.Float32s()
	for c := 0; c < 2; c++ {
		for h := 0; h < 3; h++ {
			for x := 0; x < 4; x++ {
				m := w[c*12+h*4+x]
				for _, d := range [][2]int{{0, 1}, {1, 0}, {1, 1}} {
					if h+d[0] < 3 && x+d[1] < 4 {
						m = max(m, w[c*12+(h+d[0])*4+x+d[1]])
					}
				}
				wantS.Float32s()[c*12+h*4+x] = m + w[c*12+h*4+x]
			}
		}
	}
	if d := maxDiff(got[1], wantS); d > 1e-6 {
		t.Errorf("MaxPool NCHW + BiasAdd off by %g", d)
	}
	wantBN := classify.NewTensor(f32, 1, 2, 3, 4)
	for i, v := range wantS.Float32s() {
		c := i / 12
		wantBN.Float32s()[i] = (v-[]float32{0.5, -1}[c])/[]float32{2, 1}[c]*[]float32{1, 2}[c] + []float32{0, 1}[c]
	}
	if d := maxDiff(got[2], wantBN); d > 1e-5 {
		t.Errorf("FusedBatchNormV3 NCHW off by %g", d)
	}
	if v := got[3].Float32s(); len(v) != 2 || v[0] != 4 || v[1] != 1 {
		t.Errorf("FusedBatchNormV3 output 2 through Identity = %v, want the variance [4 1]", v)
	}
	if v := got[4].Float32s(); len(v) != 2 || v[0] != 0.5 || v[1] != -1 {
		t.Errorf("requested FusedBatchNormV3:1 = %v, want the mean [0.5 -1]", v)
	}

	// BiasAdd NCHW of unknown rank stays NCHW (the layout pass cannot
	// build its transposes) and its kernel adds along dimension 1 at every
	// rank from 2, as TensorFlow's does.
	u := graphdef.New()
	y := u.Placeholder("y", f32, nil)
	bu := u.Op("BiasAdd", "bu", []O{y, u.Const("bu/b", randTensor(1, 2))}, graphdef.Attrs{"data_format": "NCHW", "T": f32})
	m, err := load(context.Background(), u.GraphDef(), classify.OpenOptions{Outputs: []string{string(bu)}}, loadConfig{fuse: true})
	if err != nil {
		t.Fatalf("BiasAdd NCHW of unknown rank: %v", err)
	}
	for _, shape := range []classify.Shape{{1, 2, 3, 4}, {3, 2, 5}, {4, 2}, {2, 2, 1, 2, 3}} {
		yv := randTensor(3, shape...)
		got, err := m.Run(context.Background(), map[string]*classify.Tensor{"y": yv}, []string{string(bu)})
		if err != nil {
			t.Fatalf("BiasAdd NCHW of unknown rank, input %v: %v", shape, err)
		}
		inner := yv.Len() / (shape[0] * 2)
		want := classify.NewTensor(f32, shape...)
		for i, v := range yv.Float32s() {
			want.Float32s()[i] = v + bias[(i/inner)%2]
		}
		if d := maxDiff(got[0], want); d != 0 {
			t.Errorf("BiasAdd NCHW of unknown rank, input %v: off by %g", shape, d)
		}
	}
	if _, err := m.Run(context.Background(), map[string]*classify.Tensor{"y": randTensor(3, 2, 3, 2)}, []string{string(bu)}); !errors.Is(err, classify.ErrInvalidInput) || !strings.Contains(err.Error(), "bu") {
		t.Errorf("BiasAdd NCHW of 3 channels with 2 biases: err %v, want an invalid-input error naming bu", err)
	}
}

// TestNCDHWConv3D: Conv3D with data_format NCDHW (strides and dilations in
// that order) equals the NDHWC graph.
func TestNCDHWConv3D(t *testing.T) {
	f32 := classify.Float32
	w := randTensor(61, 2, 3, 2, 3, 4)
	build := func(first bool) (*graphdef.Builder, string) {
		b := graphdef.New()
		shape, strides, dil, format := classify.Shape{2, 5, 6, 7, 3}, []int{1, 2, 1, 2, 1}, []int{1, 1, 2, 1, 1}, "NDHWC"
		if first {
			shape, strides, dil, format = classify.Shape{2, 3, 5, 6, 7}, []int{1, 1, 2, 1, 2}, []int{1, 1, 1, 2, 1}, "NCDHW"
		}
		x := b.Placeholder("x", f32, shape)
		c := b.Op("Conv3D", "c", []O{x, b.Const("w", w)}, graphdef.Attrs{"T": f32, "padding": "SAME", "strides": strides, "dilations": dil, "data_format": format})
		return b, string(b.Op("Relu", "r", []O{c}, nil))
	}
	xl := randTensor(62, 2, 5, 6, 7, 3)
	ref, out := build(false)
	want := runGraph(t, ref, []string{out}, map[string]*classify.Tensor{"x": xl}, loadConfig{fuse: true})
	g, out := build(true)
	got := runGraph(t, g, []string{out}, map[string]*classify.Tensor{"x": transposeT(xl, 0, 4, 1, 2, 3)}, loadConfig{fuse: true})
	if d := maxDiff(got[0], transposeT(want[0], 0, 4, 1, 2, 3)); d > 1e-5 {
		t.Errorf("NCDHW Conv3D differs from NDHWC by %g", d)
	}
}

// TestNCHWResidual: a residual block written channels-first (the shortcut
// and the branch meet in an Add, then a scalar Mul) keeps one transpose in
// and one out, and equals the NHWC graph.
func TestNCHWResidual(t *testing.T) {
	f32 := classify.Float32
	build := residualNet
	_ = f32
	xh := randTensor(78, 1, 6, 7, 4)
	ref, out := build(false)
	want := runGraph(t, ref, []string{out}, map[string]*classify.Tensor{"x": xh}, loadConfig{fuse: true})
	g, out := build(true)
	m, err := load(context.Background(), g.GraphDef(), classify.OpenOptions{Outputs: []string{out}}, loadConfig{fuse: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Run(context.Background(), map[string]*classify.Tensor{"x": transposeT(xh, 0, 3, 1, 2)}, []string{out})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got[0], transposeT(want[0], 0, 3, 1, 2)); d > 1e-5 {
		t.Errorf("NCHW residual block differs from NHWC by %g", d)
	}
	if ops := m.Info().Ops; ops["Transpose"] != 2 || ops["_FusedConv2D"] != 2 {
		t.Errorf("ops %v: want 2 Transpose (edges only) and 2 _FusedConv2D", ops)
	}
}

func residualNet(nchw bool) (*graphdef.Builder, string) { return residualNetSized(nchw, 4, 0) }

// residualNetSized is residualNet with c channels on a size x size image
// (size 0: 6x7).
func residualNetSized(nchw bool, c, size int) (*graphdef.Builder, string) {
	f32 := classify.Float32
	b := graphdef.New()
	h, w := 6, 7
	if size > 0 {
		h, w = size, size
	}
	format, shape, ones, pool := "NHWC", classify.Shape{1, h, w, c}, []int{1, 1, 1, 1}, []int{1, 2, 2, 1}
	if nchw {
		format, shape, pool = "NCHW", classify.Shape{1, c, h, w}, []int{1, 1, 2, 2}
	}
	x := b.Placeholder("x", f32, shape)
	convAt := graphdef.Attrs{"strides": ones, "padding": "SAME", "data_format": format, "T": f32}
	c1 := b.Op("Conv2D", "c1", []O{x, b.Const("c1/w", randTensor(71, 3, 3, c, c))}, convAt)
	r1 := b.Op("Relu", "r1", []O{b.Op("BiasAdd", "b1", []O{c1, b.Const("b1/b", randTensor(72, c))}, graphdef.Attrs{"data_format": format, "T": f32})}, nil)
	c2 := b.Op("Conv2D", "c2", []O{r1, b.Const("c2/w", randTensor(73, 3, 3, c, c))}, convAt)
	bn := b.Op("FusedBatchNormV3", "bn", []O{c2,
		b.Const("bn/gamma", randTensor(74, c)), b.Const("bn/beta", randTensor(75, c)),
		b.Const("bn/mean", randTensor(76, c)), b.Const("bn/var", absTensor(randTensor(77, c)))},
		graphdef.Attrs{"is_training": false, "epsilon": float32(0.001), "T": f32, "U": f32, "data_format": format})
	sum := b.Op("AddV2", "sum", []O{bn, r1}, nil)
	half := b.Op("Mul", "half", []O{sum, b.ConstF32("k", []float32{0.5})}, nil)
	p := b.Op("MaxPool", "pool", []O{b.Op("Relu", "r2", []O{half}, nil)}, graphdef.Attrs{"ksize": pool, "strides": pool, "padding": "VALID", "data_format": format, "T": f32})
	return b, string(p)
}

// BenchmarkLayout runs the residual block on 28x28x32 in both layouts; compare the two sub-benchmarks of one run only.
func BenchmarkLayout(b *testing.B) {
	for _, nchw := range []bool{false, true} {
		name := "NHWC"
		if nchw {
			name = "NCHW"
		}
		b.Run(name, func(b *testing.B) {
			g, out := residualNetSized(nchw, 32, 28)
			m, err := load(context.Background(), g.GraphDef(), classify.OpenOptions{Outputs: []string{out}, Threads: 1}, loadConfig{fuse: true})
			if err != nil {
				b.Fatal(err)
			}
			shape := classify.Shape{1, 28, 28, 32}
			if nchw {
				shape = classify.Shape{1, 32, 28, 28}
			}
			feeds := map[string]*classify.Tensor{"x": randTensor(1, shape...)}
			b.ResetTimer()
			for range b.N {
				if _, err := m.Run(context.Background(), feeds, []string{out}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
