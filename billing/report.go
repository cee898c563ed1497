package billing

import (
	"context"
	"errors"
	"time"
)

// Bucket is one tenant's final usage of one hour, waiting to be reported.
type Bucket struct {
	TenantID   string
	Hour       time.Time
	Deliveries int64
}

// LedgerEntry is a bucket sent to Stripe as a meter event.
type LedgerEntry struct {
	TenantID         string
	Hour             time.Time
	Identifier       string
	EventName        string
	StripeCustomerID string
	Value            int64
	ReportedAt       time.Time
}

// Rollup recomputes hourly usage up to the service clock minus the safety
// margin (the billing:rollup task).
func (s *Service) Rollup(ctx context.Context) (RollupResult, error) {
	return s.store.Rollup(ctx, s.now(), s.opts.SafetyMargin)
}

// reportBatch bounds one query of the reporter's queue.
const reportBatch = 500

// Report is the billing:report task: it links tenants that have no Stripe
// customer or subscription yet, then sends every final, billable hour of
// usage to Stripe as one meter event and records it. A bucket that is not
// billable (no customer, unpaid plan, hour before the link) is marked
// skipped. Without Stripe it does nothing: buckets wait, and are skipped
// once Stripe is configured, because a tenant's reporting starts when it
// is linked.
//
// Exactly once: the event's identifier depends only on tenant and hour,
// and the ledger row is written in the transaction that marks the bucket
// sent, after Stripe accepted the event. A crash before that commit
// leaves the bucket unreported; the next run sends the same identifier
// with the same value (final hours never change), which Stripe
// de-duplicates; the ledger's primary key keeps one row per bucket. The
// one gap is Stripe's de-duplication window (24 hours): the reporter must
// run again within a day of a crash, which the periodic task does.
//
// Errors of single buckets do not stop the others; Report returns them
// joined, after trying everything, so asynq logs and retries.
func (s *Service) Report(ctx context.Context) error {
	if s.stripe == nil {
		return nil
	}
	var errs []error
	if err := s.provisionMissing(ctx); err != nil {
		errs = append(errs, err)
	}
	accounts := map[string]Account{}
	failed := map[string]bool{} // tenants with a failure this run: their later hours wait for the next
	var afterHour time.Time
	var afterTenant string
	for {
		buckets, err := s.store.UnreportedBuckets(ctx, afterHour, afterTenant, reportBatch)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, b := range buckets {
			afterHour, afterTenant = b.Hour, b.TenantID
			if failed[b.TenantID] {
				continue
			}
			a, ok := accounts[b.TenantID]
			if !ok {
				if a, err = s.Account(ctx, b.TenantID); err != nil {
					errs = append(errs, err)
					failed[b.TenantID] = true
					continue
				}
				accounts[b.TenantID] = a
			}
			if err := s.reportBucket(ctx, a, b); err != nil {
				errs = append(errs, err)
				failed[b.TenantID] = true
			}
		}
		if len(buckets) < reportBatch {
			break
		}
	}
	return errors.Join(errs...)
}

func (s *Service) reportBucket(ctx context.Context, a Account, b Bucket) error {
	if !a.Billable(b.Hour) {
		return s.store.MarkSkipped(ctx, b, s.now())
	}
	id := Identifier(b.TenantID, b.Hour)
	err := s.stripe.sendMeterEvent(ctx, meterEvent{Identifier: id, CustomerID: a.StripeCustomerID, Value: b.Deliveries, Timestamp: b.Hour})
	if err != nil {
		return err
	}
	if s.beforeMark != nil {
		if err := s.beforeMark(b); err != nil {
			return err
		}
	}
	return s.store.MarkSent(ctx, LedgerEntry{
		TenantID: b.TenantID, Hour: b.Hour, Identifier: id, EventName: s.stripe.eventName,
		StripeCustomerID: a.StripeCustomerID, Value: b.Deliveries, ReportedAt: s.now(),
	})
}

// provisionBatch bounds how many tenants one report run links to Stripe.
const provisionBatch = 100

// provisionMissing links tenants created without Stripe (by `hookline
// tenant create`, before Stripe was configured, or while Stripe was down)
// to a customer, and paid-plan tenants to a subscription.
func (s *Service) provisionMissing(ctx context.Context) error {
	var errs []error
	ts, err := s.store.TenantsWithoutCustomer(ctx, provisionBatch)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := s.ProvisionTenant(ctx, t); err != nil {
			errs = append(errs, err)
		}
	}
	accts, err := s.store.TenantsWithoutSubscription(ctx, s.opts.DefaultPlan, provisionBatch)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, a := range accts {
		if err := s.ensureSubscription(ctx, a.TenantID, a.StripeCustomerID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
