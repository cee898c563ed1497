// Package console is the tenant console: the web UI where a tenant's
// developers run their webhooks (applications, event types, messages and
// attempts, API keys, usage, portal branding), served at /console/ by the
// same binary.
//
// Like the customer portal, the console is a client of the public API: it
// signs in with an API key or a one-time console link, receives a
// short-lived console session token (kept in sessionStorage, never in a
// cookie) and calls /api/v1 with it. What the tenant REST API does not
// answer — queries across applications, API keys, the overview's figures,
// the tenant's throttled delivery lanes (read through Lanes, which main
// adapts from the worker) — is served by this package's own JSON routes
// under /console/api/.
//
// The pages are plain ES modules embedded with go:embed, and they import
// the portal's UI kit and API client from /portal/assets/: one copy of
// the components for both UIs, and no build step (see Handler). Mount
// serves the console on the API's engine.
package console
