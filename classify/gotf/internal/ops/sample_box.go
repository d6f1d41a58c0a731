package ops

// SampleDistortedBoundingBox, SampleDistortedBoundingBoxV2 and
// StatelessSampleDistortedBoundingBox (sample_distorted_bounding_box_op.cc):
// up to max_attempts times, draw an aspect ratio in aspect_ratio_range and
// a crop of it whose area is in area_range of the image, at a random
// place; keep the first crop covering at least min_object_covered of one
// of the boxes (the whole image when there are none and
// use_image_if_no_bounding_boxes), the whole image if none does. Outputs
// begin and size for Slice ([y, x, 0] and [h, w, -1] in image_size's
// dtype) and the crop as a [1, 1, 4] normalised box.
//
// The draws are the kernel's, in its order, from the same Philox stream
// (SimplePhilox: RandFloat and Uniform(n) = word % n, one word each): the
// stateful ops from GuardedPhiloxRandom seeded by seed/seed2, reserving
// max_attempts blocks a run, the stateless one from GenerateKey of its
// seed. The float32/int32 arithmetic follows the kernel's C++ types,
// including two's-complement wrap-around and x86-64 conversions of
// out-of-range floats, so seeded results are TensorFlow's (CPU).

import (
	"math"

	"github.com/classifyd/classifyd/classify"
)

func init() {
	for _, op := range []string{"SampleDistortedBoundingBox", "SampleDistortedBoundingBoxV2", "StatelessSampleDistortedBoundingBox"} {
		Register(op, buildSampleBox)
		allowDTypes(op, newIntDTypes...)
	}
}

type sampleBoxOp struct {
	n           *Node
	gen         *guardedPhilox // stateful ops
	minCovered  float32        // SampleDistortedBoundingBox's attr
	useImage    bool
	aspect      [2]float32
	area        [2]float32
	maxAttempts int32
}

func buildSampleBox(n *Node, _ []*classify.Tensor) (Op, error) {
	want := map[string]int{"SampleDistortedBoundingBox": 2, "SampleDistortedBoundingBoxV2": 3, "StatelessSampleDistortedBoundingBox": 4}[n.Op]
	if n.NumInputs != want {
		return nil, n.Errorf("want %d inputs, have %d", want, n.NumInputs)
	}
	if t := n.Type("T"); n.Has("T") && !isSampleBoxInt(t) {
		return nil, n.Errorf("T %v is not an integer type", t)
	}
	o := &sampleBoxOp{n: n, useImage: n.Bool("use_image_if_no_bounding_boxes", false), maxAttempts: 100}
	o.aspect, o.area = [2]float32{0.75, 1.33}, [2]float32{0.05, 1}
	if n.Has("aspect_ratio_range") {
		a := n.Floats("aspect_ratio_range")
		if len(a) != 2 {
			return nil, n.Errorf("Aspect ratio range field must specify 2 dimensions")
		}
		o.aspect = [2]float32{a[0], a[1]}
	}
	if !(o.aspect[0] > 0 && o.aspect[1] > 0) {
		return nil, n.Errorf("Aspect ratio range must be non-negative: %v", o.aspect)
	}
	if n.Has("area_range") {
		a := n.Floats("area_range")
		if len(a) != 2 {
			return nil, n.Errorf("Area range field must specify 2 dimensions")
		}
		o.area = [2]float32{a[0], a[1]}
	}
	if !(o.area[0] > 0 && o.area[1] > 0) {
		return nil, n.Errorf("Area range must be non-negative: %v", o.area)
	}
	if !(o.area[0] <= 1 && o.area[1] <= 1) {
		return nil, n.Errorf("Area range must be less then or equal to 1.0: %v", o.area)
	}
	if n.Has("max_attempts") {
		m := n.Int("max_attempts", 100)
		if m <= 0 || m > math.MaxInt32 {
			return nil, n.Errorf("Max attempts must be non-negative: %d", m)
		}
		o.maxAttempts = int32(m)
	}
	// Each attempt costs a few draws and a pass over the boxes; bound the
	// attempts a run may make.
	if o.maxAttempts > maxSampleBoxAttempts {
		return nil, n.Errorf("max_attempts %d is more than %d", o.maxAttempts, maxSampleBoxAttempts)
	}
	if n.Op == "SampleDistortedBoundingBox" {
		o.minCovered = n.Float("min_object_covered", 0.1)
		if !(o.minCovered >= 0) {
			return nil, n.Errorf("Min object covered must be non-negative: %v", o.minCovered)
		}
	}
	if n.Op != "StatelessSampleDistortedBoundingBox" {
		o.gen = newGuardedPhilox(n)
	}
	return o, nil
}

const maxSampleBoxAttempts = 1 << 20

// maxSampleBoxWork bounds attempts times boxes.
const maxSampleBoxWork = 1 << 28

func isSampleBoxInt(t classify.DType) bool {
	switch t {
	case classify.Int8, classify.Int16, classify.Int32, classify.Int64, classify.Uint8, classify.Uint16, classify.Uint32, classify.Uint64:
		return true
	}
	return false
}

// sampleBoxInts reads an integer tensor as C++'s conversion to uint64_t
// does (signed values sign-extended).
func sampleBoxInts(t *classify.Tensor) ([]uint64, bool) {
	var out []uint64
	switch d := t.Data.(type) {
	case []int8:
		for _, v := range d {
			out = append(out, uint64(int64(v)))
		}
	case []int16:
		for _, v := range d {
			out = append(out, uint64(int64(v)))
		}
	case []int32:
		for _, v := range d {
			out = append(out, uint64(int64(v)))
		}
	case []int64:
		for _, v := range d {
			out = append(out, uint64(v))
		}
	case []uint8:
		for _, v := range d {
			out = append(out, uint64(v))
		}
	case []uint16:
		for _, v := range d {
			out = append(out, uint64(v))
		}
	case []uint32:
		for _, v := range d {
			out = append(out, uint64(v))
		}
	case []uint64:
		out = append(out, d...)
	default:
		return nil, false
	}
	return out, true
}

// sampleBoxVec makes a [3] tensor of dt holding v as T(v) converts.
func sampleBoxVec(dt classify.DType, v [3]int32) *classify.Tensor {
	t := classify.NewTensor(dt, 3)
	for i, x := range v {
		switch d := t.Data.(type) {
		case []int8:
			d[i] = int8(x)
		case []int16:
			d[i] = int16(x)
		case []int32:
			d[i] = x
		case []int64:
			d[i] = int64(x)
		case []uint8:
			d[i] = uint8(x)
		case []uint16:
			d[i] = uint16(x)
		case []uint32:
			d[i] = uint32(x)
		case []uint64:
			d[i] = uint64(int64(x))
		}
	}
	return t
}

// x86-64 conversions of float to integer: cvttss2si (truncating) and
// cvtss2si (lrintf, round half to even) give the "integer indefinite"
// minimum for NaN and out-of-range values; static_cast<int> of a long
// keeps the low 32 bits.
func truncF32ToI32(f float32) int32 {
	if f != f || f >= 0x1p31 || f < -0x1p31 {
		return math.MinInt32
	}
	return int32(f)
}

func lrintfToInt(f float32) int32 {
	r := math.RoundToEven(float64(f))
	if r != r || r >= 0x1p63 || r < -0x1p63 {
		return 0 // low 32 bits of MinInt64
	}
	return int32(int64(r))
}

func truncF64ToI32(f float64) int32 {
	if f != f || f >= 0x1p31 || f < -0x1p31 {
		return math.MinInt32
	}
	return int32(f)
}

type sbRect struct{ x0, y0, x1, y1 int32 }

func (r sbRect) area() float32 { return float32((r.x1 - r.x0) * (r.y1 - r.y0)) }

func (r sbRect) intersect(s sbRect) sbRect {
	p := sbRect{max(r.x0, s.x0), max(r.y0, s.y0), min(r.x1, s.x1), min(r.y1, s.y1)}
	if p.x0 > p.x1 || p.y0 > p.y1 {
		return sbRect{}
	}
	return p
}

// simplePhilox is SimplePhilox over a SingleSampleAdapter.
type simplePhilox struct{ w wordStream }

func (s *simplePhilox) randFloat() float32 { return uint32ToFloat(s.w.next()) }

func (s *simplePhilox) uniform(n uint32) uint32 {
	x := s.w.next()
	if n == 0 {
		return 0
	}
	return x % n
}

// randomCrop is GenerateRandomCrop.
func randomCrop(w, h int32, minRel, maxRel, aspect float32, rnd *simplePhilox) (sbRect, bool) {
	if maxRel <= 0 || aspect <= 0 || w <= 0 || h <= 0 || minRel > maxRel {
		return sbRect{}, false
	}
	minArea := minRel * float32(w) * float32(h)
	maxArea := maxRel * float32(w) * float32(h)
	height := lrintfToInt(float32(math.Sqrt(float64(minArea / aspect))))
	maxHeight := lrintfToInt(float32(math.Sqrt(float64(maxArea / aspect))))
	if int64(lrintfToInt(float32(maxHeight)*aspect)) > int64(w) {
		const eps = float64(float32(0.0000001))
		maxHeight = truncF64ToI32((float64(w) + 0.5 - eps) / float64(aspect))
		if int64(lrintfToInt(float32(maxHeight)*aspect)) > int64(w) {
			maxHeight--
		}
	}
	maxHeight = min(maxHeight, h)
	height = min(height, maxHeight)
	if height < maxHeight {
		height += int32(rnd.uniform(uint32(maxHeight - height + 1)))
	}
	width := lrintfToInt(float32(height) * aspect)
	area := float32(width * height)
	if area < minArea {
		height++
		width = lrintfToInt(float32(height) * aspect)
		area = float32(width * height)
	}
	if area > maxArea {
		height--
		width = lrintfToInt(float32(height) * aspect)
		area = float32(width * height)
	}
	if area < minArea || area > maxArea || width > w || height > h || width <= 0 || height <= 0 {
		return sbRect{}, false
	}
	var y, x int32
	if height < h {
		y = int32(rnd.uniform(uint32(h - height)))
	}
	if width < w {
		x = int32(rnd.uniform(uint32(w - width)))
	}
	return sbRect{x, y, x + width, y + height}, true
}

func covers(crop sbRect, minCovered float32, boxes []sbRect) bool {
	if crop.area() < 1 {
		return false
	}
	for _, b := range boxes {
		a := b.area()
		if a < 1 {
			continue
		}
		if crop.intersect(b).area()/a >= minCovered {
			return true
		}
	}
	return false
}

func (o *sampleBoxOp) OutputInfo(in []classify.TensorInfo) ([]classify.TensorInfo, error) {
	dt := in[0].DType
	if dt == classify.Invalid {
		dt = o.n.Type("T")
	}
	return []classify.TensorInfo{{DType: dt, Shape: classify.Shape{3}}, {DType: dt, Shape: classify.Shape{3}}, {DType: classify.Float32, Shape: classify.Shape{1, 1, 4}}}, nil
}

func (o *sampleBoxOp) Run(_ *Ctx, in []*classify.Tensor) ([]*classify.Tensor, error) {
	size, boxesT := in[0], in[1]
	sv, ok := sampleBoxInts(size)
	if !ok {
		return nil, o.n.InputErrorf("image_size must be an integer tensor, got %v", size.DType)
	}
	if len(size.Shape) != 1 {
		return nil, o.n.InputErrorf("image_size must be 1-dimensional, got %v", size.Shape)
	}
	if len(sv) != 3 {
		return nil, o.n.InputErrorf("image_size must contain 3 elements, got %v", size.Shape)
	}
	if sv[0] >= math.MaxInt32 {
		return nil, o.n.InputErrorf("image height cannot be >= int32 max")
	}
	if sv[1] >= math.MaxInt32 {
		return nil, o.n.InputErrorf("image width cannot be >= int32 max")
	}
	h, w := int32(sv[0]), int32(sv[1])
	if len(boxesT.Shape) != 3 || boxesT.DType != classify.Float32 {
		return nil, o.n.InputErrorf("input boxes must be 3-dimensional float32 [batch, num_boxes, coords]: %v %v", boxesT.DType, boxesT.Shape)
	}
	if boxesT.Shape[2] != 4 {
		return nil, o.n.InputErrorf("bounding boxes must have shape [4] or [*, 4], got %v", boxesT.Shape)
	}
	minCovered := o.minCovered
	if len(in) >= 3 {
		m := in[2]
		mv, ok := m.Data.([]float32)
		if !ok || len(m.Shape) != 0 {
			return nil, o.n.InputErrorf("min_object_covered must be a 0-D float32, got %v %v", m.DType, m.Shape)
		}
		minCovered = mv[0]
		if !(minCovered >= 0) {
			return nil, o.n.InputErrorf("Min object covered must be non-negative: %v", minCovered)
		}
	}
	bv := boxesT.Float32s()
	nb := len(bv) / 4
	if int64(nb)*int64(o.maxAttempts) > maxSampleBoxWork {
		return nil, o.n.InputErrorf("%d boxes for %d attempts is more than %d checks", nb, o.maxAttempts, maxSampleBoxWork)
	}
	boxes := make([]sbRect, 0, max(nb, 1))
	for b := range nb {
		c := bv[4*b:][:4]
		for _, v := range c {
			if !(v >= 0 && v <= 1) {
				return nil, o.n.InputErrorf("All bounding box coordinates must be in [0.0, 1.0]: %v", v)
			}
		}
		boxes = append(boxes, sbRect{
			truncF32ToI32(c[1] * float32(w)), truncF32ToI32(c[0] * float32(h)),
			truncF32ToI32(c[3] * float32(w)), truncF32ToI32(c[2] * float32(h)),
		})
	}
	image := sbRect{0, 0, w, h}
	if len(boxes) == 0 {
		if !o.useImage {
			return nil, o.n.InputErrorf("No bounding boxes provided as input. One must enable use_image_if_no_bounding_boxes if you wish to not provide any bounding boxes.")
		}
		boxes = append(boxes, image)
	}
	var gen philox
	if o.gen != nil {
		gen = o.gen.reserve(uint64(o.maxAttempts)) // ReserveSamples32(4 * max_attempts)
	} else {
		seed := in[3]
		if len(seed.Shape) != 1 || seed.Shape[0] != 2 {
			return nil, o.n.InputErrorf("seed must have shape [2], not %v", seed.Shape)
		}
		var err error
		if gen, err = seedOf(o.n, seed); err != nil {
			return nil, err
		}
	}
	rnd := &simplePhilox{w: wordStream{g: &gen}}
	crop, found := sbRect{}, false
	for range o.maxAttempts {
		// The explicit conversion keeps Go from fusing into an FMA.
		aspect := float32(rnd.randFloat()*(o.aspect[1]-o.aspect[0])) + o.aspect[0]
		if c, ok := randomCrop(w, h, o.area[0], o.area[1], aspect, rnd); ok && covers(c, minCovered, boxes) {
			crop, found = c, true
			break
		}
	}
	if !found {
		crop = image
	}
	if w < crop.x1 || h < crop.y1 {
		return nil, o.n.InputErrorf("crop %v does not fit the image %dx%d", crop, h, w)
	}
	bbox := []float32{
		float32(crop.y0) / float32(h), float32(crop.x0) / float32(w),
		float32(crop.y1) / float32(h), float32(crop.x1) / float32(w),
	}
	return []*classify.Tensor{
		sampleBoxVec(size.DType, [3]int32{crop.y0, crop.x0, 0}),
		sampleBoxVec(size.DType, [3]int32{crop.y1 - crop.y0, crop.x1 - crop.x0, -1}),
		classify.FromFloat32(bbox, 1, 1, 4),
	}, nil
}
