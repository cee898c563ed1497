package tenants

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Lease is a named PostgreSQL advisory lock held on a connection of its
// own: while the process (and the connection) lives, no other process gets
// the same lease; if either dies, the server releases it.
type Lease struct {
	conn *pgxpool.Conn
	key  int64
}

// TryLease takes the lease name if it is free. It returns nil, nil when
// another process holds it.
func (s *Store) TryLease(ctx context.Context, name string) (*Lease, error) {
	h := fnv.New64a()
	h.Write([]byte("hookline:" + name))
	key := int64(h.Sum64())
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", name, translate(err))
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lease %s: %w", name, translate(err))
	}
	if !ok {
		conn.Release()
		return nil, nil
	}
	return &Lease{conn: conn, key: key}, nil
}

// Alive reports whether the lease's connection still answers (and so the
// lock is still held).
func (l *Lease) Alive(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return l.conn.Ping(ctx) == nil
}

// Release gives the lease up.
func (l *Lease) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key); err != nil {
		// The connection is unusable; closing it releases the lock.
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
}

// DeleteExpiredIdempotencyKeys removes stored responses past their 12 h.
func (s *Store) DeleteExpiredIdempotencyKeys(ctx context.Context, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE key IN (
		SELECT key FROM idempotency_keys WHERE expires_at < $1 LIMIT $2)`, s.Now(), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", translate(err))
	}
	return tag.RowsAffected(), nil
}
