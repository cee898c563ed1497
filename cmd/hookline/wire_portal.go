package main

import "github.com/hookline/hookline/internal/wire"

// wirePortal plugs the customer portal into the API (issue 4, moved out
// of api in issue 15): its pages under /portal/, its tokens and settings
// under /api/v1/auth and /api/v1/settings.
func (a *App) wirePortal() error {
	if a.server == nil {
		return nil
	}
	p, err := wire.Portal(a.server, a.auth, a.store, a.cfg.JWTSecret, a.cfg.PublicURL, a.publishPortalRevoked)
	a.portal = p
	return err
}
