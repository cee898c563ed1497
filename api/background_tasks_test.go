package api_test

import (
	"context"
	"slices"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// statusOf returns the latest delivery status of a message at an endpoint.
func statusOf(t *testing.T, c *svix.Svix, appID, epID, msgID string) models.MessageStatus {
	t.Helper()
	pg, err := c.MessageAttempt.ListAttemptedMessages(context.Background(), appID, epID,
		&svix.MessageAttemptListAttemptedMessagesOptions{Limit: ptr(uint64(250)), ExpandedStatuses: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range pg.Data {
		if m.Id == msgID {
			return m.Status
		}
	}
	return -1
}

// TestSDK_BackgroundTasks: with a worker running and a receiver that fails
// and then recovers, bulk-replay resends exactly the failed messages of
// its window and event types; recover, replay-missing, expunge-all-contents
// and both statistics aggregations answer with a task that is finished,
// readable by id and listed (with the SDK's filters), only by its tenant.
func TestSDK_BackgroundTasks(t *testing.T) {
	t.Parallel()
	// Fast retries (not production's 5 s to 10 h): messages must fail for good within the test.
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{})})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	rcv := newScriptedReceiver(t, 500)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "tasks", Uid: ptr("tasks")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rcv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(eventType string) string {
		m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: eventType, Payload: map[string]any{"n": 1}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m.Id
	}
	start := time.Now().Add(-time.Second)
	m0 := send("user.created") // before the replay window
	// Pacing, not a wait: m0, the window's start and m1 lie apart in time
	// (timestamps are stored to the microsecond).
	time.Sleep(50 * time.Millisecond)
	since := time.Now()
	time.Sleep(50 * time.Millisecond)
	m1, m2, m5 := send("user.created"), send("user.created"), send("order.paid")
	for _, m := range []string{m0, m1, m2, m5} {
		waitUntil(t, 20*time.Second, m+" failed for good", func() bool { return statusOf(t, c, app.Id, ep.Id, m) == models.MESSAGESTATUS_FAIL })
	}
	rcv.setStatus(200)
	m3 := send("user.created") // succeeds: not replayed
	waitUntil(t, 20*time.Second, m3+" delivered", func() bool { return statusOf(t, c, app.Id, ep.Id, m3) == models.MESSAGESTATUS_SUCCESS })
	before := rcv.received()

	var tasks []string
	check := func(name string, id string, status models.BackgroundTaskStatus, task, want models.BackgroundTaskType) {
		t.Helper()
		if status != models.BACKGROUNDTASKSTATUS_FINISHED || task != want || len(id) < 6 || id[:6] != "qtask_" {
			t.Fatalf("%s: task %s %s %s, want finished %s", name, id, status, task, want)
		}
		tasks = append(tasks, id)
	}
	taskData := func(id string) map[string]any {
		t.Helper()
		got, err := c.BackgroundTask.Get(ctx, id)
		if err != nil || got.Id != id || got.Status != models.BACKGROUNDTASKSTATUS_FINISHED {
			t.Fatalf("get task %s = %+v, %v", id, got, err)
		}
		return got.Data
	}

	// Bulk replay: failed, user.created, since the window's start.
	br, err := c.Endpoint.BulkReplay(ctx, app.Id, ep.Id, models.BulkReplayIn{
		Since: since, Status: ptr(models.MESSAGESTATUS_FAIL), EventTypes: []string{"user.created"},
	}, nil)
	if err != nil {
		t.Fatalf("bulk replay: %v", err)
	}
	check("bulk replay", br.Id, br.Status, br.Task, models.BACKGROUNDTASKTYPE_ENDPOINT_BULK_REPLAY)
	if d := taskData(br.Id); d["deliveries"] != float64(2) || d["endpointId"] != ep.Id {
		t.Errorf("bulk replay data = %v, want 2 deliveries to %s", d, ep.Id)
	}
	for _, m := range []string{m1, m2} {
		waitUntil(t, 20*time.Second, m+" replayed", func() bool { return statusOf(t, c, app.Id, ep.Id, m) == models.MESSAGESTATUS_SUCCESS })
	}
	env.WaitSettled(t, 20*time.Second) // any wrong extra send has arrived by then
	after := rcv.received()
	for _, m := range []string{m0, m1, m2, m3, m5} {
		want := before[m]
		if m == m1 || m == m2 {
			want++
		}
		if after[m] != want {
			t.Errorf("%s: %d requests after the bulk replay, want %d (before: %d)", m, after[m], want, before[m])
		}
	}
	if st := statusOf(t, c, app.Id, ep.Id, m5); st != models.MESSAGESTATUS_FAIL {
		t.Errorf("order.paid message status %v, want still failed", st)
	}

	// Recover resends what is still failed: m0 and m5.
	rec, err := c.Endpoint.Recover(ctx, app.Id, ep.Id, models.RecoverIn{Since: start}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("recover", rec.Id, rec.Status, rec.Task, models.BACKGROUNDTASKTYPE_ENDPOINT_RECOVER)
	if d := taskData(rec.Id); d["deliveries"] != float64(2) {
		t.Errorf("recover data = %v, want 2 deliveries", d)
	}
	for _, m := range []string{m0, m5} {
		waitUntil(t, 20*time.Second, m+" recovered", func() bool { return statusOf(t, c, app.Id, ep.Id, m) == models.MESSAGESTATUS_SUCCESS })
	}

	// Replay-missing to an endpoint created after the messages: all 5.
	rcv2 := newScriptedReceiver(t, 200)
	ep2, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rcv2.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := c.Endpoint.ReplayMissing(ctx, app.Id, ep2.Id, models.ReplayIn{Since: start}, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("replay-missing", rm.Id, rm.Status, rm.Task, models.BACKGROUNDTASKTYPE_ENDPOINT_REPLAY)
	if d := taskData(rm.Id); d["deliveries"] != float64(5) {
		t.Errorf("replay-missing data = %v, want 5 deliveries", d)
	}
	waitUntil(t, 20*time.Second, "5 messages at the new endpoint", func() bool { return len(rcv2.received()) == 5 })

	// Statistics.
	st, err := c.Statistics.AggregateAppStats(ctx, models.AppUsageStatsIn{
		AppIds: []string{"tasks", "app_nope"}, Since: start.Add(-time.Minute), Until: time.Now().Add(time.Minute),
	}, nil)
	if err != nil {
		t.Fatalf("app stats: %v", err)
	}
	check("app stats", st.Id, st.Status, st.Task, models.BACKGROUNDTASKTYPE_APPLICATION_STATS)
	if !slices.Equal(st.UnresolvedAppIds, []string{"app_nope"}) {
		t.Errorf("unresolved = %v", st.UnresolvedAppIds)
	}
	apps, _ := taskData(st.Id)["apps"].([]any)
	if len(apps) != 1 || apps[0].(map[string]any)["appId"] != app.Id || apps[0].(map[string]any)["messages"] != float64(5) {
		t.Errorf("app stats data = %v, want 5 messages for %s", apps, app.Id)
	}
	ag, err := c.Statistics.AggregateEventTypes(ctx)
	if err != nil {
		t.Fatalf("aggregate event types: %v", err)
	}
	check("event types", ag.Id, ag.Status, ag.Task, models.BACKGROUNDTASKTYPE_EVENT_TYPE_AGGREGATE)
	counts := map[string]float64{}
	ets, _ := taskData(ag.Id)["eventTypes"].([]any)
	for _, e := range ets {
		m := e.(map[string]any)
		counts[m["name"].(string)] = m["messages"].(float64)
	}
	if counts["user.created"] != 4 || counts["order.paid"] != 1 || len(counts) != 2 {
		t.Errorf("event-type aggregate = %v, want user.created 4, order.paid 1", counts)
	}

	// Expunge all contents.
	ex, err := c.Message.ExpungeAllContents(ctx, app.Id, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("expunge", ex.Id, ex.Status, ex.Task, models.BACKGROUNDTASKTYPE_APPLICATION_PURGE_CONTENT)
	if d := taskData(ex.Id); d["expunged"] != float64(5) {
		t.Errorf("expunge data = %v, want 5", d)
	}
	for _, m := range []string{m0, m3} {
		got, err := c.Message.Get(ctx, app.Id, m, nil)
		if err != nil || got.Payload["n"] != nil || got.Payload["expired"] != true {
			t.Errorf("message %s after expunge-all: %+v, %v", m, got, err)
		}
	}

	// Listing, with the SDK's filters, and paging.
	var listed []string
	var iter *string
	for {
		pg, err := c.BackgroundTask.List(ctx, &svix.BackgroundTaskListOptions{Limit: ptr(uint64(2)), Iterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range pg.Data {
			listed = append(listed, tk.Id)
		}
		if pg.Done {
			break
		}
		iter = pg.Iterator
	}
	slices.Sort(listed)
	if want := slices.Sorted(slices.Values(tasks)); !slices.Equal(listed, want) {
		t.Errorf("listed tasks %v, want %v", listed, want)
	}
	only, err := c.BackgroundTask.List(ctx, &svix.BackgroundTaskListOptions{Task: ptr(models.BACKGROUNDTASKTYPE_ENDPOINT_BULK_REPLAY), Status: ptr(models.BACKGROUNDTASKSTATUS_FINISHED)})
	if err != nil || len(only.Data) != 1 || only.Data[0].Id != br.Id {
		t.Errorf("list bulk-replay tasks = %+v, %v", only, err)
	}
	if none, err := c.BackgroundTask.List(ctx, &svix.BackgroundTaskListOptions{Status: ptr(models.BACKGROUNDTASKSTATUS_RUNNING)}); err != nil || len(none.Data) != 0 {
		t.Errorf("running tasks = %+v, %v; want none", none, err)
	}

	// Another tenant sees none of them.
	_, otherKey, _ := env.NewTenant("other")
	other := env.SDK(otherKey)
	if _, err := other.BackgroundTask.Get(ctx, br.Id); sdkStatus(err) != 404 {
		t.Errorf("other tenant get task: %v, want 404", err)
	}
	if pg, err := other.BackgroundTask.List(ctx, nil); err != nil || len(pg.Data) != 0 {
		t.Errorf("other tenant list = %+v, %v", pg, err)
	}
	// Bad input is a 422, not a task.
	if _, err := c.Endpoint.BulkReplay(ctx, app.Id, ep.Id, models.BulkReplayIn{Since: time.Now().Add(-30 * 24 * time.Hour)}, nil); sdkStatus(err) != 422 {
		t.Errorf("bulk replay over 30 days: %v, want 422", err)
	}
	if _, err := c.Statistics.AggregateAppStats(ctx, models.AppUsageStatsIn{Since: time.Now(), Until: time.Now().Add(-time.Hour)}, nil); sdkStatus(err) != 422 {
		t.Errorf("app stats with until before since: %v, want 422", err)
	}
}
