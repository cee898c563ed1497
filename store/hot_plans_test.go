package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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
	db, st, ten, app, ep := openWithEndpoint(t, dsn)
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

// TestStore_IngestFindsEndpointsByIndex: the ingest statement finds a
// message's endpoints through the application's index, in the generic
// plan it runs with (TestStore_HotStatementsUseGenericPlans), not by
// reading every endpoint of every tenant: with 10,000 endpoints elsewhere,
// statistics stale or fresh, the plan is an index scan by application.
func TestStore_IngestFindsEndpointsByIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	rec := lastQuery{}
	_, st, ten, app, ep := openWithEndpoint(t, dsn, store.WithQueryTracer(&rec))
	sql := storetest.SQL(t, dsn)
	// 10,000 endpoints of 1,000 other applications, the statistics taken
	// when there were 20 (a burst of new endpoints since the last ANALYZE).
	if _, err := sql.Exec(ctx, `INSERT INTO applications (id, tenant_id, name, created_at, updated_at)
		SELECT 'app_other' || g, $1, 'other', now(), now() FROM generate_series(0, 999) g`, ten.ID); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{1, 20}, {21, 10000}} {
		if _, err := sql.Exec(ctx, `INSERT INTO endpoints (id, tenant_id, app_id, url)
			SELECT 'ep_other' || g, $1, 'app_other' || (g % 1000), 'http://127.0.0.1:9/' || g FROM generate_series($2::int, $3::int) g`,
			ten.ID, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
		if r[0] == 1 {
			if _, err := sql.Exec(ctx, `ANALYZE endpoints`); err != nil {
				t.Fatal(err)
			}
		}
	}
	q, args := rec.capture(t, func() error {
		made, err := st.CreateMessages(ctx, []tenants.MessageSpec{{TenantID: ten.ID, AppID: app.ID,
			In: tenants.MessageInput{EventType: "e.t", Payload: []byte(`{}`)}}})
		if err == nil && (len(made) != 1 || len(made[0].Deliveries) != 1 || made[0].Deliveries[0].EndpointID != ep.ID) {
			err = fmt.Errorf("made %+v; want one delivery to %s", made, ep.ID)
		}
		return err
	})
	if !strings.Contains(q, "INSERT INTO deliveries") {
		t.Fatalf("captured %q; want the ingest statement", q)
	}
	// Before ANALYZE (the statistics know 20 endpoints, and a connection
	// keeps the plan made from them until the next ANALYZE) and after.
	byApp := regexp.MustCompile(`Index Cond: \(app_id = a(_\d+)?\.app_id\)`)
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := sql.Exec(ctx, `ANALYZE endpoints`); err != nil {
				t.Fatal(err)
			}
		}
		var plan []string
		err := pgx.BeginFunc(ctx, sql, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "EXPLAIN "+q, args...)
			if err != nil {
				return err
			}
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan on endpoints") || !strings.Contains(text, "endpoints_app") || !byApp.MatchString(text) {
			t.Errorf("analyzed %v: the ingest's generic plan does not look endpoints up by application:\n%s", analyzed, text)
		}
	}
}

// openWithEndpoint opens a pool of 4 on dsn and makes a tenant with one
// application and one endpoint.
func openWithEndpoint(t *testing.T, dsn string, opts ...store.DBOption) (*store.DB, *store.Store, tenants.Tenant, tenants.Application, tenants.Endpoint) {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, 4, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	st := store.New(db, storetest.TestCipher(t), nil)
	ten, app, ep := tenantWithEndpoint(t, st)
	return db, st, ten, app, ep
}

// tenantWithEndpoint makes a tenant "plans" with one application and one
// endpoint.
func tenantWithEndpoint(t *testing.T, st *store.Store) (tenants.Tenant, tenants.Application, tenants.Endpoint) {
	t.Helper()
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "plans")
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
	return ten, app, ep
}
