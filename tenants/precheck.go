package tenants

import (
	"context"
	"fmt"
)

// HasActiveEndpoint reports whether a message of eventType on channels
// would reach any endpoint of the application: one not disabled or
// deleted, whose event-type filter is absent or names the type, and whose
// channels are absent or share one with the message. These are the
// routing rules of CreateMessage.
func (s *Store) HasActiveEndpoint(ctx context.Context, tenantID, appID, eventType string, channels []string) (bool, error) {
	var ch *string
	if len(channels) > 0 {
		v := jsonArg(channels)
		ch = &v
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM endpoints e
		WHERE e.app_id = $2 AND e.tenant_id = $1 AND e.deleted_at IS NULL AND NOT e.disabled
			AND (e.event_types IS NULL OR e.event_types ? $3)
			AND (e.channels IS NULL OR ($4::jsonb IS NOT NULL
				AND e.channels ?| ARRAY(SELECT jsonb_array_elements_text($4::jsonb)))))`,
		tenantID, appID, eventType, ch).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("precheck %s: %w", appID, translate(err))
	}
	return ok, nil
}
