package store

import "github.com/jackc/pgx/v5/pgxpool"

// HotPool is the pool the statements every message takes run on, for
// tests that look at its sessions.
func (d *DB) HotPool() *pgxpool.Pool { return d.hot }
