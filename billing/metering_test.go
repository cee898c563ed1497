package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookline/hookline/billing"
)

// TestRollup_FinalProvisionalAndIdempotent drives the rollup over delivery
// rows placed at known times: only scheduled successes count, each in the
// hour of its succeeded_at; hours closed beyond the margin are final and
// frozen; the open hour is provisional; running twice changes nothing; and
// reads add the live minutes after the watermark.
func TestRollup_FinalProvisionalAndIdempotent(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	a, b := d.tenant("A"), d.tenant("B")
	for _, s := range []string{"2024-05-10T10:05:00Z", "2024-05-10T10:20:00Z", "2024-05-10T10:59:59.999Z", "2024-05-10T11:10:00Z", "2024-05-10T11:50:00Z"} {
		d.delivery(a, 0, 0, at(s))
	}
	d.delivery(a, 1, 0, at("2024-05-10T10:30:00Z")) // a manual resend: not billed
	d.delivery(a, 0, 2, at("2024-05-10T10:40:00Z")) // failed
	d.delivery(a, 0, 1, at("2024-05-10T10:41:00Z")) // pending
	d.delivery(b, 0, 0, at("2024-05-10T10:30:00Z")) // another tenant

	c := newClock(at("2024-05-10T11:30:00Z"))
	svc := d.service(c, billing.Options{SafetyMargin: 5 * time.Minute})
	st := svc.Store()
	ctx := context.Background()
	res, err := svc.Rollup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.CountedThrough.Equal(at("2024-05-10T11:25:00Z")) || !res.From.Equal(hour("2024-05-10T10:00:00Z")) {
		t.Errorf("first rollup counted [%s, %s), want from the oldest delivery's hour to now - margin", res.From, res.CountedThrough)
	}
	rows := func() []billing.HourUsage {
		t.Helper()
		r, err := st.HourlyUsage(ctx, a, at("2024-05-10T00:00:00Z"), at("2024-05-11T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := []billing.HourUsage{
		{TenantID: a, Hour: hour("2024-05-10T10:00:00Z"), Deliveries: 3, Final: true},
		{TenantID: a, Hour: hour("2024-05-10T11:00:00Z"), Deliveries: 1, Final: false}, // up to 11:25
	}
	if d := diff(want, rows()); d != "" {
		t.Errorf("usage after the first rollup (-want +got):\n%s", d)
	}
	month, next := monthOf(c.now())
	if n, err := st.CountUsage(ctx, a, month, next); err != nil || n != 5 {
		t.Errorf("CountUsage = %d, %v; want 5 (4 rolled up + 1 live after the watermark)", n, err)
	}
	if n, err := st.CountUsage(ctx, b, month, next); err != nil || n != 1 {
		t.Errorf("tenant B's usage = %d, %v; want 1", n, err)
	}

	// A delivery of 10:45 committed only now, after hour 10 became final:
	// the margin was not enough. The final hour does not move (it may
	// already be invoiced); the audit finds the difference.
	d.delivery(a, 0, 0, at("2024-05-10T10:45:00Z"))
	c.set(at("2024-05-10T12:10:00Z"))
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	want = []billing.HourUsage{
		{TenantID: a, Hour: hour("2024-05-10T10:00:00Z"), Deliveries: 3, Final: true},
		{TenantID: a, Hour: hour("2024-05-10T11:00:00Z"), Deliveries: 2, Final: true},
	}
	if d := diff(want, rows()); d != "" {
		t.Errorf("usage after the second rollup (-want +got):\n%s", d)
	}
	// Again, at the same and at a later time: nothing changes.
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	c.add(3 * time.Hour)
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	if d := diff(want, rows()); d != "" {
		t.Errorf("usage after re-running the rollup (-want +got):\n%s", d)
	}
	audit, err := st.Audit(ctx, a, at("2024-05-10T00:00:00Z"), at("2024-05-11T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if d := diff([]billing.AuditRow{{Hour: hour("2024-05-10T10:00:00Z"), Stored: 3, Recount: 4}}, audit); d != "" {
		t.Errorf("audit (-want +got):\n%s", d)
	}
	days, err := st.DailyUsage(ctx, a, at("2024-05-09T00:00:00Z"), at("2024-05-12T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if d := diff([]billing.DayUsage{{Day: at("2024-05-10T00:00:00Z"), Deliveries: 5}}, days); d != "" {
		t.Errorf("daily usage (-want +got):\n%s", d)
	}
}

// TestRollup_LiveReadsAreExactBeforeAnyRollup: without a rollup ever
// having run, reads count everything live; a rollup in the middle of a
// day changes no total.
func TestRollup_LiveReadsAreExactBeforeAnyRollup(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	a := d.tenant("A")
	times := []string{"2024-04-30T23:59:59Z", "2024-05-01T00:00:00Z", "2024-05-01T13:00:00Z", "2024-05-02T08:00:00Z", "2024-05-02T08:30:00Z"}
	for _, s := range times {
		d.delivery(a, 0, 0, at(s))
	}
	c := newClock(at("2024-05-02T09:00:00Z"))
	svc := d.service(c, billing.Options{})
	ctx := context.Background()
	check := func(when string) {
		t.Helper()
		u, err := svc.Usage(ctx, a, at("2024-04-30T00:00:00Z"), at("2024-05-03T00:00:00Z"))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, d := range u.Days {
			got[d.Day.Format("2006-01-02")] = d.Deliveries
		}
		want := map[string]int64{"2024-04-30": 1, "2024-05-01": 2, "2024-05-02": 2}
		if d := diff(want, got); d != "" {
			t.Errorf("%s: days (-want +got):\n%s", when, d)
		}
		if u.Period.Deliveries != 4 || !u.Period.Start.Equal(at("2024-05-01T00:00:00Z")) {
			t.Errorf("%s: period = %+v, want May with 4 deliveries", when, u.Period)
		}
	}
	check("before any rollup")
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a rollup at 09:00")
	c.set(at("2024-05-02T08:31:00Z")) // the clock goes back: the watermark does not
	if _, err := svc.Rollup(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a rollup with the clock set back")
}
