package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookline/hookline/tenants"
)

// Lease is a named lock across processes. Directly connected, it is a
// PostgreSQL session advisory lock held on a connection of its own: while
// the process (and the connection) lives, no other process gets the same
// lease; if either dies, the server releases it at once. Through a
// transaction pooler (DB.TxPooled) it is a row in the leases table with an
// expiry of RowLeaseTTL, renewed by Alive; a holder that dies is taken
// over once its row expires.
//
// A *Lease is a tenants.Lease; its zero value is not usable.
type Lease struct {
	conn *pgxpool.Conn
	key  int64

	// Row leases.
	store  *Store
	name   string
	holder string
}

// RowLeaseTTL is how long a row lease outlives its holder's last renewal
// (Alive): the time a dead holder's work waits for a new one.
const RowLeaseTTL = 10 * time.Second

// TryLease takes the lease name if it is free. It returns nil, nil when
// another process holds it.
func (s *Store) TryLease(ctx context.Context, name string) (tenants.Lease, error) {
	if s.db.txPooled {
		return s.tryRowLease(ctx, name)
	}
	h := fnv.New64a()
	h.Write([]byte("hookline:" + name))
	key := int64(h.Sum64())
	conn, err := s.db.pool.Acquire(ctx)
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
	if l.conn == nil {
		return l.store.renewRowLease(ctx, l) == nil
	}
	return l.conn.Ping(ctx) == nil
}

// Release gives the lease up.
func (l *Lease) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if l.conn == nil {
		_, _ = l.store.db.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, l.name, l.holder)
		return
	}
	if _, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key); err != nil {
		// The connection is unusable; closing it releases the lock.
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
}

// tryRowLease takes the row lease name when nobody holds it or its holder
// let it expire. Every statement is its own transaction, so it works
// through a transaction pooler.
func (s *Store) tryRowLease(ctx context.Context, name string) (tenants.Lease, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("lease %s: %w", name, err)
	}
	l := &Lease{store: s, name: name, holder: hex.EncodeToString(b[:])}
	now := s.Now()
	tag, err := s.db.pool.Exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE leases.expires_at < $4`, name, l.holder, now.Add(RowLeaseTTL), now)
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", name, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return nil, nil
	}
	return l, nil
}

// renewRowLease extends l's row; an error means it is no longer l's.
func (s *Store) renewRowLease(ctx context.Context, l *Lease) error {
	tag, err := s.db.pool.Exec(ctx, `UPDATE leases SET expires_at = $3 WHERE name = $1 AND holder = $2`,
		l.name, l.holder, s.Now().Add(RowLeaseTTL))
	if err != nil {
		return fmt.Errorf("renew lease %s: %w", l.name, translate(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("renew lease %s: %w", l.name, tenants.ErrNotFound)
	}
	return nil
}
