package worker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// privateRabbit is a RabbitMQ node of the test's own (Debian's
// rabbitmq-server, on free ports, its data in a temporary directory), so
// the test can stop and restart it without touching the machine's broker.
type privateRabbit struct {
	t    *testing.T
	port int
	dist int
	dir  string
	cmd  *exec.Cmd
}

const rabbitBin = "/usr/lib/rabbitmq/bin/rabbitmq-server"

func startPrivateRabbit(t *testing.T) *privateRabbit {
	if _, err := os.Stat(rabbitBin); err != nil {
		t.Skipf("no %s: %v", rabbitBin, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &privateRabbit{t: t, port: freePort(t), dist: freePort(t), dir: dir}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *privateRabbit) url() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", r.port) }

func (r *privateRabbit) start() {
	r.t.Helper()
	cmd := exec.Command(rabbitBin)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "HOME="+r.dir,
		fmt.Sprintf("RABBITMQ_NODENAME=hltest%d@localhost", r.port),
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", r.port), fmt.Sprintf("RABBITMQ_DIST_PORT=%d", r.dist),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(r.dir, "mnesia"), "RABBITMQ_LOG_BASE="+filepath.Join(r.dir, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(r.dir, "enabled_plugins"), "RABBITMQ_PID_FILE="+filepath.Join(r.dir, "pid"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(r.dir, "none"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.cmd = cmd
	waitFor(r.t, 90*time.Second, "the private RabbitMQ node to listen", func() bool {
		c, err := amqp.Dial(r.url())
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// stop ends the node (SIGTERM to its process group: a clean shutdown, as
// a restart does) and waits until it is gone.
func (r *privateRabbit) stop() {
	if r.cmd == nil {
		return
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	r.cmd = nil
	waitFor(r.t, 30*time.Second, "the node's port to close", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
}

// TestRabbitMQ_BrokerRestartLosesNone: a RabbitMQ destination publishes
// to a node that is restarted midway (stopped while messages keep coming,
// then started again on the same data). The batches that failed while it
// was down are retried; every message ends up in the durable queue once
// the broker is back — those confirmed before the restart survive it —
// in order of first arrival.
func TestRabbitMQ_BrokerRestartLosesNone(t *testing.T) {
	if testing.Short() {
		t.Skip("a RabbitMQ node of the test's own is skipped in -short mode")
	}
	t.Parallel()
	rmq := startPrivateRabbit(t)
	conn, err := amqp.Dial(rmq.url())
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := conn.Channel()
	const queue = "hookline-restart"
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	sched := make([]time.Duration, 20)
	for i := range sched {
		sched[i] = 2 * time.Second // the node takes 10-20 s to start again
	}
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{RetrySchedule: sched})})
	ctx := context.Background()
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "rabbit"})
	d, err := env.Store.CreateDestination(ctx, env.TenantID, app.ID, tenants.DestinationInput{Type: tenants.DestinationRabbitMQ,
		URI: rmq.url(), RoutingKey: queue, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	send := func(k int) {
		for i := range k {
			m, _, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "r.e", Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, m.ID)
		}
	}
	attempts := func(status tenants.Status) int {
		var n int
		_ = env.SQL.QueryRow(ctx, `SELECT count(*) FROM destination_attempts WHERE destination_id = $1 AND status = $2`, d.ID, int(status)).Scan(&n)
		return n
	}
	send(100)
	waitFor(t, 30*time.Second, "batches confirmed before the restart", func() bool { return attempts(tenants.StatusSuccess) > 0 })
	rmq.stop()
	send(100)
	waitFor(t, 30*time.Second, "a failed attempt while the broker is down", func() bool { return attempts(tenants.StatusFail) > 0 })
	rmq.start()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		rows, _ := env.SQL.Query(ctx, `SELECT status, response, created_at FROM destination_attempts WHERE destination_id = $1 ORDER BY id DESC LIMIT 8`, d.ID)
		for rows.Next() {
			var st int
			var resp string
			var at time.Time
			_ = rows.Scan(&st, &resp, &at)
			t.Logf("attempt %d at %s: %s", st, at.Format("15:04:05.000"), resp)
		}
		cur, _ := env.Store.FindDestination(ctx, env.TenantID, app.ID, d.ID)
		t.Logf("destination: cursor %v batch %+v next %v", cur.Cursor, cur.Batch, cur.NextAttemptAt)
	})
	waitFor(t, 60*time.Second, "every message confirmed", func() bool {
		cur, err := env.Store.FindDestination(ctx, env.TenantID, app.ID, d.ID)
		if err == nil && cur.Disabled {
			t.Fatalf("the destination was disabled: %v", *cur.FailureReason)
		}
		var confirmed int
		_ = env.SQL.QueryRow(ctx, `SELECT COALESCE(sum(num_events), 0) FROM destination_attempts WHERE destination_id = $1 AND status = 0`, d.ID).Scan(&confirmed)
		return confirmed == len(want)
	})

	conn, err = amqp.Dial(rmq.url())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ = conn.Channel()
	var got []string
	seen := map[string]bool{}
	for {
		m, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if !seen[m.MessageId] {
			seen[m.MessageId] = true
			got = append(got, m.MessageId)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the queue holds %d distinct messages; want the %d in creation order (first difference at %d)", len(got), len(want), firstDiffIdx(got, want))
	}
	t.Logf("%d messages, %d failed attempts while the broker was down", len(want), attempts(tenants.StatusFail))
}
