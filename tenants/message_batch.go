package tenants

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MessageSpec is one message of a batch: whose, for which application.
type MessageSpec struct {
	TenantID string
	AppID    string
	In       MessageInput
}

// CreatedMessage is what CreateMessages made of one spec.
type CreatedMessage struct {
	Message    Message
	Deliveries []NewDelivery
}

// createMessagesSQL is createMessageSQL for a batch: the messages arrive as
// arrays (so the statement's text, and its prepared plan, do not depend on
// the batch size), each fans out to its application's matching endpoints,
// and everything is one statement — one round trip and one commit for the
// whole batch.
const createMessagesSQL = `
WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::jsonb[],
		$8::jsonb[], $9::timestamptz[], $10::timestamptz[])
		AS i(id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at)
), msg AS (
	INSERT INTO messages (id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at)
	SELECT id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at FROM input
	RETURNING id
), targets AS (
	SELECT i.id AS msg_id, i.created_at, e.id, e.tenant_id, e.app_id, e.revision, e.failing_since
	FROM input i JOIN endpoints e ON e.tenant_id = i.tenant_id AND e.app_id = i.app_id
	WHERE e.deleted_at IS NULL AND NOT e.disabled
		AND (e.event_types IS NULL OR e.event_types ? i.event_type)
		AND (e.channels IS NULL OR (i.channels IS NOT NULL
			AND e.channels ?| ARRAY(SELECT jsonb_array_elements_text(i.channels))))
), ins AS (
	INSERT INTO deliveries (tenant_id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
	SELECT t.tenant_id, t.app_id, t.msg_id, t.id, 1, t.created_at, t.created_at, t.created_at
	FROM targets t ORDER BY t.msg_id, t.id
	RETURNING id, msg_id, endpoint_id
)
SELECT ins.id, ins.msg_id, ins.endpoint_id, t.revision, t.failing_since
FROM ins JOIN targets t ON t.msg_id = ins.msg_id AND t.id = ins.endpoint_id
ORDER BY ins.id`

// CreateMessages stores a batch of messages and their deliveries in one
// statement: all or nothing. Any error (a duplicate eventId among them, a
// database failure) fails the whole batch; callers that need to know which
// message was at fault retry them one by one with CreateMessageDeliveries.
// Results are in the order of specs.
func (s *Store) CreateMessages(ctx context.Context, specs []MessageSpec) ([]CreatedMessage, error) {
	n := len(specs)
	if n == 0 {
		return nil, nil
	}
	now := s.Now()
	var (
		ids, tenantIDs, appIDs, types = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		eventIDs, channels, tags      = make([]*string, n), make([]*string, n), make([]*string, n)
		payloads                      = make([][]byte, n)
		created, expires              = make([]time.Time, n), make([]time.Time, n)
		out                           = make([]CreatedMessage, n)
		byID                          = make(map[string]int, n)
	)
	for i, sp := range specs {
		in := sp.In
		if in.Retention <= 0 {
			in.Retention = DefaultRetention
		}
		if in.OnlyEndpoint != "" {
			return nil, fmt.Errorf("create messages: a batch cannot target one endpoint")
		}
		// Ids minted in one go sort in batch order (same instant, random
		// tail): order by position is kept through byID below instead.
		m := Message{
			ID: NewID(PrefixMessage, now), TenantID: sp.TenantID, AppID: sp.AppID, EventID: in.EventID,
			EventType: in.EventType, Payload: in.Payload, Channels: normList(in.Channels), Tags: normList(in.Tags),
			CreatedAt: now, ExpiresAt: now.Add(in.Retention),
		}
		out[i].Message = m
		byID[m.ID] = i
		ids[i], tenantIDs[i], appIDs[i], types[i] = m.ID, m.TenantID, m.AppID, m.EventType
		eventIDs[i], payloads[i], created[i], expires[i] = m.EventID, m.Payload, m.CreatedAt, m.ExpiresAt
		if m.Channels != nil {
			c := jsonArg(m.Channels)
			channels[i] = &c
		}
		if m.Tags != nil {
			t := jsonArg(m.Tags)
			tags[i] = &t
		}
	}
	rows, err := s.pool.Query(ctx, createMessagesSQL, ids, tenantIDs, appIDs, eventIDs, types, payloads, channels, tags, created, expires)
	if err != nil {
		return nil, fmt.Errorf("create %d messages: %w", n, translate(err))
	}
	type row struct {
		NewDelivery
		MsgID string
	}
	res, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.ID, &x.MsgID, &x.EndpointID, &x.EndpointRevision, &x.FailingSince)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("create %d messages: %w", n, translate(err))
	}
	for _, r := range res {
		i := byID[r.MsgID]
		out[i].Deliveries = append(out[i].Deliveries, r.NewDelivery)
	}
	return out, nil
}
