package worker

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hookline/hookline/internal/redistest"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// BenchmarkHandler_Turn measures one delivery's turn through the real
// runner: load the delivery from PostgreSQL, sign, POST to a local
// receiver, record the attempt (group commit) — everything a worker does
// per turn except taking it from its lane and releasing the slot. Run in
// parallel (b.RunParallel), as the worker runs it.
func BenchmarkHandler_Turn(b *testing.B) {
	ctx := context.Background()
	db, _ := storetest.Open(b)
	st := store.New(db, storetest.TestCipher(b), nil)
	redisURL, ns := redistest.Namespace(b)
	opt, _ := redis.ParseURL(redisURL)
	rc := redis.NewClient(opt)
	defer rc.Close()
	recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer recv.Close()
	w := New(Deps{Store: st, Redis: rc, Log: slog.New(slog.DiscardHandler)}, Options{Queue: ns, AllowPrivateTargets: true, Concurrency: 64})
	defer w.Shutdown()

	t, _ := st.CreateTenant(ctx, "bench")
	app, _ := st.CreateApplication(ctx, t.ID, tenants.ApplicationInput{Name: "a"})
	if _, err := st.CreateEndpoint(ctx, t.ID, app.ID, tenants.EndpointInput{URL: recv.URL}); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"type":"invoice.paid","data":{"id":"in_1234567890","amount":4200,"currency":"eur","customer":"cus_123"}}`)
	eps, _ := st.FindEndpoints(ctx, t.ID, app.ID, tenants.ListParams{})
	items := make(chan laneItem, b.N)
	for range b.N {
		_, ids, err := st.CreateMessage(ctx, t.ID, app.ID, tenants.MessageInput{EventType: "invoice.paid", Payload: payload})
		if err != nil {
			b.Fatal(err)
		}
		items <- laneItem{ID: ids[0], EndpointID: eps.Items[0].ID, TenantID: t.ID}
	}
	close(items)
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if out := w.run.turn(ctx, <-items, nil, ""); !out.next.IsZero() {
				b.Errorf("a turn left the delivery pending: %+v", out)
			}
		}
	})
}
