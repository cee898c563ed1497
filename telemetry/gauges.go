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

// LaneSnapshot is the delivery lanes at a glance: how many are full with
// deliveries waiting (their receivers held to their limits), how many
// deliveries are parked in them, and the top ones by deliveries waiting.
type LaneSnapshot struct {
	Throttled, Parked int
	Top               []LaneTop
}

// LaneTop is one of the fullest lanes.
type LaneTop struct {
	TenantID, EndpointID     string
	InFlight, Waiting, Limit int
}

// LaneCollector reports the lanes' snapshot at scrape time. Per-endpoint
// series are only the top few lanes (the snapshot's Top), so that the
// metric's cardinality stays bounded however many endpoints there are.
type LaneCollector struct {
	read                        func(context.Context) (LaneSnapshot, error)
	throttled, parked           *prometheus.Desc
	waiting, inFlight, limitDsc *prometheus.Desc
}

// NewLaneCollector reports what read returns.
func NewLaneCollector(read func(context.Context) (LaneSnapshot, error)) *LaneCollector {
	labels := []string{"tenant", "endpoint"}
	return &LaneCollector{
		read: read,
		throttled: prometheus.NewDesc("hookline_lanes_throttled",
			"Endpoint lanes full with deliveries waiting: receivers held to the attempts in flight they can take.", nil, nil),
		parked: prometheus.NewDesc("hookline_lanes_parked_deliveries",
			"Deliveries waiting in full lanes for a slot of their endpoint.", nil, nil),
		waiting: prometheus.NewDesc("hookline_lane_waiting_deliveries",
			"Deliveries waiting in one of the fullest lanes (the top 10 only).", labels, nil),
		inFlight: prometheus.NewDesc("hookline_lane_attempts_in_flight",
			"Attempts in flight to one of the fullest lanes' endpoints (the top 10 only).", labels, nil),
		limitDsc: prometheus.NewDesc("hookline_lane_limit",
			"The attempts in flight one of the fullest lanes allows now (the top 10 only).", labels, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *LaneCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.throttled, c.parked, c.waiting, c.inFlight, c.limitDsc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Lanes Redis cannot describe are
// skipped (the scrape still succeeds; Redis errors show in readyz).
func (c *LaneCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.read(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.throttled, prometheus.GaugeValue, float64(s.Throttled))
	ch <- prometheus.MustNewConstMetric(c.parked, prometheus.GaugeValue, float64(s.Parked))
	for _, l := range s.Top {
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(l.Waiting), l.TenantID, l.EndpointID)
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(l.InFlight), l.TenantID, l.EndpointID)
		ch <- prometheus.MustNewConstMetric(c.limitDsc, prometheus.GaugeValue, float64(l.Limit), l.TenantID, l.EndpointID)
	}
}
