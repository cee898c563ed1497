package api

import (
	"context"
	"sync"
	"time"

	"github.com/hookline/hookline/tenants"
)

// appTokenChecker is the Authenticator's AppTokenChecker: it verifies an
// app-portal token and then its revocation state, which it caches per
// application for authCacheTTL so that a request costs no query. A
// revocation made through this process drops the cache entry at once;
// other processes see it within authCacheTTL. It is safe for concurrent
// use.
type appTokenChecker struct {
	tokens *Tokens
	store  *tenants.Store

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

func newAppTokenChecker(tokens *Tokens, store *tenants.Store) *appTokenChecker {
	return &appTokenChecker{tokens: tokens, store: store, cache: map[appRef]cachedRevocations{}}
}

// CheckAppToken returns the principal of a valid, unrevoked app-portal
// token. A token that is not one (or is malformed, expired, wrongly
// signed) is an error wrapping errBadToken; a revoked one a 401 of its own.
func (c *appTokenChecker) CheckAppToken(ctx context.Context, raw string) (Principal, error) {
	tok, err := c.tokens.ParseAppToken(raw)
	if err != nil {
		return Principal{}, err
	}
	rev, err := c.revocations(ctx, appRef{tok.TenantID, tok.AppID})
	if err != nil {
		return Principal{}, err
	}
	if rev.Revokes(tok.ID, tok.SessionID, tok.IssuedAt, c.tokens.now()) {
		return Principal{}, errAuth("this portal link has been revoked; ask for a new one")
	}
	return tok.principal(), nil
}

func (c *appTokenChecker) revocations(ctx context.Context, ref appRef) (tenants.AppTokenRevocations, error) {
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
	c.cache[ref] = cachedRevocations{rev: rev, expires: now.Add(authCacheTTL)}
	return rev, nil
}

// forget drops an application's cached revocations, after this process
// stored a new one.
func (c *appTokenChecker) forget(tenantID, appID string) {
	c.mu.Lock()
	delete(c.cache, appRef{tenantID, appID})
	c.gen++
	c.mu.Unlock()
}
