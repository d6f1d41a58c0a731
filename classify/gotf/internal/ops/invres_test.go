package ops

import (
	"fmt"
	"math"
	"testing"

	apb "github.com/galeone/tensorflow/tensorflow/go/core/framework/attr_value_go_proto"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/internal/graphdef"
)

type invResCase struct {
	n, h, w, cin, ce, cout, stride int
	padding                        string
	eAct, dAct, pAct               string // "" for none
	add                            bool
}

func (c invResCase) String() string {
	return fmt.Sprintf("%dx%dx%dx%d_e%d_o%d_s%d_%s_%s_%s_%s_add%v", c.n, c.h, c.w, c.cin, c.ce, c.cout, c.stride, c.padding, c.eAct, c.dAct, c.pAct, c.add)
}

func fusedOpsAttr(act string, add bool) []string {
	ops := []string{"BiasAdd"}
	if add {
		ops = append(ops, "Add")
	}
	if act != "" {
		ops = append(ops, act)
	}
	return ops
}

// invResNodes returns the three separate nodes' attributes.
func invResNodes(c invResCase) (e, d, p map[string]*apb.AttrValue) {
	conv := func(stride int, padding, act string, add bool) map[string]*apb.AttrValue {
		m := attrs(graphdef.Attrs{"T": classify.Float32, "strides": []int{1, stride, stride, 1}, "padding": padding, "num_args": 1})
		if add {
			m["num_args"] = graphdef.Attr(2)
		}
		m["fused_ops"] = strList(fusedOpsAttr(act, add))
		return m
	}
	return conv(1, "VALID", c.eAct, false), conv(c.stride, c.padding, c.dAct, false), conv(1, "SAME", c.pAct, c.add)
}

// TestInvertedResidual checks the fused block against its three kernels
// run one after the other, at shapes that take the band path (one and two
// workers, residual or none, both strides, odd and even sizes, SAME and
// VALID) and ones that take the separate path.
func TestInvertedResidual(t *testing.T) {
	cases := []invResCase{
		{1, 16, 16, 8, 48, 8, 1, "SAME", "Relu6", "Relu6", "", true},
		{1, 17, 13, 8, 48, 16, 2, "SAME", "Relu6", "Relu6", "", false},
		{2, 20, 18, 16, 96, 24, 2, "SAME", "Relu", "Relu6", "", false},
		{1, 40, 40, 24, 144, 24, 1, "SAME", "Relu6", "Relu6", "", true},
		{3, 9, 11, 5, 30, 7, 1, "VALID", "Relu6", "Relu", "Relu", true},
		{1, 7, 7, 160, 960, 160, 1, "SAME", "Relu6", "Relu6", "", true},
		{4, 14, 14, 64, 384, 96, 1, "SAME", "Relu6", "Relu6", "", false},
		{1, 56, 56, 24, 144, 32, 2, "SAME", "Relu6", "Relu6", "", false},
		{1, 112, 112, 16, 96, 24, 2, "SAME", "Relu6", "Relu6", "", false},
		{1, 3, 3, 4, 8, 4, 2, "SAME", "", "", "", true},
	}
	defer func(b, c int) { invResMinBytes, invResMinChannels = b, c }(invResMinBytes, invResMinChannels)
	defBytes, defChannels := invResMinBytes, invResMinChannels
	for ci, c := range cases {
		// The band path at every size, and at the sizes the engine
		// gives it (the larger cases).
		invResMinBytes, invResMinChannels = 0, 0
		if ci%2 == 1 {
			invResMinBytes, invResMinChannels = defBytes, defChannels
		}
		t.Run(c.String(), func(t *testing.T) {
			seed := uint64(100 * ci)
			x := randF32(seed, -1, 1, c.n, c.h, c.w, c.cin)
			w1 := randF32(seed+1, -0.5, 0.5, 1, 1, c.cin, c.ce)
			b1 := randF32(seed+2, -1, 1, c.ce)
			wd := randF32(seed+3, -0.5, 0.5, 3, 3, c.ce, 1)
			bd := randF32(seed+4, -1, 1, c.ce)
			w3 := randF32(seed+5, -0.5, 0.5, 1, 1, c.ce, c.cout)
			b3 := randF32(seed+6, -1, 1, c.cout)
			ea, da, pa := invResNodes(c)
			e := mustBuild(t, &Node{Name: "e", Op: "_FusedConv2D", NumInputs: 3, Attr: ea}, []*classify.Tensor{nil}, w1, b1)
			d := mustBuild(t, &Node{Name: "d", Op: "_FusedDepthwiseConv2dNative", NumInputs: 3, Attr: da}, []*classify.Tensor{nil}, wd, bd)
			pn := &Node{Name: "p", Op: "_FusedConv2D", NumInputs: 3, Attr: pa}
			fa := map[string]*apb.AttrValue{}
			for prefix, m := range map[string]map[string]*apb.AttrValue{"e:": ea, "d:": da, "p:": pa} {
				for k, v := range m {
					fa[prefix+k] = v
				}
			}
			consts := []*classify.Tensor{nil, w1, b1, wd, bd, w3, b3}
			for _, threads := range []int{1, 2} {
				ctx := &Ctx{Threads: threads}
				ey, err := e.Run(ctx, []*classify.Tensor{x, w1, b1})
				if err != nil {
					t.Fatal(err)
				}
				dy, err := d.Run(ctx, []*classify.Tensor{ey[0], wd, bd})
				if err != nil {
					t.Fatal(err)
				}
				pin := []*classify.Tensor{dy[0], w3, b3}
				var res *classify.Tensor
				if c.add {
					pn.NumInputs = 4
					res = randF32(seed+7, -1, 1, dy[0].Shape[0], dy[0].Shape[1], dy[0].Shape[2], c.cout)
					pin = append(pin, res)
				}
				pc := []*classify.Tensor{nil, w3, b3}
				if c.add {
					pc = append(pc, nil)
				}
				p := mustBuild(t, pn, pc)
				want, err := p.Run(ctx, pin)
				if err != nil {
					t.Fatal(err)
				}
				fin := append([]*classify.Tensor{x}, consts[1:]...)
				fc := consts
				if c.add {
					fin = append(fin, res)
					fc = append(fc, nil)
				}
				f := mustBuild(t, &Node{Name: "f", Op: InvertedResidual, NumInputs: len(fin), Attr: fa}, fc[:1], fc[1:]...)
				// Through an arena, so the separate path's sub-contexts
				// are exercised too.
				fctx := &Ctx{Threads: threads, Slots: make([]*classify.Tensor, 4), Arena: NewArena()}
				fctx.Arena.BeginStep(4)
				got, err := f.Run(fctx, fin)
				if err != nil {
					t.Fatal(err)
				}
				if !got[0].Shape.Equal(want[0].Shape) {
					t.Fatalf("threads %d: shape %v, want %v", threads, got[0].Shape, want[0].Shape)
				}
				if msg := compare(got[0], want[0], 1e-5, 1e-5); msg != "" {
					t.Errorf("threads %d: %s", threads, msg)
				}
				// Only pixels whose depthwise window reaches into the
				// padding may differ at all: the separate kernel sums
				// their valid taps in another order, the band path adds
				// zeros for the rest.
				g, w := got[0].Float32s(), want[0].Float32s()
				oh, ow := want[0].Shape[1], want[0].Shape[2]
				pt, pl := (max(0, (oh-1)*c.stride+3-c.h))/2, (max(0, (ow-1)*c.stride+3-c.w))/2
				if c.padding == "VALID" {
					pt, pl = 0, 0
				}
				edge := func(o, pad, in int) bool { return o*c.stride-pad < 0 || o*c.stride-pad+2 >= in }
				for i := range g {
					px := i / c.cout
					oy, ox := px/ow%oh, px%ow
					if math.Float32bits(g[i]) != math.Float32bits(w[i]) && !edge(oy, pt, c.h) && !edge(ox, pl, c.w) {
						t.Fatalf("threads %d: inner pixel (%d,%d) channel %d: %g, want %g exactly", threads, oy, ox, i%c.cout, g[i], w[i])
					}
				}
			}
		})
	}
}

// mustBuild builds n with the given constants after the leading
// non-constant inputs.
func mustBuild(t *testing.T, n *Node, lead []*classify.Tensor, consts ...*classify.Tensor) Op {
	t.Helper()
	b, ok := Lookup(n.Op)
	if !ok {
		t.Fatalf("%s not registered", n.Op)
	}
	op, err := b(n, append(append([]*classify.Tensor(nil), lead...), consts...))
	if err != nil {
		t.Fatalf("build %s: %v", n.Op, err)
	}
	return op
}

// TestInvertedResidualRejects checks the builder refuses what the band
// path cannot compute, so the fuser leaves such chains alone.
func TestInvertedResidualRejects(t *testing.T) {
	c := invResCase{1, 8, 8, 4, 8, 4, 1, "SAME", "Relu6", "Elu", "", false}
	ea, da, pa := invResNodes(c)
	fa := map[string]*apb.AttrValue{}
	for prefix, m := range map[string]map[string]*apb.AttrValue{"e:": ea, "d:": da, "p:": pa} {
		for k, v := range m {
			fa[prefix+k] = v
		}
	}
	consts := []*classify.Tensor{nil, randF32(1, -1, 1, 1, 1, 4, 8), randF32(2, -1, 1, 8), randF32(3, -1, 1, 3, 3, 8, 1), randF32(4, -1, 1, 8), randF32(5, -1, 1, 1, 1, 8, 4), randF32(6, -1, 1, 4)}
	b, _ := Lookup(InvertedResidual)
	if _, err := b(&Node{Name: "f", Op: InvertedResidual, NumInputs: 7, Attr: fa}, consts); err == nil {
		t.Errorf("an Elu depthwise was accepted")
	}
	fa["d:fused_ops"] = strList([]string{"BiasAdd", "Relu6"})
	consts[3] = randF32(3, -1, 1, 5, 5, 8, 1)
	if _, err := b(&Node{Name: "f", Op: InvertedResidual, NumInputs: 7, Attr: fa}, consts); err == nil {
		t.Errorf("a 5x5 depthwise was accepted")
	}
	consts[3] = nil
	if _, err := b(&Node{Name: "f", Op: InvertedResidual, NumInputs: 7, Attr: fa}, consts); err == nil {
		t.Errorf("a non-constant filter was accepted")
	}
}

// FuzzInvertedResidual runs the band path on input shapes a client
// chooses (tiny, odd, one row, empty) and holds it to the separate
// kernels: same error or same values.
func FuzzInvertedResidual(f *testing.F) {
	f.Add(uint8(1), uint8(5), uint8(7), uint8(1), false, uint8(1))
	f.Add(uint8(2), uint8(1), uint8(1), uint8(2), true, uint8(2))
	f.Add(uint8(1), uint8(2), uint8(9), uint8(2), false, uint8(2))
	f.Add(uint8(0), uint8(4), uint8(4), uint8(1), true, uint8(1))
	f.Fuzz(func(t *testing.T, n, h, w, stride uint8, valid bool, threads uint8) {
		c := invResCase{int(n % 4), int(h % 40), int(w % 40), 3, 12, 5, 1 + int(stride%2), "SAME", "Relu6", "Relu6", "", false}
		if valid {
			c.padding = "VALID"
		}
		defer func(b, c int) { invResMinBytes, invResMinChannels = b, c }(invResMinBytes, invResMinChannels)
		invResMinBytes, invResMinChannels = 0, 0
		x := randF32(uint64(h)*131+uint64(w), -1, 1, c.n, c.h, c.w, c.cin)
		w1, b1 := randF32(1, -0.5, 0.5, 1, 1, c.cin, c.ce), randF32(2, -1, 1, c.ce)
		wd, bd := randF32(3, -0.5, 0.5, 3, 3, c.ce, 1), randF32(4, -1, 1, c.ce)
		w3, b3 := randF32(5, -0.5, 0.5, 1, 1, c.ce, c.cout), randF32(6, -1, 1, c.cout)
		ea, da, pa := invResNodes(c)
		fa := map[string]*apb.AttrValue{}
		for prefix, m := range map[string]map[string]*apb.AttrValue{"e:": ea, "d:": da, "p:": pa} {
			for k, v := range m {
				fa[prefix+k] = v
			}
		}
		b, _ := Lookup(InvertedResidual)
		op, err := b(&Node{Name: "f", Op: InvertedResidual, NumInputs: 7, Attr: fa}, []*classify.Tensor{nil, w1, b1, wd, bd, w3, b3})
		if err != nil {
			t.Fatal(err)
		}
		in := []*classify.Tensor{x, w1, b1, wd, bd, w3, b3}
		ctx := &Ctx{Threads: 1 + int(threads%2), Slots: make([]*classify.Tensor, 4), Arena: NewArena()}
		ctx.Arena.BeginStep(4)
		got, gerr := op.Run(ctx, in)
		sep := op.(*invRes)
		ctx2 := &Ctx{Threads: 1, Slots: make([]*classify.Tensor, 4)}
		want, werr := sep.separate(ctx2, in)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("band path error %v, separate kernels %v", gerr, werr)
		}
		if gerr != nil {
			return
		}
		if msg := compare(got[0], want[0], 1e-5, 1e-5); msg != "" {
			t.Fatalf("%v: %s", c, msg)
		}
	})
}

// BenchmarkInvertedResidual times MobileNet v2 1.0's block shapes at batch
// 1 in bands and as the three separate kernels, at one and two threads:
//
//	go test -run - -bench InvertedResidual ./classify/gotf/internal/ops
func BenchmarkInvertedResidual(b *testing.B) {
	for _, c := range []invResCase{
		{1, 112, 112, 16, 96, 24, 2, "SAME", "Relu6", "Relu6", "", false},
		{1, 56, 56, 24, 144, 24, 1, "SAME", "Relu6", "Relu6", "", true},
		{1, 56, 56, 24, 144, 32, 2, "SAME", "Relu6", "Relu6", "", false},
		{1, 28, 28, 32, 192, 32, 1, "SAME", "Relu6", "Relu6", "", true},
		{1, 14, 14, 64, 384, 64, 1, "SAME", "Relu6", "Relu6", "", true},
		{1, 7, 7, 160, 960, 160, 1, "SAME", "Relu6", "Relu6", "", true},
	} {
		x := randF32(1, -1, 1, c.n, c.h, c.w, c.cin)
		consts := []*classify.Tensor{nil, randF32(2, -0.5, 0.5, 1, 1, c.cin, c.ce), randF32(3, -1, 1, c.ce),
			randF32(4, -0.5, 0.5, 3, 3, c.ce, 1), randF32(5, -1, 1, c.ce), randF32(6, -0.5, 0.5, 1, 1, c.ce, c.cout), randF32(7, -1, 1, c.cout)}
		ea, da, pa := invResNodes(c)
		fa := map[string]*apb.AttrValue{}
		for prefix, m := range map[string]map[string]*apb.AttrValue{"e:": ea, "d:": da, "p:": pa} {
			for k, v := range m {
				fa[prefix+k] = v
			}
		}
		in := append([]*classify.Tensor{x}, consts[1:]...)
		if c.add {
			oh := (c.h + c.stride - 1) / c.stride
			consts = append(consts, nil)
			in = append(in, randF32(8, -1, 1, c.n, oh, (c.w+c.stride-1)/c.stride, c.cout))
		}
		bld, _ := Lookup(InvertedResidual)
		op, err := bld(&Node{Name: "f", Op: InvertedResidual, NumInputs: len(in), Attr: fa}, consts)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			for _, mode := range []string{"bands", "separate"} {
				b.Run(fmt.Sprintf("%dx%dx%d_e%d_s%d/%s/t%d", c.h, c.w, c.cin, c.ce, c.stride, mode, threads), func(b *testing.B) {
					defer func(v, c int) { invResMinBytes, invResMinChannels = v, c }(invResMinBytes, invResMinChannels)
					invResMinBytes, invResMinChannels = 0, 0
					ctx := &Ctx{Threads: threads, Slots: make([]*classify.Tensor, 4), Arena: NewArena()}
					for b.Loop() {
						ctx.Arena.BeginStep(4)
						var err error
						if mode == "bands" {
							_, err = op.Run(ctx, in)
						} else {
							_, err = op.(*invRes).separate(ctx, in)
						}
						if err != nil {
							b.Fatal(err)
						}
						ctx.Arena.EndStep()
					}
				})
			}
		}
	}
}
