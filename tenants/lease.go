package tenants

import "context"

// Lease is a named lock across processes (the outbox sweeper's, storage
// maintenance's): while one process holds it, no other gets it.
type Lease interface {
	// Alive reports whether the lease is still held, renewing it where
	// it must be renewed; false means another process may hold it now.
	Alive(ctx context.Context) bool
	// Release gives the lease up.
	Release()
}
