// Package portal is the customer portal: a single-page application that a
// tenant's customers open through a magic link (or inside an iframe on the
// tenant's own site) to manage their webhook endpoints, read delivery logs,
// replay messages and rotate signing secrets.
//
// The portal is just another client of the public API: it holds an
// app-portal token (in memory and sessionStorage, never in a cookie) and
// calls /api/v1 with it. This package only serves its files, embedded in
// the binary, with the security headers every page needs. Which sites may
// frame the portal is the API's decision, since it depends on the tenant
// (see api.portalRoutes).
package portal
