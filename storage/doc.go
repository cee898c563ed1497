// Package storage keeps Hookline's database bounded under steady load.
//
// Messages, deliveries and attempts are range-partitioned on their ids,
// which carry time (migration 0012), into slices of time (a UTC day by
// default). A Maintainer, run as the periodic task storage:maintain on one
// process at a time (a lease) and once at start-up:
//
//   - creates each table's partitions ahead of time (ATTACH of an empty
//     table: no lock that stops reads or writes), moving rows that reached
//     the DEFAULT partition meanwhile;
//   - drops a slice once it is past the longest retention in force (each
//     slice holds every tenant's rows, so shorter retentions are honoured
//     by reads, which hide what is older), but only when no delivery that
//     belongs to it or to its messages is still pending and every billable
//     delivery in it is in an hour billing has made final — so usage stays
//     exact after the rows are gone;
//   - nulls attempt response bodies past the response retention in bounded
//     batches (reads already hide them);
//   - deletes destination attempts (one per batch sent to a FIFO endpoint
//     or RabbitMQ; not partitioned) past their tenant's retention, in
//     bounded batches. What destinations delivered, for billing
//     (destination_usage), goes with the slice of its time instead, under
//     the same rules as the deliveries.
//
// Payloads past their message's payloadRetentionPeriod read as expunged at
// once (tenants), and are nulled by the outbox sweeper's housekeeping.
//
// We chose this over PostgreSQL's pg_partman extension: partman would be
// one more dependency for every operator (a Debian package, a custom
// docker image, and not available on every managed PostgreSQL), and its
// retention drops partitions by age alone, whereas ours must wait for
// pending deliveries and for billing's rollup. What we need of it is a few
// dozen lines of SQL.
package storage
