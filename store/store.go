package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/hookline/hookline/tenants"
)

// querier is what the pgx files run their statements on: the pool, or the
// connection of an InTx transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Store is the PostgreSQL store of every row Hookline keeps. It is safe
// for concurrent use. The zero value is not usable; call New.
type Store struct {
	db *DB
	// gdb runs the entity files' queries (gorm); pg the traffic files'
	// (pgx). Outside a transaction they are the pool's two faces; inside
	// InTx, both are bound to the transaction's one connection.
	gdb *gorm.DB
	pg  querier
	// inTx is set on the Store InTx passes to its function.
	inTx   bool
	cipher *tenants.Cipher
	now    func() time.Time
	// retention, when set (SetRetentionPolicy), hides rows past their
	// tenant's retention from reads.
	retention *retention
	// cutover caches Cutover: immutable once migration 0012 ran.
	cutover *atomic.Pointer[time.Time]
}

// New returns a Store over db. cipher seals endpoint secrets (nil for
// commands that never touch them); now is the clock (nil means time.Now).
func New(db *DB, cipher *tenants.Cipher, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, gdb: db.gorm, pg: db.pool, cipher: cipher, now: now, cutover: new(atomic.Pointer[time.Time])}
}

// Now returns the store's clock reading, truncated to PostgreSQL's
// microsecond precision so values read back compare equal.
func (s *Store) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// InTx runs fn inside one transaction; the Store passed to fn runs every
// statement, gorm's and pgx's alike, on it. A returned error (or panic)
// rolls back. Inside a transaction InTx runs fn in the same one.
//
// Both libraries share one pool (gorm reaches it through pgx's
// database/sql adapter), so the transaction holds one connection: gorm
// begins it through database/sql, and the pgx statements run on the same
// connection's *pgx.Conn, which is inside the transaction because the
// connection is. The *sql.Conn is held for the whole transaction, so no
// one else uses that *pgx.Conn meanwhile, and fn runs on one goroutine.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.inTx {
		return fn(s)
	}
	// database/sql rolls a transaction back — and closes its connection —
	// from a goroutine of its own when the context of BeginTx ends, while
	// fn may be running a pgx statement on that very connection: a data
	// race on the *pgx.Conn. The transaction is therefore begun with a
	// context that does not end; its statements still take ctx, and pgx
	// honours a cancelled ctx on the goroutine that runs them (the
	// connection is then broken, and the rollback discards it).
	txCtx := context.WithoutCancel(ctx)
	conn, err := s.db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", translate(err))
	}
	defer conn.Close()
	var pc *pgx.Conn
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx's", dc)
		}
		pc = c.Conn()
		return nil
	}); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	g := s.gdb.WithContext(txCtx).Session(&gorm.Session{NewDB: true})
	g.Statement.ConnPool = conn
	err = g.Transaction(func(gtx *gorm.DB) error {
		tx := *s
		tx.gdb, tx.pg, tx.inTx = gtx.WithContext(ctx), pc, true
		return fn(&tx)
	})
	return translate(err)
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", tenants.ErrUnavailable, err)
	}
	return nil
}

func (s *Store) q(ctx context.Context) *gorm.DB { return s.gdb.WithContext(ctx) }

// hotPath is where the statements every message takes run (DB.hot): the
// hot pool, or the transaction's connection inside InTx.
func (s *Store) hotPath() querier {
	if s.inTx || s.db.hot == nil {
		return s.pg
	}
	return s.db.hot
}

// clientDataErrors are the SQLSTATEs (class 22, data exception) that only
// a value sent by the client can cause; the API validates before the
// database, so these are the safety net that keeps them from being 500s.
var clientDataErrors = map[string]string{
	"22021": "a value contains a byte sequence that is not valid UTF-8 or a NUL byte",                // character_not_in_repertoire
	"22P05": "a JSON value contains an escape PostgreSQL cannot store (\\u0000 or a lone surrogate)", // untranslatable_character
	"22001": "a value is too long",                                                                   // string_data_right_truncation
	"22003": "a number is out of range",                                                              // numeric_value_out_of_range
	"22007": "a date-time is malformed",                                                              // invalid_datetime_format
	"22008": "a date-time is out of range",                                                           // datetime_field_overflow
	"22P02": "a value is malformed for its type",                                                     // invalid_text_representation
	"2202E": "an array index is out of range",                                                        // array_subscript_error
	"22025": "a value contains an invalid escape sequence",                                           // invalid_escape_sequence
}

// translate maps driver errors onto the domain's coded errors: a missing
// row (or a foreign key to one) is not_found, a unique violation
// conflict, a connection failure unavailable, a data exception the client
// caused invalid. Other errors pass through (internal errors).
func translate(err error) error {
	if err == nil {
		return nil
	}
	var coded *tenants.Error
	if errors.As(err, &coded) {
		return err // already the domain's
	}
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", tenants.ErrNotFound, err)
	}
	// A connection that cannot be made is the database being unavailable,
	// whatever the server said to refuse it (a database not accepting
	// connections answers 55000, which elsewhere means something else).
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return fmt.Errorf("%w: %w", tenants.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", tenants.ErrConflict, pgErr.ConstraintName)
		case "23503": // foreign_key_violation: what it points at is gone
			return fmt.Errorf("%w: %s", tenants.ErrNotFound, pgErr.ConstraintName)
		case "57P01", "57P02", "57P03", "53300": // shutdown, crash, cannot connect now, too many connections
			return fmt.Errorf("%w: %w", tenants.ErrUnavailable, err)
		}
		if msg, ok := clientDataErrors[pgErr.Code]; ok {
			// The value came from the request: the client's fault.
			return fmt.Errorf("%w: %w", tenants.InvalidAt([]string{"body"}, msg), err)
		}
		return err
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%w: %w", tenants.ErrUnavailable, err)
	}
	return err
}
