package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hookline/hookline/store"
	"github.com/jackc/pgx/v5/pgxpool"
)

// soak samples, during a long run at a steady rate (--duration), what the
// bounded-storage issue asks to see: the database's size over time while
// partitions past a short retention (--retention) are dropped, and the
// ingest rate around each drop. Per second it keeps the messages accepted
// and the slowest API call; every --sample it reads the database's size.
type soak struct {
	every time.Duration
	start time.Time

	mu      sync.Mutex
	perSec  []int64         // accepted in second i (guarded by mu)
	slowest []time.Duration // slowest accept in second i (guarded by mu)
	samples []soakSample    // guarded by mu

	accepted atomic.Int64
}

type soakSample struct {
	AtSec         int     `json:"atSec"`
	DBMiB         float64 `json:"dbMiB"`
	TablesMiB     float64 `json:"partitionedTablesMiB"`
	Partitions    int     `json:"partitions"`
	Messages      int64   `json:"messagesEstimate"`
	Dropped       int     `json:"partitionsDroppedSoFar"`
	IngestPerSec  float64 `json:"ingestPerSec"` // over the interval since the previous sample
	SlowestCallMs float64 `json:"slowestApiCallMs"`
}

// soakReport is the soak's part of the report.
type soakReport struct {
	Retention string       `json:"retention"`
	Partition string       `json:"partition"`
	Samples   []soakSample `json:"samples"`
	// Ingest per second over the whole run, and in the seconds in which a
	// partition was dropped (and the one after).
	IngestMedian, IngestMin         float64
	DropSeconds                     int
	IngestDropMean, IngestDropMin   float64
	SlowestMedianMs, SlowestDropMax float64
	SlowestMaxMs                    float64
}

func newSoak(every time.Duration, start time.Time) *soak {
	return &soak{every: every, start: start}
}

// observe records one accepted message whose call took d.
func (s *soak) observe(at time.Time, d time.Duration) {
	sec := int(at.Sub(s.start) / time.Second)
	s.mu.Lock()
	for len(s.perSec) <= sec {
		s.perSec = append(s.perSec, 0)
		s.slowest = append(s.slowest, 0)
	}
	s.perSec[sec]++
	if d > s.slowest[sec] {
		s.slowest[sec] = d
	}
	s.mu.Unlock()
	s.accepted.Add(1)
}

// run samples the database every s.every until ctx ends, and prints each
// sample to w as it is taken.
func (s *soak) run(ctx context.Context, st *store.Store, db *pgxpool.Pool, w io.Writer) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	var lastAt time.Time
	var lastN int64
	take := func() {
		now := time.Now()
		smp := soakSample{AtSec: int(now.Sub(s.start).Seconds())}
		var dbBytes int64
		_ = db.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&dbBytes)
		smp.DBMiB = float64(dbBytes) / (1 << 20)
		if ps, err := st.Partitions(ctx); err == nil {
			var b int64
			for _, p := range ps {
				b += p.Bytes
				if p.Table == "messages" {
					smp.Messages += max(p.Rows, 0)
				}
			}
			smp.TablesMiB, smp.Partitions = float64(b)/(1<<20), len(ps)
		}
		_ = db.QueryRow(ctx, `SELECT count(*) FROM storage_drops`).Scan(&smp.Dropped)
		n := s.accepted.Load()
		if !lastAt.IsZero() {
			smp.IngestPerSec = float64(n-lastN) / now.Sub(lastAt).Seconds()
		}
		lastAt, lastN = now, n
		s.mu.Lock()
		from := max(0, smp.AtSec-int(s.every/time.Second))
		for i := from; i < len(s.slowest); i++ {
			smp.SlowestCallMs = max(smp.SlowestCallMs, float64(s.slowest[i])/1e6)
		}
		s.samples = append(s.samples, smp)
		s.mu.Unlock()
		fmt.Fprintf(w, "\nsoak t=%ds db %.0f MiB, partitioned tables %.0f MiB in %d partitions, ~%d messages kept, %d dropped so far, ingest %.0f/s, slowest call %.0f ms\n",
			smp.AtSec, smp.DBMiB, smp.TablesMiB, smp.Partitions, smp.Messages, smp.Dropped, smp.IngestPerSec, smp.SlowestCallMs)
	}
	take()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			take()
		}
	}
}

// report summarises the run; drops are the instants partitions were
// dropped (from storage_drops).
func (s *soak) report(drops []time.Time, retention, partition string, sentUntil time.Time) soakReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := soakReport{Retention: retention, Partition: partition, Samples: slices.Clone(s.samples)}
	// Whole seconds of sending only (the last one is partial).
	n := min(len(s.perSec), int(sentUntil.Sub(s.start)/time.Second))
	if n <= 1 {
		return r
	}
	rates := make([]float64, 0, n)
	slow := make([]float64, 0, n)
	for i := 1; i < n; i++ { // second 0 is the ramp-up
		rates = append(rates, float64(s.perSec[i]))
		slow = append(slow, float64(s.slowest[i])/1e6)
	}
	r.IngestMedian, r.IngestMin = median(rates), slices.Min(rates)
	r.SlowestMedianMs, r.SlowestMaxMs = median(slow), slices.Max(slow)
	inDrop := map[int]bool{}
	for _, d := range drops {
		sec := int(d.Sub(s.start) / time.Second)
		for _, i := range []int{sec, sec + 1} {
			if i >= 1 && i < n {
				inDrop[i] = true
			}
		}
	}
	r.DropSeconds = len(inDrop)
	if len(inDrop) > 0 {
		var sum float64
		r.IngestDropMin = -1
		for i := range inDrop {
			v := float64(s.perSec[i])
			sum += v
			if r.IngestDropMin < 0 || v < r.IngestDropMin {
				r.IngestDropMin = v
			}
			r.SlowestDropMax = max(r.SlowestDropMax, float64(s.slowest[i])/1e6)
		}
		r.IngestDropMean = sum / float64(len(inDrop))
	}
	return r
}

func median(v []float64) float64 {
	c := slices.Clone(v)
	slices.Sort(c)
	return c[len(c)/2]
}

func (r soakReport) print(w io.Writer) {
	fmt.Fprintf(w, "\nsoak: retention %s, partitions of %s\n", r.Retention, r.Partition)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "t (min)\tdatabase MiB\tpartitioned tables MiB\tpartitions\tmessages kept (est.)\tdropped so far\tingest /s\tslowest call ms\t")
	for _, s := range r.Samples {
		fmt.Fprintf(tw, "%.1f\t%.0f\t%.0f\t%d\t%d\t%d\t%.0f\t%.0f\t\n", float64(s.AtSec)/60, s.DBMiB, s.TablesMiB, s.Partitions, s.Messages, s.Dropped, s.IngestPerSec, s.SlowestCallMs)
	}
	tw.Flush()
	fmt.Fprintf(w, "ingest per second: median %.0f, min %.0f; in the %d seconds with a drop (and the next): mean %.0f, min %.0f\n",
		r.IngestMedian, r.IngestMin, r.DropSeconds, r.IngestDropMean, r.IngestDropMin)
	fmt.Fprintf(w, "slowest API call per second: median %.1f ms, max %.1f ms; max in the seconds with a drop %.1f ms\n",
		r.SlowestMedianMs, r.SlowestMaxMs, r.SlowestDropMax)
}
