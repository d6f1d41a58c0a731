package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/internal/graphdef"
	"github.com/classifyd/classifyd/internal/npy"
)

func readNpy(t *testing.T, dir, name string) *classify.Tensor {
	t.Helper()
	x, err := npy.ReadFile(filepath.Join("testdata", dir, fileName(name)))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// checkGoldenF64 runs op with T float64 on the float64 copies of a float32
// golden case's inputs (fed, or constants when konst[i]) and compares with
// the oracle's float32 output within 1e-5.
func checkGoldenF64(t *testing.T, dir, op string, attrs graphdef.Attrs, in []*classify.Tensor, konst []bool) {
	t.Helper()
	at := graphdef.Attrs{}
	for k, v := range attrs {
		at[k] = v
	}
	at["T"] = classify.Float64
	g := graphdef.New()
	feeds := map[string]*classify.Tensor{}
	var ins []graphdef.Output
	for i, x := range in {
		name := saInName(i)
		x = toF64(x)
		if konst[i] {
			ins = append(ins, g.Const(name, x))
		} else {
			ins = append(ins, g.Placeholder(name, x.DType, x.Shape))
			feeds[name] = x
		}
	}
	g.Op(op, "out", ins, at)
	got, err := interpretChecked(t, g, feeds, []graphdef.Output{"out"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].DType != classify.Float64 {
		t.Fatalf("output dtype %v, want float64", got[0].DType)
	}
	want := readNpy(t, dir, "out_out")
	if msg := compare(got[0], want, 1e-5, 1e-6); msg != "" {
		t.Errorf("%s: %s", dir, msg)
	}
}

// TestConvF64Goldens runs every Conv2D, _FusedConv2D and
// DepthwiseConv2dNative oracle case in float64.
func TestConvF64Goldens(t *testing.T) {
	for _, s := range convCases() {
		t.Run(s.name, func(t *testing.T) {
			x := readNpy(t, s.name, "x")
			f := randF32(s.seed+1, -1, 1, s.f...)
			if s.feedFilter {
				f = readNpy(t, s.name, "f")
			}
			strides := s.strides
			if strides == nil {
				strides = []int{1, 1, 1, 1}
			}
			attrs := graphdef.Attrs{"strides": strides, "padding": s.padding, "data_format": "NHWC"}
			if s.dilations != nil {
				attrs["dilations"] = s.dilations
			}
			if s.explicit != nil {
				attrs["explicit_paddings"] = s.explicit
			}
			in, konst := []*classify.Tensor{x, f}, []bool{false, !s.feedFilter}
			if s.fused != nil {
				in, konst = append(in, randF32(s.seed+2, -1, 1, s.biasChannel)), append(konst, true)
				attrs["fused_ops"] = strList(s.fused)
				attrs["num_args"] = 1
				if s.alpha != 0 {
					attrs["leakyrelu_alpha"] = s.alpha
				}
			}
			checkGoldenF64(t, s.name, s.op, attrs, in, konst)
		})
	}
}

// TestPoolF64Goldens runs TestPoolGolden's and TestConv3DGolden's oracle
// cases in float64.
func TestPoolF64Goldens(t *testing.T) {
	for _, c := range []struct {
		name, op string
		k, s     [2]int
		pad      string
	}{
		{"maxpool_same_odd_s2", "MaxPool", [2]int{3, 3}, [2]int{2, 2}, "SAME"},
		{"avgpool_same_odd_s2", "AvgPool", [2]int{3, 3}, [2]int{2, 2}, "SAME"},
		{"avgpool_same_k2s2_odd", "AvgPool", [2]int{2, 2}, [2]int{2, 2}, "SAME"},
		{"maxpool_same_k2s2_odd", "MaxPool", [2]int{2, 2}, [2]int{2, 2}, "SAME"},
		{"avgpool_valid_k2s2", "AvgPool", [2]int{2, 2}, [2]int{2, 2}, "VALID"},
		{"maxpool_valid_k3s1", "MaxPool", [2]int{3, 3}, [2]int{1, 1}, "VALID"},
		{"avgpool_same_3x5_s1", "AvgPool", [2]int{3, 3}, [2]int{1, 1}, "SAME"},
		{"avgpool_same_rect", "AvgPool", [2]int{3, 2}, [2]int{2, 3}, "SAME"},
		{"maxpool_1x1", "MaxPool", [2]int{1, 1}, [2]int{1, 1}, "VALID"},
		{"avgpool_global", "AvgPool", [2]int{7, 7}, [2]int{2, 2}, "VALID"},
		{"maxpool_negative", "MaxPool", [2]int{3, 3}, [2]int{2, 2}, "SAME"},
	} {
		t.Run(c.name, func(t *testing.T) {
			attrs := graphdef.Attrs{"ksize": []int{1, c.k[0], c.k[1], 1}, "strides": []int{1, c.s[0], c.s[1], 1}, "padding": c.pad, "data_format": "NHWC"}
			checkGoldenF64(t, c.name, c.op, attrs, []*classify.Tensor{readNpy(t, c.name, "x")}, []bool{false})
		})
	}
	at := func(pad string, s, d []int) graphdef.Attrs {
		return graphdef.Attrs{"padding": pad, "strides": s, "dilations": d, "data_format": "NDHWC"}
	}
	one := []int{1, 1, 1, 1, 1}
	f := randF32(1502, -1, 1, 3, 2, 3, 3, 4)
	for _, c := range []struct {
		name  string
		attrs graphdef.Attrs
		f     *classify.Tensor
		konst bool
	}{
		{"conv3d_same", at("SAME", one, one), f, true},
		{"conv3d_valid", at("VALID", one, one), f, true},
		{"conv3d_same_strided", at("SAME", []int{1, 2, 1, 3, 1}, one), f, true},
		{"conv3d_valid_strided", at("VALID", []int{1, 2, 2, 2, 1}, one), nil, false},
		{"conv3d_same_dilated", at("SAME", one, []int{1, 2, 1, 2, 1}), f, true},
		{"conv3d_valid_dilated", at("VALID", one, []int{1, 1, 2, 2, 1}), f, true},
		{"conv3d_1x1x1", at("VALID", one, one), randF32(1503, -1, 1, 1, 1, 1, 3, 5), true},
		{"conv3d_parallel", at("SAME", one, one), randF32(1505, -1, 1, 3, 3, 3, 4, 8), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			filt := c.f
			if filt == nil {
				filt = readNpy(t, c.name, "x1")
			}
			checkGoldenF64(t, c.name, "Conv3D", c.attrs, []*classify.Tensor{readNpy(t, c.name, "x0"), filt}, []bool{false, c.konst})
		})
	}
}

// refConv is a float64 NHWC convolution written from TensorFlow's
// definitions: the effective window is (k-1)*d+1; VALID keeps the windows
// inside the input; SAME gives ceil(in/s) outputs with the padding split
// smaller half before; EXPLICIT pads by the given amounts then is VALID.
// depthwise: output channel c*mult+m reads input channel c.
func refConv(x []float64, xs []int, f []float64, fs []int, s, d [2]int, pad string, explicit [4]int, depthwise bool) ([]float64, []int) {
	var out, before [2]int
	for i := range 2 {
		in, ek := xs[i+1], (fs[i]-1)*d[i]+1
		switch pad {
		case "SAME":
			out[i] = (in + s[i] - 1) / s[i]
			before[i] = max((out[i]-1)*s[i]+ek-in, 0) / 2
		case "EXPLICIT":
			in += explicit[2*i] + explicit[2*i+1]
			before[i] = explicit[2*i]
			fallthrough
		default:
			if in >= ek {
				out[i] = (in-ek)/s[i] + 1
			}
		}
	}
	cin := xs[3]
	oc := fs[3]
	if depthwise {
		oc = cin * fs[3]
	}
	shape := []int{xs[0], out[0], out[1], oc}
	y := make([]float64, 0, xs[0]*out[0]*out[1]*oc)
	for b := 0; b < xs[0]; b++ {
		for i := 0; i < out[0]; i++ {
			for j := 0; j < out[1]; j++ {
				for o := 0; o < oc; o++ {
					sum := 0.0
					for ky := 0; ky < fs[0]; ky++ {
						for kx := 0; kx < fs[1]; kx++ {
							iy, ix := i*s[0]-before[0]+ky*d[0], j*s[1]-before[1]+kx*d[1]
							if iy < 0 || ix < 0 || iy >= xs[1] || ix >= xs[2] {
								continue
							}
							px := ((b*xs[1]+iy)*xs[2] + ix) * cin
							if depthwise {
								c, m := o/fs[3], o%fs[3]
								sum += x[px+c] * f[((ky*fs[1]+kx)*cin+c)*fs[3]+m]
								continue
							}
							for c := 0; c < cin; c++ {
								sum += x[px+c] * f[((ky*fs[1]+kx)*cin+c)*oc+o]
							}
						}
					}
					y = append(y, sum)
				}
			}
		}
	}
	return y, shape
}

func randF64(r *rand.Rand, shape ...int) *classify.Tensor {
	t := classify.NewTensor(classify.Float64, shape...)
	for i, d := 0, t.Data.([]float64); i < len(d); i++ {
		d[i] = 2*r.Float64() - 1
	}
	return t
}

func closeF64(t *testing.T, got *classify.Tensor, want []float64, shape []int, tol float64) {
	t.Helper()
	if got.DType != classify.Float64 || !got.Shape.Equal(shape) {
		t.Fatalf("got %v %v, want float64 %v", got.DType, got.Shape, shape)
	}
	for i, w := range want {
		if g := got.Data.([]float64)[i]; math.Abs(g-w) > tol*max(1, math.Abs(w)) {
			t.Fatalf("element %d: got %v, want %v", i, g, w)
		}
	}
}

// TestConvF64Reference checks Conv2D and DepthwiseConv2dNative in float64
// against refConv on random inputs for every padding, stride and dilation
// combination, the filter fed or constant.
func TestConvF64Reference(t *testing.T) {
	r := rand.New(rand.NewPCG(64, 1))
	explicit := [4]int{1, 2, 0, 3}
	for _, op := range []string{"Conv2D", "DepthwiseConv2dNative"} {
		for _, pad := range []string{"SAME", "VALID", "EXPLICIT"} {
			for _, st := range [][2]int{{1, 1}, {2, 2}, {1, 3}} {
				for _, dl := range [][2]int{{1, 1}, {2, 1}, {2, 3}} {
					name := fmt.Sprintf("%s_%s_s%dx%d_d%dx%d", op, pad, st[0], st[1], dl[0], dl[1])
					t.Run(name, func(t *testing.T) {
						xs, fs := []int{2, 9, 8, 3}, []int{3, 2, 3, 4}
						if op == "DepthwiseConv2dNative" {
							fs[3] = 2
						}
						x, f := randF64(r, xs...), randF64(r, fs...)
						at := graphdef.Attrs{"T": classify.Float64, "strides": []int{1, st[0], st[1], 1}, "dilations": []int{1, dl[0], dl[1], 1}, "padding": pad}
						if pad == "EXPLICIT" {
							at["explicit_paddings"] = []int{0, 0, explicit[0], explicit[1], explicit[2], explicit[3], 0, 0}
						}
						want, ws := refConv(x.Data.([]float64), xs, f.Data.([]float64), fs, st, dl, pad, explicit, op != "Conv2D")
						for _, konst := range []bool{false, true} {
							out, err := saRun(t, op, at, saFeed(x), saIn{t: f, konst: konst})
							if err != nil {
								t.Fatal(err)
							}
							closeF64(t, out[0], want, ws, 1e-12)
						}
					})
				}
			}
		}
	}
}

// TestFusedConvF64 checks the fused forms in float64: bias, each
// activation, and _FusedConv2D's residual addend.
func TestFusedConvF64(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 1))
	xs := []int{1, 6, 5, 3}
	x := randF64(r, xs...)
	for _, op := range []string{"_FusedConv2D", "_FusedDepthwiseConv2dNative"} {
		fs := []int{3, 3, 3, 4}
		oc := 4
		if op == "_FusedDepthwiseConv2dNative" {
			fs[3], oc = 2, 6
		}
		f, bias := randF64(r, fs...), randF64(r, oc)
		conv, cs := refConv(x.Data.([]float64), xs, f.Data.([]float64), fs, [2]int{1, 2}, [2]int{1, 1}, "SAME", [4]int{}, op != "_FusedConv2D")
		addend := randF64(r, cs...)
		for _, c := range []struct {
			ops   []string
			alpha float32
			fn    func(float64) float64
		}{
			{[]string{"BiasAdd"}, 0, func(v float64) float64 { return v }},
			{[]string{"BiasAdd", "Relu"}, 0, func(v float64) float64 { return math.Max(v, 0) }},
			{[]string{"BiasAdd", "Relu6"}, 0, func(v float64) float64 { return math.Min(math.Max(v, 0), 6) }},
			{[]string{"BiasAdd", "Elu"}, 0, func(v float64) float64 {
				if v < 0 {
					return math.Expm1(v)
				}
				return v
			}},
			{[]string{"BiasAdd", "LeakyRelu"}, 0.25, func(v float64) float64 { return math.Max(v, 0.25*v) }},
			{[]string{"BiasAdd", "Add", "Relu"}, 0, func(v float64) float64 { return math.Max(v, 0) }},
			{[]string{"BiasAdd", "Add"}, 0, func(v float64) float64 { return v }},
		} {
			add := len(c.ops) > 1 && c.ops[1] == "Add"
			if add && op != "_FusedConv2D" {
				continue
			}
			t.Run(fmt.Sprint(op, c.ops), func(t *testing.T) {
				at := graphdef.Attrs{"T": classify.Float64, "strides": []int{1, 1, 2, 1}, "padding": "SAME", "fused_ops": strList(c.ops), "num_args": 1}
				if c.alpha != 0 {
					at["leakyrelu_alpha"] = c.alpha
				}
				in := []saIn{saFeed(x), saConst(f), saConst(bias)}
				if add {
					at["num_args"] = 2
					in = append(in, saFeed(addend))
				}
				want := make([]float64, len(conv))
				for i, v := range conv {
					v += bias.Data.([]float64)[i%oc]
					if add {
						v += addend.Data.([]float64)[i]
					}
					want[i] = c.fn(v)
				}
				out, err := saRun(t, op, at, in...)
				if err != nil {
					t.Fatal(err)
				}
				closeF64(t, out[0], want, cs, 1e-12)
			})
		}
	}
}

// refConv3D is a float64 NDHWC Conv3D from TensorFlow's definition (SAME
// splits the padding smaller half before).
func refConv3D(x []float64, xs []int, f []float64, fs []int, s, d [3]int, same bool) ([]float64, []int) {
	var out, before [3]int
	for i := range 3 {
		in, ek := xs[i+1], (fs[i]-1)*d[i]+1
		if same {
			out[i] = (in + s[i] - 1) / s[i]
			before[i] = max((out[i]-1)*s[i]+ek-in, 0) / 2
		} else if in >= ek {
			out[i] = (in-ek)/s[i] + 1
		}
	}
	cin, oc := xs[4], fs[4]
	shape := []int{xs[0], out[0], out[1], out[2], oc}
	var y []float64
	for b := 0; b < xs[0]; b++ {
		for i := 0; i < out[0]; i++ {
			for j := 0; j < out[1]; j++ {
				for l := 0; l < out[2]; l++ {
					for o := 0; o < oc; o++ {
						sum := 0.0
						for kd := 0; kd < fs[0]; kd++ {
							for kh := 0; kh < fs[1]; kh++ {
								for kw := 0; kw < fs[2]; kw++ {
									id, ih, iw := i*s[0]-before[0]+kd*d[0], j*s[1]-before[1]+kh*d[1], l*s[2]-before[2]+kw*d[2]
									if id < 0 || ih < 0 || iw < 0 || id >= xs[1] || ih >= xs[2] || iw >= xs[3] {
										continue
									}
									for c := 0; c < cin; c++ {
										sum += x[(((b*xs[1]+id)*xs[2]+ih)*xs[3]+iw)*cin+c] * f[(((kd*fs[1]+kh)*fs[2]+kw)*cin+c)*oc+o]
									}
								}
							}
						}
						y = append(y, sum)
					}
				}
			}
		}
	}
	return y, shape
}

func TestConv3DF64Reference(t *testing.T) {
	r := rand.New(rand.NewPCG(66, 1))
	xs, fs := []int{2, 5, 6, 4, 2}, []int{2, 3, 2, 2, 3}
	for _, pad := range []string{"SAME", "VALID"} {
		for _, st := range [][3]int{{1, 1, 1}, {2, 1, 3}} {
			for _, dl := range [][3]int{{1, 1, 1}, {2, 2, 1}} {
				t.Run(fmt.Sprint(pad, st, dl), func(t *testing.T) {
					x, f := randF64(r, xs...), randF64(r, fs...)
					at := graphdef.Attrs{"T": classify.Float64, "strides": []int{1, st[0], st[1], st[2], 1}, "dilations": []int{1, dl[0], dl[1], dl[2], 1}, "padding": pad}
					want, ws := refConv3D(x.Data.([]float64), xs, f.Data.([]float64), fs, st, dl, pad == "SAME")
					out, err := saRun(t, "Conv3D", at, saFeed(x), saConst(f))
					if err != nil {
						t.Fatal(err)
					}
					closeF64(t, out[0], want, ws, 1e-12)
				})
			}
		}
	}
}

// refPool2D is a float64 NHWC pooling from TensorFlow's definition, padded
// positions left out of both max and mean.
func refPool2D(x []float64, xs []int, k, s [2]int, same, isMax bool) ([]float64, []int) {
	shape5 := []int{xs[0], 1, xs[1], xs[2], xs[3]}
	y, os := refPool3D(x, shape5, [3]int{1, k[0], k[1]}, [3]int{1, s[0], s[1]}, same, isMax)
	return y, []int{os[0], os[2], os[3], os[4]}
}

// TestPoolTypedReference checks MaxPool (every T) and AvgPool (float64),
// and MaxPoolV2, against refPool2D on random inputs spanning each integer
// type's range.
func TestPoolTypedReference(t *testing.T) {
	r := rand.New(rand.NewPCG(67, 1))
	xs := []int{2, 7, 6, 3}
	ranges := map[classify.DType][2]float64{
		classify.Int8: {-128, 127}, classify.Int16: {-32768, 32767}, classify.Uint16: {0, 65535}, classify.Uint8: {0, 255},
		classify.Int32: {-1 << 31, 1<<31 - 1}, classify.Int64: {-1 << 62, 1 << 62},
	}
	for _, dt := range []classify.DType{classify.Float64, classify.Int32, classify.Int64, classify.Uint8, classify.Int8, classify.Int16, classify.Uint16} {
		x := classify.NewTensor(dt, xs...)
		vals := make([]float64, x.Len())
		for i := range vals {
			if dt == classify.Float64 {
				vals[i] = 2*r.Float64() - 1
				continue
			}
			lo, hi := ranges[dt][0], ranges[dt][1]
			vals[i] = math.Floor(lo + (hi-lo+1)*r.Float64())
			vals[i] = min(max(vals[i], lo), hi)
		}
		for i, v := range vals {
			switch d := x.Data.(type) {
			case []float64:
				d[i] = v
			case []int32:
				d[i] = int32(v)
			case []int64:
				d[i] = int64(v)
			case []uint8:
				d[i] = uint8(v)
			case []int8:
				d[i] = int8(v)
			case []int16:
				d[i] = int16(v)
			case []uint16:
				d[i] = uint16(v)
			}
		}
		vals = classifytest.Float64s(x) // exact for every T here but int64 beyond 2^53
		for _, op := range []string{"MaxPool", "AvgPool", "MaxPoolV2"} {
			if op == "AvgPool" && dt != classify.Float64 {
				continue
			}
			for _, c := range []struct {
				pad  string
				k, s [2]int
			}{{"SAME", [2]int{3, 2}, [2]int{2, 2}}, {"VALID", [2]int{2, 3}, [2]int{1, 2}}, {"SAME", [2]int{1, 1}, [2]int{3, 1}}} {
				t.Run(fmt.Sprint(op, dt, c), func(t *testing.T) {
					k, s := []int{1, c.k[0], c.k[1], 1}, []int{1, c.s[0], c.s[1], 1}
					at := graphdef.Attrs{"T": dt, "padding": c.pad, "ksize": k, "strides": s}
					in := []saIn{saFeed(x)}
					if op == "MaxPoolV2" {
						delete(at, "ksize")
						delete(at, "strides")
						in = append(in, saConst(saI32([]int32{1, int32(c.k[0]), int32(c.k[1]), 1}, 4)), saConst(saI32([]int32{1, int32(c.s[0]), int32(c.s[1]), 1}, 4)))
					}
					out, err := saRun(t, op, at, in...)
					if err != nil {
						t.Fatal(err)
					}
					want, ws := refPool2D(vals, xs, c.k, c.s, c.pad == "SAME", op != "AvgPool")
					got := out[0]
					if got.DType != dt || !got.Shape.Equal(ws) {
						t.Fatalf("got %v %v, want %v %v", got.DType, got.Shape, dt, ws)
					}
					tol := 0.0
					if op == "AvgPool" {
						tol = 1e-12
					}
					if dt == classify.Int64 {
						// Compare exactly in int64: the max is one of the inputs.
						gi := got.Data.([]int64)
						for i, w := range want {
							if float64(gi[i]) != w {
								t.Fatalf("element %d: got %d, want %v", i, gi[i], w)
							}
						}
						return
					}
					for i, g := range classifytest.Float64s(got) {
						if math.Abs(g-want[i]) > tol {
							t.Fatalf("element %d: got %v, want %v", i, g, want[i])
						}
					}
				})
			}
		}
	}
}

// TestConvF64Shapes checks shape inference, empty tensors and FLOPs of the
// float64 forms.
func TestConvF64Shapes(t *testing.T) {
	f64 := func(shape ...int) classify.TensorInfo { return saInfo(classify.Float64, shape...) }
	s22 := []int{1, 2, 2, 1}
	saCheckShapes(t, []saShapeCase{
		{name: "conv", op: "Conv2D", attrs: graphdef.Attrs{"T": classify.Float64, "strides": s22, "padding": "SAME"},
			in: []classify.TensorInfo{f64(-1, 7, 8, 3), f64(3, 3, 3, 5)}, want: []classify.TensorInfo{f64(-1, 4, 4, 5)}},
		{name: "depthwise", op: "DepthwiseConv2dNative", attrs: graphdef.Attrs{"T": classify.Float64, "strides": s22, "padding": "VALID"},
			in: []classify.TensorInfo{f64(2, 7, 8, 3), f64(3, 3, 3, 2)}, want: []classify.TensorInfo{f64(2, 3, 3, 6)}},
		{name: "conv3d", op: "Conv3D", attrs: graphdef.Attrs{"T": classify.Float64, "strides": []int{1, 1, 2, 1, 1}, "padding": "SAME"},
			in: []classify.TensorInfo{f64(1, 4, 5, 6, 2), f64(1, 2, 3, 2, 7)}, want: []classify.TensorInfo{f64(1, 4, 3, 6, 7)}},
		{name: "maxpool_int8", op: "MaxPool", attrs: graphdef.Attrs{"T": classify.Int8, "ksize": s22, "strides": s22, "padding": "SAME"},
			in: []classify.TensorInfo{saInfo(classify.Int8, 1, 5, 5, 3)}, want: []classify.TensorInfo{saInfo(classify.Int8, 1, 3, 3, 3)}},
		{name: "avgpool_unknown", op: "AvgPool", attrs: graphdef.Attrs{"T": classify.Float64, "ksize": s22, "strides": s22, "padding": "SAME"},
			in: []classify.TensorInfo{{DType: classify.Float64}}, want: []classify.TensorInfo{{DType: classify.Float64}}},
		{name: "conv_wrong_dtype", op: "Conv2D", attrs: graphdef.Attrs{"T": classify.Float64, "strides": s22, "padding": "SAME"},
			in: []classify.TensorInfo{saF32Info(1, 4, 4, 3), f64(3, 3, 3, 5)}, err: true},
		{name: "pool_wrong_dtype", op: "MaxPool", attrs: graphdef.Attrs{"T": classify.Int16, "ksize": s22, "strides": s22, "padding": "SAME"},
			in: []classify.TensorInfo{saInfo(classify.Int32, 1, 5, 5, 3)}, err: true},
	})
	// Empty batch, channels and outputs.
	for _, c := range []struct {
		op     string
		x, f   []int
		pad    string
		stride int
		want   classify.Shape
	}{
		{"Conv2D", []int{0, 5, 5, 3}, []int{3, 3, 3, 4}, "SAME", 1, classify.Shape{0, 5, 5, 4}},
		{"Conv2D", []int{1, 5, 5, 0}, []int{3, 3, 0, 4}, "SAME", 2, classify.Shape{1, 3, 3, 4}},
		{"Conv2D", []int{1, 2, 5, 3}, []int{3, 3, 3, 4}, "VALID", 1, classify.Shape{1, 0, 3, 4}},
		{"DepthwiseConv2dNative", []int{1, 5, 5, 0}, []int{3, 3, 0, 2}, "SAME", 1, classify.Shape{1, 5, 5, 0}},
		{"DepthwiseConv2dNative", []int{1, 5, 5, 3}, []int{3, 3, 3, 0}, "SAME", 1, classify.Shape{1, 5, 5, 0}},
	} {
		at := graphdef.Attrs{"T": classify.Float64, "strides": []int{1, c.stride, c.stride, 1}, "padding": c.pad}
		out, err := saRun(t, c.op, at, saFeed(classify.NewTensor(classify.Float64, c.x...)), saFeed(classify.NewTensor(classify.Float64, c.f...)))
		if err != nil {
			t.Errorf("%s %v: %v", c.op, c.x, err)
		} else if !out[0].Shape.Equal(c.want) || out[0].DType != classify.Float64 {
			t.Errorf("%s %v: got %v %v, want float64 %v", c.op, c.x, out[0].DType, out[0].Shape, c.want)
		}
	}
	for _, c := range []struct {
		op   string
		dt   classify.DType
		x    []int
		want classify.Shape
	}{
		{"MaxPool", classify.Int8, []int{0, 4, 4, 2}, classify.Shape{0, 2, 2, 2}},
		{"AvgPool", classify.Float64, []int{1, 4, 4, 0}, classify.Shape{1, 2, 2, 0}},
		{"AvgPool", classify.Float64, []int{1, 0, 3, 2}, classify.Shape{1, 0, 2, 2}},
		{"MaxPool", classify.Uint16, []int{1, 3, 0, 2}, classify.Shape{1, 2, 0, 2}},
	} {
		k := []int{1, 2, 2, 1}
		out, err := saRun(t, c.op, graphdef.Attrs{"T": c.dt, "ksize": k, "strides": k, "padding": "SAME"}, saFeed(classify.NewTensor(c.dt, c.x...)))
		if err != nil || !out[0].Shape.Equal(c.want) || out[0].DType != c.dt {
			t.Errorf("%s %v %v: got %v, %v; want %v", c.op, c.dt, c.x, out, err, c.want)
		}
	}
	o, _, err := saBuild("Conv2D", graphdef.Attrs{"T": classify.Float64, "strides": s22, "padding": "SAME"}, saFeed(randF32(1, 0, 1, 1)), saFeed(randF32(1, 0, 1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.(Flopper).FLOPs([]classify.Shape{{1, 8, 8, 3}, {3, 3, 3, 5}}), int64(2*4*4*5*27); got != want {
		t.Errorf("FLOPs %d, want %d", got, want)
	}
}

func TestConvF64Errors(t *testing.T) {
	x := toF64(randF32(1, -1, 1, 1, 5, 5, 3))
	f := toF64(randF32(2, -1, 1, 3, 3, 3, 4))
	one := []int{1, 1, 1, 1}
	at := func(kv ...any) graphdef.Attrs {
		a := graphdef.Attrs{"T": classify.Float64, "strides": one, "padding": "SAME"}
		for i := 0; i < len(kv); i += 2 {
			a[kv[i].(string)] = kv[i+1]
		}
		return a
	}
	inv, bad := classify.ErrInvalidGraph, classify.ErrInvalidInput
	x5 := toF64(randF32(1, -1, 1, 1, 3, 3, 3, 2))
	saCheckErrors(t, []saErrCase{
		{"f32_const_filter", "Conv2D", at(), []saIn{saFeed(x), saConst(randF32(2, -1, 1, 3, 3, 3, 4))}, inv, "want float64"},
		{"f32_filter", "DepthwiseConv2dNative", at(), []saIn{saFeed(x), saFeed(randF32(2, -1, 1, 3, 3, 3, 1))}, bad, "want float64"},
		{"f32_input", "Conv2D", at(), []saIn{saFeed(randF32(1, -1, 1, 1, 5, 5, 3)), saFeed(f)}, bad, "want float64"},
		{"rank3", "Conv2D", at(), []saIn{saFeed(toF64(randF32(1, -1, 1, 5, 5, 3))), saFeed(f)}, bad, "rank 4"},
		{"channels", "Conv2D", at(), []saIn{saFeed(toF64(randF32(1, -1, 1, 1, 5, 5, 2))), saFeed(f)}, bad, "channels"},
		{"dw_channels", "DepthwiseConv2dNative", at(), []saIn{saFeed(toF64(randF32(1, -1, 1, 1, 5, 5, 2))), saFeed(f)}, bad, "channels"},
		{"empty_window", "Conv2D", at(), []saIn{saFeed(x), saFeed(classify.NewTensor(classify.Float64, 0, 3, 3, 4))}, bad, "empty window"},
		{"huge_stride", "Conv2D", at("strides", []int{1, 1 << 40, 1, 1}), []saIn{saFeed(x), saFeed(f)}, inv, "exceed"},
		{"huge_dilation", "DepthwiseConv2dNative", at("dilations", []int{1, 1, 1 << 40, 1}), []saIn{saFeed(x), saFeed(f)}, inv, "exceed"},
		{"huge_explicit", "Conv2D", at("padding", "EXPLICIT", "explicit_paddings", []int{0, 0, 1 << 40, 0, 0, 0, 0, 0}), []saIn{saFeed(x), saFeed(f)}, inv, "exceed"},
		{"huge_output", "Conv2D", at("padding", "EXPLICIT", "explicit_paddings", []int{0, 0, 1 << 27, 0, 1 << 27, 0, 0, 0}), []saIn{saFeed(x), saFeed(f)}, bad, "exceeds"},
		{"bad_padding", "Conv2D", at("padding", "FULL"), []saIn{saFeed(x), saFeed(f)}, inv, "padding"},
		{"nchw", "Conv2D", at("data_format", "NCHW"), []saIn{saFeed(x), saFeed(f)}, classify.ErrUnsupportedOp, "data_format"},
		{"bias_len", "_FusedConv2D", at("fused_ops", strList([]string{"BiasAdd"}), "num_args", 1), []saIn{saFeed(x), saConst(f), saFeed(toF64(randF32(3, 0, 1, 3)))}, bad, "bias"},
		{"bias_f32", "_FusedDepthwiseConv2dNative", at("fused_ops", strList([]string{"BiasAdd"}), "num_args", 1), []saIn{saFeed(x), saConst(toF64(randF32(2, -1, 1, 3, 3, 3, 1))), saFeed(randF32(3, 0, 1, 3))}, bad, "bias"},
		{"addend_shape", "_FusedConv2D", at("fused_ops", strList([]string{"BiasAdd", "Add"}), "num_args", 2), []saIn{saFeed(x), saConst(f), saConst(toF64(randF32(3, 0, 1, 4))), saFeed(toF64(randF32(3, 0, 1, 4)))}, bad, "addend"},
		{"fused_op", "_FusedConv2D", at("fused_ops", strList([]string{"BiasAdd", "Sigmoid"}), "num_args", 1), []saIn{saFeed(x), saConst(f), saConst(toF64(randF32(3, 0, 1, 4)))}, classify.ErrUnsupportedOp, "Sigmoid"},
		{"dw_add", "_FusedDepthwiseConv2dNative", at("fused_ops", strList([]string{"BiasAdd", "Add"}), "num_args", 2), []saIn{saFeed(x), saConst(f), saConst(f), saConst(f)}, classify.ErrUnsupportedOp, "Add"},
		{"conv3d_f32_input", "Conv3D", graphdef.Attrs{"T": classify.Float64, "strides": []int{1, 1, 1, 1, 1}, "padding": "SAME"}, []saIn{saFeed(randF32(1, -1, 1, 1, 3, 3, 3, 2)), saFeed(x5)}, bad, "want float64"},
		{"conv3d_channels", "Conv3D", graphdef.Attrs{"T": classify.Float64, "strides": []int{1, 1, 1, 1, 1}, "padding": "SAME"}, []saIn{saFeed(x5), saFeed(toF64(randF32(1, -1, 1, 1, 1, 1, 3, 2)))}, bad, "input channels"},
		{"conv3d_empty_window", "Conv3D", graphdef.Attrs{"T": classify.Float64, "strides": []int{1, 1, 1, 1, 1}, "padding": "SAME"}, []saIn{saFeed(x5), saFeed(classify.NewTensor(classify.Float64, 1, 0, 1, 2, 2))}, bad, "empty window"},
		{"conv3d_huge_stride", "Conv3D", graphdef.Attrs{"T": classify.Float64, "strides": []int{1, 1, 1 << 40, 1, 1}, "padding": "SAME"}, []saIn{saFeed(x5), saFeed(x5)}, inv, "exceed"},
		{"conv3d_int32", "Conv3D", graphdef.Attrs{"T": classify.Int32, "strides": []int{1, 1, 1, 1, 1}, "padding": "SAME"}, []saIn{saFeed(x5), saFeed(x5)}, inv, "not supported"},
		{"avgpool_int32", "AvgPool", graphdef.Attrs{"T": classify.Int32, "ksize": one, "strides": one, "padding": "SAME"}, []saIn{saFeed(saI32([]int32{1}, 1, 1, 1, 1))}, inv, "unsupported dtype"},
		{"avgpool_int8", "AvgPool", graphdef.Attrs{"T": classify.Int8, "ksize": one, "strides": one, "padding": "SAME"}, []saIn{saFeed(classify.NewTensor(classify.Int8, 1, 1, 1, 1))}, classify.ErrUnsupportedOp, "int8"},
		{"maxpool_uint32", "MaxPool", graphdef.Attrs{"T": classify.Uint32, "ksize": one, "strides": one, "padding": "SAME"}, []saIn{saFeed(classify.NewTensor(classify.Uint32, 1, 1, 1, 1))}, classify.ErrUnsupportedOp, "uint32"},
		{"maxpool_dtype_mismatch", "MaxPool", graphdef.Attrs{"T": classify.Int16, "ksize": one, "strides": one, "padding": "SAME"}, []saIn{saFeed(classify.NewTensor(classify.Int32, 1, 1, 1, 1))}, bad, "T is int16"},
		{"maxpool_rank", "MaxPool", graphdef.Attrs{"T": classify.Float64, "ksize": one, "strides": one, "padding": "SAME"}, []saIn{saFeed(toF64(randF32(1, 0, 1, 2, 2)))}, bad, "4-D"},
		{"maxpool_window", "MaxPool", graphdef.Attrs{"T": classify.Uint8, "ksize": []int{1, 4, 1, 1}, "strides": one, "padding": "VALID"}, []saIn{saFeed(classify.NewTensor(classify.Uint8, 1, 2, 2, 1))}, bad, "larger"},
	})
}

// TestMaxPoolV2Half checks that MaxPoolV2 promotes float16 and bfloat16
// as MaxPool does: the same values as MaxPool on the same input.
func TestMaxPoolV2Half(t *testing.T) {
	x := randF32(68, -4, 4, 1, 5, 6, 2)
	k, s := []int{1, 2, 3, 1}, []int{1, 2, 2, 1}
	for _, dt := range halfDTypes {
		xh := classify.NewTensor(dt, x.Shape...)
		for i, v := range x.Float32s() {
			switch d := xh.Data.(type) {
			case []classify.F16:
				d[i] = classify.F16FromFloat32(v)
			case []classify.BF16:
				d[i] = classify.BF16FromFloat32(v)
			}
		}
		want := mustRun(t, "MaxPool", map[string]any{"T": dt, "ksize": k, "strides": s, "padding": "SAME"}, xh)
		out, err := saRun(t, "MaxPoolV2", graphdef.Attrs{"T": dt, "padding": "SAME"}, saFeed(xh),
			saConst(saI32([]int32{1, 2, 3, 1}, 4)), saConst(saI32([]int32{1, 2, 2, 1}, 4)))
		if err != nil {
			t.Fatal(err)
		}
		if msg := compare(out[0], want, 0, 0); msg != "" || out[0].DType != dt {
			t.Errorf("%v: %v %s", dt, out[0].DType, msg)
		}
	}
}
