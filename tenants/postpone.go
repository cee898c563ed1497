package tenants

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Postponement moves a pending delivery's next attempt to At without an
// attempt being made (its endpoint's circuit is open, or it is throttled).
// Attempts is the number of tries the delivery had when it was postponed:
// a delivery tried since then is left as its attempt set it.
type Postponement struct {
	TenantID   string
	DeliveryID int64
	Attempts   int
	At         time.Time
}

// postponeSQL applies a batch of postponements in one statement; arrays
// keep its text, and so its prepared plan, the same for every batch size.
var postponeSQL = sqlConst(`
UPDATE deliveries d SET next_attempt_at = v.at, updated_at = $5
FROM unnest($1::text[], $2::bigint[], $3::int[], $4::timestamptz[]) AS v(tenant_id, id, attempts, at)
WHERE d.tenant_id = v.tenant_id AND d.id = v.id AND d.status = {pending} AND d.attempts = v.attempts
	AND d.id >= $6 AND d.id <= $7`)

// PostponeDeliveries stores the new next attempt time of each postponed
// delivery, so that the API and the portal show when it will really be
// tried, in one round trip whatever the batch's size. Each row is matched
// by its own tenant and id. Deliveries no longer pending, or tried since
// their postponement, are left alone. Safe for concurrent use.
func (s *Store) PostponeDeliveries(ctx context.Context, ps []Postponement) error {
	if len(ps) == 0 {
		return nil
	}
	tenantIDs, ids, attempts, at := make([]string, len(ps)), make([]int64, len(ps)), make([]int32, len(ps)), make([]time.Time, len(ps))
	for i, p := range ps {
		tenantIDs[i], ids[i], attempts[i], at[i] = p.TenantID, p.DeliveryID, int32(p.Attempts), p.At.UTC().Truncate(time.Microsecond)
	}
	// The id range prunes partitions before execution (see RecordAttempts).
	if _, err := s.pool.Exec(ctx, postponeSQL, tenantIDs, ids, attempts, at, s.Now(), slices.Min(ids), slices.Max(ids)); err != nil {
		return fmt.Errorf("postpone %d deliveries: %w", len(ps), translate(err))
	}
	return nil
}
