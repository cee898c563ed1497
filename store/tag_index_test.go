package store_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// explain EXPLAINs q with its arguments on pool.
func explain(t *testing.T, pool *pgxpool.Pool, q string, args []any) string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "EXPLAIN "+q, args...)
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
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	var rec lastQuery
	db, err := store.Open(ctx, dsn, 4, slog.New(slog.DiscardHandler), store.WithQueryTracer(&rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	st := store.New(db, storetest.TestCipher(t), nil)
	sql := storetest.SQL(t, dsn)
	ten, err := st.CreateTenant(ctx, "tags")
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	// 20,000 messages: most untagged, a fifth tagged "common", 5 "rare";
	// one attempt each to the same endpoint.
	if _, err := sql.Exec(ctx, `INSERT INTO messages (id, tenant_id, app_id, event_type, payload, tags, created_at, expires_at)
		SELECT 'msg_' || lpad(g::text, 27, '0'), $1, $2, 'e.t', '{}',
			CASE WHEN g % 4000 = 7 THEN '["rare","common"]'::jsonb WHEN g % 5 = 0 THEN '["common"]'::jsonb END,
			now(), now() + interval '1 day'
		FROM generate_series(1, 20000) g`, ten.ID, app.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sql.Exec(ctx, `INSERT INTO attempts (id, tenant_id, app_id, msg_id, endpoint_id, delivery_id, url, status, status_code, duration_ms, trigger, created_at)
		SELECT 'atmpt_' || substr(id, 5), tenant_id, app_id, id, 'ep_x', 1, 'http://127.0.0.1:9', 0, 200, 1, 0, now() FROM messages`); err != nil {
		t.Fatal(err)
	}
	if _, err := sql.Exec(ctx, `ANALYZE messages; ANALYZE attempts`); err != nil {
		t.Fatal(err)
	}

	f := tenants.MessageFilter{Tag: "rare"}
	var n int
	q, args := rec.capture(t, func() error {
		pg, err := st.FindMessages(ctx, ten.ID, app.ID, f)
		n = len(pg.Items)
		return err
	})
	if n != 5 {
		t.Fatalf("tagged messages: %d; want 5", n)
	}
	if plan := explain(t, sql, q, args); !usesTagIndex(plan) {
		t.Errorf("message listing by tag does not use messages_tags:\n%s", plan)
	} else {
		t.Logf("message listing by tag:\n%s", plan)
	}
	q, args = rec.capture(t, func() error {
		at, err := st.FindAttemptsByEndpoint(ctx, ten.ID, app.ID, "ep_x", tenants.AttemptFilter{MessageFilter: f})
		n = len(at.Items)
		return err
	})
	if n != 5 {
		t.Fatalf("tagged attempts: %d; want 5", n)
	}
	if plan := explain(t, sql, q, args); !usesTagIndex(plan) {
		t.Errorf("attempt listing by tag does not use messages_tags:\n%s", plan)
	} else {
		t.Logf("attempt listing by tag:\n%s", plan)
	}
	em, err := st.FindEndpointMessages(ctx, ten.ID, app.ID, "ep_x", f, nil)
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
