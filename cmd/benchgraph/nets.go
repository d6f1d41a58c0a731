package main

// The real-size networks of record (issue 10): ResNet-50 v1, Inception v3
// and MobileNet v2 1.0, with the layer structure of the Keras applications
// and the node pattern TF-slim/Keras freeze them to: Conv2D without bias,
// FusedBatchNormV3 (inference), Relu or Relu6; DepthwiseConv2dNative;
// residual AddV2; ConcatV2 of towers; MaxPool/AvgPool; a global Mean, a
// MatMul + BiasAdd classifier named "logits" and a Softmax named "output".
// Weights are random (seeded), scaled so the activations keep a stable
// magnitude through the depth and the logits spread over a few units.

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// Net is one benchmark network: its name (the file stem), input side and a
// builder for a given batch.
type Net struct {
	Name  string
	Size  int // input height and width; 3 channels
	Build func(batch int) *graphdef.Builder
}

// Nets are the real-size networks benchgraph writes.
var Nets = []Net{
	{"resnet50", 224, ResNet50},
	{"inception_v3", 299, InceptionV3},
	{"mobilenet_v2", 224, MobileNetV2},
}

// NetInput is the deterministic input of a network at a batch, uniform in
// [-1, 1) as the Keras preprocessors scale images.
func NetInput(n Net, batch int) *classify.Tensor {
	return uniform(rand.New(rand.NewPCG(11, uint64(batch))), -1, 1, batch, n.Size, n.Size, 3)
}

// netBuilder adds layers with weights from one seeded generator.
type netBuilder struct {
	b *graphdef.Builder
	r *rand.Rand
}

// WeightSeed varies the real-size networks' weights (benchgraph -seed):
// 0, the default, gives the weights every figure in the README was
// measured on; any other value gives weights neither the tests nor the
// tuning have seen, with the same layers.
var WeightSeed uint64

func newNet(seed uint64, batch, size int) (*netBuilder, graphdef.Output) {
	nb := &netBuilder{b: graphdef.New(), r: rand.New(rand.NewPCG(seed, 2026^WeightSeed))}
	x := nb.b.Placeholder("input", classify.Float32, classify.Shape{batch, size, size, 3})
	return nb, x
}

// he is a He-uniform filter for fanIn inputs per output.
func (nb *netBuilder) he(fanIn int, shape ...int) *classify.Tensor {
	l := float32(math.Sqrt(6 / float64(fanIn)))
	return uniform(nb.r, -l, l, shape...)
}

// bn adds an inference FusedBatchNormV3 over c channels; gamma scales
// around g (a residual branch's last norm is damped so sums stay bounded).
func (nb *netBuilder) bn(x graphdef.Output, name string, c int, g float32) graphdef.Output {
	b := nb.b
	return b.Op("FusedBatchNormV3", name+"/FusedBatchNormV3", []graphdef.Output{x,
		b.Const(name+"/gamma", uniform(nb.r, 0.8*g, 1.2*g, c)),
		b.Const(name+"/beta", uniform(nb.r, -0.1, 0.1, c)),
		b.Const(name+"/moving_mean", uniform(nb.r, -0.1, 0.1, c)),
		b.Const(name+"/moving_variance", uniform(nb.r, 0.8, 1.2, c)),
	}, graphdef.Attrs{"T": classify.Float32, "U": classify.Float32, "epsilon": float32(1e-3), "is_training": false, "data_format": "NHWC"})
}

func (nb *netBuilder) act(x graphdef.Output, name, act string) graphdef.Output {
	if act == "" {
		return x
	}
	return nb.b.Op(act, name+"/"+act, []graphdef.Output{x}, graphdef.Attrs{"T": classify.Float32})
}

// conv is Conv2D kh x kw, cin → cout, + batch norm + act ("" for linear).
func (nb *netBuilder) conv(x graphdef.Output, name string, kh, kw, cin, cout, stride int, pad, act string, g float32) graphdef.Output {
	w := nb.b.Const(name+"/kernel", nb.he(kh*kw*cin, kh, kw, cin, cout))
	y := nb.b.Op("Conv2D", name+"/Conv2D", []graphdef.Output{x, w}, graphdef.Attrs{"T": classify.Float32,
		"strides": []int{1, stride, stride, 1}, "padding": pad, "data_format": "NHWC", "dilations": []int{1, 1, 1, 1}})
	return nb.act(nb.bn(y, name+"/bn", cout, g), name, act)
}

// dw is a 3x3 DepthwiseConv2dNative over c channels + batch norm + act.
func (nb *netBuilder) dw(x graphdef.Output, name string, c, stride int, act string) graphdef.Output {
	w := nb.b.Const(name+"/depthwise_kernel", nb.he(9, 3, 3, c, 1))
	y := nb.b.Op("DepthwiseConv2dNative", name+"/depthwise", []graphdef.Output{x, w}, graphdef.Attrs{"T": classify.Float32,
		"strides": []int{1, stride, stride, 1}, "padding": "SAME", "data_format": "NHWC", "dilations": []int{1, 1, 1, 1}})
	return nb.act(nb.bn(y, name+"/bn", c, 1), name, act)
}

func (nb *netBuilder) pool(op string, x graphdef.Output, name string, k, stride int, pad string) graphdef.Output {
	return nb.b.Op(op, name, []graphdef.Output{x}, graphdef.Attrs{"T": classify.Float32,
		"ksize": []int{1, k, k, 1}, "strides": []int{1, stride, stride, 1}, "padding": pad, "data_format": "NHWC"})
}

func (nb *netBuilder) add(name string, a, b graphdef.Output) graphdef.Output {
	return nb.b.Op("AddV2", name, []graphdef.Output{a, b}, graphdef.Attrs{"T": classify.Float32})
}

func (nb *netBuilder) concat(name string, xs ...graphdef.Output) graphdef.Output {
	in := append(xs, nb.b.ConstI32(name+"/axis", []int32{3}))
	return nb.b.Op("ConcatV2", name, in, graphdef.Attrs{"T": classify.Float32, "N": len(xs), "Tidx": classify.Int32})
}

// head is global average pooling (Mean over H and W, as Keras freezes
// GlobalAveragePooling2D), a 1000-way classifier and its softmax.
func (nb *netBuilder) head(x graphdef.Output, c int) *graphdef.Builder {
	b := nb.b
	x = b.Op("Mean", "avg_pool/Mean", []graphdef.Output{x, b.ConstI32("avg_pool/reduction_indices", []int32{1, 2}, 2)},
		graphdef.Attrs{"T": classify.Float32, "Tidx": classify.Int32, "keep_dims": false})
	// Features are O(1) and mostly positive: a fan-in-scaled uniform
	// matrix gives logits of a few units, so the softmax is not one-hot.
	l := float32(math.Sqrt(3 / float64(c)))
	x = b.Op("MatMul", "predictions/MatMul", []graphdef.Output{x, b.Const("predictions/kernel", uniform(nb.r, -l, l, c, 1000))},
		graphdef.Attrs{"T": classify.Float32, "transpose_a": false, "transpose_b": false})
	x = b.Op("BiasAdd", "logits", []graphdef.Output{x, b.Const("predictions/bias", uniform(nb.r, -0.1, 0.1, 1000))},
		graphdef.Attrs{"T": classify.Float32, "data_format": "NHWC"})
	b.Op("Softmax", "output", []graphdef.Output{x}, graphdef.Attrs{"T": classify.Float32})
	return b
}

// ResNet50 is ResNet-50 v1 at 224x224 (Keras ResNet50: the stride in each
// stage's first 1x1 convolution, projection shortcuts, 7x7 stem after an
// explicit Pad).
func ResNet50(batch int) *graphdef.Builder {
	nb, x := newNet(50, batch, 224)
	b := nb.b
	x = b.Op("Pad", "conv1_pad/Pad", []graphdef.Output{x, b.ConstI32("conv1_pad/paddings", []int32{0, 0, 3, 3, 3, 3, 0, 0}, 4, 2)},
		graphdef.Attrs{"T": classify.Float32, "Tpaddings": classify.Int32})
	x = nb.conv(x, "conv1", 7, 7, 3, 64, 2, "VALID", "Relu", 1)
	x = nb.pool("MaxPool", x, "pool1/MaxPool", 3, 2, "SAME")
	cin := 64
	for s, blocks := range []int{3, 4, 6, 3} {
		width := 64 << s
		for i := 0; i < blocks; i++ {
			name := fmt.Sprintf("conv%d_block%d", s+2, i+1)
			stride := 1
			if i == 0 && s > 0 {
				stride = 2
			}
			short := x
			if i == 0 {
				short = nb.conv(x, name+"_0", 1, 1, cin, 4*width, stride, "VALID", "", 0.5)
			}
			y := nb.conv(x, name+"_1", 1, 1, cin, width, stride, "VALID", "Relu", 1)
			y = nb.conv(y, name+"_2", 3, 3, width, width, 1, "SAME", "Relu", 1)
			y = nb.conv(y, name+"_3", 1, 1, width, 4*width, 1, "VALID", "", 0.3)
			x = nb.act(nb.add(name+"_add", short, y), name+"_out", "Relu")
			cin = 4 * width
		}
	}
	return nb.head(x, cin)
}

// InceptionV3 is Inception v3 at 299x299 (Keras InceptionV3 layout, towers
// joined by ConcatV2).
func InceptionV3(batch int) *graphdef.Builder {
	nb, x := newNet(3, batch, 299)
	cb := func(x graphdef.Output, name string, kh, kw, cin, cout, stride int, pad string) graphdef.Output {
		return nb.conv(x, name, kh, kw, cin, cout, stride, pad, "Relu", 1)
	}
	x = cb(x, "stem1", 3, 3, 3, 32, 2, "VALID")
	x = cb(x, "stem2", 3, 3, 32, 32, 1, "VALID")
	x = cb(x, "stem3", 3, 3, 32, 64, 1, "SAME")
	x = nb.pool("MaxPool", x, "stem_pool1", 3, 2, "VALID")
	x = cb(x, "stem4", 1, 1, 64, 80, 1, "VALID")
	x = cb(x, "stem5", 3, 3, 80, 192, 1, "VALID")
	x = nb.pool("MaxPool", x, "stem_pool2", 3, 2, "VALID")
	cin := 192
	// mixed0-2, 35x35.
	for i, pool := range []int{32, 64, 64} {
		n := fmt.Sprintf("mixed%d", i)
		b1 := cb(x, n+"/b1x1", 1, 1, cin, 64, 1, "SAME")
		b5 := cb(x, n+"/b5x5_1", 1, 1, cin, 48, 1, "SAME")
		b5 = cb(b5, n+"/b5x5_2", 5, 5, 48, 64, 1, "SAME")
		bd := cb(x, n+"/b3x3dbl_1", 1, 1, cin, 64, 1, "SAME")
		bd = cb(bd, n+"/b3x3dbl_2", 3, 3, 64, 96, 1, "SAME")
		bd = cb(bd, n+"/b3x3dbl_3", 3, 3, 96, 96, 1, "SAME")
		bp := nb.pool("AvgPool", x, n+"/pool", 3, 1, "SAME")
		bp = cb(bp, n+"/bpool", 1, 1, cin, pool, 1, "SAME")
		x = nb.concat(n, b1, b5, bd, bp)
		cin = 64 + 64 + 96 + pool
	}
	// mixed3: 35 → 17.
	b3 := cb(x, "mixed3/b3x3", 3, 3, cin, 384, 2, "VALID")
	bd := cb(x, "mixed3/b3x3dbl_1", 1, 1, cin, 64, 1, "SAME")
	bd = cb(bd, "mixed3/b3x3dbl_2", 3, 3, 64, 96, 1, "SAME")
	bd = cb(bd, "mixed3/b3x3dbl_3", 3, 3, 96, 96, 2, "VALID")
	bp := nb.pool("MaxPool", x, "mixed3/pool", 3, 2, "VALID")
	x = nb.concat("mixed3", b3, bd, bp)
	cin = 384 + 96 + cin
	// mixed4-7, 17x17, factorised 7x7.
	for i, c := range []int{128, 160, 160, 192} {
		n := fmt.Sprintf("mixed%d", i+4)
		b1 := cb(x, n+"/b1x1", 1, 1, cin, 192, 1, "SAME")
		b7 := cb(x, n+"/b7x7_1", 1, 1, cin, c, 1, "SAME")
		b7 = cb(b7, n+"/b7x7_2", 1, 7, c, c, 1, "SAME")
		b7 = cb(b7, n+"/b7x7_3", 7, 1, c, 192, 1, "SAME")
		bd := cb(x, n+"/b7x7dbl_1", 1, 1, cin, c, 1, "SAME")
		bd = cb(bd, n+"/b7x7dbl_2", 7, 1, c, c, 1, "SAME")
		bd = cb(bd, n+"/b7x7dbl_3", 1, 7, c, c, 1, "SAME")
		bd = cb(bd, n+"/b7x7dbl_4", 7, 1, c, c, 1, "SAME")
		bd = cb(bd, n+"/b7x7dbl_5", 1, 7, c, 192, 1, "SAME")
		bp := nb.pool("AvgPool", x, n+"/pool", 3, 1, "SAME")
		bp = cb(bp, n+"/bpool", 1, 1, cin, 192, 1, "SAME")
		x = nb.concat(n, b1, b7, bd, bp)
		cin = 768
	}
	// mixed8: 17 → 8.
	b3 = cb(x, "mixed8/b3x3_1", 1, 1, cin, 192, 1, "SAME")
	b3 = cb(b3, "mixed8/b3x3_2", 3, 3, 192, 320, 2, "VALID")
	b7 := cb(x, "mixed8/b7x7x3_1", 1, 1, cin, 192, 1, "SAME")
	b7 = cb(b7, "mixed8/b7x7x3_2", 1, 7, 192, 192, 1, "SAME")
	b7 = cb(b7, "mixed8/b7x7x3_3", 7, 1, 192, 192, 1, "SAME")
	b7 = cb(b7, "mixed8/b7x7x3_4", 3, 3, 192, 192, 2, "VALID")
	bp = nb.pool("MaxPool", x, "mixed8/pool", 3, 2, "VALID")
	x = nb.concat("mixed8", b3, b7, bp)
	cin = 320 + 192 + cin
	// mixed9-10, 8x8, expanded filter banks.
	for i := 0; i < 2; i++ {
		n := fmt.Sprintf("mixed%d", i+9)
		b1 := cb(x, n+"/b1x1", 1, 1, cin, 320, 1, "SAME")
		b3 := cb(x, n+"/b3x3_1", 1, 1, cin, 384, 1, "SAME")
		b3 = nb.concat(n+"/b3x3", cb(b3, n+"/b3x3_2a", 1, 3, 384, 384, 1, "SAME"), cb(b3, n+"/b3x3_2b", 3, 1, 384, 384, 1, "SAME"))
		bd := cb(x, n+"/b3x3dbl_1", 1, 1, cin, 448, 1, "SAME")
		bd = cb(bd, n+"/b3x3dbl_2", 3, 3, 448, 384, 1, "SAME")
		bd = nb.concat(n+"/b3x3dbl", cb(bd, n+"/b3x3dbl_3a", 1, 3, 384, 384, 1, "SAME"), cb(bd, n+"/b3x3dbl_3b", 3, 1, 384, 384, 1, "SAME"))
		bp := nb.pool("AvgPool", x, n+"/pool", 3, 1, "SAME")
		bp = cb(bp, n+"/bpool", 1, 1, cin, 192, 1, "SAME")
		x = nb.concat(n, b1, b3, bd, bp)
		cin = 320 + 768 + 768 + 192
	}
	return nb.head(x, cin)
}

// MobileNetV2 is MobileNet v2 1.0 at 224x224: inverted residual blocks
// (1x1 expand + Relu6, 3x3 depthwise + Relu6, linear 1x1 projection, AddV2
// when the shapes match).
func MobileNetV2(batch int) *graphdef.Builder {
	nb, x := newNet(2, batch, 224)
	x = nb.conv(x, "Conv1", 3, 3, 3, 32, 2, "SAME", "Relu6", 1)
	cin, block := 32, 0
	for _, s := range []struct{ t, c, n, s int }{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}} {
		for i := 0; i < s.n; i++ {
			name := fmt.Sprintf("block_%d", block)
			block++
			stride := s.s
			if i > 0 {
				stride = 1
			}
			y, mid := x, cin*s.t
			if s.t != 1 {
				y = nb.conv(y, name+"_expand", 1, 1, cin, mid, 1, "SAME", "Relu6", 1)
			}
			y = nb.dw(y, name+"_depthwise", mid, stride, "Relu6")
			g := float32(1)
			if stride == 1 && cin == s.c {
				g = 0.3
			}
			y = nb.conv(y, name+"_project", 1, 1, mid, s.c, 1, "SAME", "", g)
			if stride == 1 && cin == s.c {
				y = nb.add(name+"_add", x, y)
			}
			x, cin = y, s.c
		}
	}
	x = nb.conv(x, "Conv_1", 1, 1, cin, 1280, 1, "SAME", "Relu6", 1)
	return nb.head(x, 1280)
}
