package store_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestStore_PollReadsByIndex: a poll from the middle of an application's
// messages is one range scan of the position index
// (messages_app_position), not a read of the application's messages, and
// the page is the next messages in position order.
func TestStore_PollReadsByIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	// The read, not the statements around it (the poll's billing).
	rec := lastQuery{only: "SELECT m.id"}
	db, err := store.Open(ctx, dsn, 4, slog.New(slog.DiscardHandler), store.WithQueryTracer(&rec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	st := store.New(db, storetest.TestCipher(t), nil)
	sql := storetest.SQL(t, dsn)
	ten, _ := st.CreateTenant(ctx, "poll")
	app, _ := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a"})
	other, _ := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "b"})
	d, err := st.CreateDestination(ctx, ten.ID, app.ID, tenants.DestinationInput{Type: tenants.DestinationPolling, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	// 20,000 messages in each application, in 20 transactions.
	for range 20 {
		ids, apps := make([]string, 0, 2000), make([]string, 0, 2000)
		for i := range 2000 {
			ids = append(ids, tenants.NewID(tenants.PrefixMessage, time.Now()))
			apps = append(apps, []string{app.ID, other.ID}[i%2])
		}
		if _, err := sql.Exec(ctx, `INSERT INTO messages (id, tenant_id, app_id, event_type, payload, created_at, expires_at)
			SELECT u.id, $1, u.app, 'e.t', '{}', now(), now() + interval '1 day' FROM unnest($2::text[], $3::text[]) AS u(id, app)`,
			ten.ID, ids, apps); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sql.Exec(ctx, `ANALYZE messages`); err != nil {
		t.Fatal(err)
	}
	var mid tenants.Position
	var tx string
	if err := sql.QueryRow(ctx, `SELECT tx_id::text, id FROM messages WHERE app_id = $1 ORDER BY tx_id, id OFFSET 10000 LIMIT 1`, app.ID).Scan(&tx, &mid.ID); err != nil {
		t.Fatal(err)
	}
	mid.Tx = parseUint(t, tx)
	// The horizon is the cluster's: another test's transaction (a CREATE
	// DATABASE) may hold it below these messages for a moment.
	var (
		got    []tenants.PollMessage
		q      string
		args   []any
		polled int
	)
	for deadline := time.Now().Add(20 * time.Second); len(got) < 250 && time.Now().Before(deadline); polled++ {
		q, args = rec.capture(t, func() error {
			var err error
			got, _, _, err = st.PollDestination(ctx, ten.ID, app.ID, d.ID, &mid, time.Time{}, 250, tenants.PollFilter{})
			return err
		})
	}
	if len(got) != 250 {
		t.Fatalf("poll returned %d after %d tries; want a page of 250", len(got), polled)
	}
	var wantFirst string
	if err := sql.QueryRow(ctx, `SELECT id FROM messages WHERE app_id = $1 AND (tx_id, id) > ($2::text::xid8, $3) ORDER BY tx_id, id LIMIT 1`, app.ID, tx, mid.ID).Scan(&wantFirst); err != nil {
		t.Fatal(err)
	}
	if got[0].ID != wantFirst || got[0].AppID != app.ID {
		t.Fatalf("the page starts at %s of %s; want %s", got[0].ID, got[0].AppID, wantFirst)
	}
	plan := explain(t, sql, q, args)
	if !strings.Contains(plan, "tx_id_id_idx") && !strings.Contains(plan, "app_position") || strings.Contains(plan, "Seq Scan") {
		t.Errorf("the poll does not read through the position index:\n%s", plan)
	} else {
		t.Logf("poll plan:\n%s", plan)
	}
}

func parseUint(t *testing.T, s string) uint64 {
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}
