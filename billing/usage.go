package billing

import (
	"context"
	"time"

	"github.com/hookline/hookline/tenants"
)

// MaxUsageWindow bounds the days one usage query returns.
const MaxUsageWindow = 366 * 24 * time.Hour

// Usage is a tenant's billable deliveries per day over a window, and its
// current billing period against its plan.
type Usage struct {
	TenantID string
	// Since and Until bound the window, [Since, Until), on UTC days.
	Since, Until time.Time
	// Days has one entry per day of the window, zero days included.
	Days   []DayUsage
	Period Period
	// Account is the tenant's plan and Stripe status.
	Account Account
	// PaymentRequired says message creation is refused for non-payment.
	PaymentRequired bool
}

// Period is the current calendar month (UTC): the span quotas count.
type Period struct {
	Start, End time.Time
	Deliveries int64
	// Cap is the plan's monthly cap; nil means none.
	Cap *int64
}

// Remaining returns how many deliveries are left under the cap (never
// negative), or nil without a cap.
func (p Period) Remaining() *int64 {
	if p.Cap == nil {
		return nil
	}
	r := max(*p.Cap-p.Deliveries, 0)
	return &r
}

// Exceeded reports whether the cap is reached: new messages are refused.
func (p Period) Exceeded() bool { return p.Cap != nil && p.Deliveries >= *p.Cap }

// UsageWindow normalises a requested window onto whole UTC days: a zero
// since means the start of the current month, a zero until the end of
// today; since is rounded down and until up to midnight. An empty, inverted
// or over-long window is a validation error on the query parameter.
func UsageWindow(now, since, until time.Time) (time.Time, time.Time, error) {
	if since.IsZero() {
		since, _ = MonthBounds(now)
	}
	if until.IsZero() {
		until = DayStart(now).AddDate(0, 0, 1)
	}
	since = DayStart(since)
	if d := DayStart(until); !d.Equal(until.UTC()) {
		until = d.AddDate(0, 0, 1)
	} else {
		until = d
	}
	if !until.After(since) {
		return since, until, tenants.InvalidAt([]string{"query", "until"}, "must be after since")
	}
	if until.Sub(since) > MaxUsageWindow {
		return since, until, tenants.InvalidAt([]string{"query", "since"}, "the window may span at most 366 days")
	}
	return since, until, nil
}

// Usage returns the tenant's usage over [since, until) (see UsageWindow
// for defaults and rounding) and its current period. The counts are exact
// as of the call: rolled-up hours plus a live count since the rollup's
// watermark. A missing tenant is ErrNotFound.
func (s *Service) Usage(ctx context.Context, tenantID string, since, until time.Time) (Usage, error) {
	now := s.now()
	since, until, err := UsageWindow(now, since, until)
	if err != nil {
		return Usage{}, err
	}
	a, err := s.Account(ctx, tenantID)
	if err != nil {
		return Usage{}, err
	}
	rows, err := s.store.DailyUsage(ctx, tenantID, since, until)
	if err != nil {
		return Usage{}, err
	}
	u := Usage{TenantID: tenantID, Since: since, Until: until, Account: a, PaymentRequired: a.PaymentRequired(now, s.opts.Grace)}
	byDay := make(map[int64]int64, len(rows)) // by Unix seconds
	for _, r := range rows {
		byDay[r.Day.Unix()] = r.Deliveries
	}
	for d := since; d.Before(until); d = d.AddDate(0, 0, 1) {
		u.Days = append(u.Days, DayUsage{Day: d, Deliveries: byDay[d.Unix()]})
	}
	start, end := MonthBounds(now)
	n, err := s.store.CountUsage(ctx, tenantID, start, end)
	if err != nil {
		return Usage{}, err
	}
	u.Period = Period{Start: start, End: end, Deliveries: n, Cap: a.Cap()}
	return u, nil
}
