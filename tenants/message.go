package tenants

import (
	"context"
	"fmt"
	"time"

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
	// DeliverAt, when set, is when the message was scheduled to go out.
	DeliverAt *time.Time
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
	// DeliverAt schedules the first attempts (nil: at once).
	DeliverAt *time.Time
}

// DefaultRetention is how long payloads are kept unless the message says.
const DefaultRetention = 90 * 24 * time.Hour

// NewDelivery is a delivery CreateMessage just made, with what a worker
// in the same process needs to attempt it without reading it back.
type NewDelivery struct {
	ID               int64
	EndpointID       string
	EndpointRevision int64
	FailingSince     *time.Time
}

// FindMessage returns the message of application appID whose id or eventId
// is ref, or ErrNotFound (also for a message past its tenant's retention).
// Its payload is nil once expunged or past its expiry. An eventId names
// the newest message carrying it: eventIds are unique per application
// within a partition (a day by default), not across partitions.
func (s *Store) FindMessage(ctx context.Context, tenantID, appID, ref string) (Message, error) {
	var m Message
	q := s.q(ctx).Where("tenant_id = ? AND app_id = ?", tenantID, appID)
	floor := s.retentionFloor(ctx, tenantID)
	if IsID(PrefixMessage, ref) {
		// The id alone prunes the scan to one partition.
		q = q.Where("id = ?", ref)
	} else {
		q = q.Where("event_id = ?", ref).Order("id DESC")
		if !floor.IsZero() {
			q = q.Where("id > ?", IDBound(PrefixMessage, floor, true))
		}
	}
	if err := q.Take(&m).Error; err != nil {
		return Message{}, fmt.Errorf("find message %s: %w", ref, translate(err))
	}
	if !floor.IsZero() && !m.CreatedAt.After(floor) {
		return Message{}, fmt.Errorf("find message %s: past retention: %w", ref, ErrNotFound)
	}
	s.expirePayload(&m, s.Now())
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
	s.clampAfter(ctx, tenantID, &f)
	q := s.q(ctx).Table("messages AS m").Select("m.*").Where("m.tenant_id = ? AND m.app_id = ?", tenantID, appID)
	q = f.messageConds(f.window(q, "m.id", PrefixMessage), "m")
	f.Desc = true
	pg, err := paginate(q, "m.id", f.ListParams, func(m *Message) string { return m.ID })
	if err != nil {
		return pg, fmt.Errorf("find messages: %w", err)
	}
	now := s.Now()
	for i := range pg.Items {
		s.expirePayload(&pg.Items[i], now)
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
