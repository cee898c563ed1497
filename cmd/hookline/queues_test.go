package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// TestQueues: the operator sees the queue's counts, lists a dead delivery
// and re-queues it for one more try, which then succeeds.
func TestQueues(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true})
	var healthy atomic.Bool
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusGone) // ends the delivery at once: a dead task
		}
	}))
	defer recv.Close()
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "q"})
	if _, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: recv.URL}); err != nil {
		t.Fatal(err)
	}
	ep, err := env.Store.FindEndpoints(ctx, env.TenantID, app.ID, tenants.ListParams{})
	if err != nil || len(ep.Items) != 1 {
		t.Fatal(err)
	}
	_, ids, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.EnqueueDeliveries(ctx, env.TenantID, ep.Items[0].ID, ids); err != nil {
		t.Fatal(err)
	}
	status := func() tenants.Status {
		j, err := env.Store.LoadDelivery(ctx, env.TenantID, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		return j.Status
	}
	waitUntil(t, 10*time.Second, func() bool { return status() == tenants.StatusFail })

	vars := testSecrets(env.DSN)
	vars["HOOKLINE_REDIS_URL"] = env.RedisURL
	vars["HOOKLINE_QUEUE"] = env.Queue
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, append([]string{"queues"}, args...), envMap(vars), &out, &errOut); err != nil {
			t.Fatalf("hookline queues %v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	if summary := cli(); !strings.Contains(summary, "queue "+env.Queue+": 0 pending deliveries, 0 overdue; 0 lanes full") {
		t.Fatalf("queues summary:\n%s", summary)
	}
	dead := cli("dead")
	if !strings.Contains(dead, strconv.FormatInt(ids[0], 10)) || !strings.Contains(dead, env.TenantID) || !strings.Contains(dead, "HTTP 410") {
		t.Fatalf("dead deliveries:\n%s", dead)
	}
	healthy.Store(true)
	if out := cli("requeue", "--all"); !strings.Contains(out, "re-queued 1") {
		t.Fatalf("requeue: %s", out)
	}
	waitUntil(t, 10*time.Second, func() bool { return status() == tenants.StatusSuccess })
	if out := cli("dead"); !strings.Contains(out, "no dead deliveries") {
		t.Errorf("after requeue, dead deliveries:\n%s", out)
	}
}
