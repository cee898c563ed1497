package main

import "github.com/hookline/hookline/portal"

// wirePortal plugs the customer portal into the API: its pages under
// /portal/, its tokens and settings under /api/v1/auth and
// /api/v1/settings.
func (a *App) wirePortal() error {
	if a.server == nil {
		return nil
	}
	p, err := portal.Mount(a.server, a.auth, a.store, a.cfg.JWTSecret, a.cfg.PublicURL, a.publishPortalRevoked)
	a.portal = p
	return err
}
