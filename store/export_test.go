package store

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// HotPool is the pool the statements every message takes run on, for
// tests that look at its sessions.
func (d *DB) HotPool() *pgxpool.Pool { return d.hot }

// ExecInTx runs q on the pgx face of an InTx transaction.
func (s *Store) ExecInTx(ctx context.Context, q string) error {
	return s.InTx(ctx, func(tx *Store) error {
		_, err := tx.pg.Exec(ctx, q)
		return err
	})
}
