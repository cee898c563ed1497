package worker

import (
	"context"
	"time"
)

// HoldSlots puts deliveries into their lanes as a process that took them
// for itself (their slots held) and then died would leave them: only the
// slots' leases bring them back. Tests of that death use it.
func (c *Client) HoldSlots(ctx context.Context, tenantID, endpointID string, ids []int64) error {
	ops := make([]admitOp, len(ids))
	for i, id := range ids {
		ops[i] = admitOp{ID: id, EndpointID: endpointID, TenantID: tenantID, Due: time.Now(), Local: true}
	}
	_, err := c.lanes.admit(ctx, ops)
	return err
}

// Lease is how long a slot is held without a release.
func (c *Client) Lease() time.Duration { return c.lanes.lease }
