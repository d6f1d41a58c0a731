package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is everything classifyd can be told. It is filled from defaults,
// then the YAML file (--config), then CLASSIFYD_* environment variables,
// then command-line flags: a later source overrides an earlier one, field by
// field. classifyd.example.yaml documents every field.
type Config struct {
	Addr            string        `yaml:"addr"`
	Models          string        `yaml:"models"`
	Engine          string        `yaml:"engine"`
	Threads         int           `yaml:"threads"`
	LogLevel        string        `yaml:"log_level"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	MaxPixels       int           `yaml:"max_pixels"`
	RequestTimeout  time.Duration `yaml:"request_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	MaxConcurrent   int           `yaml:"max_concurrent"`
	RateLimit       float64       `yaml:"rate_limit"`
	RateBurst       int           `yaml:"rate_burst"`
	ImageRoot       string        `yaml:"image_root"`
	URLInputs       bool          `yaml:"url_inputs"`
	URLAllowHosts   []string      `yaml:"url_allow_hosts"`
	MaxURLBytes     int64         `yaml:"max_url_bytes"`
	URLTimeout      time.Duration `yaml:"url_timeout"`
	MaxRedirects    int           `yaml:"max_redirects"`
	APIKeys         []string      `yaml:"api_keys"`
	TrustedProxies  []string      `yaml:"trusted_proxies"`
	MemoryBudget    int64         `yaml:"memory_budget"`
	QueueTimeout    time.Duration `yaml:"queue_timeout"`
}

// DefaultConfig works from a fresh clone, run from the repository root.
func DefaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		Models:          "models/models.yaml",
		Engine:          "go",
		LogLevel:        "info",
		MaxBodyBytes:    20 << 20,
		MaxPixels:       40_000_000,
		RequestTimeout:  30 * time.Second,
		ShutdownTimeout: 30 * time.Second,
		URLTimeout:      10 * time.Second,
		MaxRedirects:    3,
		QueueTimeout:    10 * time.Second,
	}
}

// setting is one configuration knob: its flag name (the environment
// variable is CLASSIFYD_ plus the name in upper snake case), usage and how
// to parse it into a Config.
type setting struct {
	name  string
	usage string
	set   func(c *Config, v string) error
}

// boolFlags may stand alone on the command line (--url-inputs).
var boolFlags = map[string]bool{"url-inputs": true}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func list(p func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*p(c) = out
		return nil
	}
}

func integer[T int | int64](p func(*Config) *T) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", v)
		}
		*p(c) = T(n)
		return nil
	}
}

func duration(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("not a duration (like 30s): %q", v)
		}
		*p(c) = d
		return nil
	}
}

var settings = []setting{
	{"addr", "listen address (host:port)", str(func(c *Config) *string { return &c.Addr })},
	{"models", "model manifest (YAML); its relative paths resolve against its directory", str(func(c *Config) *string { return &c.Models })},
	{"engine", "engine for models whose manifest entry names none (go, tensorflow)", str(func(c *Config) *string { return &c.Engine })},
	{"threads", "goroutines one model run may use (0 = GOMAXPROCS)", integer(func(c *Config) *int { return &c.Threads })},
	{"log-level", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
	{"max-body-bytes", "largest request body (413 beyond)", integer(func(c *Config) *int64 { return &c.MaxBodyBytes })},
	{"max-pixels", "largest image in pixels, checked from its header before decoding (413 beyond)", integer(func(c *Config) *int { return &c.MaxPixels })},
	{"request-timeout", "time limit of one classify request (504 beyond)", duration(func(c *Config) *time.Duration { return &c.RequestTimeout })},
	{"shutdown-timeout", "how long in-flight requests may take to finish on SIGINT/SIGTERM", duration(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"max-concurrent", "classify requests decoding or running models at once; others wait (0 = 2×GOMAXPROCS)", integer(func(c *Config) *int { return &c.MaxConcurrent })},
	{"rate-limit", "requests per second per client IP on /v1/* (0 = off; 429 beyond)", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", v)
		}
		c.RateLimit = f
		return nil
	}},
	{"rate-burst", "requests a client may send at once before the rate applies (0 = ceil(rate-limit))", integer(func(c *Config) *int { return &c.RateBurst })},
	{"image-root", `directory that {"path": ...} inputs are read from ("" = path inputs refused)`, str(func(c *Config) *string { return &c.ImageRoot })},
	{"url-inputs", `allow {"url": ...} inputs (true/false)`, func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("not a boolean: %q", v)
		}
		c.URLInputs = b
		return nil
	}},
	{"url-allow-hosts", "comma-separated hosts, IPs or CIDRs that URL inputs may reach even if loopback/private/link-local", list(func(c *Config) *[]string { return &c.URLAllowHosts })},
	{"max-url-bytes", "largest image fetched from a URL (0 = max-body-bytes)", integer(func(c *Config) *int64 { return &c.MaxURLBytes })},
	{"url-timeout", "time limit of one URL fetch", duration(func(c *Config) *time.Duration { return &c.URLTimeout })},
	{"max-redirects", "redirects a URL fetch follows", integer(func(c *Config) *int { return &c.MaxRedirects })},
	{"api-keys", "comma-separated API keys; when set, /v1/* needs one (prefer the file or the environment: flags show in ps)", list(func(c *Config) *[]string { return &c.APIKeys })},
	{"trusted-proxies", "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed", list(func(c *Config) *[]string { return &c.TrustedProxies })},
	{"memory-budget", "bytes all classify requests may hold at once (bodies, pixels, tensors); 0 = a quarter of the cgroup memory limit or of RAM", integer(func(c *Config) *int64 { return &c.MemoryBudget })},
	{"queue-timeout", "how long a request waits for memory or a worker before 503 with Retry-After", duration(func(c *Config) *time.Duration { return &c.QueueTimeout })},
}

func envName(flagName string) string {
	return "CLASSIFYD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// loadConfig builds the configuration from args and the environment
// (getenv), reading the YAML file that --config or CLASSIFYD_CONFIG names.
// It returns flag.ErrHelp for -h.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("classifyd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file (env CLASSIFYD_CONFIG); see classifyd.example.yaml")
	fromFlags := map[string]string{}
	def := DefaultConfig()
	for _, s := range settings {
		usage := fmt.Sprintf("%s (env %s)", s.usage, envName(s.name))
		record := func(v string) error {
			// Validate now so a bad flag is reported as a usage error.
			var scratch Config
			if err := s.set(&scratch, v); err != nil {
				return err
			}
			fromFlags[s.name] = v
			return nil
		}
		if boolFlags[s.name] {
			fs.BoolFunc(s.name, usage, record)
		} else {
			fs.Func(s.name, usage, record)
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: classifyd [flags]\n\nServes the image-classification API and test form. Defaults (addr %s, models %s) work from the repository root.\nPrecedence: flags > CLASSIFYD_* environment > --config file > defaults.\n\n", def.Addr, def.Models)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}

	cfg := def
	path := *configPath
	if path == "" {
		path = getenv("CLASSIFYD_CONFIG")
	}
	if path != "" {
		if err := readConfigFile(path, &cfg); err != nil {
			return Config{}, err
		}
	}
	for _, s := range settings {
		if v, ok := lookup(getenv, envName(s.name)); ok {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", envName(s.name), err)
			}
		}
	}
	for _, s := range settings {
		if v, ok := fromFlags[s.name]; ok {
			if err := s.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("-%s: %w", s.name, err)
			}
		}
	}
	return cfg, cfg.validate()
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func readConfigFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt limit must not silently fall back to its default
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

func (c Config) validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("addr is empty"))
	}
	if c.Models == "" {
		errs = append(errs, errors.New("models is empty"))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q is not debug, info, warn or error", c.LogLevel))
	}
	for name, v := range map[string]float64{
		"max_body_bytes": float64(c.MaxBodyBytes), "max_pixels": float64(c.MaxPixels),
		"rate_limit": c.RateLimit, "rate_burst": float64(c.RateBurst), "threads": float64(c.Threads), "max_concurrent": float64(c.MaxConcurrent),
		"max_url_bytes": float64(c.MaxURLBytes), "request_timeout": float64(c.RequestTimeout),
		"url_timeout": float64(c.URLTimeout), "shutdown_timeout": float64(c.ShutdownTimeout),
		"memory_budget": float64(c.MemoryBudget), "queue_timeout": float64(c.QueueTimeout),
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	return errors.Join(errs...)
}
