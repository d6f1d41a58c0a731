package web

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/classifyd/classifyd/internal/budget"
)

// metrics are the service's Prometheus collectors, registered on one
// registry per handler so that tests (and several handlers in one process)
// do not collide.
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	inference *prometheus.HistogramVec
	decode    prometheus.Histogram
	ready     *prometheus.GaugeVec
	// budgetWaits counts reservations that failed: the server was busy
	// (503) or a request needed more than the whole budget (413).
	budgetWaits prometheus.Counter
}

// latencyBuckets span a fast colour model (well under a millisecond) to a
// large graph on a busy machine (seconds).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newMetrics(reg *prometheus.Registry, fresh bool, b *budget.Budget) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "classifyd_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "classifyd_http_request_duration_seconds",
			Help:    "HTTP request duration by route.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "classifyd_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		inference: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "classifyd_inference_duration_seconds",
			Help:    "Model inference latency (one image), by model.",
			Buckets: latencyBuckets,
		}, []string{"model"}),
		decode: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "classifyd_image_decode_duration_seconds",
			Help:    "Time to decode and prepare one model's input from an uploaded image.",
			Buckets: latencyBuckets,
		}),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "classifyd_model_ready",
			Help: "1 if the model loaded and serves, 0 if it failed to load.",
		}, []string{"model"}),
	}
	m.budgetWaits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "classifyd_memory_reservations_failed_total",
		Help: "Memory reservations refused: budget busy past queue_timeout (503) or more than the whole budget (413).",
	})
	budgetTotal := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "classifyd_memory_budget_bytes",
		Help: "The memory budget of classify requests (memory_budget).",
	}, func() float64 { return float64(b.Total()) })
	budgetUsed := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "classifyd_memory_reserved_bytes",
		Help: "Bytes of the memory budget reserved by requests now.",
	}, func() float64 { return float64(b.InUse()) })
	cs := []prometheus.Collector{m.requests, m.duration, m.inFlight, m.inference, m.decode, m.ready, m.budgetWaits, budgetTotal, budgetUsed}
	if fresh {
		// Only a registry we made ourselves gets the runtime collectors;
		// a caller's registry may have them already.
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
