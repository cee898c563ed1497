// Package operational emits operational webhooks: events about a tenant's
// own Hookline account (an endpoint was disabled, a message exhausted its
// retries) sent to the tenant's operational-webhook endpoints.
//
// An operational endpoint is an ordinary endpoint of the tenant's hidden
// system application (Store.SystemApplication), and an event is an
// ordinary message in that application. So events are signed with the
// operational endpoint's own secret, retried on the normal schedule and
// recorded as attempts by the same delivery machinery as every webhook,
// and the flag on the application keeps them out of the application list,
// the portal and billing.
//
// The package builds the Svix-shaped payloads and decides when the worker's
// attempts make an event; creating the message is left to a Sender, which
// main wires to worker.OperationalSender.
package operational
