package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// Stripe event types that change a tenant's billing status.
const (
	EventSubscriptionCreated = "customer.subscription.created"
	EventSubscriptionUpdated = "customer.subscription.updated"
	EventSubscriptionDeleted = "customer.subscription.deleted"
	EventInvoicePaid         = "invoice.paid"
	EventInvoicePaymentFail  = "invoice.payment_failed"
)

// WebhookResult says what a verified Stripe event did.
type WebhookResult struct {
	EventID string
	Type    string
	// TenantID is the tenant the event's customer is linked to; empty when
	// none (or the event type is one billing ignores).
	TenantID string
	// Duplicate: the event was processed before and changed nothing now.
	Duplicate bool
	// Applied: the tenant's billing status changed.
	Applied bool
}

// HandleStripeWebhook verifies a Stripe webhook (payload as received, and
// its Stripe-Signature header) with the configured signing secret and
// applies it. A bad or stale signature, or no configured secret, is an
// error wrapping ErrBadSignature (400), and nothing changes. Each event id
// is applied once: the processed id is inserted in the transaction that
// applies the event, so a replay — Stripe retrying, or an attacker
// re-posting a captured request within the signature's tolerance —
// changes nothing.
//
// The event's API version is not required to match stripe-go's: billing
// reads only fields that every version carries (the object's id,
// customer, status, and an invoice's subscription when present), and an
// operator's Stripe account may pin another version; the signature is
// what proves the payload is Stripe's.
func (s *Service) HandleStripeWebhook(ctx context.Context, payload []byte, signature string) (WebhookResult, error) {
	if s.opts.WebhookSecret == "" {
		return WebhookResult{}, badSignature("Stripe webhooks are not configured on this server (HOOKLINE_STRIPE_WEBHOOK_SECRET)")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signature, s.opts.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return WebhookResult{}, badSignature("the Stripe-Signature header does not verify: " + err.Error())
	}
	res := WebhookResult{EventID: ev.ID, Type: string(ev.Type)}
	if ev.ID == "" || ev.Data == nil {
		return res, badEvent("the event has no id or data")
	}
	ch, ok, err := parseChange(string(ev.Type), ev.Data.Raw, time.Unix(ev.Created, 0).UTC())
	if err != nil {
		return res, err
	}
	customer := ""
	if ok {
		customer = ch.CustomerID
	}
	apply := func(cur SubscriptionState) (SubscriptionState, bool) { return applyChange(cur, ch) }
	applied, dup, tenantID, err := s.store.ApplyStripeEvent(ctx, ev.ID, string(ev.Type), time.Unix(ev.Created, 0).UTC(), customer, apply, s.now())
	if err != nil {
		return res, err
	}
	res.Duplicate, res.Applied, res.TenantID = dup, applied, tenantID
	if applied {
		s.quota.forget(tenantID)
		s.log.InfoContext(ctx, "stripe event applied", "tenant_id", tenantID, "event", ev.ID, "type", ev.Type)
	}
	return res, nil
}

// changeKind is what a Stripe event says about a tenant.
type changeKind int

const (
	changeSubscription changeKind = iota + 1 // a subscription's new status
	changeInvoicePaid
	changeInvoiceFailed
)

// stripeChange is the part of a Stripe event billing acts on.
type stripeChange struct {
	Kind           changeKind
	CustomerID     string
	SubscriptionID string // for invoices: the invoice's subscription, if any
	Status         string // for subscriptions: Stripe's status
	At             time.Time
}

// stripeObject is the subset of a subscription or invoice billing reads.
type stripeObject struct {
	ID           string          `json:"id"`
	Customer     json.RawMessage `json:"customer"`
	Status       string          `json:"status"`
	Subscription json.RawMessage `json:"subscription"`
}

// expandableID reads a field Stripe sends as an id or, expanded, as an
// object with an id.
func expandableID(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.ID
}

// parseChange reads an event's object. ok is false for event types billing
// does not act on.
func parseChange(typ string, raw json.RawMessage, at time.Time) (stripeChange, bool, error) {
	var kind changeKind
	switch typ {
	case EventSubscriptionCreated, EventSubscriptionUpdated, EventSubscriptionDeleted:
		kind = changeSubscription
	case EventInvoicePaid:
		kind = changeInvoicePaid
	case EventInvoicePaymentFail:
		kind = changeInvoiceFailed
	default:
		return stripeChange{}, false, nil
	}
	var o stripeObject
	if err := json.Unmarshal(raw, &o); err != nil {
		return stripeChange{}, false, badEvent(fmt.Sprintf("the %s event's object is not readable: %v", typ, err))
	}
	ch := stripeChange{Kind: kind, CustomerID: expandableID(o.Customer), At: at}
	switch kind {
	case changeSubscription:
		ch.SubscriptionID, ch.Status = o.ID, o.Status
		if typ == EventSubscriptionDeleted && ch.Status == "" {
			ch.Status = "canceled"
		}
	default:
		ch.SubscriptionID = expandableID(o.Subscription)
	}
	if ch.CustomerID == "" {
		return stripeChange{}, false, nil
	}
	return ch, true, nil
}

// SubscriptionState is the part of tenant_billing that Stripe's events drive.
// SubscriptionState is a tenant's standing with Stripe, as billing's
// rule of subscription state (applyChange) reads and changes it.
type SubscriptionState struct {
	SubscriptionID     string
	SubscriptionStatus string
	PastDueSince       *time.Time
	StatusChangedAt    *time.Time
}

// terminalStatus: the subscription is over; only a new one changes that.
func terminalStatus(s string) bool { return s == "canceled" || s == "incomplete_expired" }

// applyChange is the rule of billing status. It returns the new status and
// whether anything changed:
//
//   - An event older than the one that last changed the status is
//     ignored: Stripe does not deliver in order.
//   - Events about another subscription than the tenant's are ignored,
//     unless the tenant's has ended (the customer subscribed anew).
//   - A subscription active or trialing is in good standing; past_due,
//     unpaid, canceled and incomplete_expired start the past-due clock
//     (kept at its first start); other statuses (incomplete, paused) leave
//     it as it is.
//   - A failed invoice starts the clock; a paid one stops it, unless the
//     subscription has ended.
func applyChange(cur SubscriptionState, ch stripeChange) (SubscriptionState, bool) {
	if cur.StatusChangedAt != nil && ch.At.Before(*cur.StatusChangedAt) {
		return cur, false
	}
	if ch.SubscriptionID != "" && cur.SubscriptionID != "" && ch.SubscriptionID != cur.SubscriptionID &&
		!(ch.Kind == changeSubscription && terminalStatus(cur.SubscriptionStatus)) {
		return cur, false
	}
	next := cur
	at := ch.At
	startClock := func() {
		if next.PastDueSince == nil {
			next.PastDueSince = &at
		}
	}
	switch ch.Kind {
	case changeSubscription:
		next.SubscriptionID, next.SubscriptionStatus = ch.SubscriptionID, ch.Status
		switch ch.Status {
		case "active", "trialing":
			next.PastDueSince = nil
		case "past_due", "unpaid", "canceled", "incomplete_expired":
			startClock()
		}
	case changeInvoiceFailed:
		startClock()
	case changeInvoicePaid:
		if !terminalStatus(cur.SubscriptionStatus) {
			next.PastDueSince = nil
		}
	}
	next.StatusChangedAt = &at
	return next, true
}
