package worker_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
)

func ptr[T any](v T) *T { return &v }

// verifyBoth checks a received webhook with two independent verifiers:
// the Standard Webhooks library (webhook-* headers) and the Svix SDK's.
func verifyBoth(t *testing.T, secret string, r received) {
	t.Helper()
	sw, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Verify(r.Body, r.Header); err != nil {
		t.Errorf("standard webhooks verification failed: %v", err)
	}
	sv, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := sv.Verify(r.Body, r.Header); err != nil {
		t.Errorf("svix verification failed: %v", err)
	}
}

func TestDelivery_SignedExactBody(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rc.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Endpoint.UpdateHeaders(ctx, app.Id, ep.Id, models.EndpointHeadersIn{Headers: map[string]string{"X-Custom": "yes"}}); err != nil {
		t.Fatal(err)
	}
	secret, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	// Sent raw, so the exact bytes (spacing, key order, unicode) can be checked.
	raw := `{"eventType":"user.created","payload":{"z": 1,  "a":"h\u00e9llo", "nested":{"b":[1,2,3]}}}`
	code, body := post(t, env, "/api/v1/app/"+app.Id+"/msg", raw)
	if code != 202 {
		t.Fatalf("create message: %d %s", code, body)
	}
	waitFor(t, 10*time.Second, "the webhook", func() bool { return len(rc.requests()) == 1 })
	r := rc.requests()[0]
	want := []byte(`{"z": 1,  "a":"h\u00e9llo", "nested":{"b":[1,2,3]}}`)
	if !bytes.Equal(r.Body, want) {
		t.Errorf("body = %s, want the payload exactly as sent: %s", r.Body, want)
	}
	for h, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "Hookline/dev", "X-Custom": "yes"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if r.Header.Get("webhook-id") == "" || r.Header.Get("webhook-id") != r.Header.Get("svix-id") ||
		r.Header.Get("webhook-signature") != r.Header.Get("svix-signature") {
		t.Errorf("signature headers: %v", r.Header)
	}
	verifyBoth(t, secret.Key, r)

	// The attempt is on record.
	msgs, err := c.Message.List(ctx, app.Id, nil)
	if err != nil || len(msgs.Data) != 1 {
		t.Fatalf("list messages: %+v %v", msgs, err)
	}
	waitFor(t, 5*time.Second, "the attempt record", func() bool {
		at, err := c.MessageAttempt.ListByMsg(ctx, app.Id, msgs.Data[0].Id, nil)
		return err == nil && len(at.Data) == 1 && at.Data[0].Status == models.MESSAGESTATUS_SUCCESS && at.Data[0].ResponseStatusCode == 200
	})
}

func post(t *testing.T, env *testenv.Env, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", env.URL+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+env.APIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}
