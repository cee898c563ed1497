package billing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/billing/billingtest"
	"github.com/hookline/hookline/testenv"
)

const webhookSecret = "whsec_test_secret"

// stripeEvent is an event as Stripe posts it.
func stripeEvent(id, typ string, created time.Time, object string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","created":%d,"livemode":false,"pending_webhooks":1,`+
		`"request":{"id":null,"idempotency_key":null},"type":%q,"data":{"object":%s}}`, id, created.Unix(), typ, object))
}

func invoice(customer, sub string) string {
	return fmt.Sprintf(`{"id":"in_1","object":"invoice","customer":%q,"subscription":%q,"status":"open"}`, customer, sub)
}

func subscription(id, customer, status string) string {
	return fmt.Sprintf(`{"id":%q,"object":"subscription","customer":%q,"status":%q}`, id, customer, status)
}

// TestStripeWebhook_SignedEventsDriveBillingStatus posts events signed the
// way Stripe signs them (Stripe-Signature: t=…,v1=HMAC-SHA256, built with
// stripe-go's webhook.ComputeSignature) to POST /billing/stripe/webhook:
// bad signatures are refused and change nothing, a replayed event changes
// nothing, and a tenant past due beyond the grace period gets 402 on
// message creation (reads still work) until an invoice is paid.
func TestStripeWebhook_SignedEventsDriveBillingStatus(t *testing.T) {
	t.Parallel()
	c := newClock(at("2024-05-10T12:00:00Z"))
	env, svc := billingEnv(t, testenv.Options{}, c, billing.Options{WebhookSecret: webhookSecret, Grace: 7 * 24 * time.Hour})
	ctx := context.Background()
	const cus, sub = "cus_hooked", "sub_hooked"
	if _, err := svc.Store().LinkCustomer(ctx, env.TenantID, cus, true, c.now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Store().LinkSubscription(ctx, env.TenantID, cus, sub, "active", true, c.now()); err != nil {
		t.Fatal(err)
	}
	post := func(payload []byte, sig string) (int, string) {
		t.Helper()
		return do(t, env, "POST", "/billing/stripe/webhook", "", payload, "Stripe-Signature", sig)
	}
	signed := func(payload []byte) string { return billingtest.SignStripe(payload, webhookSecret, time.Now()) }
	account := func() billing.Account {
		t.Helper()
		a, err := svc.Account(ctx, env.TenantID)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	processed := func() int {
		t.Helper()
		var n int
		if err := env.SQL.QueryRow(ctx, `SELECT count(*) FROM stripe_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	app := createApp(t, env)
	send := func() (int, string) {
		t.Helper()
		return do(t, env, "POST", "/api/v1/app/"+app+"/msg", env.APIKey, []byte(`{"eventType":"a.b","payload":{"x":1}}`))
	}

	t.Run("BadSignatureRefusedNothingChanged", func(t *testing.T) {
		before := account()
		failed := stripeEvent("evt_bad", billing.EventInvoicePaymentFail, c.now(), invoice(cus, sub))
		for name, sig := range map[string]string{
			"wrong secret":   billingtest.SignStripe(failed, "whsec_other", time.Now()),
			"no header":      "",
			"garbage":        "t=1,v1=00",
			"stale":          billingtest.SignStripe(failed, webhookSecret, time.Now().Add(-10*time.Minute)),
			"tampered":       signed(stripeEvent("evt_bad", billing.EventInvoicePaid, c.now(), invoice(cus, sub))),
			"signature only": "v1=" + signed(failed)[len("t=1234567890,v1="):],
		} {
			code, body := post(failed, sig)
			if code != 400 || errorCode(t, body) != "invalid_signature" {
				t.Errorf("%s: %d %s, want 400 invalid_signature", name, code, body)
			}
		}
		if d := diff(before, account()); d != "" {
			t.Errorf("account changed by refused events:\n%s", d)
		}
		if n := processed(); n != 0 {
			t.Errorf("%d refused events recorded as processed", n)
		}
	})

	t.Run("PaymentFailedThenGraceThen402", func(t *testing.T) {
		t0 := c.now()
		ev := stripeEvent("evt_fail_1", billing.EventInvoicePaymentFail, t0, invoice(cus, sub))
		if code, body := post(ev, signed(ev)); code != 200 {
			t.Fatalf("payment_failed: %d %s", code, body)
		}
		if a := account(); a.PastDueSince == nil || !a.PastDueSince.Equal(t0) {
			t.Fatalf("past due since %v, want %v", a.PastDueSince, t0)
		}
		c.set(t0.Add(6 * 24 * time.Hour))
		if code, body := send(); code != 202 {
			t.Fatalf("message within the grace period: %d %s", code, body)
		}
		c.set(t0.Add(7*24*time.Hour + time.Minute))
		code, body := send()
		if code != 402 || errorCode(t, body) != "payment_required" {
			t.Fatalf("message beyond the grace period: %d %s, want 402 payment_required", code, body)
		}
		// Reads still work, and say why.
		code, body = do(t, env, "GET", "/api/v1/usage", env.APIKey, nil)
		if code != 200 || !contains(body, `"paymentStatus":"payment_required"`) {
			t.Errorf("usage while payment is required: %d %s", code, body)
		}
		if code, _ := do(t, env, "GET", "/api/v1/app/"+app+"/msg", env.APIKey, nil); code != 200 {
			t.Errorf("listing messages while payment is required: %d", code)
		}
		paid := stripeEvent("evt_paid_1", billing.EventInvoicePaid, c.now(), invoice(cus, sub))
		if code, body := post(paid, signed(paid)); code != 200 {
			t.Fatalf("invoice.paid: %d %s", code, body)
		}
		if code, body := send(); code != 202 {
			t.Fatalf("message after the invoice was paid: %d %s", code, body)
		}
	})

	t.Run("ReplayedEventChangesNothing", func(t *testing.T) {
		t1 := c.now().Add(time.Hour)
		c.set(t1)
		failed := stripeEvent("evt_fail_2", billing.EventInvoicePaymentFail, t1, invoice(cus, sub))
		if code, body := post(failed, signed(failed)); code != 200 {
			t.Fatalf("payment_failed: %d %s", code, body)
		}
		// The subscription recovers in the same second: Stripe's order.
		active := stripeEvent("evt_active_2", billing.EventSubscriptionUpdated, t1, subscription(sub, cus, "active"))
		if code, body := post(active, signed(active)); code != 200 {
			t.Fatalf("subscription.updated: %d %s", code, body)
		}
		before, n := account(), processed()
		if before.PastDueSince != nil {
			t.Fatalf("past due after the subscription became active: %v", before.PastDueSince)
		}
		// Replaying the failure (Stripe retrying, or someone re-posting a
		// captured request with a fresh signature) would start the clock
		// again if it were applied twice.
		c.add(time.Minute)
		code, body := post(failed, signed(failed))
		if code != 200 || !contains(body, `"duplicate":true`) {
			t.Fatalf("replay: %d %s, want 200 duplicate", code, body)
		}
		if d := diff(before, account()); d != "" {
			t.Errorf("a replayed event changed the account:\n%s", d)
		}
		if processed() != n {
			t.Errorf("a replayed event was recorded again")
		}
	})

	t.Run("SubscriptionDeletedStartsTheClock", func(t *testing.T) {
		del := stripeEvent("evt_del", billing.EventSubscriptionDeleted, c.now(), subscription(sub, cus, "canceled"))
		if code, body := post(del, signed(del)); code != 200 {
			t.Fatalf("subscription.deleted: %d %s", code, body)
		}
		a := account()
		if a.SubscriptionStatus != "canceled" || a.PastDueSince == nil {
			t.Errorf("after subscription.deleted: %+v", a)
		}
		c.add(8 * 24 * time.Hour)
		if code, body := send(); code != 402 {
			t.Errorf("message a week after the subscription ended: %d %s, want 402", code, body)
		}
		// Moving the tenant to the free plan lets it send again: unpaid
		// plans never require payment.
		if code, body := do(t, env, "PUT", "/admin/v1/tenants/"+env.TenantID+"/plan", testenv.AdminToken, []byte(`{"plan":"free"}`)); code != 200 {
			t.Fatalf("set plan: %d %s", code, body)
		}
		if code, body := send(); code != 202 {
			t.Errorf("message on the free plan: %d %s", code, body)
		}
	})

	t.Run("UnknownCustomerIsAcknowledged", func(t *testing.T) {
		before := account()
		ev := stripeEvent("evt_stranger", billing.EventInvoicePaymentFail, c.now(), invoice("cus_nobody", "sub_x"))
		if code, body := post(ev, signed(ev)); code != 200 {
			t.Fatalf("event of an unknown customer: %d %s", code, body)
		}
		if d := diff(before, account()); d != "" {
			t.Errorf("an unknown customer's event changed the tenant:\n%s", d)
		}
	})
}

// TestStripeWebhook_NotConfigured: without a signing secret every event is
// refused.
func TestStripeWebhook_NotConfigured(t *testing.T) {
	t.Parallel()
	c := newClock(at("2024-05-10T12:00:00Z"))
	env, _ := billingEnv(t, testenv.Options{}, c, billing.Options{})
	ev := stripeEvent("evt_1", billing.EventInvoicePaid, c.now(), invoice("cus_1", "sub_1"))
	code, body := do(t, env, "POST", "/billing/stripe/webhook", "", ev, "Stripe-Signature", billingtest.SignStripe(ev, "", time.Now()))
	if code != 400 {
		t.Errorf("unconfigured webhook: %d %s, want 400", code, body)
	}
}
