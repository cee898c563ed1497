package tenants

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// Message is one event a tenant sent to an application. Payload holds the
// bytes exactly as received and is delivered byte for byte; it is nil once
// expunged or past its retention.
type Message struct {
	ID        string `gorm:"primaryKey"`
	TenantID  string
	AppID     string
	EventID   *string
	EventType string
	Payload   []byte
	Channels  []string `gorm:"serializer:json"`
	Tags      []string `gorm:"serializer:json"`
	CreatedAt time.Time
	ExpiresAt time.Time
}

// MessageInput is a message to create.
type MessageInput struct {
	EventType string
	EventID   *string
	Payload   []byte
	Channels  []string
	Tags      []string
	Retention time.Duration
	// OnlyEndpoint restricts the fan-out to one endpoint (send-example).
	OnlyEndpoint string
}

// DefaultRetention is how long payloads are kept unless the message says.
const DefaultRetention = 90 * 24 * time.Hour

const createMessageSQL = `
WITH msg AS (
	INSERT INTO messages (id, tenant_id, app_id, event_id, event_type, payload, channels, tags, created_at, expires_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10)
	RETURNING id
), targets AS (
	SELECT e.id, e.tenant_id, e.app_id, e.revision, e.failing_since FROM endpoints e
	WHERE e.tenant_id = $2 AND e.app_id = $3 AND e.deleted_at IS NULL
		AND CASE WHEN $11::text IS NOT NULL THEN e.id = $11::text
			ELSE NOT e.disabled
				AND (e.event_types IS NULL OR e.event_types ? $5)
				AND (e.channels IS NULL OR ($7::jsonb IS NOT NULL
					AND e.channels ?| ARRAY(SELECT jsonb_array_elements_text($7::jsonb))))
			END
), ins AS (
	INSERT INTO deliveries (tenant_id, app_id, msg_id, endpoint_id, status, next_attempt_at, created_at, updated_at)
	SELECT t.tenant_id, t.app_id, msg.id, t.id, 1, $9, $9, $9 FROM msg, targets t ORDER BY t.id
	RETURNING id, endpoint_id
)
SELECT ins.id, ins.endpoint_id, t.revision, t.failing_since FROM ins JOIN targets t ON t.id = ins.endpoint_id ORDER BY ins.id`

// NewDelivery is a delivery CreateMessage just made, with what a worker
// in the same process needs to attempt it without reading it back.
type NewDelivery struct {
	ID               int64
	EndpointID       string
	EndpointRevision int64
	FailingSince     *time.Time
}

// CreateMessage stores the message and, in the same statement (hence the
// same transaction), one pending delivery per endpoint of the application
// that should receive it: not disabled or deleted, with no event-type
// filter or one naming the type, and with no channels or a channel in
// common with the message. It returns the new delivery ids, which the
// caller enqueues after the commit. A duplicate eventId is ErrConflict.
func (s *Store) CreateMessage(ctx context.Context, tenantID, appID string, in MessageInput) (Message, []int64, error) {
	m, ds, err := s.CreateMessageDeliveries(ctx, tenantID, appID, in)
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return m, ids, err
}

// CreateMessageDeliveries is CreateMessage returning each new delivery's
// endpoint state as the statement saw it.
func (s *Store) CreateMessageDeliveries(ctx context.Context, tenantID, appID string, in MessageInput) (Message, []NewDelivery, error) {
	now := s.Now()
	if in.Retention <= 0 {
		in.Retention = DefaultRetention
	}
	m := Message{
		ID: NewID(PrefixMessage, now), TenantID: tenantID, AppID: appID, EventID: in.EventID,
		EventType: in.EventType, Payload: in.Payload, Channels: normList(in.Channels), Tags: normList(in.Tags),
		CreatedAt: now, ExpiresAt: now.Add(in.Retention),
	}
	var channels, tags []byte
	if m.Channels != nil {
		channels = []byte(jsonArg(m.Channels))
	}
	if m.Tags != nil {
		tags = []byte(jsonArg(m.Tags))
	}
	var only *string
	if in.OnlyEndpoint != "" {
		only = &in.OnlyEndpoint
	}
	rows, err := s.pool.Query(ctx, createMessageSQL, m.ID, tenantID, appID, m.EventID, m.EventType,
		m.Payload, channels, tags, now, m.ExpiresAt, only)
	if err != nil {
		return Message{}, nil, fmt.Errorf("create message: %w", translate(err))
	}
	ds, err := pgx.CollectRows(rows, pgx.RowToStructByPos[NewDelivery])
	if err != nil {
		return Message{}, nil, fmt.Errorf("create message: %w", translate(err))
	}
	return m, ds, nil
}

// FindMessage returns the message of application appID whose id or eventId
// is ref, or ErrNotFound.
func (s *Store) FindMessage(ctx context.Context, tenantID, appID, ref string) (Message, error) {
	var m Message
	q := s.q(ctx).Where("tenant_id = ? AND app_id = ?", tenantID, appID)
	if IsID(PrefixMessage, ref) {
		q = q.Where("id = ?", ref)
	} else {
		q = q.Where("event_id = ?", ref)
	}
	if err := q.Take(&m).Error; err != nil {
		return Message{}, fmt.Errorf("find message %s: %w", ref, translate(err))
	}
	return m, nil
}

// MessageFilter narrows a message (or attempt) listing.
type MessageFilter struct {
	ListParams
	Channel    string
	EventTypes []string
	// Tag keeps messages carrying this tag; the partial GIN index
	// messages_tags serves it.
	Tag    string
	Before time.Time // created strictly before, when set
	After  time.Time // created strictly after, when set
}

// window applies created-time bounds to an id column: ids are
// time-sortable, so a time bound is an id bound and the primary key index
// serves both.
func (f MessageFilter) window(q *gorm.DB, col, prefix string) *gorm.DB {
	if !f.Before.IsZero() {
		q = q.Where(col+" < ?", IDBound(prefix, f.Before, false))
	}
	if !f.After.IsZero() {
		q = q.Where(col+" > ?", IDBound(prefix, f.After, true))
	}
	return q
}

// messageConds applies channel and event-type filters on a messages alias.
func (f MessageFilter) messageConds(q *gorm.DB, alias string) *gorm.DB {
	if f.Channel != "" {
		q = q.Where("jsonb_exists("+alias+".channels, ?)", f.Channel)
	}
	if len(f.EventTypes) > 0 {
		q = q.Where(alias+".event_type IN ?", f.EventTypes)
	}
	if f.Tag != "" {
		// Containment (not jsonb_exists) so that the GIN index with
		// jsonb_path_ops applies.
		q = q.Where(alias+".tags @> ?::jsonb", jsonArg([]string{f.Tag}))
	}
	return q
}

// FindMessages returns a page of an application's messages, newest first.
func (s *Store) FindMessages(ctx context.Context, tenantID, appID string, f MessageFilter) (Page[Message], error) {
	q := s.q(ctx).Table("messages AS m").Select("m.*").Where("m.tenant_id = ? AND m.app_id = ?", tenantID, appID)
	q = f.messageConds(f.window(q, "m.id", PrefixMessage), "m")
	f.Desc = true
	pg, err := paginate(q, "m.id", f.ListParams, func(m *Message) string { return m.ID })
	if err != nil {
		return pg, fmt.Errorf("find messages: %w", err)
	}
	return pg, nil
}

// ExpungeMessageContent drops a message's payload for good.
func (s *Store) ExpungeMessageContent(ctx context.Context, tenantID, appID, ref string) error {
	m, err := s.FindMessage(ctx, tenantID, appID, ref)
	if err != nil {
		return err
	}
	err = s.q(ctx).Model(&Message{}).Where("tenant_id = ? AND id = ?", tenantID, m.ID).Update("payload", nil).Error
	if err != nil {
		return fmt.Errorf("expunge message %s: %w", m.ID, translate(err))
	}
	return nil
}

// ExpirePayloads drops the payloads of messages past their retention, at
// most limit at a time, and returns how many it dropped.
func (s *Store) ExpirePayloads(ctx context.Context, limit int) (int64, error) {
	res := s.q(ctx).Exec(`UPDATE messages SET payload = NULL WHERE id IN (
		SELECT id FROM messages WHERE payload IS NOT NULL AND expires_at < ? LIMIT ?)`, s.Now(), limit)
	if res.Error != nil {
		return 0, fmt.Errorf("expire payloads: %w", translate(res.Error))
	}
	return res.RowsAffected, nil
}
