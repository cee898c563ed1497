// Package outbox owns the first part of a message's life, read top to
// bottom:
//
//  1. Accept takes a validated message and hands it to the ingest batcher
//     (package batch: group commit, a bounded queue, overload answered);
//  2. the batcher commits it with its idempotency claim and its deliveries
//     (one statement for the whole batch: Store.CreateMessages);
//  3. after the commit, the batch's deliveries go to the workers in one
//     hand-over (worker.Dispatcher), and the request is answered.
//
// From there package worker takes over: the attempt, its record, the
// retries. A message never comes back up: the outbox imports the worker,
// not the other way round.
//
// PostgreSQL is the source of truth at every step: a message is answered
// 2xx only once committed, Redis may lose everything (the sweeper in
// package worker re-enqueues from PostgreSQL), and the hand-over is only
// the fast path.
package outbox
