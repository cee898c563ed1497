package worker_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	models "github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// redisCalls returns how many times Redis has run each command (INFO
// commandstats: Lua scripts' own commands included), less INFO itself.
func redisCalls(t *testing.T, rc *redis.Client) map[string]int {
	t.Helper()
	info, err := rc.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":calls=")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || name == "cmdstat_info" {
			continue
		}
		n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		if err != nil {
			t.Fatalf("commandstats line %q: %v", sc.Text(), err)
		}
		calls[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return calls
}

// callsSince returns the commands run since before, in all and by name.
func callsSince(t *testing.T, rc *redis.Client, before map[string]int) (int, map[string]int) {
	t.Helper()
	total, by := 0, map[string]int{}
	for name, n := range redisCalls(t, rc) {
		if d := n - before[name]; d > 0 {
			by[name] = d
			total += d
		}
	}
	return total, by
}

// queueState returns how many tasks the queue's Redis holds in all (task
// hashes) and how many of them are scheduled.
func queueState(t *testing.T, rc *redis.Client, queue string) (tasks, scheduled int) {
	t.Helper()
	ctx := context.Background()
	keys, err := rc.Keys(ctx, "asynq:{"+queue+"}:t:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	n, err := rc.ZCard(ctx, "asynq:{"+queue+"}:scheduled").Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(keys), int(n)
}

// TestDirect_SettlesBackups: in `hookline all` (API and worker in one
// process, production defaults), a first attempt is made in process and
// its backup task is settled after: when every message is delivered,
// Redis holds no task, and the whole path cost Redis a few commands per
// delivery (asynq's dequeue, lease and acknowledgement are not paid). The
// figure is logged; the bound is loose so that background polling cannot
// fail the test, but the ~15 commands of a task asynq hands out would.
func TestDirect_SettlesBackups(t *testing.T) {
	t.Parallel()
	rds := startRedis(t, freePort(t))
	env := testenv.New(t, testenv.Options{Worker: true, RedisURL: "redis://" + rds.addr() + "/0"})
	c := env.SDK(env.APIKey)
	ctx := context.Background()
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, nil)
	if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rc.URL}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 300
	before := redisCalls(t, env.Redis)
	sendMessages(t, c, app.Id, n, 8, nil)
	waitFor(t, 20*time.Second, "every delivery to succeed and its backup to be settled", func() bool {
		var done int
		if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 0`).Scan(&done); err != nil {
			t.Fatal(err)
		}
		tasks, _ := queueState(t, env.Redis, env.Queue)
		return done == n && tasks == 0
	})
	total, by := callsSince(t, env.Redis, before)
	perDelivery := float64(total) / n
	t.Logf("Redis commands per delivery, ingest to settled: %.1f (%d in all: %v)", perDelivery, total, by)
	if perDelivery > 9 {
		t.Errorf("%.1f Redis commands per delivery; the direct path should need about 5", perDelivery)
	}
	if got := len(rc.requests()); got != n {
		t.Errorf("the receiver got %d requests for %d messages", got, n)
	}
}

// TestDirect_FailedAttemptReschedulesBackup: a direct attempt that fails
// moves its backup task to the retry's time (not the backup's), and the
// retry delivers it. Retries in milliseconds: fast polling and retries.
func TestDirect_FailedAttemptReschedulesBackup(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, testenv.FastRetries(worker.Options{RetrySchedule: []time.Duration{1500 * time.Millisecond}}))
	ctx := context.Background()
	var once sync.Once
	failed := make(chan struct{})
	rc := newReceiver(t, func(_ string, n int, _ *http.Request) int {
		if n == 1 {
			defer once.Do(func() { close(failed) })
			return 503
		}
		return 200
	})
	if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil); err != nil {
		t.Fatal(err)
	}
	m := send(t, c, appID, "a.b", nil)
	<-failed
	// The backup, due 4 s after the enqueue (twice the 2 s delivery
	// timeout), now comes due with the retry, 1.5 s after the failure.
	waitFor(t, 5*time.Second, "the backup task to be rescheduled to the retry", func() bool {
		zs, err := env.Redis.ZRangeWithScores(ctx, "asynq:{"+env.Queue+"}:scheduled", 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(zs) == 1 && int64(zs[0].Score) <= time.Now().Add(2*time.Second).Unix()
	})
	waitFor(t, 10*time.Second, "the retry to deliver", func() bool {
		a := attemptsOf(t, c, appID, m.Id)
		return len(a) == 2 && a[1].Status == models.MESSAGESTATUS_SUCCESS
	})
	waitFor(t, 5*time.Second, "the task to be gone", func() bool {
		tasks, scheduled := queueState(t, env.Redis, env.Queue)
		return tasks == 0 && scheduled == 0
	})
}

// TestDirect_BackupDeliversWhenProcessDies: the backup task of an attempt
// this process reserved but never made comes due and any worker delivers
// it, once.
func TestDirect_BackupDeliversWhenProcessDies(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	rc := newReceiver(t, nil)
	app, _ := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a"})
	ep, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: rc.URL})
	if err != nil {
		t.Fatal(err)
	}
	m, ids, err := env.Store.CreateMessage(ctx, env.TenantID, app.ID, tenants.MessageInput{EventType: "a.b", Payload: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	// The dead process's side: a delivery timeout of 1 s puts the backup
	// 2 s ahead.
	client := worker.NewClient(env.Redis, env.Queue, time.Second)
	created := []tenants.CreatedMessage{{Message: m, Deliveries: []tenants.NewDelivery{{ID: ids[0], EndpointID: ep.ID}}}}
	if err := client.EnqueueBackups(ctx, created); err != nil {
		t.Fatal(err)
	}
	taskKey := fmt.Sprintf("asynq:{%s}:t:d%d", env.Queue, ids[0])
	if state := env.Redis.HGet(ctx, taskKey, "state").Val(); state != "scheduled" {
		t.Fatalf("the backup task's state is %q, want scheduled", state)
	}
	score := env.Redis.ZScore(ctx, "asynq:{"+env.Queue+"}:scheduled", fmt.Sprintf("d%d", ids[0])).Val()
	if due := time.Until(time.Unix(int64(score), 0)); due < 0 || due > 3*time.Second {
		t.Fatalf("the backup is due in %s, want about 2 s", due)
	}
	// Another worker (no handoff) picks it up when it comes due.
	deliveredByAnotherWorker(t, env, ids[0], 10*time.Second)
	if n := len(rc.requests()); n != 1 {
		t.Errorf("the receiver got %d requests, want 1", n)
	}
}

// deliveredByAnotherWorker starts a worker of its own on env's queue (as
// another process would run it: no handoff; fast polling, so that it
// picks up a task within milliseconds) and waits until it has delivered
// delivery id.
func deliveredByAnotherWorker(t *testing.T, env *testenv.Env, id int64, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	w := worker.New(worker.Deps{Store: env.Store, Redis: env.Redis, Log: env.Log},
		testenv.FastPolling(worker.Options{Queue: env.Queue, AllowPrivateTargets: true}))
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	waitFor(t, within, "delivery by another worker", func() bool {
		j, err := env.Store.LoadDelivery(ctx, env.TenantID, id)
		return err == nil && j.Status == tenants.StatusSuccess
	})
}
