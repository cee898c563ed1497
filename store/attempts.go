package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/internal/jsonstr"
	"github.com/hookline/hookline/tenants"
)

// This file holds every statement on attempts: the recorder's batched
// write (which moves the attempts' deliveries on in the same statement),
// the listings, one attempt, and the counts over attempts.

// attemptCols are the columns scanAttempt reads, of an attempts alias a.
const attemptCols = `a.id, a.tenant_id, a.app_id, a.msg_id, a.endpoint_id, a.delivery_id, a.url, a.status, a.status_code,
	a.response, a.error, a.duration_ms, a.trigger, a.request_headers, a.created_at`

func scanAttempt(r scanner) (tenants.Attempt, error) {
	var a tenants.Attempt
	err := r.Scan(&a.ID, &a.TenantID, &a.AppID, &a.MsgID, &a.EndpointID, &a.DeliveryID, &a.URL, &a.Status, &a.StatusCode,
		&a.Response, &a.Error, &a.DurationMS, &a.Trigger, &a.RequestHeaders, &a.CreatedAt)
	return a, err
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
func (s *Store) RecordAttempts(ctx context.Context, results []tenants.AttemptResult) error {
	if len(results) == 0 {
		return nil
	}
	n := len(results)
	var (
		ids, tenantIDs, apps, msgs, eps, urls, errs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		deliveries                                  = make([]int64, n)
		statuses, triggers, newStatuses             = make([]int16, n), make([]int16, n), make([]int16, n)
		codes, durations                            = make([]int32, n), make([]int32, n)
		responses, headers                          = make([]*string, n), make([]*string, n)
		createdAt                                   = make([]time.Time, n)
		next                                        = make([]*time.Time, n)
	)
	health := &pgx.Batch{}
	now := s.Now()
	for i, r := range results {
		a := r.Attempt
		ids[i], tenantIDs[i], apps[i], msgs[i], eps[i], urls[i], errs[i] = a.ID, a.TenantID, a.AppID, a.MsgID, a.EndpointID, a.URL, a.Error
		deliveries[i] = a.DeliveryID
		statuses[i], triggers[i], newStatuses[i] = int16(a.Status), int16(a.Trigger), int16(r.Status)
		codes[i], durations[i] = int32(a.StatusCode), int32(a.DurationMS)
		responses[i] = a.Response
		if a.RequestHeaders != nil {
			hs := headersJSON(a.RequestHeaders)
			headers[i] = &hs
		}
		createdAt[i] = a.CreatedAt
		next[i] = r.NextAttemptAt
		switch r.Health {
		case tenants.HealthRecovered:
			health.Queue(`UPDATE endpoints SET failing_since = NULL WHERE tenant_id = $1 AND id = $2 AND failing_since IS NOT NULL`, a.TenantID, a.EndpointID)
		case tenants.HealthFailing:
			health.Queue(`UPDATE endpoints SET failing_since = $3 WHERE tenant_id = $1 AND id = $2 AND failing_since IS NULL`, a.TenantID, a.EndpointID, now)
		case tenants.HealthDisable:
			health.Queue(`UPDATE endpoints SET disabled = true, revision = revision + 1, updated_at = $3
				WHERE tenant_id = $1 AND id = $2 AND NOT disabled`, a.TenantID, a.EndpointID, now)
		}
	}
	// The batch's id range lets PostgreSQL prune deliveries' partitions
	// before execution (the ids inside unnest cannot), so only the slices
	// the batch touches are set up, not every one.
	args := []any{ids, tenantIDs, apps, msgs, eps, deliveries, urls, statuses, codes, responses, errs, durations,
		triggers, headers, createdAt, newStatuses, next, now, slices.Min(deliveries), slices.Max(deliveries)}
	var err error
	if health.Len() == 0 {
		_, err = s.hotPath().Exec(ctx, recordAttemptsSQL, args...)
	} else {
		err = s.InTx(ctx, func(tx *Store) error {
			if _, err := tx.pg.Exec(ctx, recordAttemptsSQL, args...); err != nil {
				return err
			}
			return tx.pg.SendBatch(ctx, health).Close()
		})
	}
	if err != nil {
		return fmt.Errorf("record %d attempts: %w", n, translate(err))
	}
	return nil
}

// attemptConds applies f to an attempts alias a (joining messages m when
// f filters on a message's fields).
func attemptConds(w *where, f tenants.AttemptFilter) (from string) {
	from = "attempts a"
	window(w, f.MessageFilter, "a.id", tenants.PrefixAttempt)
	if f.Status != nil {
		w.and("a.status = %s", *f.Status)
	}
	if f.StatusCodeClass != nil {
		if c := *f.StatusCodeClass; c == 0 {
			w.and("a.status_code = 0")
		} else {
			w.and("a.status_code >= %s AND a.status_code < %s", c, c+100)
		}
	}
	if f.EndpointID != "" {
		w.and("a.endpoint_id = %s", f.EndpointID)
	}
	if f.Channel != "" || len(f.EventTypes) > 0 || f.Tag != "" {
		from += " JOIN messages m ON m.id = a.msg_id"
		messageConds(w, f.MessageFilter, "m")
	}
	return from
}

func (s *Store) findAttempts(ctx context.Context, tenantID string, w *where, f tenants.AttemptFilter) (tenants.Page[tenants.Attempt], error) {
	s.clampAfter(ctx, tenantID, &f.MessageFilter)
	from := attemptConds(w, f)
	f.Desc = true
	pg, err := pageRows(ctx, s.pg, attemptCols, from, w, "a.id", f.ListParams, scanAttempt,
		func(a *tenants.Attempt) string { return a.ID })
	if err != nil {
		return pg, fmt.Errorf("find attempts: %w", err)
	}
	now, policy := s.Now(), s.RetentionPolicy()
	for i := range pg.Items {
		policy.HideResponse(&pg.Items[i], now)
	}
	return pg, nil
}

// FindAttemptsByEndpoint returns a page of an endpoint's attempts, newest
// first.
func (s *Store) FindAttemptsByEndpoint(ctx context.Context, tenantID, appID, endpointID string, f tenants.AttemptFilter) (tenants.Page[tenants.Attempt], error) {
	var w where
	w.and("a.tenant_id = %s AND a.app_id = %s AND a.endpoint_id = %s", tenantID, appID, endpointID)
	return s.findAttempts(ctx, tenantID, &w, f)
}

// FindAttemptsByMessage returns a page of a message's attempts, newest
// first.
func (s *Store) FindAttemptsByMessage(ctx context.Context, tenantID, appID, msgID string, f tenants.AttemptFilter) (tenants.Page[tenants.Attempt], error) {
	var w where
	w.and("a.tenant_id = %s AND a.app_id = %s AND a.msg_id = %s", tenantID, appID, msgID)
	if t, err := tenants.IDTime(tenants.PrefixMessage, msgID); err == nil {
		// A message's attempts come after it: partitions older than the
		// message need not be looked at.
		w.and("a.id >= %s", tenants.IDBound(tenants.PrefixAttempt, t.Add(-clockSkew), false))
	}
	return s.findAttempts(ctx, tenantID, &w, f)
}

// FindAttempt returns one attempt of a message, or ErrNotFound.
func (s *Store) FindAttempt(ctx context.Context, tenantID, appID, msgID, attemptID string) (tenants.Attempt, error) {
	a, err := scanAttempt(s.pg.QueryRow(ctx, "SELECT "+attemptCols+` FROM attempts a
		WHERE a.tenant_id = $1 AND a.app_id = $2 AND a.msg_id = $3 AND a.id = $4`, tenantID, appID, msgID, attemptID))
	if err != nil {
		return tenants.Attempt{}, fmt.Errorf("find attempt %s: %w", attemptID, translate(err))
	}
	if floor := s.retentionFloor(ctx, tenantID); !floor.IsZero() && !a.CreatedAt.After(floor) {
		return tenants.Attempt{}, fmt.Errorf("find attempt %s: past retention: %w", attemptID, tenants.ErrNotFound)
	}
	s.RetentionPolicy().HideResponse(&a, s.Now())
	return a, nil
}

// ExpungeAttemptContent drops the response body kept for an attempt.
func (s *Store) ExpungeAttemptContent(ctx context.Context, tenantID, appID, msgID, attemptID string) error {
	tag, err := s.pg.Exec(ctx, `UPDATE attempts SET response = NULL WHERE tenant_id = $1 AND app_id = $2 AND msg_id = $3 AND id = $4`,
		tenantID, appID, msgID, attemptID)
	if err != nil {
		return fmt.Errorf("expunge attempt %s: %w", attemptID, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("expunge attempt %s: %w", attemptID, tenants.ErrNotFound)
	}
	return nil
}

// FindEndpointMessages returns a page of the messages sent (or being sent)
// to an endpoint, newest first, each with its latest delivery status.
func (s *Store) FindEndpointMessages(ctx context.Context, tenantID, appID, endpointID string, f tenants.MessageFilter, status *tenants.Status) (tenants.Page[tenants.EndpointMessage], error) {
	s.clampAfter(ctx, tenantID, &f)
	var w where
	w.and("tenant_id = %s AND app_id = %s AND endpoint_id = %s", tenantID, appID, endpointID)
	if !f.After.IsZero() {
		// The window applies to the deliveries too: their messages' ids,
		// and their own (made no earlier than their message).
		w.and("msg_id > %s", tenants.IDBound(tenants.PrefixMessage, f.After, true))
		if lo, ok := s.deliveriesSince(ctx, f.After); ok {
			w.and("id >= %s AND id < %s", lo, tenants.DeliveryIDFloor(s.Now().Add(clockSkew)))
		}
	}
	from := `(SELECT DISTINCT ON (msg_id) msg_id, status, next_attempt_at FROM deliveries WHERE ` + w.sql() +
		` ORDER BY msg_id DESC, id DESC) AS ld JOIN messages m ON m.id = ld.msg_id`
	outer := where{args: w.args}
	window(&outer, f, "m.id", tenants.PrefixMessage)
	messageConds(&outer, f, "m")
	if status != nil {
		outer.and("ld.status = %s", *status)
	}
	f.Desc = true
	pg, err := pageRows(ctx, s.pg, messageCols+", ld.status, ld.next_attempt_at", from, &outer, "m.id", f.ListParams,
		func(r scanner) (tenants.EndpointMessage, error) {
			var em tenants.EndpointMessage
			m := &em.Message
			err := r.Scan(&m.ID, &m.TenantID, &m.AppID, &m.EventID, &m.EventType, &m.Payload, &m.Channels, &m.Tags,
				&m.CreatedAt, &m.ExpiresAt, &m.DeliverAt, &em.Status, &em.NextAttemptAt)
			return em, err
		}, func(em *tenants.EndpointMessage) string { return em.ID })
	if err != nil {
		return pg, fmt.Errorf("find messages of endpoint %s: %w", endpointID, err)
	}
	now := s.Now()
	for i := range pg.Items {
		pg.Items[i].HidePayloadPast(now)
	}
	return pg, nil
}

// FindEndpointStats returns an endpoint's counts for [since, until).
func (s *Store) FindEndpointStats(ctx context.Context, tenantID, endpointID string, since, until time.Time) (tenants.EndpointStats, error) {
	var st tenants.EndpointStats
	err := s.pg.QueryRow(ctx, endpointStatsSQL,
		tenantID, endpointID, tenants.IDBound(tenants.PrefixAttempt, since, false), tenants.IDBound(tenants.PrefixAttempt, until, false), since, until).
		Scan(&st.Success, &st.Fail, &st.Pending, &st.Canceled)
	if err != nil {
		return st, fmt.Errorf("endpoint %s stats: %w", endpointID, translate(err))
	}
	return st, nil
}

var endpointStatsSQL = sqlConst(`SELECT
	(SELECT count(*) FROM attempts WHERE tenant_id = $1 AND endpoint_id = $2 AND status = {success} AND id >= $3 AND id < $4),
	(SELECT count(*) FROM attempts WHERE tenant_id = $1 AND endpoint_id = $2 AND status = {fail} AND id >= $3 AND id < $4),
	(SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND status = {pending} AND created_at >= $5 AND created_at < $6),
	(SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND status = {canceled} AND created_at >= $5 AND created_at < $6)`)

// EndpointSuccessRates returns, for each endpoint of an application, the
// share of successful attempts since a time (absent: no attempts).
func (s *Store) EndpointSuccessRates(ctx context.Context, tenantID, appID string, since time.Time) (map[string]float64, error) {
	rows, err := s.pg.Query(ctx, sqlConst(`SELECT endpoint_id, count(*) FILTER (WHERE status = {success}), count(*)
		FROM attempts WHERE tenant_id = $1 AND app_id = $2 AND id >= $3 GROUP BY endpoint_id`),
		tenantID, appID, tenants.IDBound(tenants.PrefixAttempt, since, false))
	if err != nil {
		return nil, fmt.Errorf("success rates of %s: %w", appID, translate(err))
	}
	out := map[string]float64{}
	var (
		id        string
		ok, total int64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &ok, &total}, func() error {
		if total > 0 {
			out[id] = float64(ok) / float64(total)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("success rates of %s: %w", appID, translate(err))
	}
	return out, nil
}

// FindAttemptBuckets counts the tenant's attempts per bucket of width step
// from since until now, oldest first; buckets without attempts are
// present with zero counts.
func (s *Store) FindAttemptBuckets(ctx context.Context, tenantID string, since time.Time, step time.Duration) ([]tenants.AttemptBucket, error) {
	secs := int64(step / time.Second)
	if secs <= 0 {
		return nil, fmt.Errorf("attempt buckets: step %s: %w", step, tenants.Invalid("step", "must be at least a second"))
	}
	since = since.UTC().Truncate(step)
	rows, err := s.pg.Query(ctx, sqlConst(`SELECT floor(extract(epoch FROM created_at - $1::timestamptz) / $2::bigint)::bigint AS b,
			count(*) FILTER (WHERE status = {success}), count(*) FILTER (WHERE status = {fail})
		FROM attempts WHERE tenant_id = $3 AND id >= $4 GROUP BY b`),
		since, secs, tenantID, tenants.IDBound(tenants.PrefixAttempt, since, false))
	if err != nil {
		return nil, fmt.Errorf("attempt buckets: %w", translate(err))
	}
	n := int(s.Now().Sub(since)/step) + 1
	out := make([]tenants.AttemptBucket, n)
	for i := range out {
		out[i].Start = since.Add(time.Duration(i) * step)
	}
	var b, okN, failN int64
	_, err = pgx.ForEachRow(rows, []any{&b, &okN, &failN}, func() error {
		if b >= 0 && int(b) < n {
			out[b].Succeeded, out[b].Failed = okN, failN
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("attempt buckets: %w", translate(err))
	}
	return out, nil
}

// headersJSON is h as encoding/json writes a map[string]string (keys
// sorted), without its reflection: the recorder writes one per attempt, and
// json.Marshal spent two allocations a header on it.
func headersJSON(h map[string]string) string {
	var stack [24]string
	keys := stack[:0]
	size := 2
	for k, v := range h {
		keys = append(keys, k)
		size += len(k) + len(v) + 6
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, k)
		b = append(b, ':')
		b = jsonstr.Append(b, h[k])
	}
	b = append(b, '}')
	return string(b)
}
