package operational_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

func ptr[T any](v T) *T { return &v }

func sdkStatus(err error) int {
	var e *svix.Error
	if errors.As(err, &e) {
		return e.Status()
	}
	return 0
}

// hook is one webhook a receiver got.
type hook struct {
	Header http.Header
	Body   []byte
}

// receiver is a real HTTP server on loopback that records every request
// and answers status.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hook
	status int
}

func newReceiver(t *testing.T, status int) *receiver {
	rc := &receiver{status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, hook{Header: r.Header.Clone(), Body: b})
		st := rc.status
		rc.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setStatus(s int) {
	rc.mu.Lock()
	rc.status = s
	rc.mu.Unlock()
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

// events returns the received operational events of type typ, each
// verified with secret by the Standard Webhooks library.
func (rc *receiver) events(t *testing.T, secret, typ string) []hook {
	t.Helper()
	sw, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []hook
	for _, h := range rc.got {
		var env struct{ Type string }
		if err := json.Unmarshal(h.Body, &env); err != nil {
			t.Fatalf("operational webhook body %s: %v", h.Body, err)
		}
		if env.Type != typ {
			continue
		}
		if err := sw.Verify(h.Body, h.Header); err != nil {
			t.Fatalf("%s does not verify with the operational endpoint's secret: %v", typ, err)
		}
		out = append(out, h)
	}
	return out
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// opEndpoint creates an operational endpoint pointing at rc and returns it
// with its secret.
func opEndpoint(t *testing.T, c *svix.Svix, rc *receiver, types ...string) (*models.OperationalWebhookEndpointOut, string) {
	t.Helper()
	ctx := context.Background()
	ep, err := c.OperationalWebhookEndpoint.Create(ctx, models.OperationalWebhookEndpointIn{Url: rc.URL + "/ops", FilterTypes: types}, nil)
	if err != nil {
		t.Fatalf("create operational endpoint: %v", err)
	}
	sec, err := c.OperationalWebhookEndpoint.GetSecret(ctx, ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	return ep, sec.Key
}

func TestSDK_OperationalWebhookEndpoints(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	c := env.SDK(env.APIKey)

	// Before any: an empty list, and 404 for an unknown id.
	list, err := c.OperationalWebhookEndpoint.List(ctx, nil)
	if err != nil || len(list.Data) != 0 || !list.Done {
		t.Fatalf("empty list = %+v, %v", list, err)
	}
	if _, err := c.OperationalWebhookEndpoint.Get(ctx, "ep_2aaaaaaaaaaaaaaaaaaaaaaaaaa"); sdkStatus(err) != 404 {
		t.Fatalf("get unknown: err = %v, want 404", err)
	}

	const url = "http://127.0.0.1:1/ops" // a closed port: nothing is delivered in this test
	ep, err := c.OperationalWebhookEndpoint.Create(ctx, models.OperationalWebhookEndpointIn{
		Url: url, Uid: ptr("ops-1"), Description: ptr("alerts"),
		FilterTypes: []string{operational.EndpointDisabled, operational.MessageAttemptExhausted},
		Metadata:    &map[string]string{"team": "sre"}, ThrottleRate: ptr(uint16(10)),
		Secret: ptr("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
	}, nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if ep.Url != url || ep.Uid == nil || *ep.Uid != "ops-1" || ep.Description != "alerts" || ep.Metadata["team"] != "sre" ||
		!slices.Equal(ep.FilterTypes, []string{"endpoint.disabled", "message.attempt.exhausted"}) ||
		ep.ThrottleRate == nil || *ep.ThrottleRate != 10 || (ep.Disabled != nil && *ep.Disabled) {
		t.Fatalf("created = %+v", ep)
	}
	got, err := c.OperationalWebhookEndpoint.Get(ctx, ep.Id)
	if err != nil || got.Id != ep.Id || got.Url != url {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if byUID, err := c.OperationalWebhookEndpoint.Get(ctx, "ops-1"); err != nil || byUID.Id != ep.Id {
		t.Fatalf("get by uid = %+v, %v", byUID, err)
	}
	if _, err := c.OperationalWebhookEndpoint.Create(ctx, models.OperationalWebhookEndpointIn{Url: url, FilterTypes: []string{"user.created"}}, nil); sdkStatus(err) != 422 {
		t.Fatalf("unknown filter type: err = %v, want 422", err)
	}
	second, err := c.OperationalWebhookEndpoint.Create(ctx, models.OperationalWebhookEndpointIn{Url: url + "2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err = c.OperationalWebhookEndpoint.List(ctx, &svix.OperationalWebhookEndpointListOptions{Limit: ptr(uint64(10))})
	if err != nil || len(list.Data) != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}

	// Update replaces the fields; the secret stays.
	up, err := c.OperationalWebhookEndpoint.Update(ctx, ep.Id, models.OperationalWebhookEndpointUpdate{
		Url: url + "/v2", Description: ptr("pager"), Disabled: ptr(true), FilterTypes: []string{operational.EndpointDisabled},
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if up.Url != url+"/v2" || up.Description != "pager" || up.Disabled == nil || !*up.Disabled || !slices.Equal(up.FilterTypes, []string{"endpoint.disabled"}) || up.Uid != nil {
		t.Fatalf("updated = %+v", up)
	}
	if _, err := c.OperationalWebhookEndpoint.Update(ctx, "ep_2aaaaaaaaaaaaaaaaaaaaaaaaaa", models.OperationalWebhookEndpointUpdate{Url: url}); sdkStatus(err) != 404 {
		t.Fatalf("update unknown: err = %v, want 404", err)
	}

	// Secret: the one given at create, then a rotation to a chosen key and
	// to a generated one.
	sec, err := c.OperationalWebhookEndpoint.GetSecret(ctx, ep.Id)
	if err != nil || sec.Key != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Fatalf("secret = %+v, %v", sec, err)
	}
	if err := c.OperationalWebhookEndpoint.RotateSecret(ctx, ep.Id, models.OperationalWebhookEndpointSecretIn{Key: ptr("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")}, nil); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	if sec, err = c.OperationalWebhookEndpoint.GetSecret(ctx, ep.Id); err != nil || sec.Key != "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD" {
		t.Fatalf("rotated secret = %+v, %v", sec, err)
	}
	if err := c.OperationalWebhookEndpoint.RotateSecret(ctx, ep.Id, models.OperationalWebhookEndpointSecretIn{}, nil); err != nil {
		t.Fatalf("rotate to a new key: %v", err)
	}
	if sec2, err := c.OperationalWebhookEndpoint.GetSecret(ctx, ep.Id); err != nil || sec2.Key == sec.Key || len(sec2.Key) < 20 {
		t.Fatalf("generated secret = %+v, %v", sec2, err)
	}

	// Headers: replace, then patch (add one, delete one) over plain HTTP
	// (the SDK has no PATCH for them).
	if err := c.OperationalWebhookEndpoint.UpdateHeaders(ctx, ep.Id, models.OperationalWebhookEndpointHeadersIn{Headers: map[string]string{"X-Team": "sre", "Authorization": "Bearer x"}}); err != nil {
		t.Fatalf("update headers: %v", err)
	}
	h, err := c.OperationalWebhookEndpoint.GetHeaders(ctx, ep.Id)
	if err != nil || h.Headers["X-Team"] != "sre" || !slices.Equal(h.Sensitive, []string{"Authorization"}) {
		t.Fatalf("headers = %+v, %v", h, err)
	}
	req, _ := http.NewRequest("PATCH", env.URL+"/api/v1/operational-webhook/endpoint/"+ep.Id+"/headers",
		bytes.NewBufferString(`{"headers":{"X-Team":null,"X-Env":"prod"}}`))
	req.Header.Set("Authorization", "Bearer "+env.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("patch headers: %d", resp.StatusCode)
	}
	h, err = c.OperationalWebhookEndpoint.GetHeaders(ctx, ep.Id)
	if _, still := h.Headers["X-Team"]; err != nil || still || h.Headers["X-Env"] != "prod" {
		t.Fatalf("patched headers = %+v, %v", h, err)
	}

	// Another tenant sees none of it; an app token may not call it.
	_, otherKey, _ := env.NewTenant("other")
	other := env.SDK(otherKey)
	if _, err := other.OperationalWebhookEndpoint.Get(ctx, ep.Id); sdkStatus(err) != 404 {
		t.Fatalf("other tenant get: err = %v, want 404", err)
	}
	if l, err := other.OperationalWebhookEndpoint.List(ctx, nil); err != nil || len(l.Data) != 0 {
		t.Fatalf("other tenant list = %+v, %v", l, err)
	}

	// The system application holding them is never an application.
	apps, err := c.Application.List(ctx, nil)
	if err != nil || len(apps.Data) != 0 {
		t.Fatalf("application list = %+v, %v; want no application (the system one is hidden)", apps, err)
	}
	sys, err := env.Store.SystemApplication(ctx, env.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Application.Get(ctx, sys.ID); sdkStatus(err) != 404 {
		t.Fatalf("get system application: err = %v, want 404", err)
	}
	if _, err := c.Endpoint.List(ctx, sys.ID, nil); sdkStatus(err) != 404 {
		t.Fatalf("endpoints of the system application: err = %v, want 404", err)
	}
	if _, err := c.Authentication.AppPortalAccess(ctx, sys.ID, models.AppPortalAccessIn{}, nil); sdkStatus(err) != 404 {
		t.Fatalf("portal access to the system application: err = %v, want 404", err)
	}

	// Delete.
	if err := c.OperationalWebhookEndpoint.Delete(ctx, second.Id); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.OperationalWebhookEndpoint.Get(ctx, second.Id); sdkStatus(err) != 404 {
		t.Fatalf("get deleted: err = %v, want 404", err)
	}
	if err := c.OperationalWebhookEndpoint.Delete(ctx, second.Id); sdkStatus(err) != 404 {
		t.Fatalf("delete again: err = %v, want 404", err)
	}
}

// TestOperational_ExhaustedAndFailing: a message whose endpoint always
// fails exhausts the test stack's schedule (4 tries); the operational
// endpoint gets message.attempt.failing on the 4th failure
// (DefaultFailingAfter) and message.attempt.exhausted, signed with its own
// secret. The operational deliveries are on record like any.
func TestOperational_ExhaustedAndFailing(t *testing.T) {
	t.Parallel()
	// Fast retries (not production's 5 s to 10 h): attempts must exhaust within the test.
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{})})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	ops := newReceiver(t, 200)
	opEP, secret := opEndpoint(t, c, ops, operational.MessageAttemptExhausted, operational.MessageAttemptFailing)
	failing := newReceiver(t, 500)

	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "customer", Uid: ptr("cust")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: failing.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "invoice.paid", EventId: ptr("evt-1"), Payload: map[string]any{"n": 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two events, two messages of the system application: they may arrive
	// in either order.
	waitFor(t, 20*time.Second, "message.attempt.exhausted and .failing", func() bool {
		return len(ops.events(t, secret, operational.MessageAttemptExhausted)) == 1 && len(ops.events(t, secret, operational.MessageAttemptFailing)) == 1
	})
	if n := failing.count(); n != 4 {
		t.Errorf("failing endpoint got %d attempts, want 4 (the test schedule)", n)
	}
	var ev models.MessageAttemptExhaustedEvent
	if err := json.Unmarshal(ops.events(t, secret, operational.MessageAttemptExhausted)[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Data
	if ev.Type != "message.attempt.exhausted" || d.AppId != app.Id || d.AppUid == nil || *d.AppUid != "cust" || d.EndpointId != ep.Id ||
		d.MsgId != msg.Id || d.MsgEventId == nil || *d.MsgEventId != "evt-1" || d.LastAttempt.ResponseStatusCode != 500 || d.LastAttempt.Id == "" {
		t.Errorf("exhausted event = %+v", ev)
	}
	fe := ops.events(t, secret, operational.MessageAttemptFailing)
	if len(fe) != 1 {
		t.Fatalf("got %d message.attempt.failing, want 1", len(fe))
	}
	var fev models.MessageAttemptFailingEvent
	if err := json.Unmarshal(fe[0].Body, &fev); err != nil || fev.Data.MsgId != msg.Id || fev.Data.LastAttempt.ResponseStatusCode != 500 {
		t.Errorf("failing event = %+v, %v", fev, err)
	}

	// On record: the system application's message and successful attempt.
	sys, err := env.Store.SystemApplication(ctx, env.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the attempt on record", func() bool {
		pg, err := env.Store.FindAttemptsByEndpoint(ctx, env.TenantID, sys.ID, opEP.Id, tenants.AttemptFilter{MessageFilter: tenants.MessageFilter{ListParams: tenants.ListParams{Limit: 10}}})
		return err == nil && len(pg.Items) == 2
	})
}

// TestOperational_EndpointEventsManual: endpoint create, update, manual
// disable and enable, and delete each send their event; the operational
// endpoint's filter lets through only what it lists.
func TestOperational_EndpointEventsManual(t *testing.T) {
	t.Parallel()
	// Fast retries (not production's 5 s to 10 h): attempts must exhaust within the test.
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{})})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	ops := newReceiver(t, 200)
	_, secret := opEndpoint(t, c, ops) // no filter: every event
	filtered := newReceiver(t, 200)
	_, fsecret := opEndpoint(t, c, filtered, operational.EndpointDisabled)

	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "customer"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "http://127.0.0.1:1/closed", Uid: ptr("main")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Endpoint.Patch(ctx, app.Id, ep.Id, models.EndpointPatch{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Endpoint.Update(ctx, app.Id, ep.Id, models.EndpointUpdate{Url: "http://127.0.0.1:1/closed", Disabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Endpoint.Delete(ctx, app.Id, ep.Id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "six endpoint events", func() bool { return ops.count() == 6 })
	for typ, n := range map[string]int{"endpoint.created": 1, "endpoint.updated": 2, "endpoint.disabled": 1, "endpoint.enabled": 1, "endpoint.deleted": 1} {
		if got := len(ops.events(t, secret, typ)); got != n {
			t.Errorf("%s: got %d, want %d", typ, got, n)
		}
	}
	var dis models.EndpointDisabledEvent
	if err := json.Unmarshal(ops.events(t, secret, "endpoint.disabled")[0].Body, &dis); err != nil {
		t.Fatal(err)
	}
	if dis.Data.Trigger == nil || *dis.Data.Trigger != models.ENDPOINTDISABLEDTRIGGER_MANUAL || dis.Data.EndpointId != ep.Id ||
		dis.Data.AppId != app.Id || dis.Data.EndpointUid == nil || *dis.Data.EndpointUid != "main" {
		t.Errorf("endpoint.disabled = %+v", dis)
	}
	var del models.EndpointDeletedEvent
	if err := json.Unmarshal(ops.events(t, secret, "endpoint.deleted")[0].Body, &del); err != nil || del.Data.EndpointId != ep.Id {
		t.Errorf("endpoint.deleted = %+v, %v", del, err)
	}
	waitFor(t, 5*time.Second, "the filtered endpoint's event", func() bool { return filtered.count() >= 1 })
	env.WaitSettled(t, 20*time.Second) // anything wrongly routed has arrived by then
	if n := len(filtered.events(t, fsecret, "endpoint.disabled")); n != 1 || filtered.count() != 1 {
		t.Errorf("filtered endpoint got %d requests (%d endpoint.disabled), want only the one endpoint.disabled", filtered.count(), n)
	}
}

// TestOperational_AutoDisableAndRecovered_ShortDisableAfter changes two
// defaults: DisableAfter (2.5s, so an endpoint failing for that long is
// disabled within the test) and a longer retry schedule (6 tries, so a
// delivery can fail 4 times and then succeed, well before DisableAfter).
func TestOperational_AutoDisableAndRecovered_ShortDisableAfter(t *testing.T) {
	t.Parallel()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	// A short DisableAfter and retry schedule, and fast polling: the
	// endpoint must be disabled and recover within the test.
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastPolling(worker.Options{
		DisableAfter:  ms(2500),
		RetrySchedule: []time.Duration{ms(100), ms(100), ms(100), ms(1000), ms(3000)},
	})})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	ops := newReceiver(t, 200)
	_, secret := opEndpoint(t, c, ops, operational.EndpointDisabled, operational.MessageAttemptRecovered, operational.MessageAttemptFailing)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "customer"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Recovered: fails 4 times, then the receiver heals before the 5th.
	flaky := newReceiver(t, 503)
	fep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: flaky.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "a.b", Payload: map[string]any{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "message.attempt.failing", func() bool { return len(ops.events(t, secret, operational.MessageAttemptFailing)) == 1 })
	flaky.setStatus(200)
	waitFor(t, 10*time.Second, "message.attempt.recovered", func() bool { return len(ops.events(t, secret, operational.MessageAttemptRecovered)) == 1 })
	var rec models.MessageAttemptRecoveredEvent
	if err := json.Unmarshal(ops.events(t, secret, operational.MessageAttemptRecovered)[0].Body, &rec); err != nil ||
		rec.Data.MsgId != msg.Id || rec.Data.EndpointId != fep.Id || rec.Data.LastAttempt.ResponseStatusCode != 200 {
		t.Errorf("recovered = %+v, %v", rec, err)
	}

	// Automatic disable: an endpoint failing for longer than DisableAfter.
	dead := newReceiver(t, 500)
	dep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: dead.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "a.b", Payload: map[string]any{}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "endpoint.disabled", func() bool { return len(ops.events(t, secret, operational.EndpointDisabled)) == 1 })
	var dis models.EndpointDisabledEvent
	if err := json.Unmarshal(ops.events(t, secret, operational.EndpointDisabled)[0].Body, &dis); err != nil {
		t.Fatal(err)
	}
	if dis.Data.Trigger == nil || *dis.Data.Trigger != models.ENDPOINTDISABLEDTRIGGER_AUTOMATIC || dis.Data.EndpointId != dep.Id || dis.Data.FailSince == nil {
		t.Errorf("endpoint.disabled = %+v", dis)
	}
	got, err := c.Endpoint.Get(ctx, app.Id, dep.Id)
	if err != nil || got.Disabled == nil || !*got.Disabled {
		t.Errorf("endpoint after auto-disable = %+v, %v", got, err)
	}
}

// TestOperational_BackgroundTaskFinished: a recovery (a background task)
// sends background_task.finished with the task's id, type and status.
func TestOperational_BackgroundTaskFinished(t *testing.T) {
	t.Parallel()
	// Fast retries (not production's 5 s to 10 h): attempts must exhaust within the test.
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastRetries(worker.Options{})})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	ops := newReceiver(t, 200)
	_, secret := opEndpoint(t, c, ops, operational.BackgroundTaskFinished)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "customer"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: "http://127.0.0.1:1/closed", Disabled: ptr(true)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	task, err := c.Endpoint.Recover(ctx, app.Id, ep.Id, models.RecoverIn{Since: time.Now().Add(-time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "background_task.finished", func() bool { return len(ops.events(t, secret, operational.BackgroundTaskFinished)) == 1 })
	var ev models.BackgroundTaskFinishedEvent
	if err := json.Unmarshal(ops.events(t, secret, operational.BackgroundTaskFinished)[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Data.TaskId != task.Id || ev.Data.Task != models.BACKGROUNDTASKTYPE_ENDPOINT_RECOVER || ev.Data.Status != models.BACKGROUNDTASKSTATUS_FINISHED {
		t.Errorf("background_task.finished = %+v, want task %s (endpoint.recover, finished)", ev, task.Id)
	}
}

// TestOperational_EndpointThrottled: an endpoint whose receiver keeps
// answering 429 sees its lane fall to one attempt at a time; once it has
// sat there for ThrottledAfter (here 1 s; production 10 minutes),
// endpoint.throttled arrives, once for the stretch, naming the endpoint
// and since when.
func TestOperational_EndpointThrottled(t *testing.T) {
	t.Parallel()
	sched := make([]time.Duration, 40)
	for i := range sched {
		sched[i] = 100 * time.Millisecond
	}
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: testenv.FastPolling(worker.Options{
		RetrySchedule: sched, ThrottledAfter: time.Second, Breaker: worker.BreakerOptions{Disabled: true},
	})})
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	ops := newReceiver(t, 200)
	_, secret := opEndpoint(t, c, ops, operational.EndpointThrottled)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "customer", Uid: ptr("cust")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	busy := newReceiver(t, http.StatusTooManyRequests)
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: busy.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 10 {
		if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "a.b", Payload: map[string]any{}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 20*time.Second, "endpoint.throttled", func() bool { return len(ops.events(t, secret, operational.EndpointThrottled)) > 0 })
	var ev struct {
		Type string
		Data operational.ThrottledData
	}
	if err := json.Unmarshal(ops.events(t, secret, operational.EndpointThrottled)[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Data
	if ev.Type != operational.EndpointThrottled || d.AppID != app.Id || d.AppUID == nil || *d.AppUID != "cust" || d.EndpointID != ep.Id ||
		d.Since.Before(start) || time.Since(d.Since) < time.Second {
		t.Errorf("endpoint.throttled = %+v; want app %s, endpoint %s, since after %s and a second ago or more", ev, app.Id, ep.Id, start)
	}
	// More attempts at 1: still one event for the stretch.
	seen := busy.count()
	waitFor(t, 10*time.Second, "five more attempts", func() bool { return busy.count() >= seen+5 })
	if n := len(ops.events(t, secret, operational.EndpointThrottled)); n != 1 {
		t.Errorf("%d endpoint.throttled events for one stretch, want 1", n)
	}
}
