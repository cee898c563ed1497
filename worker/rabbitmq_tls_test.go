package worker_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testcerts"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// TestRabbitMQ_URIFilesIgnored: a RabbitMQ destination stored before the
// API refused URIs that name local files (inserted here through the store,
// behind the API's back) has its cacertfile, certfile and keyfile ignored.
// The files exist and are readable: the CA file names a CA that did not
// sign the broker's certificate (read, it would fail every handshake), and
// the certificate and key are a valid pair (read, the worker would present
// them to a broker that asks). Every message arrives, verified against the
// worker's own roots, and the broker is never shown a client certificate.
func TestRabbitMQ_URIFilesIgnored(t *testing.T) {
	t.Parallel()
	queue, ch := rabbitQueue(t)
	tb := newTLSBroker(t)
	dir := t.TempDir()
	otherCA := testcerts.New(t, nil, testcerts.Options{CommonName: "Not the broker's CA", CA: true})
	client := testcerts.New(t, &otherCA, testcerts.Options{CommonName: "worker secret"})
	files := map[string][]byte{"ca.pem": otherCA.CertPEM, "cert.pem": client.CertPEM, "key.pem": client.KeyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	uri := fmt.Sprintf("amqps://guest:guest@%s/?cacertfile=%s&certfile=%s&keyfile=%s", tb.addr,
		filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err := tenants.CheckRabbitMQ(uri, queue, true); err == nil {
		t.Fatalf("CheckRabbitMQ accepts %s; this test is of a URI stored before it refused them", uri)
	}

	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.WithBrokerRoots(worker.Options{}, tb.caPEM))})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit"})
	if _, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{
		Type: tenants.DestinationRabbitMQ, URI: uri, RoutingKey: queue, BatchSize: 10}); err != nil {
		t.Fatal(err)
	}
	const n = 5
	var want []string
	for i := range n {
		m, _, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "r.e", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}
	var got []string
	seen := map[string]bool{}
	waitFor(t, 30*time.Second, "every message in the queue", func() bool {
		got = drainQueue(t, ch, queue, got, seen)
		return len(got) >= n
	})
	if !slices.Equal(got, want) {
		t.Errorf("the queue got %v; want %v", got, want)
	}
	if tb.handshakes.Load() == 0 {
		t.Error("the broker completed no TLS handshake")
	}
	if c := tb.clientCerts.Load(); c != 0 {
		t.Errorf("the worker presented a client certificate in %d handshakes; want none", c)
	}
}

// TestRabbitMQ_BrokerVerified: by default an amqps broker is verified
// against the system pool, so a broker whose certificate a made-up CA
// signed is refused, and the failed attempt says it is the certificate.
func TestRabbitMQ_BrokerVerified(t *testing.T) {
	t.Parallel()
	tb := newTLSBroker(t)
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{})})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit"})
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{
		Type: tenants.DestinationRabbitMQ, URI: "amqps://guest:guest@" + tb.addr + "/", RoutingKey: "never", BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "r.e", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	var resp string
	waitFor(t, 30*time.Second, "a failed attempt", func() bool {
		return env.SQL.QueryRow(ctx, `SELECT response FROM destination_attempts WHERE destination_id = $1 AND status = $2 LIMIT 1`,
			d.ID, int(tenants.StatusFail)).Scan(&resp) == nil
	})
	if !strings.Contains(resp, "certificate") {
		t.Errorf("the attempt says %q; want a certificate verification failure", resp)
	}
}
