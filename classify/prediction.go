package classify

// Label is one class of a model's output with its probability.
type Label struct {
	Label       string  `json:"label"`
	Index       int     `json:"index"`
	Probability float32 `json:"probability"`
}

// TopK returns the k largest entries of probs, highest first (ties by lower
// index; NaN below every number), naming each with labels[i - offset] where
// it exists. Indices in skip are never reported (for example ImageNet's
// background class 0).
func TopK(probs []float32, labels []string, offset, k int, skip ...int) []Label {
	k = max(0, min(k, len(probs)))
	// A selection into the k best so far: k is a handful, probs a
	// thousand classes, so this is one pass where sorting them all was
	// most of the work.
	top := make([]int, 0, k)
outer:
	for i, p := range probs {
		if k == 0 {
			break
		}
		for _, s := range skip {
			if i == s {
				continue outer
			}
		}
		if len(top) == k && !above(p, probs[top[k-1]]) {
			continue
		}
		j := len(top)
		for j > 0 && above(p, probs[top[j-1]]) {
			j--
		}
		if len(top) < k {
			top = append(top, 0)
		}
		copy(top[j+1:], top[j:len(top)-1])
		top[j] = i
	}
	out := make([]Label, 0, len(top))
	for _, i := range top {
		name := ""
		if j := i - offset; j >= 0 && j < len(labels) {
			name = labels[j]
		}
		out = append(out, Label{Label: name, Index: i, Probability: probs[i]})
	}
	return out
}

// above orders probabilities for TopK: a ranks above b if it is larger,
// or a number where b is NaN.
func above(a, b float32) bool {
	return a > b || (b != b && a == a)
}
