// Package worker delivers webhooks. It holds the asynq task types and the
// client that enqueues them, the webhook:deliver handler (signing, the
// HTTP request, the retry schedule, circuit breaker, throttling and SSRF
// guard), the batched attempt recorder, and the outbox sweeper that
// restores whatever Redis lost from the durable state in PostgreSQL.
//
// PostgreSQL is the source of truth: each delivery's status and next
// attempt time live there. Redis is treated as a fast queue that may lose
// everything; the sweeper re-enqueues any pending delivery whose task is
// missing.
package worker
