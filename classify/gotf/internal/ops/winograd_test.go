package ops

import (
	"fmt"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestConvWinogradDispatch checks which convolutions run as Winograd and
// with which tile size (GOTF_WINOGRAD's modes included), and that each
// agrees with the same op built with Winograd off (the implicit GEMM,
// itself checked against the oracle by the goldens): plain, fused with
// an activation, and the residual forms (addend of the output's shape,
// added in the output transform, and one that broadcasts).
func TestConvWinogradDispatch(t *testing.T) {
	if !gemm.WinogradAvailable() {
		t.Skip("no AVX-512 Winograd transforms on this CPU")
	}
	defer func(m int) { winoMode = m }(winoMode)
	cases := []struct {
		name     string
		x, f     []int
		stride   int
		dilation int
		padding  string
		fused    []string
		addend   []int // residual addend shape, with fused BiasAdd,Add,...
		mode     int
		want     int // tile size used, 0 for none
	}{
		{"14x14 SAME", []int{1, 14, 14, 16}, []int{3, 3, 16, 16}, 1, 1, "SAME", nil, nil, -1, 4},
		{"7x7 batch 1: F(2,3)", []int{1, 7, 7, 32}, []int{3, 3, 32, 24}, 1, 1, "SAME", []string{"BiasAdd", "Relu"}, nil, -1, 2},
		{"7x7 batch 2 VALID", []int{2, 9, 9, 16}, []int{3, 3, 16, 20}, 1, 1, "VALID", []string{"BiasAdd", "Elu"}, nil, -1, 2},
		{"7x7 batch 8: F(4,3)", []int{8, 7, 7, 16}, []int{3, 3, 16, 16}, 1, 1, "SAME", []string{"BiasAdd", "Relu6"}, nil, -1, 4},
		{"residual, same shape", []int{1, 16, 13, 16}, []int{3, 3, 16, 16}, 1, 1, "SAME", []string{"BiasAdd", "Add", "Relu"}, []int{1, 16, 13, 16}, -1, 4},
		{"residual, broadcast", []int{1, 16, 13, 16}, []int{3, 3, 16, 16}, 1, 1, "SAME", []string{"BiasAdd", "Add", "Relu6"}, []int{1, 1, 1, 16}, -1, 4},
		{"forced F(2,3)", []int{1, 14, 14, 16}, []int{3, 3, 16, 16}, 1, 1, "SAME", nil, nil, 2, 2},
		{"forced F(4,3), few channels", []int{1, 9, 9, 3}, []int{3, 3, 3, 5}, 1, 1, "SAME", nil, nil, 4, 4},
		{"off", []int{1, 14, 14, 16}, []int{3, 3, 16, 16}, 1, 1, "SAME", nil, nil, 0, 0},
		{"few input channels", []int{1, 14, 14, 8}, []int{3, 3, 8, 16}, 1, 1, "SAME", nil, nil, -1, 0},
		{"few output channels", []int{1, 14, 14, 16}, []int{3, 3, 16, 8}, 1, 1, "SAME", nil, nil, -1, 0},
		{"stride 2", []int{1, 14, 14, 16}, []int{3, 3, 16, 16}, 2, 1, "SAME", nil, nil, -1, 0},
		{"dilation 2", []int{1, 14, 14, 16}, []int{3, 3, 16, 16}, 1, 2, "SAME", nil, nil, -1, 0},
		{"5x5", []int{1, 14, 14, 16}, []int{5, 5, 16, 16}, 1, 1, "SAME", nil, nil, -1, 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seed := uint64(500 + 10*i)
			attrs := map[string]*apb.AttrValue{
				"strides":   graphdef.Attr([]int{1, c.stride, c.stride, 1}),
				"dilations": graphdef.Attr([]int{1, c.dilation, c.dilation, 1}),
				"padding":   graphdef.Attr(c.padding),
			}
			op := "Conv2D"
			x, f := randF32(seed, 0, 1, c.x...), randF32(seed+1, -0.2, 0.2, c.f...)
			in := []*classify.Tensor{x, f}
			if c.fused != nil {
				op = "_FusedConv2D"
				attrs["fused_ops"] = strList(c.fused)
				attrs["num_args"] = graphdef.Attr(1)
				in = append(in, randF32(seed+2, -1, 1, c.f[3]))
				if c.addend != nil {
					attrs["num_args"] = graphdef.Attr(2)
					in = append(in, randF32(seed+3, -1, 1, c.addend...))
				}
			}
			build, _ := Lookup(op)
			run := func(mode int) (*conv2D, *classify.Tensor) {
				winoMode = mode
				consts := make([]*classify.Tensor, len(in))
				consts[1] = f
				o, err := build(&Node{Name: "conv", Op: op, NumInputs: len(in), Attr: attrs}, consts)
				if err != nil {
					t.Fatal(err)
				}
				out, err := o.Run(&Ctx{Threads: 2}, in)
				if err != nil {
					t.Fatal(err)
				}
				return o.(*conv2D), out[0]
			}
			cop, got := run(c.mode)
			used := 0
			if cop.wino != nil {
				for fi, m := range []int{2, 4} {
					if cop.wino.forms[fi].w != nil {
						if used != 0 {
							t.Fatalf("both tile sizes transformed")
						}
						used = m
					}
				}
			}
			if used != c.want {
				t.Fatalf("Winograd tile %d, want %d (0: none)", used, c.want)
			}
			if c.want != 0 && cop.lazy.pb != nil {
				t.Errorf("filter packed for the implicit GEMM although unused")
			}
			_, want := run(0)
			if msg := compare(got, want, 1e-4, 1e-4); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// BenchmarkConvWinograd times ResNet-50's 3x3 layers as fused ops, with
// Winograd on (the per-layer choice) and off.
func BenchmarkConvWinograd(b *testing.B) {
	defer func(m int) { winoMode = m }(winoMode)
	for _, l := range []struct{ hw, c int }{{56, 64}, {28, 128}, {14, 256}, {7, 512}} {
		for _, mode := range []int{0, -1} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%dx%dx%d/wino=%v/t%d", l.hw, l.hw, l.c, mode != 0, threads), func(b *testing.B) {
					winoMode = mode
					benchConv(b, "_FusedConv2D", []int{1, l.hw, l.hw, l.c}, []int{3, 3, l.c, l.c}, []int{1, 1, 1, 1}, []string{"BiasAdd", "Relu"}, threads)
				})
			}
		}
	}
}

// TestConvWinogradAtLoad: shape inference with a known height and width
// transforms the filter the way a batch of one will pick, before any run;
// an unknown size leaves it to the first run.
func TestConvWinogradAtLoad(t *testing.T) {
	if !gemm.WinogradAvailable() {
		t.Skip("no AVX-512 Winograd transforms on this CPU")
	}
	defer func(m int) { winoMode = m }(winoMode)
	winoMode = -1
	build, _ := Lookup("Conv2D")
	for _, c := range []struct {
		name string
		x    classify.Shape
		want int // form built (index 0: F(2,3), 1: F(4,3)), -1 none
	}{
		{"56x56, batch unknown", classify.Shape{-1, 56, 56, 16}, 1},
		{"7x7, batch unknown", classify.Shape{-1, 7, 7, 16}, 0},
		{"size unknown", classify.Shape{-1, -1, -1, 16}, -1},
		{"rank unknown", nil, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := randF32(7, -0.2, 0.2, 3, 3, 16, 16)
			attrs := map[string]*apb.AttrValue{
				"strides": graphdef.Attr([]int{1, 1, 1, 1}),
				"padding": graphdef.Attr("SAME"),
			}
			o, err := build(&Node{Name: "conv", Op: "Conv2D", NumInputs: 2, Attr: attrs}, []*classify.Tensor{nil, f})
			if err != nil {
				t.Fatal(err)
			}
			cop := o.(*conv2D)
			if _, err := cop.OutputInfo([]classify.TensorInfo{{DType: classify.Float32, Shape: c.x}, {DType: classify.Float32, Shape: f.Shape}}); err != nil {
				t.Fatal(err)
			}
			for i := range cop.wino.forms {
				if built := cop.wino.forms[i].w != nil; built != (i == c.want) {
					t.Errorf("form %d built %v, want %v", i, built, i == c.want)
				}
			}
		})
	}
}
