package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/worker"
)

// TestDelivery_DeliverAt: a message scheduled through the official SDK a
// few seconds ahead reaches its receiver after that time, not before, and
// reads back with its deliverAt; times beyond 30 days ahead or more than
// 5 minutes past are refused with 422, and a time a little in the past is
// sent at once.
func TestDelivery_DeliverAt(t *testing.T) {
	t.Parallel()
	_, c, appID := setup(t, worker.Options{})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	if _, err := c.Endpoint.Create(ctx, appID, models.EndpointIn{Url: rc.URL}, nil); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(4 * time.Second).UTC().Truncate(time.Millisecond)
	m, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "a.b", Payload: map[string]any{"k": 1}, DeliverAt: &at}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.DeliverAt == nil || !m.DeliverAt.Equal(at) {
		t.Errorf("created message deliverAt = %v, want %v", m.DeliverAt, at)
	}
	skewed := time.Now().Add(-time.Minute)
	now, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "a.now", Payload: map[string]any{"k": 2}, DeliverAt: &skewed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the scheduled delivery", func() bool { return len(rc.requests()) >= 2 })
	for _, r := range rc.requests() {
		switch r.Header.Get("Webhook-Id") {
		case now.Id:
			if r.At.After(at) {
				t.Errorf("a message dated a minute ago waited until %v", r.At)
			}
		case m.Id:
			if r.At.Before(at) {
				t.Errorf("scheduled for %v, delivered at %v", at, r.At)
			}
			if r.At.After(at.Add(5 * time.Second)) {
				t.Errorf("scheduled for %v, delivered only at %v", at, r.At)
			}
		}
	}
	got, err := c.Message.Get(ctx, appID, m.Id, nil)
	if err != nil || got.DeliverAt == nil || !got.DeliverAt.Equal(at) {
		t.Errorf("message read back: deliverAt %v, %v", got.DeliverAt, err)
	}
	for _, bad := range []time.Time{time.Now().Add(31 * 24 * time.Hour), time.Now().Add(-10 * time.Minute)} {
		_, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "a.b", Payload: map[string]any{}, DeliverAt: &bad}, nil)
		var se *svix.Error
		if !errors.As(err, &se) || se.Status() != 422 {
			t.Errorf("deliverAt %v: %v, want 422", bad, err)
		}
	}
}
