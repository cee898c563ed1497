package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
	"github.com/hookline/hookline/worker"
)

// hangingReceiver answers its first refuse requests 503 with a
// Retry-After of one second (congestion: the lane's limit comes down),
// then holds every request until the test ends, so that the attempts stay
// in flight and the lane stays full.
func hangingReceiver(t *testing.T, refuse int64) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= refuse {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv
}

// throttle sends n messages to appID through the SDK (every endpoint of
// the app gets them).
func throttle(t *testing.T, sdk *svix.Svix, appID string, n int) {
	t.Helper()
	for i := range n {
		if _, err := sdk.Message.Create(context.Background(), appID, models.MessageIn{EventType: "lane.test", Payload: map[string]any{"i": i}}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// waitThrottled polls the lanes (as the console's adapter reads them)
// until every endpoint of eps is throttled in tenantID's lanes with a
// delivery waiting, and, when atOne, held at one; it returns the lanes.
func waitThrottled(t *testing.T, env *testenv.Env, tenantID string, atOne map[string]bool) map[string]worker.LaneState {
	t.Helper()
	in := worker.NewInspector(env.Redis, env.Store, env.Queue)
	deadline := time.Now().Add(30 * time.Second)
	for {
		th, err := in.Throttled(context.Background(), tenantID, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]worker.LaneState{}
		ok := true
		for _, l := range th.Top {
			got[l.EndpointID] = l
		}
		for ep, one := range atOne {
			l, found := got[ep]
			ok = ok && found && l.Waiting >= 1 && l.InFlight >= l.Limit && (!one || l.AtOneSince != nil)
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("tenant %s: lanes %+v; want %v throttled", tenantID, th.Top, atOne)
		}
		time.Sleep(50 * time.Millisecond) // polling the lanes
	}
}

// TestConsoleAPI_Throttled: the throttled view lists the tenant's own
// throttled endpoints with their lane (limit, cap, in flight, waiting)
// and application, and never another tenant's; without throttled lanes
// it is empty.
func TestConsoleAPI_Throttled(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, Console: true})
	ctx := context.Background()
	tokA := signIn(t, env, `{"apiKey":"`+env.APIKey+`"}`)
	code, body := call(t, env, "GET", "/console/api/throttled", tokA, "")
	if code != http.StatusOK || !strings.Contains(body, `"endpoints":[]`) || !strings.Contains(body, `"available":true`) {
		t.Fatalf("before any traffic: %d %s", code, body)
	}

	mk := func(token, name string, maxConc int) (string, string) {
		sdk := env.SDK(token)
		app, err := sdk.Application.Create(ctx, models.ApplicationIn{Name: name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ep, err := sdk.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: hangingReceiver(t, 0).URL + "/" + name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if code, body := call(t, env, "PATCH", "/api/v1/app/"+app.Id+"/endpoint/"+ep.Id, token, `{"maxConcurrency":`+itoa(int64(maxConc))+`}`); code != http.StatusOK {
			t.Fatalf("set the cap: %d %s", code, body)
		}
		throttle(t, sdk, app.Id, 3)
		return app.Id, ep.Id
	}
	appA, epA := mk(env.APIKey, "alpha", 1)
	tenantB, keyB, _ := env.NewTenant("B")
	_, epB := mk(keyB, "beta", 2)
	waitThrottled(t, env, env.TenantID, map[string]bool{epA: false})
	waitThrottled(t, env, tenantB, map[string]bool{epB: false})

	var out struct {
		Available     bool
		Total, Parked int
		Endpoints     []struct {
			ID, AppID, AppName, URL       string
			MaxConcurrency                *int
			Limit, Cap, InFlight, Waiting int
		}
	}
	code, body = call(t, env, "GET", "/console/api/throttled", tokA, "")
	if code != http.StatusOK {
		t.Fatalf("throttled: %d %s", code, body)
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Endpoints) != 1 || out.Total != 1 {
		t.Fatalf("tenant A sees %s; want only its endpoint %s", body, epA)
	}
	e := out.Endpoints[0]
	if e.ID != epA || e.AppID != appA || e.AppName != "alpha" || !strings.HasSuffix(e.URL, "/alpha") ||
		e.MaxConcurrency == nil || *e.MaxConcurrency != 1 || e.Cap != 1 || e.Limit != 1 || e.InFlight != 1 || e.Waiting != 2 || out.Parked != 2 {
		t.Errorf("tenant A's throttled endpoint: %s", body)
	}
	if strings.Contains(body, epB) || strings.Contains(body, tenantB) {
		t.Errorf("tenant A's view shows tenant B's lane: %s", body)
	}
	tokB := signIn(t, env, `{"apiKey":"`+keyB+`"}`)
	if code, body := call(t, env, "GET", "/console/api/throttled", tokB, ""); code != http.StatusOK || !strings.Contains(body, epB) || strings.Contains(body, epA) {
		t.Errorf("tenant B's view: %d %s", code, body)
	}
	if code, _ := call(t, env, "GET", "/console/api/throttled", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without a session: %d, want 401", code)
	}
}
