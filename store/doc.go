// Package store is Hookline's one PostgreSQL implementation: every query
// of every table, one file per entity (tenants.go, applications.go,
// endpoints.go, messages.go, deliveries.go, attempts.go, …), behind the
// small interfaces the other packages declare (api.Store, worker.Store,
// outbox.Store, billing.Store, …). The domain types it reads and writes,
// and their rules, live in package tenants; the schema only in package
// migrations.
//
// One rule for data access, by what a file's entity is:
//
//   - Entities people create, edit and delete through the API (tenants,
//     API keys, applications, endpoints and their secrets, event types,
//     portal settings, console and portal tokens, background-task records,
//     billing accounts and usage) are read and written with gorm, the
//     design card's ORM, through row structs of this package (the domain
//     types carry no tags).
//   - What traffic writes and reads (messages, deliveries, attempts,
//     idempotency keys, partitions, leases, retention, statistics over
//     traffic) is written as SQL with pgx: batched statements on arrays,
//     one round trip each, with the partition bounds spelled out so that
//     PostgreSQL prunes before execution.
//
// No file uses both. Both libraries run on one pool (gorm through pgx's
// database/sql adapter), and Store.InTx is the one transaction helper: the
// Store it passes runs gorm's and pgx's statements alike inside the
// transaction.
//
// Every method takes the tenant first and scopes its query by it; a row of
// another tenant is tenants.ErrNotFound, exactly like a missing one.
// Driver errors are translated to the domain's coded errors in one place
// (translate); the store never logs.
package store
