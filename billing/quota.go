package billing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/hookline/hookline/internal/ttlcache"
)

// CheckSend decides whether the tenant may create a message now. It
// returns an error wrapping ErrPaymentRequired (402 payment_required) when
// the tenant's paid plan has been past due longer than the grace period,
// one wrapping ErrQuotaExceeded (429 quota_exceeded) when the tenant's
// billable deliveries this calendar month (UTC) have reached its cap, and
// nil otherwise. Database errors pass through.
//
// The check is cheap: see quotaCache for how it avoids a count per
// request yet never admits a message once usage has reached the cap.
func (s *Service) CheckSend(ctx context.Context, tenantID string) error {
	now := s.now()
	month, next := MonthBounds(now)
	snap, err := s.quota.get(ctx, tenantID, now, month)
	if err != nil {
		return err
	}
	a := snap.acct
	if a.PaymentRequired(now, s.opts.Grace) {
		return paymentRequired(fmt.Sprintf("payment for this account has been past due since %s, beyond the grace period of %s; "+
			"creating messages is paused until the invoice is paid", a.PastDueSince.Format(time.RFC3339), humanDuration(s.opts.Grace)))
	}
	limit := a.Cap()
	if limit == nil {
		return nil
	}
	usage := snap.usage
	if usage < *limit && *limit-usage <= nearMargin(*limit, snap.growth, s.quota.floor) {
		if usage, err = s.quota.recount(ctx, tenantID, month, next); err != nil {
			return err
		}
	}
	if usage >= *limit {
		return quotaExceeded(fmt.Sprintf("the %s plan allows %d deliveries per month and %d have been made since %s; "+
			"new messages are refused until %s or until the plan changes", a.Plan.ID, *limit, usage,
			month.Format("2006-01-02"), next.Format("2006-01-02")))
	}
	return nil
}

// Forget drops the cached quota state of a tenant, so the next check
// reloads it (after a plan or payment change made in this process).
func (s *Service) Forget(tenantID string) { s.quota.forget(tenantID) }

func (s *Service) loadQuota(ctx context.Context, tenantID string, month time.Time) (Account, int64, error) {
	a, err := s.Account(ctx, tenantID)
	if err != nil {
		return Account{}, 0, err
	}
	if a.Cap() == nil {
		return a, 0, nil // usage does not matter
	}
	_, next := MonthBounds(month)
	n, err := s.store.CountUsage(ctx, tenantID, month, next)
	return a, n, err
}

func (s *Service) countMonth(ctx context.Context, tenantID string, month, next time.Time) (int64, error) {
	return s.store.CountUsage(ctx, tenantID, month, next)
}

// quotaSnapshot is what a process knows of a tenant's quota.
type quotaSnapshot struct {
	acct     Account
	month    time.Time // start of the month usage counts
	usage    int64     // billable deliveries this month, as of the last count
	growth   int64     // usage growth between the two last loads
	loadedAt time.Time
}

// quotaCache keeps, per tenant, its account (plan, cap, payment status) and
// its usage this month, so that the check on message creation needs no
// query in the common case. It is safe for concurrent use.
//
// Why this shape: usage is billable deliveries, which succeed in workers,
// not in the API process, so no in-process counter can see them; and a
// COUNT per message would put a query on the ingest path. Instead:
//
//   - A snapshot (account + month usage, the latter being the rolled-up
//     hours plus a live count of the few minutes since the rollup's
//     watermark) is loaded at most once per TTL per tenant per process.
//   - Far from the cap — more than nearMargin(cap, growth, floor) away —
//     the snapshot decides alone. The margin is at least a tenth of the
//     cap, at least the floor, and at least twice the growth seen between
//     the last two loads, so usage cannot plausibly cross the cap before
//     the next load.
//   - Near the cap, every check recounts (one index range scan over the
//     minutes since the watermark; concurrent checks of one tenant share
//     one count through singleflight). So the message that would push a
//     tenant whose usage has reached the cap past it is refused and never
//     stored, whatever the cache held.
//   - Usage only grows within a month, so once a count reaches the cap the
//     refusal is cached: a tenant hammering the API while over its cap
//     costs no query until the TTL reloads its plan.
//   - A new month (by the service's clock) invalidates the snapshot, so
//     usage restarts from zero on the 1st, 00:00 UTC.
type quotaCache struct {
	ttl   time.Duration
	floor int64
	load  func(ctx context.Context, tenantID string, month time.Time) (Account, int64, error)
	count func(ctx context.Context, tenantID string, month, next time.Time) (int64, error)

	// mu orders read-modify-writes of an entry (growth, recount); the
	// cache bounds the tenants held (10,000, a few hundred bytes each).
	// Freshness is the snapshot's loadedAt against ttl on the service's
	// clock, and a stale snapshot is still read for its usage when the
	// next load computes growth; the cache's own expiry (quotaCacheTTL,
	// longer than any month) only lets go of tenants not seen for that
	// long, so a stale entry costs nothing but a reload.
	mu      sync.Mutex
	entries *ttlcache.Cache[string, *quotaSnapshot] // snapshots are immutable once stored
	sf      singleflight.Group
}

// quotaCacheSize bounds the tenants whose quota state is cached, and
// quotaCacheTTL how long one is held at most: a snapshot serves only its
// month, so one older than the longest month is of no use.
const (
	quotaCacheSize = 10_000
	quotaCacheTTL  = 32 * 24 * time.Hour
)

func newQuotaCache(ttl time.Duration, floor int64,
	load func(context.Context, string, time.Time) (Account, int64, error),
	count func(context.Context, string, time.Time, time.Time) (int64, error)) *quotaCache {
	return &quotaCache{ttl: ttl, floor: floor, load: load, count: count,
		entries: ttlcache.New[string, *quotaSnapshot](quotaCacheSize, quotaCacheTTL)}
}

// get returns a snapshot no older than the TTL, of the current month.
func (q *quotaCache) get(ctx context.Context, tenantID string, now, month time.Time) (*quotaSnapshot, error) {
	e, _ := q.entries.Get(tenantID)
	if e != nil && e.month.Equal(month) && now.Sub(e.loadedAt) < q.ttl && !now.Before(e.loadedAt) {
		return e, nil
	}
	v, err, _ := q.sf.Do("load\x00"+tenantID, func() (any, error) {
		// Shared by every waiter: one caller going away must not fail
		// the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		a, n, err := q.load(ctx, tenantID, month)
		if err != nil {
			return nil, err
		}
		fresh := &quotaSnapshot{acct: a, month: month, usage: n, loadedAt: now}
		q.mu.Lock()
		defer q.mu.Unlock()
		if old, _ := q.entries.Peek(tenantID); old != nil && old.month.Equal(month) && n > old.usage {
			fresh.growth = n - old.usage
		}
		q.entries.Add(tenantID, fresh)
		return fresh, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*quotaSnapshot), nil
}

// recount counts the tenant's usage of the month now and records it.
func (q *quotaCache) recount(ctx context.Context, tenantID string, month, next time.Time) (int64, error) {
	v, err, _ := q.sf.Do("count\x00"+tenantID, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return q.count(ctx, tenantID, month, next)
	})
	if err != nil {
		return 0, err
	}
	n := v.(int64)
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, _ := q.entries.Peek(tenantID); e != nil && e.month.Equal(month) && n > e.usage {
		cp := *e
		cp.usage = n
		q.entries.Add(tenantID, &cp)
	}
	return n, nil
}

func (q *quotaCache) forget(tenantID string) { q.entries.Remove(tenantID) }

// humanDuration prints whole days as days, anything else as Go does.
func humanDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}
