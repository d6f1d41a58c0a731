package ops

// Einsum of three or more operands: contracted two at a time, each step
// taking the pair whose product is smallest (then the one with the fewest
// multiply-adds, then the first), as opt_einsum's greedy path does. A
// pair's product keeps the labels some other operand or the output still
// needs and sums the rest, so chains such as "ij,jk,kl->il" or
// "bi,bj,bk->bijk" never build the full outer product.

type einsumTerm[T einsumElem] struct {
	x      []T
	labels []rune
}

func einsumMulti[T einsumElem](o *einsumOp, ctx *Ctx, xs [][]T, p *einsumPlan) ([]T, error) {
	terms := make([]einsumTerm[T], len(xs))
	labels := make([][]rune, len(xs))
	for i, x := range xs {
		terms[i] = einsumTerm[T]{x, p.ins[i]}
	}
	prod := func(ls []rune) int64 {
		n := int64(1)
		for _, c := range ls {
			n *= int64(p.size[c])
		}
		return n
	}
	for len(terms) > 2 {
		bi, bj := -1, -1
		var bestKeep []rune
		var bestSize, bestWork int64
		for i := range terms {
			for j := i + 1; j < len(terms); j++ {
				for k := range terms {
					labels[k] = terms[k].labels
				}
				keep, union := einsumPairLabels(labels[:len(terms)], i, j, p.out)
				size, work := prod(keep), prod(union)
				if bi < 0 || size < bestSize || size == bestSize && work < bestWork {
					bi, bj, bestKeep, bestSize, bestWork = i, j, keep, size, work
				}
			}
		}
		dims := make([]int, len(bestKeep))
		for k, c := range bestKeep {
			dims[k] = p.size[c]
		}
		if err := arrCheckDims(dims); err != nil {
			return nil, o.n.InputErrorf("contracting operands: intermediate %v", err)
		}
		x, err := einsumContract(o, ctx, terms[bi].x, terms[bi].labels, terms[bj].x, terms[bj].labels, bestKeep, p.size)
		if err != nil {
			return nil, err
		}
		terms[bi] = einsumTerm[T]{x, bestKeep}
		terms = append(terms[:bj], terms[bj+1:]...)
	}
	return einsumContract(o, ctx, terms[0].x, terms[0].labels, terms[1].x, terms[1].labels, p.out, p.size)
}

// pairLabels returns the labels the product of terms i and j keeps (those
// another term or the output uses, in the pair's order) and all the
// labels of the pair.
func einsumPairLabels(terms [][]rune, i, j int, out []rune) (keep, union []rune) {
	union = append([]rune{}, terms[i]...)
	for _, c := range terms[j] {
		if !einsumHas(union, c) {
			union = append(union, c)
		}
	}
	for _, c := range union {
		needed := einsumHas(out, c)
		for k := range terms {
			if k != i && k != j && einsumHas(terms[k], c) {
				needed = true
			}
		}
		if needed {
			keep = append(keep, c)
		}
	}
	return keep, union
}
