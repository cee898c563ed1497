package tenants

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
	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"
)

// Store is the PostgreSQL store of every tenant-owned row. It is safe for
// concurrent use. The zero value is not usable; call NewStore.
type Store struct {
	db *gorm.DB
	// pool runs the hot paths (message ingest, delivery bookkeeping) as
	// plain pgx statements: no reflection, one round trip each. It is
	// never part of an InTx transaction.
	pool   *pgxpool.Pool
	cipher *Cipher
	now    func() time.Time
	// txPooled: connections come from a transaction pooler (see DB).
	txPooled bool
	// retention, when set (SetRetentionPolicy), hides rows past their
	// tenant's retention from reads.
	retention *retention
	// cutover caches Cutover: immutable once migration 0012 ran.
	cutover *atomic.Pointer[time.Time]
}

// NewStore returns a Store over db. cipher seals endpoint secrets (nil for
// commands that never touch them); now is the clock (nil means time.Now).
func NewStore(db *DB, cipher *Cipher, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db.Gorm, pool: db.Pool, cipher: cipher, now: now, txPooled: db.TxPooled, cutover: new(atomic.Pointer[time.Time])}
}

// DB returns the underlying gorm handle, for packages (billing) that keep
// tables of their own in the same database.
func (s *Store) DB() *gorm.DB { return s.db }

// Now returns the store's clock reading, truncated to PostgreSQL's
// microsecond precision so values read back compare equal.
func (s *Store) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// InTx runs fn inside one transaction; the Store passed to fn uses it. A
// returned error (or panic) rolls back.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	err := s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		return fn(&Store{db: gtx, pool: s.pool, cipher: s.cipher, now: s.now, retention: s.retention, cutover: s.cutover})
	})
	return translate(err)
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("database handle: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

func (s *Store) q(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// Translate maps driver errors onto the package's sentinels: a missing row
// (or a foreign key to one) is ErrNotFound, a unique violation
// ErrConflict, a connection failure ErrUnavailable. Other errors pass
// through. Packages with tables of their own (billing) use it too.
func Translate(err error) error { return translate(err) }

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

func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
		case "23503": // foreign_key_violation: what it points at is gone
			return fmt.Errorf("%w: %s", ErrNotFound, pgErr.ConstraintName)
		case "57P01", "57P02", "57P03", "53300": // shutdown, crash, cannot connect now, too many connections
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if msg, ok := clientDataErrors[pgErr.Code]; ok {
			// The value came from the request: the client's fault, a 422.
			return fmt.Errorf("%w: %w", &ValidationError{Loc: []string{"body"}, Msg: msg}, err)
		}
		return err
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
