package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TestCastAllPairs casts edge values of every real dtype (and all 65536
// values of float16 and bfloat16) to every other and checks each element
// against refCast, the independent reference.
func TestCastAllPairs(t *testing.T) {
	samples := refSamples()
	for _, src := range realDTypes {
		in := refTensor(src, samples)
		if src == classify.Float16 || src == classify.BFloat16 {
			in = allHalves(src)
		}
		for _, dst := range realDTypes {
			t.Run(src.String()+"_"+dst.String(), func(t *testing.T) {
				out, err := runOp(t, "Cast", graphdef.Attrs{"SrcT": src, "DstT": dst}, in)
				if err != nil {
					t.Fatal(err)
				}
				if out[0].DType != dst || !out[0].Shape.Equal(in.Shape) {
					t.Fatalf("got %v%v, want %v%v", out[0].DType, out[0].Shape, dst, in.Shape)
				}
				checked, bad := 0, 0
				for i := 0; i < in.Len(); i++ {
					want, ok := refCast(refElem(in, i), dst)
					if !ok {
						continue
					}
					checked++
					if got := refElem(out[0], i); !refEqual(got, want) {
						if bad++; bad < 5 {
							t.Errorf("cast of %v: got %v, want %v", refElem(in, i), got, want)
						}
					}
				}
				if checked < in.Len()/4 {
					t.Errorf("only %d of %d elements checked", checked, in.Len())
				}
			})
		}
	}
}

// TestCastX86Edges pins the out-of-range float conversions TensorFlow's
// x86 kernels produce (the reference skips them as undefined in C++).
func TestCastX86Edges(t *testing.T) {
	f := classify.FromFloat32([]float32{300, -1, 70000, 5e9, float32(math.NaN())}, 5)
	for _, c := range []struct {
		dst  classify.DType
		want any
	}{
		{classify.Int8, []int8{44, -1, 112, 0, 0}},
		{classify.Uint16, []uint16{300, 65535, 4464, 0, 0}},
		{classify.Uint32, []uint32{300, 1<<32 - 1, 70000, 705032704, 0}},
	} {
		out, err := mathRun("Cast", graphdef.Attrs{"SrcT": classify.Float32, "DstT": c.dst}, nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if msg := compare(out[0], &classify.Tensor{DType: c.dst, Shape: f.Shape, Data: c.want}, 0, 0); msg != "" {
			t.Errorf("%v: %s", c.dst, msg)
		}
	}
}

// TestCastBF16Truncate: Truncate=true drops the low bits of a float32
// instead of rounding (a NaN stays NaN).
func TestCastBF16Truncate(t *testing.T) {
	in := classify.FromFloat32([]float32{math.Float32frombits(0x3f80ffff), math.Float32frombits(0x7f800001), -1.99}, 3)
	for _, c := range []struct {
		truncate bool
		want     []classify.BF16
	}{
		{true, []classify.BF16{0x3f80, 0x7fc0, 0xbffe}},
		{false, []classify.BF16{0x3f81, 0x7fc0, 0xbfff}},
	} {
		out, err := mathRun("Cast", graphdef.Attrs{"SrcT": classify.Float32, "DstT": classify.BFloat16, "Truncate": c.truncate}, nil, in)
		if err != nil {
			t.Fatal(err)
		}
		got := out[0].Data.([]classify.BF16)
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("Truncate=%v: %g -> %#04x, want %#04x", c.truncate, in.Float32s()[i], got[i], c.want[i])
			}
		}
	}
}
