// Package rawtensor converts between classify tensors of fixed-size element
// types and their raw bytes in either byte order: the one element codec
// behind TensorProto's tensor_content, .npy data and SavedModel variable
// bundles.
package rawtensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/classifyd/classifyd/classify"
)

// Decode reads the elements of a tensor of dtype dt and the given shape
// from raw, which must hold exactly shape.NumElements()*dt.Size() bytes.
// It allocates no more than that (the caller bounds the shape), and
// refuses dtypes without a fixed size (strings, variants).
func Decode(dt classify.DType, shape classify.Shape, raw []byte, order binary.ByteOrder) (*classify.Tensor, error) {
	if dt.Size() == 0 {
		return nil, fmt.Errorf("dtype %v has no fixed-size encoding", dt)
	}
	n := shape.NumElements()
	if n < 0 || len(raw)/dt.Size() != n || len(raw)%dt.Size() != 0 {
		return nil, fmt.Errorf("%d bytes for %d elements of %v", len(raw), n, dt)
	}
	t := classify.NewTensor(dt, shape...)
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = math.Float32frombits(order.Uint32(raw[4*i:]))
		}
	case []float64:
		for i := range d {
			d[i] = math.Float64frombits(order.Uint64(raw[8*i:]))
		}
	case []int32:
		for i := range d {
			d[i] = int32(order.Uint32(raw[4*i:]))
		}
	case []int64:
		for i := range d {
			d[i] = int64(order.Uint64(raw[8*i:]))
		}
	case []uint8:
		copy(d, raw)
	case []bool:
		for i := range d {
			d[i] = raw[i] != 0
		}
	case []classify.F16:
		for i := range d {
			d[i] = classify.F16(order.Uint16(raw[2*i:]))
		}
	case []classify.BF16:
		for i := range d {
			d[i] = classify.BF16(order.Uint16(raw[2*i:]))
		}
	case []int8:
		for i := range d {
			d[i] = int8(raw[i])
		}
	case []int16:
		for i := range d {
			d[i] = int16(order.Uint16(raw[2*i:]))
		}
	case []uint16:
		for i := range d {
			d[i] = order.Uint16(raw[2*i:])
		}
	case []uint32:
		for i := range d {
			d[i] = order.Uint32(raw[4*i:])
		}
	case []uint64:
		for i := range d {
			d[i] = order.Uint64(raw[8*i:])
		}
	case []complex64:
		// Real part first, as in C's float _Complex and TensorFlow's
		// std::complex<float>.
		for i := range d {
			d[i] = complex(math.Float32frombits(order.Uint32(raw[8*i:])), math.Float32frombits(order.Uint32(raw[8*i+4:])))
		}
	case []complex128:
		for i := range d {
			d[i] = complex(math.Float64frombits(order.Uint64(raw[16*i:])), math.Float64frombits(order.Uint64(raw[16*i+8:])))
		}
	default:
		return nil, fmt.Errorf("dtype %v has no fixed-size encoding", dt)
	}
	return t, nil
}

// Append appends the elements of t (a fixed-size dtype) to dst; bool is one
// byte 0 or 1 per element.
func Append(dst []byte, t *classify.Tensor, order binary.AppendByteOrder) ([]byte, error) {
	switch d := t.Data.(type) {
	case []float32:
		for _, v := range d {
			dst = order.AppendUint32(dst, math.Float32bits(v))
		}
	case []float64:
		for _, v := range d {
			dst = order.AppendUint64(dst, math.Float64bits(v))
		}
	case []int32:
		for _, v := range d {
			dst = order.AppendUint32(dst, uint32(v))
		}
	case []int64:
		for _, v := range d {
			dst = order.AppendUint64(dst, uint64(v))
		}
	case []uint8:
		dst = append(dst, d...)
	case []bool:
		for _, v := range d {
			b := byte(0)
			if v {
				b = 1
			}
			dst = append(dst, b)
		}
	case []classify.F16:
		for _, v := range d {
			dst = order.AppendUint16(dst, uint16(v))
		}
	case []classify.BF16:
		for _, v := range d {
			dst = order.AppendUint16(dst, uint16(v))
		}
	case []int8:
		for _, v := range d {
			dst = append(dst, byte(v))
		}
	case []int16:
		for _, v := range d {
			dst = order.AppendUint16(dst, uint16(v))
		}
	case []uint16:
		for _, v := range d {
			dst = order.AppendUint16(dst, v)
		}
	case []uint32:
		for _, v := range d {
			dst = order.AppendUint32(dst, v)
		}
	case []uint64:
		for _, v := range d {
			dst = order.AppendUint64(dst, v)
		}
	case []complex64:
		for _, v := range d {
			dst = order.AppendUint32(dst, math.Float32bits(real(v)))
			dst = order.AppendUint32(dst, math.Float32bits(imag(v)))
		}
	case []complex128:
		for _, v := range d {
			dst = order.AppendUint64(dst, math.Float64bits(real(v)))
			dst = order.AppendUint64(dst, math.Float64bits(imag(v)))
		}
	default:
		return dst, fmt.Errorf("dtype %v has no fixed-size encoding", t.DType)
	}
	return dst, nil
}
