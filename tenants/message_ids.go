package tenants

import (
	"context"
	"fmt"
	"slices"
)

// FindMessagesByID returns the messages of application appID among ids,
// keyed by id; ids that name no such message are absent from the map. It
// serves attempt listings that embed their messages (with_msg), so ids is
// at most a page long.
func (s *Store) FindMessagesByID(ctx context.Context, tenantID, appID string, ids []string) (map[string]Message, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var ms []Message
	if err := s.q(ctx).Where("tenant_id = ? AND app_id = ? AND id IN ?", tenantID, appID, ids).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("find messages by id: %w", translate(err))
	}
	out := make(map[string]Message, len(ms))
	floor, now := s.retentionFloor(ctx, tenantID), s.Now()
	for _, m := range ms {
		if !floor.IsZero() && !m.CreatedAt.After(floor) {
			continue
		}
		s.expirePayload(&m, now)
		out[m.ID] = m
	}
	return out, nil
}
