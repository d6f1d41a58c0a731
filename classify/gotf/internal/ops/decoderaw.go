package ops

import (
	"encoding/binary"
	"slices"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/rawtensor"
)

// DecodeRaw and DecodePaddedRaw reinterpret the bytes of each string as
// elements of out_type (decode_raw_op.cc, decode_padded_raw_op.cc): the
// output is the input's shape plus one dimension, the element count of one
// string. Bytes are read in the order little_endian names; complex parts
// are ordered each on its own, real part first, as TensorFlow swaps them.
// A bool is true for any nonzero byte (TensorFlow copies the byte).

// decodeRawTypes are the out_type values TensorFlow registers CPU kernels
// for, by op.
var decodeRawTypes = map[string][]classify.DType{
	"DecodeRaw": {classify.Float16, classify.Float32, classify.Float64, classify.Int32, classify.Uint16, classify.Uint8,
		classify.Int16, classify.Int8, classify.Int64, classify.Bool, classify.Complex64, classify.Complex128},
	"DecodePaddedRaw": {classify.Float32, classify.Float64, classify.Int32, classify.Uint16, classify.Uint8,
		classify.Int16, classify.Int8, classify.Int64, classify.BFloat16},
}

func init() {
	for op, dts := range decodeRawTypes {
		Register(op, buildDecodeRaw(op == "DecodePaddedRaw"))
		for _, dt := range dts {
			if gatedDTypes[dt] {
				allowDTypes(op, dt)
			}
		}
	}
}

func buildDecodeRaw(padded bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		want := 1
		if padded {
			want = 2
		}
		if n.NumInputs != want {
			return nil, n.Errorf("needs %d inputs, has %d", want, n.NumInputs)
		}
		dt := n.Type("out_type")
		if !slices.Contains(decodeRawTypes[n.Op], dt) {
			return nil, n.Errorf("out_type %v is not one %s decodes to", dt, n.Op)
		}
		var order binary.ByteOrder = binary.LittleEndian
		if !n.Bool("little_endian", true) {
			order = binary.BigEndian
		}
		return OpFunc(func(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
			x := in[0]
			if x.DType != classify.String {
				return nil, n.InputErrorf("input must be a string tensor, got %v", x.DType)
			}
			strs := x.Data.([][]byte)
			width := 0 // bytes per string in the output
			if padded {
				w, err := arrScalarInt(in[1])
				switch {
				case err != nil || len(in[1].Shape) != 0:
					return nil, n.InputErrorf("fixed_length must be an int32 scalar")
				case w <= 0 || w%dt.Size() != 0:
					return nil, n.InputErrorf("fixed_length %d must be a positive multiple of %d, the size of %v", w, dt.Size(), dt)
				}
				width = w
			} else {
				for i, s := range strs {
					if i == 0 {
						width = len(s)
					} else if len(s) != width {
						return nil, n.InputErrorf("input strings must all be the same size, but element %d has size %d != %d", i, len(s), width)
					}
				}
				if width%dt.Size() != 0 {
					return nil, n.InputErrorf("input of length %d is not a multiple of %d, the size of %v", width, dt.Size(), dt)
				}
			}
			shape := append(x.Shape.Clone(), width/dt.Size())
			if err := arrCheckDims(shape); err != nil {
				return nil, n.InputErrorf("output %v", err)
			}
			// Each string, cut or zero-padded to width bytes, one after the other.
			raw := make([]byte, len(strs)*width)
			for i, s := range strs {
				copy(raw[i*width:(i+1)*width], s)
			}
			out, err := rawtensor.Decode(dt, shape, raw, order)
			if err != nil {
				return nil, n.InputErrorf("%v", err)
			}
			return []*classify.Tensor{out}, nil
		}), nil
	}
}
