package ops

import (
	"errors"
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// FuzzMathOps feeds the comparison, logic, selection, division, math and
// scan ops of this brief random small tensors of random dtypes and shapes
// (broadcastable or not, zero divisors, out-of-range axes and indices):
// each must refuse them with an error wrapping a classify sentinel or
// return well-formed tensors, never panic; static shapes, when inferred,
// must agree with the result.
func FuzzMathOps(f *testing.F) {
	f.Add(uint8(0), uint8(1), []byte{2, 3, 1, 3, 0, 5, 0xff, 7})
	f.Add(uint8(7), uint8(1), []byte{1, 4, 1, 1, 0, 0, 0, 3})
	f.Add(uint8(22), uint8(0), []byte{3, 2, 1, 2, 1, 2, 2, 9, 0x80})
	ops := []string{"Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual", "ApproximateEqual",
		"LogicalAnd", "LogicalOr", "LogicalNot", "Select", "SelectV2", "Where", "All", "Any",
		"FloorDiv", "FloorMod", "TruncateDiv", "TruncateMod", "Mod", "Floor", "Ceil", "Round", "Rint", "Sign",
		"Sin", "Acosh", "Erfc", "Softplus", "IsNan", "Atan2", "ClipByValue", "OneHot", "Cumsum", "Cumprod",
		"EnsureShape", "Assert", "MatMul", "BatchMatMulV2", "Softmax"}
	dtypes := []classify.DType{classify.Float32, classify.Float64, classify.Int32, classify.Int64, classify.Uint8, classify.Bool}
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
			s := make(classify.Shape, saAbs(next())%4)
			for i := range s {
				s[i] = saAbs(next()) % 4
			}
			return s
		}
		tensor := func(dt classify.DType, s classify.Shape) *classify.Tensor {
			x := classify.NewTensor(dt, s...)
			for i := 0; i < x.Len(); i++ {
				v := next() % 5
				switch d := x.Data.(type) {
				case []float32:
					d[i] = float32(v) / 2
				case []float64:
					d[i] = float64(v) / 2
				case []int32:
					d[i] = int32(v)
				case []int64:
					d[i] = int64(v)
				case []uint8:
					d[i] = uint8(v)
				case []bool:
					d[i] = v > 0
				}
			}
			return x
		}
		a := tensor(dt, shape())
		b := tensor(dt, shape())
		if next()%2 == 0 {
			b = tensor(dt, a.Shape) // same shape half the time
		}
		axis := mathI32([]int32{int32(next() % 4)})
		attrs := graphdef.Attrs{"T": dt, "Tidx": classify.Int32, "keep_dims": next()%2 == 0, "exclusive": next()%2 == 0,
			"reverse": next()%2 == 0, "axis": next() % 3, "incompatible_shape_error": next()%2 == 0,
			"transpose_a": next()%2 == 0, "transpose_b": next()%2 == 0, "TI": classify.Int32, "shape": shape()}
		var in []saIn
		switch op {
		case "LogicalNot", "Where", "Floor", "Ceil", "Round", "Rint", "Sign", "Sin", "Acosh", "Erfc", "Softplus", "IsNan", "EnsureShape", "Softmax":
			in = []saIn{saFeed(a)}
		case "All", "Any", "Cumsum", "Cumprod":
			in = []saIn{saFeed(a), {t: axis, konst: next()%2 == 0}}
		case "Select", "SelectV2":
			in = []saIn{saFeed(tensor(classify.Bool, shape())), saFeed(a), saFeed(b)}
		case "ClipByValue":
			in = []saIn{saFeed(a), saFeed(b), saFeed(tensor(dt, shape()))}
		case "OneHot":
			in = []saIn{saFeed(tensor(classify.Int32, shape())), saFeed(mathI32([]int32{int32(next())})), saFeed(tensor(dt, nil)), saFeed(tensor(dt, nil))}
		case "Assert":
			in = []saIn{saFeed(tensor(classify.Bool, shape())), saFeed(a)}
		default:
			in = []saIn{saFeed(a), saFeed(b)}
		}
		fuzzRunChecked(t, op, dt, attrs, 4, in)
	})
}

// fuzzRunChecked builds op on in and runs it: an error must wrap a
// classify sentinel; outputs must be valid tensors whose dtypes and shapes
// agree with the kernel's static inference.
func fuzzRunChecked(t *testing.T, op string, dt classify.DType, attrs graphdef.Attrs, slots int, in []saIn) {
	t.Helper()
	o, ins, err := saBuild(op, attrs, in...)
	var out []*classify.Tensor
	if err == nil {
		out, err = o.Run(&Ctx{Threads: 2, Slots: make([]*classify.Tensor, slots)}, ins)
	}
	if err != nil {
		if !errors.Is(err, classify.ErrInvalidInput) && !errors.Is(err, classify.ErrInvalidGraph) && !errors.Is(err, classify.ErrUnsupportedOp) {
			t.Fatalf("%s: error %q wraps no classify sentinel", op, err)
		}
		return
	}
	for i, x := range out {
		if err := x.Validate(); err != nil {
			t.Fatalf("%s %v: output %d: %v", op, dt, i, err)
		}
	}
	sh, ok := o.(Shaper)
	if !ok {
		return
	}
	infos := make([]classify.TensorInfo, len(ins))
	for i, x := range ins {
		infos[i] = classify.TensorInfo{DType: x.DType, Shape: x.Shape}
	}
	st, err := sh.OutputInfo(infos)
	if err != nil {
		t.Fatalf("%s %v: ran, but static inference fails: %v", op, dt, err)
	}
	for i, s := range st {
		if i < len(out) && (s.DType != classify.Invalid && s.DType != out[i].DType || !shapesMatch(s.Shape, out[i].Shape)) {
			t.Fatalf("%s %v: static %v%v, ran %v%v", op, dt, s.DType, s.Shape, out[i].DType, out[i].Shape)
		}
	}
}
