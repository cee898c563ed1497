package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// This file holds every statement on deliveries: the worker's load of a
// job, the sweeper's scans, resends, recoveries and replays, postponements
// and the views of where messages stand.

const loadDeliverySQL = `
SELECT d.id, d.tenant_id, d.app_id, d.msg_id, d.endpoint_id, d.trigger, d.status, d.attempts, d.next_attempt_at,
	m.event_type, CASE WHEN m.expires_at > now() THEN m.payload END, m.created_at,
	COALESCE(e.revision, 0), COALESCE(e.disabled, true), e.id IS NULL OR e.deleted_at IS NOT NULL, e.failing_since
FROM deliveries d
JOIN messages m ON m.id = d.msg_id
LEFT JOIN endpoints e ON e.id = d.endpoint_id
WHERE d.tenant_id = $1 AND d.id = $2`

var (
	loadDeliveryByIDSQL = strings.Replace(loadDeliverySQL, "WHERE d.tenant_id = $1 AND d.id = $2", "WHERE d.id = $1", 1)
	// The same with the message's id bounded to the delivery's slice of
	// time ($3, $4; $2, $3 by id): see loadDelivery.
	loadDeliveryNearSQL     = strings.Replace(loadDeliverySQL, "JOIN messages m ON m.id = d.msg_id", "JOIN messages m ON m.id = d.msg_id AND m.id >= $3 AND m.id < $4", 1)
	loadDeliveryByIDNearSQL = strings.Replace(loadDeliveryByIDSQL, "JOIN messages m ON m.id = d.msg_id", "JOIN messages m ON m.id = d.msg_id AND m.id >= $2 AND m.id < $3", 1)
)

// LoadDelivery returns the job for delivery id, or ErrNotFound.
func (s *Store) LoadDelivery(ctx context.Context, tenantID string, id int64) (tenants.DeliveryJob, error) {
	return s.loadDelivery(ctx, id, func(near bool, lo, hi string) pgx.Row {
		if near {
			return s.pg.QueryRow(ctx, loadDeliveryNearSQL, tenantID, id, lo, hi)
		}
		return s.pg.QueryRow(ctx, loadDeliverySQL, tenantID, id)
	})
}

// loadDelivery reads a delivery with its message. The join on the
// message's id alone cannot be pruned before execution, and PostgreSQL
// then sets up a scan of every partition of messages for each call (a
// millisecond with 90 of them); a delivery's id says when it was made, and
// a scheduled delivery is made with its message, so the message is looked
// for in that slice of time first, bounds PostgreSQL prunes with at the
// start of execution. Only a miss (a resend of an older message, a
// delivery from before partitioning) pays for the unbounded join.
func (s *Store) loadDelivery(ctx context.Context, id int64, query func(near bool, lo, hi string) pgx.Row) (tenants.DeliveryJob, error) {
	at := tenants.DeliveryIDTime(id)
	lo, hi := tenants.IDBound(tenants.PrefixMessage, at.Add(-clockSkew), false), tenants.IDBound(tenants.PrefixMessage, at.Add(clockSkew+time.Second), false)
	j, err := scanDeliveryJob(query(true, lo, hi), id)
	if errors.Is(err, tenants.ErrNotFound) {
		j, err = scanDeliveryJob(query(false, "", ""), id)
	}
	return j, err
}

func scanDeliveryJob(row pgx.Row, id int64) (tenants.DeliveryJob, error) {
	var j tenants.DeliveryJob
	err := row.Scan(&j.ID, &j.TenantID, &j.AppID, &j.MsgID, &j.EndpointID, &j.Trigger, &j.Status, &j.Attempts, &j.NextAttemptAt,
		&j.EventType, &j.Payload, &j.MsgCreatedAt,
		&j.EndpointRevision, &j.EndpointDisabled, &j.EndpointDeleted, &j.FailingSince)
	if err != nil {
		return tenants.DeliveryJob{}, fmt.Errorf("load delivery %d: %w", id, translate(err))
	}
	return j, nil
}

// LoadDeliveryByID returns the job for delivery id, whichever tenant it
// belongs to, or ErrNotFound. It exists for the delivery worker alone: its
// tasks carry nothing but the id (a million queued tasks must stay small
// in Redis), there is no caller tenant to scope by, and the row itself
// names its tenant, which everything after this read is scoped by.
func (s *Store) LoadDeliveryByID(ctx context.Context, id int64) (tenants.DeliveryJob, error) {
	return s.loadDelivery(ctx, id, func(near bool, lo, hi string) pgx.Row {
		if near {
			return s.pg.QueryRow(ctx, loadDeliveryByIDNearSQL, id, lo, hi)
		}
		return s.pg.QueryRow(ctx, loadDeliveryByIDSQL, id)
	})
}

// SetDeliveryStatus ends a delivery without an attempt (its endpoint was
// deleted or disabled, or its payload expired).
func (s *Store) SetDeliveryStatus(ctx context.Context, tenantID string, id int64, st tenants.Status) error {
	_, err := s.pg.Exec(ctx, sqlConst(`UPDATE deliveries SET status = $3, next_attempt_at = NULL, updated_at = $4
		WHERE tenant_id = $1 AND id = $2 AND status = {pending}`), tenantID, id, st, s.Now())
	if err != nil {
		return fmt.Errorf("set delivery %d status: %w", id, translate(err))
	}
	return nil
}

// DueDeliveries returns pending deliveries whose next attempt is due by
// dueBy, in (next_attempt_at, id) order after the cursor (afterAt, afterID).
func (s *Store) DueDeliveries(ctx context.Context, afterAt time.Time, afterID int64, dueBy time.Time, limit int) ([]tenants.DueDelivery, error) {
	rows, err := s.pg.Query(ctx, dueDeliveriesSQL, afterAt, afterID, dueBy, limit)
	if err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tenants.DueDelivery])
	if err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", translate(err))
	}
	return out, nil
}

// PendingDeliveries returns pending deliveries in id order after afterID,
// due or not: the sweeper's full pass after Redis lost its data.
func (s *Store) PendingDeliveries(ctx context.Context, afterID int64, limit int) ([]tenants.DueDelivery, error) {
	rows, err := s.pg.Query(ctx, pendingDeliveriesSQL, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("find pending deliveries: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tenants.DueDelivery])
	if err != nil {
		return nil, fmt.Errorf("find pending deliveries: %w", translate(err))
	}
	return out, nil
}

// CountPendingDeliveries returns how many deliveries are pending and how
// many of those are overdue by more than lag.
func (s *Store) CountPendingDeliveries(ctx context.Context, lag time.Duration) (pending, overdue int64, err error) {
	err = s.pg.QueryRow(ctx, countPendingSQL,
		s.Now().Add(-lag)).Scan(&pending, &overdue)
	if err != nil {
		return 0, 0, fmt.Errorf("count pending deliveries: %w", translate(err))
	}
	return pending, overdue, nil
}

// ResendMessage creates a manual delivery of message msgRef to endpoint
// epRef, due now, and returns it. A message whose payload is gone is
// ErrMissingPayload.
func (s *Store) ResendMessage(ctx context.Context, tenantID, appID, msgRef, epRef string) (tenants.DueDelivery, error) {
	m, err := s.FindMessage(ctx, tenantID, appID, msgRef)
	if err != nil {
		return tenants.DueDelivery{}, err
	}
	if m.Payload == nil {
		return tenants.DueDelivery{}, tenants.ErrMissingPayload
	}
	e, err := s.FindEndpoint(ctx, tenantID, appID, epRef)
	if err != nil {
		return tenants.DueDelivery{}, err
	}
	now := s.Now()
	d := tenants.DueDelivery{TenantID: tenantID, EndpointID: e.ID, NextAttemptAt: now}
	err = s.pg.QueryRow(ctx, resendSQL, tenantID, appID, m.ID, e.ID, now).Scan(&d.ID)
	if err != nil {
		return tenants.DueDelivery{}, fmt.Errorf("resend %s to %s: %w", m.ID, e.ID, translate(err))
	}
	return d, nil
}

// RecoverEndpoint creates manual deliveries for every message of the
// window [since, until) whose delivery to the endpoint failed and never
// succeeded (nor is being retried), and returns their ids.
func (s *Store) RecoverEndpoint(ctx context.Context, tenantID, appID, epRef string, since, until time.Time) ([]int64, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, epRef)
	if err != nil {
		return nil, err
	}
	if err := tenants.CheckRecoverWindow(s.Now(), since, until); err != nil {
		return nil, err
	}
	now := s.Now()
	rows, err := s.pg.Query(ctx, recoverSQL, tenantID, e.ID, since, until, now)
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", e.ID, translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", e.ID, translate(err))
	}
	return ids, nil
}

// ReplayMissing creates manual deliveries for every message of the window
// that the endpoint's filters accept but that was never sent to it.
func (s *Store) ReplayMissing(ctx context.Context, tenantID, appID, epRef string, since, until time.Time) ([]int64, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, epRef)
	if err != nil {
		return nil, err
	}
	if err := tenants.CheckRecoverWindow(s.Now(), since, until); err != nil {
		return nil, err
	}
	now := s.Now()
	rows, err := s.pg.Query(ctx, replayMissingSQL, tenantID, appID, e.ID, since, until, now)
	if err != nil {
		return nil, fmt.Errorf("replay missing to %s: %w", e.ID, translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("replay missing to %s: %w", e.ID, translate(err))
	}
	return ids, nil
}

// RetryFailedDelivery puts a failed delivery back to pending, due now, for
// one more try (the operator's re-queue of a dead task). A delivery that is
// not failed is left alone and reported as ErrConflict.
func (s *Store) RetryFailedDelivery(ctx context.Context, tenantID string, id int64) error {
	tag, err := s.pg.Exec(ctx, retryFailedSQL, tenantID, id, s.Now())
	if err != nil {
		return fmt.Errorf("retry delivery %d: %w", id, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("retry delivery %d: not failed: %w", id, tenants.ErrConflict)
	}
	return nil
}

// The sweeper's and the replay routes' statements.
var (
	dueDeliveriesSQL = sqlConst(`SELECT id, tenant_id, endpoint_id, next_attempt_at FROM deliveries
		WHERE status = {pending} AND next_attempt_at <= $3 AND (next_attempt_at, id) > ($1, $2)
		ORDER BY next_attempt_at, id LIMIT $4`)
	pendingDeliveriesSQL = sqlConst(`SELECT id, tenant_id, endpoint_id, COALESCE(next_attempt_at, created_at) FROM deliveries
		WHERE status = {pending} AND id > $1 ORDER BY id LIMIT $2`)
	countPendingSQL = sqlConst(`SELECT count(*), count(*) FILTER (WHERE next_attempt_at < $1) FROM deliveries
		WHERE status = {pending}`)
	resendSQL = sqlConst(`INSERT INTO deliveries (id, tenant_id, app_id, msg_id, endpoint_id, trigger, status, next_attempt_at, created_at, updated_at)
		VALUES (` + deliveryIDSQL("$5::timestamptz") + `, $1, $2, $3, $4, {manual}, {pending}, $5, $5, $5) RETURNING id`)
	recoverSQL = sqlConst(`
INSERT INTO deliveries (id, tenant_id, app_id, msg_id, endpoint_id, trigger, status, next_attempt_at, created_at, updated_at)
SELECT ` + deliveryIDSQL("$5::timestamptz") + `, f.* FROM (
SELECT DISTINCT d.tenant_id, d.app_id, d.msg_id, d.endpoint_id, {manual}::smallint, {pending}::smallint, $5::timestamptz, $5::timestamptz AS c, $5::timestamptz AS u
FROM deliveries d JOIN messages m ON m.id = d.msg_id
WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.status = {fail} AND m.created_at >= $3 AND m.created_at < $4
	AND m.payload IS NOT NULL AND m.expires_at > $5
	AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.msg_id = d.msg_id AND o.endpoint_id = d.endpoint_id
		AND o.status IN ({success}, {pending}))) f
RETURNING id`)
	replayMissingSQL = sqlConst(`
INSERT INTO deliveries (id, tenant_id, app_id, msg_id, endpoint_id, trigger, status, next_attempt_at, created_at, updated_at)
SELECT ` + deliveryIDSQL("$6::timestamptz") + `, m.tenant_id, m.app_id, m.id, e.id, {manual}, {pending}, $6::timestamptz, $6::timestamptz, $6::timestamptz
FROM messages m JOIN endpoints e ON e.id = $3
WHERE m.tenant_id = $1 AND m.app_id = $2 AND m.created_at >= $4 AND m.created_at < $5 AND m.payload IS NOT NULL AND m.expires_at > $6
	AND ` + filterRule("e", "m.event_type", "m.channels") + `
	AND NOT EXISTS (SELECT 1 FROM deliveries o WHERE o.msg_id = m.id AND o.endpoint_id = e.id)
RETURNING id`)
	retryFailedSQL = sqlConst(`UPDATE deliveries SET status = {pending}, next_attempt_at = $3, updated_at = $3
		WHERE tenant_id = $1 AND id = $2 AND status = {fail}`)
)

// bulkReplaySQL creates one manual delivery for every message of the
// window already sent to the endpoint whose latest delivery there passes
// the filters. Messages with a delivery still in flight (pending or
// sending) are skipped, so a replay never doubles one, and running the same
// replay twice resends nothing twice while the first is in flight. Message
// ids are time-sortable, so the window is a range of deliveries_endpoint.
var bulkReplaySQL = sqlConst(`
INSERT INTO deliveries (id, tenant_id, app_id, msg_id, endpoint_id, trigger, status, next_attempt_at, created_at, updated_at)
SELECT ` + deliveryIDSQL("$3::timestamptz") + `, ld.tenant_id, ld.app_id, ld.msg_id, ld.endpoint_id, {manual}, {pending}, $3::timestamptz, $3::timestamptz, $3::timestamptz
FROM (
	SELECT DISTINCT ON (d.msg_id) d.tenant_id, d.app_id, d.msg_id, d.endpoint_id, d.status,
		bool_or(d.status IN ({pending}, {sending})) OVER (PARTITION BY d.msg_id) AS in_flight
	FROM deliveries d
	WHERE d.endpoint_id = $2 AND d.tenant_id = $1 AND d.msg_id >= $4 AND d.msg_id < $5
	ORDER BY d.msg_id, d.id DESC
) ld
JOIN messages m ON m.id = ld.msg_id
WHERE NOT ld.in_flight AND m.payload IS NOT NULL AND m.expires_at > $3
	AND ($6::smallint IS NULL OR ld.status = $6)
	AND ($7::text[] IS NULL OR m.event_type = ANY($7))
	AND ($8::text IS NULL OR jsonb_exists(m.channels, $8))
	AND ($9::jsonb IS NULL OR m.tags @> $9)
	AND ($10::int IS NULL OR COALESCE((SELECT CASE WHEN a.status_code = 0 THEN 0 ELSE a.status_code / 100 * 100 END
		FROM attempts a WHERE a.msg_id = ld.msg_id AND a.endpoint_id = ld.endpoint_id ORDER BY a.id DESC LIMIT 1), -1) = $10)
ORDER BY ld.msg_id
RETURNING id`)

// BulkReplay creates manual deliveries to an endpoint for the messages f
// selects (see bulkReplaySQL) and returns their ids, which the caller
// enqueues. The window may span at most MaxRecoverWindow; a bad window is
// an invalid error, an unknown endpoint ErrNotFound.
func (s *Store) BulkReplay(ctx context.Context, tenantID, appID, epRef string, f tenants.BulkReplayFilter) ([]int64, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, epRef)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if f.Until.IsZero() {
		f.Until = now
	}
	if err := tenants.CheckRecoverWindow(now, f.Since, f.Until); err != nil {
		return nil, err
	}
	var (
		status *int16
		types  []string
		ch     *string
		tag    *string
	)
	if f.Status != nil {
		v := int16(*f.Status)
		status = &v
	}
	if len(f.EventTypes) > 0 {
		types = f.EventTypes
	}
	if f.Channel != "" {
		ch = &f.Channel
	}
	if f.Tag != "" {
		v := jsonArg([]string{f.Tag})
		tag = &v
	}
	rows, err := s.pg.Query(ctx, bulkReplaySQL, tenantID, e.ID, now,
		tenants.IDBound(tenants.PrefixMessage, f.Since, false), tenants.IDBound(tenants.PrefixMessage, f.Until, false),
		status, types, ch, tag, f.StatusCodeClass)
	if err != nil {
		return nil, fmt.Errorf("bulk replay to %s: %w", e.ID, translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("bulk replay to %s: %w", e.ID, translate(err))
	}
	return ids, nil
}

// postponeSQL applies a batch of postponements in one statement; arrays
// keep its text, and so its prepared plan, the same for every batch size.
var postponeSQL = sqlConst(`
UPDATE deliveries d SET next_attempt_at = v.at, updated_at = $5
FROM unnest($1::text[], $2::bigint[], $3::int[], $4::timestamptz[]) AS v(tenant_id, id, attempts, at)
WHERE d.tenant_id = v.tenant_id AND d.id = v.id AND d.status = {pending} AND d.attempts = v.attempts
	AND d.id >= $6 AND d.id <= $7`)

// PostponeDeliveries stores the new next attempt time of each postponed
// delivery, so that the API and the portal show when it will really be
// tried, in one round trip whatever the batch's size. Each row is matched
// by its own tenant and id. Deliveries no longer pending, or tried since
// their postponement, are left alone. Safe for concurrent use.
func (s *Store) PostponeDeliveries(ctx context.Context, ps []tenants.Postponement) error {
	if len(ps) == 0 {
		return nil
	}
	tenantIDs, ids, attempts, at := make([]string, len(ps)), make([]int64, len(ps)), make([]int32, len(ps)), make([]time.Time, len(ps))
	for i, p := range ps {
		tenantIDs[i], ids[i], attempts[i], at[i] = p.TenantID, p.DeliveryID, int32(p.Attempts), p.At.UTC().Truncate(time.Microsecond)
	}
	// The id range prunes partitions before execution (see RecordAttempts).
	if _, err := s.pg.Exec(ctx, postponeSQL, tenantIDs, ids, attempts, at, s.Now(), slices.Min(ids), slices.Max(ids)); err != nil {
		return fmt.Errorf("postpone %d deliveries: %w", len(ps), translate(err))
	}
	return nil
}

// FindDeliveryStates returns the latest delivery state of each message
// (of the tenant, and of appID when set) with each of its endpoints,
// ordered by message and endpoint. Unknown ids are absent.
func (s *Store) FindDeliveryStates(ctx context.Context, tenantID, appID string, msgIDs []string) ([]tenants.DeliveryState, error) {
	if len(msgIDs) == 0 {
		return nil, nil
	}
	var w where
	w.and("tenant_id = %s AND msg_id = ANY(%s)", tenantID, msgIDs)
	if appID != "" {
		w.and("app_id = %s", appID)
	}
	rows, err := s.pg.Query(ctx, `SELECT DISTINCT ON (msg_id, endpoint_id) msg_id, endpoint_id, status, attempts, next_attempt_at
		FROM deliveries WHERE `+w.sql()+` ORDER BY msg_id, endpoint_id, id DESC`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("find delivery states: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tenants.DeliveryState])
	if err != nil {
		return nil, fmt.Errorf("find delivery states: %w", translate(err))
	}
	return out, nil
}

// FindPendingSummary summarises the tenant's pending deliveries.
func (s *Store) FindPendingSummary(ctx context.Context, tenantID string) (tenants.PendingSummary, error) {
	var p tenants.PendingSummary
	err := s.pg.QueryRow(ctx, sqlConst(`SELECT count(*), min(created_at), min(next_attempt_at) FROM deliveries
		WHERE tenant_id = $1 AND status = {pending}`), tenantID).Scan(&p.Pending, &p.OldestCreated, &p.NextAttemptAt)
	if err != nil {
		return p, fmt.Errorf("pending summary: %w", translate(err))
	}
	return p, nil
}

// FindMessageDestinations returns a page of the endpoints a message was
// sent (or is being sent) to, each with its latest delivery status there.
func (s *Store) FindMessageDestinations(ctx context.Context, tenantID, appID, msgID string, p tenants.ListParams) (tenants.Page[tenants.MessageDestination], error) {
	var inner where
	inner.and("tenant_id = %s AND app_id = %s AND msg_id = %s", tenantID, appID, msgID)
	if t, err := tenants.IDTime(tenants.PrefixMessage, msgID); err == nil {
		// Its deliveries were made from the message's time on (resends
		// later) and none in the future: the slices in between are read,
		// the others pruned.
		if lo, ok := s.deliveriesSince(ctx, t); ok {
			inner.and("id >= %s AND id < %s", lo, tenants.DeliveryIDFloor(s.Now().Add(clockSkew)))
		}
	}
	from := `(SELECT DISTINCT ON (endpoint_id) endpoint_id, status, next_attempt_at FROM deliveries
		WHERE ` + inner.sql() + ` ORDER BY endpoint_id, id DESC) AS ld JOIN endpoints e ON e.id = ld.endpoint_id`
	w := where{args: inner.args}
	pg, err := pageRows(ctx, s.pg, endpointCols+", ld.status, ld.next_attempt_at", from, &w, "e.id", p,
		func(r scanner) (tenants.MessageDestination, error) {
			var d tenants.MessageDestination
			err := r.Scan(append(endpointDest(&d.Endpoint), &d.Status, &d.NextAttemptAt)...)
			return d, err
		}, func(d *tenants.MessageDestination) string { return d.ID })
	if err != nil {
		return pg, fmt.Errorf("find destinations of %s: %w", msgID, err)
	}
	return pg, nil
}

// FindFailedDeliveries returns up to limit deliveries that failed for good,
// the latest first, each with its last attempt's error: the operator's
// dead letters (`hookline queues dead`). It reads every failed delivery's
// row, an operator's occasional query, not a hot path.
func (s *Store) FindFailedDeliveries(ctx context.Context, limit int) ([]tenants.FailedDelivery, error) {
	rows, err := s.pg.Query(ctx, sqlConst(`SELECT d.id, d.tenant_id, d.app_id, d.msg_id, d.endpoint_id, d.updated_at,
			COALESCE((SELECT CASE WHEN a.error <> '' THEN a.error ELSE 'HTTP ' || a.status_code END
				FROM attempts a WHERE a.msg_id = d.msg_id AND a.endpoint_id = d.endpoint_id ORDER BY a.id DESC LIMIT 1), '')
		FROM deliveries d WHERE d.status = {fail} ORDER BY d.updated_at DESC LIMIT $1`), limit)
	if err != nil {
		return nil, fmt.Errorf("find failed deliveries: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tenants.FailedDelivery])
	if err != nil {
		return nil, fmt.Errorf("find failed deliveries: %w", translate(err))
	}
	return out, nil
}
