package ops

import (
	"testing"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

// TensorFlow.js has neither ExtractImagePatches nor ExtractVolumePatches:
// both are checked against a direct loop over output position, window
// offset and channel, with the window size rule written out from
// TensorFlow's GetWindowedOutputSize.

func refPatches(x []int32, shape, k, s, r []int, same bool) ([]int32, []int) {
	ns := len(k)
	out := []int{shape[0]}
	var before []int
	depth := shape[ns+1]
	for i := 0; i < ns; i++ {
		keff := (k[i]-1)*r[i] + 1
		var o, b int
		if same {
			o = (shape[1+i] + s[i] - 1) / s[i]
			b = max(0, (o-1)*s[i]+keff-shape[1+i]) / 2
		} else {
			o = (shape[1+i] - keff + s[i]) / s[i]
		}
		out, before = append(out, o), append(before, b)
		depth *= k[i]
	}
	out = append(out, depth)
	res := make([]int32, classify.Shape(out).NumElements())
	pos := make([]int, ns)
	kk := make([]int, ns)
	n := 0
	var walkK func(d int, b int)
	walkK = func(d int, b int) {
		if d == ns {
			for c := 0; c < shape[ns+1]; c++ {
				idx, ok := b, true
				for i := 0; i < ns; i++ {
					h := pos[i]*s[i] + kk[i]*r[i] - before[i]
					if h < 0 || h >= shape[1+i] {
						ok = false
					}
					idx = idx*shape[1+i] + h
				}
				if ok {
					res[n] = x[idx*shape[ns+1]+c]
				} else {
					res[n] = 0
				}
				n++
			}
			return
		}
		for kk[d] = 0; kk[d] < k[d]; kk[d]++ {
			walkK(d+1, b)
		}
	}
	var walk func(d, b int)
	walk = func(d, b int) {
		if d == ns {
			walkK(0, b)
			return
		}
		for pos[d] = 0; pos[d] < out[1+d]; pos[d]++ {
			walk(d+1, b)
		}
	}
	for b := 0; b < shape[0]; b++ {
		walk(0, b)
	}
	return res, out
}

func TestExtractPatches(t *testing.T) {
	list := func(v []int) []int { return append(append([]int{1}, v...), 1) }
	for _, c := range []struct {
		shape, k, s, r []int
		same           bool
	}{
		{[]int{1, 5, 6, 2}, []int{2, 3}, []int{1, 1}, []int{1, 1}, false},
		{[]int{2, 7, 6, 3}, []int{3, 2}, []int{2, 3}, []int{1, 1}, true},
		{[]int{1, 9, 8, 1}, []int{3, 3}, []int{2, 1}, []int{2, 3}, true},
		{[]int{1, 9, 8, 2}, []int{2, 3}, []int{3, 2}, []int{3, 2}, false},
		{[]int{1, 2, 2, 1}, []int{3, 3}, []int{1, 1}, []int{1, 1}, true},
		// VALID window larger than the input by less than the stride:
		// an empty output, as GetWindowedOutputSize gives.
		{[]int{1, 3, 4, 1}, []int{4, 2}, []int{2, 1}, []int{1, 1}, false},
		{[]int{2, 4, 5, 3, 2}, []int{2, 3, 2}, []int{1, 2, 2}, []int{1, 1, 1}, true},
		{[]int{1, 5, 4, 6, 1}, []int{3, 2, 2}, []int{2, 1, 3}, []int{1, 1, 1}, false},
	} {
		x := saIota(c.shape...)
		op := "ExtractImagePatches"
		at := graphdef.Attrs{"T": classify.Int32, "ksizes": list(c.k), "strides": list(c.s), "padding": "VALID"}
		if len(c.k) == 3 {
			op = "ExtractVolumePatches"
		} else {
			at["rates"] = list(c.r)
		}
		if c.same {
			at["padding"] = "SAME"
		}
		got, err := saRun(t, op, at, saFeed(x))
		if err != nil {
			t.Fatalf("%s %v: %v", op, c, err)
		}
		wd, ws := refPatches(x.Int32s(), c.shape, c.k, c.s, c.r, c.same)
		if msg := compare(got[0], saI32(wd, ws...), 0, 0); msg != "" {
			t.Errorf("%s %v: %s", op, c, msg)
		}
	}
	// A float input, which moves through the same copies.
	xf := randF32(701, -1, 1, 1, 6, 5, 2)
	at := graphdef.Attrs{"T": classify.Float32, "ksizes": []int{1, 2, 2, 1}, "strides": []int{1, 2, 2, 1}, "rates": []int{1, 1, 1, 1}, "padding": "SAME"}
	got, err := saRun(t, "ExtractImagePatches", at, saFeed(xf))
	if err != nil {
		t.Fatal(err)
	}
	if want := (classify.Shape{1, 3, 3, 8}); !got[0].Shape.Equal(want) {
		t.Fatalf("shape %v, want %v", got[0].Shape, want)
	}
	// Position (2, 2) with SAME padding 0 before (pad 1 after on width
	// only): rows 4..5, cols 4..5, where col 5 is padding.
	v := got[0].Float32s()[(2*3+2)*8:][:8]
	xd := xf.Float32s()
	want := []float32{xd[(4*5+4)*2], xd[(4*5+4)*2+1], 0, 0, xd[(5*5+4)*2], xd[(5*5+4)*2+1], 0, 0}
	for i := range want {
		if v[i] != want[i] {
			t.Errorf("float patch %v, want %v", v, want)
			break
		}
	}
	x := randF32(702, -1, 1, 1, 3, 3, 1)
	bad, inv := classify.ErrInvalidGraph, classify.ErrInvalidInput
	good := func(k []int, pad string) graphdef.Attrs {
		return graphdef.Attrs{"T": classify.Float32, "ksizes": k, "strides": []int{1, 1, 1, 1}, "rates": []int{1, 1, 1, 1}, "padding": pad}
	}
	saCheckErrors(t, []saErrCase{
		{"negative", "ExtractImagePatches", good([]int{1, 5, 1, 1}, "VALID"), []saIn{saFeed(x)}, inv, "negative"},
		{"batch_ksize", "ExtractImagePatches", good([]int{2, 1, 1, 1}, "VALID"), []saIn{saFeed(x)}, bad, "must be 1"},
		{"zero_ksize", "ExtractImagePatches", good([]int{1, 0, 1, 1}, "VALID"), []saIn{saFeed(x)}, bad, "positive"},
		{"short_ksize", "ExtractImagePatches", good([]int{1, 1}, "VALID"), []saIn{saFeed(x)}, bad, "4 elements"},
		{"padding", "ExtractImagePatches", good([]int{1, 1, 1, 1}, "EXPLICIT"), []saIn{saFeed(x)}, bad, "padding"},
		{"rank", "ExtractImagePatches", good([]int{1, 1, 1, 1}, "VALID"), []saIn{saFeed(randF32(1, 0, 1, 3, 3))}, inv, "4-D"},
	})
	saCheckShapes(t, []saShapeCase{
		{name: "same", op: "ExtractImagePatches", attrs: good([]int{1, 3, 2, 1}, "SAME"), in: []classify.TensorInfo{saF32Info(-1, 7, -1, 3)},
			want: []classify.TensorInfo{saF32Info(-1, 7, -1, 18)}},
	})
}
