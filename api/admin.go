package api

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// checkAdmin guards the operator API with HOOKLINE_ADMIN_TOKEN, compared in
// constant time. With no token configured the operator API is off.
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
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func toTenantOut(t tenants.Tenant) tenantOut {
	return tenantOut{ID: t.ID, Name: t.Name, Status: t.Status, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
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
	jwt, err := s.tokens.TenantToken(t.ID, DefaultTenantTTL)
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
	b, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(b) > 0 {
		if err := decodeBytes(b, &in); err != nil {
			return err
		}
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

func (s *Server) adminTenantJWT(c *gin.Context) error {
	t, err := s.store.FindTenantByID(c.Request.Context(), c.Param("tenant_id"))
	if err != nil {
		return err
	}
	jwt, err := s.tokens.TenantToken(t.ID, DefaultTenantTTL)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"token": jwt})
	return nil
}
