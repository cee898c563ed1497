package billing_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/billing/billingtest"
	"github.com/hookline/hookline/testenv"
)

const (
	testPriceID   = "price_hookline_test"
	testEventName = "hookline_test_deliveries"
)

// stripeService is a service talking to stripe-mock, recording what
// stripe-go sends.
func stripeService(t *testing.T, d *db, c *clock) (*billing.Service, *billingtest.Recorder) {
	t.Helper()
	rec := &billingtest.Recorder{}
	svc := d.service(c, billing.Options{
		Stripe: &billing.StripeConfig{SecretKey: "sk_test_123", APIURL: stripeMock(t), PriceID: testPriceID,
			MeterEventName: testEventName, HTTPClient: rec.Client()},
		WebhookSecret: webhookSecret,
	})
	return svc, rec
}

// TestStripe_ProvisionLinksCustomerAndSubscription: a tenant gets one
// customer (named after it, tagged with its id, created under an
// idempotency key of its own) and a subscription to the metered price.
func TestStripe_ProvisionLinksCustomerAndSubscription(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	a := d.tenant("Acme")
	c := newClock(at("2024-05-10T09:30:00Z"))
	svc, rec := stripeService(t, d, c)
	ctx := context.Background()
	if err := svc.ProvisionTenant(ctx, billing.TenantRef{ID: a, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	cust := rec.Requests("POST", "/v1/customers")
	if len(cust) != 1 || cust[0].Status != 200 {
		t.Fatalf("customer creations = %+v, want one accepted", cust)
	}
	if f := cust[0].Form; f.Get("name") != "Acme" || f.Get("metadata[hookline_tenant_id]") != a {
		t.Errorf("customer sent with %v, want name and metadata[hookline_tenant_id]", f)
	}
	if cust[0].IdempotencyKey != "hookline-customer-"+a {
		t.Errorf("customer idempotency key = %q", cust[0].IdempotencyKey)
	}
	acct, err := svc.Account(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if acct.StripeCustomerID == "" || acct.StripeSubscriptionID == "" || acct.Plan.ID != billing.PlanPro {
		t.Fatalf("account after provisioning = %+v, want linked, on the default pro plan", acct)
	}
	subs := rec.Requests("POST", "/v1/subscriptions")
	if len(subs) != 1 || subs[0].Status != 200 {
		t.Fatalf("subscription creations = %+v, want one accepted", subs)
	}
	if f := subs[0].Form; f.Get("customer") != acct.StripeCustomerID || f.Get("items[0][price]") != testPriceID {
		t.Errorf("subscription sent with %v, want customer %s and items[0][price] %s", f, acct.StripeCustomerID, testPriceID)
	}
	if acct.ReportFrom == nil || !acct.ReportFrom.Equal(hour("2024-05-10T09:00:00Z")) {
		t.Errorf("reporting starts at %v, want the hour of the link", acct.ReportFrom)
	}
	// Provisioning again creates nothing.
	if err := svc.ProvisionTenant(ctx, billing.TenantRef{ID: a, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Requests("POST", "")); n != 2 {
		t.Errorf("a second provisioning sent %d more requests", n-2)
	}
	// The creation hook (operator API, `hookline tenant create`) links at once.
	n := d.tenant("Newco")
	svc.TenantCreated(ctx, n)
	if na, err := svc.Account(ctx, n); err != nil || na.StripeCustomerID == "" || na.StripeSubscriptionID == "" {
		t.Errorf("tenant after TenantCreated: %+v, %v; want linked and subscribed", na, err)
	}
	// A free tenant gets a customer but no subscription: it pays nothing.
	f := d.tenant("Freebie")
	if _, err := svc.SetPlan(ctx, f, billing.PlanChange{Plan: billing.PlanFree}); err != nil {
		t.Fatal(err)
	}
	// Report links every tenant still missing (as after `hookline tenant create`).
	if err := svc.Report(ctx); err != nil {
		t.Fatal(err)
	}
	fa, err := svc.Account(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if fa.StripeCustomerID == "" || fa.StripeSubscriptionID != "" {
		t.Errorf("free tenant after the report task: %+v, want a customer and no subscription", fa)
	}
	if n := len(rec.Requests("POST", "/v1/subscriptions")); n != 2 {
		t.Errorf("subscriptions created = %d, want only the two pro tenants'", n)
	}
}

// TestReport_CrashBetweenSendAndMark: the reporter dies after Stripe
// accepted a meter event and before the ledger commit. The next run sends
// the same identifier and value again (Stripe de-duplicates it), the
// ledger ends with every bucket exactly once, and a third run sends
// nothing.
func TestReport_CrashBetweenSendAndMark(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	a := d.tenant("Acme")
	c := newClock(at("2024-05-10T09:30:00Z"))
	svc, rec := stripeService(t, d, c)
	ctx := context.Background()
	if err := svc.ProvisionTenant(ctx, billing.TenantRef{ID: a, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	acct, _ := svc.Account(ctx, a)
	for _, s := range []string{"2024-05-10T08:10:00Z", "2024-05-10T08:20:00Z"} { // before the link: not billed
		d.delivery(a, 0, 0, at(s))
	}
	for _, s := range []string{"2024-05-10T10:01:00Z", "2024-05-10T10:02:00Z", "2024-05-10T10:03:00Z", "2024-05-10T11:30:00Z", "2024-05-10T11:31:00Z"} {
		d.delivery(a, 0, 0, at(s))
	}
	d.delivery(a, 1, 0, at("2024-05-10T10:30:00Z")) // manual resend: not billed
	c.set(at("2024-05-10T12:10:00Z"))
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}

	crash := errors.New("killed between send and mark")
	var crashes int
	billing.SetBeforeMark(svc, func(b billing.Bucket) error {
		crashes++
		return crash
	})
	if err := svc.Report(ctx); !errors.Is(err, crash) {
		t.Fatalf("first run: err = %v, want the crash", err)
	}
	if crashes != 1 {
		t.Fatalf("crash hook ran %d times, want once (the tenant's later hours wait for the next run)", crashes)
	}
	ledger := func() []billing.LedgerEntry {
		t.Helper()
		l, err := svc.Store().Ledger(ctx, a, at("2024-05-01T00:00:00Z"), at("2024-06-01T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := ledger(); len(l) != 0 {
		t.Fatalf("ledger after the crash = %+v, want empty", l)
	}

	billing.SetBeforeMark(svc, nil)
	c.add(5 * time.Minute)
	if err := svc.Report(ctx); err != nil {
		t.Fatal(err)
	}
	c.add(5 * time.Minute)
	if err := svc.Report(ctx); err != nil { // nothing left: sends nothing
		t.Fatal(err)
	}

	id10, id11 := billing.Identifier(a, hour("2024-05-10T10:00:00Z")), billing.Identifier(a, hour("2024-05-10T11:00:00Z"))
	type sent struct{ event, identifier, customer, value, timestamp string }
	var got []sent
	for _, r := range rec.Requests("POST", "/v1/billing/meter_events") {
		if r.Status != 200 {
			t.Errorf("stripe-mock refused a meter event: %d %v", r.Status, r.Form)
		}
		got = append(got, sent{r.Form.Get("event_name"), r.Form.Get("identifier"), r.Form.Get("payload[stripe_customer_id]"),
			r.Form.Get("payload[value]"), r.Form.Get("timestamp")})
	}
	ts := func(s string) string { return strconv.FormatInt(hour(s).Unix(), 10) }
	want := []sent{
		{testEventName, id10, acct.StripeCustomerID, "3", ts("2024-05-10T10:00:00Z")}, // accepted, then the crash
		{testEventName, id10, acct.StripeCustomerID, "3", ts("2024-05-10T10:00:00Z")}, // re-sent, same identifier
		{testEventName, id11, acct.StripeCustomerID, "2", ts("2024-05-10T11:00:00Z")},
	}
	if d := diff(want, got); d != "" {
		t.Errorf("meter events sent (-want +got):\n%s", d)
	}
	l := ledger()
	var buckets []string
	for _, e := range l {
		buckets = append(buckets, e.Identifier+"="+strconv.FormatInt(e.Value, 10))
		if e.EventName != testEventName || e.StripeCustomerID != acct.StripeCustomerID {
			t.Errorf("ledger entry %+v", e)
		}
	}
	if d := diff([]string{id10 + "=3", id11 + "=2"}, buckets); d != "" {
		t.Errorf("ledger (-want +got):\n%s", d)
	}
	rows, err := svc.Store().HourlyUsage(ctx, a, at("2024-05-10T00:00:00Z"), at("2024-05-11T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, r := range rows {
		if r.ReportStatus != nil {
			status[r.Hour.Format("15")] = *r.ReportStatus
		}
	}
	if d := diff(map[string]string{"08": "skipped", "10": "sent", "11": "sent"}, status); d != "" {
		t.Errorf("report status by hour (-want +got):\n%s", d)
	}
}

// TestReport_ConcurrentReportersRecordEachBucketOnce: two reporters racing
// over the same buckets may both send (with the same identifiers); the
// ledger still holds each bucket once.
func TestReport_ConcurrentReportersRecordEachBucketOnce(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	c := newClock(at("2024-05-10T00:30:00Z"))
	svc, rec := stripeService(t, d, c)
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		id := d.tenant("T" + strconv.Itoa(i))
		ids = append(ids, id)
		if err := svc.ProvisionTenant(ctx, billing.TenantRef{ID: id, Name: "T"}); err != nil {
			t.Fatal(err)
		}
		for h := 1; h <= 4; h++ {
			for k := 0; k <= i; k++ {
				d.delivery(id, 0, 0, at("2024-05-10T00:00:00Z").Add(time.Duration(h)*time.Hour+time.Duration(k)*time.Minute))
			}
		}
	}
	c.set(at("2024-05-10T06:00:00Z"))
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- svc.Report(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sentIDs := map[string]bool{}
	for _, r := range rec.Requests("POST", "/v1/billing/meter_events") {
		sentIDs[r.Form.Get("identifier")] = true
	}
	for i, id := range ids {
		l, err := svc.Store().Ledger(ctx, id, at("2024-05-10T00:00:00Z"), at("2024-05-11T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		if len(l) != 4 {
			t.Errorf("tenant %d: %d ledger entries, want one per hour (4)", i, len(l))
		}
		for _, e := range l {
			if e.Value != int64(i+1) || !sentIDs[e.Identifier] {
				t.Errorf("tenant %d: ledger entry %+v, want value %d and sent", i, e, i+1)
			}
		}
	}
	if len(sentIDs) != 12 {
		t.Errorf("%d distinct identifiers sent, want 12", len(sentIDs))
	}
}

// TestStripe_OperatorAttachesExistingCustomer: PUT
// /admin/v1/tenants/:id/stripe links a tenant to a customer that already
// exists in Stripe (checked there), subscribes it to the metered price,
// refuses a customer already linked to another tenant, and with {} creates
// what is missing.
func TestStripe_OperatorAttachesExistingCustomer(t *testing.T) {
	t.Parallel()
	c := newClock(at("2024-05-10T09:30:00Z"))
	rec := &billingtest.Recorder{}
	env, svc := billingEnv(t, testenv.Options{}, c, billing.Options{
		Stripe: &billing.StripeConfig{SecretKey: "sk_test_123", APIURL: stripeMock(t), PriceID: testPriceID, HTTPClient: rec.Client()},
	})
	ctx := context.Background()
	admin := func(tenantID, body string) (int, string) {
		return do(t, env, "PUT", "/admin/v1/tenants/"+tenantID+"/stripe", testenv.AdminToken, []byte(body))
	}
	code, body := admin(env.TenantID, `{"customerId":"cus_existing_a"}`)
	if code != 200 || !contains(body, `"customerId":"cus_existing_a"`) {
		t.Fatalf("attach: %d %s", code, body)
	}
	if r := rec.Requests("GET", "/v1/customers/cus_existing_a"); len(r) != 1 {
		t.Errorf("the customer was not checked with Stripe: %+v", rec.Requests("", ""))
	}
	subs := rec.Requests("POST", "/v1/subscriptions")
	if len(subs) != 1 || subs[0].Form.Get("customer") != "cus_existing_a" || subs[0].Form.Get("items[0][price]") != testPriceID {
		t.Errorf("subscriptions created: %+v", subs)
	}
	a, err := svc.Account(ctx, env.TenantID)
	if err != nil || a.StripeSubscriptionID == "" || a.StripeCustomerID != "cus_existing_a" {
		t.Errorf("account = %+v, %v", a, err)
	}
	// Attaching the same customer again keeps the subscription.
	if code, body := admin(env.TenantID, `{"customerId":"cus_existing_a"}`); code != 200 {
		t.Fatalf("re-attach: %d %s", code, body)
	}
	if n := len(rec.Requests("POST", "/v1/subscriptions")); n != 1 {
		t.Errorf("re-attaching the same customer created %d more subscriptions", n-1)
	}
	b, _, _ := env.NewTenant("B")
	if code, body := admin(b, `{"customerId":"cus_existing_a"}`); code != 409 {
		t.Errorf("attach another tenant's customer: %d %s, want 409", code, body)
	}
	// A subscription alone brings its customer.
	code, body = admin(b, `{"subscriptionId":"sub_existing_b"}`)
	if code != 200 || !contains(body, `"subscriptionId":"sub_existing_b"`) || !contains(body, `"customerId":"cus_`) {
		t.Errorf("attach by subscription: %d %s", code, body)
	}
	if n := len(rec.Requests("POST", "/v1/subscriptions")); n != 1 {
		t.Errorf("attaching an existing subscription created %d more", n-1)
	}
	cID, _, _ := env.NewTenant("C")
	code, body = admin(cID, `{}`)
	if code != 200 || !contains(body, `"customerId":"cus_`) {
		t.Errorf("provision through the operator API: %d %s", code, body)
	}
	if r := rec.Requests("POST", "/v1/customers"); len(r) != 1 || r[0].Form.Get("metadata[hookline_tenant_id]") != cID {
		t.Errorf("customers created: %+v", r)
	}
}

// TestStripe_RefusalIsABadGateway: when Stripe refuses a call made for the
// operator, the operator gets a 502 naming Stripe's reason, not a 500, and
// nothing is linked.
func TestStripe_RefusalIsABadGateway(t *testing.T) {
	t.Parallel()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":"No such price: 'price_gone'"}}`))
	}))
	t.Cleanup(refusing.Close)
	c := newClock(at("2024-05-10T09:30:00Z"))
	env, svc := billingEnv(t, testenv.Options{}, c, billing.Options{
		Stripe: &billing.StripeConfig{SecretKey: "sk_test_123", APIURL: refusing.URL, PriceID: "price_gone"},
	})
	code, body := do(t, env, "PUT", "/admin/v1/tenants/"+env.TenantID+"/stripe", testenv.AdminToken, []byte(`{}`))
	if code != 502 || errorCode(t, body) != "stripe_error" || !contains(body, "No such price") {
		t.Errorf("attach with Stripe refusing: %d %s, want 502 stripe_error with Stripe's reason", code, body)
	}
	if a, err := svc.Account(context.Background(), env.TenantID); err != nil || a.StripeCustomerID != "" {
		t.Errorf("account after a refused attach: %+v, %v", a, err)
	}
	if err := svc.Report(context.Background()); !errors.Is(err, billing.ErrStripe) {
		t.Errorf("report with Stripe refusing: %v, want ErrStripe", err)
	}
}
