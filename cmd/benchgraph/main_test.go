package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf"
	"github.com/classifyd/classifyd/internal/npy"
)

func TestWriteDeterministic(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		if err := write(d, []string{"convstack", "mobilenet_v2"}, []int{1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"convstack.pb", "convstack_input.npy", "mobilenet_v2_b1.pb", "mobilenet_v2_b2.pb", "mobilenet_v2_b2_input.npy"} {
		t.Run(f, func(t *testing.T) {
			a, err := os.ReadFile(filepath.Join(dirs[0], f))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dirs[1], f))
			if err != nil {
				t.Fatal(err)
			}
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Fatalf("%s differs between runs (%d vs %d bytes)", f, len(a), len(b))
			}
		})
	}
	in, err := npy.ReadFile(filepath.Join(dirs[0], "convstack_input.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 56, 56, 64}; !in.Shape.Equal(want) {
		t.Errorf("input shape %v, want %v", in.Shape, want)
	}
	in, err = npy.ReadFile(filepath.Join(dirs[0], "mobilenet_v2_b2_input.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 224, 224, 3}; !in.Shape.Equal(want) {
		t.Errorf("mobilenet_v2 batch-2 input shape %v, want %v", in.Shape, want)
	}
	if err := write(t.TempDir(), []string{"vgg16"}, []int{1}); err == nil {
		t.Error("write of an unknown graph succeeded")
	}
}

// TestNets checks each network's architecture: its layer counts, and its
// multiply-adds as the engine counts them against the published figures
// (ResNet-50 3.9 G, Inception v3 5.7 G, MobileNet v2 0.30 G), and that it
// runs to a softmax whose logits are neither constant nor huge.
func TestNets(t *testing.T) {
	tests := []struct {
		name          string
		conv, dw, cat int
		gmacs         float64
	}{
		{"resnet50", 53, 0, 0, 3.87},
		{"inception_v3", 94, 0, 15, 5.71},
		{"mobilenet_v2", 35, 17, 0, 0.30},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := Nets[i]
			if n.Name != tc.name {
				t.Fatalf("Nets[%d] is %s", i, n.Name)
			}
			gd := n.Build(1).GraphDef()
			count := map[string]int{}
			for _, nd := range gd.GetNode() {
				count[nd.GetOp()]++
			}
			if count["Conv2D"] != tc.conv || count["DepthwiseConv2dNative"] != tc.dw || count["ConcatV2"] != tc.cat {
				t.Errorf("Conv2D %d, depthwise %d, ConcatV2 %d; want %d, %d, %d", count["Conv2D"], count["DepthwiseConv2dNative"], count["ConcatV2"], tc.conv, tc.dw, tc.cat)
			}
			if count["FusedBatchNormV3"] != tc.conv+tc.dw {
				t.Errorf("%d batch norms for %d convolutions", count["FusedBatchNormV3"], tc.conv+tc.dw)
			}
			m, err := gotf.OpenGraph(context.Background(), gd, classify.OpenOptions{Outputs: []string{"logits", "output"}, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if g := float64(m.Info().FLOPs) / 2e9; math.Abs(g-tc.gmacs) > 0.02*tc.gmacs {
				t.Errorf("%.3f G multiply-adds, want %.2f", g, tc.gmacs)
			}
			if testing.Short() {
				return
			}
			out, err := m.Run(context.Background(), map[string]*classify.Tensor{"input": NetInput(n, 1)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			logits := out[0].Float32s()
			lo, hi := logits[0], logits[0]
			for _, v := range logits {
				lo, hi = min(lo, v), max(hi, v)
			}
			if !(hi-lo > 0.5 && hi < 50 && lo > -50) {
				t.Errorf("logits span [%g, %g]: want a spread of a few units", lo, hi)
			}
			if want := []int{1, 1000}; !out[1].Shape.Equal(want) {
				t.Errorf("output shape %v, want %v", out[1].Shape, want)
			}
		})
	}
}

func TestConvStackShape(t *testing.T) {
	g := ConvStack().GraphDef()
	convs, last := 0, g.GetNode()[len(g.GetNode())-1]
	for _, n := range g.GetNode() {
		if n.GetOp() == "Conv2D" {
			convs++
		}
	}
	if convs != 8 {
		t.Errorf("%d Conv2D nodes, want 8", convs)
	}
	if last.GetName() != "output" || last.GetOp() != "Relu" {
		t.Errorf("last node %s (%s), want output (Relu)", last.GetName(), last.GetOp())
	}
}

// TestWeightSeed checks that -seed changes the weights and nothing else:
// the same nodes with the same ops, inputs and constant shapes, different
// constant values; and that seed 0 is the default.
func TestWeightSeed(t *testing.T) {
	defer func(s uint64) { WeightSeed = s }(WeightSeed)
	graphs := map[uint64]*gpb.GraphDef{}
	for _, s := range []uint64{0, 7} {
		WeightSeed = s
		graphs[s] = MobileNetV2(1).GraphDef()
	}
	a, b := graphs[0], graphs[7]
	if len(a.Node) != len(b.Node) {
		t.Fatalf("%d nodes with seed 0, %d with seed 7", len(a.Node), len(b.Node))
	}
	differ := 0
	for i, n := range a.Node {
		m := b.Node[i]
		if n.Name != m.Name || n.Op != m.Op || !slices.Equal(n.Input, m.Input) {
			t.Fatalf("node %d: %s %s %v with seed 0, %s %s %v with seed 7", i, n.Op, n.Name, n.Input, m.Op, m.Name, m.Input)
		}
		if n.Op != "Const" {
			continue
		}
		ta, tb := n.Attr["value"].GetTensor(), m.Attr["value"].GetTensor()
		if ta.GetTensorShape().String() != tb.GetTensorShape().String() {
			t.Fatalf("%s: shape %v with seed 0, %v with seed 7", n.Name, ta.GetTensorShape(), tb.GetTensorShape())
		}
		if !bytes.Equal(ta.GetTensorContent(), tb.GetTensorContent()) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("seed 7 gave the same weights as seed 0")
	}
	WeightSeed = 0
	if !proto.Equal(MobileNetV2(1).GraphDef(), a) {
		t.Error("WeightSeed 0 is not reproducible")
	}
}
