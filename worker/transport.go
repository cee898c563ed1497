package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/hookline/hookline/internal/ttlcache"
	"github.com/hookline/hookline/tenants"
)

// How requests leave Hookline (issue 23): one shared transport for plain
// endpoints; for an endpoint with an mTLS identity, a server CA or an
// OAuth2 client, a transport (and token source) of its own per revision;
// and, with Options.EgressProxy, all of them through the operator's proxy.

// Per-endpoint client bounds: 10,000 endpoints with security settings at
// once, each kept 30 minutes after it was built. Being evicted costs a new
// TLS connection and, with OAuth2, a new token.
const (
	endpointClientCacheSize = 10_000
	endpointClientCacheTTL  = 30 * time.Minute
)

// tokenFetchTimeout bounds one OAuth2 token request.
const tokenFetchTimeout = 10 * time.Second

// endpointClient is how one revision of an endpoint is reached. Safe for
// concurrent use.
type endpointClient struct {
	revision int64
	client   *http.Client
	tokens   *tokenSource // nil: no OAuth2
}

// transports builds and keeps endpoints' clients. Safe for concurrent use.
type transports struct {
	base   *http.Transport
	shared *endpointClient
	// tokenHTTP sends OAuth2 token requests: the shared transport (the
	// SSRF guard, or the proxy), without an endpoint's TLS settings.
	tokenHTTP *http.Client
	// dial opens raw connections (RabbitMQ brokers'): behind the SSRF
	// guard, or through the proxy with CONNECT (tunnel.go).
	dial  dialFunc
	group singleflight.Group
	lru   *ttlcache.Cache[string, *endpointClient]
	// rdb and prefix are where OAuth2 tokens are shared between processes.
	rdb    redis.UniversalClient
	prefix string
}

// noRedirect makes a 3xx the receiver's answer.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// newTransports returns the transports of o: through o.EgressProxy when
// set, dialing directly behind the SSRF guard otherwise. An invalid proxy
// URL (the config refuses one first) fails every request rather than
// sending it around the proxy.
func newTransports(o Options, rdb redis.UniversalClient) *transports {
	base := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, past the SSRF guard
		DialContext:           newDialer(o.AllowPrivateTargets).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   o.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 0,
		DisableCompression:    true,
	}
	dial := dialFunc(base.DialContext)
	if o.EgressProxy != "" {
		pu, err := url.Parse(o.EgressProxy)
		if err == nil && ((pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "") {
			err = errors.New("not an http:// or https:// URL")
		}
		// The proxy is the operator's and may be private: it is dialed
		// without the guard. The target is checked here instead, before
		// the proxy is asked (names resolved, every address checked); the
		// proxy must still refuse what it resolves differently.
		base.DialContext = newDialer(true).DialContext
		dialProxy := dialFunc(base.DialContext)
		if err == nil && pu.Scheme == "https" {
			// Every connection goes to the proxy, so this dials only it:
			// TLS to the proxy with the proxy's own trust (the system pool,
			// or EgressProxyCA), never an endpoint's CA or client
			// certificate, which the transport keeps for the tunnel.
			base.DialTLSContext = proxyTLSDialer(pu.Hostname(), o.EgressProxyCA)
			dialProxy = base.DialTLSContext
		}
		dial = tunnelDialer(pu, err, dialProxy, o.AllowPrivateTargets)
		allowPrivate := o.AllowPrivateTargets
		base.Proxy = func(req *http.Request) (*url.URL, error) {
			if err != nil {
				return nil, fmt.Errorf("egress proxy: %w", err)
			}
			if !allowPrivate {
				if err := checkTarget(req.Context(), req.URL.Hostname()); err != nil {
					return nil, err
				}
			}
			return pu, nil
		}
	}
	tr := &transports{
		base:      base,
		shared:    &endpointClient{client: &http.Client{Transport: base, CheckRedirect: noRedirect}},
		tokenHTTP: &http.Client{Transport: base, CheckRedirect: noRedirect, Timeout: tokenFetchTimeout},
		dial:      dial,
		lru:       ttlcache.New[string, *endpointClient](endpointClientCacheSize, endpointClientCacheTTL),
		rdb:       rdb,
		prefix:    o.Queue,
	}
	return tr
}

// checkTarget refuses a host that is, or resolves to, a blocked address.
func checkTarget(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		if IsBlocked(a) {
			return &BlockedAddressError{Addr: a.WithZone("").Unmap()}
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if IsBlocked(a) {
			return &BlockedAddressError{Addr: a.WithZone("").Unmap()}
		}
	}
	return nil
}

// get returns the client of cfg's revision: the shared one when the
// endpoint has no security settings. Clients are built once per revision
// (a newer one replaces an older one's, whose idle connections close).
func (t *transports) get(cfg *tenants.EndpointConfig) (*endpointClient, error) {
	if cfg.Security.IsZero() {
		return t.shared, nil
	}
	if c, ok := t.lru.Get(cfg.ID); ok && c.revision == cfg.Revision {
		return c, nil
	}
	key := cfg.ID + "@" + strconv.FormatInt(cfg.Revision, 10)
	v, err, _ := t.group.Do(key, func() (any, error) {
		if c, ok := t.lru.Peek(cfg.ID); ok && c.revision == cfg.Revision {
			return c, nil
		}
		c, err := t.build(cfg)
		if err != nil {
			return nil, err
		}
		if old, ok := t.lru.Peek(cfg.ID); ok {
			old.client.CloseIdleConnections()
		}
		t.lru.Add(cfg.ID, c)
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*endpointClient), nil
}

// build makes cfg's client: its TLS settings on a clone of the shared
// transport, and its token source.
func (t *transports) build(cfg *tenants.EndpointConfig) (*endpointClient, error) {
	sec := cfg.Security
	c := &endpointClient{revision: cfg.Revision, client: t.shared.client}
	if sec.ClientIdentity != nil || sec.ServerCA != nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if sec.ClientIdentity != nil {
			pair, err := tls.X509KeyPair(sec.ClientIdentity, sec.ClientIdentity)
			if err != nil {
				return nil, fmt.Errorf("mtls identity of %s: %w", cfg.ID, err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
		if sec.ServerCA != nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(sec.ServerCA) {
				return nil, fmt.Errorf("server CA of %s holds no certificate", cfg.ID)
			}
			tc.RootCAs = pool
		}
		tr := t.base.Clone()
		tr.TLSClientConfig = tc
		c.client = &http.Client{Transport: tr, CheckRedirect: noRedirect}
	}
	if sec.OAuth != nil {
		c.tokens = newTokenSource(*sec.OAuth, t.tokenHTTP, newSharedToken(t.rdb, t.prefix, cfg.ID, cfg.Revision))
	}
	return c, nil
}

// TokenError is a failure to get an endpoint's OAuth2 access token: the
// attempt fails without reaching the endpoint.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "oauth2 token: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// do sends req with ep's client: with its bearer token when it has an
// OAuth2 client, and once more with a fresh token if the endpoint answers
// 401 (the token may have been revoked before it expired).
func (h *handler) do(ctx context.Context, req *http.Request, ep *endpointEntry, recorded map[string]string) (*http.Response, error) {
	c, err := h.egress.get(&ep.cfg)
	if err != nil {
		return nil, err
	}
	if c.tokens == nil {
		return c.client.Do(req)
	}
	tok, err := c.tokens.token(ctx)
	if err != nil {
		return nil, &TokenError{Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	recorded["Authorization"] = "********"
	resp, err := c.client.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || req.GetBody == nil {
		return resp, err
	}
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
	c.tokens.invalidate(ctx, tok)
	if tok, err = c.tokens.token(ctx); err != nil {
		return nil, &TokenError{Err: err}
	}
	again := req.Clone(ctx)
	if again.Body, err = req.GetBody(); err != nil {
		return nil, errors.Join(errors.New("resend after 401"), err)
	}
	again.Header.Set("Authorization", "Bearer "+tok)
	return c.client.Do(again)
}

// proxyTLSDialer dials an https:// egress proxy: TCP without the SSRF
// guard (the proxy is the operator's), then TLS verified against caPEM
// (nil: the system pool) for serverName.
func proxyTLSDialer(serverName string, caPEM []byte) func(ctx context.Context, network, addr string) (net.Conn, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if caPEM != nil {
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(caPEM)
	}
	d := newDialer(true)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := tls.Client(raw, cfg)
		if err := c.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("egress proxy tls: %w", err)
		}
		return c, nil
	}
}
