package gotf

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/ops"
)

const (
	mobilenetInput  = "input"
	mobilenetOutput = "MobilenetV1/Predictions/Reshape_1"
)

// modelPath returns a graph under TEST_MODELS_DIR, skipping when unset.
func modelPath(tb testing.TB, rel string) string {
	tb.Helper()
	dir := os.Getenv("TEST_MODELS_DIR")
	if dir == "" {
		tb.Skip("set TEST_MODELS_DIR to the shared models directory (../shared/models) to run tests on real graphs")
	}
	return filepath.Join(dir, rel)
}

func TestMobileNet(t *testing.T) {
	path := modelPath(t, "mobilenet_v1_0.25_128/frozen_graph.pb")
	ctx := context.Background()
	gd, err := ReadGraphDef(path)
	if err != nil {
		t.Fatal(err)
	}
	fused, err := load(ctx, gd, classify.OpenOptions{}, loadConfig{fuse: true})
	if err != nil {
		t.Fatal(err)
	}
	info := fused.Info()
	if len(info.Inputs) != 1 || info.Inputs[0].Name != mobilenetInput || !info.Inputs[0].Shape.Equal(classify.Shape{1, 128, 128, 3}) || info.Inputs[0].DType != classify.Float32 {
		t.Errorf("inputs %+v", info.Inputs)
	}
	if len(info.Outputs) != 1 || info.Outputs[0].Name != mobilenetOutput {
		t.Fatalf("outputs %+v, want [%s]", info.Outputs, mobilenetOutput)
	}
	// Every convolution's batch norm and Relu6 fuse into it; the logits
	// convolution takes its BiasAdd. Six pointwise → depthwise →
	// pointwise chains become inverted-residual blocks (each taking two
	// of the 15 convolutions and one of the 13 depthwise ones).
	for op, want := range map[string]int{
		"_FusedConv2D": 3, "_FusedDepthwiseConv2dNative": 7, ops.InvertedResidual: 6,
		"Conv2D": 0, "DepthwiseConv2dNative": 0, "Mul": 0, "Add": 0, "Sub": 0,
		"Rsqrt": 0, "Relu6": 0, "BiasAdd": 0, "Identity": 0,
	} {
		if info.Ops[op] != want {
			t.Errorf("%d %s after optimisation, want %d (ops %v)", info.Ops[op], op, want, info.Ops)
		}
	}
	computed := 0
	for op, n := range info.Ops {
		if op != "Const" {
			computed += n
		}
	}
	if computed > 35 {
		t.Errorf("%d nodes left to run, want at most 35 (ops %v)", computed, info.Ops)
	}
	t.Logf("ops %v, FLOPs %d", info.Ops, info.FLOPs)

	plain, err := load(ctx, gd, classify.OpenOptions{}, loadConfig{fuse: false})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(7, 1, 128, 128, 3)
	feeds := map[string]*classify.Tensor{mobilenetInput: x}
	want, err := plain.Run(ctx, feeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fused.Run(ctx, feeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Shape.Equal(classify.Shape{1, 1001}) {
		t.Fatalf("output shape %v", got[0].Shape)
	}
	if d := maxDiff(got[0], want[0]); d > 1e-5 {
		t.Errorf("fused and unfused probabilities differ by %g", d)
	}
	var sum float64
	for _, p := range got[0].Float32s() {
		sum += float64(p)
	}
	if math.Abs(sum-1) > 1e-4 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

func TestRetrainedMobileNet(t *testing.T) {
	path := modelPath(t, "retrained_mobilenet_v1_0.25/retrained_graph.pb")
	m, err := New().OpenFile(context.Background(), path, classify.OpenOptions{Outputs: []string{"final_result"}})
	if err != nil {
		t.Fatal(err)
	}
	info := m.Info()
	var names []string
	for _, in := range info.Inputs {
		names = append(names, in.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "input") {
		t.Errorf("inputs %v lack input", names)
	}
	if info.Ops["_FusedMatMul"] != 1 || info.Ops["MatMul"] != 0 {
		t.Errorf("the final MatMul+Add did not fuse: %v", info.Ops)
	}
	res, err := m.Run(context.Background(), map[string]*classify.Tensor{"input": randTensor(3, 1, 128, 128, 3)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Shape.Equal(classify.Shape{1, 6}) {
		t.Fatalf("final_result shape %v", res[0].Shape)
	}
	var sum float64
	for _, p := range res[0].Float32s() {
		sum += float64(p)
	}
	if math.Abs(sum-1) > 1e-4 {
		t.Errorf("probabilities sum to %v", sum)
	}
}

// BenchmarkMobileNet times one batch-1 run of MobileNet v1 0.25/128 per
// thread count:
//
//	TEST_MODELS_DIR=../shared/models go test ./classify/gotf -run '^$' -bench MobileNet -benchtime 200x
func BenchmarkMobileNet(b *testing.B) {
	path := modelPath(b, "mobilenet_v1_0.25_128/frozen_graph.pb")
	for _, threads := range []int{1, 2} {
		b.Run("threads="+string(rune('0'+threads)), func(b *testing.B) {
			m, err := New().OpenFile(context.Background(), path, classify.OpenOptions{Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			feeds := map[string]*classify.Tensor{mobilenetInput: randTensor(1, 1, 128, 128, 3)}
			outs := []string{mobilenetOutput}
			if _, err := m.Run(context.Background(), feeds, outs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(4 * 128 * 128 * 3))
			b.ResetTimer()
			for range b.N {
				if _, err := m.Run(context.Background(), feeds, outs); err != nil {
					b.Fatal(err)
				}
			}
			if f := m.Info().FLOPs; f > 0 {
				b.ReportMetric(float64(f)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
		})
	}
}
