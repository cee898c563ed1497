package billing_test

import (
	"context"
	"testing"

	"github.com/hookline/hookline/billing"
)

// TestUsage_OperationalWebhooksNotBilled: deliveries of the tenant's
// system application (operational webhooks, which Hookline sends on its
// own account) are not billable, live or rolled up; the tenant's other
// deliveries are.
func TestUsage_OperationalWebhooksNotBilled(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	a := d.tenant("A")
	ctx := context.Background()
	sys, err := d.store.EnsureSystemApplication(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"} {
		d.delivery(a, 0, 0, at(s)) // app_x: an ordinary application
	}
	for i, s := range []string{"2024-05-01T10:30:00Z", "2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z"} {
		if _, err := d.raw.Exec(ctx, `INSERT INTO deliveries
			(tenant_id, app_id, msg_id, endpoint_id, trigger, status, attempts, created_at, updated_at, succeeded_at)
			VALUES ($1, $2, $3, 'ep_ops', 0, 0, 1, $4, $4, $4)`, a, sys.ID, "msg_ops_"+string(rune('a'+i)), at(s)); err != nil {
			t.Fatal(err)
		}
	}
	svc := d.service(newClock(at("2024-05-03T00:00:00Z")), billing.Options{})
	for _, when := range []string{"live", "after a rollup"} {
		u, err := svc.Usage(ctx, a, at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, day := range u.Days {
			n += day.Deliveries
		}
		if n != 2 || u.Period.Deliveries != 2 {
			t.Errorf("%s: %d billable deliveries in the days, %d in the period; want 2 (the 3 operational ones excluded)", when, n, u.Period.Deliveries)
		}
		if _, err := svc.Rollup(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
