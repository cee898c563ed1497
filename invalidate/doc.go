// Package invalidate tells every Hookline process at once that a fact it
// may cache has changed — an API key or portal token revoked, a tenant
// suspended, an application or endpoint changed — over Redis pub/sub, so
// per-process caches need not wait for their TTL. The TTL stays the
// fallback: pub/sub delivers at most once, to processes connected at the
// time, and a process that reconnects is told to drop everything (KindAll)
// because it may have missed events meanwhile.
package invalidate
