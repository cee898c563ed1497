package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// appRef is an application's id and uid.
type appRef struct {
	ID  string
	UID *string
}

// AppUsageStats counts the messages each application received in
// [since, until), and what its destinations delivered and attempted then. refs name applications by id or uid; empty means every
// live application of the tenant. It returns the counts (in application id
// order) and the refs that named no live application of the tenant. One
// grouped count over messages_app (app, time-sortable id) answers it,
// reading no payload.
func (s *Store) AppUsageStats(ctx context.Context, tenantID string, refs []string, since, until time.Time) ([]tenants.AppUsage, []string, error) {
	if since.IsZero() || until.IsZero() {
		return nil, nil, tenants.Invalid("since", "since and until are required")
	}
	if !until.After(since) {
		return nil, nil, tenants.Invalid("until", "must be after since")
	}
	if until.Sub(since) > tenants.MaxStatsWindow {
		return nil, nil, tenants.Invalid("since", "the window may span at most 90 days")
	}
	var w where
	w.and("tenant_id = %s AND deleted_at IS NULL AND NOT system", tenantID)
	if len(refs) > 0 {
		w.and("(id = ANY(%s) OR uid = ANY(%s))", refs, refs)
	}
	rows, err := s.pg.Query(ctx, "SELECT id, uid FROM applications WHERE "+w.sql()+" ORDER BY id", w.args...)
	if err != nil {
		return nil, nil, fmt.Errorf("app usage stats: %w", translate(err))
	}
	apps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[appRef])
	if err != nil {
		return nil, nil, fmt.Errorf("app usage stats: %w", translate(err))
	}
	var unresolved []string
	for _, r := range refs {
		found := false
		for _, a := range apps {
			if a.ID == r || (a.UID != nil && *a.UID == r) {
				found = true
				break
			}
		}
		if !found {
			unresolved = append(unresolved, r)
		}
	}
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i] = a.ID
	}
	counts := make(map[string]int64, len(apps))
	rows, err = s.pg.Query(ctx, `SELECT app_id, count(*) FROM messages
		WHERE app_id = ANY($2) AND id >= $3 AND id < $4 AND tenant_id = $1 GROUP BY app_id`,
		tenantID, ids, tenants.IDBound(tenants.PrefixMessage, since, false), tenants.IDBound(tenants.PrefixMessage, until, false))
	if err != nil {
		return nil, nil, fmt.Errorf("app usage stats: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, nil, fmt.Errorf("app usage stats: %w", err)
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("app usage stats: %w", translate(err))
	}
	dests, err := s.destinationUsageByApp(ctx, tenantID, ids, since, until)
	if err != nil {
		return nil, nil, fmt.Errorf("app usage stats: %w", err)
	}
	out := make([]tenants.AppUsage, 0, len(apps))
	for _, a := range apps {
		out = append(out, tenants.AppUsage{AppID: a.ID, UID: a.UID, Messages: counts[a.ID], Destinations: dests[a.ID]})
	}
	return out, unresolved, nil
}

// AggregateEventTypes returns, for every event type a message of the
// tenant used since a time, or that an endpoint's or a destination's
// filter names, its usage (in name order). The message count is driven by the tenant's
// applications over messages_app, one id range per application.
func (s *Store) AggregateEventTypes(ctx context.Context, tenantID string, since time.Time) ([]tenants.EventTypeUsage, error) {
	rows, err := s.pg.Query(ctx, `
WITH used AS (
	SELECT m.event_type AS name, count(*) AS messages, count(DISTINCT m.app_id) AS apps
	FROM applications a JOIN messages m ON m.app_id = a.id AND m.id >= $2 AND m.tenant_id = $1
	WHERE a.tenant_id = $1 AND a.deleted_at IS NULL
	GROUP BY m.event_type
), subscribed AS (
	SELECT t.name, count(*) AS subscribers
	FROM (
		SELECT e.event_types FROM endpoints e
		WHERE e.tenant_id = $1 AND e.deleted_at IS NULL AND e.event_types IS NOT NULL
		UNION ALL
		SELECT d.event_types FROM destinations d
		WHERE d.tenant_id = $1 AND d.deleted_at IS NULL AND d.event_types IS NOT NULL
	) e, jsonb_array_elements_text(e.event_types) AS t(name)
	GROUP BY t.name
)
SELECT COALESCE(u.name, s.name), COALESCE(u.messages, 0), COALESCE(u.apps, 0), COALESCE(s.subscribers, 0)
FROM used u FULL JOIN subscribed s ON s.name = u.name
ORDER BY 1`, tenantID, tenants.IDBound(tenants.PrefixMessage, since, false))
	if err != nil {
		return nil, fmt.Errorf("aggregate event types: %w", translate(err))
	}
	defer rows.Close()
	var out []tenants.EventTypeUsage
	for rows.Next() {
		var u tenants.EventTypeUsage
		if err := rows.Scan(&u.Name, &u.Messages, &u.Apps, &u.Subscribers); err != nil {
			return nil, fmt.Errorf("aggregate event types: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregate event types: %w", translate(err))
	}
	return out, nil
}
