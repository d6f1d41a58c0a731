// Package npy reads and writes NumPy .npy files (format 1.0–3.0, C order,
// little-endian float32, float64, int32, int64, uint8 and bool), the format
// in which tensors cross between this project, the oracle and the tests.
// It also reads and writes float16, int8, int16, uint16, uint32 and uint64
// ('<f2', '|i1', '<i2', '<u2', '<u4', '<u8'; big-endian variants are read).
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/rawtensor"
)

// ErrFormat means the data is not a .npy file this package can read.
var ErrFormat = errors.New("npy: bad format")

var magic = []byte("\x93NUMPY")

// maxElements bounds what Read will allocate (1 Gi elements).
const maxElements = 1 << 30

var (
	descrRe = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	orderRe = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	shapeRe = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadFile reads a .npy file.
func ReadFile(path string) (*classify.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Read decodes one .npy array.
func Read(r io.Reader) (*classify.Tensor, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("%w: short header: %v", ErrFormat, err)
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, fmt.Errorf("%w: missing magic", ErrFormat)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf("%w: version %d", ErrFormat, pre[6])
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrFormat, hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	h := string(hdr)
	m := descrRe.FindStringSubmatch(h)
	if m == nil {
		return nil, fmt.Errorf("%w: no descr in header", ErrFormat)
	}
	dt, bigEndian, err := parseDescr(m[1])
	if err != nil {
		return nil, err
	}
	if o := orderRe.FindStringSubmatch(h); o == nil || o[1] == "True" {
		return nil, fmt.Errorf("%w: only C order is supported", ErrFormat)
	}
	s := shapeRe.FindStringSubmatch(h)
	if s == nil {
		return nil, fmt.Errorf("%w: no shape in header", ErrFormat)
	}
	shape := classify.Shape{}
	n := 1
	for _, part := range strings.Split(s[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := strconv.Atoi(strings.TrimSuffix(part, "L"))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%w: bad dimension %q", ErrFormat, part)
		}
		if d > 0 && n > maxElements/d {
			return nil, fmt.Errorf("%w: too many elements", ErrFormat)
		}
		n *= d
		shape = append(shape, d)
	}
	// Read through a growing buffer rather than allocating what the
	// header claims, so a truncated or hostile file costs what it holds.
	want := int64(n) * int64(dt.Size())
	var raw bytes.Buffer
	if got, err := io.CopyN(&raw, r, want); err != nil {
		return nil, fmt.Errorf("%w: data: want %d bytes, have %d: %v", ErrFormat, want, got, err)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		order = binary.BigEndian
	}
	t, err := rawtensor.Decode(dt, shape, raw.Bytes(), order)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return t, nil
}

func parseDescr(d string) (classify.DType, bool, error) {
	if len(d) < 2 {
		return 0, false, fmt.Errorf("%w: dtype %q", ErrFormat, d)
	}
	big := d[0] == '>'
	switch d[1:] {
	case "f4":
		return classify.Float32, big, nil
	case "f8":
		return classify.Float64, big, nil
	case "i4":
		return classify.Int32, big, nil
	case "i8":
		return classify.Int64, big, nil
	case "u1":
		return classify.Uint8, false, nil
	case "b1":
		return classify.Bool, false, nil
	case "i1":
		return classify.Int8, false, nil
	case "f2":
		return classify.Float16, big, nil
	case "i2":
		return classify.Int16, big, nil
	case "u2":
		return classify.Uint16, big, nil
	case "u4":
		return classify.Uint32, big, nil
	case "u8":
		return classify.Uint64, big, nil
	case "c8":
		return classify.Complex64, big, nil
	case "c16":
		return classify.Complex128, big, nil
	}
	return 0, false, fmt.Errorf("%w: unsupported dtype %q", ErrFormat, d)
}

// WriteFile writes t as a .npy file.
func WriteFile(path string, t *classify.Tensor) error {
	var buf bytes.Buffer
	if err := Write(&buf, t); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// Write encodes t as .npy version 1.0. NumPy has no bfloat16, so a
// BFloat16 tensor is written as float32 ('<f4'), which holds every bfloat16
// value exactly; reading the file back gives that float32 tensor.
func Write(w io.Writer, t *classify.Tensor) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if d, ok := t.Data.([]classify.BF16); ok {
		f := make([]float32, len(d))
		for i, v := range d {
			f[i] = v.Float32()
		}
		t = classify.FromFloat32(f, t.Shape...)
	}
	var descr string
	switch t.DType {
	case classify.Float32:
		descr = "<f4"
	case classify.Float64:
		descr = "<f8"
	case classify.Int32:
		descr = "<i4"
	case classify.Int64:
		descr = "<i8"
	case classify.Uint8:
		descr = "|u1"
	case classify.Bool:
		descr = "|b1"
	case classify.Float16:
		descr = "<f2"
	case classify.Int8:
		descr = "|i1"
	case classify.Int16:
		descr = "<i2"
	case classify.Uint16:
		descr = "<u2"
	case classify.Uint32:
		descr = "<u4"
	case classify.Uint64:
		descr = "<u8"
	case classify.Complex64:
		descr = "<c8"
	case classify.Complex128:
		descr = "<c16"
	default:
		return fmt.Errorf("npy: cannot write dtype %v", t.DType)
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.Itoa(d)
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape)
	pad := 64 - (10+len(h)+1)%64
	if pad == 64 {
		pad = 0
	}
	h += strings.Repeat(" ", pad) + "\n"
	var b bytes.Buffer
	b.Write(magic)
	b.Write([]byte{1, 0})
	binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	b.WriteString(h)
	data, err := rawtensor.Append(b.Bytes(), t, binary.LittleEndian)
	if err != nil {
		return fmt.Errorf("npy: %v", err)
	}
	_, err = w.Write(data)
	return err
}
