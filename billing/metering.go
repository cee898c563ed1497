package billing

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/hookline/hookline/tenants"
)

// billableSQL is the billable unit: the predicate of the partial indexes
// deliveries_billable and deliveries_billable_tenant, less the deliveries
// of operational webhooks (the tenant's system application, migration
// 0008), which Hookline sends on its own account.
var billableSQL = tenants.SQLConst(`trigger = {scheduled} AND status = {success}
	AND NOT EXISTS (SELECT 1 FROM applications sa WHERE sa.id = deliveries.app_id AND sa.system)`)

// countedThroughSQL is the rollup's watermark, -infinity before the first
// rollup, as a scalar subquery: evaluated once per statement, in the same
// snapshot as the rest of the statement, and usable in index conditions.
const countedThroughSQL = `COALESCE((SELECT counted_through FROM billing_rollup_state WHERE id), '-infinity'::timestamptz)`

// RollupResult says what a rollup did.
type RollupResult struct {
	// From and CountedThrough bound the deliveries recounted:
	// succeeded_at in [From, CountedThrough).
	From, CountedThrough time.Time
	// Rows is how many hourly rows were written (final rows never are).
	Rows int64
}

// Rollup recounts billable deliveries into usage_hourly, from the start of
// the hour of the previous watermark up to now − margin, and moves the
// watermark there. Counts are recomputed from the deliveries, not
// incremented, so running it twice, or concurrently (the state row is
// locked), gives the same table. An hour that ends at or before the new
// watermark is final: its count is written one last time and never
// changed again. margin covers deliveries whose succeeded_at (taken by the
// worker when it records the attempt) precedes their commit, and clock
// skew between workers: anything committed later than margin after its
// succeeded_at would be missed.
func (st *Store) Rollup(ctx context.Context, now time.Time, margin time.Duration) (RollupResult, error) {
	now = now.UTC().Truncate(time.Microsecond)
	target := now.Add(-margin)
	var res RollupResult
	err := st.q(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO billing_rollup_state (id, counted_through, updated_at) VALUES (true, '-infinity', ?)
			ON CONFLICT (id) DO NOTHING`, now).Error; err != nil {
			return err
		}
		var prev struct{ CountedThrough *time.Time }
		if err := tx.Raw(`SELECT CASE WHEN isfinite(counted_through) THEN counted_through END AS counted_through
			FROM billing_rollup_state WHERE id FOR UPDATE`).Scan(&prev).Error; err != nil {
			return err
		}
		var from time.Time
		if prev.CountedThrough != nil {
			from = HourStart(*prev.CountedThrough)
			if target.Before(*prev.CountedThrough) {
				target = prev.CountedThrough.UTC() // the watermark never moves back
			}
		} else {
			// First rollup: start at the oldest billable delivery.
			var first struct{ Min *time.Time }
			if err := tx.Raw(`SELECT min(succeeded_at) AS min FROM deliveries WHERE ` + billableSQL).Scan(&first).Error; err != nil {
				return err
			}
			from = HourStart(target)
			if first.Min != nil && first.Min.Before(from) {
				from = HourStart(*first.Min)
			}
		}
		// The recount adds the deliveries of partitions dropped while
		// their hour was still open (usage_dropped, see package storage):
		// they are counted, but no longer in deliveries.
		r := tx.Exec(`INSERT INTO usage_hourly (tenant_id, hour, deliveries, final, computed_at)
			SELECT tenant_id, hour, sum(n), hour + interval '1 hour' <= ?, ? FROM (
				SELECT tenant_id, date_trunc('hour', succeeded_at, 'UTC') AS hour, count(*) AS n
				FROM deliveries
				WHERE `+billableSQL+` AND succeeded_at >= ? AND succeeded_at < ?
				GROUP BY 1, 2
				UNION ALL
				SELECT tenant_id, hour, deliveries FROM usage_dropped WHERE hour >= ?
			) c
			GROUP BY tenant_id, hour
			ON CONFLICT (tenant_id, hour) DO UPDATE
				SET deliveries = EXCLUDED.deliveries, final = EXCLUDED.final, computed_at = EXCLUDED.computed_at
				WHERE NOT usage_hourly.final`, target, now, from, target, from)
		if r.Error != nil {
			return r.Error
		}
		res = RollupResult{From: from, CountedThrough: target, Rows: r.RowsAffected}
		return tx.Exec(`UPDATE billing_rollup_state SET counted_through = ?, updated_at = ? WHERE id`, target, now).Error
	})
	if err != nil {
		return RollupResult{}, fmt.Errorf("roll up usage: %w", translate(err))
	}
	return res, nil
}

// CountedThrough returns the rollup's watermark; ok is false before the
// first rollup.
func (st *Store) CountedThrough(ctx context.Context) (t time.Time, ok bool, err error) {
	var row struct{ CountedThrough *time.Time }
	if err := st.q(ctx).Raw(`SELECT CASE WHEN isfinite(counted_through) THEN counted_through END AS counted_through
		FROM billing_rollup_state WHERE id`).Scan(&row).Error; err != nil {
		return time.Time{}, false, fmt.Errorf("read rollup watermark: %w", translate(err))
	}
	if row.CountedThrough == nil {
		return time.Time{}, false, nil
	}
	return row.CountedThrough.UTC(), true, nil
}

// CountUsage returns the tenant's billable deliveries that succeeded in
// [since, until), both hour-aligned: the rolled-up hours before the
// watermark plus a live count after it, read in one statement (one
// snapshot). The live part scans only the minutes since the last rollup,
// through the deliveries_billable_tenant index.
func (st *Store) CountUsage(ctx context.Context, tenantID string, since, until time.Time) (int64, error) {
	var row struct{ N int64 }
	err := st.q(ctx).Raw(`SELECT
		COALESCE((SELECT sum(deliveries) FROM usage_hourly
			WHERE tenant_id = ? AND hour >= ? AND hour < LEAST(?::timestamptz, `+countedThroughSQL+`)), 0)::bigint
		+ (SELECT count(*) FROM deliveries
			WHERE tenant_id = ? AND `+billableSQL+`
				AND succeeded_at >= GREATEST(?::timestamptz, `+countedThroughSQL+`) AND succeeded_at < ?) AS n`,
		tenantID, since, until, tenantID, since, until).Scan(&row).Error
	if err != nil {
		return 0, fmt.Errorf("count usage of %s: %w", tenantID, translate(err))
	}
	return row.N, nil
}

// DayUsage is one UTC day's billable deliveries.
type DayUsage struct {
	Day        time.Time
	Deliveries int64
}

// DailyUsage returns the tenant's billable deliveries per UTC day in
// [since, until), both day-aligned, computed as CountUsage does. Days
// without deliveries are left out.
func (st *Store) DailyUsage(ctx context.Context, tenantID string, since, until time.Time) ([]DayUsage, error) {
	var rows []DayUsage
	err := st.q(ctx).Raw(`SELECT day, sum(n)::bigint AS deliveries FROM (
			SELECT date_trunc('day', hour, 'UTC') AS day, deliveries AS n FROM usage_hourly
			WHERE tenant_id = ? AND hour >= ? AND hour < LEAST(?::timestamptz, `+countedThroughSQL+`)
			UNION ALL
			SELECT date_trunc('day', succeeded_at, 'UTC'), count(*) FROM deliveries
			WHERE tenant_id = ? AND `+billableSQL+`
				AND succeeded_at >= GREATEST(?::timestamptz, `+countedThroughSQL+`) AND succeeded_at < ?
			GROUP BY 1
		) x GROUP BY day ORDER BY day`,
		tenantID, since, until, tenantID, since, until).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("daily usage of %s: %w", tenantID, translate(err))
	}
	for i := range rows {
		rows[i].Day = rows[i].Day.UTC()
	}
	return rows, nil
}

// HourUsage is one row of usage_hourly.
type HourUsage struct {
	TenantID     string
	Hour         time.Time
	Deliveries   int64
	Final        bool
	ReportStatus *string
}

// HourlyUsage returns the tenant's rows of usage_hourly in [since, until),
// oldest first.
func (st *Store) HourlyUsage(ctx context.Context, tenantID string, since, until time.Time) ([]HourUsage, error) {
	var rows []HourUsage
	err := st.q(ctx).Raw(`SELECT tenant_id, hour, deliveries, final, report_status FROM usage_hourly
		WHERE tenant_id = ? AND hour >= ? AND hour < ? ORDER BY hour`, tenantID, since, until).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("hourly usage of %s: %w", tenantID, translate(err))
	}
	for i := range rows {
		rows[i].Hour = rows[i].Hour.UTC()
	}
	return rows, nil
}

// AuditRow is an hour whose stored final count differs from a recount of
// the deliveries.
type AuditRow struct {
	Hour             time.Time
	Stored, Recount  int64
	ReportedToStripe bool
}

// Audit recounts the tenant's billable deliveries per hour in [since,
// until) and returns the final hours whose stored count differs (a
// delivery committed later than the safety margin, or rows deleted since).
// Hours up to the newest billable success of a dropped partition (see
// package storage) are not recounted: their deliveries are gone, and a
// partition is dropped only once its hours are final. It changes nothing.
func (st *Store) Audit(ctx context.Context, tenantID string, since, until time.Time) ([]AuditRow, error) {
	var rows []AuditRow
	if d := st.droppedThrough(ctx); d.After(since) {
		since = d
	}
	if !until.After(since) {
		return nil, nil
	}
	err := st.q(ctx).Raw(`WITH recount AS (
			SELECT date_trunc('hour', succeeded_at, 'UTC') AS hour, count(*) AS n FROM deliveries
			WHERE tenant_id = ? AND `+billableSQL+` AND succeeded_at >= ? AND succeeded_at < ?
			GROUP BY 1
		), stored AS (
			SELECT hour, deliveries, report_status = 'sent' AS sent FROM usage_hourly
			WHERE tenant_id = ? AND final AND hour >= ? AND hour < ?
		)
		SELECT COALESCE(s.hour, r.hour) AS hour, COALESCE(s.deliveries, 0) AS stored, COALESCE(r.n, 0) AS recount,
			COALESCE(s.sent, false) AS reported_to_stripe
		FROM stored s FULL JOIN recount r ON r.hour = s.hour
		WHERE COALESCE(s.deliveries, 0) <> COALESCE(r.n, 0)
			AND COALESCE(s.hour, r.hour) + interval '1 hour' <= `+countedThroughSQL+`
		ORDER BY 1`, tenantID, since, until, tenantID, since, until).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("audit usage of %s: %w", tenantID, translate(err))
	}
	for i := range rows {
		rows[i].Hour = rows[i].Hour.UTC()
	}
	return rows, nil
}

// droppedThrough returns the end of the hour of the newest billable
// success among dropped partitions (storage_drops): hours before it can no
// longer be recounted from the deliveries. Zero when nothing was dropped.
func (st *Store) droppedThrough(ctx context.Context) time.Time {
	var row struct{ T *time.Time }
	err := st.q(ctx).Raw(`SELECT date_trunc('hour', max(max_succeeded_at), 'UTC') + interval '1 hour' AS t FROM storage_drops`).Scan(&row).Error
	if err != nil || row.T == nil {
		return time.Time{}
	}
	return row.T.UTC()
}
