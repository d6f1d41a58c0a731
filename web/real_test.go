package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/classifyd/classifyd/classify"
	_ "github.com/classifyd/classifyd/classify/engines"
	"github.com/classifyd/classifyd/classify/manifest"
	"github.com/classifyd/classifyd/imageprep"
	"github.com/classifyd/classifyd/web"
)

// realClassifiers loads the default manifest's models with the real
// engine: color from the repository, theme from TEST_MODELS_DIR.
func realClassifiers(t testing.TB) []*classify.Classifier {
	t.Helper()
	models, images := os.Getenv("TEST_MODELS_DIR"), os.Getenv("TEST_IMAGES_DIR")
	if models == "" || images == "" {
		t.Skip("set TEST_MODELS_DIR=/work/shared/models and TEST_IMAGES_DIR=/work/shared/images to test with the real models")
	}
	m, err := manifest.Read(filepath.Join("..", "models", "models.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Models {
		if m.Models[i].Name == "theme" {
			mn := filepath.Join(models, "mobilenet_v1_0.25_128")
			m.Models[i].Graph, m.Models[i].Labels = filepath.Join(mn, "frozen_graph.pb"), filepath.Join(mn, "labels.txt")
		}
	}
	cs := manifest.Load(context.Background(), m, manifest.LoadOptions{})
	t.Cleanup(func() { manifest.Close(cs) })
	for _, c := range cs {
		if c.Err != nil {
			t.Fatal(c.Err)
		}
	}
	return cs
}

func TestRealModels(t *testing.T) {
	cs := realClassifiers(t)
	h := newHandler(t, web.Options{Classifiers: cs})
	coffee, err := os.ReadFile(filepath.Join(os.Getenv("TEST_IMAGES_DIR"), "coffee.png"))
	if err != nil {
		t.Fatal(err)
	}
	r := postMultipart(t, h, coffee, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if got := r.topLabel("theme"); got != "espresso" {
		t.Errorf("coffee.png at its centre: theme top label %q, want espresso", got)
	}
	for _, name := range []string{"theme", "color"} {
		res := r.json["results"].(map[string]any)[name].(map[string]any)
		if n := len(res["labels"].([]any)); n != 5 {
			t.Errorf("%s: %d labels, want 5", name, n)
		}
	}
}

// TestRealInputFormsAgree: the same photo and point through every input
// form gives identical answers from the real models.
func TestRealInputFormsAgree(t *testing.T) {
	cs := realClassifiers(t)
	dir := os.Getenv("TEST_IMAGES_DIR")
	img, err := os.ReadFile(filepath.Join(dir, "grace_hopper.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	origin := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer origin.Close()
	h := newHandler(t, web.Options{Classifiers: cs, ImageRoot: dir, URLInputs: true, URLAllowHosts: []string{strings.TrimPrefix(origin.URL, "http://")}})

	const x, y = 250, 180
	forms := map[string]func() response{
		"multipart": func() response {
			return postMultipart(t, h, img, map[string]string{"x": "250", "y": "180"})
		},
		"raw": func() response {
			r := httptest.NewRequest(http.MethodPost, "/v1/classify?x=250&y=180", bytes.NewReader(img))
			r.Header.Set("Content-Type", "image/jpeg")
			return do(t, h, r)
		},
		"b64": func() response {
			return postJSON(t, h, map[string]any{"image": map[string]string{"b64": base64.StdEncoding.EncodeToString(img)}, "x": x, "y": y})
		},
		"url": func() response {
			return postJSON(t, h, map[string]any{"image": map[string]string{"url": origin.URL + "/grace_hopper.jpg"}, "x": x, "y": y})
		},
		"path": func() response {
			return postJSON(t, h, map[string]any{"image": map[string]string{"path": "grace_hopper.jpg"}, "x": x, "y": y})
		},
	}
	var want string
	for _, name := range []string{"multipart", "raw", "b64", "url", "path"} {
		t.Run(name, func(t *testing.T) {
			r := forms[name]()
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			delete(r.json, "duration_ms")
			for _, v := range r.json["results"].(map[string]any) {
				delete(v.(map[string]any), "duration_ms")
			}
			b, _ := json.Marshal(r.json)
			if want == "" {
				want = string(b)
				t.Logf("answer: %s", b)
			} else if string(b) != want {
				t.Errorf("differs from multipart:\n got %s\nwant %s", b, want)
			}
		})
	}
}

// TestRealTopOneUnchanged: the request path decodes each model's part of a
// JPEG at its own DCT scale; on every shared photo and several points the
// theme and color top-1 must be what cropping the whole image/jpeg decode
// gives (the pipeline before the project's decoder), and the probabilities
// close.
func TestRealTopOneUnchanged(t *testing.T) {
	cs := realClassifiers(t)
	dir := os.Getenv("TEST_IMAGES_DIR")
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	pngs, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range append(files, pngs...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src, err := imageprep.NewSource(data, imageprep.Limits{})
		if err != nil {
			continue // truncated.jpg and friends: refused either way
		}
		old, _, err := imageprep.Decode(data, imageprep.Limits{})
		if err != nil {
			t.Fatalf("%s: new path accepts, old refuses: %v", f, err)
		}
		size := src.Header().Size()
		for _, pt := range []image.Point{{size.X / 2, size.Y / 2}, {size.X / 4, size.Y / 3}, {size.X - 1, size.Y - 1}} {
			for _, c := range cs {
				a, err := src.Prepare(c.Preprocess, pt)
				if err != nil {
					t.Fatal(err)
				}
				b, err := imageprep.Prepare(old, c.Preprocess, pt)
				if err != nil {
					t.Fatal(err)
				}
				la, err := c.Classify(context.Background(), a, 5)
				if err != nil {
					t.Fatal(err)
				}
				lb, err := c.Classify(context.Background(), b, 5)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s %v %s: %s %.3f (was %s %.3f)", filepath.Base(f), pt, c.Name, la[0].Label, la[0].Probability, lb[0].Label, lb[0].Probability)
				// A near tie may swap; a clear winner may not.
				if la[0].Label != lb[0].Label && math.Abs(float64(lb[0].Probability-lb[1].Probability)) > 0.05 {
					t.Errorf("%s at %v, %s: top-1 %s, was %s (%.3f vs runner-up %.3f)", filepath.Base(f), pt, c.Name, la[0].Label, lb[0].Label, lb[0].Probability, lb[1].Probability)
				}
			}
		}
	}
}
