package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// pgCounter counts statements sent to PostgreSQL.
type pgCounter struct {
	mu   sync.Mutex
	sqls []string
}

func (p *pgCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	p.mu.Lock()
	p.sqls = append(p.sqls, d.SQL)
	p.mu.Unlock()
	return ctx
}

func (p *pgCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (p *pgCounter) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.sqls
	p.sqls = nil
	return out
}

// redisCounter counts round trips to Redis: a command or a pipeline is one.
type redisCounter struct{ trips atomic.Int64 }

func (r *redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.trips.Add(1); return next(ctx, cmd) }
}
func (r *redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.trips.Add(1); return next(ctx, cmds) }
}

// TestFanOut_OneStatementOneRoundTrip: a message to an application with 50
// endpoints, sent as the Svix SDKs send it (with an idempotency-key), is
// stored with its idempotency claim and its 50 deliveries by one statement
// (one transaction, one round trip), and queued in one Redis round trip.
func TestFanOut_OneStatementOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	pgc := &pgCounter{}
	db, err := store.Open(ctx, dsn, 4, testenv.Logger(), store.WithQueryTracer(pgc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	st := store.New(db, storetest.TestCipher(t), nil)
	redisURL, ns := redistest.Namespace(t)
	opt, _ := redis.ParseURL(redisURL)
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	rcount := &redisCounter{}
	rc.AddHook(rcount)
	tokens := api.NewTokens(testenv.JWTSecret, nil)
	ob := outbox.New(outbox.Deps{Store: st, Workers: worker.NewDispatcher(worker.NewClient(rc, ns, 0)), Log: testenv.Logger()}, outbox.Options{})
	srv := api.NewServer(api.Deps{Store: st, Tokens: tokens, Auth: api.NewAuthenticator(st, tokens, testenv.Logger()),
		Log: testenv.Logger(), Outbox: ob}, api.Options{})
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	tn, _ := st.CreateTenant(ctx, "fan")
	_, key, _ := st.CreateAPIKey(ctx, tn.ID, "k")
	app, _ := st.CreateApplication(ctx, tn.ID, tenants.ApplicationInput{Name: "fan"})
	for range 50 {
		if _, err := st.CreateEndpoint(ctx, tn.ID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/h"}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	post := func() {
		n++
		req, _ := http.NewRequest("POST", hs.URL+"/api/v1/app/"+app.ID+"/msg", bytes.NewBufferString(`{"eventType":"a.b","payload":{"k":1}}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Idempotency-Key", fmt.Sprintf("auto_fanout_%d", n))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("message: %d", resp.StatusCode)
		}
	}
	post() // warms the credential and application caches and the script
	pgc.take()
	rcount.trips.Store(0)

	post()
	sqls := pgc.take()
	if len(sqls) != 1 || !strings.Contains(sqls[0], "INSERT INTO messages") || !strings.Contains(sqls[0], "INSERT INTO deliveries") ||
		!strings.Contains(sqls[0], "INSERT INTO idempotency_keys") {
		t.Errorf("PostgreSQL statements for one message: %d %q; want the single claim+message+deliveries statement", len(sqls), sqls)
	}
	if n := rcount.trips.Load(); n != 1 {
		t.Errorf("%d Redis round trips for one message fanned out to 50 endpoints, want 1", n)
	}
	// Every delivery sits in its endpoint's lane: 50 lanes, two each (the
	// first of a lane's slots are not taken here, with no worker to run
	// them).
	keys, err := rc.Keys(ctx, "hl:{"+ns+"}:e:*:w").Result()
	if err != nil || len(keys) != 50 {
		t.Fatalf("%d lanes with deliveries waiting (%v), want 50", len(keys), err)
	}
	waiting := int64(0)
	for _, k := range keys {
		waiting += rc.ZCard(ctx, k).Val()
	}
	if waiting != 100 {
		t.Errorf("%d deliveries waiting in lanes, want 100 (two messages x 50 endpoints)", waiting)
	}
}
