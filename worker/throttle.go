package worker

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// throttle enforces endpoints' throttleRate (messages per second) across
// every worker process, with one counter per endpoint and second in Redis.
type throttle struct {
	redis  redis.UniversalClient
	prefix string
}

// fixedWindow counts this second's sends and reports whether one more fits.
var fixedWindow = redis.NewScript(`
local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], 2000) end
return n`)

// allow reports whether endpoint may receive one more message this second
// at rate per second; when not, wait is the time to the next second. If
// Redis cannot answer, the send is allowed: throttling protects receivers,
// it must not stop deliveries.
func (t *throttle) allow(ctx context.Context, endpoint string, rate int, now time.Time) (ok bool, wait time.Duration) {
	sec := now.Unix()
	key := t.prefix + ":thr:" + endpoint + ":" + strconv.FormatInt(sec, 10)
	n, err := fixedWindow.Run(ctx, t.redis, []string{key}).Int64()
	if err != nil {
		return true, 0
	}
	if n <= int64(rate) {
		return true, 0
	}
	// Spread the postponed sends over as many seconds as the endpoint is
	// oversubscribed, so they do not all come back at the next tick.
	spread := time.Duration(rand.Int64N(n/int64(rate)*int64(time.Second) + 1))
	return false, time.Unix(sec+1, 0).Sub(now) + spread
}
