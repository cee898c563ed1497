package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/hookline/hookline/store"
	"github.com/redis/go-redis/v9"
)

// Redis deployments Hookline runs on: one server (HOOKLINE_REDIS_URL), a
// Sentinel-managed master with replicas (HOOKLINE_REDIS_SENTINELS and
// HOOKLINE_REDIS_MASTER), or a Redis Cluster (HOOKLINE_REDIS_CLUSTER).
// Every Redis use in the process — asynq's server, scheduler and
// inspector, the batch enqueue script, throttles, the sweeper's epoch —
// goes through the one client built here, so a failover or a resharding
// is followed everywhere at once.

// list splits a comma-separated host:port list, dropping blanks.
func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// checkRedis validates the Redis settings and returns their problems.
func (c Config) checkRedis() []string {
	var errs []string
	addrs := func(name string, l []string) {
		for _, a := range l {
			if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
				errs = append(errs, fmt.Sprintf("%s must list host:port addresses separated by commas, got %q", name, a))
			}
		}
	}
	addrs("HOOKLINE_REDIS_SENTINELS", c.RedisSentinels)
	addrs("HOOKLINE_REDIS_CLUSTER", c.RedisCluster)
	switch {
	case len(c.RedisSentinels) > 0 && len(c.RedisCluster) > 0:
		errs = append(errs, "set HOOKLINE_REDIS_SENTINELS or HOOKLINE_REDIS_CLUSTER, not both")
	case len(c.RedisSentinels) > 0 && c.RedisMaster == "":
		errs = append(errs, "HOOKLINE_REDIS_MASTER is required with HOOKLINE_REDIS_SENTINELS: the master name the sentinels monitor")
	case len(c.RedisSentinels) == 0 && c.RedisMaster != "":
		errs = append(errs, "HOOKLINE_REDIS_MASTER needs HOOKLINE_REDIS_SENTINELS: the sentinels' host:port addresses")
	}
	if len(c.RedisSentinels) == 0 && len(c.RedisCluster) == 0 {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			errs = append(errs, fmt.Sprintf("HOOKLINE_REDIS_URL must be a redis:// URL, got %q", c.RedisURL))
		}
	}
	return errs
}

// redisWhere names the Redis deployment for logs and error messages,
// without passwords.
func (c Config) redisWhere() string {
	switch {
	case len(c.RedisSentinels) > 0:
		return fmt.Sprintf("sentinel master %q via %s", c.RedisMaster, strings.Join(c.RedisSentinels, ","))
	case len(c.RedisCluster) > 0:
		return "cluster " + strings.Join(c.RedisCluster, ",")
	}
	return redactURL(c.RedisURL)
}

// openRedis returns the client for everything the process does in Redis,
// and the same connection settings in asynq's form for the scheduler
// (which owns and closes its client). poolSize bounds the connections per
// Redis node. It logs which settings won when more than one deployment
// is named. It does not connect; the first command does.
func openRedis(cfg Config, poolSize int, log *slog.Logger) (redis.UniversalClient, asynq.RedisConnOpt, error) {
	if cfg.redisURLSet && (len(cfg.RedisSentinels) > 0 || len(cfg.RedisCluster) > 0) {
		log.Warn("HOOKLINE_REDIS_URL is ignored: the sentinels or cluster nodes win", "redis", cfg.redisWhere())
	}
	switch {
	case len(cfg.RedisSentinels) > 0:
		rc := redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: cfg.RedisMaster, SentinelAddrs: cfg.RedisSentinels,
			SentinelPassword: cfg.RedisSentinelPassword, Password: cfg.RedisPassword,
			PoolSize: poolSize,
		})
		return rc, asynq.RedisFailoverClientOpt{
			MasterName: cfg.RedisMaster, SentinelAddrs: cfg.RedisSentinels,
			SentinelPassword: cfg.RedisSentinelPassword, Password: cfg.RedisPassword, PoolSize: 2,
		}, nil
	case len(cfg.RedisCluster) > 0:
		rc := redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.RedisCluster, Password: cfg.RedisPassword, PoolSize: poolSize,
		})
		return rc, asynq.RedisClusterClientOpt{Addrs: cfg.RedisCluster, Password: cfg.RedisPassword}, nil
	}
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("HOOKLINE_REDIS_URL: %w", err)
	}
	if ropt.Password == "" {
		ropt.Password = cfg.RedisPassword
	}
	ropt.PoolSize = poolSize
	return redis.NewClient(ropt), asynq.RedisClientOpt{Network: ropt.Network, Addr: ropt.Addr, Username: ropt.Username,
		Password: ropt.Password, DB: ropt.DB, TLSConfig: ropt.TLSConfig, PoolSize: 2}, nil
}

// dbOptions are the pool settings the config asks for: PgBouncer's
// transaction pooling (HOOKLINE_DB_PGBOUNCER) among them.
func (c Config) dbOptions() []store.DBOption {
	if c.DBPgBouncer {
		return []store.DBOption{store.WithPgBouncer()}
	}
	return nil
}
