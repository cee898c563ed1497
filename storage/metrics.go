package storage

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookline/hookline/tenants"
)

// Collector exposes the partitioned tables' sizes as Prometheus gauges:
// hookline_storage_table_bytes{table}, hookline_storage_partitions{table},
// hookline_storage_oldest_partition_age_seconds{table} (age of the start of
// the oldest slice; the legacy slice counts from the cutover) and
// hookline_storage_default_rows{table} (rows outside every slice, which
// should be 0; counted exactly). It reads the catalog at most once per ttl. It is safe for
// concurrent use.
type Collector struct {
	store Store
	ttl   time.Duration
	now   func() time.Time

	bytes, parts, age, defaults *prometheus.Desc

	mu    sync.Mutex
	at    time.Time // guarded by mu
	cache []prometheus.Metric
}

// NewCollector returns a Collector over store, re-read at most every ttl.
func NewCollector(store Store, ttl time.Duration) *Collector {
	return &Collector{
		store: store, ttl: ttl, now: time.Now,
		bytes:    prometheus.NewDesc("hookline_storage_table_bytes", "Size of a partitioned table, all partitions with indexes and TOAST.", []string{"table"}, nil),
		parts:    prometheus.NewDesc("hookline_storage_partitions", "Partitions of a partitioned table (the DEFAULT one included).", []string{"table"}, nil),
		age:      prometheus.NewDesc("hookline_storage_oldest_partition_age_seconds", "Age of the start of a table's oldest slice of time.", []string{"table"}, nil),
		defaults: prometheus.NewDesc("hookline_storage_default_rows", "Rows in a table's DEFAULT partition (outside every slice; should be 0).", []string{"table"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.bytes
	ch <- c.parts
	ch <- c.age
	ch <- c.defaults
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil || time.Since(c.at) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ms, err := c.read(ctx)
		cancel()
		if err == nil {
			c.cache, c.at = ms, time.Now()
		}
	}
	for _, m := range c.cache {
		ch <- m
	}
}

func (c *Collector) read(ctx context.Context) ([]prometheus.Metric, error) {
	parts, err := c.store.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	cutover, err := c.store.Cutover(ctx)
	if err != nil {
		return nil, err
	}
	// Exact counts for the DEFAULT partitions (they should be empty, so
	// counting is cheap, and an estimate could hide a few strays).
	defaults, err := c.store.DefaultPartitionRows(ctx)
	if err != nil {
		return nil, err
	}
	type agg struct {
		bytes, n, defaults int64
		oldest             time.Time
	}
	by := map[string]*agg{}
	for _, t := range tenants.PartitionedTables {
		by[t] = &agg{}
	}
	for _, p := range parts {
		a := by[p.Table]
		a.bytes += p.Bytes
		a.n++
		if p.Default {
			a.defaults = defaults[p.Table]
			continue
		}
		start := p.Start
		if start.IsZero() {
			start = cutover.Add(-48 * time.Hour) // the legacy slice: from the day of the migration
		}
		if a.oldest.IsZero() || start.Before(a.oldest) {
			a.oldest = start
		}
	}
	now := c.now()
	var out []prometheus.Metric
	for t, a := range by {
		age := 0.0
		if !a.oldest.IsZero() {
			age = now.Sub(a.oldest).Seconds()
		}
		out = append(out,
			prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(a.bytes), t),
			prometheus.MustNewConstMetric(c.parts, prometheus.GaugeValue, float64(a.n), t),
			prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, max(age, 0), t),
			prometheus.MustNewConstMetric(c.defaults, prometheus.GaugeValue, float64(a.defaults), t),
		)
	}
	return out, nil
}
