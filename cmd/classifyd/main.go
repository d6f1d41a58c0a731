// Command classifyd serves the image-classification API (/v1/classify,
// /v1/models), health, readiness, Prometheus metrics and the HTML test form.
//
//	classifyd [--config classifyd.yaml] [--addr 127.0.0.1:8080] [--models models/models.yaml] ...
//
// Configuration comes from a YAML file, CLASSIFYD_* environment variables
// and flags (flags win, then the environment, then the file); the defaults
// work from the repository root of a fresh clone. Models load concurrently
// at start; one that fails is logged and reported by /v1/models and /readyz
// while the others serve. SIGINT or SIGTERM stops accepting connections and
// lets in-flight requests finish (up to --shutdown-timeout).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/classifyd/classifyd/classify"
	_ "github.com/classifyd/classifyd/classify/engines" // links the engines
	"github.com/classifyd/classifyd/classify/manifest"
	"github.com/classifyd/classifyd/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	if err := m.ParseFlags(ctx, os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "classifyd:", err)
		os.Exit(2)
	}
	if err := m.Run(ctx); err != nil {
		m.Logger.Error("start failed", "error", err.Error())
		m.Close()
		os.Exit(1)
	}
	<-ctx.Done()
	stop() // a second signal now kills the process the default way
	m.Logger.Info("shutting down", "timeout", m.Config.ShutdownTimeout.String())
	if err := m.Close(); err != nil {
		m.Logger.Error("shutdown", "error", err.Error())
		os.Exit(1)
	}
}

// Main is the program: its configuration and the resources Run opens and
// Close releases. Its methods are not safe for concurrent use.
type Main struct {
	Config Config
	Logger *slog.Logger

	// Stderr receives the JSON logs; Getenv reads the environment. Both
	// are fields so tests can run Main in-process.
	Stderr io.Writer
	Getenv func(string) string

	classifiers []*classify.Classifier
	server      *http.Server
	listener    net.Listener
	serveErr    chan error
}

// NewMain returns a Main with the default configuration, logging to stderr.
func NewMain() *Main {
	m := &Main{Config: DefaultConfig(), Stderr: os.Stderr, Getenv: os.Getenv}
	m.Logger = newLogger(m.Stderr, m.Config.LogLevel)
	return m
}

// ParseFlags fills Config from args, the environment and the config file.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	cfg, err := loadConfig(args, m.Getenv, m.Stderr)
	if err != nil {
		return err
	}
	m.Config = cfg
	m.Logger = newLogger(m.Stderr, cfg.LogLevel)
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// Run loads the models, opens the listener and starts serving in the
// background; it returns once requests are being accepted. Models that fail
// to load do not make Run fail; a manifest that cannot be read, or an
// address that cannot be bound, does.
func (m *Main) Run(ctx context.Context) error {
	c := m.Config
	man, err := manifest.Read(c.Models)
	if err != nil {
		return err
	}
	start := time.Now()
	m.classifiers = manifest.Load(ctx, man, manifest.LoadOptions{Engine: c.Engine, Threads: c.Threads, Logger: m.Logger})
	var ready, failed []string
	for _, cl := range m.classifiers {
		if cl.Ready() {
			ready = append(ready, cl.Name)
		} else {
			failed = append(failed, cl.Name)
		}
	}
	m.Logger.Info("models loaded", "ready", ready, "failed", failed, "duration_ms", float64(time.Since(start).Microseconds())/1000)
	if len(ready) == 0 {
		m.Logger.Warn("no model loaded: /v1/classify will answer 503 until the manifest is fixed and classifyd restarted")
	}

	budget, source := c.MemoryBudget, "configured"
	if budget == 0 {
		budget, source = defaultMemoryBudget(os.ReadFile)
	}
	soft := setSoftMemoryLimit(budget, m.Getenv)
	m.Logger.Info("memory budget", "bytes", budget, "mib", budget>>20, "source", source, "soft_memory_limit_mib", soft>>20)

	h, err := web.New(web.Options{
		Classifiers:    m.classifiers,
		Logger:         m.Logger,
		MaxBodyBytes:   c.MaxBodyBytes,
		MaxPixels:      c.MaxPixels,
		RequestTimeout: c.RequestTimeout,
		MaxConcurrent:  c.MaxConcurrent,
		RateLimit:      c.RateLimit,
		RateBurst:      c.RateBurst,
		ImageRoot:      c.ImageRoot,
		URLInputs:      c.URLInputs,
		URLAllowHosts:  c.URLAllowHosts,
		MaxURLBytes:    c.MaxURLBytes,
		URLTimeout:     c.URLTimeout,
		MaxRedirects:   c.MaxRedirects,
		APIKeys:        c.APIKeys,
		TrustedProxies: c.TrustedProxies,
		MemoryBudget:   budget,
		QueueTimeout:   c.QueueTimeout,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.listener = ln
	m.server = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies are bounded per request by the classify handler's own
		// deadline; these outer bounds catch everything else.
		ReadTimeout:    c.RequestTimeout + 10*time.Second,
		WriteTimeout:   c.RequestTimeout + 10*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.serveErr = make(chan error, 1)
	go func() { m.serveErr <- m.server.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/"
	if strings.HasPrefix(c.Addr, ":") || strings.HasPrefix(c.Addr, "0.0.0.0:") {
		url = "http://127.0.0.1:" + portOf(ln.Addr()) + "/"
	}
	m.Logger.Info("listening", "addr", ln.Addr().String(), "url", url, "engines", classify.Engines())
	return nil
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// Close stops the server gracefully: no new connections, in-flight requests
// finish (up to ShutdownTimeout), then the models are closed.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		defer cancel()
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
			m.server.Close()
		}
		if err := <-m.serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
		m.server = nil
	}
	if err := manifest.Close(m.classifiers); err != nil {
		errs = append(errs, err)
	}
	m.classifiers = nil
	return errors.Join(errs...)
}

// Addr is the address the server listens on (after Run).
func (m *Main) Addr() string {
	if m.listener == nil {
		return ""
	}
	return m.listener.Addr().String()
}
