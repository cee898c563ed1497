package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/store"
	"github.com/hookline/hookline/store/storetest"
	"github.com/hookline/hookline/tenants"
)

// destFixture is a fresh database with a tenant and an application.
type destFixture struct {
	t        *testing.T
	st       *store.Store
	dsn      string
	ten, app string
}

func newDestFixture(t *testing.T) *destFixture {
	t.Helper()
	db, dsn := storetest.Open(t)
	st := store.New(db, storetest.TestCipher(t), nil)
	ctx := context.Background()
	ten, err := st.CreateTenant(ctx, "dest-usage")
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.CreateApplication(ctx, ten.ID, tenants.ApplicationInput{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, et := range []string{"a.x", "b.y"} {
		if _, err := st.CreateEventType(ctx, ten.ID, tenants.EventTypeInput{Name: et}); err != nil {
			t.Fatal(err)
		}
	}
	return &destFixture{t: t, st: st, dsn: dsn, ten: ten.ID, app: app.ID}
}

func (f *destFixture) dest(in tenants.DestinationInput) tenants.Destination {
	f.t.Helper()
	if in.BatchSize == 0 {
		in.BatchSize = 100
	}
	d, err := f.st.CreateDestination(context.Background(), f.ten, f.app, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// messages creates n messages of event type et, one transaction each.
func (f *destFixture) messages(n int, et string) []string {
	f.t.Helper()
	var ids []string
	for i := range n {
		m, _, err := f.st.CreateMessage(context.Background(), f.ten, f.app, tenants.MessageInput{EventType: et, Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
		if err != nil {
			f.t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	f.waitVisible()
	return ids
}

// waitVisible waits until every message of the fixture's application is
// below the cluster's snapshot horizon, where destinations read: another
// test's open transaction can hold the horizon back for a moment, and a
// batch read before then holds only part of the messages.
func (f *destFixture) waitVisible() {
	f.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var visible bool
		if err := conn.QueryRow(ctx, `SELECT COALESCE(max(tx_id) < pg_snapshot_xmin(pg_current_snapshot()), true)
			FROM messages WHERE app_id = $1`, f.app).Scan(&visible); err != nil {
			f.t.Fatal(err)
		}
		if visible {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatal("messages still above the snapshot horizon after 30 s")
		}
		time.Sleep(10 * time.Millisecond) // polling the horizon
	}
}

func (f *destFixture) usage() int64 {
	f.t.Helper()
	now := time.Now()
	n, err := f.st.CountUsage(context.Background(), f.ten, now.Add(-time.Hour).Truncate(time.Hour), now.Add(time.Hour).Truncate(time.Hour))
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// pollAll reads consumer c of polling endpoint d in pages of limit until
// it has want messages, and returns their ids. Reads stop at the
// cluster's snapshot horizon, which another test's open transaction can
// hold back for a moment: a caught-up poll is tried again until then.
func (f *destFixture) pollAll(d tenants.Destination, c string, limit, want int) []string {
	f.t.Helper()
	var got []string
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		msgs, _, done, err := f.st.ConsumerPoll(context.Background(), f.ten, f.app, d.ID, c, nil, limit)
		if err != nil {
			f.t.Error(err)
			return got
		}
		for _, m := range msgs {
			got = append(got, m.ID)
		}
		if done && len(got) < want {
			time.Sleep(20 * time.Millisecond) // polling for the horizon, not a timed assertion
		}
	}
	return got
}

// claim takes the pushing destinations with something to send, waiting
// (as pollAll does) for the horizon to pass the messages.
func (f *destFixture) claim() []tenants.Destination {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := f.st.ClaimSenders(context.Background(), "test", time.Minute, 10)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(ds) > 0 || time.Now().After(deadline) {
			return ds
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStore_PollBillsFirstReadOnce: a polling endpoint's messages are
// billed once each, when a poll first returns them — whichever consumer,
// however many read them again (a second consumer, concurrently; a seek
// back; the client-held iterator from the start). A second polling
// endpoint bills its own reads, of the messages its filter lets through.
func TestStore_PollBillsFirstReadOnce(t *testing.T) {
	t.Parallel()
	f := newDestFixture(t)
	ctx := context.Background()
	d := f.dest(tenants.DestinationInput{Type: tenants.DestinationPolling})
	only := f.dest(tenants.DestinationInput{Type: tenants.DestinationPolling, EventTypes: []string{"b.y"}})
	ids := f.messages(30, "a.x")
	ids = append(ids, f.messages(10, "b.y")...)

	var wg sync.WaitGroup
	got := make([][]string, 2)
	for i, c := range []string{"one", "two"} {
		wg.Go(func() { got[i] = f.pollAll(d, c, 7, len(ids)) })
	}
	wg.Wait()
	for i := range got {
		if len(got[i]) != len(ids) {
			t.Fatalf("consumer %d read %d messages, want %d", i, len(got[i]), len(ids))
		}
	}
	if n := f.usage(); n != 40 {
		t.Fatalf("usage after two consumers read 40 messages: %d, want 40", n)
	}
	// Read again: a seek back, the client-held iterator from the start.
	if _, err := f.st.ConsumerSeek(ctx, f.ten, f.app, d.ID, "one", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again := f.pollAll(d, "one", 250, 40); len(again) != 40 {
		t.Fatalf("after the seek back the consumer read %d, want 40", len(again))
	}
	if msgs, _, _, err := f.st.PollDestination(ctx, f.ten, f.app, d.ID, nil, time.Time{}, 250, tenants.PollFilter{}); err != nil || len(msgs) != 40 {
		t.Fatalf("client-held poll: %d messages, %v", len(msgs), err)
	}
	if n := f.usage(); n != 40 {
		t.Errorf("usage after reading everything again: %d, want 40", n)
	}
	// The filtered endpoint: its 10, through the client-held iterator.
	if msgs, _, _, err := f.st.PollDestination(ctx, f.ten, f.app, only.ID, nil, time.Time{}, 250, tenants.PollFilter{}); err != nil || len(msgs) != 10 {
		t.Fatalf("filtered poll: %d messages, %v", len(msgs), err)
	}
	if n := f.usage(); n != 50 {
		t.Errorf("usage with the filtered endpoint's reads: %d, want 50", n)
	}
}

// send runs one batch of FIFO destination d as a sender does and records
// its outcome; ok says whether the receiver accepted it.
func (f *destFixture) send(d tenants.Destination, ok bool) int {
	f.t.Helper()
	ctx := context.Background()
	ds := f.claim()
	if len(ds) != 1 {
		f.t.Fatalf("claim: %d destinations", len(ds))
	}
	d = ds[0]
	msgs, _, err := f.st.ReadSenderBatch(ctx, d)
	if err != nil {
		f.t.Fatal(err)
	}
	if d.Batch == nil {
		b := tenants.DestinationBatch{ID: tenants.NewShortID(tenants.PrefixDestinationBatch, time.Now()), FirstID: msgs[0].ID,
			Last: msgs[len(msgs)-1].Pos, Count: len(msgs)}
		if err := f.st.StartSenderBatch(ctx, "test", time.Minute, d, b); err != nil {
			f.t.Fatal(err)
		}
		d.Batch = &b
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	o := tenants.DestinationOutcome{Attempt: tenants.DestinationAttempt{ID: tenants.NewShortID(tenants.PrefixDestinationAttempt, now),
		TenantID: f.ten, DestinationID: d.ID, BatchID: d.Batch.ID, FirstMsgID: msgs[0].ID, LastMsgID: msgs[len(msgs)-1].ID,
		NumEvents: len(msgs), Status: tenants.StatusSuccess, StatusCode: 200, CreatedAt: now}}
	if !ok {
		o.Attempt.Status, o.Attempt.StatusCode, o.NextAttempt = tenants.StatusFail, 500, now.Add(-time.Second)
	}
	if err := f.st.FinishSenderBatch(ctx, "test", d, o); err != nil {
		f.t.Fatal(err)
	}
	return len(msgs)
}

// TestStore_DestinationStats: the application.stats figures count what
// the application's destinations delivered (a batch accepted after a
// failed try, once; a poll's first read) and the batches attempted; the
// event-type aggregation counts a destination that names a type among its
// subscribers. Billing counts the same deliveries, and still does once
// the destination is deleted.
func TestStore_DestinationStats(t *testing.T) {
	t.Parallel()
	f := newDestFixture(t)
	ctx := context.Background()
	fifo := f.dest(tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: "http://127.0.0.1:9/fifo", EventTypes: []string{"a.x"}})
	poll := f.dest(tenants.DestinationInput{Type: tenants.DestinationPolling})
	f.messages(6, "a.x")
	if n := f.send(fifo, false); n != 6 {
		t.Fatalf("batch of %d, want 6", n)
	}
	if n := f.send(fifo, true); n != 6 {
		t.Fatalf("retried batch of %d, want 6", n)
	}
	if got := f.pollAll(poll, "c", 4, 6); len(got) != 6 {
		t.Fatalf("polled %d, want 6", len(got))
	}
	now := time.Now()
	usage, _, err := f.st.AppUsageStats(ctx, f.ten, nil, now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := tenants.DestinationUsage{Delivered: 12, Attempts: 2, Failed: 1}
	if len(usage) != 1 || usage[0].Messages != 6 || usage[0].Destinations != want {
		t.Errorf("app usage stats = %+v; want 6 messages and destinations %+v", usage, want)
	}
	ets, err := f.st.AggregateEventTypes(ctx, f.ten, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ets) != 1 || ets[0].Name != "a.x" || ets[0].Subscribers != 1 || ets[0].Messages != 6 {
		t.Errorf("event types = %+v; want a.x with 6 messages and 1 subscriber (the FIFO destination)", ets)
	}
	if n := f.usage(); n != 12 {
		t.Errorf("billed %d, want 12 (6 accepted in one batch, 6 polled)", n)
	}
	if err := f.st.DeleteDestination(ctx, f.ten, f.app, fifo.ID); err != nil {
		t.Fatal(err)
	}
	if n := f.usage(); n != 12 {
		t.Errorf("billed %d after the FIFO destination was deleted, want 12 still", n)
	}
}

// TestStore_ExpungeReachesDestinations: destinations hold no copy of a
// payload — they read the message's — so expunging an application's
// contents empties what a poll returns and what a batch already in flight
// sends again.
func TestStore_ExpungeReachesDestinations(t *testing.T) {
	t.Parallel()
	f := newDestFixture(t)
	ctx := context.Background()
	fifo := f.dest(tenants.DestinationInput{Type: tenants.DestinationFIFO, URL: "http://127.0.0.1:9/fifo"})
	poll := f.dest(tenants.DestinationInput{Type: tenants.DestinationPolling})
	f.messages(3, "a.x")
	if n := f.send(fifo, false); n != 3 { // a batch in flight, waiting for its retry
		t.Fatalf("batch of %d, want 3", n)
	}
	if _, err := f.st.ExpungeAllContents(ctx, f.ten, f.app); err != nil {
		t.Fatal(err)
	}
	msgs, _, _, err := f.st.PollDestination(ctx, f.ten, f.app, poll.ID, nil, time.Time{}, 10, tenants.PollFilter{})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("poll: %d messages, %v", len(msgs), err)
	}
	ds := f.claim()
	if len(ds) != 1 || ds[0].Batch == nil {
		t.Fatalf("claim the retry: %+v", ds)
	}
	again, _, err := f.st.ReadSenderBatch(ctx, ds[0])
	if err != nil || len(again) != 3 {
		t.Fatalf("batch again: %d messages, %v", len(again), err)
	}
	for _, m := range append(msgs, again...) {
		if m.Payload != nil {
			t.Errorf("message %s still has its payload %s after expunge-all-contents", m.ID, m.Payload)
		}
	}
}
