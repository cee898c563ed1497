// Package tenants holds Hookline's domain types — tenants, API keys,
// applications, endpoints and their secrets, event types, messages,
// deliveries and attempts — and their PostgreSQL store.
//
// Types here carry no JSON tags: the wire shapes live in package api, so a
// secret can never leak through a struct tag. Every store method takes the
// tenant id first and scopes its query by it; a row of another tenant is
// ErrNotFound, exactly like a missing one.
package tenants
