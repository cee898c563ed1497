package store_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// TestStore_HotStatementsUseGenericPlans: the ingest's and the attempt
// recorder's statements run on connections where PostgreSQL keeps their
// generic plan instead of planning them on every execution (left to choose,
// it plans the recorder's afresh each time: its generic plan, costed with
// every partition, never looks cheaper). The test reads the hot
// connection's own prepared statements (a pool of 4 has one hot
// connection).
func TestStore_HotStatementsUseGenericPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	db, err := store.Open(ctx, dsn, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	st := store.New(db, storetest.TestCipher(t), nil)
	ten, err := st.CreateTenant(ctx, "hot")
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := st.CreateEndpoint(ctx, ten.ID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	// More executions than the five custom plans PostgreSQL tries before
	// it considers the generic one.
	const rounds = 8
	for range rounds {
		made, err := st.CreateMessages(ctx, []tenants.MessageSpec{{TenantID: ten.ID, AppID: app.ID,
			In: tenants.MessageInput{EventType: "e.t", Payload: []byte(`{}`)}}})
		if err != nil {
			t.Fatal(err)
		}
		m := made[0]
		if len(m.Deliveries) != 1 {
			t.Fatalf("message made %d deliveries; want 1", len(m.Deliveries))
		}
		a := tenants.Attempt{ID: tenants.NewID(tenants.PrefixAttempt, m.Message.CreatedAt), TenantID: ten.ID, AppID: app.ID,
			MsgID: m.Message.ID, EndpointID: ep.ID, DeliveryID: m.Deliveries[0].ID, URL: ep.URL,
			Status: tenants.StatusSuccess, StatusCode: 200, CreatedAt: m.Message.CreatedAt}
		if err := st.RecordAttempts(ctx, []tenants.AttemptResult{{Attempt: a, Status: tenants.StatusSuccess}}); err != nil {
			t.Fatal(err)
		}
	}
	if db.HotPool() == nil {
		t.Fatal("no hot pool on a direct connection")
	}
	rows, err := db.HotPool().Query(ctx, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var stmt string
		var generic, custom int64
		if err := rows.Scan(&stmt, &generic, &custom); err != nil {
			t.Fatal(err)
		}
		for _, which := range []string{"WITH raw AS", "WITH ins AS"} {
			if !strings.HasPrefix(strings.TrimSpace(stmt), which) {
				continue
			}
			seen[which] = true
			if custom != 0 || generic < rounds {
				t.Errorf("%s…: %d generic and %d custom plans over %d executions; want every execution on the generic plan",
					which, generic, custom, rounds)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !seen["WITH raw AS"] || !seen["WITH ins AS"] {
		t.Fatalf("the hot connection prepared %v of the ingest's (WITH raw AS) and the recorder's (WITH ins AS) statements", seen)
	}
}
