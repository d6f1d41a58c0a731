package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

func TestDepthToSpaceGolden(t *testing.T) {
	at := func(dt classify.DType, b int) graphdef.Attrs {
		return graphdef.Attrs{"T": dt, "block_size": b, "data_format": "NHWC"}
	}
	cases := []goldenCase{
		saCase("depthtospace_b2", "DepthToSpace", at(classify.Float32, 2), 1, saFeed(randF32(1201, -1, 1, 2, 3, 5, 8))),
		saCase("depthtospace_b3_odd", "DepthToSpace", at(classify.Float32, 3), 1, saFeed(randF32(1203, -1, 1, 1, 2, 3, 18))),
		saCase("depthtospace_b2_c4", "DepthToSpace", at(classify.Float32, 2), 1, saFeed(randF32(1202, -1, 1, 1, 16, 16, 4))),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runGolden(t, c) })
	}
}

// refSpaceToDepth is TensorFlow's documented SpaceToDepth (the oracle has
// none): out[n, h, w, (i*b + j)*c + k] = in[n, h*b + i, w*b + j, k].
func refSpaceToDepth(x *classify.Tensor, b int) *classify.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := classify.NewTensor(classify.Int32, n, h/b, w/b, c*b*b)
	src, dst := x.Int32s(), out.Int32s()
	for bi := range n {
		for y := range h / b {
			for xx := range w / b {
				for i := range b {
					for j := range b {
						for k := range c {
							dst[((bi*(h/b)+y)*(w/b)+xx)*c*b*b+(i*b+j)*c+k] = src[((bi*h+y*b+i)*w+xx*b+j)*c+k]
						}
					}
				}
			}
		}
	}
	return out
}

func TestSpaceToDepth(t *testing.T) {
	for _, c := range []struct {
		shape []int
		b     int
	}{{[]int{2, 4, 6, 3}, 2}, {[]int{1, 9, 3, 2}, 3}, {[]int{1, 32, 32, 5}, 4}, {[]int{0, 4, 4, 1}, 2}} {
		x := saIota(c.shape...)
		at := graphdef.Attrs{"T": classify.Int32, "block_size": c.b}
		got, err := saRun("SpaceToDepth", at, saFeed(x))
		if err != nil {
			t.Fatal(err)
		}
		if msg := compare(got[0], refSpaceToDepth(x, c.b), 0, 0); msg != "" {
			t.Errorf("%v b=%d: %s", c.shape, c.b, msg)
		}
		back, err := saRun("DepthToSpace", at, saFeed(got[0]))
		if err != nil {
			t.Fatal(err)
		}
		if msg := compare(back[0], x, 0, 0); msg != "" {
			t.Errorf("%v b=%d: round trip: %s", c.shape, c.b, msg)
		}
	}
}

func TestDepthErrors(t *testing.T) {
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	x := saIota(1, 3, 4, 6)
	saCheckErrors(t, []saErrCase{
		{"d2s_depth", "DepthToSpace", graphdef.Attrs{"block_size": 2}, []saIn{saFeed(x)}, inv, "multiple of block_size^2 = 4"},
		{"s2d_height", "SpaceToDepth", graphdef.Attrs{"block_size": 2}, []saIn{saFeed(x)}, inv, "multiples of block_size 2"},
		{"block_1", "DepthToSpace", graphdef.Attrs{"block_size": 1}, []saIn{saFeed(x)}, bad, "at least 2"},
		{"rank3", "SpaceToDepth", graphdef.Attrs{"block_size": 2}, []saIn{saFeed(saIota(4, 4, 2))}, inv, "4-D"},
		{"nchw", "DepthToSpace", graphdef.Attrs{"block_size": 2, "data_format": "NCHW"}, []saIn{saFeed(x)}, classify.ErrUnsupportedOp, "NHWC"},
	})
}

func TestDepthInference(t *testing.T) {
	f32 := classify.Float32
	saCheckShapes(t, []saShapeCase{
		{name: "d2s", op: "DepthToSpace", attrs: graphdef.Attrs{"block_size": 2}, in: []classify.TensorInfo{saInfo(f32, -1, 8, 8, 12)}, want: []classify.TensorInfo{saInfo(f32, -1, 16, 16, 3)}},
		{name: "s2d", op: "SpaceToDepth", attrs: graphdef.Attrs{"block_size": 2}, in: []classify.TensorInfo{saInfo(f32, 1, -1, 8, 3)}, want: []classify.TensorInfo{saInfo(f32, 1, -1, 4, 12)}},
		{name: "s2d_bad", op: "SpaceToDepth", attrs: graphdef.Attrs{"block_size": 2}, in: []classify.TensorInfo{saInfo(f32, 1, 5, 8, 3)}, err: true},
	})
}
