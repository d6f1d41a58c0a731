package web_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/classifyd/classifyd/classify"
	_ "github.com/classifyd/classifyd/classify/gotf" // the pure-Go engine, "go"
	"github.com/classifyd/classifyd/classify/manifest"
	"github.com/classifyd/classifyd/imageprep"
	"github.com/classifyd/classifyd/web"
)

// TestFormInBrowser drives the HTML form in a real headless chromium
// against the real service with the default models: it uploads a photo,
// clicks a point, checks the marker, the point fields and each model's crop
// box, submits, and reads the bars; then the error paths and an
// EXIF-rotated JPEG. Screenshots go to the temp directory for a person to
// look at.
func TestFormInBrowser(t *testing.T) {
	modelsDir, imagesDir := os.Getenv("TEST_MODELS_DIR"), os.Getenv("TEST_IMAGES_DIR")
	if modelsDir == "" || imagesDir == "" {
		t.Skip("set TEST_MODELS_DIR (the shared graphs, e.g. /work/shared/models) and TEST_IMAGES_DIR (the shared photos, e.g. /work/shared/images) to run the browser test")
	}
	ctx := newBrowser(t)
	cs := loadDefaultModels(t, modelsDir)
	srv := newServer(t, web.Options{Classifiers: cs})
	photo := filepath.Join(imagesDir, "coffee.png")

	t.Run("click a point and classify", func(t *testing.T) {
		openForm(t, ctx, srv.URL, photo)
		before := eval[pageState](t, ctx, pageStateJS)
		if before.NatW != 600 || before.NatH != 400 {
			t.Fatalf("preview's natural size %dx%d, want coffee.png's 600x400", before.NatW, before.NatH)
		}
		if before.X != "" || before.Y != "" || before.Marker.Width == 0 {
			t.Fatalf("before any click the fields should be empty (the centre) and the marker shown; got (%q, %q), marker %+v",
				before.X, before.Y, before.Marker)
		}
		// Right of and above the centre, so neither crop box is pushed by
		// an edge and the point differs from the default. Chromium clicks
		// at whole CSS pixels: aim at one and work out the image pixel
		// under it.
		sx, sy := before.Img.Width/float64(before.NatW), before.Img.Height/float64(before.NatH)
		if sx > 0.98 || sy > 0.98 {
			t.Fatalf("the photo is shown at scale %.2f; the window must be narrow enough to scale it, or the click conversion goes untested", sx)
		}
		cx := math.Round(before.Img.Left + 330.5*sx)
		cy := math.Round(before.Img.Top + 180.5*sy)
		want := image.Pt(int((cx-before.Img.Left)/sx), int((cy-before.Img.Top)/sy))
		step(t, ctx, "click the photo", chromedp.MouseClickXY(cx, cy))

		got := eval[pageState](t, ctx, pageStateJS)
		if got.X != strconv.Itoa(want.X) || got.Y != strconv.Itoa(want.Y) {
			t.Errorf("clicked image pixel %v, the fields say (%s, %s)", want, got.X, got.Y)
		}
		// The marker sits on the centre of the chosen pixel, so within
		// half a pixel (plus rounding) of the click.
		mx, my := got.Marker.Left+got.Marker.Width/2, got.Marker.Top+got.Marker.Height/2
		if !near(mx, cx, 1+sx/2) || !near(my, cy, 1+sy/2) {
			t.Errorf("marker centred at (%.1f, %.1f), clicked at (%.1f, %.1f)", mx, my, cx, cy)
		}
		size := image.Pt(got.NatW, got.NatH)
		for _, c := range cs {
			box, ok := got.Crops[c.Name]
			if !ok {
				t.Errorf("no crop box drawn for %s (drawn: %v)", c.Name, got.Crops)
				continue
			}
			r := imageprep.CropRect(size, c.Preprocess, want)
			gx, gy := (box.Left-got.Img.Left)/sx, (box.Top-got.Img.Top)/sy
			gw, gh := box.Width/sx, box.Height/sy
			tol := 0.5 + 1/sx // sub-pixel layout of the box edges
			if !near(gx, float64(r.Min.X), tol) || !near(gy, float64(r.Min.Y), tol) ||
				!near(gw, float64(r.Dx()), tol) || !near(gh, float64(r.Dy()), tol) {
				t.Errorf("%s crop box shown at (%.1f, %.1f) size %.1fx%.1f in image pixels; imageprep.CropRect gives %v",
					c.Name, gx, gy, gw, gh, r)
			}
		}

		step(t, ctx, "submit and wait for the bars",
			chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.CSS(`#results .model-result .bar`)),
		)
		shown := eval[[]modelShown](t, ctx, resultsJS)
		shot(t, ctx, "classifyd-form.png")

		// The page must show what the API answers for the same request.
		api := classifyDirect(t, srv.URL, photo, want)
		if len(shown) != len(cs) {
			t.Fatalf("page shows %d models, want %d: %+v", len(shown), len(cs), shown)
		}
		for _, m := range shown {
			t.Run(m.Model, func(t *testing.T) {
				if m.Error != "" {
					t.Fatalf("model failed: %s", m.Error)
				}
				if len(m.Labels) != 5 {
					t.Fatalf("%d labels shown, want 5: %+v", len(m.Labels), m.Labels)
				}
				if !strings.HasSuffix(m.Time, " ms") {
					t.Errorf("model timing %q, want a duration in ms", m.Time)
				}
				ref := api.Results[m.Model].Labels
				sum := 0.0
				for i, l := range m.Labels {
					p, err := strconv.ParseFloat(strings.TrimSuffix(l.Pct, "%"), 64)
					if err != nil || !strings.HasSuffix(l.Pct, "%") {
						t.Fatalf("label %q shows %q, want a percentage", l.Label, l.Pct)
					}
					sum += p
					if i < len(ref) && (l.Label != ref[i].Label || !near(p, 100*float64(ref[i].Probability), 0.051)) {
						t.Errorf("bar %d shows %s %s, the API says %s %.3f%%", i, l.Label, l.Pct, ref[i].Label, 100*ref[i].Probability)
					}
					if w := l.Fill / l.Track * 100; !near(w, p, 1) {
						t.Errorf("bar %d is %.1f%% long for %s", i, w, l.Pct)
					}
				}
				// Each shown value is rounded to 0.05 at most.
				if sum > 100+0.05*float64(len(m.Labels)) {
					t.Errorf("percentages sum to %.2f > 100", sum)
				}
			})
		}
		if len(shown) > 0 {
			theme := shown[0]
			for _, m := range shown {
				if m.Model == "theme" {
					theme = m
				}
			}
			if theme.Model != "theme" || len(theme.Labels) == 0 || theme.Labels[0].Label != "espresso" {
				t.Errorf("top theme label near the centre of coffee.png: %+v, want espresso", theme.Labels)
			}
		}
		summary := eval[string](t, ctx, `document.getElementById("summary").textContent`)
		if !strings.Contains(summary, fmt.Sprintf("point (%d, %d)", want.X, want.Y)) ||
			!strings.Contains(summary, "image 600 × 400") || !strings.Contains(summary, "server ") {
			t.Errorf("summary %q lacks the image size, the server's echo of point %v or the total time", summary, want)
		}
	})

	t.Run("served with a strict CSP", func(t *testing.T) {
		// The subtests above and below pass under this policy, so the form
		// needs nothing inline or from elsewhere.
		for _, p := range []string{"/", "/app.js", "/style.css"} {
			resp, err := http.Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			csp := resp.Header.Get("Content-Security-Policy")
			if resp.StatusCode != http.StatusOK || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("GET %s: HTTP %d, CSP %q", p, resp.StatusCode, csp)
			}
		}
	})

	t.Run("crop rule matches imageprep", func(t *testing.T) {
		// The boxes the form draws come from its own JavaScript copy of the
		// crop rule; check it against imageprep.CropRect at the edges,
		// corners and with images smaller than the crop.
		type tc struct {
			W, H, X, Y int
			P          classify.Preprocess
		}
		var cases []tc
		pres := []classify.Preprocess{{CropFraction: 0.8}, {CropFraction: 0.33}, {CropPixels: 9}, {CropPixels: 64}, {}}
		for _, size := range []image.Point{{600, 400}, {401, 1001}, {5, 3}, {9, 9}, {1, 1}} {
			for _, pt := range []image.Point{{0, 0}, {size.X / 2, size.Y / 2}, {size.X - 1, size.Y - 1}, {size.X / 3, size.Y - 2}} {
				for _, p := range pres {
					cases = append(cases, tc{size.X, size.Y, max(pt.X, 0), max(pt.Y, 0), p})
				}
			}
		}
		js, _ := json.Marshal(cases)
		step(t, ctx, "open the form", chromedp.Navigate(srv.URL+"/"), chromedp.WaitReady(chromedp.ID("preview")))
		got := eval[[]struct{ X, Y, W, H int }](t, ctx, `(`+string(js)+`).map((c) => {
			const r = window.classifydForm.cropRect(c.W, c.H, {crop_fraction: c.P.crop_fraction, crop_pixels: c.P.crop_pixels}, c.X, c.Y);
			return {X: r.x, Y: r.y, W: r.w, H: r.h};
		})`)
		if len(got) != len(cases) {
			t.Fatalf("%d answers for %d cases", len(got), len(cases))
		}
		for i, c := range cases {
			want := imageprep.CropRect(image.Pt(c.W, c.H), c.P, image.Pt(c.X, c.Y))
			if g := image.Rect(got[i].X, got[i].Y, got[i].X+got[i].W, got[i].Y+got[i].H); g != want {
				t.Errorf("%dx%d at (%d,%d) with %+v: form draws %v, imageprep crops %v", c.W, c.H, c.X, c.Y, c.P, g, want)
			}
		}
	})

	t.Run("phone width", func(t *testing.T) {
		step(t, ctx, "narrow the window", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
		defer step(t, ctx, "restore the window", chromedp.EmulateViewport(desktopW, desktopH))
		openForm(t, ctx, srv.URL, photo)
		st := eval[pageState](t, ctx, pageStateJS)
		if st.Overflows {
			t.Errorf("the page scrolls sideways at 390 CSS px")
		}
		if st.Img.Width > 390 || st.Img.Width < 200 {
			t.Errorf("the photo is %.0f CSS px wide on a 390 px screen", st.Img.Width)
		}
		shot(t, ctx, "classifyd-form-phone.png")
	})

	t.Run("drop a file", func(t *testing.T) {
		// A real drag from the desktop cannot be scripted; a drop event
		// carrying a File is what the page receives from one.
		step(t, ctx, "open the form",
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`#models input[name=model]`)),
		)
		eval[bool](t, ctx, `(async () => {
			const c = document.createElement("canvas");
			c.width = 30; c.height = 20;
			c.getContext("2d").fillRect(0, 0, 30, 20);
			const blob = await new Promise((res) => c.toBlob(res, "image/png"));
			const dt = new DataTransfer();
			dt.items.add(new File([blob], "dropped.png", {type: "image/png"}));
			document.querySelector("h1").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
			return true;
		})()`, chromedp.EvalAwaitPromise)
		step(t, ctx, "wait for the preview", chromedp.WaitVisible(chromedp.ID("preview")))
		st := eval[pageState](t, ctx, pageStateJS)
		name := eval[string](t, ctx, `document.getElementById("image").files[0]?.name || ""`)
		if st.NatW != 30 || st.NatH != 20 || name != "dropped.png" {
			t.Errorf("after dropping a 30x20 dropped.png the preview is %dx%d and the file input holds %q", st.NatW, st.NatH, name)
		}
	})

	t.Run("not an image", func(t *testing.T) {
		notes := filepath.Join(t.TempDir(), "notes.txt")
		if err := os.WriteFile(notes, []byte("this is a shopping list, not a picture\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		msg := submitForError(t, ctx, srv.URL, notes)
		if !strings.Contains(msg, "not a supported image") {
			t.Errorf("error shown: %q, want it to say the file is not a supported image", msg)
		}
		shot(t, ctx, "classifyd-form-error.png")
	})

	t.Run("too large", func(t *testing.T) {
		small := newServer(t, web.Options{Classifiers: cs, MaxBodyBytes: 4 << 10})
		msg := submitForError(t, ctx, small.URL, photo)
		if !strings.Contains(msg, "too large") {
			t.Errorf("error shown: %q, want it to say the image is too large", msg)
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		// One request's worth of burst: the model list takes it, so the
		// classify request is turned away.
		slow := newServer(t, web.Options{Classifiers: cs, RateLimit: 0.01, RateBurst: 1})
		msg := submitForError(t, ctx, slow.URL, photo)
		if !strings.Contains(msg, "Slow down") || !strings.Contains(msg, "Try again in ") {
			t.Errorf("error shown: %q, want it to say slow down and when to retry", msg)
		}
	})

	t.Run("API key", func(t *testing.T) {
		locked := newServer(t, web.Options{Classifiers: cs, APIKeys: []string{"sesame"}})
		step(t, ctx, "open the form",
			chromedp.Navigate(locked.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`#models .failed`)),
		)
		if msg := eval[string](t, ctx, `document.getElementById("models").textContent`); !strings.Contains(msg, "API key") {
			t.Errorf("without a key the model list says %q, want it to ask for an API key", msg)
		}
		step(t, ctx, "give the key and classify",
			chromedp.Click(chromedp.CSS(`details.advanced summary`)),
			chromedp.SendKeys(chromedp.ID("api-key"), "sesame\t"),
			chromedp.WaitVisible(chromedp.CSS(`#models input[name=model]`)),
			chromedp.SetUploadFiles(chromedp.ID("image"), []string{photo}),
			chromedp.WaitVisible(chromedp.ID("preview")),
			chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.CSS(`#results .model-result .bar`)),
		)
	})

	t.Run("failed model listed", func(t *testing.T) {
		broken := &classify.Classifier{Name: "broken", Engine: "go",
			Err: fmt.Errorf("open broken.pb: %w: node x op Frobnicate", classify.ErrUnsupportedOp)}
		partial := newServer(t, web.Options{Classifiers: append(append([]*classify.Classifier{}, cs...), broken)})
		step(t, ctx, "open the form",
			chromedp.Navigate(partial.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`#models input[name=model]`)),
		)
		type entry struct {
			Checked, Disabled bool
			Text              string
		}
		got := eval[map[string]entry](t, ctx, `Object.fromEntries(Array.from(document.querySelectorAll("#models input[name=model]")).map(
			(b) => [b.value, {Checked: b.checked, Disabled: b.disabled, Text: b.parentElement.textContent}]))`)
		// Why, as a stable short message: the op list and the path are for
		// the server log, not for whoever opens the page.
		if e := got["broken"]; !e.Disabled || e.Checked || !strings.Contains(e.Text, "ops the engine does not implement") ||
			strings.Contains(e.Text, "Frobnicate") || strings.Contains(e.Text, "broken.pb") {
			t.Errorf("the failed model shows as %+v, want it unchecked, disabled and saying why", e)
		}
		for _, c := range cs {
			if e := got[c.Name]; !e.Checked || e.Disabled {
				t.Errorf("model %s shows as %+v, want it checked and enabled", c.Name, e)
			}
		}
	})

	t.Run("server gone", func(t *testing.T) {
		gone := newServer(t, web.Options{Classifiers: cs})
		openForm(t, ctx, gone.URL, photo)
		gone.CloseClientConnections()
		gone.Close()
		step(t, ctx, "submit", chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("error")))
		msg := eval[string](t, ctx, `document.getElementById("error").textContent`)
		if !strings.Contains(msg, "Could not reach the server") {
			t.Errorf("error shown: %q, want it to say the server could not be reached", msg)
		}
	})

	t.Run("EXIF rotated JPEG", func(t *testing.T) {
		// Stored 60x40 with orientation 6 (rotate 90° clockwise to view):
		// the browser and the server must both see it as 40x60, or the
		// clicked point would land elsewhere in the server's image.
		rotated := filepath.Join(t.TempDir(), "rotated.jpg")
		if err := os.WriteFile(rotated, exifJPEG(t, 60, 40, 6), 0o644); err != nil {
			t.Fatal(err)
		}
		openForm(t, ctx, srv.URL, rotated)
		st := eval[pageState](t, ctx, pageStateJS)
		if st.NatW != 40 || st.NatH != 60 {
			t.Fatalf("browser shows the rotated JPEG as %dx%d, want 40x60 (EXIF orientation applied)", st.NatW, st.NatH)
		}
		step(t, ctx, "submit",
			chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.CSS(`#results .model-result .bar`)),
		)
		summary := eval[string](t, ctx, `document.getElementById("summary").textContent`)
		if !strings.Contains(summary, "image 40 × 60") {
			t.Errorf("summary %q: the server did not see the image as 40x60", summary)
		}
		if note := eval[string](t, ctx, `document.getElementById("status").textContent`); strings.Contains(note, "EXIF") {
			t.Errorf("the page reports a size mismatch: %q", note)
		}
	})
}

// loadDefaultModels loads models/models.yaml with the pure-Go engine, the
// theme model's graph and labels taken from the shared MobileNet (the
// service's `make models` puts the same files under models/theme).
func loadDefaultModels(t *testing.T, modelsDir string) []*classify.Classifier {
	t.Helper()
	m, err := manifest.Read(filepath.Join("..", "models", "models.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Models {
		if m.Models[i].Name == "theme" {
			m.Models[i].Graph = filepath.Join(modelsDir, "mobilenet_v1_0.25_128", "frozen_graph.pb")
			m.Models[i].Labels = filepath.Join(modelsDir, "mobilenet_v1_0.25_128", "labels.txt")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := manifest.Load(ctx, m, manifest.LoadOptions{Engine: "go"})
	t.Cleanup(func() { manifest.Close(cs) })
	for _, c := range cs {
		if c.Err != nil {
			t.Fatalf("load model %s: %v", c.Name, c.Err)
		}
	}
	return cs
}

// The desktop window is narrower than coffee.png's column would need, so
// the form shows the photo scaled and the test checks the conversion from
// CSS pixels to image pixels.
const desktopW, desktopH = 1024, 800

func newServer(t *testing.T, o web.Options) *httptest.Server {
	t.Helper()
	h, err := web.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// chromiumPath finds the browser. CI must have it (CI=true makes its
// absence a failure, never a silent skip); a laptop may not.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found on PATH; CI must install it (apt-get install chromium)")
	}
	t.Skip("chromium not found on PATH; install it (apt-get install chromium) to run the browser test")
	return ""
}

// newBrowser starts a headless chromium with a throwaway profile and
// returns a tab context that lives until the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(desktopW, desktopH),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first Do starts the browser and must not carry a timeout, which
	// would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs actions under a deadline, so a page that never shows what the
// test waits for fails the test instead of hanging it.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// openForm loads the page, waits for the model checkboxes, and chooses the
// file; for an image it waits until the preview is shown.
func openForm(t *testing.T, ctx context.Context, base, file string) {
	t.Helper()
	step(t, ctx, "open the form and choose "+filepath.Base(file),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#models input[name=model]`)),
		chromedp.SetUploadFiles(chromedp.ID("image"), []string{file}),
	)
	if filepath.Ext(file) != ".txt" {
		step(t, ctx, "wait for the preview", chromedp.WaitVisible(chromedp.ID("preview")))
	}
}

func submitForError(t *testing.T, ctx context.Context, base, file string) string {
	t.Helper()
	openForm(t, ctx, base, file)
	step(t, ctx, "submit and wait for the error",
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if n := eval[int](t, ctx, `document.querySelectorAll("#results .bar").length`); n != 0 {
		t.Errorf("%d result bars shown next to an error", n)
	}
	return eval[string](t, ctx, `document.getElementById("error").textContent`)
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := filepath.Join(os.TempDir(), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

type box struct{ Left, Top, Width, Height float64 }

// pageState is what the page shows around the image, in CSS pixels.
type pageState struct {
	Img       box
	NatW      int
	NatH      int
	Marker    box
	Crops     map[string]box
	X, Y      string
	Overflows bool
}

const pageStateJS = `(() => {
  const r = (el) => { const b = el.getBoundingClientRect(); return {Left: b.left, Top: b.top, Width: b.width, Height: b.height}; };
  const img = document.getElementById("preview");
  const crops = {};
  for (const c of document.querySelectorAll("#overlay .crop")) crops[c.dataset.model] = r(c);
  const de = document.documentElement;
  return {
    Img: r(img), NatW: img.naturalWidth, NatH: img.naturalHeight,
    Marker: r(document.getElementById("marker")), Crops: crops,
    X: document.getElementById("x").value, Y: document.getElementById("y").value,
    Overflows: de.scrollWidth > de.clientWidth,
  };
})()`

// modelShown is one model's answer as the page shows it.
type modelShown struct {
	Model  string
	Error  string
	Time   string
	Labels []struct {
		Label, Pct  string
		Fill, Track float64 // bar widths in CSS px
	}
}

const resultsJS = `Array.from(document.querySelectorAll("#results .model-result")).map((s) => ({
  Model: s.dataset.model,
  Error: (s.querySelector(".model-error") || {}).textContent || "",
  Time: (s.querySelector(".time") || {}).textContent || "",
  Labels: Array.from(s.querySelectorAll(".bar")).map((b) => ({
    Label: b.querySelector(".label").textContent,
    Pct: b.querySelector(".pct").textContent,
    Fill: b.querySelector(".fill").getBoundingClientRect().width,
    Track: b.querySelector(".track").getBoundingClientRect().width,
  })),
}))`

type apiAnswer struct {
	Results map[string]struct {
		Labels []classify.Label `json:"labels"`
	} `json:"results"`
}

// classifyDirect posts the same request the form sends, to compare the
// page with the API's own answer.
func classifyDirect(t *testing.T, base, file string, pt image.Point) apiAnswer {
	t.Helper()
	img, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile("image", filepath.Base(file))
	fw.Write(img)
	w.WriteField("x", strconv.Itoa(pt.X))
	w.WriteField("y", strconv.Itoa(pt.Y))
	w.Close()
	resp, err := http.Post(base+"/v1/classify", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("direct classify: HTTP %d, %v", resp.StatusCode, err)
	}
	return a
}

// exifJPEG encodes a w x h JPEG (a left-to-right gradient, so a rotation
// would show) carrying an EXIF orientation tag.
func exifJPEG(t *testing.T, w, h int, orientation uint16) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(255 * x / w), 80, 160, 255})
		}
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	// APP1 "Exif\0\0", big-endian TIFF header, IFD0 with one SHORT entry
	// (0x0112 Orientation) and no next IFD.
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	binary.Write(&tiff, binary.BigEndian, uint32(8))
	binary.Write(&tiff, binary.BigEndian, uint16(1))
	binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&tiff, binary.BigEndian, uint32(1))
	binary.Write(&tiff, binary.BigEndian, []uint16{orientation, 0})
	binary.Write(&tiff, binary.BigEndian, uint32(0))
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(enc.Bytes()[:2]) // SOI
	out.Write([]byte{0xff, 0xe1})
	binary.Write(&out, binary.BigEndian, uint16(len(payload)+2))
	out.Write(payload)
	out.Write(enc.Bytes()[2:])
	return out.Bytes()
}
