package ops

import (
	"fmt"
	"testing"
)

// BenchmarkMobileNetV2Layers times the layer shapes of MobileNet v2 1.0
// (224) at batch 1, one of each distinct kind (cmd/benchgraph's graph):
// where the network's time goes, layer type by layer type.
func BenchmarkMobileNetV2Layers(b *testing.B) {
	relu6 := []string{"BiasAdd", "Relu6"}
	lin := []string{"BiasAdd"}
	type layer struct {
		name   string
		op     string
		x, f   []int
		stride int
		fused  []string
	}
	cases := []layer{
		{"conv1_224x224x3_s2", "_FusedConv2D", []int{1, 224, 224, 3}, []int{3, 3, 3, 32}, 2, relu6},
		{"dw0_112x112x32", "_FusedDepthwiseConv2dNative", []int{1, 112, 112, 32}, []int{3, 3, 32, 1}, 1, relu6},
		{"proj0_112x112_32to16", "_FusedConv2D", []int{1, 112, 112, 32}, []int{1, 1, 32, 16}, 1, lin},
		{"exp1_112x112_16to96", "_FusedConv2D", []int{1, 112, 112, 16}, []int{1, 1, 16, 96}, 1, relu6},
		{"dw1_112x112x96_s2", "_FusedDepthwiseConv2dNative", []int{1, 112, 112, 96}, []int{3, 3, 96, 1}, 2, relu6},
		{"proj1_56x56_96to24", "_FusedConv2D", []int{1, 56, 56, 96}, []int{1, 1, 96, 24}, 1, lin},
		{"exp2_56x56_24to144", "_FusedConv2D", []int{1, 56, 56, 24}, []int{1, 1, 24, 144}, 1, relu6},
		{"dw2_56x56x144", "_FusedDepthwiseConv2dNative", []int{1, 56, 56, 144}, []int{3, 3, 144, 1}, 1, relu6},
		{"proj2_56x56_144to24", "_FusedConv2D", []int{1, 56, 56, 144}, []int{1, 1, 144, 24}, 1, lin},
		{"dw3_56x56x144_s2", "_FusedDepthwiseConv2dNative", []int{1, 56, 56, 144}, []int{3, 3, 144, 1}, 2, relu6},
		{"exp4_28x28_32to192", "_FusedConv2D", []int{1, 28, 28, 32}, []int{1, 1, 32, 192}, 1, relu6},
		{"dw4_28x28x192", "_FusedDepthwiseConv2dNative", []int{1, 28, 28, 192}, []int{3, 3, 192, 1}, 1, relu6},
		{"proj4_28x28_192to32", "_FusedConv2D", []int{1, 28, 28, 192}, []int{1, 1, 192, 32}, 1, lin},
		{"exp7_14x14_64to384", "_FusedConv2D", []int{1, 14, 14, 64}, []int{1, 1, 64, 384}, 1, relu6},
		{"dw7_14x14x384", "_FusedDepthwiseConv2dNative", []int{1, 14, 14, 384}, []int{3, 3, 384, 1}, 1, relu6},
		{"proj7_14x14_384to64", "_FusedConv2D", []int{1, 14, 14, 384}, []int{1, 1, 384, 64}, 1, lin},
		{"exp11_14x14_96to576", "_FusedConv2D", []int{1, 14, 14, 96}, []int{1, 1, 96, 576}, 1, relu6},
		{"proj11_14x14_576to96", "_FusedConv2D", []int{1, 14, 14, 576}, []int{1, 1, 576, 96}, 1, lin},
		{"exp14_7x7_160to960", "_FusedConv2D", []int{1, 7, 7, 160}, []int{1, 1, 160, 960}, 1, relu6},
		{"dw14_7x7x960", "_FusedDepthwiseConv2dNative", []int{1, 7, 7, 960}, []int{3, 3, 960, 1}, 1, relu6},
		{"proj14_7x7_960to160", "_FusedConv2D", []int{1, 7, 7, 960}, []int{1, 1, 960, 160}, 1, lin},
		{"proj16_7x7_960to320", "_FusedConv2D", []int{1, 7, 7, 960}, []int{1, 1, 960, 320}, 1, lin},
		{"conv_1_7x7_320to1280", "_FusedConv2D", []int{1, 7, 7, 320}, []int{1, 1, 320, 1280}, 1, relu6},
	}
	for _, c := range cases {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", c.name, threads), func(b *testing.B) {
				benchConv(b, c.op, c.x, c.f, []int{1, c.stride, c.stride, 1}, c.fused, threads)
			})
		}
	}
}
