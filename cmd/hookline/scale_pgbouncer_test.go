//go:build scale

package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/store/storetest"
)

// startPgBouncer runs Debian's pgbouncer in transaction pooling mode in
// front of the machine's PostgreSQL, and returns dsn rewritten to go
// through it. pgbouncer refuses to run as root, so it runs as postgres.
func startPgBouncer(t *testing.T, dsn string) string {
	t.Helper()
	bin := "/usr/sbin/pgbouncer"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("pgbouncer is not installed: scripts/test-env.sh installs Debian's package")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pgbouncer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := `[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ` + strconv.Itoa(port) + `
unix_socket_dir =
auth_type = trust
auth_file = ` + filepath.Join(dir, "users.txt") + `
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
server_reset_query =
`
	for name, body := range map[string]string{"pgbouncer.ini": conf, "users.txt": `"postgres" ""` + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startProc(t, bin, "-u", "postgres", filepath.Join(dir, "pgbouncer.ini"))
	u.Host = addr(port)
	via := u.String()
	waitUntil(t, 10*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, via)
		if err != nil {
			return false
		}
		c.Close(ctx)
		return true
	})
	return via
}

// TestScale_PgBouncer runs serve and two workers with
// HOOKLINE_DATABASE_URL through PgBouncer in transaction pooling mode and
// HOOKLINE_DB_PGBOUNCER=true, at production delivery defaults: the tenant
// API through the SDK (applications, endpoints, idempotent message
// creation, listings, attempts), concurrent sends grouped at ingest,
// delivery with signatures, a retry, and the sweeper's lease (a row: one
// holder among the workers).
func TestScale_PgBouncer(t *testing.T) {
	direct := storetest.NewDatabase(t)
	via := startPgBouncer(t, direct)
	env := testSecrets(via)
	env["HOOKLINE_DB_PGBOUNCER"] = "true"
	env["HOOKLINE_DB_MAX_CONNS"] = "30"
	env["HOOKLINE_REDIS_URL"], env["HOOKLINE_QUEUE"] = redistestNamespace(t)
	api := startRole(t, "serve", env)
	startRole(t, "worker", env)
	startRole(t, "worker", env)
	key := provision(t, api.base)
	c := sdk(t, api.base, key)
	ctx := context.Background()

	rc := newReceiver(t, nil)
	// One message is answered 503 once (more would open the circuit).
	rc.fail = func(_ string, n int, body []byte) int {
		if n == 1 && bytes.Contains(body, []byte(`"retry":true`)) {
			return 503
		}
		return 0
	}
	appID := setupApp(t, c, rc.URL, rc)

	// The API: reads and writes of every kind of row.
	if _, err := c.Application.Update(ctx, appID, models.ApplicationIn{Name: "renamed", Uid: ptr("shop")}); err != nil {
		t.Fatal(err)
	}
	if app, err := c.Application.Get(ctx, "shop"); err != nil || app.Name != "renamed" {
		t.Fatalf("get by uid: %v %v", app, err)
	}
	extra, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL + "/other", Disabled: ptr(true)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if eps, err := c.Endpoint.List(ctx, appID, nil); err != nil || len(eps.Data) != 2 {
		t.Fatalf("list endpoints: %v %v", eps, err)
	}
	if err := c.Endpoint.Delete(ctx, appID, extra.Id); err != nil {
		t.Fatal(err)
	}
	idem := "pgbouncer-once"
	first, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "a.b", Payload: map[string]any{"retry": true}}, &svix.MessageCreateOptions{IdempotencyKey: &idem})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "a.b", Payload: map[string]any{"retry": true}}, &svix.MessageCreateOptions{IdempotencyKey: &idem})
	if err != nil || again.Id != first.Id {
		t.Fatalf("idempotent retry: %v, id %s vs %s", err, again.Id, first.Id)
	}

	// Concurrent sends, grouped at ingest.
	s := startSender(t, []*svix.Svix{c}, appID, 16, 0, 300)
	s.wg.Wait()
	ids := append(s.ids(), first.Id)
	waitDelivered(t, rc, ids, 60*time.Second)
	waitUntil(t, 30*time.Second, func() bool { return rc.count(first.Id) == 2 })
	if rc.badSig > 0 {
		t.Errorf("%d bad signatures", rc.badSig)
	}
	if msgs, err := c.Message.List(ctx, appID, nil); err != nil || len(msgs.Data) == 0 {
		t.Fatalf("list messages: %v", err)
	}
	var wg sync.WaitGroup
	for _, id := range append(ids[:20], first.Id) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			att, err := c.MessageAttempt.ListByMsg(ctx, appID, id, nil)
			if err != nil {
				t.Error(err)
				return
			}
			want := 1
			if id == first.Id {
				want = 2 // the 503, then the success
			}
			if len(att.Data) != want {
				t.Errorf("message %s: %d attempts, want %d", id, len(att.Data), want)
			}
		}()
	}
	wg.Wait()

	// The sweeper's lease is a row with one holder, through the pooler.
	conn, err := pgx.Connect(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var holders int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM leases WHERE name = 'outbox-sweeper' AND expires_at > now()`).Scan(&holders); err != nil || holders != 1 {
		t.Errorf("sweeper lease rows: %d, %v", holders, err)
	}
	var locks int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&locks); err != nil || locks != 0 {
		t.Errorf("%d advisory locks held through the pooler, want none (%v)", locks, err)
	}
}

func ptr[T any](v T) *T { return &v }
