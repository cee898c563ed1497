package telemetry

import (
	"context"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueCollector reports each asynq queue's task counts by state and the
// age of its oldest pending task, read through asynq's Inspector at scrape
// time.
type QueueCollector struct {
	inspector *asynq.Inspector
	queues    func() []string
	tasks     *prometheus.Desc
	latency   *prometheus.Desc
}

// NewQueueCollector reports the queues queues() names.
func NewQueueCollector(inspector *asynq.Inspector, queues func() []string) *QueueCollector {
	return &QueueCollector{
		inspector: inspector, queues: queues,
		tasks: prometheus.NewDesc("hookline_queue_tasks", "Tasks in each asynq queue, by state.",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("hookline_queue_oldest_task_age_seconds", "Age of the oldest pending task in each queue (0 when empty).",
			[]string{"queue"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tasks
	ch <- c.latency
}

// Collect implements prometheus.Collector. A queue Redis cannot describe is
// skipped (the scrape still succeeds; redis errors show in readyz).
func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.queues() {
		info, err := c.inspector.GetQueueInfo(q)
		if err != nil {
			continue
		}
		for state, n := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed,
		} {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
	}
}

// CachedGauge is a gauge whose value comes from a function that may be
// expensive (a COUNT in PostgreSQL): it is re-read at most once per ttl.
type CachedGauge struct {
	desc *prometheus.Desc
	ttl  time.Duration
	read func(context.Context) (float64, error)

	mu    sync.Mutex
	value float64   // guarded by mu
	at    time.Time // guarded by mu
}

// NewCachedGauge returns a gauge named name.
func NewCachedGauge(name, help string, ttl time.Duration, read func(context.Context) (float64, error)) *CachedGauge {
	return &CachedGauge{desc: prometheus.NewDesc(name, help, nil, nil), ttl: ttl, read: read}
}

// Describe implements prometheus.Collector.
func (g *CachedGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *CachedGauge) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.at) >= g.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, err := g.read(ctx)
		cancel()
		if err != nil {
			return
		}
		g.value, g.at = v, time.Now()
	}
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.value)
}
