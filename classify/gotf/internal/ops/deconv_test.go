package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

type deconvCase struct {
	name     string
	size     []int32 // input_sizes
	fshape   []int   // kh, kw, ic, oc
	strides  []int
	dil      []int
	padding  string
	explicit []int
	fedFilt  bool // the filter is fed rather than constant
}

func (c deconvCase) attrs() graphdef.Attrs {
	a := graphdef.Attrs{"T": classify.Float32, "strides": []int{1, c.strides[0], c.strides[1], 1}, "padding": c.padding}
	if c.dil != nil {
		a["dilations"] = []int{1, c.dil[0], c.dil[1], 1}
	}
	if c.explicit != nil {
		a["explicit_paddings"] = c.explicit
	}
	return a
}

// dyShape is the forward convolution's output shape for c's geometry.
func (c deconvCase) dyShape(t *testing.T) []int {
	n := saNode("Conv2DBackpropInput", 3, c.attrs())
	a, err := parseConvAttrs(n)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int, 4)
	for i, v := range c.size {
		s[i] = int(v)
	}
	g := a.geom(s, c.fshape[0], c.fshape[1])
	return []int{g.n, g.oh, g.ow, c.fshape[3]}
}

func (c deconvCase) inputs(t *testing.T, seed uint64) []saIn {
	f := randF32(seed, -1, 1, c.fshape...)
	fin := saConst(f)
	if c.fedFilt {
		fin = saFeed(f)
	}
	return []saIn{saConst(saI32(c.size, 4)), fin, saFeed(randF32(seed+1, -1, 1, c.dyShape(t)...))}
}

var deconvCases = []deconvCase{
	{name: "same_s2_k3", size: []int32{1, 8, 8, 3}, fshape: []int{3, 3, 3, 4}, strides: []int{2, 2}, padding: "SAME"},
	{name: "same_s2_odd", size: []int32{2, 7, 9, 2}, fshape: []int{3, 3, 2, 5}, strides: []int{2, 2}, padding: "SAME"},
	{name: "valid_s2_k2", size: []int32{2, 8, 6, 4}, fshape: []int{2, 2, 4, 3}, strides: []int{2, 2}, padding: "VALID"},
	{name: "valid_s1_k3", size: []int32{1, 6, 5, 2}, fshape: []int{3, 3, 2, 3}, strides: []int{1, 1}, padding: "VALID"},
	{name: "same_s3x2_k4x3", size: []int32{1, 10, 7, 3}, fshape: []int{4, 3, 3, 2}, strides: []int{3, 2}, padding: "SAME"},
	{name: "valid_s2_k3_odd_leftover", size: []int32{1, 8, 8, 1}, fshape: []int{3, 3, 1, 2}, strides: []int{2, 2}, padding: "VALID"},
	{name: "same_fed_filter", size: []int32{1, 6, 6, 8}, fshape: []int{3, 3, 8, 16}, strides: []int{2, 2}, padding: "SAME", fedFilt: true},
	{name: "same_big", size: []int32{1, 32, 32, 16}, fshape: []int{4, 4, 16, 24}, strides: []int{2, 2}, padding: "SAME"},
}

// TestDeconvGolden checks Conv2DBackpropInput against TensorFlow.js.
func TestDeconvGolden(t *testing.T) {
	for i, c := range deconvCases {
		g := saCase("deconv_"+c.name, "Conv2DBackpropInput", c.attrs(), 1, c.inputs(t, uint64(800+10*i))...)
		t.Run(c.name, func(t *testing.T) { runGolden(t, g) })
	}
}

// refDeconv is the definition of Conv2DBackpropInput, in float64: every
// out_backprop element dy[n,oy,ox,o] sends dy*f[ky,kx,i,o] to the input
// pixel the forward convolution read through that tap.
func refDeconv(t *testing.T, c deconvCase, f, dy *classify.Tensor) *classify.Tensor {
	a, err := parseConvAttrs(saNode("Conv2DBackpropInput", 3, c.attrs()))
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int, 4)
	for i, v := range c.size {
		s[i] = int(v)
	}
	kh, kw, ic, oc := c.fshape[0], c.fshape[1], c.fshape[2], c.fshape[3]
	g := a.geom(s, kh, kw)
	acc := make([]float64, arrProd(s))
	fd, dd := f.Float32s(), dy.Float32s()
	for n := range g.n {
		for oy := range g.oh {
			for ox := range g.ow {
				for ky := range kh {
					for kx := range kw {
						y, x := oy*g.sh-g.pt+ky*g.dh, ox*g.sw-g.pl+kx*g.dw
						if y < 0 || y >= g.h || x < 0 || x >= g.w {
							continue
						}
						for i := range ic {
							for o := range oc {
								acc[((n*g.h+y)*g.w+x)*ic+i] += float64(dd[((n*g.oh+oy)*g.ow+ox)*oc+o]) * float64(fd[((ky*kw+kx)*ic+i)*oc+o])
							}
						}
					}
				}
			}
		}
	}
	out := classify.NewTensor(classify.Float32, s...)
	for i, v := range acc {
		out.Float32s()[i] = float32(v)
	}
	return out
}

// TestDeconvReference covers what TensorFlow.js lacks (dilations,
// EXPLICIT padding) and re-checks the golden geometries against the
// definition above.
func TestDeconvReference(t *testing.T) {
	cases := append([]deconvCase{
		{name: "dilated_same", size: []int32{1, 9, 8, 2}, fshape: []int{3, 3, 2, 3}, strides: []int{1, 1}, dil: []int{2, 2}, padding: "SAME"},
		{name: "dilated_valid_s2", size: []int32{2, 11, 10, 3}, fshape: []int{3, 2, 3, 2}, strides: []int{2, 2}, dil: []int{2, 3}, padding: "VALID"},
		{name: "explicit", size: []int32{1, 7, 6, 2}, fshape: []int{3, 3, 2, 4}, strides: []int{2, 1}, padding: "EXPLICIT", explicit: []int{0, 0, 1, 2, 0, 1, 0, 0}},
		{name: "explicit_fed", size: []int32{2, 5, 5, 3}, fshape: []int{2, 3, 3, 2}, strides: []int{2, 2}, padding: "EXPLICIT", explicit: []int{0, 0, 2, 0, 1, 1, 0, 0}, fedFilt: true},
	}, deconvCases...)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.inputs(t, uint64(900+10*i))
			for _, threads := range []int{1, 3} {
				o, ts, err := saBuild("Conv2DBackpropInput", c.attrs(), in...)
				if err != nil {
					t.Fatal(err)
				}
				got, err := o.Run(&Ctx{Threads: threads, Slots: make([]*classify.Tensor, 1)}, ts)
				if err != nil {
					t.Fatal(err)
				}
				if msg := compare(got[0], refDeconv(t, c, in[1].t, in[2].t), 0, 0); msg != "" {
					t.Errorf("threads %d: %s", threads, msg)
				}
			}
		})
	}
}

func TestDeconvErrors(t *testing.T) {
	inv, bad := classify.ErrInvalidInput, classify.ErrInvalidGraph
	at := graphdef.Attrs{"T": classify.Float32, "strides": []int{1, 2, 2, 1}, "padding": "SAME"}
	f := randF32(1, -1, 1, 3, 3, 2, 4)
	dy := randF32(2, -1, 1, 1, 4, 4, 4)
	sz := func(v ...int32) *classify.Tensor { return saI32(v, 4) }
	saCheckErrors(t, []saErrCase{
		{"nchw", "Conv2DBackpropInput", graphdef.Attrs{"strides": []int{1, 1, 2, 2}, "padding": "SAME", "data_format": "NCHW"}, []saIn{saConst(sz(1, 2, 8, 8)), saConst(f), saFeed(dy)}, classify.ErrUnsupportedOp, "NHWC"},
		{"bad_padding", "Conv2DBackpropInput", graphdef.Attrs{"strides": []int{1, 2, 2, 1}, "padding": "FULL"}, []saIn{saConst(sz(1, 8, 8, 2)), saConst(f), saFeed(dy)}, bad, "padding"},
		{"channels", "Conv2DBackpropInput", at, []saIn{saConst(sz(1, 8, 8, 3)), saConst(f), saFeed(dy)}, bad, "channels"},
		{"dy_shape", "Conv2DBackpropInput", at, []saIn{saConst(sz(1, 9, 7, 2)), saConst(f), saFeed(dy)}, inv, "out_backprop"},
		{"fed_negative_size", "Conv2DBackpropInput", at, []saIn{saFeed(sz(1, -8, 8, 2)), saConst(f), saFeed(dy)}, inv, "negative"},
		{"dy_int", "Conv2DBackpropInput", at, []saIn{saConst(sz(1, 8, 8, 2)), saConst(f), saFeed(saIota(1, 4, 4, 4))}, inv, "float32"},
	})
}

func TestDeconvInference(t *testing.T) {
	f32, i32 := classify.Float32, classify.Int32
	at := graphdef.Attrs{"strides": []int{1, 2, 2, 1}, "padding": "SAME"}
	saCheckShapes(t, []saShapeCase{
		{name: "const_size", op: "Conv2DBackpropInput", attrs: at, in: []classify.TensorInfo{saInfo(i32, 4), saInfo(f32, 3, 3, 2, 4), saInfo(f32, 1, 4, 4, 4)},
			consts: map[int]*classify.Tensor{0: saI32([]int32{1, 8, 8, 2}, 4)}, want: []classify.TensorInfo{saInfo(f32, 1, 8, 8, 2)}},
		{name: "fed_size", op: "Conv2DBackpropInput", attrs: at, in: []classify.TensorInfo{saInfo(i32, 4), saInfo(f32, 3, 3, 2, 4), saInfo(f32, 1, 4, 4, 4)},
			want: []classify.TensorInfo{saInfo(f32, -1, -1, -1, -1)}},
	})
}

// BenchmarkDeconv is a segmentation decoder's upsampling layer: 64x64x32
// to 128x128x16 through a 3x3 stride-2 transposed convolution.
func BenchmarkDeconv(b *testing.B) {
	c := deconvCase{size: []int32{1, 128, 128, 16}, fshape: []int{3, 3, 16, 32}, strides: []int{2, 2}, padding: "SAME"}
	in := []saIn{saConst(saI32(c.size, 4)), saConst(randF32(1, -1, 1, c.fshape...)), saFeed(randF32(2, -1, 1, 1, 64, 64, 32))}
	o, ts, err := saBuild("Conv2DBackpropInput", c.attrs(), in...)
	if err != nil {
		b.Fatal(err)
	}
	ctx := &Ctx{Threads: 2, Slots: make([]*classify.Tensor, 1)}
	b.ResetTimer()
	for range b.N {
		if _, err := o.Run(ctx, ts); err != nil {
			b.Fatal(err)
		}
	}
}
