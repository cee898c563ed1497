package portal

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// portalRedirect sends /portal to /portal/; browsers keep the #key
// fragment across the redirect.
func (s *Server) portalRedirect(c *gin.Context) error {
	// Relative, so that it also works behind a proxy that mounts Hookline
	// under a path prefix.
	c.Header("Location", "portal/")
	c.Status(http.StatusMovedPermanently)
	return nil
}

// servePortal serves the bootstrap page and the assets. The bootstrap page
// shows nothing and may be framed by anyone: it only reads the token's
// tenant and moves on to that tenant's page.
func (s *Server) servePortal(c *gin.Context) error {
	s.d.Pages.ServeHTTP(c.Writer, c.Request)
	return nil
}

// servePortalApp serves the portal for one tenant with that tenant's
// framing policy. The tenant comes from the path, which anyone can write:
// that is safe because the portal refuses to work unless its token
// belongs to the same tenant (the API tells it), so the policy that
// applies is always the token owner's. Handler sets the rest of the page's
// CSP; browsers enforce both headers.
func (s *Server) servePortalApp(c *gin.Context) error {
	tenantID := c.Param("tenant_id")
	if !tenants.IsID(tenants.PrefixTenant, tenantID) {
		return tenants.ErrNotFound
	}
	ps, err := s.d.Store.FindPortalSettings(c.Request.Context(), tenantID)
	if err != nil {
		return err
	}
	c.Header("Content-Security-Policy", "frame-ancestors "+frameAncestors(ps.FrameOrigins))
	s.d.Pages.ServeHTTP(c.Writer, c.Request)
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
