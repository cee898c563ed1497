// Package api is Hookline's tenant REST API: a gin engine whose routes,
// JSON shapes, errors and pagination follow the Svix API, so Svix's own SDKs
// work against it unchanged. It also serves the operator API under
// /admin/v1 and the health endpoints. Other packages' routes (the
// customer portal's, see portal.Server.Routes) are mounted into the same
// route table with Server.Mount, so they authenticate the same way.
//
// Handlers decode wire structs (this package's *In/*Out types), convert
// them to domain inputs and call the tenants store; every error goes
// through writeError, the one place that maps errors to status codes.
package api
