package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/classifyd/classifyd/classify"
	_ "github.com/classifyd/classifyd/classify/engines"
	"github.com/classifyd/classifyd/classify/manifest"
	"github.com/classifyd/classifyd/internal/savedmodeltest"
	"github.com/classifyd/classifyd/web"
)

// savedModelClassifiers loads, with the real engine, an image SavedModel
// below a TF Serving base path (version 2 ranks a patch's colour first,
// version 1 last), once as a good entry and once with a wrong input key.
func savedModelClassifiers(t *testing.T) (good, bad *classify.Classifier) {
	t.Helper()
	base := t.TempDir()
	for v, scale := range map[string]float32{"1": -10, "2": 10} {
		if err := savedmodeltest.MeanRGB(filepath.Join(base, v), 3, 3, scale); err != nil {
			t.Fatal(err)
		}
	}
	labels := filepath.Join(t.TempDir(), "labels.txt")
	if err := os.WriteFile(labels, []byte("red\ngreen\nblue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := manifest.Model{Name: "sm", SavedModel: base, Labels: labels, Input: "images", Output: "probabilities", TopK: 3,
		Preprocess: classify.Preprocess{CropPixels: 3, Width: 3, Height: 3, Range: []float32{0, 1}}}
	good = manifest.LoadModel(context.Background(), "", e, manifest.LoadOptions{})
	if good.Err != nil {
		t.Fatal(good.Err)
	}
	t.Cleanup(func() { good.Model.Close() })
	e.Name, e.Input = "sm-bad", "image"
	bad = manifest.LoadModel(context.Background(), "", e, manifest.LoadOptions{})
	if bad.Err == nil {
		t.Fatal("an entry with a wrong input key loaded")
	}
	return good, bad
}

// GET /v1/models shows a SavedModel entry's signature (key, method,
// version, keys with dtypes and shapes), also for an entry that failed its
// key check; a frozen-graph entry has no signature field at all.
func TestModelsSavedModelSignature(t *testing.T) {
	good, bad := savedModelClassifiers(t)
	h := newHandler(t, web.Options{Classifiers: []*classify.Classifier{rgbClassifier("rgb", nil), good, bad}})
	r := do(t, h, httptest.NewRequest(http.MethodGet, "/v1/models", nil))
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var resp struct {
		Models []map[string]json.RawMessage `json:"models"`
	}
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]json.RawMessage{}
	for _, m := range resp.Models {
		var name string
		json.Unmarshal(m["name"], &name)
		byName[name] = m
	}
	if sig, ok := byName["rgb"]["signature"]; ok {
		t.Errorf("frozen-graph entry has a signature: %s", sig)
	}
	const wantSig = `{"key":"serving_default","method":"tensorflow/serving/predict","version":2,"tags":["serve"],` +
		`"inputs":[{"key":"images","dtype":"float32","shape":[-1,3,3,3]}],` +
		`"outputs":[{"key":"probabilities","dtype":"float32","shape":[-1,3]}]}`
	for _, tc := range []struct{ name, status, input string }{
		{"sm", `"ready"`, `{"name":"images","dtype":"float32","shape":[-1,3,3,3]}`},
		{"sm-bad", `"failed"`, `{"name":"image","shape":null}`},
	} {
		m := byName[tc.name]
		if m == nil {
			t.Fatalf("%s missing from %s", tc.name, r.body)
		}
		if got := string(m["signature"]); got != wantSig {
			t.Errorf("%s: signature\n got %s\nwant %s", tc.name, got, wantSig)
		}
		if got := string(m["status"]); got != tc.status {
			t.Errorf("%s: status %s, want %s", tc.name, got, tc.status)
		}
		if got := string(m["input"]); got != tc.input {
			t.Errorf("%s: input %s, want %s", tc.name, got, tc.input)
		}
	}
	if got := string(byName["sm"]["output"]); got != `{"name":"probabilities","dtype":"float32","shape":[-1,3]}` {
		t.Errorf("sm: output %s", got)
	}
	if got := string(byName["sm-bad"]["error"]); got == "" || !json.Valid(byName["sm-bad"]["error"]) {
		t.Errorf("sm-bad: error %q", got)
	}
}

// POST /v1/classify runs the SavedModel's newest version on the crop
// around the point: red on the left half of the picture, green on the
// right (version 1 would rank the colour at the point last).
func TestClassifySavedModel(t *testing.T) {
	good, _ := savedModelClassifiers(t)
	h := newHandler(t, web.Options{Classifiers: []*classify.Classifier{rgbClassifier("rgb", nil), good}})
	img := twoColourPNG(t, 8, 4)
	for _, tc := range []struct{ x, want string }{{"1", "red"}, {"6", "green"}} {
		r := postMultipart(t, h, img, map[string]string{"x": tc.x, "y": "1", "models": "sm"})
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if got := r.topLabel("sm"); got != tc.want {
			t.Errorf("x=%s: top label %q, want %q (%s)", tc.x, got, tc.want, r.body)
		}
	}
	mustOK(t, h)
}
