package worker

import (
	"context"
	"net/http"
	"time"

	"github.com/hookline/hookline/internal/ttlcache"
	"golang.org/x/sync/singleflight"

	"github.com/hookline/hookline/tenants"
)

// endpointEntry is a cached endpoint configuration with its decoded
// signing keys.
type endpointEntry struct {
	cfg    tenants.EndpointConfig
	signer *Signer
	tf     transformSlot // cfg.Transformation compiled (transform.go)
	// headers are cfg.Headers as every attempt sends and records them,
	// built once: canonical names (no textproto.CanonicalMIMEHeaderKey per
	// attempt) and value slices that requests share (read only).
	headers []fixedHeader
}

// fixedHeader is one header an endpoint's every attempt sends.
type fixedHeader struct {
	key   string   // canonical
	value []string // one value, full to capacity: an append copies
	shown string   // the value in the attempt's record (masked if sensitive)
}

func newEndpointEntry(cfg tenants.EndpointConfig, signer *Signer) *endpointEntry {
	e := &endpointEntry{cfg: cfg, signer: signer}
	if len(cfg.Headers) == 0 {
		return e
	}
	at := make(map[string]int, len(cfg.Headers))
	for k, v := range cfg.Headers {
		shown := v
		if tenants.IsSensitiveHeader(k) {
			shown = "********"
		}
		h := fixedHeader{key: http.CanonicalHeaderKey(k), value: []string{v}, shown: shown}
		// Two names of one canonical form: the later wins, as with
		// Header.Set in the same order.
		if i, ok := at[h.key]; ok {
			e.headers[i] = h
			continue
		}
		at[h.key] = len(e.headers)
		e.headers = append(e.headers, h)
	}
	return e
}

// Endpoint cache bounds: 50,000 endpoints (a few KB each with headers and
// keys, so at most about 100–200 MB in the worst case, typically far less),
// each kept at most 10 minutes after it was loaded.
const (
	endpointCacheSize = 50_000
	endpointCacheTTL  = 10 * time.Minute
)

// endpointCache keeps endpoints' sending configuration so an attempt does
// not read and decrypt it every time. An entry is valid while its revision
// matches the one read with the delivery (every change to an endpoint or
// its secrets bumps it) and no previous secret has expired since, so
// staleness costs nothing: a changed endpoint is reloaded on its next
// attempt. The LRU's size and age bound only memory. Safe for concurrent
// use.
type endpointCache struct {
	load  func(ctx context.Context, tenantID, endpointID string) (tenants.EndpointConfig, error)
	now   func() time.Time
	group singleflight.Group
	lru   *ttlcache.Cache[string, *endpointEntry]
}

// newEndpointCache returns a cache of size entries that loads with load
// (the store's LoadEndpointConfig).
func newEndpointCache(load func(ctx context.Context, tenantID, endpointID string) (tenants.EndpointConfig, error), size int) *endpointCache {
	return &endpointCache{load: load, now: time.Now, lru: ttlcache.New[string, *endpointEntry](size, endpointCacheTTL)}
}

// get returns the configuration of endpointID at revision (or newer).
func (c *endpointCache) get(ctx context.Context, tenantID, endpointID string, revision int64) (*endpointEntry, error) {
	if e, ok := c.lru.Get(endpointID); ok && e.cfg.Revision >= revision && c.now().Before(e.cfg.SecretsValidUntil) {
		return e, nil
	}
	v, err, _ := c.group.Do(endpointID, func() (any, error) {
		cfg, err := c.load(ctx, tenantID, endpointID)
		if err != nil {
			return nil, err
		}
		signer, err := NewSigner(cfg.Secrets)
		if err != nil {
			return nil, err
		}
		e := newEndpointEntry(cfg, signer)
		c.lru.Add(endpointID, e)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*endpointEntry), nil
}

// seed keeps cfg, read along with a delivery, unless the cache holds the
// endpoint at its revision or newer already. A configuration whose keys do
// not decode is left for get to load (and report).
func (c *endpointCache) seed(cfg *tenants.EndpointConfig) {
	if e, ok := c.lru.Peek(cfg.ID); ok && e.cfg.Revision >= cfg.Revision {
		return
	}
	signer, err := NewSigner(cfg.Secrets)
	if err != nil {
		return
	}
	c.lru.Add(cfg.ID, newEndpointEntry(*cfg, signer))
}

// len returns how many endpoints are cached.
func (c *endpointCache) len() int { return c.lru.Len() }
