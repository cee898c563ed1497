package worker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// sharedToken keeps one endpoint revision's OAuth2 access token in Redis,
// so that every worker process uses the token one of them fetched: one
// token request per expiry across the deployment, not per process. A
// lock (SET NX with a lease) lets one process fetch while the others wait
// for its token. The token sits in Redis, beside the queue, until
// tokenEarly before it expires. Safe for concurrent use; every Redis
// failure degrades to the process fetching its own token.
type sharedToken struct {
	rdb  redis.UniversalClient
	key  string // the token: "<expiry unix ms>|<access token>"
	lock string
}

// newSharedToken returns the Redis slot of endpointID's revision under
// prefix (the queue's), or nil without Redis.
func newSharedToken(rdb redis.UniversalClient, prefix, endpointID string, revision int64) *sharedToken {
	if rdb == nil {
		return nil
	}
	k := prefix + ":oauth:" + endpointID + ":" + strconv.FormatInt(revision, 10)
	return &sharedToken{rdb: rdb, key: k, lock: k + ":lock"}
}

// get returns the shared token and its expiry (zero: none given), if one
// is stored.
func (s *sharedToken) get(ctx context.Context) (string, time.Time, bool) {
	v, err := s.rdb.Get(ctx, s.key).Result()
	if err != nil {
		return "", time.Time{}, false
	}
	ms, tok, ok := strings.Cut(v, "|")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || tok == "" {
		return "", time.Time{}, false
	}
	var exp time.Time
	if n > 0 {
		exp = time.UnixMilli(n)
	}
	return tok, exp, true
}

// sharedTokenTTL bounds a token that came without an expiry.
const sharedTokenTTL = time.Hour

// put stores tok until tokenEarly before exp.
func (s *sharedToken) put(ctx context.Context, tok string, exp time.Time, now time.Time) {
	ttl := sharedTokenTTL
	var ms int64
	if !exp.IsZero() {
		ttl, ms = exp.Sub(now)-tokenEarly, exp.UnixMilli()
	}
	if ttl <= 0 {
		return
	}
	_ = s.rdb.Set(ctx, s.key, strconv.FormatInt(ms, 10)+"|"+tok, ttl).Err()
}

// tryLock takes the right to fetch, for at most the fetch timeout. A
// Redis error counts as taken: the process fetches on its own.
func (s *sharedToken) tryLock(ctx context.Context) bool {
	ok, err := s.rdb.SetNX(ctx, s.lock, "1", tokenFetchTimeout).Result()
	return ok || err != nil
}

func (s *sharedToken) unlock(ctx context.Context) { _ = s.rdb.Del(ctx, s.lock).Err() }

// dropScript deletes the shared token only if it is still the one the
// endpoint refused, so a newer one another process fetched survives.
var dropScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, -string.len(ARGV[1])) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// drop forgets tok, which the endpoint refused.
func (s *sharedToken) drop(ctx context.Context, tok string) {
	_ = dropScript.Run(ctx, s.rdb, []string{s.key}, "|"+tok).Err()
}

// wait polls for the token another process is fetching, until it appears,
// the lock is gone or ctx ends.
func (s *sharedToken) wait(ctx context.Context, valid func(time.Time) bool) (string, time.Time, bool) {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", time.Time{}, false
		case <-t.C:
		}
		if tok, exp, ok := s.get(ctx); ok && valid(exp) {
			return tok, exp, true
		}
		if n, err := s.rdb.Exists(ctx, s.lock).Result(); err != nil || n == 0 {
			// The holder stores its token before it lets go: it may have
			// done both since the read above.
			if tok, exp, ok := s.get(ctx); ok && valid(exp) {
				return tok, exp, true
			}
			return "", time.Time{}, false
		}
	}
}

var errNoToken = errors.New("no access token")
