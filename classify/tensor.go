package classify

import (
	"fmt"
	"strings"
)

// DType is the element type of a Tensor.
type DType uint8

// The element types the engines understand. The Go type of Tensor.Data for
// each is given in its comment.
const (
	Invalid DType = iota
	Float32       // []float32
	Int32         // []int32
	Int64         // []int64
	Bool          // []bool
	Uint8         // []uint8 (also TensorFlow's quint8)
	String        // [][]byte
	Float64       // []float64
	// Variant holds engine-specific values such as TensorFlow's tensor
	// lists (DT_VARIANT). Data is []any; its values are immutable, so
	// Clone copies the slice, not what it points to.
	Variant // []any
	// Float16 is IEEE 754 binary16 (TensorFlow's DT_HALF), BFloat16 the
	// top 16 bits of a float32 (DT_BFLOAT16); both are held as their bit
	// patterns in named uint16 types, converted with the functions of
	// half.go.
	Float16  // []F16
	BFloat16 // []BF16
	Int8     // []int8
	Int16    // []int16
	Uint16   // []uint16
	Uint32   // []uint32
	Uint64   // []uint64
	// Complex64 and Complex128 are TensorFlow's DT_COMPLEX64 and
	// DT_COMPLEX128: a pair of float32 (float64) real and imaginary parts.
	Complex64  // []complex64
	Complex128 // []complex128
)

var dtypeNames = [...]string{"invalid", "float32", "int32", "int64", "bool", "uint8", "string", "float64", "variant",
	"float16", "bfloat16", "int8", "int16", "uint16", "uint32", "uint64",
	"complex64", "complex128"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", d)
}

// Size is the number of bytes one element takes (0 for String and
// Variant).
func (d DType) Size() int {
	switch d {
	case Float32, Int32, Uint32:
		return 4
	case Int64, Float64, Uint64, Complex64:
		return 8
	case Complex128:
		return 16
	case Bool, Uint8, Int8:
		return 1
	case Float16, BFloat16, Int16, Uint16:
		return 2
	}
	return 0
}

// Shape is a tensor's dimensions. In a TensorInfo, -1 marks a dimension that
// is only known at run time; a nil Shape there means the rank is unknown.
type Shape []int

// NumElements is the product of the dimensions (1 for a scalar). It is
// meaningless when a dimension is negative.
func (s Shape) NumElements() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether two shapes have the same dimensions.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Compatible reports whether the concrete shape o fits s, where -1 in s
// matches any size and a nil s matches any shape.
func (s Shape) Compatible(o Shape) bool {
	if s == nil {
		return true
	}
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] >= 0 && s[i] != o[i] {
			return false
		}
	}
	return true
}

func (s Shape) String() string {
	if s == nil {
		return "<unknown>"
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		if d < 0 {
			b.WriteByte('?')
		} else {
			fmt.Fprint(&b, d)
		}
	}
	b.WriteByte(']')
	return b.String()
}

// Clone returns a copy of s that shares no memory with it.
func (s Shape) Clone() Shape {
	if s == nil {
		return nil
	}
	return append(Shape{}, s...)
}

// Tensor is a dense, row-major (C order) n-dimensional array. Data holds a
// slice of the Go type named by DType, of length Shape.NumElements().
//
// Tensors handed to an engine are read, never written; a Tensor returned by
// Model.Run belongs to the caller.
type Tensor struct {
	DType DType
	Shape Shape
	Data  any
}

// NewTensor allocates a zero-filled tensor.
func NewTensor(dt DType, shape ...int) *Tensor {
	n := Shape(shape).NumElements()
	var data any
	switch dt {
	case Float32:
		data = make([]float32, n)
	case Int32:
		data = make([]int32, n)
	case Int64:
		data = make([]int64, n)
	case Bool:
		data = make([]bool, n)
	case Uint8:
		data = make([]uint8, n)
	case String:
		data = make([][]byte, n)
	case Float64:
		data = make([]float64, n)
	case Variant:
		data = make([]any, n)
	case Float16:
		data = make([]F16, n)
	case BFloat16:
		data = make([]BF16, n)
	case Int8:
		data = make([]int8, n)
	case Int16:
		data = make([]int16, n)
	case Uint16:
		data = make([]uint16, n)
	case Uint32:
		data = make([]uint32, n)
	case Uint64:
		data = make([]uint64, n)
	case Complex64:
		data = make([]complex64, n)
	case Complex128:
		data = make([]complex128, n)
	default:
		panic(fmt.Sprintf("classify.NewTensor: bad dtype %v", dt))
	}
	return &Tensor{DType: dt, Shape: Shape(shape).Clone(), Data: data}
}

// FromFloat32 wraps data (not copied) as a float32 tensor of the given shape.
func FromFloat32(data []float32, shape ...int) *Tensor {
	return &Tensor{DType: Float32, Shape: Shape(shape).Clone(), Data: data}
}

// Float32s returns the data of a float32 tensor, or nil for another dtype.
func (t *Tensor) Float32s() []float32 { d, _ := t.Data.([]float32); return d }

// Int32s returns the data of an int32 tensor, or nil for another dtype.
func (t *Tensor) Int32s() []int32 { d, _ := t.Data.([]int32); return d }

// Int64s returns the data of an int64 tensor, or nil for another dtype.
func (t *Tensor) Int64s() []int64 { d, _ := t.Data.([]int64); return d }

// Bools returns the data of a bool tensor, or nil for another dtype.
func (t *Tensor) Bools() []bool { d, _ := t.Data.([]bool); return d }

// Uint8s returns the data of a uint8 tensor, or nil for another dtype.
func (t *Tensor) Uint8s() []uint8 { d, _ := t.Data.([]uint8); return d }

// Len is the number of elements the data slice holds.
func (t *Tensor) Len() int {
	switch d := t.Data.(type) {
	case []float32:
		return len(d)
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []bool:
		return len(d)
	case []uint8:
		return len(d)
	case [][]byte:
		return len(d)
	case []float64:
		return len(d)
	case []any:
		return len(d)
	case []F16:
		return len(d)
	case []BF16:
		return len(d)
	case []int8:
		return len(d)
	case []int16:
		return len(d)
	case []uint16:
		return len(d)
	case []uint32:
		return len(d)
	case []uint64:
		return len(d)
	case []complex64:
		return len(d)
	case []complex128:
		return len(d)
	}
	return 0
}

// Validate checks that Data has the Go type DType names and the length the
// Shape requires. Engines call it on every fed tensor.
func (t *Tensor) Validate() error {
	if t == nil {
		return fmt.Errorf("%w: nil tensor", ErrInvalidInput)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("%w: negative dimension in shape %v", ErrInvalidInput, t.Shape)
		}
	}
	var ok bool
	switch t.DType {
	case Float32:
		_, ok = t.Data.([]float32)
	case Int32:
		_, ok = t.Data.([]int32)
	case Int64:
		_, ok = t.Data.([]int64)
	case Bool:
		_, ok = t.Data.([]bool)
	case Uint8:
		_, ok = t.Data.([]uint8)
	case String:
		_, ok = t.Data.([][]byte)
	case Float64:
		_, ok = t.Data.([]float64)
	case Variant:
		_, ok = t.Data.([]any)
	case Float16:
		_, ok = t.Data.([]F16)
	case BFloat16:
		_, ok = t.Data.([]BF16)
	case Int8:
		_, ok = t.Data.([]int8)
	case Int16:
		_, ok = t.Data.([]int16)
	case Uint16:
		_, ok = t.Data.([]uint16)
	case Uint32:
		_, ok = t.Data.([]uint32)
	case Uint64:
		_, ok = t.Data.([]uint64)
	case Complex64:
		_, ok = t.Data.([]complex64)
	case Complex128:
		_, ok = t.Data.([]complex128)
	}
	if !ok {
		return fmt.Errorf("%w: dtype %v does not match data of type %T", ErrInvalidInput, t.DType, t.Data)
	}
	if n := t.Shape.NumElements(); n != t.Len() {
		return fmt.Errorf("%w: shape %v needs %d elements, data has %d", ErrInvalidInput, t.Shape, n, t.Len())
	}
	return nil
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: t.Shape.Clone()}
	switch d := t.Data.(type) {
	case []float32:
		c.Data = append([]float32(nil), d...)
	case []int32:
		c.Data = append([]int32(nil), d...)
	case []int64:
		c.Data = append([]int64(nil), d...)
	case []bool:
		c.Data = append([]bool(nil), d...)
	case []uint8:
		c.Data = append([]uint8(nil), d...)
	case [][]byte:
		c.Data = append([][]byte(nil), d...)
	case []float64:
		c.Data = append([]float64(nil), d...)
	case []any:
		c.Data = append([]any(nil), d...)
	case []F16:
		c.Data = append([]F16(nil), d...)
	case []BF16:
		c.Data = append([]BF16(nil), d...)
	case []int8:
		c.Data = append([]int8(nil), d...)
	case []int16:
		c.Data = append([]int16(nil), d...)
	case []uint16:
		c.Data = append([]uint16(nil), d...)
	case []uint32:
		c.Data = append([]uint32(nil), d...)
	case []uint64:
		c.Data = append([]uint64(nil), d...)
	case []complex64:
		c.Data = append([]complex64(nil), d...)
	case []complex128:
		c.Data = append([]complex128(nil), d...)
	}
	return c
}
