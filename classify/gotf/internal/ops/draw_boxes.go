package ops

// DrawBoundingBoxes and DrawBoundingBoxesV2 (draw_bounding_box_op.cc):
// images [batch, height, width, depth] (depth 1, 3 or 4; float32 or half)
// get the one-pixel outline of each box [ymin, xmin, ymax, xmax]
// (normalised, corners scaled by height-1 and width-1 and truncated
// toward zero) in colour box%len(colors); V2 takes the colours as a
// float32 [n, >=depth] input, the default palette when it is empty. A
// box outside the image or inverted is skipped; edges outside are not
// drawn, the others are clipped.

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	Register("DrawBoundingBoxes", buildDrawBoxes)
	Register("DrawBoundingBoxesV2", buildDrawBoxes)
	allowDTypes("DrawBoundingBoxes", classify.Float16)
	allowDTypes("DrawBoundingBoxesV2", classify.Float16)
}

// drawBoxPalette is the kernel's default colour table (yellow, blue, red,
// lime, purple, olive, maroon, navy, aqua, fuchsia), RGBA.
var drawBoxPalette = [][]float32{
	{1, 1, 0, 1}, {0, 0, 1, 1}, {1, 0, 0, 1}, {0, 1, 0, 1}, {0.5, 0, 0.5, 1},
	{0.5, 0.5, 0, 1}, {0.5, 0, 0, 1}, {0, 0, 0.5, 1}, {0, 1, 1, 1}, {1, 0, 1, 1},
}

type drawBoxesOp struct{ n *Node }

func buildDrawBoxes(n *Node, _ []*classify.Tensor) (Op, error) {
	want := 2
	if n.Op == "DrawBoundingBoxesV2" {
		want = 3
	}
	if n.NumInputs != want {
		return nil, n.Errorf("want %d inputs, have %d", want, n.NumInputs)
	}
	if dt := n.Type("T"); dt != classify.Invalid && dt != classify.Float32 && dt != classify.Float16 {
		return nil, n.Errorf("T %v not supported (float32, half)", dt)
	}
	return &drawBoxesOp{n: n}, nil
}

// truncToInt64 converts as the kernel's static_cast<int64_t> of a float
// does on x86-64 (cvttss2si): toward zero, and the "integer indefinite"
// MinInt64 for NaN and values outside int64's range.
func truncToInt64(f float32) int64 {
	if f != f || f >= 0x1p63 || f < -0x1p63 {
		return math.MinInt64
	}
	return int64(f)
}

func (o *drawBoxesOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	img, boxes := in[0], in[1]
	if img.DType != classify.Float32 && img.DType != classify.Float16 {
		return nil, o.n.InputErrorf("images must be float32 or half, have %v", img.DType)
	}
	if len(img.Shape) != 4 {
		return nil, o.n.InputErrorf("The rank of the images should be 4, have %v", img.Shape)
	}
	if len(boxes.Shape) != 3 || boxes.DType != classify.Float32 {
		return nil, o.n.InputErrorf("The rank of the boxes tensor should be 3 (float32), have %v %v", boxes.DType, boxes.Shape)
	}
	if img.Shape[0] != boxes.Shape[0] {
		return nil, o.n.InputErrorf("The batch sizes should be the same: %v and %v", img.Shape, boxes.Shape)
	}
	depth := img.Shape[3]
	if depth != 1 && depth != 3 && depth != 4 {
		return nil, o.n.InputErrorf("Channel depth should be either 1 (GRY), 3 (RGB), or 4 (RGBA), have %d", depth)
	}
	if boxes.Shape[2] != 4 {
		return nil, o.n.InputErrorf("The size of the third dimension of the box must be 4. Received: %d", boxes.Shape[2])
	}
	var table [][]float32
	if len(in) == 3 {
		c := in[2]
		if len(c.Shape) != 2 || c.DType != classify.Float32 {
			return nil, o.n.InputErrorf("colors must be a 2-D float32 matrix, have %v %v", c.DType, c.Shape)
		}
		if c.Shape[1] < depth {
			return nil, o.n.InputErrorf("colors must have equal or more channels than the image provided: %v", c.Shape)
		}
		cv := c.Float32s()
		for i := range c.Shape[0] {
			if c.Shape[1] == 0 {
				break
			}
			table = append(table, cv[i*c.Shape[1]:i*c.Shape[1]+depth])
		}
	}
	if len(table) == 0 {
		table = drawBoxPalette
		if depth == 1 {
			// The kernel sets each colour's first channel to 1.
			table = make([][]float32, len(drawBoxPalette))
			for i, c := range drawBoxPalette {
				table[i] = append([]float32{1}, c[1:]...)
			}
		}
	}
	out := img.Clone()
	batch, h, w := img.Shape[0], img.Shape[1], img.Shape[2]
	var set func(at int, c []float32)
	switch d := out.Data.(type) {
	case []float32:
		set = func(at int, c []float32) { copy(d[at:at+depth], c[:depth]) }
	case []classify.F16:
		set = func(at int, c []float32) {
			for k := range depth {
				d[at+k] = classify.F16FromFloat32(c[k])
			}
		}
	}
	bv := boxes.Float32s()
	nbox := boxes.Shape[1]
	H, W := int64(h), int64(w)
	for b := range batch {
		px := func(y, x int64) int { return ((b*h+int(y))*w + int(x)) * depth }
		for bb := range nbox {
			box := bv[(b*nbox+bb)*4:][:4]
			color := table[bb%len(table)]
			r0 := truncToInt64(box[0] * float32(h-1))
			c0 := truncToInt64(box[1] * float32(w-1))
			r1 := truncToInt64(box[2] * float32(h-1))
			c1 := truncToInt64(box[3] * float32(w-1))
			if r0 > r1 || c0 > c1 || r0 >= H || r1 < 0 || c0 >= W || c1 < 0 {
				continue // inverted or wholly outside: not drawn
			}
			r0c, r1c := max(r0, 0), min(r1, H-1)
			c0c, c1c := max(c0, 0), min(c1, W-1)
			if r0 >= 0 {
				for x := c0c; x <= c1c; x++ {
					set(px(r0, x), color)
				}
			}
			if r1 < H {
				for x := c0c; x <= c1c; x++ {
					set(px(r1, x), color)
				}
			}
			if c0 >= 0 {
				for y := r0c; y <= r1c; y++ {
					set(px(y, c0), color)
				}
			}
			if c1 < W {
				for y := r0c; y <= r1c; y++ {
					set(px(y, c1), color)
				}
			}
		}
	}
	return []*classify.Tensor{out}, nil
}
