package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// portalRoutes lists the app-portal access routes and the portal's own
// pages (owned by the portal work; see issue 4). It also gives the
// Authenticator its app-token checker: the two must share one revocation
// cache, and NewServer runs this before any request is served.
func (s *Server) portalRoutes() []route {
	p := &portalAPI{Server: s, checker: newAppTokenChecker(s.tokens, s.store)}
	if s.auth != nil {
		s.auth.appTokens = p.checker
	}
	const r, w = false, true
	return []route{
		{"POST", "/api/v1/auth/app-portal-access/:app_id", scopeOrg, w, p.appPortalAccess},
		{"POST", "/api/v1/auth/dashboard-access/:app_id", scopeOrg, w, p.appPortalAccess},
		{"POST", "/api/v1/auth/app/:app_id/expire-all", scopeOrg, w, p.expireAll},
		// Logging out is not a write: a read-only token may end itself.
		{"POST", "/api/v1/auth/logout", scopeAnyAuth, r, p.logout},
		{"GET", "/api/v1/auth/portal-session", scopeAnyAuth, r, p.portalSession},
		{"GET", "/api/v1/app/:app_id/endpoint-stats", scopeApp, r, p.endpointSuccessRates},
		{"GET", "/api/v1/app/:app_id/delivery-status", scopeApp, r, p.deliveryStatus},
		{"GET", "/api/v1/app/:app_id/failed-msg", scopeApp, r, p.listFailedMessages},

		{"GET", "/api/v1/settings", scopeOrg, r, s.getSettings},
		{"PATCH", "/api/v1/settings", scopeOrg, w, s.patchSettings},
		{"GET", "/admin/v1/tenants/:tenant_id/settings", scopeAdmin, r, s.adminGetSettings},
		{"PATCH", "/admin/v1/tenants/:tenant_id/settings", scopeAdmin, w, s.adminPatchSettings},

		{"GET", "/portal", scopePublic, r, p.portalRedirect},
		{"GET", "/portal/", scopePublic, r, p.servePortal},
		{"GET", "/portal/o/:tenant_id/", scopePublic, r, p.servePortalApp},
		{"GET", "/portal/assets/*filepath", scopePublic, r, p.servePortal},
	}
}

// portalRedirect sends /portal to /portal/; browsers keep the #key
// fragment across the redirect.
func (p *portalAPI) portalRedirect(c *gin.Context) error {
	if p.portal == nil {
		return errNotFound
	}
	// Relative, so that it also works behind a proxy that mounts Hookline
	// under a path prefix.
	c.Header("Location", "portal/")
	c.Status(http.StatusMovedPermanently)
	return nil
}

// servePortal hands the bootstrap page and the assets to the portal
// package. The bootstrap page shows nothing and may be framed by anyone:
// it only reads the token's tenant and moves on to that tenant's page.
func (p *portalAPI) servePortal(c *gin.Context) error {
	if p.portal == nil {
		return errNotFound
	}
	p.portal.ServeHTTP(c.Writer, c.Request)
	return nil
}

// servePortalApp serves the portal for one tenant with that tenant's
// framing policy. The tenant comes from the path, which anyone can write:
// that is safe because the portal refuses to work unless its token
// belongs to the same tenant (the API tells it), so the policy that
// applies is always the token owner's. The portal package sets the rest of
// the page's CSP; browsers enforce both headers.
func (p *portalAPI) servePortalApp(c *gin.Context) error {
	tenantID := c.Param("tenant_id")
	if p.portal == nil || !tenants.IsID(tenants.PrefixTenant, tenantID) {
		return errNotFound
	}
	ps, err := p.store.FindPortalSettings(c.Request.Context(), tenantID)
	if err != nil {
		return err
	}
	c.Header("Content-Security-Policy", "frame-ancestors "+frameAncestors(ps.FrameOrigins))
	p.portal.ServeHTTP(c.Writer, c.Request)
	return nil
}

// frameAncestors is the CSP source list for a tenant's allowed origins
// (stored normalised, so safe to write into a header); none means any.
func frameAncestors(origins []string) string {
	if len(origins) == 0 {
		return "*"
	}
	return strings.Join(origins, " ")
}
