package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/hookline/hookline/tenants"
)

// TaskMaintain is the asynq task type of the periodic maintenance.
const TaskMaintain = "storage:maintain"

// LeaseName is the lease a maintenance run holds, so that one runs at a
// time across processes.
const LeaseName = "storage-maintain"

// Store is what maintenance reads and changes in PostgreSQL (package
// store implements it).
type Store interface {
	TryLease(ctx context.Context, name string) (tenants.Lease, error)
	Partitions(ctx context.Context) ([]tenants.Partition, error)
	Cutover(ctx context.Context) (time.Time, error)
	CreatePartition(ctx context.Context, table string, start, end time.Time, width time.Duration) (moved int64, err error)
	SliceHoldOf(ctx context.Context, start, end time.Time) (tenants.SliceHold, *time.Time, error)
	DropPartition(ctx context.Context, p tenants.Partition, newest *time.Time) error
	DroppedPartitions(ctx context.Context, limit int) ([]tenants.DroppedPartition, error)
	DefaultPartitionRows(ctx context.Context) (map[string]int64, error)
	LongestRetention(ctx context.Context) (time.Duration, error)
	RetentionPolicy() tenants.RetentionPolicy
	ExpireResponses(ctx context.Context, afterID string, before time.Time, limit int) (seen int, lastID string, err error)
	ExpireDestinationAttempts(ctx context.Context, limit, batches int) (int64, error)
}

// Options shape maintenance. The zero value of every field is the
// production default.
type Options struct {
	// Partition is the slice of time one partition holds (24h). Slices
	// are aligned on multiples of it since the Unix epoch (UTC midnight
	// for whole days). Changing it affects only slices made afterwards.
	Partition time.Duration
	// Ahead is how far past now slices must exist (3 × Partition, at
	// least 3 × Interval): rows beyond the newest slice go to the DEFAULT
	// partition, which works but must be emptied later.
	Ahead time.Duration
	// Interval is how often maintenance runs (the smaller of 10 minutes
	// and a quarter of Partition); it only sizes Ahead here.
	Interval time.Duration
	// ExpireBatch and ExpireBatches bound the response-body expiry of one
	// run: ExpireBatches statements of ExpireBatch attempts (1,000 × 20).
	ExpireBatch, ExpireBatches int
	// Now is the clock (time.Now); tests pass their own instead of
	// sleeping.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Partition <= 0 {
		o.Partition = DefaultPartition
	}
	if o.Interval <= 0 {
		o.Interval = min(10*time.Minute, o.Partition/4)
	}
	if o.Ahead <= 0 {
		o.Ahead = max(3*o.Partition, 3*o.Interval)
	}
	if o.ExpireBatch <= 0 {
		o.ExpireBatch = 1000
	}
	if o.ExpireBatches <= 0 {
		o.ExpireBatches = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// DefaultPartition is the slice of time a zero Options' partitions hold.
const DefaultPartition = 24 * time.Hour

// DefaultInterval returns how often maintenance runs for slices of width
// partition (0: the default width).
func DefaultInterval(partition time.Duration) time.Duration {
	o := Options{Partition: partition}
	o.defaults()
	return o.Interval
}

// Maintainer keeps the partitioned tables bounded: slices exist ahead of
// time, and a slice past retention is dropped once nothing in it is still
// needed. It is safe for concurrent use (runs in one process are
// serialised, runs across processes by a lease). Build it with New.
type Maintainer struct {
	store Store
	log   *slog.Logger
	opts  Options

	mu sync.Mutex
	// responseCursor is the last attempt id whose response body the
	// expiry has dealt with (guarded by mu); "" starts from the oldest.
	responseCursor string
}

// New returns a Maintainer over store. It reads the store's retention
// policy (Store.RetentionPolicy) on every run.
func New(store Store, log *slog.Logger, o Options) *Maintainer {
	o.defaults()
	return &Maintainer{store: store, log: log, opts: o}
}

// Options returns the options in force, defaults filled in.
func (m *Maintainer) Options() Options { return m.opts }

// Hold is a slice past retention that is kept, and why.
type Hold struct {
	Start, End time.Time // Start zero: the legacy slice
	Reason     tenants.SliceHold
}

// Result says what one run did.
type Result struct {
	// Created are the partitions made, Moved the rows they took over from
	// the DEFAULT partitions.
	Created []string
	Moved   int64
	// Dropped are the partitions dropped.
	Dropped []string
	// Held are the slices past retention that had to stay.
	Held []Hold
	// ResponsesSeen is how many attempts the response-body expiry looked
	// at.
	ResponsesSeen int
	// DestinationAttemptsExpired is how many destination attempts were
	// past their tenant's retention and deleted.
	DestinationAttemptsExpired int64
	// Skipped is set when another process held the lease: nothing was done.
	Skipped bool
}

// ErrBusy reports that another process holds the maintenance lease.
var ErrBusy = errors.New("storage maintenance runs in another process")

// Run takes the lease and runs maintenance once: create the slices up to
// now + Ahead, drop the slices past the longest retention that nothing
// holds, expire response bodies past their retention, and delete
// destination attempts past their tenant's retention. When another
// process holds the lease it returns a Result with Skipped set and no
// error. Each step is idempotent; a failed one is logged, the rest still
// run, and the first error is returned.
func (m *Maintainer) Run(ctx context.Context) (Result, error) {
	lease, err := m.store.TryLease(ctx, LeaseName)
	if err != nil {
		return Result{}, err
	}
	if lease == nil {
		return Result{Skipped: true}, nil
	}
	defer lease.Release()
	m.mu.Lock()
	defer m.mu.Unlock()
	var res Result
	now := m.opts.Now().UTC()
	errCreate := m.create(ctx, now, &res)
	errDrop := m.drop(ctx, now, &res)
	errExpire := m.expireResponses(ctx, now, &res)
	var errDest error
	res.DestinationAttemptsExpired, errDest = m.store.ExpireDestinationAttempts(ctx, m.opts.ExpireBatch, m.opts.ExpireBatches)
	for _, p := range res.Created {
		m.log.Info("storage: partition created", "partition", p)
	}
	for _, p := range res.Dropped {
		m.log.Info("storage: partition dropped", "partition", p)
	}
	for _, h := range res.Held {
		m.log.Info("storage: slice past retention kept", "start", h.Start, "end", h.End, "reason", string(h.Reason))
	}
	if res.DestinationAttemptsExpired > 0 {
		m.log.Info("storage: destination attempts past retention deleted", "count", res.DestinationAttemptsExpired)
	}
	return res, errors.Join(errCreate, errDrop, errExpire, errDest)
}

// floor returns t rounded down to a multiple of d since the Unix epoch.
func floor(t time.Time, d time.Duration) time.Time {
	return time.Unix(0, t.UnixNano()-t.UnixNano()%int64(d)).UTC()
}

// create makes each table's slices from the newest existing one (or the
// start of now's slice, if that is later: the gap, if any, is the DEFAULT
// partition's) up to now + Ahead.
func (m *Maintainer) create(ctx context.Context, now time.Time, res *Result) error {
	parts, err := m.store.Partitions(ctx)
	if err != nil {
		return err
	}
	width := m.opts.Partition
	until := now.Add(m.opts.Ahead)
	var errs []error
	for _, table := range tenants.PartitionedTables {
		lo := floor(now, width)
		for _, p := range parts {
			if p.Table == table && !p.Default && p.End.After(lo) {
				lo = p.End
			}
		}
		for lo.Before(until) {
			hi := floor(lo, width).Add(width)
			moved, err := m.store.CreatePartition(ctx, table, lo, hi, width)
			if err != nil {
				errs = append(errs, err)
				break
			}
			res.Created = append(res.Created, tenants.PartitionName(table, lo, width))
			res.Moved += moved
			lo = hi
		}
	}
	return errors.Join(errs...)
}

// slice is one slice of time and its partitions in each table.
type slice struct {
	start, end time.Time
	parts      []tenants.Partition
}

// slices groups the non-default partitions by their bounds, oldest first.
func slices(parts []tenants.Partition) []slice {
	type key struct{ s, e int64 }
	by := map[key]*slice{}
	var out []*slice
	for _, p := range parts {
		if p.Default {
			continue
		}
		k := key{p.Start.UnixNano(), p.End.UnixNano()}
		if p.Start.IsZero() {
			k.s = 0
		}
		s := by[k]
		if s == nil {
			s = &slice{start: p.Start, end: p.End}
			by[k] = s
			out = append(out, s)
		}
		s.parts = append(s.parts, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].end.Before(out[j].end) })
	res := make([]slice, len(out))
	for i, s := range out {
		res[i] = *s
	}
	return res
}

// drop drops the slices whose end is past the longest retention, oldest
// first, unless something holds them.
func (m *Maintainer) drop(ctx context.Context, now time.Time, res *Result) error {
	retention, err := m.store.LongestRetention(ctx)
	if err != nil {
		return err
	}
	parts, err := m.store.Partitions(ctx)
	if err != nil {
		return err
	}
	horizon := now.Add(-retention)
	for _, s := range slices(parts) {
		if s.end.After(horizon) {
			break
		}
		hold, newest, err := m.store.SliceHoldOf(ctx, s.start, s.end)
		if err != nil {
			return err
		}
		if hold != tenants.HoldNone {
			res.Held = append(res.Held, Hold{Start: s.start, End: s.end, Reason: hold})
			continue
		}
		for _, table := range tenants.PartitionedTables {
			for _, p := range s.parts {
				if p.Table != table {
					continue
				}
				if err := m.store.DropPartition(ctx, p, newest); err != nil {
					return err
				}
				res.Dropped = append(res.Dropped, p.Name)
			}
		}
	}
	return nil
}

// expireResponses nulls the response bodies of attempts past the
// policy's response retention, in bounded batches from where the last run
// stopped. Reads already hide them; this frees the space.
func (m *Maintainer) expireResponses(ctx context.Context, now time.Time, res *Result) error {
	rr := m.store.RetentionPolicy().ResponseRetention
	if rr <= 0 {
		return nil
	}
	before := now.Add(-rr)
	for range m.opts.ExpireBatches {
		seen, last, err := m.store.ExpireResponses(ctx, m.responseCursor, before, m.opts.ExpireBatch)
		if err != nil {
			return err
		}
		res.ResponsesSeen += seen
		if last != "" {
			m.responseCursor = last
		}
		if seen < m.opts.ExpireBatch {
			return nil
		}
	}
	return nil
}

// Status is the state of storage as `hookline storage status` prints it.
type Status struct {
	Now time.Time
	// Partitions are every partition, by table then start.
	Partitions []tenants.Partition
	// Retention is the longest retention in force: slices older than
	// now − Retention are dropped.
	Retention time.Duration
	// NextDrop is when the oldest slice passes retention (zero: no
	// slice); OldestSlice is that slice's start (zero: the legacy slice).
	NextDrop    time.Time
	OldestStart time.Time
	// Held are the slices already past retention that must stay for now.
	Held []Hold
	// Dropped are the most recent drops.
	Dropped []tenants.DroppedPartition
	// DefaultRows counts, per table, the rows in its DEFAULT partition
	// (exactly: it should be empty).
	DefaultRows map[string]int64
}

// Status reads the state of storage without changing anything.
func (m *Maintainer) Status(ctx context.Context) (Status, error) {
	now := m.opts.Now().UTC()
	st := Status{Now: now}
	var err error
	if st.Partitions, err = m.store.Partitions(ctx); err != nil {
		return st, err
	}
	if st.Retention, err = m.store.LongestRetention(ctx); err != nil {
		return st, err
	}
	horizon := now.Add(-st.Retention)
	for _, s := range slices(st.Partitions) {
		if st.NextDrop.IsZero() {
			st.NextDrop, st.OldestStart = s.end.Add(st.Retention), s.start
		}
		if s.end.After(horizon) {
			break
		}
		hold, _, err := m.store.SliceHoldOf(ctx, s.start, s.end)
		if err != nil {
			return st, err
		}
		if hold != tenants.HoldNone {
			st.Held = append(st.Held, Hold{Start: s.start, End: s.end, Reason: hold})
		}
	}
	if st.Dropped, err = m.store.DroppedPartitions(ctx, 10); err != nil {
		return st, err
	}
	if st.DefaultRows, err = m.store.DefaultPartitionRows(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// RunOnce runs maintenance and logs a failure instead of returning it: the
// run at start-up (so a fresh database has its slices before the first
// periodic task) and the periodic task's.
func (m *Maintainer) RunOnce(ctx context.Context) {
	if _, err := m.Run(ctx); err != nil && ctx.Err() == nil {
		m.log.Warn("storage: maintenance failed; the next run retries", "err", err)
	}
}

// String renders a slice's range for logs and the status command.
func (h Hold) String() string {
	if h.Start.IsZero() {
		return fmt.Sprintf("… – %s: %s", h.End.Format(time.RFC3339), h.Reason)
	}
	return fmt.Sprintf("%s – %s: %s", h.Start.Format(time.RFC3339), h.End.Format(time.RFC3339), h.Reason)
}
