package portal

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hookline/hookline/tenants"
)

// revocationTTL bounds how long a revocation made on another process can
// go unseen here; this process forgets its cached state at once.
const revocationTTL = 10 * time.Second

// Checker verifies app-portal tokens for the API's authenticator: the
// token itself, then its revocation state, which it caches per
// application for revocationTTL so that a request costs no query. A
// revocation made through this process drops the cache entry at once;
// other processes drop theirs when told over Redis (Forget, through
// Deps.Revoked), and within revocationTTL at worst. It is safe for concurrent
// use.
type Checker struct {
	tokens *AppTokens
	store  Store

	mu    sync.Mutex
	cache map[appRef]cachedRevocations // guarded by mu
	// gen grows on every forget, so that a lookup that started before a
	// revocation never caches its stale answer; guarded by mu.
	gen uint64
}

type appRef struct{ tenantID, appID string }

type cachedRevocations struct {
	rev     tenants.AppTokenRevocations
	expires time.Time
}

// maxCachedApps bounds the cache; past it, expired entries are swept.
const maxCachedApps = 10000

// NewChecker returns a Checker over tokens and store.
func NewChecker(tokens *AppTokens, store Store) *Checker {
	return &Checker{tokens: tokens, store: store, cache: map[appRef]cachedRevocations{}}
}

var errRevoked = &tenants.Error{Code: tenants.CodeUnauthorized,
	Message: "this portal link has been revoked; ask for a new one"}

// CheckAppToken returns what a valid, unrevoked app-portal token grants.
// ok is false, with a nil error, when raw is not an app-portal token at
// all (malformed, expired, wrongly signed); a revoked one is a 401 error.
func (c *Checker) CheckAppToken(ctx context.Context, raw string) (tok tenants.AppToken, ok bool, err error) {
	tok, err = c.tokens.Parse(raw)
	if errors.Is(err, ErrBadToken) {
		return tenants.AppToken{}, false, nil
	}
	if err != nil {
		return tenants.AppToken{}, false, err
	}
	rev, err := c.revocations(ctx, appRef{tok.TenantID, tok.AppID})
	if err != nil {
		return tenants.AppToken{}, true, err
	}
	if rev.Revokes(tok.ID, tok.SessionID, tok.IssuedAt, c.tokens.now()) {
		return tenants.AppToken{}, true, errRevoked
	}
	return tok, true, nil
}

func (c *Checker) revocations(ctx context.Context, ref appRef) (tenants.AppTokenRevocations, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.cache[ref]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.rev, nil
	}
	rev, err := c.store.FindAppTokenRevocations(ctx, ref.tenantID, ref.appID)
	if err != nil {
		return rev, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return rev, nil
	}
	if len(c.cache) >= maxCachedApps {
		for k, v := range c.cache {
			if !now.Before(v.expires) {
				delete(c.cache, k)
			}
		}
	}
	c.cache[ref] = cachedRevocations{rev: rev, expires: now.Add(revocationTTL)}
	return rev, nil
}

// Forget drops an application's cached revocations (every cached one when
// tenantID is empty), after a new one was stored through this process or,
// as another process said, through that one: the next check reads the
// database.
func (c *Checker) Forget(tenantID, appID string) {
	c.mu.Lock()
	if tenantID == "" {
		clear(c.cache)
	} else {
		delete(c.cache, appRef{tenantID, appID})
	}
	c.gen++
	c.mu.Unlock()
}
