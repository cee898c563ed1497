package tenants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Status is the state of a delivery (and of an attempt, which is success or
// fail), numbered as the Svix API numbers MessageStatus.
type Status int16

// Statuses.
const (
	StatusSuccess  Status = 0
	StatusPending  Status = 1
	StatusFail     Status = 2
	StatusSending  Status = 3
	StatusCanceled Status = 4
)

// String returns the status as the API spells it.
func (s Status) String() string {
	switch s {
	case StatusSuccess:
		return "success"
	case StatusPending:
		return "pending"
	case StatusFail:
		return "fail"
	case StatusSending:
		return "sending"
	case StatusCanceled:
		return "canceled"
	}
	return "unknown"
}

// Trigger says why an attempt was made.
type Trigger int16

// Triggers.
const (
	TriggerScheduled Trigger = 0
	TriggerManual    Trigger = 1
)

// DeliveryJob is what a worker needs to attempt one delivery, read in one
// query: the delivery's state, its message and the endpoint's live state.
// The endpoint's configuration (URL, headers, secrets) is cached by the
// worker and checked against EndpointRevision.
type DeliveryJob struct {
	ID            int64
	TenantID      string
	AppID         string
	MsgID         string
	EndpointID    string
	Trigger       Trigger
	Status        Status
	Attempts      int
	NextAttemptAt *time.Time
	EventType     string
	Payload       []byte // nil once expunged
	MsgCreatedAt  time.Time

	EndpointRevision int64
	EndpointDisabled bool
	EndpointDeleted  bool
	FailingSince     *time.Time
}

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
func (s *Store) LoadDelivery(ctx context.Context, tenantID string, id int64) (DeliveryJob, error) {
	return s.loadDelivery(ctx, id, func(near bool, lo, hi string) pgx.Row {
		if near {
			return s.pool.QueryRow(ctx, loadDeliveryNearSQL, tenantID, id, lo, hi)
		}
		return s.pool.QueryRow(ctx, loadDeliverySQL, tenantID, id)
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
func (s *Store) loadDelivery(ctx context.Context, id int64, query func(near bool, lo, hi string) pgx.Row) (DeliveryJob, error) {
	at := DeliveryIDTime(id)
	lo, hi := IDBound(PrefixMessage, at.Add(-clockSkew), false), IDBound(PrefixMessage, at.Add(clockSkew+time.Second), false)
	j, err := scanDeliveryJob(query(true, lo, hi), id)
	if errors.Is(err, ErrNotFound) {
		j, err = scanDeliveryJob(query(false, "", ""), id)
	}
	return j, err
}

func scanDeliveryJob(row pgx.Row, id int64) (DeliveryJob, error) {
	var j DeliveryJob
	err := row.Scan(&j.ID, &j.TenantID, &j.AppID, &j.MsgID, &j.EndpointID, &j.Trigger, &j.Status, &j.Attempts, &j.NextAttemptAt,
		&j.EventType, &j.Payload, &j.MsgCreatedAt,
		&j.EndpointRevision, &j.EndpointDisabled, &j.EndpointDeleted, &j.FailingSince)
	if err != nil {
		return DeliveryJob{}, fmt.Errorf("load delivery %d: %w", id, translate(err))
	}
	return j, nil
}

// LoadDeliveryByID returns the job for delivery id, whichever tenant it
// belongs to, or ErrNotFound. It exists for the delivery worker alone: its
// tasks carry nothing but the id (a million queued tasks must stay small
// in Redis), there is no caller tenant to scope by, and the row itself
// names its tenant, which everything after this read is scoped by.
func (s *Store) LoadDeliveryByID(ctx context.Context, id int64) (DeliveryJob, error) {
	return s.loadDelivery(ctx, id, func(near bool, lo, hi string) pgx.Row {
		if near {
			return s.pool.QueryRow(ctx, loadDeliveryByIDNearSQL, id, lo, hi)
		}
		return s.pool.QueryRow(ctx, loadDeliveryByIDSQL, id)
	})
}

// EndpointConfig is the part of an endpoint a worker caches: everything
// needed to send, keyed by Revision.
type EndpointConfig struct {
	ID            string
	TenantID      string
	Revision      int64
	URL           string
	Headers       map[string]string
	ThrottleRate  *int
	RetrySchedule []time.Duration // nil: the server's schedule
	Secrets       []string        // current first, then unexpired previous ones
	// SecretsValidUntil is when the earliest previous secret expires, so a
	// cache entry is not trusted past it.
	SecretsValidUntil time.Time
}

// LoadEndpointConfig reads an endpoint's sending configuration and
// decrypts its live secrets, in one round trip: a row per live secret
// (current first), or one row without a secret.
func (s *Store) LoadEndpointConfig(ctx context.Context, tenantID, endpointID string) (EndpointConfig, error) {
	now := s.Now()
	rows, err := s.pool.Query(ctx, `SELECT e.id, e.tenant_id, e.revision, e.url, e.headers, e.throttle_rate, e.retry_schedule,
			k.sealed, k.expires_at
		FROM endpoints e
		LEFT JOIN LATERAL (
			SELECT sealed, expires_at, id FROM endpoint_secrets
			WHERE endpoint_id = e.id AND (expires_at IS NULL OR expires_at > $3)
		) k ON true
		WHERE e.tenant_id = $1 AND e.id = $2
		ORDER BY k.expires_at IS NOT NULL, k.id DESC`, tenantID, endpointID, now)
	if err != nil {
		return EndpointConfig{}, fmt.Errorf("load endpoint %s: %w", endpointID, translate(err))
	}
	defer rows.Close()
	var (
		c       EndpointConfig
		headers []byte
		sched   []byte
		found   bool
	)
	c.SecretsValidUntil = now.Add(24 * time.Hour)
	for rows.Next() {
		var (
			sealed []byte
			exp    *time.Time
		)
		if err := rows.Scan(&c.ID, &c.TenantID, &c.Revision, &c.URL, &headers, &c.ThrottleRate, &sched, &sealed, &exp); err != nil {
			return EndpointConfig{}, fmt.Errorf("scan endpoint %s: %w", endpointID, err)
		}
		found = true
		if sealed == nil {
			continue // no live secret
		}
		plain, err := s.cipher.Open(sealed, []byte(endpointID))
		if err != nil {
			return EndpointConfig{}, fmt.Errorf("secret of %s: %w", endpointID, err)
		}
		c.Secrets = append(c.Secrets, string(plain))
		if exp != nil && exp.Before(c.SecretsValidUntil) {
			c.SecretsValidUntil = *exp
		}
	}
	if err := rows.Err(); err != nil {
		return EndpointConfig{}, fmt.Errorf("load endpoint %s: %w", endpointID, translate(err))
	}
	if !found {
		return EndpointConfig{}, fmt.Errorf("load endpoint %s: %w", endpointID, ErrNotFound)
	}
	if len(headers) > 0 {
		if err := json.Unmarshal(headers, &c.Headers); err != nil {
			return EndpointConfig{}, fmt.Errorf("endpoint %s headers: %w", endpointID, err)
		}
	}
	if len(sched) > 0 && string(sched) != "null" {
		var ms []int64
		if err := json.Unmarshal(sched, &ms); err != nil {
			return EndpointConfig{}, fmt.Errorf("endpoint %s retry schedule: %w", endpointID, err)
		}
		c.RetrySchedule = make([]time.Duration, len(ms))
		for i, v := range ms {
			c.RetrySchedule[i] = time.Duration(v) * time.Millisecond
		}
	}
	return c, nil
}

// EndpointHealth is what an attempt's outcome does to its endpoint's
// failure streak.
type EndpointHealth int

// Endpoint health changes.
const (
	HealthUnchanged EndpointHealth = iota
	HealthRecovered                // a success ends the streak
	HealthFailing                  // a failure starts one (if none is running)
	HealthDisable                  // failing too long: disable the endpoint
)

// AttemptResult is one finished attempt and what it does to its delivery.
type AttemptResult struct {
	Attempt Attempt
	// Status is the delivery's new status: success, pending (a retry is
	// due at NextAttemptAt) or fail (no more tries).
	Status        Status
	NextAttemptAt *time.Time
	Health        EndpointHealth
}

// recordAttemptsSQL stores a batch of attempts and moves their deliveries
// on, in one statement (so one round trip, atomic without a transaction of
// its own): the data-modifying CTE inserts the attempts, the outer UPDATE
// applies each delivery's new state. Arrays keep the statement's text, and
// so its prepared plan, the same whatever the batch size.
var recordAttemptsSQL = sqlConst(`
WITH ins AS (
	INSERT INTO attempts (id, tenant_id, app_id, msg_id, endpoint_id, delivery_id, url, status, status_code,
		response, error, duration_ms, trigger, request_headers, created_at)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
		$8::smallint[], $9::int[], $10::text[], $11::text[], $12::int[], $13::smallint[], $14::jsonb[], $15::timestamptz[])
)
UPDATE deliveries d SET
	status = CASE WHEN d.status = {success} THEN {success} ELSE v.status END,
	attempts = d.attempts + 1,
	next_attempt_at = CASE WHEN d.status = {success} OR v.status <> {pending} THEN NULL ELSE v.next END,
	succeeded_at = CASE WHEN d.status = {success} THEN d.succeeded_at WHEN v.status = {success} THEN $18::timestamptz ELSE NULL END,
	updated_at = $18::timestamptz
FROM unnest($6::bigint[], $2::text[], $16::smallint[], $17::timestamptz[]) AS v(id, tenant_id, status, next)
WHERE d.id = v.id AND d.tenant_id = v.tenant_id AND d.id >= $19 AND d.id <= $20`)

// RecordAttempts stores a batch of attempts and their deliveries' new state
// atomically, in one round trip (two, in a transaction, when an endpoint's
// health changes too). A delivery already marked success stays so (a
// duplicate task may finish after the first).
func (s *Store) RecordAttempts(ctx context.Context, results []AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	n := len(results)
	var (
		ids, tenants, apps, msgs, eps, urls, errs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		deliveries                                = make([]int64, n)
		statuses, triggers, newStatuses           = make([]int16, n), make([]int16, n), make([]int16, n)
		codes, durations                          = make([]int32, n), make([]int32, n)
		responses, headers                        = make([]*string, n), make([]*string, n)
		createdAt                                 = make([]time.Time, n)
		next                                      = make([]*time.Time, n)
	)
	health := &pgx.Batch{}
	now := s.Now()
	for i, r := range results {
		a := r.Attempt
		ids[i], tenants[i], apps[i], msgs[i], eps[i], urls[i], errs[i] = a.ID, a.TenantID, a.AppID, a.MsgID, a.EndpointID, a.URL, a.Error
		deliveries[i] = a.DeliveryID
		statuses[i], triggers[i], newStatuses[i] = int16(a.Status), int16(a.Trigger), int16(r.Status)
		codes[i], durations[i] = int32(a.StatusCode), int32(a.DurationMS)
		responses[i] = a.Response
		if a.RequestHeaders != nil {
			h, _ := json.Marshal(a.RequestHeaders)
			hs := string(h)
			headers[i] = &hs
		}
		createdAt[i] = a.CreatedAt
		next[i] = r.NextAttemptAt
		switch r.Health {
		case HealthRecovered:
			health.Queue(`UPDATE endpoints SET failing_since = NULL WHERE tenant_id = $1 AND id = $2 AND failing_since IS NOT NULL`, a.TenantID, a.EndpointID)
		case HealthFailing:
			health.Queue(`UPDATE endpoints SET failing_since = $3 WHERE tenant_id = $1 AND id = $2 AND failing_since IS NULL`, a.TenantID, a.EndpointID, now)
		case HealthDisable:
			health.Queue(`UPDATE endpoints SET disabled = true, revision = revision + 1, updated_at = $3
				WHERE tenant_id = $1 AND id = $2 AND NOT disabled`, a.TenantID, a.EndpointID, now)
		}
	}
	// The batch's id range lets PostgreSQL prune deliveries' partitions
	// before execution (the ids inside unnest cannot), so only the slices
	// the batch touches are set up, not every one.
	args := []any{ids, tenants, apps, msgs, eps, deliveries, urls, statuses, codes, responses, errs, durations,
		triggers, headers, createdAt, newStatuses, next, now, slices.Min(deliveries), slices.Max(deliveries)}
	var err error
	if health.Len() == 0 {
		_, err = s.pool.Exec(ctx, recordAttemptsSQL, args...)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, recordAttemptsSQL, args...); err != nil {
				return err
			}
			return tx.SendBatch(ctx, health).Close()
		})
	}
	if err != nil {
		return fmt.Errorf("record %d attempts: %w", n, translate(err))
	}
	return nil
}

// SetDeliveryStatus ends a delivery without an attempt (its endpoint was
// deleted or disabled, or its payload expired).
func (s *Store) SetDeliveryStatus(ctx context.Context, tenantID string, id int64, st Status) error {
	_, err := s.pool.Exec(ctx, sqlConst(`UPDATE deliveries SET status = $3, next_attempt_at = NULL, updated_at = $4
		WHERE tenant_id = $1 AND id = $2 AND status = {pending}`), tenantID, id, st, s.Now())
	if err != nil {
		return fmt.Errorf("set delivery %d status: %w", id, translate(err))
	}
	return nil
}

// DueDelivery is a pending delivery as the outbox sweeper sees it.
type DueDelivery struct {
	ID            int64
	TenantID      string
	NextAttemptAt time.Time
}

// DueDeliveries returns pending deliveries whose next attempt is due by
// dueBy, in (next_attempt_at, id) order after the cursor (afterAt, afterID).
func (s *Store) DueDeliveries(ctx context.Context, afterAt time.Time, afterID int64, dueBy time.Time, limit int) ([]DueDelivery, error) {
	rows, err := s.pool.Query(ctx, dueDeliveriesSQL, afterAt, afterID, dueBy, limit)
	if err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DueDelivery])
	if err != nil {
		return nil, fmt.Errorf("find due deliveries: %w", translate(err))
	}
	return out, nil
}

// PendingDeliveries returns pending deliveries in id order after afterID,
// due or not: the sweeper's full pass after Redis lost its data.
func (s *Store) PendingDeliveries(ctx context.Context, afterID int64, limit int) ([]DueDelivery, error) {
	rows, err := s.pool.Query(ctx, pendingDeliveriesSQL, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("find pending deliveries: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[DueDelivery])
	if err != nil {
		return nil, fmt.Errorf("find pending deliveries: %w", translate(err))
	}
	return out, nil
}

// CountPendingDeliveries returns how many deliveries are pending and how
// many of those are overdue by more than lag.
func (s *Store) CountPendingDeliveries(ctx context.Context, lag time.Duration) (pending, overdue int64, err error) {
	err = s.pool.QueryRow(ctx, countPendingSQL,
		s.Now().Add(-lag)).Scan(&pending, &overdue)
	if err != nil {
		return 0, 0, fmt.Errorf("count pending deliveries: %w", translate(err))
	}
	return pending, overdue, nil
}

// ResendMessage creates a manual delivery of message msgRef to endpoint
// epRef and returns its id. A message whose payload is gone is a 400
// "missing_payload".
func (s *Store) ResendMessage(ctx context.Context, tenantID, appID, msgRef, epRef string) (int64, error) {
	m, err := s.FindMessage(ctx, tenantID, appID, msgRef)
	if err != nil {
		return 0, err
	}
	if m.Payload == nil {
		return 0, &CodedError{Status: 400, Code: "missing_payload", Detail: "the message's payload has been expunged or has expired; it cannot be resent"}
	}
	e, err := s.FindEndpoint(ctx, tenantID, appID, epRef)
	if err != nil {
		return 0, err
	}
	now := s.Now()
	var id int64
	err = s.pool.QueryRow(ctx, resendSQL, tenantID, appID, m.ID, e.ID, now).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("resend %s to %s: %w", m.ID, e.ID, translate(err))
	}
	return id, nil
}

// MaxRecoverWindow bounds recover and replay-missing.
const MaxRecoverWindow = 14*24*time.Hour + 5*time.Minute

// RecoverEndpoint creates manual deliveries for every message of the
// window [since, until) whose delivery to the endpoint failed and never
// succeeded (nor is being retried), and returns their ids.
func (s *Store) RecoverEndpoint(ctx context.Context, tenantID, appID, epRef string, since, until time.Time) ([]int64, error) {
	e, err := s.FindEndpoint(ctx, tenantID, appID, epRef)
	if err != nil {
		return nil, err
	}
	if err := checkWindow(s.Now(), since, until); err != nil {
		return nil, err
	}
	now := s.Now()
	rows, err := s.pool.Query(ctx, recoverSQL, tenantID, e.ID, since, until, now)
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
	if err := checkWindow(s.Now(), since, until); err != nil {
		return nil, err
	}
	now := s.Now()
	rows, err := s.pool.Query(ctx, replayMissingSQL, tenantID, appID, e.ID, since, until, now)
	if err != nil {
		return nil, fmt.Errorf("replay missing to %s: %w", e.ID, translate(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("replay missing to %s: %w", e.ID, translate(err))
	}
	return ids, nil
}

func checkWindow(now, since, until time.Time) error {
	if since.IsZero() {
		return Invalid("since", "field required")
	}
	if !until.After(since) {
		return Invalid("until", "must be after since")
	}
	if until.Sub(since) > MaxRecoverWindow {
		return Invalid("since", "the window may span at most 14 days")
	}
	if since.After(now) {
		return Invalid("since", "must not be in the future")
	}
	return nil
}

// RetryFailedDelivery puts a failed delivery back to pending, due now, for
// one more try (the operator's re-queue of a dead task). A delivery that is
// not failed is left alone and reported as ErrConflict.
func (s *Store) RetryFailedDelivery(ctx context.Context, tenantID string, id int64) error {
	tag, err := s.pool.Exec(ctx, retryFailedSQL, tenantID, id, s.Now())
	if err != nil {
		return fmt.Errorf("retry delivery %d: %w", id, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("retry delivery %d: not failed: %w", id, ErrConflict)
	}
	return nil
}

// The sweeper's and the replay routes' statements.
var (
	dueDeliveriesSQL = sqlConst(`SELECT id, tenant_id, next_attempt_at FROM deliveries
		WHERE status = {pending} AND next_attempt_at <= $3 AND (next_attempt_at, id) > ($1, $2)
		ORDER BY next_attempt_at, id LIMIT $4`)
	pendingDeliveriesSQL = sqlConst(`SELECT id, tenant_id, COALESCE(next_attempt_at, created_at) FROM deliveries
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
