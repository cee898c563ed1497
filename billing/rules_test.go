package billing

import (
	"encoding/json"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestMonthBounds(t *testing.T) {
	for _, tc := range []struct {
		in, start, end string
	}{
		{"2024-02-29T23:59:59Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{"2024-12-31T23:59:59.999Z", "2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"},
		// 00:30 on the 1st in UTC+2 is still the previous month in UTC.
		{"2025-03-01T00:30:00+02:00", "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"},
	} {
		in, _ := time.Parse(time.RFC3339Nano, tc.in)
		s, e := MonthBounds(in)
		if s.Format(time.RFC3339) != tc.start || e.Format(time.RFC3339) != tc.end {
			t.Errorf("MonthBounds(%s) = %s, %s; want %s, %s", tc.in, s.Format(time.RFC3339), e.Format(time.RFC3339), tc.start, tc.end)
		}
	}
}

func TestIdentifier_DependsOnTenantAndHourOnly(t *testing.T) {
	h := time.Date(2024, 5, 6, 7, 0, 0, 0, time.UTC)
	a := Identifier("org_a", h)
	if a != "hookline-org_a-2024050607" {
		t.Errorf("Identifier = %q", a)
	}
	if Identifier("org_a", h.In(time.FixedZone("x", 3600))) != a {
		t.Error("the identifier depends on the time zone of the hour")
	}
	if Identifier("org_b", h) == a || Identifier("org_a", h.Add(time.Hour)) == a {
		t.Error("identifiers of different buckets collide")
	}
	if len(Identifier("org_"+string(make([]byte, 27)), h)) > 100 {
		t.Error("identifier longer than Stripe's 100 characters")
	}
}

func TestAccount_CapPaymentBillable(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	free := Plan{ID: "free", MonthlyCap: ptr[int64](100)}
	pro := Plan{ID: "pro", Paid: true}
	ent := Plan{ID: "enterprise", CustomCap: true, Paid: true}
	grace := 7 * 24 * time.Hour
	if c := (Account{Plan: free}).Cap(); c == nil || *c != 100 {
		t.Errorf("free cap = %v", c)
	}
	if c := (Account{Plan: pro}).Cap(); c != nil {
		t.Errorf("pro cap = %v, want none", *c)
	}
	if c := (Account{Plan: ent, CustomCap: ptr[int64](5)}).Cap(); c == nil || *c != 5 {
		t.Errorf("enterprise cap = %v, want the tenant's 5", c)
	}
	for _, tc := range []struct {
		name    string
		a       Account
		require bool
	}{
		{"in good standing", Account{Plan: pro}, false},
		{"past due within grace", Account{Plan: pro, PastDueSince: ptr(now.Add(-grace + time.Second))}, false},
		{"past due exactly the grace", Account{Plan: pro, PastDueSince: ptr(now.Add(-grace))}, true},
		{"past due beyond grace", Account{Plan: pro, PastDueSince: ptr(now.Add(-30 * 24 * time.Hour))}, true},
		{"unpaid plan never requires payment", Account{Plan: free, PastDueSince: ptr(now.Add(-30 * 24 * time.Hour))}, false},
	} {
		if got := tc.a.PaymentRequired(now, grace); got != tc.require {
			t.Errorf("%s: PaymentRequired = %v, want %v", tc.name, got, tc.require)
		}
	}
	linked := Account{Plan: pro, StripeCustomerID: "cus_1", ReportFrom: ptr(HourStart(now))}
	for _, tc := range []struct {
		name string
		a    Account
		hour time.Time
		want bool
	}{
		{"linked paid hour after link", linked, HourStart(now), true},
		{"hour before the link", linked, HourStart(now).Add(-time.Hour), false},
		{"no customer", Account{Plan: pro, ReportFrom: linked.ReportFrom}, HourStart(now), false},
		{"unpaid plan", Account{Plan: free, StripeCustomerID: "cus_1", ReportFrom: linked.ReportFrom}, HourStart(now), false},
	} {
		if got := tc.a.Billable(tc.hour); got != tc.want {
			t.Errorf("%s: Billable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUsageWindow(t *testing.T) {
	now := time.Date(2024, 5, 10, 12, 30, 0, 0, time.UTC)
	day := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	for _, tc := range []struct {
		name         string
		since, until time.Time
		wantS, wantU string
		wantErr      bool
	}{
		{"defaults: this month to the end of today", time.Time{}, time.Time{}, "2024-05-01", "2024-05-11", false},
		{"rounded out to whole days", now.Add(-50 * time.Hour), now.Add(-time.Hour), "2024-05-08", "2024-05-11", false},
		{"midnight until stays", day("2024-04-01"), day("2024-04-03"), "2024-04-01", "2024-04-03", false},
		{"inverted", day("2024-04-03"), day("2024-04-01"), "", "", true},
		{"empty", day("2024-04-03"), day("2024-04-03"), "", "", true},
		{"too long", day("2022-01-01"), day("2024-01-01"), "", "", true},
	} {
		s, u, err := UsageWindow(now, tc.since, tc.until)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err == nil && (s.Format("2006-01-02") != tc.wantS || u.Format("2006-01-02") != tc.wantU) {
			t.Errorf("%s: window = %s..%s, want %s..%s", tc.name, s, u, tc.wantS, tc.wantU)
		}
	}
}

func TestNearMargin(t *testing.T) {
	for _, tc := range []struct{ limit, growth, floor, want int64 }{
		{10, 0, 1000, 1000},          // small caps: always counted live
		{100000, 0, 1000, 10000},     // a tenth of the cap
		{100000, 30000, 1000, 60000}, // a fast tenant: twice its recent growth
	} {
		if got := nearMargin(tc.limit, tc.growth, tc.floor); got != tc.want {
			t.Errorf("nearMargin(%d, %d, %d) = %d, want %d", tc.limit, tc.growth, tc.floor, got, tc.want)
		}
	}
}

func TestApplyChange(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	active := SubscriptionState{SubscriptionID: "sub_1", SubscriptionStatus: "active", StatusChangedAt: ptr(at(0))}
	pastDue := SubscriptionState{SubscriptionID: "sub_1", SubscriptionStatus: "past_due", PastDueSince: ptr(at(1)), StatusChangedAt: ptr(at(1))}
	canceled := SubscriptionState{SubscriptionID: "sub_1", SubscriptionStatus: "canceled", PastDueSince: ptr(at(1)), StatusChangedAt: ptr(at(1))}
	for _, tc := range []struct {
		name        string
		cur         SubscriptionState
		ch          stripeChange
		changed     bool
		wantPastDue *time.Time
		wantStatus  string
		wantSub     string
	}{
		{"payment failed starts the clock", active,
			stripeChange{Kind: changeInvoiceFailed, SubscriptionID: "sub_1", At: at(2)}, true, ptr(at(2)), "active", "sub_1"},
		{"a second failure keeps the first start", pastDue,
			stripeChange{Kind: changeInvoiceFailed, SubscriptionID: "sub_1", At: at(5)}, true, ptr(at(1)), "past_due", "sub_1"},
		{"invoice paid stops the clock", pastDue,
			stripeChange{Kind: changeInvoicePaid, SubscriptionID: "sub_1", At: at(3)}, true, nil, "past_due", "sub_1"},
		{"subscription past_due starts it", active,
			stripeChange{Kind: changeSubscription, SubscriptionID: "sub_1", Status: "past_due", At: at(2)}, true, ptr(at(2)), "past_due", "sub_1"},
		{"subscription active again stops it", pastDue,
			stripeChange{Kind: changeSubscription, SubscriptionID: "sub_1", Status: "active", At: at(2)}, true, nil, "active", "sub_1"},
		{"deleted subscription starts it", active,
			stripeChange{Kind: changeSubscription, SubscriptionID: "sub_1", Status: "canceled", At: at(2)}, true, ptr(at(2)), "canceled", "sub_1"},
		{"an older event is ignored", pastDue,
			stripeChange{Kind: changeInvoicePaid, SubscriptionID: "sub_1", At: at(0)}, false, ptr(at(1)), "past_due", "sub_1"},
		{"another subscription is ignored", active,
			stripeChange{Kind: changeSubscription, SubscriptionID: "sub_2", Status: "past_due", At: at(2)}, false, nil, "active", "sub_1"},
		{"a new subscription after cancellation is adopted", canceled,
			stripeChange{Kind: changeSubscription, SubscriptionID: "sub_2", Status: "active", At: at(2)}, true, nil, "active", "sub_2"},
		{"an invoice paid after cancellation does not clear it", canceled,
			stripeChange{Kind: changeInvoicePaid, SubscriptionID: "sub_1", At: at(2)}, true, ptr(at(1)), "canceled", "sub_1"},
		{"first subscription of a tenant", SubscriptionState{},
			stripeChange{Kind: changeSubscription, SubscriptionID: "sub_9", Status: "active", At: at(2)}, true, nil, "active", "sub_9"},
	} {
		got, changed := applyChange(tc.cur, tc.ch)
		if changed != tc.changed {
			t.Errorf("%s: changed = %v, want %v", tc.name, changed, tc.changed)
		}
		if (got.PastDueSince == nil) != (tc.wantPastDue == nil) || (got.PastDueSince != nil && !got.PastDueSince.Equal(*tc.wantPastDue)) {
			t.Errorf("%s: PastDueSince = %v, want %v", tc.name, got.PastDueSince, tc.wantPastDue)
		}
		if got.SubscriptionStatus != tc.wantStatus || got.SubscriptionID != tc.wantSub {
			t.Errorf("%s: subscription = %s %s, want %s %s", tc.name, got.SubscriptionID, got.SubscriptionStatus, tc.wantSub, tc.wantStatus)
		}
		if changed && !got.StatusChangedAt.Equal(tc.ch.At) {
			t.Errorf("%s: StatusChangedAt = %v, want the event's time", tc.name, got.StatusChangedAt)
		}
	}
}

func TestParseChange_ReadsIDsOrExpandedObjects(t *testing.T) {
	at := time.Unix(1700000000, 0).UTC()
	for _, tc := range []struct {
		typ, obj string
		ok       bool
		want     stripeChange
	}{
		{EventInvoicePaymentFail, `{"id":"in_1","customer":"cus_1","subscription":"sub_1"}`, true,
			stripeChange{Kind: changeInvoiceFailed, CustomerID: "cus_1", SubscriptionID: "sub_1", At: at}},
		{EventInvoicePaid, `{"id":"in_1","customer":{"id":"cus_1","object":"customer"},"subscription":null}`, true,
			stripeChange{Kind: changeInvoicePaid, CustomerID: "cus_1", At: at}},
		{EventSubscriptionUpdated, `{"id":"sub_1","customer":"cus_1","status":"past_due"}`, true,
			stripeChange{Kind: changeSubscription, CustomerID: "cus_1", SubscriptionID: "sub_1", Status: "past_due", At: at}},
		{EventSubscriptionDeleted, `{"id":"sub_1","customer":"cus_1","status":"canceled"}`, true,
			stripeChange{Kind: changeSubscription, CustomerID: "cus_1", SubscriptionID: "sub_1", Status: "canceled", At: at}},
		{"charge.succeeded", `{"id":"ch_1","customer":"cus_1"}`, false, stripeChange{}},
		{EventInvoicePaid, `{"id":"in_1"}`, false, stripeChange{}},
	} {
		got, ok, err := parseChange(tc.typ, json.RawMessage(tc.obj), at)
		if err != nil || ok != tc.ok || got != tc.want {
			t.Errorf("parseChange(%s, %s) = %+v, %v, %v; want %+v, %v", tc.typ, tc.obj, got, ok, err, tc.want, tc.ok)
		}
	}
	if _, _, err := parseChange(EventInvoicePaid, json.RawMessage(`[1,2]`), at); err == nil {
		t.Error("an unreadable object was accepted")
	}
}
