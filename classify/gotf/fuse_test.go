package gotf

import (
	"context"
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
	"github.com/classifyd/classifyd/internal/graphdef"
)

type O = graphdef.Output

func conv(b *graphdef.Builder, name string, x O, seed uint64, kh, kw, cin, cout, stride int, pad string) O {
	return b.Op("Conv2D", name, []O{x, b.Const(name+"/w", randTensor(seed, kh, kw, cin, cout))},
		graphdef.Attrs{"strides": []int{1, stride, stride, 1}, "padding": pad, "T": classify.Float32})
}

// slimBatchNorm is TF-slim's unfused batch norm: k = gamma*rsqrt(var+eps),
// y = x*k + (beta - mean*k), its constant part folded at load.
func slimBatchNorm(b *graphdef.Builder, name string, x O, c int, seed uint64) O {
	v := b.Const(name+"/var", absTensor(randTensor(seed, c)))
	add := b.Op("Add", name+"/add", []O{v, b.ConstF32(name+"/eps", []float32{0.001})}, nil)
	k := b.Op("Mul", name+"/mul", []O{b.Op("Rsqrt", name+"/Rsqrt", []O{add}, nil), b.Const(name+"/gamma", randTensor(seed+1, c))}, nil)
	shift := b.Op("Sub", name+"/sub", []O{b.Const(name+"/beta", randTensor(seed+2, c)), b.Op("Mul", name+"/mul_2", []O{b.Const(name+"/mean", randTensor(seed+3, c)), k}, nil)}, nil)
	return b.Op("Add", name+"/add_1", []O{b.Op("Mul", name+"/mul_1", []O{x, k}, nil), shift}, nil)
}

func fusedBatchNorm(b *graphdef.Builder, op, name string, x O, c int, seed uint64) O {
	return b.Op(op, name, []O{x,
		b.Const(name+"/gamma", randTensor(seed, c)), b.Const(name+"/beta", randTensor(seed+1, c)),
		b.Const(name+"/mean", randTensor(seed+2, c)), b.Const(name+"/var", absTensor(randTensor(seed+3, c)))},
		graphdef.Attrs{"is_training": false, "epsilon": float32(0.001), "T": classify.Float32})
}

// invResBlock is a Keras MobileNetV2 block: 1x1 expand conv, batch norm,
// Relu6; 3x3 depthwise, batch norm, Relu6; 1x1 project conv, batch norm;
// and the shortcut Add when asked.
func invResBlock(b *graphdef.Builder, name string, x O, cin, ce, cout, stride int, shortcut bool, seed uint64) O {
	e := fusedBatchNorm(b, "FusedBatchNormV3", name+"/expand/bn", conv(b, name+"/expand", x, seed, 1, 1, cin, ce, 1, "SAME"), ce, seed+1)
	e = b.Op("Relu6", name+"/expand/relu6", []O{e}, nil)
	d := b.Op("DepthwiseConv2dNative", name+"/dw", []O{e, b.Const(name+"/dw/w", randTensor(seed+5, 3, 3, ce, 1))},
		graphdef.Attrs{"strides": []int{1, stride, stride, 1}, "padding": "SAME", "T": classify.Float32})
	d = b.Op("Relu6", name+"/dw/relu6", []O{fusedBatchNorm(b, "FusedBatchNormV3", name+"/dw/bn", d, ce, seed+6)}, nil)
	p := fusedBatchNorm(b, "FusedBatchNormV3", name+"/project/bn", conv(b, name+"/project", d, seed+10, 1, 1, ce, cout, 1, "SAME"), cout, seed+11)
	if shortcut {
		p = b.Op("AddV2", name+"/add", []O{x, p}, nil)
	}
	return p
}

func absTensor(t *classify.Tensor) *classify.Tensor {
	for i, v := range t.Float32s() {
		t.Float32s()[i] = max(v, -v) + 0.1
	}
	return t
}

func TestFusion(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      classify.Shape
		build   func(b *graphdef.Builder, x O) []string // returns the outputs
		wantOps map[string]int                          // op counts after fusion (0: must be gone)
	}{
		{"conv slim batchnorm relu6", classify.Shape{1, 7, 9, 3}, func(b *graphdef.Builder, x O) []string {
			y := slimBatchNorm(b, "bn", conv(b, "conv", x, 1, 3, 3, 3, 4, 2, "SAME"), 4, 10)
			return []string{string(b.Op("Relu6", "relu6", []O{y}, nil))}
		}, map[string]int{"_FusedConv2D": 1, "Conv2D": 0, "Mul": 0, "Add": 0, "Relu6": 0, "Rsqrt": 0, "Sub": 0}},
		{"depthwise FusedBatchNormV3 relu", classify.Shape{2, 6, 5, 3}, func(b *graphdef.Builder, x O) []string {
			d := b.Op("DepthwiseConv2dNative", "dw", []O{x, b.Const("dw/w", randTensor(3, 3, 3, 3, 2))},
				graphdef.Attrs{"strides": []int{1, 1, 1, 1}, "padding": "VALID"})
			y := fusedBatchNorm(b, "FusedBatchNormV3", "bn", d, 6, 20)
			return []string{string(b.Op("Relu", "relu", []O{y}, nil))}
		}, map[string]int{"_FusedDepthwiseConv2dNative": 1, "FusedBatchNormV3": 0, "Relu": 0}},
		{"conv biasadd FusedBatchNorm elu", classify.Shape{1, 5, 5, 2}, func(b *graphdef.Builder, x O) []string {
			y := b.Op("BiasAdd", "bias", []O{conv(b, "conv", x, 4, 1, 1, 2, 5, 1, "SAME"), b.Const("bias/b", randTensor(5, 5))}, nil)
			y = fusedBatchNorm(b, "FusedBatchNorm", "bn", y, 5, 30)
			return []string{string(b.Op("Elu", "elu", []O{y}, nil))}
		}, map[string]int{"_FusedConv2D": 1, "BiasAdd": 0, "FusedBatchNorm": 0, "Elu": 0}},
		{"matmul biasadd leakyrelu", classify.Shape{3, 6}, func(b *graphdef.Builder, x O) []string {
			y := b.Op("MatMul", "mm", []O{x, b.Const("mm/w", randTensor(6, 6, 4))}, nil)
			y = b.Op("BiasAdd", "bias", []O{y, b.Const("bias/b", randTensor(7, 4))}, nil)
			return []string{string(b.Op("LeakyRelu", "leaky", []O{y}, graphdef.Attrs{"alpha": float32(0.1)}))}
		}, map[string]int{"_FusedMatMul": 1, "MatMul": 0, "BiasAdd": 0, "LeakyRelu": 0}},
		{"matmul transpose_b, scale first operand, sub", classify.Shape{2, 5}, func(b *graphdef.Builder, x O) []string {
			y := b.Op("MatMul", "mm", []O{x, b.Const("mm/w", randTensor(8, 3, 5))}, graphdef.Attrs{"transpose_b": true})
			y = b.Op("Mul", "scale", []O{b.Const("scale/s", randTensor(9, 1, 3)), y}, nil)
			return []string{string(b.Op("Sub", "shift", []O{y, b.Const("shift/s", randTensor(10, 3))}, nil))}
		}, map[string]int{"_FusedMatMul": 1, "Mul": 0, "Sub": 0}},
		{"scalar scale and AddV2", classify.Shape{1, 4, 4, 2}, func(b *graphdef.Builder, x O) []string {
			y := b.Op("Mul", "scale", []O{conv(b, "conv", x, 11, 2, 2, 2, 3, 1, "VALID"), b.ConstF32("two", []float32{2})}, nil)
			return []string{string(b.Op("AddV2", "add", []O{y, b.Const("add/b", randTensor(12, 1, 1, 1, 3))}, nil))}
		}, map[string]int{"_FusedConv2D": 1, "Mul": 0, "AddV2": 0}},
		{"zero Pad into a VALID conv", classify.Shape{1, 7, 6, 3}, func(b *graphdef.Builder, x O) []string {
			p := b.Op("Pad", "pad", []O{x, b.ConstI32("pad/p", []int32{0, 0, 1, 2, 0, 1, 0, 0}, 4, 2)}, nil)
			y := b.Op("BiasAdd", "bias", []O{conv(b, "conv", p, 20, 3, 3, 3, 4, 2, "VALID"), b.Const("bias/b", randTensor(21, 4))}, nil)
			return []string{string(b.Op("Relu", "relu", []O{y}, nil))}
		}, map[string]int{"Pad": 0, "_FusedConv2D": 1, "Conv2D": 0}},
		{"zero PadV2 into a depthwise conv", classify.Shape{1, 5, 5, 2}, func(b *graphdef.Builder, x O) []string {
			p := b.Op("PadV2", "pad", []O{x, b.ConstI32("pad/p", []int32{0, 0, 1, 1, 1, 1, 0, 0}, 4, 2), b.ConstF32("pad/v", []float32{0})}, nil)
			d := b.Op("DepthwiseConv2dNative", "dw", []O{p, b.Const("dw/w", randTensor(22, 3, 3, 2, 1))},
				graphdef.Attrs{"strides": []int{1, 2, 2, 1}, "padding": "VALID"})
			return []string{string(b.Op("Relu6", "relu6", []O{d}, nil))}
		}, map[string]int{"PadV2": 0, "DepthwiseConv2dNative": 0, "Relu6": 0, "_FusedDepthwiseConv2dNative": 1}},
		{"channel Pad stays", classify.Shape{1, 4, 4, 2}, func(b *graphdef.Builder, x O) []string {
			p := b.Op("Pad", "pad", []O{x, b.ConstI32("pad/p", []int32{0, 0, 1, 1, 1, 1, 0, 1}, 4, 2)}, nil)
			return []string{string(conv(b, "conv", p, 23, 3, 3, 3, 2, 1, "VALID"))}
		}, map[string]int{"Pad": 1, "Conv2D": 1}},
		{"requested intermediate stops the chain", classify.Shape{1, 4, 4, 2}, func(b *graphdef.Builder, x O) []string {
			m := b.Op("Mul", "scale", []O{conv(b, "conv", x, 13, 3, 3, 2, 3, 1, "SAME"), b.Const("s", randTensor(14, 3))}, nil)
			a := b.Op("Add", "add", []O{m, b.Const("add/b", randTensor(15, 3))}, nil)
			return []string{string(m), string(a)}
		}, map[string]int{"_FusedConv2D": 1, "Mul": 0, "Add": 1}},
		{"residual: 1x1 conv, FusedBatchNormV3, AddV2, Relu", classify.Shape{2, 6, 5, 4}, func(b *graphdef.Builder, x O) []string {
			y := fusedBatchNorm(b, "FusedBatchNormV3", "bn", conv(b, "conv", x, 24, 1, 1, 4, 4, 1, "SAME"), 4, 40)
			return []string{string(b.Op("Relu", "relu", []O{b.Op("AddV2", "add", []O{x, y}, nil)}, nil))}
		}, map[string]int{"_FusedConv2D": 1, "FusedBatchNormV3": 0, "AddV2": 0, "Relu": 0}},
		{"residual: 3x3 conv, BiasAdd, Add, no activation", classify.Shape{1, 6, 6, 3}, func(b *graphdef.Builder, x O) []string {
			y := b.Op("BiasAdd", "bias", []O{conv(b, "conv", x, 25, 3, 3, 3, 3, 1, "SAME"), b.Const("bias/b", randTensor(26, 3))}, nil)
			return []string{string(b.Op("Add", "add", []O{y, x}, nil))}
		}, map[string]int{"_FusedConv2D": 1, "BiasAdd": 0, "Add": 0}},
		{"residual: broadcast addend, Relu6", classify.Shape{2, 4, 4, 3}, func(b *graphdef.Builder, x O) []string {
			m := b.Op("Mean", "mean", []O{x, b.ConstI32("mean/axes", []int32{1, 2}, 2)}, graphdef.Attrs{"keep_dims": true})
			y := b.Op("BiasAdd", "bias", []O{conv(b, "conv", x, 27, 1, 1, 3, 3, 1, "SAME"), b.Const("bias/b", randTensor(28, 3))}, nil)
			return []string{string(b.Op("Relu6", "relu6", []O{b.Op("AddV2", "add", []O{y, m}, nil)}, nil))}
		}, map[string]int{"_FusedConv2D": 1, "AddV2": 0, "Relu6": 0}},
		{"residual: 1x1 conv, LeakyRelu", classify.Shape{3, 5, 5, 6}, func(b *graphdef.Builder, x O) []string {
			y := b.Op("BiasAdd", "bias", []O{conv(b, "conv", x, 29, 1, 1, 6, 6, 1, "VALID"), b.Const("bias/b", randTensor(30, 6))}, nil)
			return []string{string(b.Op("LeakyRelu", "leaky", []O{b.Op("AddV2", "add", []O{y, x}, nil)}, graphdef.Attrs{"alpha": float32(0.2)}))}
		}, map[string]int{"_FusedConv2D": 1, "AddV2": 0, "LeakyRelu": 0}},
		{"inverted residual with shortcut (MobileNet v2)", classify.Shape{2, 20, 18, 8}, func(b *graphdef.Builder, x O) []string {
			return []string{string(invResBlock(b, "block", x, 8, 48, 8, 1, true, 50))}
		}, map[string]int{ops.InvertedResidual: 1, "_FusedConv2D": 0, "_FusedDepthwiseConv2dNative": 0, "AddV2": 0}},
		{"two inverted residuals, stride 2, in bands", classify.Shape{1, 65, 80, 16}, func(b *graphdef.Builder, x O) []string {
			y := invResBlock(b, "b1", x, 16, 96, 24, 2, false, 60)
			return []string{string(invResBlock(b, "b2", y, 24, 144, 24, 1, true, 70))}
		}, map[string]int{ops.InvertedResidual: 2}},
		{"inverted residual: requested depthwise output stops it", classify.Shape{1, 8, 8, 4}, func(b *graphdef.Builder, x O) []string {
			y := invResBlock(b, "block", x, 4, 24, 4, 1, false, 80)
			return []string{string(y), "block/dw/relu6"}
		}, map[string]int{ops.InvertedResidual: 0, "_FusedConv2D": 2, "_FusedDepthwiseConv2dNative": 1}},
		{"two consumers: no fusion", classify.Shape{1, 4, 4, 2}, func(b *graphdef.Builder, x O) []string {
			cv := conv(b, "conv", x, 16, 1, 1, 2, 3, 1, "SAME")
			a := b.Op("BiasAdd", "bias", []O{cv, b.Const("b", randTensor(17, 3))}, nil)
			r := b.Op("Relu", "relu", []O{cv}, nil)
			return []string{string(b.Op("Add", "sum", []O{a, r}, nil))}
		}, map[string]int{"_FusedConv2D": 0, "Conv2D": 1, "BiasAdd": 1, "Relu": 1}},
		{"spatial scale: no fusion", classify.Shape{1, 4, 4, 2}, func(b *graphdef.Builder, x O) []string {
			cv := conv(b, "conv", x, 18, 1, 1, 2, 3, 1, "SAME")
			return []string{string(b.Op("Mul", "scale", []O{cv, b.Const("s", randTensor(19, 1, 4, 4, 3))}, nil))}
		}, map[string]int{"_FusedConv2D": 0, "Conv2D": 1, "Mul": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := graphdef.New()
			outs := c.build(b, b.Placeholder("x", classify.Float32, c.in))
			opts := classify.OpenOptions{Outputs: outs}
			fused, err := load(context.Background(), b.GraphDef(), opts, loadConfig{fuse: true})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := load(context.Background(), b.GraphDef(), opts, loadConfig{fuse: false})
			if err != nil {
				t.Fatal(err)
			}
			ops := fused.Info().Ops
			for op, n := range c.wantOps {
				if ops[op] != n {
					t.Errorf("%d %s nodes after fusion, want %d (ops %v)", ops[op], op, n, ops)
				}
			}
			feeds := map[string]*classify.Tensor{"x": randTensor(99, c.in...)}
			want, err := plain.Run(context.Background(), feeds, outs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fused.Run(context.Background(), feeds, outs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range outs {
				// Relative to the output's scale: random weights and
				// batch norms make values of a few hundred after two
				// blocks, and fusion changes rounding.
				scale := 1.0
				for _, v := range want[i].Float32s() {
					scale = max(scale, math.Abs(float64(v)))
				}
				if d := maxDiff(got[i], want[i]); d > 1e-5*scale {
					t.Errorf("output %s: fused differs from unfused by %g (values up to %g)", outs[i], d, scale)
				}
			}
		})
	}
}

// TestFuseAddPrefersPointwise: when both inputs of a residual Add are
// convolutions (ResNet's projection shortcut, a strided 1x1), the Add goes
// to the 1x1 stride-1 one, whose residual the GEMM adds in its write-back,
// even when the strided one comes first in the graph.
func TestFuseAddPrefersPointwise(t *testing.T) {
	b := graphdef.New()
	x := b.Placeholder("x", classify.Float32, classify.Shape{1, 6, 6, 4})
	bias := func(name string, y O, seed uint64, c int) O {
		return b.Op("BiasAdd", name, []O{y, b.Const(name+"/b", randTensor(seed, c))}, nil)
	}
	short := bias("short", conv(b, "short/conv", x, 41, 1, 1, 4, 8, 2, "SAME"), 42, 8)
	mid := bias("mid", conv(b, "mid/conv", x, 43, 1, 1, 4, 4, 2, "SAME"), 44, 4)
	main := bias("main", conv(b, "main/conv", mid, 45, 1, 1, 4, 8, 1, "SAME"), 46, 8)
	out := string(b.Op("Relu", "relu", []O{b.Op("AddV2", "add", []O{short, main}, nil)}, nil))
	opts := classify.OpenOptions{Outputs: []string{out}}
	fused, err := load(context.Background(), b.GraphDef(), opts, loadConfig{fuse: true})
	if err != nil {
		t.Fatal(err)
	}
	var withAdd []int
	for _, s := range fused.steps {
		if s.op == "_FusedConv2D" && len(s.in) == 4 {
			withAdd = append(withAdd, s.in[0])
		}
	}
	if len(withAdd) != 1 || withAdd[0] != fused.values["mid"] {
		t.Fatalf("convolutions with the Add read slots %v, want only the pointwise one reading %q (slot %d)", withAdd, "mid", fused.values["mid"])
	}
	plain, err := load(context.Background(), b.GraphDef(), opts, loadConfig{fuse: false})
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]*classify.Tensor{"x": randTensor(99, 1, 6, 6, 4)}
	want, err := plain.Run(context.Background(), feeds, opts.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fused.Run(context.Background(), feeds, opts.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got[0], want[0]); d > 1e-5 {
		t.Errorf("fused differs from unfused by %g", d)
	}
}
