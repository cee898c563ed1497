package api

import (
	"bytes"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// checkAdmin guards the operator API with HOOKLINE_ADMIN_TOKEN, compared in
// constant time. With no token configured the operator API is off.
// CheckAdmin returns nil when the request carries the operator token, and
// otherwise the error to answer (401, or 403 with the operator API off).
func (s *Server) CheckAdmin(c *gin.Context) error { return s.checkAdmin(c) }

func (s *Server) checkAdmin(c *gin.Context) error {
	if s.opts.AdminToken == "" {
		return errForbidden("the operator API is disabled: set HOOKLINE_ADMIN_TOKEN")
	}
	got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.AdminToken)) != 1 {
		return errAuth("invalid operator token")
	}
	return nil
}

type tenantOut struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	// TokensValidAfter: tenant JWTs issued before it are refused.
	TokensValidAfter *time.Time `json:"tokensValidAfter"`
	CreatedAt        time.Time  `json:"createdAt"`
	UpdatedAt        time.Time  `json:"updatedAt"`
}

func toTenantOut(t tenants.Tenant) tenantOut {
	out := tenantOut{ID: t.ID, Name: t.Name, Status: t.Status, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
	if t.TokensValidAfter != nil {
		va := t.TokensValidAfter.UTC()
		out.TokensValidAfter = &va
	}
	return out
}

type apiKeyOut struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	// Key is the key in clear, present only in the answer that created it.
	Key string `json:"key,omitempty"`
}

func toAPIKeyOut(k tenants.APIKey) apiKeyOut {
	return apiKeyOut{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(), LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

type createTenantIn struct {
	Name *string `json:"name"`
}

func (s *Server) adminCreateTenant(c *gin.Context) error {
	var in createTenantIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		return tenants.Invalid("name", "field required")
	}
	ctx := c.Request.Context()
	t, err := s.store.CreateTenant(ctx, strings.TrimSpace(*in.Name))
	if err != nil {
		return err
	}
	k, secret, err := s.store.CreateAPIKey(ctx, t.ID, "default")
	if err != nil {
		return err
	}
	if s.billing != nil {
		// Links the tenant to Stripe now; the report task retries if Stripe
		// is unreachable.
		s.billing.TenantCreated(ctx, t.ID)
	}
	jwt, err := s.tokens.TenantToken(t.ID, s.opts.TenantTokenTTL)
	if err != nil {
		return err
	}
	ko := toAPIKeyOut(k)
	ko.Key = secret
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"tenant": toTenantOut(t), "apiKey": ko, "jwt": jwt})
	return nil
}

func (s *Server) adminListTenants(c *gin.Context) error {
	p, err := listParams(c, false)
	if err != nil {
		return err
	}
	pg, err := s.store.FindTenants(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toTenantOut))
	return nil
}

func (s *Server) adminGetTenant(c *gin.Context) error {
	t, err := s.store.FindTenantByID(c.Request.Context(), c.Param("tenant_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toTenantOut(t))
	return nil
}

func (s *Server) setTenantStatus(c *gin.Context, status string) error {
	t, err := s.store.SetTenantStatus(c.Request.Context(), c.Param("tenant_id"), status)
	if err != nil {
		return err
	}
	s.forgetEverywhere(c.Request.Context(), t.ID)
	c.JSON(http.StatusOK, toTenantOut(t))
	return nil
}

func (s *Server) adminSuspendTenant(c *gin.Context) error {
	return s.setTenantStatus(c, tenants.TenantSuspended)
}
func (s *Server) adminResumeTenant(c *gin.Context) error {
	return s.setTenantStatus(c, tenants.TenantActive)
}

func (s *Server) adminListAPIKeys(c *gin.Context) error {
	ctx := c.Request.Context()
	if _, err := s.store.FindTenantByID(ctx, c.Param("tenant_id")); err != nil {
		return err
	}
	keys, err := s.store.FindAPIKeys(ctx, c.Param("tenant_id"))
	if err != nil {
		return err
	}
	out := make([]apiKeyOut, 0, len(keys))
	for _, k := range keys {
		out = append(out, toAPIKeyOut(k))
	}
	c.JSON(http.StatusOK, gin.H{"data": out})
	return nil
}

type createAPIKeyIn struct {
	Name string `json:"name"`
}

func (s *Server) adminCreateAPIKey(c *gin.Context) error {
	var in createAPIKeyIn
	if err := s.decodeOptionalJSON(c, &in); err != nil { // the body is optional
		return err
	}
	k, secret, err := s.store.CreateAPIKey(c.Request.Context(), c.Param("tenant_id"), in.Name)
	if err != nil {
		return err
	}
	out := toAPIKeyOut(k)
	out.Key = secret
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, out)
	return nil
}

func (s *Server) adminRevokeAPIKey(c *gin.Context) error {
	k, err := s.store.RevokeAPIKey(c.Request.Context(), c.Param("tenant_id"), c.Param("key_id"))
	if err != nil {
		return err
	}
	s.forgetEverywhere(c.Request.Context(), k.TenantID)
	c.JSON(http.StatusOK, toAPIKeyOut(k))
	return nil
}

type tenantJWTIn struct {
	// TTL is the token's lifetime as a Go duration ("24h"); absent means
	// the server's HOOKLINE_JWT_TTL.
	TTL *string `json:"ttl"`
}

// adminTenantJWT mints a tenant JWT, valid for the body's ttl or the
// server's default lifetime.
func (s *Server) adminTenantJWT(c *gin.Context) error {
	var in tenantJWTIn
	b, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := decodeBytes(b, &in); err != nil {
			return err
		}
	}
	ttl := s.opts.TenantTokenTTL
	if in.TTL != nil {
		d, err := time.ParseDuration(*in.TTL)
		if err != nil || d <= 0 || d > maxTenantTTL {
			return tenants.Invalid("ttl", "must be a positive duration such as 24h, at most "+maxTenantTTL.String())
		}
		ttl = d
	}
	t, err := s.store.FindTenantByID(c.Request.Context(), c.Param("tenant_id"))
	if err != nil {
		return err
	}
	jwt, err := s.tokens.TenantToken(t.ID, ttl)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"token": jwt, "expiresAt": s.tokens.now().Add(ttl).UTC().Truncate(time.Second)})
	return nil
}

// maxTenantTTL bounds a minted token's lifetime (about 10 years, what
// tokens were before lifetimes were configurable).
const maxTenantTTL = 10 * 365 * 24 * time.Hour

type revokeTokensIn struct {
	// ValidAfter is the revocation time; absent means now. A time in the
	// past revokes only tokens issued before it.
	ValidAfter *bodyTime `json:"validAfter"`
}

// adminRevokeTenantTokens sets the tenant's tokens-valid-after time: every
// tenant JWT issued before it is refused, at once on this process and,
// through Deps.Invalidated, within a second on the others.
func (s *Server) adminRevokeTenantTokens(c *gin.Context) error {
	var in revokeTokensIn
	b, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := decodeBytes(b, &in); err != nil {
			return err
		}
	}
	var at time.Time
	if in.ValidAfter != nil {
		at = in.ValidAfter.Time
		if at.After(s.tokens.now().Add(time.Minute)) {
			return tenants.Invalid("validAfter", "must not be in the future: it would refuse tokens minted now")
		}
	}
	t, err := s.store.RevokeTenantTokens(c.Request.Context(), c.Param("tenant_id"), at)
	if err != nil {
		return err
	}
	s.forgetEverywhere(c.Request.Context(), t.ID)
	c.JSON(http.StatusOK, toTenantOut(t))
	return nil
}
