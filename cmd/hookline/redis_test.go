package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// TestLoadConfig_RedisTopologies: the Sentinel and Cluster variables are
// validated with messages naming them, and each topology gets the matching
// go-redis client and asynq connection option; a HOOKLINE_REDIS_URL set
// beside sentinels is ignored with a log line.
func TestLoadConfig_RedisTopologies(t *testing.T) {
	base := testSecrets("postgres://x@127.0.0.1/db")
	load := func(extra map[string]string) (Config, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return loadConfig(envMap(env), false, &bytes.Buffer{})
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"SentinelsWithoutMaster": {map[string]string{"HOOKLINE_REDIS_SENTINELS": "127.0.0.1:26379"}, "HOOKLINE_REDIS_MASTER is required"},
		"MasterWithoutSentinels": {map[string]string{"HOOKLINE_REDIS_MASTER": "m"}, "HOOKLINE_REDIS_MASTER needs HOOKLINE_REDIS_SENTINELS"},
		"Both":                   {map[string]string{"HOOKLINE_REDIS_SENTINELS": "a:1", "HOOKLINE_REDIS_MASTER": "m", "HOOKLINE_REDIS_CLUSTER": "b:2"}, "not both"},
		"BadAddress":             {map[string]string{"HOOKLINE_REDIS_CLUSTER": "127.0.0.1:7000,nohost"}, `HOOKLINE_REDIS_CLUSTER must list host:port addresses separated by commas, got "nohost"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}

	t.Run("Sentinel", func(t *testing.T) {
		cfg, err := load(map[string]string{
			"HOOKLINE_REDIS_SENTINELS": " 127.0.0.1:26379, 127.0.0.1:26380 ,", "HOOKLINE_REDIS_MASTER": "mymaster",
			"HOOKLINE_REDIS_PASSWORD": "p", "HOOKLINE_REDIS_SENTINEL_PASSWORD": "sp", "HOOKLINE_REDIS_URL": "redis://elsewhere:6379/0",
		})
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		rc, opt, err := openRedis(cfg, 8, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, ok := rc.(*redis.Client); !ok {
			t.Errorf("client is %T, want the failover *redis.Client", rc)
		}
		fo, ok := opt.(asynq.RedisFailoverClientOpt)
		if !ok || fo.MasterName != "mymaster" || len(fo.SentinelAddrs) != 2 || fo.Password != "p" || fo.SentinelPassword != "sp" {
			t.Errorf("scheduler option = %#v", opt)
		}
		if !strings.Contains(logs.String(), "HOOKLINE_REDIS_URL is ignored") {
			t.Errorf("no log line says the URL is ignored: %s", logs.String())
		}
		if w := cfg.redisWhere(); strings.Contains(w, "sp") || !strings.Contains(w, "mymaster") {
			t.Errorf("redisWhere = %q", w)
		}
	})
	t.Run("Cluster", func(t *testing.T) {
		cfg, err := load(map[string]string{"HOOKLINE_REDIS_CLUSTER": "127.0.0.1:7000,127.0.0.1:7001"})
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		rc, opt, err := openRedis(cfg, 8, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, ok := rc.(*redis.ClusterClient); !ok {
			t.Errorf("client is %T, want *redis.ClusterClient", rc)
		}
		if co, ok := opt.(asynq.RedisClusterClientOpt); !ok || len(co.Addrs) != 2 {
			t.Errorf("scheduler option = %#v", opt)
		}
		if logs.Len() != 0 {
			t.Errorf("unexpected log with HOOKLINE_REDIS_URL unset: %s", logs.String())
		}
	})
	t.Run("URLWithPassword", func(t *testing.T) {
		cfg, err := load(map[string]string{"HOOKLINE_REDIS_URL": "redis://127.0.0.1:6390/2", "HOOKLINE_REDIS_PASSWORD": "pw"})
		if err != nil {
			t.Fatal(err)
		}
		rc, opt, err := openRedis(cfg, 8, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		o := rc.(*redis.Client).Options()
		if o.Addr != "127.0.0.1:6390" || o.DB != 2 || o.Password != "pw" {
			t.Errorf("options = %+v", o)
		}
		if so := opt.(asynq.RedisClientOpt); so.Addr != o.Addr || so.DB != 2 || so.Password != "pw" {
			t.Errorf("scheduler option = %#v", so)
		}
	})
}
