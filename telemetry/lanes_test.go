package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// TestLaneCollector_ReportsFullLanes: an endpoint capped at 2 attempts at
// once whose receiver hangs gets 6 messages: its lane is full with 4
// parked, and the collector (over the real lanes, read as main wires it)
// reports one throttled lane, 4 parked deliveries and the lane's own
// series.
func TestLaneCollector_ReportsFullLanes(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true})
	ctx := context.Background()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	app, err := env.Store.CreateApplication(ctx, env.TenantID, tenants.ApplicationInput{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	two := 2
	ep, err := env.Store.CreateEndpoint(ctx, env.TenantID, app.ID, tenants.EndpointInput{URL: hang.URL, MaxConcurrency: &two})
	if err != nil {
		t.Fatal(err)
	}
	c := env.SDK(env.APIKey)
	for range 6 {
		if _, err := c.Message.Create(ctx, app.ID, models.MessageIn{EventType: "a.b", Payload: map[string]any{"k": 1}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	in := worker.NewInspector(env.Redis, env.Store, env.Queue)
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewLaneCollector(func(ctx context.Context) (telemetry.LaneSnapshot, error) {
		th, err := in.Throttled(ctx, "", 10)
		s := telemetry.LaneSnapshot{Throttled: th.Total, Parked: th.Parked}
		for _, l := range th.Top {
			s.Top = append(s.Top, telemetry.LaneTop{TenantID: l.TenantID, EndpointID: l.EndpointID, InFlight: l.InFlight, Waiting: l.Waiting, Limit: l.Limit})
		}
		return s, err
	}))
	var got map[string]float64
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = gather(t, reg)
		if got["hookline_lanes_parked_deliveries"] == 4 && got["hookline_lane_attempts_in_flight{"+ep.ID+"}"] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics %v; want 4 parked and 2 in flight", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, want := range map[string]float64{
		"hookline_lanes_throttled": 1, "hookline_lane_waiting_deliveries{" + ep.ID + "}": 4, "hookline_lane_limit{" + ep.ID + "}": 2,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
}

// gather returns every sample of reg by name, with the endpoint label
// (when there is one) in braces.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" {
					name += "{" + l.GetValue() + "}"
				}
			}
			out[name] = m.GetGauge().GetValue()
		}
	}
	return out
}
