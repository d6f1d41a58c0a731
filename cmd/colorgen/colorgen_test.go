package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gpb "github.com/galeone/tensorflow/tensorflow/go/core/framework/graph_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/classifyd/classifyd/classify"
	_ "github.com/classifyd/classifyd/classify/gotf"
	"github.com/classifyd/classifyd/imageprep"
	"github.com/classifyd/classifyd/internal/npy"
	"github.com/classifyd/classifyd/labels"
)

var update = flag.Bool("update", false, "rewrite testdata goldens with the TensorFlow.js oracle (needs node)")

// The committed model, relative to this package.
var modelDir = filepath.Join("..", "..", "models", "color")

// patchCase is one synthetic 9x9 patch and the class expected for it:
// first (top = 1) for unambiguous colours, among the first three (top = 3)
// for the near-ambiguous pairs.
type patchCase struct {
	name  string
	want  string
	top   int
	patch []float32 // 9*9*3, RGB in [0,1]
}

// noisy is a solid colour with independent uniform ±8 noise per channel
// and pixel, as a camera sensor adds.
func noisy(rng *rand.Rand, c rgb) []float32 {
	p := make([]float32, patchPixels*3)
	for i := range patchPixels {
		for ch, v := range [3]uint8{c.R, c.G, c.B} {
			n := int(v) + rng.IntN(17) - 8
			p[3*i+ch] = float32(min(255, max(0, n))) / 255
		}
	}
	return p
}

// layout paints a patch from colours chosen per pixel by pick(x, y), with
// ±8 noise.
func layout(rng *rand.Rand, pick func(x, y int) rgb) []float32 {
	p := make([]float32, patchPixels*3)
	for y := range patchSide {
		for x := range patchSide {
			c := pick(x, y)
			for ch, v := range [3]uint8{c.R, c.G, c.B} {
				n := int(v) + rng.IntN(17) - 8
				p[3*(y*patchSide+x)+ch] = float32(min(255, max(0, n))) / 255
			}
		}
	}
	return p
}

// patchTable is the test set. The solid shades are deliberately not the
// model's prototypes: they are other common names for each colour.
func patchTable() []patchCase {
	rng := rand.New(rand.NewPCG(1, 2))
	solids := []struct {
		name string
		c    rgb
		want string
		top  int
	}{
		{"near black", rgb{12, 12, 12}, "black", 1},
		{"jet", rgb{40, 38, 40}, "black", 1},
		{"blue-black", rgb{8, 10, 28}, "black", 1},
		{"paper white", rgb{250, 250, 250}, "white", 1},
		{"cool white", rgb{238, 242, 248}, "white", 1},
		{"mid gray", rgb{124, 124, 124}, "gray", 1},
		{"slate gray", rgb{90, 96, 100}, "gray", 1},
		{"light gray", rgb{155, 155, 152}, "gray", 3},
		{"silver", rgb{190, 190, 195}, "silver", 3},
		{"pale silver", rgb{205, 208, 212}, "silver", 3},
		{"signal red", rgb{230, 30, 30}, "red", 1},
		{"deep red", rgb{185, 12, 22}, "red", 1},
		{"scarlet", rgb{250, 40, 20}, "red", 1},
		{"light pink", rgb{252, 175, 195}, "pink", 1},
		{"hot pink", rgb{240, 90, 160}, "pink", 1},
		{"fuchsia pink", rgb{230, 40, 130}, "pink", 1},
		{"orange", rgb{250, 150, 30}, "orange", 1},
		{"pumpkin", rgb{230, 115, 20}, "orange", 1},
		{"lemon", rgb{250, 245, 40}, "yellow", 1},
		{"canary", rgb{255, 238, 90}, "yellow", 1},
		{"metallic gold", rgb{205, 170, 60}, "gold", 3},
		{"golden", rgb{232, 190, 30}, "gold", 3},
		{"rose gold", rgb{190, 125, 125}, "rose gold", 3},
		{"pale rose gold", rgb{228, 180, 170}, "rose gold", 3},
		{"grass green", rgb{40, 160, 50}, "green", 1},
		{"forest green", rgb{20, 90, 35}, "green", 1},
		{"lime", rgb{120, 220, 60}, "green", 1},
		{"royal blue", rgb{40, 80, 220}, "blue", 1},
		{"azure", rgb{40, 130, 230}, "blue", 1},
		{"sky blue", rgb{120, 180, 235}, "blue", 1},
		{"navy", rgb{15, 25, 105}, "navy", 3},
		{"dark navy", rgb{22, 30, 70}, "navy", 3},
		{"violet", rgb{125, 35, 160}, "purple", 1},
		{"lavender purple", rgb{160, 110, 210}, "purple", 1},
		{"plum", rgb{100, 25, 100}, "purple", 1},
		{"chocolate", rgb{115, 65, 35}, "brown", 1},
		{"dark brown", rgb{80, 50, 30}, "brown", 1},
		{"tan brown", rgb{155, 100, 60}, "brown", 1},
		{"beige", rgb{238, 225, 195}, "beige", 3},
		{"sand", rgb{222, 198, 160}, "beige", 3},
		{"cherry red", rgb{210, 20, 50}, "red", 1},
		{"indigo", rgb{60, 20, 120}, "purple", 1},
		{"coffee brown", rgb{100, 70, 50}, "brown", 1},
		{"mint green", rgb{150, 230, 170}, "green", 1},
		{"ivory", rgb{250, 248, 235}, "white", 3},
	}
	var cases []patchCase
	for _, s := range solids {
		cases = append(cases, patchCase{name: "solid " + s.name, want: s.want, top: s.top, patch: noisy(rng, s.c)})
	}
	var (
		black  = rgb{10, 10, 10}
		white  = rgb{245, 245, 245}
		red    = rgb{220, 30, 30}
		green  = rgb{30, 160, 50}
		blue   = rgb{30, 70, 210}
		yellow = rgb{250, 230, 40}
		orange = rgb{245, 140, 20}
		purple = rgb{120, 40, 150}
	)
	halves := func(a, b rgb) func(x, y int) rgb {
		return func(x, _ int) rgb {
			if x < patchSide/2+1 {
				return a
			}
			return b
		}
	}
	checker := func(a, b rgb, size int) func(x, y int) rgb {
		return func(x, y int) rgb {
			if (x/size+y/size)%2 == 0 {
				return a
			}
			return b
		}
	}
	stripes := func(cs ...rgb) func(x, y int) rgb {
		return func(x, _ int) rgb { return cs[x*len(cs)/patchSide] }
	}
	mixes := []struct {
		name string
		pick func(x, y int) rgb
		want string
	}{
		{"red|green halves", halves(red, green), "multi-colored"},
		{"blue|yellow halves", halves(blue, yellow), "multi-colored"},
		{"orange|purple halves", halves(orange, purple), "multi-colored"},
		{"red/white checker", checker(red, white, 1), "multi-colored"},
		{"blue/white stripes", checker(blue, white, 3), "multi-colored"},
		{"red/black checker", checker(red, black, 1), "multi-colored"},
		{"green/blue checker", checker(green, blue, 2), "multi-colored"},
		{"four quadrants", func(x, y int) rgb { return [2][2]rgb{{red, green}, {blue, yellow}}[y*2/patchSide][x*2/patchSide] }, "multi-colored"},
		{"rainbow stripes", stripes(red, orange, yellow, green, blue, purple), "multi-colored"},
		{"red yellow blue stripes", stripes(red, yellow, blue), "multi-colored"},
		{"black/white checker 1px", checker(black, white, 1), "black & white"},
		{"black/white checker 3px", checker(black, white, 3), "black & white"},
		{"black|white halves", halves(black, white), "black & white"},
		{"black/white stripes", stripes(black, white, black, white), "black & white"},
		{"pure black/white checker", checker(rgb{0, 0, 0}, rgb{255, 255, 255}, 1), "black & white"},
		{"black/silver checker", checker(black, rgb{200, 200, 200}, 1), "black & white"},
		{"dark gray/white checker", checker(rgb{35, 35, 35}, white, 2), "black & white"},
	}
	for _, m := range mixes {
		cases = append(cases, patchCase{name: "mix " + m.name, want: m.want, top: 1, patch: layout(rng, m.pick)})
	}
	return cases
}

// run evaluates the color model on a batch of patches. COLORGEN_EVAL=oracle
// runs the TensorFlow.js oracle instead of our engine (a developer aid; it
// needs node).
func run(t *testing.T, graph string, patches [][]float32, fetch string) [][]float32 {
	t.Helper()
	batch := make([]float32, 0, len(patches)*patchPixels*3)
	for _, p := range patches {
		batch = append(batch, p...)
	}
	x := classify.FromFloat32(batch, len(patches), patchSide, patchSide, 3)
	var out *classify.Tensor
	if os.Getenv("COLORGEN_EVAL") == "oracle" {
		out = runOracle(t, graph, x, fetch)
	} else {
		eng, err := classify.NewEngine("go")
		if err != nil {
			t.Fatal(err)
		}
		m, err := eng.Open(context.Background(), graph, classify.OpenOptions{Outputs: []string{fetch}})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		res, err := m.Run(context.Background(), map[string]*classify.Tensor{"patch": x}, []string{fetch})
		if err != nil {
			t.Fatal(err)
		}
		out = res[0]
	}
	// One row per patch, whatever the output's inner shape.
	d := out.Float32s()
	if d == nil || len(out.Shape) == 0 || len(d)%len(patches) != 0 || out.Shape[0]%len(patches) != 0 {
		t.Fatalf("output %s: dtype %v shape %v for %d patches", fetch, out.DType, out.Shape, len(patches))
	}
	per := len(d) / len(patches)
	rows := make([][]float32, len(patches))
	for i := range rows {
		rows[i] = d[i*per : (i+1)*per]
	}
	return rows
}

// runOracle runs the TensorFlow.js oracle (../shared/oracle/run or
// $ORACLE_RUN) on one feed.
func runOracle(t *testing.T, graph string, x *classify.Tensor, fetch string) *classify.Tensor {
	t.Helper()
	oracle := os.Getenv("ORACLE_RUN")
	if oracle == "" {
		oracle = "/work/shared/oracle/run"
	}
	graph, err := filepath.Abs(graph)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "patch.npy")
	if err := npy.WriteFile(in, x); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(oracle, graph, dir, "--feed", "patch="+in, "--fetch", fetch).CombinedOutput(); err != nil {
		t.Fatalf("oracle: %v\n%s", err, out)
	}
	y, err := npy.ReadFile(filepath.Join(dir, strings.ReplaceAll(fetch, "/", "_")+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	return y
}

func rank(probs []float32, label string) int {
	idx := -1
	for i, l := range Labels {
		if l == label {
			idx = i
		}
	}
	r := 1
	for i, p := range probs {
		if i != idx && p > probs[idx] {
			r++
		}
	}
	return r
}

// TestColorTable checks the committed model on the synthetic patch table
// and prints the table and its score (go test -v -run TestColorTable).
func TestColorTable(t *testing.T) {
	cases := patchTable()
	if len(cases) < 60 {
		t.Fatalf("only %d patches", len(cases))
	}
	patches := make([][]float32, len(cases))
	for i, c := range cases {
		patches[i] = c.patch
	}
	probs := run(t, filepath.Join(modelDir, "color.pb"), patches, "probabilities")
	var report strings.Builder
	fmt.Fprintf(&report, "| patch | expected | need | top-3 | ok |\n| --- | --- | --- | --- | --- |\n")
	passed := 0
	for i, c := range cases {
		top := classify.TopK(probs[i], Labels, 0, 3)
		var names []string
		for _, l := range top {
			names = append(names, fmt.Sprintf("%s %.2f", l.Label, l.Probability))
		}
		r := rank(probs[i], c.want)
		ok := r <= c.top
		mark := "yes"
		if ok {
			passed++
		} else {
			mark = "**no**"
		}
		fmt.Fprintf(&report, "| %s | %s | top-%d | %s | %s |\n", c.name, c.want, c.top, strings.Join(names, ", "), mark)
		t.Run(c.name, func(t *testing.T) {
			var sum float64
			for _, p := range probs[i] {
				if p < 0 || p > 1 || math.IsNaN(float64(p)) {
					t.Fatalf("probability %v", p)
				}
				sum += float64(p)
			}
			if math.Abs(sum-1) > 1e-4 {
				t.Errorf("probabilities sum to %v", sum)
			}
			if !ok {
				t.Errorf("%s ranks %d, want within top %d (got %s)", c.want, r, c.top, strings.Join(names, ", "))
			}
		})
	}
	fmt.Fprintf(&report, "\nscore: %d/%d\n", passed, len(cases))
	if len(probs[0]) != len(Labels) {
		t.Fatalf("%d outputs, want %d", len(probs[0]), len(Labels))
	}
	t.Log("\n" + report.String())
}

// TestGeneratedFilesUpToDate regenerates the model and requires the
// committed files to match byte for byte: the generator is deterministic
// and nobody edited its output by hand. After changing the generator, run
// go generate ./cmd/colorgen.
func TestGeneratedFilesUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"color.pb", "labels.txt"} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(modelDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: regenerated file differs from the committed one (run go generate ./cmd/colorgen)", f)
		}
	}
	again, err := Build().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if first, _ := os.ReadFile(filepath.Join(dir, "color.pb")); !bytes.Equal(first, again) {
		t.Error("two builds in one process differ")
	}
}

// TestGraphUsesStandardOps keeps the model runnable by TensorFlow, tfgo
// and TensorFlow.js unchanged: only long-standing core ops, every node's
// inputs defined, and the interface the manifest names.
func TestGraphUsesStandardOps(t *testing.T) {
	allowed := map[string]bool{}
	for _, op := range strings.Fields(`Placeholder Const Reshape Mean Sum Sub Mul AddV2 Pow Sqrt Square
		Maximum Minimum Softmax MatMul ConcatV2 Sigmoid`) {
		allowed[op] = true
	}
	data, err := os.ReadFile(filepath.Join(modelDir, "color.pb"))
	if err != nil {
		t.Fatal(err)
	}
	var g gpb.GraphDef
	if err := proto.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	defined := map[string]string{}
	for _, n := range g.Node {
		defined[n.Name] = n.Op
	}
	for _, n := range g.Node {
		if !allowed[n.Op] {
			t.Errorf("node %s uses op %s", n.Name, n.Op)
		}
		for _, in := range n.Input {
			if _, ok := defined[strings.SplitN(in, ":", 2)[0]]; !ok {
				t.Errorf("node %s reads undefined %s", n.Name, in)
			}
		}
	}
	if defined["patch"] != "Placeholder" || defined["probabilities"] == "" {
		t.Errorf("interface: patch is %q, probabilities is %q", defined["patch"], defined["probabilities"])
	}
}

func TestLabelsFile(t *testing.T) {
	got, err := labels.Load(filepath.Join(modelDir, "labels.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != strings.Join(Labels, "|") {
		t.Fatalf("labels.txt = %q, want %q", got, Labels)
	}
	if err := labels.Check(got, 18, 0); err != nil {
		t.Fatal(err)
	}
}

// TestLabMatchesReference checks the graph's colour conversion (its "lab"
// node, with the select-free sRGB and CIELAB curves) against the float64
// formulas, on colours either side of both knees.
func TestLabMatchesReference(t *testing.T) {
	values := []uint8{0, 1, 5, 10, 11, 20, 60, 128, 200, 254, 255}
	var patch []float32
	var want [][3]float64
	for i := range patchPixels {
		r := values[i%len(values)]
		g := values[(i/len(values))%len(values)]
		b := values[(i*7+3)%len(values)]
		patch = append(patch, float32(r)/255, float32(g)/255, float32(b)/255)
		want = append(want, lab(r, g, b))
	}
	rows := run(t, filepath.Join(modelDir, "color.pb"), [][]float32{patch}, "lab")
	for i, w := range want {
		for c := range 3 {
			if d := math.Abs(float64(rows[0][3*i+c]) - w[c]); d > 0.005 {
				t.Fatalf("pixel %d channel %d: graph %v, reference %.4f", i, c, rows[0][3*i:3*i+3], w)
			}
		}
	}
}

// TestOracleGolden compares our engine with TensorFlow.js on a few patches
// of the table; -update recomputes the golden with the oracle.
func TestOracleGolden(t *testing.T) {
	inPath := filepath.Join("testdata", "patches.npy")
	outPath := filepath.Join("testdata", "probabilities.npy")
	if *update {
		var batch []float32
		cases := patchTable()
		for i := 0; i < len(cases); i += 8 {
			batch = append(batch, cases[i].patch...)
		}
		x := classify.FromFloat32(batch, len(batch)/(patchPixels*3), patchSide, patchSide, 3)
		y := runOracle(t, filepath.Join(modelDir, "color.pb"), x, "probabilities")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := npy.WriteFile(inPath, x); err != nil {
			t.Fatal(err)
		}
		if err := npy.WriteFile(outPath, y); err != nil {
			t.Fatal(err)
		}
	}
	x, err := npy.ReadFile(inPath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	n := x.Shape[0]
	var patches [][]float32
	for i := range n {
		patches = append(patches, x.Float32s()[i*patchPixels*3:(i+1)*patchPixels*3])
	}
	got := run(t, filepath.Join(modelDir, "color.pb"), patches, "probabilities")
	if !want.Shape.Equal(classify.Shape{n, len(Labels)}) {
		t.Fatalf("golden shape %v", want.Shape)
	}
	for i := range n {
		for j, g := range got[i] {
			if w := want.Float32s()[i*len(Labels)+j]; math.Abs(float64(g-w)) > 1e-4 {
				t.Errorf("patch %d class %s: engine %v, oracle %v", i, Labels[j], g, w)
			}
		}
	}
}

// TestRealPhoto names colours at points of grace_hopper.jpg that anyone
// would agree on, through the same decoding and 9x9 crop the service uses.
func TestRealPhoto(t *testing.T) {
	dir := os.Getenv("TEST_IMAGES_DIR")
	if dir == "" {
		t.Skip("set TEST_IMAGES_DIR=/work/shared/images (the shared photos) to run")
	}
	f, err := os.ReadFile(filepath.Join(dir, "grace_hopper.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := imageprep.Decode(f, imageprep.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pre := classify.Preprocess{CropPixels: 9, Width: 9, Height: 9, Range: []float32{0, 1}}
	tests := []struct {
		what string
		pt   image.Point
		want []string // any of these first
	}{
		{"dark navy uniform", image.Pt(100, 520), []string{"black", "navy"}},
		{"sky-blue backdrop", image.Pt(450, 100), []string{"blue"}},
		{"white shirt collar", image.Pt(255, 470), []string{"white"}},
		{"flag canton", image.Pt(60, 60), []string{"navy"}},
		{"red ribbon bar", image.Pt(400, 500), []string{"red"}},
	}
	var patches [][]float32
	for _, tt := range tests {
		x, err := imageprep.Prepare(img, pre, tt.pt)
		if err != nil {
			t.Fatal(err)
		}
		patches = append(patches, x.Float32s())
	}
	probs := run(t, filepath.Join(modelDir, "color.pb"), patches, "probabilities")
	for i, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			top := classify.TopK(probs[i], Labels, 0, 3)
			for _, w := range tt.want {
				if top[0].Label == w {
					return
				}
			}
			t.Errorf("at %v: %v, want first one of %q", tt.pt, top, tt.want)
		})
	}
}
