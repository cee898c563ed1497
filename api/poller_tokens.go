package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// Poller tokens (Svix 1.947's GET …/auth/app/{app}/poller/{sink}/token
// and POST …/token/rotate): a bearer token that may read one polling
// endpoint — its poller routes (pollerRoutes) for that sink of that
// application — and nothing else, so a customer's poller holds no
// credential of the application. The path's parameter is named
// endpoint_id, as Svix's is, but names the polling endpoint (sink_…).

const pollerTokenPath = "/api/v1/auth/app/:app_id/poller/:endpoint_id/token"

// pollerRoutes are the routes a poller token may call.
var pollerRoutes = map[string]bool{
	"GET /api/v1/app/:app_id/poller/:sink_id":                             true,
	"GET /api/v1/app/:app_id/poller/:sink_id/consumer/:consumer_id":       true,
	"POST /api/v1/app/:app_id/poller/:sink_id/consumer/:consumer_id/seek": true,
}

// PollerTokenFinder finds a poller token by the SHA-256 of its secret
// (package store implements it, through the Store the Authenticator is
// given); ErrNotFound for an unknown one.
type PollerTokenFinder interface {
	FindPollerToken(ctx context.Context, hash []byte) (tenants.PollerToken, error)
}

type cachedPollerToken struct {
	tok     tenants.PollerToken
	expires time.Time
}

// pollerToken authenticates a poller token: 401 when unknown, expired or
// rotated out (after its grace), or when its polling endpoint is gone.
func (a *Authenticator) pollerToken(ctx context.Context, token string) (Principal, error) {
	f, ok := a.store.(PollerTokenFinder)
	if !ok {
		return Principal{}, errAuth("invalid or expired token")
	}
	hash := sha256.Sum256([]byte(token))
	now := a.now()
	c, ok := a.pollers.Get(hash)
	if !ok || now.After(c.expires) {
		if a.unknown.Contains(hash) {
			return Principal{}, errAuth("invalid or expired token")
		}
		tok, err := f.FindPollerToken(ctx, hash[:])
		if errors.Is(err, tenants.ErrNotFound) {
			a.unknown.Add(hash, struct{}{})
			return Principal{}, errAuth("invalid or expired token")
		}
		if err != nil {
			return Principal{}, err
		}
		c = cachedPollerToken{tok: tok, expires: now.Add(authCacheTTL)}
		a.pollers.Add(hash, c)
	}
	if !c.tok.LiveAt(now) {
		return Principal{}, errAuth("this poller token has expired or was rotated; ask for the current one")
	}
	return Principal{TenantID: c.tok.TenantID, AppID: c.tok.AppID, PollerSink: c.tok.DestinationID}, nil
}

// ForgetPollerTokens drops the cached tokens of polling endpoint sinkID,
// so that a rotation made through this process ends the old token here at
// once (other processes drop it within authCacheTTL).
func (a *Authenticator) ForgetPollerTokens(sinkID string) {
	for _, h := range a.pollers.Keys() {
		if c, ok := a.pollers.Peek(h); ok && c.tok.DestinationID == sinkID {
			a.pollers.Remove(h)
		}
	}
}

// pollerSink returns the destination ref a poller route reads: the path's,
// which a poller token may only use for its own sink (its id, or a uid
// that names it); another is 404, as another tenant's would be.
func (s *Server) pollerSink(c *gin.Context, ds DestinationStore, a tenants.Application) (string, error) {
	ref := c.Param("sink_id")
	p := principal(c)
	if p.PollerSink == "" || ref == p.PollerSink {
		return ref, nil
	}
	d, err := ds.FindDestination(c.Request.Context(), a.TenantID, a.ID, ref)
	if err != nil {
		return "", err
	}
	if d.ID != p.PollerSink {
		return "", errNotFound
	}
	return d.ID, nil
}

// apiTokenOut is Svix's ApiTokenOut.
type apiTokenOut struct {
	Token     string     `json:"token"`
	ID        string     `json:"id"`
	Name      *string    `json:"name"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt"`
	Scopes    []string   `json:"scopes"`
}

func toAPITokenOut(t tenants.PollerToken) apiTokenOut {
	return apiTokenOut{Token: t.Token, ID: t.ID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		Scopes: []string{"poller:" + t.DestinationID}}
}

func (s *Server) getPollerToken(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	t, err := ds.PollerToken(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, toAPITokenOut(t))
	return nil
}

// rotatePollerTokenIn is Svix's RotatePollerTokenIn (seconds).
type rotatePollerTokenIn struct {
	Expiry         *int64 `json:"expiry"`
	OldTokenExpiry *int64 `json:"oldTokenExpiry"`
}

func (s *Server) rotatePollerToken(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	var in rotatePollerTokenIn
	if err := s.decodeOptionalJSON(c, &in); err != nil {
		return err
	}
	var expiry time.Duration
	if in.Expiry != nil {
		if *in.Expiry < 1 || *in.Expiry > int64(tenants.MaxPollerTokenExpiry/time.Second) {
			return tenants.Invalid("expiry", "must be between 1 and 31536000 seconds")
		}
		expiry = time.Duration(*in.Expiry) * time.Second
	}
	old := tenants.DefaultOldPollerTokenExpiry
	if in.OldTokenExpiry != nil {
		if *in.OldTokenExpiry < 0 || *in.OldTokenExpiry > int64(tenants.MaxOldPollerTokenExpiry/time.Second) {
			return tenants.Invalid("oldTokenExpiry", "must be between 0 and 86400 seconds")
		}
		old = time.Duration(*in.OldTokenExpiry) * time.Second
	}
	t, err := ds.RotatePollerToken(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), expiry, old)
	if err != nil {
		return err
	}
	s.auth.ForgetPollerTokens(t.DestinationID)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, toAPITokenOut(t))
	return nil
}
