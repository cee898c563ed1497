package tenants_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/hookline/hookline/internal/dbtest"
	"github.com/hookline/hookline/tenants"
)

// sqlRecorder keeps the last query gorm ran, with its arguments.
type sqlRecorder struct {
	mu   sync.Mutex
	sql  string
	vars []any
}

func (r *sqlRecorder) register(t *testing.T, db *gorm.DB) {
	err := db.Callback().Query().After("gorm:query").Register("test:record", func(tx *gorm.DB) {
		r.mu.Lock()
		r.sql, r.vars = tx.Statement.SQL.String(), append([]any(nil), tx.Statement.Vars...)
		r.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (r *sqlRecorder) explain(t *testing.T, db *tenants.DB) string {
	t.Helper()
	r.mu.Lock()
	q, vars := r.sql, r.vars
	r.mu.Unlock()
	rows, err := db.Pool.Query(context.Background(), "EXPLAIN "+q, vars...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	return strings.Join(lines, "\n")
}

// TestStore_TagFilterUsesIndex: the tag filter of the message and attempt
// listings is answered through the messages_tags GIN index, not by reading
// the application's messages or the endpoint's attempts one by one. The
// table holds thousands of messages of which a handful carry the tag, and
// the plans of the real listing queries (as the store builds them) are
// checked with EXPLAIN.
func TestStore_TagFilterUsesIndex(t *testing.T) {
	t.Parallel()
	db, _ := dbtest.Open(t)
	store := tenants.NewStore(db, dbtest.TestCipher(t), nil)
	ctx := context.Background()
	ten, err := store.CreateTenant(ctx, "tags")
	if err != nil {
		t.Fatal(err)
	}
	app, err := store.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	// 20,000 messages: most untagged, a fifth tagged "common", 5 "rare";
	// one attempt each to the same endpoint.
	if err := db.Gorm.Exec(`INSERT INTO messages (id, tenant_id, app_id, event_type, payload, tags, created_at, expires_at)
		SELECT 'msg_' || lpad(g::text, 27, '0'), ?, ?, 'e.t', '{}',
			CASE WHEN g % 4000 = 7 THEN '["rare","common"]'::jsonb WHEN g % 5 = 0 THEN '["common"]'::jsonb END,
			now(), now() + interval '1 day'
		FROM generate_series(1, 20000) g`, ten.ID, app.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Exec(`INSERT INTO attempts (id, tenant_id, app_id, msg_id, endpoint_id, delivery_id, url, status, status_code, duration_ms, trigger, created_at)
		SELECT 'atmpt_' || substr(id, 5), tenant_id, app_id, id, 'ep_x', 1, 'http://127.0.0.1:9', 0, 200, 1, 0, now() FROM messages`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Exec(`ANALYZE messages; ANALYZE attempts`).Error; err != nil {
		t.Fatal(err)
	}
	var rec sqlRecorder
	rec.register(t, db.Gorm)

	f := tenants.MessageFilter{Tag: "rare"}
	pg, err := store.FindMessages(ctx, ten.ID, app.ID, f)
	if err != nil || len(pg.Items) != 5 {
		t.Fatalf("tagged messages: %d, %v; want 5", len(pg.Items), err)
	}
	if plan := rec.explain(t, db); !usesTagIndex(plan) {
		t.Errorf("message listing by tag does not use messages_tags:\n%s", plan)
	} else {
		t.Logf("message listing by tag:\n%s", plan)
	}
	at, err := store.FindAttemptsByEndpoint(ctx, ten.ID, app.ID, "ep_x", tenants.AttemptFilter{MessageFilter: f})
	if err != nil || len(at.Items) != 5 {
		t.Fatalf("tagged attempts: %d, %v; want 5", len(at.Items), err)
	}
	if plan := rec.explain(t, db); !usesTagIndex(plan) {
		t.Errorf("attempt listing by tag does not use messages_tags:\n%s", plan)
	} else {
		t.Logf("attempt listing by tag:\n%s", plan)
	}
	em, err := store.FindEndpointMessages(ctx, ten.ID, app.ID, "ep_x", f, nil)
	if err != nil || len(em.Items) != 0 { // no deliveries were made
		t.Fatalf("endpoint messages: %d, %v", len(em.Items), err)
	}
}

// usesTagIndex reports whether plan reads messages through messages_tags
// (on a partition, its copy is named after the partition: …_tags…).
func usesTagIndex(plan string) bool {
	for _, l := range strings.Split(plan, "\n") {
		if strings.Contains(l, "Index Scan on messages") && strings.Contains(l, "_tags") {
			return true
		}
	}
	return false
}
