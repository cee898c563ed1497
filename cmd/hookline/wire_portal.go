package main

import (
	"github.com/hookline/hookline/api"
	"github.com/hookline/hookline/portal"
)

// wirePortal plugs the customer portal into the API (issue 4): the API
// serves its pages under /portal/ and its tokens through /api/v1/auth.
func (a *App) wirePortal(d *api.Deps) error {
	p, err := portal.New()
	if err != nil {
		return err
	}
	d.Portal = p
	return nil
}
