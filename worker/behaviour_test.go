package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// setup returns a stack with a worker, an SDK client and one application.
func setup(t testing.TB, wo worker.Options) (*testenv.Env, *svix.Svix, string) {
	t.Helper()
	env := testenv.New(t, testenv.Options{Worker: true, WorkerOptions: wo})
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(context.Background(), models.ApplicationIn{Name: "app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env, c, app.Id
}

func send(t *testing.T, c *svix.Svix, appID, eventType string, channels []string) *models.MessageOut {
	t.Helper()
	m, err := c.Message.Create(context.Background(), appID, models.MessageIn{
		EventType: eventType, Payload: map[string]any{"type": eventType}, Channels: channels,
	}, nil)
	if err != nil {
		t.Fatalf("send %s: %v", eventType, err)
	}
	return m
}

func attemptsOf(t *testing.T, c *svix.Svix, appID, msgID string) []models.MessageAttemptOut {
	t.Helper()
	out, err := c.MessageAttempt.ListByMsg(context.Background(), appID, msgID, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Oldest first reads better in assertions.
	slices.Reverse(out.Data)
	return out.Data
}

// TestDelivery_RetriesThenSucceeds: a receiver failing twice then
// succeeding yields three attempts on record, spaced by the schedule.
func TestDelivery_RetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	sched := []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 600 * time.Millisecond}
	env, c, appID := setup(t, testenv.FastPolling(worker.Options{RetrySchedule: sched})) // retries in ms: fast polling
	_ = env
	rc := newReceiver(t, func(_ string, n int, _ *http.Request) int {
		if n <= 2 {
			return 500
		}
		return 200
	})
	ctx := context.Background()
	if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil); err != nil {
		t.Fatal(err)
	}
	m := send(t, c, appID, "order.created", nil)
	waitFor(t, 15*time.Second, "three attempts", func() bool { return len(attemptsOf(t, c, appID, m.Id)) == 3 })
	at := attemptsOf(t, c, appID, m.Id)
	wantStatus := []models.MessageStatus{models.MESSAGESTATUS_FAIL, models.MESSAGESTATUS_FAIL, models.MESSAGESTATUS_SUCCESS}
	wantCode := []int16{500, 500, 200}
	for i, a := range at {
		if a.Status != wantStatus[i] || a.ResponseStatusCode != wantCode[i] || a.TriggerType != models.MESSAGEATTEMPTTRIGGERTYPE_SCHEDULED {
			t.Errorf("attempt %d = status %v code %d trigger %v; want %v %d scheduled", i+1, a.Status, a.ResponseStatusCode, a.TriggerType, wantStatus[i], wantCode[i])
		}
	}
	got := rc.requests()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	for i := 1; i < 3; i++ {
		gap := got[i].At.Sub(got[i-1].At)
		lo := time.Duration(float64(sched[i-1])*0.8) - 5*time.Millisecond
		if gap < lo || gap > time.Duration(float64(sched[i-1])*1.2)+2*time.Second {
			t.Errorf("gap before attempt %d = %v, want about %v (±20%%)", i+1, gap, sched[i-1])
		}
		if got[i].Header.Get("webhook-id") != got[0].Header.Get("webhook-id") {
			t.Error("webhook-id changed between retries")
		}
	}
	// The message is a success on the endpoint.
	dests, err := c.MessageAttempt.ListAttemptedDestinations(ctx, appID, m.Id, nil)
	if err != nil || len(dests.Data) != 1 || dests.Data[0].Status != models.MESSAGESTATUS_SUCCESS {
		t.Errorf("destinations = %+v, %v", dests, err)
	}
}

// TestDelivery_FailsAfterSchedule: a receiver that never succeeds gets the
// first try plus one per scheduled retry, then the delivery is "fail".
func TestDelivery_FailsAfterSchedule(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, testenv.FastPolling(worker.Options{RetrySchedule: []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}})) // retries in ms: fast polling
	rc := newReceiver(t, func(string, int, *http.Request) int { return 503 })
	ctx := context.Background()
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := send(t, c, appID, "a.b", nil)
	waitFor(t, 10*time.Second, "the delivery to fail", func() bool {
		msgs, err := c.MessageAttempt.ListAttemptedMessages(ctx, appID, ep.Id, nil)
		return err == nil && len(msgs.Data) == 1 && msgs.Data[0].Status == models.MESSAGESTATUS_FAIL
	})
	env.WaitSettled(t, 10*time.Second) // nothing is scheduled any more: nothing more may come
	if n := len(attemptsOf(t, c, appID, m.Id)); n != 3 {
		t.Errorf("%d attempts, want 3 (first try + 2 retries)", n)
	}
}

// TestDelivery_GoneStopsRetries: 410 Gone ends the delivery at once: the
// attempt log holds its one attempt and the delivery is "fail" with no
// next attempt, while an endpoint answering 503 to the same message under
// the same schedule is retried to the end. The test waits on the attempt
// log and on every delivery having ended, not on the clock; the retry
// schedule is shortened (200, 400, 800 ms) so the 503 endpoint's retries
// end within the test.
func TestDelivery_GoneStopsRetries(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, testenv.FastRetries(worker.Options{}))
	ctx := context.Background()
	gone := newReceiver(t, func(string, int, *http.Request) int { return 410 })
	busy := newReceiver(t, func(string, int, *http.Request) int { return 503 })
	goneEP, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: gone.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: busy.URL}, nil); err != nil {
		t.Fatal(err)
	}
	m := send(t, c, appID, "a.b", nil)
	destination := func() *models.MessageEndpointOut {
		dests, err := c.MessageAttempt.ListAttemptedDestinations(ctx, appID, m.Id, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range dests.Data {
			if dests.Data[i].Id == goneEP.Id {
				return &dests.Data[i]
			}
		}
		return nil
	}
	waitFor(t, 10*time.Second, "the 410 endpoint's attempt on record", func() bool {
		at, err := c.MessageAttempt.ListByEndpoint(ctx, appID, goneEP.Id, nil)
		return err == nil && len(at.Data) == 1
	})
	if d := destination(); d == nil || d.Status != models.MESSAGESTATUS_FAIL || d.NextAttempt != nil {
		t.Errorf("the delivery after 410: %+v; want fail with no next attempt", d)
	}
	// Every delivery has ended: the 503 endpoint's after its retries.
	env.WaitSettled(t, 20*time.Second)
	if n := len(busy.requests()); n != 4 {
		t.Errorf("the 503 endpoint got %d requests, want 4 (first try + 3 retries): the schedule did not run", n)
	}
	if n := len(gone.requests()); n != 1 {
		t.Errorf("receiver got %d requests after 410, want 1", n)
	}
	if at, err := c.MessageAttempt.ListByEndpoint(ctx, appID, goneEP.Id, nil); err != nil || len(at.Data) != 1 {
		t.Errorf("attempts on record for the 410 endpoint: %d, %v; want 1", len(at.Data), err)
	}
}

// TestDelivery_RotationGrace: during the grace period a delivery carries
// signatures for both secrets, and verifies with either.
func TestDelivery_RotationGrace(t *testing.T) {
	t.Parallel()
	_, c, appID := setup(t, worker.Options{})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := c.Endpoint.GetSecret(ctx, appID, ep.Id)
	send(t, c, appID, "a.b", nil) // warms the worker's cache with the old secret
	waitFor(t, 5*time.Second, "first delivery", func() bool { return len(rc.requests()) == 1 })
	if err := c.Endpoint.RotateSecret(ctx, appID, ep.Id, models.EndpointSecretRotateIn{GracePeriodSeconds: ptr(uint32(3600))}, nil); err != nil {
		t.Fatal(err)
	}
	cur, _ := c.Endpoint.GetSecret(ctx, appID, ep.Id)
	send(t, c, appID, "a.b", nil)
	waitFor(t, 5*time.Second, "second delivery", func() bool { return len(rc.requests()) == 2 })
	r := rc.requests()[1]
	verifyBoth(t, old.Key, r)
	verifyBoth(t, cur.Key, r)
	if n := len(splitSigs(r.Header.Get("webhook-signature"))); n != 2 {
		t.Errorf("%d signatures during the grace period, want 2", n)
	}
	// With no grace, the secret being replaced stops signing at once; the
	// first one is still within its hour.
	if err := c.Endpoint.RotateSecret(ctx, appID, ep.Id, models.EndpointSecretRotateIn{GracePeriodSeconds: ptr(uint32(0))}, nil); err != nil {
		t.Fatal(err)
	}
	newest, _ := c.Endpoint.GetSecret(ctx, appID, ep.Id)
	send(t, c, appID, "a.b", nil)
	waitFor(t, 5*time.Second, "third delivery", func() bool { return len(rc.requests()) == 3 })
	r = rc.requests()[2]
	verifyBoth(t, newest.Key, r)
	verifyBoth(t, old.Key, r)
	if sv, _ := svix.NewWebhook(cur.Key); sv.Verify(r.Body, r.Header) == nil {
		t.Error("a secret rotated away with no grace period still signs")
	}
	if n := len(splitSigs(r.Header.Get("webhook-signature"))); n != 2 {
		t.Errorf("%d signatures, want 2 (newest and the one still in grace)", n)
	}
}

func splitSigs(h string) []string {
	var out []string
	for _, s := range slices.Collect(func(yield func(string) bool) {
		start := 0
		for i := 0; i <= len(h); i++ {
			if i == len(h) || h[i] == ' ' {
				if i > start && !yield(h[start:i]) {
					return
				}
				start = i + 1
			}
		}
	}) {
		out = append(out, s)
	}
	return out
}

// TestDelivery_Filtering: event-type filters, channels, and disabled
// endpoints decide who gets what.
func TestDelivery_Filtering(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, worker.Options{})
	ctx := context.Background()
	for _, name := range []string{"user.created", "user.deleted"} {
		if _, err := c.EventType.Create(ctx, models.EventTypeIn{Name: name, Description: name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	all := newReceiver(t, nil)
	created := newReceiver(t, nil)
	eu := newReceiver(t, nil)
	disabled := newReceiver(t, nil)
	for _, in := range []models.EndpointIn{
		{Url: all.URL},
		{Url: created.URL, FilterTypes: []string{"user.created"}},
		{Url: eu.URL, Channels: []string{"eu"}},
		{Url: disabled.URL, Disabled: ptr(true)},
	} {
		if _, err := c.Endpoint.Create(ctx, appID, in, nil); err != nil {
			t.Fatal(err)
		}
	}
	send(t, c, appID, "user.created", nil)
	send(t, c, appID, "user.deleted", []string{"eu"})
	send(t, c, appID, "user.deleted", []string{"us"})
	waitFor(t, 5*time.Second, "deliveries", func() bool {
		return len(all.requests()) == 3 && len(created.requests()) == 1 && len(eu.requests()) == 1
	})
	env.WaitSettled(t, 10*time.Second) // anything wrongly routed has arrived by then
	for name, tc := range map[string]struct {
		rc   *receiver
		want int
	}{"all": {all, 3}, "created": {created, 1}, "eu": {eu, 1}, "disabled": {disabled, 0}} {
		if n := len(tc.rc.requests()); n != tc.want {
			t.Errorf("%s endpoint got %d webhooks, want %d", name, n, tc.want)
		}
	}
	if r := created.requests(); len(r) == 1 && string(r[0].Body) != `{"type":"user.created"}` {
		t.Errorf("filtered endpoint got %s", r[0].Body)
	}
}

// TestDelivery_ResendAndRecover: a manual resend makes one manual attempt
// (never retried); recover resends what failed since a time.
func TestDelivery_ResendAndRecover(t *testing.T) {
	t.Parallel()
	env, c, appID := setup(t, testenv.FastPolling(worker.Options{RetrySchedule: []time.Duration{50 * time.Millisecond}})) // retries in ms: fast polling
	var healthy atomic.Bool
	rc := newReceiver(t, func(string, int, *http.Request) int {
		if healthy.Load() {
			return 200
		}
		return 500
	})
	ctx := context.Background()
	ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute)
	m1 := send(t, c, appID, "a.b", nil)
	m2 := send(t, c, appID, "a.b", nil)
	waitFor(t, 10*time.Second, "both to fail", func() bool {
		msgs, err := c.MessageAttempt.ListAttemptedMessages(ctx, appID, ep.Id, &svix.MessageAttemptListAttemptedMessagesOptions{Status: ptr(models.MESSAGESTATUS_FAIL)})
		return err == nil && len(msgs.Data) == 2
	})
	// A manual resend while the receiver still fails: one attempt, no retry.
	if _, err := c.MessageAttempt.Resend(ctx, appID, m1.Id, ep.Id, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the manual attempt", func() bool { return len(attemptsOf(t, c, appID, m1.Id)) == 3 })
	env.WaitSettled(t, 10*time.Second) // a retry of the manual attempt would have come by then
	at := attemptsOf(t, c, appID, m1.Id)
	if len(at) != 3 || at[2].TriggerType != models.MESSAGEATTEMPTTRIGGERTYPE_MANUAL || at[2].Status != models.MESSAGESTATUS_FAIL {
		t.Fatalf("after a failing resend: %d attempts, last %+v", len(at), at[len(at)-1])
	}
	// The receiver recovers; recover resends both failed messages.
	healthy.Store(true)
	rec, err := c.Endpoint.Recover(ctx, appID, ep.Id, models.RecoverIn{Since: start}, nil)
	if err != nil || rec.Status != models.BACKGROUNDTASKSTATUS_FINISHED || rec.Task != models.BACKGROUNDTASKTYPE_ENDPOINT_RECOVER {
		t.Fatalf("recover = %+v, %v", rec, err)
	}
	for _, m := range []*models.MessageOut{m1, m2} {
		waitFor(t, 5*time.Second, "recovered delivery of "+m.Id, func() bool {
			at := attemptsOf(t, c, appID, m.Id)
			last := at[len(at)-1]
			return last.Status == models.MESSAGESTATUS_SUCCESS && last.TriggerType == models.MESSAGEATTEMPTTRIGGERTYPE_MANUAL
		})
	}
	// Recovering again finds nothing left to do.
	before := len(rc.requests())
	if _, err := c.Endpoint.Recover(ctx, appID, ep.Id, models.RecoverIn{Since: start}, nil); err != nil {
		t.Fatal(err)
	}
	env.WaitSettled(t, 10*time.Second) // what it would resend is stored before it answers
	if after := len(rc.requests()); after != before {
		t.Errorf("a second recover sent %d more webhooks", after-before)
	}
	msgs, err := c.MessageAttempt.ListAttemptedMessages(ctx, appID, ep.Id, nil)
	if err != nil || len(msgs.Data) != 2 || msgs.Data[0].Status != models.MESSAGESTATUS_SUCCESS || msgs.Data[1].Status != models.MESSAGESTATUS_SUCCESS {
		t.Errorf("attempted messages after recovery = %+v, %v", msgs, err)
	}
}

// TestDelivery_EndpointRetrySchedule: an endpoint's own retrySchedule
// (a Hookline extension field) replaces the server's.
func TestDelivery_EndpointRetrySchedule(t *testing.T) {
	t.Parallel()
	// The server's schedule is far too slow to finish within the test.
	env, _, appID := setup(t, worker.Options{RetrySchedule: []time.Duration{time.Hour}})
	rc := newReceiver(t, func(_ string, n int, _ *http.Request) int {
		if n < 4 {
			return 500
		}
		return 200
	})
	code, body := post(t, env, "/api/v1/app/"+appID+"/endpoint", `{"url":"`+rc.URL+`","retrySchedule":["100ms", 0.1, "100ms"]}`)
	if code != 201 || !strings.Contains(body, `"retrySchedule":["100ms","100ms","100ms"]`) {
		t.Fatalf("create endpoint with its own schedule: %d %s", code, body)
	}
	c := env.SDK(env.APIKey)
	m := send(t, c, appID, "a.b", nil)
	waitFor(t, 10*time.Second, "four attempts on the endpoint's schedule", func() bool {
		at := attemptsOf(t, c, appID, m.Id)
		return len(at) == 4 && at[3].Status == models.MESSAGESTATUS_SUCCESS
	})
}

// TestDelivery_SignatureHeaderModes: HOOKLINE_SIGNATURE_HEADERS chooses
// Standard Webhooks headers, Svix's, or both; redirects are answers, not
// followed.
func TestDelivery_SignatureHeaderModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode           string
		webhook, svixH bool
	}{{"both", true, true}, {"webhook", true, false}, {"svix", false, true}} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			_, c, appID := setup(t, worker.Options{SignatureHeaders: tc.mode, RetrySchedule: []time.Duration{}})
			rc := newReceiver(t, nil)
			ctx := context.Background()
			ep, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil)
			if err != nil {
				t.Fatal(err)
			}
			secret, _ := c.Endpoint.GetSecret(ctx, appID, ep.Id)
			send(t, c, appID, "a.b", nil)
			waitFor(t, 5*time.Second, "the webhook", func() bool { return len(rc.requests()) == 1 })
			h := rc.requests()[0].Header
			if (h.Get("webhook-signature") != "") != tc.webhook || (h.Get("svix-signature") != "") != tc.svixH {
				t.Errorf("mode %s sent webhook-* %v, svix-* %v", tc.mode, h.Get("webhook-signature") != "", h.Get("svix-signature") != "")
			}
			// The Svix verifier reads either family.
			sv, _ := svix.NewWebhook(secret.Key)
			if err := sv.Verify(rc.requests()[0].Body, h); err != nil {
				t.Errorf("mode %s does not verify: %v", tc.mode, err)
			}
		})
	}

	t.Run("RedirectNotFollowed", func(t *testing.T) {
		t.Parallel()
		_, c, appID := setup(t, worker.Options{RetrySchedule: []time.Duration{}})
		target := newReceiver(t, nil)
		redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
		t.Cleanup(redirect.Close)
		ctx := context.Background()
		if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: redirect.URL}, nil); err != nil {
			t.Fatal(err)
		}
		m := send(t, c, appID, "a.b", nil)
		waitFor(t, 5*time.Second, "the attempt", func() bool { return len(attemptsOf(t, c, appID, m.Id)) == 1 })
		a := attemptsOf(t, c, appID, m.Id)[0]
		if a.ResponseStatusCode != 302 || a.Status != models.MESSAGESTATUS_FAIL {
			t.Errorf("attempt to a redirect: %d %v, want a failed 302", a.ResponseStatusCode, a.Status)
		}
		if n := len(target.requests()); n != 0 {
			t.Errorf("the redirect was followed (%d requests at its target)", n)
		}
	})
}
