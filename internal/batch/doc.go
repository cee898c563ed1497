// Package batch is group commit: concurrent callers hand in one item each
// and wait, and a few writer goroutines write whatever has queued with one
// call. The ingest (package outbox), the attempt recorder and the worker's
// small bookkeeping writes all use it. It has a bounded queue, per-item
// deadlines and a guard against use after Close, so that overload is
// answered (ErrBusy) instead of queued without bound. It imports nothing
// of Hookline's.
package batch
