package ops

// Debugging and in-place ops that exported graphs keep: Print (TF1:
// forwards its first input), PrintV2 (tf.print: no output here, nothing
// written: a server does not echo tensors a client controls into its
// logs), StringFormat (the string tf.print would print, formatted as
// TensorFlow's Tensor::SummarizeValue does for print_v2), DeepCopy,
// InplaceUpdate/InplaceAdd/InplaceSub (a copy of x with rows i replaced by,
// or combined with, the rows of v) and CumulativeLogsumexp.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("Print", func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs < 1 {
			return nil, n.Errorf("has no input to forward")
		}
		return printOp{}, nil
	})
	allowDTypes("Print", allNewDTypes...)
	Register("PrintV2", func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
		}
		return printV2Op{n}, nil
	})
	Register("StringFormat", buildStringFormat)
	Register("DeepCopy", buildForward(1))
	allowDTypes("DeepCopy", allNewDTypes...)
	for op, kind := range map[string]byte{"InplaceUpdate": '=', "InplaceAdd": '+', "InplaceSub": '-'} {
		Register(op, buildInplace(kind))
	}
	Register("CumulativeLogsumexp", buildCumLogsumexp)
}

type printOp struct{}

func (printOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	return []*classify.Tensor{in[0]}, nil
}

func (printOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return cloneInfo(in[:1]), nil
}

type printV2Op struct{ n *Node }

func (o printV2Op) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if in[0].DType != classify.String || in[0].Len() != 1 {
		return nil, o.n.InputErrorf("input must be a string scalar, got %v %v", in[0].DType, in[0].Shape)
	}
	return nil, nil
}

func (printV2Op) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return nil, nil
}

// ---- StringFormat ----

type stringFormatOp struct {
	n         *Node
	parts     []string
	summarize int
}

// maxFormatBytes bounds one formatted string.
const maxFormatBytes = 1 << 20

func buildStringFormat(n *Node, _ []*classify.Tensor) (Op, error) {
	tmpl, ph := n.String("template", "%s"), n.String("placeholder", "%s")
	if ph == "" {
		return nil, n.Errorf("placeholder must not be empty")
	}
	parts := strings.Split(tmpl, ph)
	if len(parts)-1 != n.NumInputs {
		return nil, n.Errorf("num placeholders in template and num inputs must match: %d vs. %d", len(parts)-1, n.NumInputs)
	}
	return &stringFormatOp{n: n, parts: parts, summarize: int(n.Int("summarize", 3))}, nil
}

func (o *stringFormatOp) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{{DType: classify.String, Shape: classify.Shape{}}}, nil
}

func (o *stringFormatOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	var b strings.Builder
	b.WriteString(o.parts[0])
	for i, t := range in {
		elem, err := elemFormatter(t)
		if err != nil {
			return nil, o.n.InputErrorf("input %d: %v", i, err)
		}
		if len(t.Shape) == 0 {
			b.WriteString(elem(0))
		} else {
			ends := o.summarize
			if ends < 0 {
				ends = t.Len()
			}
			summarizeDim(&b, t.Shape, 0, ends, 0, elem)
		}
		if b.Len() > maxFormatBytes {
			return nil, o.n.InputErrorf("formatted string longer than %d bytes", maxFormatBytes)
		}
		b.WriteString(o.parts[i+1])
	}
	return []*classify.Tensor{{DType: classify.String, Shape: classify.Shape{}, Data: [][]byte{[]byte(b.String())}}}, nil
}

// summarizeDim is PrintOneDimV2: the first and last ends entries of each
// dimension, "..." between when some are left out.
func summarizeDim(b *strings.Builder, shape []int, dim, ends, at int, elem func(int) string) {
	if dim == len(shape) {
		b.WriteString(elem(at))
		return
	}
	if b.Len() > maxFormatBytes {
		return
	}
	b.WriteByte('[')
	count, per := shape[dim], arrProd(shape[dim+1:])
	spacing := func() {
		if dim == len(shape)-1 {
			b.WriteByte(' ')
			return
		}
		b.WriteString(strings.Repeat("\n", len(shape)-dim-1))
		b.WriteString(strings.Repeat(" ", dim+1))
	}
	for i := 0; i < ends && i < count; i++ {
		if i > 0 {
			spacing()
		}
		summarizeDim(b, shape, dim+1, ends, at+per*i, elem)
	}
	if count > 2*ends {
		spacing()
		b.WriteString("...")
	}
	for i := max(ends, count-ends); i < count; i++ {
		spacing()
		summarizeDim(b, shape, dim+1, ends, at+per*i, elem)
	}
	b.WriteByte(']')
}

// elemFormatter prints element i as TensorFlow's PrintOneElement: floats
// with the fewest of 6 or 9 significant digits (15 or 17 for doubles) that
// read back exactly, strings quoted and C-escaped, bools as 1 and 0.
func elemFormatter(t *classify.Tensor) (func(int) string, error) {
	flt := func(v float64, bits int) string {
		switch {
		case math.IsNaN(v):
			return "nan"
		case math.IsInf(v, 1):
			return "inf"
		case math.IsInf(v, -1):
			return "-inf"
		}
		short, long := 6, 9
		if bits == 64 {
			short, long = 15, 17
		}
		s := strconv.FormatFloat(v, 'g', short, bits)
		if back, _ := strconv.ParseFloat(s, bits); back != v {
			s = strconv.FormatFloat(v, 'g', long, bits)
		}
		return s
	}
	switch d := t.Data.(type) {
	case []float32:
		return func(i int) string { return flt(float64(d[i]), 32) }, nil
	case []float64:
		return func(i int) string { return flt(d[i], 64) }, nil
	case []classify.F16:
		return func(i int) string { return flt(float64(d[i].Float32()), 32) }, nil
	case []classify.BF16:
		return func(i int) string { return flt(float64(d[i].Float32()), 32) }, nil
	case []bool:
		return func(i int) string {
			if d[i] {
				return "1"
			}
			return "0"
		}, nil
	case [][]byte:
		return func(i int) string { return `"` + cEscape(d[i]) + `"` }, nil
	}
	if v, ok := ints(t); ok {
		return func(i int) string { return strconv.FormatInt(v[i], 10) }, nil
	}
	switch d := t.Data.(type) {
	case []uint8:
		return func(i int) string { return strconv.Itoa(int(d[i])) }, nil
	case []int8:
		return func(i int) string { return strconv.Itoa(int(d[i])) }, nil
	case []int16:
		return func(i int) string { return strconv.Itoa(int(d[i])) }, nil
	case []uint16:
		return func(i int) string { return strconv.Itoa(int(d[i])) }, nil
	case []uint32:
		return func(i int) string { return strconv.FormatUint(uint64(d[i]), 10) }, nil
	case []uint64:
		return func(i int) string { return strconv.FormatUint(d[i], 10) }, nil
	}
	return nil, fmt.Errorf("cannot format %v", t.DType)
}

// cEscape is absl's Utf8SafeCEscape: \n \r \t \" \' \\ escaped, other
// control bytes and invalid UTF-8 as octal.
func cEscape(s []byte) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"':
			b.WriteString(`\"`)
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, "\\%03o", c)
			} else if c >= 0x80 {
				r, size := utf8.DecodeRune(s[i:])
				if r == utf8.RuneError && size <= 1 {
					fmt.Fprintf(&b, "\\%03o", c)
				} else {
					b.Write(s[i : i+size])
					i += size
					continue
				}
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	return b.String()
}

// ---- InplaceUpdate, InplaceAdd, InplaceSub ----

type inplaceOp struct {
	n    *Node
	kind byte
}

func buildInplace(kind byte) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 3 {
			return nil, n.Errorf("needs 3 inputs (x, i, v), has %d", n.NumInputs)
		}
		return &inplaceOp{n, kind}, nil
	}
}

func (o *inplaceOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return cloneInfo(in[:1]), nil
}

func (o *inplaceOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x, i, v := in[0], in[1], in[2]
	if x.DType != v.DType {
		return nil, o.n.InputErrorf("x is %v but v %v", x.DType, v.DType)
	}
	idx, err := arrInts(i)
	if err != nil || len(i.Shape) != 1 {
		return nil, o.n.InputErrorf("i must be an int32 vector, got %v %v", i.DType, i.Shape)
	}
	if len(x.Shape) == 0 {
		return nil, o.n.InputErrorf("x must be at least 1-D")
	}
	want := append(classify.Shape{len(idx)}, x.Shape[1:]...)
	if !v.Shape.Equal(want) {
		return nil, o.n.InputErrorf("i and x shape doesn't match: v is %v, want %v", v.Shape, want)
	}
	for _, r := range idx {
		if r < 0 || r >= x.Shape[0] {
			return nil, o.n.InputErrorf("index %d is out of range [0, %d)", r, x.Shape[0])
		}
	}
	tuples := &classify.Tensor{DType: classify.Int32, Shape: classify.Shape{len(idx), 1}, Data: i.Int32s()}
	if i.DType == classify.Int64 {
		tuples.DType, tuples.Data = classify.Int64, i.Int64s()
	}
	return (&tensorScatterOp{n: o.n, kind: o.kind}).Run(ctx, []*classify.Tensor{x, tuples, v})
}

// ---- CumulativeLogsumexp ----

type cumLSEOp struct {
	n                  *Node
	exclusive, reverse bool
}

func buildCumLogsumexp(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("want 2 inputs (x, axis), have %d", n.NumInputs)
	}
	return &cumLSEOp{n: n, exclusive: n.Bool("exclusive", false), reverse: n.Bool("reverse", false)}, nil
}

func (o *cumLSEOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	return cloneInfo(in[:1]), nil
}

func (o *cumLSEOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	x := in[0]
	a, err := arrScalarInt(in[1])
	if err != nil || len(in[1].Shape) != 0 {
		return nil, o.n.InputErrorf("axis must be an int scalar, got %v %v", in[1].DType, in[1].Shape)
	}
	r := len(x.Shape)
	if a < -r || a >= r {
		return nil, o.n.InputErrorf("axis %d out of range for rank %d", a, r)
	}
	if a < 0 {
		a += r
	}
	outer, n, inner := arrProd(x.Shape[:a]), x.Shape[a], arrProd(x.Shape[a+1:])
	out := ctx.Output(0, x.DType, x.Shape...)
	switch d := out.Data.(type) {
	case []float32:
		cumLSE(d, x.Float32s(), outer, n, inner, o.exclusive, o.reverse)
	case []float64:
		cumLSE(d, x.Data.([]float64), outer, n, inner, o.exclusive, o.reverse)
	default:
		return nil, o.n.InputErrorf("unsupported dtype %v (float32 or float64)", x.DType)
	}
	return []*classify.Tensor{out}, nil
}

// cumLSE scans log(exp(a) + exp(b)) = max + log1p(exp(min - max)), in
// float64.
func cumLSE[T float32 | float64](d, x []T, outer, n, inner int, exclusive, reverse bool) {
	lse := func(a, b float64) float64 {
		hi, lo := math.Max(a, b), math.Min(a, b)
		if math.IsInf(hi, -1) {
			return hi
		}
		return hi + math.Log1p(math.Exp(lo-hi))
	}
	for p := range outer {
		for s := range inner {
			acc := math.Inf(-1)
			for k := range n {
				j := k
				if reverse {
					j = n - 1 - k
				}
				at := (p*n+j)*inner + s
				v := float64(x[at])
				if !exclusive {
					acc = lse(acc, v)
				}
				d[at] = T(acc)
				if exclusive {
					acc = lse(acc, v)
				}
			}
		}
	}
}
