package tenants

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// DefaultRetentionDays is a tenant's retention when neither it nor its plan
// says (a plan always does once migration 0012 ran).
const DefaultRetentionDays = 90

// RetentionPolicy is how long what a tenant sends is kept, from the
// process config. Its zero value keeps rows for the tenant's (or its
// plan's) retention and attempt response bodies as long as their attempt.
type RetentionPolicy struct {
	// DefaultPlan is the plan of tenants never put on one
	// (HOOKLINE_BILLING_DEFAULT_PLAN); "" means "pro".
	DefaultPlan string
	// Cap bounds every tenant's retention (0: no bound). It exists for
	// operators with a disk budget, and for soak runs with minutes of
	// retention.
	Cap time.Duration
	// ResponseRetention is how long attempts keep the receiver's response
	// body (0: as long as the attempt itself).
	ResponseRetention time.Duration
}

func (p RetentionPolicy) defaultPlan() string {
	if p.DefaultPlan == "" {
		return "pro"
	}
	return p.DefaultPlan
}

// retentionCacheTTL is how stale a tenant's retention may be in reads: a
// change through the operator API shows in listings within a minute.
const retentionCacheTTL = time.Minute

type retention struct {
	policy RetentionPolicy
	// byTenant caches each tenant's effective retention (bounded, expiring).
	byTenant *expirable.LRU[string, time.Duration]
}

// SetRetentionPolicy makes reads honour p: rows older than their tenant's
// retention read as gone (until their partition is dropped, which happens
// at the longest retention of any tenant, see package storage), and
// response bodies older than p.ResponseRetention as expunged. Call it
// before the store serves; a store without one hides nothing by age
// (payloads past their own expiry still read as expunged).
func (s *Store) SetRetentionPolicy(p RetentionPolicy) {
	s.retention = &retention{policy: p, byTenant: expirable.NewLRU[string, time.Duration](50_000, nil, retentionCacheTTL)}
}

// RetentionPolicy returns the policy set with SetRetentionPolicy (the zero
// value if none).
func (s *Store) RetentionPolicy() RetentionPolicy {
	if s.retention == nil {
		return RetentionPolicy{}
	}
	return s.retention.policy
}

// TenantRetention is a tenant's retention setting and the value in force.
type TenantRetention struct {
	// Days is the tenant's own setting; nil: its plan's.
	Days *int
	// PlanDays is its plan's retention.
	PlanDays int
	// Effective is what is in force: Days or PlanDays, bounded by the
	// policy's Cap.
	Effective time.Duration
}

// FindTenantRetention returns the tenant's retention, or ErrNotFound.
func (s *Store) FindTenantRetention(ctx context.Context, tenantID string) (TenantRetention, error) {
	var (
		r        TenantRetention
		planDays *int
	)
	err := s.pool.QueryRow(ctx, `SELECT t.retention_days, p.retention_days FROM tenants t
		LEFT JOIN tenant_billing b ON b.tenant_id = t.id
		LEFT JOIN plans p ON p.id = COALESCE(b.plan_id, $2)
		WHERE t.id = $1`, tenantID, s.RetentionPolicy().defaultPlan()).Scan(&r.Days, &planDays)
	if err != nil {
		return r, fmt.Errorf("find retention of %s: %w", tenantID, translate(err))
	}
	r.PlanDays = DefaultRetentionDays
	if planDays != nil {
		r.PlanDays = *planDays
	}
	days := r.PlanDays
	if r.Days != nil {
		days = *r.Days
	}
	r.Effective = s.RetentionPolicy().bound(time.Duration(days) * 24 * time.Hour)
	return r, nil
}

func (p RetentionPolicy) bound(d time.Duration) time.Duration {
	if p.Cap > 0 && p.Cap < d {
		return p.Cap
	}
	return d
}

// MaxRetentionDays is the most days a tenant's retention may be set to.
const MaxRetentionDays = 3650

// SetTenantRetention sets the tenant's retention in days (nil: its plan's
// again). Reads in other processes see it within a minute.
func (s *Store) SetTenantRetention(ctx context.Context, tenantID string, days *int) (TenantRetention, error) {
	if days != nil && (*days < 1 || *days > MaxRetentionDays) {
		return TenantRetention{}, Invalid("days", fmt.Sprintf("must be between 1 and %d", MaxRetentionDays))
	}
	tag, err := s.pool.Exec(ctx, `UPDATE tenants SET retention_days = $2, updated_at = $3 WHERE id = $1`, tenantID, days, s.Now())
	if err != nil {
		return TenantRetention{}, fmt.Errorf("set retention of %s: %w", tenantID, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return TenantRetention{}, fmt.Errorf("set retention of %s: %w", tenantID, ErrNotFound)
	}
	if s.retention != nil {
		s.retention.byTenant.Remove(tenantID)
	}
	return s.FindTenantRetention(ctx, tenantID)
}

// LongestRetention returns the longest retention in force for any tenant
// (the default plan's when there is none), bounded by the policy's Cap:
// a slice of time is dropped only once it is past it, since every slice
// holds every tenant's rows.
func (s *Store) LongestRetention(ctx context.Context) (time.Duration, error) {
	var days int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(
			(SELECT max(COALESCE(t.retention_days, p.retention_days, $2)) FROM tenants t
				LEFT JOIN tenant_billing b ON b.tenant_id = t.id
				LEFT JOIN plans p ON p.id = COALESCE(b.plan_id, $1)),
			(SELECT retention_days FROM plans WHERE id = $1), $2)`,
		s.RetentionPolicy().defaultPlan(), DefaultRetentionDays).Scan(&days)
	if err != nil {
		return 0, fmt.Errorf("find longest retention: %w", translate(err))
	}
	return s.RetentionPolicy().bound(time.Duration(days) * 24 * time.Hour), nil
}

// retentionFloor returns the instant before which the tenant's rows read
// as gone (zero: no policy, nothing hidden by age). A failed lookup hides
// nothing rather than fail the read.
func (s *Store) retentionFloor(ctx context.Context, tenantID string) time.Time {
	r := s.retention
	if r == nil {
		return time.Time{}
	}
	d, ok := r.byTenant.Get(tenantID)
	if !ok {
		tr, err := s.FindTenantRetention(ctx, tenantID)
		if err != nil {
			return time.Time{}
		}
		d = tr.Effective
		r.byTenant.Add(tenantID, d)
	}
	return s.Now().Add(-d)
}

// clampAfter narrows f's window to what the tenant may see: nothing older
// than its retention floor, nothing newer than now (plus clock skew
// between processes). Bounded on both sides, a listing's scan prunes to
// the partitions of the window, and, since the DEFAULT partition is
// outside it, the planner can read the partitions in order and stop at
// the page's end instead of merging them all.
func (s *Store) clampAfter(ctx context.Context, tenantID string, f *MessageFilter) {
	floor := s.retentionFloor(ctx, tenantID)
	if floor.IsZero() {
		return
	}
	if floor.After(f.After) {
		f.After = floor
	}
	if ceil := s.Now().Add(clockSkew); f.Before.IsZero() || f.Before.After(ceil) {
		f.Before = ceil
	}
}

// expirePayload hides a message's payload once past its expiry (the
// periodic expiry that nulls the column may not have reached it yet).
func (s *Store) expirePayload(m *Message, now time.Time) {
	if m.Payload != nil && !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(now) {
		m.Payload = nil
	}
}

// expireResponse hides an attempt's response body past the policy's
// response retention.
func (s *Store) expireResponse(a *Attempt, now time.Time) {
	if rr := s.RetentionPolicy().ResponseRetention; rr > 0 && a.Response != nil && !a.CreatedAt.After(now.Add(-rr)) {
		a.Response = nil
	}
}

// ExpireResponses nulls the response bodies of attempts created in
// [from, before) that still hold one, at most limit attempts (in id
// order) at a time. It returns how many it looked at and the last id it
// looked at, so the caller resumes after it: the scan never revisits rows
// it has cleared.
func (s *Store) ExpireResponses(ctx context.Context, afterID string, before time.Time, limit int) (seen int, lastID string, err error) {
	rows, err := s.pool.Query(ctx, `WITH batch AS (
			SELECT id FROM attempts WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3
		), cleared AS (
			UPDATE attempts a SET response = NULL FROM batch WHERE a.id = batch.id AND a.response IS NOT NULL
		)
		SELECT count(*), COALESCE(max(id), '') FROM batch`, afterID, IDBound(PrefixAttempt, before, false), limit)
	if err != nil {
		return 0, "", fmt.Errorf("expire responses: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&seen, &lastID); err != nil {
			return 0, "", fmt.Errorf("expire responses: %w", translate(err))
		}
	}
	if err := rows.Err(); err != nil {
		return 0, "", fmt.Errorf("expire responses: %w", translate(err))
	}
	return seen, lastID, nil
}
