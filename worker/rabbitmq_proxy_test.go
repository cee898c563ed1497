package worker_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookline/hookline/internal/testcerts"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// rabbitQueue declares a durable queue of the test's own on the machine's
// broker (deleted at the end) and returns its name and a channel to it.
func rabbitQueue(t testing.TB) (string, *amqp.Channel) {
	t.Helper()
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		t.Fatalf("the RabbitMQ broker at 127.0.0.1:5672 is needed (rabbitmq-server -detached): %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	queue := "hookline-test-" + tenants.NewShortID("q", time.Now())
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ch.QueueDelete(queue, false, false, false) })
	return queue, ch
}

// drainQueue takes what queue holds now and returns the message ids of
// first arrivals, in order, added to got (seen remembers them).
func drainQueue(t testing.TB, ch *amqp.Channel, queue string, got []string, seen map[string]bool) []string {
	t.Helper()
	for {
		m, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return got
		}
		if !seen[m.MessageId] {
			seen[m.MessageId] = true
			got = append(got, m.MessageId)
		}
	}
}

// tlsBroker is the machine's broker behind TLS (an amqps:// listener on
// loopback forwarding to 127.0.0.1:5672), with the CA that signed its
// certificate. It asks clients for a certificate without requiring one,
// and counts the handshakes it completed and the client certificates it
// was shown.
type tlsBroker struct {
	addr        string
	caPEM       []byte
	handshakes  atomic.Int32
	clientCerts atomic.Int32
}

func newTLSBroker(t *testing.T) *tlsBroker {
	ca := testcerts.New(t, nil, testcerts.Options{CommonName: "Broker CA", CA: true})
	cert := testcerts.New(t, &ca, testcerts.Options{CommonName: "broker", IPs: testcerts.Loopback()})
	b := &tlsBroker{caPEM: ca.CertPEM}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS()}, ClientAuth: tls.RequestClientCert})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	b.addr = l.Addr().String()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				b.handshakes.Add(1)
				if len(c.(*tls.Conn).ConnectionState().PeerCertificates) > 0 {
					b.clientCerts.Add(1)
				}
				up, err := net.Dial("tcp", "127.0.0.1:5672")
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c); up.Close() }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	return b
}

// TestEgressProxy_RabbitMQ: with HOOKLINE_EGRESS_PROXY set (with
// credentials; an http:// proxy, and an https:// one verified against
// the operator's CA), RabbitMQ destinations reach their broker through a
// CONNECT tunnel of the proxy: amqp:// with AMQP inside the tunnel, and
// amqps:// with TLS to the broker inside it (verified end to end against
// the broker's CA). Every message is in each destination's queue.
func TestEgressProxy_RabbitMQ(t *testing.T) {
	t.Parallel()
	t.Run("http", func(t *testing.T) {
		t.Parallel()
		proxy := newTestProxy(t, "hook", "line")
		testRabbitThroughProxy(t, proxy, worker.Options{EgressProxy: "http://hook:line@" + hostOf(proxy.URL)})
	})
	t.Run("https", func(t *testing.T) {
		t.Parallel()
		opsCA := testcerts.New(t, nil, testcerts.Options{CommonName: "Operator CA", CA: true})
		proxyCert := testcerts.New(t, &opsCA, testcerts.Options{CommonName: "proxy", IPs: testcerts.Loopback()})
		proxy := newTestProxyTLS(t, "hook", "line", &proxyCert)
		testRabbitThroughProxy(t, proxy, worker.Options{EgressProxy: "https://hook:line@" + hostOf(proxy.URL), EgressProxyCA: opsCA.CertPEM})
	})
}

func testRabbitThroughProxy(t *testing.T, proxy *testProxy, o worker.Options) {
	plainQ, ch := rabbitQueue(t)
	tlsQ, _ := rabbitQueue(t)
	tb := newTLSBroker(t)
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.WithBrokerRoots(o, tb.caPEM))})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit"})
	for _, in := range []tenants.DestinationInput{
		{URI: rabbitURL, RoutingKey: plainQ},
		{URI: "amqps://guest:guest@" + tb.addr + "/", RoutingKey: tlsQ},
	} {
		in.Type, in.BatchSize = tenants.DestinationRabbitMQ, 10
		if _, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	const n = 30
	var want []string
	for i := range n {
		m, _, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "r.e", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m.ID)
	}
	got := map[string][]string{}
	seen := map[string]map[string]bool{plainQ: {}, tlsQ: {}}
	waitFor(t, 30*time.Second, "every message in both queues", func() bool {
		for _, q := range []string{plainQ, tlsQ} {
			got[q] = drainQueue(t, ch, q, got[q], seen[q])
		}
		return len(got[plainQ]) >= n && len(got[tlsQ]) >= n
	})
	for _, q := range []string{plainQ, tlsQ} {
		if !slices.Equal(got[q], want) {
			t.Errorf("queue %s got %d messages; want the %d in order (first difference at %d)", q, len(got[q]), n, firstDiffIdx(got[q], want))
		}
	}
	seenByProxy := proxy.seen()
	for _, target := range []string{"127.0.0.1:5672", tb.addr} {
		if !slices.Contains(seenByProxy, "CONNECT "+target) {
			t.Errorf("the proxy was not asked to CONNECT %s; it saw %v", target, seenByProxy)
		}
	}
	for _, s := range seenByProxy {
		if !strings.HasPrefix(s, "CONNECT ") {
			t.Errorf("the proxy was asked %q", s)
		}
	}
	if tb.handshakes.Load() == 0 {
		t.Error("the amqps broker completed no TLS handshake")
	}
}

// TestEgressProxy_RabbitMQSSRF: with a proxy set and private targets
// refused, a broker on loopback (literal, or a name resolving to it) is
// refused by Hookline before the proxy is asked, and the failed attempt
// says why.
func TestEgressProxy_RabbitMQSSRF(t *testing.T) {
	t.Parallel()
	proxy := newTestProxy(t, "u", "p")
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{
		EgressProxy: "http://u:p@" + hostOf(proxy.URL),
	})})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit"})
	// Stored behind the API's back (it refuses these URIs).
	var ids []string
	for _, uri := range []string{rabbitURL, "amqp://guest:guest@localhost:5672/", "amqps://guest:guest@127.0.0.1:5671/"} {
		d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationRabbitMQ,
			URI: uri, RoutingKey: "never", BatchSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	if _, _, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "r.e", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var resp string
		waitFor(t, 30*time.Second, "a failed attempt of "+id, func() bool {
			err := env.SQL.QueryRow(ctx, `SELECT response FROM destination_attempts WHERE destination_id = $1 AND status = $2 LIMIT 1`,
				id, int(tenants.StatusFail)).Scan(&resp)
			return err == nil
		})
		if !strings.Contains(resp, "refused (HOOKLINE_ALLOW_PRIVATE_TARGETS)") {
			t.Errorf("destination %s: attempt says %q; want refused by the SSRF guard", id, resp)
		}
	}
	if got := proxy.seen(); len(got) != 0 {
		t.Errorf("the proxy was asked %v", got)
	}
}
