package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/classifyd/classifyd/api"
	"github.com/classifyd/classifyd/classify"
	"github.com/classifyd/classifyd/imageprep"
	"github.com/classifyd/classifyd/internal/budget"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxBodyBytes   = 20 << 20
	DefaultMaxPixels      = imageprep.DefaultMaxPixels
	DefaultRequestTimeout = 30 * time.Second
	DefaultURLTimeout     = 10 * time.Second
	DefaultMaxRedirects   = 3
	DefaultQueueTimeout   = 10 * time.Second
	// DefaultMemoryBudget is the budget of a handler whose Options give
	// none (classifyd derives its default from the machine instead).
	DefaultMemoryBudget = 1 << 30
)

// Options configure the handler returned by New. The zero value serves the
// given classifiers with the default limits, no rate limit, no API keys,
// and path and URL inputs refused.
type Options struct {
	Classifiers    []*classify.Classifier // every configured model, loaded or failed
	Logger         *slog.Logger           // nil = discard
	MaxBodyBytes   int64                  // default 20 MiB → 413
	MaxPixels      int                    // default 40e6 → 413 (checked from the header before decoding)
	RequestTimeout time.Duration          // default 30s → 504
	RateLimit      float64                // requests/s per client IP; 0 = off → 429 with Retry-After
	RateBurst      int                    // bucket size; 0 = ceil(RateLimit)
	ImageRoot      string                 // "" = {"path": ...} inputs refused (403)
	URLInputs      bool                   // {"url": ...} inputs allowed
	URLAllowHosts  []string               // hosts/CIDRs allowed even when loopback/private/link-local
	MaxURLBytes    int64                  // default = MaxBodyBytes
	URLTimeout     time.Duration          // default 10s
	MaxRedirects   int                    // default 3; negative = no redirects
	APIKeys        []string               // non-empty: /v1/* needs "Authorization: Bearer K" or "X-API-Key: K" → 401
	Registry       *prometheus.Registry   // nil = a new one (with Go and process collectors)
	Now            func() time.Time       // injected clock (rate limiter, durations); nil = time.Now
	// MaxConcurrent caps the classify requests decoding an image or
	// running models at once (0 = 2×GOMAXPROCS). The work is CPU-bound, so
	// more at once only adds memory (each holds a decoded image); the
	// others wait for a slot within their request timeout (504).
	MaxConcurrent int
	// TrustedProxies are the proxy addresses/CIDRs whose X-Forwarded-For
	// is believed when finding the client IP; nil trusts none, so a client
	// cannot pick its own rate-limit bucket.
	TrustedProxies []string
	// MemoryBudget caps the bytes all classify requests hold at once:
	// bodies, fetched and stored images, decoded pixels and model inputs,
	// each reserved before it is allocated (0 = DefaultMemoryBudget). A
	// request that cannot reserve within QueueTimeout gets 503 with
	// Retry-After; one that needs more than the whole budget gets 413.
	MemoryBudget int64
	// QueueTimeout bounds how long a request waits for memory or for a
	// worker slot before it is refused as overloaded (default 10s).
	QueueTimeout time.Duration
}

// server holds the wired dependencies of one handler. It is immutable after
// New, apart from its internally synchronised limiter and metrics, so it is
// safe for concurrent use.
type server struct {
	o        Options
	log      *slog.Logger
	now      func() time.Time
	byName   map[string]*classify.Classifier
	ready    []*classify.Classifier // the default set of a request, manifest order
	root     *os.Root               // nil = path inputs refused
	fetch    *fetcher               // nil = URL inputs refused
	limiter  *clientLimiter         // nil = no rate limit
	budget   *budget.Budget         // memory all classify requests share
	slots    chan struct{}          // semaphore of MaxConcurrent
	keys     [][sha256.Size]byte    // hashed so comparison time does not depend on key length
	metrics  *metrics
	registry *prometheus.Registry
}

// New returns the service's HTTP handler: the API under /v1, health and
// readiness, Prometheus metrics and the HTML form. It fails only on a
// configuration that cannot work (duplicate model names, an image root that
// cannot be opened, a bad allow-list entry). The handler is safe for
// concurrent use; it does not close the classifiers' models.
func New(o Options) (http.Handler, error) {
	s := &server{o: o, log: o.Logger, now: o.Now, byName: map[string]*classify.Classifier{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.o.MaxBodyBytes <= 0 {
		s.o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.o.MaxPixels <= 0 {
		s.o.MaxPixels = DefaultMaxPixels
	}
	if s.o.RequestTimeout <= 0 {
		s.o.RequestTimeout = DefaultRequestTimeout
	}
	if s.o.MaxURLBytes <= 0 {
		s.o.MaxURLBytes = s.o.MaxBodyBytes
	}
	if s.o.URLTimeout <= 0 {
		s.o.URLTimeout = DefaultURLTimeout
	}
	if s.o.MaxConcurrent <= 0 {
		s.o.MaxConcurrent = 2 * runtime.GOMAXPROCS(0)
	}
	if s.o.MemoryBudget <= 0 {
		s.o.MemoryBudget = DefaultMemoryBudget
	}
	if s.o.QueueTimeout <= 0 {
		s.o.QueueTimeout = DefaultQueueTimeout
	}
	s.budget = budget.New(s.o.MemoryBudget)
	s.slots = make(chan struct{}, s.o.MaxConcurrent)
	switch {
	case s.o.MaxRedirects == 0:
		s.o.MaxRedirects = DefaultMaxRedirects
	case s.o.MaxRedirects < 0:
		s.o.MaxRedirects = 0
	}
	for _, c := range o.Classifiers {
		if c == nil || c.Name == "" {
			return nil, fmt.Errorf("web: a classifier has no name")
		}
		if s.byName[c.Name] != nil {
			return nil, fmt.Errorf("web: two classifiers named %q", c.Name)
		}
		s.byName[c.Name] = c
		if c.Ready() {
			s.ready = append(s.ready, c)
		}
	}
	if o.ImageRoot != "" {
		root, err := os.OpenRoot(o.ImageRoot)
		if err != nil {
			return nil, fmt.Errorf("web: image root: %w", err)
		}
		s.root = root
	}
	if o.URLInputs {
		f, err := newFetcher(o.URLAllowHosts, s.o.MaxURLBytes, s.o.URLTimeout, s.o.MaxRedirects)
		if err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
		s.fetch = f
	}
	if o.RateLimit > 0 {
		s.limiter = newClientLimiter(o.RateLimit, o.RateBurst)
	} else if o.RateLimit < 0 || math.IsNaN(o.RateLimit) {
		return nil, fmt.Errorf("web: rate limit %v is negative", o.RateLimit)
	}
	for _, k := range o.APIKeys {
		if k = strings.TrimSpace(k); k != "" {
			s.keys = append(s.keys, sha256.Sum256([]byte(k)))
		}
	}
	s.registry = o.Registry
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	m, err := newMetrics(s.registry, o.Registry == nil, s.budget)
	if err != nil {
		return nil, fmt.Errorf("web: metrics: %w", err)
	}
	s.metrics = m
	for _, c := range o.Classifiers {
		v := 0.0
		if c.Ready() {
			v = 1
		}
		m.ready.WithLabelValues(c.Name).Set(v)
	}
	return s.routes()
}

func (s *server) routes() (http.Handler, error) {
	// Gin's mode is process-wide; the service never wants its debug
	// banner and route dump on stdout, which would break JSON logs.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if err := r.SetTrustedProxies(s.o.TrustedProxies); err != nil {
		return nil, fmt.Errorf("web: trusted proxies: %w", err)
	}
	r.Use(s.observe, s.recoverPanic)
	r.NoRoute(func(c *gin.Context) {
		abortWithError(c, fmt.Errorf("%w: %s", api.ErrNotFound, api.Quote(c.Request.URL.Path)))
	})
	r.NoMethod(func(c *gin.Context) {
		abortWithError(c, fmt.Errorf("%w: %s %s", api.ErrMethodNotAllowed, api.Quote(c.Request.Method), api.Quote(c.Request.URL.Path)))
	})

	// get registers a GET route and HEAD beside it, as HTTP expects of
	// every GET resource (probes and monitors often send HEAD).
	get := func(g gin.IRoutes, path string, h ...gin.HandlerFunc) {
		g.GET(path, h...)
		g.HEAD(path, h...)
	}
	get(r, "/healthz", s.healthz)
	get(r, "/readyz", s.readyz)
	get(r, "/metrics", gin.WrapH(promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})))

	v1 := r.Group("/v1", s.authenticate, s.rateLimit)
	get(v1, "/models", s.models)
	v1.POST("/classify", s.timeout, s.classify)

	// The form's page and its assets, each at the top level where the
	// page's relative links expect them.
	form := gin.WrapH(formHandler())
	get(r, "/", form)
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "static/index.html" {
			return err
		}
		get(r, strings.TrimPrefix(p, "static"), form)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: form assets: %w", err)
	}
	return r, nil
}

// maxLogError caps the error of a log line: with the other fields a line
// stays well under 4 KiB, whatever an error quotes.
const maxLogError = 1024

// Context keys of values handlers leave for the request log line.
const (
	ctxKeyModels = "classifyd.models" // map[string]float64: model → inference ms
	ctxKeySource = "classifyd.source" // how the image came: multipart, raw, b64, url, path
)

// observe wraps every request: in-flight gauge, request counter and
// duration by route, and one JSON log line.
func (s *server) observe(c *gin.Context) {
	start := s.now()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	c.Header("X-Content-Type-Options", "nosniff")

	c.Next()

	d := s.now().Sub(start)
	route := c.FullPath()
	if route == "" {
		route = "unmatched" // keeps scanners' random paths out of the label set
	}
	status := c.Writer.Status()
	s.metrics.requests.WithLabelValues(route, methodLabel(c.Request.Method), strconv.Itoa(status)).Inc()
	s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())

	attrs := []any{
		"method", api.Truncate(c.Request.Method, api.MaxQuoted),
		"route", route,
		"path", api.Truncate(c.Request.URL.Path, api.MaxQuoted),
		"status", status,
		"bytes", max(c.Writer.Size(), 0),
		"client", c.ClientIP(),
		"duration_ms", ms(d),
	}
	if v, ok := c.Get(ctxKeySource); ok {
		attrs = append(attrs, "source", v)
	}
	if v, ok := c.Get(ctxKeyModels); ok {
		attrs = append(attrs, "models", v)
	}
	level := slog.LevelInfo
	if v, ok := c.Get(ctxKeyErr); ok {
		attrs = append(attrs, "error", api.Truncate(fmt.Sprint(v), maxLogError))
	}
	switch {
	case status == api.StatusClientClosed:
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		// An upstream that failed, a busy server, a slow request: worth
		// watching, not a fault of the service.
		level = slog.LevelWarn
	case status >= 500:
		level = slog.LevelError
	}
	s.log.Log(c.Request.Context(), level, "request", attrs...)
}

// recoverPanic turns a panic in a handler into a logged 500 JSON answer, so
// one bad request never takes the process down.
func (s *server) recoverPanic(c *gin.Context) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler {
			panic(p) // net/http's way to abort a response; it handles it
		}
		s.log.Error("panic", "path", api.Truncate(c.Request.URL.Path, api.MaxQuoted), "panic", api.Truncate(fmt.Sprint(p), maxLogError), "stack", string(debug.Stack()))
		err := fmt.Errorf("panic: %v", p)
		if c.Writer.Written() {
			c.Set(ctxKeyErr, err)
			c.Abort()
			return
		}
		abortWithError(c, err)
	}()
	c.Next()
}

// authenticate requires one of the configured API keys on /v1/*.
func (s *server) authenticate(c *gin.Context) {
	if len(s.keys) == 0 {
		return
	}
	key := c.GetHeader("X-API-Key")
	if auth := c.GetHeader("Authorization"); key == "" && len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		key = strings.TrimSpace(auth[7:])
	}
	if key != "" {
		h := sha256.Sum256([]byte(key))
		ok := 0
		for _, k := range s.keys {
			ok |= subtle.ConstantTimeCompare(h[:], k[:])
		}
		if ok == 1 {
			return
		}
	}
	c.Header("WWW-Authenticate", `Bearer realm="classifyd"`)
	abortWithError(c, fmt.Errorf("%w: send \"Authorization: Bearer KEY\" or \"X-API-Key: KEY\"", api.ErrUnauthorized))
}

// rateLimit applies the per-client-IP token bucket on /v1/*.
func (s *server) rateLimit(c *gin.Context) {
	if s.limiter == nil {
		return
	}
	ok, wait := s.limiter.allow(c.ClientIP(), s.now())
	if ok {
		return
	}
	secs := int(math.Ceil(wait.Seconds()))
	c.Header("Retry-After", strconv.Itoa(max(secs, 1)))
	abortWithError(c, fmt.Errorf("%w: retry in %s", api.ErrRateLimited, wait.Round(time.Millisecond)))
}

// methodLabel keeps client-chosen method names out of the metric labels,
// whose every distinct value is a new time series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func ms(d time.Duration) float64 { return api.Milliseconds(d) }
