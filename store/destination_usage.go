package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// What destinations deliver, for billing and the statistics (migration
// 0020): one destination_usage row per FIFO or RabbitMQ batch accepted, and
// per poll of a polling endpoint that returned messages no poll had
// returned before. Each row is written in the transaction that moves the
// destination on, so a batch sent again or a message read again is never
// recorded twice; billing (usage.go) counts the rows' messages as it counts
// successful deliveries.

// recordSent records the messages of d's batch that attempt a delivered.
// It runs in FinishSenderBatch's transaction, after the update that moved
// d past the batch: a batch is accepted, and recorded, once.
func (s *Store) recordSent(ctx context.Context, d tenants.Destination, a tenants.DestinationAttempt) error {
	if a.NumEvents == 0 { // the batch's messages were gone (retention): nothing delivered
		return nil
	}
	if _, err := s.pg.Exec(ctx, `INSERT INTO destination_usage (tenant_id, app_id, destination_id, batch_id, messages, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, d.TenantID, d.AppID, d.ID, a.BatchID, a.NumEvents, a.CreatedAt); err != nil {
		return fmt.Errorf("record destination usage: %w", translate(err))
	}
	return nil
}

// recordPolledSQL moves a polling endpoint's high-water mark to the last
// position a poll returned and records, in the same statement, how many of
// the returned messages lay past the old mark: those are delivered for the
// first time. The destination's row is locked first, so concurrent polls
// (two consumers) count each message once between them — FOR NO KEY
// UPDATE, not FOR UPDATE: each poll's write of its consumer's row takes a
// KEY SHARE lock on the destination (the foreign key), and two polls each
// holding one and waiting for FOR UPDATE deadlocked (1 run in 7). $5 and $6 are the
// returned positions, in order.
const recordPolledSQL = `WITH old AS (
	SELECT polled_tx, COALESCE(polled_id, '') AS polled_id FROM destinations WHERE id = $1 AND tenant_id = $2 FOR NO KEY UPDATE
), fresh AS (
	SELECT count(*) AS n FROM old, unnest($5::text[], $6::text[]) AS u(tx, id)
	WHERE old.polled_tx IS NULL OR (u.tx::xid8, u.id) > (old.polled_tx, old.polled_id)
), moved AS (
	UPDATE destinations d SET polled_tx = $3::text::xid8, polled_id = $4 FROM fresh WHERE d.id = $1 AND fresh.n > 0
)
INSERT INTO destination_usage (tenant_id, app_id, destination_id, messages, created_at)
SELECT $2, $7, $1, n, $8 FROM fresh WHERE n > 0`

// recordPolled bills the messages a poll of d returned that no poll had
// returned before (see recordPolledSQL). A poll that returned nothing
// costs no statement.
//
// Why "first returned by any poll": a polling endpoint is one target, as an
// endpoint is, however many consumers read it; reading again (a second
// consumer, a seek back, a client-held iterator replayed) is the
// customer's own re-reading and is not a new delivery. A message is billed
// when first handed out, whether or not the consumer then processes it,
// as an endpoint's 2xx is. Messages a query filter (event_type, channel on
// the client-held iterator) stepped over below the mark are never billed.
func (s *Store) recordPolled(ctx context.Context, d tenants.Destination, msgs []tenants.PollMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	txs, ids := make([]string, len(msgs)), make([]string, len(msgs))
	for i, m := range msgs {
		txs[i], ids[i] = txText(m.Pos.Tx), m.Pos.ID
	}
	last := msgs[len(msgs)-1].Pos
	if _, err := s.pg.Exec(ctx, recordPolledSQL, d.ID, d.TenantID, txText(last.Tx), last.ID, txs, ids, d.AppID, s.Now()); err != nil {
		return fmt.Errorf("record poll of %s: %w", d.ID, translate(err))
	}
	return nil
}

// destinationUsageByApp returns, per application of ids, what its
// destinations delivered and attempted in [since, until). Applications
// without any are absent.
func (s *Store) destinationUsageByApp(ctx context.Context, tenantID string, ids []string, since, until time.Time) (map[string]tenants.DestinationUsage, error) {
	out := map[string]tenants.DestinationUsage{}
	rows, err := s.pg.Query(ctx, `SELECT app_id, sum(delivered)::bigint, sum(attempts)::bigint, sum(failed)::bigint FROM (
			SELECT app_id, sum(messages) AS delivered, 0 AS attempts, 0 AS failed FROM destination_usage
			WHERE tenant_id = $1 AND app_id = ANY($2) AND created_at >= $3 AND created_at < $4
			GROUP BY app_id
			UNION ALL
			SELECT d.app_id, 0, count(*), count(*) FILTER (WHERE a.status <> $5)
			FROM destination_attempts a JOIN destinations d ON d.id = a.destination_id
			WHERE a.tenant_id = $1 AND d.app_id = ANY($2) AND a.created_at >= $3 AND a.created_at < $4
			GROUP BY d.app_id
		) u GROUP BY app_id`, tenantID, ids, since, until, int16(tenants.StatusSuccess))
	if err != nil {
		return nil, fmt.Errorf("destination usage: %w", translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			u  tenants.DestinationUsage
		)
		if err := rows.Scan(&id, &u.Delivered, &u.Attempts, &u.Failed); err != nil {
			return nil, fmt.Errorf("destination usage: %w", err)
		}
		out[id] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("destination usage: %w", translate(err))
	}
	return out, nil
}

// ExpireDestinationAttempts deletes destination attempts older than their
// tenant's retention, at most limit a statement and limit×batches in all,
// and returns how many it deleted. Attempts are records of batches sent
// (one per up to 1,000 messages), not of billing: what a batch delivered
// is in destination_usage, which goes with the deliveries' slices instead.
// Tenants are taken one at a time (each has its own retention), through
// destination_attempts_age.
func (s *Store) ExpireDestinationAttempts(ctx context.Context, limit, batches int) (int64, error) {
	rows, err := s.pg.Query(ctx, `SELECT DISTINCT tenant_id FROM destinations`)
	if err != nil {
		return 0, fmt.Errorf("expire destination attempts: %w", translate(err))
	}
	var owners []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("expire destination attempts: %w", err)
		}
		owners = append(owners, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("expire destination attempts: %w", translate(err))
	}
	var total int64
	statements := 0
	for _, tenantID := range owners {
		r, err := s.FindTenantRetention(ctx, tenantID)
		if err != nil {
			return total, err
		}
		before := s.Now().Add(-r.Effective)
		for statements < batches {
			statements++
			tag, err := s.pg.Exec(ctx, `DELETE FROM destination_attempts WHERE id IN (
				SELECT id FROM destination_attempts WHERE tenant_id = $1 AND created_at < $2 LIMIT $3)`, tenantID, before, limit)
			if err != nil {
				return total, fmt.Errorf("expire destination attempts of %s: %w", tenantID, translate(err))
			}
			total += tag.RowsAffected()
			if tag.RowsAffected() < int64(limit) {
				break
			}
		}
	}
	return total, nil
}
