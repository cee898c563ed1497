package tenants

import (
	"context"
	"fmt"
	"time"
)

// TenantMessageFilter narrows a search of a tenant's messages across its
// applications (the console's message log, and the portal's "failed"
// view when AppID is set).
type TenantMessageFilter struct {
	MessageFilter
	// AppID limits the search to one application when set.
	AppID string
	// Ref is a message id or an eventId.
	Ref string
	// Tag keeps messages carrying this tag.
	Tag string
	// Status keeps messages whose latest delivery to at least one endpoint
	// is in this state (a failure resent with success is no longer failed).
	Status *Status
}

// FindTenantMessages returns a page of a tenant's messages, newest first,
// across its applications.
func (s *Store) FindTenantMessages(ctx context.Context, tenantID string, f TenantMessageFilter) (Page[Message], error) {
	s.clampAfter(ctx, tenantID, &f.MessageFilter)
	q := s.q(ctx).Table("messages AS m").Select("m.*").Where("m.tenant_id = ?", tenantID)
	if f.AppID != "" {
		q = q.Where("m.app_id = ?", f.AppID)
	}
	if f.Ref != "" {
		if IsID(PrefixMessage, f.Ref) {
			q = q.Where("m.id = ?", f.Ref)
		} else {
			q = q.Where("m.event_id = ?", f.Ref)
		}
	}
	if f.Tag != "" {
		q = q.Where("jsonb_exists(m.tags, ?)", f.Tag)
	}
	if f.Status != nil {
		q = q.Where(`EXISTS (SELECT 1 FROM deliveries d WHERE d.tenant_id = m.tenant_id AND d.msg_id = m.id
			AND d.status = ? AND NOT EXISTS (SELECT 1 FROM deliveries d2
				WHERE d2.endpoint_id = d.endpoint_id AND d2.msg_id = d.msg_id AND d2.id > d.id))`, *f.Status)
	}
	q = f.messageConds(f.window(q, "m.id", PrefixMessage), "m")
	f.Desc = true
	pg, err := paginate(q, "m.id", f.ListParams, func(m *Message) string { return m.ID })
	if err != nil {
		return pg, fmt.Errorf("find tenant messages: %w", err)
	}
	now := s.Now()
	for i := range pg.Items {
		s.expirePayload(&pg.Items[i], now)
	}
	return pg, nil
}

// DeliveryState is where a message stands with one endpoint: the state of
// its latest delivery there.
type DeliveryState struct {
	MsgID         string
	EndpointID    string
	Status        Status
	Attempts      int
	NextAttemptAt *time.Time
}

// FindDeliveryStates returns the latest delivery state of each message
// (of the tenant, and of appID when set) with each of its endpoints,
// ordered by message and endpoint. Unknown ids are absent.
func (s *Store) FindDeliveryStates(ctx context.Context, tenantID, appID string, msgIDs []string) ([]DeliveryState, error) {
	if len(msgIDs) == 0 {
		return nil, nil
	}
	var out []DeliveryState
	q := s.q(ctx).Table("deliveries").
		Select("DISTINCT ON (msg_id, endpoint_id) msg_id, endpoint_id, status, attempts, next_attempt_at").
		Where("tenant_id = ? AND msg_id IN ?", tenantID, msgIDs)
	if appID != "" {
		q = q.Where("app_id = ?", appID)
	}
	if err := q.Order("msg_id, endpoint_id, id DESC").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("find delivery states: %w", translate(err))
	}
	return out, nil
}

// AttemptBucket counts a tenant's attempts in one time bucket.
type AttemptBucket struct {
	Start     time.Time
	Succeeded int64
	Failed    int64
}

// FindAttemptBuckets counts the tenant's attempts per bucket of width step
// from since until now, oldest first; buckets without attempts are
// present with zero counts.
func (s *Store) FindAttemptBuckets(ctx context.Context, tenantID string, since time.Time, step time.Duration) ([]AttemptBucket, error) {
	type row struct {
		B         int64
		Succeeded int64
		Failed    int64
	}
	var rows []row
	secs := int64(step / time.Second)
	if secs <= 0 {
		return nil, fmt.Errorf("attempt buckets: step %s: %w", step, Invalid("step", "must be at least a second"))
	}
	since = since.UTC().Truncate(step)
	err := s.q(ctx).Raw(sqlConst(`SELECT floor(extract(epoch FROM created_at - ?::timestamptz) / ?::bigint)::bigint AS b,
			count(*) FILTER (WHERE status = {success}) AS succeeded, count(*) FILTER (WHERE status = {fail}) AS failed
		FROM attempts WHERE tenant_id = ? AND id >= ? GROUP BY b`),
		since, secs, tenantID, IDBound(PrefixAttempt, since, false)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("attempt buckets: %w", translate(err))
	}
	n := int(s.Now().Sub(since)/step) + 1
	out := make([]AttemptBucket, n)
	for i := range out {
		out[i].Start = since.Add(time.Duration(i) * step)
	}
	for _, r := range rows {
		if r.B >= 0 && int(r.B) < n {
			out[r.B].Succeeded, out[r.B].Failed = r.Succeeded, r.Failed
		}
	}
	return out, nil
}

// TroubledEndpoint is an endpoint that is disabled or failing, with its
// application's name.
type TroubledEndpoint struct {
	Endpoint
	AppName string
}

// FindTroubledEndpoints returns up to limit of the tenant's endpoints that
// are disabled or failing, across applications, the longest failing first.
func (s *Store) FindTroubledEndpoints(ctx context.Context, tenantID string, limit int) ([]TroubledEndpoint, error) {
	var out []TroubledEndpoint
	err := s.q(ctx).Table("endpoints AS e").Select("e.*, a.name AS app_name").
		Joins("JOIN applications a ON a.id = e.app_id AND a.deleted_at IS NULL").
		Where("e.tenant_id = ? AND e.deleted_at IS NULL AND (e.disabled OR e.failing_since IS NOT NULL)", tenantID).
		Order("e.failing_since NULLS LAST, e.id").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("find troubled endpoints: %w", translate(err))
	}
	return out, nil
}

// PendingSummary is a tenant's share of the outbox: how many deliveries
// wait for a successful attempt and since when the oldest waits.
type PendingSummary struct {
	Pending       int64
	OldestCreated *time.Time
	NextAttemptAt *time.Time
}

// FindPendingSummary summarises the tenant's pending deliveries.
func (s *Store) FindPendingSummary(ctx context.Context, tenantID string) (PendingSummary, error) {
	var p PendingSummary
	err := s.pool.QueryRow(ctx, sqlConst(`SELECT count(*), min(created_at), min(next_attempt_at) FROM deliveries
		WHERE tenant_id = $1 AND status = {pending}`), tenantID).Scan(&p.Pending, &p.OldestCreated, &p.NextAttemptAt)
	if err != nil {
		return p, fmt.Errorf("pending summary: %w", translate(err))
	}
	return p, nil
}

// ScheduledSlack is how far ahead a pending delivery's next try must be
// for State to call it scheduled rather than pending (about to go).
const ScheduledSlack = 2 * time.Second

// State names the delivery state for people: succeeded, failed, sending,
// canceled, pending (due now) or scheduled (its next try is later than
// ScheduledSlack after now).
func (d DeliveryState) State(now time.Time) string {
	switch d.Status {
	case StatusSuccess:
		return "succeeded"
	case StatusFail:
		return "failed"
	case StatusSending:
		return "sending"
	case StatusCanceled:
		return "canceled"
	}
	if d.NextAttemptAt != nil && d.NextAttemptAt.After(now.Add(ScheduledSlack)) {
		return "scheduled"
	}
	return "pending"
}

// FindApplicationNames returns the names of the tenant's applications
// among ids (deleted ones included, so old messages still name theirs).
func (s *Store) FindApplicationNames(ctx context.Context, tenantID string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct{ ID, Name string }
	if err := s.q(ctx).Table("applications").Select("id, name").Where("tenant_id = ? AND id IN ?", tenantID, ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find application names: %w", translate(err))
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}
