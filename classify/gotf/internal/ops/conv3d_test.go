package ops

import (
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestConv3DGolden checks strides, dilations and both paddings against
// TensorFlow.js (tf.conv3d).
func TestConv3DGolden(t *testing.T) {
	at := func(pad string, s, d []int) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Float32, "padding": pad, "strides": s, "dilations": d, "data_format": "NDHWC"}
	}
	one := []int{1, 1, 1, 1, 1}
	x := randF32(1501, -1, 1, 2, 5, 6, 7, 3)
	f := randF32(1502, -1, 1, 3, 2, 3, 3, 4)
	big := randF32(1504, -1, 1, 1, 9, 10, 11, 4)
	bigF := randF32(1505, -1, 1, 3, 3, 3, 4, 8)
	cases := []goldenCase{
		saCase("conv3d_same", "Conv3D", at("SAME", one, one), 1, saFeed(x), saConst(f)),
		saCase("conv3d_valid", "Conv3D", at("VALID", one, one), 1, saFeed(x), saConst(f)),
		saCase("conv3d_same_strided", "Conv3D", at("SAME", []int{1, 2, 1, 3, 1}, one), 1, saFeed(x), saConst(f)),
		saCase("conv3d_valid_strided", "Conv3D", at("VALID", []int{1, 2, 2, 2, 1}, one), 1, saFeed(x), saFeed(f)),
		saCase("conv3d_same_dilated", "Conv3D", at("SAME", one, []int{1, 2, 1, 2, 1}), 1, saFeed(x), saConst(f)),
		saCase("conv3d_valid_dilated", "Conv3D", at("VALID", one, []int{1, 1, 2, 2, 1}), 1, saFeed(x), saConst(f)),
		saCase("conv3d_1x1x1", "Conv3D", at("VALID", one, one), 1, saFeed(x), saConst(randF32(1503, -1, 1, 1, 1, 1, 3, 5))),
		// Large enough to run on several goroutines.
		saCase("conv3d_parallel", "Conv3D", at("SAME", one, one), 1, saFeed(big), saConst(bigF)),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

func TestConv3DErrors(t *testing.T) {
	one := []int{1, 1, 1, 1, 1}
	x := randF32(1, -1, 1, 1, 3, 3, 3, 2)
	for _, c := range []struct {
		name string
		at   graphdef.Attrs
		f    *classify.Tensor
		want string
	}{
		{"channels", graphdef.Attrs{"padding": "SAME", "strides": one}, randF32(2, -1, 1, 1, 1, 1, 3, 2), "input channels"},
		{"strides", graphdef.Attrs{"padding": "SAME", "strides": []int{1, 1, 1, 1}}, randF32(2, -1, 1, 1, 1, 1, 2, 2), "strides"},
		{"padding", graphdef.Attrs{"padding": "EXPLICIT", "strides": one}, randF32(2, -1, 1, 1, 1, 1, 2, 2), "padding"},
		{"layout", graphdef.Attrs{"padding": "SAME", "strides": one, "data_format": "NCDHW"}, randF32(2, -1, 1, 1, 1, 1, 2, 2), "data_format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := graphdef.New()
			out := g.Op("Conv3D", "out", []graphdef.Output{g.Placeholder("x", x.DType, x.Shape), g.Placeholder("f", c.f.DType, c.f.Shape)}, c.at)
			_, err := interpretRec(g, map[string]*classify.Tensor{"x": x, "f": c.f}, []graphdef.Output{out}, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"out"`) {
				t.Errorf("err %v, want one naming the node and %q", err, c.want)
			}
		})
	}
}
