package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// refConv3DBackprop scatters every out_backprop voxel through the filter
// into the input positions its forward window read, in float64: the
// definition of the gradient, written independently of the kernel's
// gather.
func refConv3DBackprop(size []int, f, dy *classify.Tensor, s, d [3]int, same bool) []float64 {
	fs, ys := f.Shape, dy.Shape
	var pad [3]int
	if same {
		for i := range 3 {
			ek := (fs[i]-1)*d[i] + 1
			pad[i] = max((ys[i+1]-1)*s[i]+ek-size[i+1], 0) / 2
		}
	}
	cin, cout := fs[3], fs[4]
	dx := make([]float64, classify.Shape(size).NumElements())
	fv, yv := classifytest.Float64s(f), classifytest.Float64s(dy)
	for b := 0; b < ys[0]; b++ {
		for od := 0; od < ys[1]; od++ {
			for oh := 0; oh < ys[2]; oh++ {
				for ow := 0; ow < ys[3]; ow++ {
					for kd := 0; kd < fs[0]; kd++ {
						for kh := 0; kh < fs[1]; kh++ {
							for kw := 0; kw < fs[2]; kw++ {
								id, ih, iw := od*s[0]-pad[0]+kd*d[0], oh*s[1]-pad[1]+kh*d[1], ow*s[2]-pad[2]+kw*d[2]
								if id < 0 || ih < 0 || iw < 0 || id >= size[1] || ih >= size[2] || iw >= size[3] {
									continue
								}
								for ci := 0; ci < cin; ci++ {
									for co := 0; co < cout; co++ {
										dx[(((b*size[1]+id)*size[2]+ih)*size[3]+iw)*cin+ci] +=
											fv[(((kd*fs[1]+kh)*fs[2]+kw)*cin+ci)*cout+co] * yv[(((b*ys[1]+od)*ys[2]+oh)*ys[3]+ow)*cout+co]
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return dx
}

type c3bCase struct {
	name  string
	size  []int // input N, D, H, W, C
	f     []int
	s, d  [3]int
	pad   string
	int64 bool
	konst bool
	v1    bool
}

func TestConv3DBackpropInput(t *testing.T) {
	for _, c := range []c3bCase{
		{name: "same_unit", size: []int{2, 4, 5, 6, 3}, f: []int{3, 3, 3, 3, 4}, s: [3]int{1, 1, 1}, d: [3]int{1, 1, 1}, pad: "SAME"},
		{name: "same_strided", size: []int{1, 7, 6, 5, 2}, f: []int{3, 2, 3, 2, 5}, s: [3]int{2, 2, 3}, d: [3]int{1, 1, 1}, pad: "SAME", konst: true},
		{name: "valid_strided", size: []int{2, 7, 8, 6, 3}, f: []int{2, 3, 2, 3, 2}, s: [3]int{2, 1, 2}, d: [3]int{1, 1, 1}, pad: "VALID", int64: true},
		{name: "valid_stride_skips_tail", size: []int{1, 6, 6, 6, 1}, f: []int{2, 2, 2, 1, 3}, s: [3]int{3, 3, 3}, d: [3]int{1, 1, 1}, pad: "VALID"},
		{name: "same_dilated", size: []int{1, 6, 7, 5, 2}, f: []int{2, 3, 2, 2, 3}, s: [3]int{1, 1, 1}, d: [3]int{2, 1, 2}, pad: "SAME", konst: true},
		{name: "valid_dilated", size: []int{2, 7, 7, 7, 2}, f: []int{3, 2, 2, 2, 2}, s: [3]int{1, 2, 1}, d: [3]int{2, 2, 3}, pad: "VALID"},
		{name: "v1_same", size: []int{1, 5, 4, 6, 3}, f: []int{2, 2, 3, 3, 2}, s: [3]int{2, 1, 2}, d: [3]int{1, 1, 1}, pad: "SAME", v1: true},
		// Large enough to run on several goroutines.
		{name: "parallel", size: []int{2, 10, 12, 12, 8}, f: []int{3, 3, 3, 8, 8}, s: [3]int{2, 2, 2}, d: [3]int{1, 1, 1}, pad: "SAME"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fwd := conv3dOp{padding: c.pad, stride: c.s, dil: c.d}
			ys := []int{c.size[0], 0, 0, 0, c.f[4]}
			for i := range 3 {
				ys[i+1], _ = fwd.geometry(c.size[i+1], c.f[i], c.s[i], c.d[i])
			}
			f := randF32(1801, -1, 1, c.f...)
			dy := randF32(1802, -1, 1, ys...)
			at := graphdef.Attrs{"T": classify.Float32, "padding": c.pad,
				"strides": []int{1, c.s[0], c.s[1], c.s[2], 1}, "dilations": []int{1, c.d[0], c.d[1], c.d[2], 1}}
			var first saIn
			op := "Conv3DBackpropInputV2"
			switch {
			case c.v1:
				op = "Conv3DBackpropInput"
				first = saFeed(randF32(1803, -1, 1, c.size...))
			case c.int64:
				at["Tshape"] = classify.Int64
				first = saFeed(saI64([]int64{int64(c.size[0]), int64(c.size[1]), int64(c.size[2]), int64(c.size[3]), int64(c.size[4])}, 5))
			default:
				at["Tshape"] = classify.Int32
				first = saFeed(saI32([]int32{int32(c.size[0]), int32(c.size[1]), int32(c.size[2]), int32(c.size[3]), int32(c.size[4])}, 5))
			}
			first.konst = c.konst
			out, err := saRun(t, op, at, first, saFeed(f), saFeed(dy))
			if err != nil {
				t.Fatal(err)
			}
			want := refConv3DBackprop(c.size, f, dy, c.s, c.d, c.pad == "SAME")
			checkClose(t, out[0], want, c.size, 1e-5)

			// The adjoint identity with the oracle-checked Conv3D:
			// <Conv3D(x, f), dy> = <x, backprop(f, dy)>.
			x := randF32(1804, -1, 1, c.size...)
			y, err := saRun(t, "Conv3D", graphdef.Attrs{"T": classify.Float32, "padding": c.pad,
				"strides": at["strides"], "dilations": at["dilations"]}, saFeed(x), saFeed(f))
			if err != nil {
				t.Fatal(err)
			}
			var lhs, rhs float64
			for i, v := range classifytest.Float64s(y[0]) {
				lhs += v * float64(dy.Float32s()[i])
			}
			for i, v := range classifytest.Float64s(out[0]) {
				rhs += v * float64(x.Float32s()[i])
			}
			if math.Abs(lhs-rhs) > 1e-4*(1+math.Abs(lhs)) {
				t.Errorf("<Conv3D(x,f), dy> = %v but <x, backprop> = %v", lhs, rhs)
			}
		})
	}
}

func TestConv3DBackpropInputErrors(t *testing.T) {
	at := graphdef.Attrs{"T": classify.Float32, "padding": "SAME", "strides": []int{1, 1, 1, 1, 1}}
	f := saFeed(randF32(1, -1, 1, 2, 2, 2, 3, 4))
	dy := saFeed(randF32(2, -1, 1, 1, 4, 4, 4, 4))
	sizes := func(v ...int32) saIn { return saFeed(saI32(v, len(v))) }
	// An empty batch gives an empty gradient.
	out, err := saRun(t, "Conv3DBackpropInputV2", at, sizes(0, 4, 4, 4, 3), f, saFeed(classify.NewTensor(classify.Float32, 0, 4, 4, 4, 4)))
	if err != nil || !out[0].Shape.Equal(classify.Shape{0, 4, 4, 4, 3}) {
		t.Errorf("empty batch: %v, %v", out, err)
	}
	saCheckErrors(t, []saErrCase{
		{"dy_shape", "Conv3DBackpropInputV2", at, []saIn{sizes(1, 4, 4, 5, 3), f, dy}, classify.ErrInvalidInput, "want [1,4,4,5,4]"},
		{"channels", "Conv3DBackpropInputV2", at, []saIn{sizes(1, 4, 4, 4, 2), f, dy}, classify.ErrInvalidInput, "input channels"},
		{"sizes_rank", "Conv3DBackpropInputV2", at, []saIn{sizes(1, 4, 4, 3), f, dy}, classify.ErrInvalidInput, "5 sizes"},
		{"negative_size", "Conv3DBackpropInputV2", at, []saIn{sizes(1, -4, 4, 4, 3), f, dy}, classify.ErrInvalidInput, "negative"},
		{"huge_size", "Conv3DBackpropInputV2", at, []saIn{sizes(1<<20, 1<<20, 1<<20, 4, 3), f, dy}, classify.ErrInvalidInput, "elements"},
		{"huge_const_size", "Conv3DBackpropInputV2", at, []saIn{saConst(saI32([]int32{1 << 20, 1 << 20, 1 << 20, 4, 3}, 5)), f, dy}, classify.ErrInvalidGraph, "elements"},
		{"filter_rank", "Conv3DBackpropInputV2", at, []saIn{sizes(1, 4, 4, 4, 3), saFeed(randF32(1, -1, 1, 2, 2, 3, 4)), dy}, classify.ErrInvalidInput, "5-D"},
		{"layout", "Conv3DBackpropInputV2", graphdef.Attrs{"padding": "SAME", "strides": []int{1, 1, 1, 1, 1}, "data_format": "NCHW"}, []saIn{sizes(1, 4, 4, 4, 3), f, dy}, classify.ErrInvalidGraph, "data_format"},
		{"ncdhw_strides", "Conv3DBackpropInputV2", graphdef.Attrs{"padding": "SAME", "strides": []int{1, 2, 1, 1, 1}, "data_format": "NCDHW"}, []saIn{sizes(1, 3, 4, 4, 4), f, dy}, classify.ErrInvalidGraph, "channels"},
		{"ncdhw_dy_shape", "Conv3DBackpropInputV2", graphdef.Attrs{"padding": "SAME", "strides": []int{1, 1, 1, 1, 1}, "data_format": "NCDHW"}, []saIn{sizes(1, 3, 4, 4, 5), f, dy}, classify.ErrInvalidInput, "want [1,4,4,5,4]"},
		{"ncdhw_channels", "Conv3DBackpropInputV2", graphdef.Attrs{"padding": "SAME", "strides": []int{1, 1, 1, 1, 1}, "data_format": "NCDHW"}, []saIn{sizes(1, 2, 4, 4, 4), f, dy}, classify.ErrInvalidInput, "input channels"},
		{"padding", "Conv3DBackpropInput", graphdef.Attrs{"padding": "EXPLICIT", "strides": []int{1, 1, 1, 1, 1}}, []saIn{saFeed(randF32(1, -1, 1, 1, 4, 4, 4, 3)), f, dy}, classify.ErrInvalidGraph, "padding"},
		{"strides", "Conv3DBackpropInput", graphdef.Attrs{"padding": "SAME", "strides": []int{1, 0, 1, 1, 1}}, []saIn{saFeed(randF32(1, -1, 1, 1, 4, 4, 4, 3)), f, dy}, classify.ErrInvalidGraph, "strides"},
	})
	saCheckShapes(t, []saShapeCase{
		{name: "const_sizes", op: "Conv3DBackpropInputV2", attrs: at, consts: map[int]*classify.Tensor{0: saI32([]int32{2, 3, 4, 5, 6}, 5)},
			in: []classify.TensorInfo{saInfo(classify.Int32, 5), saF32Info(2, 2, 2, 6, 4), saF32Info(-1, 3, 4, 5, 4)}, want: []classify.TensorInfo{saF32Info(2, 3, 4, 5, 6)}},
		{name: "v1_input", op: "Conv3DBackpropInput", attrs: at,
			in: []classify.TensorInfo{saF32Info(-1, 3, 4, 5, 6), saF32Info(2, 2, 2, 6, 4), saF32Info(-1, 3, 4, 5, 4)}, want: []classify.TensorInfo{saF32Info(-1, 3, 4, 5, 6)}},
	})
}

// ncdhw moves the channels of an NDHWC float32 tensor to dimension 1.
func ncdhw(t *classify.Tensor) *classify.Tensor {
	s := t.Shape
	o := classify.NewTensor(classify.Float32, s[0], s[4], s[1], s[2], s[3])
	sp := s[1] * s[2] * s[3]
	for b := range s[0] {
		for i := range sp {
			for k := range s[4] {
				o.Float32s()[(b*s[4]+k)*sp+i] = t.Float32s()[(b*sp+i)*s[4]+k]
			}
		}
	}
	return o
}

// TestConv3DBackpropInputNCDHW checks data_format NCDHW (input_sizes,
// out_backprop and the result channels-first, strides and dilations in
// NCDHW order) against refConv3DBackprop on the channels-last values.
func TestConv3DBackpropInputNCDHW(t *testing.T) {
	for _, c := range []c3bCase{
		{name: "same_strided", size: []int{2, 7, 6, 5, 2}, f: []int{3, 2, 3, 2, 5}, s: [3]int{2, 2, 3}, d: [3]int{1, 1, 1}, pad: "SAME"},
		{name: "valid_dilated", size: []int{1, 7, 7, 7, 3}, f: []int{3, 2, 2, 3, 2}, s: [3]int{1, 2, 1}, d: [3]int{2, 2, 3}, pad: "VALID", konst: true},
		{name: "v1_same", size: []int{1, 5, 4, 6, 3}, f: []int{2, 2, 3, 3, 2}, s: [3]int{2, 1, 2}, d: [3]int{1, 1, 1}, pad: "SAME", v1: true},
		{name: "empty_batch", size: []int{0, 4, 4, 4, 3}, f: []int{2, 2, 2, 3, 4}, s: [3]int{1, 1, 1}, d: [3]int{1, 1, 1}, pad: "SAME"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fwd := conv3dOp{padding: c.pad, stride: c.s, dil: c.d}
			ys := []int{c.size[0], 0, 0, 0, c.f[4]}
			for i := range 3 {
				ys[i+1], _ = fwd.geometry(c.size[i+1], c.f[i], c.s[i], c.d[i])
			}
			f := randF32(1811, -1, 1, c.f...)
			dy := randF32(1812, -1, 1, ys...)
			cf := []int{c.size[0], c.size[4], c.size[1], c.size[2], c.size[3]}
			at := graphdef.Attrs{"T": classify.Float32, "padding": c.pad, "data_format": "NCDHW",
				"strides": []int{1, 1, c.s[0], c.s[1], c.s[2]}, "dilations": []int{1, 1, c.d[0], c.d[1], c.d[2]}}
			op, first := "Conv3DBackpropInputV2", saFeed(saI32([]int32{int32(cf[0]), int32(cf[1]), int32(cf[2]), int32(cf[3]), int32(cf[4])}, 5))
			if c.v1 {
				op, first = "Conv3DBackpropInput", saFeed(randF32(1813, -1, 1, cf...))
			}
			first.konst = c.konst
			out, err := saRun(t, op, at, first, saFeed(f), saFeed(ncdhw(dy)))
			if err != nil {
				t.Fatal(err)
			}
			want := classify.FromFloat32(make([]float32, classify.Shape(c.size).NumElements()), c.size...)
			for i, v := range refConv3DBackprop(c.size, f, dy, c.s, c.d, c.pad == "SAME") {
				want.Float32s()[i] = float32(v)
			}
			checkClose(t, out[0], classifytest.Float64s(ncdhw(want)), cf, 1e-5)
		})
	}
}
