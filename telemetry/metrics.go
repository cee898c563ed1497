package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every Prometheus collector of one process, on a registry
// of its own (no global registry), so tests can build as many as they like.
// Labels never carry unbounded values: no tenant, endpoint or message ids
// (per-tenant figures belong to the usage API). Safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	deliveries       *prometheus.CounterVec
	receiverDuration prometheus.Histogram
	e2eLatency       prometheus.Histogram
	reenqueued       prometheus.Counter
	billingReports   *prometheus.CounterVec
}

// latencyBuckets suit both API calls and webhook round trips: 1 ms to 30 s.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics registers Hookline's collectors, plus the Go runtime's and the
// process's.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookline_http_requests_total",
			Help: "API requests served, by route template, method and status class (2xx, 4xx, 5xx).",
		}, []string{"route", "method", "status_class"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookline_http_request_duration_seconds",
			Help:    "API request latency, by route template and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookline_deliveries_total",
			Help: "Delivery attempts by outcome (success, http_error, timeout, connection_error, ssrf_blocked), and deliveries postponed without an attempt (throttled, circuit_open).",
		}, []string{"outcome"}),
		receiverDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookline_receiver_response_seconds",
			Help:    "Time receivers took to answer a webhook (or to fail), per attempt.",
			Buckets: latencyBuckets,
		}),
		e2eLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookline_delivery_latency_seconds",
			Help:    "From a message's acceptance by the API to its first successful delivery to an endpoint.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600},
		}),
		reenqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookline_sweeper_reenqueued_total",
			Help: "Deliveries the outbox sweeper found missing from Redis and enqueued again.",
		}),
		billingReports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookline_billing_reports_total",
			Help: "Usage reports to Stripe, by result (sent, failed).",
		}, []string{"result"}),
	}
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.deliveries, m.receiverDuration, m.e2eLatency,
		m.reenqueued, m.billingReports,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Outcomes exist from the start, so rates are 0 rather than absent.
	for _, o := range []string{"success", "http_error", "timeout", "connection_error", "ssrf_blocked", "throttled", "circuit_open"} {
		m.deliveries.WithLabelValues(o)
	}
	for _, r := range []string{"sent", "failed"} {
		m.billingReports.WithLabelValues(r)
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Register adds collectors of other parts (queue depth, outbox size).
func (m *Metrics) Register(cs ...prometheus.Collector) {
	m.reg.MustRegister(cs...)
}

// ObserveRequest counts one API request. route is the route template
// ("/api/v1/app/:app_id"), never the concrete path.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, method, statusClass(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// Attempted counts one delivery attempt (the worker's Observer).
func (m *Metrics) Attempted(outcome string, _ int, d time.Duration, firstSuccess time.Duration) {
	m.deliveries.WithLabelValues(outcome).Inc()
	m.receiverDuration.Observe(d.Seconds())
	if firstSuccess > 0 {
		m.e2eLatency.Observe(firstSuccess.Seconds())
	}
}

// Postponed counts a delivery that waits without an attempt.
func (m *Metrics) Postponed(outcome string) { m.deliveries.WithLabelValues(outcome).Inc() }

// Reenqueued counts deliveries the sweeper restored.
func (m *Metrics) Reenqueued(n int) { m.reenqueued.Add(float64(n)) }

// BillingReported counts one usage report to Stripe.
func (m *Metrics) BillingReported(ok bool) {
	if ok {
		m.billingReports.WithLabelValues("sent").Inc()
	} else {
		m.billingReports.WithLabelValues("failed").Inc()
	}
}
