package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/classifyd/classifyd/api"
	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/imageprep"
	"github.com/classifyd/classifyd/internal/budget"
)

// maxTopK bounds top_k: more labels than this is never a UI need and only
// makes responses large.
const maxTopK = 100

// maxField bounds a multipart text field (x, y, models, top_k).
const maxField = 4 << 10

// request is a classify request after parsing, whatever its encoding.
type request struct {
	data   []byte // the encoded image
	source string // multipart, raw, b64, url, path (for the log)
	x, y   *int
	models []string
	topK   int
}

// timeout bounds a classify request: its context gets a deadline (the
// engines check it between nodes, the URL fetch inherits it) and the
// connection's read deadline follows it, so a client trickling its body
// cannot hold a handler past it either.
func (s *server) timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.o.RequestTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	// Not every ResponseWriter supports it (httptest's recorder does not);
	// the context deadline still applies then.
	_ = http.NewResponseController(c.Writer).SetReadDeadline(deadline)
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

func (s *server) classify(c *gin.Context) {
	start := s.now()
	ctx := c.Request.Context()
	lease := s.budget.Lease()
	defer lease.Release()
	rd := reader{
		reserve: func(n int64) error { return s.reserve(ctx, lease, n) },
		shrink:  lease.Shrink,
	}
	req, err := s.parse(c, rd)
	if err != nil {
		abortWithError(c, ctxErr(ctx, err))
		return
	}
	c.Set(ctxKeySource, req.source)
	cs, err := s.choose(req.models)
	if err != nil {
		abortWithError(c, err)
		return
	}

	// The header is read before waiting for a worker: an unsupported,
	// truncated or oversized image is refused at once, however busy the
	// workers are.
	src, err := imageprep.NewSource(req.data, imageprep.Limits{MaxPixels: s.o.MaxPixels})
	if err != nil {
		abortWithError(c, err)
		return
	}
	size := src.Header().Size()
	pt := image.Pt(size.X/2, size.Y/2)
	switch {
	case req.x != nil && req.y != nil:
		pt = image.Pt(*req.x, *req.y)
	case req.x != nil || req.y != nil:
		abortWithError(c, fmt.Errorf("%w: give both x and y, or neither for the centre", api.ErrBadRequest))
		return
	}
	if !pt.In(image.Rectangle{Max: size}) {
		abortWithError(c, fmt.Errorf("%w: (%d,%d) is not inside the %dx%d image", imageprep.ErrPoint, pt.X, pt.Y, size.X, size.Y))
		return
	}

	qctx, cancel := context.WithTimeout(ctx, s.o.QueueTimeout)
	select {
	case s.slots <- struct{}{}:
		cancel()
		defer func() { <-s.slots }()
	case <-qctx.Done():
		cancel()
		abortWithError(c, queueErr(ctx, "a free worker"))
		return
	}

	// The file is decoded once for every model, only as far as they need
	// it (a JPEG at the smallest DCT scale that keeps each model's
	// resolution, only over its crop); all of it is reserved first.
	ps := make([]classify.Preprocess, len(cs))
	for i, cl := range cs {
		ps[i] = cl.Preprocess
	}
	src.Plan(ps, pt)
	cost := src.Cost(ps, pt)
	if err := s.reserve(ctx, lease, cost); err != nil {
		abortWithError(c, fmt.Errorf("decode %dx%d %s: %w", size.X, size.Y, src.Header().Format, err))
		return
	}
	if err := ctx.Err(); err != nil {
		abortWithError(c, err)
		return
	}

	results := classify.ClassifyAll(ctx, cs, func(p classify.Preprocess) (*classify.Tensor, error) {
		start := s.now()
		x, err := src.Prepare(p, pt)
		if err == nil {
			s.metrics.decode.Observe(s.now().Sub(start).Seconds())
		}
		return x, err
	}, req.topK)

	resp, firstErr := api.NewResponse(size, pt, cs, results)
	durations := make(map[string]float64, len(results))
	for _, cl := range cs {
		r := results[cl.Name]
		if r.Err != nil {
			if errors.Is(r.Err, context.Canceled) {
				continue // the client left; the request line says so
			}
			s.log.Warn("model failed", "model", cl.Name, "error", api.Truncate(r.Err.Error(), maxLogError))
			continue
		}
		durations[cl.Name] = ms(r.Duration)
		s.metrics.inference.WithLabelValues(cl.Name).Observe(r.Duration.Seconds())
	}
	c.Set(ctxKeyModels, durations)
	resp.DurationMS = ms(s.now().Sub(start))
	status := http.StatusOK
	if firstErr != nil {
		// Every model failed: the request as a whole failed, its status
		// decided where every status is, and the per-model details kept.
		status, _ = api.ErrorStatusCode(firstErr)
		c.Set(ctxKeyErr, firstErr)
	}
	c.JSON(status, resp)
}

// reserve grows lease by n bytes, waiting at most QueueTimeout for others
// to release memory.
func (s *server) reserve(ctx context.Context, lease *budget.Lease, n int64) error {
	qctx, cancel := context.WithTimeout(ctx, s.o.QueueTimeout)
	defer cancel()
	if err := lease.Grow(qctx, n); err != nil {
		if ctx.Err() != nil {
			return queueErr(ctx, "memory")
		}
		s.metrics.budgetWaits.Inc()
		return err
	}
	return nil
}

// queueErr is the error of a request that waited too long for what: its
// own deadline (504), the client's cancellation (499), or else the queue
// timeout, the server being busy (503, retry later).
func queueErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return fmt.Errorf("%w: waited %s for %s", budget.ErrBusy, "too long", what)
}

// choose returns the classifiers a request names (in manifest order), or
// every loaded one when it names none.
func (s *server) choose(names []string) ([]*classify.Classifier, error) {
	if len(names) == 0 {
		if len(s.ready) == 0 {
			return nil, fmt.Errorf("%w: no model loaded (see /v1/models)", api.ErrNoModel)
		}
		return s.ready, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		if s.byName[n] == nil {
			return nil, fmt.Errorf("%w: %s (see /v1/models)", classify.ErrModelNotFound, api.Quote(n))
		}
		want[n] = true
	}
	var cs []*classify.Classifier
	for _, c := range s.o.Classifiers {
		if want[c.Name] {
			cs = append(cs, c)
		}
	}
	return cs, nil
}

// parse reads the request in whichever of the three encodings it comes,
// reading the body inside the request's memory lease.
func (s *server) parse(c *gin.Context, rd reader) (*request, error) {
	r := c.Request
	if r.ContentLength > s.o.MaxBodyBytes {
		// Refuse before reading anything; MaxBytesReader below covers
		// bodies that do not declare their length.
		return nil, &http.MaxBytesError{Limit: s.o.MaxBodyBytes}
	}
	r.Body = http.MaxBytesReader(c.Writer, r.Body, s.o.MaxBodyBytes)
	body, size, zheld, err := decodedBody(r, rd, s.o.MaxBodyBytes)
	if err != nil {
		return nil, readError(err)
	}
	defer rd.shrink(zheld) // a compressed body is garbage once read
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("%w: Content-Type %s: use multipart/form-data, application/json or an image type", api.ErrUnsupportedMediaType, api.Quote(r.Header.Get("Content-Type")))
	}
	switch {
	case ct == "multipart/form-data":
		if params["boundary"] == "" {
			return nil, fmt.Errorf("%w: multipart body without boundary", api.ErrBadRequest)
		}
		return s.parseMultipart(multipart.NewReader(body, params["boundary"]), size, rd)
	case ct == "application/json":
		return s.parseJSON(r.Context(), body, size, rd)
	case strings.HasPrefix(ct, "image/") || ct == "application/octet-stream":
		data, _, err := rd.readAll(body, size, s.o.MaxBodyBytes)
		if err != nil {
			return nil, readError(err)
		}
		req := &request{data: data, source: "raw"}
		q := r.URL.Query()
		if err := req.setFields(q.Get("x"), q.Get("y"), q.Get("top_k"), q["models"]); err != nil {
			return nil, err
		}
		return req, nil
	}
	return nil, fmt.Errorf("%w: %s: use multipart/form-data, application/json or an image type", api.ErrUnsupportedMediaType, api.Quote(ct))
}

// maxParts bounds the parts of a multipart body and maxModels the model
// names of a request: a few are all a client needs.
const (
	maxParts  = 32
	maxModels = 64
)

// parseMultipart reads the fields of a multipart body of size bytes (0:
// not known).
func (s *server) parseMultipart(mr *multipart.Reader, size int64, rd reader) (*request, error) {
	req := &request{source: "multipart"}
	var x, y, topK string
	var models []string
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readError(err)
		}
		if parts == maxParts {
			return nil, fmt.Errorf("%w: more than %d multipart fields", api.ErrBadRequest, maxParts)
		}
		switch name := part.FormName(); name {
		case "image":
			if req.data != nil {
				return nil, fmt.Errorf("%w: more than one image", api.ErrBadRequest)
			}
			// The body's length bounds the image's: its buffer is
			// allocated once, not grown and copied as it arrives.
			if req.data, _, err = rd.readAll(part, size, s.o.MaxBodyBytes); err != nil {
				return nil, readError(err)
			}
		case "x", "y", "top_k", "models":
			v, err := io.ReadAll(io.LimitReader(part, maxField+1))
			if err != nil {
				return nil, readError(err)
			}
			if len(v) > maxField {
				return nil, fmt.Errorf("%w: field %s is longer than %d bytes", api.ErrBadRequest, name, maxField)
			}
			switch name {
			case "x":
				x = string(v)
			case "y":
				y = string(v)
			case "top_k":
				topK = string(v)
			case "models":
				models = append(models, string(v))
			}
		}
		// Other fields are ignored, as browsers may add their own.
		part.Close()
	}
	if req.data == nil {
		return nil, fmt.Errorf("%w: no file field named \"image\"", api.ErrBadRequest)
	}
	return req, req.setFields(x, y, topK, models)
}

// setFields parses the text fields shared by multipart and raw requests.
func (req *request) setFields(x, y, topK string, models []string) error {
	var err error
	if req.x, err = coord("x", x); err != nil {
		return err
	}
	if req.y, err = coord("y", y); err != nil {
		return err
	}
	if topK = strings.TrimSpace(topK); topK != "" {
		k, err := strconv.Atoi(topK)
		if err != nil {
			return fmt.Errorf("%w: top_k %s is not an integer", api.ErrBadRequest, api.Quote(topK))
		}
		req.topK = k
	}
	for _, m := range models {
		req.models = append(req.models, splitModels(m)...)
	}
	return req.check()
}

func (req *request) check() error {
	if len(req.models) > maxModels {
		return fmt.Errorf("%w: %d models named, at most %d", api.ErrBadRequest, len(req.models), maxModels)
	}
	if req.topK < 0 || req.topK > maxTopK {
		return fmt.Errorf("%w: top_k %d is outside 1..%d", api.ErrBadRequest, req.topK, maxTopK)
	}
	if len(req.data) == 0 {
		return fmt.Errorf("%w: empty image", imageprep.ErrFormat)
	}
	return nil
}

func splitModels(s string) []string {
	var out []string
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// coord parses a pixel coordinate; fractions (from a scaled browser
// display) are floored to the pixel they fall in.
func coord(name, v string) (*int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s is not a number", api.ErrBadRequest, name, api.Quote(v))
	}
	return floatCoord(name, f)
}

func floatCoord(name string, f float64) (*int, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e9 {
		return nil, fmt.Errorf("%w: %s %v is not a usable coordinate", api.ErrBadRequest, name, f)
	}
	i := int(math.Floor(f))
	return &i, nil
}

// The fields of an application/json classify request:
//
//	{"image": {"b64": "..."} | {"url": "..."} | {"path": "..."},
//	 "x": 300, "y": 200, "models": ["a", "b"] | "a,b", "top_k": 5}
var (
	jsonFields      = map[string]bool{"image": true, "x": true, "y": true, "models": true, "top_k": true}
	jsonImageFields = map[string]bool{"b64": true, "url": true, "path": true}
)

// rawRef is a JSON value left undecoded, as a slice of the request body
// itself: json.Unmarshal hands UnmarshalJSON pieces of its input, and the
// body outlives the parse, so nothing is copied. A 20 MiB base64 image is
// then decoded once, straight from the body.
type rawRef []byte

func (r *rawRef) UnmarshalJSON(b []byte) error { *r = b; return nil }

// modelList accepts ["a","b"] and "a,b".
type modelList []string

func (m *modelList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		for _, s := range list {
			*m = append(*m, splitModels(s)...)
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("models must be a list of names or a comma-separated string")
	}
	*m = splitModels(s)
	return nil
}

// object decodes a JSON object into its members, refusing members not in
// known (a misspelt field must not be silently ignored).
func object(raw []byte, what string, known map[string]bool) (map[string]rawRef, error) {
	var m map[string]rawRef
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", api.ErrBadRequest, what, api.Truncate(err.Error(), api.MaxQuoted))
	}
	if m == nil {
		return nil, fmt.Errorf("%w: %s must be an object", api.ErrBadRequest, what)
	}
	for k := range m {
		if !known[k] {
			return nil, fmt.Errorf("%w: %s has an unknown field %s", api.ErrBadRequest, what, api.Quote(k))
		}
	}
	return m, nil
}

// field decodes one member, naming it in the error.
func field(m map[string]rawRef, name string, v any) error {
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: JSON field %s: %s", api.ErrBadRequest, name, api.Truncate(err.Error(), api.MaxQuoted))
	}
	return nil
}

func (s *server) parseJSON(ctx context.Context, body io.Reader, size int64, rd reader) (*request, error) {
	data, held, err := rd.readAll(body, size, s.o.MaxBodyBytes)
	if err != nil {
		return nil, readError(err)
	}
	// What the parse makes (the decoded image, names) is smaller than the
	// body; the body itself is garbage once the parse is done.
	if err := rd.reserve(int64(len(data))); err != nil {
		rd.shrink(held)
		return nil, err
	}
	req := &request{}
	err = s.parseJSONFields(ctx, data, req, rd)
	rd.shrink(held)
	if err != nil {
		return nil, err
	}
	return req, req.check()
}

func (s *server) parseJSONFields(ctx context.Context, data []byte, req *request, rd reader) error {
	top, err := object(data, "JSON body", jsonFields)
	if err != nil {
		return err
	}
	var x, y *float64
	if err := errors.Join(field(top, "x", &x), field(top, "y", &y), field(top, "models", (*modelList)(&req.models)), field(top, "top_k", &req.topK)); err != nil {
		return err
	}
	if x != nil {
		if req.x, err = floatCoord("x", *x); err != nil {
			return err
		}
	}
	if y != nil {
		if req.y, err = floatCoord("y", *y); err != nil {
			return err
		}
	}
	if top["image"] == nil {
		return fmt.Errorf("%w: no image (give image.b64, image.url or image.path)", api.ErrBadRequest)
	}
	im, err := object(top["image"], "image", jsonImageFields)
	if err != nil {
		return err
	}
	if len(im) != 1 {
		return fmt.Errorf("%w: image needs exactly one of b64, url, path", api.ErrBadRequest)
	}
	switch {
	case im["b64"] != nil:
		req.source = "b64"
		req.data, err = decodeB64(im["b64"])
	case im["url"] != nil:
		req.source = "url"
		if s.fetch == nil {
			return fmt.Errorf("%w: URL inputs are disabled (enable url_inputs in the configuration)", api.ErrForbidden)
		}
		var u string
		if err := field(im, "url", &u); err != nil {
			return err
		}
		req.data, err = s.fetch.fetch(ctx, u, rd)
	case im["path"] != nil:
		req.source = "path"
		var p string
		if err := field(im, "path", &p); err != nil {
			return err
		}
		req.data, err = s.readPath(p, rd)
	}
	return err
}

// decodeB64 decodes a JSON string of standard or URL-safe base64, padded or
// not, or a data: URL as a browser's FileReader makes. JSON escapes are
// undone only when there are any (`\/` from encoders that escape slashes).
func decodeB64(raw []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, fmt.Errorf("%w: image.b64 must be a string", api.ErrBadRequest)
	}
	b := raw[1 : len(raw)-1]
	if bytes.IndexByte(b, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: image.b64: %s", api.ErrBadRequest, api.Truncate(err.Error(), api.MaxQuoted))
		}
		b = []byte(s)
	}
	if bytes.HasPrefix(b, []byte("data:")) {
		if i := bytes.IndexByte(b, ','); i >= 0 {
			b = b[i+1:]
		}
	}
	b = bytes.TrimRight(bytes.TrimSpace(b), "=")
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(b, "-_") {
		enc = base64.RawURLEncoding
	}
	out := make([]byte, enc.DecodedLen(len(b)))
	n, err := enc.Decode(out, b)
	if err != nil {
		return nil, fmt.Errorf("%w: image.b64 is not base64: %v", api.ErrBadRequest, err)
	}
	return out[:n], nil
}

// readPath reads a stored image below the image root. os.Root resolves
// every component itself, so neither ".." nor a symlink can leave the root;
// absolute paths are refused outright, as they never name a stored image.
func (s *server) readPath(p string, rd reader) ([]byte, error) {
	if s.root == nil {
		return nil, fmt.Errorf("%w: path inputs are disabled (set image_root in the configuration)", api.ErrForbidden)
	}
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || strings.ContainsRune(p, 0) {
		return nil, fmt.Errorf("%w: path %s must be relative to the image root", api.ErrForbidden, api.Quote(p))
	}
	// O_NONBLOCK: opening a FIFO placed under the root must not hang.
	f, err := s.root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no stored image %s", api.ErrNotFound, api.Quote(p))
		}
		return nil, fmt.Errorf("%w: path %s: %v", api.ErrForbidden, api.Quote(p), pathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: path %s: %v", api.ErrForbidden, api.Quote(p), pathErr(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: path %s is not a regular file", api.ErrForbidden, api.Quote(p))
	}
	if st.Size() > s.o.MaxBodyBytes {
		return nil, fmt.Errorf("%w: stored image %s is %d bytes, limit %d", api.ErrTooLarge, api.Quote(p), st.Size(), s.o.MaxBodyBytes)
	}
	data, _, err := rd.readAll(f, st.Size(), s.o.MaxBodyBytes)
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return nil, fmt.Errorf("%w: stored image %s is larger than %d bytes", api.ErrTooLarge, api.Quote(p), s.o.MaxBodyBytes)
	case err != nil:
		return nil, fmt.Errorf("read stored image %s: %w", api.Quote(p), pathErr(err))
	}
	return data, nil
}

// pathErr drops the root's absolute path from os errors before they reach
// the client.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readError classifies a failed body read: the size cap keeps its type
// (413), a read deadline becomes the request timeout (504).
func readError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) || errors.Is(err, budget.ErrBusy) || errors.Is(err, budget.ErrExceeds) ||
		errors.Is(err, context.Canceled) || errors.Is(err, api.ErrBadRequest) || errors.Is(err, api.ErrBadEncoding) {
		return err
	}
	if isTimeout(err) {
		return fmt.Errorf("read body: %w", context.DeadlineExceeded)
	}
	return fmt.Errorf("%w: read body: %s", api.ErrBadRequest, api.Truncate(err.Error(), api.MaxQuoted))
}

// ctxErr prefers the request's own deadline over whatever error a read
// reported once it passed.
func ctxErr(ctx context.Context, err error) error {
	// A body read that timed out hit the read deadline, which is the
	// request's own deadline: that is a timeout even when net/http, seeing
	// the failed read, cancelled the request context before our timer fired
	// (otherwise the answer would be a 499 "canceled" by chance).
	if errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
