package api_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/batch"
	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestBackpressure_FullIngestQueue: when PostgreSQL stalls and the ingest
// queue fills, further messages are answered at once with 503 and
// Retry-After, and nothing of them is stored; what was accepted into the
// queue is stored once the database moves again, and the service recovers.
// The test shrinks the ingest queue (1 writer, batches of 1, 2 queued) so
// that it fills with a handful of requests; production's is 1,024.
func TestBackpressure_FullIngestQueue(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Outbox: outbox.Options{Ingest: batch.Options{Writers: 1, MaxBatch: 1, Queue: 2}}})
	ctx := context.Background()
	if _, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a", UID: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := postWith(t, env, "/api/v1/app/shop/msg", `{"eventType":"a.b","eventId":"warm","payload":{}}`, nil); code != 202 {
		t.Fatalf("warm-up: %d %s", code, body)
	}
	// Stall the writer: a transaction holds the messages table.
	tx, err := env.SQL.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE messages IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	const n = 12
	type answer struct {
		code       int
		body       string
		retryAfter string
	}
	answers := make([]answer, n)
	var answered atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body, hdr := postWith(t, env, "/api/v1/app/shop/msg", `{"eventType":"a.b","eventId":"e`+strconv.Itoa(i)+`","payload":{}}`, nil)
			answers[i] = answer{code, body, hdr.Get("Retry-After")}
			answered.Add(1)
		}()
		time.Sleep(5 * time.Millisecond) // pacing: the requests arrive one after another
	}
	// The busy answers come while the database is still stalled: one
	// message is in the stalled writer and two are queued, so the other
	// n-3 must be answered before the stall ends.
	deadline := time.Now().Add(10 * time.Second)
	for answered.Load() < n-3 {
		if time.Now().After(deadline) {
			t.Errorf("only %d of %d requests answered while the database was stalled; want at least %d refused at once", answered.Load(), n, n-3)
			break
		}
		time.Sleep(10 * time.Millisecond) // the poll's interval
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var accepted, busy []int
	for i, a := range answers {
		switch {
		case a.code == 202:
			accepted = append(accepted, i)
		case a.code == 503 && a.retryAfter != "" && strings.Contains(a.body, `"code":"overloaded"`):
			busy = append(busy, i)
		default:
			t.Errorf("request %d: %d %s (Retry-After %q)", i, a.code, a.body, a.retryAfter)
		}
	}
	// One in the stalled writer, two queued: the rest must be refused.
	if len(accepted) > 3 || len(busy) < n-3 {
		t.Errorf("%d accepted, %d refused as busy; the queue holds 1 writing + 2 waiting", len(accepted), len(busy))
	}
	for _, i := range busy {
		if _, err := env.Store.FindMessage(ctx, env.TenantID, mustApp(t, env, "shop"), "e"+strconv.Itoa(i)); err == nil {
			t.Errorf("message e%d was refused with 503 but stored", i)
		}
	}
	for _, i := range accepted {
		if _, err := env.Store.FindMessage(ctx, env.TenantID, mustApp(t, env, "shop"), "e"+strconv.Itoa(i)); err != nil {
			t.Errorf("message e%d was accepted but is not stored: %v", i, err)
		}
	}
	if code, body, _ := postWith(t, env, "/api/v1/app/shop/msg", `{"eventType":"a.b","eventId":"after","payload":{}}`, nil); code != 202 {
		t.Errorf("after the stall: %d %s", code, body)
	}
}

func mustApp(t *testing.T, env *testenv.Env, ref string) string {
	t.Helper()
	a, err := env.Store.FindApplication(context.Background(), env.TenantID, ref)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}
