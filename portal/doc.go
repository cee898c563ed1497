// Package portal is the customer portal: a single-page application that a
// tenant's customers open through a magic link (or inside an iframe on the
// tenant's own site) to manage their webhook endpoints, read delivery logs,
// replay messages and rotate signing secrets.
//
// The portal is a client of the public API: it holds an app-portal token
// (in memory and sessionStorage, never in a cookie) and calls /api/v1 with
// it. This package holds the portal's server side: its tokens (AppTokens
// signs them, Checker verifies them and their revocations for the API's
// authenticator), the routes that mint, scope and revoke them
// (app-portal-access, expire-all, logout, portal-session), the tenant's
// branding settings, and the pages with their security headers and
// per-tenant framing policy. Mount serves them on the API's engine, so
// they authenticate and answer errors the API's way: the portal sits on
// the API, never the other way round.
//
// static/ is also the UI kit the tenant console imports (ui.js, list.js,
// api.js, portal.css): one copy of the components for both.
package portal
