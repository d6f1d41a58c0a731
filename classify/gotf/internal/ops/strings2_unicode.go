package ops

import (
	"encoding/binary"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/classifyd/classifyd/classify"
)

// The Unicode ops of tf.strings (TensorFlow's unicode_ops.cc, which decodes
// with ICU converters and builds ICU UTF-16 strings): UnicodeDecode,
// UnicodeDecodeWithOffsets, UnicodeEncode and UnicodeTranscode.
//
// Decoding reads one character or one ill-formed sequence at a time. For
// UTF-8 an ill-formed sequence is a maximal subpart (the longest prefix of
// a well-formed sequence, else one byte), as ICU and the Unicode Standard's
// "best practice" (§3.9, Table 3-8) have it, so "\xE2\x82" is one error,
// where Go's utf8 package would see two.
func init() {
	Register("UnicodeDecode", buildUnicodeDecode(false))
	Register("UnicodeDecodeWithOffsets", buildUnicodeDecode(true))
	Register("UnicodeEncode", buildUnicodeEncode)
	Register("UnicodeTranscode", buildUnicodeTranscode)
}

// decoder reads the next character of s (len(s) > 0): its code point, the
// bytes it took and whether they were ill-formed.
type decoder func(s []byte) (r rune, n int, bad bool)

// inputDecoder finds the decoder of an ICU converter name, compared as ICU
// compares names (letters and digits only, any case). Only the encodings
// below are supported, not all of ICU's.
func inputDecoder(name string) (decoder, bool) {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b.WriteRune(c)
		}
	}
	switch b.String() {
	case "utf8":
		return decodeUTF8, true
	case "utf16be":
		return decodeUTF16(binary.BigEndian), true
	case "utf16le":
		return decodeUTF16(binary.LittleEndian), true
	case "utf32be":
		return decodeUTF32(binary.BigEndian), true
	case "utf32le":
		return decodeUTF32(binary.LittleEndian), true
	case "usascii", "ascii":
		return func(s []byte) (rune, int, bool) {
			if s[0] >= 0x80 {
				return utf8.RuneError, 1, true
			}
			return rune(s[0]), 1, false
		}, true
	case "iso88591", "latin1":
		return func(s []byte) (rune, int, bool) { return rune(s[0]), 1, false }, true
	}
	return nil, false
}

func decodeUTF8(s []byte) (rune, int, bool) {
	c := s[0]
	if c < 0x80 {
		return rune(c), 1, false
	}
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch {
	case 0xC2 <= c && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case 0xE1 <= c && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case 0xF1 <= c && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return utf8.RuneError, 1, true
	}
	r := rune(c & (0x3F >> need))
	for i := 1; i <= need; i++ {
		if i >= len(s) {
			return utf8.RuneError, i, true
		}
		x := s[i]
		if i > 1 {
			lo, hi = 0x80, 0xBF
		}
		if x < lo || x > hi {
			return utf8.RuneError, i, true
		}
		r = r<<6 | rune(x&0x3F)
	}
	return r, need + 1, false
}

func decodeUTF16(bo binary.ByteOrder) decoder {
	return func(s []byte) (rune, int, bool) {
		if len(s) < 2 {
			return utf8.RuneError, len(s), true
		}
		u := rune(bo.Uint16(s))
		switch {
		case 0xD800 <= u && u <= 0xDBFF:
			if len(s) < 4 {
				return utf8.RuneError, len(s), true
			}
			if v := rune(bo.Uint16(s[2:])); 0xDC00 <= v && v <= 0xDFFF {
				return 0x10000 + (u-0xD800)<<10 + (v - 0xDC00), 4, false
			}
			return utf8.RuneError, 2, true
		case 0xDC00 <= u && u <= 0xDFFF:
			return utf8.RuneError, 2, true
		}
		return u, 2, false
	}
}

func decodeUTF32(bo binary.ByteOrder) decoder {
	return func(s []byte) (rune, int, bool) {
		if len(s) < 4 {
			return utf8.RuneError, len(s), true
		}
		u := bo.Uint32(s)
		if u > 0x10FFFF || 0xD800 <= u && u <= 0xDFFF {
			return utf8.RuneError, 4, true
		}
		return rune(u), 4, false
	}
}

// unicodeErrors are the errors, replacement_char and
// replace_control_characters attributes.
type unicodeErrors struct {
	strict, ignore, control bool
	subst                   rune
}

func parseUnicodeErrors(n *Node) (unicodeErrors, error) {
	var e unicodeErrors
	switch p := n.String("errors", "replace"); p {
	case "replace":
	case "ignore":
		e.ignore = true
	case "strict":
		e.strict = true
	default:
		return e, n.Errorf("errors policy %q must be one of 'strict', 'replace', or 'ignore'", p)
	}
	r := n.Int("replacement_char", 0xFFFD)
	if r < 0 || r > 0x10FFFF {
		return e, n.Errorf("replacement_char %d out of unicode codepoint range", r)
	}
	e.subst = rune(r)
	e.control = n.Bool("replace_control_characters", false)
	return e, nil
}

// outputEncoding is one of the three encodings UnicodeEncode and
// UnicodeTranscode write.
func outputEncoding(n *Node) (string, error) {
	switch enc := n.String("output_encoding", ""); enc {
	case "UTF-8", "UTF-16-BE", "UTF-32-BE":
		return enc, nil
	default:
		return "", n.Errorf("invalid encoding %q: should be one of UTF-8, UTF-16-BE, UTF-32-BE", enc)
	}
}

// appendUnit appends r to the UTF-16 string u as ICU's appendCodePoint
// does: a BMP value (a surrogate too) as one unit, a supplementary one as
// a pair, anything else not at all.
func appendUnit(u []uint16, r rune) []uint16 {
	switch {
	case r < 0 || r > 0x10FFFF:
		return u
	case r <= 0xFFFF:
		return append(u, uint16(r))
	}
	r -= 0x10000
	return append(u, uint16(0xD800+r>>10), uint16(0xDC00+r&0x3FF))
}

// encodeUnits writes the UTF-16 string u in enc as TensorFlow's Encode
// does: UTF-8 through ICU's toUTF8String (a lone surrogate becomes
// U+FFFD), UTF-16-BE unit by unit, UTF-32-BE by code point (a lone
// surrogate as itself).
func encodeUnits(u []uint16, enc string) []byte {
	if enc == "UTF-16-BE" {
		out := make([]byte, 2*len(u))
		for i, x := range u {
			binary.BigEndian.PutUint16(out[2*i:], x)
		}
		return out
	}
	var out []byte
	for i := 0; i < len(u); i++ {
		r := rune(u[i])
		if 0xD800 <= r && r <= 0xDBFF && i+1 < len(u) && 0xDC00 <= u[i+1] && u[i+1] <= 0xDFFF {
			r = 0x10000 + (r-0xD800)<<10 + (rune(u[i+1]) - 0xDC00)
			i++
		}
		if enc == "UTF-32-BE" {
			out = binary.BigEndian.AppendUint32(out, uint32(r))
		} else {
			out = utf8.AppendRune(out, r) // a surrogate gives U+FFFD
		}
	}
	return out
}

type unicodeDecode struct {
	n       *Node
	dec     decoder
	e       unicodeErrors
	splits  classify.DType
	offsets bool
}

func buildUnicodeDecode(offsets bool) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
		}
		e, err := parseUnicodeErrors(n)
		if err != nil {
			return nil, err
		}
		enc := n.String("input_encoding", "")
		dec, ok := inputDecoder(enc)
		if !ok {
			return nil, n.Errorf("could not create converter for input encoding %q (supported: UTF-8, UTF-16BE/LE, UTF-32BE/LE, US-ASCII, ISO-8859-1)", enc)
		}
		sp := classify.Int64
		if n.Has("Tsplits") {
			sp = n.Type("Tsplits")
		}
		if sp != classify.Int64 && sp != classify.Int32 {
			return nil, n.Errorf("Tsplits %v, want int32 or int64", sp)
		}
		return unicodeDecode{n, dec, e, sp, offsets}, nil
	}
}

func (o unicodeDecode) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	rows := -1
	if len(in) > 0 && in[0].Shape != nil {
		rows = in[0].Shape.NumElements() + 1
		for _, d := range in[0].Shape {
			if d < 0 {
				rows = -1
			}
		}
	}
	out := []classify.TensorInfo{{DType: o.splits, Shape: classify.Shape{rows}}, {DType: classify.Int32, Shape: classify.Shape{-1}}}
	if o.offsets {
		out = append(out, classify.TensorInfo{DType: o.splits, Shape: classify.Shape{-1}})
	}
	return out, nil
}

// Run decodes every string of the (flattened) input into code points, a
// ragged row each. An ill-formed sequence, or with
// replace_control_characters a code point up to U+001F, is replaced by
// replacement_char, dropped with errors=ignore; errors=strict fails on an
// ill-formed sequence only. Offsets are each character's first byte.
func (o unicodeDecode) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	splits := make([]int64, 0, len(s)+1)
	var chars []int32
	var offs []int64
	for _, b := range s {
		splits = append(splits, int64(len(chars)))
		for off := 0; off < len(b); {
			r, k, bad := o.dec(b[off:])
			if bad && o.e.strict {
				return nil, o.n.InputErrorf("invalid formatting on input string")
			}
			if bad || o.e.control && r <= 0x1F {
				if o.e.ignore {
					off += k
					continue
				}
				r = o.e.subst
			}
			chars = append(chars, int32(r))
			if o.offsets {
				offs = append(offs, int64(off))
			}
			off += k
		}
	}
	splits = append(splits, int64(len(chars)))
	if o.splits == classify.Int32 && len(chars) > math.MaxInt32 {
		return nil, o.n.InputErrorf("%d characters overflow int32 splits", len(chars))
	}
	toSplits := func(v []int64) *classify.Tensor {
		t := ctx.Output(0, o.splits, len(v))
		if o.splits == classify.Int64 {
			copy(t.Data.([]int64), v)
			return t
		}
		d := t.Data.([]int32)
		for i, x := range v {
			d[i] = int32(x)
		}
		return t
	}
	out := []*classify.Tensor{toSplits(splits), {DType: classify.Int32, Shape: classify.Shape{len(chars)}, Data: chars}}
	if chars == nil {
		out[1].Data = []int32{}
	}
	if o.offsets {
		t := &classify.Tensor{DType: o.splits, Shape: classify.Shape{len(offs)}}
		if o.splits == classify.Int64 {
			t.Data = append([]int64{}, offs...)
		} else {
			d := make([]int32, len(offs))
			for i, x := range offs {
				d[i] = int32(x)
			}
			t.Data = d
		}
		out = append(out, t)
	}
	return out, nil
}

type unicodeEncode struct {
	n   *Node
	enc string
	e   unicodeErrors
}

func buildUnicodeEncode(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	enc, err := outputEncoding(n)
	if err != nil {
		return nil, err
	}
	e, err := parseUnicodeErrors(n)
	if err != nil {
		return nil, err
	}
	return unicodeEncode{n, enc, e}, nil
}

func (o unicodeEncode) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	rows := -1
	if len(in) > 1 && len(in[1].Shape) == 1 && in[1].Shape[0] > 0 {
		rows = in[1].Shape[0] - 1
	}
	return []classify.TensorInfo{{DType: classify.String, Shape: classify.Shape{rows}}}, nil
}

// isUnicodeChar is ICU's U_IS_UNICODE_CHAR: a scalar value that is not a
// noncharacter (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF).
func isUnicodeChar(c int32) bool {
	if c < 0 || c > 0x10FFFF || 0xD800 <= c && c <= 0xDFFF {
		return false
	}
	return !(0xFDD0 <= c && c <= 0xFDEF || c&0xFFFE == 0xFFFE)
}

// Run encodes each ragged row of code points as one string. A value that
// is not a Unicode character is an error with errors=strict, else replaced
// by replacement_char; with errors=ignore it is kept as ICU's
// appendCodePoint keeps it (a noncharacter or a lone surrogate stays, a
// value past U+10FFFF goes).
func (o unicodeEncode) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	if in[0].DType != classify.Int32 {
		return nil, o.n.InputErrorf("input_values is %v, want int32", in[0].DType)
	}
	if len(in[0].Shape) != 1 || len(in[1].Shape) != 1 {
		return nil, o.n.InputErrorf("input_values and input_splits must be vectors, got shapes %v and %v", in[0].Shape, in[1].Shape)
	}
	if in[1].DType != classify.Int32 && in[1].DType != classify.Int64 {
		return nil, o.n.InputErrorf("input_splits is %v, want int32 or int64", in[1].DType)
	}
	vals := in[0].Data.([]int32)
	ns := in[1].Shape[0]
	if ns == 0 {
		return nil, o.n.InputErrorf("input_splits must not be empty")
	}
	if intAt(in[1], 0) != 0 {
		return nil, o.n.InputErrorf("first value in input_splits must be zero, got %d", intAt(in[1], 0))
	}
	if last := intAt(in[1], ns-1); last != int64(len(vals)) {
		return nil, o.n.InputErrorf("last value in input_splits must be %d, the length of input_values, got %d", len(vals), last)
	}
	out := classify.NewTensor(classify.String, ns-1)
	d := out.Data.([][]byte)
	var units []uint16
	for i := 1; i < ns; i++ {
		a, b := intAt(in[1], i-1), intAt(in[1], i)
		if b < a {
			return nil, o.n.InputErrorf("values in input_splits must be equal or in ascending order, got %d after %d", b, a)
		}
		if b > int64(len(vals)) {
			return nil, o.n.InputErrorf("values in input_splits must be at most %d, the length of input_values, got %d", len(vals), b)
		}
		units = units[:0]
		for _, c := range vals[a:b] {
			if !isUnicodeChar(c) {
				if o.e.strict {
					return nil, o.n.InputErrorf("code point %d is out of range for Unicode, or a noncharacter", c)
				}
				if !o.e.ignore {
					c = o.e.subst
				}
			}
			units = appendUnit(units, c)
		}
		d[i-1] = encodeUnits(units, o.enc)
	}
	return []*classify.Tensor{out}, nil
}

type unicodeTranscode struct {
	sameShapeOut
	n   *Node
	dec decoder
	enc string
	e   unicodeErrors
}

func buildUnicodeTranscode(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	e, err := parseUnicodeErrors(n)
	if err != nil {
		return nil, err
	}
	enc, err := outputEncoding(n)
	if err != nil {
		return nil, err
	}
	name := n.String("input_encoding", "")
	dec, ok := inputDecoder(name)
	if !ok {
		return nil, n.Errorf("could not create converter for input encoding %q (supported: UTF-8, UTF-16BE/LE, UTF-32BE/LE, US-ASCII, ISO-8859-1)", name)
	}
	return unicodeTranscode{sameShapeOut{classify.String}, n, dec, enc, e}, nil
}

// Run re-encodes every string. Ill-formed input, and with
// replace_control_characters every code point up to U+001F, is replaced by
// replacement_char or dropped with errors=ignore; with errors=strict
// either is an error (TensorFlow counts a replaced control character as
// a formatting error here).
func (o unicodeTranscode) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	out := classify.NewTensor(classify.String, in[0].Shape...)
	d := out.Data.([][]byte)
	var units []uint16
	total := 0
	for i, b := range s {
		units = units[:0]
		for off := 0; off < len(b); {
			r, k, bad := o.dec(b[off:])
			off += k
			if bad || o.e.control && r <= 0x1F {
				if o.e.strict {
					return nil, o.n.InputErrorf("invalid formatting on input string")
				}
				if o.e.ignore {
					continue
				}
				r = o.e.subst
			}
			units = appendUnit(units, r)
		}
		// At most 4 bytes a unit (UTF-32 of a BMP unit): bounded before
		// encoding.
		if total += 4 * len(units); total > maxStringBytes {
			return nil, o.n.InputErrorf("output would exceed %d bytes", maxStringBytes)
		}
		d[i] = encodeUnits(units, o.enc)
	}
	return []*classify.Tensor{out}, nil
}
