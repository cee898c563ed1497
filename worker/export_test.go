package worker

import (
	"context"

	"github.com/hookline/hookline/tenants"
)

// EnqueueBackups enqueues the deliveries of msgs as the Dispatcher does
// when this process's worker has reserved them all: as backup tasks, due
// only if the process dies before settling them. Tests simulate that
// death by never making the attempts.
func (c *Client) EnqueueBackups(ctx context.Context, msgs []tenants.CreatedMessage) error {
	var direct directBatch
	for _, m := range msgs {
		for _, d := range m.Deliveries {
			direct.add(d.ID, func() {})
		}
	}
	return c.enqueueMessages(ctx, msgs, nil, &direct)
}
