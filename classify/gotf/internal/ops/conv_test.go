package ops

import (
	"errors"
	"fmt"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// convSpec describes one convolution golden case.
type convSpec struct {
	name        string
	op          string // Conv2D, DepthwiseConv2dNative or a fused form
	x, f        []int  // input and filter shapes
	strides     []int  // [1, sh, sw, 1]; nil means 1
	dilations   []int  // nil means 1
	padding     string
	explicit    []int // explicit_paddings for EXPLICIT
	fused       []string
	alpha       float32 // leakyrelu_alpha when set
	feedFilter  bool    // filter fed as a Placeholder instead of a Const
	atol, rtol  float64
	seed        uint64
	biasChannel int // bias length (output channels) for fused ops
}

func (s convSpec) golden() goldenCase {
	x := randF32(s.seed, -1, 1, s.x...)
	f := randF32(s.seed+1, -1, 1, s.f...)
	feeds := map[string]*classify.Tensor{"x": x}
	if s.feedFilter {
		feeds["f"] = f
	}
	return goldenCase{
		name: s.name,
		build: func(g *graphdef.Builder) []graphdef.Output {
			in := g.Placeholder("x", classify.Float32, classify.Shape(s.x))
			var filt graphdef.Output
			if s.feedFilter {
				g.ConstF32("oracle_unused", []float32{0})
				filt = g.Placeholder("f", classify.Float32, classify.Shape(s.f))
			} else {
				filt = g.Const("filter", f)
			}
			inputs := []graphdef.Output{in, filt}
			strides := s.strides
			if strides == nil {
				strides = []int{1, 1, 1, 1}
			}
			attrs := graphdef.Attrs{"T": classify.Float32, "strides": strides, "padding": s.padding, "data_format": "NHWC"}
			if s.dilations != nil {
				attrs["dilations"] = s.dilations
			}
			if s.explicit != nil {
				attrs["explicit_paddings"] = s.explicit
			}
			if s.fused != nil {
				inputs = append(inputs, g.Const("bias", randF32(s.seed+2, -1, 1, s.biasChannel)))
				attrs["fused_ops"] = strList(s.fused)
				attrs["num_args"] = 1
				if s.alpha != 0 {
					attrs["leakyrelu_alpha"] = s.alpha
				}
			}
			return []graphdef.Output{g.Op(s.op, "out", inputs, attrs)}
		},
		feeds: feeds,
		atol:  s.atol,
		rtol:  s.rtol,
	}
}

func convCases() []convSpec {
	return []convSpec{
		{name: "conv_same_3x3", op: "Conv2D", x: []int{1, 7, 7, 3}, f: []int{3, 3, 3, 4}, padding: "SAME", seed: 100},
		{name: "conv_valid_stride2_odd", op: "Conv2D", x: []int{1, 9, 7, 5}, f: []int{3, 3, 5, 6}, strides: []int{1, 2, 2, 1}, padding: "VALID", seed: 110},
		{name: "conv_same_stride2_odd_batch2", op: "Conv2D", x: []int{2, 9, 9, 3}, f: []int{3, 3, 3, 8}, strides: []int{1, 2, 2, 1}, padding: "SAME", seed: 120},
		{name: "conv_explicit", op: "Conv2D", x: []int{1, 6, 5, 4}, f: []int{3, 3, 4, 3}, padding: "EXPLICIT", explicit: []int{0, 0, 1, 2, 2, 0, 0, 0}, seed: 130},
		{name: "conv_dilation2", op: "Conv2D", x: []int{1, 10, 10, 3}, f: []int{3, 3, 3, 5}, dilations: []int{1, 2, 2, 1}, padding: "SAME", seed: 140},
		{name: "conv_1x1", op: "Conv2D", x: []int{1, 5, 5, 16}, f: []int{1, 1, 16, 40}, padding: "VALID", seed: 150},
		{name: "conv_1x1_stride2", op: "Conv2D", x: []int{1, 7, 7, 8}, f: []int{1, 1, 8, 16}, strides: []int{1, 2, 2, 1}, padding: "SAME", seed: 160},
		{name: "conv_3x5_stride21", op: "Conv2D", x: []int{1, 8, 9, 3}, f: []int{3, 5, 3, 33}, strides: []int{1, 2, 1, 1}, padding: "SAME", seed: 170},
		{name: "conv_14x14x32_48", op: "Conv2D", x: []int{1, 14, 14, 32}, f: []int{3, 3, 32, 48}, padding: "SAME", seed: 180, atol: 1e-4},
		// Winograd (winograd.go): F(2,3) on a small VALID output, F(4,3)
		// with edge tiles and batch 2, and a fed filter (never Winograd).
		{name: "conv_winograd_f2_valid", op: "Conv2D", x: []int{1, 6, 7, 16}, f: []int{3, 3, 16, 20}, padding: "VALID", seed: 182, atol: 1e-4},
		{name: "fused_conv_winograd_f4_relu6", op: "_FusedConv2D", x: []int{2, 15, 13, 24}, f: []int{3, 3, 24, 40}, padding: "SAME", fused: []string{"BiasAdd", "Relu6"}, biasChannel: 40, seed: 184, atol: 1e-4},
		{name: "conv_winograd_fed_filter", op: "Conv2D", x: []int{1, 9, 9, 16}, f: []int{3, 3, 16, 16}, padding: "SAME", feedFilter: true, seed: 186, atol: 1e-4},
		{name: "conv_fed_filter", op: "Conv2D", x: []int{1, 6, 6, 4}, f: []int{2, 2, 4, 5}, padding: "VALID", feedFilter: true, seed: 190},
		{name: "fused_conv_bias", op: "_FusedConv2D", x: []int{1, 6, 6, 4}, f: []int{3, 3, 4, 7}, padding: "SAME", fused: []string{"BiasAdd"}, biasChannel: 7, seed: 200},
		{name: "fused_conv_relu", op: "_FusedConv2D", x: []int{1, 6, 6, 4}, f: []int{3, 3, 4, 7}, padding: "SAME", fused: []string{"BiasAdd", "Relu"}, biasChannel: 7, seed: 210},
		{name: "fused_conv_relu6", op: "_FusedConv2D", x: []int{1, 9, 9, 8}, f: []int{3, 3, 8, 16}, strides: []int{1, 2, 2, 1}, padding: "SAME", fused: []string{"BiasAdd", "Relu6"}, biasChannel: 16, seed: 220},
		{name: "fused_conv_elu", op: "_FusedConv2D", x: []int{1, 6, 6, 4}, f: []int{3, 3, 4, 7}, padding: "VALID", fused: []string{"BiasAdd", "Elu"}, biasChannel: 7, seed: 230},
		{name: "fused_conv_leakyrelu", op: "_FusedConv2D", x: []int{1, 6, 6, 4}, f: []int{1, 1, 4, 7}, padding: "VALID", fused: []string{"BiasAdd", "LeakyRelu"}, alpha: 0.3, biasChannel: 7, seed: 240},
		{name: "depthwise_same_3x3", op: "DepthwiseConv2dNative", x: []int{1, 7, 7, 8}, f: []int{3, 3, 8, 1}, padding: "SAME", seed: 300},
		{name: "depthwise_stride2_odd", op: "DepthwiseConv2dNative", x: []int{1, 9, 9, 20}, f: []int{3, 3, 20, 1}, strides: []int{1, 2, 2, 1}, padding: "SAME", seed: 310},
		{name: "depthwise_valid_batch2", op: "DepthwiseConv2dNative", x: []int{2, 8, 7, 72}, f: []int{3, 3, 72, 1}, padding: "VALID", seed: 320},
		{name: "depthwise_mult2", op: "DepthwiseConv2dNative", x: []int{1, 6, 6, 3}, f: []int{3, 3, 3, 2}, padding: "SAME", seed: 330},
		{name: "depthwise_dilation2", op: "DepthwiseConv2dNative", x: []int{1, 9, 9, 5}, f: []int{3, 3, 5, 1}, dilations: []int{1, 2, 2, 1}, padding: "SAME", seed: 340},
		{name: "depthwise_3x5_explicit", op: "DepthwiseConv2dNative", x: []int{1, 6, 7, 17}, f: []int{3, 5, 17, 1}, padding: "EXPLICIT", explicit: []int{0, 0, 2, 1, 0, 3, 0, 0}, seed: 350},
		{name: "depthwise_fed_filter", op: "DepthwiseConv2dNative", x: []int{1, 5, 5, 4}, f: []int{3, 3, 4, 1}, padding: "SAME", feedFilter: true, seed: 360},
	}
}

// fusedDepthwiseCases cannot be oracle goldens: TensorFlow.js does not know
// grappler's _FusedDepthwiseConv2dNative. TestFusedDepthwise checks them
// against the oracle-checked DepthwiseConv2dNative plus bias and activation.
func fusedDepthwiseCases() []convSpec {
	return []convSpec{
		{name: "relu6_stride2", op: "_FusedDepthwiseConv2dNative", x: []int{1, 9, 9, 32}, f: []int{3, 3, 32, 1}, strides: []int{1, 2, 2, 1}, padding: "SAME", fused: []string{"BiasAdd", "Relu6"}, biasChannel: 32, seed: 370},
		{name: "relu", op: "_FusedDepthwiseConv2dNative", x: []int{1, 6, 6, 24}, f: []int{3, 3, 24, 1}, padding: "SAME", fused: []string{"BiasAdd", "Relu"}, biasChannel: 24, seed: 380},
		{name: "bias_valid", op: "_FusedDepthwiseConv2dNative", x: []int{2, 7, 6, 19}, f: []int{3, 3, 19, 1}, padding: "VALID", fused: []string{"BiasAdd"}, biasChannel: 19, seed: 390},
		{name: "elu", op: "_FusedDepthwiseConv2dNative", x: []int{1, 6, 6, 80}, f: []int{3, 3, 80, 1}, padding: "SAME", fused: []string{"BiasAdd", "Elu"}, biasChannel: 80, seed: 400},
		{name: "leakyrelu_mult2", op: "_FusedDepthwiseConv2dNative", x: []int{1, 5, 5, 3}, f: []int{3, 3, 3, 2}, padding: "SAME", fused: []string{"BiasAdd", "LeakyRelu"}, alpha: 0.1, biasChannel: 6, seed: 410},
	}
}

// runSpec builds the op of a spec (filter constant) and runs it.
func runSpec(t *testing.T, s convSpec, op string, fused []string) *classify.Tensor {
	t.Helper()
	attrs := map[string]*apb.AttrValue{"strides": graphdef.Attr(s.strides), "padding": graphdef.Attr(s.padding)}
	if s.strides == nil {
		attrs["strides"] = graphdef.Attr([]int{1, 1, 1, 1})
	}
	x, f := randF32(s.seed, -1, 1, s.x...), randF32(s.seed+1, -1, 1, s.f...)
	in := []*classify.Tensor{x, f}
	if fused != nil {
		attrs["fused_ops"] = strList(fused)
		attrs["num_args"] = graphdef.Attr(1)
		if s.alpha != 0 {
			attrs["leakyrelu_alpha"] = graphdef.Attr(s.alpha)
		}
		in = append(in, randF32(s.seed+2, -1, 1, s.biasChannel))
	}
	build, ok := Lookup(op)
	if !ok {
		t.Fatalf("%s not registered", op)
	}
	o, err := build(&Node{Name: s.name, Op: op, NumInputs: len(in), Attr: attrs}, append([]*classify.Tensor{nil}, in[1:]...))
	if err != nil {
		t.Fatal(err)
	}
	out, err := o.Run(&Ctx{Threads: 2}, in)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func TestFusedDepthwise(t *testing.T) {
	for _, s := range fusedDepthwiseCases() {
		t.Run(s.name, func(t *testing.T) {
			got := runSpec(t, s, s.op, s.fused)
			want := runSpec(t, s, "DepthwiseConv2dNative", nil)
			bias := randF32(s.seed+2, -1, 1, s.biasChannel).Float32s()
			w := want.Float32s()
			for i := range w {
				w[i] += bias[i%len(bias)]
			}
			act := map[string]gemm.Act{"Relu": gemm.ActRelu, "Relu6": gemm.ActRelu6, "Elu": gemm.ActElu, "LeakyRelu": gemm.ActLeakyRelu}[s.fused[len(s.fused)-1]]
			activate(w, act, s.alpha)
			if msg := compare(got, want, 1e-5, 1e-5); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestConvGolden(t *testing.T) {
	for _, s := range convCases() {
		t.Run(s.name, func(t *testing.T) { runGolden(t, s.golden()) })
	}
}

// TestConvKernels runs every golden case once per GEMM micro-kernel and
// depthwise kernel this CPU has, so the portable kernels are checked
// against the oracle too.
func TestConvKernels(t *testing.T) {
	for _, gk := range gemm.Kernels() {
		for _, dk := range gemm.DWKernels() {
			t.Run(gk.Name+"_"+dk.Name, func(t *testing.T) {
				restore := setKernels(gk, dk)
				defer restore()
				for _, s := range convCases() {
					t.Run(s.name, func(t *testing.T) { runGolden(t, s.golden()) })
				}
			})
		}
	}
}

func TestConvBuildErrors(t *testing.T) {
	filter := randF32(1, -1, 1, 3, 3, 2, 2)
	cases := []struct {
		name  string
		op    string
		attrs graphdef.Attrs
		want  error
	}{
		{"nchw", "Conv2D", graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "SAME", "data_format": "NCHW"}, classify.ErrUnsupportedOp},
		{"bad strides", "Conv2D", graphdef.Attrs{"strides": []int{2, 1, 1, 1}, "padding": "SAME"}, classify.ErrInvalidGraph},
		{"bad padding", "DepthwiseConv2dNative", graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "FULL"}, classify.ErrInvalidGraph},
		{"short explicit", "Conv2D", graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "EXPLICIT", "explicit_paddings": []int{1, 1}}, classify.ErrInvalidGraph},
		{"fused batchnorm", "_FusedConv2D", graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "SAME", "fused_ops": strList([]string{"FusedBatchNorm"}), "num_args": 4}, classify.ErrUnsupportedOp},
		{"fused sigmoid", "_FusedDepthwiseConv2dNative", graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "SAME", "fused_ops": strList([]string{"BiasAdd", "Sigmoid"}), "num_args": 1}, classify.ErrUnsupportedOp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := &Node{Name: "n", Op: c.op, Attr: map[string]*apb.AttrValue{}}
			for k, v := range c.attrs {
				n.Attr[k] = graphdef.Attr(v)
			}
			consts := []*classify.Tensor{nil, filter}
			if c.op[0] == '_' {
				consts = append(consts, nil)
			}
			n.NumInputs = len(consts)
			b, _ := Lookup(c.op)
			_, err := b(n, consts)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestConvRunErrors(t *testing.T) {
	b, _ := Lookup("Conv2D")
	n := &Node{Name: "c", Op: "Conv2D", NumInputs: 2, Attr: map[string]*apb.AttrValue{
		"strides": graphdef.Attr([]int{1, 1, 1, 1}), "padding": graphdef.Attr("SAME")}}
	op, err := b(n, []*classify.Tensor{nil, randF32(1, -1, 1, 3, 3, 2, 4)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		x    *classify.Tensor
	}{
		{"wrong channels", randF32(2, -1, 1, 1, 5, 5, 3)},
		{"rank 3", randF32(2, -1, 1, 5, 5, 2)},
		{"int32", &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{1, 1, 1, 2}, Data: []int32{1, 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := op.Run(&Ctx{Threads: 1}, []*classify.Tensor{c.x, randF32(1, -1, 1, 3, 3, 2, 4)})
			if !errors.Is(err, classify.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestConvShapesAndFLOPs(t *testing.T) {
	b, _ := Lookup("Conv2D")
	n := &Node{Name: "c", Op: "Conv2D", NumInputs: 2, Attr: map[string]*apb.AttrValue{
		"strides": graphdef.Attr([]int{1, 2, 2, 1}), "padding": graphdef.Attr("SAME")}}
	op, err := b(n, []*classify.Tensor{nil, randF32(1, -1, 1, 3, 3, 3, 8)})
	if err != nil {
		t.Fatal(err)
	}
	info, err := op.(Shaper).OutputInfo([]classify.TensorInfo{{Shape: classify.Shape{-1, 129, 128, 3}}, {}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (classify.Shape{-1, 65, 64, 8}); !info[0].Shape.Equal(want) {
		t.Errorf("shape %v, want %v", info[0].Shape, want)
	}
	if got, want := op.(Flopper).FLOPs([]classify.Shape{{1, 129, 128, 3}, {3, 3, 3, 8}}), int64(2*65*64*8*27); got != want {
		t.Errorf("FLOPs %d, want %d", got, want)
	}
	if _, err := op.(Shaper).OutputInfo([]classify.TensorInfo{{Shape: classify.Shape{1, 9, 9, 4}}, {}}); !errors.Is(err, classify.ErrInvalidGraph) {
		t.Errorf("channel mismatch: err = %v", err)
	}
}

// benchConv measures one convolution op on random data.
func benchConv(b *testing.B, op string, x, f []int, strides []int, fused []string, threads int) {
	attrs := map[string]*apb.AttrValue{
		"strides": graphdef.Attr(strides), "padding": graphdef.Attr("SAME"),
	}
	consts := []*classify.Tensor{nil, randF32(2, -1, 1, f...)}
	oc := f[3]
	if op == "_FusedDepthwiseConv2dNative" {
		oc = f[2] * f[3]
	}
	if fused != nil {
		attrs["fused_ops"] = strList(fused)
		attrs["num_args"] = graphdef.Attr(1)
		consts = append(consts, randF32(3, -1, 1, oc))
	}
	n := &Node{Name: "bench", Op: op, NumInputs: len(consts), Attr: attrs}
	build, _ := Lookup(op)
	o, err := build(n, consts)
	if err != nil {
		b.Fatal(err)
	}
	in := []*classify.Tensor{randF32(1, -1, 1, x...), consts[1]}
	if fused != nil {
		in = append(in, consts[2])
	}
	ctx := &Ctx{Threads: threads, Slots: make([]*classify.Tensor, 1)}
	flops := o.(Flopper).FLOPs([]classify.Shape{x, f})
	// One run first: some filters are transformed on first use (Winograd).
	if _, err := o.Run(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := o.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkConv(b *testing.B) {
	relu := []string{"BiasAdd", "Relu"}
	relu6 := []string{"BiasAdd", "Relu6"}
	cases := []struct {
		name   string
		op     string
		x, f   []int
		stride int
		fused  []string
	}{
		// One layer of the eight-conv stack of cmd/benchgraph.
		{"convstack_56x56x64", "_FusedConv2D", []int{1, 56, 56, 64}, []int{3, 3, 64, 64}, 1, relu},
		// MobileNet v1 0.25/128 layers.
		{"mbnet_conv0_128x128x3", "_FusedConv2D", []int{1, 128, 128, 3}, []int{3, 3, 3, 8}, 2, relu6},
		{"mbnet_pw1_64x64x8", "_FusedConv2D", []int{1, 64, 64, 8}, []int{1, 1, 8, 16}, 1, relu6},
		{"mbnet_pw3_32x32x32", "_FusedConv2D", []int{1, 32, 32, 32}, []int{1, 1, 32, 32}, 1, relu6},
		{"mbnet_pw7_8x8x128", "_FusedConv2D", []int{1, 8, 8, 128}, []int{1, 1, 128, 128}, 1, relu6},
		{"mbnet_pw13_4x4x256", "_FusedConv2D", []int{1, 4, 4, 256}, []int{1, 1, 256, 256}, 1, relu6},
		{"mbnet_dw1_64x64x8", "_FusedDepthwiseConv2dNative", []int{1, 64, 64, 8}, []int{3, 3, 8, 1}, 1, relu6},
		{"mbnet_dw2_64x64x16_s2", "_FusedDepthwiseConv2dNative", []int{1, 64, 64, 16}, []int{3, 3, 16, 1}, 2, relu6},
		{"mbnet_dw4_32x32x32", "_FusedDepthwiseConv2dNative", []int{1, 32, 32, 32}, []int{3, 3, 32, 1}, 1, relu6},
		{"mbnet_dw7_8x8x128", "_FusedDepthwiseConv2dNative", []int{1, 8, 8, 128}, []int{3, 3, 128, 1}, 1, relu6},
	}
	for _, c := range cases {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", c.name, threads), func(b *testing.B) {
				benchConv(b, c.op, c.x, c.f, []int{1, c.stride, c.stride, 1}, c.fused, threads)
			})
		}
	}
}

// setKernels makes builders use the given kernels until restore is called.
func setKernels(g *gemm.Kernel, d *gemm.DWKernel) (restore func()) {
	og, od := gemmKernel, dwKernel
	gemmKernel, dwKernel = g, d
	return func() { gemmKernel, dwKernel = og, od }
}

// strList is a list(string) attribute, which graphdef.Attr does not build.
func strList(s []string) *apb.AttrValue {
	l := &apb.AttrValue_ListValue{}
	for _, v := range s {
		l.S = append(l.S, []byte(v))
	}
	return &apb.AttrValue{Value: &apb.AttrValue_List{List: l}}
}

// TestConvOddShapes runs the convolutions on degenerate shapes: each must
// return a result of the right shape or an ErrInvalidInput, never panic.
func TestConvOddShapes(t *testing.T) {
	cases := []struct {
		name    string
		op      string
		x, f    []int
		padding string
		stride  int
		want    []int // nil: an ErrInvalidInput
	}{
		{"input smaller than window", "Conv2D", []int{1, 2, 2, 3}, []int{3, 3, 3, 4}, "VALID", 1, []int{1, 0, 0, 4}},
		{"empty batch", "Conv2D", []int{0, 5, 5, 3}, []int{3, 3, 3, 4}, "SAME", 1, []int{0, 5, 5, 4}},
		{"zero channels", "Conv2D", []int{1, 4, 4, 0}, []int{3, 3, 0, 5}, "SAME", 2, []int{1, 2, 2, 5}},
		{"zero filters", "Conv2D", []int{1, 4, 4, 3}, []int{3, 3, 3, 0}, "SAME", 1, []int{1, 4, 4, 0}},
		{"empty window", "Conv2D", []int{1, 4, 4, 3}, []int{0, 3, 3, 2}, "SAME", 1, nil},
		{"1x1 input big stride", "Conv2D", []int{1, 1, 1, 5}, []int{1, 1, 5, 3}, "SAME", 3, []int{1, 1, 1, 3}},
		{"dw input smaller than window", "DepthwiseConv2dNative", []int{1, 2, 2, 3}, []int{3, 3, 3, 1}, "VALID", 1, []int{1, 0, 0, 3}},
		{"dw zero channels", "DepthwiseConv2dNative", []int{1, 4, 4, 0}, []int{3, 3, 0, 1}, "SAME", 1, []int{1, 4, 4, 0}},
		{"dw empty window", "DepthwiseConv2dNative", []int{1, 4, 4, 3}, []int{3, 0, 3, 1}, "SAME", 1, nil},
		{"dw 1x1 input", "DepthwiseConv2dNative", []int{1, 1, 1, 20}, []int{3, 3, 20, 1}, "SAME", 2, []int{1, 1, 1, 20}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			build, _ := Lookup(c.op)
			attrs := map[string]*apb.AttrValue{"strides": graphdef.Attr([]int{1, c.stride, c.stride, 1}), "padding": graphdef.Attr(c.padding)}
			f := randF32(2, -1, 1, c.f...)
			for _, constFilter := range []bool{true, false} {
				consts := []*classify.Tensor{nil, nil}
				if constFilter {
					consts[1] = f
				}
				o, err := build(&Node{Name: "odd", Op: c.op, NumInputs: 2, Attr: attrs}, consts)
				if err != nil {
					if c.want == nil && constFilter && errors.Is(err, classify.ErrInvalidGraph) {
						continue
					}
					t.Fatal(err)
				}
				out, err := o.Run(&Ctx{Threads: 2}, []*classify.Tensor{randF32(1, -1, 1, c.x...), f})
				if c.want == nil {
					if !errors.Is(err, classify.ErrInvalidInput) {
						t.Fatalf("err = %v, want ErrInvalidInput", err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if !out[0].Shape.Equal(c.want) {
					t.Fatalf("shape %v, want %v", out[0].Shape, c.want)
				}
				if c.x[3] == 0 {
					// An empty sum: every output is zero.
					for i, v := range out[0].Float32s() {
						if v != 0 {
							t.Fatalf("out[%d] = %v, want 0", i, v)
						}
					}
				}
			}
		})
	}
}
