package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// Reading an application's messages by position (polling endpoints, and
// the FIFO and RabbitMQ senders).
//
// Why positions and a horizon: a message's id (and created_at) is taken
// before its transaction commits, so with concurrent writers a message
// with a smaller id can become visible after one with a larger id. A
// reader that remembered "the last id I returned" would then skip it for
// good. A position is (tx_id, id), tx_id being the inserting transaction's
// id (migration 0016), and a read only returns rows whose tx_id is below
// pg_snapshot_xmin(pg_current_snapshot()) — the horizon: every transaction
// below it has ended, so every row it wrote is visible now and no row can
// later appear behind the horizon. Positions handed out are therefore never
// passed by a late commit. The price is latency while a write transaction
// stays open: its messages, and everything after its xid, wait until it
// ends (message inserts are short group commits, so this is milliseconds).
// An explicit sequence assigned at commit would need a serialising lock on
// every commit; the horizon needs nothing but the column and its index.
//
// The reads go through messages_app_position (app_id, tx_id, id): a poll
// is one index range scan from the position, whatever the table's size.

// horizon returns the current snapshot horizon as the position before
// every message of the oldest transaction still running.
func (s *Store) horizon(ctx context.Context) (uint64, error) {
	var h string
	if err := s.pg.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&h); err != nil {
		return 0, fmt.Errorf("read snapshot horizon: %w", translate(err))
	}
	return strconv.ParseUint(h, 10, 64)
}

// readPositions returns up to limit messages of d's application after
// from, below the horizon, that pass d's filters and f, in position order,
// and the iterator to continue from: the last message's position, or the
// horizon when the read reached it (nothing more is visible yet), so that
// messages the filters skip are not scanned again.
//
// The read runs in a transaction whose planner may not sort
// (enable_sort off), so that the page comes from an ordered scan of the
// position index that stops after limit rows. Left to its estimates, the
// planner picks a bitmap scan of every row after the position and a sort
// whenever the statistics of tx_id lag the table — a backlog written since
// the last ANALYZE, as after a burst — and each page then costs the whole
// backlog: 70 ms a page of 250 out of 40,000, quadratic over the drain.
func (s *Store) readPositions(ctx context.Context, d tenants.Destination, from tenants.Position, limit int, f tenants.PollFilter) ([]tenants.PollMessage, tenants.Position, bool, error) {
	var (
		out  []tenants.PollMessage
		next tenants.Position
		done bool
	)
	// The transaction is opened without ctx's cancellation (its statements
	// keep it): database/sql rolls a cancelled transaction back from a
	// goroutine of its own, racing with pgx still reading on the
	// connection; a cancelled statement ends the transaction from here.
	err := s.InTx(context.WithoutCancel(ctx), func(tx *Store) error {
		if _, err := tx.pg.Exec(ctx, "SET LOCAL enable_sort = off"); err != nil {
			return fmt.Errorf("read messages by position: %w", translate(err))
		}
		var err error
		out, next, done, err = tx.readPositionsTx(ctx, d, from, limit, f)
		return err
	})
	if err != nil {
		return nil, from, false, err
	}
	return out, next, done, nil
}

func (s *Store) readPositionsTx(ctx context.Context, d tenants.Destination, from tenants.Position, limit int, f tenants.PollFilter) ([]tenants.PollMessage, tenants.Position, bool, error) {
	h, err := s.horizon(ctx)
	if err != nil {
		return nil, from, false, err
	}
	w := &where{}
	w.and("m.app_id = %s AND m.tenant_id = %s AND m.tx_id IS NOT NULL", d.AppID, d.TenantID)
	w.and("(m.tx_id, m.id) > (%s::text::xid8, %s)", txText(from.Tx), from.ID)
	w.and("m.tx_id < %s::text::xid8", txText(h))
	// A lower bound on the id prunes the scan to the partitions that can
	// hold the destination's messages: those of its lifetime (a message
	// whose id was taken ten minutes before the destination existed is not
	// its), and within the tenant's retention.
	floor := d.CreatedAt.Add(-10 * time.Minute)
	if r := s.retentionFloor(ctx, d.TenantID); r.After(floor) {
		floor = r
	}
	w.and("m.id > %s", tenants.IDBound(tenants.PrefixMessage, floor, true))
	if d.EventTypes != nil {
		w.and("m.event_type = ANY(%s)", d.EventTypes)
	}
	if d.Channels != nil {
		w.and("m.channels ?| %s", d.Channels)
	}
	if f.EventType != "" {
		w.and("m.event_type = %s", f.EventType)
	}
	if f.Channel != "" {
		w.and("m.channels ? %s", f.Channel)
	}
	rows, err := s.pg.Query(ctx, "SELECT "+messageCols+", m.tx_id::text FROM messages m WHERE "+w.sql()+
		" ORDER BY m.tx_id, m.id LIMIT "+strconv.Itoa(limit), w.args...)
	if err != nil {
		return nil, from, false, fmt.Errorf("read messages by position: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenants.PollMessage, error) {
		var (
			pm tenants.PollMessage
			tx string
		)
		err := r.Scan(&pm.ID, &pm.TenantID, &pm.AppID, &pm.EventID, &pm.EventType, &pm.Payload, &pm.Channels, &pm.Tags,
			&pm.CreatedAt, &pm.ExpiresAt, &pm.DeliverAt, &tx)
		pm.Pos = tenants.Position{Tx: parseTx(&tx), ID: pm.ID}
		pm.CreatedAt = pm.CreatedAt.UTC()
		pm.HidePayloadPast(s.Now())
		return pm, err
	})
	if err != nil {
		return nil, from, false, fmt.Errorf("read messages by position: %w", translate(err))
	}
	if len(out) == limit {
		return out, out[len(out)-1].Pos, false, nil
	}
	next := tenants.Position{Tx: h}
	if next.Tx < from.Tx || (next.Tx == from.Tx && from.ID != "") {
		next = from // never step back
	}
	return out, next, true, nil
}

// PollDestination reads polling endpoint ref from iterator from (nil: its
// start) — the client-held iterator of GET …/poller/{sink}. It returns
// the messages, the iterator to pass next, and whether the read caught up;
// tenants.ErrPollerDisabled when the endpoint is disabled.
func (s *Store) PollDestination(ctx context.Context, tenantID, appID, ref string, from *tenants.Position, after time.Time, limit int, f tenants.PollFilter) ([]tenants.PollMessage, tenants.Position, bool, error) {
	d, err := s.readableDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return nil, tenants.Position{}, false, err
	}
	pos := d.Start
	switch {
	case from != nil:
		pos = *from
	case !after.IsZero():
		if pos, err = s.seekPosition(ctx, d, after); err != nil {
			return nil, pos, false, err
		}
	}
	msgs, next, done, err := s.readPositions(ctx, d, pos, limit, f)
	if err != nil {
		return nil, next, false, err
	}
	// Billing (destination_usage.go): the messages no poll returned before.
	if err := s.recordPolled(ctx, d, msgs); err != nil {
		return nil, next, false, err
	}
	return msgs, next, done, nil
}

func (s *Store) pollingDestination(ctx context.Context, tenantID, appID, ref string) (tenants.Destination, error) {
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return d, err
	}
	if d.Type != tenants.DestinationPolling {
		return d, fmt.Errorf("destination %s is a %s: %w", ref, d.Type, tenants.ErrNotFound)
	}
	return d, nil
}

// readableDestination is pollingDestination, refused with
// tenants.ErrPollerDisabled when the endpoint is disabled. Seeking a
// disabled endpoint's consumer is allowed: it reads nothing.
func (s *Store) readableDestination(ctx context.Context, tenantID, appID, ref string) (tenants.Destination, error) {
	d, err := s.pollingDestination(ctx, tenantID, appID, ref)
	if err == nil && d.Disabled {
		err = fmt.Errorf("poll destination %s: %w", ref, tenants.ErrPollerDisabled)
	}
	return d, err
}

// ConsumerPoll reads polling endpoint ref for consumer, from where the
// consumer's last poll stopped (or from iterator, when given), and
// remembers where this one stops, in one transaction: the consumer's row
// is locked meanwhile, so two polls of one consumer never return the same
// messages. A consumer seen for the first time starts at the endpoint's
// start. A disabled endpoint is tenants.ErrPollerDisabled, the consumer
// left where it was.
func (s *Store) ConsumerPoll(ctx context.Context, tenantID, appID, ref, consumer string, from *tenants.Position, limit int) ([]tenants.PollMessage, tenants.Position, bool, error) {
	var (
		msgs []tenants.PollMessage
		next tenants.Position
		done bool
	)
	err := s.InTx(ctx, func(tx *Store) error {
		d, err := tx.readableDestination(ctx, tenantID, appID, ref)
		if err != nil {
			return err
		}
		pos, err := tx.lockConsumer(ctx, d, consumer)
		if err != nil {
			return err
		}
		if from != nil {
			pos = *from
		}
		if msgs, next, done, err = tx.readPositions(ctx, d, pos, limit, tenants.PollFilter{}); err != nil {
			return err
		}
		if err := tx.recordPolled(ctx, d, msgs); err != nil { // billing, destination_usage.go
			return err
		}
		return tx.setConsumer(ctx, d, consumer, next)
	})
	return msgs, next, done, err
}

// lockConsumer returns the consumer's position, creating it at the
// destination's start, with its row locked until the transaction ends.
func (s *Store) lockConsumer(ctx context.Context, d tenants.Destination, consumer string) (tenants.Position, error) {
	if _, err := s.pg.Exec(ctx, `INSERT INTO poller_consumers (destination_id, consumer_id, tenant_id, pos_tx, pos_id, updated_at)
		VALUES ($1, $2, $3, $4::text::xid8, '', $5) ON CONFLICT DO NOTHING`, d.ID, consumer, d.TenantID, txText(d.Start.Tx), s.Now()); err != nil {
		return tenants.Position{}, fmt.Errorf("create consumer %s: %w", consumer, translate(err))
	}
	var (
		tx string
		id string
	)
	if err := s.pg.QueryRow(ctx, `SELECT pos_tx::text, pos_id FROM poller_consumers WHERE destination_id = $1 AND consumer_id = $2 FOR UPDATE`,
		d.ID, consumer).Scan(&tx, &id); err != nil {
		return tenants.Position{}, fmt.Errorf("lock consumer %s: %w", consumer, translate(err))
	}
	return tenants.Position{Tx: parseTx(&tx), ID: id}, nil
}

func (s *Store) setConsumer(ctx context.Context, d tenants.Destination, consumer string, p tenants.Position) error {
	if _, err := s.pg.Exec(ctx, `INSERT INTO poller_consumers (destination_id, consumer_id, tenant_id, pos_tx, pos_id, updated_at)
		VALUES ($1, $2, $3, $4::text::xid8, $5, $6)
		ON CONFLICT (destination_id, consumer_id) DO UPDATE SET pos_tx = EXCLUDED.pos_tx, pos_id = EXCLUDED.pos_id, updated_at = EXCLUDED.updated_at`,
		d.ID, consumer, d.TenantID, txText(p.Tx), p.ID, s.Now()); err != nil {
		return fmt.Errorf("move consumer %s: %w", consumer, translate(err))
	}
	return nil
}

// ConsumerSeek moves consumer of polling endpoint ref to the first message
// created at or after after, and returns that position as an iterator.
func (s *Store) ConsumerSeek(ctx context.Context, tenantID, appID, ref, consumer string, after time.Time) (tenants.Position, error) {
	d, err := s.pollingDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.Position{}, err
	}
	p, err := s.seekPosition(ctx, d, after)
	if err != nil {
		return p, err
	}
	return p, s.setConsumer(ctx, d, consumer, p)
}

// seekPosition returns the position before the first message of d's
// application created at or after t (by id, which carries the creation
// time): the start of the earliest transaction that stored one, or the
// horizon when none is visible. Never before d's start.
func (s *Store) seekPosition(ctx context.Context, d tenants.Destination, t time.Time) (tenants.Position, error) {
	h, err := s.horizon(ctx)
	if err != nil {
		return tenants.Position{}, err
	}
	var minTx *string
	if err := s.pg.QueryRow(ctx, `SELECT min(tx_id)::text FROM messages
		WHERE app_id = $1 AND tenant_id = $2 AND id >= $3 AND tx_id IS NOT NULL AND tx_id < $4::text::xid8`,
		d.AppID, d.TenantID, tenants.IDBound(tenants.PrefixMessage, t, false), txText(h)).Scan(&minTx); err != nil {
		return tenants.Position{}, fmt.Errorf("seek: %w", translate(err))
	}
	p := tenants.Position{Tx: h}
	if minTx != nil {
		p.Tx = parseTx(minTx)
	}
	if p.Tx < d.Start.Tx {
		p = d.Start
	}
	return p, nil
}

// The senders (FIFO endpoints and RabbitMQ) take a destination under a
// lease, one process at a time, and record each batch before sending it.

// ClaimSenders leases up to limit FIFO and RabbitMQ destinations that have
// something to do — a batch waiting for its retry, which is due, or
// messages past their cursor — to owner until now+lease, and returns them.
// A destination another process holds (its lease not over) is skipped.
func (s *Store) ClaimSenders(ctx context.Context, owner string, lease time.Duration, limit int) ([]tenants.Destination, error) {
	now := s.Now()
	rows, err := s.pg.Query(ctx, `UPDATE destinations d SET lease_owner = $1, lease_until = $2
		WHERE d.id IN (
			SELECT c.id FROM destinations c
			WHERE c.deleted_at IS NULL AND NOT c.disabled AND c.type <> 'pollingEndpoint'
				AND EXISTS (SELECT 1 FROM applications a WHERE a.id = c.app_id AND a.deleted_at IS NULL)
				AND (c.lease_until IS NULL OR c.lease_until < $3)
				AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= $3)
				AND (c.batch_id IS NOT NULL OR EXISTS (
					SELECT 1 FROM messages m WHERE m.app_id = c.app_id AND m.tx_id IS NOT NULL
						AND (m.tx_id, m.id) > (COALESCE(c.cursor_tx, c.start_tx), COALESCE(c.cursor_id, ''))
						AND m.tx_id < pg_snapshot_xmin(pg_current_snapshot())))
			ORDER BY c.next_attempt_at NULLS FIRST
			LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+destCols, owner, now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim senders: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenants.Destination, error) { return scanDestination(r) })
	if err != nil {
		return nil, fmt.Errorf("claim senders: %w", translate(err))
	}
	return out, nil
}

// HasSenders reports whether any FIFO or RabbitMQ destination is live
// (not deleted, not disabled): whether the senders have anything to look
// for. Most deployments have none, and their idle workers then look
// rarely (worker/destinations.go).
func (s *Store) HasSenders(ctx context.Context) (bool, error) {
	var ok bool
	if err := s.pg.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM destinations
		WHERE deleted_at IS NULL AND NOT disabled AND type <> 'pollingEndpoint')`).Scan(&ok); err != nil {
		return false, fmt.Errorf("look for senders: %w", translate(err))
	}
	return ok, nil
}

// SenderSecrets returns what sending to destination id needs that is
// sealed: its live signing secrets (current first), its custom headers
// and, for RabbitMQ, its URI.
func (s *Store) SenderSecrets(ctx context.Context, tenantID, appID, id string) (secrets []string, headers map[string]string, uri string, err error) {
	if secrets, err = s.destinationSecrets(ctx, tenantID, appID, id); err != nil {
		return nil, nil, "", err
	}
	var sealedH, sealedU []byte
	if err = s.pg.QueryRow(ctx, `SELECT sealed_headers, sealed_uri FROM destinations WHERE id = $1 AND tenant_id = $2`, id, tenantID).
		Scan(&sealedH, &sealedU); err != nil {
		return nil, nil, "", fmt.Errorf("find destination %s: %w", id, translate(err))
	}
	if headers, err = s.openDestHeaders(id, sealedH); err != nil {
		return nil, nil, "", err
	}
	if sealedU != nil {
		plain, err := s.cipher.Open(sealedU, destAD("uri", id))
		if err != nil {
			return nil, nil, "", fmt.Errorf("uri of %s: %w", id, err)
		}
		uri = string(plain)
	}
	return secrets, headers, uri, nil
}

// ReadSenderBatch returns the messages a sender sends next to d: the
// batch in flight again, exactly (the messages after the cursor up to its
// last position), or up to d.BatchSize new ones with the position to move
// the cursor to when the read found none.
func (s *Store) ReadSenderBatch(ctx context.Context, d tenants.Destination) ([]tenants.PollMessage, tenants.Position, error) {
	limit := d.BatchSize
	if d.Batch != nil {
		limit = d.Batch.Count
	}
	msgs, next, _, err := s.readPositions(ctx, d, d.From(), limit, tenants.PollFilter{})
	if err != nil || d.Batch == nil {
		return msgs, next, err
	}
	// A batch in flight ends at its last position: a message committed in
	// between (impossible below the horizon, but cheap to hold) stays out.
	for i, m := range msgs {
		if m.Pos == d.Batch.Last {
			return msgs[:i+1], next, nil
		}
	}
	return msgs, next, nil
}

// leaseCond is the condition every sender write carries: the row is still
// the owner's, its lease not over.
const leaseCond = ` AND lease_owner = $%d AND lease_until > $%d`

func leaseWhere(n int) string { return fmt.Sprintf(leaseCond, n, n+1) }

// StartSenderBatch records b as d's batch in flight, renewing owner's
// lease, before it is sent. tenants.ErrDestinationLeaseLost when owner no longer holds it.
func (s *Store) StartSenderBatch(ctx context.Context, owner string, lease time.Duration, d tenants.Destination, b tenants.DestinationBatch) error {
	now := s.Now()
	tag, err := s.pg.Exec(ctx, `UPDATE destinations SET batch_id = $1, batch_first_id = $2, batch_last_tx = $3::text::xid8, batch_last_id = $4,
			batch_count = $5, lease_until = $6 WHERE id = $7`+leaseWhere(8),
		b.ID, b.FirstID, txText(b.Last.Tx), b.Last.ID, b.Count, now.Add(lease), d.ID, owner, now)
	if err != nil {
		return fmt.Errorf("start batch of %s: %w", d.ID, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return tenants.ErrDestinationLeaseLost
	}
	return nil
}

// FinishSenderBatch records the attempt of d's batch in flight and moves
// d on, in one transaction: past the batch after a success (or a cancel), to its retry
// (or disabled) after a failure. tenants.ErrDestinationLeaseLost when owner no longer holds
// the destination; then nothing is written.
func (s *Store) FinishSenderBatch(ctx context.Context, owner string, d tenants.Destination, o tenants.DestinationOutcome) error {
	return s.InTx(ctx, func(tx *Store) error {
		now := tx.Now()
		leaseUntil, leaseOwner := (*time.Time)(nil), (*string)(nil)
		if o.Lease > 0 {
			t := now.Add(o.Lease)
			leaseUntil, leaseOwner = &t, &owner
		}
		var (
			tag interface{ RowsAffected() int64 }
			err error
		)
		// A batch its transformation canceled is over too: nothing is
		// sent, and the cursor moves past it.
		if o.Attempt.Status == tenants.StatusSuccess || o.Attempt.Status == tenants.StatusCanceled {
			tag, err = tx.pg.Exec(ctx, `UPDATE destinations SET cursor_tx = batch_last_tx, cursor_id = batch_last_id, batch_id = NULL,
					batch_first_id = NULL, batch_last_tx = NULL, batch_last_id = NULL, batch_count = NULL, batch_tries = 0, next_attempt_at = NULL,
					lease_owner = $1, lease_until = $2 WHERE id = $3 AND batch_id = $4`+leaseWhere(5),
				leaseOwner, leaseUntil, d.ID, o.Attempt.BatchID, owner, now)
		} else {
			var next *time.Time
			if !o.NextAttempt.IsZero() {
				next = &o.NextAttempt
			}
			var reason *string
			if o.Disable {
				reason = &o.Reason
			}
			tag, err = tx.pg.Exec(ctx, `UPDATE destinations SET batch_tries = batch_tries + 1, next_attempt_at = $1,
					disabled = disabled OR $2, failure_reason = COALESCE($3, failure_reason), lease_owner = NULL, lease_until = NULL
				WHERE id = $4 AND batch_id = $5`+leaseWhere(6),
				next, o.Disable, reason, d.ID, o.Attempt.BatchID, owner, now)
		}
		if err != nil {
			return fmt.Errorf("finish batch of %s: %w", d.ID, translate(err))
		}
		if tag.RowsAffected() == 0 {
			return tenants.ErrDestinationLeaseLost
		}
		a := o.Attempt
		if _, err := tx.pg.Exec(ctx, `INSERT INTO destination_attempts (id, tenant_id, destination_id, batch_id, first_msg_id, last_msg_id,
				num_events, status, status_code, response, duration_ms, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			a.ID, d.TenantID, d.ID, a.BatchID, a.FirstMsgID, a.LastMsgID, a.NumEvents, int16(a.Status), a.StatusCode, a.Response,
			a.DurationMs, a.CreatedAt); err != nil {
			return fmt.Errorf("record destination attempt: %w", translate(err))
		}
		if a.Status == tenants.StatusSuccess {
			return tx.recordSent(ctx, d, a) // billing, destination_usage.go
		}
		return nil
	})
}

// AdvanceSender moves d's cursor to p (the horizon its last read reached,
// with nothing there to send) and releases owner's lease.
func (s *Store) AdvanceSender(ctx context.Context, owner string, d tenants.Destination, p tenants.Position) error {
	_, err := s.pg.Exec(ctx, `UPDATE destinations SET cursor_tx = $1::text::xid8, cursor_id = $2, lease_owner = NULL, lease_until = NULL
		WHERE id = $3 AND batch_id IS NULL`+leaseWhere(4), txText(p.Tx), p.ID, d.ID, owner, s.Now())
	if err != nil {
		return fmt.Errorf("advance %s: %w", d.ID, translate(err))
	}
	return nil
}

// ReleaseSender gives up owner's lease on destination id, if it still
// holds it.
func (s *Store) ReleaseSender(ctx context.Context, owner, id string) error {
	_, err := s.pg.Exec(ctx, `UPDATE destinations SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`, id, owner)
	if err != nil {
		return fmt.Errorf("release %s: %w", id, translate(err))
	}
	return nil
}

// DestinationLastAcked returns the last message pushing destination ref
// delivered with an acknowledgement (a 2xx, or the broker's confirms):
// the last message of its latest successful batch. ErrNotFound when none
// was delivered yet (or that message is past retention), and for a
// polling endpoint, which has no acknowledgements (its consumers keep
// their own positions).
func (s *Store) DestinationLastAcked(ctx context.Context, tenantID, appID, ref string) (tenants.Message, error) {
	d, err := s.pushingDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.Message{}, err
	}
	var last string
	err = s.pg.QueryRow(ctx, `SELECT last_msg_id FROM destination_attempts
		WHERE destination_id = $1 AND tenant_id = $2 AND status = $3 AND last_msg_id <> ''
		ORDER BY id DESC LIMIT 1`, d.ID, tenantID, int16(tenants.StatusSuccess)).Scan(&last)
	if err != nil {
		return tenants.Message{}, fmt.Errorf("last acked event of %s: %w", ref, translate(err))
	}
	return s.FindMessage(ctx, tenantID, appID, last)
}

// DestinationNextEvent returns the oldest message pushing destination ref
// has not delivered yet: the first of its batch in flight, or the next
// after its cursor. ErrNotFound when it has caught up, and for a polling
// endpoint.
func (s *Store) DestinationNextEvent(ctx context.Context, tenantID, appID, ref string) (tenants.Message, error) {
	d, err := s.pushingDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return tenants.Message{}, err
	}
	msgs, _, _, err := s.readPositions(ctx, d, d.From(), 1, tenants.PollFilter{})
	if err != nil {
		return tenants.Message{}, err
	}
	if len(msgs) == 0 {
		return tenants.Message{}, fmt.Errorf("next event of %s: caught up: %w", ref, tenants.ErrNotFound)
	}
	return msgs[0].Message, nil
}

// pushingDestination finds a FIFO or RabbitMQ destination; a polling
// endpoint is ErrNotFound with a message that says why.
func (s *Store) pushingDestination(ctx context.Context, tenantID, appID, ref string) (tenants.Destination, error) {
	d, err := s.FindDestination(ctx, tenantID, appID, ref)
	if err != nil {
		return d, err
	}
	if d.Type == tenants.DestinationPolling {
		return d, &tenants.Error{Code: tenants.CodeNotFound, Message: "a polling endpoint acknowledges nothing: each consumer keeps its own position"}
	}
	return d, nil
}
