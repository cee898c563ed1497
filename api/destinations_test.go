package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// destCall calls the API as the SDK would (the Svix Go SDK v1.99.1 has no
// destination methods), checking the answer against the OpenAPI document,
// and decodes a JSON answer into out when given.
func destCall(t *testing.T, env *testenv.Env, method, path, body string, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+env.APIKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := testenv.ValidatingClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

type destOut struct {
	ID              string            `json:"id"`
	UID             *string           `json:"uid"`
	Type            string            `json:"type"`
	Status          string            `json:"status"`
	BatchSize       int               `json:"batchSize"`
	MaxWaitSecs     int               `json:"maxWaitSecs"`
	EventTypes      []string          `json:"eventTypes"`
	CurrentIterator string            `json:"currentIterator"`
	Metadata        map[string]string `json:"metadata"`
	Config          json.RawMessage   `json:"config"`
}

func newApp(t *testing.T, env *testenv.Env, uid string) string {
	t.Helper()
	app, err := env.SDK(env.APIKey).Application.Create(context.Background(), models.ApplicationIn{Name: uid, Uid: ptr(uid)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return app.Id
}

// TestDestinations_CRUD walks a destination's life on Svix's wire: types,
// defaults and bounds, uid, secret, headers (sensitive ones never read
// back), RabbitMQ's URI never read back, update and delete.
func TestDestinations_CRUD(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	appID := newApp(t, env, "dest-crud")
	base := "/api/v1/app/" + appID + "/destination"

	var poll destOut
	if st, body := destCall(t, env, "POST", base, `{"type":"pollingEndpoint","uid":"poll-1"}`, &poll); st != 201 {
		t.Fatalf("create polling: %d %s", st, body)
	}
	if !tenants.IsShortID(tenants.PrefixDestination, poll.ID) || poll.Status != "enabled" || poll.BatchSize != 100 ||
		poll.MaxWaitSecs != 0 || poll.Type != "pollingEndpoint" || poll.UID == nil || *poll.UID != "poll-1" {
		t.Fatalf("created polling endpoint = %+v", poll)
	}

	// Unsupported types are a 422 naming the supported ones.
	st, body := destCall(t, env, "POST", base, `{"type":"sqs","config":{}}`, nil)
	if st != 422 || !strings.Contains(body, "pollingEndpoint, fifoEndpoint, rabbitMq") {
		t.Fatalf("unsupported type: %d %s", st, body)
	}
	for _, bad := range []string{
		`{"type":"pollingEndpoint","batchSize":0}`,
		`{"type":"pollingEndpoint","batchSize":1001}`,
		`{"type":"pollingEndpoint","maxWaitSecs":301}`,
		`{"type":"fifoEndpoint"}`,
		`{"type":"fifoEndpoint","config":{"url":"ftp://x"}}`,
		`{"type":"rabbitMq","config":{"uri":"http://127.0.0.1","routingKey":"k"}}`,
		`{"type":"pollingEndpoint","uid":"sink_abc"}`,
	} {
		if st, body := destCall(t, env, "POST", base, bad, nil); st != 422 {
			t.Errorf("%s: %d %s; want 422", bad, st, body)
		}
	}

	secret := "whsec_" + strings.Repeat("QUJD", 8)
	var fifo destOut
	st, body = destCall(t, env, "POST", base, `{"type":"fifoEndpoint","batchSize":10,"maxWaitSecs":5,
		"config":{"url":"http://127.0.0.1:9/fifo","key":"`+secret+`","headers":{"X-Plain":"p","Authorization":"Bearer hidden-token"}}}`, &fifo)
	if st != 201 || fifo.BatchSize != 10 || fifo.MaxWaitSecs != 5 {
		t.Fatalf("create fifo: %d %s", st, body)
	}
	if strings.Contains(body, "hidden-token") || !strings.Contains(body, `"X-Plain":"p"`) || !strings.Contains(body, `"Authorization"`) {
		t.Fatalf("fifo answer shows headers wrongly: %s", body)
	}
	var sec struct{ Key string }
	if st, _ := destCall(t, env, "GET", base+"/"+fifo.ID+"/secret", "", &sec); st != 200 || sec.Key != secret {
		t.Fatalf("secret = %q (%d); want the one given", sec.Key, st)
	}
	if st, body := destCall(t, env, "POST", base+"/"+fifo.ID+"/secret/rotate", `{}`, nil); st != 200 {
		t.Fatalf("rotate: %d %s", st, body)
	}
	destCall(t, env, "GET", base+"/"+fifo.ID+"/secret", "", &sec)
	if sec.Key == secret || !strings.HasPrefix(sec.Key, "whsec_") {
		t.Fatalf("rotated secret = %q", sec.Key)
	}
	var hdrs struct {
		Headers   map[string]string
		Sensitive []string
	}
	if st, body := destCall(t, env, "PATCH", base+"/"+fifo.ID+"/headers", `{"headers":{"X-Plain":null,"X-New":"n"}}`, &hdrs); st != 200 {
		t.Fatalf("patch headers: %d %s", st, body)
	}
	if hdrs.Headers["X-New"] != "n" || hdrs.Headers["X-Plain"] != "" || !slices.Equal(hdrs.Sensitive, []string{"Authorization"}) {
		t.Fatalf("headers after patch = %+v", hdrs)
	}
	// Headers are sealed at rest: the token is nowhere in the row.
	var leaks int
	if err := env.SQL.QueryRow(context.Background(), `SELECT count(*) FROM destinations d WHERE d::text LIKE '%hidden-token%' OR d::text LIKE '%QUJD%'`).Scan(&leaks); err != nil || leaks != 0 {
		t.Fatalf("a secret is stored in the clear (%d rows, %v)", leaks, err)
	}

	var rabbit destOut
	st, body = destCall(t, env, "POST", base, `{"type":"rabbitMq","config":{"uri":"amqp://guest:rabbit-pass@127.0.0.1:5672/","routingKey":"rk"}}`, &rabbit)
	if st != 201 || strings.Contains(body, "rabbit-pass") || !strings.Contains(body, `"routingKey":"rk"`) {
		t.Fatalf("create rabbitMq: %d %s", st, body)
	}

	// Get by id and by uid; list; patch; put.
	var got destOut
	if st, _ := destCall(t, env, "GET", base+"/poll-1", "", &got); st != 200 || got.ID != poll.ID {
		t.Fatalf("get by uid: %d %+v", st, got)
	}
	var list struct {
		Data []destOut
		Done bool
	}
	if st, _ := destCall(t, env, "GET", base, "", &list); st != 200 || len(list.Data) != 3 || !list.Done {
		t.Fatalf("list: %d %+v", st, list)
	}
	if st, body := destCall(t, env, "PATCH", base+"/"+poll.ID, `{"batchSize":7,"status":"disabled","metadata":{"a":"b"}}`, &got); st != 200 ||
		got.BatchSize != 7 || got.Status != "disabled" || got.Metadata["a"] != "b" {
		t.Fatalf("patch: %d %s", st, body)
	}
	if st, body := destCall(t, env, "PATCH", base+"/"+poll.ID, `{"type":"fifoEndpoint"}`, nil); st != 422 {
		t.Fatalf("patch of type: %d %s", st, body)
	}
	if st, body := destCall(t, env, "PUT", base+"/poll-1", `{"type":"pollingEndpoint","uid":"poll-1"}`, &got); st != 200 || got.BatchSize != 100 || got.Status != "enabled" {
		t.Fatalf("put: %d %s", st, body)
	}
	if st, body := destCall(t, env, "PUT", base+"/new-by-put", `{"type":"pollingEndpoint"}`, &got); st != 201 || got.UID == nil || *got.UID != "new-by-put" {
		t.Fatalf("put creating: %d %s", st, body)
	}
	if st, _ := destCall(t, env, "DELETE", base+"/"+poll.ID, "", nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := destCall(t, env, "GET", base+"/"+poll.ID, "", nil); st != 404 {
		t.Fatalf("get after delete: %d", st)
	}
	// A polling endpoint has nothing to skip.
	if st, _ := destCall(t, env, "POST", base+"/new-by-put/skip", `{}`, nil); st != 400 {
		t.Fatalf("skip on a polling endpoint: %d", st)
	}
}

func sendMessages(t *testing.T, env *testenv.Env, appID string, n int, typ string) []string {
	t.Helper()
	c := env.SDK(env.APIKey)
	ids := make([]string, n)
	for i := range n {
		m, err := c.Message.Create(context.Background(), appID, models.MessageIn{EventType: typ,
			Payload: map[string]any{"n": i}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = m.Id
	}
	return ids
}

// TestPoller_ConsumerReadsInOrderExactlyOnce: a consumer reads 1,000
// messages in pages of 25, in creation order, each once; then only what
// came after; a seek goes back. The client-held iterator reads the same
// order, and the destination's event-type filter holds.
func TestPoller_ConsumerReadsInOrderExactlyOnce(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	appID := newApp(t, env, "poll-app")
	var sink destOut
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"pollingEndpoint"}`, &sink); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	for _, et := range []string{"a.created", "b.other"} {
		if _, err := env.Store.CreateEventType(ctx, env.TenantID, tenants.EventTypeInput{Name: et}); err != nil {
			t.Fatal(err)
		}
	}
	var filtered destOut
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"pollingEndpoint","eventTypes":["b.other"]}`, &filtered); st != 201 {
		t.Fatalf("create filtered: %d %s", st, body)
	}
	want := sendMessages(t, env, appID, 1000, "a.created")
	others := sendMessages(t, env, appID, 3, "b.other")
	want = append(want, others...)

	c := env.SDK(env.APIKey)
	// readAll polls in pages of 25 until the consumer has read n messages
	// and is caught up. A poll may say done before a message committed
	// elsewhere is visible to it (see store/destination_reads.go: the
	// horizon is the cluster's, and other tests' transactions count), so
	// it polls on until the deadline rather than trusting one done.
	readAll := func(consumer string, n int) []string {
		var got []string
		deadline := time.Now().Add(20 * time.Second)
		for {
			out, err := c.Message.Poller.ConsumerPoll(ctx, appID, sink.ID, consumer, &svix.MessagePollerConsumerPollOptions{Limit: ptr(uint64(25))})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Data) > 25 {
				t.Fatalf("a poll of limit 25 returned %d", len(out.Data))
			}
			for _, m := range out.Data {
				got = append(got, m.Id)
			}
			if out.Done && len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("consumer %s read %d of %d messages before the deadline", consumer, len(got), n)
			}
		}
	}
	if got := readAll("c1", len(want)); !slices.Equal(got, want) {
		t.Fatalf("consumer read %d messages; want the %d in creation order, each once (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
	// Caught up: nothing again, then only the new ones.
	if got := readAll("c1", 0); len(got) != 0 {
		t.Fatalf("a caught-up consumer read %d messages again", len(got))
	}
	mark := time.Now()
	fresh := sendMessages(t, env, appID, 30, "a.created")
	if got := readAll("c1", len(fresh)); !slices.Equal(got, fresh) {
		t.Fatalf("after catching up the consumer read %v; want the 30 new ones", got)
	}
	// Another consumer has its own position.
	if got := readAll("c2", len(want)+len(fresh)); len(got) != len(want)+len(fresh) {
		t.Fatalf("a second consumer read %d; want %d", len(got), len(want)+len(fresh))
	}
	// Seek back to before the fresh ones: they come again, and only they.
	if _, err := c.Message.Poller.ConsumerSeek(ctx, appID, sink.ID, "c1", models.PollingEndpointConsumerSeekIn{After: mark.Add(-time.Millisecond)}, nil); err != nil {
		t.Fatal(err)
	}
	if got := readAll("c1", len(fresh)); !slices.Equal(got, fresh) {
		t.Fatalf("after a seek the consumer read %d; want the 30 fresh ones", len(got))
	}

	// The client-held iterator reads the same order; the filtered sink
	// sees only its event type.
	var got []string
	var it *string
	for {
		out, err := c.Message.Poller.Poll(ctx, appID, sink.ID, &svix.MessagePollerPollOptions{Limit: ptr(uint64(250)), Iterator: it})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Data {
			got = append(got, m.Id)
			if m.EventType == "" || m.Payload == nil {
				t.Fatalf("polled message lacks fields: %+v", m)
			}
		}
		it = &out.Iterator
		if out.Done && len(got) >= len(want)+len(fresh) {
			break
		}
	}
	if !slices.Equal(got, append(slices.Clone(want), fresh...)) {
		t.Fatalf("client-held iterator read %d messages out of order or twice", len(got))
	}
	var fids []string
	it = nil
	for len(fids) < len(others) {
		out, err := c.Message.Poller.Poll(ctx, appID, filtered.ID, &svix.MessagePollerPollOptions{Iterator: it})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Data {
			fids = append(fids, m.Id)
		}
		it = &out.Iterator
	}
	if !slices.Equal(fids, others) {
		t.Fatalf("filtered sink read %v; want %v", fids, others)
	}
	// A bad iterator and limit are 422s, not 500s.
	if st, _ := testenv.Call(t, env.URL, "GET", "/api/v1/app/"+appID+"/poller/"+sink.ID+"?iterator=nope", env.APIKey, ""); st != 422 {
		t.Fatalf("bad iterator: %d", st)
	}
	if st, _ := testenv.Call(t, env.URL, "GET", "/api/v1/app/"+appID+"/poller/"+sink.ID+"?limit=251", env.APIKey, ""); st != 422 {
		t.Fatalf("limit 251: %d", st)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestPoller_LateCommitIsNotSkipped: two writers, one holding its
// transaction open with a message whose id is older than a message the
// other commits meanwhile. A reader that went by id would hand out the
// newer message and then skip the older one when it commits; the poller
// hands out neither until the open transaction ends, then both, in commit
// transaction order, and the consumer sees each exactly once.
func TestPoller_LateCommitIsNotSkipped(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	appID := newApp(t, env, "late-app")
	var sink destOut
	if st, body := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", `{"type":"pollingEndpoint"}`, &sink); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	c := env.SDK(env.APIKey)
	poll := func() (ids []string, done bool) {
		out, err := c.Message.Poller.ConsumerPoll(ctx, appID, sink.ID, "late", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Data {
			ids = append(ids, m.Id)
		}
		return ids, out.Done
	}
	first := sendMessages(t, env, appID, 1, "late.event")

	// Writer 1: its message's id is taken now, its commit comes last.
	tx, err := env.SQL.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// (An id a moment old, so it sorts before the next one whatever the
	// random part: ids carry milliseconds/4.)
	lateID := tenants.NewID(tenants.PrefixMessage, time.Now().Add(-50*time.Millisecond))
	if _, err := tx.Exec(ctx, `INSERT INTO messages (id, tenant_id, app_id, event_type, payload, created_at, expires_at)
		VALUES ($1, $2, $3, 'late.event', '{"late":true}', now(), now() + interval '1 day')`, lateID, env.TenantID, appID); err != nil {
		t.Fatal(err)
	}
	// Writer 2 commits a newer message meanwhile.
	newer := sendMessages(t, env, appID, 1, "late.event")
	if newer[0] <= lateID {
		t.Fatalf("test setup: the committed message's id %s should sort after the open one's %s", newer[0], lateID)
	}
	var ids []string
	for deadline := time.Now().Add(20 * time.Second); len(ids) < 1 && time.Now().Before(deadline); {
		more, _ := poll()
		ids = append(ids, more...)
	}
	if !slices.Equal(ids, first) {
		t.Fatalf("with a writer open the polls returned %v; want only %v: the newer message must wait", ids, first)
	}
	if ids, _ := poll(); len(ids) != 0 {
		t.Fatalf("second poll with the writer open returned %v", ids)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ids = nil
	for deadline := time.Now().Add(20 * time.Second); len(ids) < 2 && time.Now().Before(deadline); {
		more, _ := poll()
		ids = append(ids, more...)
	}
	if !slices.Equal(ids, []string{lateID, newer[0]}) {
		t.Fatalf("after the commit the polls returned %v; want the late message, then the newer one", ids)
	}
	if ids, _ := poll(); len(ids) != 0 {
		t.Fatalf("a message came twice: %v", ids)
	}
}

// TestDestinations_SSRFRefused: where private targets are not allowed (the
// production default), a FIFO endpoint's URL and a RabbitMQ broker's URI
// that name a private or loopback address are refused at creation, as
// endpoint URLs are.
func TestDestinations_SSRFRefused(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	appID := newApp(t, env, "dest-ssrf")
	for _, body := range []string{
		`{"type":"fifoEndpoint","config":{"url":"http://127.0.0.1:8080/x"}}`,
		`{"type":"fifoEndpoint","config":{"url":"http://10.0.0.1/x"}}`,
		`{"type":"rabbitMq","config":{"uri":"amqp://guest:guest@127.0.0.1:5672/","routingKey":"k"}}`,
		`{"type":"rabbitMq","config":{"uri":"amqps://u:p@192.168.1.1/","routingKey":"k"}}`,
		`{"type":"rabbitMq","config":{"uri":"amqp://localhost/","routingKey":"k"}}`,
	} {
		if st, resp := destCall(t, env, "POST", "/api/v1/app/"+appID+"/destination", body, nil); st != 422 {
			t.Errorf("%s: %d %s; want 422", body, st, resp)
		}
	}
}
