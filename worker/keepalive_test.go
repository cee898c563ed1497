package worker_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// TestDelivery_ReusesConnections: deliveries to one endpoint go over
// HTTP/1.1 keep-alive connections that are used again, whether the
// receiver answers with a body or without one. A real loopback receiver
// counts the TCP connections it accepts: never more than the attempts the
// endpoint's lane lets run at once (each new connection is dialed only
// while every other is busy), where one connection per delivery would be
// n.
func TestDelivery_ReusesConnections(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true})
	var accepted, delivered atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if delivered.Add(1)%2 == 0 {
			_, _ = w.Write([]byte(`{"ok":true}`)) // a body to read and drain
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: srv.URL + "/hook"}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 240
	sendMessages(t, c, app.Id, n, 8, nil)
	waitFor(t, 60*time.Second, "every delivery", func() bool { return delivered.Load() >= n })
	bound := int64(min(worker.DefaultLaneCap, worker.DefaultConcurrency))
	if got := accepted.Load(); got > bound {
		t.Errorf("the receiver accepted %d connections for %d deliveries, want at most %d (keep-alive connections used again)", got, n, bound)
	}
	t.Logf("%d deliveries over %d connections", delivered.Load(), accepted.Load())
}
