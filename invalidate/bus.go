package invalidate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kind names what changed.
type Kind string

// The kinds of change a cache can be told about. KindAll means "drop
// everything": sent to a subscriber when it (re)connects.
const (
	KindAPIKey      Kind = "api_key"      // ID: the key's id; revoked or changed
	KindPortalToken Kind = "portal_token" // ID: the application; its portal tokens revoked
	KindTenant      Kind = "tenant"       // status or plan changed (suspended, reactivated)
	KindApplication Kind = "application"  // ID: the application; changed or deleted
	KindEndpoint    Kind = "endpoint"     // ID: the endpoint; changed, disabled or deleted
	KindDestination Kind = "destination"  // ID: the application; a destination of it saved, skipped or retried
	KindAll         Kind = "all"
)

// Event is one change. TenantID is set for every kind but KindAll.
type Event struct {
	Kind     Kind   `json:"kind"`
	TenantID string `json:"tenant_id,omitempty"`
	ID       string `json:"id,omitempty"`
}

// Bus publishes and receives Events on one Redis channel per queue (so
// test namespaces and separate deployments sharing a Redis do not hear
// each other). Safe for concurrent use; the zero value is not usable.
type Bus struct {
	redis   redis.UniversalClient
	channel string
	log     *slog.Logger
}

// New returns a Bus for the deployment whose queue is queue, on rc
// (a single server, failover or cluster client alike).
func New(rc redis.UniversalClient, queue string, log *slog.Logger) *Bus {
	return &Bus{redis: rc, channel: "hookline:{" + queue + "}:invalidate", log: log}
}

// Publish tells every subscribed process about e. An error means Redis
// did not take it; callers log it and rely on the caches' TTL.
func (b *Bus) Publish(ctx context.Context, e Event) error {
	msg, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode invalidation: %w", err)
	}
	if err := b.redis.Publish(ctx, b.channel, msg).Err(); err != nil {
		return fmt.Errorf("publish invalidation %s: %w", e.Kind, err)
	}
	return nil
}

// Subscribe calls handle for every Event published from now on, from one
// goroutine, until ctx is canceled; it returns then. Each time the
// subscription is (re)established handle first gets KindAll, since events
// published while it was not may be lost. Connection errors are retried
// with a short pause; malformed messages are logged and skipped.
func (b *Bus) Subscribe(ctx context.Context, handle func(Event)) {
	ps := b.redis.Subscribe(ctx, b.channel)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks Receive
	defer func() {
		if stop() {
			_ = ps.Close()
		}
	}()
	for {
		v, err := ps.Receive(ctx)
		if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
			return
		}
		if err != nil {
			// go-redis reconnects and resubscribes on the next Receive.
			b.log.Warn("invalidation subscription interrupted; caches fall back to their TTL", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		switch m := v.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				handle(Event{Kind: KindAll})
			}
		case *redis.Message:
			var e Event
			if err := json.Unmarshal([]byte(m.Payload), &e); err != nil || e.Kind == "" {
				b.log.Warn("malformed invalidation message skipped", "err", err)
				continue
			}
			handle(e)
		}
	}
}
