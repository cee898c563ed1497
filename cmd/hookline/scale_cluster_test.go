//go:build scale

package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/store/storetest"
)

// startCluster starts a Redis Cluster of three masters (no replicas) on
// free loopback ports and returns their addresses once the cluster is ok.
func startCluster(t *testing.T) []string {
	t.Helper()
	var addrs []string
	for _, p := range freePorts(t, 3) {
		startRedisConf(t, p, false, "cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 2000")
		addrs = append(addrs, addr(p))
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	waitUntil(t, 15*time.Second, func() bool {
		for _, a := range addrs {
			c := redisClient(a, "")
			info, err := c.ClusterInfo(bgctx()).Result()
			c.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	})
	return addrs
}

// TestScale_Cluster runs serve and worker on a three-master Redis Cluster
// (HOOKLINE_REDIS_CLUSTER) through signed delivery, retries and the
// batch-enqueue script (a fan-out to many endpoints and messages grouped
// at ingest). A script or pipeline whose keys span slots fails with
// CROSSSLOT on every call, the sweeper's included (it enqueues with the
// same script), so nothing would be delivered; the logs are checked for
// it too. It changes one default: a short retry schedule, so retries
// finish in seconds.
func TestScale_Cluster(t *testing.T) {
	nodes := startCluster(t)
	dsn := storetest.NewDatabase(t)
	env := testSecrets(dsn)
	env["HOOKLINE_REDIS_CLUSTER"] = strings.Join(nodes, ",")
	env["HOOKLINE_RETRY_SCHEDULE"] = "200ms,400ms,800ms"
	env["HOOKLINE_RETRY_CHECK_INTERVAL"] = "100ms"
	api := startRole(t, "serve", env)
	wrk := startRole(t, "worker", env)
	key := provision(t, api.base)
	c := sdk(t, api.base, key)
	ctx := context.Background()

	t.Run("SignedDelivery", func(t *testing.T) {
		rc := newReceiver(t, nil)
		appID := setupApp(t, c, rc.URL, rc)
		s := startSender(t, []*svix.Svix{c}, appID, 8, 0, 200)
		s.wg.Wait()
		waitDelivered(t, rc, s.ids(), 30*time.Second)
		if rc.badSig > 0 || len(s.ids()) < 200 {
			t.Errorf("%d bad signatures, %d messages accepted", rc.badSig, len(s.ids()))
		}
	})

	t.Run("Retry", func(t *testing.T) {
		rc := newReceiver(t, nil)
		rc.fail = func(_ string, n int, _ []byte) int {
			if n <= 2 {
				return 500
			}
			return 0
		}
		appID := setupApp(t, c, rc.URL, rc)
		var ids []string
		// Three messages failing twice each stay under the circuit
		// breaker's threshold of ten failures.
		for i := range 3 {
			m, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "retry.me", Payload: map[string]any{"i": i}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.Id)
		}
		waitUntil(t, 30*time.Second, func() bool {
			for _, id := range ids {
				if rc.count(id) < 3 {
					return false
				}
			}
			return true
		})
		// The attempt log shows two failures and the success.
		for _, id := range ids {
			att, err := c.MessageAttempt.ListByMsg(ctx, appID, id, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(att.Data) != 3 {
				t.Errorf("message %s: %d attempts recorded, want 3", id, len(att.Data))
			}
		}
	})

	t.Run("BatchEnqueue", func(t *testing.T) {
		rc := newReceiver(t, nil)
		app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "fanout"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		const endpoints, messages = 25, 40
		for i := range endpoints {
			if _, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: fmt.Sprintf("%s/ep%d", rc.URL, i)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ids []string
		for i := range messages {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "fan.out", Payload: map[string]any{"i": i}}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, m.Id)
				mu.Unlock()
			}()
		}
		wg.Wait()
		waitUntil(t, 60*time.Second, func() bool {
			for _, id := range ids {
				if rc.count(id) < endpoints {
					return false
				}
			}
			return true
		})
	})

	// No command was refused for its keys' slots.
	for _, l := range []string{api.logs.String(), wrk.logs.String()} {
		for _, bad := range []string{"CROSSSLOT", "NOSCRIPT", "ERR "} {
			for _, line := range strings.Split(l, "\n") {
				if strings.Contains(line, bad) {
					t.Errorf("log mentions %q: %s", bad, line)
					break
				}
			}
		}
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: nodes})
	defer cc.Close()
	// The sweeper's epoch key lives with the lanes, under the queue's hash
	// tag, so that it is lost exactly when the lanes are.
	if n, err := cc.Exists(ctx, "hl:{hookline}:epoch").Result(); err != nil || n != 1 {
		t.Errorf("sweeper epoch key hl:{hookline}:epoch: %d, %v", n, err)
	}
	slot := func(k string) int64 { s, _ := cc.ClusterKeySlot(ctx, k).Result(); return s }
	if slot("asynq:{hookline}:pending") != slot("hl:{hookline}:epoch") {
		t.Error("epoch key is not in the queue's slot")
	}
}
