package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/tenants"
)

// This file holds the SQL of the partitioned tables (see
// tenants/partition.go for what a slice is, and package storage for the
// policy).

// deliveryIDSQL is the id the store gives a delivery created at ts (an SQL
// expression of type timestamptz): seconds since tenants.DeliveryEpoch << 22, and
// 22 bits of a sequence, so ids sort by time (to the second) and a lookup
// by id prunes to one partition. Ids collide only past 4,194,304
// deliveries in one second. The column's default is the same with the
// database's clock, for writers other than the store.
func deliveryIDSQL(ts string) string {
	return "((floor(extract(epoch FROM " + ts + "))::bigint - 1577836800) << 22 | (nextval('deliveries_seq') & 4194303))"
}

// partitionBound renders the lower id bound of instant t for table.
func partitionBound(table string, t time.Time) string {
	switch table {
	case "messages":
		return quoteLiteral(tenants.IDBound(tenants.PrefixMessage, t, false))
	case "attempts":
		return quoteLiteral(tenants.IDBound(tenants.PrefixAttempt, t, false))
	default:
		return strconv.FormatInt(tenants.DeliveryIDFloor(t), 10)
	}
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var boundRE = regexp.MustCompile(`^FOR VALUES FROM \((.+)\) TO \((.+)\)$`)

// parseBound turns one side of a partition bound into a time.
func parseBound(table, s string) (time.Time, error) {
	if s == "MINVALUE" {
		return time.Time{}, nil
	}
	s = strings.Trim(s, "'")
	switch table {
	case "messages":
		return tenants.IDTime(tenants.PrefixMessage, s)
	case "attempts":
		return tenants.IDTime(tenants.PrefixAttempt, s)
	default:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		return tenants.DeliveryIDTime(n), nil
	}
}

// Partitions returns every partition of the partitioned tables, by table
// then start.
func (s *Store) Partitions(ctx context.Context) ([]tenants.Partition, error) {
	// Row estimates: the statistics collector's live-row count, which
	// follows writes without waiting for ANALYZE (a new partition's
	// reltuples stays unknown until then).
	rows, err := s.pg.Query(ctx, `SELECT p.relname, c.relname, pg_get_expr(c.relpartbound, c.oid),
			pg_total_relation_size(c.oid), COALESCE(st.n_live_tup, c.reltuples::bigint)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
		WHERE p.relnamespace = current_schema()::regnamespace AND p.relname = ANY($1)`, tenants.PartitionedTables)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", translate(err))
	}
	var out []tenants.Partition
	var bound string
	var p tenants.Partition
	_, err = pgx.ForEachRow(rows, []any{&p.Table, &p.Name, &bound, &p.Bytes, &p.Rows}, func() error {
		q := tenants.Partition{Table: p.Table, Name: p.Name, Bytes: p.Bytes, Rows: p.Rows}
		if bound == "DEFAULT" {
			q.Default = true
		} else {
			m := boundRE.FindStringSubmatch(bound)
			if m == nil {
				return fmt.Errorf("partition %s: unexpected bound %q", p.Name, bound)
			}
			var err error
			if q.Start, err = parseBound(p.Table, m[1]); err != nil {
				return fmt.Errorf("partition %s: bound %q: %w", p.Name, m[1], err)
			}
			if q.End, err = parseBound(p.Table, m[2]); err != nil {
				return fmt.Errorf("partition %s: bound %q: %w", p.Name, m[2], err)
			}
		}
		out = append(out, q)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", translate(err))
	}
	sortPartitions(out)
	return out, nil
}

func sortPartitions(ps []tenants.Partition) {
	less := func(a, b tenants.Partition) bool {
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Default != b.Default {
			return b.Default // the default last
		}
		return a.Start.Before(b.Start)
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && less(ps[j], ps[j-1]); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// lockTimeout bounds how long maintenance waits for a lock: it runs again
// later, whereas every query queued behind a waiting ACCESS EXCLUSIVE
// request would wait too.
const lockTimeout = "2s"

// CreatePartition makes table's partition for [start, end) and attaches
// it. Rows of that range already in the DEFAULT partition (maintenance had
// fallen behind) are moved into it first, in the same transaction; writers
// racing with such a move may fail (an insert routed to DEFAULT just
// before the attach is refused, SQLSTATE 23514, and answered 5xx) or miss
// a moved row (an attempt's delivery update: the sweeper then sends the
// delivery again). Normally slices exist ahead of their writes and the
// DEFAULT partition is empty: then there is nothing to race. The new
// table is empty when attached, so only the default partition is checked;
// the parent is locked SHARE UPDATE EXCLUSIVE, which lets reads and writes
// go on. Per-partition unique indexes (eventId per application; one
// scheduled delivery per message and endpoint) are made with it.
func (s *Store) CreatePartition(ctx context.Context, table string, start, end time.Time, width time.Duration) (moved int64, err error) {
	name := tenants.PartitionName(table, start, width)
	ident := pgx.Identifier{name}.Sanitize()
	lo, hi := partitionBound(table, start), partitionBound(table, end)
	err = s.InTx(ctx, func(t *Store) error {
		tx := t.pg
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+lockTimeout+"'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TABLE "+ident+" (LIKE "+table+" INCLUDING DEFAULTS)"); err != nil {
			return err
		}
		switch table {
		case "messages":
			if _, err := tx.Exec(ctx, "CREATE UNIQUE INDEX "+pgx.Identifier{name + "_event_id"}.Sanitize()+
				" ON "+ident+" (app_id, event_id) WHERE event_id IS NOT NULL"); err != nil {
				return err
			}
		case "deliveries":
			if _, err := tx.Exec(ctx, "CREATE UNIQUE INDEX "+pgx.Identifier{name + "_msg_endpoint"}.Sanitize()+
				" ON "+ident+" (msg_id, endpoint_id) WHERE trigger = 0"); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, "WITH moved AS (DELETE FROM "+table+"_default WHERE id >= "+lo+" AND id < "+hi+
			" RETURNING *) INSERT INTO "+ident+" SELECT * FROM moved")
		if err != nil {
			return err
		}
		moved = tag.RowsAffected()
		_, err = tx.Exec(ctx, "ALTER TABLE "+table+" ATTACH PARTITION "+ident+" FOR VALUES FROM ("+lo+") TO ("+hi+")")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create partition %s: %w", name, translate(err))
	}
	return moved, nil
}

// SliceHoldOf checks whether the slice [start, end) (start zero: from the
// beginning) may be dropped: no delivery that is still pending belongs to
// it or refers to one of its messages (a resend made later lives in a
// later slice but needs this one's message), and every billable success
// among its deliveries is before billing's rollup watermark, so counted
// (DropPartition keeps the counts of hours billing still recounts). The second
// result is the newest billable success of the slice (nil: none), which
// billing's audit needs once the rows are gone.
func (s *Store) SliceHoldOf(ctx context.Context, start, end time.Time) (tenants.SliceHold, *time.Time, error) {
	dlo, dhi := int64(-1<<63), tenants.DeliveryIDFloor(end)
	mlo, mhi := "", tenants.IDBound(tenants.PrefixMessage, end, false)
	if !start.IsZero() {
		dlo, mlo = tenants.DeliveryIDFloor(start), tenants.IDBound(tenants.PrefixMessage, start, false)
	}
	var pending bool
	err := s.pg.QueryRow(ctx, sqlConst(`SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = {pending}
		AND ((id >= $1 AND id < $2) OR (msg_id >= $3 AND msg_id < $4)))`), dlo, dhi, mlo, mhi).Scan(&pending)
	if err != nil {
		return "", nil, fmt.Errorf("check pending deliveries of slice: %w", translate(err))
	}
	if pending {
		return tenants.HoldPending, nil, nil
	}
	var (
		newest  *time.Time
		counted *time.Time
	)
	// Destinations' usage rows (migration 0020) of the slice's time go
	// with its deliveries (DropPartition), so they count here too.
	var ulo *time.Time
	if !start.IsZero() {
		ulo = &start
	}
	err = s.pg.QueryRow(ctx, sqlConst(`SELECT GREATEST(
			(SELECT max(x.m) FROM tenants t CROSS JOIN LATERAL (SELECT max(succeeded_at) AS m FROM deliveries
				WHERE tenant_id = t.id AND trigger = {scheduled} AND status = {success} AND id >= $1 AND id < $2) x),
			(SELECT max(created_at) FROM destination_usage WHERE created_at >= COALESCE($3::timestamptz, '-infinity') AND created_at < $4)),
		(SELECT counted_through FROM billing_rollup_state WHERE id AND isfinite(counted_through))`),
		dlo, dhi, ulo, end).Scan(&newest, &counted)
	if err != nil {
		return "", nil, fmt.Errorf("check billing of slice: %w", translate(err))
	}
	if newest != nil && (counted == nil || !newest.Before(*counted)) {
		return tenants.HoldBilling, newest, nil
	}
	return tenants.HoldNone, newest, nil
}

// keepDroppedUsageSQL saves, in the drop's transaction, the billable
// deliveries of the partition $1 names whose hour billing still recounts
// (provisional: at or after the start of the watermark's hour), per tenant
// and hour, into usage_dropped, which billing's rollup adds to its
// recount. The watermark's row is locked first, so a rollup runs wholly
// before or after the drop. SliceHoldOf has checked every such delivery
// is before the watermark, i.e. already in usage_hourly.
const keepDroppedUsageSQL = `WITH state AS (
	SELECT date_trunc('hour', counted_through, 'UTC') AS open_from FROM billing_rollup_state WHERE id FOR UPDATE
)
INSERT INTO usage_dropped (tenant_id, hour, deliveries)
SELECT t.id, x.hour, x.n FROM state, tenants t, LATERAL (
	SELECT date_trunc('hour', d.succeeded_at, 'UTC') AS hour, count(*) AS n FROM %s d
	WHERE d.tenant_id = t.id AND d.trigger = 0 AND d.status = 0 AND d.succeeded_at >= state.open_from
		AND NOT EXISTS (SELECT 1 FROM applications sa WHERE sa.id = d.app_id AND sa.system)
	GROUP BY 1) x
ON CONFLICT (tenant_id, hour) DO UPDATE SET deliveries = usage_dropped.deliveries + EXCLUDED.deliveries`

// dropDestinationUsageSQL deletes the destination_usage rows of a slice's
// time [$1, $2) ($1 NULL: from the beginning), with its deliveries
// partition, and keeps those whose hour billing still recounts in
// usage_dropped, as keepDroppedUsageSQL does for the deliveries (whose
// statement, run first in the same transaction, holds the watermark's row).
const dropDestinationUsageSQL = `WITH state AS (
	SELECT date_trunc('hour', counted_through, 'UTC') AS open_from FROM billing_rollup_state WHERE id FOR UPDATE
), gone AS (
	DELETE FROM destination_usage WHERE created_at >= COALESCE($1::timestamptz, '-infinity') AND created_at < $2
	RETURNING tenant_id, app_id, created_at, messages
)
INSERT INTO usage_dropped (tenant_id, hour, deliveries)
SELECT g.tenant_id, date_trunc('hour', g.created_at, 'UTC'), sum(g.messages) FROM gone g, state
WHERE g.created_at >= state.open_from
	AND NOT EXISTS (SELECT 1 FROM applications sa WHERE sa.id = g.app_id AND sa.system)
GROUP BY 1, 2
ON CONFLICT (tenant_id, hour) DO UPDATE SET deliveries = usage_dropped.deliveries + EXCLUDED.deliveries`

// DropPartition drops p and records it in storage_drops (with newest, the
// slice's newest billable success), in one transaction. Dropping takes an
// ACCESS EXCLUSIVE lock on the parent for a moment; it waits at most
// lockTimeout for it, and fails (to be retried by the next run) rather
// than queue the table's readers and writers behind it for longer.
func (s *Store) DropPartition(ctx context.Context, p tenants.Partition, newest *time.Time) error {
	if p.Default {
		return fmt.Errorf("drop partition %s: the default partition stays: %w", p.Name, tenants.ErrForbidden)
	}
	var start *time.Time
	if !p.Start.IsZero() {
		start = &p.Start
	}
	err := s.InTx(ctx, func(t *Store) error {
		tx := t.pg
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+lockTimeout+"'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO storage_drops (partition, parent, range_start, range_end, rows_estimate, bytes, max_succeeded_at, dropped_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (partition) DO UPDATE SET dropped_at = EXCLUDED.dropped_at`,
			p.Name, p.Table, start, p.End, max(p.Rows, 0), p.Bytes, newest, s.Now()); err != nil {
			return err
		}
		if p.Table == "deliveries" {
			if _, err := tx.Exec(ctx, fmt.Sprintf(keepDroppedUsageSQL, pgx.Identifier{p.Name}.Sanitize())); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, dropDestinationUsageSQL, start, p.End); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "DROP TABLE "+pgx.Identifier{p.Name}.Sanitize())
		return err
	})
	if err != nil {
		return fmt.Errorf("drop partition %s: %w", p.Name, translate(err))
	}
	return nil
}

// DefaultPartitionRows returns how many rows each table's DEFAULT
// partition holds (rows no slice covered when they were written).
func (s *Store) DefaultPartitionRows(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(tenants.PartitionedTables))
	for _, t := range tenants.PartitionedTables {
		var n int64
		if err := s.pg.QueryRow(ctx, "SELECT count(*) FROM "+t+"_default").Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows of %s_default: %w", t, translate(err))
		}
		out[t] = n
	}
	return out, nil
}

// DroppedPartitions returns the newest limit dropped partitions, newest
// first.
func (s *Store) DroppedPartitions(ctx context.Context, limit int) ([]tenants.DroppedPartition, error) {
	rows, err := s.pg.Query(ctx, `SELECT partition, parent, range_start, range_end, rows_estimate, bytes, max_succeeded_at, dropped_at
		FROM storage_drops ORDER BY dropped_at DESC, partition LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list dropped partitions: %w", translate(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tenants.DroppedPartition])
	if err != nil {
		return nil, fmt.Errorf("list dropped partitions: %w", translate(err))
	}
	return out, nil
}

// clockSkew is how far apart two processes' clocks may be: a row made
// because of another (an attempt of a message) is assumed no older than it
// by more than this.
const clockSkew = time.Minute

// Cutover returns the instant from which delivery ids carry time (migration
// 0012's cutover: rows before it are in the first, "legacy", partitions).
// It is read once per store.
func (s *Store) Cutover(ctx context.Context) (time.Time, error) {
	if c := s.cutover.Load(); c != nil {
		return *c, nil
	}
	var c time.Time
	if err := s.pg.QueryRow(ctx, `SELECT cutover FROM storage_cutover WHERE id`).Scan(&c); err != nil {
		return time.Time{}, fmt.Errorf("read storage cutover: %w", translate(err))
	}
	c = c.UTC()
	s.cutover.Store(&c)
	return c, nil
}

// deliveriesSince returns the smallest id a delivery made because of
// something at t (a message, a window's start) can have, so that queries
// by message prune the deliveries' older partitions; ok is false when t
// (less clock skew) is before the cutover, where ids carry no time.
func (s *Store) deliveriesSince(ctx context.Context, t time.Time) (int64, bool) {
	c, err := s.Cutover(ctx)
	if err != nil {
		return 0, false
	}
	t = t.Add(-clockSkew)
	if t.Before(c) {
		return 0, false
	}
	return tenants.DeliveryIDFloor(t), true
}
