// Package storetest gives each test a fresh PostgreSQL database cloned from a
// migrated template, so integration tests run against the real server,
// isolated from each other and in parallel.
//
// The template is named after a hash of the migration files and built once
// per machine (guarded by an advisory lock, since go test runs packages as
// parallel processes); each test then pays only for CREATE DATABASE …
// TEMPLATE, dropped in t.Cleanup.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookline/hookline/migrations"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/tenants"
)

// BaseURL is the server the tests use; HOOKLINE_TEST_DATABASE_URL
// overrides it. Its database part is ignored.
func BaseURL() string {
	if u := os.Getenv("HOOKLINE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// URLFor returns BaseURL pointed at database name.
func URLFor(name string) string {
	u, err := url.Parse(BaseURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrations.FS(), path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func admin(ctx context.Context) (*pgx.Conn, error) {
	return pgx.Connect(ctx, URLFor("postgres"))
}

func ensureTemplate(ctx context.Context) (string, error) {
	name := "hookline_tmpl_" + migrationsHash()
	conn, err := admin(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL at %s (is it running?): %w", BaseURL(), err)
	}
	defer conn.Close(ctx)
	// Serialise template builds across test processes.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7140001)"); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock(7140001)") //nolint:errcheck
	var ready bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&ready)
	if err != nil {
		return "", err
	}
	if ready {
		return name, nil
	}
	// A half-built template from a crashed run is dropped and rebuilt.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, store.CreateDatabaseSQL(name)); err != nil {
		return "", err
	}
	db, err := store.Open(ctx, URLFor(name), 2, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", err
	}
	_, err = db.MigrateUp(ctx, slog.New(slog.DiscardHandler))
	db.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH is_template = true"); err != nil {
		return "", err
	}
	return name, nil
}

// NewDatabase creates a fresh migrated database for t and returns its URL.
// The database is dropped when the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("storetest: template database: %v", templateErr)
	}
	name := fmt.Sprintf("hookline_t_%d_%s", time.Now().UnixNano(), strings.ToLower(tenants.NewID("", time.Now())[20:]))
	conn, err := admin(ctx)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer conn.Close(ctx)
	var lastErr error
	for range 20 { // a clone fails while another session briefly holds the template
		_, lastErr = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{templateName}.Sanitize())
		if lastErr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("storetest: clone template: %v", lastErr)
	}
	t.Cleanup(func() { dropDatabase(t, name) })
	return URLFor(name)
}

// NewEmptyDatabase creates a database with no schema at all for t, dropped
// when the test ends.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("hookline_e_%d", time.Now().UnixNano())
	conn, err := admin(ctx)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, store.CreateDatabaseSQL(name)); err != nil {
		t.Fatalf("storetest: create empty database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(t, name) })
	return URLFor(name)
}

func dropDatabase(t testing.TB, name string) {
	ctx := context.Background()
	c, err := admin(ctx)
	if err != nil {
		t.Logf("storetest: drop %s: %v", name, err)
		return
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Logf("storetest: drop %s: %v", name, err)
	}
}

// Open returns a connected DB on a fresh database, closed when the test
// ends.
func Open(t testing.TB) (*store.DB, string) {
	t.Helper()
	dsn := NewDatabase(t)
	db, err := store.Open(context.Background(), dsn, 10, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(db.Close)
	return db, dsn
}

// SQL returns a small pool of its own on the database at dsn, closed when
// the test ends: for tests that check or shape rows directly, beside the
// store under test.
func SQL(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatalf("storetest: open pool: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestCipher returns a cipher with a fixed key, for tests only.
func TestCipher(t testing.TB) *tenants.Cipher {
	c, err := tenants.NewCipher([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
