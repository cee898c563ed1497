package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
	"github.com/svix/svix-webhooks/go/utils"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// setTransformation sets an endpoint's code (enabled) through the SDK.
func setTransformation(t *testing.T, c *svix.Svix, appID, epID, code string, vars map[string]string) {
	t.Helper()
	p := models.EndpointTransformationPatch{Code: utils.NewNullable(code), Enabled: new(true)}
	if vars != nil {
		p.Variables = utils.NewNullable(vars)
	}
	if err := c.Endpoint.PatchTransformation(context.Background(), appID, epID, p); err != nil {
		t.Fatalf("patch transformation: %v", err)
	}
}

// TestTransform_ReshapesAndSigns: a transformation's method, URL, payload
// and headers are what the receiver gets, and the signature verifies over
// the transformed body.
func TestTransform_ReshapesAndSigns(t *testing.T) {
	t.Parallel()
	_, c, appID := setup(t, worker.Options{})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL + "/orig"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	setTransformation(t, c, appID, ep.Id, `function handler(webhook) {
		webhook.method = 'PUT';
		webhook.url = webhook.url.replace('/orig', '/changed/' + webhook.eventType);
		webhook.payload = {invoice: webhook.payload.id, total: webhook.payload.amount / 100};
		webhook.headers = {'X-Transformed': 'yes'};
		return webhook;
	}`, nil)
	m, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "invoice.paid", Payload: map[string]any{"id": "in_1", "amount": 4200}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the transformed request", func() bool { return len(rc.requests()) == 1 })
	got := rc.requests()[0]
	if want := `{"invoice":"in_1","total":42}`; string(got.Body) != want {
		t.Errorf("body = %s, want %s", got.Body, want)
	}
	if got.Header.Get("X-Transformed") != "yes" {
		t.Errorf("X-Transformed = %q", got.Header.Get("X-Transformed"))
	}
	secret, err := c.Endpoint.GetSecret(ctx, appID, ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := svix.NewWebhook(secret.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(got.Body, got.Header); err != nil {
		t.Errorf("signature over the transformed body does not verify: %v", err)
	}
	if got.Method != "PUT" || got.Path != "/changed/invoice.paid" {
		t.Errorf("request = %s %s, want PUT /changed/invoice.paid", got.Method, got.Path)
	}
	waitFor(t, 5*time.Second, "the attempt on record", func() bool { return len(attemptsOf(t, c, appID, m.Id)) == 1 })
	if a := attemptsOf(t, c, appID, m.Id)[0]; a.Url != rc.URL+"/changed/invoice.paid" || a.Status != models.MESSAGESTATUS_SUCCESS {
		t.Errorf("attempt url %q status %v, want the transformed URL, success", a.Url, a.Status)
	}
}

// TestTransform_Cancel: cancel: true sends nothing and records the
// attempt as canceled, with no retry; other messages still go.
func TestTransform_Cancel(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, worker.Options{})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	setTransformation(t, c, appID, ep.Id, `function handler(w) { w.cancel = w.payload.skip === true; return w; }`, nil)
	skipped, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "a.b", Payload: map[string]any{"skip": true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "a.b", Payload: map[string]any{"skip": false}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the canceled attempt", func() bool {
		var n int
		_ = env.SQL.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE msg_id = $1 AND status = $2`, skipped.Id, int(tenants.StatusCanceled)).Scan(&n)
		return n == 1
	})
	waitFor(t, 10*time.Second, "the other message", func() bool { return len(rc.requests()) == 1 })
	var dst int
	if err := env.SQL.QueryRow(ctx, `SELECT status FROM deliveries WHERE msg_id = $1`, skipped.Id).Scan(&dst); err != nil || dst != int(tenants.StatusCanceled) {
		t.Errorf("delivery status = %d, %v; want canceled", dst, err)
	}
	var errText string
	if err := env.SQL.QueryRow(ctx, `SELECT error FROM attempts WHERE msg_id = $1`, skipped.Id).Scan(&errText); err != nil || !strings.Contains(errText, "canceled by the endpoint's transformation") {
		t.Errorf("attempt error = %q, %v", errText, err)
	}
	for _, r := range rc.requests() {
		if r.Header.Get("webhook-id") != sent.Id {
			t.Errorf("receiver got %s, which was canceled", r.Header.Get("webhook-id"))
		}
	}
}

// TestTransform_FailuresAreContained: a throwing, a looping and a
// memory-hungry transformation each fail their own attempt with a clear
// message; another endpoint of the same message is delivered, the
// process stays healthy, and after the code is fixed a resend arrives.
func TestTransform_FailuresAreContained(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, worker.Options{})
	ctx := context.Background()
	healthy := newReceiver(t, nil)
	if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: healthy.URL}, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, code, want string
	}{
		{"throws", `function handler(w) { throw new Error('bad input ' + w.eventType); }`, "transformation_error: the handler threw: Error: bad input a.b"},
		{"loops", `function handler(w) { while (true) {} }`, "transformation_error: the handler did not finish within 100ms"},
		{"hungry", `function handler(w) { var a = []; while (true) { a.push('x'.repeat(1 << 16) + a.length); } }`, "transformation_error: the handler"},
		{"huge", `function handler(w) { w.payload = 'x'.repeat(1e10); return w; }`, "transformation_error: the handler threw: RangeError: string too large"},
	}
	type broken struct {
		ep *models.EndpointOut
		rc *receiver
	}
	eps := make([]broken, len(cases))
	for i, tc := range cases {
		rc := newReceiver(t, nil)
		ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL, Description: new(tc.name)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		setTransformation(t, c, appID, ep.Id, tc.code, nil)
		eps[i] = broken{ep, rc}
	}
	m := send(t, c, appID, "a.b", nil)
	waitFor(t, 10*time.Second, "the healthy endpoint's delivery", func() bool { return len(healthy.requests()) == 1 })
	for i, tc := range cases {
		waitFor(t, 10*time.Second, tc.name+"'s failed attempt", func() bool {
			list, err := c.MessageAttempt.ListByEndpoint(ctx, appID, eps[i].ep.Id, nil)
			return err == nil && len(list.Data) > 0
		})
		var errText string
		if err := env.SQL.QueryRow(ctx, `SELECT error FROM attempts WHERE endpoint_id = $1 ORDER BY id LIMIT 1`, eps[i].ep.Id).Scan(&errText); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(errText, tc.want) {
			t.Errorf("%s: attempt error = %q, want it to start with %q", tc.name, errText, tc.want)
		}
		var st, n int
		if err := env.SQL.QueryRow(ctx, `SELECT status, attempts FROM deliveries WHERE endpoint_id = $1`, eps[i].ep.Id).Scan(&st, &n); err != nil || st != int(tenants.StatusPending) {
			t.Errorf("%s: delivery status %d (%v), want pending: a transformation error is retried", tc.name, st, err)
		}
		if len(eps[i].rc.requests()) != 0 {
			t.Errorf("%s: its receiver got a request", tc.name)
		}
	}
	// The process is healthy: the next message reaches the healthy
	// endpoint, and the API answers.
	send(t, c, appID, "a.b", nil)
	waitFor(t, 10*time.Second, "the next message", func() bool { return len(healthy.requests()) == 2 })
	if err := c.Health.Get(ctx); err != nil {
		t.Errorf("health: %v", err)
	}
	// Fixed code takes effect on a resend at once.
	fixed := eps[0]
	setTransformation(t, c, appID, fixed.ep.Id, `function handler(w) { w.payload = {fixed: true, type: w.eventType}; return w; }`, nil)
	if _, err := c.MessageAttempt.Resend(ctx, appID, m.Id, fixed.ep.Id, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the resend with fixed code", func() bool { return len(fixed.rc.requests()) >= 1 })
	if got := fixed.rc.requests()[0].Body; string(got) != `{"fixed":true,"type":"a.b"}` {
		t.Errorf("resent body = %s", got)
	}
}

// TestTransform_Variables: variables reach the handler, read back masked,
// are sealed at rest, and a masked value sent back keeps the secret.
func TestTransform_Variables(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, worker.Options{})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "tok_very_secret_value_42"
	setTransformation(t, c, appID, ep.Id, `function handler(w, vars) { w.headers = {'X-Token': vars.token}; w.payload.region = w.variables.region; return w; }`,
		map[string]string{"token": secret, "region": "eu"})
	got, err := c.Endpoint.TransformationGet(ctx, appID, ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Variables == nil || (*got.Variables)["token"] != tenants.MaskedValue || (*got.Variables)["region"] != tenants.MaskedValue {
		t.Errorf("variables read back = %v, want masked", got.Variables)
	}
	if got.Enabled == nil || !*got.Enabled || got.Code == nil || !strings.Contains(*got.Code, "X-Token") || got.UpdatedAt == nil {
		t.Errorf("transformation read back = %+v", got)
	}
	var code string
	var sealed []byte
	if err := env.SQL.QueryRow(ctx, `SELECT code, sealed_variables FROM endpoint_transformations WHERE endpoint_id = $1`, ep.Id).Scan(&code, &sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(secret)) || len(sealed) == 0 {
		t.Errorf("variables stored in the clear or not at all: %q", sealed)
	}
	// Simulate uses the stored variables but never shows them: not in
	// the output, not in an error.
	simulate := func(code string) (int, string) {
		body, _ := json.Marshal(map[string]any{"code": code, "eventType": "a.b", "payload": map[string]any{"a": 1}})
		return testenv.Call(t, env.URL, "POST", "/api/v1/app/"+appID+"/endpoint/"+ep.Id+"/transformation/simulate", env.APIKey, string(body))
	}
	status, out := simulate(`function handler(w, v) { w.headers = {'X-T': 'Bearer ' + v.token}; w.payload = {t: v.token}; w.url = w.url + '?t=' + v.token; return w; }`)
	if status != 200 || strings.Contains(out, secret) || strings.Count(out, tenants.MaskedValue) < 3 {
		t.Errorf("simulate with the stored variables = %d %s; want every use masked", status, out)
	}
	status, out = simulate(`function handler(w, v) { throw new Error('token is ' + v.token); }`)
	if status != 422 || strings.Contains(out, secret) || !strings.Contains(out, tenants.MaskedValue) {
		t.Errorf("simulate's error = %d %s; want the variable masked", status, out)
	}
	// The GET's masked values sent back keep the secrets (a portal that
	// edits only the code round-trips them).
	masked := *got.Variables
	if err := c.Endpoint.PatchTransformation(ctx, appID, ep.Id, models.EndpointTransformationPatch{Variables: utils.NewNullable(masked)}); err != nil {
		t.Fatal(err)
	}
	send(t, c, appID, "a.b", nil)
	waitFor(t, 10*time.Second, "the delivery", func() bool { return len(rc.requests()) == 1 })
	r := rc.requests()[0]
	if r.Header.Get("X-Token") != secret {
		t.Errorf("X-Token = %q, want the variable", r.Header.Get("X-Token"))
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil || body["region"] != "eu" {
		t.Errorf("body = %s, %v", r.Body, err)
	}
	// The attempt log does not show the variable the handler sent.
	waitFor(t, 5*time.Second, "the attempt on record", func() bool {
		var n int
		_ = env.SQL.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE endpoint_id = $1`, ep.Id).Scan(&n)
		return n == 1
	})
	var recorded []byte
	if err := env.SQL.QueryRow(ctx, `SELECT request_headers::text FROM attempts WHERE endpoint_id = $1`, ep.Id).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(recorded, []byte(secret)) || !bytes.Contains(recorded, []byte(`"X-Token": "********"`)) {
		t.Errorf("recorded request headers = %s; want X-Token masked", recorded)
	}
}

// TestTransform_API: the transformation routes through the SDK and raw
// requests: defaults, a syntax error naming its line, a missing handler,
// a disabled transformation, removal, and simulate.
func TestTransform_API(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, worker.Options{})
	ctx := context.Background()
	rc := newReceiver(t, nil)
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Endpoint.TransformationGet(ctx, appID, ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != nil || (got.Enabled != nil && *got.Enabled) {
		t.Errorf("default transformation = %+v, want none, disabled", got)
	}
	for _, tc := range []struct{ name, code, want string }{
		{"Syntax", "function handler(w) {\n  return w +* 1;\n}", "transformation_error: syntax error"},
		{"NoHandler", "function transform(w) { return w; }", "named handler"},
		{"TooLarge", "function handler(w) { return w; } //" + strings.Repeat("x", 51200), "at most 51200"},
	} {
		code := tc.code
		err := c.Endpoint.PatchTransformation(ctx, appID, ep.Id, models.EndpointTransformationPatch{Code: utils.NewNullable(code)})
		var se *svix.Error
		if !errors.As(err, &se) || se.Status() != http.StatusUnprocessableEntity || !strings.Contains(string(se.Body()), tc.want) {
			t.Errorf("%s: err = %v, want 422 mentioning %q", tc.name, err, tc.want)
		}
	}
	// Code saved but disabled: messages go untransformed.
	code := `function handler(w) { w.payload = {changed: true}; return w; }`
	if err := c.Endpoint.PatchTransformation(ctx, appID, ep.Id, models.EndpointTransformationPatch{Code: utils.NewNullable(code), Enabled: new(false)}); err != nil {
		t.Fatal(err)
	}
	send(t, c, appID, "a.b", nil)
	waitFor(t, 10*time.Second, "an untransformed delivery", func() bool { return len(rc.requests()) == 1 })
	if b := rc.requests()[0].Body; bytes.Contains(b, []byte("changed")) {
		t.Errorf("disabled transformation ran: %s", b)
	}
	// Simulate: the result, and an error as a 422.
	sim := func(body string) (int, map[string]any) {
		status, resp := testenv.Call(t, env.URL, "POST", "/api/v1/app/"+appID+"/endpoint/"+ep.Id+"/transformation/simulate", env.APIKey, body)
		var out map[string]any
		_ = json.Unmarshal([]byte(resp), &out)
		return status, out
	}
	status, out := sim(`{"code":"function handler(w) { w.url = w.url + '/x'; w.payload = {n: w.payload.n + 1}; w.method = 'PUT'; return w; }","eventType":"a.b","payload":{"n":1}}`)
	if status != 200 || out["url"] != rc.URL+"/x" || out["payload"] != `{"n":2}` || out["method"] != "PUT" || out["cancel"] != false {
		t.Errorf("simulate = %d %v", status, out)
	}
	status, out = sim(`{"code":"function handler(w) { return w.nope.x; }","eventType":"a.b","payload":{}}`)
	if status != 422 || !strings.Contains(toJSON(out), "TypeError") {
		t.Errorf("simulate of a throwing handler = %d %v", status, out)
	}
	status, out = sim(`{"code":"function handler(w) { w.url = 'ftp://x'; return w; }","eventType":"a.b","payload":{}}`)
	if status != 422 || !strings.Contains(toJSON(out), "webhook.url") {
		t.Errorf("simulate to a bad URL = %d %v", status, out)
	}
	// Removal: code null.
	if err := c.Endpoint.PatchTransformation(ctx, appID, ep.Id, models.EndpointTransformationPatch{Code: utils.NewNullableFromPtr[string](nil)}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Endpoint.TransformationGet(ctx, appID, ep.Id); err != nil || got.Code != nil {
		t.Errorf("after removal: %+v, %v", got, err)
	}
}

// TestTransform_SSRF: a transformation cannot redirect a delivery to a
// private address where the process does not allow private targets.
func TestTransform_SSRF(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true}) // "SSRF" in the name: private targets refused
	c := env.SDK(env.APIKey)
	ctx := context.Background()
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An endpoint stored while private targets were allowed (the store
	// does not check): the transformation's URL is checked before any dial.
	stored, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.Id, tenants.EndpointInput{URL: "http://127.0.0.1:9/orig"})
	if err != nil {
		t.Fatal(err)
	}
	ep := &models.EndpointOut{Id: stored.ID}
	setTransformation(t, c, app.Id, ep.Id, `function handler(w) { w.url = 'http://127.0.0.1:9/internal'; return w; }`, nil)
	send(t, c, app.Id, "a.b", nil)
	waitFor(t, 10*time.Second, "the refused attempt", func() bool {
		var n int
		_ = env.SQL.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE endpoint_id = $1 AND error LIKE 'transformation_error: webhook.url%'`, ep.Id).Scan(&n)
		return n == 1
	})
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
