package ops

import (
	"math"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// FuzzGuardedBitwiseSpecial feeds the guarded binary ops, L2Loss, the
// bitwise ops and the special functions random small tensors of random
// dtypes and shapes, with values around the functions' edges (zeros,
// negative integers, huge and non-finite values, out-of-range shifts):
// each must refuse them with an error wrapping a classify sentinel or
// return well-formed tensors whose static shape agrees, never panic or
// hang.
func FuzzGuardedBitwiseSpecial(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{1, 3, 1, 3, 0, 5, 0xff, 7})
	f.Add(uint8(9), uint8(3), []byte{2, 2, 2, 1, 1, 0x80, 0x7f, 3, 9})
	f.Add(uint8(30), uint8(1), []byte{0, 0, 0, 1, 2, 3, 4, 5, 6, 7})
	ops := []string{"DivNoNan", "MulNoNan", "Xlogy", "Xdivy", "Xlog1py", "L2Loss",
		"BitwiseAnd", "BitwiseOr", "BitwiseXor", "LeftShift", "RightShift", "Invert", "PopulationCount",
		"Lgamma", "Digamma", "Erfinv", "Ndtri", "Igamma", "Igammac", "Zeta", "Polygamma", "Betainc",
		"BesselI0", "BesselI0e", "BesselI1", "BesselI1e", "BesselK0", "BesselK0e", "BesselK1", "BesselK1e",
		"BesselJ0", "BesselJ1", "BesselY0", "BesselY1"}
	dtypes := []classify.DType{classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Uint8,
		classify.Int8, classify.Uint16, classify.Uint64, classify.Float16, classify.Bool}
	edges := []float64{0, 1, -1, 2, -2.5, 0.5, 1e30, -1e30, math.Inf(1), math.Inf(-1), math.NaN(), 64, -1e15 + 0.5, 1e-30, 100, 1e300}
	f.Fuzz(func(t *testing.T, which, dti uint8, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			v := int(int8(data[0]))
			data = data[1:]
			return v
		}
		op := ops[int(which)%len(ops)]
		dt := dtypes[int(dti)%len(dtypes)]
		shape := func() classify.Shape {
			s := make(classify.Shape, saAbs(next())%3)
			for i := range s {
				s[i] = saAbs(next()) % 4
			}
			return s
		}
		tensor := func(s classify.Shape) *classify.Tensor {
			x := classify.NewTensor(dt, s...)
			for i := 0; i < x.Len(); i++ {
				v := next()
				e := edges[saAbs(v)%len(edges)]
				switch d := x.Data.(type) {
				case []float32:
					d[i] = float32(e)
				case []float64:
					d[i] = e
				case []classify.F16:
					d[i] = classify.F16FromFloat32(float32(e))
				case []int32:
					d[i] = int32(v) * 3
				case []int64:
					d[i] = int64(v) << 20
				case []uint8:
					d[i] = uint8(v)
				case []int8:
					d[i] = int8(v)
				case []uint16:
					d[i] = uint16(v) * 300
				case []uint64:
					d[i] = uint64(v) << 40
				case []bool:
					d[i] = v > 0
				}
			}
			return x
		}
		a := tensor(shape())
		b := tensor(shape())
		if next()%2 == 0 {
			b = tensor(a.Shape)
		}
		var in []saIn
		switch op {
		case "L2Loss", "Invert", "PopulationCount", "Lgamma", "Digamma", "Erfinv", "Ndtri",
			"BesselI0", "BesselI0e", "BesselI1", "BesselI1e", "BesselK0", "BesselK0e", "BesselK1", "BesselK1e",
			"BesselJ0", "BesselJ1", "BesselY0", "BesselY1":
			in = []saIn{saFeed(a)}
		case "Betainc":
			c := tensor(shape())
			if next()%2 == 0 {
				c = tensor(a.Shape)
			}
			in = []saIn{saFeed(a), saFeed(b), saFeed(c)}
		default:
			in = []saIn{saFeed(a), saFeed(b)}
		}
		fuzzRunChecked(t, op, dt, graphdef.Attrs{"T": dt}, 2, in)
	})
}
