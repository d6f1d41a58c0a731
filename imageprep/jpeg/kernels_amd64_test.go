//go:build amd64 && !purego

package jpeg

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// needAVX2 skips on a CPU without AVX2, where the assembly cannot run.
func needAVX2(t testing.TB) {
	t.Helper()
	if !useAVX2 {
		t.Skip("CPU without AVX2: only the portable kernels run here")
	}
}

// portable runs f with the portable kernels selected.
func portable(f func()) {
	useAVX2 = false
	defer func() { useAVX2 = true }()
	f()
}

// blockKinds makes coefficient blocks and tables of the shapes the IDCT's
// shortcuts and saturation care about.
var blockKinds = []struct {
	name string
	fill func(r *rand.Rand, blk *[64]int16, q *[64]uint16)
}{
	{"photo", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		for i := range blk {
			q[i] = uint16(1 + r.IntN(40))
			if r.IntN(i+1) < 3 {
				blk[i] = int16(r.IntN(2*(1+256/(i+1))) - 256/(i+1))
			}
		}
	}},
	{"extreme", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		for i := range blk {
			q[i] = uint16(1 + r.IntN(255))
			blk[i] = []int16{2047, -2047, 0, int16(r.IntN(4095) - 2047)}[r.IntN(4)]
		}
	}},
	{"dc-only", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		for i := range q {
			q[i] = uint16(1 + r.IntN(255))
		}
		blk[0] = int16(r.IntN(4095) - 2047)
	}},
	{"dc-only-anything", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		for i := range q {
			q[i] = uint16(r.Uint32())
		}
		blk[0] = int16(r.Uint32())
	}},
	{"flat-columns", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		// Row 0 only: every column is flat, rows are not.
		for i := range q {
			q[i] = uint16(1 + r.IntN(255))
		}
		for x := 0; x < 8; x++ {
			blk[x] = int16(r.IntN(4095) - 2047)
		}
	}},
	{"some-flat-columns", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		for i := range q {
			q[i] = uint16(1 + r.IntN(99))
		}
		for x := 0; x < 8; x++ {
			blk[x] = int16(r.IntN(2047) - 1023)
			if r.IntN(2) == 0 {
				for y := 1; y < 8; y++ {
					blk[y*8+x] = int16(r.IntN(63) - 31)
				}
			}
		}
	}},
	{"flat-rows", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		// Column 0 only: the first pass gives flat rows.
		for i := range q {
			q[i] = uint16(1 + r.IntN(255))
		}
		for y := 0; y < 8; y++ {
			blk[y*8] = int16(r.IntN(4095) - 2047)
		}
	}},
	{"anything", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		// No valid file holds these; the kernels must still agree
		// (int32 wrap-around included).
		for i := range blk {
			blk[i] = int16(r.Uint32())
			q[i] = uint16(r.Uint32())
		}
	}},
	{"anything-sparse", func(r *rand.Rand, blk *[64]int16, q *[64]uint16) {
		for i := range blk {
			q[i] = uint16(r.Uint32())
			if r.IntN(8) == 0 {
				blk[i] = int16(r.Uint32())
			}
		}
	}},
}

func TestIDCT8AVX2MatchesGo(t *testing.T) {
	needAVX2(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range blockKinds {
		t.Run(k.name, func(t *testing.T) {
			for n := 0; n < 20000; n++ {
				var blk [64]int16
				var q [64]uint16
				k.fill(r, &blk, &q)
				stride := 8 + r.IntN(9)
				got := bytes.Repeat([]byte{0xA5}, 7*stride+8+5)
				want := bytes.Clone(got)
				idct8AVX2(&blk, &q, &got[0], stride)
				idct8Go(&blk, &q, want, stride)
				if !bytes.Equal(got, want) {
					t.Fatalf("stride %d\nblk %v\nq %v\nAVX2 %v\nGo   %v", stride, blk, q, got, want)
				}
			}
		})
	}
}

func TestIDCTReducedAVX2MatchesGo(t *testing.T) {
	needAVX2(t)
	r := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{4, 2} {
		for _, k := range blockKinds {
			t.Run(fmt.Sprintf("%d/%s", n, k.name), func(t *testing.T) {
				for i := 0; i < 20000; i++ {
					var blk [64]int16
					var q [64]uint16
					k.fill(r, &blk, &q)
					stride := n + r.IntN(9)
					got := bytes.Repeat([]byte{0xA5}, (n-1)*stride+n+5)
					want := bytes.Clone(got)
					idctReduced(n, &blk, &q, got, stride)
					idctReducedGo(n, &blk, &q, want, stride)
					if !bytes.Equal(got, want) {
						t.Fatalf("stride %d\nblk %v\nq %v\nAVX2 %v\nGo   %v", stride, blk, q, got, want)
					}
				}
			})
		}
	}
}

func TestYCCToRGBAVX2MatchesGo(t *testing.T) {
	needAVX2(t)
	// Every (y, cb, cr): one row of all 65536 chroma pairs per luma value.
	cb, cr, y := make([]uint8, 1<<16), make([]uint8, 1<<16), make([]uint8, 1<<16)
	for i := range cb {
		cb[i], cr[i] = uint8(i), uint8(i>>8)
	}
	got, want := make([]uint8, 3<<16), make([]uint8, 3<<16)
	for v := 0; v < 256; v++ {
		for i := range y {
			y[i] = uint8(v)
		}
		yccToRGB(got, y, cb, cr)
		yccToRGBGo(want, y, cb, cr)
		if i := firstDiff(got, want); i >= 0 {
			p := i / 3
			t.Fatalf("y %d cb %d cr %d: AVX2 %v, Go %v", v, cb[p], cr[p], got[3*p:3*p+3], want[3*p:3*p+3])
		}
	}
	// Every length, so the tails are covered, with output past the end
	// untouched.
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 100; n++ {
		for i := 0; i < n; i++ {
			y[i], cb[i], cr[i] = uint8(r.Uint32()), uint8(r.Uint32()), uint8(r.Uint32())
		}
		g, w := bytes.Repeat([]byte{7}, 3*n+4), bytes.Repeat([]byte{7}, 3*n+4)
		yccToRGB(g, y[:n], cb[:n], cr[:n])
		yccToRGBGo(w, y[:n], cb[:n], cr[:n])
		if !bytes.Equal(g, w) {
			t.Fatalf("n %d: AVX2 %v\nGo %v", n, g, w)
		}
	}
}

func firstDiff(a, b []uint8) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// newTestComponent is a component with a pstr x ch plane from component
// column px0, cw x ch valid samples, upsampled by fx x fy.
func newTestComponent(fx, fy, cw, ch, pstr, px0 int) *component {
	c := new(component)
	c.fx, c.fy, c.cw, c.ch, c.pstr, c.px0 = fx, fy, cw, ch, pstr, px0
	c.plane, c.prows = make([]uint8, pstr*ch), ch
	return c
}

// TestUpsampleAVX2MatchesGo runs upsampleRow with and without the AVX2
// path on random planes, over output offsets, widths and plane origins.
func TestUpsampleAVX2MatchesGo(t *testing.T) {
	needAVX2(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, f := range [][2]int{{2, 1}, {2, 2}, {1, 2}} {
		fx, fy := f[0], f[1]
		for n := 0; n < 3000; n++ {
			ch := 4
			// Plane of pstr samples from component column px0; the
			// valid columns end at cw-1, possibly inside the plane.
			px0 := 8 * r.IntN(4)
			pstr := 8 * (2 + r.IntN(40))
			cw := px0 + pstr - r.IntN(8)
			if r.IntN(4) == 0 {
				cw = px0 + pstr + 8 + r.IntN(30)
			}
			c := newTestComponent(fx, fy, cw, ch, pstr, px0)
			for i := range c.plane {
				c.plane[i] = uint8(r.Uint32())
			}
			// Output columns x0.. within the valid, reconstructed samples.
			xlo := fx * px0
			if px0 > 0 {
				xlo += fx
			}
			xhi := fx * min(cw, px0+pstr)
			if cw > px0+pstr {
				xhi -= fx
			}
			x0 := xlo + r.IntN((xhi-xlo)/2+1)
			w := 1 + r.IntN(xhi-x0)
			d := &decoder{colsum: make([]int32, w/2+4)}
			d.g.scale = 1 + r.IntN(2)
			d.g.out = image.Rect(x0, 0, x0+w, 2*ch)
			for y := 0; y < fy*ch; y++ {
				got, want := make([]uint8, w), make([]uint8, w)
				d.upsampleRow(c, y, got)
				portable(func() { d.upsampleRow(c, y, want) })
				if !bytes.Equal(got, want) {
					t.Fatalf("fx %d fy %d px0 %d pstr %d cw %d x0 %d w %d y %d:\nAVX2 %v\nGo   %v", fx, fy, px0, pstr, cw, x0, w, y, got, want)
				}
			}
		}
	}
}

// TestDecodeAVX2MatchesPortable decodes the corpus with the assembly and
// with the portable kernels, whole images and regions, at every scale; the
// two must agree to the bit.
func TestDecodeAVX2MatchesPortable(t *testing.T) {
	needAVX2(t)
	type file struct {
		name string
		jpg  []byte
	}
	var files []file
	for _, c := range corpusCases {
		for _, size := range [][2]int{{517, 301}, {64, 48}} {
			files = append(files, file{fmt.Sprintf("%s/%dx%d", c.name, size[0], size[1]), corpusFile(t, c, size[0], size[1])})
		}
	}
	// The real photos too, when TEST_IMAGES_DIR names them.
	if dir := os.Getenv("TEST_IMAGES_DIR"); dir != "" {
		for _, name := range []string{"grace_hopper.jpg", "rocket.jpg", "hubble_deep_field.jpg", "classify1.jpg"} {
			jpg, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, file{name, jpg})
		}
	}
	regions := []image.Rectangle{{}, image.Rect(37, 21, 301, 190), image.Rect(128, 64, 420, 93)}
	for _, f := range files {
		h, err := DecodeConfig(f.jpg)
		if err != nil {
			t.Fatal(err)
		}
		for _, scale := range []int{1, 2, 4, 8} {
			for _, reg := range regions {
				if !reg.Empty() && !reg.In(image.Rect(0, 0, h.Width, h.Height)) {
					continue
				}
				t.Run(fmt.Sprintf("%s/1_%d/%v", f.name, scale, reg), func(t *testing.T) {
					opt := Options{Scale: scale, Region: reg}
					img, err := Decode(f.jpg, opt)
					if err != nil {
						t.Fatal(err)
					}
					defer img.Release()
					var ref *Image
					portable(func() { ref, err = Decode(f.jpg, opt) })
					if err != nil {
						t.Fatal(err)
					}
					defer ref.Release()
					if img.Rect != ref.Rect || !bytes.Equal(img.Pix, ref.Pix) {
						t.Errorf("AVX2 and portable decodes differ (rect %v vs %v)", img.Rect, ref.Rect)
					}
				})
			}
		}
	}
}

// FuzzDecodeAVX2MatchesPortable decodes arbitrary bytes with the assembly
// and with the portable kernels: the same error, or the same pixels.
// Damaged files reach the kernels with coefficients no encoder writes.
func FuzzDecodeAVX2MatchesPortable(f *testing.F) {
	needAVX2(f)
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.jpg"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(1), int16(0), int16(0), int16(0), int16(0))
		f.Add(b, uint8(2), int16(17), int16(4), int16(200), int16(90))
		f.Add(b, uint8(4), int16(0), int16(0), int16(0), int16(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, scale uint8, x0, y0, x1, y1 int16) {
		opt := Options{Scale: int(scale % 9), Region: image.Rect(int(x0), int(y0), int(x1), int(y1)), MaxBytes: 64 << 20}
		img, err := decode(data, opt)
		var ref *Image
		var rerr error
		portable(func() { ref, rerr = decode(data, opt) })
		if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() {
			t.Fatalf("AVX2: %v, portable: %v", err, rerr)
		}
		if err != nil {
			return
		}
		defer img.Release()
		defer ref.Release()
		if img.Rect != ref.Rect || !bytes.Equal(img.Pix, ref.Pix) {
			t.Fatalf("AVX2 and portable decodes differ (rect %v vs %v)", img.Rect, ref.Rect)
		}
	})
}

// The kernel benchmarks run each kernel in AVX2 and in portable Go on the
// same data (64 blocks, or one 4032-sample row); only their ratio in one
// run means anything.

func benchBoth(b *testing.B, f func()) {
	for _, avx := range []bool{true, false} {
		name := "avx2"
		if !avx {
			name = "go"
		}
		b.Run(name, func(b *testing.B) {
			if avx {
				needAVX2(b)
			}
			useAVX2 = avx
			defer func() { useAVX2 = true }()
			for b.Loop() {
				f()
			}
		})
	}
}

func BenchmarkIDCT8(b *testing.B) {
	for _, kind := range []int{0, 2} {
		r := rand.New(rand.NewPCG(7, 8))
		blks := make([][64]int16, 64)
		qs := make([][64]uint16, len(blks))
		for i := range blks {
			blockKinds[kind].fill(r, &blks[i], &qs[i])
		}
		dst := make([]uint8, 8*64*len(blks))
		b.Run(blockKinds[kind].name, func(b *testing.B) {
			benchBoth(b, func() {
				for i := range blks {
					idct8(&blks[i], &qs[i], dst[8*i:], 8*len(blks))
				}
			})
		})
	}
}

func BenchmarkYCCToRGB(b *testing.B) {
	const w = 4032
	y, cb, cr, out := make([]uint8, w), make([]uint8, w), make([]uint8, w), make([]uint8, 3*w)
	for i := range y {
		y[i], cb[i], cr[i] = uint8(i), uint8(i*7), uint8(i*13)
	}
	benchBoth(b, func() { yccToRGB(out, y, cb, cr) })
}

func BenchmarkUpsample(b *testing.B) {
	const w = 4032
	for _, fy := range []int{1, 2} {
		c := newTestComponent(2, fy, w/2, 4, w/2, 0)
		for i := range c.plane {
			c.plane[i] = uint8(i * 5)
		}
		d := &decoder{colsum: make([]int32, w/2+4)}
		d.g.scale = 1
		d.g.out = image.Rect(0, 0, w, 8)
		dst := make([]uint8, w)
		b.Run(fmt.Sprintf("h2v%d", fy), func(b *testing.B) {
			benchBoth(b, func() { d.upsampleRow(c, 3, dst) })
		})
	}
}

func BenchmarkIDCTReduced(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	blks := make([][64]int16, 64)
	qs := make([][64]uint16, len(blks))
	for i := range blks {
		blockKinds[0].fill(r, &blks[i], &qs[i])
	}
	for _, n := range []int{4, 2} {
		dst := make([]uint8, n*n*len(blks))
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchBoth(b, func() {
				for i := range blks {
					idctReduced(n, &blks[i], &qs[i], dst[n*i:], n*len(blks))
				}
			})
		})
	}
}
