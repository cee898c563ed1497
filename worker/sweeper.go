package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/tenants"
)

// sweeper is the outbox's safety net. One process at a time holds its
// lease (a PostgreSQL advisory lock). Each pass it finds pending
// deliveries that are due (plus a grace period for the normal path) and
// admits those that are in no lane: deliveries committed while Redis was
// down, or whose process died between commit and admission.
//
// Redis may also lose everything (a restart without persistence). The
// sweeper keeps an epoch key in Redis; when it disappears, a full pass
// admits every pending delivery again, retries scheduled for later
// included, at the time PostgreSQL holds for each. A full pass also runs
// periodically, in case Redis dropped keys some other way.
type sweeper struct {
	store     Store
	client    *Client
	redis     redis.UniversalClient
	log       *slog.Logger
	obs       Observer
	interval  time.Duration
	grace     time.Duration
	fullEvery time.Duration
	now       func() time.Time

	// watermark is how far the incremental pass has looked: every pending
	// delivery due at or before it has been checked.
	markAt   time.Time
	markID   int64
	lastFull time.Time
	epoch    string
}

const sweepBatch = 1000

func (s *sweeper) run(ctx context.Context) {
	var lease tenants.Lease
	defer func() {
		if lease != nil {
			lease.Release()
		}
	}()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	lastHousekeeping := time.Time{}
	for {
		if lease == nil {
			l, err := s.store.TryLease(ctx, "outbox-sweeper")
			if err != nil && ctx.Err() == nil {
				s.log.Warn("sweeper: cannot take lease", "err", err)
			}
			if l != nil {
				lease = l
				s.lastFull = time.Time{} // a new leader starts with a full pass
				s.log.Info("sweeper: lease taken; this process sweeps the outbox")
			}
		} else if !lease.Alive(ctx) {
			lease.Release()
			lease = nil
			s.log.Warn("sweeper: lease lost")
		}
		if lease != nil {
			s.pass(ctx)
			if s.now().Sub(lastHousekeeping) > time.Minute {
				s.housekeeping(ctx)
				lastHousekeeping = s.now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pass runs one sweep; errors are logged and the next pass tries again.
func (s *sweeper) pass(ctx context.Context) {
	full, err := s.redisWasReset(ctx)
	if err != nil {
		// Redis is down: nothing can be enqueued until it returns.
		return
	}
	if full || s.now().Sub(s.lastFull) >= s.fullEvery {
		started := s.now()
		if err := s.fullPass(ctx); err != nil {
			s.log.Warn("sweeper: full pass failed", "err", err)
			return
		}
		s.lastFull = started
		s.markAt, s.markID = started.Add(-s.grace), 0
		return
	}
	if err := s.incrementalPass(ctx); err != nil {
		s.log.Warn("sweeper: pass failed", "err", err)
	}
}

// redisWasReset reports whether Redis lost its data since the last pass,
// by way of an epoch key this process set. The key shares the queue's
// hash tag, so on a Redis Cluster it lives on the node that holds the
// queue and is lost exactly when the queue is.
func (s *sweeper) redisWasReset(ctx context.Context) (bool, error) {
	key := s.client.lanes.prefix + "epoch"
	cur, err := s.redis.Get(ctx, key).Result()
	if err != nil && err != redis.Nil {
		return false, err
	}
	if err == redis.Nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		fresh := hex.EncodeToString(b[:])
		ok, err := s.redis.SetNX(ctx, key, fresh, 0).Result()
		if err != nil {
			return false, err
		}
		if ok {
			if s.epoch != "" {
				s.log.Warn("sweeper: Redis lost its data; admitting every pending delivery into its lane again")
			}
			s.epoch = fresh
			return true, nil
		}
		cur, _ = s.redis.Get(ctx, key).Result()
	}
	if cur != s.epoch {
		reset := s.epoch != ""
		s.epoch = cur
		return reset, nil
	}
	return false, nil
}

func (s *sweeper) incrementalPass(ctx context.Context) error {
	dueBy := s.now().Add(-s.grace)
	for {
		batch, err := s.store.DueDeliveries(ctx, s.markAt, s.markID, dueBy, sweepBatch)
		if err != nil {
			return err
		}
		if err := s.restore(ctx, batch); err != nil {
			return err
		}
		if len(batch) > 0 {
			last := batch[len(batch)-1]
			s.markAt, s.markID = last.NextAttemptAt, last.ID
		}
		if len(batch) < sweepBatch {
			return nil
		}
	}
}

func (s *sweeper) fullPass(ctx context.Context) error {
	var after int64
	for {
		batch, err := s.store.PendingDeliveries(ctx, after, sweepBatch)
		if err != nil {
			return err
		}
		if err := s.restore(ctx, batch); err != nil {
			return err
		}
		if len(batch) < sweepBatch {
			return nil
		}
		after = batch[len(batch)-1].ID
	}
}

// restore admits the deliveries among batch that are in no lane, each due
// at the time PostgreSQL holds for it.
func (s *sweeper) restore(ctx context.Context, batch []tenants.DueDelivery) error {
	if len(batch) == 0 {
		return nil
	}
	eps := make([]string, len(batch))
	ids := make([]int64, len(batch))
	for i, d := range batch {
		eps[i], ids[i] = d.EndpointID, d.ID
	}
	missing, err := s.client.lanes.missing(ctx, eps, ids)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	ds := make([]tenants.DueDelivery, len(missing))
	for i, k := range missing {
		ds[i] = batch[k]
	}
	if err := s.client.admitDue(ctx, ds); err != nil {
		return err
	}
	s.obs.Reenqueued(len(ds))
	s.log.Info("sweeper: admitted deliveries missing from their lanes", "count", len(ds))
	return nil
}

// housekeeping drops expired payloads and idempotency records.
func (s *sweeper) housekeeping(ctx context.Context) {
	for range 20 {
		n, err := s.store.ExpirePayloads(ctx, 1000)
		if err != nil || n < 1000 {
			break
		}
	}
	for range 20 {
		n, err := s.store.DeleteExpiredIdempotencyKeys(ctx, 1000)
		if err != nil || n < 1000 {
			break
		}
	}
}
