package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/internal/ttlcache"
	"github.com/hookline/hookline/tenants"
)

// retentionCacheTTL is how stale a tenant's retention may be in reads: a
// change through the operator API shows in listings within a minute.
const retentionCacheTTL = time.Minute

type retention struct {
	policy tenants.RetentionPolicy
	// byTenant caches each tenant's effective retention: 50,000 tenants,
	// a minute each (a stale entry hides or shows a day of rows a minute
	// late, nothing more).
	byTenant *ttlcache.Cache[string, time.Duration]
}

// SetRetentionPolicy makes reads honour p: rows older than their tenant's
// retention read as gone (until their partition is dropped, which happens
// at the longest retention of any tenant, see package storage), and
// response bodies older than p.ResponseRetention as expunged. Call it
// before the store serves; a store without one hides nothing by age
// (payloads past their own expiry still read as expunged).
func (s *Store) SetRetentionPolicy(p tenants.RetentionPolicy) {
	s.retention = &retention{policy: p, byTenant: ttlcache.New[string, time.Duration](50_000, retentionCacheTTL)}
}

// RetentionPolicy returns the policy set with SetRetentionPolicy (the zero
// value if none).
func (s *Store) RetentionPolicy() tenants.RetentionPolicy {
	if s.retention == nil {
		return tenants.RetentionPolicy{}
	}
	return s.retention.policy
}

// FindTenantRetention returns the tenant's retention, or ErrNotFound.
func (s *Store) FindTenantRetention(ctx context.Context, tenantID string) (tenants.TenantRetention, error) {
	var (
		r        tenants.TenantRetention
		planDays *int
	)
	err := s.pg.QueryRow(ctx, `SELECT t.retention_days, p.retention_days FROM tenants t
		LEFT JOIN tenant_billing b ON b.tenant_id = t.id
		LEFT JOIN plans p ON p.id = COALESCE(b.plan_id, $2)
		WHERE t.id = $1`, tenantID, s.RetentionPolicy().Plan()).Scan(&r.Days, &planDays)
	if err != nil {
		return r, fmt.Errorf("find retention of %s: %w", tenantID, translate(err))
	}
	r.PlanDays = tenants.DefaultRetentionDays
	if planDays != nil {
		r.PlanDays = *planDays
	}
	days := r.PlanDays
	if r.Days != nil {
		days = *r.Days
	}
	r.Effective = s.RetentionPolicy().Bound(time.Duration(days) * 24 * time.Hour)
	return r, nil
}

// SetTenantRetention sets the tenant's retention in days (nil: its plan's
// again). Reads in other processes see it within a minute.
func (s *Store) SetTenantRetention(ctx context.Context, tenantID string, days *int) (tenants.TenantRetention, error) {
	if days != nil && (*days < 1 || *days > tenants.MaxRetentionDays) {
		return tenants.TenantRetention{}, tenants.Invalid("days", fmt.Sprintf("must be between 1 and %d", tenants.MaxRetentionDays))
	}
	tag, err := s.pg.Exec(ctx, `UPDATE tenants SET retention_days = $2, updated_at = $3 WHERE id = $1`, tenantID, days, s.Now())
	if err != nil {
		return tenants.TenantRetention{}, fmt.Errorf("set retention of %s: %w", tenantID, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return tenants.TenantRetention{}, fmt.Errorf("set retention of %s: %w", tenantID, tenants.ErrNotFound)
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
	err := s.pg.QueryRow(ctx, `SELECT COALESCE(
			(SELECT max(COALESCE(t.retention_days, p.retention_days, $2)) FROM tenants t
				LEFT JOIN tenant_billing b ON b.tenant_id = t.id
				LEFT JOIN plans p ON p.id = COALESCE(b.plan_id, $1)),
			(SELECT retention_days FROM plans WHERE id = $1), $2)`,
		s.RetentionPolicy().Plan(), tenants.DefaultRetentionDays).Scan(&days)
	if err != nil {
		return 0, fmt.Errorf("find longest retention: %w", translate(err))
	}
	return s.RetentionPolicy().Bound(time.Duration(days) * 24 * time.Hour), nil
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
func (s *Store) clampAfter(ctx context.Context, tenantID string, f *tenants.MessageFilter) {
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

// ExpireResponses nulls the response bodies of attempts created before
// before that still hold one, at most limit attempts (in id order, after
// afterID) at a time. It returns how many it looked at and the last id it
// looked at, so the caller resumes after it: the scan never revisits rows
// it has cleared.
func (s *Store) ExpireResponses(ctx context.Context, afterID string, before time.Time, limit int) (seen int, lastID string, err error) {
	err = s.pg.QueryRow(ctx, `WITH batch AS (
			SELECT id FROM attempts WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3
		), cleared AS (
			UPDATE attempts a SET response = NULL FROM batch WHERE a.id = batch.id AND a.response IS NOT NULL
		)
		SELECT count(*), COALESCE(max(id), '') FROM batch`, afterID, tenants.IDBound(tenants.PrefixAttempt, before, false), limit).Scan(&seen, &lastID)
	if err != nil {
		return 0, "", fmt.Errorf("expire responses: %w", translate(err))
	}
	return seen, lastID, nil
}
