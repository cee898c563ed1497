package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookline/hookline/storage"
	"github.com/hookline/hookline/tenants"
)

// usageRow records that a destination of the fixture's application
// delivered n messages at the clock's now (what the senders and polls
// write in destination_usage).
func (f *fixture) usageRow(n int) {
	f.t.Helper()
	if _, err := f.sql.Exec(context.Background(), `INSERT INTO destination_usage (tenant_id, app_id, destination_id, messages, created_at)
		VALUES ($1, $2, 'sink_x', $3, $4)`, f.tenant, f.app, n, f.clock.now()); err != nil {
		f.t.Fatal(err)
	}
}

// TestMaintain_DropKeepsOpenHourDestinationUsage: what destinations
// delivered goes with the slice of its time, under the deliveries' rules:
// a slice whose destination usage billing has not counted yet is held; one
// dropped while its hour is open keeps its count for the hour's recount,
// so the final hour is exact.
func TestMaintain_DropKeepsOpenHourDestinationUsage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.store.SetRetentionPolicy(tenants.RetentionPolicy{Cap: time.Minute})
	m := storage.New(f.store, testLog(), storage.Options{Partition: time.Minute, Now: f.clock.now})
	run := func() storage.Result {
		t.Helper()
		res, err := m.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	rollup := func() {
		t.Helper()
		if _, err := f.store.Rollup(ctx, f.clock.now(), 5*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	rows := func() int {
		t.Helper()
		var n int
		if err := f.sql.QueryRow(ctx, `SELECT count(*) FROM destination_usage WHERE tenant_id = $1`, f.tenant).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	hour := f.day0.Add(2 * time.Hour)
	f.clock.set(hour.Add(10 * time.Minute))
	run()
	f.usageRow(7)

	// Not counted yet (no rollup): the slice of the row is held.
	f.clock.set(hour.Add(13 * time.Minute))
	res := run()
	held := false
	for _, h := range res.Held {
		held = held || (h.Reason == tenants.HoldBilling && !h.End.After(hour.Add(11*time.Minute)))
	}
	if !held || rows() != 1 {
		t.Fatalf("uncounted destination usage: held %v, %d rows left; want its slice held", res.Held, rows())
	}

	f.clock.set(hour.Add(20 * time.Minute))
	rollup() // counted through hour+15m: the hour is provisional
	run()
	if n := rows(); n != 0 {
		t.Fatalf("%d destination usage rows left after their slice was dropped", n)
	}
	f.usageRow(5)
	f.clock.set(hour.Add(30 * time.Minute))
	rollup() // recounts the open hour: one row left, one dropped
	if n, err := f.store.CountUsage(ctx, f.tenant, hour, hour.Add(time.Hour)); err != nil || n != 12 {
		t.Errorf("usage of the open hour after a recount: %d (%v), want 12", n, err)
	}
	f.clock.set(hour.Add(70 * time.Minute))
	rollup()
	hours, err := f.store.HourlyUsage(ctx, f.tenant, hour, hour.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 1 || hours[0].Deliveries != 12 || !hours[0].Final {
		t.Errorf("final usage of the hour: %+v, want one final row of 12", hours)
	}
	// The audit does not recount hours whose rows are gone.
	audit, err := f.store.Audit(ctx, f.tenant, hour.Add(-time.Hour), hour.Add(2*time.Hour))
	if err != nil || len(audit) != 0 {
		t.Errorf("audit = %+v, %v; want no difference", audit, err)
	}
}

// TestMaintain_ExpiresDestinationAttempts: destination attempts older than
// their tenant's retention are deleted, each tenant by its own retention;
// newer ones stay.
func TestMaintain_ExpiresDestinationAttempts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other, err := f.store.CreateTenant(ctx, "long retention")
	if err != nil {
		t.Fatal(err)
	}
	otherApp, err := f.store.CreateApplication(ctx, other.ID, tenants.ApplicationInput{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	if _, err := f.store.SetTenantRetention(ctx, f.tenant, &one); err != nil {
		t.Fatal(err)
	}
	type owner struct{ tenant, dest string }
	var owners []owner
	for _, o := range []struct{ tenant, app string }{{f.tenant, f.app}, {other.ID, otherApp.ID}} {
		d, err := f.store.CreateDestination(ctx, o.tenant, o.app, tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: "http://127.0.0.1:9/f", BatchSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		owners = append(owners, owner{o.tenant, d.ID})
	}
	attempt := func(o owner, at time.Time) {
		t.Helper()
		if _, err := f.sql.Exec(ctx, `INSERT INTO destination_attempts (id, tenant_id, destination_id, batch_id, num_events, status, status_code, duration_ms, created_at)
			VALUES ($1, $2, $3, 'batch', 1, 0, 200, 1, $4)`, tenants.NewShortID(tenants.PrefixDestinationAttempt, at), o.tenant, o.dest, at); err != nil {
			t.Fatal(err)
		}
	}
	now := f.clock.now()
	for _, o := range owners {
		attempt(o, now.Add(-3*day))
		attempt(o, now.Add(-2*day))
		attempt(o, now.Add(-time.Hour))
	}
	res := f.run()
	if res.DestinationAttemptsExpired != 2 {
		t.Errorf("expired %d destination attempts, want 2", res.DestinationAttemptsExpired)
	}
	for i, want := range []int{1, 3} {
		var n int
		if err := f.sql.QueryRow(ctx, `SELECT count(*) FROM destination_attempts WHERE tenant_id = $1`, owners[i].tenant).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("tenant %d keeps %d destination attempts, want %d", i, n, want)
		}
	}
}
