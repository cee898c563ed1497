package tenants

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MessageSpec is one message to create: whose, for which application, and
// the idempotency claim that goes with it.
type MessageSpec struct {
	TenantID string
	AppID    string
	In       MessageInput
	// Claim, when set, is written in the same statement as the message: a
	// key already held by a live claim makes the spec a Duplicate instead.
	Claim *IdempotencyClaim
}

// IdempotencyClaim is the idempotency key of a request that creates a
// message.
type IdempotencyClaim struct {
	// Key identifies the request (already scoped by tenant and route).
	Key []byte
	// Fingerprint identifies its body: the same key with another body is
	// a misuse, not a repeat.
	Fingerprint []byte
	// TTL is how long the key is remembered.
	TTL time.Duration
}

// CreatedMessage is what CreateMessages made of one spec.
type CreatedMessage struct {
	Message    Message
	Deliveries []NewDelivery
	// Duplicate is set when the spec's idempotency key was already
	// claimed: nothing was created, and Message is zero. The claim is read
	// with FindIdempotentMessage.
	Duplicate bool
}

// createMessagesSQL stores a batch of messages, their idempotency claims
// and their deliveries in one statement — one round trip, one commit. The
// messages arrive as arrays, so the statement's text (and its prepared
// plan) does not depend on the batch size. A message whose key is held by
// a live claim is left out: `claim` returns only the keys it inserted or
// took over from an expired claim, and `accepted` keeps the messages with
// no key or a key of their own. Concurrent writers of the same key
// serialise on its unique index; the later one sees the earlier commit and
// skips. Each message fans out to its application's endpoints by the one
// fan-out rule (or, for send-example, to its one endpoint).
var createMessagesSQL = sqlConst(`
WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::jsonb[],
		$8::jsonb[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::bytea[], $13::bytea[], $14::timestamptz[],
		$16::timestamptz[])
		AS i(id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at,
			only_endpoint, idem_key, idem_fp, idem_expires, deliver_at)
), claim AS (
	INSERT INTO idempotency_keys (key, tenant_id, fingerprint, msg_id, status_code, expires_at)
	SELECT idem_key, tenant_id, idem_fp, id, 202, idem_expires FROM input WHERE idem_key IS NOT NULL
	ON CONFLICT (key) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, fingerprint = EXCLUDED.fingerprint,
		msg_id = EXCLUDED.msg_id, status_code = EXCLUDED.status_code, expires_at = EXCLUDED.expires_at,
		locked_until = NULL, headers = NULL, body = NULL
	WHERE idempotency_keys.expires_at < $15
	RETURNING key
), accepted AS (
	SELECT * FROM input WHERE idem_key IS NULL OR idem_key IN (SELECT key FROM claim)
), msg AS (
	INSERT INTO messages (id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at, deliver_at)
	SELECT id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at, deliver_at FROM accepted
	RETURNING id
), targets AS (
	SELECT a.id AS msg_id, a.created_at, COALESCE(a.deliver_at, a.created_at) AS due, e.id, e.tenant_id, e.app_id, e.revision, e.failing_since
	FROM accepted a JOIN endpoints e ON e.tenant_id = a.tenant_id AND e.app_id = a.app_id
	WHERE CASE WHEN a.only_endpoint IS NOT NULL THEN e.id = a.only_endpoint AND e.deleted_at IS NULL
		ELSE ` + fanoutRule("e", "a.event_type", "a.channels") + ` END
), ins AS (
	INSERT INTO deliveries (id, tenant_id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
	SELECT ` + deliveryIDSQL("t.created_at") + `, t.tenant_id, t.app_id, t.msg_id, t.id, {pending}, t.due, t.created_at, t.created_at
	FROM targets t ORDER BY t.msg_id, t.id
	RETURNING id, msg_id, endpoint_id
)
SELECT ins.id, ins.msg_id, ins.endpoint_id, t.revision, t.failing_since, NULL::text
FROM ins JOIN targets t ON t.msg_id = ins.msg_id AND t.id = ins.endpoint_id
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, a.id FROM accepted a`)

// CreateMessages stores a batch of messages, their idempotency claims and
// their deliveries in one statement: all or nothing. Any error (a
// duplicate eventId among them, a database failure) fails the whole
// batch; callers that need to know which message was at fault retry them
// one by one. Specs sharing an idempotency key in one batch are the
// caller's to avoid (the statement keeps one and marks the others
// Duplicate). Results are in the order of specs.
func (s *Store) CreateMessages(ctx context.Context, specs []MessageSpec) ([]CreatedMessage, error) {
	n := len(specs)
	if n == 0 {
		return nil, nil
	}
	now := s.Now()
	var (
		ids, tenantIDs, appIDs, types = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		eventIDs, channels, tags      = make([]*string, n), make([]*string, n), make([]*string, n)
		only                          = make([]*string, n)
		payloads, idemKeys, idemFPs   = make([][]byte, n), make([][]byte, n), make([][]byte, n)
		created, expires              = make([]time.Time, n), make([]time.Time, n)
		idemExpires, deliverAt        = make([]*time.Time, n), make([]*time.Time, n)
		out                           = make([]CreatedMessage, n)
		byID                          = make(map[string]int, n)
	)
	for i, sp := range specs {
		in := sp.In
		if in.Retention <= 0 {
			in.Retention = DefaultRetention
		}
		// Ids minted in one go sort in batch order (same instant, random
		// tail): order by position is kept through byID below instead.
		m := Message{
			ID: NewID(PrefixMessage, now), TenantID: sp.TenantID, AppID: sp.AppID, EventID: in.EventID,
			EventType: in.EventType, Payload: in.Payload, Channels: normList(in.Channels), Tags: normList(in.Tags),
			CreatedAt: now, ExpiresAt: now.Add(in.Retention), DeliverAt: in.DeliverAt,
		}
		deliverAt[i] = in.DeliverAt
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
		if in.OnlyEndpoint != "" {
			only[i] = &in.OnlyEndpoint
		}
		if c := sp.Claim; c != nil {
			idemKeys[i], idemFPs[i] = c.Key, c.Fingerprint
			exp := now.Add(c.TTL)
			idemExpires[i] = &exp
		}
	}
	rows, err := s.pool.Query(ctx, createMessagesSQL, ids, tenantIDs, appIDs, eventIDs, types, payloads, channels, tags,
		created, expires, only, idemKeys, idemFPs, idemExpires, now, deliverAt)
	if err != nil {
		return nil, fmt.Errorf("create %d messages: %w", n, translate(err))
	}
	accepted := make([]bool, n)
	var (
		d         NewDelivery
		did       *int64
		msgID     *string
		epID      *string
		rev       *int64
		failing   *time.Time
		accepted1 *string
	)
	_, err = pgx.ForEachRow(rows, []any{&did, &msgID, &epID, &rev, &failing, &accepted1}, func() error {
		if accepted1 != nil {
			accepted[byID[*accepted1]] = true
			return nil
		}
		d = NewDelivery{ID: *did, EndpointID: *epID, EndpointRevision: *rev, FailingSince: failing}
		i := byID[*msgID]
		out[i].Deliveries = append(out[i].Deliveries, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create %d messages: %w", n, translate(err))
	}
	for i := range out {
		if !accepted[i] {
			out[i] = CreatedMessage{Duplicate: true}
		}
	}
	return out, nil
}

// CreateMessage stores one message and its deliveries (CreateMessages for
// a batch of one, without an idempotency claim) and returns the new
// delivery ids, which the caller enqueues after the commit. A duplicate
// eventId is ErrConflict.
func (s *Store) CreateMessage(ctx context.Context, tenantID, appID string, in MessageInput) (Message, []int64, error) {
	res, err := s.CreateMessages(ctx, []MessageSpec{{TenantID: tenantID, AppID: appID, In: in}})
	if err != nil {
		return Message{}, nil, err
	}
	ids := make([]int64, len(res[0].Deliveries))
	for i, d := range res[0].Deliveries {
		ids[i] = d.ID
	}
	return res[0].Message, ids, nil
}

// IdempotentMessage is the claim a message's idempotency key holds.
type IdempotentMessage struct {
	TenantID    string
	Fingerprint []byte
	MsgID       string
}

// FindIdempotentMessage returns the live claim of key, or ErrNotFound when
// there is none (it expired, or was never made). A claim made by another
// kind of request (one that stored its response instead of a message) is
// ErrConflict.
func (s *Store) FindIdempotentMessage(ctx context.Context, key []byte) (IdempotentMessage, error) {
	var (
		c     IdempotentMessage
		tid   *string
		msgID *string
	)
	err := s.pool.QueryRow(ctx, `SELECT tenant_id, fingerprint, msg_id FROM idempotency_keys WHERE key = $1 AND expires_at >= $2`,
		key, s.Now()).Scan(&tid, &c.Fingerprint, &msgID)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("find idempotency key: %w", ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("find idempotency key: %w", translate(err))
	}
	if msgID == nil {
		return c, fmt.Errorf("idempotency key held by another request: %w", ErrConflict)
	}
	c.MsgID = *msgID
	if tid != nil {
		c.TenantID = *tid
	}
	return c, nil
}
