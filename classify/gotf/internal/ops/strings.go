package ops

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/classifyd/classifyd/classify"
)

// String ops: what Keras TextVectorization and tf.strings leave in a
// serving graph. Regular expressions are RE2 in TensorFlow and Go's regexp
// implements RE2's syntax and leftmost-first semantics, rewrites use RE2's
// \0-\9 and \\.
func init() {
	Register("StringLower", buildStringMap(func(n *Node) (func([]byte) []byte, error) {
		if n.String("encoding", "") == "" {
			return asciiLower, nil
		}
		return bytes.ToLower, nil
	}))
	Register("StringUpper", buildStringMap(func(n *Node) (func([]byte) []byte, error) {
		if n.String("encoding", "") == "" {
			return asciiUpper, nil
		}
		return bytes.ToUpper, nil
	}))
	Register("StringStrip", buildStringMap(func(*Node) (func([]byte) []byte, error) {
		return func(b []byte) []byte { return bytes.Trim(b, asciiSpace) }, nil
	}))
	Register("StaticRegexReplace", buildStaticRegexReplace)
	Register("RegexReplace", buildRegexReplace)
	Register("StringSplitV2", buildStringSplitV2)
	Register("StringJoin", buildStringJoin)
	Register("StringLength", buildStringLength)
	Register("Substr", buildSubstr)
	Register("StringToHashBucketFast", buildHashBucketFast)
	Register("AsString", buildAsString)
	Register("StringToNumber", buildStringToNumber)
}

// maxStringBytes bounds the bytes one string op may produce in one run
// (256 MiB): a rewrite repeated at every empty match or a join of large
// broadcast inputs could otherwise grow without limit.
const maxStringBytes = 1 << 28

// asciiSpace is the set absl::ascii_isspace accepts.
const asciiSpace = " \t\n\v\f\r"

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func asciiUpper(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// stringInput checks that input i is a string tensor.
func stringInput(n *Node, in []*classify.Tensor, i int) ([][]byte, error) {
	if i >= len(in) || in[i].DType != classify.String {
		if i < len(in) {
			return nil, n.InputErrorf("input %d is %v, want string", i, in[i].DType)
		}
		return nil, n.InputErrorf("input %d missing", i)
	}
	return in[i].Data.([][]byte), nil
}

// sameShapeOut is the Shaper of element-wise string ops.
type sameShapeOut struct{ dt classify.DType }

func (s sameShapeOut) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	if len(in) == 0 {
		return nil, nil
	}
	return []classify.TensorInfo{{DType: s.dt, Shape: in[0].Shape.Clone()}}, nil
}

type stringMap struct {
	sameShapeOut
	n *Node
	f func([]byte) []byte
}

func buildStringMap(mk func(*Node) (func([]byte) []byte, error)) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
		}
		f, err := mk(n)
		if err != nil {
			return nil, err
		}
		return stringMap{sameShapeOut{classify.String}, n, f}, nil
	}
}

func (o stringMap) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	out := classify.NewTensor(classify.String, in[0].Shape...)
	d := out.Data.([][]byte)
	for i, b := range s {
		d[i] = o.f(b)
	}
	return []*classify.Tensor{out}, nil
}

// rewrite is an RE2 rewrite string split into literals and group
// references (group < 0 for a literal).
type rewrite []struct {
	lit   []byte
	group int
}

// parseRewrite reads RE2's rewrite syntax: \0 to \9 name groups, \\ is a
// backslash, any other backslash is an error (as RE2::CheckRewriteString
// says).
func parseRewrite(s string, groups int) (rewrite, error) {
	var r rewrite
	var lit []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			lit = append(lit, c)
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("rewrite %q ends in a backslash", s)
		}
		i++
		switch d := s[i]; {
		case d == '\\':
			lit = append(lit, '\\')
		case '0' <= d && d <= '9':
			g := int(d - '0')
			if g > groups {
				return nil, fmt.Errorf("rewrite %q names group \\%d, the pattern has %d", s, g, groups)
			}
			r = append(r, struct {
				lit   []byte
				group int
			}{lit, -1})
			lit = nil
			r = append(r, struct {
				lit   []byte
				group int
			}{nil, g})
		default:
			return nil, fmt.Errorf("rewrite %q: invalid escape \\%c", s, d)
		}
	}
	return append(r, struct {
		lit   []byte
		group int
	}{lit, -1}), nil
}

// regexCache keeps the compiled run-time patterns of one node.
type regexCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

// compileRegex compiles a run-time pattern (Go's regexp is RE2).
func compileRegex(n *Node, pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, n.InputErrorf("invalid pattern %q: %v", pattern, err)
	}
	return re, nil
}

// replace applies re → rw to s: every non-overlapping match when global
// (an empty match right after a match skipped, as RE2::GlobalReplace and
// Go agree), else the first.
func replace(re *regexp.Regexp, rw rewrite, s []byte, global bool, budget *int) ([]byte, bool) {
	n := 1
	if global {
		n = -1
	}
	ms := re.FindAllSubmatchIndex(s, n)
	if len(ms) == 0 {
		return append([]byte(nil), s...), true
	}
	// Size the result before building it: a rewrite repeated at every
	// empty match of a long input could ask for gigabytes.
	size := len(s)
	for _, m := range ms {
		size -= m[1] - m[0]
		for _, p := range rw {
			if p.group < 0 {
				size += len(p.lit)
			} else if a, b := m[2*p.group], m[2*p.group+1]; a >= 0 {
				size += b - a
			}
		}
		if size > *budget {
			return nil, false
		}
	}
	out := make([]byte, 0, size)
	last := 0
	for _, m := range ms {
		out = append(out, s[last:m[0]]...)
		for _, p := range rw {
			if p.group < 0 {
				out = append(out, p.lit...)
			} else if a, b := m[2*p.group], m[2*p.group+1]; a >= 0 {
				out = append(out, s[a:b]...)
			}
		}
		last = m[1]
	}
	out = append(out, s[last:]...)
	*budget -= len(out)
	return out, *budget >= 0
}

type staticRegexReplace struct {
	sameShapeOut
	n      *Node
	re     *regexp.Regexp
	rw     rewrite
	global bool
}

func buildStaticRegexReplace(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	re, err := regexp.Compile(n.String("pattern", ""))
	if err != nil {
		return nil, n.Errorf("pattern %q: %v", n.String("pattern", ""), err)
	}
	rw, err := parseRewrite(n.String("rewrite", ""), re.NumSubexp())
	if err != nil {
		return nil, n.Errorf("%v", err)
	}
	return staticRegexReplace{sameShapeOut{classify.String}, n, re, rw, n.Bool("replace_global", true)}, nil
}

func (o staticRegexReplace) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	return regexReplaceAll(o.n, in[0].Shape, s, o.re, o.rw, o.global)
}

func regexReplaceAll(n *Node, shape classify.Shape, s [][]byte, re *regexp.Regexp, rw rewrite, global bool) ([]*classify.Tensor, error) {
	out := classify.NewTensor(classify.String, shape...)
	d := out.Data.([][]byte)
	budget := maxStringBytes
	for i, b := range s {
		r, ok := replace(re, rw, b, global, &budget)
		if !ok {
			return nil, n.InputErrorf("output would exceed %d bytes", maxStringBytes)
		}
		d[i] = r
	}
	return []*classify.Tensor{out}, nil
}

type regexReplace struct {
	sameShapeOut
	n      *Node
	global bool
	cache  *regexCache
}

func buildRegexReplace(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("has %d inputs, want 3", n.NumInputs)
	}
	return regexReplace{sameShapeOut{classify.String}, n, n.Bool("replace_global", true), &regexCache{m: map[string]*regexp.Regexp{}}}, nil
}

// maxCachedRegexps bounds the compiled patterns one RegexReplace node
// keeps (patterns are usually constants: one entry).
const maxCachedRegexps = 64

func (o regexReplace) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	p, err := stringInput(o.n, in, 1)
	if err != nil {
		return nil, err
	}
	r, err := stringInput(o.n, in, 2)
	if err != nil {
		return nil, err
	}
	if len(p) != 1 || len(r) != 1 {
		return nil, o.n.InputErrorf("pattern and rewrite must be scalars, got %v and %v", in[1].Shape, in[2].Shape)
	}
	o.cache.mu.Lock()
	re, ok := o.cache.m[string(p[0])]
	o.cache.mu.Unlock()
	if !ok {
		if re, err = compileRegex(o.n, string(p[0])); err != nil {
			return nil, err
		}
		o.cache.mu.Lock()
		if len(o.cache.m) >= maxCachedRegexps {
			clear(o.cache.m)
		}
		o.cache.m[string(p[0])] = re
		o.cache.mu.Unlock()
	}
	rw, err := parseRewrite(string(r[0]), re.NumSubexp())
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	return regexReplaceAll(o.n, in[0].Shape, s, re, rw, o.global)
}

type stringSplitV2 struct {
	n        *Node
	maxsplit int
}

func buildStringSplitV2(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	return stringSplitV2{n: n, maxsplit: int(n.Int("maxsplit", -1))}, nil
}

func (o stringSplitV2) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return []classify.TensorInfo{
		{DType: classify.Int64, Shape: classify.Shape{-1, 2}},
		{DType: classify.String, Shape: classify.Shape{-1}},
		{DType: classify.Int64, Shape: classify.Shape{2}},
	}, nil
}

// splitPy splits s as Python's str.split does, which StringSplitV2
// follows: with a separator, every occurrence splits (empty fields kept,
// "" gives [""]); without one, runs of whitespace split and leading and
// trailing whitespace yields no field. maxsplit >= 0 caps the splits, the
// rest of the string being the last field.
func splitPy(s, sep []byte, maxsplit int) [][]byte {
	var out [][]byte
	if len(sep) > 0 {
		for maxsplit < 0 || len(out) < maxsplit {
			i := bytes.Index(s, sep)
			if i < 0 {
				break
			}
			out = append(out, s[:i])
			s = s[i+len(sep):]
		}
		return append(out, s)
	}
	isSpace := func(c byte) bool { return strings.IndexByte(asciiSpace, c) >= 0 }
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return out
		}
		if maxsplit >= 0 && len(out) == maxsplit {
			// The remainder keeps its trailing whitespace, as in Python.
			return append(out, s[i:])
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		out = append(out, s[i:j])
		i = j
	}
}

func (o stringSplitV2) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	sep, err := stringInput(o.n, in, 1)
	if err != nil {
		return nil, err
	}
	if len(in[0].Shape) != 1 {
		return nil, o.n.InputErrorf("input must be a vector, got shape %v", in[0].Shape)
	}
	if len(sep) != 1 || len(in[1].Shape) != 0 {
		return nil, o.n.InputErrorf("sep must be a scalar, got shape %v", in[1].Shape)
	}
	var idx []int64
	var vals [][]byte
	width := 0
	for i, b := range s {
		parts := splitPy(b, sep[0], o.maxsplit)
		width = max(width, len(parts))
		for j, p := range parts {
			idx = append(idx, int64(i), int64(j))
			vals = append(vals, append([]byte(nil), p...))
		}
	}
	return []*classify.Tensor{
		{DType: classify.Int64, Shape: classify.Shape{len(vals), 2}, Data: idx},
		{DType: classify.String, Shape: classify.Shape{len(vals)}, Data: vals},
		{DType: classify.Int64, Shape: classify.Shape{2}, Data: []int64{int64(len(s)), int64(width)}},
	}, nil
}

type stringJoin struct {
	n   *Node
	sep []byte
}

func buildStringJoin(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs < 1 {
		return nil, n.Errorf("has no inputs")
	}
	return stringJoin{n: n, sep: []byte(n.String("separator", ""))}, nil
}

// Run joins element-wise; scalar inputs are broadcast, all others must
// have one shape (as TensorFlow's kernel requires).
func (o stringJoin) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	var shape classify.Shape = classify.Shape{}
	for i, t := range in {
		if t.DType != classify.String {
			return nil, o.n.InputErrorf("input %d is %v, want string", i, t.DType)
		}
		if len(t.Shape) == 0 {
			continue
		}
		if len(shape) == 0 {
			shape = t.Shape
		} else if !shape.Equal(t.Shape) {
			return nil, o.n.InputErrorf("inputs of shapes %v and %v (non-scalar inputs must agree)", shape, t.Shape)
		}
	}
	out := classify.NewTensor(classify.String, shape...)
	d := out.Data.([][]byte)
	total := 0
	for i := range d {
		var b []byte
		for k, t := range in {
			if k > 0 {
				b = append(b, o.sep...)
			}
			s := t.Data.([][]byte)
			if len(t.Shape) == 0 {
				b = append(b, s[0]...)
			} else {
				b = append(b, s[i]...)
			}
		}
		if total += len(b); total > maxStringBytes {
			return nil, o.n.InputErrorf("output would exceed %d bytes", maxStringBytes)
		}
		d[i] = b
	}
	return []*classify.Tensor{out}, nil
}

type stringLength struct {
	sameShapeOut
	n    *Node
	utf8 bool
}

func buildStringLength(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	u := n.String("unit", "BYTE")
	if u != "BYTE" && u != "UTF8_CHAR" {
		return nil, n.Errorf("unit %q", u)
	}
	return stringLength{sameShapeOut{classify.Int32}, n, u == "UTF8_CHAR"}, nil
}

func (o stringLength) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	out := ctx.Output(0, classify.Int32, in[0].Shape...)
	d := out.Data.([]int32)
	for i, b := range s {
		if o.utf8 {
			d[i] = int32(utf8.RuneCount(b))
		} else {
			d[i] = int32(len(b))
		}
	}
	return []*classify.Tensor{out}, nil
}

type substr struct {
	sameShapeOut
	n    *Node
	utf8 bool
}

func buildSubstr(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 3 {
		return nil, n.Errorf("has %d inputs, want 3", n.NumInputs)
	}
	u := n.String("unit", "BYTE")
	if u != "BYTE" && u != "UTF8_CHAR" {
		return nil, n.Errorf("unit %q", u)
	}
	return substr{sameShapeOut{classify.String}, n, u == "UTF8_CHAR"}, nil
}

// intAt reads element i of an int32/int64 tensor, element 0 of a scalar.
func intAt(t *classify.Tensor, i int) int64 {
	if len(t.Shape) == 0 {
		i = 0
	}
	switch d := t.Data.(type) {
	case []int32:
		return int64(d[i])
	case []int64:
		return d[i]
	}
	return 0
}

// Run takes len units from pos (negative pos counts from the end); pos
// outside the string is an error, len past its end stops at the end, as
// TensorFlow's Substr does. pos and len are scalars or of the input's shape.
func (o substr) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	for _, t := range in[1:] {
		if t.DType != classify.Int32 && t.DType != classify.Int64 {
			return nil, o.n.InputErrorf("pos and len must be int32 or int64, got %v", t.DType)
		}
		if len(t.Shape) != 0 && !t.Shape.Equal(in[0].Shape) {
			return nil, o.n.InputErrorf("pos/len of shape %v for input of shape %v", t.Shape, in[0].Shape)
		}
	}
	out := classify.NewTensor(classify.String, in[0].Shape...)
	d := out.Data.([][]byte)
	for i, b := range s {
		pos, l := intAt(in[1], i), intAt(in[2], i)
		var units []int // byte offset of each unit, plus len(b)
		if o.utf8 {
			for k := range string(b) {
				units = append(units, k)
			}
		}
		n := int64(len(b))
		if o.utf8 {
			n = int64(len(units))
		}
		units = append(units, len(b))
		if pos < 0 {
			pos += n
		}
		if pos < 0 || pos > n {
			return nil, o.n.InputErrorf("pos %d out of range for string of %d units at index %d", intAt(in[1], i), n, i)
		}
		if l < 0 {
			return nil, o.n.InputErrorf("negative len %d at index %d", l, i)
		}
		end := min(pos+l, n)
		if o.utf8 {
			d[i] = append([]byte(nil), b[units[pos]:units[end]]...)
		} else {
			d[i] = append([]byte(nil), b[pos:end]...)
		}
	}
	return []*classify.Tensor{out}, nil
}

type hashBucketFast struct {
	sameShapeOut
	n       *Node
	buckets uint64
}

func buildHashBucketFast(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	b := n.Int("num_buckets", 0)
	if b < 1 {
		return nil, n.Errorf("num_buckets %d, want >= 1", b)
	}
	return hashBucketFast{sameShapeOut{classify.Int64}, n, uint64(b)}, nil
}

// Run computes Fingerprint64(s) mod num_buckets, as TensorFlow does.
func (o hashBucketFast) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	out := ctx.Output(0, classify.Int64, in[0].Shape...)
	d := out.Data.([]int64)
	for i, b := range s {
		d[i] = int64(Fingerprint64(b) % o.buckets)
	}
	return []*classify.Tensor{out}, nil
}

type asString struct {
	sameShapeOut
	n      *Node
	format string // printf verb with flags, width and precision
	width  int
	fill   string
}

// buildAsString reproduces the printf format TensorFlow's AsString builds
// from its attributes: "%" fill width ".precision" and d, or e/f/g for
// floats (g when shortest, e when scientific, else f).
func buildAsString(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	prec, width := n.Int("precision", -1), n.Int("width", -1)
	sci, short := n.Bool("scientific", false), n.Bool("shortest", false)
	fill := n.String("fill", "")
	if sci && short {
		return nil, n.Errorf("cannot be both scientific and shortest")
	}
	if len(fill) > 1 {
		return nil, n.Errorf("fill %q longer than one character", fill)
	}
	f := "%"
	if fill != "" {
		if !strings.Contains(" +-0#", fill) {
			return nil, n.Errorf("fill %q is not one of ' ', '+', '-', '0', '#'", fill)
		}
		f += fill
	}
	if width > -1 {
		f += strconv.Itoa(int(width))
	}
	dt := n.Type("T")
	float := dt == classify.Float32 || dt == classify.Float64
	if prec > -1 {
		if !float {
			return nil, n.Errorf("precision is only for floats, T is %v", dt)
		}
		f += "." + strconv.Itoa(int(prec))
	} else if float && short {
		// C's %g without precision means six significant digits; Go's
		// means the shortest exact form.
		f += ".6"
	}
	switch {
	case !float:
		f += "d"
	case short:
		f += "g"
	case sci:
		f += "e"
	default:
		f += "f"
	}
	return asString{sameShapeOut{classify.String}, n, f, int(width), fill}, nil
}

func (o asString) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	out := classify.NewTensor(classify.String, t.Shape...)
	d := out.Data.([][]byte)
	cFloat := func(v float64) string {
		// C prints inf and nan where Go prints +Inf and NaN.
		if math.IsInf(v, 0) || math.IsNaN(v) {
			s := "inf"
			switch {
			case math.IsNaN(v):
				s = "nan"
			case v < 0:
				s = "-inf"
			case o.fill == "+":
				s = "+inf"
			}
			if pad := o.width - len(s); pad > 0 {
				if o.fill == "-" {
					return s + strings.Repeat(" ", pad)
				}
				return strings.Repeat(" ", pad) + s
			}
			return s
		}
		return fmt.Sprintf(o.format, v)
	}
	switch s := t.Data.(type) {
	case []float32:
		for i, v := range s {
			d[i] = []byte(cFloat(float64(v)))
		}
	case []float64:
		for i, v := range s {
			d[i] = []byte(cFloat(v))
		}
	case []int32:
		for i, v := range s {
			d[i] = []byte(fmt.Sprintf(o.format, v))
		}
	case []int64:
		for i, v := range s {
			d[i] = []byte(fmt.Sprintf(o.format, v))
		}
	case []uint8:
		for i, v := range s {
			d[i] = []byte(fmt.Sprintf(o.format, v))
		}
	case []bool:
		for i, v := range s {
			d[i] = []byte(strconv.FormatBool(v))
		}
	case [][]byte:
		for i, v := range s {
			d[i] = append([]byte(nil), v...)
		}
	default:
		return nil, o.n.InputErrorf("cannot format %v", t.DType)
	}
	return []*classify.Tensor{out}, nil
}

type stringToNumber struct {
	sameShapeOut
	n *Node
}

func buildStringToNumber(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	dt := n.Type("out_type")
	if !n.Has("out_type") {
		dt = classify.Float32
	}
	switch dt {
	case classify.Float32, classify.Float64, classify.Int32, classify.Int64:
	default:
		return nil, n.Errorf("out_type %v", dt)
	}
	return stringToNumber{sameShapeOut{dt}, n}, nil
}

// Run parses each string as TensorFlow's safe_strto* do: surrounding ASCII
// whitespace allowed, the whole rest must be the number.
func (o stringToNumber) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	out := ctx.Output(0, o.dt, in[0].Shape...)
	for i, b := range s {
		txt := strings.Trim(string(b), asciiSpace)
		var perr error
		switch d := out.Data.(type) {
		case []float32:
			var v float64
			v, perr = strconv.ParseFloat(txt, 32)
			d[i] = float32(v)
		case []float64:
			d[i], perr = strconv.ParseFloat(txt, 64)
		case []int32:
			var v int64
			v, perr = strconv.ParseInt(txt, 10, 32)
			d[i] = int32(v)
		case []int64:
			d[i], perr = strconv.ParseInt(txt, 10, 64)
		}
		// An out-of-range float is ±Inf, as strtof gives; other errors
		// are errors.
		if ne, ok := perr.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && (o.dt == classify.Float32 || o.dt == classify.Float64) {
			perr = nil
		}
		if perr != nil || strings.Contains(txt, "_") {
			return nil, o.n.InputErrorf("could not convert string %q to %v", b, o.dt)
		}
	}
	return []*classify.Tensor{out}, nil
}
