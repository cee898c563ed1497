package tenants

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// MaxResponseChars is how much of a receiver's answer an attempt keeps.
const MaxResponseChars = 20000

// Attempt is the record of one HTTP request to an endpoint.
type Attempt struct {
	ID         string `gorm:"primaryKey"`
	TenantID   string
	AppID      string
	MsgID      string
	EndpointID string
	DeliveryID int64
	URL        string
	Status     Status // success or fail
	StatusCode int    // 0 when no response arrived
	Response   *string
	// Error says why an attempt without a response failed (timeout,
	// connection refused, blocked address…).
	Error          string
	DurationMS     int `gorm:"column:duration_ms"`
	Trigger        Trigger
	RequestHeaders map[string]string `gorm:"serializer:json"`
	CreatedAt      time.Time
}

// AttemptFilter narrows an attempt listing.
type AttemptFilter struct {
	MessageFilter
	Status          *Status
	StatusCodeClass *int // 0 (no response), 100, 200, 300, 400 or 500
	EndpointID      string
}

func (f AttemptFilter) apply(q *gorm.DB) *gorm.DB {
	q = f.window(q, "a.id", PrefixAttempt)
	if f.Status != nil {
		q = q.Where("a.status = ?", *f.Status)
	}
	if f.StatusCodeClass != nil {
		if c := *f.StatusCodeClass; c == 0 {
			q = q.Where("a.status_code = 0")
		} else {
			q = q.Where("a.status_code >= ? AND a.status_code < ?", c, c+100)
		}
	}
	if f.EndpointID != "" {
		q = q.Where("a.endpoint_id = ?", f.EndpointID)
	}
	if f.Channel != "" || len(f.EventTypes) > 0 || f.Tag != "" {
		q = q.Joins("JOIN messages m ON m.id = a.msg_id")
		q = f.messageConds(q, "m")
	}
	return q
}

func (s *Store) findAttempts(ctx context.Context, tenantID string, q *gorm.DB, f AttemptFilter) (Page[Attempt], error) {
	s.clampAfter(ctx, tenantID, &f.MessageFilter)
	q = f.apply(q)
	f.Desc = true
	pg, err := paginate(q, "a.id", f.ListParams, func(a *Attempt) string { return a.ID })
	if err != nil {
		return pg, fmt.Errorf("find attempts: %w", err)
	}
	now := s.Now()
	for i := range pg.Items {
		s.expireResponse(&pg.Items[i], now)
	}
	return pg, nil
}

// FindAttemptsByEndpoint returns a page of an endpoint's attempts, newest
// first.
func (s *Store) FindAttemptsByEndpoint(ctx context.Context, tenantID, appID, endpointID string, f AttemptFilter) (Page[Attempt], error) {
	q := s.q(ctx).Table("attempts AS a").Select("a.*").
		Where("a.tenant_id = ? AND a.app_id = ? AND a.endpoint_id = ?", tenantID, appID, endpointID)
	return s.findAttempts(ctx, tenantID, q, f)
}

// FindAttemptsByMessage returns a page of a message's attempts, newest
// first.
func (s *Store) FindAttemptsByMessage(ctx context.Context, tenantID, appID, msgID string, f AttemptFilter) (Page[Attempt], error) {
	q := s.q(ctx).Table("attempts AS a").Select("a.*").
		Where("a.tenant_id = ? AND a.app_id = ? AND a.msg_id = ?", tenantID, appID, msgID)
	if t, err := IDTime(PrefixMessage, msgID); err == nil {
		// A message's attempts come after it: partitions older than the
		// message need not be looked at.
		q = q.Where("a.id >= ?", IDBound(PrefixAttempt, t.Add(-clockSkew), false))
	}
	return s.findAttempts(ctx, tenantID, q, f)
}

// FindAttempt returns one attempt of a message, or ErrNotFound.
func (s *Store) FindAttempt(ctx context.Context, tenantID, appID, msgID, attemptID string) (Attempt, error) {
	var a Attempt
	err := s.q(ctx).Where("tenant_id = ? AND app_id = ? AND msg_id = ? AND id = ?", tenantID, appID, msgID, attemptID).Take(&a).Error
	if err != nil {
		return Attempt{}, fmt.Errorf("find attempt %s: %w", attemptID, translate(err))
	}
	if floor := s.retentionFloor(ctx, tenantID); !floor.IsZero() && !a.CreatedAt.After(floor) {
		return Attempt{}, fmt.Errorf("find attempt %s: past retention: %w", attemptID, ErrNotFound)
	}
	s.expireResponse(&a, s.Now())
	return a, nil
}

// ExpungeAttemptContent drops the response body kept for an attempt.
func (s *Store) ExpungeAttemptContent(ctx context.Context, tenantID, appID, msgID, attemptID string) error {
	res := s.q(ctx).Model(&Attempt{}).Where("tenant_id = ? AND app_id = ? AND msg_id = ? AND id = ?", tenantID, appID, msgID, attemptID).
		Update("response", nil)
	if res.Error != nil {
		return fmt.Errorf("expunge attempt %s: %w", attemptID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("expunge attempt %s: %w", attemptID, ErrNotFound)
	}
	return nil
}

// EndpointMessage is a message as seen from one endpoint: its latest
// delivery status there.
type EndpointMessage struct {
	Message
	Status        Status
	NextAttemptAt *time.Time
}

// FindEndpointMessages returns a page of the messages sent (or being sent)
// to an endpoint, newest first, each with its latest delivery status.
func (s *Store) FindEndpointMessages(ctx context.Context, tenantID, appID, endpointID string, f MessageFilter, status *Status) (Page[EndpointMessage], error) {
	s.clampAfter(ctx, tenantID, &f)
	latest := s.q(ctx).Table("deliveries").Select("DISTINCT ON (msg_id) msg_id, status, next_attempt_at").
		Where("tenant_id = ? AND app_id = ? AND endpoint_id = ?", tenantID, appID, endpointID).Order("msg_id DESC, id DESC")
	if !f.After.IsZero() {
		// The window applies to the deliveries too: their messages' ids,
		// and their own (made no earlier than their message).
		latest = latest.Where("msg_id > ?", IDBound(PrefixMessage, f.After, true))
		if lo, ok := s.deliveriesSince(ctx, f.After); ok {
			latest = latest.Where("id >= ? AND id < ?", lo, DeliveryIDFloor(s.Now().Add(clockSkew)))
		}
	}
	q := s.q(ctx).Table("(?) AS ld", latest).Select("m.*, ld.status, ld.next_attempt_at").
		Joins("JOIN messages m ON m.id = ld.msg_id")
	q = f.messageConds(f.window(q, "m.id", PrefixMessage), "m")
	if status != nil {
		q = q.Where("ld.status = ?", *status)
	}
	f.Desc = true
	pg, err := paginate(q, "m.id", f.ListParams, func(m *EndpointMessage) string { return m.ID })
	if err != nil {
		return pg, fmt.Errorf("find messages of endpoint %s: %w", endpointID, err)
	}
	now := s.Now()
	for i := range pg.Items {
		s.expirePayload(&pg.Items[i].Message, now)
	}
	return pg, nil
}

// MessageDestination is an endpoint as seen from one message: its latest
// delivery status there.
type MessageDestination struct {
	Endpoint
	Status        Status
	NextAttemptAt *time.Time
}

// FindMessageDestinations returns a page of the endpoints a message was
// sent (or is being sent) to.
func (s *Store) FindMessageDestinations(ctx context.Context, tenantID, appID, msgID string, p ListParams) (Page[MessageDestination], error) {
	latest := s.q(ctx).Table("deliveries").Select("DISTINCT ON (endpoint_id) endpoint_id, status, next_attempt_at").
		Where("tenant_id = ? AND app_id = ? AND msg_id = ?", tenantID, appID, msgID).Order("endpoint_id, id DESC")
	if t, err := IDTime(PrefixMessage, msgID); err == nil {
		// Its deliveries were made from the message's time on (resends
		// later) and none in the future: the slices in between are read,
		// the others pruned.
		if lo, ok := s.deliveriesSince(ctx, t); ok {
			latest = latest.Where("id >= ? AND id < ?", lo, DeliveryIDFloor(s.Now().Add(clockSkew)))
		}
	}
	q := s.q(ctx).Table("(?) AS ld", latest).Select("e.*, ld.status, ld.next_attempt_at").
		Joins("JOIN endpoints e ON e.id = ld.endpoint_id")
	pg, err := paginate(q, "e.id", p, func(d *MessageDestination) string { return d.ID })
	if err != nil {
		return pg, fmt.Errorf("find destinations of %s: %w", msgID, err)
	}
	return pg, nil
}

// EndpointStats counts an endpoint's attempts (success, fail) and
// deliveries still pending or canceled within a window.
type EndpointStats struct {
	Success, Pending, Sending, Fail, Canceled int64
}

// FindEndpointStats returns an endpoint's counts for [since, until).
func (s *Store) FindEndpointStats(ctx context.Context, tenantID, endpointID string, since, until time.Time) (EndpointStats, error) {
	var st EndpointStats
	err := s.pool.QueryRow(ctx, endpointStatsSQL,
		tenantID, endpointID, IDBound(PrefixAttempt, since, false), IDBound(PrefixAttempt, until, false), since, until).
		Scan(&st.Success, &st.Fail, &st.Pending, &st.Canceled)
	if err != nil {
		return st, fmt.Errorf("endpoint %s stats: %w", endpointID, translate(err))
	}
	return st, nil
}

// EndpointSuccessRates returns, for each endpoint of an application, the
// share of successful attempts since a time (absent: no attempts).
func (s *Store) EndpointSuccessRates(ctx context.Context, tenantID, appID string, since time.Time) (map[string]float64, error) {
	type row struct {
		EndpointID string
		Ok, Total  int64
	}
	var rows []row
	err := s.q(ctx).Raw(sqlConst(`SELECT endpoint_id, count(*) FILTER (WHERE status = {success}) AS ok, count(*) AS total
		FROM attempts WHERE tenant_id = ? AND app_id = ? AND id >= ? GROUP BY endpoint_id`),
		tenantID, appID, IDBound(PrefixAttempt, since, false)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("success rates of %s: %w", appID, translate(err))
	}
	out := make(map[string]float64, len(rows))
	for _, r := range rows {
		if r.Total > 0 {
			out[r.EndpointID] = float64(r.Ok) / float64(r.Total)
		}
	}
	return out, nil
}

var endpointStatsSQL = sqlConst(`SELECT
	(SELECT count(*) FROM attempts WHERE tenant_id = $1 AND endpoint_id = $2 AND status = {success} AND id >= $3 AND id < $4),
	(SELECT count(*) FROM attempts WHERE tenant_id = $1 AND endpoint_id = $2 AND status = {fail} AND id >= $3 AND id < $4),
	(SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND status = {pending} AND created_at >= $5 AND created_at < $6),
	(SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND status = {canceled} AND created_at >= $5 AND created_at < $6)`)
