package ops

// Einsum of float32, float64, complex64 or complex128 operands (all of one
// dtype, TensorFlow's T), run as transposes, sums and a batched GEMM
// per pair of operands (three or more are contracted pairwise, see
// einsum_multi.go): labels in both operands and the output are batch
// dimensions, labels in both operands only are contracted, labels in one
// operand and the output are its free dimensions, labels in one operand
// only are summed out first. Each operand is permuted to [batch, free,
// contracted] (the second to [batch, contracted, free]), multiplied batch
// by batch with the packed GEMM, and the product permuted to the output's
// order. An ellipsis stands for the same leading dimensions in every
// operand, broadcast as NumPy does (a dimension of 1 against n: that
// operand's dimension gets a label of its own, summed over its single
// value); a label repeated within one operand takes its diagonal first.
// float32 products take the packed GEMM; the other dtypes a plain loop
// accumulating in T, as Eigen's contraction does.

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/gotf/internal/gemm"
)

func init() {
	Register("Einsum", buildEinsum)
	allowDTypes("Einsum", complexDTypes...)
}

// einsumDType reports whether Einsum computes in dt (einsumElem).
func einsumDType(dt classify.DType) bool {
	switch dt {
	case classify.Float32, classify.Float64, classify.Complex64, classify.Complex128:
		return true
	}
	return false
}

// einsumElem are the dtypes Einsum computes in.
type einsumElem interface {
	~float32 | ~float64 | ~complex64 | ~complex128
}

type einsumOp struct {
	n   *Node
	eq  string
	ins []string // operand labels, "..." kept as '.'
	out string
	// explicit reports whether the equation gave the output labels.
	explicit bool
	runs     sync.Pool // *gemm.PackedB
}

func buildEinsum(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs < 1 {
		return nil, n.Errorf("no operands")
	}
	if dt := n.Type("T"); dt != classify.Invalid && !einsumDType(dt) {
		return nil, n.Errorf("T %v not supported (float32, float64, complex64, complex128)", dt)
	}
	eq := strings.ReplaceAll(n.String("equation", ""), " ", "")
	o := &einsumOp{n: n, eq: eq}
	o.runs.New = func() any { return new(gemm.PackedB) }
	lhs, rhs, explicit := strings.Cut(eq, "->")
	o.explicit = explicit
	o.ins = strings.Split(strings.ReplaceAll(lhs, "...", "."), ",")
	if len(o.ins) != n.NumInputs {
		return nil, n.Errorf("equation %q has %d operands, the node %d inputs", eq, len(o.ins), n.NumInputs)
	}
	o.out = strings.ReplaceAll(rhs, "...", ".")
	all := strings.Join(o.ins, "") + o.out
	for _, c := range all {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.') {
			return nil, n.Errorf("equation %q: bad label %q", eq, c)
		}
	}
	for i, s := range append(append([]string{}, o.ins...), o.out) {
		seen := map[rune]bool{}
		for _, c := range s {
			if seen[c] {
				if c == '.' {
					return nil, n.Errorf("equation %q: two ellipses in one term", eq)
				}
				if i == len(o.ins) {
					return nil, n.Errorf("equation %q: output label %q appears more than once", eq, c)
				}
			}
			seen[c] = true
		}
	}
	if !explicit {
		// Implicit output: the ellipsis, then the labels used once, in
		// alphabetical order.
		count := map[rune]int{}
		for _, c := range lhs {
			count[c]++
		}
		var b strings.Builder
		if strings.Contains(lhs, "...") {
			b.WriteByte('.')
		}
		for c := 'A'; c <= 'z'; c++ {
			if count[c] == 1 && c != '.' {
				b.WriteRune(c)
			}
		}
		o.out = b.String()
	}
	for _, c := range o.out {
		if !strings.ContainsRune(strings.Join(o.ins, ""), c) {
			return nil, n.Errorf("equation %q: output label %q is in no operand", eq, c)
		}
	}
	return o, nil
}

// expand replaces the ellipsis of term by labels for the leading rank -
// (len(term)-1) dimensions: runes from U+0100 up, counted from the right
// so that the ellipses of all terms line up.
func einsumExpand(term string, rank, ell int) ([]rune, error) {
	t := []rune(term)
	i := strings.IndexRune(term, '.')
	if i < 0 {
		if len(t) != rank {
			return nil, fmt.Errorf("term %q has %d labels for rank %d", term, len(t), rank)
		}
		return t, nil
	}
	k := rank - (len(t) - 1)
	if k < 0 {
		return nil, fmt.Errorf("term %q needs rank at least %d, got %d", term, len(t)-1, rank)
	}
	if ell >= 0 && k > ell {
		return nil, fmt.Errorf("term %q: the output has fewer ellipsis dimensions than %d", term, k)
	}
	e := make([]rune, k)
	for j := range e {
		e[j] = rune(0x100 + k - 1 - j) // right-aligned
	}
	return append(append(append([]rune{}, t[:i]...), e...), t[i+1:]...), nil
}

func (o *einsumOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := o.n.Type("T")
	for _, x := range in {
		if x.DType == classify.Invalid {
			continue
		}
		if dt == classify.Invalid {
			dt = x.DType
		}
		if x.DType != dt {
			return nil, o.n.Errorf("operands of dtypes %v and %v", dt, x.DType)
		}
	}
	if dt == classify.Invalid {
		dt = classify.Float32
	}
	for _, x := range in {
		if x.Shape == nil || !arrKnown(x.Shape) {
			return []classify.TensorInfo{{DType: dt}}, nil
		}
	}
	shapes := make([]classify.Shape, len(in))
	for i, x := range in {
		shapes[i] = x.Shape
	}
	p, err := o.plan(shapes)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: dt, Shape: p.outShape}}, nil
}

// einsumPlan is an equation resolved against concrete shapes.
type einsumPlan struct {
	size     map[rune]int
	ins      [][]rune
	out      []rune
	outShape classify.Shape
}

func (o *einsumOp) plan(shapes []classify.Shape) (*einsumPlan, error) {
	p := &einsumPlan{size: map[rune]int{}}
	maxEll := 0
	ell := map[rune]int{} // the broadcast size of each ellipsis dimension
	for i, s := range shapes {
		t, err := einsumExpand(o.ins[i], len(s), -1)
		if err != nil {
			return nil, err
		}
		maxEll = max(maxEll, len(t)-(len([]rune(o.ins[i]))-boolInt(strings.Contains(o.ins[i], "."))))
		for j, c := range t {
			if c >= 0x100 {
				if d, ok := ell[c]; ok && d != s[j] && d != 1 && s[j] != 1 {
					return nil, fmt.Errorf("ellipsis dimensions %d and %d cannot be broadcast", d, s[j])
				}
				if d, ok := ell[c]; !ok || d == 1 {
					ell[c] = s[j]
				}
				continue
			}
			if d, ok := p.size[c]; ok && d != s[j] {
				return nil, fmt.Errorf("label %q is %d in one operand and %d in another", c, d, s[j])
			}
			p.size[c] = s[j]
		}
		p.ins = append(p.ins, t)
	}
	// An ellipsis dimension of 1 against a larger one gets a label of its
	// own: summed over its one value, it broadcasts.
	fresh := rune(0x10000)
	for i, t := range p.ins {
		for j, c := range t {
			if c < 0x100 {
				continue
			}
			if shapes[i][j] == 1 && ell[c] != 1 {
				t[j] = fresh
				p.size[fresh] = 1
				fresh++
			} else {
				p.size[c] = ell[c]
			}
		}
	}
	out := o.out
	outRank := len([]rune(out))
	if strings.Contains(out, ".") {
		outRank += maxEll - 1
	} else if maxEll > 0 && o.explicit {
		return nil, fmt.Errorf("the output drops the ellipsis dimensions")
	}
	t, err := einsumExpand(out, outRank, -1)
	if err != nil {
		return nil, err
	}
	p.out = t
	for _, c := range t {
		p.outShape = append(p.outShape, p.size[c])
	}
	return p, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (o *einsumOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	shapes := make([]classify.Shape, len(in))
	dt := in[0].DType
	for i, x := range in {
		if !einsumDType(x.DType) {
			return nil, o.n.InputErrorf("operand %d is %v (float32, float64, complex64, complex128)", i, x.DType)
		}
		if x.DType != dt {
			return nil, o.n.InputErrorf("operand %d is %v, operand 0 %v", i, x.DType, dt)
		}
		shapes[i] = x.Shape
	}
	p, err := o.plan(shapes)
	if err != nil {
		if errors.Is(err, classify.ErrUnsupportedOp) {
			return nil, fmt.Errorf("node %q (%s): %w", o.n.Name, o.n.Op, err)
		}
		return nil, o.n.InputErrorf("%v", err)
	}
	if err := arrCheckDims(p.outShape); err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, dt, p.outShape...)
	switch d := out.Data.(type) {
	case []float32:
		err = einsumRun(o, ctx, in, p, d)
	case []float64:
		err = einsumRun(o, ctx, in, p, d)
	case []complex64:
		err = einsumRun(o, ctx, in, p, d)
	case []complex128:
		err = einsumRun(o, ctx, in, p, d)
	}
	if err != nil {
		return nil, err
	}
	return []*classify.Tensor{out}, nil
}

// einsumRun computes the planned equation into dst.
func einsumRun[T einsumElem](o *einsumOp, ctx *Ctx, in []*classify.Tensor, p *einsumPlan, dst []T) error {
	has := einsumHas
	xs := make([][]T, len(in))
	for i, x := range in {
		xs[i], p.ins[i] = einsumDiagonal(x.Data.([]T), p.ins[i], p.size)
	}
	if len(in) == 1 {
		// Permute to [output labels, summed labels] and sum the tail.
		order := append([]rune{}, p.out...)
		for _, c := range p.ins[0] {
			if !has(p.out, c) {
				order = append(order, c)
			}
		}
		t := einsumPermute(xs[0], p.ins[0], order, p.size)
		einsumSumTail(dst, t)
		return nil
	}
	var res []T
	var err error
	if len(in) > 2 {
		res, err = einsumMulti(o, ctx, xs, p)
	} else {
		res, err = einsumContract(o, ctx, xs[0], p.ins[0], xs[1], p.ins[1], p.out, p.size)
	}
	if err != nil {
		return err
	}
	copy(dst, res)
	return nil
}

// contract multiplies operands xa (labelled a) and xb (labelled b) into
// the labels out, summing every other label.
func einsumContract[T einsumElem](o *einsumOp, ctx *Ctx, xa []T, a []rune, xb []T, b []rune, out []rune, size map[rune]int) ([]T, error) {
	has := einsumHas
	var batch, free1, free2, contr, sum1, sum2 []rune
	for _, c := range a {
		switch {
		case has(b, c) && has(out, c):
			batch = append(batch, c)
		case has(b, c):
			contr = append(contr, c)
		case has(out, c):
			free1 = append(free1, c)
		default:
			sum1 = append(sum1, c)
		}
	}
	for _, c := range b {
		switch {
		case has(a, c):
		case has(out, c):
			free2 = append(free2, c)
		default:
			sum2 = append(sum2, c)
		}
	}
	prod := func(ls []rune) int {
		n := 1
		for _, c := range ls {
			n *= size[c]
		}
		return n
	}
	cat := func(ls ...[]rune) []rune {
		var r []rune
		for _, l := range ls {
			r = append(r, l...)
		}
		return r
	}
	nb, m, k, nn := prod(batch), prod(free1), prod(contr), prod(free2)
	ta := einsumPermute(xa, a, cat(batch, free1, contr, sum1), size)
	tb := einsumPermute(xb, b, cat(batch, contr, free2, sum2), size)
	am := make([]T, nb*m*k)
	einsumSumTail(am, ta)
	bm := make([]T, nb*k*nn)
	einsumSumTail(bm, tb)
	res := make([]T, nb*m*nn)
	if k == 0 || m == 0 || nn == 0 {
		clear(res)
	} else if r32, ok := any(res).([]float32); ok {
		am, bm := any(am).([]float32), any(bm).([]float32)
		pb := o.runs.Get().(*gemm.PackedB)
		defer o.runs.Put(pb)
		for bi := range nb {
			pb.Repack(gemm.Choose(gemmKernel, nn), bm[bi*k*nn:(bi+1)*k*nn], k, nn, nn, false)
			ga := gemm.A{M: m, Data: am[bi*m*k : (bi+1)*m*k], Stride: k}
			if err := gemm.Gemm(ctx.Workers(), &ga, pb, r32[bi*m*nn:(bi+1)*m*nn], nn, nil); err != nil {
				return nil, fmt.Errorf("node %q (%s): %w", o.n.Name, o.n.Op, err)
			}
		}
	} else {
		// [m,k] x [k,n] per batch, row by row of the result.
		for bi := range nb {
			a, b, c := am[bi*m*k:(bi+1)*m*k], bm[bi*k*nn:(bi+1)*k*nn], res[bi*m*nn:(bi+1)*m*nn]
			for i := range m {
				row := c[i*nn : (i+1)*nn]
				for p, av := range a[i*k : (i+1)*k] {
					for j, bv := range b[p*nn : (p+1)*nn] {
						row[j] += av * bv
					}
				}
			}
		}
	}
	return einsumPermute(res, cat(batch, free1, free2), out, size), nil
}

// einsumDiagonal returns x (labelled labels) restricted to the elements
// whose repeated labels have equal indices, labelled by each label once,
// in order of first appearance; x itself when no label repeats.
func einsumDiagonal[T einsumElem](x []T, labels []rune, size map[rune]int) ([]T, []rune) {
	var uniq []rune
	for _, c := range labels {
		if !einsumHas(uniq, c) {
			uniq = append(uniq, c)
		}
	}
	if len(uniq) == len(labels) {
		return x, labels
	}
	// The stride of each unique label in x is the sum of the strides of
	// its positions.
	st := make(map[rune]int, len(uniq))
	s := 1
	for i := len(labels) - 1; i >= 0; i-- {
		st[labels[i]] += s
		s *= size[labels[i]]
	}
	dims := make([]int, len(uniq))
	str := make([]int, len(uniq))
	n := 1
	for i, c := range uniq {
		dims[i], str[i] = size[c], st[c]
		n *= dims[i]
	}
	y := make([]T, n)
	idx := make([]int, len(uniq))
	off := 0
	for i := range y {
		y[i] = x[off]
		for d := len(dims) - 1; d >= 0; d-- {
			idx[d]++
			off += str[d]
			if idx[d] < dims[d] {
				break
			}
			off -= idx[d] * str[d]
			idx[d] = 0
		}
	}
	return y, uniq
}

func einsumHas(s []rune, c rune) bool {
	for _, x := range s {
		if x == c {
			return true
		}
	}
	return false
}

// einsumPermute returns x (labelled from) with its dimensions reordered
// as to, which holds the same labels.
func einsumPermute[T einsumElem](x []T, from, to []rune, size map[rune]int) []T {
	same := len(from) == len(to)
	for i := range from {
		same = same && from[i] == to[i]
	}
	if same {
		return x
	}
	pos := map[rune]int{}
	st := make([]int, len(from))
	s := 1
	for i := len(from) - 1; i >= 0; i-- {
		st[i] = s
		s *= size[from[i]]
		pos[from[i]] = i
	}
	dims := make([]int, len(to))
	str := make([]int, len(to))
	for i, c := range to {
		dims[i], str[i] = size[c], st[pos[c]]
	}
	y := make([]T, len(x))
	idx := make([]int, len(to))
	off := 0
	for i := range y {
		y[i] = x[off]
		for d := len(dims) - 1; d >= 0; d-- {
			idx[d]++
			off += str[d]
			if idx[d] < dims[d] {
				break
			}
			off -= idx[d] * str[d]
			idx[d] = 0
		}
	}
	return y
}

// einsumSumTail sums x in consecutive groups of len(x)/len(dst) into dst.
func einsumSumTail[T einsumElem](dst, x []T) {
	if len(dst) == 0 {
		return
	}
	g := len(x) / len(dst)
	if g == 1 {
		copy(dst, x)
		return
	}
	for i := range dst {
		var s T
		for _, v := range x[i*g : (i+1)*g] {
			s += v
		}
		dst[i] = s
	}
}
