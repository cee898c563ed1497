// Package outbox owns a message's durable life, read top to bottom:
//
//  1. Accept takes a validated message and hands it to the ingest batcher;
//  2. the batcher commits it with its idempotency claim and its deliveries
//     (one statement for the whole batch: tenants.CreateMessages);
//  3. after the commit the batch's deliveries are handed to this process's
//     worker (Handoff) and enqueued in Redis in one round trip (Enqueuer):
//     the ones this process's worker has room for get a backup task (due
//     only if the process dies before settling it; see Direct) and their
//     attempts begin at once, the others a task for any worker to poll;
//  4. the worker attempts each delivery and records the attempt with the
//     attempt batcher (Recorder), which moves the delivery on in the same
//     statement.
//
// PostgreSQL is the source of truth at every step: a message is answered
// 2xx only once committed, Redis may lose everything (the sweeper in
// package worker re-enqueues from PostgreSQL), and the handoff is only a
// shortcut that spares a first attempt reading back what was just written.
// One generic group-commit Batcher serves both writes; it has a bounded
// queue, per-item deadlines and a guard against use after Close, so that
// overload is answered (ErrBusy, a 503 with Retry-After) instead of queued
// without bound.
package outbox
