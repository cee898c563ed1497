package storage_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookline/hookline/billing"
	"github.com/hookline/hookline/storage"
	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// clock is the injected "now" of the store and the maintainer: tests move
// it by days instead of sleeping.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.t.Store(&t) }
func (c *clock) now() time.Time   { return *c.t.Load() }
func (c *clock) add(d time.Duration) {
	c.set(c.now().Add(d))
}

const day = 24 * time.Hour

// fixture is a fresh database whose clock starts on a day boundary well
// after the template's cutover (so the day's slices are ours to make), a
// tenant with an application and an endpoint, and a maintainer.
type fixture struct {
	t     *testing.T
	db    *store.DB
	sql   *pgxpool.Pool
	store *store.Store
	clock *clock
	m     *storage.Maintainer
	// day0 is the start of the first day the test writes in.
	day0           time.Time
	tenant, app, e string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, dsn := storetest.Open(t)
	ctx := context.Background()
	probe := store.New(db, nil, nil)
	cutover, err := probe.Cutover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	day0 := cutover.Add(10 * day).Truncate(day)
	if now := time.Now().UTC().Truncate(day).Add(day); day0.Before(now) {
		day0 = now // the clock never runs behind the real one by much
	}
	f := &fixture{t: t, db: db, sql: storetest.SQL(t, dsn), clock: newClock(day0.Add(time.Hour)), day0: day0}
	f.store = store.New(db, storetest.TestCipher(t), f.clock.now)
	f.store.SetRetentionPolicy(tenants.RetentionPolicy{})
	f.m = storage.New(f.store, testLog(), storage.Options{Now: f.clock.now})
	ten, err := f.store.CreateTenant(ctx, "storage")
	if err != nil {
		t.Fatal(err)
	}
	app, err := f.store.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := f.store.CreateEndpoint(ctx, ten.ID, app.ID, tenants.EndpointInput{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	f.tenant, f.app, f.e = ten.ID, app.ID, ep.ID
	return f
}

func (f *fixture) run() storage.Result {
	f.t.Helper()
	res, err := f.m.Run(context.Background())
	if err != nil {
		f.t.Fatalf("maintain: %v", err)
	}
	return res
}

// message creates a message (and its one delivery) at the clock's now.
func (f *fixture) message() (tenants.Message, int64) {
	f.t.Helper()
	m, ds, err := f.store.CreateMessage(context.Background(), f.tenant, f.app, tenants.MessageInput{EventType: "e.t", Payload: []byte(`{"a":1}`)})
	if err != nil || len(ds) != 1 {
		f.t.Fatalf("create message: %v (%d deliveries)", err, len(ds))
	}
	return m, ds[0]
}

// attempt records one attempt of delivery d of message m at the clock's
// now, leaving the delivery in status st.
func (f *fixture) attempt(m tenants.Message, d int64, st tenants.Status) {
	f.t.Helper()
	now := f.clock.now()
	ast := tenants.StatusFail
	if st == tenants.StatusSuccess {
		ast = tenants.StatusSuccess
	}
	resp := "ok"
	err := f.store.RecordAttempts(context.Background(), []tenants.AttemptResult{{
		Attempt: tenants.Attempt{ID: tenants.NewID(tenants.PrefixAttempt, now), TenantID: f.tenant, AppID: f.app, MsgID: m.ID,
			EndpointID: f.e, DeliveryID: d, URL: "http://127.0.0.1:9/hook", Status: ast, StatusCode: 200, Response: &resp, CreatedAt: now},
		Status: st,
	}})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) partitions(table string) map[string]tenants.Partition {
	f.t.Helper()
	ps, err := f.store.Partitions(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]tenants.Partition{}
	for _, p := range ps {
		if p.Table == table {
			out[p.Name] = p
		}
	}
	return out
}

// TestMaintain_CreatesAhead: a run makes today's slice and the next three
// in every table, with the bounds of the day; a second run makes nothing.
func TestMaintain_CreatesAhead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res := f.run()
	for _, table := range tenants.PartitionedTables {
		ps := f.partitions(table)
		for i := range 4 {
			start := f.day0.Add(time.Duration(i) * day)
			p, ok := ps[tenants.PartitionName(table, start, day)]
			if !ok {
				t.Fatalf("%s: no partition for %s; have %v (created %v)", table, start, keys(ps), res.Created)
			}
			if !p.Start.Equal(start) || !p.End.Equal(start.Add(day)) {
				t.Errorf("%s: bounds %s – %s, want %s – %s", p.Name, p.Start, p.End, start, start.Add(day))
			}
		}
		if _, ok := ps[table+"_default"]; !ok {
			t.Errorf("%s: no DEFAULT partition", table)
		}
	}
	if again := f.run(); len(again.Created) != 0 || len(again.Dropped) != 0 {
		t.Errorf("second run created %v, dropped %v; want nothing", again.Created, again.Dropped)
	}
	// A message of today goes into today's partition, and its delivery
	// and attempt into today's of their tables.
	m, d := f.message()
	f.attempt(m, d, tenants.StatusSuccess)
	for table, id := range map[string]any{"messages": m.ID, "deliveries": d} {
		var part string
		if err := f.sql.QueryRow(context.Background(), "SELECT tableoid::regclass::text FROM "+table+" WHERE id = $1", id).Scan(&part); err != nil {
			t.Fatal(err)
		}
		if want := tenants.PartitionName(table, f.day0, day); part != want {
			t.Errorf("%s row in %s, want %s", table, part, want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestMaintain_DropsPastRetention walks a tenant with a 2-day retention
// through a week: the first day's slice is past retention on day 3 but
// held while a delivery of it is pending, then while its success is not
// yet rolled up by billing; then it goes with its rows, while the next
// day's rows stay. Billing's usage of the dropped day is unchanged after
// the drop, and the audit finds nothing to recount there.
func TestMaintain_DropsPastRetention(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	days := 2
	if _, err := f.store.SetTenantRetention(ctx, f.tenant, &days); err != nil {
		t.Fatal(err)
	}
	f.run()
	// Day 0: one delivered (billable), one failed, one still pending.
	ok, okD := f.message()
	f.attempt(ok, okD, tenants.StatusSuccess)
	failed, failedD := f.message()
	f.attempt(failed, failedD, tenants.StatusFail)
	pending, pendingD := f.message()
	f.attempt(pending, pendingD, tenants.StatusPending)
	// Day 1: one more, which must survive day 0's drop.
	f.clock.add(day)
	f.run()
	later, laterD := f.message()
	f.attempt(later, laterD, tenants.StatusSuccess)

	// Day 3: day 0 (ends on day 1) is past the 2-day retention.
	f.clock.add(2 * day)
	res := f.run()
	if len(res.Dropped) != 0 || len(res.Held) != 1 || res.Held[0].Reason != tenants.HoldPending {
		t.Fatalf("with a pending delivery: dropped %v, held %v; want day 0 held for pending", res.Dropped, res.Held)
	}
	if _, err := f.store.FindMessage(ctx, f.tenant, f.app, pending.ID); !errors.Is(err, tenants.ErrNotFound) {
		// Past retention, the rows read as gone even before the drop.
		t.Errorf("message past retention: err %v, want ErrNotFound", err)
	}
	if err := f.store.SetDeliveryStatus(ctx, f.tenant, pendingD, tenants.StatusFail); err != nil {
		t.Fatal(err)
	}
	res = f.run()
	if len(res.Dropped) != 0 || len(res.Held) != 1 || res.Held[0].Reason != tenants.HoldBilling {
		t.Fatalf("before billing's rollup: dropped %v, held %v; want day 0 held for billing", res.Dropped, res.Held)
	}
	bs := f.store
	if _, err := bs.Rollup(ctx, f.clock.now(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	month := f.day0.AddDate(0, 0, -f.day0.Day()+1)
	usage := func() (int64, []billing.DayUsage) {
		t.Helper()
		n, err := bs.CountUsage(ctx, f.tenant, month.AddDate(0, -1, 0), month.AddDate(0, 2, 0))
		if err != nil {
			t.Fatal(err)
		}
		daily, err := bs.DailyUsage(ctx, f.tenant, month.AddDate(0, -1, 0), month.AddDate(0, 2, 0))
		if err != nil {
			t.Fatal(err)
		}
		return n, daily
	}
	beforeN, beforeDaily := usage()
	if beforeN != 2 {
		t.Fatalf("usage before the drop: %d, want 2", beforeN)
	}

	res = f.run()
	if len(res.Held) != 0 || len(res.Dropped) != 3 {
		t.Fatalf("after the rollup: dropped %v, held %v; want day 0's three partitions", res.Dropped, res.Held)
	}
	for _, table := range tenants.PartitionedTables {
		if _, ok := f.partitions(table)[tenants.PartitionName(table, f.day0, day)]; ok {
			t.Errorf("%s: day 0's partition is still there", table)
		}
	}
	var gone, kept int
	if err := f.sql.QueryRow(ctx, `SELECT count(*) FILTER (WHERE id = ANY($1)), count(*) FILTER (WHERE id = $2) FROM messages`,
		[]string{ok.ID, failed.ID, pending.ID}, later.ID).Scan(&gone, &kept); err != nil {
		t.Fatal(err)
	}
	if gone != 0 || kept != 1 {
		t.Errorf("after the drop: %d of day 0's messages left (want 0), %d of day 1's (want 1)", gone, kept)
	}
	var deliveries, attempts int
	if err := f.sql.QueryRow(ctx, `SELECT (SELECT count(*) FROM deliveries), (SELECT count(*) FROM attempts)`).Scan(&deliveries, &attempts); err != nil {
		t.Fatal(err)
	}
	if deliveries != 1 || attempts != 1 {
		t.Errorf("after the drop: %d deliveries and %d attempts, want day 1's one of each", deliveries, attempts)
	}

	// Billing: the dropped day's usage is still there, exactly once, and
	// a rollup after the drop does not recount it.
	if _, err := bs.Rollup(ctx, f.clock.now(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	afterN, afterDaily := usage()
	if afterN != beforeN || len(afterDaily) != len(beforeDaily) {
		t.Fatalf("usage after the drop: %d %v, before %d %v", afterN, afterDaily, beforeN, beforeDaily)
	}
	for i := range afterDaily {
		if afterDaily[i] != beforeDaily[i] {
			t.Errorf("daily usage after the drop: %v, before %v", afterDaily, beforeDaily)
		}
	}
	audit, err := bs.Audit(ctx, f.tenant, month.AddDate(0, -1, 0), month.AddDate(0, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 0 {
		t.Errorf("audit after the drop: %+v, want nothing (the dropped hours are not recounted)", audit)
	}
	st, err := f.m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recorded := 0
	for _, d := range st.Dropped {
		if d.Start != nil && d.Start.Equal(f.day0) {
			recorded++
		}
	}
	if recorded != 3 || st.Retention != 2*day {
		t.Errorf("status: %d of day 0's drops recorded, retention %s; want 3, 48h", recorded, st.Retention)
	}
}

// TestMaintain_MovesRowsOutOfDefault: rows written while no slice covered
// their time (maintenance behind) land in the DEFAULT partition, and move
// into their slice when it is made.
func TestMaintain_MovesRowsOutOfDefault(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.run()
	f.clock.add(10 * day) // beyond every slice made
	m, d := f.message()
	res := f.run()
	if res.Moved != 2 { // the message and its delivery
		t.Fatalf("moved %d rows out of DEFAULT, want 2 (created %v)", res.Moved, res.Created)
	}
	var part string
	if err := f.sql.QueryRow(ctx, "SELECT tableoid::regclass::text FROM messages WHERE id = $1", m.ID).Scan(&part); err != nil {
		t.Fatal(err)
	}
	if want := tenants.PartitionName("messages", f.day0.Add(10*day), day); part != want {
		t.Errorf("message in %s, want %s", part, want)
	}
	if _, err := f.store.LoadDeliveryByID(ctx, d); err != nil {
		t.Errorf("delivery after the move: %v", err)
	}
}

func testLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestMaintain_ExpiresResponseBodies: an attempt's response body reads as
// expunged once past the response retention, and a run nulls it (in
// bounded batches, resuming where the last stopped); younger bodies stay.
func TestMaintain_ExpiresResponseBodies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.store.SetRetentionPolicy(tenants.RetentionPolicy{ResponseRetention: day})
	f.run()
	old, oldD := f.message()
	f.attempt(old, oldD, tenants.StatusSuccess)
	f.clock.add(36 * time.Hour)
	young, youngD := f.message()
	f.attempt(young, youngD, tenants.StatusSuccess)
	bodies := func(m tenants.Message) (read *string, stored *string) {
		t.Helper()
		pg, err := f.store.FindAttemptsByMessage(ctx, f.tenant, f.app, m.ID, tenants.AttemptFilter{})
		if err != nil || len(pg.Items) != 1 {
			t.Fatalf("attempts of %s: %d, %v", m.ID, len(pg.Items), err)
		}
		if err := f.sql.QueryRow(ctx, `SELECT response FROM attempts WHERE msg_id = $1`, m.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		return pg.Items[0].Response, stored
	}
	if read, _ := bodies(old); read != nil {
		t.Errorf("a body past the response retention reads %q, want none", *read)
	}
	if res := f.run(); res.ResponsesSeen < 1 {
		t.Errorf("the run looked at %d attempts, want the old one", res.ResponsesSeen)
	}
	if _, stored := bodies(old); stored != nil {
		t.Errorf("after the run the old body is still stored: %q", *stored)
	}
	if read, stored := bodies(young); read == nil || stored == nil {
		t.Errorf("a body within the retention was expunged (read %v, stored %v)", read, stored)
	}
}

// TestMaintain_DropKeepsOpenHourUsage: with minute slices and a minute of
// retention, a slice goes while the hour its deliveries succeeded in is
// still provisional in billing, which recounts such hours from the
// deliveries; the drop keeps their count (usage_dropped), so the hour's
// usage stays exact through later recounts and when it becomes final.
func TestMaintain_DropKeepsOpenHourUsage(t *testing.T) {
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
	bs := f.store
	rollup := func() {
		t.Helper()
		if _, err := bs.Rollup(ctx, f.clock.now(), 5*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	hour := f.day0.Add(2 * time.Hour)
	f.clock.set(hour.Add(10 * time.Minute))
	run()
	first, firstD := f.message()
	f.attempt(first, firstD, tenants.StatusSuccess)

	f.clock.set(hour.Add(20 * time.Minute))
	rollup() // counted through hour+15m: the hour is provisional
	res := run()
	if len(res.Dropped) == 0 {
		t.Fatalf("nothing dropped (held %v)", res.Held)
	}
	var left int
	if err := f.sql.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE id = $1`, firstD).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the first delivery is still there (%d, %v)", left, err)
	}
	second, secondD := f.message()
	f.attempt(second, secondD, tenants.StatusSuccess)

	count := func() int64 {
		t.Helper()
		n, err := bs.CountUsage(ctx, f.tenant, hour, hour.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	f.clock.set(hour.Add(30 * time.Minute))
	rollup() // recounts the open hour: one delivery left, one dropped
	if n := count(); n != 2 {
		t.Errorf("usage of the open hour after a recount: %d, want 2", n)
	}
	f.clock.set(hour.Add(70 * time.Minute))
	rollup() // the hour is final now
	rows, err := bs.HourlyUsage(ctx, f.tenant, hour, hour.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Deliveries != 2 || !rows[0].Final {
		t.Errorf("final usage of the hour: %+v, want one final row of 2", rows)
	}
}

// TestCollector_Gauges: the storage gauges are exposed per table, and the
// DEFAULT partitions count as empty once maintenance made the slices.
func TestCollector_Gauges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.run()
	f.message()
	reg := prometheus.NewRegistry()
	reg.MustRegister(storage.NewCollector(f.store, time.Minute))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]float64{}
	for _, fam := range fams {
		got[fam.GetName()] = map[string]float64{}
		for _, m := range fam.GetMetric() {
			got[fam.GetName()][m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	for _, name := range []string{"hookline_storage_table_bytes", "hookline_storage_partitions", "hookline_storage_oldest_partition_age_seconds", "hookline_storage_default_rows"} {
		for _, table := range tenants.PartitionedTables {
			if _, ok := got[name][table]; !ok {
				t.Errorf("%s{table=%q} missing", name, table)
			}
		}
	}
	if got["hookline_storage_table_bytes"]["messages"] <= 0 || got["hookline_storage_partitions"]["messages"] < 6 {
		t.Errorf("messages: %v bytes in %v partitions", got["hookline_storage_table_bytes"]["messages"], got["hookline_storage_partitions"]["messages"])
	}
	if n := got["hookline_storage_default_rows"]["messages"]; n != 0 {
		t.Errorf("default rows: %v, want 0", n)
	}
}
