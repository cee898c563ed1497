// Package redistest gives each test its own namespace on the machine's real
// Redis: a queue name and key prefix no other test uses, removed when the
// test ends. Tests (and test packages, which go test runs as parallel
// processes) share one Redis database without flushing it under each
// other.
package redistest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL is the Redis the tests use; HOOKLINE_TEST_REDIS_URL overrides it.
func URL() string {
	if u := os.Getenv("HOOKLINE_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Namespace returns the Redis URL and a fresh namespace for t (usable as
// an asynq queue name and a key prefix). Keys under it are deleted when t
// ends.
func Namespace(t testing.TB) (redisURL, ns string) {
	t.Helper()
	opt, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("redistest: Redis at %s does not answer (is it running?): %v", URL(), err)
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	ns = fmt.Sprintf("t%d_%s", time.Now().UnixNano()%1e9, name)
	t.Cleanup(func() {
		defer c.Close()
		ctx := context.Background()
		for _, pattern := range []string{"asynq:{" + ns + "}:*", "hl:{" + ns + "}:*", ns + ":*"} {
			iter := c.Scan(ctx, 0, pattern, 500).Iterator()
			var keys []string
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			if len(keys) > 0 {
				c.Del(ctx, keys...)
			}
		}
		c.SRem(ctx, "asynq:queues", ns)
	})
	return URL(), ns
}
