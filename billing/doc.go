// Package billing charges tenants for what they deliver: it meters
// deliveries into hourly usage, enforces plan quotas and payment status on
// message creation, reports usage to Stripe as Billing Meter Events, and
// applies Stripe's webhooks to each tenant's billing status.
//
// The billable unit is a message successfully delivered to an endpoint,
// once however many attempts it took: a scheduled delivery (trigger 0)
// whose status is success, counted in the hour of its succeeded_at. Manual
// resends are not billed. Destinations count the same way, once per message
// and destination: a message in a FIFO or RabbitMQ batch that was accepted,
// or one a poll of a polling endpoint returned for the first time (rows of
// destination_usage, in the hour they were written). Usage is derived from the delivery records, never
// counted on the hot path:
//
//   - Rollup (task billing:rollup) recomputes per-tenant hourly counts
//     into usage_hourly with an idempotent upsert. An hour whose end is
//     more than the safety margin in the past is final and never changes
//     again; later hours are provisional, counted up to a watermark
//     (counted_through) that trails the clock by the margin, so that
//     deliveries whose commit lags their succeeded_at land first.
//   - Reads (quota, usage API) add the rolled-up hours to a live count of
//     the few minutes after the watermark, so they are exact without
//     scanning the month.
//   - Report (task billing:report) sends each final, billable hour to
//     Stripe as one meter event whose identifier is derived from tenant and
//     hour, then records it in billing_ledger in the transaction that marks
//     the hour sent: a crash in between re-sends the same identifier, which
//     Stripe de-duplicates.
//
// Service is the package's entry point; Store holds its tables. The package
// imports tenants, gorm and stripe-go, never api, worker or cmd: the asynq
// tasks are wrapped by main, the HTTP routes live in api.
package billing
