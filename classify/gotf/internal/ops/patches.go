package ops

// ExtractImagePatches and ExtractVolumePatches: every (dilated) window of
// the spatial dims becomes one output position whose depth holds the
// window's elements in row-major (k1, ..., kn, channel) order; positions
// outside the input (SAME padding) are zero. The copy goes kernel offset by
// kernel offset: for one offset, the output positions that read inside the
// input are a box, copied as one strided region.

import (
	"fmt"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("ExtractImagePatches", buildPatches)
	Register("ExtractVolumePatches", buildPatches)
	allowDTypes("ExtractImagePatches", allNewDTypes...)
	allowDTypes("ExtractVolumePatches", allNewDTypes...)
}

type patchesOp struct {
	n            *Node
	same         bool
	k, s, r      []int // per spatial dim
	spatial, dim int   // spatial dims, input rank
}

func buildPatches(n *Node, _ []*classify.Tensor) (Op, error) {
	if n.NumInputs != 1 {
		return nil, n.Errorf("needs 1 input, has %d", n.NumInputs)
	}
	o := &patchesOp{n: n, spatial: 2}
	if n.Op == "ExtractVolumePatches" {
		o.spatial = 3
	}
	o.dim = o.spatial + 2
	switch p := n.String("padding", ""); p {
	case "SAME":
		o.same = true
	case "VALID":
	default:
		return nil, n.Errorf("padding %q: want SAME or VALID", p)
	}
	get := func(name string, need bool) ([]int, error) {
		v := n.Ints(name)
		if v == nil && !need {
			v = make([]int64, o.dim)
			for i := range v {
				v[i] = 1
			}
		}
		if len(v) != o.dim {
			return nil, fmt.Errorf("%s %v must have %d elements", name, v, o.dim)
		}
		if v[0] != 1 || v[o.dim-1] != 1 {
			return nil, fmt.Errorf("%s %v: only patches across the spatial dimensions are supported (batch and depth entries must be 1)", name, v)
		}
		out := make([]int, o.spatial)
		for i := range out {
			x := v[1+i]
			if x < 1 || x > arrMaxElements {
				return nil, fmt.Errorf("%s %v must be positive", name, v)
			}
			out[i] = int(x)
		}
		return out, nil
	}
	var err error
	if o.k, err = get("ksizes", true); err != nil {
		return nil, n.Errorf("%v", err)
	}
	if o.s, err = get("strides", true); err != nil {
		return nil, n.Errorf("%v", err)
	}
	// ExtractVolumePatches has no rates.
	if o.r, err = get("rates", o.spatial == 2); err != nil {
		return nil, n.Errorf("%v", err)
	}
	return o, nil
}

// windowedSize is TensorFlow's GetWindowedOutputSize: VALID gives
// (in - keff + stride) / stride truncated, SAME ceil(in / stride) with the
// smaller half of the padding before; a negative size is an error, zero an
// empty output.
func windowedSize(in, keff, stride int, same bool) (out, before int, err error) {
	if same {
		out = (in + stride - 1) / stride
		need := (out-1)*stride + keff - in
		if need < 0 {
			need = 0
		}
		return out, need / 2, nil
	}
	out = (in - keff + stride) / stride
	if out < 0 {
		return 0, 0, fmt.Errorf("computed output size would be negative: input %d, effective window %d, stride %d", in, keff, stride)
	}
	return out, 0, nil
}

// plan returns the output shape and the padding before each spatial dim.
func (o *patchesOp) plan(shape []int) (out, before []int, err error) {
	if len(shape) != o.dim {
		return nil, nil, fmt.Errorf("input must be %d-D, has shape %v", o.dim, shape)
	}
	out = []int{shape[0]}
	depth := shape[o.dim-1]
	for i := 0; i < o.spatial; i++ {
		keff := o.k[i] + (o.k[i]-1)*(o.r[i]-1)
		if keff > arrMaxElements {
			return nil, nil, fmt.Errorf("window %d dilated by %d is too large", o.k[i], o.r[i])
		}
		if depth >= 0 {
			if depth > 0 && o.k[i] > arrMaxElements/depth {
				return nil, nil, fmt.Errorf("patch depth exceeds %d elements", arrMaxElements)
			}
			depth *= o.k[i]
		}
		d := shape[1+i]
		if d < 0 {
			out = append(out, -1)
			before = append(before, 0)
			continue
		}
		od, b, err := windowedSize(d, keff, o.s[i], o.same)
		if err != nil {
			return nil, nil, err
		}
		out, before = append(out, od), append(before, b)
	}
	return append(out, depth), before, nil
}

func (o *patchesOp) Run(ctx *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	t := in[0]
	shape, before, err := o.plan(t.Shape)
	if err == nil {
		err = arrCheckDims(shape)
	}
	if err != nil {
		return nil, o.n.InputErrorf("%v", err)
	}
	out := ctx.Output(0, t.DType, shape...)
	if out.Shape.NumElements() == 0 {
		return []*classify.Tensor{out}, nil
	}
	w := ctx.Workers()
	if o.same {
		if err := arrFillAll(w, out, classify.NewTensor(t.DType, 1), 0); err != nil {
			return nil, o.n.InputErrorf("%v", err)
		}
	}
	is, os := arrStrides(t.Shape), arrStrides(shape)
	c := t.Shape[o.dim-1]
	ns := o.spatial
	region := make([]int, ns+2)
	region[0], region[ns+1] = t.Shape[0], c
	sstr := make([]int, ns+2)
	dstr := make([]int, ns+2)
	sstr[0], sstr[ns+1] = is[0], 1
	dstr[0], dstr[ns+1] = os[0], 1
	for i := 0; i < ns; i++ {
		sstr[1+i] = o.s[i] * is[1+i]
		dstr[1+i] = os[1+i]
	}
	kidx := make([]int, ns)
	for kflat := 0; ; kflat++ {
		soff, doff, empty := 0, kflat*c, false
		for i := 0; i < ns; i++ {
			// Output position p reads input p*s + k*r - before.
			base := kidx[i]*o.r[i] - before[i]
			lo := 0
			if base < 0 {
				lo = (-base + o.s[i] - 1) / o.s[i]
			}
			hi := shape[1+i]
			if last := t.Shape[1+i] - 1 - base; last < 0 {
				hi = 0
			} else if h := last/o.s[i] + 1; h < hi {
				hi = h
			}
			if lo >= hi {
				empty = true
				break
			}
			region[1+i] = hi - lo
			soff += (lo*o.s[i] + base) * is[1+i]
			doff += lo * os[1+i]
		}
		if !empty {
			if err := arrCopy(w, region, out, arrRegion{Off: doff, Str: dstr}, t, arrRegion{Off: soff, Str: sstr}); err != nil {
				return nil, o.n.InputErrorf("%v", err)
			}
		}
		// Next kernel offset, last dim fastest.
		i := ns - 1
		for ; i >= 0; i-- {
			if kidx[i]++; kidx[i] < o.k[i] {
				break
			}
			kidx[i] = 0
		}
		if i < 0 {
			break
		}
	}
	return []*classify.Tensor{out}, nil
}

func (o *patchesOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	t := in[0]
	if t.Shape == nil {
		return []classify.TensorInfo{{DType: t.DType}}, nil
	}
	s, _, err := o.plan(t.Shape)
	if err != nil {
		return nil, o.n.Errorf("%v", err)
	}
	return []classify.TensorInfo{{DType: t.DType, Shape: s}}, nil
}
