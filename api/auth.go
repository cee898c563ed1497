package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hookline/hookline/internal/ttlcache"

	"github.com/hookline/hookline/tenants"
)

// Principal is who a request acts for.
type Principal struct {
	TenantID string
	// AppID is set for app-scoped (portal) tokens: the one application
	// the token may touch.
	AppID    string
	ReadOnly bool
	// KeyID is the API key used, if any.
	KeyID string
	// SessionID and TokenID identify an app-portal token, for logout.
	SessionID string
	TokenID   string
	// Capabilities limit what an app-portal token may do on its app's
	// routes (see routeCapabilities); tenant credentials leave it zero and
	// are not limited.
	Capabilities tenants.Capability
	// PollerSink is set for a poller token: the one polling endpoint it
	// may read, through pollerRoutes only.
	PollerSink string

	// tenantJWT marks a tenant JWT, issued at issuedAt (zero: no iat).
	tenantJWT bool
	issuedAt  time.Time
}

// authCacheTTL bounds how long a revoked key, a suspended tenant or a
// tenant's revoked JWTs can still pass on another process; this process
// forgets them at once.
const authCacheTTL = 10 * time.Second

// authCacheSize bounds each auth cache: 50,000 API keys and 50,000 tenants
// (a few hundred bytes an entry).
const authCacheSize = 50_000

type cachedCred struct {
	cred    tenants.Credential
	expires time.Time
}

type cachedTenant struct {
	status     string
	validAfter *time.Time // tokens_valid_after: JWTs issued before are revoked
	expires    time.Time
}

// Authenticator resolves bearer tokens to principals, caching lookups so a
// request costs no query, and batching API keys' last-use times so it costs
// no write either. It is safe for concurrent use.
type Authenticator struct {
	store  Store
	tokens *Tokens
	log    *slog.Logger
	now    func() time.Time

	// creds and tenants cache credential and tenant lookups in bounded
	// TTL caches (authCacheSize entries each, authCacheTTL): being
	// stale costs at most authCacheTTL of a revoked key or suspended
	// tenant still passing on another process.
	creds   *ttlcache.Cache[[32]byte, cachedCred]
	tenants *ttlcache.Cache[string, cachedTenant]

	mu   sync.Mutex
	used map[string]time.Time // key id -> last use, not yet stored; guarded by mu

	appTokens AppTokenChecker
	// consoleTokens verifies the tenant console's session tokens; nil
	// rejects them. Set once, before serving (SetConsoleTokens).
	consoleTokens ConsoleTokenChecker

	// unknown remembers API keys the store did not know, for
	// unknownKeyTTL, so a client retrying a wrong or deleted key costs
	// no query per request. Bounded (unknownKeyCap); being stale costs
	// nothing: keys are random, so a newly created key is never in it.
	unknown *ttlcache.Cache[[32]byte, struct{}]

	// pollers caches poller tokens by the SHA-256 of their secret
	// (authCacheSize, authCacheTTL): being stale costs at most
	// authCacheTTL of a rotated-out token still passing on another
	// process (this one forgets it at once: ForgetPollerTokens).
	pollers *ttlcache.Cache[[32]byte, cachedPollerToken]
}

// Bounds of the negative API-key cache.
const (
	unknownKeyTTL = 5 * time.Second
	unknownKeyCap = 10_000
)

// ConsoleTokenChecker verifies a tenant console's session token and
// returns its tenant; an error is the answer to give (401 when the
// session is unknown, expired or signed out).
type ConsoleTokenChecker interface {
	CheckConsoleToken(ctx context.Context, token string) (tenantID string, err error)
}

// SetConsoleTokens makes the Authenticator accept console session tokens
// as tenant credentials. Call it before serving; it is not synchronised.
func (a *Authenticator) SetConsoleTokens(c ConsoleTokenChecker) { a.consoleTokens = c }

// TenantOf authenticates an Authorization header value as tenant
// credentials and returns the tenant: errors as Authenticate's, and 403
// for app-portal tokens, which act for one application only.
func (a *Authenticator) TenantOf(ctx context.Context, header string) (string, error) {
	p, err := a.Authenticate(ctx, header)
	if err != nil {
		return "", err
	}
	if p.AppID != "" {
		return "", errForbidden("this token is limited to one application")
	}
	return p.TenantID, nil
}

// AppTokenChecker verifies app-portal tokens (the portal package's
// Checker); nil rejects them all. ok is false, with a nil error, when the
// token is not an app-portal token at all; an error is the answer to give
// (a revoked token's 401, a database error).
type AppTokenChecker interface {
	CheckAppToken(ctx context.Context, token string) (tok tenants.AppToken, ok bool, err error)
}

// SetAppTokens makes the Authenticator accept app-portal tokens. Call it
// before serving; it is not synchronised.
func (a *Authenticator) SetAppTokens(c AppTokenChecker) { a.appTokens = c }

// NewAuthenticator returns an Authenticator over store.
func NewAuthenticator(store Store, tokens *Tokens, log *slog.Logger) *Authenticator {
	return &Authenticator{
		store: store, tokens: tokens, log: log, now: time.Now,
		creds:   ttlcache.New[[32]byte, cachedCred](authCacheSize, authCacheTTL),
		tenants: ttlcache.New[string, cachedTenant](authCacheSize, authCacheTTL),
		used:    map[string]time.Time{},
		unknown: ttlcache.New[[32]byte, struct{}](unknownKeyCap, unknownKeyTTL),
		pollers: ttlcache.New[[32]byte, cachedPollerToken](authCacheSize, authCacheTTL),
	}
}

// Authenticate resolves an Authorization header value. Missing, malformed,
// unknown, expired or revoked credentials are 401; a suspended tenant 403.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (Principal, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(header, "bearer ")
	}
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return Principal{}, errAuth("missing bearer token: send Authorization: Bearer <api key or token>")
	}
	var p Principal
	switch {
	case tenants.LooksLikeAPIKey(token):
		cred, err := a.credential(ctx, token)
		if err != nil {
			return Principal{}, err
		}
		p = Principal{TenantID: cred.TenantID, KeyID: cred.KeyID}
	case tenants.LooksLikePollerToken(token):
		var err error
		if p, err = a.pollerToken(ctx, token); err != nil {
			return Principal{}, err
		}
	case tenants.LooksLikeConsoleSession(token):
		if a.consoleTokens == nil {
			return Principal{}, errAuth("invalid or expired token")
		}
		tenantID, err := a.consoleTokens.CheckConsoleToken(ctx, token)
		if err != nil {
			return Principal{}, err
		}
		p = Principal{TenantID: tenantID}
	default:
		tenantID, issuedAt, err := a.tokens.ParseTenantTokenClaims(token)
		if err != nil {
			if a.appTokens != nil && errors.Is(err, errBadToken) {
				tok, isApp, aerr := a.appTokens.CheckAppToken(ctx, token)
				if aerr != nil {
					return Principal{}, aerr
				}
				if isApp {
					p = appPrincipal(tok)
					break
				}
			}
			return Principal{}, errAuth("invalid or expired token")
		}
		p = Principal{TenantID: tenantID, issuedAt: issuedAt, tenantJWT: true}
	}
	tn, err := a.tenantStatus(ctx, p.TenantID)
	if err != nil {
		return Principal{}, err
	}
	if tn.status != tenants.TenantActive {
		return Principal{}, &tenants.Error{Code: tenants.CodeForbidden, Reason: "tenant_suspended", Message: "this tenant is suspended; contact the platform operator"}
	}
	// A tenant JWT issued before the tenant's revocation time is refused
	// (one without iat cannot show it is newer).
	if p.tenantJWT && tn.validAfter != nil && p.issuedAt.Before(*tn.validAfter) {
		return Principal{}, errAuth("this token has been revoked; ask the platform operator for a new one")
	}
	return p, nil
}

func (a *Authenticator) credential(ctx context.Context, key string) (tenants.Credential, error) {
	hash := sha256.Sum256([]byte(key))
	now := a.now()
	c, ok := a.creds.Get(hash)
	if !ok || now.After(c.expires) {
		if a.unknown.Contains(hash) {
			return tenants.Credential{}, errAuth("invalid API key")
		}
		cred, err := a.store.FindCredentialByHash(ctx, hash[:])
		if errors.Is(err, tenants.ErrNotFound) {
			a.unknown.Add(hash, struct{}{})
			return tenants.Credential{}, errAuth("invalid API key")
		}
		if err != nil {
			return tenants.Credential{}, err
		}
		c = cachedCred{cred: cred, expires: now.Add(authCacheTTL)}
		a.creds.Add(hash, c)
		a.tenants.Add(cred.TenantID, cachedTenant{status: cred.TenantStatus, validAfter: cred.TokensValidAfter, expires: now.Add(authCacheTTL)})
	}
	if c.cred.Revoked {
		return tenants.Credential{}, errAuth("this API key has been revoked")
	}
	a.mu.Lock()
	a.used[c.cred.KeyID] = now
	a.mu.Unlock()
	return c.cred, nil
}

// tenantStatus returns the tenant's status and JWT revocation time, at
// most authCacheTTL old.
func (a *Authenticator) tenantStatus(ctx context.Context, tenantID string) (cachedTenant, error) {
	now := a.now()
	t, ok := a.tenants.Get(tenantID)
	if ok && now.Before(t.expires) {
		return t, nil
	}
	tn, err := a.store.FindTenantByID(ctx, tenantID)
	if errors.Is(err, tenants.ErrNotFound) {
		return cachedTenant{}, errAuth("the token's tenant does not exist")
	}
	if err != nil {
		return cachedTenant{}, err
	}
	t = cachedTenant{status: tn.Status, validAfter: tn.TokensValidAfter, expires: now.Add(authCacheTTL)}
	a.tenants.Add(tenantID, t)
	return t, nil
}

// Forget drops cached state for a tenant (and all its keys), so a
// revocation or suspension made through this process applies at once.
func (a *Authenticator) Forget(tenantID string) {
	a.tenants.Remove(tenantID)
	for _, h := range a.creds.Keys() {
		if c, ok := a.creds.Peek(h); ok && c.cred.TenantID == tenantID {
			a.creds.Remove(h)
		}
	}
}

// Run stores API keys' last-use times every interval until ctx ends, then
// once more.
func (a *Authenticator) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			a.Flush(fctx)
			cancel()
			return
		case <-t.C:
			a.Flush(ctx)
		}
	}
}

// Flush stores pending last-use times now.
func (a *Authenticator) Flush(ctx context.Context) {
	a.mu.Lock()
	used := a.used
	a.used = map[string]time.Time{}
	a.mu.Unlock()
	if err := a.store.TouchAPIKeys(ctx, used); err != nil {
		a.log.WarnContext(ctx, "could not record API key use", "err", err)
	}
}

const principalKey = "hookline.principal"

// principal returns the request's authenticated principal.
func principal(c *gin.Context) Principal {
	p, _ := c.Get(principalKey)
	pp, _ := p.(Principal)
	return pp
}
