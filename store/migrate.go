package store

import (
	"context"
	"io"
	"log/slog"

	"github.com/hookline/hookline/migrations"
)

// The schema comes only from package migrations; these run it on the DB's
// pool (goose needs database/sql, which the pool's gorm face already is).

// MigrateUp applies every pending migration and returns how many ran.
func (d *DB) MigrateUp(ctx context.Context, log *slog.Logger) (int, error) {
	return migrations.Up(ctx, d.sql, log)
}

// MigrateDown rolls back the most recent migration.
func (d *DB) MigrateDown(ctx context.Context) error { return migrations.Down(ctx, d.sql) }

// MigrationStatus writes one line per migration to w.
func (d *DB) MigrationStatus(ctx context.Context, w io.Writer) error {
	return migrations.Status(ctx, d.sql, w)
}

// PendingMigrations returns how many migrations are not yet applied.
func (d *DB) PendingMigrations(ctx context.Context) (int, error) {
	return migrations.Pending(ctx, d.sql)
}
