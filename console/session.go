package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

type signInIn struct {
	// APIKey signs in with a tenant API key (sk_…).
	APIKey string `json:"apiKey"`
	// Link signs in with a one-time console link's token (hlcl_…).
	Link string `json:"link"`
}

type sessionOut struct {
	Token      string    `json:"token,omitempty"`
	TenantID   string    `json:"tenantId"`
	TenantName string    `json:"tenantName"`
	ExpiresAt  time.Time `json:"expiresAt"`
	// PublicURL is where the server is reached (HOOKLINE_PUBLIC_URL), for
	// the URLs the console shows to call from code (a poller's).
	PublicURL string `json:"publicUrl,omitempty"`
}

var errBadSignIn = &tenants.Error{Code: tenants.CodeUnauthorized,
	Message: "this API key or console link is not valid (unknown, revoked, expired or already used)"}

// signIn exchanges an API key or a one-time console link for a console
// session token scoped to the key's (or link's) tenant.
func (s *Server) signIn(c *gin.Context) error {
	var in signInIn
	if err := decode(c, &in); err != nil {
		return err
	}
	in.APIKey, in.Link = strings.TrimSpace(in.APIKey), strings.TrimSpace(in.Link)
	ctx := c.Request.Context()
	var tenantID string
	switch {
	case in.APIKey != "" && in.Link != "":
		return tenants.Invalid("apiKey", "send either apiKey or link, not both")
	case in.APIKey != "":
		if !tenants.LooksLikeAPIKey(in.APIKey) {
			return tenants.Invalid("apiKey", "an API key starts with "+tenants.APIKeyPrefix)
		}
		// The API's authenticator checks the key and its tenant's state.
		tid, err := s.d.Authenticate(ctx, "Bearer "+in.APIKey)
		if err != nil {
			return err
		}
		tenantID = tid
	case in.Link != "":
		ct, err := s.d.Store.UseConsoleLink(ctx, in.Link)
		if errors.Is(err, tenants.ErrNotFound) {
			return errBadSignIn
		}
		if err != nil {
			return err
		}
		tenantID = ct.TenantID
	default:
		return tenants.Invalid("apiKey", "send apiKey (an API key) or link (a console link's token)")
	}
	ct, token, err := s.d.Store.CreateConsoleToken(ctx, tenantID, tenants.ConsoleSession, s.opts.SessionTTL)
	if errors.Is(err, tenants.ErrForbidden) {
		return &tenants.Error{Code: tenants.CodeForbidden, Reason: "tenant_suspended", Message: "this tenant is suspended; contact the platform operator"}
	}
	if err != nil {
		return err
	}
	t, err := s.d.Store.FindTenantByID(ctx, tenantID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, sessionOut{Token: token, TenantID: tenantID, TenantName: t.Name, ExpiresAt: ct.ExpiresAt.UTC()})
	return nil
}

// getSession tells the console who it acts for.
func (s *Server) getSession(c *gin.Context) error {
	ctx := c.Request.Context()
	t, err := s.d.Store.FindTenantByID(ctx, tenantOf(c))
	if err != nil {
		return err
	}
	out := sessionOut{TenantID: t.ID, TenantName: t.Name, PublicURL: s.opts.PublicURL}
	if raw := bearer(c); tenants.LooksLikeConsoleSession(raw) {
		if ct, err := s.d.Store.FindConsoleSession(ctx, raw); err == nil {
			out.ExpiresAt = ct.ExpiresAt.UTC()
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// signOut revokes the console session that calls it. Other credentials
// cannot sign out: API keys are revoked on the API keys page.
func (s *Server) signOut(c *gin.Context) error {
	raw := bearer(c)
	if !tenants.LooksLikeConsoleSession(raw) {
		return &tenants.Error{Code: tenants.CodeForbidden, Message: "only console sessions sign out; revoke API keys instead"}
	}
	if err := s.d.Store.RevokeConsoleToken(c.Request.Context(), tenantOf(c), raw); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	t, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		t, _ = strings.CutPrefix(h, "bearer ")
	}
	return strings.TrimSpace(t)
}

// Link is a one-time console link: its URL (token in the fragment), the
// token alone, and when it stops working.
type Link struct {
	URL       string    `json:"url"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// adminConsoleLink mints a one-time console link for a tenant (the
// operator's way in for a tenant that has no key at hand). The token rides
// in the URL fragment, so it never reaches a server log.
func (s *Server) adminConsoleLink(c *gin.Context) error {
	if err := s.d.Admin(c); err != nil {
		return err
	}
	out, err := s.ConsoleLink(c, c.Param("tenant_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, out)
	return nil
}

// ConsoleLink mints a one-time link into the tenant's console, valid for
// Options.LinkTTL. An unknown tenant is ErrNotFound, a suspended one
// ErrForbidden.
func (s *Server) ConsoleLink(c *gin.Context, tenantID string) (Link, error) {
	return MintLink(c.Request.Context(), s.d.Store, s.opts.PublicURL, tenantID, s.opts.LinkTTL)
}
