package portal

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// App-portal token lifetimes, from the Svix contract.
const (
	minAppTokenTTL     = time.Hour
	defaultAppTokenTTL = tenants.MaxAppTokenTTL
)

type appPortalAccessIn struct {
	// Application is a Svix ApplicationIn, creating the app on the fly.
	Application  json.RawMessage `json:"application"`
	Expiry       *int64          `json:"expiry"`
	ReadOnly     *bool           `json:"readOnly"`
	Capabilities []string        `json:"capabilities"`
	SessionID    *string         `json:"sessionId"`
	FeatureFlags []string        `json:"featureFlags"`
}

type appPortalAccessOut struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

var flagRE = regexp.MustCompile(`^[a-zA-Z0-9\-_.]{1,256}$`)

// appPortalAccess mints a magic link for one application (created on the
// fly when the body carries one). The token rides in the URL fragment, so
// it never reaches a server log or a Referer header.
func (s *Server) appPortalAccess(c *gin.Context) error {
	var in appPortalAccessIn
	// dashboard-access has no body, and app-portal-access may omit it.
	if err := s.d.Decode(c, &in, true); err != nil {
		return err
	}
	ttl := defaultAppTokenTTL
	if in.Expiry != nil {
		ttl = time.Duration(*in.Expiry) * time.Second
		if ttl < minAppTokenTTL || ttl > tenants.MaxAppTokenTTL {
			return tenants.Invalid("expiry", "must be between 3600 (1 hour) and 604800 (7 days) seconds")
		}
	}
	caps, err := tenants.ParseCapabilities(in.Capabilities)
	if err != nil {
		return tenants.Invalid("capabilities", err.Error()+"; use ViewBase, ViewEndpointSecret, ManageEndpointSecret, ManageTransformations, CreateAttempts or ManageEndpoint")
	}
	spec := tenants.AppToken{Capabilities: caps, FeatureFlags: in.FeatureFlags}
	if in.SessionID != nil {
		if *in.SessionID == "" || utf8.RuneCountInString(*in.SessionID) > 256 {
			return tenants.Invalid("sessionId", "must be 1-256 characters")
		}
		spec.SessionID = *in.SessionID
	}
	if len(in.FeatureFlags) > 20 {
		return tenants.Invalid("featureFlags", "at most 20 feature flags")
	}
	for _, f := range in.FeatureFlags {
		if !flagRE.MatchString(f) {
			return tenants.Invalid("featureFlags", "feature flags are 1-256 characters of a-z, A-Z, 0-9, '-', '_' and '.'")
		}
	}
	if in.ReadOnly != nil {
		spec.ReadOnly = *in.ReadOnly
	}
	a, err := s.d.AppFromBody(c, in.Application)
	if err != nil {
		return err
	}
	spec.TenantID, spec.AppID = a.TenantID, a.ID
	token, _, err := s.d.Tokens.Mint(spec, ttl)
	if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, appPortalAccessOut{URL: s.opts.PublicURL + "/portal/#key=" + token, Token: token})
	return nil
}

type expireAllIn struct {
	Expiry     *int64   `json:"expiry"`
	SessionIDs []string `json:"sessionIds"`
	SessionID  *string  `json:"sessionId"`
}

// expireAll revokes the application's tokens issued until now (only those
// of the given sessions, when named), optionally after a delay.
func (s *Server) expireAll(c *gin.Context) error {
	a, err := s.d.LoadApp(c)
	if err != nil {
		return err
	}
	var in expireAllIn
	if err := s.d.Decode(c, &in, true); err != nil {
		return err
	}
	var delay time.Duration
	if in.Expiry != nil {
		delay = time.Duration(*in.Expiry) * time.Second
		if delay < 0 || delay > tenants.MaxAppTokenTTL {
			return tenants.Invalid("expiry", "must be between 0 and 604800 seconds")
		}
	}
	sessions := in.SessionIDs
	if in.SessionID != nil {
		sessions = append(sessions, *in.SessionID)
	}
	if len(sessions) > 100 {
		return tenants.Invalid("sessionIds", "at most 100 sessions at a time")
	}
	for _, sid := range sessions {
		if sid == "" || utf8.RuneCountInString(sid) > 256 {
			return tenants.Invalid("sessionIds", "session ids are 1-256 characters")
		}
	}
	// Tokens carry their issue instant in microseconds; so does the
	// database.
	now := s.now()
	if err := s.d.Store.ExpireAppTokens(c.Request.Context(), a.TenantID, a.ID, sessions, now, now.Add(delay)); err != nil {
		return err
	}
	s.revoked(c.Request.Context(), a.TenantID, a.ID)
	c.Status(http.StatusNoContent)
	return nil
}

// logout revokes the app-portal token that calls it. Other credentials
// cannot log out (Svix refuses them too): API keys are revoked through
// the operator API or the console.
func (s *Server) logout(c *gin.Context) error {
	pr := s.d.Caller(c)
	if pr.AppID == "" || pr.TokenID == "" {
		return forbidden("only app-portal tokens can log out; revoke API keys through the operator API or the console")
	}
	// The row must outlive the token; every token dies within
	// MaxAppTokenTTL (plus leeway) of now.
	expires := s.d.Tokens.now().Add(tenants.MaxAppTokenTTL + clockLeeway)
	if err := s.d.Store.RevokeAppToken(c.Request.Context(), pr.TenantID, pr.AppID, pr.TokenID, expires); err != nil {
		return err
	}
	s.revoked(c.Request.Context(), pr.TenantID, pr.AppID)
	c.Status(http.StatusNoContent)
	return nil
}

type brandingOut struct {
	DisplayName  string  `json:"displayName"`
	LogoURL      *string `json:"logoUrl"`
	PrimaryColor *string `json:"primaryColor"`
	Theme        string  `json:"theme"`
}

type portalAppOut struct {
	ID   string  `json:"id"`
	UID  *string `json:"uid,omitempty"`
	Name string  `json:"name"`
}

type portalSessionOut struct {
	TenantID string `json:"tenantId"`
	// PublicURL is where the server is reached (HOOKLINE_PUBLIC_URL), for
	// the URLs the portal shows customers to call from their own code,
	// such as a polling endpoint's; empty when not configured.
	PublicURL    string        `json:"publicUrl"`
	Application  *portalAppOut `json:"application"`
	ReadOnly     bool          `json:"readOnly"`
	Capabilities []string      `json:"capabilities"`
	Branding     brandingOut   `json:"branding"`
}

// portalSession tells the portal who it acts for (verified, unlike the
// token's payload it decoded itself), what it may do and how to look.
func (s *Server) portalSession(c *gin.Context) error {
	pr := s.d.Caller(c)
	ctx := c.Request.Context()
	t, err := s.d.Store.FindTenantByID(ctx, pr.TenantID)
	if err != nil {
		return err
	}
	ps, err := s.d.Store.FindPortalSettings(ctx, pr.TenantID)
	if err != nil {
		return err
	}
	caps := pr.Capabilities
	if pr.AppID == "" {
		caps = tenants.AllCapabilities
	}
	out := portalSessionOut{
		TenantID: pr.TenantID, PublicURL: s.opts.PublicURL, ReadOnly: pr.ReadOnly, Capabilities: caps.Names(),
		Branding: brandingOut{DisplayName: ps.DisplayName, LogoURL: orNil(ps.LogoURL), PrimaryColor: orNil(ps.PrimaryColor), Theme: ps.Theme},
	}
	if out.Branding.DisplayName == "" {
		out.Branding.DisplayName = t.Name
	}
	if pr.AppID != "" {
		a, err := s.d.Store.FindApplication(ctx, pr.TenantID, pr.AppID)
		if err != nil {
			return err
		}
		out.Application = &portalAppOut{ID: a.ID, UID: a.UID, Name: a.Name}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
	return nil
}

func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
