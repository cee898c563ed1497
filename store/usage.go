package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/billing"
)

// This file holds billing's usage: the hourly rollup of billable
// deliveries (to endpoints, and to destinations through
// destination_usage), the counts the quota and the usage API read, the audit, the
// report to Stripe and its ledger, and the Stripe events applied to
// accounts.

// billableSQL is the billable unit: the predicate of the partial index
// deliveries_billable_tenant (tenant_id, succeeded_at), less the deliveries
// of operational webhooks (the tenant's system application, migration
// 0008), which Hookline sends on its own account.
var billableSQL = sqlConst(`trigger = {scheduled} AND status = {success}
	AND NOT EXISTS (SELECT 1 FROM applications sa WHERE sa.id = deliveries.app_id AND sa.system)`)

// destBillableSQL is the billable unit of destinations: every row of
// destination_usage (migration 0020) counts its messages — a FIFO or
// RabbitMQ batch accepted, or messages first returned by a poll — less
// those of system applications, as for deliveries. The time of a row is
// its created_at, as succeeded_at is a delivery's.
const destBillableSQL = `NOT EXISTS (SELECT 1 FROM applications sa WHERE sa.id = destination_usage.app_id AND sa.system)`

// countedThroughSQL is the rollup's watermark, -infinity before the first
// rollup, as a scalar subquery: evaluated once per statement, in the same
// snapshot as the rest of the statement, and usable in index conditions.
const countedThroughSQL = `COALESCE((SELECT counted_through FROM billing_rollup_state WHERE id), '-infinity'::timestamptz)`

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
func (s *Store) Rollup(ctx context.Context, now time.Time, margin time.Duration) (billing.RollupResult, error) {
	now = now.UTC().Truncate(time.Microsecond)
	target := now.Add(-margin)
	var res billing.RollupResult
	err := s.InTx(ctx, func(t *Store) error {
		tx := t.q(ctx)
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
			from = billing.HourStart(*prev.CountedThrough)
			if target.Before(*prev.CountedThrough) {
				target = prev.CountedThrough.UTC() // the watermark never moves back
			}
		} else {
			// First rollup: start at the oldest billable delivery.
			var first struct{ Min *time.Time }
			if err := tx.Raw(`SELECT LEAST((SELECT min(x.m) FROM tenants t CROSS JOIN LATERAL (
					SELECT min(succeeded_at) AS m FROM deliveries WHERE tenant_id = t.id AND ` + billableSQL + `) x),
				(SELECT min(created_at) FROM destination_usage WHERE ` + destBillableSQL + `)) AS min`).Scan(&first).Error; err != nil {
				return err
			}
			from = billing.HourStart(target)
			if first.Min != nil && first.Min.Before(from) {
				from = billing.HourStart(*first.Min)
			}
		}
		// The recount adds the deliveries of partitions dropped while
		// their hour was still open (usage_dropped, see package storage):
		// they are counted, but no longer in deliveries.
		r := tx.Exec(`INSERT INTO usage_hourly (tenant_id, hour, deliveries, final, computed_at)
			SELECT tenant_id, hour, sum(n), hour + interval '1 hour' <= ?, ? FROM (
				SELECT t.id AS tenant_id, x.hour, x.n FROM tenants t CROSS JOIN LATERAL (
					SELECT date_trunc('hour', succeeded_at, 'UTC') AS hour, count(*) AS n
					FROM deliveries
					WHERE tenant_id = t.id AND `+billableSQL+` AND succeeded_at >= ? AND succeeded_at < ?
					GROUP BY 1) x
				UNION ALL
				SELECT tenant_id, date_trunc('hour', created_at, 'UTC'), sum(messages)
				FROM destination_usage
				WHERE `+destBillableSQL+` AND created_at >= ? AND created_at < ?
				GROUP BY 1, 2
				UNION ALL
				SELECT tenant_id, hour, deliveries FROM usage_dropped WHERE hour >= ?
			) c
			GROUP BY tenant_id, hour
			ON CONFLICT (tenant_id, hour) DO UPDATE
				SET deliveries = EXCLUDED.deliveries, final = EXCLUDED.final, computed_at = EXCLUDED.computed_at
				WHERE NOT usage_hourly.final`, target, now, from, target, from, target, from)
		if r.Error != nil {
			return r.Error
		}
		res = billing.RollupResult{From: from, CountedThrough: target, Rows: r.RowsAffected}
		return tx.Exec(`UPDATE billing_rollup_state SET counted_through = ?, updated_at = ? WHERE id`, target, now).Error
	})
	if err != nil {
		return billing.RollupResult{}, fmt.Errorf("roll up usage: %w", translate(err))
	}
	return res, nil
}

// CountedThrough returns the rollup's watermark; ok is false before the
// first rollup.
func (s *Store) CountedThrough(ctx context.Context) (t time.Time, ok bool, err error) {
	var row struct{ CountedThrough *time.Time }
	if err := s.q(ctx).Raw(`SELECT CASE WHEN isfinite(counted_through) THEN counted_through END AS counted_through
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
func (s *Store) CountUsage(ctx context.Context, tenantID string, since, until time.Time) (int64, error) {
	var row struct{ N int64 }
	err := s.q(ctx).Raw(`SELECT
		COALESCE((SELECT sum(deliveries) FROM usage_hourly
			WHERE tenant_id = ? AND hour >= ? AND hour < LEAST(?::timestamptz, `+countedThroughSQL+`)), 0)::bigint
		+ (SELECT count(*) FROM deliveries
			WHERE tenant_id = ? AND `+billableSQL+`
				AND succeeded_at >= GREATEST(?::timestamptz, `+countedThroughSQL+`) AND succeeded_at < ?)
		+ COALESCE((SELECT sum(messages) FROM destination_usage
			WHERE tenant_id = ? AND `+destBillableSQL+`
				AND created_at >= GREATEST(?::timestamptz, `+countedThroughSQL+`) AND created_at < ?), 0)::bigint AS n`,
		tenantID, since, until, tenantID, since, until, tenantID, since, until).Scan(&row).Error
	if err != nil {
		return 0, fmt.Errorf("count usage of %s: %w", tenantID, translate(err))
	}
	return row.N, nil
}

// DailyUsage returns the tenant's billable deliveries per UTC day in
// [since, until), both day-aligned, computed as CountUsage does. Days
// without deliveries are left out.
func (s *Store) DailyUsage(ctx context.Context, tenantID string, since, until time.Time) ([]billing.DayUsage, error) {
	var rows []billing.DayUsage
	err := s.q(ctx).Raw(`SELECT day, sum(n)::bigint AS deliveries FROM (
			SELECT date_trunc('day', hour, 'UTC') AS day, deliveries AS n FROM usage_hourly
			WHERE tenant_id = ? AND hour >= ? AND hour < LEAST(?::timestamptz, `+countedThroughSQL+`)
			UNION ALL
			SELECT date_trunc('day', succeeded_at, 'UTC'), count(*) FROM deliveries
			WHERE tenant_id = ? AND `+billableSQL+`
				AND succeeded_at >= GREATEST(?::timestamptz, `+countedThroughSQL+`) AND succeeded_at < ?
			GROUP BY 1
			UNION ALL
			SELECT date_trunc('day', created_at, 'UTC'), sum(messages) FROM destination_usage
			WHERE tenant_id = ? AND `+destBillableSQL+`
				AND created_at >= GREATEST(?::timestamptz, `+countedThroughSQL+`) AND created_at < ?
			GROUP BY 1
		) x GROUP BY day ORDER BY day`,
		tenantID, since, until, tenantID, since, until, tenantID, since, until).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("daily usage of %s: %w", tenantID, translate(err))
	}
	for i := range rows {
		rows[i].Day = rows[i].Day.UTC()
	}
	return rows, nil
}

// HourlyUsage returns the tenant's rows of usage_hourly in [since, until),
// oldest first.
func (s *Store) HourlyUsage(ctx context.Context, tenantID string, since, until time.Time) ([]billing.HourUsage, error) {
	var rows []billing.HourUsage
	err := s.q(ctx).Raw(`SELECT tenant_id, hour, deliveries, final, report_status FROM usage_hourly
		WHERE tenant_id = ? AND hour >= ? AND hour < ? ORDER BY hour`, tenantID, since, until).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("hourly usage of %s: %w", tenantID, translate(err))
	}
	for i := range rows {
		rows[i].Hour = rows[i].Hour.UTC()
	}
	return rows, nil
}

// Audit recounts the tenant's billable deliveries per hour in [since,
// until) and returns the final hours whose stored count differs (a
// delivery committed later than the safety margin, or rows deleted since).
// Hours up to the newest billable success of a dropped partition (see
// package storage) are not recounted: their deliveries are gone, and a
// partition is dropped only once its hours are final. It changes nothing.
func (s *Store) Audit(ctx context.Context, tenantID string, since, until time.Time) ([]billing.AuditRow, error) {
	var rows []billing.AuditRow
	if d := s.droppedThrough(ctx); d.After(since) {
		since = d
	}
	if !until.After(since) {
		return nil, nil
	}
	err := s.q(ctx).Raw(`WITH recount AS (
			SELECT hour, sum(n) AS n FROM (
				SELECT date_trunc('hour', succeeded_at, 'UTC') AS hour, count(*) AS n FROM deliveries
				WHERE tenant_id = ? AND `+billableSQL+` AND succeeded_at >= ? AND succeeded_at < ?
				GROUP BY 1
				UNION ALL
				SELECT date_trunc('hour', created_at, 'UTC'), sum(messages) FROM destination_usage
				WHERE tenant_id = ? AND `+destBillableSQL+` AND created_at >= ? AND created_at < ?
				GROUP BY 1
			) u GROUP BY hour
		), stored AS (
			SELECT hour, deliveries, report_status = 'sent' AS sent FROM usage_hourly
			WHERE tenant_id = ? AND final AND hour >= ? AND hour < ?
		)
		SELECT COALESCE(s.hour, r.hour) AS hour, COALESCE(s.deliveries, 0) AS stored, COALESCE(r.n, 0) AS recount,
			COALESCE(s.sent, false) AS reported_to_stripe
		FROM stored s FULL JOIN recount r ON r.hour = s.hour
		WHERE COALESCE(s.deliveries, 0) <> COALESCE(r.n, 0)
			AND COALESCE(s.hour, r.hour) + interval '1 hour' <= `+countedThroughSQL+`
		ORDER BY 1`, tenantID, since, until, tenantID, since, until, tenantID, since, until).Scan(&rows).Error
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
func (s *Store) droppedThrough(ctx context.Context) time.Time {
	var row struct{ T *time.Time }
	err := s.q(ctx).Raw(`SELECT date_trunc('hour', max(max_succeeded_at), 'UTC') + interval '1 hour' AS t FROM storage_drops`).Scan(&row).Error
	if err != nil || row.T == nil {
		return time.Time{}
	}
	return row.T.UTC()
}

// UnreportedBuckets returns up to limit final hours not yet reported (nor
// skipped), in (hour, tenant) order after the cursor (afterHour,
// afterTenant); a zero afterHour starts at the beginning.
func (s *Store) UnreportedBuckets(ctx context.Context, afterHour time.Time, afterTenant string, limit int) ([]billing.Bucket, error) {
	if afterHour.IsZero() {
		afterHour = time.Unix(0, 0)
	}
	var out []billing.Bucket
	err := s.q(ctx).Raw(`SELECT tenant_id, hour, deliveries FROM usage_hourly
		WHERE final AND report_status IS NULL AND (hour, tenant_id) > (?, ?)
		ORDER BY hour, tenant_id LIMIT ?`, afterHour, afterTenant, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("find unreported usage: %w", translate(err))
	}
	for i := range out {
		out[i].Hour = out[i].Hour.UTC()
	}
	return out, nil
}

// MarkSent records the meter event of a bucket in the ledger and marks the
// bucket sent, in one transaction: the ledger holds exactly the buckets
// marked sent. A bucket already in the ledger (a concurrent reporter got
// there first) is left as it is.
func (s *Store) MarkSent(ctx context.Context, e billing.LedgerEntry) error {
	err := s.InTx(ctx, func(t *Store) error {
		tx := t.q(ctx)
		if err := tx.Exec(`INSERT INTO billing_ledger (tenant_id, hour, identifier, event_name, stripe_customer_id, value, reported_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			e.TenantID, e.Hour, e.Identifier, e.EventName, e.StripeCustomerID, e.Value, e.ReportedAt).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE usage_hourly SET report_status = 'sent', reported_at = ?
			WHERE tenant_id = ? AND hour = ? AND final AND report_status IS NULL`, e.ReportedAt, e.TenantID, e.Hour).Error
	})
	if err != nil {
		return fmt.Errorf("record meter event %s: %w", e.Identifier, translate(err))
	}
	return nil
}

// MarkSkipped marks a bucket as not billable, so the reporter stops
// looking at it.
func (s *Store) MarkSkipped(ctx context.Context, b billing.Bucket, now time.Time) error {
	err := s.q(ctx).Exec(`UPDATE usage_hourly SET report_status = 'skipped', reported_at = ?
		WHERE tenant_id = ? AND hour = ? AND final AND report_status IS NULL`, now, b.TenantID, b.Hour).Error
	if err != nil {
		return fmt.Errorf("skip usage of %s at %s: %w", b.TenantID, b.Hour.Format(time.RFC3339), translate(err))
	}
	return nil
}

// Ledger returns the tenant's ledger in [since, until), oldest first.
func (s *Store) Ledger(ctx context.Context, tenantID string, since, until time.Time) ([]billing.LedgerEntry, error) {
	var out []billing.LedgerEntry
	err := s.q(ctx).Raw(`SELECT tenant_id, hour, identifier, event_name, stripe_customer_id, value, reported_at FROM billing_ledger
		WHERE tenant_id = ? AND hour >= ? AND hour < ? ORDER BY hour`, tenantID, since, until).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("read ledger of %s: %w", tenantID, translate(err))
	}
	for i := range out {
		out[i].Hour, out[i].ReportedAt = out[i].Hour.UTC(), out[i].ReportedAt.UTC()
	}
	return out, nil
}

// ApplyStripeEvent records event id as processed and, if it was not
// already and it names a linked customer (customerID not empty), applies
// apply (billing's rule of subscription state) to that tenant's state, all
// in one transaction. It returns whether the state changed, whether the
// event was a duplicate, and the tenant concerned.
func (s *Store) ApplyStripeEvent(ctx context.Context, id, typ string, created time.Time, customerID string,
	apply func(billing.SubscriptionState) (billing.SubscriptionState, bool), now time.Time) (applied, duplicate bool, tenantID string, err error) {
	err = s.InTx(ctx, func(t *Store) error {
		tx := t.q(ctx)
		var owner struct{ TenantID *string }
		if customerID != "" {
			if err := tx.Raw(`SELECT tenant_id FROM tenant_billing WHERE stripe_customer_id = ? FOR UPDATE`, customerID).Scan(&owner).Error; err != nil {
				return err
			}
		}
		r := tx.Exec(`INSERT INTO stripe_events (id, type, tenant_id, created_at, processed_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, id, typ, owner.TenantID, created, now)
		if r.Error != nil {
			return r.Error
		}
		if r.RowsAffected == 0 {
			duplicate = true
			return nil
		}
		if owner.TenantID == nil {
			return nil
		}
		tenantID = *owner.TenantID
		var row struct {
			StripeSubscriptionID *string
			SubscriptionStatus   string
			PastDueSince         *time.Time
			StatusChangedAt      *time.Time
		}
		if err := tx.Raw(`SELECT stripe_subscription_id, subscription_status, past_due_since, status_changed_at
			FROM tenant_billing WHERE tenant_id = ?`, tenantID).Scan(&row).Error; err != nil {
			return err
		}
		cur := billing.SubscriptionState{SubscriptionStatus: row.SubscriptionStatus, PastDueSince: utcPtr(row.PastDueSince), StatusChangedAt: utcPtr(row.StatusChangedAt)}
		if row.StripeSubscriptionID != nil {
			cur.SubscriptionID = *row.StripeSubscriptionID
		}
		next, changed := apply(cur)
		if !changed {
			return nil
		}
		applied = true
		var sub *string
		if next.SubscriptionID != "" {
			sub = &next.SubscriptionID
		}
		return tx.Exec(`UPDATE tenant_billing SET stripe_subscription_id = ?, subscription_status = ?, past_due_since = ?,
				status_changed_at = ?, updated_at = ?
			WHERE tenant_id = ?`, sub, next.SubscriptionStatus, next.PastDueSince, next.StatusChangedAt, now, tenantID).Error
	})
	if err != nil {
		return false, false, "", fmt.Errorf("apply stripe event %s: %w", id, translate(err))
	}
	return applied, duplicate, tenantID, nil
}
