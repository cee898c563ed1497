package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
)

// waitUntil polls cond every 20 ms until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scriptedReceiver is a real HTTP receiver answering status() to every
// request and recording the msg ids (webhook-id header) it was sent.
type scriptedReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []string
}

func newScriptedReceiver(t *testing.T, status int) *scriptedReceiver {
	r := &scriptedReceiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got = append(r.got, req.Header.Get("webhook-id"))
		st := r.status
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *scriptedReceiver) setStatus(st int) {
	r.mu.Lock()
	r.status = st
	r.mu.Unlock()
}

// received returns how many requests carried each msg id.
func (r *scriptedReceiver) received() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, id := range r.got {
		out[id]++
	}
	return out
}

func msgIDs(ms []models.MessageOut) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Id)
	}
	slices.Sort(out)
	return out
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestSDK_TagFilters: tag on message list, attempted messages and both
// attempt lists returns exactly the tagged messages and their attempts;
// with_msg embeds the message (without payload).
func TestSDK_TagFilters(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	rcv := newScriptedReceiver(t, 200)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "tags"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rcv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(tags ...string) string {
		m, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "user.created", Payload: map[string]any{"k": 1}, Tags: tags}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m.Id
	}
	m1, m2, m3, m4 := send("a"), send("a", "b"), send("b"), send()
	waitUntil(t, 10*time.Second, "4 attempts", func() bool {
		pg, err := c.MessageAttempt.ListByEndpoint(ctx, app.Id, ep.Id, nil)
		return err == nil && len(pg.Data) == 4
	})

	for tag, want := range map[string][]string{"a": sorted(m1, m2), "b": sorted(m2, m3), "none": nil} {
		pg, err := c.Message.List(ctx, app.Id, &svix.MessageListOptions{Tag: ptr(tag)})
		if err != nil {
			t.Fatal(err)
		}
		if got := msgIDs(pg.Data); !slices.Equal(got, want) {
			t.Errorf("message list tag=%s = %v, want %v", tag, got, want)
		}
		am, err := c.MessageAttempt.ListAttemptedMessages(ctx, app.Id, ep.Id, &svix.MessageAttemptListAttemptedMessagesOptions{Tag: ptr(tag)})
		if err != nil {
			t.Fatal(err)
		}
		var gotAM []string
		for _, m := range am.Data {
			gotAM = append(gotAM, m.Id)
		}
		if slices.Sort(gotAM); !slices.Equal(gotAM, want) {
			t.Errorf("attempted messages tag=%s = %v, want %v", tag, gotAM, want)
		}
		at, err := c.MessageAttempt.ListByEndpoint(ctx, app.Id, ep.Id, &svix.MessageAttemptListByEndpointOptions{Tag: ptr(tag), WithMsg: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		var gotAt []string
		for _, a := range at.Data {
			gotAt = append(gotAt, a.MsgId)
			if a.Msg == nil || a.Msg.Id != a.MsgId || a.Msg.EventType != "user.created" || len(a.Msg.Payload) != 0 {
				t.Errorf("with_msg: attempt %s msg = %+v, want the message without payload", a.Id, a.Msg)
			}
		}
		if slices.Sort(gotAt); !slices.Equal(gotAt, want) {
			t.Errorf("attempts by endpoint tag=%s: messages %v, want %v", tag, gotAt, want)
		}
	}
	// Without with_msg, no msg.
	at, err := c.MessageAttempt.ListByEndpoint(ctx, app.Id, ep.Id, nil)
	if err != nil || len(at.Data) != 4 || at.Data[0].Msg != nil {
		t.Fatalf("attempts without with_msg = %+v, %v", at, err)
	}
	for msg, tag := range map[string]string{m1: "a", m4: "a", m3: "b"} {
		pg, err := c.MessageAttempt.ListByMsg(ctx, app.Id, msg, &svix.MessageAttemptListByMsgOptions{Tag: ptr(tag)})
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if msg == m4 {
			want = 0
		}
		if len(pg.Data) != want {
			t.Errorf("attempts of %s tag=%s: %d, want %d", msg, tag, len(pg.Data), want)
		}
	}

	// eventId and channels are present as null when unset.
	code, body := call(t, env.URL, "GET", "/api/v1/app/"+app.Id+"/msg/"+m4, env.APIKey, "")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); code != 200 || err != nil {
		t.Fatalf("get message: %d %s", code, body)
	}
	for _, k := range []string{"eventId", "channels"} {
		if v, ok := raw[k]; !ok || string(v) != "null" {
			t.Errorf("message %s = %s (present %v), want null", k, v, ok)
		}
	}
}

// TestSDK_AppListExcludesAndExpandedStatuses: the two exclude_apps_with_*
// flags, and canceled deliveries shown as success unless
// expanded_statuses=true (as Svix does for older clients).
func TestSDK_AppListExcludesAndExpandedStatuses(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	closed := "http://127.0.0.1:9/closed" // nothing listens; no worker runs
	mk := func(name string, disabled ...bool) string {
		a, err := c.Application.Create(ctx, models.ApplicationIn{Name: name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range disabled {
			if _, err := c.Endpoint.Create(ctx, a.Id, models.EndpointIn{Url: closed, Disabled: ptr(d)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		return a.Id
	}
	none, onlyDisabled, mixed := mk("none"), mk("only-disabled", true), mk("mixed", true, false)
	for _, tc := range []struct {
		noEP, disabledEP bool
		want             []string
	}{
		{false, false, sorted(none, onlyDisabled, mixed)},
		{true, false, sorted(onlyDisabled, mixed)},
		{false, true, sorted(none, mixed)},
		{true, true, sorted(mixed)},
	} {
		pg, err := c.Application.List(ctx, &svix.ApplicationListOptions{ExcludeAppsWithNoEndpoints: ptr(tc.noEP), ExcludeAppsWithDisabledEndpoints: ptr(tc.disabledEP)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range pg.Data {
			got = append(got, a.Id)
		}
		if slices.Sort(got); !slices.Equal(got, tc.want) {
			t.Errorf("exclude no=%v disabled=%v: %v, want %v", tc.noEP, tc.disabledEP, got, tc.want)
		}
	}

	eps, err := c.Endpoint.List(ctx, mixed, nil)
	if err != nil {
		t.Fatal(err)
	}
	var live string
	for _, e := range eps.Data {
		if e.Disabled == nil || !*e.Disabled {
			live = e.Id
		}
	}
	m, err := c.Message.Create(ctx, mixed, models.MessageIn{EventType: "x.y", Payload: map[string]any{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var delivery int64
	if err := env.SQL.QueryRow(ctx, `SELECT id FROM deliveries WHERE msg_id = $1`, m.Id).Scan(&delivery); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.SetDeliveryStatus(ctx, env.TenantID, delivery, tenants.StatusCanceled); err != nil {
		t.Fatal(err)
	}
	for expanded, want := range map[bool]models.MessageStatus{false: models.MESSAGESTATUS_SUCCESS, true: models.MESSAGESTATUS_CANCELED} {
		pg, err := c.MessageAttempt.ListAttemptedMessages(ctx, mixed, live, &svix.MessageAttemptListAttemptedMessagesOptions{ExpandedStatuses: ptr(expanded)})
		if err != nil || len(pg.Data) != 1 {
			t.Fatalf("attempted messages: %+v, %v", pg, err)
		}
		if pg.Data[0].Status != want {
			t.Errorf("expanded_statuses=%v: status %v, want %v", expanded, pg.Data[0].Status, want)
		}
	}
}
