package jpeg

import (
	"bytes"
	"errors"

	"image"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"
)

// regionPlans are sets of outputs decoded together, in full-resolution
// coordinates of a w x h image: the request plan (an 80 % crop at 1/8 and
// a 9x9 patch at 1/1), scale mixes, overlapping, nested, clipped and
// edge regions.
func regionPlans(w, h int) map[string][]Options {
	cx, cy := w/2, h/2
	return map[string][]Options{
		"theme+color": {
			{Scale: 8, Region: image.Rect(w/10, h/10, w-w/10, h-h/10)},
			{Scale: 1, Region: image.Rect(cx-4, cy-4, cx+5, cy+5)},
		},
		"all scales whole": {{Scale: 1}, {Scale: 2}, {Scale: 4}, {Scale: 8}},
		"overlapping": {
			{Scale: 1, Region: image.Rect(3, 5, w/2+7, h/2+3)},
			{Scale: 2, Region: image.Rect(w/3, h/3, w-1, h-2)},
			{Scale: 4, Region: image.Rect(w/4, 0, w/2, h)},
			{Scale: 1, Region: image.Rect(w/3, h/3, w/3+9, h/3+9)},
		},
		"edges and clipping": {
			{Scale: 2, Region: image.Rect(w-9, h-9, w+50, h+50)},
			{Scale: 8, Region: image.Rect(0, 0, 9, 9)},
			{Scale: 1, Region: image.Rect(0, h-3, w, h)},
			{Scale: 4, Region: image.Rect(w-1, 0, w, h)},
		},
		"same twice": {{Scale: 1, Region: image.Rect(1, 1, 20, 20)}, {Scale: 1, Region: image.Rect(1, 1, 20, 20)}},
		"one":        {{Scale: 4, Region: image.Rect(w/5, h/5, w/2, h/2)}},
	}
}

func sameImage(t *testing.T, got, want *Image) {
	t.Helper()
	if got.Rect != want.Rect || got.Stride != want.Stride || got.Channels != want.Channels {
		t.Fatalf("got %v stride %d x%d, want %v stride %d x%d", got.Rect, got.Stride, got.Channels, want.Rect, want.Stride, want.Channels)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Fatalf("pixels differ from Decode's")
	}
	if got.Header.Width != want.Header.Width || got.Header.Orientation != want.Header.Orientation {
		t.Fatalf("header %+v, want %+v", got.Header, want.Header)
	}
}

// TestDecodeRegionsMatchesDecode checks, on every corpus kind, that one
// DecodeRegions gives bit for bit what one Decode per option gives.
func TestDecodeRegionsMatchesDecode(t *testing.T) {
	files := map[string][]byte{}
	for name, b := range fixtures(t) {
		files["fixture/"+name] = b
	}
	for _, c := range corpusCases {
		files[c.name+"/227x131"] = corpusFile(t, c, 227, 131)
	}
	// A sequential file with one scan per component: its coefficients
	// are buffered like a progressive file's.
	scans := filepath.Join(t.TempDir(), "scans")
	if err := os.WriteFile(scans, []byte("0;\n1;\n2;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files["multiscan/227x131"] = cjpegCase("multiscan", "-sample", "2x2", "-scans", scans).make(t, synthPPM(227, 131, 7))
	for _, scale := range []int{1, 8} {
		img, err := Decode(files["multiscan/227x131"], Options{Scale: scale})
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(t, img, djpeg(t, files["multiscan/227x131"], scale)); d > 2 {
			t.Errorf("multiscan 1/%d: max diff %d > 2 against djpeg", scale, d)
		}
		img.Release()
	}
	for name, jpg := range files {
		h, err := DecodeConfig(jpg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for plan, opts := range regionPlans(h.Width, h.Height) {
			t.Run(name+"/"+plan, func(t *testing.T) {
				imgs, err := DecodeRegions(jpg, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(imgs) != len(opts) {
					t.Fatalf("%d images for %d options", len(imgs), len(opts))
				}
				for i, opt := range opts {
					want, err := Decode(jpg, opt)
					if err != nil {
						t.Fatalf("Decode %+v: %v", opt, err)
					}
					sameImage(t, imgs[i], want)
					want.Release()
				}
				for _, m := range imgs {
					m.Release()
				}
			})
		}
	}
}

func TestDecodeRegionsErrors(t *testing.T) {
	jpg := fixtures(t)["420.jpg"]
	h, _ := DecodeConfig(jpg)
	good := Options{Scale: 2}
	cases := map[string]struct {
		opts []Options
		want error
	}{
		"none":          {nil, ErrRegion},
		"bad scale":     {[]Options{good, {Scale: 3}}, ErrRegion},
		"outside":       {[]Options{good, {Region: image.Rect(100, 100, 200, 200)}}, ErrRegion},
		"total too big": {[]Options{{Scale: 1, MaxBytes: h.Cost(1)}, {Scale: 1}}, ErrTooLarge},
		"second capped": {[]Options{{Scale: 8}, {Scale: 8, MaxBytes: 1}}, ErrTooLarge},
		"corrupt":       {[]Options{good, good}, ErrCorrupt},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := jpg
			if name == "corrupt" {
				b = jpg[:len(jpg)/2]
			}
			imgs, err := DecodeRegions(b, c.opts)
			if !errors.Is(err, c.want) || imgs != nil {
				t.Errorf("%v, %v; want %v", imgs, err, c.want)
			}
		})
	}
}

// TestCostRegions checks the total against the limit (cost passes, cost-1
// fails) and against the bytes a decode with empty pools really allocates.
func TestCostRegions(t *testing.T) {
	for name, b := range map[string][]byte{
		"baseline":    goEncoded(t, synthPPM(400, 300, 2)),
		"progressive": cjpegCase("p", "-progressive").make(t, synthPPM(400, 300, 2)),
	} {
		h, _ := DecodeConfig(b)
		for plan, opts := range regionPlans(h.Width, h.Height) {
			t.Run(name+"/"+plan, func(t *testing.T) {
				cost := h.CostRegions(opts)
				var sum int64
				for _, o := range opts {
					sum += h.CostRegions([]Options{o})
				}
				if cost <= 0 || (len(opts) > 1 && cost >= sum) {
					t.Fatalf("CostRegions %d, sum of single costs %d: the coefficients must be charged once", cost, sum)
				}
				capped := append([]Options(nil), opts...)
				capped[len(capped)-1].MaxBytes = cost - 1
				if _, err := DecodeRegions(b, capped); !errors.Is(err, ErrTooLarge) {
					t.Fatalf("limit cost-1: %v, want ErrTooLarge", err)
				}
				capped[len(capped)-1].MaxBytes = cost
				imgs, err := decodeRegionsFresh(b, capped)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range imgs {
					m.Release()
				}
			})
		}
	}
}

func TestCostRegionsBoundsAllocation(t *testing.T) {
	b := cjpegCase("p", "-sample", "2x2").make(t, synthPPM(800, 600, 2))
	bp := cjpegCase("p", "-progressive").make(t, synthPPM(800, 600, 2))
	for name, jpg := range map[string][]byte{"baseline": b, "progressive": bp} {
		h, _ := DecodeConfig(jpg)
		opts := regionPlans(h.Width, h.Height)["all scales whole"]
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		imgs, err := decodeRegionsFresh(jpg, opts)
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Fatal(err)
		}
		got := int64(m1.TotalAlloc - m0.TotalAlloc)
		cost := h.CostRegions(opts)
		// The decoder struct, its tables and small slices, and the
		// rounding of each large buffer up to whole pages.
		fixed := int64(unsafe.Sizeof(decoder{})) + 64<<10 + int64(len(opts)*(2*len(h.Components)+1))*8192
		if got > cost+fixed || got < cost/2 {
			t.Errorf("%s: allocated %d bytes, CostRegions %d", name, got, cost)
		}
		t.Logf("%s: allocated %d, CostRegions %d", name, got, cost)
		for _, m := range imgs {
			m.Release()
		}
	}
}

// decodeRegionsFresh decodes with empty pools, so every buffer is a new
// allocation.
func decodeRegionsFresh(b []byte, opts []Options) ([]*Image, error) {
	for i := range bytePool {
		for bytePool[i].Get() != nil {
		}
		for coefPool[i].Get() != nil {
		}
	}
	return DecodeRegions(b, opts)
}
