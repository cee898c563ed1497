//go:build scale

package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/hookline/hookline/store/storetest"
)

// TestScale_SentinelFailover runs a serve and a worker process on a
// Sentinel-managed Redis (master + replica + 3 sentinels, passwords on
// both) configured with exactly HOOKLINE_REDIS_SENTINELS,
// HOOKLINE_REDIS_MASTER, HOOKLINE_REDIS_PASSWORD and
// HOOKLINE_REDIS_SENTINEL_PASSWORD, sends messages steadily through the
// SDK, SIGKILLs the master mid-load, and checks that after the failover
// every message that got a 2xx is delivered. Delivery settings are the
// production defaults.
func TestScale_SentinelFailover(t *testing.T) {
	const pw, spw = "data-pass", "sentinel-pass"
	ports := freePorts(t, 5)
	master := startRedisConf(t, ports[0], false, "requirepass "+pw, "masterauth "+pw)
	startRedisConf(t, ports[1], false, "requirepass "+pw, "masterauth "+pw, "replicaof 127.0.0.1 "+strconv.Itoa(ports[0]))
	var sentinels []string
	for _, p := range ports[2:] {
		startRedisConf(t, p, true,
			"sentinel monitor mymaster 127.0.0.1 "+strconv.Itoa(ports[0])+" 2",
			"sentinel auth-pass mymaster "+pw,
			"sentinel down-after-milliseconds mymaster 1000",
			"sentinel failover-timeout mymaster 5000",
			"requirepass "+spw,
			"sentinel sentinel-pass "+spw)
		sentinels = append(sentinels, addr(p))
	}
	// The replica is in sync before the load starts.
	waitUntil(t, 15*time.Second, func() bool { return replicaInSync(addr(ports[0]), pw) })

	dsn := storetest.NewDatabase(t)
	env := testSecrets(dsn)
	env["HOOKLINE_REDIS_SENTINELS"] = strings.Join(sentinels, ",")
	env["HOOKLINE_REDIS_MASTER"] = "mymaster"
	env["HOOKLINE_REDIS_PASSWORD"] = pw
	env["HOOKLINE_REDIS_SENTINEL_PASSWORD"] = spw
	// Set too, pointing at nothing: the sentinels must win, and say so.
	env["HOOKLINE_REDIS_URL"] = "redis://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/0"
	api := startRole(t, "serve", env)
	wrk := startRole(t, "worker", env)
	if !strings.Contains(api.logs.String(), "HOOKLINE_REDIS_URL is ignored") {
		t.Errorf("the log does not say the sentinels win over HOOKLINE_REDIS_URL:\n%s", api.logs.String())
	}

	rc := newReceiver(t, nil)
	key := provision(t, api.base)
	c := sdk(t, api.base, key)
	appID := setupApp(t, c, rc.URL, rc)
	s := startSender(t, []*svix.Svix{c}, appID, 4, 20*time.Millisecond, 5000)
	waitUntil(t, 10*time.Second, func() bool { return len(s.ids()) >= 100 })
	master.kill()
	killedAt := len(s.ids())
	// Keep sending through the failover and for a while after it.
	waitUntil(t, 30*time.Second, func() bool { return len(s.ids()) >= killedAt+300 })
	s.halt()
	ids := s.ids()
	t.Logf("%d messages accepted (%d before the master died), %d requests failed", len(ids), killedAt, s.failed)
	waitDelivered(t, rc, ids, 90*time.Second)
	// The sentinels did fail over: the replica is the master now.
	promoted := redisClient(addr(ports[1]), pw)
	defer promoted.Close()
	if info, _ := promoted.Info(bgctx(), "replication").Result(); !strings.Contains(info, "role:master") {
		t.Errorf("the replica was not promoted:\n%s", info)
	}
	if rc.badSig > 0 {
		t.Errorf("%d deliveries with a bad signature", rc.badSig)
	}
	if !strings.Contains(wrk.logs.String(), "worker started") {
		t.Error("worker log lacks its start line")
	}
}

// replicaInSync reports whether the master at a sees a replica online.
func replicaInSync(a, pw string) bool {
	c := redisClient(a, pw)
	defer c.Close()
	info, err := c.Info(bgctx(), "replication").Result()
	return err == nil && strings.Contains(info, "connected_slaves:1") && strings.Contains(info, "state=online")
}
