package ops

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"regexp"

	"github.com/classifyd/classifyd/classify"
)

// More string ops of TF Serving text graphs: ReduceJoin, the full-match
// regexes, StringSplit (v1), the legacy and keyed hash buckets and
// Fingerprint. Semantics follow TensorFlow's kernels (reduce_join_op.cc,
// regex_full_match_op.cc, string_split_op.cc, string_to_hash_bucket_op,
// fingerprint_op.cc); the Unicode ops are in strings2_unicode.go.
func init() {
	Register("ReduceJoin", buildReduceJoin)
	Register("StaticRegexFullMatch", buildStaticRegexFullMatch)
	Register("RegexFullMatch", buildRegexFullMatch)
	Register("StringSplit", buildStringSplit)
	Register("StringToHashBucket", buildHashBucket(func(*Node) (func([]byte) uint64, error) { return legacyHash64, nil }))
	Register("StringToHashBucketStrong", buildHashBucket(func(n *Node) (func([]byte) uint64, error) {
		k := n.Ints("key")
		if len(k) != 2 {
			return nil, n.Errorf("key must have 2 elements, has %d", len(k))
		}
		k0, k1 := uint64(k[0]), uint64(k[1])
		return func(b []byte) uint64 { return sipHash24(k0, k1, b) }, nil
	}))
	Register("Fingerprint", buildFingerprint)
	allowDTypes("Fingerprint", allNewDTypes...)
}

type reduceJoin struct {
	n        *Node
	keepDims bool
	sep      []byte
}

func buildReduceJoin(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	return reduceJoin{n, n.Bool("keep_dims", false), []byte(n.String("separator", ""))}, nil
}

// Run joins the strings along the listed axes. The first listed axis
// varies fastest in each joined string (reduce_join(a, [0, 1]) of
// [["a","b"],["c","d"]] is "acbd"); no axes leave the input as it is.
func (o reduceJoin) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	if in[1].DType != classify.Int32 {
		return nil, o.n.InputErrorf("reduction_indices is %v, want int32", in[1].DType)
	}
	shape := in[0].Shape
	rank := len(shape)
	axes := in[1].Data.([]int32)
	reduced := make([]bool, rank)
	order := make([]int, 0, len(axes)) // reduced axes, fastest last
	for i := len(axes) - 1; i >= 0; i-- {
		a := int(axes[i])
		if a < -rank || a >= rank {
			return nil, o.n.InputErrorf("invalid reduction dimension %d for input with %d dimension(s)", a, rank)
		}
		if a < 0 {
			a += rank
		}
		if reduced[a] {
			return nil, o.n.InputErrorf("duplicate reduction dimension %d", axes[i])
		}
		reduced[a] = true
		order = append(order, a)
	}
	strides := make([]int, rank)
	for i, p := rank-1, 1; i >= 0; i-- {
		strides[i] = p
		p *= shape[i]
	}
	var outShape classify.Shape = classify.Shape{}
	var kept []int
	for i, d := range shape {
		switch {
		case !reduced[i]:
			outShape = append(outShape, d)
			kept = append(kept, i)
		case o.keepDims:
			outShape = append(outShape, 1)
		}
	}
	iter := 1
	for _, a := range order {
		iter *= shape[a]
	}
	out := classify.NewTensor(classify.String, outShape...)
	d := out.Data.([][]byte)
	// offset maps a linear index over dims (the last fastest) to an
	// input offset.
	offset := func(idx int, dims []int) int {
		off := 0
		for i := len(dims) - 1; i >= 0; i-- {
			a := dims[i]
			off += strides[a] * (idx % shape[a])
			idx /= shape[a]
		}
		return off
	}
	total := 0
	for i := range d {
		base := offset(i, kept)
		size := 0
		for r := 0; r < iter; r++ {
			size += len(s[base+offset(r, order)])
		}
		if iter > 1 {
			size += (iter - 1) * len(o.sep)
		}
		if total += size; total > maxStringBytes {
			return nil, o.n.InputErrorf("output would exceed %d bytes", maxStringBytes)
		}
		b := make([]byte, 0, size)
		for r := 0; r < iter; r++ {
			if r > 0 {
				b = append(b, o.sep...)
			}
			b = append(b, s[base+offset(r, order)]...)
		}
		d[i] = b
	}
	return []*classify.Tensor{out}, nil
}

// fullMatchRegex compiles pattern anchored at both ends, as RE2::FullMatch
// matches. The pattern is checked alone first: a wrapped one could hide an
// unbalanced parenthesis.
func fullMatchRegex(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`\A(?:` + pattern + `)\z`)
}

type regexFullMatch struct {
	sameShapeOut
	n     *Node
	re    *regexp.Regexp // StaticRegexFullMatch
	cache *regexCache    // RegexFullMatch
}

func buildStaticRegexFullMatch(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
	}
	re, err := fullMatchRegex(n.String("pattern", ""))
	if err != nil {
		return nil, n.Errorf("invalid pattern %q: %v", n.String("pattern", ""), err)
	}
	return regexFullMatch{sameShapeOut: sameShapeOut{classify.Bool}, n: n, re: re}, nil
}

func buildRegexFullMatch(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	return regexFullMatch{sameShapeOut: sameShapeOut{classify.Bool}, n: n, cache: &regexCache{m: map[string]*regexp.Regexp{}}}, nil
}

func (o regexFullMatch) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	re := o.re
	if re == nil {
		p, err := stringInput(o.n, in, 1)
		if err != nil {
			return nil, err
		}
		if len(in[1].Shape) != 0 {
			return nil, o.n.InputErrorf("pattern must be a scalar, got shape %v", in[1].Shape)
		}
		o.cache.mu.Lock()
		re = o.cache.m[string(p[0])]
		o.cache.mu.Unlock()
		if re == nil {
			if re, err = fullMatchRegex(string(p[0])); err != nil {
				return nil, o.n.InputErrorf("invalid pattern %q: %v", p[0], err)
			}
			o.cache.mu.Lock()
			if len(o.cache.m) >= maxCachedRegexps {
				clear(o.cache.m)
			}
			o.cache.m[string(p[0])] = re
			o.cache.mu.Unlock()
		}
	}
	out := ctx.Output(0, classify.Bool, in[0].Shape...)
	d := out.Data.([]bool)
	for i, b := range s {
		d[i] = re.Match(b)
	}
	return []*classify.Tensor{out}, nil
}

type stringSplit struct {
	n         *Node
	skipEmpty bool
}

func buildStringSplit(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	return stringSplit{n, n.Bool("skip_empty", true)}, nil
}

func (o stringSplit) OutputInfo([]classify.TensorInfo) ([]classify.TensorInfo, error) {
	return stringSplitV2{}.OutputInfo(nil)
}

// splitAnyByte is StringSplit's split: an empty string has no tokens; an
// empty delimiter splits into single bytes; otherwise every byte of the
// delimiter is a delimiter, empty tokens dropped when skipEmpty.
func splitAnyByte(s, delim []byte, skipEmpty bool) [][]byte {
	if len(s) == 0 {
		return nil
	}
	var out [][]byte
	if len(delim) == 0 {
		for i := range s {
			out = append(out, s[i:i+1])
		}
		return out
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || bytes.IndexByte(delim, s[i]) >= 0 {
			if !skipEmpty || i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func (o stringSplit) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	delim, err := stringInput(o.n, in, 1)
	if err != nil {
		return nil, err
	}
	if len(in[0].Shape) != 1 {
		return nil, o.n.InputErrorf("input must be a vector, got shape %v", in[0].Shape)
	}
	if len(in[1].Shape) != 0 {
		return nil, o.n.InputErrorf("delimiter must be a scalar, got shape %v", in[1].Shape)
	}
	var idx []int64
	var vals [][]byte
	width := 0
	for i, b := range s {
		parts := splitAnyByte(b, delim[0], o.skipEmpty)
		width = max(width, len(parts))
		if len(vals)+len(parts) > arrMaxElements/2 {
			return nil, o.n.InputErrorf("more than %d tokens", arrMaxElements/2)
		}
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

// legacyHash64 is TensorFlow's Hash64 (core/lib/hash/hash.cc) with its
// default seed 0xDECAFCAFFE: MurmurHash64A over the bytes, 8-byte words
// read little-endian, the tail bytes folded in before the final mix.
func legacyHash64(s []byte) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := uint64(0xDECAFCAFFE) ^ uint64(len(s))*m
	for ; len(s) >= 8; s = s[8:] {
		k := binary.LittleEndian.Uint64(s) * m
		k ^= k >> r
		h = (h ^ k*m) * m
	}
	if len(s) > 0 {
		var t uint64
		for i := len(s) - 1; i >= 0; i-- {
			t = t<<8 | uint64(s[i])
		}
		h = (h ^ t) * m
	}
	h ^= h >> r
	h *= m
	return h ^ h>>r
}

// sipHash24 is SipHash-2-4 keyed by (k0, k1), as highwayhash::SipHash
// computes TensorFlow's StrongKeyedHash.
func sipHash24(k0, k1 uint64, s []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13) ^ v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16) ^ v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21) ^ v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17) ^ v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	compress := func(m uint64) {
		v3 ^= m
		round()
		round()
		v0 ^= m
	}
	n := len(s)
	for ; len(s) >= 8; s = s[8:] {
		compress(binary.LittleEndian.Uint64(s))
	}
	last := uint64(n) << 56
	for i := len(s) - 1; i >= 0; i-- {
		last |= uint64(s[i]) << (8 * i)
	}
	compress(last)
	v2 ^= 0xff
	for range 4 {
		round()
	}
	return v0 ^ v1 ^ v2 ^ v3
}

type hashBucket struct {
	sameShapeOut
	n       *Node
	buckets uint64
	hash    func([]byte) uint64
}

func buildHashBucket(mk func(*Node) (func([]byte) uint64, error)) Builder {
	return func(n *Node, _ []*classify.Tensor) (Op, error) {
		if n.NumInputs != 1 {
			return nil, n.Errorf("has %d inputs, want 1", n.NumInputs)
		}
		b := n.Int("num_buckets", 0)
		if b < 1 {
			return nil, n.Errorf("num_buckets %d, want >= 1", b)
		}
		h, err := mk(n)
		if err != nil {
			return nil, err
		}
		return hashBucket{sameShapeOut{classify.Int64}, n, uint64(b), h}, nil
	}
}

func (o hashBucket) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	s, err := stringInput(o.n, in, 0)
	if err != nil {
		return nil, err
	}
	out := ctx.Output(0, classify.Int64, in[0].Shape...)
	d := out.Data.([]int64)
	for i, b := range s {
		d[i] = int64(o.hash(b) % o.buckets)
	}
	return []*classify.Tensor{out}, nil
}

type fingerprint struct{ n *Node }

func buildFingerprint(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 2 {
		return nil, n.Errorf("has %d inputs, want 2", n.NumInputs)
	}
	if dt := n.Type("T"); n.Has("T") && dt != classify.String && dt != classify.Bool && dt.Size() <= 0 {
		return nil, n.Errorf("data type %v not supported", dt)
	}
	return fingerprint{n}, nil
}

func (o fingerprint) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	d0 := -1
	if len(in) > 0 && len(in[0].Shape) > 0 {
		d0 = in[0].Shape[0]
	}
	return []classify.TensorInfo{{DType: classify.Uint8, Shape: classify.Shape{d0, 8}}}, nil
}

// Run writes Fingerprint64 of each row's bytes (the first dimension being
// the batch), little-endian. A string row of one string is that string's
// fingerprint; a longer row fingerprints the concatenated little-endian
// fingerprints of its strings, as TensorFlow's kernel does.
func (o fingerprint) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	m, err := stringInput(o.n, in, 1)
	if err != nil {
		return nil, err
	}
	if len(in[1].Shape) != 0 {
		return nil, o.n.InputErrorf("method should be a scalar string, got shape %v", in[1].Shape)
	}
	if string(m[0]) != "farmhash64" {
		return nil, o.n.InputErrorf("unsupported fingerprint method %q", m[0])
	}
	t := in[0]
	if len(t.Shape) == 0 {
		return nil, o.n.InputErrorf("data should have at least one dimension, got a scalar")
	}
	d0 := t.Shape[0]
	d1 := 0
	if d0 > 0 {
		d1 = t.Len() / d0
	}
	out := ctx.Output(0, classify.Uint8, d0, 8)
	d := out.Data.([]uint8)
	switch x := t.Data.(type) {
	case [][]byte:
		buf := make([]byte, 8*d1)
		for i := range d0 {
			fp := uint64(0)
			if d1 == 1 {
				fp = Fingerprint64(x[i])
			} else {
				for j := range d1 {
					binary.LittleEndian.PutUint64(buf[8*j:], Fingerprint64(x[i*d1+j]))
				}
				fp = Fingerprint64(buf)
			}
			binary.LittleEndian.PutUint64(d[8*i:], fp)
		}
	case []bool:
		buf := make([]byte, d1)
		for i := range d0 {
			for j, v := range x[i*d1 : (i+1)*d1] {
				buf[j] = 0
				if v {
					buf[j] = 1
				}
			}
			binary.LittleEndian.PutUint64(d[8*i:], Fingerprint64(buf))
		}
	default:
		b, ok := tensorBytes(t)
		if !ok {
			return nil, o.n.InputErrorf("data type %v not supported", t.DType)
		}
		w := d1 * t.DType.Size()
		for i := range d0 {
			binary.LittleEndian.PutUint64(d[8*i:], Fingerprint64(b[i*w:(i+1)*w]))
		}
	}
	return []*classify.Tensor{out}, nil
}
