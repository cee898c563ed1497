package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/hookline/hookline/tenants"
)

// DB is one PostgreSQL connection pool with the two faces the store uses
// (see the package doc): the pgx pool itself, and gorm over pgx's
// database/sql adapter on the same pool. Only this package sees them.
type DB struct {
	pool *pgxpool.Pool
	sql  *sql.DB
	gorm *gorm.DB
	// hot runs the two statements every message takes — the ingest's
	// (createMessagesSQL) and the attempt recorder's (recordAttemptsSQL) —
	// on connections whose prepared statements always use their generic
	// plan (plan_cache_mode = force_generic_plan). Left to choose,
	// PostgreSQL plans them afresh on every execution: the generic plan of
	// a statement over partitioned tables is costed with every partition,
	// so it never looks cheaper than a custom one, and planning the
	// recorder's statement took a third of its time (0.1 ms of PostgreSQL
	// CPU per delivery). Their generic plans are the custom ones with the
	// partitions pruned at executor start (BENCHMARKS.md, "PostgreSQL's plans").
	// Other statements keep PostgreSQL's choice: a listing's plan may
	// depend on its parameters. Nil behind a transaction pooler, where
	// nothing is prepared and session settings would leak to other clients.
	hot *pgxpool.Pool
	// txPooled says the connections come from a transaction pooler
	// (PgBouncer in transaction mode, WithPgBouncer): a session holds a
	// server connection for one transaction only, so nothing may rely on
	// session state — no prepared statements kept across statements, no
	// session advisory locks (Store.TryLease uses rows instead).
	txPooled bool
}

// Close releases every connection.
func (d *DB) Close() {
	_ = d.sql.Close()
	d.pool.Close()
	if d.hot != nil {
		d.hot.Close()
	}
}

// hotConns is how many connections the hot pool has, and how many the
// other pool keeps, of maxConns: a quarter for the hot pool, up to one per
// writer of the ingest and the recorder (four each). A small pool (a
// command's, a test's) keeps all its connections — some hold one while
// they wait for another, as the migrations' lock does — and the hot pool,
// which connects only when used, has one more.
func hotConns(maxConns int32) (hot, rest int32) {
	if maxConns < 8 {
		return 1, maxConns
	}
	hot = min(8, maxConns/4)
	return hot, maxConns - hot
}

// TxPooled reports whether the connections come from a transaction
// pooler (WithPgBouncer).
func (d *DB) TxPooled() bool { return d.txPooled }

// Open connects to PostgreSQL at dsn with a pool of at most maxConns
// connections and checks that the server answers. gorm's own log lines go
// to log: slow queries as warnings, unexpected errors as errors, SQL
// without its parameters (parameters may hold payloads or secrets).
func Open(ctx context.Context, dsn string, maxConns int, log *slog.Logger, opts ...DBOption) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	for _, o := range opts {
		o(cfg)
	}
	// WithPgBouncer's mode is how a transaction pooler is recognised.
	txPooled := cfg.ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheDescribe
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	var hotCfg *pgxpool.Config
	if !txPooled {
		hotCfg = cfg.Copy()
		hotCfg.MaxConns, cfg.MaxConns = hotConns(cfg.MaxConns)
		// A SET after connecting rather than a startup parameter: a
		// session pooler (PgBouncer) refuses startup parameters it does
		// not know.
		hotCfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "SET plan_cache_mode = force_generic_plan")
			return err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	var hot *pgxpool.Pool
	if hotCfg != nil {
		if hot, err = pgxpool.NewWithConfig(ctx, hotCfg); err != nil {
			pool.Close()
			return nil, fmt.Errorf("open database pool: %w", err)
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		if hot != nil {
			hot.Close()
		}
		return nil, fmt.Errorf("%w: %w", tenants.ErrUnavailable, err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		SkipDefaultTransaction: true, // single statements need no transaction of their own
		Logger:                 &gormLogger{log: log, slow: 500 * time.Millisecond},
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	})
	if err != nil {
		pool.Close()
		if hot != nil {
			hot.Close()
		}
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return &DB{pool: pool, hot: hot, sql: sqlDB, gorm: gdb, txPooled: txPooled}, nil
}

// DBOption adjusts the pool's configuration.
type DBOption func(*pgxpool.Config)

// WithQueryTracer has every statement, gorm's included, reported to t (for
// tests that count round trips, or for instrumentation).
func WithQueryTracer(t pgx.QueryTracer) DBOption {
	return func(c *pgxpool.Config) { c.ConnConfig.Tracer = t }
}

// WithPgBouncer prepares the pool for a transaction pooler such as
// PgBouncer in transaction mode, where consecutive statements may run on
// different server connections: no named prepared statements (pgx's
// QueryExecModeCacheDescribe runs unnamed ones in one round trip), only
// statement descriptions cached, which hold on any server connection of
// the same schema. The DB it opens reports TxPooled.
func WithPgBouncer() DBOption {
	return func(c *pgxpool.Config) {
		c.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
		c.ConnConfig.StatementCacheCapacity = 0
	}
}

// CreateDatabaseSQL is the statement that creates a Hookline database:
// with the C collation whatever the server's default, because ids (KSUIDs,
// base62) sort by time only bytewise, and the partitions and the id-window
// listings rely on that order (migration 0012 refuses a database whose
// collation does not sort them so, such as glibc's en_US.UTF-8).
func CreateDatabaseSQL(name string) string {
	return "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE template0 LC_COLLATE 'C'"
}

// EnsureDatabase creates the database named in dsn when it does not exist
// (CreateDatabaseSQL), connecting to the server's "postgres" database to do
// so. created reports
// whether it had to.
func EnsureDatabase(ctx context.Context, dsn string) (created bool, err error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return false, fmt.Errorf("HOOKLINE_DATABASE_URL must be a postgres:// URL: %q", dsn)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return false, fmt.Errorf("HOOKLINE_DATABASE_URL names no database: %q", dsn)
	}
	admin := *u
	admin.Path = "/postgres"
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, admin.String())
	if err != nil {
		return false, fmt.Errorf("%w: %w", tenants.ErrUnavailable, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return false, fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, CreateDatabaseSQL(name)); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile
			return false, nil
		}
		return false, fmt.Errorf("create database %s: %w", name, err)
	}
	return true, nil
}

// gormLogger sends gorm's log lines to slog. Not-found and unique-violation
// errors are the store's normal answers (404, 409) and are not logged.
type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

func (l *gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l *gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.InfoContext(ctx, fmt.Sprintf(msg, args...), "component", "gorm")
}
func (l *gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(msg, args...), "component", "gorm")
}
func (l *gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...), "component", "gorm")
}

func (l *gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !expectedDBError(err):
		sql, _ := fc()
		l.log.ErrorContext(ctx, "sql error", "component", "gorm", "sql", sql, "duration_ms", elapsed.Milliseconds(), "err", err)
	case elapsed > l.slow:
		sql, rows := fc()
		l.log.WarnContext(ctx, "slow sql", "component", "gorm", "sql", sql, "rows", rows, "duration_ms", elapsed.Milliseconds())
	}
}

// ParamsFilter keeps parameters out of every logged statement.
func (l *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func expectedDBError(err error) bool {
	if errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, context.Canceled) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
